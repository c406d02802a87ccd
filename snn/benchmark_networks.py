"""The CUBA and COBA benchmark networks (Brette et al. 2007, after Vogels & Abbott 2005), and
the STDP experiment of Song, Miller & Abbott (2000).

Sources: R. Brette et al., "Simulation of networks of spiking neurons: a review of tools and
strategies", J. Comput. Neurosci. 23:349-398 (2007), benchmarks 1 (COBA) and 2 (CUBA);
T. P. Vogels and L. F. Abbott, J. Neurosci. 25:10786 (2005).  Parameters follow Brian2's
``examples/CUBA.py`` and Brian's ``COBA.py`` for that paper, written here in SI units with a
membrane resistance of 100 MOhm (leak conductance 10 nS), so that Brian2's voltage-valued
synaptic weights become currents (CUBA) and its leak-relative conductances become siemens
(COBA).

The cortical microcircuit of Potjans & Diesmann (2014) lives in :mod:`snn.microcircuit` and
is re-exported here (:func:`potjans_diesmann`).

The connectivity and the random initial state are drawn by :func:`draw_connectivity` and
:func:`draw_initial_state` so that the same draws can be handed to another simulator.

Two ways to scale the networks away from their 4000 neurons (``scaling=``): ``"in_degree"``
(the default) keeps 80 inputs per neuron and the published weights, so the work per neuron
stays the same; ``"fixed_p"`` keeps the connection probability at 2 %, as in the large-scale
comparisons of simulators (100,000 neurons carry 2e8 synapses), with the weights multiplied by
``4000 / n_neurons`` so that the mean input of a neuron equals the reference network's.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numba import njit, prange

from ._random import numpy_generator
from .microcircuit import POTJANS_DIESMANN_2014, MicrocircuitParams, potjans_diesmann
from .models import ConductanceSynapses, CurrentSynapses, LIFParams
from .network import Network, Projection, random_pairs
from .plasticity import STDPParams
from .validation import check_choice, check_int, check_positive, check_probability

__all__ = ["BenchmarkSpec", "CUBA", "COBA", "BENCHMARKS", "SCALINGS", "SONG2000",
           "STDPExperiment", "build_benchmark", "build_stdp_experiment",
           "connection_probability", "draw_connectivity", "draw_connectivity_lean",
           "draw_initial_state", "synaptic_weights", "MicrocircuitParams",
           "POTJANS_DIESMANN_2014", "potjans_diesmann"]


@dataclass(frozen=True)
class BenchmarkSpec:
    """A benchmark network as data: neuron parameters, weights and size at p = 0.02."""

    name: str
    params: LIFParams
    w_exc: float  #: excitatory weight (A for CUBA, S for COBA)
    w_inh: float  #: inhibitory weight (A, negative, for CUBA; S for COBA)
    n_reference: int = 4000  #: network size at which the connection probability is p_reference
    p_reference: float = 0.02  #: connection probability at n_reference neurons
    exc_fraction: float = 0.8
    source: str = ""


_R_M = 100e6  # 1 / (10 nS)

CUBA = BenchmarkSpec(
    name="cuba",
    params=LIFParams(
        tau_m=20e-3, v_rest=-49e-3, v_threshold=-50e-3, v_reset=-60e-3, r_m=_R_M,
        tau_refractory=5e-3, reset="value",
        synapses=CurrentSynapses(tau_exc=5e-3, tau_inh=10e-3),
    ),
    w_exc=60 * 0.27 / 10 * 1e-3 / _R_M,  # 1.62 mV across 100 MOhm = 16.2 pA
    w_inh=-20 * 4.5 / 10 * 1e-3 / _R_M,  # -9 mV across 100 MOhm = -90 pA
    source="Brette et al. 2007, benchmark 2; Brian2 examples/CUBA.py",
)

COBA = BenchmarkSpec(
    name="coba",
    params=LIFParams(
        tau_m=20e-3, v_rest=-60e-3, v_threshold=-50e-3, v_reset=-60e-3, r_m=_R_M,
        tau_refractory=5e-3, reset="value",
        synapses=ConductanceSynapses(tau_exc=5e-3, tau_inh=10e-3, e_exc=0.0, e_inh=-80e-3),
    ),
    w_exc=0.6 / _R_M,  # 0.6 leak conductances = 6 nS
    w_inh=6.7 / _R_M,  # 6.7 leak conductances = 67 nS
    source="Brette et al. 2007, benchmark 1; Brian COBA.py for that paper",
)

BENCHMARKS = {"cuba": CUBA, "coba": COBA}


def _spec(name: str | BenchmarkSpec) -> BenchmarkSpec:
    if isinstance(name, BenchmarkSpec):
        return name
    return BENCHMARKS[check_choice("benchmark", name, sorted(BENCHMARKS))]


#: How a benchmark network is scaled away from its reference size: ``"in_degree"`` keeps the
#: expected in-degree and the weights; ``"fixed_p"`` keeps the connection probability and
#: scales the weights by ``n_reference / n_neurons``.
SCALINGS = ("in_degree", "fixed_p")


def connection_probability(spec: BenchmarkSpec, n_neurons: int,
                           scaling: str = "in_degree") -> float:
    """The connection probability of the network of ``n_neurons`` neurons.

    Args:
        spec: the benchmark.
        n_neurons: network size.
        scaling: ``"in_degree"``: the probability that keeps the expected in-degree of the
            reference network (80 inputs at 4000 neurons), so that activity and work per
            neuron stay the same; ``"fixed_p"``: the reference probability (0.02) at every
            size, so that the synapse count grows as ``n_neurons**2``.

    Returns:
        The probability that a given (pre, post) pair is connected.
    """
    if check_choice("scaling", scaling, SCALINGS) == "fixed_p":
        return spec.p_reference
    return min(1.0, spec.p_reference * spec.n_reference / n_neurons)


def synaptic_weights(spec: BenchmarkSpec, n_neurons: int,
                     scaling: str = "in_degree") -> tuple[float, float]:
    """The excitatory and inhibitory weights of the network of ``n_neurons`` neurons.

    With ``scaling="fixed_p"`` the expected in-degree is ``p_reference * n_neurons``, so each
    weight is multiplied by ``n_reference / n_neurons``: the mean input of a neuron (in-degree
    x weight x presynaptic rate) then equals the reference network's, while its fluctuations
    shrink as ``1 / n_neurons``.

    Args:
        spec: the benchmark.
        n_neurons: network size.
        scaling: ``"in_degree"`` (the published weights) or ``"fixed_p"``.

    Returns:
        ``(w_exc, w_inh)`` in the spec's units (A for CUBA, S for COBA).
    """
    if check_choice("scaling", scaling, SCALINGS) == "fixed_p":
        factor = spec.n_reference / check_int("n_neurons", n_neurons, minimum=1)
        return spec.w_exc * factor, spec.w_inh * factor
    return spec.w_exc, spec.w_inh


def draw_connectivity(n_neurons: int, p: float, rng: np.random.Generator
                      ) -> tuple[np.ndarray, np.ndarray]:
    """Random directed pairs over ``n_neurons`` (autapses allowed, as in Brian2's
    ``connect(p=...)``): ``(pre, post)``, each present independently with probability ``p``."""
    return random_pairs(n_neurons, n_neurons, p, rng)


# The targets of a row are a uniform subset of [0, n_post) of the drawn size: draw them with
# repeats, sort the row, move the repeats to its end and draw those again until none is left.
# The law of the set drawn is invariant under relabelling the targets and its size is fixed,
# so it is the uniform one, as sampling without replacement gives.
@njit(cache=True, parallel=True)
def _sort_rows_drop_repeats(indptr, targets, rows, fresh):  # pragma: no cover (compiled)
    """Sort each row of ``rows`` in place, keep its distinct targets at its start and return,
    per row, how many places at its end hold repeats to be drawn again.  A row whose last
    ``fresh[r] > 0`` targets are new and the rest sorted only sorts those and merges."""
    repeats = np.zeros(rows.size, dtype=np.int64)
    for r in prange(rows.size):
        start, stop = indptr[rows[r]], indptr[rows[r] + 1]
        if stop - start < 2:
            continue
        n_fresh = fresh[r]
        if n_fresh == 0 or n_fresh == stop - start:
            targets[start:stop].sort()
        else:  # merge the sorted new values into the sorted row from the back, in place
            tail = np.sort(targets[stop - n_fresh:stop])
            i, j = stop - n_fresh - 1, n_fresh - 1
            for w in range(stop - 1, start - 1, -1):
                if j < 0:
                    break
                if i >= start and targets[i] > tail[j]:
                    targets[w] = targets[i]
                    i -= 1
                else:
                    targets[w] = tail[j]
                    j -= 1
        write = start + 1
        for k in range(start + 1, stop):
            if targets[k] != targets[write - 1]:
                targets[write] = targets[k]
                write += 1
        repeats[r] = stop - write
    return repeats


@njit(cache=True)
def _fill_row_ends(indptr, targets, rows, repeats, fresh):  # pragma: no cover (compiled)
    """Write ``fresh`` targets into the last ``repeats[r]`` places of each row of ``rows``."""
    taken = 0
    for r in range(rows.size):
        stop = indptr[rows[r] + 1]
        for k in range(stop - repeats[r], stop):
            targets[k] = fresh[taken]
            taken += 1


def draw_connectivity_lean(n_pre: int, n_post: int, p: float,
                           rng: int | np.random.Generator | None = None
                           ) -> tuple[np.ndarray, np.ndarray]:
    """Random directed pairs, each present independently with probability ``p``, drawn
    lean enough for 1e8 synapses and more.

    The law is that of :func:`draw_connectivity` and of Brian2's ``connect(p=p)``: at most
    one synapse per (pre, post) pair (no multapses); when pre and post are the same
    population the pair (i, i) is allowed like any other (autapses, as in Brian2 without a
    condition).  The number of targets of each presynaptic neuron is drawn from the binomial
    law, then its targets as a uniform subset of ``[0, n_post)``: drawn with repeats in one
    vectorised call, sorted row by row in compiled parallel code, and the repeats drawn
    again until none is left (a row with more than half of ``n_post`` targets is drawn
    without replacement directly).  Memory: the two int32 arrays of the result and one
    int64 row pointer ``[n_pre + 1]``; no temporary as long as the synapse list.  The draws
    differ from :func:`draw_connectivity`'s for the same seed, and the result does not
    depend on the number of threads.

    Args:
        n_pre: number of presynaptic neurons (>= 1).
        n_post: number of postsynaptic neurons (>= 1, < 2**31).
        p: connection probability in ``[0, 1]``.
        rng: an int seed, a ``numpy.random.Generator`` or None (fresh entropy).

    Returns:
        ``(pre, post)``: int32 index arrays ``[n_synapses]``, sorted by pre, then post.
    """
    n_pre = check_int("n_pre", n_pre, minimum=1)
    n_post = check_int("n_post", n_post, minimum=1, maximum=np.iinfo(np.int32).max)
    p = check_probability("p", p)
    rng = numpy_generator(rng)
    counts = rng.binomial(n_post, p, size=n_pre)
    indptr = np.zeros(n_pre + 1, dtype=np.int64)
    np.cumsum(counts, out=indptr[1:])
    targets = rng.integers(0, n_post, size=int(indptr[-1]), dtype=np.int32)
    dense = np.flatnonzero(2 * counts > n_post)
    # Rejection of repeats would take long in rows that fill most of [0, n_post).
    for row in dense:
        targets[indptr[row]:indptr[row + 1]] = np.sort(
            rng.choice(n_post, size=int(counts[row]), replace=False))
    rows = np.flatnonzero(2 * counts <= n_post)
    repeats = np.zeros(rows.size, dtype=np.int64)  # first pass: every row sorted whole
    while rows.size:
        repeats = _sort_rows_drop_repeats(indptr, targets, rows, repeats)
        redraw = repeats > 0
        rows, repeats = rows[redraw], repeats[redraw]
        if rows.size:
            fresh = rng.integers(0, n_post, size=int(repeats.sum()), dtype=np.int32)
            _fill_row_ends(indptr, targets, rows, repeats, fresh)
    pre = np.repeat(np.arange(n_pre, dtype=np.int32), counts)
    return pre, targets


def draw_initial_state(spec: BenchmarkSpec, n_neurons: int, rng: np.random.Generator
                       ) -> dict[str, np.ndarray]:
    """Initial state as in the published scripts: CUBA ``v ~ U(v_reset, v_threshold)``;
    COBA ``v ~ N(-65 mV, 5 mV)``, ``g_e ~ N(4, 1.5) g_L``, ``g_i ~ N(20, 12) g_L``."""
    p = spec.params
    if isinstance(p.synapses, CurrentSynapses):
        v = p.v_reset + rng.random(n_neurons) * (p.v_threshold - p.v_reset)
        return {"v": v}
    g_leak = 1.0 / p.r_m
    return {
        "v": p.v_rest + (rng.standard_normal(n_neurons) * 5 - 5) * 1e-3,
        "syn_exc": (rng.standard_normal(n_neurons) * 1.5 + 4) * g_leak,
        "syn_inh": (rng.standard_normal(n_neurons) * 12 + 20) * g_leak,
    }


def build_benchmark(
    name: str | BenchmarkSpec = "cuba",
    n_neurons: int = 4000,
    rng: int | np.random.Generator | None = 0,
    *,
    dt: float = 1e-4,
    connectivity: tuple[np.ndarray, np.ndarray] | None = None,
    initial: dict[str, np.ndarray] | None = None,
    monitor: bool = True,
    scaling: str = "in_degree",
) -> Network:
    """The benchmark network as two populations ``exc`` (80 %) and ``inh`` (20 %).

    Args:
        name: ``"cuba"``, ``"coba"`` or a :class:`BenchmarkSpec`.
        n_neurons: network size (>= 5).
        rng: draws the initial state, then the connectivity (those not given): an int seed,
            a ``numpy.random.Generator`` or None (fresh entropy).
        dt: time step (s).
        connectivity: ``(pre, post)`` index arrays over all neurons ``[n_synapses]`` each.
        initial: initial state arrays ``[n_neurons]`` by state variable.
        monitor: record the spikes of both populations.
        scaling: ``"in_degree"`` (80 inputs per neuron, the published weights; the
            connectivity drawn by :func:`draw_connectivity`) or ``"fixed_p"`` (probability
            0.02 at every size, weights times ``4000 / n_neurons``, see
            :func:`synaptic_weights`; the connectivity, when not given, drawn projection by
            projection by :func:`draw_connectivity_lean`).

    Returns:
        The :class:`~snn.Network`.
    """
    spec = _spec(name)
    n_neurons = check_int("n_neurons", n_neurons, minimum=5)
    check_positive("dt", dt, unit="s")
    check_choice("scaling", scaling, SCALINGS)
    rng = numpy_generator(rng)
    n_exc = int(round(spec.exc_fraction * n_neurons))
    w_exc, w_inh = synaptic_weights(spec, n_neurons, scaling)
    probability = connection_probability(spec, n_neurons, scaling)
    if initial is None:
        initial = draw_initial_state(spec, n_neurons, rng)
    if connectivity is None and scaling == "in_degree":
        connectivity = draw_connectivity(n_neurons, probability, rng)
    net = Network(dt=dt, max_delay=0.0)
    for pop, sl in (("exc", slice(0, n_exc)), ("inh", slice(n_exc, n_neurons))):
        net.add_population(pop, sl.stop - sl.start, spec.params,
                           initial={k: v[sl] for k, v in initial.items()})
    for src, pre_sl, weight, channel in (("exc", slice(0, n_exc), w_exc, "exc"),
                                         ("inh", slice(n_exc, n_neurons), w_inh, "inh")):
        for dst, post_sl in (("exc", slice(0, n_exc)), ("inh", slice(n_exc, n_neurons))):
            if connectivity is None:
                pre_local, post_local = draw_connectivity_lean(
                    pre_sl.stop - pre_sl.start, post_sl.stop - post_sl.start, probability, rng)
            else:
                pre, post = connectivity
                keep = ((pre >= pre_sl.start) & (pre < pre_sl.stop)
                        & (post >= post_sl.start) & (post < post_sl.stop))
                pre_local, post_local = pre[keep] - pre_sl.start, post[keep] - post_sl.start
            net.connect(src, dst, weight, pre_indices=pre_local, post_indices=post_local,
                        channel=channel)
            del pre_local, post_local  # a projection's draws go before the next is drawn
    if monitor:
        net.monitor_spikes("exc", "inh")
    return net


@dataclass(frozen=True)
class STDPExperiment:
    """A feed-forward STDP experiment as data: ``n_inputs`` Poisson inputs at ``rate`` (Hz)
    onto conductance LIF neurons through excitatory synapses that learn by ``rule``, with
    initial weights uniform in ``[0, rule.w_max]``."""

    name: str
    params: LIFParams
    rule: STDPParams
    n_inputs: int
    rate: float
    source: str = ""


_G_MAX = 0.01 / _R_M  # 0.01 leak conductances = 0.1 nS

SONG2000 = STDPExperiment(
    name="song2000",
    params=LIFParams(
        tau_m=10e-3, v_rest=-74e-3, v_threshold=-54e-3, v_reset=-60e-3, r_m=_R_M,
        tau_refractory=0.0, reset="value",
        synapses=ConductanceSynapses(tau_exc=5e-3, e_exc=0.0),
    ),
    rule=STDPParams(a_plus=0.01 * _G_MAX, a_minus=0.01 * 1.05 * _G_MAX, tau_plus=20e-3,
                    tau_minus=20e-3, w_min=0.0, w_max=_G_MAX),
    n_inputs=1000,
    rate=15.0,
    source="Song, Miller & Abbott, Nat. Neurosci. 3:919-926 (2000); Brian2 "
           "examples/synapses/STDP.py",
)


def build_stdp_experiment(experiment: STDPExperiment = SONG2000, n_neurons: int = 1,
                          rng: int | np.random.Generator | None = 0, *, dt: float = 1e-4
                          ) -> tuple[Network, Projection]:
    """The network of ``experiment`` with ``n_neurons`` output neurons (population
    ``neurons``, spikes monitored), each connected to every input (source ``inputs``).

    Args:
        experiment: the experiment as data.
        n_neurons: output neurons (>= 1).
        rng: draws the initial weights: an int seed, a ``numpy.random.Generator`` or None.
        dt: time step (s).

    Returns:
        ``(network, projection)``: the plastic projection's weights are ``[n_inputs,
        n_neurons]`` in dense, input-major order.
    """
    if not isinstance(experiment, STDPExperiment):
        raise TypeError(f"experiment must be an STDPExperiment, got {type(experiment).__name__}")
    n_neurons = check_int("n_neurons", n_neurons, minimum=1)
    check_positive("dt", dt, unit="s")
    rng = numpy_generator(rng)
    net = Network(dt=dt, max_delay=0.0)
    net.add_poisson_source("inputs", experiment.n_inputs, experiment.rate)
    net.add_population("neurons", int(n_neurons), experiment.params)
    weights = rng.uniform(0.0, experiment.rule.w_max, (experiment.n_inputs, int(n_neurons)))
    proj = net.connect("inputs", "neurons", weights, plasticity=experiment.rule)
    net.monitor_spikes("neurons")
    return net, proj
