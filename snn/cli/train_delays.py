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
        description="Train the feed-forward delay network on SHD, SSC, FSDD or the embedded "
                    "FSDD sample. Defaults are the paper's SHD configuration.")
    delays.add_argument("--data", choices=["shd", "ssc", "fsdd", "sample"], required=True)
    delays.add_argument("--root", help="folder of the dataset files (not for --data sample)")
    delays.add_argument("--delays", choices=["learned", "fixed", "none", "all"],
                        default="learned", help="ablation; 'all' trains the three in turn")
    delays.add_argument("--epochs", type=int, default=150)
    delays.add_argument("--batch-size", type=int, default=256)
    delays.add_argument("--hidden", type=int, default=256, help="neurons per hidden layer")
    delays.add_argument("--layers", type=int, default=2, help="hidden layers")
    delays.add_argument("--dt", type=float, default=10e-3, help="time step (s)")
    delays.add_argument("--max-delay", type=float, default=250e-3, help="longest delay (s)")
    delays.add_argument("--max-time", type=float, default=None,
                        help="time window kept from each sample (s)")
    delays.add_argument("--pool", type=int, default=None,
                        help="input channels summed together (default: 5 for SHD/SSC)")
    delays.add_argument("--dropout", type=float, default=0.4)
    delays.add_argument("--lr", type=float, default=1e-3, help="learning rate of the weights")
    delays.add_argument("--lr-delays", type=float, default=0.1,
                        help="learning rate of the delays (steps)")
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


def run(args: argparse.Namespace) -> int:
    """``snn train delays``: train each asked ablation, print a table, write summary.json."""
    import json

    import numpy as np

    from ..delay_training import (
        DelayTrainingConfig,
        load_delay_data,
        plot_delay_histograms,
        train_delay_network,
    )
    from ..layers import DELAY_MODES, DelayNetworkConfig

    if args.data != "sample" and args.root is None:
        raise SystemExit(f"snn train delays: --root PATH is required with --data {args.data}")
    train, test = load_delay_data(args.data, args.root, dt=args.dt, max_time=args.max_time,
                                  pool=args.pool, progress=not args.no_progress)
    if args.limit is not None:
        pick = np.random.default_rng(args.seed).permutation(len(train))[:args.limit]
        train = train.subset(np.sort(pick))
    n_classes = int(max(train.n_classes, test.n_classes))
    print(f"{args.data}: {len(train)} train / {len(test)} test samples, {train.n_steps} steps of "
          f"{args.dt * 1e3:g} ms, {train.n_channels} channels, {n_classes} classes")
    modes = DELAY_MODES if args.delays == "all" else (args.delays,)
    out = Path(args.out)
    rows, summary = [], {}
    for mode in modes:
        model_cfg = DelayNetworkConfig(
            n_inputs=train.n_channels, n_outputs=n_classes, n_hidden=args.hidden,
            n_hidden_layers=args.layers, dt=args.dt, max_delay=args.max_delay, delays=mode,
            dropout=args.dropout)
        train_cfg = DelayTrainingConfig(epochs=args.epochs, batch_size=args.batch_size,
                                        lr_weights=args.lr, lr_delays=args.lr_delays,
                                        seed=args.seed, threads=args.threads)
        res = train_delay_network(model_cfg, train, test, train_cfg, out_dir=out / mode,
                                  resume=args.resume, progress=not args.no_progress,
                                  device=args.device)
        if mode == "learned":
            save_figure(plot_delay_histograms(res), out / mode / "delay_histograms.png")
        rows.append({"delays": mode, "accuracy": 100 * res["test_accuracy"],
                     "epoch_s": res["median_epoch_time_s"], "params": res["n_parameters"]})
        summary[mode] = {k: v for k, v in res.items() if k != "model"}
    print(format_table(rows, [("delays", "delays", "s"), ("accuracy", "test accuracy (%)", ".2f"),
                        ("epoch_s", "time per epoch (s)", ".2f"), ("params", "parameters", "d")]))
    (out / "summary.json").write_text(json.dumps(
        {mode: {k: summary[mode][k] for k in ("test_accuracy", "test_accuracy_unrounded",
                                               "mean_epoch_time_s", "n_parameters")}
         for mode in summary}, indent=1))
    print(f"results, checkpoints and plots: {out}/")
    return 0
