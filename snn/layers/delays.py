"""Learnable synaptic delays: a linear projection whose every synapse has its own delay.

The method is dilated convolution with learnable spacings (DCLS) applied over time
(Hammouamri, Khalfaoui-Hassani, Masquelier, ICLR 2024): synapse ``(i, j)`` from input ``j``
to output ``i`` is a causal kernel over the past ``K = max_delay_steps + 1`` steps with a single
tap at its delay ``d_ij`` (steps, continuous), interpolated by a Gaussian of width ``sigma``
(steps) so that the delay receives a gradient::

    g_ijk = exp(-(k - d_ij)^2 / (2 sigma^2)) / sum_k' exp(-(k' - d_ij)^2 / (2 sigma^2))
    y[t, b, i] = bias_i + sum_j sum_{k=0}^{K-1} w_ij g_ijk x[t - k, b, j]     (x[<0] = 0)

``sigma`` shrinks during training (:func:`sigma_schedule`); with ``sigma = 0`` the tap is the
one-hot at the rounded delay and the projection is exactly ``y[t] = sum_j w_ij x[t - d_ij]``,
which is what the engine runs after export.

Memory: neither the ``[T, B, I, K]`` unfolded input nor a per-step kernel is materialised;
the op saves its input (already held by the layer before it) and the small ``[I, K, O]``
kernel.  Speed: for spike inputs (mostly zeros) the CPU kernels scatter each nonzero input
into the ``K`` output rows it reaches (``nnz*K*O`` adds instead of ``T*B*I*K*O``); dense
inputs and CUDA tensors use ``K`` matrix products.
"""

from __future__ import annotations

import math

import numba
import torch
from torch import nn

from .._random import torch_generator
from ..validation import (
    check_choice,
    check_int,
    check_positive,
    check_real,
    check_steps,
    check_tensor,
)
from .functional import check_sequence_input

__all__ = ["DelayedLinear", "delayed_linear", "delay_kernel", "sigma_schedule",
           "DELAY_BACKENDS", "SPARSE_MAX_DENSITY"]

DELAY_BACKENDS = ("auto", "numba", "torch")

#: Largest fraction of nonzero inputs for which ``backend="auto"`` scatters (CPU); above it
#: the dense matrix products are faster (measured with benchmarks/delays.py --kernels).
SPARSE_MAX_DENSITY = 0.35


def delay_kernel(delay: torch.Tensor, sigma: float, max_delay_steps: int) -> torch.Tensor:
    """Tap weights of the delays: the normalised Gaussian of width ``sigma`` around each delay,
    or for ``sigma == 0`` the one-hot at the rounded delay.  Differentiable in ``delay``.

    Args:
        delay: delays (steps, continuous, in ``[0, max_delay_steps]``).
        sigma: interpolation width (steps, >= 0).
        max_delay_steps: the longest delay (steps); there are ``K = max_delay_steps + 1`` taps.

    Returns:
        The tap weights.

    Shapes:
        ``delay`` ``[O, I]`` -> ``[I, K, O]``.
    """
    n_taps = max_delay_steps + 1
    taps = torch.arange(n_taps, dtype=delay.dtype, device=delay.device).view(1, n_taps, 1)
    d = delay.t().unsqueeze(1)  # [I, 1, O]
    if sigma == 0.0:
        return (taps == d.round()).to(delay.dtype)
    scaled = (taps - d) / sigma
    # Shift by the nearest tap's value before exponentiating: it cancels in the normalisation
    # and keeps the largest term at exp(0), so narrow kernels cannot underflow to 0/0.
    nearest = ((d - d.detach().round().clamp(0, max_delay_steps)) / sigma).square()
    g = torch.exp(-0.5 * (scaled.square() - nearest))
    return g / g.sum(dim=1, keepdim=True)


