"""``snn train continual``: HLOP and its baselines on a task sequence; prints the accuracy
matrix R, ACC and BWT, and writes ``results.json``."""

from __future__ import annotations

import argparse
import math
from pathlib import Path
from typing import Any

from ._args import components, positive_int

__all__ = ["DATA_CHOICES", "add_parser", "format_matrix", "load_tasks", "run"]

DATA_CHOICES = ("permuted-digits", "lowrank-digits", "split-digits", "split-fsdd", "pmnist")


def load_tasks(data: str, n_tasks: int, rng: int, root: str | None) -> list:
    """The task sequence ``--data`` names (``--root``: its folder, where it needs one)."""
    from ..data import (
        load_mnist_idx,
        permuted_digits_tasks,
        permuted_tasks,
        split_digits_tasks,
        split_fsdd_tasks,
    )

    if data == "permuted-digits":
        return permuted_digits_tasks(n_tasks, rng=rng)
    if data == "lowrank-digits":
        return permuted_digits_tasks(n_tasks, rng=rng, rank=8)
    if data == "split-digits":
        return split_digits_tasks(2, rng=rng)
    if data == "split-fsdd":
        return split_fsdd_tasks(root, dt=0.02, max_time=1.0)
    if data == "pmnist":
        if root is None:
            raise ValueError("--root FOLDER (with MNIST's four IDX files) is required with "
                             "--data pmnist")
        return permuted_tasks(*load_mnist_idx(root), n_tasks, rng=rng, name="permuted MNIST")
    raise ValueError(f"data must be one of {DATA_CHOICES}, got {data!r}")  # pragma: no cover



def format_matrix(result) -> str:
    """R as a text table (percent), one row per training stage."""
    n = result.accuracy.shape[0]
    lines = ["after \\ on " + " ".join(f"{j:>6d}" for j in range(n))]
    for i, row in enumerate(result.accuracy):
        lines.append(f"task {i:<6d} " + " ".join("     -" if math.isnan(v) else f"{v:6.1f}"
                                                  for v in row))
    return "\n".join(lines)


def run(args: argparse.Namespace) -> int:
    """``snn train continual``: run the methods, print R, ACC and BWT, write results.json.

    Under ``torchrun --nproc-per-node N`` the gradient steps run data-parallel
    (:func:`snn.continual.run_continual`); only rank 0 prints and writes."""
    from ..distributed_training import distributed_training

    with distributed_training("cpu") as context:
        return _run(args, context.is_main)


def _run(args: argparse.Namespace, main: bool) -> int:
    import json

    import torch

    from ..continual import METHODS, ContinualConfig, run_continual

    if args.threads:
        torch.set_num_threads(args.threads)
    tasks = load_tasks(args.data, args.tasks, args.seed, args.root)
    methods = list(METHODS) if args.method == "all" else [args.method]
    out = Path(args.out)
    # Only rank 0 speaks and writes; the others train in silence.
    say = print if main else (lambda *a, **k: None)
    if main:
        out.mkdir(parents=True, exist_ok=True)
    say(f"{args.data}: {len(tasks)} tasks, {tasks[0].n_features} inputs, "
          f"{sum(len(t.y_train) for t in tasks)} training samples in all")
    results = {}
    # Static digit images are 8 x 8 for a convolutional network; time series [N, T, C] use
    # 1-D convolutions over their C channels.
    input_shape = (1, 8, 8) if (args.architecture == "conv" and tasks[0].x_train.ndim == 2
                                and tasks[0].n_features == 64) else None
    for method in methods:
        config = ContinualConfig(
            method=method, training=args.training, hidden=tuple(args.hidden),
            n_steps=args.steps, encoding=args.encoding, epochs=args.epochs,
            batch_size=args.batch_size, lr=args.lr, components=args.components,
            hebbian_lr=args.hebbian_lr, hebbian_iterations=args.hebbian_iterations,
            hebbian_epochs=args.hebbian_epochs, hebbian_anneal=args.hebbian_anneal,
            hebbian_momentum=args.hebbian_momentum, subspace_activity=args.subspace_activity,
            ewc_lambda=args.ewc_lambda, seed=args.seed, architecture=args.architecture,
            channels=tuple(args.channels), kernel_size=args.kernel_size,
            input_shape=input_shape, lateral_steps=args.lateral_steps,
            gpm_threshold=args.gpm_threshold, replay_per_task=args.replay_per_task)
        result = run_continual(tasks, config, progress=main and not args.no_progress)
        results[method] = result.to_dict()
        bwt = "-" if math.isnan(result.bwt) else f"{result.bwt:.2f}"
        say(f"\n{method} ({args.training}): ACC {result.acc:.2f} %, BWT {bwt} % "
              f"({result.seconds:.1f} s)")
        say(format_matrix(result))
    if not main:
        return 0
    (out / "results.json").write_text(json.dumps(results, indent=1))
    print(f"\nresults: {out / 'results.json'}")
    return 0


