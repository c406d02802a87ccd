"""Training layers: multi-step spiking neurons over time-major ``[T, B, ...]`` tensors.

``LIF``, ``ALIF`` and ``IF`` are torch modules; ``lif_sequence`` is their fused functional
form (one autograd op for the whole sequence, hand-written backward, numba kernels on CPU and
Triton kernels on CUDA); ``Surrogate`` selects the pseudo-derivative of the spike.
``DelayedLinear`` / ``delayed_linear`` are synapses with learnable delays (DCLS over time),
and ``DelayNetwork`` the paper's feed-forward delay network, which ``to_network`` and
``run_exported`` (:mod:`snn.layers.export`) carry to the engine.
"""

from .delay_network import DELAY_MODES, DelayNetwork, DelayNetworkConfig
from .delays import (
    DELAY_BACKENDS,
    DelayedLinear,
    delay_kernel,
    delayed_linear,
    sigma_schedule,
)
from .export import run_exported, to_network
from .functional import LIF_BACKENDS, lif_sequence
from .modules import ALIF, IF, LIF, LayerState
from .surrogate import SURROGATE_KINDS, Surrogate, spike

__all__ = [
    "ALIF",
    "DELAY_BACKENDS",
    "DELAY_MODES",
    "DelayNetwork",
    "DelayNetworkConfig",
    "DelayedLinear",
    "IF",
    "LIF",
    "LIF_BACKENDS",
    "LayerState",
    "SURROGATE_KINDS",
    "Surrogate",
    "delay_kernel",
    "delayed_linear",
    "lif_sequence",
    "run_exported",
    "sigma_schedule",
    "spike",
    "to_network",
]
