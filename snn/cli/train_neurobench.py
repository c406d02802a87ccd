"""``snn train neurobench``: one task of :mod:`snn.neurobench` (Mackey-Glass by NeuroBench's
protocol, memory capacity by ReservoirPy's protocol, or a Yin-Yang spiking classifier);
prints the task metric with NeuroBench's metrics and writes ``results.json``."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from ._args import positive_int

__all__ = ["TASK_CHOICES", "add_parser", "run"]

TASK_CHOICES = ("mackey-glass", "memory-capacity", "yin-yang")


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

        result = train_yin_yang(YinYangConfig(model=args.model, epochs=args.epochs,
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
        "neurobench", help="NeuroBench tasks: Mackey-Glass, memory capacity, Yin-Yang",
        description="Mackey-Glass by NeuroBench's protocol (ESN or spiking reservoir), memory "
                    "capacity by ReservoirPy's protocol (ESN), or a Yin-Yang spiking "
                    "classifier (LIF or learned delays), with NeuroBench's metrics.")
    parser.add_argument("--task", choices=TASK_CHOICES, required=True)
    parser.add_argument("--model", choices=["esn", "spiking", "lif", "delays"], default="esn",
                        help="Mackey-Glass: esn | spiking; Yin-Yang: lif | delays")
    parser.add_argument("--units", type=positive_int, default=None,
                        help="reservoir units / hidden neurons (default 180 / 100 / 100)")
    parser.add_argument("--runs", type=positive_int, default=30, help="Mackey-Glass runs")
    parser.add_argument("--epochs", type=positive_int, default=40, help="Yin-Yang epochs")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", default="snn_train_neurobench", help="folder for results.json")
    parser.set_defaults(func=_run_checked)
    return parser


def _run_checked(args: argparse.Namespace) -> int:
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
