"""The feed-forward spiking network with learnable delays of Hammouamri et al. (ICLR 2024).

Architecture (``n_hidden_layers`` blocks, then a readout)::

    x [T, B, n_inputs] -> (zero-padded at the end by `padding_steps`, so that late, delayed
    spikes still reach the readout)
    -> [DelayedLinear -> BatchNorm -> LIF -> Dropout] * n_hidden_layers
    -> DelayedLinear -> leaky readout (non-spiking membrane) -> [T + extra, B, n_outputs]

Class scores are ``sum_t softmax(readout_t)`` (the paper's "sum" loss).  The LIF update is
SpikingJelly's with ``decay_input=False`` as the paper uses it: ``u_t = beta * v_{t-1} + x_t``
with ``beta = 1 - dt / tau_m`` (forward Euler), hard reset to 0, reset detached from the
graph, arctan surrogate of slope 5.  Dropout draws one mask per sample and feature, shared by
all time steps (as SpikingJelly's multi-step dropout does).

``delays`` selects the ablation: ``"learned"`` (DCLS delays), ``"fixed"`` (random integer
delays drawn once, not trained) or ``"none"`` (every delay zero).

A trained model (delays rounded) exports to the engine with :mod:`snn.layers.export`.
"""

from __future__ import annotations

from dataclasses import dataclass, fields

import numpy as np
import torch
from torch import nn

from .._random import torch_generator
from ..validation import (
    check_choice,
    check_int,
    check_nonnegative,
    check_positive,
    check_real,
)
from .delays import DelayedLinear, sigma_schedule
from .functional import check_sequence_input
from .modules import LIF
from .surrogate import Surrogate

__all__ = ["DelayNetworkConfig", "DelayNetwork", "DELAY_MODES"]

DELAY_MODES = ("learned", "fixed", "none")


