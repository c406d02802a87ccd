"""One network over several processes: MPI ranks that each own a share of its neurons.

``snn.run(network, duration, distributed="mpi")`` under ``mpirun -n R`` runs here.  Every
rank builds the same network (the script runs unchanged on each) and lowers it; each then
keeps its share: neuron ``k`` of every population belongs to rank ``k mod R`` (so each rank
holds about ``1/R`` of every population), with its state, its probes, its Poisson drive and
every synapse onto it.  Presynaptic ids stay the network's, so every rank can deliver any
spike to its own targets.  A network built with ``Network(distributed="mpi")`` holds only
those synapses from the start (each rank drops the others as projections are connected), so
that synapse memory divides by the number of ranks; otherwise each rank lowers the whole
network before keeping its share.

The ranks advance in windows of ``d`` steps, ``d`` the shortest synaptic delay in steps.
After each window one ``MPI_Allgather`` of fixed-size buffers trades the ids of the neurons
that fired in it (the buffers grow, with a second round, when a window has more spikes than
they hold).  No spike of a window can reach a target before the next window's first step,
which delivers them: each target receives the same additions, in the same order, as in a
one-process run, and since neuron updates and Poisson drives (counter-based streams keyed by
the neuron's global id) do not depend on where a neuron lives, the result is bitwise the
same for any number of ranks.  Spike sources are known to every rank and are merged into
the windows' spike lists; plastic synapses learn on the rank of their target, which sees
every event of theirs.

At the end every rank receives the whole result (spikes, probes, final state, learning
state), so that the rest of a script runs unchanged on each rank.  An error on any rank
aborts every rank (``MPI_Abort``) after printing it, rather than leaving the others waiting
in a collective.
"""

from __future__ import annotations

import shutil
import sys
import time
import traceback
import zlib
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from numba import njit

from .backends import BackendOutput, PlasticOutput

if TYPE_CHECKING:  # pragma: no cover
    from .engine import Plan

__all__ = ["ExchangeStats", "mpi_launcher", "mpi_world", "neuron_owner", "simulate_mpi"]

# Spikes a window's buffer holds at first, per rank (small: the buffers are padded to their
# capacity at every exchange); it grows to twice the busiest window seen.
_FIRST_CAPACITY = 16


def mpi_world() -> Any:
    """``mpi4py``'s ``MPI.COMM_WORLD`` (MPI initialised on first use).

    Raises:
        ImportError: mpi4py (or an MPI library) is not installed, with how to install them.
    """
    try:
        from mpi4py import MPI
    except ImportError as error:  # pragma: no cover - the test environment has mpi4py
        raise ImportError(
            "distributed='mpi' needs mpi4py and an MPI library: pip install 'snnsim[mpi]' "
            "(mpi4py with the MPICH wheel), or mpi4py built against your cluster's MPI"
        ) from error
    return MPI.COMM_WORLD


def mpi_launcher() -> str | None:
    """The ``mpiexec`` of this environment: the one beside the running Python (where the
    MPICH wheel installs it), else the first on ``PATH``; None when there is none."""
    beside = Path(sys.executable).with_name("mpiexec")
    return str(beside) if beside.exists() else shutil.which("mpiexec")


def neuron_owner(pop_start: np.ndarray, pop_stop: np.ndarray, ranks: int) -> np.ndarray:
    """The rank owning each neuron: neuron ``k`` of a population (``k`` counted from the
    population's first) belongs to rank ``k mod ranks``.

    Args:
        pop_start: int64 ``[P]`` first global id of each population.
        pop_stop: int64 ``[P]`` one past the last global id.
        ranks: the number of ranks, >= 1.

    Returns:
        int64 ``[N]`` owner of each global neuron id.
    """
    owner = np.empty(int(pop_stop[-1]) if len(pop_stop) else 0, dtype=np.int64)
    for start, stop in zip(pop_start, pop_stop):
        owner[start:stop] = np.arange(stop - start) % ranks
    return owner


