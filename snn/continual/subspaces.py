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

__all__ = ["HebbianSubspace", "PCASubspace", "ProjectedOptimizer"]


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

    def observe(self, x: torch.Tensor) -> None:
        """Run ``iterations`` steps of Oja's subspace rule on a batch of presynaptic activity.

        Args:
            x: activities, ``[B, n_features]``.
        """
        x = self._check_batch(x)
        if self.learning.shape[0] == 0:
            return
        power = float((x * x).sum(1).mean())
        if power == 0:
            return
        eta = self.lr / power
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


class ProjectedOptimizer:
    """Wraps a torch optimiser: ``step()`` first replaces each listed weight's gradient
    ``[out, in]`` by its projection ``grad (I - H^T H)`` onto the complement of its
    subspace, then steps.  ``pairs``: ``(weight parameter, subspace)``."""

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
                    weight.grad.copy_(subspace.project(weight.grad))
        self.optimizer.step()
