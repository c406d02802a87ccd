"""``snn train neurobench``: one task of :mod:`snn.neurobench` (Mackey-Glass by NeuroBench's
protocol, memory capacity by ReservoirPy's protocol, a Yin-Yang spiking classifier, or one of
NeuroBench's tasks that need a download, from ``--data``); prints the task metric with
NeuroBench's metrics and writes ``results.json`` (the download tasks also write
``leaderboard.json`` and ``leaderboard.csv``: this run's row beside the published ones)."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from ._args import positive_int

__all__ = ["DOWNLOAD_TASK_CHOICES", "TASK_CHOICES", "add_parser", "run", "run_download"]

LOCAL_TASKS = ("mackey-glass", "memory-capacity", "yin-yang")
#: The tasks of :mod:`snn.neurobench.download_tasks` (they need ``--data``).
DOWNLOAD_TASK_CHOICES = ("gsc", "shd", "mswc-fscil", "dvs-gesture", "primate-reaching")
TASK_CHOICES = LOCAL_TASKS + DOWNLOAD_TASK_CHOICES
#: ``--smoke``: one epoch on a few samples (and 20 DVS frames), to check a setup quickly.
SMOKE = {"epochs": 1, "max_samples": 32, "n_frames": 20}


def run_download(args: argparse.Namespace) -> int:
    """A task that needs a download: train, test, write the leaderboard row."""
    from ..neurobench.download_tasks import (
        DownloadTaskConfig,
        run_download_task,
        write_leaderboard,
    )

    settings = dict(epochs=args.epochs if args.epochs is not None else 10,
                    max_samples=args.max_samples, n_frames=args.frames,
                    hidden=args.units or 0, seed=args.seed)
    if args.smoke:
        settings.update(SMOKE)
    config = DownloadTaskConfig(task=args.task, **settings)
    result = run_download_task(config, args.data)
    out = Path(args.out)
    json_path, csv_path = write_leaderboard(result, out)
    (out / "results.json").write_text(json.dumps(result["details"], indent=2, default=float)
                                      + "\n")
    row = result["row"]
    print(f"{row['task']}: {row['model']}: {row['metric']} {row['value']}")
    for key, value in result["details"]["metrics"].items():
        print(f"  {key}: {value}")
    for published in result["published"]:
        print(f"  published: {published['model']}: {published['metric']} {published['value']}"
              f" ({published['source']})")
    print(f"wrote {json_path} and {csv_path}")
    return 0


def run(args: argparse.Namespace) -> int:
    """``snn train neurobench``: run the task, print the scores, write ``results.json``."""
    from ..data import MackeyGlassProtocol
    from ..neurobench import (
        ESNPredictor,
        SpikingReservoirConfig,
        SpikingReservoirPredictor,
        esn_memory_capacity,
        run_mackey_glass,
    )
    from ..reservoir import ESN, ESNConfig

    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    if args.task == "mackey-glass":
        protocol = MackeyGlassProtocol(n_runs=args.runs)
        if args.model == "esn":
            # the benchmark's setting (chosen on another trajectory of the system)
            config = ESNConfig(n_neurons=args.units, spectral_radius=1.268, connectivity=0.12,
                               leak=0.51, input_scaling=0.684, bias_scaling=1.39)
            result = run_mackey_glass(
                lambda seed: ESNPredictor(config, ridge=9.4e-9, rng=seed, dtype="float32"),
                protocol)
        else:
            config = SpikingReservoirConfig(n_neurons=args.units)
            result = run_mackey_glass(lambda seed: SpikingReservoirPredictor(config, rng=seed),
                                      protocol)
        summary = {"task": args.task, "model": args.model, "smape": result["smape"],
                   "smape_runs": result["smape_runs"], "metrics": result["metrics"],
                   "series": "regenerated (RK4), not NeuroBench's file"}
        print(f"Mackey-Glass sMAPE {result['smape']:.2f} over {args.runs} runs "
              f"({args.model}, {args.units} units; series regenerated)")
    elif args.task == "memory-capacity":
        esn = ESN(ESNConfig(n_neurons=args.units, spectral_radius=1.0, input_connectivity=0.1),
                  1, rng=args.seed)
        mc, per_delay = esn_memory_capacity(esn, k_max=50, seed=1, ridge=1e-4)
        summary = {"task": args.task, "memory_capacity": mc, "per_delay": per_delay.tolist()}
        print(f"memory capacity {mc:.2f} (ReservoirPy's protocol, k_max = 50, "
              f"at most {min(args.units, 50)})")
    else:
        from ..neurobench.yin_yang import YinYangConfig, train_yin_yang

        result = train_yin_yang(YinYangConfig(model=args.model, epochs=args.epochs or 40,
                                              hidden=args.units, seed=args.seed))
        summary = {"task": args.task, "test_accuracy": result["test_accuracy"],
                   "validation_accuracy": result["validation_accuracy"],
                   "metrics": result["metrics"]}
        print(f"Yin-Yang test accuracy {100 * result['test_accuracy']:.1f} %")
    metrics = summary.get("metrics", {})
    for key, value in metrics.items():
        print(f"  {key}: {value}")
    (out / "results.json").write_text(json.dumps(summary, indent=2) + "\n")
    return 0


def add_parser(subparsers: Any) -> argparse.ArgumentParser:
    """Add ``neurobench`` to the sub-parsers of ``snn train`` (with ``func`` set)."""
    parser = subparsers.add_parser(
        "neurobench", help="NeuroBench tasks: Mackey-Glass, memory capacity, Yin-Yang, and "
                           "the download tasks (GSC, SHD, MSWC FSCIL, DVS Gesture, primate "
                           "reaching)",
        description="Mackey-Glass by NeuroBench's protocol (ESN or spiking reservoir), memory "
                    "capacity by ReservoirPy's protocol (ESN), a Yin-Yang spiking "
                    "classifier (LIF or learned delays), or the baseline spiking network of "
                    "a task whose data is in --data, with NeuroBench's metrics.")
    parser.add_argument("--task", choices=TASK_CHOICES, required=True)
    parser.add_argument("--model", choices=["esn", "spiking", "lif", "delays"], default="esn",
                        help="Mackey-Glass: esn | spiking; Yin-Yang: lif | delays")
    parser.add_argument("--units", type=positive_int, default=None,
                        help="reservoir units / hidden neurons (default 180 / 100 / 100; "
                             "download tasks: 256 / 128 / 256 / - / 50)")
    parser.add_argument("--runs", type=positive_int, default=30, help="Mackey-Glass runs")
    parser.add_argument("--epochs", type=positive_int, default=None,
                        help="training epochs (Yin-Yang: 40, download tasks: 10)")
    parser.add_argument("--data", default=None,
                        help="download tasks: the folder of the task's public layout (a "
                             "session file for primate-reaching)")
    parser.add_argument("--max-samples", type=int, default=0,
                        help="download tasks: at most this many samples per split (0: all)")
    parser.add_argument("--frames", type=positive_int, default=150,
                        help="dvs-gesture: time bins per sample")
    parser.add_argument("--smoke", action="store_true",
                        help="download tasks: one epoch on 32 samples per split (20 DVS "
                             "frames), to check the data and the setup")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", default="snn_train_neurobench", help="folder for results.json")
    parser.set_defaults(func=_run_checked)
    return parser


def _run_checked(args: argparse.Namespace) -> int:
    if args.task in DOWNLOAD_TASK_CHOICES:
        if args.data is None:
            raise SystemExit(f"snn train neurobench: --task {args.task} needs --data DIR (the "
                             "folder of its public layout)")
        if args.max_samples < 0:
            raise SystemExit("snn train neurobench: --max-samples must be >= 0")
        return run_download(args)
    if args.units is None:
        args.units = {"mackey-glass": 180, "memory-capacity": 100, "yin-yang": 100}[args.task]
    if args.task == "mackey-glass" and args.model not in ("esn", "spiking"):
        raise SystemExit("snn train neurobench: --model must be 'esn' or 'spiking' for "
                         "mackey-glass")
    if args.task == "yin-yang" and args.model == "esn":
        args.model = "lif"  # the default model of the classifier
    if args.task == "yin-yang" and args.model not in ("lif", "delays"):
        raise SystemExit("snn train neurobench: --model must be 'lif' or 'delays' for "
                         "yin-yang")
    return run(args)
