"""Network description: populations, projections, inputs and monitors.

A :class:`Network` only describes a simulation; :func:`snn.run` executes it on a backend.
All quantities are SI: seconds, volts, amperes, siemens, hertz.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

import numpy as np

from . import _csr, memory
from ._random import numpy_generator
from .memory import MemoryEstimate
from .models import NeuronParams
from .neuron_model import NeuronModel, model_of
from .plasticity import STDPParams
from .synapses import CONDUCTANCE_KINDS
from .validation import (
    check_array,
    check_choice,
    check_int,
    check_nonnegative,
    check_positive,
    check_probability,
)

__all__ = ["Network", "Population", "Projection", "SpikeSource", "PoissonSource",
           "PoissonDrive", "CHANNELS", "WEIGHT_DTYPES"]

CHANNELS = ("exc", "inh")
#: Storage types of synaptic weights: float64 (the default, bitwise parity across backends
#: and with peers) or float32 (half the memory, for very large networks).
WEIGHT_DTYPES = ("float64", "float32")
# Poisson drive draws a count per neuron and step by inversion; the mean count per step is
# bounded so that exp(-mean) stays far from underflow and the walk short.
_MAX_DRIVE_MEAN = 50.0


def _float_array(arg: str, value) -> np.ndarray:
    """``value`` as a finite float64 array (any real dtype; NaN and infinities refused)."""
    return check_array(arg, value, kind="biuf", dtype=np.float64)


def _lean_index_array(arg: str, value, n_neurons: int) -> np.ndarray:
    """``value`` as a 1-D integer array of indices in ``[0, n_neurons)``, in its own integer
    dtype (an int32 array stays int32: no copy as long as the synapse list)."""
    if not isinstance(value, (str, bytes)) and value is not None and np.size(value) == 0:
        return np.zeros(0, dtype=np.int32)
    arr = check_array(arg, value, ndim=1, kind="iu")
    lo, hi = _csr.index_bounds(arr)
    if lo < 0 or hi >= n_neurons:
        raise ValueError(f"{arg} must lie in [0, {n_neurons - 1}], got range [{lo}, {hi}]")
    return arr


def _lean_float_array(arg: str, value) -> np.ndarray:
    """``value`` as a finite float array: float32 and float64 arrays as they are, other
    numbers as float64."""
    arr = check_array(arg, value, kind="biuf")
    return arr if arr.dtype in (np.float32, np.float64) else arr.astype(np.float64)


def _index_array(arg: str, value, n_neurons: int) -> np.ndarray:
    """``value`` as a 1-D int64 array of indices in ``[0, n_neurons)`` (an empty list too)."""
    if not isinstance(value, (str, bytes)) and value is not None and np.size(value) == 0:
        value = np.zeros(0, dtype=np.int64)  # an empty list or array holds no bad index
    arr = check_array(arg, value, ndim=1, kind="iu", dtype=np.int64)
    if arr.size and (arr.min() < 0 or arr.max() >= n_neurons):
        raise ValueError(f"{arg} must lie in [0, {n_neurons - 1}], got range "
                         f"[{arr.min()}, {arr.max()}]")
    return arr


def random_pairs(n_pre: int, n_post: int, p: float, rng: np.random.Generator
                 ) -> tuple[np.ndarray, np.ndarray]:
    """Each (pre, post) pair present independently with probability ``p``.

    The number of targets of each presynaptic neuron is drawn first, then the targets, so
    memory stays O(n_synapses) even for large networks.

    Args:
        n_pre: number of presynaptic neurons.
        n_post: number of postsynaptic neurons.
        p: connection probability in ``[0, 1]``.
        rng: the generator that draws the pairs.

    Returns:
        ``(pre, post)`` int64 index arrays ``[n_synapses]``, sorted by pre, then post.
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
    """A group of ``n_neurons`` identical neurons of one ``model``; ``initial`` holds the
    initial value of each of its state variables (a ``model.state_type`` of float64 arrays
    ``[n_neurons]``)."""

    name: str
    n_neurons: int
    params: NeuronParams
    initial: tuple
    model: NeuronModel


