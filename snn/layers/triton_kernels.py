"""Triton kernels of the fused multi-step LIF op (CUDA; CPU tensors under Triton's interpreter).

Same algorithm as :mod:`snn.layers.cpu_kernels` and the torch specification in
:mod:`snn.layers.functional`: one program owns ``BLOCK`` contiguous elements of the flattened
``[B * N]`` plane of one time step (neuron ``element % N`` for the per-neuron parameters) and
runs the whole time loop inside the kernel.  The forward pass keeps ``v`` and ``a`` in
registers and writes the spikes, the free membrane ``u`` and (when it changes over time) the
threshold; the backward pass runs the adjoint recursion backwards in time with the carries
``g_v``, ``g_a`` and the per-element parameter-gradient sums in registers, rebuilding the spike
and the previous membrane from the stored ``u`` and threshold.

Everything is computed in the storage dtype (float32 or float64) in the operation order of
:func:`snn.models.free_potential_current`, :func:`snn.models.fire_and_reset` and
``functional._backward_torch``; the float constants reach the kernels as float64 arguments
and are rounded to the storage dtype inside, as torch rounds a Python number it combines with
a tensor, and divisions round to nearest.  The kernels are compiled without FMA contraction
(``enable_fp_fusion=False``; it would save nothing in a memory-bound loop), so every
operation rounds as in the torch implementation (under the interpreter the results equal
torch's bit for bit, in float32 and float64).  The backward pass rebuilds the spike and
the previous membrane from the stored ``u`` and threshold with the forward pass's own
arithmetic, so it sees exactly the forward pass's spikes and membranes.

``import triton`` at the top is deliberate: where Triton is missing, importing this module
raises ImportError and :mod:`snn.layers.functional` falls back to another implementation.
Set ``TRITON_INTERPRET=1`` before importing this module to run the kernels on CPU tensors
with Triton's interpreter (slow; for tests).
"""

from __future__ import annotations

import torch
import triton
import triton.language as tl

__all__ = ["lif_forward", "lif_backward", "BLOCK", "NUM_WARPS", "NUM_STAGES", "COMPILE_OPTIONS",
           "interpreted"]

# One element per thread (BLOCK = 32 * NUM_WARPS): the op streams [T, B, N] tensors once with
# a few dozen flops per element and step, so it is bound by memory latency and bandwidth, and
# every step depends on the previous one.  At the target sizes one step's plane has only
# 64K-256K elements; small programs spread it over as many warps and SMs as possible (64K
# elements: 512 programs of 4 warps, about 4 per SM of an H100) where larger blocks would
# leave SMs idle, and keep the registers per thread (carries, parameter sums) few.  The
# bytes in flight that one plane cannot supply come from the time loop's software pipeline:
# its loads are issued NUM_STAGES - 1 steps ahead (through shared memory, a few KiB per
# program).
NUM_WARPS = 4
BLOCK = 32 * NUM_WARPS
NUM_STAGES = 4
# Triton cannot call the Python model functions, so these kernels keep a copy of the
# equations (snn.models.leaky_integrate / reset_membrane / fire_and_reset, the surrogates'
# snn.layers.surrogate.pseudo_derivative and snn.layers.adjoint.lif_adjoint);
# tests/test_triton_equations.py holds this copy to them bit for bit under the interpreter.

# Launch options of both kernels (see the module docstring on FMA contraction).
COMPILE_OPTIONS = {"num_warps": NUM_WARPS, "enable_fp_fusion": False}


@triton.jit
def _const(value, dtype: tl.constexpr):
    """A float64 kernel argument (a Python float under the interpreter) rounded to ``dtype``,
    as torch rounds a Python number combined with a tensor of that dtype."""
    return tl.full([], value, dtype)


@triton.jit
def _after_step(u, theta, v_reset, subtract, reset_const):
    """Membrane after threshold and reset (``fire_and_reset``; ``reset_const`` is
    ``(1 - subtract) * v_reset``, which fire_and_reset computes in Python)."""
    spike = (u - theta > 0.0).to(u.dtype)
    v_after_spike = subtract * (u - (theta - v_reset)) + reset_const
    return spike * v_after_spike + (1.0 - spike) * u


