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
from typing import Any, NamedTuple

import torch
from torch import nn

from ..models import RESET_MODES
from ..validation import check_choice, check_int, check_positive, check_real
from .functional import check_options, check_sequence_input, lif_sequence
from .surrogate import Surrogate

__all__ = ["LIF", "ALIF", "IF", "LayerState"]


class LayerState(NamedTuple):
    """State of a spiking layer between calls, as :class:`snn.models.NeuronState` names it.

    Shapes:
        Both fields ``[B, *features]``, in the layer's membrane units.
    """

    v: torch.Tensor  #: membrane potential after the last step
    adaptation: torch.Tensor  #: threshold offset after the last step (0 without adaptation)


def _feature_shape(n_neurons: int | tuple[int, ...] | None) -> tuple[int, ...]:
    if n_neurons is None:
        return ()
    if isinstance(n_neurons, tuple):
        return tuple(check_int(f"n_neurons[{i}]", n, minimum=1) for i, n in enumerate(n_neurons))
    return (check_int("n_neurons", n_neurons, minimum=1),)


class LIF(nn.Module):
    """Leaky integrate-and-fire neurons, multi-step: ``u = beta * v + gain * x``, spike
    where ``u > threshold``, then reset (see the module docstring).

    The layer is dimensionless: inputs and thresholds are in the same (membrane) units, and
    time is counted in steps; :meth:`from_tau` converts a time constant in seconds.

    Args:
        n_neurons: number of neurons (or the feature shape ``*features``) that gets one
            ``beta`` and one ``threshold`` each; None (default): one scalar of each, shared
            by all neurons.
        beta: membrane decay per step, in ``[0, 1]`` (1: no leak).
        threshold: firing threshold (membrane units).
        reset: ``"subtract"`` (``v -= threshold``) or ``"value"`` (``v = 0``), as in
            :mod:`snn.models`.
        surrogate: the pseudo-derivative of the spike (None: fast sigmoid, slope 25).
        learn_beta: make ``beta`` a trained parameter.
        learn_threshold: make ``threshold`` a trained parameter.
        detach_reset: stop the gradient through the reset (snntorch's default).
        decay_input: scale the input by ``1 - beta`` (SpikingJelly's ``decay_input``).
        backend: implementation of :func:`~snn.layers.lif_sequence` (one of
            :data:`~snn.layers.LIF_BACKENDS`).

    Shapes:
        ``forward(x)``: ``x`` ``[T, B, *features]`` -> spikes ``[T, B, *features]`` (0 or 1,
        the dtype of ``x``).
    """

    def __init__(
        self,
        n_neurons: int | tuple[int, ...] | None = None,
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
        self.feature_shape = _feature_shape(n_neurons)
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
            tensor = torch.full(self.feature_shape, value, dtype=torch.get_default_dtype())
            self.register_parameter(name, nn.Parameter(tensor))
        else:
            self.register_buffer(name, torch.full(self.feature_shape, value, dtype=torch.float64))

    @classmethod
    def from_tau(cls, tau: float, dt: float, n_neurons: int | tuple[int, ...] | None = None,
                 **kwargs: Any) -> LIF:
        """A layer whose decay per step is ``beta = exp(-dt / tau)``.

        Args:
            tau: membrane time constant (s, > 0).
            dt: time step (s, > 0).
            n_neurons: as for the constructor.
            **kwargs: the constructor's other keyword arguments (not ``beta``).

        Returns:
            The layer (of the class it is called on).
        """
        tau = check_positive("tau", tau, unit="s")
        dt = check_positive("dt", dt, unit="s")
        return cls(n_neurons, beta=math.exp(-dt / tau), **kwargs)

    def _adaptation(self) -> tuple[float, float]:
        return 1.0, 0.0

    def _decay(self) -> torch.Tensor:
        return self.beta.clamp(0.0, 1.0)

    def forward(self, x: torch.Tensor, state: LayerState | None = None,
                return_state: bool = False) -> torch.Tensor | tuple[torch.Tensor, LayerState]:
        """Run the layer over a whole sequence.

        Args:
            x: input per step (membrane units), time-major.
            state: the state to start from (None: zeros), e.g. the one a previous call
                returned, to go on with the next chunk of a sequence.
            return_state: also return the final state.

        Returns:
            The spikes, and with ``return_state`` the final :class:`LayerState`.

        Shapes:
            ``x`` ``[T, B, *features]`` -> spikes ``[T, B, *features]``; the state's fields
            ``[B, *features]``.
        """
        # The shape is needed here; lif_sequence checks the values, once.
        check_sequence_input(x, finite=False)
        if self.feature_shape and tuple(x.shape[2:]) != self.feature_shape:
            raise ValueError(f"x must have features {self.feature_shape} after [T, B], got shape "
                             f"{tuple(x.shape)}")
        if state is not None and not isinstance(state, LayerState):
            raise TypeError(f"state must be a LayerState, got {type(state).__name__}")
        beta = self._decay().to(x.dtype)
        gain = 1.0 - beta if self.decay_input else 1.0
        decay_adapt, threshold_increment = self._adaptation()
        spikes, v, adaptation = lif_sequence(
            x, beta, self.threshold.to(x.dtype), gain=gain,
            v0=None if state is None else state.v,
            adaptation0=None if state is None else state.adaptation,
            reset=self.reset, v_reset=0.0, decay_adapt=decay_adapt,
            threshold_increment=threshold_increment, surrogate=self.surrogate,
            detach_reset=self.detach_reset, backend=self.backend)
        return (spikes, LayerState(v, adaptation)) if return_state else spikes

    def extra_repr(self) -> str:
        """The settings shown by ``repr`` (torch's hook)."""
        return (f"n_neurons={self.feature_shape}, reset={self.reset!r}, "
                f"surrogate={self.surrogate}, "
                f"learn_beta={isinstance(self.beta, nn.Parameter)}, "
                f"learn_threshold={isinstance(self.threshold, nn.Parameter)}")


class ALIF(LIF):
    """Adaptive-threshold LIF (Bellec et al. 2018), named as :class:`snn.models.ALIFParams`:
    each spike raises the threshold offset ``adaptation`` by ``threshold_increment``, and the
    offset decays by ``decay_adapt`` per step (``exp(-dt / tau_adapt)``).

    Args:
        n_neurons: as for :class:`LIF`.
        decay_adapt: decay of the threshold offset per step, in ``[0, 1]``.
        threshold_increment: threshold rise per spike (membrane units).
        **kwargs: the other keyword arguments of :class:`LIF`.

    Shapes:
        As for :class:`LIF`.
    """

    def __init__(self, n_neurons: int | tuple[int, ...] | None = None, *,
                 decay_adapt: float = 0.95, threshold_increment: float = 0.1,
                 **kwargs: Any) -> None:
        super().__init__(n_neurons, **kwargs)
        self.decay_adapt = check_real("decay_adapt", decay_adapt, minimum=0.0, maximum=1.0)
        self.threshold_increment = check_real("threshold_increment", threshold_increment)

    def _adaptation(self) -> tuple[float, float]:
        return self.decay_adapt, self.threshold_increment


class IF(LIF):
    """Non-leaky integrate-and-fire neurons (``beta = 1``).

    Args:
        n_neurons: as for :class:`LIF`.
        threshold: firing threshold (membrane units).
        reset: ``"subtract"`` or ``"value"``, as for :class:`LIF`.
        surrogate: the pseudo-derivative of the spike (None: fast sigmoid, slope 25).
        learn_threshold: make ``threshold`` a trained parameter.
        detach_reset: stop the gradient through the reset.
        backend: implementation of :func:`~snn.layers.lif_sequence`.

    Shapes:
        As for :class:`LIF`.
    """

    def __init__(self, n_neurons: int | tuple[int, ...] | None = None, *,
                 threshold: float = 1.0,
                 reset: str = "subtract", surrogate: Surrogate | None = None,
                 learn_threshold: bool = False, detach_reset: bool = False,
                 backend: str = "auto") -> None:
        super().__init__(n_neurons, beta=1.0, threshold=threshold, reset=reset, surrogate=surrogate,
                         learn_threshold=learn_threshold, detach_reset=detach_reset,
                         backend=backend)
