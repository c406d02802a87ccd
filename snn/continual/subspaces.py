"""HLOP's lateral subspace neurons: Hebbian (Oja's subspace rule) and exact-PCA subspaces of a
layer's presynaptic activity, and an optimiser wrapper that projects weight gradients onto
the orthogonal complement of the consolidated subspace."""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from .._random import torch_generator
from ..plasticity import oja_subspace
from ..validation import check_int, check_nonnegative, check_positive

__all__ = ["HebbianSubspace", "SpikingHebbianSubspace", "PCASubspace", "GPMSubspace",
           "ProjectedOptimizer", "lateral_spike_counts"]


class _Subspace:
    """Common part: consolidated components ``[m, n]`` and the projection onto their
    orthogonal complement."""

    def __init__(self, n_features: int) -> None:
        self.n_features = check_int("n_features", n_features, minimum=1)
        self.frozen = torch.zeros(0, self.n_features, dtype=torch.float64)

    @property
    def size(self) -> int:
        """Number of consolidated components."""
        return int(self.frozen.shape[0])

    def _check_room(self, k: int) -> int:
        k = check_int("k", k, minimum=0)
        if self.size + k > self.n_features:
            raise ValueError(f"subspace size {self.size} + {k} new components would exceed the "
                             f"layer's input width {self.n_features}")
        return k

    def _check_batch(self, x: torch.Tensor) -> torch.Tensor:
        if not isinstance(x, torch.Tensor) or x.ndim != 2 or x.shape[1] != self.n_features:
            raise ValueError(f"x must be a tensor [B, {self.n_features}], got "
                             f"{getattr(x, 'shape', type(x).__name__)}")
        return x.detach().to(torch.float64)

    def project(self, g: torch.Tensor) -> torch.Tensor:
        """``g - (g H^T) H`` over the last axis (``[..., n]``): the part of ``g`` orthogonal
        to the consolidated subspace (exactly, if the rows of ``H`` are orthonormal)."""
        if self.size == 0:
            return g
        h = self.frozen.to(g.dtype).to(g.device)
        return g - (g @ h.T) @ h

    def captured(self, x: torch.Tensor) -> float:
        """Fraction of the energy of ``x`` ``[B, n]`` inside the consolidated subspace."""
        x = self._check_batch(x)
        total = float((x * x).sum())
        return 0.0 if total == 0 else 1.0 - float((self.project(x) ** 2).sum()) / total