@triton.jit
def _reciprocal(y):
    """``1 / y`` rounded to nearest, as torch computes it (Triton's float32 ``/`` is an
    approximate division; its float64 ``/`` is IEEE)."""
    if y.dtype == tl.float32:
        result = tl.math.div_rn(tl.full(y.shape, 1.0, tl.float32), y)
    else:
        result = 1.0 / y
    return result


@triton.jit
def _surrogate(z, slope, c_scale, c_inner, SURROGATE: tl.constexpr):
    """Pseudo-derivative of the spike at ``z`` in the operation order of
    :meth:`Surrogate.derivative` evaluated on tensors (where ``number / tensor`` is
    ``tensor.reciprocal() * number``): fast_sigmoid ``1 / (slope |z| + 1)^2``; arctan
    ``c_scale / (1 + (c_inner z)^2)`` with ``c_scale = slope / 2`` and
    ``c_inner = pi / 2 * slope``; triangle ``slope * max(0, 1 - slope |z|)``."""
    if SURROGATE == 0:
        d = slope * tl.abs(z) + 1.0
        result = _reciprocal(d * d)
    elif SURROGATE == 1:
        w = c_inner * z
        result = _reciprocal(1.0 + w * w) * c_scale
    else:
        result = slope * tl.maximum(1.0 - slope * tl.abs(z), 0.0)
    return result


@triton.jit
def _lif_forward_kernel(
    x_ptr, v0_ptr, a0_ptr, beta_ptr, gain_ptr, threshold_ptr,
    spikes_ptr, u_ptr, theta_ptr, v_out_ptr, a_out_ptr,
    n_steps, plane, n_neurons,
    v_rest_arg: tl.float64, v_reset_arg: tl.float64, subtract_arg: tl.float64,
    reset_const_arg: tl.float64, decay_adapt_arg: tl.float64, threshold_increment_arg: tl.float64,
    PER_STEP_THRESHOLD: tl.constexpr, BLOCK: tl.constexpr, NUM_STAGES: tl.constexpr,
):
    dtype = x_ptr.dtype.element_ty
    offs = tl.program_id(0) * BLOCK + tl.arange(0, BLOCK)
    mask = offs < plane
    j = offs % n_neurons
    v_rest = _const(v_rest_arg, dtype)
    v_reset = _const(v_reset_arg, dtype)
    subtract = _const(subtract_arg, dtype)
    reset_const = _const(reset_const_arg, dtype)
    decay_adapt = _const(decay_adapt_arg, dtype)
    threshold_increment = _const(threshold_increment_arg, dtype)

    beta = tl.load(beta_ptr + j, mask=mask, other=0.0)
    gain = tl.load(gain_ptr + j, mask=mask, other=0.0)
    threshold0 = tl.load(threshold_ptr + j, mask=mask, other=0.0)
    v = tl.load(v0_ptr + offs, mask=mask, other=0.0)
    a = tl.load(a0_ptr + offs, mask=mask, other=0.0)

    # Without a per-step threshold it cannot change (a stays a0 with decay_adapt = 1, or 0):
    # only the first step's is stored.
    if not PER_STEP_THRESHOLD:
        tl.store(theta_ptr + offs, threshold0 + a * decay_adapt, mask=mask)

    x_p = x_ptr + offs
    u_p = u_ptr + offs
    s_p = spikes_ptr + offs
    th_p = theta_ptr + offs
    # The compiler's software pipeliner issues the loads of x NUM_STAGES - 1 steps ahead.
    for _ in tl.range(n_steps, num_stages=NUM_STAGES):
        x_t = tl.load(x_p, mask=mask, other=0.0)
        # free_potential_current
        u = v_rest + (v - v_rest) * beta + x_t * gain
        # fire_and_reset (no refractory period: active = 1)
        adaptation = a * decay_adapt
        theta = threshold0 + adaptation
        if PER_STEP_THRESHOLD:
            tl.store(th_p, theta, mask=mask)
            th_p += plane
        spike = (u - theta > 0.0).to(dtype)
        v_after_spike = subtract * (u - (theta - v_reset)) + reset_const
        v = spike * v_after_spike + (1.0 - spike) * u
        a = adaptation + spike * threshold_increment
        tl.store(u_p, u, mask=mask)
        tl.store(s_p, spike, mask=mask)
        x_p += plane
        u_p += plane
        s_p += plane
    tl.store(v_out_ptr + offs, v, mask=mask)
    tl.store(a_out_ptr + offs, a, mask=mask)


