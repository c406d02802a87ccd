"""The continual-learning networks: a spiking MLP with bias-free Linear layers, trained by
BPTT through the fused LIF layers or online (OTTT) with trace-based weight gradients, and a
small spiking convolutional network (1-D or 2-D, bias-free) trained by BPTT."""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from .. import models
from .._random import make_linear, torch_generator
from ..layers import LIF, Surrogate
from ..layers.surrogate import spike
from ..validation import check_int, check_positive, check_real
from .subspaces import _Subspace

__all__ = ["SpikingMLP", "SpikingConvNet", "unfold_patches"]


class _TraceLinear(torch.autograd.Function):
    """``y = x W^T`` whose weight gradient uses the presynaptic trace instead of ``x``."""

    @staticmethod
    def forward(ctx, x, trace, weight):
        ctx.save_for_backward(trace, weight)
        return x @ weight.T

    @staticmethod
    def backward(ctx, grad_out):
        trace, weight = ctx.saved_tensors
        return grad_out @ weight, None, grad_out.T @ trace


class SpikingMLP(nn.Module):
    """``n_in -> [Linear -> LIF] * len(hidden) -> Linear``, biases off (so that every weight
    update lies in the span of the layer's presynaptic activity), read out as the time mean
    of the last Linear's output: logits ``[B, n_out]`` from ``x`` ``[T, B, n_in]``.
    LIF: ``u = beta v + I``, spike if ``u > threshold``, reset by subtraction (the model
    of :mod:`snn.models`, run by the fused :class:`snn.layers.LIF` layers in :meth:`forward`
    and one step at a time in :meth:`online_loss`).

    Args:
        n_in: input width.
        hidden: hidden layer widths.
        n_out: number of outputs.
        beta: membrane decay per step in ``[0, 1]``.
        threshold: firing threshold (> 0).
        rng: initial weights: an int seed, a ``torch.Generator`` or None (fresh entropy).

    Shapes:
        ``x`` ``[T, B, n_in]`` -> logits ``[B, n_out]``.
    """

    def __init__(self, n_in: int, hidden: Sequence[int], n_out: int, beta: float = 0.9,
                 threshold: float = 1.0, rng: int | torch.Generator | None = 0) -> None:
        super().__init__()
        sizes = [check_int("n_in", n_in, minimum=1)] + [check_int("hidden", h, minimum=1)
                                                          for h in hidden]
        if len(sizes) < 2:
            raise ValueError("hidden must name at least one hidden layer width")
        check_int("n_out", n_out, minimum=1)
        self.beta = check_real("beta", beta, minimum=0.0, maximum=1.0)
        self.threshold = check_positive("threshold", threshold)
        self.surrogate = Surrogate("arctan", 2.0)
        generator = torch_generator(rng)
        self.linears = nn.ModuleList([make_linear(a, b, generator, bias=False)
                                      for a, b in zip(sizes, sizes[1:] + [n_out])])
        # The LIF of snn.models without synaptic filter, refractory period or adaptation:
        # v_rest = v_reset = 0, unit input gain, reset by subtraction (what the fused layers
        # compute; online_loss steps the same model one step at a time).
        self.coeffs = models.layer_coeffs(decay_m=self.beta, gain_ext=1.0,
                                          v_threshold=self.threshold, v_rest=0.0, v_reset=0.0,
                                          subtract_reset=1.0, decay_adapt=1.0,
                                          threshold_increment=0.0)
        self.lifs = nn.ModuleList([LIF(beta=self.beta, threshold=self.threshold,
                                       surrogate=self.surrogate) for _ in hidden])

    def forward(self, x: torch.Tensor, return_inputs: bool = False, per_step: bool = False):
        """Logits ``[B, n_out]``; with ``return_inputs`` also each Linear's presynaptic
        activity (detached): averaged over time, a list of ``[B, in]``, or with ``per_step``
        every step's, a list of ``[T * B, in]`` (what the BPTT weight gradient
        ``sum_t g_t^T x_t`` is built from)."""
        def activity(h: torch.Tensor) -> torch.Tensor:
            h = h.detach()
            return h.reshape(-1, h.shape[-1]) if per_step else h.mean(0)

        inputs = []
        h = x
        for linear, lif in zip(self.linears[:-1], self.lifs):
            inputs.append(activity(h))
            h = lif(linear(h))
        inputs.append(activity(h))
        logits = self.linears[-1](h).mean(0)
        return (logits, inputs) if return_inputs else logits

    def online_loss(self, x: torch.Tensor, mask: torch.Tensor, y: torch.Tensor,
                    subspaces: Sequence[_Subspace] | None = None, per_step: bool = False):
        """Online training through time (OTTT): step by step, with the state detached between
        steps, each Linear's weight gradient is ``sum_t g_t^T a_t`` where ``a_t`` is the
        presynaptic trace (decay ``beta`` into LIF layers, none into the readout), projected
        by ``subspaces`` if given.  Returns ``(loss, inputs)``: the mean over steps of the
        cross-entropy of each step's output (call ``loss.backward()``), and the time-mean
        presynaptic activities as in :meth:`forward`, or with ``per_step`` every step's
        presynaptic trace ``a_t`` (what the weight gradient is built from), ``[T * B, in]``."""
        def spike_fn(z: torch.Tensor) -> torch.Tensor:
            return spike(z, self.surrogate)

        n_steps = x.shape[0]
        n_hidden = len(self.lifs)
        v = [None] * n_hidden
        traces = [torch.zeros_like(x[0])] + [None] * n_hidden
        sums = [torch.zeros_like(x[0])] + [None] * n_hidden
        loss = x.new_zeros(())
        steps: list[list[torch.Tensor]] = [[] for _ in range(n_hidden + 1)]
        for t in range(n_steps):
            h = x[t]
            for layer in range(n_hidden + 1):
                decay = self.beta if layer < n_hidden else 0.0
                traces[layer] = h.detach() if traces[layer] is None else \
                    decay * traces[layer] + h.detach()
                sums[layer] = h.detach() if sums[layer] is None else sums[layer] + h.detach()
                trace = traces[layer]
                if per_step:
                    steps[layer].append(trace.detach())
                if subspaces is not None:
                    trace = subspaces[layer].project(trace)
                current = _TraceLinear.apply(h, trace, self.linears[layer].weight)
                if layer == n_hidden:
                    h = current
                    break
                state = models.NeuronState(0.0 if v[layer] is None else v[layer],
                                           0.0, 0.0, 0.0, 0.0)
                u = models.free_potential_current(state, current, self.coeffs)
                new, s = models.fire_and_reset(state, u, 0.0, 1.0, self.coeffs, spike_fn)
                v[layer] = new.v.detach()
                h = s
            loss = loss + nn.functional.cross_entropy(h.masked_fill(~mask, -1e9), y)
        if per_step:
            return loss / n_steps, [torch.cat(a) for a in steps]
        return loss / n_steps, [s.detach() / n_steps for s in sums]


