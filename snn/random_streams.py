"""Counter-based random streams: one independent stream per neuron, indexed by the step.

A counter-based generator computes the ``n``-th number of a stream directly from a key and
``n``, with no state carried from one draw to the next.  Poisson drive drawn this way (see
:meth:`snn.Network.add_poisson_drive`) is the same whatever the order in which neurons are
updated, so runs are bitwise identical for any number of threads or processes.

The generator is SplitMix64's output function (Steele, Lea & Flood, "Fast splittable
pseudorandom number generators", OOPSLA 2014) applied to ``key + counter * golden``: the
stream of SplitMix64 started at ``key``, read at position ``counter``.  Each stream's key is
itself mixed from the run's seed and the stream's number, so that neighbouring streams are
unrelated.

The functions take numpy uint64 arrays (the reference backend) or scalars (compiled into the
numba backend's loop): the same source for both.
"""

from __future__ import annotations

import numpy as np
from numba.extending import register_jitable

__all__ = ["stream_keys", "counter_uniform", "uniforms", "poisson_count", "poisson_counts",
           "drive_counts"]

_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_MUL1 = np.uint64(0xBF58476D1CE4E5B9)
_MUL2 = np.uint64(0x94D049BB133111EB)
_S30, _S27, _S31, _S11 = np.uint64(30), np.uint64(27), np.uint64(31), np.uint64(11)
_TO_UNIT = 2.0 ** -53


@register_jitable
def _mix(z):
    """SplitMix64's finaliser: a bijection of uint64 whose output bits all depend on every
    input bit."""
    z = (z ^ (z >> _S30)) * _MUL1
    z = (z ^ (z >> _S27)) * _MUL2
    return z ^ (z >> _S31)


def stream_keys(seed: int, streams: np.ndarray) -> np.ndarray:
    """The key of each stream ``streams`` (uint64-convertible ids ``[M]``) of the run seeded
    by ``seed`` (an int >= 0): uint64 ``[M]``."""
    ids = np.asarray(streams).astype(np.uint64)
    with np.errstate(over="ignore"):
        return _mix(np.uint64(seed % 2**64) ^ _mix(ids + np.uint64(1)))


@register_jitable
def counter_uniform(key, counter):
    """The number at position ``counter`` (uint64) of the stream with ``key`` (uint64): a
    float64 in ``[0, 1)`` with 53 random bits.  Arrays or scalars alike."""
    return (_mix(key + counter * _GOLDEN) >> _S11) * _TO_UNIT


def uniforms(keys: np.ndarray, step: int) -> np.ndarray:
    """:func:`counter_uniform` of every stream ``keys`` (uint64 ``[M]``) at ``step`` (an int
    >= 0): float64 ``[M]``."""
    with np.errstate(over="ignore"):  # uint64 arithmetic wraps by design
        return counter_uniform(keys, np.uint64(step))


@register_jitable
def poisson_count(u, lam, exp_neg_lam):
    """The Poisson(``lam``) count whose cumulative probability first reaches the uniform
    ``u`` (inversion): scalars; ``exp_neg_lam`` is ``exp(-lam)``, computed once.  Stops where
    the terms underflow, so a ``u`` above the rounded total probability ends the walk."""
    k = 0
    p = exp_neg_lam
    cdf = p
    while u > cdf and p > 0.0:
        k += 1
        p = p * lam / k
        cdf += p
    return k


def poisson_counts(u: np.ndarray, lam: np.ndarray, exp_neg_lam: np.ndarray) -> np.ndarray:
    """:func:`poisson_count` of every element (float64 arrays ``[M]``), each with the same
    arithmetic in the same order, so the counts equal the scalar function's exactly:
    int64 ``[M]``."""
    k = np.zeros(u.shape, dtype=np.int64)
    p = exp_neg_lam.copy()
    cdf = p.copy()
    walking = (u > cdf) & (p > 0.0)
    while walking.any():
        idx = np.flatnonzero(walking)
        k[idx] += 1
        p[idx] = p[idx] * lam[idx] / k[idx]
        cdf[idx] += p[idx]
        walking[idx] = (u[idx] > cdf[idx]) & (p[idx] > 0.0)
    return k


def drive_counts(keys: np.ndarray, mean: np.ndarray, exp_neg_mean: np.ndarray,
                 step: int) -> np.ndarray:
    """Poisson counts of the streams ``keys`` (uint64 ``[M]``) with means ``mean`` (float64
    ``[M]``; ``exp_neg_mean`` its ``exp(-mean)``) at ``step``: int64 ``[M]``."""
    return poisson_counts(uniforms(keys, step), mean, exp_neg_mean)