@dataclass(frozen=True)
class DelayNetworkConfig:
    """Architecture of a :class:`DelayNetwork`; times in seconds.

    The defaults are the paper's SHD configuration (Hammouamri et al. 2024,
    ``best_config_SHD``): 2 hidden layers of 256 LIF neurons, 10 ms steps, delays up to
    250 ms, dropout 0.4, batch normalisation, no bias, tau_m = 10.05 ms, threshold 1,
    arctan surrogate of slope 5.
    """

    n_inputs: int  #: input channels (e.g. 140 for SHD pooled by 5)
    n_outputs: int  #: classes
    n_hidden: int = 256  #: neurons per hidden layer
    n_hidden_layers: int = 2
    dt: float = 10e-3  #: time step (s)
    max_delay: float = 250e-3  #: longest synaptic delay (s)
    delays: str = "learned"  #: "learned", "fixed" or "none"
    tau_m: float = 10.05e-3  #: membrane time constant (s), > dt (beta = 1 - dt / tau_m)
    threshold: float = 1.0  #: firing threshold (membrane units)
    surrogate_slope: float = 5.0  #: slope of the arctan surrogate
    dropout: float = 0.4  #: dropout probability after each hidden layer
    batch_norm: bool = True
    bias: bool = False
    extra_steps: int | None = None  #: zero steps appended to inputs; None: see padding_steps
    sigma_final: float = 0.5  #: final interpolation width (steps)
    sigma_decay_fraction: float = 0.25  #: fraction of the epochs over which sigma decays
    #: initial interpolation width (steps); None: half the kernel, ``(max_delay_steps + 1) // 2``
    sigma_start: float | None = None
    #: constant part of the width that does not decay (steps; DCLS adds 0.27)
    sigma_offset: float = 0.0

    def __post_init__(self) -> None:
        owner = "DelayNetworkConfig"
        for name in ("n_inputs", "n_outputs", "n_hidden", "n_hidden_layers"):
            check_int(f"{owner}.{name}", getattr(self, name), minimum=1)
        for name in ("dt", "tau_m", "threshold", "surrogate_slope", "sigma_final"):
            check_positive(f"{owner}.{name}", getattr(self, name))
        check_nonnegative(f"{owner}.max_delay", self.max_delay, unit="s")
        if self.tau_m <= self.dt:
            raise ValueError(f"{owner}.tau_m must exceed dt={self.dt:g} s (beta = 1 - dt/tau_m "
                             f"must be in (0, 1)), got {self.tau_m!r}")
        check_choice(f"{owner}.delays", self.delays, DELAY_MODES)
        check_real(f"{owner}.dropout", self.dropout, minimum=0.0)
        if not self.dropout < 1.0:
            raise ValueError(f"{owner}.dropout must be in [0, 1), got {self.dropout!r}")
        if self.extra_steps is not None:
            check_int(f"{owner}.extra_steps", self.extra_steps, minimum=0)
        check_real(f"{owner}.sigma_decay_fraction", self.sigma_decay_fraction, minimum=0.0,
                   maximum=1.0)
        if self.sigma_start is not None:
            check_positive(f"{owner}.sigma_start", self.sigma_start)
        check_nonnegative(f"{owner}.sigma_offset", self.sigma_offset)
        if self.sigma_offset >= self.sigma_final:
            raise ValueError(f"{owner}.sigma_offset must be < sigma_final={self.sigma_final} "
                             f"steps, got {self.sigma_offset!r}")

    @property
    def max_delay_steps(self) -> int:
        """Longest delay in steps (0 without delays)."""
        return 0 if self.delays == "none" else int(round(self.max_delay / self.dt))

    @property
    def padding_steps(self) -> int:
        """Zero steps appended to every input sequence: by default half the longest delay per
        projection, so that the readout sees as many steps as in the paper, where every
        layer pads its input on the right by that much."""
        if self.extra_steps is not None:
            return self.extra_steps
        return (self.n_hidden_layers + 1) * (int(round(self.max_delay / self.dt)) // 2)

    @property
    def beta(self) -> float:
        """Membrane decay per step."""
        return 1.0 - self.dt / self.tau_m

    def to_dict(self) -> dict:
        """The fields as a plain dictionary (for JSON and checkpoints)."""
        return {f.name: getattr(self, f.name) for f in fields(self)}


class _TimeSharedDropout(nn.Module):
    """Dropout with one mask per sample and feature for all time steps of ``[T, B, N]``.

    Masks come from a generator of the module's own, seeded with ``seed`` and created on the
    device of the first input (torch's global generator is never used)."""

    def __init__(self, p: float, seed: int) -> None:
        super().__init__()
        self.p = p
        self.seed = seed
        self.generator: torch.Generator | None = None
        #: ``(start, global_size)`` when the input is a slice of a larger batch (data-parallel
        #: training): the mask is drawn for the whole batch and sliced, as one process draws it
        self.shard: tuple[int, int] | None = None

    def rng_for(self, device: torch.device) -> torch.Generator:
        """The mask generator on ``device`` (created and seeded on first use there)."""
        if self.generator is None or self.generator.device != torch.device(device):
            self.generator = torch.Generator(device=device).manual_seed(self.seed)
        return self.generator

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not self.training or self.p == 0.0:
            return x
        if self.shard is None:
            keep = torch.empty_like(x[0]).bernoulli_(1.0 - self.p,
                                                     generator=self.rng_for(x.device))
        else:
            start, size = self.shard
            keep = x.new_empty((size, *x.shape[2:])).bernoulli_(
                1.0 - self.p, generator=self.rng_for(x.device))[start:start + x.shape[1]]
        return x * (keep / (1.0 - self.p))


class _LeakyIntegration(torch.autograd.Function):
    """``u_t = beta * u_{t-1} + x_t`` (``u_{-1} = 0``) over ``[T, ...]``, with the adjoint
    recursion ``g_t = grad_t + beta * g_{t+1}`` as its backward pass."""

    @staticmethod
    def forward(ctx, x, beta: float):
        u = torch.empty_like(x)
        u[0] = x[0]
        for t in range(1, x.shape[0]):
            torch.add(x[t], u[t - 1], alpha=beta, out=u[t])
        ctx.beta = beta
        return u

    @staticmethod
    def backward(ctx, grad_u):
        grad_x = torch.empty_like(grad_u)
        grad_x[-1] = grad_u[-1]
        for t in range(grad_u.shape[0] - 2, -1, -1):
            torch.add(grad_u[t], grad_x[t + 1], alpha=ctx.beta, out=grad_x[t])
        return grad_x, None


class _Readout(nn.Module):
    """Non-spiking leaky integrator ``u_t = beta * u_{t-1} + x_t`` over ``[T, B, N]``."""

    def __init__(self, beta: float) -> None:
        super().__init__()
        self.beta = beta

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return _LeakyIntegration.apply(x.contiguous(), self.beta)


class DelayNetwork(nn.Module):
    """Feed-forward LIF network with (learnable) synaptic delays; see the module docstring.

    Args:
        config: the architecture.
        rng: a ``torch.Generator``, an int seed or None (fresh entropy) for the initial
            weights and delays and the seeds of the dropout masks; the same seed gives the
            same network and masks.

    Shapes:
        ``forward(x)`` takes time-major spikes ``[T, B, n_inputs]`` and returns the readout
        membrane ``[T + padding_steps, B, n_outputs]``.
    """

    def __init__(self, config: DelayNetworkConfig,
                 rng: torch.Generator | int | None = None) -> None:
        super().__init__()
        if not isinstance(config, DelayNetworkConfig):
            raise TypeError(f"config must be a DelayNetworkConfig, got {type(config).__name__}")
        generator = torch_generator(rng)
        self.config = config
        c = config
        max_delay = 0.0 if c.delays == "none" else c.max_delay
        sizes = [c.n_inputs] + [c.n_hidden] * c.n_hidden_layers + [c.n_outputs]
        self.projections = nn.ModuleList()
        for n_in, n_out in zip(sizes[:-1], sizes[1:]):
            proj = DelayedLinear(n_in, n_out, max_delay, c.dt, bias=c.bias,
                                 delays="zero" if c.delays == "none" else "uniform",
                                 learn_delays=c.delays == "learned", rng=generator)
            if c.delays == "fixed":
                proj.round_delays_()
            elif c.delays == "none":
                proj.set_sigma(0.0)
            self.projections.append(proj)
        self.norms = nn.ModuleList(
            nn.BatchNorm1d(c.n_hidden) if c.batch_norm else nn.Identity()
            for _ in range(c.n_hidden_layers))
        surrogate = Surrogate("arctan", c.surrogate_slope)
        self.neurons = nn.ModuleList(
            LIF(beta=c.beta, threshold=c.threshold, reset="value", surrogate=surrogate,
                detach_reset=True) for _ in range(c.n_hidden_layers))
        # Drawn after the initial parameters, so that those do not depend on dropout.
        seeds = torch.randint(0, 2**62, (c.n_hidden_layers,), generator=generator).tolist()
        self.dropouts = nn.ModuleList(_TimeSharedDropout(c.dropout, seed) for seed in seeds)
        self.readout = _Readout(c.beta)

    # ------------------------------------------------------------------ delays
    @property
    def learns_delays(self) -> bool:
        """Whether the delays are trained (``config.delays == "learned"``)."""
        return self.config.delays == "learned"

    def set_sigma(self, sigma: float) -> None:
        """Set the interpolation width of every learned-delay projection.

        Args:
            sigma: width (steps, >= 0).
        """
        if self.learns_delays:
            for proj in self.projections:
                proj.set_sigma(sigma)

    def sigma_for_epoch(self, epoch: int, n_epochs: int) -> float:
        """The paper's schedule: ``sigma_start`` (default half the kernel size) down to
        ``sigma_final`` over the first ``sigma_decay_fraction`` of the epochs, the part above
        ``sigma_offset`` decaying exponentially (:func:`~snn.layers.sigma_schedule`).

        Args:
            epoch: the epoch (0-based).
            n_epochs: number of epochs.

        Returns:
            The interpolation width (steps).
        """
        c = self.config
        start = (c.max_delay_steps + 1) // 2 if c.sigma_start is None else c.sigma_start
        return sigma_schedule(epoch, n_epochs, float(max(start, c.sigma_final)), c.sigma_final,
                              c.sigma_decay_fraction, offset=c.sigma_offset)

    def round_delays_(self) -> None:
        """Round every delay to whole steps (interpolation off)."""
        for proj in self.projections:
            proj.round_delays_()

    def clamp_delays_(self) -> None:
        """Project every delay back into ``[0, max_delay_steps]`` (after an optimiser step)."""
        for proj in self.projections:
            proj.clamp_delays_()

    def delay_parameters(self) -> list[nn.Parameter]:
        """The delays being learned (empty unless ``delays="learned"``)."""
        return [p.delay for p in self.projections if p.delay.requires_grad]

    def weight_parameters(self) -> list[nn.Parameter]:
        """Every trained parameter except the delays."""
        delays = {id(p) for p in self.delay_parameters()}
        return [p for p in self.parameters() if p.requires_grad and id(p) not in delays]

    def delays_steps(self) -> list[np.ndarray]:
        """Current delays in steps (continuous), one ``[out, in]`` array per projection."""
        return [p.delay.detach().cpu().numpy().copy() for p in self.projections]

    def dropout_rng_states(self) -> list[torch.Tensor | None]:
        """States of the dropout mask generators (None where none was used yet)."""
        return [None if d.generator is None else d.generator.get_state() for d in self.dropouts]

    def load_dropout_rng_states(self, states: list[torch.Tensor | None],
                                device: str | torch.device) -> None:
        """Restore :meth:`dropout_rng_states` for inputs on ``device``.

        Args:
            states: what :meth:`dropout_rng_states` returned.
            device: the device the inputs will be on.
        """
        for dropout, state in zip(self.dropouts, states):
            if state is not None:
                dropout.rng_for(device).set_state(state)

    def set_batch_shard(self, start: int | None = None, global_size: int | None = None) -> None:
        """Declare the next inputs a slice of a larger batch (data-parallel training).

        Dropout then draws its masks for all ``global_size`` samples and keeps samples
        ``start .. start + B``, so that the processes of a data-parallel training together
        use the masks one process would draw for the whole batch.  ``set_batch_shard()``
        (no arguments) goes back to whole batches.

        Args:
            start: index of the input's first sample in the global batch.
            global_size: samples in the global batch.
        """
        if (start is None) != (global_size is None):
            raise ValueError("give both start and global_size, or neither")
        shard = None
        if start is not None:
            global_size = check_int("global_size", global_size, minimum=1)
            shard = (check_int("start", start, minimum=0, maximum=global_size - 1),
                     global_size)
        for dropout in self.dropouts:
            dropout.shard = shard

    # ------------------------------------------------------------------ forward
    def forward(self, x: torch.Tensor, return_hidden: bool = False,
                ) -> torch.Tensor | tuple[torch.Tensor, list[torch.Tensor]]:
        """Run the network over a batch of spike sequences.

        Args:
            x: input spikes (or counts) per step, time-major.
            return_hidden: also return each hidden layer's spikes.

        Returns:
            The readout membrane, and with ``return_hidden`` the list of hidden spikes.

        Shapes:
            ``x`` ``[T, B, n_inputs]`` -> readout ``[T + padding_steps, B, n_outputs]``;
            hidden spikes ``[T + padding_steps, B, n_hidden]`` each.
        """
        check_sequence_input(x, finite=False)
        c = self.config
        if x.shape[2] != c.n_inputs:
            raise ValueError(f"x must have {c.n_inputs} input channels after [T, B], "
                             f"got shape {tuple(x.shape)}")
        if c.padding_steps:
            x = torch.cat([x, x.new_zeros((c.padding_steps,) + tuple(x.shape[1:]))])
        hidden = []
        n_steps, batch = x.shape[:2]
        for proj, norm, lif, drop in zip(self.projections, self.norms, self.neurons,
                                         self.dropouts):
            current = proj(x)
            current = norm(current.reshape(n_steps * batch, -1)).view(n_steps, batch, -1)
            spikes = lif(current)
            hidden.append(spikes)
            x = drop(spikes)
        out = self.readout(self.projections[-1](x))
        return (out, hidden) if return_hidden else out

    @staticmethod
    def scores(readout: torch.Tensor) -> torch.Tensor:
        """Class scores: the sum over time of the softmax of the readout.

        Args:
            readout: the output of :meth:`forward`.

        Returns:
            The scores.

        Shapes:
            ``readout`` ``[T', B, n_outputs]`` -> ``[B, n_outputs]``.
        """
        return torch.softmax(readout, dim=2).sum(0)

    def loss(self, readout: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        """Cross-entropy of :meth:`scores` (the paper's "sum" loss).

        Args:
            readout: the output of :meth:`forward`, ``[T', B, n_outputs]``.
            labels: class indices, int64 ``[B]``.

        Returns:
            The mean loss over the batch (a scalar tensor).
        """
        return nn.functional.cross_entropy(self.scores(readout), labels)