class HebbianSubspace(_Subspace):
    """HLOP's lateral neurons for one layer of input width ``n_features``.

    ``grow(k)`` adds ``k`` learning neurons; ``observe(x)`` runs ``iterations`` steps of Oja's
    subspace rule on a batch ``x`` ``[B, n_features]`` of presynaptic activities, the frozen
    neurons taking part in the reconstruction; ``consolidate()`` freezes the learning neurons.

    * New neurons start orthonormal and orthogonal to the frozen ones (a random orthogonal
      basis of the frozen rows' complement, from ``rng``: an int seed, a
      ``torch.Generator`` or None for fresh entropy), as the reference code starts
      them with an orthogonal initialisation: Oja's rule keeps rows that start orthonormal
      near orthonormal, so only the rotation towards the principal subspace is left to learn.
    * The step is ``eta = lr / <|x|^2>`` per iteration (``lr`` per unit of mean squared input
      norm: ``eta * lambda_max <= lr`` whatever the activity's scale, stable for ``lr <= 1``).
    * ``momentum`` ``m``: the update is ``v <- m v + (1 - m) dH``, ``H <- H + v`` (HLOP's
      reference code uses 0.9; 0 is plain Oja).
    """

    def __init__(self, n_features: int, lr: float = 1.0, iterations: int = 5,
                 rng: int | torch.Generator | None = None, momentum: float = 0.0) -> None:
        super().__init__(n_features)
        self.lr = check_positive("lr", lr)
        self.iterations = check_int("iterations", iterations, minimum=1)
        self.momentum = check_nonnegative("momentum", momentum)
        if self.momentum >= 1:
            raise ValueError(f"momentum must be in [0, 1), got {momentum}")
        self.generator = torch_generator(rng)
        self.learning = torch.zeros(0, self.n_features, dtype=torch.float64)
        self.velocity = torch.zeros_like(self.learning)

    def grow(self, k: int) -> None:
        """Add learning neurons, orthonormal and orthogonal to the frozen ones.

        Args:
            k: how many (>= 0; frozen + learning must not exceed ``n_features``).
        """
        k = self._check_room(self.learning.shape[0] + k) - self.learning.shape[0]
        if k == 0:
            return
        new = torch.randn(self.n_features, k, generator=self.generator, dtype=torch.float64)
        old = torch.cat([self.frozen, self.learning])
        if old.shape[0]:
            # Orthogonal to the existing rows (twice, for rounding).
            q_old, _ = torch.linalg.qr(old.T)
            for _ in range(2):
                new = new - q_old @ (q_old.T @ new)
        q, r = torch.linalg.qr(new)
        new = (q * torch.sign(torch.diagonal(r))).T
        self.learning = torch.cat([self.learning, new])
        self.velocity = torch.cat([self.velocity, torch.zeros_like(new)])

    def _step_size(self, x: torch.Tensor) -> float | None:
        """The learning rate normalised by the batch's mean squared activity, or None when
        there is nothing to learn (no learning rows, or a silent batch)."""
        if self.learning.shape[0] == 0:
            return None
        power = float((x * x).sum(1).mean())
        if power == 0:
            return None
        return self.lr / power

    def observe(self, x: torch.Tensor) -> None:
        """Run ``iterations`` steps of Oja's subspace rule on a batch of presynaptic activity.

        Args:
            x: activities, ``[B, n_features]``.
        """
        x = self._check_batch(x)
        eta = self._step_size(x)
        if eta is None:
            return
        frozen = self.frozen if self.size else None
        for _ in range(self.iterations):
            step = oja_subspace(x, self.learning, eta, frozen=frozen)
            if self.momentum:
                self.velocity = self.momentum * self.velocity + (1 - self.momentum) * step
                step = self.velocity
            self.learning = self.learning + step

    def consolidate(self) -> None:
        """Freeze the learning neurons: they join the subspace gradients are kept out of."""
        self.frozen = torch.cat([self.frozen, self.learning])
        self.learning = self.learning[:0]
        self.velocity = self.velocity[:0]


def lateral_spike_counts(drive: torch.Tensor, n_steps: int) -> torch.Tensor:
    """Spike counts of integrate-and-fire neurons with signed spikes, driven ``n_steps`` steps
    by a constant input.

    Each neuron integrates ``v <- v + drive`` (threshold 1, membrane starting at half the
    threshold); when ``v >= 1`` it emits a positive spike and ``v <- v - 1``, when
    ``v <= -1`` a negative spike and ``v <- v + 1``; at most one spike per step, so
    ``|drive| > 1`` saturates.  With a constant drive ``0 <= d <= 1`` the membrane after
    ``t`` steps is ``1/2 + t d - c_t`` and stays in ``[0, 1)``, so the count is
    ``c_n = floor(n d + 1/2)``: the counts are computed in that closed form, which costs the
    same for any ``n_steps`` (a step-by-step simulation gives the same counts, see the
    tests), so that the lateral neurons can run as many steps as the reference's 1000.

    Args:
        drive: input per step (threshold units), any shape.
        n_steps: number of steps (>= 1).

    Returns:
        Net spike counts (positive minus negative), the shape and dtype of ``drive``.
    """
    n_steps = check_int("n_steps", n_steps, minimum=1)
    magnitude = torch.floor(torch.clamp(drive.abs(), max=1.0) * n_steps + 0.5)
    return torch.sign(drive) * torch.clamp(magnitude, max=float(n_steps))