def add_parser(subparsers: Any) -> argparse.ArgumentParser:
    """Add ``continual`` to the sub-parsers of ``snn train`` (with ``func`` set)."""
    from ..continual import ACTIVITIES, ENCODINGS, METHODS, TRAININGS, ContinualConfig

    parser = subparsers.add_parser(
        "continual", help="continual learning: HLOP and baselines on task sequences",
        description="Train a spiking MLP on a sequence of tasks and report the accuracy matrix, "
                    "ACC and BWT (GEM's definitions). Default: permuted sklearn digits.")
    parser.add_argument("--method", choices=[*METHODS, "all"], default="hlop")
    parser.add_argument("--data", choices=DATA_CHOICES, default="permuted-digits")
    parser.add_argument("--root", default=None,
                        help="folder of MNIST's IDX files (pmnist) or FSDD (split-fsdd; "
                             "default: the embedded sample)")
    parser.add_argument("--tasks", type=positive_int, default=5,
                        help="number of permuted tasks")
    parser.add_argument("--training", choices=TRAININGS, default="bptt")
    parser.add_argument("--hidden", type=positive_int, nargs="+", default=[128])
    parser.add_argument("--steps", type=positive_int, default=20,
                        help="time steps per static sample")
    parser.add_argument("--encoding", choices=ENCODINGS, default="rate")
    parser.add_argument("--epochs", type=positive_int, default=5, help="epochs per task")
    parser.add_argument("--batch-size", type=positive_int, default=32)
    parser.add_argument("--lr", type=float, default=0.05, help="SGD learning rate")
    parser.add_argument("--components", type=components, default=None,
                        help="HLOP subspace neurons added per task, one per Linear layer "
                             "(e.g. 10,20)")
    parser.add_argument("--hebbian-lr", type=float, default=1.0)
    parser.add_argument("--hebbian-iterations", type=positive_int, default=5)
    parser.add_argument("--hebbian-epochs", type=int, default=2,
                        help="forward-only passes per task end in which the subspaces learn")
    parser.add_argument("--hebbian-anneal", type=float, default=ContinualConfig.hebbian_anneal,
                        help="final / initial Hebbian step over the passes at each task end")
    parser.add_argument("--hebbian-momentum", type=float, default=0.0)
    parser.add_argument("--subspace-activity", choices=ACTIVITIES, default="mean",
                        help="subspaces learn from time-mean activity or every step's")
    parser.add_argument("--ewc-lambda", type=float, default=100.0)
    parser.add_argument("--architecture", choices=["mlp", "conv"], default="mlp",
                        help="spiking MLP or small convolutional SNN (digits as 8x8 images, "
                             "FSDD with 1-D convolutions over channels)")
    parser.add_argument("--channels", type=positive_int, nargs="+", default=[8, 16],
                        help="channels of each convolution (--architecture conv)")
    parser.add_argument("--kernel-size", type=positive_int, default=3)
    parser.add_argument("--lateral-steps", type=positive_int, default=1000,
                        help="steps of the spiking lateral neurons (hlop-spiking)")
    parser.add_argument("--gpm-threshold", type=float, default=0.97)
    parser.add_argument("--replay-per-task", type=int, default=20,
                        help="samples kept per finished task (replay, hlop-replay)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=None)
    parser.add_argument("--out", default="snn_train_continual", help="folder for results.json")
    parser.add_argument("--no-progress", action="store_true", help="hide progress bars")
    parser.set_defaults(func=run)
    return parser