@dataclass(frozen=True)
class Projection:
    """Synapses from ``pre`` (population or source) onto channel ``channel`` of ``post``.

    Stored as CSR over presynaptic indices: the synapses of presynaptic neuron ``i`` are
    ``indptr[i]:indptr[i + 1]`` (int64) in ``post_indices`` (postsynaptic index, int32,
    ascending within each row), ``weights`` (A for current synapses, S for conductance
    synapses, V for delta synapses; the network's ``weight_dtype``) and ``delay_steps``
    (whole time steps; uint8, uint16 or uint32, the smallest type that holds the network's
    ``max_delay``).  ``plasticity``: a learning rule the engine applies to the weights
    while it runs (None: static); ``weights`` then holds the initial weights and a run's
    result holds the learned ones (:meth:`snn.SimulationResult.weights`).
    ``connect_order``: int64 ``[n_syn]``, the place of each CSR synapse in the order the
    synapses were given to :meth:`Network.connect` (None where both orders agree, or where
    ``connect(..., keep_order=False)`` did not keep it).
    """

    pre: str
    post: str
    channel: str
    indptr: np.ndarray
    post_indices: np.ndarray
    weights: np.ndarray
    delay_steps: np.ndarray
    plasticity: STDPParams | None = None
    connect_order: np.ndarray | None = None
    order_kept: bool = True

    @property
    def n_synapses(self) -> int:
        """Number of synapses."""
        return int(self.post_indices.size)


@dataclass(frozen=True)
class SpikeSource:
    """``n_neurons`` input neurons firing given spikes: neuron ``indices[k]`` at ``times[k]``
    (s)."""

    name: str
    n_neurons: int
    indices: np.ndarray
    times: np.ndarray


@dataclass(frozen=True)
class PoissonSource:
    """``n_neurons`` independent Poisson (Bernoulli per step) spike trains with ``rates`` (Hz),
    shape ``[n_neurons]``."""

    name: str
    n_neurons: int
    rates: np.ndarray


@dataclass(frozen=True)
class PoissonDrive:
    """Independent Poisson spike trains into the neurons of ``population``: neuron ``i``
    receives ``rates[i]`` Hz (float64 ``[n_neurons]``) through one synapse of ``weight`` (A,
    S or V as in :meth:`Network.connect`) onto ``channel``, without delay.  The engine draws
    the number of events of each neuron in each step from a counter-based stream
    (:mod:`snn.random_streams`) keyed by the run's seed, the drive and the neuron, so the
    drive does not depend on the number of threads."""

    name: str
    population: str
    rates: np.ndarray
    weight: float
    channel: str


@dataclass(frozen=True)
class StateProbe:
    population: str
    variable: str
    indices: np.ndarray