@triton.jit
def _lif_backward_kernel(
    grad_s_ptr, grad_v_ptr, grad_a_ptr, u_ptr, theta_ptr, v0_ptr, x_ptr, beta_ptr, gain_ptr,
    grad_x_ptr, grad_v0_ptr, grad_a0_ptr, g_beta_ptr, g_gain_ptr, g_theta_ptr,
    n_steps, plane, n_neurons, last_step_offset,
    v_rest_arg: tl.float64, v_reset_arg: tl.float64, subtract_arg: tl.float64,
    one_minus_subtract_arg: tl.float64, reset_const_arg: tl.float64,
    decay_adapt_arg: tl.float64, threshold_increment_arg: tl.float64,
    slope_arg: tl.float64, c_scale_arg: tl.float64, c_inner_arg: tl.float64,
    SURROGATE: tl.constexpr, DETACH_RESET: tl.constexpr, PER_STEP_THRESHOLD: tl.constexpr,
    HAS_X: tl.constexpr, BLOCK: tl.constexpr, NUM_STAGES: tl.constexpr,
):
    dtype = u_ptr.dtype.element_ty
    offs = tl.program_id(0) * BLOCK + tl.arange(0, BLOCK)
    mask = offs < plane
    j = offs % n_neurons
    v_rest = _const(v_rest_arg, dtype)
    v_reset = _const(v_reset_arg, dtype)
    subtract = _const(subtract_arg, dtype)
    one_minus_subtract = _const(one_minus_subtract_arg, dtype)
    reset_const = _const(reset_const_arg, dtype)
    decay_adapt = _const(decay_adapt_arg, dtype)
    threshold_increment = _const(threshold_increment_arg, dtype)
    slope = _const(slope_arg, dtype)
    c_scale = _const(c_scale_arg, dtype)
    c_inner = _const(c_inner_arg, dtype)

    beta = tl.load(beta_ptr + j, mask=mask, other=0.0)
    gain = tl.load(gain_ptr + j, mask=mask, other=0.0)
    v0 = tl.load(v0_ptr + offs, mask=mask, other=0.0)
    gv = tl.load(grad_v_ptr + offs, mask=mask, other=0.0)
    ga = tl.load(grad_a_ptr + offs, mask=mask, other=0.0)
    g_beta = tl.zeros([BLOCK], dtype)
    g_gain = tl.zeros([BLOCK], dtype)
    g_theta = tl.zeros([BLOCK], dtype)

    # Pointers at step T - 1, moved one plane back per iteration.  u (and the threshold) of
    # step t - 1 are loaded in iteration t, for the membrane entering step t, and carried
    # into iteration t - 1.  The compiler's software pipeliner issues the loads
    # NUM_STAGES - 1 steps ahead.
    u_p = u_ptr + last_step_offset + offs
    gs_p = grad_s_ptr + last_step_offset + offs
    gx_p = grad_x_ptr + last_step_offset + offs
    x_p = x_ptr + last_step_offset + offs
    th_p = theta_ptr + last_step_offset + offs
    u = tl.load(u_p, mask=mask, other=0.0)
    if PER_STEP_THRESHOLD:
        theta = tl.load(th_p, mask=mask, other=0.0)
    else:
        theta = tl.load(theta_ptr + offs, mask=mask, other=0.0)
    for i in tl.range(n_steps, num_stages=NUM_STAGES):
        has_prev = n_steps - 1 - i > 0
        prev_mask = tl.where(has_prev, mask, False)
        gs = tl.load(gs_p, mask=mask, other=0.0)
        u_p -= plane
        u_prev = tl.load(u_p, mask=prev_mask, other=0.0)
        if PER_STEP_THRESHOLD:
            th_p -= plane
            theta_prev = tl.load(th_p, mask=prev_mask, other=0.0)
        else:
            theta_prev = theta
        # The membrane entering this step, rebuilt exactly as the forward pass computed it.
        v_prev = tl.where(has_prev, _after_step(u_prev, theta_prev, v_reset, subtract,
                                                reset_const), v0)

        z = u - theta
        spike = (z > 0.0).to(dtype)
        dv_dspike = subtract * (v_reset - theta) + one_minus_subtract * (v_reset - u)
        g_spike = gs + ga * threshold_increment
        if not DETACH_RESET:
            g_spike = g_spike + gv * dv_dspike
        dz = g_spike * _surrogate(z, slope, c_scale, c_inner, SURROGATE)
        du = dz + gv * (subtract + one_minus_subtract * (1.0 - spike))
        dtheta = -dz - gv * subtract * spike
        tl.store(gx_p, du * gain, mask=mask)
        g_beta += du * (v_prev - v_rest)
        if HAS_X:
            x_t = tl.load(x_p, mask=mask, other=0.0)
            g_gain += du * x_t
            x_p -= plane
        g_theta += dtheta
        gv = du * beta
        ga = (dtheta + ga) * decay_adapt

        gs_p -= plane
        gx_p -= plane
        u = u_prev
        theta = theta_prev
    tl.store(grad_v0_ptr + offs, gv, mask=mask)
    tl.store(grad_a0_ptr + offs, ga, mask=mask)
    tl.store(g_beta_ptr + offs, g_beta, mask=mask)
    tl.store(g_theta_ptr + offs, g_theta, mask=mask)
    if HAS_X:
        tl.store(g_gain_ptr + offs, g_gain, mask=mask)


