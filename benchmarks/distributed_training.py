"""Data-parallel training of a small delay network: one epoch with 1 and 2 processes.

What it measures: the wall time of the training pass of one epoch (``history["epoch_time_s"]`` of
:func:`snn.delay_training.train_delay_network`, the slowest process's) of a small
feed-forward delay network on a synthetic spike set (random counts, class-dependent rates,
samples of different lengths), in three set-ups on the same global batches:

* 1 process, 1 torch thread;
* 1 process, 2 torch threads (torch's own intra-op parallelism on the two cores);
* 2 processes under ``torchrun`` (gloo), 1 thread each (data-parallel, each process
  ``batch_size / 2`` samples of every batch).

Every set-up is launched ``--repeats`` times with ``--epochs`` epochs each; the first epoch
of a launch (warm-up: allocation, kernel caches) is dropped and the minimum over the rest is
reported, as the machine is shared.  Beside it, the CPU time per epoch of the busiest
process (training and the small evaluation; minimum over epochs and repeats), which others'
load hardly changes: with N processes it is at best 1/N of one process's (the work splits),
and the excess is the cost of the split and the communication.  The load average before and
after the runs is recorded with the machine.  Also reported: the bytes all-reduced per
step, i.e. the float32 gradients of every trained parameter (``n_parameters x 4``, what
DistributedDataParallel sums), plus the batch-normalisation statistics summed across
processes (per batch-norm layer: ``(2 C + 1) x 4`` bytes forward, ``2 C x 4`` backward).

Run:  nice -n 10 python benchmarks/distributed_training.py            (about 3 min)
      python benchmarks/distributed_training.py --quick                (about 40 s)
Writes benchmarks/results/distributed_training.json and distributed_training.png.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import machine_info, results_dir, write_json  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]

SETUPS = (  # (label, processes, torch threads per process)
    ("1 process, 1 thread", 1, 1),
    ("1 process, 2 threads", 1, 2),
    ("2 processes (torchrun, gloo), 1 thread each", 2, 1),
)


def synthetic_spikes(n_samples: int, n_steps: int, n_channels: int, n_classes: int, seed: int):
    """Spike counts whose class raises the rate of one channel group; random lengths."""
    from snn.data import BinnedSpikes

    rng = np.random.default_rng(seed)
    labels = rng.integers(0, n_classes, n_samples)
    rates = np.full((n_samples, n_steps, n_channels), 0.05)
    group = n_channels // n_classes
    for i, label in enumerate(labels):
        rates[i, :, label * group:(label + 1) * group] = 0.3
    counts = (rng.random(rates.shape) < rates).astype(np.uint8)
    lengths = rng.integers(n_steps // 2, n_steps + 1, n_samples)
    for i, length in enumerate(lengths):
        counts[i, length:] = 0
    lengths = np.array([int(np.flatnonzero(c.any(1)).max()) + 1 if c.any() else 0
                        for c in counts])
    return BinnedSpikes(counts, labels.astype(np.int64), lengths.astype(np.int64), 0.01, 1,
                        n_classes)


def worker(args: argparse.Namespace) -> int:
    """One launch (one process of it): train, and let rank 0 write the epoch times."""
    import torch

    from snn.delay_training import DelayTrainingConfig, train_delay_network
    from snn.layers import DelayNetworkConfig

    train = synthetic_spikes(args.n_train, args.steps, args.channels, args.classes, seed=1)
    test = synthetic_spikes(args.batch_size, args.steps, args.channels, args.classes, seed=2)
    model_config = DelayNetworkConfig(n_inputs=args.channels, n_outputs=args.classes,
                                      n_hidden=args.hidden, n_hidden_layers=2, dt=0.01,
                                      max_delay=args.max_delay, dropout=0.1)
    # threads= sets torch's and numba's thread counts (numba would otherwise take every core
    # in every process).
    config = DelayTrainingConfig(epochs=args.epochs, batch_size=args.batch_size, seed=0,
                                 threads=args.threads)
    # CPU time of this process per epoch (training pass and the small evaluation): on a
    # shared machine it shows how the work splits, where wall time mostly shows the others.
    stamps = [time.process_time()]

    def on_epoch(epoch: int, history: dict) -> None:
        stamps.append(time.process_time())

    result = train_delay_network(model_config, train, test, config, progress=False,
                                 on_epoch=on_epoch)
    model = result["model"]
    norms = [m for m in model.modules() if isinstance(m, torch.nn.BatchNorm1d)]
    rank = os.environ.get("RANK", "0")
    Path(f"{args.worker}.rank{rank}").write_text(json.dumps({
        "epoch_time_s": result["history"]["epoch_time_s"],
        "epoch_cpu_s": np.diff(stamps).tolist(),
        "train_loss": result["history"]["train_loss"],
        "n_parameters": result["n_parameters"],
        "batch_norm_channels": [m.num_features for m in norms],
        "steps_per_epoch": -(-args.n_train // args.batch_size)}))
    return 0


def launch(args: argparse.Namespace, processes: int, threads: int, out: Path) -> dict:
    options = ["--worker", str(out), "--threads", str(threads), "--epochs", str(args.epochs),
               "--n-train", str(args.n_train), "--batch-size", str(args.batch_size),
               "--hidden", str(args.hidden), "--steps", str(args.steps),
               "--channels", str(args.channels), "--classes", str(args.classes),
               "--max-delay", str(args.max_delay)]
    script = str(Path(__file__).resolve())
    if processes == 1:
        command = [sys.executable, script, *options]
    else:
        command = [sys.executable, "-m", "torch.distributed.run", "--standalone",
                   "--nproc-per-node", str(processes), script, *options]
    env = {**os.environ, "OMP_NUM_THREADS": str(threads), "NUMBA_NUM_THREADS": str(threads),
           "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])}
    for name in ("RANK", "WORLD_SIZE", "LOCAL_RANK", "MASTER_ADDR", "MASTER_PORT"):
        env.pop(name, None)
    done = subprocess.run(command, env=env, capture_output=True, text=True)
    if done.returncode != 0:
        raise SystemExit(f"launch failed:\n{done.stdout}\n{done.stderr[-3000:]}")
    ranks = [json.loads(Path(f"{out}.rank{r}").read_text()) for r in range(processes)]
    run = ranks[0]
    # Per epoch, the busiest process's CPU time.
    run["epoch_cpu_s"] = np.max([r["epoch_cpu_s"] for r in ranks], axis=0).tolist()
    return run


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--worker", default=None, help=argparse.SUPPRESS)
    parser.add_argument("--threads", type=int, default=1, help=argparse.SUPPRESS)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--epochs", type=int, default=3, help="per launch; the first dropped")
    parser.add_argument("--n-train", type=int, default=512)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--hidden", type=int, default=128)
    parser.add_argument("--steps", type=int, default=50)
    parser.add_argument("--channels", type=int, default=40)
    parser.add_argument("--classes", type=int, default=5)
    parser.add_argument("--max-delay", type=float, default=0.1, help="s")
    parser.add_argument("--quick", action="store_true", help="1 repeat, 2 epochs, 256 samples")
    parser.add_argument("--out", default=None, help="results folder")
    args = parser.parse_args()
    if args.worker is not None:
        return worker(args)
    if args.quick:
        args.repeats, args.epochs, args.n_train = 1, 2, 256
    if args.epochs < 2:
        raise SystemExit("--epochs must be >= 2 (the first epoch of a launch is dropped)")
    load_before = os.getloadavg()
    rows, launches = [], {}
    with tempfile.TemporaryDirectory() as tmp:
        for label, processes, threads in SETUPS:
            times, cpu, runs = [], [], []
            for repeat in range(args.repeats):
                run = launch(args, processes, threads, Path(tmp) / f"{processes}_{threads}_"
                                                                   f"{repeat}.json")
                runs.append(run)
                times.extend(run["epoch_time_s"][1:])
                cpu.extend(run["epoch_cpu_s"][1:])
            launches[label] = runs
            rows.append({"setup": label, "processes": processes, "threads": threads,
                         "epoch_s_min": float(min(times)),
                         "epoch_s_median": float(np.median(times)),
                         "cpu_s_per_process_min": float(min(cpu)),
                         "epochs_timed": len(times)})
    base = rows[0]["epoch_s_min"]
    for row in rows:
        row["speed_up"] = base / row["epoch_s_min"]
        # Work per process against one process alone: 1 / processes at best (perfect split,
        # no communication); with threads it is the CPU time of all of them.
        row["cpu_share"] = row["cpu_s_per_process_min"] / rows[0]["cpu_s_per_process_min"]
    first = next(iter(launches.values()))[0]
    n_parameters = first["n_parameters"]
    channels = first["batch_norm_channels"]
    gradient_bytes = 4 * n_parameters
    norm_bytes = sum(4 * ((2 * c + 1) + 2 * c) for c in channels)
    # Same global batches, same initial model: the losses agree across set-ups.
    losses = {label: runs[0]["train_loss"] for label, runs in launches.items()}
    report = {
        # The machine is shared: its load (1, 5, 15 min averages) before and after the runs.
        "machine": machine_info(load_average_before=list(load_before),
                                load_average_after=list(os.getloadavg())),
        "setup": {"n_train": args.n_train, "batch_size": args.batch_size,
                  "hidden": args.hidden, "hidden_layers": 2, "steps": args.steps,
                  "channels": args.channels, "classes": args.classes,
                  "max_delay_s": args.max_delay, "epochs_per_launch": args.epochs,
                  "repeats": args.repeats, "steps_per_epoch": first["steps_per_epoch"]},
        "rows": rows,
        "communication": {"n_parameters": n_parameters,
                          "gradient_bytes_per_step": gradient_bytes,
                          "batch_norm_bytes_per_step": norm_bytes,
                          "all_reduced_bytes_per_step": gradient_bytes + norm_bytes},
        "train_loss_first_epoch": {k: v[0] for k, v in losses.items()},
    }
    out = results_dir(args.out)
    path = write_json(out / "distributed_training.json", report)
    print(f"{'set-up':46s} {'epoch (s, min)':>15s} {'median':>8s} {'speed-up':>9s} "
          f"{'CPU s/process':>14s} {'CPU share':>10s}")
    for row in rows:
        print(f"{row['setup']:46s} {row['epoch_s_min']:15.3f} {row['epoch_s_median']:8.3f} "
              f"{row['speed_up']:9.2f} {row['cpu_s_per_process_min']:14.3f} "
              f"{row['cpu_share']:10.2f}")
    print(f"load average (1, 5, 15 min) before: {load_before}, after: {os.getloadavg()}")
    print(f"{n_parameters} trained parameters: {gradient_bytes} gradient bytes + {norm_bytes} "
          f"batch-norm bytes all-reduced per step ({first['steps_per_epoch']} steps per epoch)")
    import matplotlib

    matplotlib.use("Agg")  # a script, not a library module: no display needed
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6.4, 2.6))
    ax.barh([r["setup"] for r in rows][::-1], [r["epoch_s_min"] for r in rows][::-1],
            color="C0")
    ax.set_xlabel("training time per epoch (s, min over repeats)")
    ax.set_title(f"delay network, {args.n_train} samples, batch {args.batch_size}, "
                 f"{os.cpu_count()} cores", fontsize=9)
    fig.tight_layout()
    fig.savefig(out / "distributed_training.png", dpi=120)
    print(f"wrote {path} and {out / 'distributed_training.png'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
