"""Training layers: multi-step spiking neurons over time-major ``[T, B, ...]`` tensors.

``LIF``, ``ALIF`` and ``IF`` are torch modules; ``lif_sequence`` is their fused functional
form (one autograd op for the whole sequence, hand-written backward, numba kernels on CPU and
Triton kernels on CUDA); ``Surrogate`` selects the pseudo-derivative of the spike.
"""

from .functional import LIF_BACKENDS, RESETS, lif_sequence
from .modules import ALIF, IF, LAYER_RESETS, LIF, LayerState
from .surrogate import SURROGATE_KINDS, Surrogate, spike

__all__ = [
    "ALIF",
    "IF",
    "LAYER_RESETS",
    "LIF",
    "LIF_BACKENDS",
    "LayerState",
    "RESETS",
    "SURROGATE_KINDS",
    "Surrogate",
    "lif_sequence",
    "spike",
]
