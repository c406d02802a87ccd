"""CPU kernels of the fused multi-step LIF op, compiled with numba.

Forward: the model step of :mod:`snn.models` (``free_potential_current`` then
``fire_and_reset``, the same source the engine runs) for every neuron and step; batch rows are
split over threads, and each thread runs the time loop over its rows with the neuron loop
innermost, which vectorises.  Backward: the hand-written adjoint of that step, run backwards
in time (see :mod:`snn.layers.functional` for the equations).

Values are stored in the dtype of the input and computed in float64; every stored value
(membrane, threshold, adaptation) is what the next step and the backward pass read back, so
forward and backward see the same spikes in float32 too.
"""

from __future__ import annotations

import contextlib
import warnings
from collections.abc import Iterator

import numpy as np
from numba import njit, prange

from .. import (
    _numba_cache,  # noqa: F401  (installs the package's compiled-code cache)
    models,
)
from .adjoint import lif_adjoint
from .surrogate import pseudo_derivative

_ROWS_PER_GROUP = 8


@contextlib.contextmanager
def quiet_compile() -> Iterator[None]:
    """Silence, for the calls inside it only, numba's spurious "variable ... is not in scope"
    notices (``NumbaIRAssumptionWarning``) that its pedantic IR check may print while
    compiling the inlined model code; the compiled code is correct (tests compare it with the
    torch implementation)."""
    from numba.core.errors import NumbaIRAssumptionWarning

    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=r"variable '.*' is not in scope",
                                category=NumbaIRAssumptionWarning)
        yield


@njit(inline="always")
def _forward_step_row(xt, vb, ab, beta, gain, threshold, v_rest, v_reset, subtract, decay_adapt,
                      threshold_increment, st, ut, tht):
    for j in range(xt.size):
        c = models.layer_coeffs(beta[j], gain[j], threshold[j], v_rest, v_reset, subtract,
                                 decay_adapt, threshold_increment)
        state = models.NeuronState(vb[j], 0.0, 0.0, ab[j], 0.0)
        # Round the free potential to the storage dtype before thresholding, so that the
        # backward pass, which reads it back, sees the same spike.
        ut[j] = models.free_potential_current(state, xt[j], c)
        new, spike = models.fire_and_reset(state, ut[j], 0.0, 1.0, c,
                                           models.heaviside_scalar)
        tht[j] = c.v_threshold + state.adaptation * c.decay_adapt
        st[j] = spike
        vb[j] = new.v
        ab[j] = new.adaptation


@njit(cache=True, error_model="numpy")
def _forward_rows(x, v, a, beta, gain, threshold, scalars, spikes, u_seq, theta_seq, b_lo, b_hi):
    n_steps, _, n = x.shape
    per_step_theta = theta_seq.shape[0] == n_steps
    # Constants read once into locals: read from the array inside the neuron loop, they could
    # alias the outputs and would be reloaded every iteration, which blocks vectorisation.
    v_rest, v_reset, subtract = scalars[0], scalars[1], scalars[2]
    decay_adapt, threshold_increment = scalars[3], scalars[4]
    for t in range(n_steps):
        for b in range(b_lo, b_hi):
            _forward_step_row(x[t, b], v[b], a[b], beta, gain, threshold, v_rest, v_reset,
                              subtract, decay_adapt, threshold_increment, spikes[t, b], u_seq[t, b],
                              theta_seq[t if per_step_theta else 0, b])


