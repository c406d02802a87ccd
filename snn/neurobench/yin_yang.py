"""Spiking classifiers of the Yin-Yang data set (:func:`snn.data.yin_yang_splits`).

Each sample's four coordinates and a bias channel are spike latencies: channel ``j`` fires
once at step ``round(x_j * (encode_steps - 1))`` (the bias channel at step 0), and the
network runs for ``n_steps`` steps (time-to-first-spike coding, as Göltz et al. 2021 and
Wunderlich & Pehle 2021 present the data set).  Two networks of :mod:`snn.layers`:

* ``"lif"``: ``Linear(5, hidden) -> LIF -> Linear(hidden, 3) -> LIF``;
* ``"delays"``: the first projection is a :class:`snn.layers.DelayedLinear` whose delays
  are learned (Gaussian interpolation shrinking over training, rounded at the end).

The class is the output neuron with the most spikes; training minimises the cross-entropy
of the output spike counts (surrogate gradients, Adam).  Training uses the 5,000 training
samples; the reported accuracy is on the 1,000 test samples, the validation split is
reported beside it (no early stopping).  NeuroBench's metrics of the test run come from the
harness's definitions (:mod:`snn.neurobench.metrics`), per sample.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from .._random import torch_generator
from ..data.yin_yang import yin_yang_splits
from ..layers import LIF, DelayedLinear, sigma_schedule
from ..validation import check_choice, check_int, check_positive, check_real
from .metrics import (
    activation_sparsity,
    connection_sparsity,
    footprint,
    layer_operations,
    membrane_updates,
    total_operations,
)

__all__ = ["YinYangConfig", "YinYangNet", "encode_latency", "train_yin_yang", "yin_yang_metrics"]

MODELS = ("lif", "delays")


@dataclass(frozen=True)
class YinYangConfig:
    """Settings of a Yin-Yang spiking classifier (steps are the network's time steps).

    Args:
        model: ``"lif"`` or ``"delays"``.
        hidden: hidden LIF neurons (>= 1).
        encode_steps: steps over which the input latencies spread (>= 2).
        n_steps: steps simulated per sample (>= encode_steps).
        beta: membrane decay per step in ``[0, 1]``.
        max_delay_steps: the longest learned delay (steps, >= 1; ``"delays"`` only).
        epochs: training epochs (>= 1).
        batch_size: samples per batch (>= 1).
        learning_rate: Adam's step size (> 0).
        seed: draws the weights and the batch order.
    """

    model: str = "lif"
    hidden: int = 100
    encode_steps: int = 20
    n_steps: int = 30
    beta: float = 0.9
    max_delay_steps: int = 10
    epochs: int = 30
    batch_size: int = 50
    learning_rate: float = 2e-3
    seed: int = 0

    def __post_init__(self) -> None:
        check_choice("YinYangConfig.model", self.model, MODELS)
        check_int("YinYangConfig.hidden", self.hidden, minimum=1)
        check_int("YinYangConfig.encode_steps", self.encode_steps, minimum=2)
        check_int("YinYangConfig.n_steps", self.n_steps, minimum=self.encode_steps)
        check_real("YinYangConfig.beta", self.beta, minimum=0.0, maximum=1.0)
        check_int("YinYangConfig.max_delay_steps", self.max_delay_steps, minimum=1)
        check_int("YinYangConfig.epochs", self.epochs, minimum=1)
        check_int("YinYangConfig.batch_size", self.batch_size, minimum=1)
        check_positive("YinYangConfig.learning_rate", self.learning_rate)
        check_int("YinYangConfig.seed", self.seed, minimum=0)


def encode_latency(x: np.ndarray, encode_steps: int, n_steps: int) -> torch.Tensor:
    """Latency code of Yin-Yang samples, time-major.

    Args:
        x: samples ``[B, 4]`` in ``[0, 1]``.
        encode_steps: steps the latencies spread over (>= 2).
        n_steps: steps of the sequence (>= encode_steps).

    Returns:
        float32 spikes ``[n_steps, B, 5]``: channel ``j < 4`` fires at step
        ``round(x_j (encode_steps - 1))``, channel 4 (bias) at step 0.
    """
    x = np.asarray(x, np.float64)
    if x.ndim != 2 or x.shape[1] != 4:
        raise ValueError(f"x must be [B, 4], got shape {x.shape}")
    encode_steps = check_int("encode_steps", encode_steps, minimum=2)
    n_steps = check_int("n_steps", n_steps, minimum=encode_steps)
    steps = np.rint(np.clip(x, 0.0, 1.0) * (encode_steps - 1)).astype(np.int64)
    out = np.zeros((n_steps, x.shape[0], 5), np.float32)
    batch = np.arange(x.shape[0])
    for j in range(4):
        out[steps[:, j], batch, j] = 1.0
    out[0, :, 4] = 1.0
    return torch.from_numpy(out)


class YinYangNet(nn.Module):
    """The classifier of :class:`YinYangConfig`: ``[T, B, 5]`` spikes -> output spikes
    ``[T, B, 3]``.

    Args:
        config: its settings.
    """

    def __init__(self, config: YinYangConfig) -> None:
        super().__init__()
        self.config = config
        gen = torch_generator(config.seed)
        if config.model == "delays":
            self.fc1 = DelayedLinear(5, config.hidden, max_delay=float(config.max_delay_steps),
                                     dt=1.0, rng=gen)
        else:
            self.fc1 = nn.Linear(5, config.hidden, bias=False)
            bound = 1.0 / np.sqrt(5)
            with torch.no_grad():
                self.fc1.weight.uniform_(-bound, bound, generator=gen)
        self.lif1 = LIF(beta=config.beta, reset="subtract")
        self.fc2 = nn.Linear(config.hidden, 3, bias=False)
        bound = 1.0 / np.sqrt(config.hidden)
        with torch.no_grad():
            self.fc2.weight.uniform_(-bound, bound, generator=gen)
        self.lif2 = LIF(beta=config.beta, reset="subtract")

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``[T, B, 5]`` -> output spikes ``[T, B, 3]``."""
        return self.lif2(self.fc2(self.lif1(self.fc1(x))))


def _scale_first_layer(net: YinYangNet) -> None:
    # Latency inputs are single spikes: a larger first-layer gain lets hidden neurons fire.
    with torch.no_grad():
        net.fc1.weight.mul_(4.0)


def _accuracy(net: YinYangNet, x: np.ndarray, labels: np.ndarray) -> float:
    config = net.config
    with torch.no_grad():
        counts = net(encode_latency(x, config.encode_steps, config.n_steps)).sum(0)
    return float((counts.argmax(1).numpy() == labels).mean())


def yin_yang_metrics(net: YinYangNet, x: np.ndarray) -> dict:
    """NeuroBench's metrics of ``net`` on samples ``x`` ``[B, 4]``, per sample.

    Args:
        net: a classifier (delays counted at their rounded values).
        x: samples ``[B, 4]`` in ``[0, 1]``.

    Returns:
        The harness's keys (``Footprint``, ``ConnectionSparsity``, ``ActivationSparsity``,
        ``SynapticOperations``, ``MembraneUpdates``).
    """
    config = net.config
    inputs = encode_latency(x, config.encode_steps, config.n_steps)
    with torch.no_grad():
        h_in = net.fc1(inputs)
        s1 = net.lif1(h_in)
        o_in = net.fc2(s1)
        s2 = net.lif2(o_in)
        v1 = _potentials(net.lif1, h_in)
        v2 = _potentials(net.lif2, o_in)
    n = x.shape[0]
    delays = None
    if isinstance(net.fc1, DelayedLinear):
        delays = net.fc1.delay.detach().round().clamp(0, net.fc1.max_delay_steps).long()
    ops = [layer_operations(net.fc1.weight, inputs, delays),
           layer_operations(net.fc2.weight, s1)]
    tensors = list(net.parameters()) + list(net.buffers())
    return {
        "Footprint": footprint([t.detach() for t in tensors]),
        "ConnectionSparsity": connection_sparsity([net.fc1.weight, net.fc2.weight]),
        "ActivationSparsity": activation_sparsity([s1, s2]),
        "SynapticOperations": total_operations(ops, n),
        "MembraneUpdates": membrane_updates(v1, n) + membrane_updates(v2, n),
    }


def _potentials(layer: LIF, x: torch.Tensor) -> torch.Tensor:
    state, out = None, []
    for t in range(x.shape[0]):
        _, state = layer(x[t:t + 1], state, return_state=True)
        out.append(state.v.clone())
    return torch.stack(out)


def train_yin_yang(config: YinYangConfig, splits: dict | None = None) -> dict:
    """Train one classifier on the training split and test it.

    Args:
        config: the settings (``config.seed`` draws the weights and batch order).
        splits: :func:`snn.data.yin_yang_splits` (None: generated).

    Returns:
        ``{"test_accuracy", "validation_accuracy", "train_accuracy", "metrics", "net"}``
        (accuracies in ``[0, 1]``; metrics of the test run per sample).
    """
    if not isinstance(config, YinYangConfig):
        raise TypeError(f"config must be a YinYangConfig, got {type(config).__name__}")
    splits = yin_yang_splits() if splits is None else splits
    x_train, y_train = splits["train"]
    net = YinYangNet(config)
    _scale_first_layer(net)
    optimizer = torch.optim.Adam(net.parameters(), lr=config.learning_rate)
    gen = np.random.default_rng(config.seed)
    targets = torch.from_numpy(y_train)
    for epoch in range(config.epochs):
        if isinstance(net.fc1, DelayedLinear):
            net.fc1.set_sigma(sigma_schedule(epoch, config.epochs,
                                             start=config.max_delay_steps / 2.0))
        order = gen.permutation(len(y_train))
        for start in range(0, len(order), config.batch_size):
            idx = order[start:start + config.batch_size]
            spikes = net(encode_latency(x_train[idx], config.encode_steps, config.n_steps))
            loss = nn.functional.cross_entropy(spikes.sum(0), targets[idx])
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            if isinstance(net.fc1, DelayedLinear):
                net.fc1.clamp_delays_()
    if isinstance(net.fc1, DelayedLinear):
        net.fc1.round_delays_()
    net.eval()
    x_test, y_test = splits["test"]
    return {
        "test_accuracy": _accuracy(net, x_test, y_test),
        "validation_accuracy": _accuracy(net, *splits["validation"]),
        "train_accuracy": _accuracy(net, x_train, y_train),
        "metrics": yin_yang_metrics(net, x_test),
        "net": net,
    }
