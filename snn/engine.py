"""Time-stepped simulation: lower a :class:`Network` to flat arrays and run it on a backend.

The lowered form (:class:`Plan`) concatenates all populations into one state matrix
``state[R, N]`` (each population's state variables in the rows its model gives them,
:attr:`snn.NeuronModel.engine_rows`: the two synaptic inputs in rows 1 and 2) and all
projections into one CSR table over presynaptic ids (neurons ``0..N-1``, then input sources
``N..N+S-1``).  Each backend executes the same algorithm on it, per step:

1. record monitored state (the state at time ``t * dt``);
2. load the external current of step ``t``;
3. advance every population with its model step (integrate, threshold, reset);
4. collect the step's spikes: neurons in id order, then input-source spikes in id order;
5. push every synapse of every spiking id into the ring buffer slot ``t + delay`` (or
   straight into the synaptic variable when no delay exists anywhere);
6. add ring slot ``t`` to the synaptic variables and clear it, then each neuron's Poisson
   drive of step ``t`` (``count * weight``, the count drawn from the neuron's counter-based
   stream at step ``t``; see :mod:`snn.random_streams`).

Each row of the CSR table is sorted by target, and every target receives its additions in
the order above (spiking ids in order, a row's synapses in order), so the numba backend can
split steps 3-6 by target range between threads and still give bitwise the same sums.

Synapses of projections with a ``plasticity`` rule (pair-based STDP) skip the ring: in step 5
each is queued for its arrival step ``t + delay``, and after step 6

7. every plastic synapse arriving at step ``t``, in queue order, adds its current weight to
   its synaptic variable, then takes the presynaptic event: its traces decay to ``t``, the
   weight is depressed by ``a_minus`` times the postsynaptic trace (times ``u^mu``, ``u`` the
   weight's place in ``[w_min, w_max]``, if ``mu > 0``) and clipped to ``[w_min, w_max]``,
   and the presynaptic trace grows by 1;
8. for every neuron that spiked at step ``t`` (id order), each plastic synapse onto it (in
   synapse order) takes the postsynaptic event: its traces decay to ``t``, the weight is
   potentiated by ``a_plus`` times the presynaptic trace (which includes this step's
   arrivals; times ``(1 - u)^mu`` if ``mu > 0``) and clipped, and the postsynaptic trace
   grows by 1.

Traces live on each synapse and decay lazily, by ``exp(-n dt / tau)`` over the ``n`` steps
since the synapse's last event (the exact solution, as Brian2's event-driven variables),
taken from a table for gaps shorter than :data:`DECAY_TABLE_STEPS`.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, NamedTuple

import numpy as np

from . import _csr, random_streams
from . import distributed as distributed_runs
from ._random import int_seed, numpy_generator
from .backends import BACKENDS, DEFAULT_BACKEND, Backend, BackendOutput, PlasticOutput, get_backend
from .memory import available_memory
from .network import CHANNELS, Network, PoissonSource, SpikeSource
from .neuron_model import NeuronModel
from .results import SimulationResult, SpikeTrains
from .validation import check_choice, check_int, check_positive
from .vector_exp import exp_numpy

if TYPE_CHECKING:  # pragma: no cover
    import torch  # imported by the torch backend only: the other backends run without it

__all__ = ["run", "run_trials", "EngineState", "SynapseState", "BACKENDS"]

# Columns of Plan.rule_params: a_plus, a_minus, dt / tau_plus, dt / tau_minus, w_min, w_max,
# mu (the weight dependence), drift * dt (the weight's drift per step), post_offset.
_RULE_COLUMNS = 9
# Trace decays over gaps of fewer steps come from a table (one exponential less per synapse
# event, the dominant cost); longer gaps compute it.  Both backends read the same table.
DECAY_TABLE_STEPS = 2048


class SynapseState(NamedTuple):
    """The learning state of one plastic projection, each ``[n_syn]`` in the projection's
    CSR order: ``weights``, the STDP traces ``pre_trace`` and ``post_trace`` (as of
    ``last_step``) and ``last_step``, the absolute step of each synapse's last event."""

    weights: np.ndarray
    pre_trace: np.ndarray
    post_trace: np.ndarray
    last_step: np.ndarray


@dataclass(frozen=True)
class EngineState:
    """Everything a run leaves behind that the next run needs: neuron states, the spikes
    still in flight in the ring buffer, the absolute step count and, for plastic
    projections, their learning state (``synapses``, keyed by the projection's index in
    ``network.projections``) and the spikes still travelling to plastic synapses
    (``pending``, ``[K, 3]`` int64 rows of arrival step, projection index, synapse index)."""

    neurons: dict[str, tuple]  # each population's model state (a named tuple)
    ring: np.ndarray  # [D, 2, N] pending synaptic input per delay slot, channel, neuron
    step: int
    synapses: dict[int, SynapseState] = field(default_factory=dict)
    pending: np.ndarray = field(default_factory=lambda: np.zeros((0, 3), dtype=np.int64))