@dataclass
class ExchangeStats:
    """What a rank spent trading spikes over one run.

    ``rank``, ``ranks``: this rank and their number; ``share_time``: seconds taking this
    rank's share of the plan; ``loop_time``: seconds in the time loop, exchanges included;
    ``gather_time``: seconds gathering the whole result; ``windows``: exchanges made;
    ``window_steps``: steps per window (the shortest delay); ``exchange_time``: wall time
    inside MPI calls (s), waiting for slower ranks included;
    ``spikes``: spike ids received (all ranks' neuron spikes); ``bytes_received``: bytes of the
    buffers received, padding included; ``rounds``: MPI collectives made (one per window, two
    for a window that outgrew the buffers)."""

    rank: int
    ranks: int
    window_steps: int
    share_time: float = 0.0
    loop_time: float = 0.0
    gather_time: float = 0.0
    windows: int = 0
    rounds: int = 0
    exchange_time: float = 0.0
    spikes: int = 0
    bytes_received: int = 0


@njit(cache=True)
def _pack(send, steps, local_ids, neuron_ids, t_begin, n_ids):
    """Write the window's spike count and, if they fit, the codes ``step * n_ids + id``
    (global ids, steps from the window's start) into ``send``; return the count."""
    n = steps.size
    send[0] = n
    if n < send.size:
        for m in range(n):
            send[1 + m] = (steps[m] - t_begin) * n_ids + neuron_ids[local_ids[m]]
    return n