class _SynapseKernel(torch.autograd.Function):
    """``kernel[i, k, o] = weight[o, i] * g(k; delay[o, i], sigma)`` for ``sigma > 0``, with
    the backward pass written out (one pass each way instead of autograd's dozen)::

        dL/dw = sum_k G_k g_k
        dL/dd = w / sigma^2 * (sum_k G_k g_k (k - d) - mu * sum_k G_k g_k),
        mu = sum_k g_k (k - d)
    """

    @staticmethod
    def forward(ctx, weight, delay, sigma: float, max_delay_steps: int):
        g = delay_kernel(delay, sigma, max_delay_steps)
        ctx.save_for_backward(weight, delay, g)
        ctx.sigma = sigma
        return g * weight.t().unsqueeze(1)

    @staticmethod
    def backward(ctx, grad_kernel):
        weight, delay, g = ctx.saved_tensors
        grad_g = grad_kernel * g  # [I, K, O]
        sum_grad_g = grad_g.sum(1)  # [I, O]
        grad_weight = sum_grad_g.t() if ctx.needs_input_grad[0] else None
        grad_delay = None
        if ctx.needs_input_grad[1]:
            taps = torch.arange(g.shape[1], dtype=g.dtype, device=g.device).view(1, -1, 1)
            offset = taps - delay.t().unsqueeze(1)  # k - d, [I, K, O]
            mean_offset = (g * offset).sum(1)
            weighted = (grad_g * offset).sum(1)
            grad_delay = (weight.t() / ctx.sigma ** 2 * (weighted - mean_offset * sum_grad_g)).t()
        return grad_weight, grad_delay, None, None


class _DelayedProjection(torch.autograd.Function):
    """``y[t] = sum_k x[t - k] @ kernel[:, k, :]`` with a hand-written backward."""

    @staticmethod
    def forward(ctx, x, kernel, impl: str):
        n_steps, batch, n_in = x.shape
        n_taps, n_out = kernel.shape[1], kernel.shape[2]
        if impl == "numba":
            from . import delay_kernels

            y = torch.empty((n_steps, batch, n_out), dtype=x.dtype)
            delay_kernels.delayed_forward(
                x.detach().numpy(), kernel.detach().permute(1, 0, 2).contiguous().numpy(),
                y.numpy(), delay_kernels.chunk_bounds(batch, numba.get_num_threads()),
                delay_kernels.row_group(n_steps, n_out, x.element_size()))
        else:
            x2 = x.reshape(n_steps * batch, n_in)
            # Tap 0 covers every row and initialises the output; tap k adds to rows from k on.
            y = torch.mm(x2, kernel[:, 0, :]).view(n_steps, batch, n_out)
            y2 = y.view(n_steps * batch, n_out)
            for k in range(1, min(n_taps, n_steps)):
                y2[k * batch:].addmm_(x2[:(n_steps - k) * batch], kernel[:, k, :])
        ctx.save_for_backward(x, kernel)
        ctx.impl = impl
        return y

    @staticmethod
    def backward(ctx, grad_y):
        x, kernel = ctx.saved_tensors
        n_steps, batch, n_in = x.shape
        n_taps, n_out = kernel.shape[1], kernel.shape[2]
        grad_y = grad_y.contiguous()
        g2 = grad_y.view(n_steps * batch, n_out)
        x2 = x.reshape(n_steps * batch, n_in)
        grad_x = grad_kernel = None
        if ctx.needs_input_grad[0]:
            # [K, O, I]: each tap's matrix contiguous for the products.
            taps = kernel.permute(1, 2, 0).contiguous()
            grad_x = torch.mm(g2, taps[0]).view(n_steps, batch, n_in)
            gx2 = grad_x.view(n_steps * batch, n_in)
            for k in range(1, min(n_taps, n_steps)):
                gx2[:(n_steps - k) * batch].addmm_(g2[k * batch:], taps[k])
        if ctx.needs_input_grad[1]:
            if ctx.impl == "numba":
                from . import delay_kernels

                bounds = delay_kernels.chunk_bounds(batch, numba.get_num_threads())
                partial = torch.zeros((bounds.size - 1, n_taps, n_in, n_out), dtype=x.dtype)
                delay_kernels.gather_kernel_grad(
                    x.detach().numpy(), grad_y.numpy(), partial.numpy(), bounds,
                    delay_kernels.row_group(n_steps, n_out, x.element_size()))
                # [K, I, O] -> the kernel's [I, K, O]
                grad_kernel = (partial.sum(0) if partial.shape[0] > 1 else partial[0]
                               ).permute(1, 0, 2)
            else:
                grad_kernel = torch.zeros_like(kernel)
                for k in range(min(n_taps, n_steps)):
                    grad_kernel[:, k, :] = x2[:(n_steps - k) * batch].t() @ g2[k * batch:]
        return grad_x, grad_kernel, None


