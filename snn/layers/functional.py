"""The fused multi-step LIF op: one autograd Function for a whole spike sequence.

For every neuron (one feature of one batch row) and step ``t``, with per-neuron decay
``beta``, input gain ``gain`` and base threshold ``theta0`` (tensors, learnable) and the
constants ``v_rest``, ``v_reset``, reset mode, adaptation decay ``rho`` (``decay_adapt``) and
increment ``delta`` (``threshold_increment``), with ``a`` the threshold offset
(``adaptation``), the forward pass is the engine's model step (:mod:`snn.models`) with no synaptic
filter and no refractory period::

    u_t     = v_rest + (v_{t-1} - v_rest) * beta + gain * x_t      free membrane potential
    theta_t = theta0 + rho * a_{t-1}                                threshold (ALIF; a = 0: LIF)
    s_t     = H(u_t - theta_t)                                      spike
    v_t     = u_t - s_t * (theta_t - v_reset)   (reset by subtraction)
            = u_t + s_t * (v_reset - u_t)       (reset to v_reset)
    a_t     = rho * a_{t-1} + delta * s_t

``IF`` is ``beta = 1``.  The forward pass saves only ``u`` (and ``theta`` when it changes
over time); the backward pass rebuilds ``s`` and ``v_{t-1}`` from them and runs the adjoint
recursion backwards in time, with the surrogate derivative ``sigma'`` in place of ``H'``::

    g_s     = dL/ds_t + delta * g_a + [not detach_reset] g_v * dv_t/ds_t
    dz      = g_s * sigma'(u_t - theta_t)
    g_u     = dz + g_v * dv_t/du_t           (1 for subtraction, 1 - s_t for reset to value)
    g_theta = -dz + g_v * dv_t/dtheta_t      (-s_t for subtraction, 0 for reset to value)
    dL/dx_t = g_u * gain,  dL/dbeta += g_u * (v_{t-1} - v_rest),  dL/dgain += g_u * x_t,
    dL/dtheta0 += g_theta,  g_v <- g_u * beta,  g_a <- (g_theta + g_a) * rho

Implementations: ``"numba"`` (CPU, compiled, threads over batch rows), ``"triton"`` (CUDA
kernels), ``"torch"`` (any device: a loop over steps of tensor operations, the executable
specification the others are tested against).  ``"auto"`` picks numba for CPU tensors,
Triton for CUDA tensors when Triton is installed, and torch otherwise.
"""

from __future__ import annotations

import functools
import math
import sys
from dataclasses import dataclass
from typing import Any

import numba
import numpy as np
import torch

from .. import models
from ..validation import check_choice, check_real
from .adjoint import lif_adjoint
from .surrogate import Surrogate

__all__ = ["lif_sequence", "LIF_BACKENDS"]

LIF_BACKENDS = ("auto", "numba", "triton", "torch")


@dataclass(frozen=True)
class LIFConfig:
    """The constant (non-tensor) settings of one fused LIF op."""

    v_rest: float
    v_reset: float
    subtract: bool
    decay_adapt: float
    threshold_increment: float
    surrogate: Surrogate
    detach_reset: bool
    per_step_threshold: bool  # threshold changes over time (adaptation); save it every step
    relaxed: bool = False  # spikes are the surrogate's smooth primitive (verification only)

    def spike_value(self, z: torch.Tensor) -> torch.Tensor:
        """The spike as a function of ``z = u - threshold`` in this op's forward pass."""
        return self.surrogate.primitive(z) if self.relaxed else models.heaviside(z)

    @property
    def scalars(self) -> tuple[float, float, float, float, float]:
        return (self.v_rest, self.v_reset, 1.0 if self.subtract else 0.0, self.decay_adapt,
                self.threshold_increment)

    def coeffs(self, beta: Any, gain: Any, threshold: Any) -> models.Coeffs:
        """Model coefficients with the given (tensor) decay, gain and base threshold."""
        v_rest, v_reset, subtract, decay_adapt, threshold_increment = self.scalars
        return models.layer_coeffs(beta, gain, threshold, v_rest, v_reset, subtract, decay_adapt,
                                   threshold_increment)


# ---------------------------------------------------------------------------------------------
# torch implementation (the specification)


