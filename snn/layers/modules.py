"""Multi-step spiking layers (torch modules) over time-major ``[T, B, *features]`` input.

Each layer runs :func:`snn.layers.functional.lif_sequence`: one fused op for the whole
sequence (numba on CPU, Triton on CUDA), built on the model step of :mod:`snn.models`.
Per step, with ``beta`` the membrane decay and ``gain`` the input weight::

    u = beta * v + gain * x,   spike = H(u - threshold),   then reset

``gain`` is 1, or ``1 - beta`` with ``decay_input=True`` (SpikingJelly's ``decay_input``:
the input is low-pass filtered with the membrane).  ``LIF.from_tau`` sets ``beta`` from a
time constant in seconds and the step ``dt``.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import torch
from torch import nn

from ..models import RESET_MODES
from ..validation import check_choice, check_positive, check_real
from .functional import check_options, check_sequence_input, lif_sequence
from .surrogate import Surrogate

__all__ = ["LIF", "ALIF", "IF", "LayerState"]


class LayerState(NamedTuple):
    """State of a spiking layer between calls: membrane ``v`` and threshold offset ``a``,
    each ``[B, *features]``."""

    v: torch.Tensor
    a: torch.Tensor


def _size_tuple(size: int | tuple[int, ...] | None) -> tuple[int, ...]:
    if size is None:
        return ()
    if isinstance(size, int) and not isinstance(size, bool):
        size = (size,)
    if not isinstance(size, tuple) or not all(isinstance(s, int) and s > 0 for s in size):
        raise ValueError(f"size must be a positive int or a tuple of them, got {size!r}")
    return size


class LIF(nn.Module):
    """Leaky integrate-and-fire neurons, multi-step.

    ``size`` (features, optional) makes learnable ``beta``/``threshold`` per neuron; without
    it they are scalars.  ``reset`` is ``"subtract"`` (``v -= threshold``) or ``"value"``
    (``v = 0``), as in :mod:`snn.models`.  ``detach_reset`` stops the gradient through the
    reset (snntorch's default).
    ``surrogate`` sets the pseudo-derivative (default fast sigmoid, slope 25).
    """

    def __init__(
        self,
        size: int | tuple[int, ...] | None = None,
        *,
        beta: float = 0.9,
        threshold: float = 1.0,
        reset: str = "subtract",
        surrogate: Surrogate | None = None,
        learn_beta: bool = False,
        learn_threshold: bool = False,
        detach_reset: bool = False,
        decay_input: bool = False,
        backend: str = "auto",
    ) -> None:
        super().__init__()
        self.size = _size_tuple(size)
        check_choice("reset", reset, RESET_MODES)
        surrogate = check_options(backend, surrogate)
        beta = check_real("beta", beta, minimum=0.0, maximum=1.0)
        threshold = check_real("threshold", threshold)
        self.reset = reset
        self.surrogate = surrogate
        self.detach_reset = bool(detach_reset)
        self.decay_input = bool(decay_input)
        self.backend = backend
        self._register("beta", beta, learn_beta)
        self._register("threshold", threshold, learn_threshold)

    def _register(self, name: str, value: float, learn: bool) -> None:
        # Parameters take torch's default dtype; fixed values are kept in float64 so that a
        # float64 run uses them unrounded (forward casts them to the input's dtype).
        if learn:
            tensor = torch.full(self.size, value, dtype=torch.get_default_dtype())
            self.register_parameter(name, nn.Parameter(tensor))
        else:
            self.register_buffer(name, torch.full(self.size, value, dtype=torch.float64))

    @classmethod
    def from_tau(cls, tau: float, dt: float, size: int | tuple[int, ...] | None = None,
                 **kwargs) -> LIF:
        """A layer whose decay is ``exp(-dt / tau)`` for membrane time constant ``tau`` (s)
        and time step ``dt`` (s)."""
        tau = check_positive("tau", tau, unit="s")
        dt = check_positive("dt", dt, unit="s")
        return cls(size, beta=math.exp(-dt / tau), **kwargs)

    def _adaptation(self) -> tuple[float, float]:
        return 1.0, 0.0

    def _decay(self) -> torch.Tensor:
        return self.beta.clamp(0.0, 1.0)

    def forward(self, x: torch.Tensor, state: LayerState | None = None,
                return_state: bool = False) -> torch.Tensor | tuple[torch.Tensor, LayerState]:
        """Spikes ``[T, B, *features]`` for input ``x`` ``[T, B, *features]``; with
        ``return_state`` also the final :class:`LayerState` (pass it as ``state`` to go on)."""
        # The shape is needed here; lif_sequence checks the values, once.
        check_sequence_input(x, finite=False)
        if self.size and tuple(x.shape[2:]) != self.size:
            raise ValueError(f"x must have features {self.size} after [T, B], got shape "
                             f"{tuple(x.shape)}")
        if state is not None and not isinstance(state, LayerState):
            raise TypeError(f"state must be a LayerState, got {type(state).__name__}")
        beta = self._decay().to(x.dtype)
        gain = 1.0 - beta if self.decay_input else 1.0
        adapt_decay, adapt_increment = self._adaptation()
        spikes, v, a = lif_sequence(
            x, beta, self.threshold.to(x.dtype), gain=gain,
            v0=None if state is None else state.v, a0=None if state is None else state.a,
            reset=self.reset, v_reset=0.0,
            adapt_decay=adapt_decay, adapt_increment=adapt_increment, surrogate=self.surrogate,
            detach_reset=self.detach_reset, backend=self.backend)
        return (spikes, LayerState(v, a)) if return_state else spikes

    def extra_repr(self) -> str:
        return (f"size={self.size}, reset={self.reset!r}, surrogate={self.surrogate}, "
                f"learn_beta={isinstance(self.beta, nn.Parameter)}, "
                f"learn_threshold={isinstance(self.threshold, nn.Parameter)}")


class ALIF(LIF):
    """Adaptive-threshold LIF (Bellec et al. 2018): each spike raises the threshold by
    ``adapt_increment``; the rise decays by ``adapt_decay`` per step."""

    def __init__(self, size: int | tuple[int, ...] | None = None, *, adapt_decay: float = 0.95,
                 adapt_increment: float = 0.1, **kwargs) -> None:
        super().__init__(size, **kwargs)
        self.adapt_decay = check_real("adapt_decay", adapt_decay, minimum=0.0, maximum=1.0)
        self.adapt_increment = check_real("adapt_increment", adapt_increment)

    def _adaptation(self) -> tuple[float, float]:
        return self.adapt_decay, self.adapt_increment


class IF(LIF):
    """Non-leaky integrate-and-fire neurons (``beta = 1``)."""

    def __init__(self, size: int | tuple[int, ...] | None = None, *, threshold: float = 1.0,
                 reset: str = "subtract", surrogate: Surrogate | None = None,
                 learn_threshold: bool = False, detach_reset: bool = False,
                 backend: str = "auto") -> None:
        super().__init__(size, beta=1.0, threshold=threshold, reset=reset, surrogate=surrogate,
                         learn_threshold=learn_threshold, detach_reset=detach_reset,
                         backend=backend)
