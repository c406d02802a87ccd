"""Reference backend: numpy float64, one vectorised model step per population and step.

This is the executable specification of the engine (see :mod:`snn.engine` for the per-step
algorithm).  It is slow by design; the compiled backends must equal it bit for bit.
"""

from __future__ import annotations

import numpy as np
from tqdm.auto import tqdm

from ..models import heaviside
from ..plasticity import (
    maximum_scalar,
    minimum_scalar,
    stdp_post_event,
    stdp_pre_event,
    weight_dependence_scalar,
)
from ..random_streams import drive_counts
from ..vector_exp import exp_numpy
from . import BackendOutput, PlasticOutput


def simulate(plan, *, progress: bool = False) -> BackendOutput:
    state = plan.state.copy()
    ring = plan.ring.copy()
    depth = ring.shape[0]
    i_ext = plan.i_const.copy()
    n_probe = plan.probe_idx.size
    probes = np.empty((plan.n_steps, n_probe))
    spike_steps, spike_ids = [], []
    monitored = plan.spike_mask.astype(bool)
    channel_rows = 1 + plan.channels.astype(np.int64)
    delays = plan.delays.astype(np.int64)  # compact unsigned storage: widen before adding
    plastic = plan.plastic
    weights = plan.weights
    if plastic:
        syn_state = plan.syn_state.copy()
        q_depth = plan.queue.shape[0]
        queue = [list(plan.queue[slot, :plan.queue_len[slot]]) for slot in range(q_depth)]
        static = plan.syn_rule < 0
    for t in tqdm(range(plan.n_steps), disable=not progress, desc="reference", unit="step"):
        absolute = plan.step0 + t
        if n_probe:
            probes[t] = state[plan.probe_var, plan.probe_idx]
        if plan.current_target.size:
            i_ext[plan.current_target] = plan.current_table[t]
        fired = np.zeros(state.shape[1])
        for start, stop, model, c in zip(plan.pop_start, plan.pop_stop, plan.pop_models,
                                         plan.pop_coeffs):
            rows = model.engine_rows
            s = model.state_type(*(state[row, start:stop] for row in rows))
            new, spike = model.step(s, i_ext[start:stop], c, heaviside, exp_numpy)
            for row, values in zip(rows, new):
                state[row, start:stop] = values
            fired[start:stop] = spike
        neuron_ids = np.flatnonzero(fired)
        recorded = neuron_ids[monitored[neuron_ids]]
        spike_steps.append(np.full(recorded.size, t, dtype=np.int64))
        spike_ids.append(recorded)
        ids = np.concatenate(
            [neuron_ids, plan.input_ids[plan.input_ptr[t]:plan.input_ptr[t + 1]]])
        for src in ids:
            syn = slice(plan.indptr[src], plan.indptr[src + 1])
            if plastic:  # plastic synapses wait in the queue; the static ones go on below
                row = np.arange(syn.start, syn.stop)
                for k in row[~static[row]]:
                    queue[(absolute + delays[k]) % q_depth].append(k)
                syn = row[static[row]]
            if depth == 1:
                np.add.at(state, (channel_rows[syn], plan.targets[syn]), weights[syn])
            else:
                slots = (absolute + delays[syn]) % depth
                np.add.at(ring, (slots, plan.channels[syn], plan.targets[syn]), weights[syn])
        if depth > 1:
            slot = absolute % depth
            state[1] += ring[slot, 0]
            state[2] += ring[slot, 1]
            ring[slot] = 0.0
        if plan.drive_target.size:
            counts = drive_counts(plan.drive_key, plan.drive_mean, plan.drive_exp, absolute)
            hit = counts != 0
            # In entry order (by target, then drive), as the compiled loop adds them.
            np.add.at(state, (plan.drive_row[hit], plan.drive_target[hit]),
                      counts[hit] * plan.drive_weight[hit])
        if plastic:
            arrivals = queue[absolute % q_depth]
            for k in arrivals:
                syn = syn_state[k]  # weight, pre trace, post trace, last event step
                state[channel_rows[k], plan.targets[k]] += syn[0]
                r = plan.syn_rule[k]
                _pair_event(syn, absolute, plan.rule_params[r], plan.decay_table[r], post=False)
            arrivals.clear()
            for j in neuron_ids:
                for m in range(plan.post_ptr[j], plan.post_ptr[j + 1]):
                    syn = syn_state[plan.post_syn[m]]
                    r = plan.post_rule[m]
                    _pair_event(syn, absolute, plan.rule_params[r], plan.decay_table[r],
                                post=True)
    plastic_out = None
    if plastic:
        queue_len = np.array([len(q) for q in queue], dtype=np.int64)
        queue_arr = np.zeros((q_depth, max(1, int(queue_len.max()))), dtype=np.int64)
        for slot, q in enumerate(queue):
            queue_arr[slot, :len(q)] = q
        plastic_out = PlasticOutput(syn_state, queue_arr, queue_len)
    return BackendOutput(
        np.concatenate(spike_steps) if spike_steps else np.zeros(0, dtype=np.int64),
        np.concatenate(spike_ids) if spike_ids else np.zeros(0, dtype=np.int64),
        probes,
        state,
        ring,
        plastic_out,
    )


def _pair_event(syn, absolute, rule, table, post: bool) -> None:
    """One spike event at a plastic synapse (``syn``: its row of ``syn_state``, updated in
    place; ``rule``: its row of ``rule_params``): the rule of
    :func:`snn.plasticity.stdp_pre_event` (a presynaptic arrival) or
    :func:`snn.plasticity.stdp_post_event` (a postsynaptic spike) at step ``absolute``."""
    decay_pre, decay_post = _decay_factors(syn, absolute, rule, table)
    drift = (absolute - np.int64(syn[3])) * rule[7]
    if post:
        syn[0], syn[1], syn[2] = stdp_post_event(
            syn[0], syn[1], syn[2], decay_pre, decay_post, drift, rule[0], rule[8], rule[4],
            rule[5], rule[6], weight_dependence_scalar, minimum_scalar, maximum_scalar)
    else:
        syn[0], syn[1], syn[2] = stdp_pre_event(
            syn[0], syn[1], syn[2], decay_pre, decay_post, drift, rule[1], rule[4], rule[5],
            rule[6], weight_dependence_scalar, minimum_scalar, maximum_scalar)
    syn[3] = absolute


def _decay_factors(syn, absolute, rule, table) -> tuple[float, float]:
    """Decay factors of the presynaptic and postsynaptic traces of a synapse (``syn``: its
    row of ``syn_state``) from its last event to step ``absolute``: from the table ``[2, L]``
    for gaps shorter than ``L`` steps, else by the same expression; 1 for no gap."""
    n = absolute - np.int64(syn[3])
    if n == 0:
        return 1.0, 1.0
    if n < table.shape[1]:
        return table[0, n], table[1, n]
    return float(exp_numpy(-(n * rule[2]))), float(exp_numpy(-(n * rule[3])))
