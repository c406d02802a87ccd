"""NeuroBench (Yik et al., Nature Communications 2025): its metrics for every kind of
snnsim model, and the published tasks that run here.

```python
from snn.neurobench import smape, layer_operations, total_operations
import numpy as np

w = np.array([[1.0, 0.0], [0.5, 2.0]])
spikes = np.array([[[1.0, 0.0]], [[1.0, 1.0]]])         # [T=2, B=1, n_in=2]
print(total_operations([layer_operations(w, spikes)], n_samples=1))
# {'Effective_MACs': 0.0, 'Effective_ACs': 5.0, 'Dense': 8.0}
```

* :mod:`snn.neurobench.metrics`: footprint, connection and activation sparsity, synaptic
  operations (dense, effective MACs and ACs), membrane updates, sMAPE, by NeuroBench's
  definitions, from arrays; :func:`network_metrics` for a run of the engine.
* :mod:`snn.neurobench.mackey_glass`: NeuroBench's Mackey-Glass protocol
  (:func:`run_mackey_glass`) with an echo state network (:class:`ESNPredictor`) and a
  spiking reservoir (:class:`SpikingReservoirPredictor`).
* :mod:`snn.neurobench.memory`: memory capacity by ReservoirPy's documented protocol.
* :mod:`snn.neurobench.download_tasks`: NeuroBench's tasks that need a download (GSC, SHD,
  MSWC FSCIL, DVS Gesture, primate reaching), each trained and scored in one call
  (:func:`~snn.neurobench.download_tasks.run_download_task`) as a leaderboard row beside
  the published baselines.
* :mod:`snn.neurobench.harness` (needs the ``neurobench`` package, extra ``neurobench``):
  the wrappers that run snnsim's time-major torch models and echo state networks inside
  ``neurobench.benchmarks.Benchmark``.
"""

from .mackey_glass import (
    ESNPredictor,
    SpikingReservoirConfig,
    SpikingReservoirPredictor,
    run_mackey_glass,
)
from .memory import esn_memory_capacity, lsm_memory_capacity, memory_capacity_protocol
from .metrics import (
    LayerOperations,
    activation_sparsity,
    connection_sparsity,
    footprint,
    is_spiking,
    layer_operations,
    membrane_updates,
    smape,
    sparse_layer_operations,
    total_operations,
)

__all__ = [
    "ESNPredictor",
    "LayerOperations",
    "SpikingReservoirConfig",
    "SpikingReservoirPredictor",
    "activation_sparsity",
    "connection_sparsity",
    "esn_memory_capacity",
    "footprint",
    "is_spiking",
    "layer_operations",
    "lsm_memory_capacity",
    "membrane_updates",
    "memory_capacity_protocol",
    "run_mackey_glass",
    "smape",
    "sparse_layer_operations",
    "total_operations",
]
