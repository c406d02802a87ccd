"""Reference backend: numpy float64, one vectorised model step per population and step.

This is the executable specification of the engine (see :mod:`snn.engine` for the per-step
algorithm).  It is slow by design; the compiled backends must equal it bit for bit.
"""

from __future__ import annotations

import math

import numpy as np
from tqdm.auto import tqdm

from ..models import NeuronState, heaviside, step_conductance, step_current
from ..vector_exp import exp_numpy


def simulate(plan, progress: bool = False):
    state = plan.state.copy()
    ring = plan.ring.copy()
    depth = ring.shape[0]
    i_ext = plan.i_const.copy()
    n_probe = plan.probe_idx.size
    probes = np.empty((plan.n_steps, n_probe))
    spike_steps, spike_ids = [], []
    monitored = plan.spike_mask.astype(bool)
    channel_rows = 1 + plan.channels
    plastic = plan.plastic
    if plastic:
        weights = plan.weights.copy()
        pre_trace, post_trace = plan.pre_trace.copy(), plan.post_trace.copy()
        last_step = plan.last_step.copy()
        q_depth = plan.queue.shape[0]
        queue = [list(plan.queue[slot, :plan.queue_len[slot]]) for slot in range(q_depth)]
        static = plan.syn_rule < 0
    else:
        weights = plan.weights
    for t in tqdm(range(plan.n_steps), disable=not progress, desc="reference", unit="step"):
        absolute = plan.step0 + t
        if n_probe:
            probes[t] = state[plan.probe_var, plan.probe_idx]
        if plan.current_target.size:
            i_ext[plan.current_target] = plan.current_table[t]
        fired = np.zeros(state.shape[1])
        for start, stop, c in zip(plan.pop_start, plan.pop_stop, plan.pop_coeffs):
            s = NeuronState(*(state[row, start:stop] for row in range(state.shape[0])))
            if c.conductance:
                new, spike = step_conductance(s, i_ext[start:stop], c, heaviside, exp_numpy)
            else:
                new, spike = step_current(s, i_ext[start:stop], c, heaviside)
            for row, values in enumerate(new):
                state[row, start:stop] = values
            fired[start:stop] = spike
        neuron_ids = np.flatnonzero(fired)
        recorded = neuron_ids[monitored[neuron_ids]]
        spike_steps.append(np.full(recorded.size, t, dtype=np.int64))
        spike_ids.append(recorded)
        ids = np.concatenate(
            [neuron_ids, plan.input_ids[plan.input_ptr[t]:plan.input_ptr[t + 1]]])
        for src in ids:
            syn = np.arange(plan.indptr[src], plan.indptr[src + 1])
            if plastic:
                for k in syn[~static[syn]]:
                    queue[(absolute + plan.delays[k]) % q_depth].append(k)
                syn = syn[static[syn]]
            if depth == 1:
                np.add.at(state, (channel_rows[syn], plan.targets[syn]), weights[syn])
            else:
                slots = (absolute + plan.delays[syn]) % depth
                np.add.at(ring, (slots, plan.channels[syn], plan.targets[syn]), weights[syn])
        if depth > 1:
            slot = absolute % depth
            state[1] += ring[slot, 0]
            state[2] += ring[slot, 1]
            ring[slot] = 0.0
        if plastic:
            arrivals = queue[absolute % q_depth]
            for k in arrivals:
                state[channel_rows[k], plan.targets[k]] += weights[k]
                rule = plan.rule_params[plan.syn_rule[k]]
                _decay(k, absolute, rule, pre_trace, post_trace, last_step)
                weights[k] = min(max(weights[k] - rule[1] * post_trace[k], rule[4]), rule[5])
                pre_trace[k] += 1.0
            arrivals.clear()
            for j in neuron_ids:
                for k in plan.post_syn[plan.post_ptr[j]:plan.post_ptr[j + 1]]:
                    rule = plan.rule_params[plan.syn_rule[k]]
                    _decay(k, absolute, rule, pre_trace, post_trace, last_step)
                    weights[k] = min(max(weights[k] + rule[0] * pre_trace[k], rule[4]), rule[5])
                    post_trace[k] += 1.0
    plastic_out = ()
    if plastic:
        queue_len = np.array([len(q) for q in queue], dtype=np.int64)
        queue_arr = np.zeros((q_depth, max(1, int(queue_len.max()))), dtype=np.int64)
        for slot, q in enumerate(queue):
            queue_arr[slot, :len(q)] = q
        plastic_out = ((weights, pre_trace, post_trace, last_step, queue_arr, queue_len),)
    return (
        np.concatenate(spike_steps) if spike_steps else np.zeros(0, dtype=np.int64),
        np.concatenate(spike_ids) if spike_ids else np.zeros(0, dtype=np.int64),
        probes,
        state,
        ring,
    ) + plastic_out


def _decay(k, absolute, rule, pre_trace, post_trace, last_step) -> None:
    """Decay the traces of synapse ``k`` from its last event to step ``absolute``."""
    n = absolute - last_step[k]
    if n != 0:
        pre_trace[k] *= math.exp(-(n * rule[2]))
        post_trace[k] *= math.exp(-(n * rule[3]))
        last_step[k] = absolute
