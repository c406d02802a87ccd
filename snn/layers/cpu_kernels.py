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

import math
import warnings

import numpy as np
from numba import njit, prange
from numba.core.errors import NumbaIRAssumptionWarning

from .. import (
    _numba_cache,  # noqa: F401  (installs the package's compiled-code cache)
    models,
)

# numba's internal pedantic check flags the inlined model code with spurious "not in scope"
# notices while compiling these kernels; the compiled code is correct (tests compare it with
# the torch implementation).
warnings.filterwarnings("ignore", message=r"variable '.*' is not in scope",
                        category=NumbaIRAssumptionWarning)


@njit(inline="always")
def _coeffs(beta, gain, threshold, v_rest, v_reset, subtract, adapt_decay, adapt_increment):
    return models.Coeffs(0.0, beta, v_rest, gain, 0.0, 0.0, 0.0, 0.0, threshold, v_reset,
                         subtract, 0.0, adapt_decay, adapt_increment, 0.0, 0.0, 0.0, 0.0)


@njit(cache=True, error_model="numpy")
def _forward_row(x, v, a, beta, gain, threshold, scalars, spikes, u_seq, theta_seq, b):
    n_steps, _, n = x.shape
    per_step_theta = theta_seq.shape[0] == n_steps
    vb, ab = v[b], a[b]
    # Constants read once into locals: read from the array inside the neuron loop, they could
    # alias the outputs and would be reloaded every iteration, which blocks vectorisation.
    v_rest, v_reset, subtract = scalars[0], scalars[1], scalars[2]
    adapt_decay, adapt_increment = scalars[3], scalars[4]
    for t in range(n_steps):
        xt, st, ut = x[t, b], spikes[t, b], u_seq[t, b]
        tht = theta_seq[t if per_step_theta else 0, b]
        for j in range(n):
            c = _coeffs(beta[j], gain[j], threshold[j], v_rest, v_reset, subtract, adapt_decay,
                        adapt_increment)
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


@njit(cache=True, parallel=True)
def lif_forward(x, v, a, beta, gain, threshold, scalars, spikes, u_seq, theta_seq):
    """x [T, B, N]; v, a [B, N] initial state, overwritten with the final state; beta, gain,
    threshold [N]; scalars = (v_rest, v_reset, subtract, adapt_decay, adapt_increment);
    writes spikes [T, B, N], u_seq [T, B, N] (membrane before threshold) and theta_seq
    [T or 1, B, N] (threshold in use; one row when it cannot change)."""
    # One call per batch row: the row loop vectorises over neurons, and numba's parallel
    # analysis does not have to see through the inlined model code.
    for b in prange(x.shape[1]):
        _forward_row(x, v, a, beta, gain, threshold, scalars, spikes, u_seq, theta_seq, b)


@njit(inline="always")
def _surrogate(code, slope, half_slope, arctan_scale, one, zero, z):
    # Constants come in the storage dtype so that float32 runs compute in float32; squares are
    # written as products (numba lowers ``** 2`` to a call that does not vectorise).
    if code == 0:
        denominator = slope * abs(z) + one
        return one / (denominator * denominator)
    if code == 1:
        scaled = arctan_scale * z
        return half_slope / (one + scaled * scaled)
    return slope * max(zero, one - slope * abs(z))


@njit(inline="always")
def _after_step(u, theta, v_reset, subtract):
    """Membrane after threshold and reset, as ``fire_and_reset`` computes it (in float64,
    like the forward pass, so that the stored value is reproduced)."""
    spike = models.heaviside_scalar(u - theta)
    v_after_spike = subtract * (u - (theta - v_reset)) + (1.0 - subtract) * v_reset
    return spike * v_after_spike + (1.0 - spike) * u


def backward_constants(cfg_scalars, detach_reset: bool, slope: float, dtype) -> np.ndarray:
    """The constants of :func:`lif_backward` in the storage ``dtype``: v_rest, v_reset,
    subtract, 1 - subtract, adapt_decay, adapt_increment, keep_reset, slope, slope / 2,
    pi / 2 * slope, 1, 0."""
    v_rest, v_reset, subtract, adapt_decay, adapt_increment = cfg_scalars
    return np.array([v_rest, v_reset, subtract, 1.0 - subtract, adapt_decay, adapt_increment,
                     0.0 if detach_reset else 1.0, slope, slope / 2.0, math.pi / 2.0 * slope,
                     1.0, 0.0], dtype=dtype)