def row_groups(batch: int, n_threads: int) -> np.ndarray:
    """Boundaries of the groups of batch rows that the threads take in turn.

    Within a group, each time step's rows lie next to each other in memory, so a group of
    several rows streams through a contiguous span instead of one 4 KiB row per page
    (measured: the backward pass ran 3.6x faster with 8 rows than with 1).  Groups stay
    small enough that every thread gets a few."""
    size = max(1, min(_ROWS_PER_GROUP, -(-batch // (4 * max(1, n_threads)))))
    return np.append(np.arange(0, batch, size), batch).astype(np.int64)


@njit(cache=True, parallel=True)
def lif_forward(x, v, a, beta, gain, threshold, scalars, spikes, u_seq, theta_seq, groups):
    """x [T, B, N]; v, a [B, N] initial state, overwritten with the final state; beta, gain,
    threshold [N]; scalars = (v_rest, v_reset, subtract, decay_adapt, threshold_increment);
    writes spikes [T, B, N], u_seq [T, B, N] (membrane before threshold) and theta_seq
    [T or 1, B, N] (threshold in use; one row when it cannot change); groups from
    :func:`row_groups`."""
    # One call per group of batch rows (see ``row_groups``): the neuron loop vectorises, and
    # numba's parallel analysis does not have to see through the inlined model code.
    for g in prange(groups.size - 1):
        _forward_rows(x, v, a, beta, gain, threshold, scalars, spikes, u_seq, theta_seq,
                      groups[g], groups[g + 1])


@njit(inline="always")
def _after_step(u, theta, v_reset, subtract):
    """Membrane after threshold and reset, as ``fire_and_reset`` computes it."""
    return models.reset_membrane(u, models.heaviside_scalar(u - theta), theta, v_reset,
                                 subtract)


def backward_constants(cfg_scalars, detach_reset: bool, surrogate_constants, dtype
                       ) -> np.ndarray:
    """The constants of :func:`lif_backward` in the storage ``dtype``: v_rest, v_reset,
    subtract, 1 - subtract, decay_adapt, threshold_increment, keep_reset, the surrogate's
    ``(slope, slope / 2, pi / 2 * slope)`` (:attr:`Surrogate.constants`), 1, 0."""
    v_rest, v_reset, subtract, decay_adapt, threshold_increment = cfg_scalars
    return np.array([v_rest, v_reset, subtract, 1.0 - subtract, decay_adapt, threshold_increment,
                     0.0 if detach_reset else 1.0, *surrogate_constants, 1.0, 0.0],
                    dtype=dtype)


@njit(inline="always")
def _adjoint(code, u, theta, g_out, gv, ga, v_reset, subtract, keep_value, threshold_increment,
             keep_reset, slope, half_slope, arctan_scale, one, zero):
    """Gradients of the free potential and of the threshold at one step
    (:func:`snn.layers.adjoint.lif_adjoint`), given dL/dspike ``g_out`` and the carries
    ``gv``, ``ga``.  Constants come in the storage dtype so that float32 runs compute in
    float32."""
    z = u - theta
    spike = one if z > zero else zero
    surrogate_grad = pseudo_derivative(code, z, slope, half_slope, arctan_scale, one)
    return lif_adjoint(spike, surrogate_grad, u, theta, g_out, gv, ga, v_reset, subtract,
                       keep_value, threshold_increment, keep_reset, one)


@njit(inline="always")
def _backward_step_row(code, need_params, gst, gxt, ut, tht, gv, ga, v_prev, xt, beta, gain,
                       gb_row, gg_row, gt_row, v_rest, v_reset, subtract, keep_value,
                       decay_adapt, threshold_increment, keep_reset, slope, half_slope,
                       arctan_scale, one, zero):
    # Two copies of the neuron loop: the parameter gradients cost a third of the time and
    # are usually not needed (fixed decay and threshold).
    if need_params:
        for j in range(ut.size):
            du, dtheta = _adjoint(code, ut[j], tht[j], gst[j], gv[j], ga[j], v_reset, subtract,
                                  keep_value, threshold_increment, keep_reset, slope, half_slope,
                                  arctan_scale, one, zero)
            gxt[j] = du * gain[j]
            gb_row[j] += du * (v_prev[j] - v_rest)
            gg_row[j] += du * xt[j]
            gt_row[j] += dtheta
            gv[j] = du * beta[j]
            ga[j] = (dtheta + ga[j]) * decay_adapt
    else:
        for j in range(ut.size):
            du, dtheta = _adjoint(code, ut[j], tht[j], gst[j], gv[j], ga[j], v_reset, subtract,
                                  keep_value, threshold_increment, keep_reset, slope, half_slope,
                                  arctan_scale, one, zero)
            gxt[j] = du * gain[j]
            gv[j] = du * beta[j]
            ga[j] = (dtheta + ga[j]) * decay_adapt


@njit(inline="always")
def _backward_body(code, grad_s, grad_v, grad_a, u_seq, theta_seq, v0, x, beta, gain, consts,
                   need_params, need_x, grad_x, g_beta, g_gain, g_theta, b_lo, b_hi):
    n_steps = u_seq.shape[0]
    n = u_seq.shape[2]
    per_step_theta = theta_seq.shape[0] == n_steps
    v_rest, v_reset, subtract, keep_value = consts[0], consts[1], consts[2], consts[3]
    decay_adapt, threshold_increment, keep_reset = consts[4], consts[5], consts[6]
    slope, half_slope, arctan_scale, one, zero = (consts[7], consts[8], consts[9], consts[10],
                                                  consts[11])
    v_prev = np.empty(n, dtype=u_seq.dtype)
    # Without the gain's gradient, x is replaced by a zero row so that the loop has no branch.
    zero_row = np.zeros(n, dtype=u_seq.dtype)
    for t in range(n_steps - 1, -1, -1):
        for b in range(b_lo, b_hi):
            if need_params:
                # The membrane entering step t, rebuilt exactly as the forward pass stored it.
                if t == 0:
                    # A loop, not a slice assignment: that would compile numba's general
                    # array assignment into every backward kernel (seconds on a first run).
                    for j in range(n):
                        v_prev[j] = v0[b, j]
                else:
                    up = u_seq[t - 1, b]
                    thp = theta_seq[t - 1 if per_step_theta else 0, b]
                    for j in range(n):
                        v_prev[j] = _after_step(up[j], thp[j], v_reset, subtract)
            # Rows as 1-D slices: indexing 2-D arrays inside the neuron loop keeps it from
            # vectorising.
            _backward_step_row(
                code, need_params, grad_s[t, b], grad_x[t, b], u_seq[t, b],
                theta_seq[t if per_step_theta else 0, b], grad_v[b], grad_a[b], v_prev,
                x[t, b] if need_x else zero_row, beta, gain, g_beta[b], g_gain[b], g_theta[b],
                v_rest, v_reset, subtract, keep_value, decay_adapt, threshold_increment, keep_reset,
                slope, half_slope, arctan_scale, one, zero)


# One compiled function per surrogate kind, each with the kind as a constant, so that its
# selection is folded away rather than left inside the vectorised neuron loop.
@njit(cache=True, error_model="numpy")
def _backward_rows_fast_sigmoid(grad_s, grad_v, grad_a, u_seq, theta_seq, v0, x, beta, gain,
                                consts, need_params, need_x, grad_x, g_beta, g_gain, g_theta,
                                b_lo, b_hi):
    _backward_body(0, grad_s, grad_v, grad_a, u_seq, theta_seq, v0, x, beta, gain, consts,
                   need_params, need_x, grad_x, g_beta, g_gain, g_theta, b_lo, b_hi)


@njit(cache=True, error_model="numpy")
def _backward_rows_arctan(grad_s, grad_v, grad_a, u_seq, theta_seq, v0, x, beta, gain, consts,
                          need_params, need_x, grad_x, g_beta, g_gain, g_theta, b_lo, b_hi):
    _backward_body(1, grad_s, grad_v, grad_a, u_seq, theta_seq, v0, x, beta, gain, consts,
                   need_params, need_x, grad_x, g_beta, g_gain, g_theta, b_lo, b_hi)


@njit(cache=True, error_model="numpy")
def _backward_rows_triangle(grad_s, grad_v, grad_a, u_seq, theta_seq, v0, x, beta, gain, consts,
                            need_params, need_x, grad_x, g_beta, g_gain, g_theta, b_lo, b_hi):
    _backward_body(2, grad_s, grad_v, grad_a, u_seq, theta_seq, v0, x, beta, gain, consts,
                   need_params, need_x, grad_x, g_beta, g_gain, g_theta, b_lo, b_hi)


def lif_backward(code, grad_s, grad_v, grad_a, u_seq, theta_seq, v0, x, beta, gain, consts,
                 need_params, need_x, grad_x, g_beta, g_gain, g_theta, groups):
    """Adjoint of :func:`lif_forward`.  grad_s [T, B, N] is dL/dspikes; grad_v, grad_a [B, N]
    hold dL/d(final state) and are overwritten with dL/d(initial state); grad_x [T, B, N] is
    written; with ``need_params``, g_beta, g_gain, g_theta [B, N] receive per-row parameter
    gradients (summed over rows by the caller); ``x`` is read only when ``need_x`` (for the
    gain's gradient; otherwise g_gain receives zeros).  ``consts`` come from
    :func:`backward_constants`, ``groups`` from :func:`row_groups`."""
    # The surrogate kind is chosen here, outside compiled code, so that only the kind in use
    # is compiled (each costs seconds on a first run).
    _LIF_BACKWARD[code](grad_s, grad_v, grad_a, u_seq, theta_seq, v0, x, beta, gain, consts,
                        need_params, need_x, grad_x, g_beta, g_gain, g_theta, groups)


@njit(cache=True, parallel=True)
def _lif_backward_fast_sigmoid(grad_s, grad_v, grad_a, u_seq, theta_seq, v0, x, beta, gain,
                               consts, need_params, need_x, grad_x, g_beta, g_gain, g_theta,
                               groups):
    for g in prange(groups.size - 1):
        _backward_rows_fast_sigmoid(grad_s, grad_v, grad_a, u_seq, theta_seq, v0, x, beta, gain,
                                    consts, need_params, need_x, grad_x, g_beta, g_gain, g_theta,
                                    groups[g], groups[g + 1])


@njit(cache=True, parallel=True)
def _lif_backward_arctan(grad_s, grad_v, grad_a, u_seq, theta_seq, v0, x, beta, gain, consts,
                         need_params, need_x, grad_x, g_beta, g_gain, g_theta, groups):
    for g in prange(groups.size - 1):
        _backward_rows_arctan(grad_s, grad_v, grad_a, u_seq, theta_seq, v0, x, beta, gain,
                              consts, need_params, need_x, grad_x, g_beta, g_gain, g_theta,
                              groups[g], groups[g + 1])


@njit(cache=True, parallel=True)
def _lif_backward_triangle(grad_s, grad_v, grad_a, u_seq, theta_seq, v0, x, beta, gain, consts,
                           need_params, need_x, grad_x, g_beta, g_gain, g_theta, groups):
    for g in prange(groups.size - 1):
        _backward_rows_triangle(grad_s, grad_v, grad_a, u_seq, theta_seq, v0, x, beta, gain,
                                consts, need_params, need_x, grad_x, g_beta, g_gain, g_theta,
                                groups[g], groups[g + 1])


# By surrogate code (0 fast sigmoid, 1 arctan, 2 triangle; see snn.layers.surrogate).
_LIF_BACKWARD = (_lif_backward_fast_sigmoid, _lif_backward_arctan, _lif_backward_triangle)
