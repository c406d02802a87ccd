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
def _accumulate(count, value, rows, k, source, dst):
    """``dst += sum_m value[m] * source[rows[m], k]`` over ``m < count``."""
    m = 0
    while m + 4 <= count:
        _axpy4(value[m], source[rows[m], k], value[m + 1], source[rows[m + 1], k],
               value[m + 2], source[rows[m + 2], k], value[m + 3], source[rows[m + 3], k], dst)
        m += 4
    while m < count:
        _axpy(value[m], source[rows[m], k], dst)
        m += 1


@njit(cache=True, parallel=True, error_model="numpy")
def delayed_forward(x, kernel, y, bounds):
    """``y[t, b] = sum_k sum_j x[t - k, b, j] * kernel[j, k]`` over the nonzero inputs only.

    ``x`` ``[T, B, I]``, ``kernel`` ``[I, K, O]``, ``y`` ``[T, B, O]`` (written, not read).
    ``bounds`` splits the batch rows into contiguous chunks, one per parallel task.  Each
    output row is summed in a small buffer and written once."""
    n_steps, _, n_in = x.shape
    n_taps = kernel.shape[1]
    for c in prange(bounds.size - 1):
        index = np.empty((n_steps, n_in), np.int64)
        value = np.empty((n_steps, n_in), x.dtype)
        count = np.empty(n_steps, np.int64)
        acc = np.empty(y.shape[2], y.dtype)
        for b in range(bounds[c], bounds[c + 1]):
            # The nonzero inputs of this batch row, step by step.
            for t in range(n_steps):
                row = x[t, b]
                rows_t, values_t = index[t], value[t]
                n = 0
                for j in range(n_in):
                    if row[j] != 0.0:
                        rows_t[n] = j
                        values_t[n] = row[j]
                        n += 1
                count[t] = n
            for t in range(n_steps):
                acc[:] = 0.0
                for k in range(min(n_taps, t + 1)):
                    s = t - k
                    _accumulate(count[s], value[s], index[s], k, kernel, acc)
                y[t, b, :] = acc


@njit(cache=True, parallel=True, error_model="numpy")
def gather_kernel_grad(x, grad_y, partial, bounds):
    """``partial[c, j, k] += x[t, b, j] * grad_y[t + k, b]`` over the nonzero ``x[t, b, j]``
    of the batch rows of chunk ``c`` and the taps with ``t + k < T``; ``partial`` starts at
    zero and the kernel gradient is ``partial.sum(0)``."""
    n_steps, _, n_in = x.shape
    n_taps = partial.shape[2]
    for c in prange(bounds.size - 1):
        acc = partial[c]
        steps = np.empty(n_steps, np.int64)
        value = np.empty(n_steps, x.dtype)
        for b in range(bounds[c], bounds[c + 1]):
            grad_b = grad_y[:, b]
            for j in range(n_in):
                n = 0
                for t in range(n_steps):
                    if x[t, b, j] != 0.0:
                        steps[n] = t
                        value[n] = x[t, b, j]
                        n += 1
                out = acc[j]
                for k in range(n_taps):
                    # Steps ascend: the inputs whose tap k still lands inside the sequence
                    # are a prefix, shorter for every k.
                    while n > 0 and steps[n - 1] + k >= n_steps:
                        n -= 1
                    if n == 0:
                        break
                    dst = out[k]
                    m = 0
                    while m + 4 <= n:
                        _axpy4(value[m], grad_b[steps[m] + k], value[m + 1],
                               grad_b[steps[m + 1] + k], value[m + 2], grad_b[steps[m + 2] + k],
                               value[m + 3], grad_b[steps[m + 3] + k], dst)
                        m += 4
                    while m < n:
                        _axpy(value[m], grad_b[steps[m] + k], dst)
                        m += 1


def chunk_bounds(batch: int, n_chunks: int) -> np.ndarray:
    """Boundaries splitting ``batch`` rows into at most ``n_chunks`` contiguous chunks."""
    n_chunks = max(1, min(n_chunks, batch))
    return np.linspace(0, batch, n_chunks + 1).round().astype(np.int64)
