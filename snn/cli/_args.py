"""Argument types of the command line: each turns an option's text into a value or refuses
it with a message that names the expected form (argparse adds the option's name)."""

from __future__ import annotations

import argparse
import math

__all__ = ["ConductanceRange", "adc_bits", "components", "positive_float", "positive_int",
           "preset_name", "seconds_after_programming", "unit_interval"]


def positive_int(text: str) -> int:
    """An integer >= 1."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected an integer >= 1, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected an integer >= 1, got {text!r}")
    return value


def positive_float(text: str) -> float:
    """A finite number > 0."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number > 0, got {text!r}") from None
    if not math.isfinite(value) or value <= 0:
        raise argparse.ArgumentTypeError(f"expected a finite number > 0, got {text!r}")
    return value


def unit_interval(text: str) -> float:
    """A number in (0, 1]."""
    value = positive_float(text)
    if value > 1:
        raise argparse.ArgumentTypeError(f"expected a number in (0, 1], got {text!r}")
    return value


def components(text: str) -> tuple[int, ...]:
    """Comma-separated integers >= 0, one per Linear layer (``10,20``)."""
    try:
        values = tuple(int(v) for v in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be comma-separated ints, one per Linear layer "
                                         f"(e.g. 10,20), got {text!r}") from None
    if any(v < 0 for v in values):
        raise argparse.ArgumentTypeError(f"must be ints >= 0, got {text!r}")
    return values


def preset_name(text: str) -> str:
    """The name of a registered device preset."""
    from hardware_models import get_preset

    try:
        return get_preset(text).name
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


def seconds_after_programming(text: str) -> float:
    """A time after programming in seconds, finite and >= 0."""
    try:
        t = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a time in seconds, got {text!r}") from None
    if not math.isfinite(t) or t < 0:
        raise argparse.ArgumentTypeError(f"time after programming must be >= 0 s, got {text}")
    return t


def adc_bits(text: str) -> int:
    """An ADC resolution in bits, >= 1."""
    try:
        bits = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected an integer number of bits, got "
                                         f"{text!r}") from None
    if bits < 1:
        raise argparse.ArgumentTypeError(f"ADC bits must be >= 1, got {bits}")
    return bits


class ConductanceRange(argparse.Action):
    """``G_MIN G_MAX`` in siemens with ``0 <= G_MIN < G_MAX``."""

    def __call__(self, parser, namespace, values, option_string=None):
        g_min, g_max = values
        if not 0 <= g_min < g_max:
            raise argparse.ArgumentError(self, f"conductance range must be G_MIN G_MAX (S) with "
                                               f"0 <= G_MIN < G_MAX, got {g_min:g} {g_max:g}")
        setattr(namespace, self.dest, (g_min, g_max))
