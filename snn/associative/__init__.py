"""Associative memory: the multitasking Hebbian network (Hopfield network on diluted
patterns) with couplings built from the patterns or from noisy examples, with or without a
teacher; compiled Glauber dynamics; the low-storage statistical mechanics.

```python
from snn.associative import MultitaskingConfig, build_network, glauber, random_state

config = MultitaskingConfig(n_neurons=2000, n_patterns=3, dilution=0.3,
                            quality=0.8, n_examples=20, training="unsupervised")
patterns, examples, couplings = build_network(config)
result = glauber(couplings, random_state(2000, rng=1), patterns, n_sweeps=20, rng=2)
print(result.magnetizations[-1])    # 0.31 1.01 0.07: (1, d, d^2) in some order
```

* :class:`MultitaskingConfig`, :func:`diluted_patterns`, :func:`noisy_examples`: the data
  (dilution d, example quality r, M examples per pattern).
* :class:`Couplings`, :func:`hopfield_couplings`, :func:`supervised_couplings`,
  :func:`unsupervised_couplings`, :func:`build_network`: exact integer-factored couplings,
  with dense and sparse layouts and their memory.
* :func:`glauber`: zero- and finite-temperature dynamics, sequential or parallel, compiled
  (``backend="numba"``) or the numpy reference; :func:`mattis_magnetizations`,
  :func:`hamiltonian`, :func:`sse_loss`, :func:`noisy_cue`, :func:`random_state`.
* :func:`solve_self_consistency`, :func:`hierarchical_magnetizations`,
  :func:`hierarchical_critical_dilution`, :func:`retrieval_magnetization`,
  :func:`learning_threshold`: the theory the simulations are checked against.
* :class:`SpikingRetrievalConfig`, :func:`spiking_retrieval`: the same couplings on LIF
  neurons in the engine (signed synapses or an excitatory/inhibitory split, delays).
"""

from .couplings import (
    REPRESENTATIONS,
    Couplings,
    build_network,
    hopfield_couplings,
    supervised_couplings,
    unsupervised_couplings,
)
from .data import (
    TRAINING,
    MultitaskingConfig,
    dataset_entropy,
    diluted_patterns,
    low_storage_bound,
    noisy_examples,
)
from .dynamics import (
    BACKENDS,
    UPDATES,
    GlauberResult,
    glauber,
    hamiltonian,
    mattis_magnetizations,
    noisy_cue,
    random_state,
    sse_loss,
)
from .spiking import SpikingRetrievalConfig, SpikingRetrievalResult, spiking_retrieval
from .theory import (
    SelfConsistencySolution,
    hierarchical_critical_dilution,
    hierarchical_magnetizations,
    learning_threshold,
    retrieval_magnetization,
    solve_self_consistency,
)

__all__ = [
    "BACKENDS",
    "REPRESENTATIONS",
    "TRAINING",
    "UPDATES",
    "Couplings",
    "GlauberResult",
    "MultitaskingConfig",
    "SelfConsistencySolution",
    "SpikingRetrievalConfig",
    "SpikingRetrievalResult",
    "build_network",
    "dataset_entropy",
    "diluted_patterns",
    "glauber",
    "hamiltonian",
    "hierarchical_critical_dilution",
    "hierarchical_magnetizations",
    "hopfield_couplings",
    "learning_threshold",
    "low_storage_bound",
    "mattis_magnetizations",
    "noisy_cue",
    "noisy_examples",
    "random_state",
    "retrieval_magnetization",
    "solve_self_consistency",
    "spiking_retrieval",
    "sse_loss",
    "supervised_couplings",
    "unsupervised_couplings",
]
