"""Small experiments shared by the hardware benchmark and the ``snn demo`` hardware section:
a spiking classifier, its training with surrogate gradients, accuracy, and accuracy of its
analog emulation over time after programming and over seeds.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from snn._random import make_linear, torch_generator
from snn.data import BinnedSpikes, batches
from snn.distributed_training import (
    check_global_batch,
    init_distributed,
    shard_batches,
    unwrap_model,
    wrap_model,
)
from snn.layers import LIF, Surrogate

from .convert import calibrate_adc, convert, set_time
from .crossbar import CrossbarConfig
from .presets import DevicePreset

__all__ = ["accuracy", "analog_accuracy", "make_classifier", "train_classifier"]


def make_classifier(n_inputs: int, n_hidden: int, n_classes: int,
                    rng: int | torch.Generator | None = 0) -> nn.Module:
    """``Linear(n_inputs, n_hidden) -> LIF -> Linear(n_hidden, n_classes) -> LIF``; the class
    is the output neuron with the most spikes.  ``rng`` draws the initial weights: an int
    seed, a ``torch.Generator`` or None (fresh entropy)."""
    generator = torch_generator(rng)
    surrogate = Surrogate("arctan", 2.0)
    return nn.Sequential(make_linear(n_inputs, n_hidden, generator),
                         LIF(beta=0.95, surrogate=surrogate),
                         make_linear(n_hidden, n_classes, generator),
                         LIF(beta=0.95, surrogate=surrogate))


def train_classifier(model: nn.Module, data: BinnedSpikes, *, epochs: int, batch_size: int = 64,
                     lr: float = 2e-3, rng: int = 0) -> list[float]:
    """Adam on the cross-entropy of output spike counts; returns the mean loss per epoch.
    ``rng``: an int seed of the batch order (epoch ``e`` shuffles with ``rng * 1000 + e``).

    Under ``torchrun --nproc-per-node N`` the training is data-parallel
    (:mod:`snn.distributed_training`): each process takes ``batch_size / N`` samples of every
    global batch, gradients are averaged by ``DistributedDataParallel``, the losses are
    summed over the processes, and ``model`` ends the same on every process."""
    context = init_distributed("cpu")  # stays open for later trainings (init_distributed)
    check_global_batch(batch_size, len(data), context)
    trained = wrap_model(model, context)
    optimizer = torch.optim.Adam(model.parameters(), lr=lr)
    losses = []
    for epoch in range(epochs):
        total, n = 0.0, 0
        for shard in shard_batches(batches(data, batch_size, shuffle=True,
                                           rng=rng * 1000 + epoch), context):
            loss = nn.functional.cross_entropy(trained(shard.x.clamp(max=1.0)).sum(0), shard.y)
            optimizer.zero_grad()
            (loss * shard.loss_scale if shard.loss_scale != 1.0 else loss).backward()
            optimizer.step()
            total += float(loss.detach()) * len(shard.y)
            n += len(shard.y)
        total, n = context.sum([total, n])
        losses.append(total / n)
    unwrap_model(trained)
    return losses


@torch.no_grad()
def accuracy(model: nn.Module, data: BinnedSpikes, batch_size: int = 300) -> float:
    """Fraction of ``data`` classified correctly (ties go to the lowest class index)."""
    correct, n = 0, 0
    for x, y in batches(data, batch_size):
        correct += int((model(x.clamp(max=1.0)).sum(0).argmax(1) == y).sum())
        n += len(y)
    return correct / n


def analog_accuracy(model: nn.Module, preset: DevicePreset | str, data: BinnedSpikes, *,
                    times: list[float], seeds: list[int],
                    config: CrossbarConfig | None = None,
                    calibration: torch.Tensor | None = None) -> np.ndarray:
    """Accuracy ``[len(seeds), len(times)]`` of ``model`` on chips of ``preset`` programmed
    with each seed and read at each time after programming (s).  ``calibration`` (a batch of
    inputs ``[T, B, C]``) sets the ADC ranges with :func:`calibrate_adc`."""
    result = np.zeros((len(seeds), len(times)))
    for i, seed in enumerate(seeds):
        analog = convert(model, preset, rng=seed, config=config)
        if calibration is not None:
            calibrate_adc(analog, calibration.clamp(max=1.0))
        for j, t in enumerate(times):
            set_time(analog, t)
            result[i, j] = accuracy(analog, data)
    return result
