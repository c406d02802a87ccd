"""numba backend: the whole time loop compiled, no Python per step.

It runs the model step functions of :mod:`snn.models` (the same source, compiled) inside
one compiled loop that follows the algorithm of :mod:`snn.engine`, in the same order as the
reference backend, so float64 results are bitwise equal.  Networks whose neuron update is
heavy enough (:func:`update_work` >= ``PARALLEL_MIN_WORK``) are updated by all numba threads,
each taking an equal share of the neurons; spike propagation stays serial so that the order
of floating-point additions is fixed.

Compiled code is cached on disk (``$SNNSIM_CACHE_DIR``, default ``~/.cache/snnsim/numba``;
see :mod:`snn._numba_cache`), so a second process starts without compiling.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import time
import types
from collections.abc import Callable
from typing import Any, NamedTuple

import numba
import numpy as np
from numba import njit, prange
from numba.np.unsafe.ndarray import to_fixed_tuple
from tqdm.auto import tqdm

from .. import (
    _numba_cache,  # noqa: F401  (installs the package's compiled-code cache)
    models,
)
from .._prefetch import prefetch_write
from ..plasticity import (
    maximum_scalar,
    minimum_scalar,
    stdp_post_event,
    stdp_pre_event,
    weight_dependence_scalar,
)
from ..random_streams import counter_uniform, poisson_count
from ..vector_exp import exp_compiled, exp_compiled_call
from . import BackendOutput, PlasticOutput

# Each step opens one parallel region, which costs tens of microseconds on small virtual
# machines; measured on 2 cores, it paid off only from about 15k conductance-based neurons
# (45k work units) and never for current-based ones up to 40k.  Override with
# $SNNSIM_PARALLEL_MIN_WORK (1 forces the parallel path).
PARALLEL_MIN_WORK = int(os.environ.get("SNNSIM_PARALLEL_MIN_WORK", 45_000))
_CHUNK_MIN_STEPS = 2_000


def _update_parallel(state, i_ext, coeff_rows, pop_kind, block_pop, block_lo, block_hi,
                     part_ptr, fired):
    # One part per thread, each a list of (population, neuron range) blocks covering an equal
    # share of all neurons, updated by the vectorised serial loop.  Compiled per model set
    # (see kernel_for), with _update_population bound to the set's update.
    for part in prange(part_ptr.size - 1):
        for b in range(part_ptr[part], part_ptr[part + 1]):
            p = block_pop[b]
            _update_population(state, i_ext, coeff_rows[p], pop_kind[p],  # noqa: F821
                               block_lo[b], block_hi[b], fired)


def _thread_blocks(pop_start: np.ndarray, pop_stop: np.ndarray, n_parts: int):
    """Split all neurons into ``n_parts`` equal shares, cut at population boundaries:
    returns (block_pop, block_lo, block_hi, part_ptr)."""
    cuts = np.linspace(0, int(pop_stop[-1]), n_parts + 1).round().astype(np.int64)
    return _part_blocks(pop_start, pop_stop, cuts[:-1], cuts[1:])


_SCAN_BLOCK = 128


@njit(cache=True)
def _collect_spikes(fired, fired_bits, spiking):
    """Write the ids of neurons with ``fired != 0`` to ``spiking``; return their count.

    Spikes are sparse, so blocks are first tested with an OR over the float bit patterns.
    A block length fixed at compile time lets that OR vectorise fully (a float comparison
    loop with an early exit does not vectorise at all)."""
    n = fired.size
    n_full = n // _SCAN_BLOCK
    count = 0
    for block in range(n_full):
        begin = block * _SCAN_BLOCK
        bits = fired_bits[begin:begin + _SCAN_BLOCK]
        any_bits = np.uint64(0)
        for j in range(_SCAN_BLOCK):
            any_bits |= bits[j]
        if any_bits != 0:
            for j in range(begin, begin + _SCAN_BLOCK):
                if fired[j] != 0.0:
                    spiking[count] = j
                    count += 1
    for j in range(n_full * _SCAN_BLOCK, n):
        if fired[j] != 0.0:
            spiking[count] = j
            count += 1
    return count


# Copies are written as loops in compiled code: a slice assignment (``a[:n] = b``) brings in
# numba's general array assignment (broadcasting, overlap checks, formatted error messages),
# which took about 2 s of a cold compile for each of these two small functions.
@njit(cache=True)
def _grow(steps, ids, need):
    size = max(2 * steps.size, need)
    grown_steps = np.empty(size, dtype=np.int64)
    grown_ids = np.empty(size, dtype=np.int64)
    for i in range(steps.size):
        grown_steps[i] = steps[i]
        grown_ids[i] = ids[i]
    return grown_steps, grown_ids


@njit(cache=True)
def _long_gap_decay(x):
    """``exp(x)`` rounded as snn.vector_exp rounds it, for trace decays past the table.  A
    function of its own: inlined into the time loop's branches, numba's SSA pass warns
    (NumbaIRAssumptionWarning) when compiling; gaps this long are rare."""
    return exp_compiled(x)


@njit(cache=True)
def _grow_queue(queue, need):
    grown = np.zeros((queue.shape[0], max(2 * queue.shape[1], need)), dtype=np.int64)
    for slot in range(queue.shape[0]):
        for m in range(queue.shape[1]):
            grown[slot, m] = queue[slot, m]
    return grown


@njit(cache=True)
def _push_spikes(absolute, spiking, n_spiking, state, ring, indptr, targets, weights, delays,
                 channels, syn_rule, plastic_count, queue, queue_len):
    """Step 5 for the spikes fired at step ``absolute``, ``spiking[:n_spiking]`` (presynaptic
    ids in order): every synapse of each into its ring slot (into the synaptic variable when
    no delay exists), plastic ones into the arrival queue.  Returns the queue (grown if it
    had to)."""
    depth = ring.shape[0]
    q_depth = queue.shape[0]
    plastic = syn_rule.size > 0
    if plastic:
        # Room in the arrival queue for these plastic synapses, made here: an array
        # reassigned inside the synapse loop below would slow the whole loop down.
        need = 0
        for s in range(n_spiking):
            need += plastic_count[spiking[s]]
        if need:
            longest = 0
            for slot in range(q_depth):
                longest = max(longest, queue_len[slot])
            if longest + need > queue.shape[1]:
                queue = _grow_queue(queue, longest + need)
    q_now = absolute % q_depth
    now = absolute % depth
    for s in range(n_spiking):
        src = spiking[s]
        if plastic:
            # Plastic synapses wait in the arrival queue; the others as below.  Delays
            # are below q_depth, so one subtraction replaces a division per synapse.
            for k in range(indptr[src], indptr[src + 1]):
                if syn_rule[k] >= 0:
                    slot = q_now + delays[k]
                    if slot >= q_depth:
                        slot -= q_depth
                    queue[slot, queue_len[slot]] = k
                    queue_len[slot] += 1
                elif depth == 1:
                    state[1 + channels[k], targets[k]] += weights[k]
                else:
                    ring[(absolute + delays[k]) % depth, channels[k], targets[k]] += \
                        weights[k]
        elif depth == 1:
            for k in range(indptr[src], indptr[src + 1]):
                state[1 + channels[k], targets[k]] += weights[k]
        else:
            _deliver_to_ring(ring, now, indptr[src], indptr[src + 1], targets, weights,
                             delays, channels)
    return queue


@njit(cache=True)
def _push_window(step0, inbox_ptr, inbox_ids, state, ring, indptr, targets, weights, delays,
                 channels, syn_rule, plastic_count, queue, queue_len):
    """Step 5 for a window's spikes (``inbox_ptr`` a CSR over its steps from absolute step
    ``step0``), each from the step it was fired in; returns the queue."""
    for e in range(inbox_ptr.size - 1):
        lo = inbox_ptr[e]
        queue = _push_spikes(step0 + e, inbox_ids[lo:], inbox_ptr[e + 1] - lo, state, ring,
                             indptr, targets, weights, delays, channels, syn_rule,
                             plastic_count, queue, queue_len)
    return queue


def _kernel(t_begin, t_end, step0, state, ring, i_ext, current_table, current_target,
            pop_start, pop_stop, coeff_rows, pop_kind, block_pop, block_lo, block_hi, part_ptr,
            indptr,
            targets, weights, delays, channels, input_ptr, input_ids, spike_mask, probe_var,
            probe_idx, probes, spike_steps, spike_ids, n_recorded, fired, fired_bits, spiking,
            syn_rule, rule_params, decay_table, syn_state, post_ptr, post_syn, post_rule,
            plastic_count, queue, queue_len, drive_target, drive_row, drive_mean, drive_exp,
            drive_weight, drive_key, inbox_ptr=None, inbox_ids=None, inbox_step0=0):
    depth = ring.shape[0]
    n_neurons = state.shape[1]
    n_probe = probe_idx.size
    plastic = rule_params.shape[0] > 0
    q_depth = queue.shape[0]
    table_steps = decay_table.shape[2]
    for t in range(t_begin, t_end):
        absolute = step0 + t
        for m in range(n_probe):
            probes[t - t_begin, m] = state[probe_var[m], probe_idx[m]]
        for m in range(current_target.size):
            i_ext[current_target[m]] = current_table[t, m]
        # ``part_ptr`` is None for the serial update: numba then prunes this branch before
        # typing it, so that the parallel update is compiled only for networks that use it.
        if part_ptr is not None:
            _update_parallel(state, i_ext, coeff_rows, pop_kind, block_pop, block_lo, block_hi,
                             part_ptr, fired)
        else:
            for p in range(pop_start.size):
                _update_population(state, i_ext, coeff_rows[p],  # noqa: F821 (bound per set)
                                   pop_kind[p], pop_start[p], pop_stop[p], fired)
        n_spiking = _collect_spikes(fired, fired_bits, spiking)
        # Growing the record here, outside the per-neuron scan, keeps that scan free of
        # array reassignments (which cost a factor ~4 in the whole loop).
        if n_recorded + n_spiking > spike_ids.size:
            spike_steps, spike_ids = _grow(spike_steps, spike_ids, n_recorded + n_spiking)
        for s in range(n_spiking):
            j = spiking[s]
            if spike_mask[j]:
                spike_steps[n_recorded] = t
                spike_ids[n_recorded] = j
                n_recorded += 1
        n_neuron_spikes = n_spiking
        if inbox_ptr is None:
            for k in range(input_ptr[t], input_ptr[t + 1]):
                spiking[n_spiking] = input_ids[k]
                n_spiking += 1
            queue = _push_spikes(absolute, spiking, n_spiking, state, ring, indptr, targets,
                                 weights, delays, channels, syn_rule, plastic_count, queue,
                                 queue_len)
        elif t == t_begin:
            # Exchange mode (see snn.distributed): this window's first step delivers the
            # spikes of the previous window, every rank's, each from the step it was fired
            # in; every delay spans at least a window, so none is late.
            queue = _push_window(inbox_step0, inbox_ptr, inbox_ids, state, ring, indptr,
                                 targets, weights, delays, channels, syn_rule, plastic_count,
                                 queue, queue_len)
        if depth > 1:
            slot = absolute % depth
            for j in range(n_neurons):
                state[1, j] += ring[slot, 0, j]
                state[2, j] += ring[slot, 1, j]
                ring[slot, 0, j] = 0.0
                ring[slot, 1, j] = 0.0
        counter = np.uint64(absolute)
        for m in range(drive_target.size):
            events = poisson_count(counter_uniform(drive_key[m], counter), drive_mean[m],
                                   drive_exp[m])
            if events:
                state[drive_row[m], drive_target[m]] += events * drive_weight[m]
        if plastic:
            q_slot = absolute % q_depth
            for m in range(queue_len[q_slot]):
                k = queue[q_slot, m]
                state[1 + channels[k], targets[k]] += syn_state[k, 0]
                r = syn_rule[k]
                # The decay factors since the synapse's last event, the same arithmetic as
                # the reference backend's _decay_factors.  (Written out here and below: as an
                # inlined function, or through a row view, the loop once ran at half speed.)
                n = absolute - np.int64(syn_state[k, 3])
                decay_pre = 1.0
                decay_post = 1.0
                if n != 0:
                    if n < table_steps:
                        decay_pre = decay_table[r, 0, n]
                        decay_post = decay_table[r, 1, n]
                    else:
                        decay_pre = _long_gap_decay(-(n * rule_params[r, 2]))
                        decay_post = _long_gap_decay(-(n * rule_params[r, 3]))
                    syn_state[k, 3] = absolute
                weight, pre_trace, post_trace = stdp_pre_event(
                    syn_state[k, 0], syn_state[k, 1], syn_state[k, 2], decay_pre, decay_post,
                    n * rule_params[r, 7], rule_params[r, 1], rule_params[r, 4],
                    rule_params[r, 5], rule_params[r, 6], weight_dependence_scalar,
                    minimum_scalar, maximum_scalar)
                syn_state[k, 0] = weight
                syn_state[k, 1] = pre_trace
                syn_state[k, 2] = post_trace
            queue_len[q_slot] = 0
            for s in range(n_neuron_spikes):
                j = spiking[s]
                for m in range(post_ptr[j], post_ptr[j + 1]):
                    k = post_syn[m]
                    r = post_rule[m]
                    n = absolute - np.int64(syn_state[k, 3])
                    decay_pre = 1.0
                    decay_post = 1.0
                    if n != 0:
                        if n < table_steps:
                            decay_pre = decay_table[r, 0, n]
                            decay_post = decay_table[r, 1, n]
                        else:
                            decay_pre = _long_gap_decay(-(n * rule_params[r, 2]))
                            decay_post = _long_gap_decay(-(n * rule_params[r, 3]))
                        syn_state[k, 3] = absolute
                    weight, pre_trace, post_trace = stdp_post_event(
                        syn_state[k, 0], syn_state[k, 1], syn_state[k, 2], decay_pre,
                        decay_post, n * rule_params[r, 7], rule_params[r, 0],
                        rule_params[r, 8], rule_params[r, 4], rule_params[r, 5],
                        rule_params[r, 6], weight_dependence_scalar, minimum_scalar,
                        maximum_scalar)
                    syn_state[k, 0] = weight
                    syn_state[k, 1] = pre_trace
                    syn_state[k, 2] = post_trace
    return spike_steps, spike_ids, n_recorded, queue


# Synapses ahead whose ring place is prefetched (see snn._prefetch).
_PREFETCH_DISTANCE = 64


@njit(cache=True)
def _deliver_to_ring(ring, now, first, last, targets, weights, delays, channels):
    """Add synapses ``first..last-1`` to the ring slots their delays select (``now`` is the
    current step's slot), prefetching the places of later synapses.  Delays are below the
    ring's depth, so one conditional subtraction replaces a division per synapse."""
    depth = ring.shape[0]
    ahead = min(last, first + _PREFETCH_DISTANCE)
    for k in range(first, ahead):
        slot = now + delays[k]
        if slot >= depth:
            slot -= depth
        prefetch_write(ring, slot, channels[k], targets[k])
    for k in range(first, last):
        m = k + _PREFETCH_DISTANCE
        if m < last:
            slot = now + delays[m]
            if slot >= depth:
                slot -= depth
            prefetch_write(ring, slot, channels[m], targets[m])
        slot = now + delays[k]
        if slot >= depth:
            slot -= depth
        ring[slot, channels[k], targets[k]] += weights[k]


@njit(cache=True)
def _deliver_part(absolute, n_spiking, spiking, state, ring, indptr, targets, weights, delays,
                  channels, lo, hi, drive_lo, drive_hi, drive_target, drive_row, drive_mean,
                  drive_exp, drive_weight, drive_key):
    """Steps 5-6 of step ``absolute`` for the targets ``[lo, hi)``: the synapses onto them
    (found by binary search in the rows, which are sorted by target) in spike order, then
    their ring slot and Poisson drive.  Per target, the additions come in the order of the
    serial loop, whatever the split, so results are bitwise the same."""
    depth = ring.shape[0]
    now = absolute % depth
    for s in range(n_spiking):
        src = spiking[s]
        begin, end = indptr[src], indptr[src + 1]
        if begin == end:
            continue
        row = targets[begin:end]
        first = begin + np.searchsorted(row, lo)
        last = begin + np.searchsorted(row, hi)
        if depth == 1:
            for k in range(first, last):
                state[1 + channels[k], targets[k]] += weights[k]
        else:
            _deliver_to_ring(ring, now, first, last, targets, weights, delays, channels)
    if depth > 1:
        for j in range(lo, hi):
            state[1, j] += ring[now, 0, j]
            state[2, j] += ring[now, 1, j]
            ring[now, 0, j] = 0.0
            ring[now, 1, j] = 0.0
    counter = np.uint64(absolute)
    for m in range(drive_lo, drive_hi):
        events = poisson_count(counter_uniform(drive_key[m], counter), drive_mean[m],
                               drive_exp[m])
        if events:
            state[drive_row[m], drive_target[m]] += events * drive_weight[m]


def _step_parallel(deliver, update, absolute, t, t_probe, n_spiking, spiking, state, ring,
                   i_ext, current_table, current_target, current_ptr, current_cols, probes,
                   probe_var, probe_idx, probe_ptr, probe_cols, coeff_rows, pop_kind,
                   block_pop, block_lo, block_hi,
                   part_ptr, part_lo, part_hi, fired, fired_bits, part_spikes, part_count,
                   indptr, targets, weights, delays, channels, drive_ptr, drive_target,
                   drive_row, drive_mean, drive_exp, drive_weight, drive_key):
    # One parallel region per step: each part owns a contiguous range of neurons and does
    # everything that touches them, in the serial loop's order: the delivery of the previous
    # step's spikes (``deliver``), then this step's probes, currents, update and the list of
    # its neurons that fired (``update``).  Compiled per model set (see kernel_for).
    for part in prange(part_lo.size):
        lo, hi = part_lo[part], part_hi[part]
        if deliver:
            _deliver_part(absolute - 1, n_spiking, spiking, state, ring, indptr, targets,
                          weights, delays, channels, lo, hi, drive_ptr[part],
                          drive_ptr[part + 1], drive_target, drive_row, drive_mean, drive_exp,
                          drive_weight, drive_key)
        if update:
            for m in range(probe_ptr[part], probe_ptr[part + 1]):
                column = probe_cols[m]
                probes[t_probe, column] = state[probe_var[column], probe_idx[column]]
            for m in range(current_ptr[part], current_ptr[part + 1]):
                column = current_cols[m]
                i_ext[current_target[column]] = current_table[t, column]
            for b in range(part_ptr[part], part_ptr[part + 1]):
                p = block_pop[b]
                _update_population(state, i_ext, coeff_rows[p], pop_kind[p],  # noqa: F821
                                   block_lo[b], block_hi[b], fired)
            part_count[part] = _collect_spikes(fired[lo:hi], fired_bits[lo:hi],
                                               part_spikes[part])
            for s in range(part_count[part]):
                part_spikes[part, s] += lo


def _kernel_threaded(t_begin, t_end, step0, state, ring, i_ext, current_table,
                     current_target, current_ptr, current_cols, coeff_rows, pop_kind,
                     block_pop, block_lo, block_hi, part_ptr, part_lo, part_hi, indptr,
                     targets, weights, delays, channels, input_ptr, input_ids, spike_mask,
                     probe_var, probe_idx, probe_ptr, probe_cols, probes, spike_steps,
                     spike_ids, n_recorded, fired, fired_bits, spiking, part_spikes,
                     part_count, drive_ptr, drive_target, drive_row, drive_mean, drive_exp,
                     drive_weight, drive_key):
    # The time loop of networks without plasticity, on several threads: the algorithm of
    # _kernel, each step one parallel region (_step_parallel) that delivers the previous
    # step's spikes and updates the neurons, and a short serial part that lists the spikes.
    n_parts = part_lo.size
    n_spiking = 0
    for t in range(t_begin, t_end + 1):
        absolute = step0 + t
        _step_parallel(t > t_begin, t < t_end, absolute, t, t - t_begin, n_spiking, spiking,
                       state, ring, i_ext, current_table, current_target, current_ptr,
                       current_cols, probes, probe_var, probe_idx, probe_ptr, probe_cols,
                       coeff_rows, pop_kind, block_pop, block_lo, block_hi, part_ptr,
                       part_lo, part_hi, fired, fired_bits, part_spikes, part_count, indptr,
                       targets, weights, delays, channels, drive_ptr, drive_target,
                       drive_row, drive_mean, drive_exp, drive_weight, drive_key)
        if t == t_end:
            break
        n_spiking = 0
        for part in range(n_parts):
            for s in range(part_count[part]):
                spiking[n_spiking] = part_spikes[part, s]
                n_spiking += 1
        if n_recorded + n_spiking > spike_ids.size:
            spike_steps, spike_ids = _grow(spike_steps, spike_ids, n_recorded + n_spiking)
        for s in range(n_spiking):
            j = spiking[s]
            if spike_mask[j]:
                spike_steps[n_recorded] = t
                spike_ids[n_recorded] = j
                n_recorded += 1
        for k in range(input_ptr[t], input_ptr[t + 1]):
            spiking[n_spiking] = input_ids[k]
            n_spiking += 1
    return spike_steps, spike_ids, n_recorded


def update_work(plan) -> int:
    """Cost of one neuron-update pass in units of one current-based LIF neuron
    (:attr:`snn.NeuronModel.work`)."""
    sizes = plan.pop_stop - plan.pop_start
    return int(np.dot(sizes, [m.work for m in plan.pop_models]))


# ---------------------------------------------------------------- compiling per model set
#
# The time loop is compiled once per set of model kinds it runs.  A kind is what the compiled
# update depends on: the step function, the state variables and their engine rows, and the
# coefficient fields; models that differ only by name (LIF, ALIF and IF with current
# synapses) share one.  For each kind a small update loop is generated from its declaration;
# the time loop and the threaded update above are then compiled with _update_population
# bound to a dispatch over the set's kinds, and cached on disk under a key made of the kinds'
# code hashes (see snn._numba_cache), so that editing a model's code recompiles.

# Every set holds the LIF family's two kinds: networks of LIF, ALIF and IF neurons with
# current or conductance synapses, the common case, then share one compiled loop.
_BASE_MODELS = (models.LIF_MODELS[models.LIFParams]["current"],
                models.LIF_MODELS[models.LIFParams]["conductance"])

_UPDATE_TEMPLATE = """
def {name}(state, i_ext, row, start, stop, fired):
    c = Coeffs(*to_fixed_tuple(row[:{n_coeffs}], {n_coeffs}))
{load_rows}
    current, spikes = i_ext[start:stop], fired[start:stop]
    for j in range(stop - start):
        s = State({load})
        new, spikes[j] = model_step(s, current[j], c, heaviside_scalar, exp_compiled)
{store}
"""


def _kind_of(model) -> tuple:
    # The function itself, not its id: the key keeps it alive, so no other function can
    # take its place.
    return (getattr(model.step, "py_func", model.step), model.state_names, model.engine_rows)


_STATE_TYPES: dict[tuple[str, ...], type] = {}


def _state_type(names: tuple[str, ...]) -> type:
    """One named-tuple class per list of state names (the LIF family's is
    :class:`snn.models.NeuronState`): numba then types, and compiles, the functions a step
    calls once for all kinds with the same state."""
    from collections import namedtuple

    if names == models.NeuronState._fields:
        return models.NeuronState
    if names not in _STATE_TYPES:
        _STATE_TYPES[names] = namedtuple(f"State_{'_'.join(names)}", names)
    return _STATE_TYPES[names]


def _generate_update(model, coeff_type, index: int, key: str):
    """The compiled update loop of one kind: 1-D row slices from index 0, so that LLVM knows
    every index is non-negative and vectorises the loop (it does neither through one 2-D
    array nor over a run-time [start, stop) range); numpy's error model, without whose
    division check branch the conductance loop does not vectorise."""

    # Names unique to the model set: compiled code loaded from the disk cache links its
    # callees by symbol name, and the same name in two sets would link the wrong one.
    name = f"_update_{key}_{index}"
    rows = model.engine_rows
    source = _UPDATE_TEMPLATE.format(
        name=name,
        n_coeffs=len(coeff_type._fields),
        load_rows="\n".join(f"    x{k} = state[{r}, start:stop]" for k, r in enumerate(rows)),
        load=", ".join(f"x{k}[j]" for k in range(len(rows))),
        store="\n".join(f"        x{k}[j] = new[{k}]" for k in range(len(rows))),
    )
    namespace = {
        "__name__": __name__,  # importable: a cached loop rebuilds its environment from it
        "Coeffs": coeff_type,
        "State": _state_type(model.state_names),
        "to_fixed_tuple": to_fixed_tuple,
        "model_step": model.compiled_step(),
        "heaviside_scalar": models.heaviside_scalar,
        # The LIF family's loops need the exponential inlined in numba's IR to vectorise;
        # other models call it (LLVM inlines it) and compile several times faster.
        "exp_compiled": exp_compiled if model in _BASE_MODELS else exp_compiled_call,
    }
    exec(compile(source, f"<snnsim update of {model.name}>", "exec"), namespace)
    return njit(error_model="numpy")(namespace[name])


_DISPATCH_TEMPLATE = """
def _update_population(state, i_ext, row, kind, start, stop, fired):
{branches}
"""


def _generate_dispatch(updates, key: str):
    branches = "\n".join(
        f"    {'if' if k == 0 else 'elif'} kind == {k}:\n"
        f"        _update_{k}(state, i_ext, row, start, stop, fired)"
        for k in range(len(updates)))
    namespace = {f"_update_{k}": update for k, update in enumerate(updates)}
    namespace["__name__"] = __name__
    source = _DISPATCH_TEMPLATE.format(branches=branches).replace(
        "def _update_population", f"def _update_population_{key}")
    exec(compile(source, "<snnsim update dispatch>", "exec"), namespace)
    return njit(error_model="numpy")(namespace[f"_update_population_{key}"])


class CompiledLoop(NamedTuple):
    kernel: Any  # the compiled time loop
    threaded: Any  # the time loop on several threads (networks without plasticity)
    kinds: tuple  # kind keys, in kernel order
    key: str  # the cache key


_LOOPS: dict[tuple, CompiledLoop] = {}


def kernel_for(pop_models, pop_coeffs) -> tuple[CompiledLoop, np.ndarray]:
    """The compiled time loop for these populations' models, and each population's kind
    index in it."""
    # The LIF family's coefficients are snn.models.Coeffs, whatever the synapses.
    pairs = [(m, models.Coeffs) for m in _BASE_MODELS]
    pairs += [(m, type(c)) for m, c in zip(pop_models, pop_coeffs)]
    kinds, representatives = [], []
    for model, coeff_type in pairs:
        kind = _kind_of(model) + (coeff_type,)
        if kind not in kinds:
            kinds.append(kind)
            representatives.append((model, coeff_type))
    signature = tuple(kinds)
    loop = _LOOPS.get(signature)
    if loop is None:
        key = hashlib.sha256("".join(
            m.key + ",".join(t._fields) for m, t in representatives).encode()).hexdigest()[:16]
        updates = [_generate_update(m, t, k, key) for k, (m, t) in enumerate(representatives)]
        namespace = dict(globals())
        namespace["_update_population"] = _generate_dispatch(updates, key)
        for name in ("_update_parallel", "_step_parallel"):
            namespace[name] = njit(cache=True, parallel=True, error_model="numpy")(
                _specialise(globals()[name], namespace, key))
        loop = CompiledLoop(njit(cache=True)(_specialise(_kernel, namespace, key)),
                            njit(cache=True)(_specialise(_kernel_threaded, namespace, key)),
                            signature, key)
        _LOOPS[signature] = loop
    pop_kind = np.array([kinds.index(_kind_of(m) + (t,)) for m, t in pairs[len(_BASE_MODELS):]],
                        dtype=np.int64)
    return loop, pop_kind


def _specialise(fn, namespace: dict, key: str):
    """``fn`` with its globals replaced by ``namespace``, marked with the cache ``key``."""
    specialised = types.FunctionType(fn.__code__, namespace, fn.__name__, fn.__defaults__,
                                     fn.__closure__)
    # A name of its own per set, for the same reason as the generated updates'.
    specialised.__qualname__ = f"{fn.__qualname__}_{key}"
    specialised.__doc__ = fn.__doc__
    specialised._snnsim_cache_key = key
    return specialised


def resolve_threads(threads: int | None) -> int | None:
    """The thread count for ``threads``: an int in ``[1, numba's thread pool size]``, or None
    (all of numba's threads, used where the network is large enough to gain from them; see
    :data:`PARALLEL_MIN_WORK`)."""
    if threads is None:
        return None
    if isinstance(threads, bool) or not isinstance(threads, (int, np.integer)):
        raise TypeError(f"threads must be an int >= 1 or None, got {type(threads).__name__}")
    available = numba.config.NUMBA_NUM_THREADS
    if not 1 <= threads <= available:
        raise ValueError(f"threads must lie in [1, {available}] (numba's thread pool; set "
                         f"NUMBA_NUM_THREADS to change it), got {threads}")
    return int(threads)


def idle_cores(samples: int = 5) -> int:
    """Cores not busy with other processes: the CPU count less the tasks the kernel reports
    runnable besides this one (``/proc/loadavg``, fewest of a few samples 1 ms apart), at
    least 1.  Threads that wait for each other at every step run far slower than one thread
    when other processes hold their cores, so ``threads=None`` takes only idle cores."""
    cpus = os.cpu_count() or 1
    try:
        running = []
        for _ in range(samples):
            with open("/proc/loadavg") as handle:
                running.append(int(handle.read().split()[3].split("/")[0]))
            time.sleep(0.001)
    except (OSError, ValueError, IndexError):
        return cpus
    return max(1, cpus - max(0, min(running) - 1))


def run_work(plan) -> int:
    """Cost of one step in units of one current-based LIF neuron update: the neuron update
    plus a share for the synapses (one unit per 100 synapses), which decides whether a run
    with ``threads=None`` uses several threads."""
    return update_work(plan) + plan.targets.size // 100


def _target_parts(plan, n_parts: int) -> tuple[np.ndarray, np.ndarray]:
    """Cut the neurons into ``n_parts`` contiguous id ranges of about equal cost (one unit
    per neuron update, :attr:`snn.NeuronModel.work`, plus one per 20 incoming synapses):
    returns each range's first and end id."""
    n = plan.n_neurons
    cost = np.zeros(n)
    for model, lo, hi in zip(plan.pop_models, plan.pop_start, plan.pop_stop):
        cost[lo:hi] = model.work
    cost += _in_degree(plan.targets, n) / 20.0
    cumulative = np.cumsum(cost)
    cuts = np.searchsorted(cumulative, cumulative[-1] * np.arange(1, n_parts) / n_parts)
    bounds = np.concatenate([[0], cuts, [n]]).astype(np.int64)
    return bounds[:-1].copy(), bounds[1:].copy()


@njit(cache=True)
def _in_degree(targets, n):
    count = np.zeros(n, dtype=np.int64)
    for k in range(targets.size):
        count[targets[k]] += 1
    return count


def _part_blocks(pop_start: np.ndarray, pop_stop: np.ndarray, part_lo: np.ndarray,
                 part_hi: np.ndarray):
    """The (population, neuron range) blocks of each part ``[part_lo, part_hi)``:
    (block_pop, block_lo, block_hi, part_ptr)."""
    block_pop, block_lo, block_hi, part_ptr = [], [], [], [0]
    for lo_part, hi_part in zip(part_lo, part_hi):
        for p, (lo, hi) in enumerate(zip(pop_start, pop_stop)):
            lo, hi = max(lo, lo_part), min(hi, hi_part)
            if lo < hi:
                block_pop.append(p)
                block_lo.append(lo)
                block_hi.append(hi)
        part_ptr.append(len(block_pop))
    as_array = lambda x: np.asarray(x, dtype=np.int64)  # noqa: E731
    return as_array(block_pop), as_array(block_lo), as_array(block_hi), as_array(part_ptr)


@contextlib.contextmanager
def _thread_count(n: int):
    """numba's thread count set to ``n`` for the duration of a call (it is per calling
    thread in numba, so other threads are not affected)."""
    previous = numba.get_num_threads()
    numba.set_num_threads(n)
    try:
        yield
    finally:
        numba.set_num_threads(previous)


def _progress_bar(plan, progress: bool):
    """A progress bar in model seconds, so that its rate reads model seconds per second."""
    dt = plan.dt
    return tqdm(total=round(plan.n_steps * dt, 9), disable=not progress, desc="numba",
                unit="model s", bar_format="{l_bar}{bar}| {n:.3g}/{total:.3g} model s "
                "[{elapsed}<{remaining}, {rate_fmt}]")


def _coeff_rows(plan) -> np.ndarray:
    # Rows of a float matrix (padded to the longest): numba's parallel loops cannot take a
    # tuple of named tuples.
    width = max(len(c) for c in plan.pop_coeffs)
    coeff_rows = np.zeros((len(plan.pop_coeffs), width))
    for p, c in enumerate(plan.pop_coeffs):
        coeff_rows[p, :len(c)] = np.array(c, dtype=np.float64)
    return coeff_rows


class _Loop:
    """One run's compiled loop and working arrays (copies: the plan stays as built)."""

    def __init__(self, plan):
        self.plan = plan
        self.state = np.ascontiguousarray(plan.state.copy())
        self.ring = np.ascontiguousarray(plan.ring.copy())
        self.i_ext = plan.i_const.copy()
        self.probes = np.empty((plan.n_steps, plan.probe_idx.size))
        self.compiled, self.pop_kind = kernel_for(plan.pop_models, plan.pop_coeffs)
        self.coeff_rows = _coeff_rows(plan)
        self.spike_steps = np.empty(1024, dtype=np.int64)
        self.spike_ids = np.empty(1024, dtype=np.int64)
        self.n_recorded = 0
        self.fired = np.zeros(plan.n_neurons)
        self.fired_bits = self.fired.view(np.uint64)
        self.spiking = np.empty(plan.n_neurons + int(np.diff(plan.input_ptr).max(initial=0)),
                                dtype=np.int64)
        # The learning state is updated in place.
        self.syn_state, self.queue = plan.syn_state.copy(), plan.queue.copy()
        self.queue_len = plan.queue_len.copy()

    def serial(self, t_begin: int, t_end: int, blocks: tuple, inbox_ptr=None, inbox_ids=None,
               inbox_step0: int = 0) -> None:
        """Steps ``[t_begin, t_end)`` in the serial loop (neuron update on the threads
        ``blocks`` give; inbox: exchange mode, see :func:`simulate_windows`)."""
        plan = self.plan
        self.spike_steps, self.spike_ids, self.n_recorded, self.queue = self.compiled.kernel(
            t_begin, t_end, plan.step0, self.state, self.ring, self.i_ext, plan.current_table,
            plan.current_target, plan.pop_start, plan.pop_stop, self.coeff_rows,
            self.pop_kind, *blocks, plan.indptr, plan.targets, plan.weights, plan.delays,
            plan.channels, plan.input_ptr, plan.input_ids, plan.spike_mask, plan.probe_var,
            plan.probe_idx, self.probes[t_begin:t_end], self.spike_steps, self.spike_ids,
            self.n_recorded, self.fired, self.fired_bits, self.spiking, plan.syn_rule,
            plan.rule_params, plan.decay_table, self.syn_state, plan.post_ptr, plan.post_syn,
            plan.post_rule, plan.plastic_count, self.queue, self.queue_len,
            plan.drive_target, plan.drive_row, plan.drive_mean, plan.drive_exp,
            plan.drive_weight, plan.drive_key, inbox_ptr, inbox_ids, inbox_step0)

    def output(self) -> BackendOutput:
        plastic = PlasticOutput(self.syn_state, self.queue, self.queue_len) \
            if self.plan.plastic else None
        n = self.n_recorded
        return BackendOutput(self.spike_steps[:n].copy(), self.spike_ids[:n].copy(),
                             self.probes, self.state, self.ring, plastic)


def simulate(plan, *, progress: bool = False, threads: int | None = None) -> BackendOutput:
    work = _Loop(plan)
    pool = numba.config.NUMBA_NUM_THREADS
    if threads is None:
        # All threads where the network is large enough to gain from them and the cores
        # are free (the result is the same for any count).
        threaded = run_work(plan) >= PARALLEL_MIN_WORK and pool > 1
        n_threads = min(pool, idle_cores()) if threaded else 1
    else:
        n_threads = threads
    if n_threads > 1 and not plan.plastic:
        run_steps = _threaded_steps(work, n_threads)
    else:
        # Plastic networks deliver on one thread (the order of learning events is global);
        # their neuron update still uses all threads when large enough.
        if threads is None and update_work(plan) >= PARALLEL_MIN_WORK:
            n_threads = pool
        blocks = _thread_blocks(plan.pop_start, plan.pop_stop, n_threads)
        if n_threads == 1:  # no part list selects the serial path
            blocks = blocks[:3] + (None,)

        def run_steps(t_begin, t_end):
            work.serial(t_begin, t_end, blocks)
    # Chunks only serve the progress bar; each is one call of the compiled loop.
    chunk = plan.n_steps if not progress else max(_CHUNK_MIN_STEPS, plan.n_steps // 100)
    bar = _progress_bar(plan, progress)
    for t_begin in range(0, plan.n_steps, chunk):
        t_end = min(plan.n_steps, t_begin + chunk)
        with _thread_count(n_threads):
            run_steps(t_begin, t_end)
        bar.update(round((t_end - t_begin) * plan.dt, 9))
    bar.close()
    return work.output()


def _threaded_steps(work: _Loop, n_threads: int) -> Callable[[int, int], None]:
    """A function running steps ``[t_begin, t_end)`` of ``work`` in the threaded loop, each
    of ``n_threads`` threads owning a range of neurons (see _step_parallel)."""
    plan = work.plan
    part_lo, part_hi = _target_parts(plan, n_threads)
    blocks = _part_blocks(plan.pop_start, plan.pop_stop, part_lo, part_hi)
    width = int((part_hi - part_lo).max())
    part_spikes = np.empty((n_threads, width), dtype=np.int64)
    part_count = np.zeros(n_threads, dtype=np.int64)
    bounds = np.append(part_lo, plan.n_neurons)
    drive_ptr = np.searchsorted(plan.drive_target, bounds).astype(np.int64)
    current_cols = np.argsort(plan.current_target, kind="stable").astype(np.int64)
    current_ptr = np.searchsorted(plan.current_target[current_cols], bounds).astype(np.int64)
    probe_cols = np.argsort(plan.probe_idx, kind="stable").astype(np.int64)
    probe_ptr = np.searchsorted(plan.probe_idx[probe_cols], bounds).astype(np.int64)

    def run_steps(t_begin: int, t_end: int) -> None:
        work.spike_steps, work.spike_ids, work.n_recorded = work.compiled.threaded(
            t_begin, t_end, plan.step0, work.state, work.ring, work.i_ext, plan.current_table,
            plan.current_target, current_ptr, current_cols, work.coeff_rows, work.pop_kind,
            *blocks, part_lo, part_hi, plan.indptr, plan.targets, plan.weights, plan.delays,
            plan.channels, plan.input_ptr, plan.input_ids, plan.spike_mask, plan.probe_var,
            plan.probe_idx, probe_ptr, probe_cols, work.probes[t_begin:t_end],
            work.spike_steps, work.spike_ids, work.n_recorded, work.fired, work.fired_bits,
            work.spiking, part_spikes, part_count, drive_ptr, plan.drive_target,
            plan.drive_row, plan.drive_mean, plan.drive_exp, plan.drive_weight,
            plan.drive_key)
    return run_steps


def simulate_windows(plan, *, window_steps: int, exchange: Callable, progress: bool = False
                     ) -> BackendOutput:
    """Run ``plan`` (one process's share of a network) in windows of ``window_steps`` steps,
    trading spikes with the other processes between windows.

    The plan's neurons are a share of the network's (local ids), its presynaptic ids are the
    whole network's.  Within a window the loop does every step but step 5; after it,
    ``exchange(t_begin, t_end, steps, ids)`` receives the window's spikes (steps relative to
    the run's start, local neuron ids, in step then id order) and returns every process's
    spikes of the window, input sources included, as the presynaptic ids fired at each step
    (``(ptr, ids)``, a CSR over the window's steps, ids ascending within a step).  The next
    window's first step delivers them, each from the step it was fired in; with every delay
    at least ``window_steps`` steps, each target then receives the same additions in the
    same order as in the one-process loop, so results are bitwise equal.  The last window's
    spikes are delivered after the loop, leaving the ring as a one-process run does.

    The plan's ``spike_mask`` should select every neuron (the record is what ``exchange``
    sees); the output's spikes are then every spike of the share, in local ids.
    """
    work = _Loop(plan)
    blocks = _thread_blocks(plan.pop_start, plan.pop_stop, 1)[:3] + (None,)
    inbox_ptr = np.zeros(1, dtype=np.int64)
    inbox_ids = np.zeros(0, dtype=np.int64)
    inbox_step0 = plan.step0
    bar = _progress_bar(plan, progress)
    with _thread_count(1):
        for t_begin in range(0, plan.n_steps, window_steps):
            t_end = min(plan.n_steps, t_begin + window_steps)
            first = work.n_recorded
            work.serial(t_begin, t_end, blocks, inbox_ptr, inbox_ids, inbox_step0)
            inbox_ptr, inbox_ids = exchange(t_begin, t_end,
                                            work.spike_steps[first:work.n_recorded],
                                            work.spike_ids[first:work.n_recorded])
            inbox_step0 = plan.step0 + t_begin
            bar.update(round((t_end - t_begin) * plan.dt, 9))
        work.queue = _push_window(inbox_step0, inbox_ptr, inbox_ids, work.state, work.ring,
                                  plan.indptr, plan.targets, plan.weights, plan.delays,
                                  plan.channels, plan.syn_rule, plan.plastic_count, work.queue,
                                  work.queue_len)
    bar.close()
    return work.output()