def _implementation(backend: str, x: torch.Tensor) -> str:
    if backend not in DELAY_BACKENDS:
        raise ValueError(f"backend must be one of {DELAY_BACKENDS}, got {backend!r}")
    if backend == "numba" and x.device.type != "cpu":
        raise ValueError(f"backend 'numba' runs on CPU tensors, got a tensor on {x.device}")
    if backend == "auto":
        if x.device.type != "cpu" or x.numel() == 0:
            return "torch"
        density = torch.count_nonzero(x).item() / x.numel()
        return "numba" if density <= SPARSE_MAX_DENSITY else "torch"
    return backend


def delayed_linear(
    x: torch.Tensor,
    weight: torch.Tensor,
    delay: torch.Tensor,
    max_delay_steps: int,
    *,
    sigma: float = 0.0,
    bias: torch.Tensor | None = None,
    backend: str = "auto",
) -> torch.Tensor:
    """Project a spike sequence through synapses with a weight and a delay each.

    Differentiable in ``x``, ``weight``, ``delay`` (for ``sigma > 0``) and ``bias``.

    Args:
        x: input sequence, time-major, float32 or float64.
        weight: synaptic weights.
        delay: synaptic delays (steps, continuous, in ``[0, max_delay_steps]``).
        max_delay_steps: the longest delay (steps, int >= 0).
        sigma: Gaussian interpolation width (steps, >= 0); 0 uses the rounded delays exactly.
        bias: added at every step, or None.
        backend: ``"numba"`` scatters nonzero inputs (CPU; fast for spikes), ``"torch"`` runs
            ``max_delay_steps + 1`` matrix products (any device), ``"auto"`` picks numba for
            CPU inputs with at most :data:`SPARSE_MAX_DENSITY` nonzeros.

    Returns:
        The synaptic input of the targets at every step.

    Shapes:
        ``x`` ``[T, B, I]``, ``weight`` and ``delay`` ``[O, I]``, ``bias`` ``[O]`` ->
        ``[T, B, O]``.
    """
    check_sequence_input(x)
    if x.dtype not in (torch.float32, torch.float64):
        raise TypeError(f"x must be float32 or float64, got {x.dtype}")
    max_delay_steps = check_steps("max_delay_steps", max_delay_steps)
    if not isinstance(weight, torch.Tensor) or weight.dim() != 2:
        raise ValueError(f"weight must be a 2-D tensor [out_features, {x.shape[2]}], got "
                         f"{getattr(weight, 'shape', type(weight).__name__)}")
    shape = (weight.shape[0], x.shape[2])
    weight = check_tensor("weight", weight, shape=shape, like=x)
    delay = check_tensor("delay", delay, shape=shape, like=x)
    if delay.numel() and (float(delay.detach().min()) < 0.0
                          or float(delay.detach().max()) > max_delay_steps):
        raise ValueError(f"delay must lie in [0, max_delay_steps={max_delay_steps}] steps, got "
                         f"values in [{float(delay.detach().min()):g}, "
                         f"{float(delay.detach().max()):g}]")
    sigma = check_real("sigma", sigma, minimum=0.0)
    if bias is not None:
        bias = check_tensor("bias", bias, shape=(shape[0],), like=x)
    impl = _implementation(backend, x)
    if sigma > 0.0:
        kernel = _SynapseKernel.apply(weight, delay, sigma, max_delay_steps)
    else:
        kernel = delay_kernel(delay, 0.0, max_delay_steps) * weight.t().unsqueeze(1)
    y = _DelayedProjection.apply(x.contiguous(), kernel.contiguous(), impl)
    return y if bias is None else y + bias