@njit(cache=True)
def _most_sent(received, width):
    """The largest count in ``received`` (each rank's buffer of ``width``, count first)."""
    most = 0
    for r in range(received.size // width):
        most = max(most, received[r * width])
    return most


@njit(cache=True)
def _merge_window(received, width, input_ptr, input_ids, t_begin, t_end, n_ids):
    """Every rank's spikes of steps ``[t_begin, t_end)`` (``received``: each rank's buffer of
    ``width`` int64, count first, then ``step * n_ids + id`` codes) and the input sources'
    as a CSR over the window's steps, ids ascending within a step (the one-process order:
    neurons by id, then sources by id); also the number of neuron spikes."""
    ranks = received.size // width
    total = input_ptr[t_end] - input_ptr[t_begin]
    for r in range(ranks):
        total += received[r * width]
    codes = np.empty(total, dtype=np.int64)
    n = 0
    for r in range(ranks):
        for m in range(received[r * width]):
            codes[n] = received[r * width + 1 + m]
            n += 1
    spikes = n
    for t in range(t_begin, t_end):
        for k in range(input_ptr[t], input_ptr[t + 1]):
            codes[n] = (t - t_begin) * n_ids + input_ids[k]
            n += 1
    codes.sort()
    ptr = np.zeros(t_end - t_begin + 1, dtype=np.int64)
    ids = np.empty(total, dtype=np.int64)
    for m in range(total):
        ptr[codes[m] // n_ids + 1] += 1
        ids[m] = codes[m] % n_ids
    for e in range(t_end - t_begin):
        ptr[e + 1] += ptr[e]
    return ptr, ids, spikes


class _SpikeExchange:
    """The callable the windowed loop trades spikes through (see
    :func:`snn.backends.numba_backend.simulate_windows`); its work per window is two
    compiled calls and the collective, as it runs up to 10,000 times per model second."""

    def __init__(self, comm: Any, neuron_ids: np.ndarray, n_ids: int, input_ptr: np.ndarray,
                 input_ids: np.ndarray, stats: ExchangeStats):
        self.comm = comm
        self.neuron_ids = neuron_ids
        self.n_ids = n_ids
        self.input_ptr = input_ptr
        self.input_ids = input_ids
        self.stats = stats
        self._resize(_FIRST_CAPACITY)

    def _resize(self, capacity: int) -> None:
        self.send = np.zeros(capacity + 1, dtype=np.int64)
        self.received = np.empty(self.comm.Get_size() * (capacity + 1), dtype=np.int64)

    def __call__(self, t_begin: int, t_end: int, steps: np.ndarray, local_ids: np.ndarray
                 ) -> tuple[np.ndarray, np.ndarray]:
        _pack(self.send, steps, local_ids, self.neuron_ids, t_begin, self.n_ids)
        start = time.perf_counter()
        self.comm.Allgather(self.send, self.received)
        rounds = 1
        most = _most_sent(self.received, self.send.size)
        if most >= self.send.size:
            # A window busier than the buffers: all ranks saw the counts, all grow alike.
            self.stats.bytes_received += self.received.nbytes
            self._resize(2 * most)
            _pack(self.send, steps, local_ids, self.neuron_ids, t_begin, self.n_ids)
            self.comm.Allgather(self.send, self.received)
            rounds = 2
        stats = self.stats
        stats.exchange_time += time.perf_counter() - start
        stats.rounds += rounds
        stats.windows += 1
        stats.bytes_received += self.received.nbytes
        ptr, ids, spikes = _merge_window(self.received, self.send.size, self.input_ptr,
                                         self.input_ids, t_begin, t_end, self.n_ids)
        stats.spikes += spikes
        return ptr, ids


def _fingerprint(plan: Plan, synapses: bool = True) -> tuple:
    """Numbers that differ between ranks that built different networks or drew different
    inputs (sizes, checksums of the inputs, of the drive streams, of the initial state and,
    unless each rank holds its own, of some synapses)."""
    common = (plan.n_neurons, plan.indptr.size, plan.n_steps, plan.step0,
              zlib.crc32(plan.input_ptr.tobytes()), zlib.crc32(plan.input_ids.tobytes()),
              zlib.crc32(plan.drive_key.tobytes()), zlib.crc32(plan.state.tobytes()))
    if not synapses:
        return common
    sample = slice(0, min(plan.targets.size, 1 << 16))
    return common + (plan.targets.size, zlib.crc32(plan.targets[sample].tobytes()),
                     zlib.crc32(plan.weights[sample].tobytes()))


@njit(cache=True)
def _kept_rows(indptr, targets, owner, rank):
    """Row pointers of the synapses whose target ``owner`` gives to ``rank``."""
    kept = np.zeros(indptr.size, dtype=np.int64)
    for row in range(indptr.size - 1):
        count = 0
        for k in range(indptr[row], indptr[row + 1]):
            if owner[targets[k]] == rank:
                count += 1
        kept[row + 1] = kept[row] + count
    return kept


@njit(cache=True)
def _keep_synapses(indptr, targets, weights, delays, channels, owner, local_of, rank,
                   out_targets, out_weights, out_delays, out_channels, syn_ids):
    """Copy the synapses onto ``rank``'s neurons, in order, targets renumbered locally."""
    n = 0
    for k in range(targets.size):
        if owner[targets[k]] == rank:
            out_targets[n] = local_of[targets[k]]
            out_weights[n] = weights[k]
            out_delays[n] = delays[k]
            out_channels[n] = channels[k]
            syn_ids[n] = k
            n += 1


@njit(cache=True)
def _renumber(targets, local_of):
    """Global target ids to this rank's local ids, in place."""
    for k in range(targets.size):
        targets[k] = local_of[targets[k]]


def _share(plan: Plan, owner: np.ndarray, rank: int) -> tuple[Plan, dict[str, np.ndarray]]:
    """The part of ``plan`` that ``rank`` runs, and how its pieces map to the whole."""
    neuron_ids = np.flatnonzero(owner == rank)
    local_of = np.full(owner.size, -1, dtype=np.int64)
    local_of[neuron_ids] = np.arange(neuron_ids.size)
    pop_stop = np.searchsorted(neuron_ids, plan.pop_stop).astype(np.int64)
    pop_start = np.searchsorted(neuron_ids, plan.pop_start).astype(np.int64)

    # The synapses onto this rank's neurons, without a temporary per synapse.
    indptr = _kept_rows(plan.indptr, plan.targets, owner, rank)
    counts = np.diff(indptr)
    if indptr[-1] == plan.targets.size:
        # A network of shared synapses (every synapse is this rank's): renumber the targets
        # in place and keep the arrays.
        targets, weights, delays, channels = plan.targets, plan.weights, plan.delays, \
            plan.channels
        _renumber(targets, local_of)
        syn_ids = np.arange(targets.size) if plan.plastic else np.zeros(0, dtype=np.int64)
    else:
        n = int(indptr[-1])
        targets = np.empty(n, dtype=np.int32)
        weights = np.empty(n, dtype=plan.weights.dtype)
        delays = np.empty(n, dtype=plan.delays.dtype)
        channels = np.empty(n, dtype=np.uint8)
        syn_ids = np.empty(n, dtype=np.int64)
        _keep_synapses(plan.indptr, plan.targets, plan.weights, plan.delays, plan.channels,
                       owner, local_of, rank, targets, weights, delays, channels, syn_ids)

    current_cols = np.flatnonzero(owner[plan.current_target] == rank)
    probe_cols = np.flatnonzero(owner[plan.probe_idx] == rank)
    drive_rows = np.flatnonzero(owner[plan.drive_target] == rank)

    fields: dict[str, Any] = dict(
        pop_start=pop_start, pop_stop=pop_stop,
        state=np.ascontiguousarray(plan.state[:, neuron_ids]),
        i_const=plan.i_const[neuron_ids],
        current_table=np.ascontiguousarray(plan.current_table[:, current_cols]),
        current_target=local_of[plan.current_target[current_cols]],
        indptr=indptr, targets=targets, weights=weights, delays=delays, channels=channels,
        ring=np.ascontiguousarray(plan.ring[:, :, neuron_ids]),
        spike_mask=np.ones(neuron_ids.size, dtype=np.uint8),
        probe_var=plan.probe_var[probe_cols], probe_idx=local_of[plan.probe_idx[probe_cols]],
        drive_target=local_of[plan.drive_target[drive_rows]],
        drive_row=plan.drive_row[drive_rows], drive_mean=plan.drive_mean[drive_rows],
        drive_exp=plan.drive_exp[drive_rows], drive_weight=plan.drive_weight[drive_rows],
        drive_key=plan.drive_key[drive_rows],
    )
    if plan.plastic:
        syn_rule = plan.syn_rule[syn_ids]
        local_syn = np.full(plan.targets.size, -1, dtype=np.int64)
        local_syn[syn_ids] = np.arange(syn_ids.size)
        plastic_ids = np.flatnonzero(syn_rule >= 0)
        post_syn = plastic_ids[np.argsort(targets[plastic_ids], kind="stable")]
        post_ptr = np.zeros(neuron_ids.size + 1, dtype=np.int64)
        np.cumsum(np.bincount(targets[plastic_ids], minlength=neuron_ids.size),
                  out=post_ptr[1:])
        rows = np.repeat(np.arange(indptr.size - 1), counts)
        # The queue keeps its order: this rank's entries of each slot, renumbered.
        queue = np.zeros_like(plan.queue)
        queue_len = np.zeros_like(plan.queue_len)
        for slot in range(plan.queue.shape[0]):
            entries = local_syn[plan.queue[slot, :plan.queue_len[slot]]]
            entries = entries[entries >= 0]
            queue[slot, :entries.size] = entries
            queue_len[slot] = entries.size
        fields.update(
            syn_rule=syn_rule, syn_state=plan.syn_state[syn_ids], post_ptr=post_ptr,
            post_syn=post_syn.astype(np.int64), post_rule=syn_rule[post_syn],
            plastic_count=np.bincount(rows[plastic_ids], minlength=indptr.size - 1
                                      ).astype(np.int64),
            queue=queue, queue_len=queue_len)
    mapping = dict(neuron_ids=neuron_ids, syn_ids=syn_ids, probe_cols=probe_cols)
    return replace(plan, **fields), mapping


def _merge(plan: Plan, parts: list[tuple], spike_mask: np.ndarray, own: int | None = None
           ) -> BackendOutput:
    """One rank's view of the whole run from every rank's ``(mapping, output)``; with
    ``own`` (a network holding this rank's synapses only), the learning state is rank
    ``own``'s alone."""
    steps, ids = [], []
    probes = np.empty((plan.n_steps, plan.probe_idx.size))
    final_state = np.empty_like(plan.state)
    ring = np.empty((plan.ring.shape[0], 2, plan.n_neurons))
    syn_state = plan.syn_state.copy()
    slots = [[] for _ in parts]  # each rank's queue slots
    for rank, (mapping, out) in enumerate(parts):
        global_ids = mapping["neuron_ids"][out.spike_ids]
        shown = spike_mask[global_ids] == 1
        steps.append(out.spike_steps[shown])
        ids.append(global_ids[shown])
        probes[:, mapping["probe_cols"]] = out.probes
        final_state[:, mapping["neuron_ids"]] = out.final_state
        ring[:, :, mapping["neuron_ids"]] = out.ring
        if out.plastic is not None and own in (None, rank):
            syn_state[mapping["syn_ids"]] = out.plastic.syn_state
            slots[rank] = [mapping["syn_ids"][out.plastic.queue[slot, :length]]
                           for slot, length in enumerate(out.plastic.queue_len)]
    spike_steps = np.concatenate(steps)
    spike_ids = np.concatenate(ids)
    order = np.lexsort((spike_ids, spike_steps))
    plastic = None
    if plan.plastic:
        merged = [_queue_order(plan, [part[slot] for part in slots if part])
                  for slot in range(plan.queue.shape[0])]
        width = max(1, max(e.size for e in merged))
        queue = np.zeros((len(merged), width), dtype=np.int64)
        queue_len = np.array([e.size for e in merged], dtype=np.int64)
        for slot, entries in enumerate(merged):
            queue[slot, :entries.size] = entries
        plastic = PlasticOutput(syn_state, queue, queue_len)
    return BackendOutput(spike_steps[order], spike_ids[order], probes, final_state, ring,
                         plastic)


def _deepen(ring: np.ndarray, depth: int, step0: int) -> np.ndarray:
    """``ring`` (``[D, 2, N]``, slot ``a mod D`` holding absolute step ``a`` of
    ``step0 .. step0 + D - 1``) re-laid over ``depth >= D`` slots."""
    deeper = np.zeros((depth,) + ring.shape[1:])
    for slot in range(ring.shape[0]):
        absolute = step0 + (slot - step0) % ring.shape[0]
        deeper[absolute % depth] = ring[slot]
    return deeper


def _occurrence(entries: np.ndarray) -> np.ndarray:
    """For each entry, how many equal entries come before it."""
    order = np.argsort(entries, kind="stable")
    ranked = entries[order]
    starts = np.flatnonzero(np.r_[True, ranked[1:] != ranked[:-1]])
    counts = np.diff(np.r_[starts, entries.size])
    occurrence = np.empty_like(entries)
    occurrence[order] = np.arange(entries.size) - np.repeat(starts, counts)
    return occurrence


def _queue_order(plan: Plan, per_rank: list[np.ndarray]) -> np.ndarray:
    """One arrival slot's plastic synapses (global ids) from every rank's part, in the
    one-process order: by the step the spike was fired in (later fired, shorter delay),
    then its source, then the source's repeat within that step (a spike source can fire
    twice in one step), then the synapse's place in the source's row."""
    entries = np.concatenate(per_rank)
    # A synapse's n-th entry in a slot comes from its source's n-th spike of that step.
    occurrence = np.concatenate([_occurrence(e) for e in per_rank])
    source = np.searchsorted(plan.indptr, entries, side="right") - 1
    delay = plan.delays[entries].astype(np.int64)
    return entries[np.lexsort((entries, occurrence, source, -delay))]


def simulate_mpi(plan: Plan, comm: Any, *, progress: bool = False,
                 shared_synapses: bool = False) -> tuple[BackendOutput, ExchangeStats, Plan]:
    """Run ``plan`` over the ranks of ``comm`` (see the module's description).

    Args:
        plan: the whole network lowered (every rank passes the same).  Pass it without
            keeping a reference of your own: once this rank's share is taken, its synapse
            arrays are let go (the returned plan lacks them).
        comm: an mpi4py communicator.
        progress: show a progress bar on rank 0.
        shared_synapses: the plan holds only this rank's synapses (a network built with
            ``Network(distributed="mpi")``); the output's learning state is then this
            rank's own.

    Returns:
        The whole run's output (the same on every rank but for the learning state of a
        network of shared synapses), this rank's exchange figures, and
        ``plan`` without its synapse arrays (enough to read the output).

    Raises:
        ValueError: the ranks built different networks or drew different inputs, or a
            synapse has a delay of zero steps (the exchange interval is the shortest delay).
    """
    from .backends import numba_backend

    ranks, rank = comm.Get_size(), comm.Get_rank()
    prints = comm.allgather(_fingerprint(plan, synapses=not shared_synapses))
    if any(p != prints[0] for p in prints):
        raise ValueError("distributed='mpi': the ranks built different networks or drew "
                         "different inputs; build the same network on every rank and pass "
                         "rng as an int seed (or a generator seeded alike on every rank)")
    # Ranks holding their own synapses may have different longest delays: one ring depth
    # for all, so that the whole ring can be put together.
    depth = max(comm.allgather(plan.ring.shape[0]))
    if depth > plan.ring.shape[0]:
        plan = replace(plan, ring=_deepen(plan.ring, depth, plan.step0))
    shortest = int(plan.delays.min()) if plan.delays.size else plan.n_steps
    if shortest < 1:
        raise ValueError("distributed='mpi' needs every synaptic delay to be at least one "
                         "time step (spikes are traded every shortest delay); the network "
                         "has a delay that rounds to 0 steps")
    window = min(shortest, plan.n_steps)
    start = time.perf_counter()
    owner = neuron_owner(plan.pop_start, plan.pop_stop, ranks)
    local, mapping = _share(plan, owner, rank)
    # The whole synapse table is not needed past this point (the merge of the learning
    # state needs delays and row pointers only): let it go for the run.
    empty = np.zeros(0, dtype=np.int64)
    plan = replace(plan, targets=empty.astype(np.int32), weights=empty.astype(plan.weights.dtype),
                   channels=empty.astype(np.uint8), syn_rule=empty,
                   delays=plan.delays if plan.plastic else empty.astype(plan.delays.dtype))
    stats = ExchangeStats(rank=rank, ranks=ranks, window_steps=window,
                          share_time=time.perf_counter() - start)
    exchange = _SpikeExchange(comm, mapping["neuron_ids"], plan.indptr.size - 1,
                              plan.input_ptr, plan.input_ids, stats)
    start = time.perf_counter()
    out = numba_backend.simulate_windows(local, window_steps=window, exchange=exchange,
                                         progress=progress and rank == 0)
    stats.loop_time = time.perf_counter() - start
    del local
    start = time.perf_counter()
    # Only the learning state needs the synapse ids (large): sent only where other ranks
    # merge it.
    own_syn_ids = mapping.pop("syn_ids")
    if plan.plastic and not shared_synapses:
        mapping["syn_ids"] = own_syn_ids
    parts = comm.allgather((mapping, out))
    parts[rank][0]["syn_ids"] = own_syn_ids
    merged = _merge(plan, parts, plan.spike_mask, own=rank if shared_synapses else None)
    stats.gather_time = time.perf_counter() - start
    return merged, stats, plan


def abort_on_error(comm: Any, error: BaseException) -> None:
    """Print ``error`` with this rank's number and abort every rank (an error raised on one
    rank alone would leave the others waiting in a collective forever)."""
    rank, ranks = comm.Get_rank(), comm.Get_size()
    sys.stderr.write(f"snnsim: rank {rank} of {ranks} failed; aborting all ranks:\n")
    sys.stderr.write("".join(traceback.format_exception(error)))
    sys.stderr.flush()
    comm.Abort(1)
