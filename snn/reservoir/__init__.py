"""Reservoir computing: echo state networks, liquid state machines on the engine, local
adaptation of the excitation/inhibition balance, shared linear readouts, and the
resistive-memory zero-shot LSM.

```python
from snn.data import narma10
from snn.reservoir import ESN, ESNConfig, RidgeReadout

u, y = narma10(4000, rng=0)
states = ESN(ESNConfig(n_neurons=100, spectral_radius=0.9, input_scaling=0.5), rng=0).run(u)
readout = RidgeReadout(alpha=1e-6, washout_steps=100).fit(states[:2000], y[:2000])
print(readout.score(states[2000:], y[2000:]))          # test NRMSE
```

* :class:`ESNConfig`, :class:`ESN`: rate reservoir (leak, spectral radius, input scaling,
  sparsity, optional E/I units), compiled time loop.
* :class:`LSMConfig`, :class:`LSM`, :func:`spike_features`: 80/20 E/I LIF liquid on the
  engine under Dale's law; windowed spike counts or filtered traces.
* :func:`activity_targets`, :func:`adapt_esn`, :func:`adapt_lsm`: each neuron adapts its
  inhibition toward its (homogeneous or heterogeneous) target rate.
* :class:`RidgeReadout`, :class:`LogisticReadout`, :func:`nrmse`, :func:`memory_capacity`.
* :class:`ResistiveLSM`, :class:`ZeroShotConfig`, :func:`zero_shot_experiment`: LSM weights
  from a device preset's switching statistics, contrastive cross-modal zero-shot learning.
"""

from .adaptation import activity_targets, adapt_esn, adapt_lsm
from .esn import ESN, ESNConfig
from .lsm import LSM, LSMConfig, spike_features
from .readout import LogisticReadout, RidgeReadout, memory_capacity, nrmse
from .zero_shot import (
    ResistiveLSM,
    ZeroShotConfig,
    train_projections,
    zero_shot_accuracy,
    zero_shot_experiment,
)

__all__ = [
    "ESN",
    "ESNConfig",
    "LSM",
    "LSMConfig",
    "LogisticReadout",
    "ResistiveLSM",
    "RidgeReadout",
    "ZeroShotConfig",
    "activity_targets",
    "adapt_esn",
    "adapt_lsm",
    "memory_capacity",
    "nrmse",
    "spike_features",
    "train_projections",
    "zero_shot_accuracy",
    "zero_shot_experiment",
]
