"""The cortical microcircuit of Potjans & Diesmann (2014) as data, its derived quantities
and its builder on the engine.

Source: T. C. Potjans and M. Diesmann, "The cell-type specific cortical microcircuit:
relating structure and activity in a full-scale spiking network model", Cereb. Cortex
24:785-806 (2014); every number below is the one of the reference implementation
INM-6/microcircuit-PD14-model, ``PyNEST/src/microcircuit/`` (``network_params.py``:
population sizes, connection probabilities, neuron, weight, delay and background
parameters, the per-population initial potentials of ``V0_type="optimized"`` and the
published full-scale rates; ``stimulus_params.py``: the thalamic population;
``helpers.py``: the synapse-count formula, the PSP-to-PSC factor, the DC equivalent of the
background and the in-degree scaling rule; ``network.py``: how they are combined).

The quantities both simulators need (synapse counts, mean weights, DC amplitudes, external
in-degrees) come from :func:`microcircuit_quantities`, so that this engine and the NEST
peer (:mod:`snn.peers.nest_microcircuit`) build the model from the same numbers.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from ._random import numpy_generator
from .engine import run
from .models import CurrentSynapses, LIFParams
from .network import Network
from .results import SimulationResult
from .validation import check_choice, check_positive, check_real

__all__ = ["MicrocircuitParams", "MicrocircuitQuantities", "POTJANS_DIESMANN_2014",
           "DRIVES", "microcircuit_quantities", "psc_per_psp", "potjans_diesmann",
           "draw_normal_redrawn", "thalamic_spikes", "run_microcircuit"]

#: Kinds of background input: a constant current equal to the mean of the Poisson input
#: (``"dc"``, the reference's default) or independent Poisson trains (``"poisson"``).
DRIVES = ("dc", "poisson")


@dataclass(frozen=True)
class MicrocircuitParams:
    """The microcircuit as data, in SI units.

    Matrices are indexed ``[target, source]`` over :attr:`populations` (the reference's
    convention). Vectors follow :attr:`populations`.
    """

    populations: tuple[str, ...]  #: population names, L23E ... L6I
    n_neurons: tuple[int, ...]  #: full-scale population sizes
    connection_probabilities: tuple[tuple[float, ...], ...]  #: ``[target][source]``
    published_rates: tuple[float, ...]  #: the reference's full-scale rates (Hz)
    tau_m: float  #: membrane time constant (s)
    c_m: float  #: membrane capacitance (F)
    e_l: float  #: resting potential (V)
    v_threshold: float  #: threshold (V)
    v_reset: float  #: reset potential (V)
    tau_syn: float  #: time constant of the exponential synaptic currents (s)
    tau_refractory: float  #: refractory period (s)
    v0_mean: tuple[float, ...]  #: mean initial potential per population (V)
    v0_std: tuple[float, ...]  #: SD of the initial potential per population (V)
    psp_exc: float  #: mean excitatory PSP amplitude (V)
    g: float  #: inhibitory PSP relative to excitatory (negative)
    l4e_to_l23e_factor: float  #: the L4E -> L23E PSP is this multiple of ``psp_exc``
    weight_rel_std: float  #: SD of the weights relative to their mean
    delay_exc: float  #: mean delay of excitatory synapses (s)
    delay_inh: float  #: mean delay of inhibitory synapses (s)
    delay_rel_std: float  #: SD of the delays relative to their mean
    k_ext: tuple[int, ...]  #: external (background) in-degree per population
    bg_rate: float  #: rate of each external input (Hz)
    n_thalamic: int  #: neurons of the optional thalamic population
    thalamic_probabilities: tuple[float, ...]  #: thalamus -> each population
    psp_thalamic: float  #: mean thalamic PSP (V)
    delay_thalamic: float  #: mean thalamic delay (s)
    delay_thalamic_rel_std: float  #: SD of the thalamic delays relative to their mean
    thalamic_start: float  #: start of the thalamic pulse (s)
    thalamic_duration: float  #: length of the thalamic pulse (s)
    thalamic_rate: float  #: rate of each thalamic neuron during the pulse (Hz)
    #: the reference relays the pulse through parrot neurons over NEST's default delay
    #: (1 ms), so thalamic spikes fall this much after the generator's window
    thalamic_relay_delay: float = 1e-3
    delay_cutoff_sds: float = 10.0  #: delays beyond mean + this many SDs are redrawn
    seed: int = 55  #: seed used where no generator is given (the reference's NEST seed)
    source: str = ""

    def __post_init__(self) -> None:
        n_pops = len(self.populations)
        if n_pops < 1 or any(not isinstance(p, str) or not p for p in self.populations):
            raise ValueError("populations must be a non-empty tuple of names")
        vectors = dict(n_neurons=self.n_neurons, published_rates=self.published_rates,
                       v0_mean=self.v0_mean, v0_std=self.v0_std, k_ext=self.k_ext,
                       thalamic_probabilities=self.thalamic_probabilities)
        for name, vector in vectors.items():
            if len(vector) != n_pops:
                raise ValueError(f"{name} must have one entry per population ({n_pops}), "
                                 f"got {len(vector)}")
        if len(self.connection_probabilities) != n_pops or any(
                len(row) != n_pops for row in self.connection_probabilities):
            raise ValueError(f"connection_probabilities must be {n_pops} x {n_pops}")
        probs = np.array(self.connection_probabilities + (self.thalamic_probabilities,))
        if np.any(probs < 0) or np.any(probs >= 1):
            raise ValueError("connection probabilities must lie in [0, 1)")
        if any(int(n) < 1 for n in self.n_neurons) or self.n_thalamic < 1:
            raise ValueError("population sizes must be >= 1")
        if any(k < 0 for k in self.k_ext):
            raise ValueError("k_ext must be >= 0")
        for name in ("tau_m", "c_m", "tau_syn", "psp_exc", "delay_exc", "delay_inh",
                     "psp_thalamic", "delay_thalamic", "delay_cutoff_sds"):
            check_positive(name, getattr(self, name))
        for name in ("tau_refractory", "weight_rel_std", "delay_rel_std", "bg_rate",
                     "delay_thalamic_rel_std", "thalamic_start", "thalamic_duration",
                     "thalamic_rate", "l4e_to_l23e_factor", "thalamic_relay_delay"):
            check_real(name, getattr(self, name), minimum=0.0)
        if self.tau_m == self.tau_syn:
            raise ValueError("tau_m and tau_syn must differ (the PSP-to-PSC factor divides "
                             "by their difference)")
        check_real("g", self.g, maximum=0.0)
        if self.v_threshold <= self.v_reset:
            raise ValueError("v_threshold must exceed v_reset")
        if isinstance(self.seed, bool) or not isinstance(self.seed, int) or self.seed < 0:
            raise ValueError(f"seed must be an int >= 0, got {self.seed!r}")

    @property
    def n_populations(self) -> int:
        """Number of populations."""
        return len(self.populations)

    def is_excitatory(self, index: int) -> bool:
        """Whether population ``index`` is excitatory (E and I alternate, E first)."""
        return index % 2 == 0

    def lif_params(self, dt: float | None = None) -> LIFParams:
        """The iaf_psc_exp neuron as :class:`snn.LIFParams` (``r_m = tau_m / c_m``).

        NEST's iaf_psc_exp holds the membrane at reset for ``t_ref / dt`` steps after the
        step of the spike; the engine (Brian2's convention) for ``t_ref / dt - 1``. Given
        ``dt``, the refractory period is ``t_ref + dt`` so that the engine holds it as long
        as NEST does (without, the inter-spike interval is one step shorter).

        Args:
            dt: the simulation's time step (s), or None for the period as published.
        """
        t_ref = self.tau_refractory
        if dt is not None:
            t_ref += check_positive("dt", dt, unit="s")
        return LIFParams(tau_m=self.tau_m, v_rest=self.e_l, v_threshold=self.v_threshold,
                         v_reset=self.v_reset, r_m=self.tau_m / self.c_m,
                         tau_refractory=t_ref, reset="value",
                         synapses=CurrentSynapses(tau_exc=self.tau_syn, tau_inh=self.tau_syn))


_MV, _MS, _PF = 1e-3, 1e-3, 1e-12

#: The reference model (``V0_type="optimized"``, the reference's default).
POTJANS_DIESMANN_2014 = MicrocircuitParams(
    populations=("L23E", "L23I", "L4E", "L4I", "L5E", "L5I", "L6E", "L6I"),
    n_neurons=(20683, 5834, 21915, 5479, 4850, 1065, 14395, 2948),
    connection_probabilities=(
        (0.1009, 0.1689, 0.0437, 0.0818, 0.0323, 0.0, 0.0076, 0.0),
        (0.1346, 0.1371, 0.0316, 0.0515, 0.0755, 0.0, 0.0042, 0.0),
        (0.0077, 0.0059, 0.0497, 0.135, 0.0067, 0.0003, 0.0453, 0.0),
        (0.0691, 0.0029, 0.0794, 0.1597, 0.0033, 0.0, 0.1057, 0.0),
        (0.1004, 0.0622, 0.0505, 0.0057, 0.0831, 0.3726, 0.0204, 0.0),
        (0.0548, 0.0269, 0.0257, 0.0022, 0.06, 0.3158, 0.0086, 0.0),
        (0.0156, 0.0066, 0.0211, 0.0166, 0.0572, 0.0197, 0.0396, 0.2252),
        (0.0364, 0.001, 0.0034, 0.0005, 0.0277, 0.008, 0.0658, 0.1443),
    ),
    published_rates=(0.903, 2.965, 4.414, 5.876, 7.569, 8.633, 1.105, 7.829),
    tau_m=10.0 * _MS, c_m=250.0 * _PF, e_l=-65.0 * _MV, v_threshold=-50.0 * _MV,
    v_reset=-65.0 * _MV, tau_syn=0.5 * _MS, tau_refractory=2.0 * _MS,
    v0_mean=tuple(v * _MV for v in (-68.28, -63.16, -63.33, -63.45, -63.11, -61.66, -66.72,
                                    -61.43)),
    v0_std=tuple(v * _MV for v in (5.36, 4.57, 4.74, 4.94, 4.94, 4.55, 5.46, 4.48)),
    psp_exc=0.15 * _MV, g=-4.0, l4e_to_l23e_factor=2.0, weight_rel_std=0.1,
    delay_exc=1.5 * _MS, delay_inh=0.75 * _MS, delay_rel_std=0.5,
    k_ext=(1600, 1500, 2100, 1900, 2000, 1900, 2900, 2100), bg_rate=8.0,
    n_thalamic=902,
    thalamic_probabilities=(0.0, 0.0, 0.0983, 0.0619, 0.0, 0.0, 0.0512, 0.0196),
    psp_thalamic=0.15 * _MV, delay_thalamic=1.5 * _MS, delay_thalamic_rel_std=0.5,
    thalamic_start=700.0 * _MS, thalamic_duration=10.0 * _MS, thalamic_rate=120.0,
    source="Potjans & Diesmann, Cereb. Cortex 24:785 (2014); INM-6/microcircuit-PD14-model "
           "PyNEST/src/microcircuit/network_params.py and stimulus_params.py",
)


def psc_per_psp(params: MicrocircuitParams = POTJANS_DIESMANN_2014) -> float:
    """Amplitude of the exponential synaptic current whose PSP peaks at 1 V (A / V).

    The PSP of a current ``J exp(-t / tau_s)`` into a membrane ``(tau_m, c_m)`` peaks at
    ``t* = ln(tau_m / tau_s) tau_m tau_s / (tau_m - tau_s)``; this is ``J`` over that peak
    (the reference's ``postsynaptic_potential_to_current``, written in SI units).

    Args:
        params: the model.

    Returns:
        The factor (A/V): a PSP (V) times it is the current amplitude (A).
    """
    tau_m, tau_s = params.tau_m, params.tau_syn
    inv = 1.0 / (tau_s - tau_m)
    ratio = (tau_m / tau_s) ** inv
    return 1.0 / (tau_m * tau_s / params.c_m * inv * (ratio ** tau_m - ratio ** tau_s))


def _total_synapses(probabilities: np.ndarray, n_target: np.ndarray, n_source: np.ndarray
                    ) -> np.ndarray:
    """Synapses that give connection probability ``p`` under the fixed-total-number rule
    with multapses: ``K = ln(1 - p) / ln(1 - 1 / (N_pre N_post))`` (not rounded).

    Evaluated in the reference's floating-point form, ``ln((N N - 1) / (N N))``, so that
    rounding gives the reference's counts to the synapse (``log1p`` would differ by up to
    about one synapse in 1e8)."""
    pairs = np.outer(n_target, n_source).astype(np.float64)
    return np.log(1.0 - probabilities) / np.log((pairs - 1.0) / pairs)


@dataclass(frozen=True)
class MicrocircuitQuantities:
    """What one instance of the model is built from (the reference's ``__derive_parameters``).

    Matrices are ``[target, source]``; currents in A, delays in s, counts as int64.
    """

    scale: float  #: population sizes relative to full scale
    k_scale: float  #: in-degrees relative to full scale
    drive: str  #: ``"dc"`` or ``"poisson"``
    n_neurons: np.ndarray  #: population sizes ``[n_pops]``
    n_synapses: np.ndarray  #: synapses per projection ``[n_pops, n_pops]``
    full_n_synapses: np.ndarray  #: full-scale synapse counts, not rounded ``[n_pops, n_pops]``
    weight_mean: np.ndarray  #: mean weight (A) ``[n_pops, n_pops]``
    delay_mean: np.ndarray  #: mean delay (s) ``[n_pops, n_pops]``
    weight_ext: float  #: weight of each external input (A)
    k_ext: np.ndarray  #: external in-degree per population ``[n_pops]``
    poisson_rates: np.ndarray  #: rate of the Poisson drive into each neuron (Hz; 0 for dc)
    dc: np.ndarray  #: constant current into each population (A) ``[n_pops]``
    n_thalamic_synapses: np.ndarray  #: thalamus -> each population ``[n_pops]``
    weight_thalamic: float  #: mean thalamic weight (A)


def _check_scale(name: str, value: float) -> float:
    return check_real(name, value, minimum=0.0, maximum=1.0, exclusive_minimum=True)


def microcircuit_quantities(params: MicrocircuitParams = POTJANS_DIESMANN_2014,
                            scale: float = 1.0, k_scale: float = 1.0, drive: str = "dc"
                            ) -> MicrocircuitQuantities:
    """Sizes, synapse counts, weights and inputs of the model at a reduced size.

    The reference's scaling rule: population sizes ``round(N scale)``; synapses of each
    projection ``round(K_full scale k_scale)`` (so in-degrees scale by ``k_scale`` only);
    external in-degrees ``round(K_ext k_scale)``. With ``k_scale < 1`` the recurrent and
    external weights grow by ``1 / sqrt(k_scale)`` (keeping the input's variance) and a DC
    current ``tau_syn (1 - sqrt(k_scale)) sum_j J_ij K_ij nu_j`` (full-scale weights,
    in-degrees and published rates ``nu``; plus the external input's share with Poisson
    drive) restores its mean. The DC drive replaces the Poisson input by its mean
    ``nu_bg K_ext J_ext tau_syn`` (full-scale ``K_ext``, as the reference).  The thalamic
    synapse counts scale by ``k_scale`` only, as in the reference.

    Args:
        params: the model.
        scale: population sizes relative to full scale, in ``(0, 1]``.
        k_scale: in-degrees relative to full scale, in ``(0, 1]``.
        drive: ``"dc"`` or ``"poisson"``.

    Returns:
        The :class:`MicrocircuitQuantities`.
    """
    if not isinstance(params, MicrocircuitParams):
        raise TypeError(f"params must be a MicrocircuitParams, got {type(params).__name__}")
    scale = _check_scale("scale", scale)
    k_scale = _check_scale("k_scale", k_scale)
    check_choice("drive", drive, DRIVES)
    n_full = np.array(params.n_neurons, dtype=np.int64)
    n_pops = params.n_populations
    exc = np.array([params.is_excitatory(j) for j in range(n_pops)])
    full_k = _total_synapses(np.array(params.connection_probabilities), n_full, n_full)
    factor = psc_per_psp(params)
    psp = np.where(exc, params.psp_exc, params.psp_exc * params.g)[None, :].repeat(n_pops, 0)
    psp[0, 2] = params.l4e_to_l23e_factor * params.psp_exc  # L4E -> L23E
    weight_mean = psp * factor
    delay_mean = np.where(exc, params.delay_exc, params.delay_inh)[None, :].repeat(n_pops, 0)
    weight_ext = params.psp_exc * factor
    k_ext_full = np.array(params.k_ext, dtype=np.float64)
    if drive == "dc":
        dc = params.bg_rate * k_ext_full * weight_ext * params.tau_syn
    else:
        dc = np.zeros(n_pops)
    k_th = _total_synapses(np.array([params.thalamic_probabilities]),
                           np.array([params.n_thalamic]), n_full)[0]
    weight_th = params.psp_thalamic * factor
    if k_scale != 1.0:
        shortfall = params.tau_syn * (1.0 - math.sqrt(k_scale))
        indegree = full_k / n_full[:, None]
        recurrent = (weight_mean * indegree * np.array(params.published_rates)).sum(axis=1)
        dc = dc + shortfall * recurrent
        if drive == "poisson":
            dc = dc + shortfall * weight_ext * k_ext_full * params.bg_rate
        weight_mean = weight_mean / math.sqrt(k_scale)
        weight_ext = weight_ext / math.sqrt(k_scale)
        k_th = k_th * k_scale
        weight_th = weight_th / math.sqrt(k_scale)
    k_ext = np.round(k_ext_full * k_scale).astype(np.int64)
    rates = k_ext * params.bg_rate if drive == "poisson" else np.zeros(n_pops)
    return MicrocircuitQuantities(
        scale=scale, k_scale=k_scale, drive=drive,
        n_neurons=np.round(n_full * scale).astype(np.int64),
        n_synapses=np.round(full_k * scale * k_scale).astype(np.int64),
        full_n_synapses=full_k, weight_mean=weight_mean, delay_mean=delay_mean,
        weight_ext=float(weight_ext), k_ext=k_ext, poisson_rates=rates.astype(np.float64),
        dc=dc, n_thalamic_synapses=np.round(k_th).astype(np.int64),
        weight_thalamic=float(weight_th))


def draw_normal_redrawn(rng: np.random.Generator, n: int, mean: float, sd: float,
                        low: float, high: float, dtype: str | np.dtype = "float64"
                        ) -> np.ndarray:
    """``n`` draws of a normal ``(mean, sd)`` where every value outside ``[low, high]`` is
    drawn again until it falls inside (NEST's ``redraw``): a truncated normal.

    Values are drawn straight into ``dtype`` (float32 halves the memory of large draws).

    Args:
        rng: the generator.
        n: number of values (>= 0).
        mean: mean of the normal (any unit).
        sd: its standard deviation (>= 0, same unit).
        low: smallest value kept.
        high: largest value kept (``np.inf`` for none).
        dtype: ``"float64"`` or ``"float32"``.

    Returns:
        ``[n]`` values of ``dtype``.
    """
    dtype = np.dtype(dtype)
    values = rng.standard_normal(n, dtype=dtype)
    values *= dtype.type(sd)
    values += dtype.type(mean)
    while True:
        bad = np.flatnonzero((values < low) | (values > high))
        if bad.size == 0:
            return values
        again = rng.standard_normal(bad.size, dtype=dtype)
        values[bad] = again * dtype.type(sd) + dtype.type(mean)


def thalamic_spikes(params: MicrocircuitParams, rng: np.random.Generator, dt: float
                    ) -> tuple[np.ndarray, np.ndarray]:
    """The thalamic pulse: each thalamic neuron fires an independent Poisson train of
    ``thalamic_rate`` over ``[thalamic_start, thalamic_start + thalamic_duration)`` shifted
    by ``thalamic_relay_delay``, with at most one spike per neuron and step (spike times on
    the step grid).

    Args:
        params: the model.
        rng: the generator.
        dt: time step (s).

    Returns:
        ``(indices, times)``: neuron (int64) and time (s) of each spike, ``[n_spikes]``.
    """
    first = int(round((params.thalamic_start + params.thalamic_relay_delay) / dt))
    n_steps = int(round(params.thalamic_duration / dt))
    fire = rng.random((n_steps, params.n_thalamic)) < params.thalamic_rate * dt
    steps, indices = np.nonzero(fire)
    return indices.astype(np.int64), (first + steps) * dt


def _connect_fixed_total(net: Network, rng: np.random.Generator, pre: str, post: str,
                         n_pre: int, n_post: int, n_synapses: int, weight_mean: float,
                         weight_sd: float, delay_mean: float, delay_sd: float,
                         delay_low: float, delay_high: float, dtype: str) -> None:
    """One projection under the fixed-total-number rule: ``n_synapses`` (pre, post) pairs
    drawn uniformly and independently (autapses and multapses allowed), weights normal and
    redrawn to keep their sign, delays normal and redrawn into ``[delay_low, delay_high]``.
    Indices are drawn as int32 and values straight into ``dtype``."""
    if n_synapses == 0:
        return
    pre_indices = rng.integers(0, n_pre, size=n_synapses, dtype=np.int32)
    post_indices = rng.integers(0, n_post, size=n_synapses, dtype=np.int32)
    if weight_mean >= 0:
        low, high = 0.0, np.inf
    else:
        low, high = -np.inf, 0.0
    weights = draw_normal_redrawn(rng, n_synapses, weight_mean, weight_sd, low, high, dtype)
    delays = draw_normal_redrawn(rng, n_synapses, delay_mean, delay_sd, delay_low,
                                 delay_high, dtype)
    # keep_order=False: the given order is random anyway, and recording it would cost an
    # int64 per synapse
    net.connect(pre, post, weights, pre_indices=pre_indices, post_indices=post_indices,
                delays=delays, channel="exc" if weight_mean >= 0 else "inh", keep_order=False)


def potjans_diesmann(
    scale: float = 1.0,
    k_scale: float = 1.0,
    drive: str = "dc",
    thalamus: bool = False,
    rng: int | np.random.Generator | None = None,
    *,
    dt: float = 1e-4,
    weight_dtype: str = "float64",
    monitor: bool = True,
    params: MicrocircuitParams = POTJANS_DIESMANN_2014,
    distributed: str | None = None,
) -> Network:
    """The Potjans & Diesmann (2014) cortical microcircuit on the engine.

    Eight populations of iaf_psc_exp neurons (:meth:`MicrocircuitParams.lif_params` at
    ``dt``, refractory as long as NEST's), named
    as in ``params.populations``, sized and connected as :func:`microcircuit_quantities`
    says: each projection draws its synapse count of uniformly random (pre, post) pairs
    (autapses and multapses allowed), weights normal with SD ``weight_rel_std |mean|``
    redrawn to keep their sign, delays normal with SD ``delay_rel_std mean`` redrawn below
    ``dt / 2`` (so that no delay rounds to fewer than one step, as the reference) and above
    ``mean + delay_cutoff_sds SD`` (bounding the ring buffer; at 10 SDs no draw of the
    full model is expected to reach it). Initial potentials are normal per population. The
    background is a constant current (``drive="dc"``, :meth:`snn.Network.set_current`) or
    independent Poisson trains of ``K_ext nu_bg`` per neuron
    (``drive="poisson"``, :meth:`snn.Network.add_poisson_drive`), plus the DC that
    compensates reduced in-degrees. With ``thalamus`` a spike source ``"TH"`` of
    ``n_thalamic`` neurons fires its pulse (drawn from ``rng``) into L4 and L6.

    Construction holds one projection's draws at a time: int32 indices and, with
    ``weight_dtype="float32"``, float32 weights and delays.

    Args:
        scale: population sizes relative to full scale (77,169 neurons), in ``(0, 1]``.
        k_scale: in-degrees relative to full scale, in ``(0, 1]``.
        drive: ``"dc"`` or ``"poisson"``.
        thalamus: add the thalamic population and its pulse.
        rng: draws initial potentials, connectivity and the thalamic pulse, in that
            order: an int seed, a ``numpy.random.Generator``, or None (``params.seed``).
        dt: time step (s).
        weight_dtype: ``"float64"`` or ``"float32"``: the drawn values' type and the
            network's synapse storage.
        monitor: record the spikes of the eight populations.
        params: the model (default :data:`POTJANS_DIESMANN_2014`).
        distributed: ``"mpi"``: each process of ``mpirun`` keeps only the synapses onto its
            own neurons (see :class:`~snn.Network`); every process draws the same network.

    Returns:
        The :class:`~snn.Network`.
    """
    q = microcircuit_quantities(params, scale, k_scale, drive)
    if not isinstance(thalamus, bool):
        raise TypeError(f"thalamus must be a bool, got {type(thalamus).__name__}")
    dt = check_positive("dt", dt, unit="s")
    check_choice("weight_dtype", weight_dtype, ("float64", "float32"))
    rng = numpy_generator(params.seed if rng is None else rng)
    if np.any(q.n_neurons < 1):
        raise ValueError(f"scale={scale:g} leaves a population empty; sizes "
                         f"{q.n_neurons.tolist()}")
    cutoffs = [mean * (1 + params.delay_cutoff_sds * params.delay_rel_std)
               for mean in (params.delay_exc, params.delay_inh)]
    if thalamus:
        cutoffs.append(params.delay_thalamic
                       * (1 + params.delay_cutoff_sds * params.delay_thalamic_rel_std))
    max_delay = max(cutoffs)
    net = Network(dt=dt, max_delay=max_delay, weight_dtype=weight_dtype,
                  distributed=distributed)
    neuron = params.lif_params(dt)
    names = params.populations
    for i, name in enumerate(names):
        n = int(q.n_neurons[i])
        v0 = params.v0_mean[i] + params.v0_std[i] * rng.standard_normal(n)
        net.add_population(name, n, neuron, v_init=v0)
    for i, target in enumerate(names):
        for j, source in enumerate(names):
            mean_delay = float(q.delay_mean[i, j])
            _connect_fixed_total(
                net, rng, source, target, int(q.n_neurons[j]), int(q.n_neurons[i]),
                int(q.n_synapses[i, j]), float(q.weight_mean[i, j]),
                abs(float(q.weight_mean[i, j])) * params.weight_rel_std,
                mean_delay, mean_delay * params.delay_rel_std, 0.5 * dt,
                mean_delay * (1 + params.delay_cutoff_sds * params.delay_rel_std),
                weight_dtype)
    for i, name in enumerate(names):
        if drive == "poisson":
            net.add_poisson_drive(name, float(q.poisson_rates[i]), q.weight_ext,
                                  channel="exc")
        if q.dc[i] != 0.0:
            net.set_current(name, float(q.dc[i]))
    if thalamus:
        indices, times = thalamic_spikes(params, rng, dt)
        net.add_spike_source("TH", params.n_thalamic, indices, times)
        th_delay = params.delay_thalamic
        th_sd = th_delay * params.delay_thalamic_rel_std
        for i, name in enumerate(names):
            _connect_fixed_total(
                net, rng, "TH", name, params.n_thalamic, int(q.n_neurons[i]),
                int(q.n_thalamic_synapses[i]), q.weight_thalamic,
                q.weight_thalamic * params.weight_rel_std, th_delay, th_sd, 0.5 * dt,
                th_delay + params.delay_cutoff_sds * th_sd, weight_dtype)
    if monitor:
        net.monitor_spikes(*names)
    return net


def run_microcircuit(
    network: Network,
    duration: float,
    warmup: float = 0.5,
    *,
    rng: int | np.random.Generator | None = None,
    threads: int | None = None,
    backend: str = "numba",
    progress: bool = False,
) -> tuple[SimulationResult, SimulationResult | None]:
    """Simulate a warm-up (the reference's 0.5 s pre-simulation, whose spikes are not
    analysed) and then ``duration`` from where it ended.

    Args:
        network: the network (:func:`potjans_diesmann`).
        duration: recorded simulated time after the warm-up (s, > 0).
        warmup: simulated time before it (s, >= 0; 0 skips it).
        rng: drives the Poisson drive: an int seed, a ``numpy.random.Generator`` or None.
        threads: the numba backend's thread count (None: the engine's default).
        backend: the engine backend.
        progress: show a progress bar.

    Returns:
        ``(recorded, warm)``: the run after the warm-up (its spikes start at ``warmup``) and
        the warm-up's own result (None when ``warmup`` is 0).
    """
    duration = check_positive("duration", duration, unit="s")
    warmup = check_real("warmup", warmup, minimum=0.0, unit="s")
    generator = numpy_generator(rng)
    extra = {} if threads is None else {"threads": threads}
    warm = None
    if warmup > 0:
        warm = run(network, warmup, backend=backend, rng=generator, progress=progress,
                   **extra)
    recorded = run(network, duration, backend=backend, rng=generator,
                   state=None if warm is None else warm.state, progress=progress, **extra)
    return recorded, warm
