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
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--stop-after", type=int, default=None,
                        help="end after this many epochs (the checkpoint stays resumable)")
    parser.add_argument("--resume", action="store_true")
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument("--n-train", type=int, default=24)
    parser.add_argument("--dropout", type=float, default=0.0)
    parser.add_argument("--delays", default="learned")
    parser.add_argument("--backend", default=None)
    parser.add_argument("--task", choices=["delays", "hardware", "continual"],
                        default="delays")
    parser.add_argument("--method", default="hlop-replay", help="continual method")
    parser.add_argument("--training", default="bptt", help="continual training mode")
    parser.add_argument("--activity", default="step", help="continual subspace activity")
    args = parser.parse_args(argv)
    if args.task == "hardware":
        return _hardware(args)
    if args.task == "continual":
        return _continual(args)

    from snn.delay_training import DelayTrainingConfig, train_delay_network
    from snn.layers import DelayNetwork, DelayNetworkConfig

    torch.set_num_threads(1)
    rank = os.environ.get("RANK", "0")
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    # Record what this process writes with torch.save, and its parameters just before the
    # final rounding of the delays (the continuous delays the optimiser reached).
    writes = out / f"writes_rank{rank}.txt"
    real_save = torch.save

    def logged_save(obj, path, *a, **k):
        if isinstance(path, (str, os.PathLike)):  # not the in-memory saves of pickling
            with open(writes, "a") as log:
                log.write(f"{Path(path).name}\n")
        return real_save(obj, path, *a, **k)

    torch.save = logged_save
    before_rounding = {}
    real_round = DelayNetwork.round_delays_

    def round_and_record(self):
        if not before_rounding:  # the final rounding (keep="last" rounds only there)
            before_rounding.update({k: v.detach().clone() for k, v in self.state_dict().items()})
        return real_round(self)

    DelayNetwork.round_delays_ = round_and_record
    train = synthetic_spikes(args.n_train, seed=1)
    test = synthetic_spikes(10, seed=2)
    model_config = DelayNetworkConfig(n_inputs=6, n_outputs=3, n_hidden=16, n_hidden_layers=2,
                                      dt=0.01, max_delay=0.04, delays=args.delays,
                                      dropout=args.dropout)
    config = DelayTrainingConfig(epochs=args.epochs, batch_size=args.batch_size, seed=3)
    on_epoch = None
    if args.stop_after is not None:
        def on_epoch(epoch, history):
            return epoch + 1 >= args.stop_after
    if args.backend is not None:
        from snn.distributed_training import init_distributed
        init_distributed("cpu", backend=args.backend)
    result = train_delay_network(model_config, train, test, config, out_dir=args.out,
                                 resume=args.resume, progress=False, on_epoch=on_epoch)
    params = {k: v.detach().clone() for k, v in result["model"].state_dict().items()}
    real_save({"params": before_rounding, "rounded": params, "history": result["history"]},
              out / f"params_rank{rank}.pt")
    return 0


def _hardware(args) -> int:
    from hardware_models.experiments import make_classifier, train_classifier

    torch.set_num_threads(1)
    model = make_classifier(6, 16, 3, rng=0)
    losses = train_classifier(model, synthetic_spikes(args.n_train, seed=1), epochs=args.epochs,
                              batch_size=args.batch_size, lr=5e-3, rng=2)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    rank = os.environ.get("RANK", "0")
    torch.save({"params": {k: v.clone() for k, v in model.state_dict().items()},
                "history": {"loss": losses}}, out / f"params_rank{rank}.pt")
    return 0


def _continual(args) -> int:
    from snn.continual import ContinualConfig, run_continual
    from snn.data import permuted_digits_tasks
    from snn.data.tasks import Task

    torch.set_num_threads(1)
    tasks = [Task(t.name, t.x_train[:args.n_train], t.y_train[:args.n_train], t.x_test[:60],
                  t.y_test[:60], t.classes) for t in permuted_digits_tasks(2, rng=0)]
    config = ContinualConfig(method=args.method, training=args.training, hidden=(24,),
                             n_steps=6, epochs=args.epochs, batch_size=args.batch_size,
                             components=(4, 4), hebbian_epochs=1, replay_per_task=10,
                             subspace_activity=args.activity, seed=4)
    result = run_continual(tasks, config)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    rank = os.environ.get("RANK", "0")
    subspaces = {}
    for i, sub in enumerate(result.subspaces or []):
        for name in ("frozen", "learning", "basis"):
            value = getattr(sub, name, None)
            if isinstance(value, torch.Tensor):
                subspaces[f"{i}.{name}"] = value.clone()
    torch.save({"params": {k: v.clone() for k, v in result.model.state_dict().items()},
                "subspaces": subspaces,
                "history": {"accuracy": result.accuracy.tolist()}},
               out / f"params_rank{rank}.pt")
    return 0


if __name__ == "__main__":
    sys.exit(main())
