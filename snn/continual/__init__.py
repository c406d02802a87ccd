"""Continual learning of spiking networks: HLOP, baselines, and the ACC / BWT harness.

HLOP (Xiao et al., "Hebbian Learning based Orthogonal Projection for Continual Learning of
Spiking Neural Networks", ICLR 2024): for every Linear layer, lateral "subspace" neurons
``H`` ``[k, n_in]`` learn the principal subspace of the layer's presynaptic activity with
Oja's subspace rule (:func:`snn.plasticity.oja_subspace`, a few Hebbian iterations per
training batch).  At each task start ``k`` new lateral neurons are added, initialised
orthonormal and orthogonal to the older ones; the older ones are frozen but still take part
in the reconstruction, so the new ones learn what the old ones miss.  At each task end the
neurons keep learning for a few forward-only passes with a decaying step, then the subspace
is consolidated.  The projection below is orthogonal only if the learned rows are
orthonormal: a row of norm < 1 lets part of an old direction's gradient through.  The
forward pass is unchanged; only weight updates are projected onto the orthogonal complement
of the consolidated subspace::

    dW <- dW (I - H^T H)        (BPTT: the weight gradient, before the optimiser step)
    dW = g_t^T (a_t - H^T H a_t)  (online: the presynaptic trace a_t is projected)

```python
from snn.continual import ContinualConfig, run_continual
from snn.data import permuted_digits_tasks

result = run_continual(permuted_digits_tasks(5), ContinualConfig(method="hlop", epochs=5))
print(result.acc, result.bwt)      # percent; result.accuracy is R [tasks, tasks]
```

* :class:`HebbianSubspace` (Oja subspace rule, the HLOP lateral neurons) and
  :class:`PCASubspace` (same sizes, exact principal components of the accumulated
  correlation, for comparison); :class:`ProjectedOptimizer` projects gradients before a
  torch optimiser's step.
* :class:`SpikingHebbianSubspace`: the same lateral circuit with spiking (integrate-and-fire)
  lateral neurons, as in the paper's spiking variant (:func:`lateral_spike_counts`);
  :class:`GPMSubspace`: gradient projection memory (Saha et al. 2021), the exact-subspace
  baseline, with its energy threshold.
* :class:`SpikingConvNet`: ``[Conv -> LIF -> pool] * n -> Linear`` (1-D or 2-D); HLOP and
  GPM project a convolution's updates on its unfolded input patches (:func:`unfold_patches`).
* :class:`SpikingMLP`: ``Linear -> LIF -> ... -> Linear`` read out as the time mean, on
  ``[T, B, features]``; :meth:`SpikingMLP.online_loss` runs it step by step with
  trace-based weight gradients (OTTT: Xiao et al., NeurIPS 2022).
* :class:`ContinualConfig`, :func:`run_continual`, :class:`ContinualResult`,
  :func:`continual_metrics`: methods ``hlop``, ``hlop-spiking``, ``hlop-pca``, ``gpm``,
  ``replay`` (a small buffer of past samples), ``hlop-replay``, ``finetune``, ``ewc``
  (Kirkpatrick et al. 2017), ``multitask`` (joint training on all tasks, the upper bound);
  training ``bptt`` (surrogate gradients through time) or ``online``.

ACC and BWT follow Lopez-Paz & Ranzato (GEM, 2017), as in HLOP: with ``R[i, j]`` the test
accuracy on task ``j`` after training on task ``i`` (``T`` tasks), ``ACC = mean_j R[T-1, j]``
and ``BWT = mean_{j < T-1} (R[T-1, j] - R[j, j])``.

Modules: :mod:`.subspaces` (the lateral subspace neurons and the projection),
:mod:`.model` (the network), :mod:`.harness` (settings, training loop, metrics).
"""

from .harness import (
    ACTIVITIES,
    ARCHITECTURES,
    ENCODINGS,
    METHODS,
    TRAININGS,
    ContinualConfig,
    ContinualResult,
    continual_metrics,
    run_continual,
)
from .model import SpikingConvNet, SpikingMLP, unfold_patches
from .subspaces import (
    GPMSubspace,
    HebbianSubspace,
    PCASubspace,
    ProjectedOptimizer,
    SpikingHebbianSubspace,
    lateral_spike_counts,
)

__all__ = [
    "ACTIVITIES",
    "ARCHITECTURES",
    "ENCODINGS",
    "METHODS",
    "TRAININGS",
    "ContinualConfig",
    "ContinualResult",
    "GPMSubspace",
    "HebbianSubspace",
    "PCASubspace",
    "ProjectedOptimizer",
    "SpikingConvNet",
    "SpikingHebbianSubspace",
    "SpikingMLP",
    "continual_metrics",
    "lateral_spike_counts",
    "run_continual",
    "unfold_patches",
]
