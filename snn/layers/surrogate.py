"""Surrogate gradients: a Heaviside spike in the forward pass, a smooth pseudo-derivative in
the backward pass.

Each surrogate is a frozen :class:`Surrogate` (kind and slope); ``derivative(x)`` is the
pseudo-derivative at ``x = v - threshold`` (volts, or the layer's membrane unit):

* ``"fast_sigmoid"``: ``1 / (slope * |x| + 1)**2`` (SuperSpike, Zenke & Ganguli 2018; the
  ``fast_sigmoid`` of snntorch);
* ``"arctan"``: ``(slope / 2) / (1 + (pi / 2 * slope * x)**2)``, the derivative of
  ``arctan(pi / 2 * slope * x) / pi + 1 / 2`` (Fang et al. 2021; ``atan`` in snntorch and
  ``ATan`` in SpikingJelly, whose ``alpha`` is ``slope``);
* ``"triangle"``: ``slope * max(0, 1 - slope * |x|)``, unit area, support ``|x| < 1 / slope``
  (the piecewise-linear pseudo-derivative of Bellec et al. 2018 / Esser et al. 2016).

Each pseudo-derivative is written once, in :func:`pseudo_derivative`, in plain arithmetic
that works on Python floats, torch tensors and inside numba kernels (which pass their
constants in the storage dtype so that float32 runs compute in float32); the Triton kernels
keep a copy that tests hold to it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import torch
from numba.extending import register_jitable

__all__ = ["Surrogate", "SURROGATE_KINDS", "spike", "pseudo_derivative"]

SURROGATE_KINDS: tuple[str, ...] = ("fast_sigmoid", "arctan", "triangle")


@register_jitable(inline="always")
def pseudo_derivative(code: int, x: Any, slope: Any, half_slope: Any, arctan_scale: Any,
                      one: Any) -> Any:
    """The pseudo-derivative of surrogate ``SURROGATE_KINDS[code]`` at ``x = v - threshold``.

    Args:
        code: index of the kind in :data:`SURROGATE_KINDS` (a constant in compiled kernels).
        x: the membrane above threshold (float, array or tensor; membrane units).
        slope, half_slope, arctan_scale: ``slope``, ``slope / 2`` and ``pi / 2 * slope``
            (see :attr:`Surrogate.constants`), 1 / membrane unit.
        one: 1 in the dtype to compute in.

    Returns:
        The pseudo-derivative, shaped like ``x``.  Squares are written as products (numba
        lowers ``** 2`` to a call that does not vectorise; torch computes both alike).
    """
    if code == 0:  # fast sigmoid
        denominator = slope * abs(x) + one
        return one / (denominator * denominator)
    if code == 1:  # arctan
        scaled = arctan_scale * x
        return half_slope / (one + scaled * scaled)
    inside = one - slope * abs(x)  # triangle: slope * max(0, inside)
    return slope * inside * (inside > 0.0)


@dataclass(frozen=True)
class Surrogate:
    """A surrogate-gradient spike function (see the module docstring for the formulas).

    Calling it on ``x = v - threshold`` gives the Heaviside spike with this pseudo-derivative
    in the backward pass (:func:`spike`).
    """

    kind: str = "fast_sigmoid"  #: one of :data:`SURROGATE_KINDS`
    slope: float = 25.0  #: sharpness (1 / membrane unit, > 0)

    def __post_init__(self) -> None:
        if self.kind not in SURROGATE_KINDS:
            raise ValueError(f"Surrogate.kind must be one of {SURROGATE_KINDS}, got {self.kind!r}")
        if isinstance(self.slope, bool) or not isinstance(self.slope, (int, float)):
            raise TypeError(f"Surrogate.slope must be a real number, got "
                            f"{type(self.slope).__name__}")
        if not math.isfinite(self.slope) or self.slope <= 0:
            raise ValueError(f"Surrogate.slope must be a finite number > 0, got {self.slope!r}")

    @property
    def code(self) -> int:
        """Index of ``kind`` in :data:`SURROGATE_KINDS` (how compiled kernels select it)."""
        return SURROGATE_KINDS.index(self.kind)

    @property
    def constants(self) -> tuple[float, float, float]:
        """``(slope, slope / 2, pi / 2 * slope)``: the constants of :func:`pseudo_derivative`."""
        return float(self.slope), self.slope / 2.0, math.pi / 2.0 * self.slope

    def derivative(self, x: Any) -> Any:
        """Pseudo-derivative of the spike with respect to ``x = v - threshold``.

        Args:
            x: float, array or tensor (membrane units).

        Returns:
            :func:`pseudo_derivative` of this kind at ``x``, shaped like ``x``.
        """
        return pseudo_derivative(self.code, x, *self.constants, 1.0)

    def primitive(self, x: torch.Tensor) -> torch.Tensor:
        """A smooth step whose derivative is exactly :meth:`derivative` (0.5 at ``x = 0``).

        Used only to verify backward passes: with it in place of the Heaviside spike a
        surrogate-gradient op becomes an ordinary smooth function that finite differences
        can check.

        Args:
            x: ``v - threshold`` (membrane units).

        Returns:
            The smooth step, shaped like ``x``.
        """
        k = self.slope
        if self.kind == "fast_sigmoid":
            return 0.5 + x / (1.0 + k * x.abs())
        if self.kind == "arctan":
            return torch.atan(math.pi / 2.0 * k * x) / math.pi + 0.5
        inside = 0.5 + k * x - 0.5 * k * k * x * x.abs()
        return torch.where(x.abs() < 1.0 / k, inside, (x > 0).to(x.dtype))

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        """Heaviside of ``x`` (1 where ``x > 0``) with this surrogate as its gradient.

        Args:
            x: ``v - threshold`` (membrane units).

        Returns:
            The spikes, shaped like ``x``.
        """
        return spike(x, self)


class _Spike(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x: torch.Tensor, surrogate: Surrogate) -> torch.Tensor:
        ctx.save_for_backward(x)
        ctx.surrogate = surrogate
        return (x > 0).to(x.dtype)

    @staticmethod
    def backward(ctx, grad_out: torch.Tensor):
        (x,) = ctx.saved_tensors
        return grad_out * ctx.surrogate.derivative(x), None


def spike(x: torch.Tensor, surrogate: Surrogate) -> torch.Tensor:
    """Heaviside spike of ``x`` with ``surrogate``'s pseudo-derivative in the backward pass.

    Args:
        x: ``v - threshold`` (membrane units).
        surrogate: the pseudo-derivative to use in the backward pass.

    Returns:
        1.0 where ``x > 0``, else 0.0, shaped like ``x`` and in its dtype.
    """
    return _Spike.apply(x, surrogate)
