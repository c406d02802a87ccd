"""The same :class:`snn.Network` run in NEST 3.10, for checks and benchmarks.

:func:`run` translates a network of leaky integrate-and-fire populations into NEST objects
and simulates it there: current-synapse populations become ``iaf_psc_exp`` neurons,
conductance-synapse populations ``iaf_cond_exp`` neurons, every synapse of every projection
a ``static_synapse`` with its own weight and delay, spike sources ``spike_generator`` nodes,
Poisson sources ``spike_generator`` nodes fed with the schedule our engine draws (or
``poisson_generator`` nodes behind ``parrot_neuron`` relays), external currents ``I_e`` and
``step_current_generator`` nodes, and Poisson drives ``poisson_generator`` nodes.

Timing conventions (both simulators advance in the same order within a step: membrane,
synaptic decay, arriving spikes, threshold and reset):

* NEST stamps a spike at the end of the step that emits it, we at its start: a spike of
  our step ``t`` is NEST's spike at ``(t + 1) dt``; :func:`run` reports our times.
* A spike of step ``t`` through our delay of ``d >= 1`` steps joins the synaptic variable in
  step ``t + d``; NEST's delay of ``d dt`` does the same.  NEST's shortest delay is one step:
  a delay-0 synapse between populations cannot be matched (``zero_delay`` chooses between an
  error and one step of delay).  Synapses from sources can: their generators emit one step
  early with one step more delay.
* After a spike our neuron stays clamped for ``n - 1`` steps, ``n`` the refractory period in
  whole steps (:func:`snn.models.refractory_steps`), NEST's for ``t_ref / dt`` steps: the
  translation gives NEST ``t_ref = (n - 1) dt``.
* A NEST current generator reaches the membrane two steps after its time stamp, so the
  current of our steps 0 and 1 is set through ``I_e`` while NEST runs those steps one by one.

NEST is an optional dependency (extra ``nest``); this module imports it only when called.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .._random import int_seed, numpy_generator
from ..engine import _input_schedule
from ..models import LIFParams, refractory_steps
from ..network import Network, PoissonSource, Population
from ..neuron_model import model_of
from ..results import SpikeTrains
from ..synapses import ConductanceSynapses, CurrentSynapses
from ..validation import check_choice, check_int, check_positive

__all__ = ["NestResult", "run", "iaf_psc_exp_params", "iaf_cond_exp_params",
           "import_nest", "nest_version", "ZERO_DELAY_MODES", "POISSON_MODES"]

#: What :func:`run` does with a delay-0 synapse between populations: ``"error"`` refuses it,
#: ``"one_step"`` gives it NEST's shortest delay (the spike arrives one step later than ours).
ZERO_DELAY_MODES = ("error", "one_step")
#: How :func:`run` feeds a :class:`snn.network.PoissonSource`: ``"schedule"`` replays the
#: spikes our engine draws from the same ``rng`` (runs compare spike for spike);
#: ``"generator"`` lets NEST draw them (``poisson_generator`` -> ``parrot_neuron``).
POISSON_MODES = ("schedule", "generator")

# Our state variables and NEST's recordables, with the factor from NEST's unit to SI.
_RECORDABLES = {
    "iaf_psc_exp": {"v": ("V_m", 1e-3), "syn_exc": ("I_syn_ex", 1e-12),
                    "syn_inh": ("I_syn_in", 1e-12)},
    "iaf_cond_exp": {"v": ("V_m", 1e-3), "syn_exc": ("g_ex", 1e-9), "syn_inh": ("g_in", 1e-9)},
}
# SI weight -> NEST weight (pA for current synapses, nS for conductance synapses).
_WEIGHT_SCALE = {"iaf_psc_exp": 1e12, "iaf_cond_exp": 1e9}


def import_nest() -> Any:
    """Import NEST safely beside numba's parallel code, and return the ``nest`` module.

    NEST's wheel carries its own OpenMP runtime.  If numba's OpenMP threading layer starts
    after NEST is loaded, NEST's next kernel reset crashes the process (a segmentation
    fault); started before, the two coexist.  This starts numba's worker threads first (a
    no-op once they run), then imports NEST.  Code that uses NEST beside this package
    should import it through this function.

    Returns:
        The ``nest`` module.
    """
    from numba.np.ufunc import parallel

    parallel._launch_threads()
    import nest

    return nest


def nest_version() -> str:
    """The version string of the installed NEST (imports it).

    Returns:
        e.g. ``"3.10.0"``.
    """
    return str(import_nest().__version__)


@dataclass(frozen=True)
class NestResult:
    """What a NEST run of a :class:`snn.Network` recorded, in the layout of
    :class:`snn.SimulationResult`.

    ``spikes[name]``: the spikes of each monitored population, at our step-start times (s).
    ``traces[population][variable]``: float64 ``[n_steps, n_recorded]``, SI units, sample
    ``k`` the state at time ``k * dt`` (sample 0 the initial state); the recorded neurons are
    ``trace_indices[population][variable]``.  ``build_time`` and ``wall_time`` (s) are
    NEST's network construction and simulation times; ``threads`` its thread count.
    """

    dt: float
    n_steps: int
    spikes: dict[str, SpikeTrains]
    traces: dict[str, dict[str, np.ndarray]]
    trace_indices: dict[str, dict[str, np.ndarray]]
    build_time: float
    wall_time: float
    threads: int
    version: str = ""
    extra: dict[str, Any] = field(default_factory=dict)


def _t_ref_ms(params: LIFParams, dt: float | None) -> float:
    if dt is None:
        return params.tau_refractory * 1e3
    # Our neuron stays clamped n - 1 steps after the spike's step, NEST's t_ref / dt steps.
    return max(refractory_steps(params.tau_refractory, dt) - 1, 0) * dt * 1e3


def _common_params(params: LIFParams, dt: float | None) -> dict[str, float]:
    return {"E_L": params.v_rest * 1e3, "V_th": params.v_threshold * 1e3,
            "V_reset": params.v_reset * 1e3, "t_ref": _t_ref_ms(params, dt),
            "tau_syn_ex": params.synapses.tau_exc * 1e3,
            "tau_syn_in": params.synapses.tau_inh * 1e3}


def _check_lif(params: Any, synapse_kind: type, arg: str = "params") -> None:
    if type(params) is not LIFParams:
        raise ValueError(f"{arg} must be snn.LIFParams for NEST's iaf models, got "
                         f"{type(params).__name__} (ALIF, IF and the other models have no "
                         f"NEST counterpart here)")
    if type(params.synapses) is not synapse_kind:
        raise ValueError(f"{arg}.synapses must be {synapse_kind.__name__}, got "
                         f"{type(params.synapses).__name__}")
    if params.reset != "value":
        raise ValueError(f"{arg}.reset must be 'value' for NEST's iaf models (they reset to "
                         f"V_reset), got {params.reset!r}")


def iaf_psc_exp_params(params: LIFParams, dt: float | None = None) -> dict[str, float]:
    """NEST ``iaf_psc_exp`` parameters of a LIF neuron with current synapses.

    ``C_m = tau_m / r_m``; NEST's units: mV, ms, pF.

    Args:
        params: an :class:`snn.LIFParams` with :class:`snn.CurrentSynapses` and
            ``reset="value"``.
        dt: the time step (s) both simulators run with: ``t_ref`` is then chosen so that
            NEST clamps the membrane for as many steps as our engine does (``(n - 1) dt``,
            ``n`` the refractory period in whole steps); None gives ``t_ref =
            tau_refractory``, NEST's own reading of the period.

    Returns:
        The parameter dictionary for ``nest.Create("iaf_psc_exp", params=...)`` (``I_e``
        not included).
    """
    _check_lif(params, CurrentSynapses)
    if dt is not None:
        check_positive("dt", dt, unit="s")
    out = _common_params(params, dt)
    out.update(tau_m=params.tau_m * 1e3, C_m=params.tau_m / params.r_m * 1e12)
    return out


def iaf_cond_exp_params(params: LIFParams, dt: float | None = None) -> dict[str, float]:
    """NEST ``iaf_cond_exp`` parameters of a LIF neuron with conductance synapses.

    ``C_m = tau_m / r_m`` and ``g_L = 1 / r_m``; NEST's units: mV, ms, pF, nS.

    Args:
        params: an :class:`snn.LIFParams` with :class:`snn.ConductanceSynapses` and
            ``reset="value"``.
        dt: as for :func:`iaf_psc_exp_params`.

    Returns:
        The parameter dictionary for ``nest.Create("iaf_cond_exp", params=...)``.
    """
    _check_lif(params, ConductanceSynapses)
    if dt is not None:
        check_positive("dt", dt, unit="s")
    out = _common_params(params, dt)
    out.update(C_m=params.tau_m / params.r_m * 1e12, g_L=1e9 / params.r_m,
               E_ex=params.synapses.e_exc * 1e3, E_in=params.synapses.e_inh * 1e3)
    return out


def _nest_model(pop: Population) -> str:
    params = pop.params
    if type(params) is not LIFParams:
        raise ValueError(f"population {pop.name!r}: NEST peers exist for snn.LIFParams "
                         f"populations only, got {type(params).__name__}")
    if pop.model is not model_of(params):
        raise ValueError(f"population {pop.name!r} runs model {pop.model.name}; only the "
                         f"built-in LIF model translates to NEST")
    kind = type(params.synapses)
    if kind is CurrentSynapses:
        _check_lif(params, CurrentSynapses, f"population {pop.name!r} params")
        return "iaf_psc_exp"
    if kind is ConductanceSynapses:
        _check_lif(params, ConductanceSynapses, f"population {pop.name!r} params")
        return "iaf_cond_exp"
    raise ValueError(f"population {pop.name!r}: synapses {kind.__name__} have no NEST iaf "
                     f"counterpart here (CurrentSynapses -> iaf_psc_exp, ConductanceSynapses "
                     f"-> iaf_cond_exp)")


def _check_network(net: Network, zero_delay: str) -> dict[str, str]:
    """Every reason the network cannot run in NEST, raised before NEST is touched; returns
    each population's NEST model."""
    models = {name: _nest_model(pop) for name, pop in net.populations.items()}
    dt_us = net.dt * 1e6
    if abs(dt_us - round(dt_us)) > 1e-6 * max(dt_us, 1.0):
        raise ValueError(f"network dt must be a whole number of microseconds for NEST's "
                         f"default time grid, got {net.dt!r} s")
    for name, pop in net.populations.items():
        if np.any(np.asarray(pop.initial.refractory) != 0):
            raise ValueError(f"population {name!r} starts refractory; NEST's iaf models "
                             f"cannot be given a refractory count")
        if models[name] == "iaf_psc_exp" and (np.any(np.asarray(pop.initial.syn_exc) != 0)
                                               or np.any(np.asarray(pop.initial.syn_inh) != 0)):
            raise ValueError(f"population {name!r} starts with synaptic currents; NEST's "
                             f"iaf_psc_exp cannot be given initial I_syn_ex / I_syn_in")
    for index, proj in enumerate(net.projections):
        where = f"projection {index} ({proj.pre}->{proj.post})"
        if proj.plasticity is not None:
            raise ValueError(f"{where} has plasticity; only static synapses translate to NEST")
        if (zero_delay == "error" and proj.pre in net.populations and proj.n_synapses
                and proj.delay_steps.min() == 0):
            raise ValueError(f"{where} has delay-0 synapses; NEST's shortest delay is one step "
                             f"(dt). Give it delays >= dt, or pass zero_delay='one_step'")
        if models[proj.post] == "iaf_psc_exp":
            w = proj.weights
            wrong = w < 0 if proj.channel == "exc" else w > 0
            if np.any(wrong):
                raise ValueError(f"{where}: NEST's iaf_psc_exp routes a synapse by its weight's "
                                 f"sign; channel {proj.channel!r} needs weights "
                                 f"{'>= 0' if proj.channel == 'exc' else '<= 0'} A")
    for drive in net.drives.values():
        if models[drive.population] == "iaf_psc_exp":
            if (drive.weight < 0) if drive.channel == "exc" else (drive.weight > 0):
                raise ValueError(f"drive {drive.name!r}: channel {drive.channel!r} needs a "
                                 f"weight of the channel's sign for NEST's iaf_psc_exp")
    return models


