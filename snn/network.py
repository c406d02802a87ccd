"""Network description: populations, projections, inputs and monitors.

A :class:`Network` only describes a simulation; :func:`snn.run` executes it on a backend.
All quantities are SI: seconds, volts, amperes, siemens, hertz.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from .models import (
    STATE_VARIABLES,
    ConductanceSynapses,
    IFParams,
    LIFParams,
    NeuronParams,
    NeuronState,
)
from .plasticity import STDPParams

__all__ = ["Network", "Population", "Projection", "SpikeSource", "PoissonSource", "CHANNELS"]

CHANNELS = ("exc", "inh")


def _check_name(kind: str, name: str) -> None:
    if not isinstance(name, str) or not name:
        raise TypeError(f"{kind} name must be a non-empty string, got {name!r}")


def _float_array(arg: str, value, shape: tuple[int, ...] | None = None) -> np.ndarray:
    """Convert to a float64 array, rejecting non-numeric dtypes, NaN/inf and wrong shapes."""
    arr = np.asarray(value)
    if arr.dtype == object or not (
        np.issubdtype(arr.dtype, np.floating)
        or np.issubdtype(arr.dtype, np.integer)
        or arr.dtype == np.bool_
    ):
        raise TypeError(f"{arg} must be a real numeric array, got dtype {arr.dtype}")
    arr = arr.astype(np.float64)
    if shape is not None and arr.shape != shape:
        raise ValueError(f"{arg} must have shape {shape}, got {arr.shape}")
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{arg} must be finite (no NaN or inf)")
    return arr


def _index_array(arg: str, value, size: int) -> np.ndarray:
    arr = np.asarray(value)
    if arr.ndim != 1:
        raise ValueError(f"{arg} must be a 1-D array of indices, got shape {arr.shape}")
    if arr.size and not np.issubdtype(arr.dtype, np.integer):
        raise TypeError(f"{arg} must hold integers, got dtype {arr.dtype}")
    arr = arr.astype(np.int64)
    if arr.size and (arr.min() < 0 or arr.max() >= size):
        raise ValueError(f"{arg} must lie in [0, {size - 1}], got range [{arr.min()}, {arr.max()}]")
    return arr


def random_pairs(n_pre: int, n_post: int, p: float, rng: np.random.Generator
                 ) -> tuple[np.ndarray, np.ndarray]:
    """Each (pre, post) pair present independently with probability ``p``: returns
    ``(pre, post)`` index arrays sorted by pre, then post.

    The number of targets of each presynaptic neuron is drawn first, then the targets, so
    memory stays O(n_synapses) even for large networks.
    """
    counts = rng.binomial(n_post, p, size=n_pre)
    pre = np.repeat(np.arange(n_pre, dtype=np.int64), counts)
    post = np.empty(pre.size, dtype=np.int64)
    pos = 0
    for count in counts:
        post[pos:pos + count] = np.sort(rng.choice(n_post, size=count, replace=False))
        pos += count
    return pre, post


@dataclass(frozen=True)
class Population:
    """A group of identical neurons; ``initial`` holds the initial value of each state field."""

    name: str
    size: int
    params: NeuronParams
    initial: NeuronState  # each field: float64 array of shape [size]


@dataclass(frozen=True)
class Projection:
    """Synapses from ``pre`` (population or source) onto channel ``channel`` of ``post``.

    Stored as CSR over presynaptic indices: the synapses of presynaptic neuron ``i`` are
    ``indptr[i]:indptr[i + 1]`` in ``post_indices`` (postsynaptic index), ``weights`` (A for
    current synapses, S for conductance synapses, V for delta synapses) and ``delay_steps``
    (whole time steps).  ``plasticity``: a learning rule the engine applies to the weights
    while it runs (None: static); ``weights`` then holds the initial weights and a run's
    result holds the learned ones (:meth:`snn.SimulationResult.weights`).
    """

    pre: str
    post: str
    channel: str
    indptr: np.ndarray
    post_indices: np.ndarray
    weights: np.ndarray
    delay_steps: np.ndarray
    plasticity: STDPParams | None = None

    @property
    def n_synapses(self) -> int:
        return int(self.post_indices.size)


@dataclass(frozen=True)
class SpikeSource:
    """Input neurons firing given spikes: neuron ``indices[k]`` at ``times[k]`` (s)."""

    name: str
    size: int
    indices: np.ndarray
    times: np.ndarray


@dataclass(frozen=True)
class PoissonSource:
    """Independent Poisson (Bernoulli per step) spike trains with ``rates`` (Hz), shape [size]."""

    name: str
    size: int
    rates: np.ndarray


@dataclass(frozen=True)
class StateProbe:
    population: str
    variable: str
    indices: np.ndarray


class Network:
    """A spiking network simulated with a fixed time step ``dt`` (s).

    ``max_delay`` (s) bounds synaptic delays: it sets the longest ring buffer the engine may
    allocate, and a delay beyond it is rejected when the projection is added.
    """

    def __init__(self, dt: float = 1e-4, max_delay: float = 0.1) -> None:
        for arg, value in (("dt", dt), ("max_delay", max_delay)):
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                raise TypeError(f"{arg} must be a number of seconds, got {type(value).__name__}")
        if not math.isfinite(dt) or dt <= 0:
            raise ValueError(f"dt must be a finite time step > 0 s, got {dt!r}")
        if not math.isfinite(max_delay) or max_delay < 0:
            raise ValueError(f"max_delay must be a finite time >= 0 s, got {max_delay!r}")
        self.dt = float(dt)
        self.max_delay = float(max_delay)
        self.max_delay_steps = int(round(max_delay / dt))
        self.populations: dict[str, Population] = {}
        self.sources: dict[str, SpikeSource | PoissonSource] = {}
        self.projections: list[Projection] = []
        self.currents: dict[str, np.ndarray] = {}
        self.spike_monitors: list[str] = []
        self.state_probes: list[StateProbe] = []

    # ------------------------------------------------------------------ building blocks
    def _check_new_name(self, name: str, kind: str) -> None:
        _check_name(kind, name)
        if name in self.populations or name in self.sources:
            raise ValueError(f"{kind} name {name!r} is already used in this network")

    def _size_of(self, name: str, arg: str, allow_sources: bool) -> int:
        if name in self.populations:
            return self.populations[name].size
        if allow_sources and name in self.sources:
            return self.sources[name].size
        known = sorted(self.populations) + (sorted(self.sources) if allow_sources else [])
        kind = "population or source" if allow_sources else "population"
        raise ValueError(f"{arg} must name a {kind} of this network, got {name!r}; known: {known}")

    def add_population(
        self,
        name: str,
        size: int,
        params: NeuronParams,
        *,
        v_init: float | np.ndarray | None = None,
        initial: dict[str, float | np.ndarray] | None = None,
    ) -> str:
        """Add ``size`` neurons with model parameters ``params``; returns ``name``.

        ``v_init`` (V, scalar or shape [size]) defaults to ``v_rest`` (LIF/ALIF) or
        ``v_reset`` (IF).  ``initial`` may set any other state field by name
        (``syn_exc``, ``syn_inh``, ``adaptation``, ``refractory``).
        """
        self._check_new_name(name, "population")
        if isinstance(size, bool) or not isinstance(size, (int, np.integer)) or size < 1:
            raise ValueError(f"size must be a positive integer, got {size!r}")
        if not isinstance(params, (LIFParams, IFParams)):
            raise TypeError(
                f"params must be LIFParams, ALIFParams or IFParams, got {type(params).__name__}"
            )
        size = int(size)
        values = {field: np.zeros(size) for field in STATE_VARIABLES}
        values["v"] = np.full(size, params.v_reset if isinstance(params, IFParams)
                              else params.v_rest, dtype=np.float64)
        for key, value in (initial or {}).items():
            if key not in STATE_VARIABLES:
                raise ValueError(f"initial has unknown state field {key!r}; "
                                 f"known: {list(STATE_VARIABLES)}")
            values[key] = np.broadcast_to(_float_array(f"initial[{key!r}]", value), (size,)).copy()
        if v_init is not None:
            arr = _float_array("v_init", v_init)
            if arr.ndim not in (0, 1) or (arr.ndim == 1 and arr.shape != (size,)):
                raise ValueError(
                    f"v_init must be a scalar or have shape ({size},), got {arr.shape}")
            values["v"] = np.broadcast_to(arr, (size,)).copy()
        if np.any(values["refractory"] < 0):
            raise ValueError("initial['refractory'] must be >= 0 (steps)")
        self.populations[name] = Population(name, size, params, NeuronState(**values))
        return name

    def add_spike_source(self, name: str, size: int, indices: Sequence[int] | np.ndarray,
                         times: Sequence[float] | np.ndarray) -> str:
        """Add ``size`` input neurons firing neuron ``indices[k]`` at ``times[k]`` (s)."""
        self._check_new_name(name, "source")
        if isinstance(size, bool) or not isinstance(size, (int, np.integer)) or size < 1:
            raise ValueError(f"size must be a positive integer, got {size!r}")
        idx = _index_array("indices", indices, int(size))
        t = _float_array("times", times)
        if t.shape != idx.shape:
            raise ValueError(
                f"times must have the same shape as indices {idx.shape}, got {t.shape}")
        if t.size and t.min() < 0:
            raise ValueError("times must be >= 0 s")
        self.sources[name] = SpikeSource(name, int(size), idx, t)
        return name

    def add_poisson_source(self, name: str, size: int, rates: float | np.ndarray) -> str:
        """Add ``size`` independent Poisson inputs with ``rates`` (Hz, scalar or shape [size])."""
        self._check_new_name(name, "source")
        if isinstance(size, bool) or not isinstance(size, (int, np.integer)) or size < 1:
            raise ValueError(f"size must be a positive integer, got {size!r}")
        r = np.broadcast_to(_float_array("rates", rates), (int(size),)).copy()
        if np.any(r < 0) or np.any(r * self.dt > 1):
            raise ValueError(f"rates must lie in [0, 1/dt] = [0, {1 / self.dt:g}] Hz")
        self.sources[name] = PoissonSource(name, int(size), r)
        return name

    def set_current(self, population: str, values: float | np.ndarray) -> None:
        """External current (A): a scalar or shape [size] held constant, or shape
        [n_steps, size] giving the current during each time step from t = 0."""
        size = self._size_of(population, "population", allow_sources=False)
        arr = _float_array("values", values)
        if arr.ndim == 0:
            arr = np.full(size, float(arr))
        elif arr.ndim == 1 and arr.shape != (size,):
            raise ValueError(
                f"values must have shape ({size},) or (n_steps, {size}), got {arr.shape}")
        elif arr.ndim == 2 and arr.shape[1] != size:
            raise ValueError(f"values must have shape (n_steps, {size}), got {arr.shape}")
        elif arr.ndim > 2:
            raise ValueError(f"values must be a scalar, [size] or [n_steps, size]; got {arr.shape}")
        self.currents[population] = arr

    # ------------------------------------------------------------------ connectivity
    def _delay_steps(self, delays, n: int) -> np.ndarray:
        d = np.broadcast_to(_float_array("delays", delays), (n,)) if n else np.zeros(0)
        if d.size and d.min() < 0:
            raise ValueError("delays must be >= 0 s")
        steps = np.rint(d / self.dt).astype(np.int64)
        if steps.size and steps.max() > self.max_delay_steps:
            raise ValueError(
                f"delays must not exceed the network's max_delay={self.max_delay:g} s "
                f"(the ring-buffer length); got {d.max():g} s. Raise Network(max_delay=...)."
            )
        return steps

    def connect(
        self,
        pre: str,
        post: str,
        weights: float | np.ndarray,
        *,
        pre_indices: np.ndarray | None = None,
        post_indices: np.ndarray | None = None,
        delays: float | np.ndarray = 0.0,
        channel: str = "exc",
        plasticity: STDPParams | None = None,
    ) -> Projection:
        """Connect ``pre`` to channel ``channel`` ("exc" or "inh") of population ``post``.

        Dense form: ``weights`` has shape [n_pre, n_post] and every entry is a synapse.
        Sparse form: give ``pre_indices`` and ``post_indices`` (shape [n_syn]) and
        ``weights`` as a scalar or shape [n_syn].  ``delays`` (s) is a scalar or has the shape
        of the weights; it is rounded to whole steps.

        ``plasticity``: an :class:`snn.plasticity.STDPParams` makes the synapses learn online
        by pair-based STDP while the network runs (every backend; with ``run_trials`` each
        trial learns on its own from the initial weights).
        A presynaptic spike takes effect at the synapse when it arrives, after the synapse's
        delay: it is transmitted with the weight the synapse has then, and that arrival is
        the presynaptic time of the rule (Brian2's convention for ``on_pre`` with a delay);
        the postsynaptic time is the spike's step.  The initial weights must lie within the
        rule's ``[w_min, w_max]``.
        """
        n_pre = self._size_of(pre, "pre", allow_sources=True)
        n_post = self._size_of(post, "post", allow_sources=False)
        if channel not in CHANNELS:
            raise ValueError(f"channel must be one of {CHANNELS}, got {channel!r}")
        if plasticity is not None and not isinstance(plasticity, STDPParams):
            raise TypeError(f"plasticity must be an snn.plasticity.STDPParams or None, "
                            f"got {type(plasticity).__name__}")
        if (pre_indices is None) != (post_indices is None):
            raise ValueError("pre_indices and post_indices must be given together")
        if pre_indices is None:
            w = _float_array("weights", weights)
            if w.shape != (n_pre, n_post):
                raise ValueError(f"weights must have shape ({n_pre}, {n_post}) for a dense "
                                 f"projection {pre}->{post}, got {w.shape}")
            i, j = np.divmod(np.arange(n_pre * n_post, dtype=np.int64), n_post)
            w = w.reshape(-1)
            d = np.asarray(delays)
            if d.ndim == 2:
                if d.shape != (n_pre, n_post):
                    raise ValueError(f"delays must be a scalar or have shape ({n_pre}, {n_post}), "
                                     f"got {d.shape}")
                d = d.reshape(-1)
        else:
            i = _index_array("pre_indices", pre_indices, n_pre)
            j = _index_array("post_indices", post_indices, n_post)
            if i.shape != j.shape:
                raise ValueError(f"post_indices must have the shape of pre_indices {i.shape}, "
                                 f"got {j.shape}")
            w = _float_array("weights", weights)
            if w.ndim == 0:
                w = np.full(i.shape, float(w))
            elif w.shape != i.shape:
                raise ValueError(f"weights must be a scalar or have shape {i.shape}, got {w.shape}")
            d = delays
        steps = self._delay_steps(d, w.size)
        conductance = isinstance(self.populations[post].params.synapses, ConductanceSynapses)
        if conductance and np.any(w < 0):
            raise ValueError(f"weights onto conductance synapses of {post!r} must be >= 0 S")
        if plasticity is not None:
            if conductance and plasticity.w_min < 0:
                raise ValueError(f"plasticity.w_min must be >= 0 S for synapses onto the "
                                 f"conductance synapses of {post!r}, got {plasticity.w_min}")
            if w.size and (w.min() < plasticity.w_min or w.max() > plasticity.w_max):
                raise ValueError(f"weights must lie within plasticity's [w_min, w_max] = "
                                 f"[{plasticity.w_min:g}, {plasticity.w_max:g}], got "
                                 f"[{w.min():g}, {w.max():g}]")
        order = np.argsort(i, kind="stable")
        indptr = np.zeros(n_pre + 1, dtype=np.int64)
        np.cumsum(np.bincount(i, minlength=n_pre), out=indptr[1:])
        proj = Projection(pre, post, channel, indptr, j[order], w[order].copy(), steps[order],
                          plasticity)
        self.projections.append(proj)
        return proj

    def connect_random(
        self,
        pre: str,
        post: str,
        p: float,
        weight: float,
        *,
        delay: float = 0.0,
        channel: str = "exc",
        allow_autapses: bool = True,
        rng: np.random.Generator | int | None = None,
        plasticity: STDPParams | None = None,
    ) -> Projection:
        """Connect each (pre, post) pair independently with probability ``p`` and equal
        ``weight``; ``rng`` is a ``numpy.random.Generator`` or a seed; ``plasticity`` as in
        :meth:`connect`."""
        n_pre = self._size_of(pre, "pre", allow_sources=True)
        n_post = self._size_of(post, "post", allow_sources=False)
        if not (isinstance(p, (int, float)) and 0.0 <= p <= 1.0):
            raise ValueError(f"p must be a probability in [0, 1], got {p!r}")
        gen = rng if isinstance(rng, np.random.Generator) else np.random.default_rng(rng)
        pre_idx, post_idx = random_pairs(n_pre, n_post, p, gen)
        if not allow_autapses and pre == post:
            keep = pre_idx != post_idx
            pre_idx, post_idx = pre_idx[keep], post_idx[keep]
        return self.connect(pre, post, weight, pre_indices=pre_idx, post_indices=post_idx,
                            delays=delay, channel=channel, plasticity=plasticity)

    # ------------------------------------------------------------------ monitors
    def monitor_spikes(self, *populations: str) -> None:
        """Record the spikes of the named populations (all populations if none named)."""
        names = populations or tuple(self.populations)
        for name in names:
            self._size_of(name, "populations", allow_sources=False)
            if name not in self.spike_monitors:
                self.spike_monitors.append(name)

    def monitor_state(self, population: str, variables: str | Sequence[str] = "v",
                      indices: Sequence[int] | np.ndarray | None = None) -> None:
        """Record state ``variables`` of neurons ``indices`` (all if None) at every step.

        Values are sampled at the start of each step, i.e. sample ``k`` is the state at time
        ``k * dt`` (the convention of Brian2's StateMonitor).
        """
        size = self._size_of(population, "population", allow_sources=False)
        names = [variables] if isinstance(variables, str) else list(variables)
        for var in names:
            if var not in STATE_VARIABLES:
                raise ValueError(f"variables must be among {list(STATE_VARIABLES)}, got {var!r}")
        idx = np.arange(size) if indices is None else _index_array("indices", indices, size)
        for var in names:
            self.state_probes.append(StateProbe(population, var, idx))

    # ------------------------------------------------------------------ summary
    @property
    def n_neurons(self) -> int:
        return sum(p.size for p in self.populations.values())

    @property
    def n_synapses(self) -> int:
        return sum(p.n_synapses for p in self.projections)

    def __repr__(self) -> str:
        return (f"Network(dt={self.dt:g} s, populations={list(self.populations)}, "
                f"sources={list(self.sources)}, neurons={self.n_neurons}, "
                f"synapses={self.n_synapses})")
