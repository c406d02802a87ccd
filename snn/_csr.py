"""Compressed sparse rows built in place, for synapse lists of any length.

Counting sorts compiled with numba: the synapses are moved straight into their sorted places
in the compact dtypes they are stored in (int32 targets, float32 or float64 weights, uint8 or
uint16 delays), with no int64 temporary as long as the synapse list.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from . import _numba_cache  # noqa: F401  (installs the package's compiled-code cache)


def delay_dtype(max_delay_steps: int) -> np.dtype:
    """The smallest unsigned integer dtype holding delays up to ``max_delay_steps``."""
    for dtype in (np.uint8, np.uint16, np.uint32):
        if max_delay_steps <= np.iinfo(dtype).max:
            return np.dtype(dtype)
    raise ValueError(f"max_delay must be below {np.iinfo(np.uint32).max} steps, "
                     f"got {max_delay_steps}")


@njit(cache=True)
def _bounds(values):
    lo, hi = values[0], values[0]
    for v in values:
        lo = min(lo, v)
        hi = max(hi, v)
    return lo, hi


def index_bounds(values: np.ndarray) -> tuple[int, int]:
    """Smallest and largest entry of a non-empty integer array, in one pass without a copy."""
    lo, hi = _bounds(values)
    return int(lo), int(hi)


@njit(cache=True)
def _delay_steps(delays, dt, max_steps, out):
    """``rint(delays / dt)`` into ``out`` (the arithmetic of numpy on float64); returns the
    smallest and the largest delay (s) and the largest step count."""
    lo = np.inf
    hi = -np.inf
    top = 0
    for k in range(out.size):
        d = np.float64(delays[k if delays.size > 1 else 0])
        lo = min(lo, d)
        hi = max(hi, d)
        steps = np.rint(d / dt)
        if 0.0 <= steps <= max_steps:
            out[k] = np.int64(steps)
            top = max(top, np.int64(steps))
        else:
            top = max_steps + 1
    return lo, hi, top


def delay_steps(delays: np.ndarray, n: int, dt: float, max_steps: int, dtype: np.dtype
                ) -> tuple[np.ndarray, float, float, int]:
    """Delays (s; one value or ``[n]``) as whole steps in ``dtype`` ``[n]``: returns the steps,
    the smallest and largest delay (s) and the largest step count (``max_steps + 1`` when a
    delay is out of range, so the caller can name it)."""
    out = np.zeros(n, dtype=dtype)
    if n == 0:
        return out, 0.0, 0.0, 0
    lo, hi, top = _delay_steps(delays, dt, max_steps, out)
    return out, float(lo), float(hi), int(top)


@njit(cache=True)
def _sort_pairs(pre, post, n_pre, n_post, weights, delays, indptr, targets, out_weights,
                out_delays, origin):
    """Stable counting sort of the synapses by post, then by pre (least significant key
    first): CSR rows over pre, each sorted by post, multapses in the order given.  Fills
    ``indptr``, ``targets``, ``out_weights``, ``out_delays`` and, when it is not empty,
    ``origin`` (the given place of each sorted synapse); returns whether the order changed."""
    n = pre.size
    count = np.zeros(n_post + 1, dtype=np.int64)
    for k in range(n):
        count[post[k] + 1] += 1
    for j in range(n_post):
        count[j + 1] += count[j]
    by_post = np.empty(n, dtype=np.int32)
    for k in range(n):
        j = post[k]
        by_post[count[j]] = k
        count[j] += 1
    for i in range(n_pre + 1):
        indptr[i] = 0
    for k in range(n):
        indptr[pre[k] + 1] += 1
    for i in range(n_pre):
        indptr[i + 1] += indptr[i]
    fill = indptr[:-1].copy()
    moved = False
    one_weight = weights.size == 1
    for m in range(n):
        k = by_post[m]
        i = pre[k]
        place = fill[i]
        fill[i] += 1
        targets[place] = post[k]
        out_weights[place] = weights[0] if one_weight else weights[k]
        out_delays[place] = delays[k]
        if origin.size:
            origin[place] = k
        if place != k:
            moved = True
    return moved


def sorted_csr(pre: np.ndarray, post: np.ndarray, n_pre: int, n_post: int,
               weights: np.ndarray, delays: np.ndarray, weight_dtype: np.dtype,
               keep_origin: bool) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray,
                                           np.ndarray | None]:
    """Synapses ``(pre[k], post[k])`` (integer arrays ``[n]``) with ``weights`` (one value or
    ``[n]``) and ``delays`` (steps ``[n]``) as CSR rows over pre, each row sorted by post and
    multapses kept in the given order.

    Returns ``(indptr int64 [n_pre + 1], targets int32 [n], weights [n] in weight_dtype,
    delays [n] in the dtype of ``delays``, origin)``; ``origin`` (int64 ``[n]``, the given
    place of each synapse) when ``keep_origin`` and the order changed, else None.
    """
    n = pre.size
    indptr = np.zeros(n_pre + 1, dtype=np.int64)
    targets = np.empty(n, dtype=np.int32)
    out_weights = np.empty(n, dtype=weight_dtype)
    out_delays = np.empty(n, dtype=delays.dtype)
    origin = np.empty(n if keep_origin else 0, dtype=np.int64)
    if n == 0:
        return indptr, targets, out_weights, out_delays, None
    moved = _sort_pairs(pre, post, n_pre, n_post, weights, delays, indptr, targets,
                        out_weights, out_delays, origin)
    return indptr, targets, out_weights, out_delays, origin if keep_origin and moved else None


@njit(cache=True)
def scatter_rows(fill, base, indptr, post, post_offset, weights, delays, channel, rule,
                 targets, out_weights, out_delays, out_channels, out_rule, origin,
                 origin_offset):
    """Append the CSR rows of one projection (presynaptic ids ``base + row``) to the global
    rows at ``fill`` (each id's next free place, advanced here)."""
    for row in range(indptr.size - 1):
        i = base + row
        for k in range(indptr[row], indptr[row + 1]):
            place = fill[i]
            fill[i] += 1
            targets[place] = post[k] + post_offset
            out_weights[place] = weights[k]
            out_delays[place] = delays[k]
            out_channels[place] = channel
            if out_rule.size:
                out_rule[place] = rule
            if origin.size:
                origin[place] = origin_offset + k


@njit(cache=True)
def sort_rows(indptr, targets, weights, delays, channels, rule, origin):
    """Sort every row by target, stably (rows already sorted are left as they are)."""
    for i in range(indptr.size - 1):
        lo, hi = indptr[i], indptr[i + 1]
        ordered = True
        for k in range(lo + 1, hi):
            if targets[k] < targets[k - 1]:
                ordered = False
                break
        if ordered:
            continue
        perm = np.argsort(targets[lo:hi], kind="mergesort") + lo
        targets[lo:hi] = targets[perm]
        weights[lo:hi] = weights[perm]
        delays[lo:hi] = delays[perm]
        channels[lo:hi] = channels[perm]
        if rule.size:
            rule[lo:hi] = rule[perm]
        if origin.size:
            origin[lo:hi] = origin[perm]