def _nest_weights(weights: np.ndarray, model: str, channel: str) -> np.ndarray:
    w = np.asarray(weights, dtype=np.float64) * _WEIGHT_SCALE[model]
    # iaf_cond_exp takes inhibitory conductances as negative weights.
    return -w if model == "iaf_cond_exp" and channel == "inh" else w


def _source_schedule(net: Network, n_steps: int, rng: np.random.Generator
                     ) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """The spikes of every source over the run as ``name -> (steps, indices)``: our engine's
    own schedule, drawn from ``rng`` in the engine's order."""
    ptr, ids = _input_schedule(net, n_steps, 0, 0, rng)
    steps = np.repeat(np.arange(n_steps, dtype=np.int64), np.diff(ptr))
    out, offset = {}, 0
    for name, source in net.sources.items():
        sel = (ids >= offset) & (ids < offset + source.n_neurons)
        out[name] = (steps[sel], ids[sel] - offset)
        offset += source.n_neurons
    return out


def _spike_generators(nest, steps: np.ndarray, indices: np.ndarray, n_neurons: int,
                      shift: int, dt_ms: float):
    """One ``spike_generator`` per source neuron emitting at NEST times ``(step + shift) dt``
    (spikes of one step merged into a multiplicity)."""
    gens = nest.Create("spike_generator", n_neurons)
    order = np.lexsort((steps, indices))
    steps, indices = steps[order], indices[order]
    bounds = np.searchsorted(indices, np.arange(n_neurons + 1))
    params = []
    for i in range(n_neurons):
        st = steps[bounds[i]:bounds[i + 1]] + shift
        unique, counts = np.unique(st, return_counts=True)
        entry = {"spike_times": (unique * dt_ms).tolist()}
        if np.any(counts > 1):  # NEST takes no empty list here; 1 is its default
            entry["spike_multiplicities"] = counts.astype(int).tolist()
        params.append(entry)
    gens.set(params)
    return gens


