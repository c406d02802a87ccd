"""Liquid state machine: a spiking E/I reservoir on the engine, with readout features.

The reservoir is two LIF populations with current synapses, ``exc`` (``frac_exc`` of the
neurons) and ``inh``, sparsely and randomly connected (each ordered pair with probability
``p_recurrent``, no autapses) under Dale's law: every synapse of an excitatory neuron has a
weight >= 0 on the ``exc`` channel, every synapse of an inhibitory neuron a weight <= 0 on
the ``inh`` channel.  A spike source ``input`` (``n_inputs`` channels) projects onto both
populations with probability ``p_input``.  The network is built once; each sample replaces
the input source and runs the whole sample in one compiled call (``backend="numba"``).

Features (:func:`spike_features`) are built from the spike monitor, vectorised over spikes:
``"counts"`` (spikes of each neuron in each of ``n_windows`` equal windows) or ``"traces"``
(each neuron's exponentially filtered spike train, time constant ``tau_trace``, sampled at
the end of each window); shape ``[n_windows * n_neurons]`` per sample.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .._random import numpy_generator
from ..models import CurrentSynapses, LIFParams
from ..network import Network, random_pairs
from ..validation import (
    check_array,
    check_choice,
    check_int,
    check_nonnegative,
    check_positive,
    check_real,
)

__all__ = ["LSMConfig", "LSM", "spike_features"]


@dataclass(frozen=True)
class LSMConfig:
    """Liquid state machine parameters (SI units: s, V, A, ohm).

    ``neuron``: the model of every reservoir neuron, a :class:`~snn.models.LIFParams` (or
    ``ALIFParams``) with current synapses.  Weights are current amplitudes (A) of those
    synapses; each synapse's magnitude is its nominal weight (``w_exc``, ``w_inh``,
    ``w_input``) times ``U(1 - weight_spread, 1 + weight_spread)``.  ``delay`` (s) is the
    delay of every recurrent synapse; ``dt`` (s) the time step; ``bias_current`` (A) a
    constant drive of every reservoir neuron.
    """

    n_neurons: int = 400
    frac_exc: float = 0.8
    p_recurrent: float = 0.1
    p_input: float = 0.2
    w_exc: float = 40e-12
    w_inh: float = 160e-12
    w_input: float = 300e-12
    weight_spread: float = 0.5
    delay: float = 1e-3
    dt: float = 1e-3
    neuron: LIFParams = field(default_factory=LIFParams)
    bias_current: float = 0.0

    def __post_init__(self) -> None:
        check_int("LSMConfig.n_neurons", self.n_neurons, minimum=2)
        for name in ("frac_exc", "p_recurrent", "p_input"):
            check_real(f"LSMConfig.{name}", getattr(self, name), minimum=0.0, maximum=1.0,
                       exclusive_minimum=True)
        check_real("LSMConfig.weight_spread", self.weight_spread, minimum=0.0)
        if not self.weight_spread < 1.0:
            raise ValueError(f"LSMConfig.weight_spread must be < 1 (magnitudes stay > 0), "
                             f"got {self.weight_spread!r}")
        for name, unit in (("w_exc", "A"), ("w_inh", "A"), ("w_input", "A"), ("delay", "s"),
                           ("bias_current", "A")):
            check_nonnegative(f"LSMConfig.{name}", getattr(self, name), unit=unit)
        check_positive("LSMConfig.dt", self.dt, unit="s")
        if not isinstance(self.neuron, LIFParams) or \
                not isinstance(self.neuron.synapses, CurrentSynapses):
            raise TypeError(f"LSMConfig.neuron must be LIFParams or ALIFParams with "
                            f"CurrentSynapses, got {self.neuron!r}")
        n_exc = self.n_exc
        if n_exc < 1 or n_exc >= self.n_neurons:
            raise ValueError(f"frac_exc={self.frac_exc} leaves an empty population of "
                             f"{self.n_neurons} neurons")

    @property
    def n_exc(self) -> int:
        return int(round(self.frac_exc * self.n_neurons))

    @property
    def n_inh(self) -> int:
        return self.n_neurons - self.n_exc


@dataclass(frozen=True)
class Synapses:
    """One block of reservoir synapses before it goes into the network: indices into the
    pre/post populations and signed weight magnitudes (A)."""

    pre: str
    post: str
    channel: str
    pre_indices: np.ndarray
    post_indices: np.ndarray
    weights: np.ndarray


class LSM:
    """A liquid state machine with ``n_inputs`` input channels.

    Args:
        config: the liquid's parameters.
        n_inputs: input channels (>= 1).
        rng: draws the connectivity, the weights and the initial potentials: an int seed, a
            ``numpy.random.Generator`` or None (fresh entropy).

    Attributes: ``network`` (the engine :class:`~snn.Network`), ``blocks`` (the recurrent
    and input :class:`Synapses`; block ``k`` is projection ``k`` of the network),
    ``inhibitory_gain`` (``[n_neurons]``, multiplies every inhibitory synapse
    onto each neuron; see :func:`snn.reservoir.adaptation.adapt_lsm`).
    """

    def __init__(self, config: LSMConfig, n_inputs: int,
                 rng: int | np.random.Generator | None = None) -> None:
        if not isinstance(config, LSMConfig):
            raise TypeError(f"config must be an LSMConfig, got {type(config).__name__}")
        self.config = config
        self.n_inputs = check_int("n_inputs", n_inputs, minimum=1)
        gen = numpy_generator(rng)
        c = config
        sizes = {"exc": c.n_exc, "inh": c.n_inh, "input": self.n_inputs}
        blocks = []
        for pre, post in (("exc", "exc"), ("exc", "inh"), ("inh", "exc"), ("inh", "inh"),
                          ("input", "exc"), ("input", "inh")):
            p = c.p_input if pre == "input" else c.p_recurrent
            i, j = random_pairs(sizes[pre], sizes[post], p, gen)
            if pre == post:
                keep = i != j
                i, j = i[keep], j[keep]
            nominal = {"exc": c.w_exc, "inh": -c.w_inh, "input": c.w_input}[pre]
            w = nominal * gen.uniform(1 - c.weight_spread, 1 + c.weight_spread, i.size)
            blocks.append(Synapses(pre, post, "inh" if pre == "inh" else "exc", i, j, w))
        self.blocks = blocks
        self.v_init = gen.uniform(c.neuron.v_reset, c.neuron.v_threshold, c.n_neurons)
        self.inhibitory_gain = np.ones(c.n_neurons)
        self.network, _ = self._build()

    def _build(self, inhibitory_rules: list | None = None) -> tuple[Network, list]:
        """The engine network of the liquid.  With ``inhibitory_rules`` (one
        :class:`~snn.plasticity.STDPParams` per neuron, exc then inh), each inhibitory block
        is connected as one plastic projection per target neuron, learning by that neuron's
        rule; returns the network and, per block, its projections' ``(index, positions)``
        (the block entries each projection holds, in the projection's CSR order)."""
        c = self.config
        net = Network(dt=c.dt, max_delay=max(c.delay, c.dt))
        net.add_population("exc", c.n_exc, c.neuron, v_init=self.v_init[:c.n_exc])
        net.add_population("inh", c.n_inh, c.neuron, v_init=self.v_init[c.n_exc:])
        net.add_spike_source("input", self.n_inputs, np.zeros(0, np.int64), np.zeros(0))
        layout = []
        for b in self.blocks:
            delay = 0.0 if b.pre == "input" else c.delay
            if inhibitory_rules is None or b.channel != "inh":
                net.connect(b.pre, b.post, b.weights, pre_indices=b.pre_indices,
                            post_indices=b.post_indices, delays=delay, channel=b.channel)
                layout.append([(len(net.projections) - 1, np.arange(b.weights.size))])
                continue
            first = 0 if b.post == "exc" else c.n_exc
            parts = []
            for target in np.unique(b.post_indices):
                # The entries onto one target, in CSR order (by presynaptic index, stably).
                held = np.flatnonzero(b.post_indices == target)
                held = held[np.argsort(b.pre_indices[held], kind="stable")]
                net.connect(b.pre, b.post, b.weights[held], pre_indices=b.pre_indices[held],
                            post_indices=b.post_indices[held], delays=delay,
                            channel=b.channel, plasticity=inhibitory_rules[first + target])
                parts.append((len(net.projections) - 1, held))
            layout.append(parts)
        if c.bias_current:
            net.set_current("exc", c.bias_current)
            net.set_current("inh", c.bias_current)
        net.monitor_spikes("exc", "inh")
        return net, layout

    def set_weights(self, weights: list[np.ndarray]) -> None:
        """Replace the weights (A) of every block (list in ``blocks`` order, each of its
        block's shape) for the next runs; the inhibitory gains are applied on top."""
        if len(weights) != len(self.blocks):
            raise ValueError(f"weights must hold {len(self.blocks)} arrays, got {len(weights)}")
        offset = {"exc": 0, "inh": self.config.n_exc}
        for index, (b, w) in enumerate(zip(self.blocks, weights)):
            w = check_array(f"weights[{index}] ({b.pre}->{b.post})", w,
                            shape=b.weights.shape, kind="iuf", dtype=np.float64)
            if b.channel == "inh":
                w = w * self.inhibitory_gain[offset[b.post] + b.post_indices]
            self.network.set_weights(index, w)  # in the block's own (connect) order

    def apply_inhibitory_gain(self) -> None:
        """Push ``inhibitory_gain`` into the engine's inhibitory projections."""
        self.set_weights([b.weights for b in self.blocks])

    def run(self, times, units, duration: float, *, rng=0, state=None):
        """Simulate one input sample (spike ``times`` in s, channels ``units``) for
        ``duration`` s; returns the engine's :class:`~snn.SimulationResult`.  ``rng`` (a
        seed or ``numpy.random.Generator``) and ``state`` as in :func:`snn.run`."""
        from ..engine import run

        check_positive("duration", duration, unit="s")
        times = check_array("times", times, ndim=1, kind="iuf", dtype=np.float64)
        if np.size(units) == 0:
            units = np.zeros(0, dtype=np.int64)
        units = check_array("units", units, shape=times.shape, kind="iu", dtype=np.int64)
        if units.size and (units.min() < 0 or units.max() >= self.n_inputs):
            raise ValueError(f"units must lie in [0, {self.n_inputs - 1}]")
        self.network.set_spikes("input", units, times)
        return run(self.network, duration, backend="numba", rng=rng, state=state)

    def features(self, result, duration: float, n_windows: int = 4, kind: str = "counts",
                 tau_trace: float = 20e-3) -> np.ndarray:
        """Readout features of one run: ``[n_windows * n_neurons]`` (exc then inh)."""
        times = np.concatenate([result.spikes["exc"].times, result.spikes["inh"].times])
        ids = np.concatenate([result.spikes["exc"].indices,
                              result.spikes["inh"].indices + self.config.n_exc])
        return spike_features(times - result.t_start, ids, self.config.n_neurons, duration,
                              n_windows, kind, tau_trace)

    def transform(self, dataset, duration: float | None = None, n_windows: int = 4,
                  kind: str = "counts", tau_trace: float = 20e-3, progress: bool = False
                  ) -> np.ndarray:
        """Features ``[n_samples, n_windows * n_neurons]`` of every sample of a
        :class:`~snn.data.SpikeDataset` (``duration`` defaults to its latest spike + 10 ms)."""
        n = len(dataset.labels)
        if n == 0:
            raise ValueError("dataset must hold at least one sample")
        if dataset.n_channels != self.n_inputs:
            raise ValueError(f"dataset must have {self.n_inputs} channels, got "
                             f"{dataset.n_channels}")
        if duration is None:
            duration = float(max((t.max() for t in dataset.times if len(t)), default=0.0)) + 1e-2
        out = None
        samples = range(n)
        if progress:
            from tqdm import tqdm
            samples = tqdm(samples, desc="LSM", leave=False)
        for i in samples:
            res = self.run(dataset.times[i], dataset.units[i], duration, rng=i)
            f = self.features(res, duration, n_windows, kind, tau_trace)
            if out is None:
                out = np.empty((n, f.size))
            out[i] = f
        return out


def spike_features(times, ids, n_neurons: int, duration: float, n_windows: int = 4,
                   kind: str = "counts", tau_trace: float = 20e-3) -> np.ndarray:
    """Readout features from spikes (``times`` s since the sample start, neuron ``ids``):
    ``"counts"`` per window or exponential ``"traces"`` (``tau_trace`` s) at each window's
    end; returns float64 ``[n_windows * n_neurons]``, window-major."""
    check_choice("kind", kind, ("counts", "traces"))
    n_windows = check_int("n_windows", n_windows, minimum=1)
    duration = check_positive("duration", duration, unit="s")
    times = np.asarray(times, dtype=np.float64)
    ids = np.asarray(ids, dtype=np.int64)
    width = duration / n_windows
    if kind == "counts":
        window = np.minimum((times / width).astype(np.int64), n_windows - 1)
        return np.bincount(window * n_neurons + ids,
                           minlength=n_windows * n_neurons).astype(np.float64)
    ends = width * np.arange(1, n_windows + 1)
    lag = ends[:, None] - times[None, :]  # [n_windows, n_spikes]
    contrib = np.where(lag >= 0, np.exp(-np.maximum(lag, 0) / tau_trace), 0.0)
    out = np.zeros((n_windows, n_neurons))
    for k in range(n_windows):
        out[k] = np.bincount(ids, weights=contrib[k], minlength=n_neurons)
    return out.ravel()