def _forward_torch(x, v, a, beta, gain, threshold, cfg: LIFConfig):
    c = cfg.coeffs(beta, gain, threshold)
    n_steps = x.shape[0]
    spikes = torch.empty_like(x)
    u_seq = torch.empty_like(x)
    theta_seq = torch.empty((n_steps if cfg.per_step_threshold else 1,) + v.shape,
                            dtype=x.dtype, device=x.device)
    for t in range(n_steps):
        state = models.NeuronState(v, 0.0, 0.0, a, 0.0)
        u_seq[t] = models.free_potential_current(state, x[t], c)
        new, spikes[t] = models.fire_and_reset(state, u_seq[t], 0.0, 1.0, c, cfg.spike_value)
        if cfg.per_step_threshold or t == 0:
            theta_seq[t] = c.v_threshold + state.adaptation * c.decay_adapt
        v, a = new.v, new.adaptation
    return spikes, v, a, u_seq, theta_seq


def _after_step_torch(u, theta, cfg: LIFConfig):
    """Membrane after threshold and reset, as ``fire_and_reset`` computes it."""
    _, v_reset, subtract, _, _ = cfg.scalars
    return models.reset_membrane(u, cfg.spike_value(u - theta), theta, v_reset, subtract)


def _backward_torch(grad_s, grad_v, grad_a, u_seq, theta_seq, v0, x, beta, gain,
                    cfg: LIFConfig):
    v_rest, v_reset, subtract, decay_adapt, threshold_increment = cfg.scalars
    keep_reset = 0.0 if cfg.detach_reset else 1.0
    n_steps = u_seq.shape[0]
    gv, ga = grad_v.clone(), grad_a.clone()
    grad_x = torch.empty_like(u_seq)
    g_beta = torch.zeros_like(v0)
    g_gain = torch.zeros_like(v0) if x is not None else None
    g_theta = torch.zeros_like(v0)
    for t in range(n_steps - 1, -1, -1):
        u = u_seq[t]
        theta = theta_seq[t if cfg.per_step_threshold else 0]
        if t == 0:
            v_prev = v0
        else:
            v_prev = _after_step_torch(u_seq[t - 1],
                                       theta_seq[t - 1 if cfg.per_step_threshold else 0], cfg)
        z = u - theta
        du, dtheta = lif_adjoint(cfg.spike_value(z), cfg.surrogate.derivative(z), u, theta,
                                 grad_s[t], gv, ga, v_reset, subtract, 1.0 - subtract,
                                 threshold_increment, keep_reset, 1.0)
        grad_x[t] = du * gain
        g_beta += du * (v_prev - v_rest)
        if g_gain is not None:
            g_gain += du * x[t]
        g_theta += dtheta
        gv = du * beta
        ga = (dtheta + ga) * decay_adapt
    return grad_x, gv, ga, g_beta, g_gain, g_theta


# ---------------------------------------------------------------------------------------------
# numba implementation (CPU)


def _np(t: torch.Tensor) -> np.ndarray:
    return t.detach().numpy()


_HUGE_PAGE = 1 << 21
_MADV_HUGEPAGE = 14  # Linux <sys/mman.h>
_LARGE_BUFFER_BYTES = 8 * _HUGE_PAGE


@functools.cache
def _madvise():
    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        return ctypes, libc.madvise
    except (OSError, AttributeError):
        return None


