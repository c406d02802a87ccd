"""The firing pattern of a spike train under a step current, from its interspike intervals.

The classes are those of Naud et al. (2008) and Izhikevich (2003): tonic, adapting,
accelerating, initial burst, bursting, irregular and transient, with "delayed" variants of
accelerating and bursting.  The rules read only the spike times (after the current step's
onset):

* **transient**: fewer than 4 spikes, or none in the second half of the step;
* a **pause** is an interval more than 3 times the one before it; the response is
  **bursting** with at least 2 pauses whose intervals vary by less than 5 % (coefficient of
  variation: periodic bursts), **irregular** with at least 2 pauses otherwise when the
  intervals' coefficient of variation exceeds 0.3, and an **initial burst** with one pause
  among the first 4 intervals;
* otherwise the ratio of the steady interval (the median of the second half) to the first:
  above 2 **adapting**, below 1/1.2 **accelerating**, else **tonic**;
* accelerating and bursting responses are **delayed** when the first spike comes later than
  twice the mean interval.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from ..validation import check_array, check_positive

__all__ = ["FiringFeatures", "firing_features", "classify_firing", "FIRING_PATTERNS"]

FIRING_PATTERNS = ("transient", "tonic", "adapting", "accelerating", "delayed_accelerating",
                   "initial_burst", "bursting", "delayed_bursting", "irregular")

_PAUSE_RATIO = 3.0
_PERIODIC_CV = 0.05
_IRREGULAR_CV = 0.3
_ADAPTING_RATIO = 2.0
_ACCELERATING_RATIO = 1.0 / 1.2
_DELAY_FACTOR = 2.0


class FiringFeatures(NamedTuple):
    """What the classification reads from a spike train (times in s)."""

    n_spikes: int
    latency: float  #: first spike after the onset (s; inf without spikes)
    first_interval: float  #: the first interspike interval (s; nan with < 2 spikes)
    steady_interval: float  #: median interval of the second half of the intervals (s)
    mean_interval: float  #: mean interval (s)
    interval_cv: float  #: coefficient of variation of the intervals
    pauses: tuple[int, ...]  #: interval indices i with interval[i] > 3 interval[i - 1]
    pause_cv: float  #: coefficient of variation of the pause intervals
    last_spike: float  #: last spike after the onset (s)


def firing_features(times: np.ndarray, onset: float, duration: float) -> FiringFeatures:
    """The features of the spikes at ``times`` (s) of a step current starting at ``onset``
    (s) and lasting ``duration`` (s); spikes outside the step are ignored."""
    t = check_array("times", times, ndim=1, kind="biuf", dtype=np.float64)
    check_positive("duration", duration)
    t = np.sort(t[(t >= onset) & (t < onset + duration)]) - onset
    isi = np.diff(t)
    nan = float("nan")
    pauses = tuple(int(i) for i in np.flatnonzero(isi[1:] > _PAUSE_RATIO * isi[:-1]) + 1)
    pause_isi = isi[list(pauses)]
    return FiringFeatures(
        n_spikes=int(t.size),
        latency=float(t[0]) if t.size else float("inf"),
        first_interval=float(isi[0]) if isi.size else nan,
        steady_interval=float(np.median(isi[isi.size // 2:])) if isi.size else nan,
        mean_interval=float(isi.mean()) if isi.size else nan,
        interval_cv=float(isi.std() / isi.mean()) if isi.size else nan,
        pauses=pauses,
        pause_cv=float(pause_isi.std() / pause_isi.mean()) if pause_isi.size else nan,
        last_spike=float(t[-1]) if t.size else nan,
    )


def classify_firing(times: np.ndarray, onset: float, duration: float) -> str:
    """The firing pattern (one of :data:`FIRING_PATTERNS`) of the spikes at ``times`` (s)
    under a step current from ``onset`` for ``duration`` (s), by the rules of the module
    docstring."""
    f = firing_features(times, onset, duration)
    if f.n_spikes < 4 or f.last_spike < duration / 2:
        return "transient"
    delayed = f.latency > _DELAY_FACTOR * f.mean_interval
    if len(f.pauses) >= 2:
        if f.pause_cv < _PERIODIC_CV:
            return "delayed_bursting" if delayed else "bursting"
        if f.interval_cv > _IRREGULAR_CV:
            return "irregular"
    if len(f.pauses) == 1 and f.pauses[0] < 4:
        return "initial_burst"
    ratio = f.steady_interval / f.first_interval
    if ratio > _ADAPTING_RATIO:
        return "adapting"
    if ratio < _ACCELERATING_RATIO:
        return "delayed_accelerating" if delayed else "accelerating"
    return "tonic"
