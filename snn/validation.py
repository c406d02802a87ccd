"""Argument checks shared by the whole package.

Every public function and config dataclass validates its input with these helpers before any
work runs, so that errors read alike everywhere: the message names the argument (as the
caller wrote it, e.g. ``"LIFParams.tau_m"`` or ``"dt"``) and the expected form.

* Wrong kind of value (a string for a number, ``True`` for a number, a list for an array):
  ``TypeError``.
* Right kind, wrong value (NaN, infinite, out of range, wrong shape, unknown choice):
  ``ValueError``.

``bool`` is never accepted as a number: ``dt=True`` is a mistake, not ``dt=1``.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Collection
from typing import Any

import numpy as np

__all__ = [
    "check_array",
    "check_choice",
    "check_finite",
    "check_int",
    "check_nonnegative",
    "check_positive",
    "check_probability",
    "check_real",
    "check_steps",
    "check_tensor",
]


def _is_real(value: Any) -> bool:
    return isinstance(value, numbers.Real) and not isinstance(value, (bool, np.bool_))


def check_real(name: str, value: Any, *, minimum: float | None = None,
               maximum: float | None = None, exclusive_minimum: bool = False,
               finite: bool = True, unit: str = "") -> float:
    """``value`` as a float, checked to be a real number (not ``bool``), not NaN, finite
    unless ``finite=False`` and within ``[minimum, maximum]`` (``(minimum, maximum]`` with
    ``exclusive_minimum``).  ``unit`` (e.g. ``"s"``) only enriches the message."""
    if not _is_real(value):
        raise TypeError(f"{name} must be a real number{_unit(unit)}, got "
                        f"{type(value).__name__}")
    value = float(value)
    if math.isnan(value):
        raise ValueError(f"{name} must be a number{_unit(unit)}, got NaN")
    if finite and not math.isfinite(value):
        raise ValueError(f"{name} must be finite{_unit(unit)}, got {value!r}")
    if minimum is not None:
        if exclusive_minimum and not value > minimum:
            raise ValueError(f"{name} must be > {minimum:g}{_unit(unit)}, got {value!r}")
        if not exclusive_minimum and not value >= minimum:
            raise ValueError(f"{name} must be >= {minimum:g}{_unit(unit)}, got {value!r}")
    if maximum is not None and not value <= maximum:
        raise ValueError(f"{name} must be <= {maximum:g}{_unit(unit)}, got {value!r}")
    return value


def _unit(unit: str) -> str:
    return f" ({unit})" if unit else ""


def check_positive(name: str, value: Any, unit: str = "") -> float:
    """A finite real number > 0 (time constants, ``dt``, resistances)."""
    return check_real(name, value, minimum=0.0, exclusive_minimum=True, unit=unit)


def check_nonnegative(name: str, value: Any, unit: str = "") -> float:
    """A finite real number >= 0."""
    return check_real(name, value, minimum=0.0, unit=unit)


def check_finite(name: str, value: Any, unit: str = "") -> float:
    """Any finite real number (potentials, offsets)."""
    return check_real(name, value, unit=unit)


def check_probability(name: str, value: Any) -> float:
    """A real number in ``[0, 1]``."""
    return check_real(name, value, minimum=0.0, maximum=1.0)


def check_int(name: str, value: Any, *, minimum: int | None = None,
              maximum: int | None = None) -> int:
    """``value`` as an int (Python or numpy integer, not ``bool``, not a float), within
    ``[minimum, maximum]``."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name} must be an int, got {type(value).__name__}")
    value = int(value)
    if minimum is not None and value < minimum:
        raise ValueError(f"{name} must be an int >= {minimum}, got {value}")
    if maximum is not None and value > maximum:
        raise ValueError(f"{name} must be an int <= {maximum}, got {value}")
    return value


def check_steps(name: str, value: Any, *, minimum: int = 0) -> int:
    """A whole number of time steps (arguments named ``*_steps``)."""
    return check_int(name, value, minimum=minimum)


def check_choice(name: str, value: Any, choices: Collection[Any]) -> Any:
    """``value`` if it is one of ``choices``; the message lists them."""
    try:
        known = value in choices
    except TypeError:  # unhashable value against a set or dict
        known = False
    if not known:
        listed = ", ".join(repr(c) for c in choices)
        raise ValueError(f"{name} must be one of {listed}; got {value!r}")
    return value


def check_array(name: str, value: Any, *, ndim: int | None = None,
                shape: tuple[int | None, ...] | None = None, kind: str | None = None,
                finite: bool = True, dtype: Any = None) -> np.ndarray:
    """``value`` as a numpy array, checked before any work runs.

    ``ndim``: the number of dimensions; ``shape``: the expected shape, ``None`` entries
    match any size; ``kind``: allowed numpy dtype kinds (``"f"`` float, ``"i"``/``"u"``
    integers, ``"b"`` bool; e.g. ``"biuf"`` for any number); ``finite``: reject NaN and
    infinities; ``dtype``: convert to this dtype after the checks.  Lists and tuples of
    numbers are accepted and converted.
    """
    if isinstance(value, (str, bytes)) or value is None:
        raise TypeError(f"{name} must be an array, got {type(value).__name__}")
    array = np.asarray(value)
    if array.dtype == object:
        raise TypeError(f"{name} must be an array of numbers, got objects")
    if kind is not None and array.dtype.kind not in kind:
        raise TypeError(f"{name} must have a dtype of kind {kind!r} "
                        f"(b bool, i/u integer, f float), got {array.dtype}")
    if ndim is not None and array.ndim != ndim:
        raise ValueError(f"{name} must have {ndim} dimension(s), got shape {array.shape}")
    if shape is not None:
        if array.ndim != len(shape) or any(
                want is not None and got != want for got, want in zip(array.shape, shape)):
            want_text = "(" + ", ".join("any" if s is None else str(s) for s in shape) + ")"
            raise ValueError(f"{name} must have shape {want_text}, got {array.shape}")
    if finite and array.dtype.kind in "fc" and not np.all(np.isfinite(array)):
        raise ValueError(f"{name} must be finite (no NaN or infinity)")
    if dtype is not None:
        array = array.astype(dtype, copy=False)
    return array


def check_tensor(name: str, value: Any, *, shape: tuple[int, ...] | None = None,
                 like: Any = None, finite: bool = True) -> Any:
    """``value`` if it is a ``torch.Tensor`` of ``shape`` (when given), of the dtype and on the
    device of the tensor ``like`` (when given) and, with ``finite``, free of NaN and
    infinities (one pass over the data)."""
    import torch

    if not isinstance(value, torch.Tensor):
        want = "" if shape is None else f" of shape {shape}"
        raise TypeError(f"{name} must be a torch.Tensor{want}, got {type(value).__name__}")
    if shape is not None and tuple(value.shape) != tuple(shape):
        raise ValueError(f"{name} must have shape {tuple(shape)}, got {tuple(value.shape)}")
    if like is not None and (value.dtype != like.dtype or value.device != like.device):
        raise TypeError(f"{name} must have dtype {like.dtype} on {like.device}, "
                        f"got {value.dtype} on {value.device}")
    if finite and value.is_floating_point():
        with torch.no_grad():
            if not bool(torch.isfinite(value).all()):
                raise ValueError(f"{name} must be finite (no NaN or inf)")
    return value
