"""CPU kernels of the delayed projection, compiled with numba, for spike (sparse) inputs.

The delayed projection is ``y[t] = sum_k x[t - k] @ kernel[:, k, :]`` with ``x`` ``[T, B, I]``
and ``kernel`` ``[I, K, O]``.  A dense implementation costs ``T*B*I*K*O`` multiply-adds
whatever ``x`` holds; when ``x`` is a spike train most entries are zero, and summing only the
kernel rows of the nonzero inputs costs ``nnz*K*O`` adds instead.  The kernel gradient sums
over the same nonzero inputs; the input gradient is dense (every input position gets one) and
stays a matrix product.

Batch rows are split over threads: every output row belongs to one batch row, so the forward
pass needs no synchronisation; the kernel gradient is accumulated per thread and summed.
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange

from .. import _numba_cache  # noqa: F401  (installs the package's compiled-code cache)


@njit(inline="always")
def _axpy(value, src, dst):
    # One contiguous row: vectorises.
    for o in range(dst.size):
        dst[o] += value * src[o]


@njit(inline="always")
def _axpy4(v0, s0, v1, s1, v2, s2, v3, s3, dst):
    # Four rows at once: the destination is loaded and stored once per four sources, which
    # is what bounds the single-row loop.
    for o in range(dst.size):
        dst[o] += v0 * s0[o] + v1 * s1[o] + v2 * s2[o] + v3 * s3[o]


@njit(inline="always")
def _accumulate(count, value, rows, source, dst):
    """``dst += sum_m value[m] * source[rows[m]]`` over ``m < count``."""
    m = 0
    while m + 4 <= count:
        _axpy4(value[m], source[rows[m]], value[m + 1], source[rows[m + 1]], value[m + 2],
               source[rows[m + 2]], value[m + 3], source[rows[m + 3]], dst)
        m += 4
    while m < count:
        _axpy(value[m], source[rows[m]], dst)
        m += 1


@njit(cache=True, parallel=True, error_model="numpy")
def delayed_forward(x, kernel, y, bounds, group):
    """``y[t, b] = sum_k sum_j x[t - k, b, j] * kernel[k, j]`` over the nonzero inputs only.

    ``x`` ``[T, B, I]``, ``kernel`` ``[K, I, O]``, ``y`` ``[T, B, O]`` (overwritten).
    ``bounds`` splits the batch rows into contiguous chunks, one per parallel task; each
    chunk is taken ``group`` rows at a time, tap by tap, so that the rows' outputs and one
    tap's ``[I, O]`` weights stay in cache while every step adds into them."""
    n_steps, _, n_in = x.shape
    n_taps = kernel.shape[0]
    for c in prange(bounds.size - 1):
        index = np.empty(group * n_steps * n_in, np.int32)
        value = np.empty(group * n_steps * n_in, x.dtype)
        start = np.empty(group * n_steps + 1, np.int64)
        for g0 in range(bounds[c], bounds[c + 1], group):
            rows = min(group, bounds[c + 1] - g0)
            # The nonzero inputs of these rows, by (row, step).
            n = 0
            for r in range(rows):
                for t in range(n_steps):
                    start[r * n_steps + t] = n
                    row = x[t, g0 + r]
                    for j in range(n_in):
                        if row[j] != 0.0:
                            index[n] = j
                            value[n] = row[j]
                            n += 1
                    y[t, g0 + r, :] = 0.0
            start[rows * n_steps] = n
            for k in range(n_taps):
                taps = kernel[k]
                for r in range(rows):
                    for t in range(n_steps - k):
                        p0 = start[r * n_steps + t]
                        p1 = start[r * n_steps + t + 1]
                        if p1 > p0:
                            _accumulate(p1 - p0, value[p0:p1], index[p0:p1], taps,
                                        y[t + k, g0 + r])


@njit(cache=True, parallel=True, error_model="numpy")
def gather_kernel_grad(x, grad_y, partial, bounds, group):
    """``partial[c, k, j] += x[t, b, j] * grad_y[t + k, b]`` over the nonzero ``x[t, b, j]``
    of the batch rows of chunk ``c`` and the taps with ``t + k < T``; ``partial``
    ``[chunks, K, I, O]`` starts at zero and the kernel gradient is ``partial.sum(0)``.
    Rows are taken ``group`` at a time, tap by tap, as in :func:`delayed_forward`."""
    n_steps, _, n_in = x.shape
    n_taps = partial.shape[1]
    for c in prange(bounds.size - 1):
        acc = partial[c]
        steps = np.empty(group * n_in * n_steps, np.int64)
        value = np.empty(group * n_in * n_steps, x.dtype)
        start = np.empty(group * n_in + 1, np.int64)
        for g0 in range(bounds[c], bounds[c + 1], group):
            rows = min(group, bounds[c + 1] - g0)
            # The spike steps of every (row, input), ascending.
            n = 0
            for r in range(rows):
                for j in range(n_in):
                    start[r * n_in + j] = n
                    for t in range(n_steps):
                        if x[t, g0 + r, j] != 0.0:
                            steps[n] = t
                            value[n] = x[t, g0 + r, j]
                            n += 1
            start[rows * n_in] = n
            for k in range(n_taps):
                taps = acc[k]
                for r in range(rows):
                    # Rows indexed straight from the C-ordered array stay contiguous (a
                    # grad_y[:, b] view would not, and its rows would not vectorise).
                    b = g0 + r
                    for j in range(n_in):
                        p0 = start[r * n_in + j]
                        p1 = start[r * n_in + j + 1]
                        # Steps ascend: those whose tap k lands inside the sequence are a
                        # prefix.
                        while p1 > p0 and steps[p1 - 1] + k >= n_steps:
                            p1 -= 1
                        if p1 == p0:
                            continue
                        dst = taps[j]
                        m = p0
                        while m + 4 <= p1:
                            _axpy4(value[m], grad_y[steps[m] + k, b], value[m + 1],
                                   grad_y[steps[m + 1] + k, b], value[m + 2],
                                   grad_y[steps[m + 2] + k, b], value[m + 3],
                                   grad_y[steps[m + 3] + k, b], dst)
                            m += 4
                        while m < p1:
                            _axpy(value[m], grad_y[steps[m] + k, b], dst)
                            m += 1


def row_group(n_steps: int, n_out: int, itemsize: int) -> int:
    """Batch rows processed together: their ``[T, rows, O]`` outputs (or output gradients)
    fill about 256 KiB, a share of a core's L2 cache."""
    return max(1, min(16, (256 * 1024) // max(1, n_steps * n_out * itemsize)))


def chunk_bounds(batch: int, n_chunks: int) -> np.ndarray:
    """Boundaries splitting ``batch`` rows into at most ``n_chunks`` contiguous chunks."""
    n_chunks = max(1, min(n_chunks, batch))
    return np.linspace(0, batch, n_chunks + 1).round().astype(np.int64)
