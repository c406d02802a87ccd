"""``snn train delays``: the feed-forward network with learnable synaptic delays on SHD, SSC,
FSDD or the embedded FSDD sample; prints a table and writes results, checkpoints and plots."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from ._report import format_table, save_figure

__all__ = ["add_parser", "run"]


def add_parser(subparsers: Any) -> argparse.ArgumentParser:
    """Add ``delays`` to the sub-parsers of ``snn train`` (with ``func`` set)."""
    delays = subparsers.add_parser(
        "delays", help="spiking network with learnable delays (Hammouamri et al. 2024)",
        description="Train the feed-forward delay network on SHD, SSC, GSC, FSDD or the "
                    "embedded FSDD sample. --preset shd|ssc|gsc runs the authors' published "
                    "configuration (options given beside it override it); without a preset "
                    "the defaults are the paper's SHD network.")
    delays.add_argument("--preset", choices=["shd", "ssc", "gsc"], default=None,
                        help="the authors' best configuration for this dataset")
    delays.add_argument("--data", choices=["shd", "ssc", "gsc", "fsdd", "sample"], default=None,
                        help="dataset (default: the preset's)")
    delays.add_argument("--root", help="folder of the dataset files (not for --data sample)")
    delays.add_argument("--delays", choices=["learned", "fixed", "none", "all"],
                        default="learned", help="ablation; 'all' trains the three in turn")
    delays.add_argument("--epochs", type=int, default=None, help="default 150 or the preset's")
    delays.add_argument("--batch-size", type=int, default=None,
                        help="default 256 or the preset's")
    delays.add_argument("--hidden", type=int, default=None,
                        help="neurons per hidden layer (default 256 or the preset's)")
    delays.add_argument("--layers", type=int, default=None,
                        help="hidden layers (default 2 or the preset's)")
    delays.add_argument("--dt", type=float, default=None, help="time step (s), default 0.01")
    delays.add_argument("--max-delay", type=float, default=None,
                        help="longest delay (s), default 0.25 or the preset's")
    delays.add_argument("--max-time", type=float, default=None,
                        help="time window kept from each sample (s)")
    delays.add_argument("--pool", type=int, default=None,
                        help="input channels summed together (default: 5 for SHD/SSC)")
    delays.add_argument("--dropout", type=float, default=None,
                        help="default 0.4 or the preset's")
    delays.add_argument("--lr", type=float, default=None,
                        help="learning rate of the weights (default 1e-3)")
    delays.add_argument("--lr-delays", type=float, default=None,
                        help="learning rate of the delays (steps; default 0.1)")
    delays.add_argument("--keep", choices=["last", "best"], default=None,
                        help="return the last model or the best on validation (rounded "
                             "delays); presets: best")
    delays.add_argument("--seed", type=int, default=0)
    delays.add_argument("--limit", type=int, default=None,
                        help="train on a random subset of this many samples")
    delays.add_argument("--out", default="snn_train_delays", help="folder for results")
    delays.add_argument("--resume", action="store_true",
                        help="continue from the checkpoints in --out")
    delays.add_argument("--device", default="cpu", help="cpu or cuda")
    delays.add_argument("--threads", type=int, default=None)
    delays.add_argument("--no-progress", action="store_true", help="hide progress bars")
    delays.set_defaults(func=run)
    return delays


def _pick(value: Any, default: Any) -> Any:
    return default if value is None else value


def run(args: argparse.Namespace) -> int:
    """``snn train delays``: train each asked ablation, print a table, write summary.json.

    Under ``torchrun --nproc-per-node N`` the same command trains data-parallel
    (:mod:`snn.distributed_training`): one process group for all ablations, and only rank 0
    prints, shows progress and writes files."""
    from ..distributed_training import distributed_training

    with distributed_training(args.device) as context:
        return _run(args, context)


def _run(args: argparse.Namespace, context: Any) -> int:
    import json
    import math

    import numpy as np

    from ..delay_training import (
        DELAY_PRESETS,
        DelayTrainingConfig,
        delay_network_parameters,
        load_delay_splits,
        plot_delay_histograms,
        train_delay_network,
    )
    from ..layers import DELAY_MODES, DelayNetworkConfig

    preset = DELAY_PRESETS[args.preset] if args.preset is not None else None
    data_name = _pick(args.data, preset.dataset if preset is not None else None)
    if data_name is None:
        raise SystemExit("snn train delays: give --data or --preset")
    if data_name != "sample" and args.root is None:
        raise SystemExit(f"snn train delays: --root PATH is required with --data {data_name}")
    dt = _pick(args.dt, preset.dt if preset is not None else 10e-3)
    pool = _pick(args.pool, preset.pool if preset is not None else None)
    # Presets keep whole recordings (the reference pads each batch to its longest sample).
    max_time = args.max_time
    if preset is not None and max_time is None:
        max_time = math.inf
    main = context.is_main
    # Only rank 0 speaks; the others train in silence.
    say = print if main else (lambda *a, **k: None)
    train, valid, test = load_delay_splits(data_name, args.root, dt=dt, max_time=max_time,
                                           pool=pool, progress=main and not args.no_progress)
    if args.limit is not None:
        pick = np.random.default_rng(args.seed).permutation(len(train))[:args.limit]
        train = train.subset(np.sort(pick))
    n_classes = int(max(train.n_classes, test.n_classes))
    valid_text = f" / {len(valid)} valid" if valid is not None else ""
    say(f"{data_name}: {len(train)} train{valid_text} / {len(test)} test samples, "
          f"{train.n_steps} steps of {dt * 1e3:g} ms, {train.n_channels} channels, "
          f"{n_classes} classes")
    modes = DELAY_MODES if args.delays == "all" else (args.delays,)
    out = Path(args.out)
    rows, summary = [], {}
    for mode in modes:
        if preset is not None:
            overrides = {k: v for k, v in (
                ("n_hidden", args.hidden), ("n_hidden_layers", args.layers), ("dt", args.dt),
                ("max_delay", args.max_delay), ("dropout", args.dropout)) if v is not None}
            model_cfg = preset.model_config(mode, n_inputs=train.n_channels,
                                            n_outputs=n_classes, **overrides)
            train_over = {k: v for k, v in (
                ("epochs", args.epochs), ("batch_size", args.batch_size),
                ("lr_weights", args.lr), ("lr_delays", args.lr_delays),
                ("keep", args.keep)) if v is not None}
            # A shortened run (--epochs) keeps the schedule's shape: the width decays over
            # the same fraction of the epochs.
            train_cfg = preset.training_config(seed=args.seed, threads=args.threads,
                                               **train_over)
        else:
            model_cfg = DelayNetworkConfig(
                n_inputs=train.n_channels, n_outputs=n_classes, n_hidden=_pick(args.hidden, 256),
                n_hidden_layers=_pick(args.layers, 2), dt=dt,
                max_delay=_pick(args.max_delay, 250e-3), delays=mode,
                dropout=_pick(args.dropout, 0.4))
            train_cfg = DelayTrainingConfig(
                epochs=_pick(args.epochs, 150), batch_size=_pick(args.batch_size, 256),
                lr_weights=_pick(args.lr, 1e-3), lr_delays=_pick(args.lr_delays, 0.1),
                seed=args.seed, threads=args.threads, keep=_pick(args.keep, "last"))
        n_params = delay_network_parameters(model_cfg)
        paper = ""
        if preset is not None and mode == "learned" and model_cfg == preset.model_config(
                mode, n_inputs=train.n_channels, n_outputs=n_classes):
            paper = f" (paper: {preset.paper_parameters / 1e6:.1f} M)"
        say(f"{mode} delays: {n_params} trained parameters{paper}")
        res = train_delay_network(model_cfg, train, test, train_cfg, out_dir=out / mode,
                                  resume=args.resume, progress=not args.no_progress,
                                  device=context.device,
                                  valid=valid if train_cfg.keep == "best" else None)
        if mode == "learned" and main:
            save_figure(plot_delay_histograms(res), out / mode / "delay_histograms.png")
        row = {"delays": mode, "accuracy": 100 * res["test_accuracy"],
               "epoch_s": res["median_epoch_time_s"], "params": res["n_parameters"]}
        if train_cfg.keep == "best":
            row["valid"] = 100 * res["best_valid_accuracy"]
            row["best_epoch"] = res["best_epoch"] + 1
        rows.append(row)
        summary[mode] = {k: v for k, v in res.items() if k != "model"}
    columns = [("delays", "delays", "s"), ("accuracy", "test accuracy (%)", ".2f")]
    if "valid" in rows[0]:
        columns += [("valid", "best validation (%)", ".2f"), ("best_epoch", "epoch", "d")]
    columns += [("epoch_s", "time per epoch (s)", ".2f"), ("params", "parameters", "d")]
    if not main:
        return 0
    print(format_table(rows, columns))
    if preset is not None:
        spread = (f" +- {preset.paper_accuracy_std:.2f}" if preset.paper_accuracy_std is not None
                  else "")
        print(f"paper ({preset.name}): {preset.paper_accuracy:.2f}{spread} % test accuracy")
    keys = ("test_accuracy", "test_accuracy_unrounded", "mean_epoch_time_s", "n_parameters",
            "best_epoch", "best_valid_accuracy", "validation_split")
    (out / "summary.json").write_text(json.dumps(
        {mode: {k: summary[mode][k] for k in keys if k in summary[mode]} for mode in summary},
        indent=1))
    print(f"results, checkpoints and plots: {out}/")
    return 0