# ---------------------------------------------------------------------------------------------
# host side


def interpreted() -> bool:
    """True when the kernels were decorated under Triton's interpreter (``TRITON_INTERPRET=1``
    at import) and so run on CPU tensors."""
    from triton.runtime.interpreter import InterpretedFunction

    return isinstance(_lif_forward_kernel, InterpretedFunction)


def _check(cfg, ref: torch.Tensor, **tensors: torch.Tensor) -> tuple[int, int, int]:
    if cfg.relaxed:
        raise ValueError("relaxed=True (smooth spikes) is implemented by the torch backend only, "
                         "not by the Triton kernels")
    if ref.dim() != 3:
        raise ValueError(f"the Triton LIF kernels take a [T, B, N] tensor, got shape "
                         f"{tuple(ref.shape)}")
    n_steps, batch, n = ref.shape
    if n_steps == 0 or batch * n == 0:
        raise ValueError(f"the Triton LIF kernels need at least one step and one neuron, got "
                         f"shape {tuple(ref.shape)}")
    if batch * n >= 2**31:
        raise ValueError(f"B * N = {batch * n} elements per step exceeds the kernels' 32-bit "
                         f"element index")
    if ref.dtype not in (torch.float32, torch.float64):
        raise ValueError(f"the Triton LIF kernels compute in float32 or float64, got {ref.dtype}")
    if ref.device.type != "cuda" and not interpreted():
        raise ValueError(f"the Triton LIF kernels run on CUDA tensors, got a tensor on "
                         f"{ref.device}; CPU tensors work only under Triton's interpreter "
                         f"(TRITON_INTERPRET=1 set before importing snn.layers.triton_kernels)")
    for name, tensor in tensors.items():
        if tensor.dtype != ref.dtype or tensor.device != ref.device:
            raise ValueError(f"{name} must be a {ref.dtype} tensor on {ref.device}, got "
                             f"{tensor.dtype} on {tensor.device}")
    return n_steps, batch, n


def _grid(plane: int) -> tuple[int]:
    return (triton.cdiv(plane, BLOCK),)


