"""A training launched by the distributed-training tests, once per process (under
``python -m torch.distributed.run``) or alone: trains a small delay network on a synthetic
spike set and saves the final parameters of this process to ``OUT/params_rank{RANK}.pt``.

Not a test module itself (no ``test_`` prefix); run as a script.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

import numpy as np
import torch


def synthetic_spikes(n_samples: int, n_steps: int = 12, n_channels: int = 6,
                     n_classes: int = 3, seed: int = 0):
    """Random spike counts whose class sets the firing rate of a channel group; samples of
    different lengths, so that batches padded to their longest sample differ in length."""
    from snn.data import BinnedSpikes

    rng = np.random.default_rng(seed)
    labels = rng.integers(0, n_classes, n_samples)
    rates = np.full((n_samples, n_steps, n_channels), 0.1)
    for i, label in enumerate(labels):
        rates[i, :, label * n_channels // n_classes:(label + 1) * n_channels // n_classes] = 0.6
    lengths = rng.integers(n_steps // 2, n_steps + 1, n_samples)
    counts = (rng.random(rates.shape) < rates).astype(np.uint8)
    for i, length in enumerate(lengths):
        counts[i, length:] = 0
        lengths[i] = int(np.flatnonzero(counts[i].any(1)).max()) + 1 if counts[i].any() else 0
    return BinnedSpikes(counts, labels.astype(np.int64), lengths.astype(np.int64), 0.01, 1,
                        n_classes)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--out", required=True)
    parser.add_argument("--task", nargs="+", choices=["delays", "hardware", "continual"],
                        default=["delays"], help="trainings to run, in order, in one launch")
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--stop-after", type=int, default=None,
                        help="end after this many epochs (the checkpoint stays resumable)")
    parser.add_argument("--resume", action="store_true")
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument("--n-train", type=int, default=24)
    parser.add_argument("--continual-n-train", type=int, default=29,
                        help="training samples per continual task")
    parser.add_argument("--dropout", type=float, default=0.0)
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    Path(args.out).mkdir(parents=True, exist_ok=True)
    # Several trainings in turn: the first opens the process group, the others use it.
    for task in args.task:
        TASKS[task](args)
    return 0


def _delays(args) -> int:
    from snn.delay_training import DelayTrainingConfig, train_delay_network
    from snn.layers import DelayNetwork, DelayNetworkConfig

    rank = os.environ.get("RANK", "0")
    out = Path(args.out)
    # Record what this process writes with torch.save, and its parameters just before the
    # final rounding of the delays (the continuous delays the optimiser reached).
    writes = out / f"writes_rank{rank}.txt"

    def logged_save(obj, path, *a, **k):
        if isinstance(path, (str, os.PathLike)):  # not the in-memory saves of pickling
            with open(writes, "a") as log:
                log.write(f"{Path(path).name}\n")
        return REAL_SAVE(obj, path, *a, **k)

    before_rounding = {}
    real_round = DelayNetwork.round_delays_

    def round_and_record(self):
        if not before_rounding:  # the final rounding (keep="last" rounds only there)
            before_rounding.update({k: v.detach().clone() for k, v in self.state_dict().items()})
        return real_round(self)

    train = synthetic_spikes(args.n_train, seed=1)
    test = synthetic_spikes(10, seed=2)
    model_config = DelayNetworkConfig(n_inputs=6, n_outputs=3, n_hidden=16, n_hidden_layers=2,
                                      dt=0.01, max_delay=0.04, dropout=args.dropout)
    config = DelayTrainingConfig(epochs=args.epochs, batch_size=args.batch_size, seed=3)
    on_epoch = None
    if args.stop_after is not None:
        def on_epoch(epoch, history):
            return epoch + 1 >= args.stop_after
    torch.save, DelayNetwork.round_delays_ = logged_save, round_and_record
    try:
        result = train_delay_network(model_config, train, test, config, out_dir=args.out,
                                     resume=args.resume, progress=False, on_epoch=on_epoch)
    finally:
        torch.save, DelayNetwork.round_delays_ = REAL_SAVE, real_round
    params = {k: v.detach().clone() for k, v in result["model"].state_dict().items()}
    REAL_SAVE({"params": before_rounding, "rounded": params, "history": result["history"]},
              out / f"params_rank{rank}.pt")
    return 0


def _hardware(args) -> int:
    from hardware_models.experiments import make_classifier, train_classifier

    model = make_classifier(6, 16, 3, rng=0)
    losses = train_classifier(model, synthetic_spikes(args.n_train, seed=1), epochs=args.epochs,
                              batch_size=args.batch_size, lr=5e-3, rng=2)
    rank = os.environ.get("RANK", "0")
    REAL_SAVE({"params": {k: v.clone() for k, v in model.state_dict().items()},
               "history": {"loss": losses}}, Path(args.out) / f"params_hardware_rank{rank}.pt")
    return 0


def _continual(args) -> int:
    from snn.continual import ContinualConfig, run_continual
    from snn.data import permuted_digits_tasks
    from snn.data.tasks import Task

    n = args.continual_n_train
    tasks = [Task(t.name, t.x_train[:n], t.y_train[:n], t.x_test[:60],
                  t.y_test[:60], t.classes) for t in permuted_digits_tasks(2, rng=0)]
    config = ContinualConfig(method="hlop-replay", training="bptt", hidden=(24,),
                             n_steps=6, epochs=args.epochs, batch_size=args.batch_size,
                             components=(4, 4), hebbian_epochs=1, replay_per_task=10,
                             subspace_activity="step", seed=4)
    result = run_continual(tasks, config)
    rank = os.environ.get("RANK", "0")
    subspaces = {}
    for i, sub in enumerate(result.subspaces or []):
        for name in ("frozen", "learning", "basis"):
            value = getattr(sub, name, None)
            if isinstance(value, torch.Tensor):
                subspaces[f"{i}.{name}"] = value.clone()
    REAL_SAVE({"params": {k: v.clone() for k, v in result.model.state_dict().items()},
               "subspaces": subspaces, "history": {"accuracy": result.accuracy.tolist()}},
              Path(args.out) / f"params_continual_rank{rank}.pt")
    return 0


TASKS = {"delays": _delays, "hardware": _hardware, "continual": _continual}
REAL_SAVE = torch.save

if __name__ == "__main__":
    sys.exit(main())