def _make_conv(n_dims: int, c_in: int, c_out: int, kernel_size: int,
               generator: torch.Generator) -> nn.Module:
    """A bias-free ``Conv1d``/``Conv2d`` (same padding) whose weight is drawn from
    ``generator``, uniform in ``+-sqrt(6 / fan_in)`` (Kaiming's bound for rectifying units:
    with torch's default, a third of it, too few spikes reach the second layer); the global
    generator is not used."""
    conv_type = nn.Conv1d if n_dims == 1 else nn.Conv2d
    conv = conv_type(c_in, c_out, kernel_size, padding=kernel_size // 2, bias=False,
                     device="meta").to_empty(device="cpu")
    with torch.no_grad():
        nn.init.kaiming_uniform_(conv.weight, a=0.0, generator=generator)
    return conv


def unfold_patches(x: torch.Tensor, kernel_size: int) -> torch.Tensor:
    """The input patches a bias-free same-padded convolution multiplies with its weight.

    Args:
        x: feature maps ``[N, C, L]`` (1-D) or ``[N, C, H, W]`` (2-D).
        kernel_size: the (odd) kernel size; zero padding ``kernel_size // 2``.

    Returns:
        One row per output position, ``[N * L, C * k]`` or ``[N * H * W, C * k * k]``, in the
        layout of the weight ``[out, C, *kernel]`` flattened to ``[out, C * prod(kernel)]``:
        the convolution is ``patches @ weight.reshape(out, -1).T``.
    """
    check_int("kernel_size", kernel_size, minimum=1)
    if x.ndim == 3:
        cols = nn.functional.unfold(x[:, :, None, :], (1, kernel_size),
                                    padding=(0, kernel_size // 2))
    elif x.ndim == 4:
        cols = nn.functional.unfold(x, kernel_size, padding=kernel_size // 2)
    else:
        raise ValueError(f"x must be [N, C, L] or [N, C, H, W], got shape {tuple(x.shape)}")
    return cols.transpose(1, 2).reshape(-1, cols.shape[1])


class SpikingConvNet(nn.Module):
    """``[Conv (bias-free, same padding) -> LIF -> average pool 2] * len(channels) ->
    Linear``, read out as the time mean of the Linear's output; 1-D convolutions for inputs
    ``(C, L)`` (e.g. a cochleagram's channels at each step), 2-D for ``(C, H, W)`` (images).
    The LIF is that of :class:`SpikingMLP` (reset by subtraction).

    HLOP and GPM treat a convolution as a Linear layer on its input patches
    (:func:`unfold_patches`): its weight ``[out, C, *kernel]`` acts on rows of
    ``C * prod(kernel)`` values, and every gradient lies in their span.

    Args:
        input_shape: ``(C, L)`` or ``(C, H, W)``; inputs arrive flat, ``[T, B, prod]``.
        channels: output channels of each convolution (>= 1 layer).
        n_out: number of outputs.
        kernel_size: odd kernel size.
        beta: membrane decay per step in ``[0, 1]``.
        threshold: firing threshold (> 0).
        rng: initial weights: an int seed, a ``torch.Generator`` or None (fresh entropy).

    Shapes:
        ``x`` ``[T, B, prod(input_shape)]`` -> logits ``[B, n_out]``.
    """

    def __init__(self, input_shape: Sequence[int], channels: Sequence[int], n_out: int,
                 kernel_size: int = 3, beta: float = 0.9, threshold: float = 1.0,
                 rng: int | torch.Generator | None = 0) -> None:
        super().__init__()
        shape = tuple(check_int("input_shape", v, minimum=1) for v in input_shape)
        if len(shape) not in (2, 3):
            raise ValueError(f"input_shape must be (C, L) or (C, H, W), got {input_shape!r}")
        channels = [check_int("channels", c, minimum=1) for c in channels]
        if not channels:
            raise ValueError("channels must name at least one convolution")
        check_int("n_out", n_out, minimum=1)
        self.kernel_size = check_int("kernel_size", kernel_size, minimum=1)
        if self.kernel_size % 2 == 0:
            raise ValueError(f"kernel_size must be odd (same padding), got {kernel_size}")
        self.input_shape = shape
        self.n_dims = len(shape) - 1
        self.beta = check_real("beta", beta, minimum=0.0, maximum=1.0)
        self.threshold = check_positive("threshold", threshold)
        spatial = list(shape[1:])
        for _ in channels:
            spatial = [v // 2 for v in spatial]
            if min(spatial) < 1:
                raise ValueError(f"input_shape {shape} is too small for {len(channels)} "
                                 f"poolings by 2")
        generator = torch_generator(rng)
        sizes = [shape[0]] + channels
        self.convs = nn.ModuleList([_make_conv(self.n_dims, a, b, self.kernel_size, generator)
                                    for a, b in zip(sizes, sizes[1:])])
        n_flat = channels[-1] * int(torch.tensor(spatial).prod())
        self.readout = make_linear(n_flat, n_out, generator, bias=False)
        self.surrogate = Surrogate("arctan", 2.0)
        self.lifs = nn.ModuleList([LIF(beta=self.beta, threshold=self.threshold,
                                       surrogate=self.surrogate) for _ in channels])

    @property
    def layers(self) -> list[nn.Module]:
        """The weighted layers in order: the convolutions, then the readout."""
        return [*self.convs, self.readout]

    @property
    def input_widths(self) -> list[int]:
        """Width of each weighted layer's input rows: ``C * prod(kernel)`` for a
        convolution, the flattened features for the readout."""
        return [c.weight[0].numel() for c in self.convs] + [self.readout.in_features]

    def forward(self, x: torch.Tensor, return_inputs: bool = False, per_step: bool = False):
        """Logits ``[B, n_out]``; with ``return_inputs`` also each weighted layer's input rows
        (detached): for a convolution its unfolded patches, for the readout its flattened
        input; averaged over time (``[B * positions, width]``, ``[B, width]``), or with
        ``per_step`` every step's (``T`` times as many rows)."""
        n_steps, batch = x.shape[:2]
        h = x.reshape(n_steps, batch, *self.input_shape)
        inputs = []
        pool = nn.functional.avg_pool1d if self.n_dims == 1 else nn.functional.avg_pool2d

        def rows(a: torch.Tensor) -> torch.Tensor:
            a = a.detach()
            return a.reshape(-1, *a.shape[2:]) if per_step else a.mean(0)

        for conv, lif in zip(self.convs, self.lifs):
            if return_inputs:
                inputs.append(unfold_patches(rows(h), self.kernel_size))
            current = conv(h.reshape(n_steps * batch, *h.shape[2:]))
            spikes = lif(current.reshape(n_steps, batch, *current.shape[1:]))
            pooled = pool(spikes.reshape(n_steps * batch, *spikes.shape[2:]), 2)
            h = pooled.reshape(n_steps, batch, *pooled.shape[1:])
        h = h.reshape(n_steps, batch, -1)
        if return_inputs:
            inputs.append(rows(h))
        logits = self.readout(h).mean(0)
        return (logits, inputs) if return_inputs else logits
