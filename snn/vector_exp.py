"""An exponential that vectorises in compiled loops and rounds identically in numpy.

Compiled code that calls the C library's ``exp`` cannot be vectorised by LLVM (it is an
opaque call per element), and numpy's own SIMD ``exp`` rounds differently from it.  This
module computes ``exp`` from ``+ - *``, ``floor`` and exponent-bit construction only, in the
same order in :func:`exp_numpy` (numpy arrays), :func:`exp_compiled` (numba scalars,
inlined into vectorised loops) and :func:`exp_torch` (torch tensors), so the reference,
compiled and torch backends agree bit for bit.

Method: ``exp(x) = 2**k * exp(r)`` with ``k = round(x / ln 2)`` and ``r = x - k ln 2``
(Cody-Waite split of ``ln 2`` so that ``k * LN2_HI`` is exact), ``|r| <= ln 2 / 2``;
``exp(r) - 1`` from its Taylor series to degree 13 (truncation below 1e-17 relative);
``2**k`` applied as two exact power-of-two factors so that results in the subnormal range
are rounded once.  The error is below 2 ulp over the whole double range (tested).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
from numba import njit
from numba.core import types
from numba.extending import intrinsic, register_jitable

if TYPE_CHECKING:  # pragma: no cover
    import torch

__all__ = ["exp_numpy", "exp_compiled", "exp_compiled_call", "exp_torch"]

LOG2E = 1.4426950408889634  # 1 / ln 2
LN2_HI = 6.93147180369123816490e-01  # ln 2 rounded to 32 significant bits: k * LN2_HI is exact
LN2_LO = 1.90821492927058770002e-10  # ln 2 - LN2_HI
# Arguments are clamped to [X_MIN, X_MAX]: beyond them exp is 0 or inf in double precision,
# and inside them the exponent k stays within two normal power-of-two factors.
X_MIN = -746.0
X_MAX = 710.0
# 1 / n! for n = 2 .. 13, highest first (Horner order).
_C13 = 1.0 / 6227020800.0
_C12 = 1.0 / 479001600.0
_C11 = 1.0 / 39916800.0
_C10 = 1.0 / 3628800.0
_C9 = 1.0 / 362880.0
_C8 = 1.0 / 40320.0
_C7 = 1.0 / 5040.0
_C6 = 1.0 / 720.0
_C5 = 1.0 / 120.0
_C4 = 1.0 / 24.0
_C3 = 1.0 / 6.0
_C2 = 0.5


@intrinsic
def _float_from_bits(typingctx, bits):
    """Reinterpret an int64 bit pattern as a float64 (free; keeps loops vectorisable)."""
    sig = types.float64(types.int64)

    def codegen(context, builder, signature, args):
        return builder.bitcast(args[0], context.get_value_type(types.float64))

    return sig, codegen


@register_jitable(inline="always")
def exp_compiled(x: float) -> float:
    """``exp(x)`` for a float64 inside numba-compiled code (not callable from Python)."""
    xc = x if x > X_MIN else X_MIN
    xc = xc if xc < X_MAX else X_MAX
    k = np.floor(xc * LOG2E + 0.5)
    r = (xc - k * LN2_HI) - k * LN2_LO
    poly = _C13
    poly = poly * r + _C12
    poly = poly * r + _C11
    poly = poly * r + _C10
    poly = poly * r + _C9
    poly = poly * r + _C8
    poly = poly * r + _C7
    poly = poly * r + _C6
    poly = poly * r + _C5
    poly = poly * r + _C4
    poly = poly * r + _C3
    poly = poly * r + _C2
    mantissa = 1.0 + (r + r * r * poly)
    ki = np.int64(k)
    k_half = ki >> 1
    scale_a = _float_from_bits((k_half + 1023) << 52)
    scale_b = _float_from_bits((ki - k_half + 1023) << 52)
    y = mantissa * scale_a * scale_b
    return y if x == x else x


@njit(cache=True)
def exp_compiled_call(x: float) -> float:
    """:func:`exp_compiled` as a compiled function of its own: LLVM still inlines it, but
    numba's IR holds one call instead of its whole body, which keeps models that take many
    exponentials per step (Hodgkin-Huxley) quick to compile."""
    return exp_compiled(x)


def exp_numpy(x: np.ndarray) -> np.ndarray:
    """``exp(x)`` element-wise for a float64 array (or scalar), rounded as
    :func:`exp_compiled` rounds."""
    x = np.asarray(x, dtype=np.float64)
    xc = np.where(x > X_MIN, x, X_MIN)
    xc = np.where(xc < X_MAX, xc, X_MAX)
    k = np.floor(xc * LOG2E + 0.5)
    r = (xc - k * LN2_HI) - k * LN2_LO
    poly = np.full_like(r, _C13)
    for c in (_C12, _C11, _C10, _C9, _C8, _C7, _C6, _C5, _C4, _C3, _C2):
        poly = poly * r + c
    mantissa = 1.0 + (r + r * r * poly)
    ki = k.astype(np.int64)
    k_half = ki >> 1
    scale_a = ((k_half + 1023) << 52).view(np.float64)
    scale_b = ((ki - k_half + 1023) << 52).view(np.float64)
    with np.errstate(over="ignore"):  # overflow to inf is the correct result
        y = mantissa * scale_a * scale_b
    return np.where(x == x, y, x)


def exp_torch(x: torch.Tensor) -> torch.Tensor:
    """``exp(x)`` element-wise for a torch tensor on any device, rounded as :func:`exp_numpy`
    rounds (the same operations in the same order; torch runs each as its own kernel, so
    nothing is fused into a differently rounded multiply-add).

    float64 tensors give exactly ``exp_numpy`` of their values.  Other floating dtypes
    (float32) are computed in float64 and rounded once to the input dtype at the end, i.e.
    the result equals ``exp_numpy(x.double()).to(x.dtype)``.  The result has ``x``'s shape,
    dtype and device.
    """
    # Imported here so that importing this module (numba backend) does not load torch.
    import torch

    x64 = x.to(torch.float64)
    xc = torch.where(x64 > X_MIN, x64, X_MIN)
    xc = torch.where(xc < X_MAX, xc, X_MAX)
    k = torch.floor(xc * LOG2E + 0.5)
    r = (xc - k * LN2_HI) - k * LN2_LO
    poly = torch.full_like(r, _C13)
    for c in (_C12, _C11, _C10, _C9, _C8, _C7, _C6, _C5, _C4, _C3, _C2):
        poly = poly * r + c
    mantissa = 1.0 + (r + r * r * poly)
    ki = k.to(torch.int64)
    k_half = ki >> 1
    scale_a = ((k_half + 1023) << 52).view(torch.float64)
    scale_b = ((ki - k_half + 1023) << 52).view(torch.float64)
    y = mantissa * scale_a * scale_b
    return torch.where(x64 == x64, y, x64).to(x.dtype)