def sigma_schedule(epoch: int, n_epochs: int, start: float, end: float = 0.5,
                   decay_fraction: float = 0.25, offset: float = 0.0) -> float:
    """Interpolation width for one epoch: exponential decay from ``start`` to ``end`` over
    the first ``decay_fraction`` of training, then ``end``.

    With ``offset`` > 0 only the part above ``offset`` decays exponentially::

        sigma(e) = offset + (start - offset) * ((end - offset) / (start - offset)) ** (e / D)

    with ``D = round(decay_fraction * n_epochs)``.  The reference DCLS code adds 0.27 step to
    a learned width that decays exponentially (12 -> 0.23 for a 25-tap kernel): that is
    ``start=12.27, end=0.5, offset=0.27``.

    Args:
        epoch: the epoch (0-based, < ``n_epochs`` in practice).
        n_epochs: number of epochs (>= 1).
        start: width at epoch 0 (steps, >= 0).
        end: final width (steps, > 0).
        decay_fraction: fraction of the epochs over which the width decays, in ``[0, 1]``.
        offset: constant part of the width (steps, in ``[0, end)``).

    Returns:
        The width ``sigma`` (steps) for ``epoch``.
    """
    epoch = check_int("epoch", epoch, minimum=0)
    n_epochs = check_int("n_epochs", n_epochs, minimum=1)
    start = check_real("start", start, minimum=0.0)
    end = check_real("end", end, minimum=0.0)
    decay_fraction = check_real("decay_fraction", decay_fraction, minimum=0.0, maximum=1.0)
    offset = check_real("offset", offset, minimum=0.0)
    if end <= 0.0:
        raise ValueError(f"end must be > 0 steps (round the delays for a zero width), got {end}")
    if offset >= end:
        raise ValueError(f"offset must be < end={end} steps, got {offset}")
    if start <= end:
        return start
    decay_epochs = int(round(decay_fraction * n_epochs))
    if epoch >= decay_epochs:
        return end
    return offset + (start - offset) * ((end - offset) / (start - offset)) ** (epoch / decay_epochs)