@njit(inline="always")
def _backward_body(code, grad_s, gv, ga, u_seq, theta_seq, v0, x, beta, gain, consts,
                   need_params, need_x, grad_x, g_beta, g_gain, g_theta, v_prev, b):
    n_steps = u_seq.shape[0]
    n = u_seq.shape[2]
    per_step_theta = theta_seq.shape[0] == n_steps
    v_rest, v_reset, subtract, keep_value = consts[0], consts[1], consts[2], consts[3]
    adapt_decay, adapt_increment, keep_reset = consts[4], consts[5], consts[6]
    slope, half_slope, arctan_scale, one, zero = (consts[7], consts[8], consts[9], consts[10],
                                                  consts[11])
    # Rows of the [B, N] arrays as 1-D slices: indexing the 2-D arrays inside the neuron loop
    # keeps it from vectorising.  Without the gain's gradient, x is replaced by a zero row so
    # that the loop has no branch.
    v0_row, gb_row, gg_row, gt_row = v0[b], g_beta[b], g_gain[b], g_theta[b]
    zero_row = np.zeros(n, dtype=u_seq.dtype)
    for t in range(n_steps - 1, -1, -1):
        ut, tht = u_seq[t, b], theta_seq[t if per_step_theta else 0, b]
        gst, gxt = grad_s[t, b], grad_x[t, b]
        if need_params:
            # The membrane entering step t, rebuilt exactly as the forward pass stored it.
            if t == 0:
                for j in range(n):
                    v_prev[j] = v0_row[j]
            else:
                up, thp = u_seq[t - 1, b], theta_seq[t - 1 if per_step_theta else 0, b]
                for j in range(n):
                    v_prev[j] = _after_step(up[j], thp[j], v_reset, subtract)
        xt = x[t, b] if need_x else zero_row
        # Two copies of the neuron loop, chosen per row: the parameter gradients cost a third
        # of the time and are usually not needed (fixed decay and threshold).
        if need_params:
            for j in range(n):
                u, theta = ut[j], tht[j]
                z = u - theta
                spike = one if z > zero else zero
                dv_dspike = subtract * (v_reset - theta) + keep_value * (v_reset - u)
                g_spike = gst[j] + ga[j] * adapt_increment + keep_reset * gv[j] * dv_dspike
                dz = g_spike * _surrogate(code, slope, half_slope, arctan_scale, one, zero, z)
                du = dz + gv[j] * (subtract + keep_value * (one - spike))
                dtheta = -dz - gv[j] * subtract * spike
                gxt[j] = du * gain[j]
                gb_row[j] += du * (v_prev[j] - v_rest)
                gg_row[j] += du * xt[j]
                gt_row[j] += dtheta
                gv[j] = du * beta[j]
                ga[j] = (dtheta + ga[j]) * adapt_decay
        else:
            for j in range(n):
                u, theta = ut[j], tht[j]
                z = u - theta
                spike = one if z > zero else zero
                dv_dspike = subtract * (v_reset - theta) + keep_value * (v_reset - u)
                g_spike = gst[j] + ga[j] * adapt_increment + keep_reset * gv[j] * dv_dspike
                dz = g_spike * _surrogate(code, slope, half_slope, arctan_scale, one, zero, z)
                du = dz + gv[j] * (subtract + keep_value * (one - spike))
                dtheta = -dz - gv[j] * subtract * spike
                gxt[j] = du * gain[j]
                gv[j] = du * beta[j]
                ga[j] = (dtheta + ga[j]) * adapt_decay


# One compiled row function per surrogate kind, each with the kind as a constant, so that its
# selection is folded away rather than left inside the vectorised neuron loop.
@njit(cache=True, error_model="numpy")
def _backward_row_fast_sigmoid(grad_s, gv, ga, u_seq, theta_seq, v0, x, beta, gain, consts,
                               need_params, need_x, grad_x, g_beta, g_gain, g_theta, v_prev, b):
    _backward_body(0, grad_s, gv, ga, u_seq, theta_seq, v0, x, beta, gain, consts, need_params,
                   need_x, grad_x, g_beta, g_gain, g_theta, v_prev, b)


@njit(cache=True, error_model="numpy")
def _backward_row_arctan(grad_s, gv, ga, u_seq, theta_seq, v0, x, beta, gain, consts,
                         need_params, need_x, grad_x, g_beta, g_gain, g_theta, v_prev, b):
    _backward_body(1, grad_s, gv, ga, u_seq, theta_seq, v0, x, beta, gain, consts, need_params,
                   need_x, grad_x, g_beta, g_gain, g_theta, v_prev, b)


@njit(cache=True, error_model="numpy")
def _backward_row_triangle(grad_s, gv, ga, u_seq, theta_seq, v0, x, beta, gain, consts,
                           need_params, need_x, grad_x, g_beta, g_gain, g_theta, v_prev, b):
    _backward_body(2, grad_s, gv, ga, u_seq, theta_seq, v0, x, beta, gain, consts, need_params,
                   need_x, grad_x, g_beta, g_gain, g_theta, v_prev, b)


@njit(cache=True, parallel=True)
def lif_backward(code, grad_s, grad_v, grad_a, u_seq, theta_seq, v0, x, beta, gain, consts,
                 need_params, need_x, grad_x, g_beta, g_gain, g_theta):
    """Adjoint of :func:`lif_forward`.  grad_s [T, B, N] is dL/dspikes; grad_v, grad_a [B, N]
    hold dL/d(final state) and are overwritten with dL/d(initial state); grad_x [T, B, N] is
    written; with ``need_params``, g_beta, g_gain, g_theta [B, N] receive per-row parameter
    gradients (summed over rows by the caller); ``x`` is read only when ``need_x`` (for the
    gain's gradient; otherwise g_gain receives zeros).  ``consts`` come from
    :func:`backward_constants`."""
    batch, n = grad_v.shape
    for b in prange(batch):
        v_prev = np.empty(n, dtype=u_seq.dtype)
        gv, ga = grad_v[b], grad_a[b]
        if code == 0:
            _backward_row_fast_sigmoid(grad_s, gv, ga, u_seq, theta_seq, v0, x, beta, gain,
                                       consts, need_params, need_x, grad_x, g_beta, g_gain,
                                       g_theta, v_prev, b)
        elif code == 1:
            _backward_row_arctan(grad_s, gv, ga, u_seq, theta_seq, v0, x, beta, gain, consts,
                                 need_params, need_x, grad_x, g_beta, g_gain, g_theta, v_prev, b)
        else:
            _backward_row_triangle(grad_s, gv, ga, u_seq, theta_seq, v0, x, beta, gain, consts,
                                   need_params, need_x, grad_x, g_beta, g_gain, g_theta, v_prev,
                                   b)
