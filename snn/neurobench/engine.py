"""NeuroBench's metrics of a run of the engine (:func:`snn.run`), which the harness cannot
hook: the definitions of :mod:`snn.neurobench.metrics` applied to the network's projections
and the run's spikes and membrane potentials.

* footprint: the arrays each projection stores (weights, postsynaptic indices, CSR row
  pointers, delays), as the engine holds them;
* connection sparsity: a projection from ``n_pre`` onto ``n_post`` neurons has
  ``n_pre * n_post`` possible weights, of which those of absent synapses and zero weights
  are zeros;
* activation sparsity: 1 - spikes / (neurons x steps) over the monitored populations;
* synaptic operations: every spike of a presynaptic neuron (a monitored population, or a
  spike source's given spikes) does one accumulation per nonzero outgoing weight; dense
  operations are ``steps * n_pre * n_post`` per projection;
* membrane updates: from the recorded ``v`` of populations whose every neuron is recorded
  (:meth:`snn.Network.monitor_state`); a population without a full record is left out.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from ..validation import check_int
from .metrics import (
    activation_sparsity,
    connection_sparsity,
    footprint,
    membrane_updates,
    sparse_layer_operations,
    total_operations,
)

if TYPE_CHECKING:  # pragma: no cover
    from ..network import Network
    from ..results import SimulationResult

__all__ = ["network_metrics"]


def _pre_counts(network, result, name: str) -> np.ndarray:
    if name in result.spikes:
        trains = result.spikes[name]
        return np.bincount(trains.indices, minlength=trains.n_neurons)
    source = network.sources.get(name)
    if source is not None and hasattr(source, "times"):
        end = result.t_start + result.n_steps * result.dt
        inside = (source.times >= result.t_start) & (source.times < end)
        return np.bincount(source.indices[inside], minlength=source.n_neurons)
    raise ValueError(f"the spikes of {name!r} are not known: monitor the population "
                     f"(Network.monitor_spikes) or use a spike source with given spikes")


def network_metrics(network: Network, result: SimulationResult, n_samples: int = 1) -> dict:
    """NeuroBench's metrics of one run of ``network``, per sample.

    Args:
        network: the :class:`snn.Network` that ran.
        result: the :class:`snn.SimulationResult` of the run.
        n_samples: samples the run processed (>= 1), to express the counts per sample.

    Returns:
        The harness's keys: ``Footprint`` (bytes), ``ConnectionSparsity``,
        ``ActivationSparsity``, ``SynapticOperations`` (``Effective_MACs``,
        ``Effective_ACs``, ``Dense``) and ``MembraneUpdates`` (None when no population has
        a full ``v`` record).
    """
    n_samples = check_int("n_samples", n_samples, minimum=1)
    sizes = {name: p.n_neurons for name, p in network.populations.items()}
    sizes.update({name: s.n_neurons for name, s in network.sources.items()})
    arrays, weights, ops = [], [], []
    for proj in network.projections:
        arrays += [proj.weights, proj.post_indices, proj.indptr, proj.delay_steps]
        n_pre, n_post = sizes[proj.pre], sizes[proj.post]
        w = np.asarray(proj.weights)
        weights.append((n_pre * n_post - int(np.count_nonzero(w)), n_pre * n_post))
        ops.append(sparse_layer_operations(proj.indptr, w, _pre_counts(network, result,
                                                                       proj.pre),
                                           n_post, result.n_steps))
    spikes = []
    for trains in result.spikes.values():
        raster = np.zeros((result.n_steps, trains.n_neurons), dtype=np.uint8)
        steps = np.clip(np.round((trains.times - result.t_start) / result.dt).astype(np.int64),
                        0, result.n_steps - 1)
        np.add.at(raster, (steps, trains.indices), 1)
        spikes.append(raster)
    updates = None
    for name, n in sizes.items():
        trace = result.traces.get(name, {}).get("v")
        if name in network.populations and trace is not None and trace.shape[1] == n:
            updates = (updates or 0.0) + membrane_updates(trace, n_samples)
    return {
        "Footprint": footprint(arrays),
        "ConnectionSparsity": connection_sparsity(weights) if weights else 0.0,
        "ActivationSparsity": activation_sparsity(spikes),
        "SynapticOperations": total_operations(ops, n_samples),
        "MembraneUpdates": updates,
    }