def lif_forward(x, v, a, beta, gain, threshold, cfg):
    """Forward pass; arguments and results as ``functional._forward_torch``: x [T, B, N];
    v, a [B, N] initial state; beta, gain, threshold [N].  Returns ``(spikes [T, B, N],
    v_T, a_T [B, N], u_seq [T, B, N], theta_seq [T or 1, B, N])``."""
    n_steps, batch, n = _check(cfg, x, v=v, a=a, beta=beta, gain=gain, threshold=threshold)
    x = x.contiguous()
    v = v.reshape(batch, n).contiguous()
    a = a.reshape(batch, n).contiguous()
    beta, gain, threshold = (p.reshape(n).contiguous() for p in (beta, gain, threshold))
    spikes = torch.empty_like(x)
    u_seq = torch.empty_like(x)
    theta_seq = torch.empty((n_steps if cfg.per_step_threshold else 1, batch, n),
                            dtype=x.dtype, device=x.device)
    v_out = torch.empty_like(v)
    a_out = torch.empty_like(a)
    v_rest, v_reset, subtract, decay_adapt, threshold_increment = cfg.scalars
    plane = batch * n
    _lif_forward_kernel[_grid(plane)](
        x, v, a, beta, gain, threshold, spikes, u_seq, theta_seq, v_out, a_out,
        n_steps, plane, n,
        v_rest, v_reset, subtract, (1.0 - subtract) * v_reset, decay_adapt, threshold_increment,
        PER_STEP_THRESHOLD=bool(cfg.per_step_threshold), BLOCK=BLOCK, NUM_STAGES=NUM_STAGES,
        **COMPILE_OPTIONS)
    return spikes, v_out, a_out, u_seq, theta_seq


def lif_backward(grad_s, grad_v, grad_a, u_seq, theta_seq, v0, x, beta, gain, cfg):
    """Backward pass; arguments and results as ``functional._backward_torch``.  Returns
    ``(grad_x [T, B, N], grad_v0, grad_a0 [B, N], g_beta [B, N], g_gain [B, N] or None when
    x is None, g_theta [B, N])``; the parameter gradients are per batch row (the caller sums
    over rows)."""
    tensors = dict(grad_s=grad_s, grad_v=grad_v, grad_a=grad_a, theta_seq=theta_seq, v0=v0,
                   beta=beta, gain=gain)
    if x is not None:
        tensors["x"] = x
    n_steps, batch, n = _check(cfg, u_seq, **tensors)
    if tuple(theta_seq.shape) != (n_steps if cfg.per_step_threshold else 1, batch, n):
        raise ValueError(f"theta_seq has shape {tuple(theta_seq.shape)}, which does not match "
                         f"u_seq {tuple(u_seq.shape)} and per_step_threshold="
                         f"{cfg.per_step_threshold}")
    u_seq = u_seq.contiguous()
    theta_seq = theta_seq.contiguous()
    grad_s = grad_s.contiguous()
    grad_v = grad_v.reshape(batch, n).contiguous()
    grad_a = grad_a.reshape(batch, n).contiguous()
    v0 = v0.reshape(batch, n).contiguous()
    beta = beta.reshape(n).contiguous()
    gain = gain.reshape(n).contiguous()
    has_x = x is not None
    x_arg = x.contiguous() if has_x else u_seq  # never read without HAS_X
    grad_x = torch.empty_like(u_seq)
    grad_v0 = torch.empty_like(grad_v)
    grad_a0 = torch.empty_like(grad_a)
    g_beta = torch.empty_like(v0)
    g_theta = torch.empty_like(v0)
    g_gain = torch.empty_like(v0) if has_x else None
    v_rest, v_reset, subtract, decay_adapt, threshold_increment = cfg.scalars
    slope, half_slope, arctan_scale = cfg.surrogate.constants
    plane = batch * n
    _lif_backward_kernel[_grid(plane)](
        grad_s, grad_v, grad_a, u_seq, theta_seq, v0, x_arg, beta, gain,
        grad_x, grad_v0, grad_a0, g_beta, g_gain if has_x else g_beta, g_theta,
        n_steps, plane, n, (n_steps - 1) * plane,
        v_rest, v_reset, subtract, 1.0 - subtract, (1.0 - subtract) * v_reset,
        decay_adapt, threshold_increment,
        slope, half_slope, arctan_scale,
        SURROGATE=cfg.surrogate.code, DETACH_RESET=bool(cfg.detach_reset),
        PER_STEP_THRESHOLD=bool(cfg.per_step_threshold), HAS_X=has_x, BLOCK=BLOCK,
        NUM_STAGES=NUM_STAGES, **COMPILE_OPTIONS)
    return grad_x, grad_v0, grad_a0, g_beta, g_gain, g_theta