class SpikingHebbianSubspace(HebbianSubspace):
    """HLOP's lateral circuit with spiking lateral neurons (the paper's spiking variant).

    The lateral neurons receive ``H x`` from the presynaptic activity through the Hebbian
    weights and fire as integrate-and-fire neurons with signed spikes for ``n_steps``
    steps (:func:`lateral_spike_counts`), driven by ``H x / scale`` per step; their rate
    ``y = scale * count / n_steps`` (``H x`` quantised to ``scale / n_steps`` and clipped at
    ``+-scale``) feeds back ``H^T y`` and drives the Hebbian update
    ``dH = eta <y (x - H^T y)^T>`` (the frozen neurons spike too and take part in the
    reconstruction).  ``scale`` 20 and ``n_steps`` 1000 are the reference code's defaults.
    The projection of weight updates uses the learned weights ``H`` (:meth:`project`), as
    for :class:`HebbianSubspace`.

    The rows stay orthonormal only if the rate step ``scale / n_steps`` is fine beside the
    activity along the directions the neurons learn: a neuron whose drive stays below half
    a step never fires and does not take part in the reconstruction that decorrelates the
    others, and one just above it overshoots its drive, so rows learning weak directions
    (later tasks) shrink and lose their orthogonality.  Measured on 5 permuted-digit tasks
    (``benchmarks/continual.py``, hidden layer): ``||H H^T - I||`` of 4.7 at 50 steps, 0.63
    at 200, 0.049 at 1000 and 0.012 at 5000, against 0.009 for the rate circuit.

    Args:
        n_features: input width of the layer.
        lr: step per unit of mean squared input norm (see :class:`HebbianSubspace`).
        iterations: Hebbian steps per batch.
        rng: an int seed, a ``torch.Generator`` or None for the new neurons' start.
        momentum: momentum of the update, in ``[0, 1)``.
        n_steps: steps the lateral neurons run for each presentation (>= 1); the counts are
            computed in closed form, so the cost does not grow with it.
        scale: the drive ``H x`` that makes a neuron fire every step (> 0).
    """

    def __init__(self, n_features: int, lr: float = 1.0, iterations: int = 5,
                 rng: int | torch.Generator | None = None, momentum: float = 0.0,
                 n_steps: int = 1000, scale: float = 20.0) -> None:
        super().__init__(n_features, lr, iterations, rng, momentum)
        self.n_steps = check_int("n_steps", n_steps, minimum=1)
        self.scale = check_positive("scale", scale)

    def rates(self, x: torch.Tensor, weight: torch.Tensor) -> torch.Tensor:
        """The lateral neurons' rates for presynaptic activity ``x`` ``[B, n_features]``
        through ``weight`` ``[k, n_features]``: ``[B, k]`` (in units of ``H x``)."""
        drive = (x @ weight.T) / self.scale
        return lateral_spike_counts(drive, self.n_steps) * (self.scale / self.n_steps)

    def observe(self, x: torch.Tensor) -> None:
        """Run ``iterations`` Hebbian steps of the spiking circuit on a batch.

        Args:
            x: activities, ``[B, n_features]``.
        """
        x = self._check_batch(x)
        eta = self._step_size(x)
        if eta is None:
            return
        for _ in range(self.iterations):
            weight = torch.cat([self.frozen, self.learning])
            y = self.rates(x, weight)
            residual = x - y @ weight
            step = eta * (y[:, self.size:].T @ residual) / x.shape[0]
            if self.momentum:
                self.velocity = self.momentum * self.velocity + (1 - self.momentum) * step
                step = self.velocity
            self.learning = self.learning + step


class PCASubspace(_Subspace):
    """Exact-PCA counterpart of :class:`HebbianSubspace` with the same interface and sizes:
    ``observe`` accumulates the uncentred correlation ``sum x x^T``; ``consolidate`` adds the
    top ``k`` eigenvectors of that correlation restricted to the orthogonal complement of the
    consolidated subspace (equivalently, the top right singular vectors of the stored
    residual activities); the rows stay orthonormal even when a task's activity spans fewer
    than ``k`` new dimensions."""

    def __init__(self, n_features: int) -> None:
        super().__init__(n_features)
        self.pending = 0
        self.correlation = torch.zeros(self.n_features, self.n_features, dtype=torch.float64)

    def grow(self, k: int) -> None:
        """Ask for ``k`` more components at the next :meth:`consolidate`.

        Args:
            k: how many (>= 0; the total must not exceed ``n_features``).
        """
        self._check_room(self.pending + k)
        self.pending += k

    def observe(self, x: torch.Tensor) -> None:
        """Accumulate the uncentred correlation of a batch of presynaptic activity.

        Args:
            x: activities, ``[B, n_features]``.
        """
        x = self._check_batch(x)
        self.correlation += x.T @ x

    def consolidate(self) -> None:
        """Add the pending components (see the class docstring) and clear the correlation."""
        if self.pending:
            # Work inside an orthonormal basis Q [n, n - m] of the complement: the residual
            # correlation's eigenvectors of eigenvalue 0 include the consolidated directions
            # themselves, which a task with fewer active dimensions than ``k`` would pick.
            eye = torch.eye(self.n_features, dtype=torch.float64)
            basis_values, basis = torch.linalg.eigh(eye - self.frozen.T @ self.frozen)
            q = basis[:, basis_values > 0.5]
            _, vectors = torch.linalg.eigh(q.T @ self.correlation @ q)
            top = (q @ vectors[:, -self.pending:].flip(1)).T
            self.frozen = torch.cat([self.frozen, top])
        self.pending = 0
        self.correlation.zero_()