@dataclass
class Plan:
    """A network lowered to flat arrays for one run of ``n_steps`` steps."""

    n_steps: int
    step0: int  # absolute step at which this run starts
    dt: float  # time step (s)
    pop_names: list[str]
    pop_start: np.ndarray  # int64 [P]
    pop_stop: np.ndarray  # int64 [P]
    pop_models: tuple[NeuronModel, ...]
    pop_coeffs: tuple[tuple, ...]  # each population's coefficient NamedTuple
    state: np.ndarray  # float64 [R, N], R the most state variables of any population
    i_const: np.ndarray  # float64 [N]
    current_table: np.ndarray  # float64 [n_steps, M] time-varying currents
    current_target: np.ndarray  # int64 [M] neuron id of each column
    indptr: np.ndarray  # int64 [N + S + 1]; each row sorted by target
    targets: np.ndarray  # int32 [n_syn]
    weights: np.ndarray  # float64 or float32 (the network's weight_dtype) [n_syn]
    delays: np.ndarray  # uint8, uint16 or uint32 (the network's delay_dtype) [n_syn], steps
    channels: np.ndarray  # uint8 [n_syn] 0 exc, 1 inh
    ring: np.ndarray  # float64 [D, 2, N]
    input_ptr: np.ndarray  # int64 [n_steps + 1] CSR over steps of input-source spikes
    input_ids: np.ndarray  # int64 global ids of input-source spikes
    spike_mask: np.ndarray  # uint8 [N] 1 for neurons whose spikes are recorded
    probe_var: np.ndarray  # int64 [M2] state row of each recorded column
    probe_idx: np.ndarray  # int64 [M2] neuron id of each recorded column
    # Plasticity (all empty when no projection learns).
    syn_rule: np.ndarray  # int64 [n_syn] row of rule_params, -1 for static synapses ([0]
    # when no projection learns)
    rule_params: np.ndarray  # float64 [R, 9], see _RULE_COLUMNS
    decay_table: np.ndarray  # float64 [R, 2, L] exp(-n dt / tau_plus), exp(-n dt / tau_minus)
    # float64 [n_syn, 4] (empty without plasticity): weight, presynaptic trace, postsynaptic
    # trace and the absolute step of the last event of each synapse, side by side so that an
    # event on a synapse touches one cache line (postsynaptic events visit synapses in
    # scattered order).
    syn_state: np.ndarray
    post_ptr: np.ndarray  # int64 [N + 1] CSR over neurons of the plastic synapses onto them
    post_syn: np.ndarray  # int64 [n_plastic] synapse ids, by target then synapse id
    post_rule: np.ndarray  # int64 [n_plastic] the rule of each entry of post_syn
    plastic_count: np.ndarray  # int64 [N + S] number of plastic synapses of each id
    queue: np.ndarray  # int64 [Q, capacity] plastic synapses arriving per step slot
    queue_len: np.ndarray  # int64 [Q]
    # Where each projection's synapses went (empty without plasticity): the synapses of
    # projection p, in its own order, are syn_position[proj_offsets[p]:proj_offsets[p + 1]].
    syn_position: np.ndarray  # int64 [n_syn]
    proj_offsets: np.ndarray  # int64 [P + 1]
    # Poisson drive (see Network.add_poisson_drive), one entry per driven neuron and drive,
    # ordered by target, then drive: target neuron, state row (1 + channel), mean count per
    # step, its exp(-mean), weight and the key of its counter-based stream.
    drive_target: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    drive_row: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    drive_mean: np.ndarray = field(default_factory=lambda: np.zeros(0))
    drive_exp: np.ndarray = field(default_factory=lambda: np.zeros(0))
    drive_weight: np.ndarray = field(default_factory=lambda: np.zeros(0))
    drive_key: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.uint64))

    @property
    def n_neurons(self) -> int:
        return int(self.state.shape[1])

    @property
    def plastic(self) -> bool:
        return bool(self.rule_params.shape[0])


