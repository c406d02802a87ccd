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
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ._random import numpy_generator
from .microcircuit import POTJANS_DIESMANN_2014, MicrocircuitParams, potjans_diesmann
from .models import ConductanceSynapses, CurrentSynapses, LIFParams
from .network import Network, Projection, random_pairs
from .plasticity import STDPParams
from .validation import check_choice, check_int, check_positive

__all__ = ["BenchmarkSpec", "CUBA", "COBA", "BENCHMARKS", "SONG2000", "STDPExperiment",
           "build_benchmark", "build_stdp_experiment", "draw_connectivity",
           "draw_initial_state", "MicrocircuitParams", "POTJANS_DIESMANN_2014",
           "potjans_diesmann"]


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


def connection_probability(spec: BenchmarkSpec, n_neurons: int) -> float:
    """Probability that keeps the expected in-degree of the reference network (80 inputs at
    4000 neurons), so that activity and work per neuron stay the same when scaling."""
    return min(1.0, spec.p_reference * spec.n_reference / n_neurons)


def draw_connectivity(n_neurons: int, p: float, rng: np.random.Generator
                      ) -> tuple[np.ndarray, np.ndarray]:
    """Random directed pairs over ``n_neurons`` (autapses allowed, as in Brian2's
    ``connect(p=...)``): ``(pre, post)``, each present independently with probability ``p``."""
    return random_pairs(n_neurons, n_neurons, p, rng)


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

    Returns:
        The :class:`~snn.Network`.
    """
    spec = _spec(name)
    n_neurons = check_int("n_neurons", n_neurons, minimum=5)
    check_positive("dt", dt, unit="s")
    rng = numpy_generator(rng)
    n_exc = int(round(spec.exc_fraction * n_neurons))
    if initial is None:
        initial = draw_initial_state(spec, n_neurons, rng)
    if connectivity is None:
        connectivity = draw_connectivity(n_neurons, connection_probability(spec, n_neurons), rng)
    pre, post = connectivity
    net = Network(dt=dt, max_delay=0.0)
    for pop, sl in (("exc", slice(0, n_exc)), ("inh", slice(n_exc, n_neurons))):
        net.add_population(pop, sl.stop - sl.start, spec.params,
                           initial={k: v[sl] for k, v in initial.items()})
    for src, pre_sl, weight, channel in (("exc", slice(0, n_exc), spec.w_exc, "exc"),
                                         ("inh", slice(n_exc, n_neurons), spec.w_inh, "inh")):
        for dst, post_sl in (("exc", slice(0, n_exc)), ("inh", slice(n_exc, n_neurons))):
            keep = ((pre >= pre_sl.start) & (pre < pre_sl.stop)
                    & (post >= post_sl.start) & (post < post_sl.stop))
            net.connect(src, dst, weight, pre_indices=pre[keep] - pre_sl.start,
                        post_indices=post[keep] - post_sl.start, channel=channel)
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