class GPMSubspace(PCASubspace):
    """Gradient projection memory (Saha, Garg & Roy, ICLR 2021): the exact-subspace method
    HLOP compares with.  ``observe`` accumulates the uncentred correlation of a task's
    representations (for a convolution: its unfolded input patches); ``consolidate`` adds,
    from the correlation's part orthogonal to the stored basis, the fewest top
    eigenvectors for which the energy inside the basis reaches ``threshold`` of the task's
    total::

        (||P R||^2 + sum_{i<=r} s_i^2) / ||R||^2 >= threshold

    with ``P`` the projection on the stored basis and ``s_i`` the singular values of the
    residual ``(I - P) R``.  The threshold grows by ``threshold_step`` per task (GPM raises
    it for later tasks).  ``grow(k)`` caps how many directions one task may add (``k``).

    Args:
        n_features: input width of the layer.
        threshold: energy fraction for the first task, in ``(0, 1]``.
        threshold_step: added to the threshold after each task (>= 0; the result is capped
            at 1).
    """

    def __init__(self, n_features: int, threshold: float = 0.97,
                 threshold_step: float = 0.003) -> None:
        super().__init__(n_features)
        self.threshold = check_positive("threshold", threshold)
        if self.threshold > 1:
            raise ValueError(f"threshold must be in (0, 1], got {threshold}")
        self.threshold_step = check_nonnegative("threshold_step", threshold_step)
        self.tasks = 0

    def consolidate(self) -> None:
        """Add the directions the threshold asks for (at most the pending count) and clear
        the correlation."""
        total = float(torch.trace(self.correlation))
        threshold = min(1.0, self.threshold + self.tasks * self.threshold_step)
        self.tasks += 1
        if self.pending and total > 0:
            eye = torch.eye(self.n_features, dtype=torch.float64)
            basis_values, basis = torch.linalg.eigh(eye - self.frozen.T @ self.frozen)
            q = basis[:, basis_values > 0.5]
            values, vectors = torch.linalg.eigh(q.T @ self.correlation @ q)
            values, vectors = values.flip(0).clamp(min=0.0), vectors.flip(1)
            inside = total - float(values.sum())
            captured = (inside + torch.cumsum(values, 0)) / total
            needed = int((captured < threshold).sum()) + 1 if inside / total < threshold else 0
            r = min(needed, self.pending, int(values.numel()))
            if r:
                self.frozen = torch.cat([self.frozen, (q @ vectors[:, :r]).T])
        self.pending = 0
        self.correlation.zero_()


class ProjectedOptimizer:
    """Wraps a torch optimiser: ``step()`` first replaces each listed weight's gradient
    ``[out, in]`` by its projection ``grad (I - H^T H)`` onto the complement of its
    subspace, then steps.  ``pairs``: ``(weight parameter, subspace)``.  A convolution's
    weight ``[out, c_in, *kernel]`` is projected as ``[out, c_in * prod(kernel)]``, the
    layout of its unfolded input patches."""

    def __init__(self, optimizer: torch.optim.Optimizer,
                 pairs: Sequence[tuple[nn.Parameter, _Subspace]]) -> None:
        self.optimizer = optimizer
        self.pairs = list(pairs)

    def zero_grad(self) -> None:
        """The wrapped optimiser's ``zero_grad``."""
        self.optimizer.zero_grad()

    def step(self) -> None:
        """Project each listed weight's gradient onto its subspace's complement, then step
        the wrapped optimiser."""
        with torch.no_grad():
            for weight, subspace in self.pairs:
                if weight.grad is not None:
                    flat = weight.grad.reshape(weight.shape[0], -1)
                    weight.grad.copy_(subspace.project(flat).reshape(weight.shape))
        self.optimizer.step()
