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
* :class:`BalanceConfig`, :class:`BalancedReservoir`, :func:`rate_targets`,
  :func:`dynamics_check`: the sigmoid-rate E/I reservoir of Srinivasan et al. (2025) with its
  per-synapse inhibitory rule, one-shot inhibitory design, global-balance baseline, and the
  self-sustained-activity / echo-state checks.
* :func:`activity_targets`, :func:`adapt_esn`, :func:`adapt_lsm`: our earlier variant (one
  inhibitory gain per neuron, rectified-tanh rates; the LSM one chunk-wise on the engine);
  :func:`adapt_lsm_online`: our spiking form of the per-synapse rule, learned inside the
  engine's time loop; :func:`adapt_lsm_synapses`: the same rule between 1 ms engine chunks.
* :class:`RidgeReadout`, :class:`LogisticReadout`, :func:`nrmse`, :func:`memory_capacity`.
* :class:`SwitchingLSM`, :func:`switching_weights`, :class:`ZeroShotConfig`,
  :func:`zero_shot_experiment`, :func:`retrieval_accuracy`, :func:`retrieval_chance`,
  :func:`check_class_split`, :func:`training_macs`: the zero-shot LSM of Lin et al. (2025):
  fixed random liquids whose weights come from resistive switching stochasticity,
  contrastive projections trained on some classes, top-1 cross-modal retrieval of seen and
  unseen classes.  :class:`ResistiveLSM` and :func:`zero_shot_accuracy`: the earlier Dale
  liquid on programmed devices and the prototype-based measure.
* :class:`SRNNClipConfig`, :func:`srnn_clip_experiment`, :func:`srnn_training_macs`: the
  jointly trained spiking-RNN baseline (SRNN-CLIP) on the same split.
"""

from .adaptation import (
    activity_targets,
    adapt_esn,
    adapt_lsm,
    adapt_lsm_online,
    adapt_lsm_synapses,
)
from .balance import (
    BalanceConfig,
    BalancedReservoir,
    DynamicsCheck,
    dynamics_check,
    rate_targets,
)
from .esn import ESN, ESNConfig
from .lsm import LSM, LSMConfig, spike_features
from .readout import LogisticReadout, RidgeReadout, memory_capacity, nrmse
from .srnn_clip import SRNNClipConfig, srnn_clip_experiment, srnn_training_macs
from .zero_shot import (
    ResistiveLSM,
    SwitchingLSM,
    ZeroShotConfig,
    check_class_split,
    retrieval_accuracy,
    retrieval_chance,
    switching_weights,
    train_projections,
    training_macs,
    zero_shot_accuracy,
    zero_shot_experiment,
)

__all__ = [
    "BalanceConfig",
    "BalancedReservoir",
    "DynamicsCheck",
    "ESN",
    "ESNConfig",
    "LSM",
    "LSMConfig",
    "LogisticReadout",
    "ResistiveLSM",
    "RidgeReadout",
    "SRNNClipConfig",
    "SwitchingLSM",
    "ZeroShotConfig",
    "activity_targets",
    "check_class_split",
    "adapt_esn",
    "adapt_lsm",
    "adapt_lsm_online",
    "adapt_lsm_synapses",
    "memory_capacity",
    "dynamics_check",
    "nrmse",
    "rate_targets",
    "retrieval_accuracy",
    "retrieval_chance",
    "spike_features",
    "srnn_clip_experiment",
    "srnn_training_macs",
    "switching_weights",
    "train_projections",
    "training_macs",
    "zero_shot_accuracy",
    "zero_shot_experiment",
]
