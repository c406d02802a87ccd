"""What a run will need in memory, said before it starts.

:meth:`snn.Network.memory_estimate` adds up the arrays the engine allocates for a run of a
network: the lowered synapse table (:class:`snn.engine.Plan`), the ring buffer, the neuron
state and the backend's working copies, the input schedule and the records.  :func:`snn.run`
compares the figure with the memory available and refuses a run that cannot fit, before it
allocates anything.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import numpy as np

__all__ = ["MemoryEstimate", "available_memory"]

# Recorded spikes are not known in advance: the estimate assumes this mean rate (Hz) for
# every monitored neuron, generous for cortical models.
ASSUMED_RECORDED_RATE = 20.0
_SPIKE_RECORD_BYTES = 16  # step and id, int64 each
_GIB = 2.0 ** 30


@dataclass(frozen=True)
class MemoryEstimate:
    """Bytes a run needs, by part.

    ``network``: the network's own storage (its projections), already allocated when the
    estimate is made; ``synapses``: the engine's synapse table (targets, weights, delays,
    channels, row pointers, and the learning state of plastic synapses); ``neurons``: neuron
    state, ring buffer and external currents, with the backend's working copies; ``inputs``:
    the input-spike schedule; ``records``: recorded spikes (at
    :data:`ASSUMED_RECORDED_RATE` per monitored neuron) and state traces.  ``run`` is what a
    run adds (all but ``network``); ``peak`` includes the network.
    """

    network: int
    synapses: int
    neurons: int
    inputs: int
    records: int

    @property
    def run(self) -> int:
        """Bytes a run allocates on top of the network."""
        return self.synapses + self.neurons + self.inputs + self.records

    @property
    def peak(self) -> int:
        """Bytes held during a run, the network included."""
        return self.network + self.run

    def __str__(self) -> str:
        rows = [("network (projections)", self.network), ("engine synapse table", self.synapses),
                ("neuron state and ring buffer", self.neurons), ("input schedule", self.inputs),
                ("records", self.records), ("run adds", self.run), ("peak", self.peak)]
        return "\n".join(f"{name:30s} {value / _GIB:8.3f} GiB" for name, value in rows)


def available_memory() -> int:
    """Bytes a run may use: ``$SNNSIM_MEMORY_LIMIT`` (bytes) if set, else the memory the
    operating system reports available (``MemAvailable`` of ``/proc/meminfo``; on systems
    without it, the physical memory)."""
    limit = os.environ.get("SNNSIM_MEMORY_LIMIT")
    if limit:
        return int(float(limit))
    try:
        with open("/proc/meminfo") as handle:
            for line in handle:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return int(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES"))


def estimate(net, duration: float, plastic_bytes_per_synapse: int = 56) -> MemoryEstimate:
    """The :class:`MemoryEstimate` of a run of ``net`` for ``duration`` seconds (see
    :meth:`snn.Network.memory_estimate`)."""
    n_neurons = net.n_neurons
    n_ids = n_neurons + sum(s.n_neurons for s in net.sources.values())
    n_steps = int(round(duration / net.dt))
    network = 0
    n_syn = n_plastic = 0
    longest = 0
    for proj in net.projections:
        arrays = (proj.indptr, proj.post_indices, proj.weights, proj.delay_steps,
                  proj.connect_order)
        network += sum(a.nbytes for a in arrays if a is not None)
        n_syn += proj.n_synapses
        if proj.plasticity is not None:
            n_plastic += proj.n_synapses
        if proj.n_synapses:
            longest = max(longest, int(proj.delay_steps.max()))
    per_synapse = 4 + net.weight_dtype.itemsize + net.delay_dtype.itemsize + 1
    # Row pointers, and the per-id fill pointers used while the table is built.
    synapses = n_syn * per_synapse + 2 * (n_ids + 1) * 8
    if n_plastic:
        # Rule, provenance and position per synapse; learning state and target index per
        # plastic synapse.
        synapses += n_syn * 24 + n_plastic * plastic_bytes_per_synapse
    rows = max((len(p.model.state) for p in net.populations.values()), default=1)
    depth = longest + 1
    # State and ring, each held by the plan and copied by the backend; external current
    # and the spike buffers.
    neurons = 2 * (rows + 2 * depth) * n_neurons * 8 + 4 * n_neurons * 8
    for values in net.currents.values():
        if values.ndim == 2:
            neurons += min(values.shape[0], n_steps) * values.shape[1] * 8
    neurons += sum(d.rates.size for d in net.drives.values()) * 48
    spikes_in = 0.0
    for source in net.sources.values():
        if hasattr(source, "rates"):
            spikes_in += float(np.sum(source.rates)) * duration
        else:
            spikes_in += source.indices.size
    # Ids and steps of every input spike, sorted with a permutation, plus the step pointer.
    inputs = int(spikes_in * 32) + (n_steps + 1) * 8
    monitored = sum(net.populations[name].n_neurons for name in net.spike_monitors)
    probes = sum(p.indices.size for p in net.state_probes)
    records = int(monitored * ASSUMED_RECORDED_RATE * duration * _SPIKE_RECORD_BYTES * 2)
    records += n_steps * probes * 8 * 2
    return MemoryEstimate(network, synapses, neurons, inputs, records)