class DelayedLinear(nn.Module):
    """Fully connected synapses with a learnable weight and delay each (DCLS over time).

    Delays range over ``0 .. max_delay`` in whole steps of ``dt``
    (``K = round(max_delay / dt) + 1`` taps).  Parameters: ``weight``
    ``[out_features, in_features]``, ``delay`` ``[out_features, in_features]`` (steps,
    continuous) and optionally ``bias`` ``[out_features]``.  The buffer ``sigma`` (steps) is
    the interpolation width: lower it during training (:meth:`set_sigma`,
    :func:`sigma_schedule`) and call :meth:`round_delays_` at the end.

    Args:
        in_features: number of inputs (>= 1).
        out_features: number of outputs (>= 1).
        max_delay: longest delay (s, >= 0).
        dt: time step (s, > 0).
        sigma: initial interpolation width (steps, >= 0; None: ``max_delay_steps / 2``).
        bias: add a learnable bias per output.
        delays: initial delays: ``"uniform"`` (uniform in ``[0, max_delay_steps]``, the
            paper's initialisation), ``"zero"`` or a tensor ``[out_features, in_features]``
            of steps.
        learn_delays: train the delays (False keeps them fixed).
        rng: a ``torch.Generator``, an int seed or None (fresh entropy) for the initial
            weights (Kaiming-uniform over ``in_features``) and delays.
        backend: one of :data:`DELAY_BACKENDS` (see :func:`delayed_linear`).

    Shapes:
        ``forward(x)``: ``x`` ``[T, B, in_features]`` -> ``[T, B, out_features]``.
    """

    def __init__(
        self,
        in_features: int,
        out_features: int,
        max_delay: float,
        dt: float,
        *,
        sigma: float | None = None,
        bias: bool = False,
        delays: str | torch.Tensor = "uniform",
        learn_delays: bool = True,
        rng: torch.Generator | int | None = None,
        backend: str = "auto",
    ) -> None:
        super().__init__()
        in_features = check_int("in_features", in_features, minimum=1)
        out_features = check_int("out_features", out_features, minimum=1)
        dt = check_positive("dt", dt, unit="s")
        max_delay = check_real("max_delay", max_delay, minimum=0.0, unit="s")
        check_choice("backend", backend, DELAY_BACKENDS)
        self.in_features, self.out_features = in_features, out_features
        self.dt, self.max_delay = dt, max_delay
        self.max_delay_steps = int(round(max_delay / dt))
        self.backend = backend
        self.weight = nn.Parameter(torch.empty(out_features, in_features))
        self.delay = nn.Parameter(torch.empty(out_features, in_features),
                                  requires_grad=bool(learn_delays))
        self.bias = nn.Parameter(torch.zeros(out_features)) if bias else None
        start = (self.max_delay_steps / 2.0 if sigma is None
                 else check_real("sigma", sigma, minimum=0.0))
        self.register_buffer("sigma", torch.tensor(float(start), dtype=torch.float64))
        self.reset_parameters(delays, rng)

    @torch.no_grad()
    def reset_parameters(self, delays: str | torch.Tensor = "uniform",
                         rng: torch.Generator | int | None = None) -> None:
        """Draw weights (Kaiming uniform) and set the delays (see the class docstring).

        Args:
            delays: ``"uniform"``, ``"zero"`` or a tensor ``[out_features, in_features]`` of
                steps in ``[0, max_delay_steps]``.
            rng: a ``torch.Generator``, an int seed or None (fresh entropy).
        """
        generator = torch_generator(rng)
        bound = math.sqrt(6.0 / self.in_features)
        self.weight.uniform_(-bound, bound, generator=generator)
        if self.bias is not None:
            self.bias.zero_()
        if isinstance(delays, torch.Tensor):
            if tuple(delays.shape) != tuple(self.delay.shape):
                raise ValueError(f"delays must have shape {tuple(self.delay.shape)}, "
                                 f"got {tuple(delays.shape)}")
            if delays.min() < 0 or delays.max() > self.max_delay_steps:
                raise ValueError(f"delays must lie in [0, {self.max_delay_steps}] steps")
            self.delay.copy_(delays)
        elif delays == "uniform":
            self.delay.uniform_(0.0, float(self.max_delay_steps), generator=generator)
        elif delays == "zero":
            self.delay.zero_()
        else:
            raise ValueError(f"delays must be 'uniform', 'zero' or a tensor, got {delays!r}")

    def set_sigma(self, sigma: float) -> None:
        """Set the interpolation width.

        Args:
            sigma: width (steps, >= 0); 0 uses the rounded delays exactly.
        """
        self.sigma.fill_(check_real("sigma", sigma, minimum=0.0))

    @torch.no_grad()
    def clamp_delays_(self) -> None:
        """Project the delays back into ``[0, max_delay_steps]`` (after an optimiser step)."""
        self.delay.clamp_(0.0, float(self.max_delay_steps))

    @torch.no_grad()
    def round_delays_(self) -> None:
        """Round the delays to whole steps and set ``sigma`` to 0: from now on the layer is
        exactly ``y[t] = sum_j w_ij x[t - d_ij]``."""
        self.clamp_delays_()
        self.delay.round_()
        self.sigma.zero_()

    def delay_steps(self) -> torch.Tensor:
        """Delays rounded to whole steps, int64 ``[out_features, in_features]``."""
        return self.delay.detach().clamp(0, self.max_delay_steps).round().long()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """The synaptic input of the targets at every step.

        Args:
            x: input sequence (e.g. spikes), time-major.

        Returns:
            ``sum_j w_ij x[t - d_ij, b, j]`` (interpolated while ``sigma > 0``), plus the bias.

        Shapes:
            ``x`` ``[T, B, in_features]`` -> ``[T, B, out_features]``.
        """
        check_sequence_input(x, finite=False)
        if x.shape[2] != self.in_features:
            raise ValueError(f"x must have {self.in_features} features after [T, B], "
                             f"got shape {tuple(x.shape)}")
        # Optimisers move the delays freely; the layer uses them projected into range.
        self.clamp_delays_()
        weight, delay = self.weight.to(x.dtype), self.delay.to(x.dtype)
        bias = None if self.bias is None else self.bias.to(x.dtype)
        return delayed_linear(x, weight, delay, self.max_delay_steps, sigma=float(self.sigma),
                              bias=bias, backend=self.backend)

    def extra_repr(self) -> str:
        """The settings shown by ``repr`` (torch's hook)."""
        return (f"in_features={self.in_features}, out_features={self.out_features}, "
                f"max_delay={self.max_delay:g} s ({self.max_delay_steps} steps), "
                f"dt={self.dt:g} s, sigma={float(self.sigma):g}, "
                f"learn_delays={self.delay.requires_grad}, bias={self.bias is not None}")