def _input_schedule(net: Network, n_steps: int, step0: int, offset: int,
                    rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Spikes of all input sources over the run as a CSR over steps of global ids."""
    steps_parts, ids_parts = [], []
    for source in net.sources.values():
        if isinstance(source, SpikeSource):
            st = np.rint(source.times / net.dt).astype(np.int64) - step0
            keep = (st >= 0) & (st < n_steps)
            steps_parts.append(st[keep])
            ids_parts.append(source.indices[keep] + offset)
        elif isinstance(source, PoissonSource):
            st, idx = _bernoulli_steps(source.rates * net.dt, n_steps, rng)
            steps_parts.append(st)
            ids_parts.append(idx + offset)
        offset += source.n_neurons
    if not steps_parts:
        return np.zeros(n_steps + 1, dtype=np.int64), np.zeros(0, dtype=np.int64)
    steps = np.concatenate(steps_parts)
    ids = np.concatenate(ids_parts)
    order = np.lexsort((ids, steps))
    steps, ids = steps[order], ids[order]
    ptr = np.zeros(n_steps + 1, dtype=np.int64)
    np.cumsum(np.bincount(steps, minlength=n_steps), out=ptr[1:])
    return ptr, ids


def _bernoulli_steps(p: np.ndarray, n_steps: int, rng: np.random.Generator
                     ) -> tuple[np.ndarray, np.ndarray]:
    """Steps and neuron indices of independent Bernoulli trials with probability ``p[i]``
    per step for neuron ``i`` over ``n_steps`` steps.

    The gaps between successes of a Bernoulli process are geometric, so drawing the gaps
    costs time and memory in proportion to the number of spikes, not of steps x neurons
    (1000 inputs at 15 Hz over 100 s of 0.1 ms steps: 1.5 million draws, not a billion).
    """
    steps_parts, ids_parts = [], []
    pending = np.flatnonzero(p > 0)
    # Enough gaps to cover the run with near certainty; the rare neuron left short draws
    # again with twice as many.
    factor = 1.0
    while pending.size:
        mean = n_steps * p[pending]
        count = np.minimum(np.ceil(factor * (mean + 6.0 * np.sqrt(mean) + 10.0)),
                           n_steps).astype(np.int64)
        owner = np.repeat(np.arange(pending.size), count)
        gaps = rng.geometric(np.repeat(p[pending], count))
        ends = np.cumsum(count)
        steps = np.cumsum(gaps)
        # Restart the running sum at each neuron's first gap; steps are 0-based.
        steps -= np.repeat(np.concatenate([[0], steps[ends[:-1] - 1]]), count)
        steps -= 1
        covered = (steps[ends - 1] >= n_steps - 1) | (count == n_steps)
        keep = covered[owner] & (steps < n_steps)
        steps_parts.append(steps[keep])
        ids_parts.append(pending[owner[keep]])
        pending = pending[~covered]
        factor *= 2.0
    if not steps_parts:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
    return np.concatenate(steps_parts), np.concatenate(ids_parts)


def _row_of(model: NeuronModel, variable: str) -> int:
    return model.engine_rows[model.state_names.index(variable)]


def build_plan(net: Network, n_steps: int, rng: np.random.Generator,
               state: EngineState | None = None) -> Plan:
    """Lower ``net`` to a :class:`Plan` for ``n_steps`` steps, starting from ``state``."""
    if not net.populations:
        raise ValueError("network must contain at least one population")
    names = list(net.populations)
    sizes = np.array([net.populations[n].n_neurons for n in names], dtype=np.int64)
    stops = np.cumsum(sizes)
    starts = stops - sizes
    first = dict(zip(names, starts.tolist()))
    n_neurons = int(stops[-1])
    src_first = {}
    offset = n_neurons
    for name, source in net.sources.items():
        src_first[name] = offset
        offset += source.n_neurons
    n_ids = offset

    models = [net.populations[n].model for n in names]
    # Checked on one neuron before any compiled code is built.
    pop_coeffs = tuple(m.bind(net.populations[n].params, net.dt) for m, n in zip(models, names))
    full = np.zeros((max(len(m.state) for m in models), n_neurons))
    for name, model in zip(names, models):
        pop = net.populations[name]
        initial = pop.initial
        if state is not None:
            if name not in state.neurons:
                raise ValueError(f"state has no entry for population {name!r}")
            initial = state.neurons[name]
        for row, field_name in zip(model.engine_rows, model.state_names):
            values = np.asarray(getattr(initial, field_name), dtype=np.float64)
            if values.shape != (pop.n_neurons,):
                raise ValueError(f"state of {name!r}.{field_name} must have shape "
                                 f"({pop.n_neurons},), got {values.shape}")
            full[row, first[name]:first[name] + pop.n_neurons] = values

    i_const = np.zeros(n_neurons)
    tables, table_targets = [], []
    step0 = 0 if state is None else state.step
    for name, values in net.currents.items():
        sl = slice(first[name], first[name] + net.populations[name].n_neurons)
        if values.ndim == 1:
            i_const[sl] = values
        else:
            if values.shape[0] < step0 + n_steps:
                raise ValueError(
                    f"time-varying current of {name!r} covers {values.shape[0]} steps, the run "
                    f"needs steps up to {step0 + n_steps}"
                )
            tables.append(values[step0:step0 + n_steps])
            table_targets.append(np.arange(sl.start, sl.stop))
    if tables:
        current_table = np.ascontiguousarray(np.concatenate(tables, axis=1))
        current_target = np.concatenate(table_targets).astype(np.int64)
    else:
        current_table = np.zeros((n_steps, 0))
        current_target = np.zeros(0, dtype=np.int64)

    # One CSR over all presynaptic ids, each row sorted by target (stably: the synapses of
    # one target keep the order of projections, then their order within the projection).
    # The sum each target receives is added in that order, so it does not depend on how
    # the targets are shared out between threads.
    rule_rows: list[list[float]] = []
    learned: dict[int, SynapseState] = {}  # start of each plastic projection
    bases = []
    counts = np.zeros(n_ids, dtype=np.int64)
    for p_index, proj in enumerate(net.projections):
        base = first[proj.pre] if proj.pre in first else src_first[proj.pre]
        bases.append(base)
        counts[base:base + proj.indptr.size - 1] += np.diff(proj.indptr)
        if proj.plasticity is not None:
            learned[p_index] = _synapse_start(proj, p_index, state, step0)
            r = proj.plasticity
            rule_rows.append([r.a_plus, r.a_minus, net.dt / r.tau_plus, net.dt / r.tau_minus,
                              r.w_min, r.w_max, r.mu, r.drift * net.dt, r.post_offset])
    indptr = np.zeros(n_ids + 1, dtype=np.int64)
    np.cumsum(counts, out=indptr[1:])
    n_syn = int(indptr[-1])
    targets = np.empty(n_syn, dtype=np.int32)
    weights = np.empty(n_syn, dtype=net.weight_dtype)
    delays = np.empty(n_syn, dtype=net.delay_dtype)
    channels = np.empty(n_syn, dtype=np.uint8)
    # Per-synapse rule and provenance only where some projection learns.
    syn_rule = np.full(n_syn if learned else 0, -1, dtype=np.int64)
    origin = np.empty(n_syn if learned else 0, dtype=np.int64)
    fill = indptr[:-1].copy()
    offset, rule_index = 0, 0
    for proj, base in zip(net.projections, bases):
        rule = -1
        if proj.plasticity is not None:
            rule, rule_index = rule_index, rule_index + 1
        _csr.scatter_rows(fill, base, proj.indptr, proj.post_indices, first[proj.post],
                          proj.weights, proj.delay_steps, CHANNELS.index(proj.channel), rule,
                          targets, weights, delays, channels, syn_rule, origin, offset)
        offset += proj.n_synapses
    del fill
    _csr.sort_rows(indptr, targets, weights, delays, channels, syn_rule, origin)
    rule_params = np.array(rule_rows, dtype=np.float64).reshape(-1, _RULE_COLUMNS)
    # The same expression and exponential as the backends' fallback, exp(-(n * (dt / tau)))
    # by snn.vector_exp (rounded alike in numpy, numba and torch), so that a gap decays by
    # the same number whether the table or the fallback supplies it.
    steps = np.arange(DECAY_TABLE_STEPS, dtype=np.int64)
    decay_table = np.array([[exp_numpy(-(steps * row[col])) for col in (2, 3)]
                            for row in rule_params]).reshape(-1, 2, DECAY_TABLE_STEPS)
    plastic_ids = np.flatnonzero(syn_rule >= 0)
    post_syn = plastic_ids[np.argsort(targets[plastic_ids], kind="stable")].astype(np.int64)
    post_ptr = np.zeros(n_neurons + 1, dtype=np.int64)
    np.cumsum(np.bincount(targets[plastic_ids], minlength=n_neurons), out=post_ptr[1:])
    proj_offsets = np.concatenate([[0], np.cumsum([p.n_synapses for p in net.projections])]
                                  ).astype(np.int64)
    # The plastic synapses' learning state, by global synapse id; none without plasticity.
    syn_position = np.zeros(0, dtype=np.int64)
    syn_state = np.zeros((0, 4))
    if learned:
        syn_position = np.empty(n_syn, dtype=np.int64)
        syn_position[origin] = np.arange(n_syn)
        syn_state = np.zeros((n_syn, 4))
        syn_state[:, 0] = weights
        for p_index, start in learned.items():
            ids = syn_position[proj_offsets[p_index]:proj_offsets[p_index + 1]]
            syn_state[ids] = np.stack(start, axis=1)
    queue, queue_len = _arrival_queue(net, state, step0, delays, plastic_ids, syn_position,
                                      proj_offsets)

    depth = int(delays.max()) + 1 if delays.size else 1
    if state is not None:
        ring = state.ring
        if ring.shape[1:] != (2, n_neurons) or ring.shape[0] < depth:
            raise ValueError(f"state.ring must have shape (>= {depth}, 2, {n_neurons}), "
                             f"got {ring.shape}")
        ring = ring.copy()
    else:
        ring = np.zeros((depth, 2, n_neurons))

    input_ptr, input_ids = _input_schedule(net, n_steps, step0, n_neurons, rng)
    drive = _drive_entries(net, first, rng)

    spike_mask = np.zeros(n_neurons, dtype=np.uint8)
    for name in net.spike_monitors:
        spike_mask[first[name]:first[name] + net.populations[name].n_neurons] = 1
    probe_var = [np.full(p.indices.size, _row_of(net.populations[p.population].model,
                                                 p.variable), dtype=np.int64)
                 for p in net.state_probes]
    probe_idx = [p.indices + first[p.population] for p in net.state_probes]

    return Plan(
        n_steps=n_steps,
        step0=step0,
        dt=net.dt,
        pop_names=names,
        pop_start=starts.astype(np.int64),
        pop_stop=stops.astype(np.int64),
        pop_models=tuple(models),
        pop_coeffs=pop_coeffs,
        state=full,
        i_const=i_const,
        current_table=current_table,
        current_target=current_target,
        indptr=indptr,
        targets=targets,
        weights=weights,
        delays=delays,
        channels=channels,
        ring=ring,
        input_ptr=input_ptr,
        input_ids=input_ids,
        spike_mask=spike_mask,
        probe_var=np.concatenate(probe_var) if probe_var else np.zeros(0, dtype=np.int64),
        probe_idx=np.concatenate(probe_idx) if probe_idx else np.zeros(0, dtype=np.int64),
        syn_rule=syn_rule,
        rule_params=rule_params,
        decay_table=decay_table,
        syn_state=syn_state,
        post_ptr=post_ptr,
        post_syn=post_syn,
        post_rule=syn_rule[post_syn].astype(np.int64),
        plastic_count=np.bincount(np.repeat(np.arange(n_ids), counts)[plastic_ids],
                                  minlength=n_ids).astype(np.int64)
        if plastic_ids.size else np.zeros(n_ids, dtype=np.int64),
        queue=queue,
        queue_len=queue_len,
        syn_position=syn_position,
        proj_offsets=proj_offsets,
        **drive,
    )


def _drive_entries(net: Network, first: dict[str, int], rng: np.random.Generator
                   ) -> dict[str, np.ndarray]:
    """The plan's Poisson-drive arrays (see :class:`Plan`); the seed of the streams is drawn
    from ``rng`` only when the network has a drive, so other networks draw as before."""
    if not net.drives:
        return {}
    seed = int_seed(rng)
    parts = []
    for index, drive in enumerate(net.drives.values()):
        n = drive.rates.size
        target = np.arange(n, dtype=np.int64) + first[drive.population]
        mean = drive.rates * net.dt
        # Stream number: the drive in the high bits, the neuron's global id in the low ones.
        keys = random_streams.stream_keys(seed, (np.uint64(index) << np.uint64(40))
                                          + target.astype(np.uint64))
        parts.append((target, np.full(n, 1 + CHANNELS.index(drive.channel), dtype=np.int64),
                      mean, np.exp(-mean), np.full(n, drive.weight), keys))
    columns = [np.concatenate(c) for c in zip(*parts)]
    order = np.argsort(columns[0], kind="stable")
    names = ("drive_target", "drive_row", "drive_mean", "drive_exp", "drive_weight",
             "drive_key")
    return {name: column[order] for name, column in zip(names, columns)}


def _synapse_start(proj, index: int, state: EngineState | None, step0: int) -> SynapseState:
    """A plastic projection's learning state at the start of a run: its own weights with
    zero traces, or what the previous run (``state``) left."""
    n = proj.n_synapses
    if state is None:
        return SynapseState(proj.weights, np.zeros(n), np.zeros(n), np.full(n, step0))
    if index not in state.synapses:
        raise ValueError(f"state.synapses has no entry for plastic projection {index} "
                         f"({proj.pre}->{proj.post}); pass the state of a run of this network")
    arrays = [np.asarray(a) for a in state.synapses[index]]
    if any(a.shape != (n,) for a in arrays):
        raise ValueError(f"state.synapses[{index}] must hold arrays of shape ({n},) for "
                         f"projection {proj.pre}->{proj.post}")
    return SynapseState(*(a.astype(np.float64) for a in arrays))


def _arrival_queue(net: Network, state: EngineState | None, step0: int, delays: np.ndarray,
                   plastic_ids: np.ndarray, syn_position: np.ndarray, proj_offsets: np.ndarray
                   ) -> tuple[np.ndarray, np.ndarray]:
    """The queue of plastic synapses by arrival step: ``[Q, capacity]`` synapse ids and
    ``[Q]`` lengths, with ``Q`` one more than the longest plastic delay; filled with the
    arrivals still pending in ``state``."""
    depth = int(delays[plastic_ids].max()) + 1 if plastic_ids.size else 1
    pending = np.zeros((0, 3), dtype=np.int64) if state is None else \
        np.asarray(state.pending, dtype=np.int64).reshape(-1, 3)
    # The queue grows on demand; its first size covers every plastic synapse at once in
    # small networks and stays bounded in large ones.
    capacity = max(1, min(int(plastic_ids.size), 4096), int(pending.shape[0]))
    queue = np.zeros((depth, capacity), dtype=np.int64)
    queue_len = np.zeros(depth, dtype=np.int64)
    if pending.shape[0]:
        sizes = np.diff(proj_offsets)
        for arrival, proj, local in pending:
            if not (0 <= proj < len(sizes) and 0 <= local < sizes[proj]) or \
                    net.projections[proj].plasticity is None or \
                    not step0 <= arrival < step0 + depth:
                raise ValueError(f"state.pending holds an arrival ({arrival}, {proj}, {local}) "
                                 f"this network cannot have; pass the state of a run of it")
            slot = arrival % depth
            queue[slot, queue_len[slot]] = syn_position[proj_offsets[proj] + local]
            queue_len[slot] += 1
    return queue, queue_len


def _check_run(network: Network, duration: float, backend: str) -> tuple[Backend, int]:
    """Validate the arguments every run takes; return the backend and the step count."""
    if not isinstance(network, Network):
        raise TypeError(f"network must be a snn.Network, got {type(network).__name__}")
    chosen = get_backend(backend)
    duration = check_positive("duration", duration, unit="s")
    n_steps = int(round(duration / network.dt))
    if n_steps < 1:
        raise ValueError(f"duration must cover at least one step of dt={network.dt:g} s, "
                         f"got {duration!r}")
    return chosen, n_steps


def _check_memory(network: Network, duration: float) -> None:
    """Refuse, before anything is allocated, a run that cannot fit in memory."""
    estimate = network.memory_estimate(duration)
    available = available_memory()
    if estimate.run > available:
        raise ValueError(
            f"network: a run of {duration:g} s needs about {estimate.run / 2**30:.2f} GiB on "
            f"top of the network's own {estimate.network / 2**30:.2f} GiB, but only "
            f"{available / 2**30:.2f} GiB are available (set $SNNSIM_MEMORY_LIMIT to "
            f"override the limit; Network(weight_dtype='float32') and fewer monitors "
            f"need less):\n{estimate}")


def _simulate(chosen: Backend, plan: Plan, schedules: list | None, progress: bool,
              options: dict) -> tuple[list[BackendOutput], list[float]]:
    """Every trial's output and wall time (s): a batching backend runs all trials in one
    call (each trial is charged the whole call), the others one call per trial."""
    groups = [schedules] if chosen.batches or schedules is None else [[s] for s in schedules]
    outs, walls = [], []
    for group in groups:
        start = time.perf_counter()
        done = chosen.simulate(plan, schedules=group, progress=progress, options=options)
        wall = time.perf_counter() - start
        outs.extend(done)
        walls.extend([wall] * len(done))
    return outs, walls


def run(
    network: Network,
    duration: float,
    *,
    backend: str = DEFAULT_BACKEND,
    rng: int | np.random.Generator | None = None,
    state: EngineState | None = None,
    progress: bool = False,
    device: str | torch.device | None = None,
    dtype: torch.dtype | None = None,
    threads: int | None = None,
    distributed: str | None = None,
) -> SimulationResult:
    """Simulate ``network`` for ``duration`` seconds.

    Args:
        network: the network to simulate.
        duration: simulated time (s), at least one step of ``network.dt``.
        backend: a name in :data:`snn.BACKENDS`: ``"numba"`` (compiled CPU loop, the
            default), ``"reference"`` (numpy float64, the executable specification) or
            ``"torch"`` (CPU or CUDA).
        rng: drives the Poisson inputs: an int seed, a ``numpy.random.Generator`` or None
            (fresh entropy).
        state: continue from a previous run's ``result.state``.
        progress: show a progress bar of simulated steps.
        device: torch backend only: ``"cpu"`` (None, the default) or a CUDA device.
        dtype: torch backend only: ``torch.float64`` (None, the default) or ``torch.float32``.
        threads: numba backend only: the number of threads (>= 1) that update the neurons
            and deliver the spikes, each owning a range of target neurons; None (the
            default): all of numba's threads for networks large enough to gain from them.
            Results are bitwise the same for every thread count.
        distributed: ``"mpi"``: run over the processes of ``mpirun -n R`` (numba backend,
            one thread per process; see :mod:`snn.distributed`), each owning a share of the
            neurons; every process gets the whole result, bitwise equal to a one-process
            run's.  The same script runs unchanged without ``mpirun`` (one process).  Needs
            every delay to be at least one step.  ``rng`` None draws one seed on rank 0.

    Returns:
        The run's :class:`SimulationResult`; a distributed run's ``extra`` holds
        ``ranks``, ``window_steps``, ``exchange_time`` (s, this rank's time in MPI calls
        during the loop), ``gather_time`` (s, gathering the result)
        and ``bytes_received`` (this rank's).
    """
    chosen, n_steps = _check_run(network, duration, backend)
    if state is not None and not isinstance(state, EngineState):
        raise TypeError(f"state must be an EngineState from a previous result, "
                        f"got {type(state).__name__}")
    if network.ranks > 1 and distributed is None:
        raise ValueError("network was built with distributed='mpi' and holds only the "
                         "synapses of this process: run it with distributed='mpi'")
    if distributed is not None:
        return _run_distributed(network, n_steps, check_choice("distributed", distributed,
                                                               ("mpi",)),
                                backend=backend, rng=rng, state=state, progress=progress,
                                options={"device": device, "dtype": dtype, "threads": threads})
    options = chosen.resolve_options({"device": device, "dtype": dtype, "threads": threads})
    _check_memory(network, n_steps * network.dt)
    generator = numpy_generator(rng)
    build_start = time.perf_counter()
    plan = build_plan(network, n_steps, generator, state)
    build_time = time.perf_counter() - build_start
    (out,), (wall,) = _simulate(chosen, plan, None, progress, options)
    return _collect(network, plan, out, build_time, wall, backend, options)


def _run_distributed(network: Network, n_steps: int, distributed: str, *, backend: str,
                     rng: int | np.random.Generator | None, state: EngineState | None,
                     progress: bool, options: dict) -> SimulationResult:
    """:func:`run` with ``distributed="mpi"`` (see :mod:`snn.distributed`)."""
    if backend != "numba":
        raise ValueError(f"distributed='mpi' runs on the numba backend, got backend={backend!r}")
    for name, value in options.items():
        if value is not None and not (name == "threads" and value == 1):
            raise ValueError(f"{name}: a distributed run takes one thread per process and no "
                             f"device or dtype; got {name}={value!r}")
    if any(p.n_synapses and int(p.delay_steps.min()) < 1 for p in network.projections):
        raise ValueError("distributed='mpi' needs every synaptic delay to be at least one "
                         "time step (the processes trade spikes every shortest delay); the "
                         "network has a delay that rounds to 0 steps")
    comm = distributed_runs.mpi_world()
    try:
        if rng is None:
            rng = comm.bcast(int_seed(None) if comm.Get_rank() == 0 else None)
        _check_memory(network, n_steps * network.dt)
        build_start = time.perf_counter()
        # Held by the list alone, so that simulate_mpi can let the synapse table go.
        built = [build_plan(network, n_steps, numpy_generator(rng), state)]
        build_time = time.perf_counter() - build_start
        out, stats, plan = distributed_runs.simulate_mpi(
            built.pop(), comm, progress=progress, shared_synapses=network.ranks > 1)
    except Exception as error:
        if comm.Get_size() > 1:
            distributed_runs.abort_on_error(comm, error)
        raise
    # As in a one-process run, the wall time is the time loop's; taking this rank's share
    # counts as building.
    result = _collect(network, plan, out, build_time + stats.share_time, stats.loop_time,
                      backend, {})
    result.extra.update(rank=stats.rank, ranks=stats.ranks, window_steps=stats.window_steps,
                        exchange_time=stats.exchange_time, bytes_received=stats.bytes_received,
                        windows=stats.windows, spikes_exchanged=stats.spikes,
                        gather_time=stats.gather_time)
    return result


def run_trials(
    network: Network,
    duration: float,
    trials: int,
    *,
    backend: str = DEFAULT_BACKEND,
    rng: int | np.random.Generator | None = None,
    device: str | torch.device | None = None,
    dtype: torch.dtype | None = None,
    progress: bool = False,
    threads: int | None = None,
) -> list[SimulationResult]:
    """Simulate ``trials`` independent trials of ``network`` for ``duration`` seconds each.

    The network is lowered once; the trials differ only by their Poisson inputs, drawn one
    schedule per trial, in trial order, from the one generator made from ``rng``, so trial 0
    is exactly ``run(network, duration, rng=rng)`` and any two backends can be compared trial
    by trial.  Every trial starts from the network's initial state.  ``backend="torch"``
    runs all trials at once as one batch (on ``device``, in ``dtype``); the others
    (``"numba"``, the default, and ``"reference"``) run them one after another.

    Args:
        network: the network to simulate.
        duration: simulated time of each trial (s).
        trials: the number of trials, >= 1.
        backend: as in :func:`run`; ``"torch"`` runs the trials as one batch.
        rng: drives the Poisson inputs of every trial (as in :func:`run`); trials draw
            in turn from it.
        device: as in :func:`run`.
        dtype: as in :func:`run`.
        progress: as in :func:`run`.
        threads: as in :func:`run`.

    Returns:
        One :class:`SimulationResult` per trial (``extra["trial"]`` is its index); a batching
        backend's ``wall_time`` is that of the whole batch.
    """
    chosen, n_steps = _check_run(network, duration, backend)
    trials = check_int("trials", trials, minimum=1)
    if network.drives and trials > 1:
        raise ValueError("run_trials cannot run a network with Poisson drive (its streams are "
                         "keyed by each run's seed): call snn.run once per trial with its "
                         "own rng")
    options = chosen.resolve_options({"device": device, "dtype": dtype, "threads": threads})
    _check_memory(network, n_steps * network.dt)
    generator = numpy_generator(rng)
    build_start = time.perf_counter()
    plan = build_plan(network, n_steps, generator)
    schedules = [(plan.input_ptr, plan.input_ids)] + [
        _input_schedule(network, n_steps, plan.step0, plan.n_neurons, generator)
        for _ in range(trials - 1)
    ]
    build_time = time.perf_counter() - build_start
    outs, walls = _simulate(chosen, plan, schedules, progress, options)
    results = []
    for b, (out, wall) in enumerate(zip(outs, walls)):
        results.append(_collect(network, plan, out, build_time, wall, backend, options))
        results[-1].extra["trial"] = b
    return results


def _collect(net: Network, plan: Plan, out: BackendOutput, build_time: float, wall: float,
             backend: str, options: dict) -> SimulationResult:
    spike_steps, spike_ids, probes, final_state, ring = out[:5]
    synapses, pending = _plastic_state(net, plan, out.plastic)
    spikes = {}
    for name, start, stop in zip(plan.pop_names, plan.pop_start, plan.pop_stop):
        if name not in net.spike_monitors:
            continue
        sel = (spike_ids >= start) & (spike_ids < stop)
        spikes[name] = SpikeTrains(
            times=(spike_steps[sel] + plan.step0) * net.dt,
            indices=spike_ids[sel] - start,
            n_neurons=int(stop - start),
            duration=plan.n_steps * net.dt,
            t_start=plan.step0 * net.dt,
        )
    traces: dict[str, dict[str, np.ndarray]] = {}
    trace_indices: dict[str, dict[str, np.ndarray]] = {}
    col = 0
    for probe in net.state_probes:
        k = probe.indices.size
        traces.setdefault(probe.population, {})[probe.variable] = probes[:, col:col + k]
        trace_indices.setdefault(probe.population, {})[probe.variable] = probe.indices
        col += k
    neurons = {}
    for name, model, start, stop in zip(plan.pop_names, plan.pop_models, plan.pop_start,
                                        plan.pop_stop):
        neurons[name] = model.state_type(*(final_state[row, start:stop].copy()
                                           for row in model.engine_rows))
    return SimulationResult(
        dt=net.dt,
        t_start=plan.step0 * net.dt,
        n_steps=plan.n_steps,
        spikes=spikes,
        traces=traces,
        trace_indices=trace_indices,
        state=EngineState(neurons=neurons, ring=ring, step=plan.step0 + plan.n_steps,
                          synapses=synapses, pending=pending),
        backend=backend,
        build_time=build_time,
        wall_time=wall,
        # The torch backend's device and dtype, as strings.
        extra={name: str(value) for name, value in options.items()},
        projections=tuple(net.projections),
    )


def _plastic_state(net: Network, plan: Plan, plastic_out: PlasticOutput | None
                   ) -> tuple[dict[int, SynapseState], np.ndarray]:
    """The learning state a backend returns (global synapse order), regrouped per plastic
    projection in its own CSR order, and the arrivals still queued after the run."""
    if plastic_out is None or not plan.plastic:
        return {}, np.zeros((0, 3), dtype=np.int64)
    syn_state, queue, queue_len = plastic_out
    offsets, position = plan.proj_offsets, plan.syn_position
    synapses = {}
    for index, proj in enumerate(net.projections):
        if proj.plasticity is not None:
            # Global ids of the projection's synapses, in its own order.
            rows = syn_state[position[offsets[index]:offsets[index + 1]]]
            synapses[index] = SynapseState(rows[:, 0].copy(), rows[:, 1].copy(),
                                           rows[:, 2].copy(), rows[:, 3].astype(np.int64))
    concatenated = np.empty_like(position)  # global id -> place in the projections' sequence
    concatenated[position] = np.arange(position.size)
    end = plan.step0 + plan.n_steps
    depth = queue.shape[0]
    rows = []
    for slot in range(depth):
        arrival = end + (slot - end) % depth
        for k in queue[slot, :queue_len[slot]]:
            index = int(np.searchsorted(offsets, concatenated[k], side="right")) - 1
            rows.append((arrival, index, concatenated[k] - offsets[index]))
    pending = np.array(rows, dtype=np.int64).reshape(-1, 3)
    pending = pending[np.argsort(pending[:, 0], kind="stable")]
    return synapses, pending