def _connect(nest, pre_ids: np.ndarray, post_ids: np.ndarray, weights: np.ndarray,
             delays_ms: np.ndarray) -> None:
    if pre_ids.size == 0:
        return
    nest.Connect(np.ascontiguousarray(pre_ids, dtype=np.int64),
                 np.ascontiguousarray(post_ids, dtype=np.int64), "one_to_one",
                 syn_spec={"synapse_model": "static_synapse",
                           "weight": np.ascontiguousarray(weights, dtype=np.float64),
                           "delay": np.ascontiguousarray(delays_ms, dtype=np.float64)})


def _zero_delay_sources(net: Network) -> set[str]:
    """The sources with a delay-0 synapse."""
    return {p.pre for p in net.projections
            if p.pre in net.sources and p.n_synapses and p.delay_steps.min() == 0}


class _Builder:
    """Creates the NEST nodes and connections of one network (after NEST's kernel reset)
    and reads its recorders back; node ids are NEST's, indices ours."""

    def __init__(self, nest, net: Network, models: dict[str, str], n_steps: int) -> None:
        self.nest, self.net, self.models, self.n_steps = nest, net, models, n_steps
        self.dt_ms = net.dt * 1e3
        self.nodes: dict[str, Any] = {}
        self.first_id: dict[str, int] = {}  # NEST id of each population's neuron 0
        # NEST id of neuron 0 of each source's generators: spikes one step after ours
        # (late), in our step (early, for delay-0 synapses), or parrot relays.
        self.late: dict[str, int] = {}
        self.early: dict[str, int] = {}
        self.relays: dict[str, int] = {}

    def _ids(self, nodes) -> np.ndarray:
        return np.asarray(nodes.tolist(), dtype=np.int64)

    def neurons(self) -> None:
        for name, pop in self.net.populations.items():
            model = self.models[name]
            params = (iaf_psc_exp_params if model == "iaf_psc_exp" else
                      iaf_cond_exp_params)(pop.params, self.net.dt)
            self.nodes[name] = self.nest.Create(model, pop.n_neurons, params=params)
            self.first_id[name] = self.nodes[name][0].global_id
            initial = {"V_m": np.asarray(pop.initial.v, dtype=np.float64) * 1e3}
            if model == "iaf_cond_exp":
                initial["g_ex"] = np.asarray(pop.initial.syn_exc, dtype=np.float64) * 1e9
                initial["g_in"] = np.asarray(pop.initial.syn_inh, dtype=np.float64) * 1e9
            self.nodes[name].set({key: value.tolist() for key, value in initial.items()})

    def currents(self) -> list[tuple[Any, np.ndarray]]:
        """Constant currents become I_e; a time-varying one a step_current_generator per
        distinct column from our step 2 on.  Returns, per population with a time-varying
        current, its nodes and the currents of steps 0 and 1 (pA ``[2, n_neurons]``),
        which the run sets as I_e."""
        first_currents = []
        n_steps, dt_ms = self.n_steps, self.dt_ms
        for name, values in self.net.currents.items():
            if values.ndim == 1:
                self.nodes[name].set({"I_e": (values * 1e12).tolist()})
                continue
            table = np.zeros((max(n_steps, 2), values.shape[1]))
            table[:n_steps] = values[:n_steps]
            first_currents.append((self.nodes[name], table[:2] * 1e12))
            if n_steps <= 2:
                continue
            columns, inverse = np.unique(table[2:n_steps].T, axis=0, return_inverse=True)
            gens = self.nest.Create("step_current_generator", len(columns))
            # An amplitude stamped at (k - 1) dt reaches the membrane in our step k.
            times = (np.arange(2, n_steps) - 1) * dt_ms
            gens.set([{"amplitude_times": times.tolist(),
                       "amplitude_values": (col * 1e12).tolist()} for col in columns])
            targets = self.first_id[name] + np.arange(values.shape[1])
            _connect(self.nest, self._ids(gens)[np.asarray(inverse).reshape(-1)], targets,
                     np.ones(targets.size), np.full(targets.size, dt_ms))
        return first_currents

    def sources(self, schedule: dict[str, tuple[np.ndarray, np.ndarray]],
                poisson: str) -> None:
        """A source spike of our step k through our delay d reaches the synaptic variable
        in step k + d: a generator emitting at NEST time (k + 1) dt does it with delay d
        (d >= 1), one emitting at k dt with delay d + 1 (any d, k >= 1)."""
        zero_delay = _zero_delay_sources(self.net)
        for name, source in self.net.sources.items():
            if isinstance(source, PoissonSource) and poisson == "generator":
                # NEST draws the trains: a parrot per input neuron passes one train to all
                # of its targets.
                relay = self.nest.Create("parrot_neuron", source.n_neurons)
                rates, inverse = np.unique(source.rates, return_inverse=True)
                gens = self.nest.Create("poisson_generator", len(rates))
                gens.set([{"rate": float(r)} for r in rates])
                _connect(self.nest, self._ids(gens)[np.asarray(inverse).reshape(-1)],
                         self._ids(relay), np.ones(source.n_neurons),
                         np.full(source.n_neurons, self.dt_ms))
                self.relays[name] = relay[0].global_id
                continue
            steps, idx = schedule[name]
            self.late[name] = _spike_generators(self.nest, steps, idx, source.n_neurons, 1,
                                                self.dt_ms)[0].global_id
            if name in zero_delay:
                self.early[name] = _spike_generators(self.nest, steps, idx, source.n_neurons,
                                                     0, self.dt_ms)[0].global_id

    def projections(self) -> None:
        net, dt_ms = self.net, self.dt_ms
        for proj in net.projections:
            counts = np.diff(proj.indptr)
            pre_local = np.repeat(np.arange(counts.size, dtype=np.int64), counts)
            post_ids = proj.post_indices.astype(np.int64) + self.first_id[proj.post]
            weights = _nest_weights(proj.weights, self.models[proj.post], proj.channel)
            d = proj.delay_steps.astype(np.int64)
            if proj.pre in net.populations or proj.pre in self.relays:
                # Between populations delay d is NEST's d dt (delay 0: one step, as
                # zero_delay allows).  Relayed trains are NEST's own draws, statistically
                # ours: the relay's step of delay changes nothing that is compared.
                first = self.first_id.get(proj.pre, self.relays.get(proj.pre))
                _connect(self.nest, pre_local + first, post_ids, weights,
                         np.maximum(d, 1) * dt_ms)
                continue
            zero = d == 0
            _connect(self.nest, pre_local[~zero] + self.late[proj.pre], post_ids[~zero],
                     weights[~zero], d[~zero] * dt_ms)
            if np.any(zero):
                _connect(self.nest, pre_local[zero] + self.early[proj.pre], post_ids[zero],
                         weights[zero], np.full(int(zero.sum()), dt_ms))

    def drives(self) -> None:
        """One poisson_generator per distinct rate of a drive; NEST sends each target its
        own train."""
        for drive in self.net.drives.values():
            model = self.models[drive.population]
            rates, inverse = np.unique(np.asarray(drive.rates, dtype=np.float64),
                                       return_inverse=True)
            gens = self.nest.Create("poisson_generator", len(rates))
            gens.set([{"rate": float(r)} for r in rates])
            n = self.net.populations[drive.population].n_neurons
            weight = float(_nest_weights(np.array([drive.weight]), model, drive.channel)[0])
            _connect(self.nest, self._ids(gens)[np.asarray(inverse).reshape(-1)],
                     self.first_id[drive.population] + np.arange(n), np.full(n, weight),
                     np.full(n, self.dt_ms))

    def recorders(self) -> tuple[dict[str, Any], list[tuple[Any, Any, np.ndarray]]]:
        """A spike_recorder per monitored population; a multimeter per state probe, on the
        probe's distinct neurons (sorted)."""
        recorders = {name: self.nest.Create("spike_recorder")
                     for name in self.net.spike_monitors}
        for name, rec in recorders.items():
            self.nest.Connect(self.nodes[name], rec)
        meters = []
        for probe in self.net.state_probes:
            nest_var, _ = _RECORDABLES[self.models[probe.population]][probe.variable]
            unique = np.unique(probe.indices)
            meter = self.nest.Create("multimeter", params={"record_from": [nest_var],
                                                           "interval": self.dt_ms})
            if unique.size:
                self.nest.Connect(meter, self.nest.NodeCollection(
                    (unique + self.first_id[probe.population]).tolist()))
            meters.append((probe, meter, unique))
        return recorders, meters

    def spike_trains(self, name: str, recorder) -> SpikeTrains:
        """The recorder's spikes at our times (NEST's stamp minus one step), in time then
        neuron order, those of the run only."""
        events = recorder.get("events")
        stamps = np.rint(np.asarray(events["times"], dtype=np.float64) / self.dt_ms
                         ).astype(np.int64)
        senders = np.asarray(events["senders"], dtype=np.int64) - self.first_id[name]
        order = np.lexsort((senders, stamps))
        order = order[stamps[order] <= self.n_steps]
        return SpikeTrains(times=(stamps[order] - 1) * self.net.dt, indices=senders[order],
                           n_neurons=self.net.populations[name].n_neurons,
                           duration=self.n_steps * self.net.dt)

    def trace(self, probe, meter, unique: np.ndarray) -> np.ndarray:
        """The probe's samples ``[n_steps, len(probe.indices)]`` (SI): sample 0 the initial
        state, sample k NEST's value recorded at k dt (after its step k - 1)."""
        nest_var, factor = _RECORDABLES[self.models[probe.population]][probe.variable]
        pop = self.net.populations[probe.population]
        initial = np.asarray(getattr(pop.initial, probe.variable), dtype=np.float64)
        table = np.full((self.n_steps, unique.size), np.nan)
        table[0] = initial[unique]
        if self.n_steps > 1 and unique.size:
            events = meter.get("events")
            stamps = np.rint(np.asarray(events["times"]) / self.dt_ms).astype(np.int64)
            column = np.searchsorted(unique, np.asarray(events["senders"], dtype=np.int64)
                                     - self.first_id[probe.population])
            values = np.asarray(events[nest_var], dtype=np.float64) * factor
            keep = stamps < self.n_steps
            table[stamps[keep], column[keep]] = values[keep]
        return table[:, np.searchsorted(unique, probe.indices)]


