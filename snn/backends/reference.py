"""Reference backend: numpy float64, one vectorised model step per population and step.

This is the executable specification of the engine (see :mod:`snn.engine` for the per-step
algorithm).  It is slow by design; the compiled backends must equal it bit for bit.
"""

from __future__ import annotations

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
            syn = slice(plan.indptr[src], plan.indptr[src + 1])
            if depth == 1:
                np.add.at(state, (channel_rows[syn], plan.targets[syn]), plan.weights[syn])
            else:
                slots = (absolute + plan.delays[syn]) % depth
                np.add.at(ring, (slots, plan.channels[syn], plan.targets[syn]), plan.weights[syn])
        if depth > 1:
            slot = absolute % depth
            state[1] += ring[slot, 0]
            state[2] += ring[slot, 1]
            ring[slot] = 0.0
    return (
        np.concatenate(spike_steps) if spike_steps else np.zeros(0, dtype=np.int64),
        np.concatenate(spike_ids) if spike_ids else np.zeros(0, dtype=np.int64),
        probes,
        state,
        ring,
    )