def _empty_like_large(t: torch.Tensor) -> torch.Tensor:
    """``torch.empty_like(t)`` for a CPU tensor, backed by transparent huge pages where Linux
    offers them on request.

    The sequence buffers are hundreds of MB, freshly mapped at every call; touching them
    costs one page fault per 4 KiB page, about as long as the kernels themselves.  With huge
    pages it is one fault per 2 MiB (measured: 25 ms -> 7 ms per 100 MB)."""
    out = torch.empty_like(t, memory_format=torch.contiguous_format)
    size = out.numel() * out.element_size()
    advise = _madvise() if size >= _LARGE_BUFFER_BYTES and sys.platform == "linux" else None
    if advise is not None:
        ctypes, madvise = advise
        start = -(-out.data_ptr() // _HUGE_PAGE) * _HUGE_PAGE
        end = (out.data_ptr() + size) // _HUGE_PAGE * _HUGE_PAGE
        # Advisory only: a refusal (e.g. huge pages disabled) leaves ordinary pages.
        madvise(ctypes.c_void_p(start), ctypes.c_size_t(end - start), _MADV_HUGEPAGE)
    return out


def _forward_numba(x, v, a, beta, gain, threshold, cfg: LIFConfig):
    from . import cpu_kernels

    n_steps = x.shape[0]
    spikes = _empty_like_large(x)
    u_seq = _empty_like_large(x)
    theta_seq = torch.empty((n_steps if cfg.per_step_threshold else 1,) + v.shape,
                            dtype=x.dtype)
    v = v.detach().clone()
    a = a.detach().clone()
    scalars = np.asarray(cfg.scalars, dtype=np.float64)
    with cpu_kernels.quiet_compile():
        cpu_kernels.lif_forward(_np(x), _np(v), _np(a), _np(beta), _np(gain), _np(threshold),
                                scalars, _np(spikes), _np(u_seq), _np(theta_seq),
                                cpu_kernels.row_groups(x.shape[1], numba.get_num_threads()))
    return spikes, v, a, u_seq, theta_seq


def _backward_numba(grad_s, grad_v, grad_a, u_seq, theta_seq, v0, x, beta, gain,
                    cfg: LIFConfig, need_params: bool = True):
    from . import cpu_kernels

    gv = grad_v.detach().clone()
    ga = grad_a.detach().clone()
    grad_x = _empty_like_large(u_seq)
    g_beta = torch.zeros_like(v0)
    g_theta = torch.zeros_like(v0)
    g_gain = torch.zeros_like(v0)
    need_x = x is not None
    x_arg = x if need_x else torch.zeros((1, 1, 1), dtype=v0.dtype)
    consts = cpu_kernels.backward_constants(cfg.scalars, cfg.detach_reset,
                                            cfg.surrogate.constants, _np(u_seq).dtype)
    with cpu_kernels.quiet_compile():
        cpu_kernels.lif_backward(
            cfg.surrogate.code, _np(grad_s), _np(gv), _np(ga), _np(u_seq), _np(theta_seq),
            _np(v0), _np(x_arg), _np(beta), _np(gain), consts, need_params or need_x, need_x,
            _np(grad_x), _np(g_beta), _np(g_gain), _np(g_theta),
            cpu_kernels.row_groups(v0.shape[0], numba.get_num_threads()))
    return grad_x, gv, ga, g_beta, g_gain if need_x else None, g_theta


# ---------------------------------------------------------------------------------------------
# dispatch and the autograd Function


def _triton_available() -> bool:
    try:
        from . import triton_kernels  # noqa: F401
    except ImportError:
        return False
    return True


def _implementation(backend: str, x: torch.Tensor) -> str:
    if backend == "auto":
        if x.device.type == "cpu":
            return "numba"
        if x.device.type == "cuda" and _triton_available():
            return "triton"
        return "torch"
    if backend == "numba" and x.device.type != "cpu":
        raise ValueError(f"backend 'numba' runs on CPU tensors, got a tensor on {x.device}")
    if backend == "triton":
        if not _triton_available():
            raise ValueError("backend 'triton' needs the triton package, which is not installed")
    return backend


def _kernels(impl: str):
    if impl == "numba":
        return _forward_numba, _backward_numba
    if impl == "triton":
        from . import triton_kernels

        return triton_kernels.lif_forward, triton_kernels.lif_backward
    return _forward_torch, _backward_torch


class _LIFSequence(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x, v0, a0, beta, gain, threshold, cfg: LIFConfig, impl: str):
        forward_fn, _ = _kernels(impl)
        with torch.no_grad():
            spikes, v_last, a_last, u_seq, theta_seq = forward_fn(
                x, v0, a0, beta, gain, threshold, cfg)
        # x is kept only when the gain's gradient needs it (it is usually alive anyway as
        # the output of the preceding layer).
        x_saved = x if ctx.needs_input_grad[4] else None
        ctx.save_for_backward(u_seq, theta_seq, v0, x_saved, beta, gain)
        ctx.cfg = cfg
        ctx.impl = impl
        return spikes, v_last, a_last

    @staticmethod
    def backward(ctx, grad_s, grad_v, grad_a):
        u_seq, theta_seq, v0, x, beta, gain = ctx.saved_tensors
        _, backward_fn = _kernels(ctx.impl)
        need = ctx.needs_input_grad
        if ctx.impl == "numba":
            # The CPU kernels skip the decay and threshold gradients when nobody asks for them.
            backward_fn = functools.partial(backward_fn, need_params=need[3] or need[5])
        grad_s = torch.zeros_like(u_seq) if grad_s is None else grad_s.contiguous()
        grad_v = torch.zeros_like(v0) if grad_v is None else grad_v.contiguous()
        grad_a = torch.zeros_like(v0) if grad_a is None else grad_a.contiguous()
        with torch.no_grad():
            grad_x, g_v0, g_a0, g_beta, g_gain, g_theta = backward_fn(
                grad_s, grad_v, grad_a, u_seq, theta_seq, v0, x, beta, gain, ctx.cfg)
        return (grad_x if need[0] else None,
                g_v0 if need[1] else None,
                g_a0 if need[2] else None,
                g_beta.sum(0) if need[3] else None,
                g_gain.sum(0) if need[4] and g_gain is not None else None,
                g_theta.sum(0) if need[5] else None,
                None, None)


# ---------------------------------------------------------------------------------------------
# public entry point


def _all_finite(t: torch.Tensor) -> bool:
    # Outside autograd: the check must not enter the graph (or keep its input alive).  A sum
    # is several times faster than an element-wise test and is finite whenever every element
    # is, unless it overflows; only then is the element-wise test needed.
    with torch.no_grad():
        return bool(torch.isfinite(t.sum())) or bool(torch.isfinite(t).all())


def check_options(backend: str, surrogate: Surrogate | None) -> Surrogate:
    """Validate the backend name and the surrogate (None: the default); return the latter."""
    if backend not in LIF_BACKENDS:
        raise ValueError(f"backend must be one of {LIF_BACKENDS}, got {backend!r}")
    surrogate = Surrogate() if surrogate is None else surrogate
    if not isinstance(surrogate, Surrogate):
        raise TypeError(f"surrogate must be a snn.layers.Surrogate, got "
                        f"{type(surrogate).__name__}")
    return surrogate


def _per_neuron(name: str, value: Any, x: torch.Tensor) -> torch.Tensor:
    """``value`` (number or tensor broadcastable to one time step's features) as a flat
    tensor of one entry per feature, differentiably."""
    features = x.shape[2:]
    n = math.prod(features)
    if isinstance(value, torch.Tensor):
        if not value.is_floating_point():
            raise TypeError(f"{name} must be a floating-point tensor, got {value.dtype}")
        try:
            expanded = value.to(device=x.device, dtype=x.dtype).expand(features)
        except RuntimeError:
            raise ValueError(f"{name} of shape {tuple(value.shape)} does not broadcast to the "
                             f"feature shape {tuple(features)} of the input") from None
        if not _all_finite(value):
            raise ValueError(f"{name} must be finite")
        return expanded.reshape(n).contiguous()
    return torch.full((n,), check_real(name, value), dtype=x.dtype, device=x.device)


def _initial_state(name: str, value: torch.Tensor | None, x: torch.Tensor) -> torch.Tensor:
    shape = x.shape[1:]
    if value is None:
        return torch.zeros(x.shape[1], math.prod(x.shape[2:]), dtype=x.dtype, device=x.device)
    if not isinstance(value, torch.Tensor) or not value.is_floating_point():
        raise TypeError(f"{name} must be a floating-point tensor of shape {tuple(shape)}")
    if tuple(value.shape) != tuple(shape):
        raise ValueError(f"{name} must have shape {tuple(shape)} ([B, *features] of the input), "
                         f"got {tuple(value.shape)}")
    if not _all_finite(value):
        raise ValueError(f"{name} must be finite")
    return value.to(x.dtype).reshape(x.shape[1], -1).contiguous()


def check_sequence_input(x: Any, name: str = "x", finite: bool = True) -> None:
    """Raise TypeError/ValueError unless ``x`` is a float tensor ``[T, B, ...]``, and with
    ``finite`` (a pass over the data) unless every element is finite."""
    if not isinstance(x, torch.Tensor):
        raise TypeError(f"{name} must be a torch.Tensor [T, B, ...], got {type(x).__name__}")
    if x.dtype not in (torch.float32, torch.float64, torch.float16, torch.bfloat16):
        raise TypeError(f"{name} must be a floating-point tensor, got {x.dtype}")
    if x.dim() < 3:
        raise ValueError(f"{name} must be time-major [T, B, features...] with at least 3 "
                         f"dimensions, got shape {tuple(x.shape)}")
    if x.shape[0] < 1 or x.numel() == 0:
        raise ValueError(f"{name} must have at least one time step and one element, "
                         f"got shape {tuple(x.shape)}")
    if finite and not _all_finite(x):
        raise ValueError(f"{name} contains NaN or infinite values")


def lif_sequence(
    x: torch.Tensor,
    beta: float | torch.Tensor,
    threshold: float | torch.Tensor = 1.0,
    *,
    gain: float | torch.Tensor = 1.0,
    v0: torch.Tensor | None = None,
    adaptation0: torch.Tensor | None = None,
    v_rest: float = 0.0,
    v_reset: float = 0.0,
    reset: str = "subtract",
    decay_adapt: float = 1.0,
    threshold_increment: float = 0.0,
    surrogate: Surrogate | None = None,
    detach_reset: bool = False,
    backend: str = "auto",
    relaxed: bool = False,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Run LIF/ALIF/IF neurons over a whole input sequence in one fused, differentiable op.

    The equations are those of the module docstring (the engine's model step without
    synapses or refractory period); quantities are in membrane units and time in steps.

    Args:
        x: input per step (membrane units after ``gain``), time-major, float32 or float64.
        beta: membrane decay per step (1 for IF); a number or a tensor broadcastable to
            ``features``, which may require gradients.
        threshold: base firing threshold; number or tensor as ``beta``.
        gain: input gain; number or tensor as ``beta``.
        v0: initial membrane potential (None: zeros).
        adaptation0: initial threshold offset (None: zeros).
        v_rest: resting potential the membrane decays to.
        v_reset: reset potential.
        reset: ``"subtract"`` (``v -= threshold - v_reset``) or ``"value"`` (``v = v_reset``).
        decay_adapt: decay of the threshold offset per step, in ``[0, 1]`` (ALIF; as
            :attr:`snn.models.Coeffs.decay_adapt`).
        threshold_increment: threshold rise per spike (ALIF; 0 for LIF/IF).
        surrogate: pseudo-derivative of the spike (None: fast sigmoid, slope 25).
        detach_reset: stop the gradient through the reset.
        backend: one of :data:`LIF_BACKENDS` (``"auto"``: numba on CPU, Triton on CUDA).
        relaxed: replace the Heaviside spike by the surrogate's smooth primitive (torch
            backend only), so that finite differences can verify the backward pass
            (``torch.autograd.gradcheck``); not for training.

    Returns:
        ``(spikes, v, adaptation)``: the spikes of every step and the membrane and threshold
        offset after the last step; all three are differentiable.

    Shapes:
        ``x`` ``[T, B, *features]``; ``v0``, ``adaptation0`` ``[B, *features]`` ->
        ``spikes`` ``[T, B, *features]``, ``v`` and ``adaptation`` ``[B, *features]``.
    """
    check_sequence_input(x)
    if x.dtype in (torch.float16, torch.bfloat16):
        raise TypeError(f"x must be float32 or float64, got {x.dtype}")
    surrogate = check_options(backend, surrogate)
    check_choice("reset", reset, models.RESET_MODES)
    decay_adapt = check_real("decay_adapt", decay_adapt, minimum=0.0, maximum=1.0)
    threshold_increment = check_real("threshold_increment", threshold_increment)
    cfg = LIFConfig(
        v_rest=check_real("v_rest", v_rest), v_reset=check_real("v_reset", v_reset),
        subtract=reset == "subtract", decay_adapt=decay_adapt,
        threshold_increment=threshold_increment,
        surrogate=surrogate, detach_reset=bool(detach_reset),
        per_step_threshold=(threshold_increment != 0.0
                            or (decay_adapt != 1.0 and adaptation0 is not None)),
        relaxed=bool(relaxed))
    impl = _implementation(backend, x)
    if relaxed and impl != "torch":
        raise ValueError(f"relaxed=True is available with backend='torch' only, got {backend!r}")
    shape = x.shape
    x_flat = x.reshape(shape[0], shape[1], -1).contiguous()
    spikes, v_last, a_last = _LIFSequence.apply(
        x_flat, _initial_state("v0", v0, x), _initial_state("adaptation0", adaptation0, x),
        _per_neuron("beta", beta, x), _per_neuron("gain", gain, x),
        _per_neuron("threshold", threshold, x), cfg, impl)
    return spikes.reshape(shape), v_last.reshape(shape[1:]), a_last.reshape(shape[1:])