class Network:
    """A spiking network simulated with a fixed time step.

    Populations, sources and projections are added and changed through methods
    (:meth:`add_population`, :meth:`connect`, :meth:`set_spikes`, :meth:`set_weights`, ...),
    which validate what they store; the attributes are for reading.

    Args:
        dt: time step (s, > 0).
        max_delay: longest synaptic delay (s, >= 0): it sets the longest ring buffer the
            engine may allocate and the integer type delays are stored in (uint8 up to 255
            steps, else uint16 or uint32), and a delay beyond it is rejected when the
            projection is added.
        weight_dtype: ``"float64"`` (default) or ``"float32"``: how synaptic weights are
            stored, in projections and in the engine (float32 halves their memory; the
            state stays float64, so every backend still gives the same result).
        distributed: ``"mpi"``: the network is built by every process of ``mpirun -n R``
            for ``snn.run(..., distributed="mpi")``, and each keeps only the synapses onto
            its own neurons (neuron ``k`` of a population belongs to process ``k mod R``;
            see :mod:`snn.distributed`), so that synapse memory divides by ``R``.  Each
            projection then holds this process's synapses, in the order given, and the
            network runs only distributed.  Without ``mpirun`` (one process) it keeps every
            synapse.  None (default): every synapse, on any process.
    """

    def __init__(self, dt: float = 1e-4, max_delay: float = 0.1,
                 weight_dtype: str = "float64", distributed: str | None = None) -> None:
        self.dt = check_positive("dt", dt, unit="s")
        self.max_delay = check_nonnegative("max_delay", max_delay, unit="s")
        self.max_delay_steps = int(round(self.max_delay / self.dt))
        try:
            dtype_name = np.dtype(weight_dtype).name
        except TypeError:
            dtype_name = repr(weight_dtype)
        self.weight_dtype = np.dtype(check_choice("weight_dtype", dtype_name, WEIGHT_DTYPES))
        self.delay_dtype = _csr.delay_dtype(self.max_delay_steps)
        #: ``"mpi"`` or None, as given; ``rank`` and ``ranks``: which share of the synapses
        #: this network holds (0 and 1 unless built distributed under mpirun).
        self.distributed = None if distributed is None else \
            check_choice("distributed", distributed, ("mpi",))
        self.rank, self.ranks = 0, 1
        if self.distributed is not None:
            from .distributed import mpi_world  # mpi4py is imported by distributed networks only

            comm = mpi_world()
            self.rank, self.ranks = comm.Get_rank(), comm.Get_size()
        self.populations: dict[str, Population] = {}
        self.sources: dict[str, SpikeSource | PoissonSource] = {}
        self.drives: dict[str, PoissonDrive] = {}
        self.projections: list[Projection] = []
        self.currents: dict[str, np.ndarray] = {}
        self.spike_monitors: list[str] = []
        self.state_probes: list[StateProbe] = []

    # ------------------------------------------------------------------ building blocks
    def _check_new_name(self, name: str, kind: str) -> None:
        if not isinstance(name, str) or not name:
            raise TypeError(f"{kind} name must be a non-empty string, got {name!r}")
        if name in self.populations or name in self.sources:
            raise ValueError(f"{kind} name {name!r} is already used in this network")

    def _size_of(self, name: str, arg: str, allow_sources: bool) -> int:
        if name in self.populations:
            return self.populations[name].n_neurons
        if allow_sources and name in self.sources:
            return self.sources[name].n_neurons
        known = sorted(self.populations) + (sorted(self.sources) if allow_sources else [])
        kind = "population or source" if allow_sources else "population"
        raise ValueError(f"{arg} must name a {kind} of this network, got {name!r}; known: {known}")

    def add_population(
        self,
        name: str,
        n_neurons: int,
        params: NeuronParams,
        *,
        v_init: float | np.ndarray | None = None,
        initial: dict[str, float | np.ndarray] | None = None,
        model: NeuronModel | None = None,
    ) -> str:
        """Add a population of neurons of one model.

        Args:
            name: a name not yet used in this network.
            n_neurons: number of neurons (>= 1).
            params: the model's parameters: :class:`snn.LIFParams`, :class:`snn.ALIFParams`,
                :class:`snn.IFParams`, :class:`snn.AdExParams`,
                :class:`snn.IzhikevichParams`, :class:`snn.HodgkinHuxleyParams`, or those
                of a model declared with :func:`snn.define_model`.
            v_init: initial membrane potential (V), a scalar or ``[n_neurons]`` (None: the
                model's declared initial value, e.g. ``v_rest`` for LIF/ALIF).
            initial: initial values of other state variables by name (e.g. ``syn_exc``,
                ``adaptation``), scalars or ``[n_neurons]``, in the units the model declares.
            model: the :class:`snn.NeuronModel` to run (None: the one registered for the
                type of ``params``).

        Returns:
            ``name``.
        """
        self._check_new_name(name, "population")
        n_neurons = check_int("n_neurons", n_neurons, minimum=1)
        if model is None:
            model = model_of(params)
        elif not isinstance(model, NeuronModel):
            raise TypeError(f"model must be a NeuronModel or None, got {type(model).__name__}")
        elif not isinstance(params, model.params_type):
            raise TypeError(f"params must be {model.params_type.__name__} for model "
                            f"{model.name}, got {type(params).__name__}")
        values = dict(zip(model.state_names, model.initial_state(params, n_neurons)))
        for key, value in (initial or {}).items():
            check_choice("initial's state variable", key, model.state_names)
            values[key] = np.broadcast_to(_float_array(f"initial[{key!r}]", value),
                                          (n_neurons,)).copy()
        if v_init is not None:
            if "v" not in values:
                raise ValueError(f"v_init: model {model.name} has no state variable 'v'")
            arr = _float_array("v_init", v_init)
            if arr.ndim not in (0, 1) or (arr.ndim == 1 and arr.shape != (n_neurons,)):
                raise ValueError(
                    f"v_init must be a scalar or have shape ({n_neurons},), got {arr.shape}")
            values["v"] = np.broadcast_to(arr, (n_neurons,)).copy()
        if "refractory" in values and np.any(values["refractory"] < 0):
            raise ValueError("initial['refractory'] must be >= 0 (steps)")
        self.populations[name] = Population(name, n_neurons, params,
                                            model.state_type(**values), model)
        return name

    def add_spike_source(self, name: str, n_neurons: int, indices: Sequence[int] | np.ndarray,
                         times: Sequence[float] | np.ndarray) -> str:
        """Add input neurons that fire given spikes: neuron ``indices[k]`` at ``times[k]``.

        Args:
            name: a name not yet used in this network.
            n_neurons: number of input neurons (>= 1).
            indices: neuron of each spike, ints in ``[0, n_neurons)``, ``[n_spikes]``.
            times: time of each spike (s, >= 0), ``[n_spikes]``; rounded to steps.

        Returns:
            ``name``.
        """
        self._check_new_name(name, "source")
        n_neurons = check_int("n_neurons", n_neurons, minimum=1)
        self.sources[name] = self._spike_source(name, n_neurons, indices, times)
        return name

    def _spike_source(self, name: str, n_neurons: int, indices, times) -> SpikeSource:
        idx = _index_array("indices", indices, n_neurons)
        t = _float_array("times", times)
        if t.shape != idx.shape:
            raise ValueError(
                f"times must have the same shape as indices {idx.shape}, got {t.shape}")
        if t.size and t.min() < 0:
            raise ValueError("times must be >= 0 s")
        return SpikeSource(name, n_neurons, idx, t)

    def set_spikes(self, source: str, indices: Sequence[int] | np.ndarray,
                   times: Sequence[float] | np.ndarray) -> None:
        """Replace the spikes of a spike source (its number of neurons stays).

        Runs after this call see the new spikes; results of earlier runs are unchanged.

        Args:
            source: the name of a spike source of this network.
            indices: neuron of each spike, ``[n_spikes]``.
            times: time of each spike (s), ``[n_spikes]``.
        """
        if not isinstance(self.sources.get(source), SpikeSource):
            known = sorted(n for n, s in self.sources.items() if isinstance(s, SpikeSource))
            raise ValueError(f"source must name a spike source of this network, got "
                             f"{source!r}; known: {known}")
        n_neurons = self.sources[source].n_neurons
        self.sources[source] = self._spike_source(source, n_neurons, indices, times)

    def add_poisson_source(self, name: str, n_neurons: int, rates: float | np.ndarray) -> str:
        """Add independent Poisson inputs (one Bernoulli draw per step and neuron).

        Args:
            name: a name not yet used in this network.
            n_neurons: number of input neurons (>= 1).
            rates: firing rates (Hz, >= 0), a scalar or ``[n_neurons]``.

        Returns:
            ``name``.
        """
        self._check_new_name(name, "source")
        n_neurons = check_int("n_neurons", n_neurons, minimum=1)
        r = np.broadcast_to(_float_array("rates", rates), (n_neurons,)).copy()
        if np.any(r < 0) or np.any(r * self.dt > 1):
            raise ValueError(f"rates must lie in [0, 1/dt] = [0, {1 / self.dt:g}] Hz")
        self.sources[name] = PoissonSource(name, n_neurons, r)
        return name

    def add_poisson_drive(self, population: str, rate: float | np.ndarray, weight: float, *,
                          channel: str = "exc", name: str | None = None) -> str:
        """Drive every neuron of a population with its own Poisson spike train.

        Neuron ``i`` receives events at ``rate[i]`` Hz through one synapse of ``weight``
        onto ``channel``, without delay: each step, the number of events of each neuron is
        drawn from a Poisson distribution of mean ``rate * dt`` and that many weights are
        added to its synaptic variable (after the step's delayed input).  The draws come
        from counter-based streams keyed by the run's seed, the drive and the neuron
        (:mod:`snn.random_streams`): what each neuron receives does not depend on the
        number of threads, and no schedule is stored, however long the run.

        Args:
            population: the name of a population.
            rate: events per second (Hz, >= 0) per neuron, a scalar or ``[n_neurons]``;
                at most ``50 / dt`` (a mean of 50 events per step).
            weight: the weight of each event (A, S >= 0 or V, as in :meth:`connect`).
            channel: ``"exc"`` or ``"inh"``.
            name: the drive's name (None: ``f"{population}_drive"``).

        Returns:
            The drive's name, a key of ``network.drives``.
        """
        size = self._size_of(population, "population", allow_sources=False)
        check_choice("channel", channel, CHANNELS)
        name = f"{population}_drive" if name is None else name
        if not isinstance(name, str) or not name:
            raise TypeError(f"name must be a non-empty string or None, got {name!r}")
        if name in self.drives:
            raise ValueError(f"drive name {name!r} is already used in this network; pass "
                             f"name=... for a second drive of {population!r}")
        r = _float_array("rate", rate)
        if r.ndim > 1 or (r.ndim == 1 and r.shape != (size,)):
            raise ValueError(f"rate must be a scalar or have shape ({size},), got {r.shape}")
        r = np.broadcast_to(r, (size,)).copy()
        if np.any(r < 0) or np.any(r * self.dt > _MAX_DRIVE_MEAN):
            raise ValueError(f"rate must lie in [0, {_MAX_DRIVE_MEAN:g} / dt] = "
                             f"[0, {_MAX_DRIVE_MEAN / self.dt:g}] Hz")
        w = _float_array("weight", weight)
        if w.ndim != 0:
            raise ValueError(f"weight must be one number, got shape {w.shape}")
        self._check_weights(population, w, None)
        self.drives[name] = PoissonDrive(name, population, r, float(w), channel)
        return name

    def set_current(self, population: str, values: float | np.ndarray) -> None:
        """Set the external current into a population.

        Args:
            population: the name of a population.
            values: current (A): a scalar or ``[n_neurons]`` held constant, or
                ``[n_steps, n_neurons]`` giving the current during each step from ``t = 0``
                (zero after the last row).
        """
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
            raise ValueError(f"values must be a scalar, [n_neurons] or [n_steps, n_neurons]; "
                             f"got {arr.shape}")
        self.currents[population] = arr

    # ------------------------------------------------------------------ connectivity
    def _delay_steps(self, delays, n: int) -> np.ndarray:
        """Delays (s; a scalar or ``[n]``) as whole steps ``[n]`` in the network's delay
        dtype, checked against ``[0, max_delay]``."""
        d = _lean_float_array("delays", delays)
        if d.size not in (1, n) and n:
            raise ValueError(f"delays must be a scalar or hold one delay per synapse ({n}), "
                             f"got shape {d.shape}")
        steps, lo, hi, top = _csr.delay_steps(d.reshape(-1), n, self.dt,
                                              self.max_delay_steps, self.delay_dtype)
        if n and lo < 0:
            raise ValueError("delays must be >= 0 s")
        if top > self.max_delay_steps:
            raise ValueError(
                f"delays must not exceed the network's max_delay={self.max_delay:g} s "
                f"(the ring-buffer length); got {hi:g} s. Raise Network(max_delay=...)."
            )
        return steps

    def _check_weights(self, post: str, w: np.ndarray, plasticity: STDPParams | None) -> None:
        """Weights onto ``post`` that its synapses and the rule ``plasticity`` allow."""
        synapses = getattr(self.populations[post].params, "synapses", None)
        conductance = isinstance(synapses, CONDUCTANCE_KINDS)
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
        keep_order: bool = True,
    ) -> Projection:
        """Connect a population or source to a channel of a population.

        Dense form: ``weights`` ``[n_pre, n_post]``, every entry a synapse.  Sparse form:
        ``pre_indices`` and ``post_indices`` ``[n_syn]`` and ``weights`` a scalar or
        ``[n_syn]``.

        With ``plasticity`` the synapses learn online by pair-based STDP while the network
        runs (every backend; with ``run_trials`` each trial learns on its own from the
        initial weights).  A presynaptic spike takes effect at the synapse when it arrives,
        after the synapse's delay: it is transmitted with the weight the synapse has then,
        and that arrival is the presynaptic time of the rule (Brian2's convention for
        ``on_pre`` with a delay); the postsynaptic time is the spike's step.

        Args:
            pre: the presynaptic population or source.
            post: the postsynaptic population.
            weights: synaptic weights: A for current synapses (negative inhibits), S (>= 0)
                for conductance synapses, V for delta synapses.
            pre_indices: presynaptic neuron of each synapse (sparse form).
            post_indices: postsynaptic neuron of each synapse (sparse form).
            delays: delays (s, >= 0, at most ``max_delay``), a scalar or the shape of the
                weights; rounded to whole steps.
            channel: ``"exc"`` or ``"inh"``: the synaptic variable the spikes feed.
            plasticity: an :class:`snn.STDPParams`, or None for fixed weights; the initial
                weights must then lie in its ``[w_min, w_max]``.
            keep_order: remember the order the synapses were given in, so that
                :meth:`set_weights` takes weights in that order (int64 per synapse, where it
                differs from the stored order).  False saves that memory for very large
                projections; :meth:`set_weights` then takes the stored (CSR) order only.

        Synapses are stored as CSR rows over ``pre``, each row sorted by postsynaptic index
        (stably: repeated pairs keep their given order), built by counting sorts in the
        network's compact dtypes: int32 index arrays are used as they are, never copied to
        int64.

        Returns:
            The :class:`Projection`, appended to ``network.projections``.
        """
        n_pre = self._size_of(pre, "pre", allow_sources=True)
        n_post = self._size_of(post, "post", allow_sources=False)
        check_choice("channel", channel, CHANNELS)
        if plasticity is not None and not isinstance(plasticity, STDPParams):
            raise TypeError(f"plasticity must be an snn.plasticity.STDPParams or None, "
                            f"got {type(plasticity).__name__}")
        if (pre_indices is None) != (post_indices is None):
            raise ValueError("pre_indices and post_indices must be given together")
        if pre_indices is None:
            w = _lean_float_array("weights", weights)
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
            i = _lean_index_array("pre_indices", pre_indices, n_pre)
            j = _lean_index_array("post_indices", post_indices, n_post)
            if i.shape != j.shape:
                raise ValueError(f"post_indices must have the shape of pre_indices {i.shape}, "
                                 f"got {j.shape}")
            if i.size >= 2**31:
                raise ValueError(f"a projection holds at most 2**31 - 1 synapses, got {i.size}; "
                                 f"split it into several")
            w = _lean_float_array("weights", weights)
            if w.ndim not in (0, 1) or (w.ndim == 1 and w.shape != i.shape):
                raise ValueError(f"weights must be a scalar or have shape {i.shape}, got {w.shape}")
            d = delays
        steps = self._delay_steps(d, i.size)
        self._check_weights(post, w, plasticity)
        if self.ranks > 1:
            # Only the synapses onto this process's neurons (snn.distributed.neuron_owner).
            keep = np.flatnonzero(j % self.ranks == self.rank)
            i, j, steps = i[keep], j[keep], steps[keep]
            if w.ndim == 1:
                w = w[keep]
        indptr, targets, stored, steps, origin = _csr.sorted_csr(
            i, j, n_pre, n_post, w.reshape(-1), steps, self.weight_dtype, keep_order)
        proj = Projection(pre, post, channel, indptr, targets, stored, steps, plasticity,
                          origin, keep_order)
        self.projections.append(proj)
        return proj

    def connect_random(
        self,
        pre: str,
        post: str,
        p: float,
        weights: float,
        *,
        delays: float = 0.0,
        channel: str = "exc",
        allow_autapses: bool = True,
        rng: np.random.Generator | int | None = None,
        plasticity: STDPParams | None = None,
    ) -> Projection:
        """Connect each (pre, post) pair independently with probability ``p``.

        Args:
            pre: the presynaptic population or source.
            post: the postsynaptic population.
            p: connection probability in ``[0, 1]``.
            weights: the weight of every synapse (one number: A, S or V as in
                :meth:`connect`).
            delays: the delay of every synapse (s).
            channel: ``"exc"`` or ``"inh"``, as in :meth:`connect`.
            allow_autapses: keep the synapses of a neuron onto itself (when ``pre`` is
                ``post``).
            rng: draws the pairs: an int seed, a ``numpy.random.Generator`` or None (fresh
                entropy).
            plasticity: as in :meth:`connect`.

        Returns:
            The :class:`Projection`, appended to ``network.projections``.
        """
        n_pre = self._size_of(pre, "pre", allow_sources=True)
        n_post = self._size_of(post, "post", allow_sources=False)
        p = check_probability("p", p)
        generator = numpy_generator(rng)
        pre_idx, post_idx = random_pairs(n_pre, n_post, p, generator)
        if not allow_autapses and pre == post:
            keep = pre_idx != post_idx
            pre_idx, post_idx = pre_idx[keep], post_idx[keep]
        return self.connect(pre, post, weights, pre_indices=pre_idx, post_indices=post_idx,
                            delays=delays, channel=channel, plasticity=plasticity)

    def _projection_index(self, projection: Projection | int) -> int:
        if isinstance(projection, Projection):
            for index, known in enumerate(self.projections):
                if known is projection:
                    return index
            raise ValueError("projection must be a projection of this network (as returned "
                             "by connect) or its index")
        return check_int("projection", projection, minimum=0,
                         maximum=len(self.projections) - 1)

    def set_weights(self, projection: Projection | int, weights: float | np.ndarray, *,
                    order: str = "connect") -> Projection:
        """Give the synapses of a projection new weights; the rest stays.

        Args:
            projection: the object :meth:`connect` returned, or its index in
                ``network.projections``.
            weights: a scalar (every synapse), or the weights in ``order``; units and bounds
                as in :meth:`connect`.
            order: ``"connect"``: the order the synapses were given to :meth:`connect`
                (dense: ``[n_pre, n_post]``; sparse: ``[n_syn]``, the order of
                ``pre_indices``); ``"csr"``: ``[n_syn]`` in the projection's stored CSR
                order (that of ``Projection.weights`` and
                :meth:`snn.SimulationResult.weights`).

        Returns:
            The new :class:`Projection`, which takes the old one's place in
            ``network.projections``; results of earlier runs keep the old weights.
        """
        index = self._projection_index(projection)
        check_choice("order", order, ("connect", "csr"))
        old = self.projections[index]
        n = old.n_synapses
        w = _float_array("weights", weights)
        if w.ndim == 0:
            w = np.full(n, float(w))
        elif w.size != n or (w.ndim != 1 and (order == "csr" or w.ndim != 2)):
            raise ValueError(f"weights must be a scalar or hold the {n} weights of projection "
                             f"{index} ({old.pre}->{old.post}) in {order} order, got shape "
                             f"{w.shape}")
        else:
            w = w.reshape(-1)
            if order == "connect" and not old.order_kept:
                raise ValueError(f"projection {index} ({old.pre}->{old.post}) was connected "
                                 f"with keep_order=False: give its weights in order='csr'")
            if order == "connect" and old.connect_order is not None:
                w = w[old.connect_order]
        self._check_weights(old.post, w, old.plasticity)
        new = replace(old, weights=w.astype(self.weight_dtype))
        self.projections[index] = new
        return new

    # ------------------------------------------------------------------ monitors
    def monitor_spikes(self, *populations: str) -> None:
        """Record the spikes of populations.

        Args:
            *populations: their names (none: every population).
        """
        names = populations or tuple(self.populations)
        for name in names:
            self._size_of(name, "populations", allow_sources=False)
            if name not in self.spike_monitors:
                self.spike_monitors.append(name)

    def monitor_state(self, population: str, variables: str | Sequence[str] = "v",
                      indices: Sequence[int] | np.ndarray | None = None) -> None:
        """Record state variables of some neurons at every step.

        Values are sampled at the start of each step, i.e. sample ``k`` is the state at time
        ``k * dt`` (the convention of Brian2's StateMonitor).

        Args:
            population: the name of a population.
            variables: one or more state variables of the population's model (e.g.
                ``"v"``; :attr:`snn.NeuronModel.state_names`).
            indices: the neurons to record, ``[n_recorded]`` (None: all).
        """
        size = self._size_of(population, "population", allow_sources=False)
        names = [variables] if isinstance(variables, str) else list(variables)
        for var in names:
            check_choice("variables", var, self.populations[population].model.state_names)
        idx = np.arange(size) if indices is None else _index_array("indices", indices, size)
        for var in names:
            self.state_probes.append(StateProbe(population, var, idx))

    # ------------------------------------------------------------------ summary
    @property
    def n_neurons(self) -> int:
        """Number of neurons in all populations (sources not counted)."""
        return sum(p.n_neurons for p in self.populations.values())

    @property
    def n_synapses(self) -> int:
        """Number of synapses in all projections."""
        return sum(p.n_synapses for p in self.projections)

    def memory_estimate(self, duration: float = 1.0) -> MemoryEstimate:
        """What a run of ``duration`` seconds will need in memory, by part, before it
        starts (:class:`snn.memory.MemoryEstimate`: ``.run`` bytes on top of the network,
        ``.peak`` with it; ``str()`` gives a table).  :func:`snn.run` refuses a run whose
        ``.run`` exceeds the available memory (:func:`snn.memory.available_memory`).

        Args:
            duration: simulated time (s, > 0); it sizes the input schedule and the records.
        """
        check_positive("duration", duration, unit="s")
        return memory.estimate(self, duration)

    def __repr__(self) -> str:
        share = f", synapses of rank {self.rank} of {self.ranks}" if self.ranks > 1 else ""
        return (f"Network(dt={self.dt:g} s, populations={list(self.populations)}, "
                f"sources={list(self.sources)}, neurons={self.n_neurons}, "
                f"synapses={self.n_synapses}{share})")
