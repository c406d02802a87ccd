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

import math
from dataclasses import dataclass

import numpy as np

from .._random import numpy_generator as _generator
from ..models import CurrentSynapses, LIFParams
from ..network import Network, SpikeSource, random_pairs

__all__ = ["LSMConfig", "LSM", "spike_features"]


@dataclass(frozen=True)
class LSMConfig:
    """Liquid state machine parameters (SI units: s, V, A, ohm).

    Weights are current amplitudes (A) of exponential current synapses; each synapse's
    magnitude is its nominal weight times ``U(1 - weight_spread, 1 + weight_spread)``.
    ``bias_current`` (A) is a constant drive of every reservoir neuron.
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
    tau_m: float = 20e-3
    tau_exc: float = 5e-3
    tau_inh: float = 10e-3
    tau_refractory: float = 2e-3
    v_rest: float = -65e-3
    v_threshold: float = -50e-3
    v_reset: float = -65e-3
    r_m: float = 100e6
    bias_current: float = 0.0

    def __post_init__(self) -> None:
        if isinstance(self.n_neurons, bool) or not isinstance(self.n_neurons, int) or \
                self.n_neurons < 2:
            raise ValueError(f"n_neurons must be an integer >= 2, got {self.n_neurons!r}")
        for name in ("frac_exc", "p_recurrent", "p_input"):
            value = getattr(self, name)
            if not (isinstance(value, (int, float)) and 0.0 < value <= 1.0):
                raise ValueError(f"{name} must be a number in (0, 1], got {value!r}")
        if not 0.0 <= self.weight_spread < 1.0:
            raise ValueError(f"weight_spread must be in [0, 1), got {self.weight_spread!r}")
        for name in ("w_exc", "w_inh", "w_input", "delay", "bias_current"):
            value = getattr(self, name)
            if not (isinstance(value, (int, float)) and math.isfinite(value) and value >= 0):
                raise ValueError(f"{name} must be a finite number >= 0 (A or s), got {value!r}")
        for name in ("dt", "tau_m", "tau_exc", "tau_inh", "r_m"):
            value = getattr(self, name)
            if not (isinstance(value, (int, float)) and math.isfinite(value) and value > 0):
                raise ValueError(f"{name} must be a finite number > 0, got {value!r}")
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

    def lif(self) -> LIFParams:
        return LIFParams(tau_m=self.tau_m, v_rest=self.v_rest, v_threshold=self.v_threshold,
                         v_reset=self.v_reset, r_m=self.r_m, tau_refractory=self.tau_refractory,
                         synapses=CurrentSynapses(tau_exc=self.tau_exc, tau_inh=self.tau_inh))


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
    """A liquid state machine with ``n_inputs`` input channels, drawn from ``seed``.

    ``weight_sampler(block, rng) -> weights`` may replace the nominal weights of each
    recurrent block (used by :mod:`snn.reservoir.zero_shot` to draw them from a resistive
    device's switching statistics); it must keep each weight's sign.

    Attributes: ``network`` (the engine :class:`~snn.Network`), ``blocks`` (the recurrent
    and input :class:`Synapses`), ``projections`` (name -> engine projection, in the order of
    ``blocks``), ``inhibitory_gain`` (``[n_neurons]``, multiplies every inhibitory synapse
    onto each neuron; see :func:`snn.reservoir.adaptation.adapt_lsm`).
    """

    def __init__(self, config: LSMConfig, n_inputs: int, seed=None) -> None:
        if not isinstance(config, LSMConfig):
            raise TypeError(f"config must be an LSMConfig, got {type(config).__name__}")
        if isinstance(n_inputs, bool) or not isinstance(n_inputs, (int, np.integer)) or \
                n_inputs < 1:
            raise ValueError(f"n_inputs must be an integer >= 1, got {n_inputs!r}")
        self.config = config
        self.n_inputs = int(n_inputs)
        gen = _generator(seed)
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
        self.v_init = gen.uniform(c.v_reset, c.v_threshold, c.n_neurons)
        self.inhibitory_gain = np.ones(c.n_neurons)
        self.network = self._build()

    def _build(self) -> Network:
        c = self.config
        net = Network(dt=c.dt, max_delay=max(c.delay, c.dt))
        net.add_population("exc", c.n_exc, c.lif(), v_init=self.v_init[:c.n_exc])
        net.add_population("inh", c.n_inh, c.lif(), v_init=self.v_init[c.n_exc:])
        net.add_spike_source("input", self.n_inputs, np.zeros(0, np.int64), np.zeros(0))
        self.projections = []
        for b in self.blocks:
            delay = 0.0 if b.pre == "input" else c.delay
            self.projections.append(net.connect(
                b.pre, b.post, b.weights, pre_indices=b.pre_indices, post_indices=b.post_indices,
                delays=delay, channel=b.channel))
        if c.bias_current:
            net.set_current("exc", c.bias_current)
            net.set_current("inh", c.bias_current)
        net.monitor_spikes("exc", "inh")
        return net

    def set_weights(self, weights: list[np.ndarray]) -> None:
        """Replace the weights (A) of every block (list in ``blocks`` order, each of its
        block's shape) for the next runs; the inhibitory gains are applied on top."""
        if len(weights) != len(self.blocks):
            raise ValueError(f"weights must hold {len(self.blocks)} arrays, got {len(weights)}")
        offset = {"exc": 0, "inh": self.config.n_exc}
        for b, proj, w in zip(self.blocks, self.projections, weights):
            w = np.asarray(w, dtype=np.float64)
            if w.shape != b.weights.shape:
                raise ValueError(f"weights for {b.pre}->{b.post} must have shape "
                                 f"{b.weights.shape}, got {w.shape}")
            # The engine projection stores CSR by presynaptic index: reorder like connect().
            order = np.argsort(b.pre_indices, kind="stable")
            if b.channel == "inh":
                w = w * self.inhibitory_gain[offset[b.post] + b.post_indices]
            proj.weights[:] = w[order]

    def apply_inhibitory_gain(self) -> None:
        """Push ``inhibitory_gain`` into the engine's inhibitory projections."""
        self.set_weights([b.weights for b in self.blocks])

    def run(self, times, units, duration: float, *, seed=0, state=None):
        """Simulate one input sample (spike ``times`` in s, channels ``units``) for
        ``duration`` s; returns the engine's :class:`~snn.SimulationResult`."""
        from ..engine import run

        times = np.asarray(times, dtype=np.float64)
        units = np.asarray(units)
        if times.shape != units.shape or times.ndim != 1:
            raise ValueError(f"times and units must be 1-D arrays of equal length, got "
                             f"{times.shape} and {units.shape}")
        if not (isinstance(duration, (int, float)) and math.isfinite(duration)
                and duration > 0):
            raise ValueError(f"duration must be a finite number of seconds > 0, got {duration!r}")
        if units.size and (units.min() < 0 or units.max() >= self.n_inputs):
            raise ValueError(f"units must lie in [0, {self.n_inputs - 1}]")
        self.network.sources["input"] = SpikeSource("input", self.n_inputs,
                                                    units.astype(np.int64), times)
        return run(self.network, duration, backend="numba", seed=seed, state=state)

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
            res = self.run(dataset.times[i], dataset.units[i], duration, seed=i)
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
    if kind not in ("counts", "traces"):
        raise ValueError(f"kind must be 'counts' or 'traces', got {kind!r}")
    if isinstance(n_windows, bool) or not isinstance(n_windows, (int, np.integer)) or \
            n_windows < 1:
        raise ValueError(f"n_windows must be an integer >= 1, got {n_windows!r}")
    if not (isinstance(duration, (int, float)) and duration > 0):
        raise ValueError(f"duration must be a number of seconds > 0, got {duration!r}")
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