def run(    network: Network,
    duration: float,
    *,
    rng: int | np.random.Generator | None = None,
    threads: int = 1,
    poisson: str = "schedule",
    zero_delay: str = "error",
) -> NestResult:
    """Simulate ``network`` in NEST for ``duration`` seconds.

    Records what the network monitors (:meth:`snn.Network.monitor_spikes`,
    :meth:`snn.Network.monitor_state` of ``v``, ``syn_exc``, ``syn_inh``).  Resets NEST's
    kernel first.

    Args:
        network: LIF populations (``reset="value"``) with current or conductance
            exponential synapses, static projections, spike and Poisson sources, currents
            and Poisson drives.
        duration: simulated time (s), at least one step.
        rng: an int seed, a ``numpy.random.Generator`` or None: draws the Poisson sources'
            schedule exactly as :func:`snn.run` with the same ``rng`` does, and seeds NEST's
            own generators (Poisson drives, ``poisson="generator"``).
        threads: NEST's ``local_num_threads`` (>= 1).
        poisson: one of :data:`POISSON_MODES`.
        zero_delay: one of :data:`ZERO_DELAY_MODES`.

    Returns:
        A :class:`NestResult`.

    Raises:
        ValueError: a population, synapse, projection, input or state NEST cannot run as
            ours, named in the message: ALIF, IF and other models, alpha or delta synapses,
            ``reset="subtract"``, plasticity, delay-0 synapses between populations with
            ``zero_delay="error"``, a source spike at t=0 through a delay-0 synapse, a
            weight whose sign disagrees with its channel on current synapses, initial
            synaptic currents of current-synapse neurons, an initial refractory count, a
            time-varying current shorter than the run, a ``dt`` off NEST's microsecond grid.
        TypeError: ``network`` is not an :class:`snn.Network`.
    """
    if not isinstance(network, Network):
        raise TypeError(f"network must be a snn.Network, got {type(network).__name__}")
    net = network
    duration = check_positive("duration", duration, unit="s")
    n_steps = int(round(duration / net.dt))
    if n_steps < 1:
        raise ValueError(f"duration must cover at least one step of dt={net.dt:g} s, "
                         f"got {duration!r}")
    threads = check_int("threads", threads, minimum=1)
    check_choice("poisson", poisson, POISSON_MODES)
    check_choice("zero_delay", zero_delay, ZERO_DELAY_MODES)
    if not net.populations:
        raise ValueError("network must contain at least one population")
    models = _check_network(net, zero_delay)
    for probe in net.state_probes:
        if probe.variable not in _RECORDABLES[models[probe.population]]:
            raise ValueError(f"monitored variable {probe.variable!r} of {probe.population!r} "
                             f"has no NEST recordable; record v, syn_exc or syn_inh")
    for name, values in net.currents.items():
        if values.ndim == 2 and values.shape[0] < n_steps:
            raise ValueError(f"time-varying current of {name!r} covers {values.shape[0]} "
                             f"steps, the run needs {n_steps}")
    generator = numpy_generator(rng)
    schedule = _source_schedule(net, n_steps, generator) if net.sources else {}
    for name, (steps, _) in schedule.items():
        if name in _zero_delay_sources(net) and np.any(steps == 0):
            raise ValueError(f"source {name!r} spikes at t=0 through a delay-0 synapse; NEST "
                             f"cannot emit a spike before its first step")
    seed = int_seed(generator) % (2**31 - 2) + 1

    nest = import_nest()
    build_start = time.perf_counter()
    nest.ResetKernel()
    nest.verbosity = nest.VerbosityLevel.ERROR
    nest.SetKernelStatus({"resolution": net.dt * 1e3, "local_num_threads": threads,
                          "rng_seed": seed, "print_time": False})
    builder = _Builder(nest, net, models, n_steps)
    builder.neurons()
    first_currents = builder.currents()
    builder.sources(schedule, poisson)
    builder.projections()
    builder.drives()
    recorders, meters = builder.recorders()
    build_time = time.perf_counter() - build_start

    dt_ms = builder.dt_ms
    wall_start = time.perf_counter()
    if first_currents:
        # Our steps 0 and 1 one at a time with their currents as I_e; generators take over.
        for k in range(min(2, n_steps)):
            for node_collection, rows in first_currents:
                node_collection.set({"I_e": rows[k].tolist()})
            nest.Simulate(dt_ms)
        for node_collection, _ in first_currents:
            node_collection.set({"I_e": 0.0})
        if n_steps > 2:
            nest.Simulate((n_steps - 2) * dt_ms)
    else:
        nest.Simulate(n_steps * dt_ms)
    wall_time = time.perf_counter() - wall_start
    if meters:
        # A multimeter hands over the samples of a min-delay slice one slice later: one more
        # slice brings the run's last samples in (later samples and spikes are dropped).
        nest.Simulate(nest.GetKernelStatus("min_delay"))

    spikes = {name: builder.spike_trains(name, rec) for name, rec in recorders.items()}
    traces: dict[str, dict[str, np.ndarray]] = {}
    trace_indices: dict[str, dict[str, np.ndarray]] = {}
    for probe, meter, unique in meters:
        traces.setdefault(probe.population, {})[probe.variable] = \
            builder.trace(probe, meter, unique)
        trace_indices.setdefault(probe.population, {})[probe.variable] = probe.indices
    return NestResult(dt=net.dt, n_steps=n_steps, spikes=spikes, traces=traces,
                      trace_indices=trace_indices, build_time=build_time, wall_time=wall_time,
                      threads=threads, version=str(nest.__version__),
                      extra={"seed": seed, "poisson": poisson, "zero_delay": zero_delay,
                             "models": dict(models)})
