"""Are the FSDD spikes learnable?  A logistic-regression check on spike counts.

    python datasets/fsdd/learnability.py RECORDINGS_OR_CONVERTED_DIR [--segments 4]

Loads both splits with snn.data.load_fsdd (converting once into the cache if given the wav
recordings), counts each sample's spikes per channel in ``segments`` equal parts of the
recording (1 = plain per-channel counts), takes log(1 + count), standardises with the
training statistics and fits a multinomial logistic regression (full batch, Adam, weight
decay) on the train split.  Prints test accuracy; chance is 10 %.
"""

from __future__ import annotations

import argparse
import sys
import time

import numpy as np
import torch

from snn.data import SpikeDataset, load_fsdd


def features(data: SpikeDataset, segments: int) -> np.ndarray:
    """log(1 + spike count) per (segment, channel): float32 [N, segments * C]."""
    duration = data.extra["duration"].astype(np.float64)
    sample = np.repeat(np.arange(len(data)), data.spike_counts)
    part = np.minimum((data.flat_times / duration[sample] * segments).astype(np.int64),
                      segments - 1)
    flat = (sample * segments + part) * data.n_channels + data.flat_units
    counts = np.bincount(flat, minlength=len(data) * segments * data.n_channels)
    return np.log1p(counts.reshape(len(data), -1)).astype(np.float32)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("root", help="FSDD recordings, or folder with fsdd_{train,test}.h5")
    parser.add_argument("--segments", type=int, default=1)
    parser.add_argument("--steps", type=int, default=500)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)

    start = time.perf_counter()
    train, test = load_fsdd(args.root, "train"), load_fsdd(args.root, "test")
    loaded = time.perf_counter() - start
    rate = (train.n_spikes + test.n_spikes) / (
        float(train.extra["duration"].sum() + test.extra["duration"].sum()) * train.n_channels)
    x_train = torch.from_numpy(features(train, args.segments))
    x_test = torch.from_numpy(features(test, args.segments))
    mean, std = x_train.mean(0), x_train.std(0) + 1e-6
    x_train, x_test = (x_train - mean) / std, (x_test - mean) / std
    y_train = torch.from_numpy(train.labels)
    y_test = torch.from_numpy(test.labels)

    torch.manual_seed(args.seed)
    model = torch.nn.Linear(x_train.shape[1], train.n_classes)
    optimiser = torch.optim.Adam(model.parameters(), lr=1e-2, weight_decay=1e-3)
    for _ in range(args.steps):
        optimiser.zero_grad()
        torch.nn.functional.cross_entropy(model(x_train), y_train).backward()
        optimiser.step()
    with torch.no_grad():
        train_acc = (model(x_train).argmax(1) == y_train).float().mean().item()
        test_acc = (model(x_test).argmax(1) == y_test).float().mean().item()
    print(f"loaded {len(train)} + {len(test)} samples in {loaded:.1f} s; mean rate "
          f"{rate:.1f} spikes/s per channel; features: {args.segments} segment(s) x "
          f"{train.n_channels} channels")
    print(f"logistic regression: train accuracy {100 * train_acc:.1f} %, "
          f"test accuracy {100 * test_acc:.1f} % (chance 10 %)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
