"""Continual learning of spiking networks: HLOP, baselines, and the ACC / BWT harness.

HLOP (Xiao et al., "Hebbian Learning based Orthogonal Projection for Continual Learning of
Spiking Neural Networks", ICLR 2024): for every Linear layer, lateral "subspace" neurons
``H`` ``[k, n_in]`` learn the principal subspace of the layer's presynaptic activity with
Oja's subspace rule (:func:`snn.plasticity.oja_subspace`, a few Hebbian iterations per
training batch).  At each task start ``k`` new lateral neurons are added, initialised
orthonormal and orthogonal to the older ones; the older ones are frozen but still take part
in the reconstruction, so the new ones learn what the old ones miss.  At each task end the
neurons keep learning for a few forward-only passes with a decaying step, then the subspace
is consolidated.  The projection below is orthogonal only if the learned rows are
orthonormal: a row of norm < 1 lets part of an old direction's gradient through.  The
forward pass is unchanged; only weight updates are projected onto the orthogonal complement
of the consolidated subspace::

    dW <- dW (I - H^T H)        (BPTT: the weight gradient, before the optimiser step)
    dW = g_t^T (a_t - H^T H a_t)  (online: the presynaptic trace a_t is projected)

```python
from snn.continual import ContinualConfig, run_continual
from snn.data import permuted_digits_tasks

result = run_continual(permuted_digits_tasks(5), ContinualConfig(method="hlop", epochs=5))
print(result.acc, result.bwt)      # percent; result.accuracy is R [tasks, tasks]
```

* :class:`HebbianSubspace` (Oja subspace rule, the HLOP lateral neurons) and
  :class:`PCASubspace` (same sizes, exact principal components of the accumulated
  correlation, for comparison); :class:`ProjectedOptimizer` projects gradients before a
  torch optimiser's step.
* :class:`SpikingMLP`: ``Linear -> LIF -> ... -> Linear`` read out as the time mean, on
  ``[T, B, features]``; :meth:`SpikingMLP.online_loss` runs it step by step with
  trace-based weight gradients (OTTT: Xiao et al., NeurIPS 2022).
* :class:`ContinualConfig`, :func:`run_continual`, :class:`ContinualResult`,
  :func:`continual_metrics`: methods ``hlop``, ``hlop-pca``, ``finetune``, ``ewc``
  (Kirkpatrick et al. 2017), ``multitask`` (joint training on all tasks, the upper bound);
  training ``bptt`` (surrogate gradients through time) or ``online``.
* :func:`add_continual_parser`, :func:`demo_continual`: ``snn train continual`` and the demo
  section.

ACC and BWT follow Lopez-Paz & Ranzato (GEM, 2017), as in HLOP: with ``R[i, j]`` the test
accuracy on task ``j`` after training on task ``i`` (``T`` tasks), ``ACC = mean_j R[T-1, j]``
and ``BWT = mean_{j < T-1} (R[T-1, j] - R[j, j])``.
"""

from __future__ import annotations

import argparse
import math
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from .data.tasks import Task
from .layers import LIF, Surrogate
from .layers.surrogate import spike
from .plasticity import oja_subspace

__all__ = [
    "METHODS",
    "TRAININGS",
    "ContinualConfig",
    "ContinualResult",
    "HebbianSubspace",
    "PCASubspace",
    "ProjectedOptimizer",
    "SpikingMLP",
    "add_continual_parser",
    "continual_metrics",
    "demo_continual",
    "run_continual",
]

METHODS = ("hlop", "hlop-pca", "finetune", "ewc", "multitask")
TRAININGS = ("bptt", "online")
ENCODINGS = ("rate", "current")
ACTIVITIES = ("step", "mean")


# --------------------------------------------------------------------------- subspaces


def _check_int(name: str, value: Any, low: int) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise TypeError(f"{name} must be an int, got {type(value).__name__}")
    if value < low:
        raise ValueError(f"{name} must be >= {low}, got {value}")
    return int(value)


def _check_real(name: str, value: Any, low: float = 0.0, strict: bool = False) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TypeError(f"{name} must be a real number, got {type(value).__name__}")
    if not math.isfinite(value) or value < low or (strict and value == low):
        raise ValueError(f"{name} must be finite and {'>' if strict else '>='} {low}, "
                         f"got {value}")
    return float(value)


class _Subspace:
    """Common part: consolidated components ``[m, n]`` and the projection onto their
    orthogonal complement."""

    def __init__(self, n_features: int) -> None:
        self.n_features = _check_int("n_features", n_features, 1)
        self.frozen = torch.zeros(0, self.n_features, dtype=torch.float64)

    @property
    def size(self) -> int:
        """Number of consolidated components."""
        return int(self.frozen.shape[0])

    def _check_room(self, k: int) -> int:
        k = _check_int("k", k, 0)
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
      basis of the frozen rows' complement, from ``generator``), as the reference code starts
      them with an orthogonal initialisation: Oja's rule keeps rows that start orthonormal
      near orthonormal, so only the rotation towards the principal subspace is left to learn.
    * The step is ``eta = lr / <|x|^2>`` per iteration (``lr`` per unit of mean squared input
      norm: ``eta * lambda_max <= lr`` whatever the activity's scale, stable for ``lr <= 1``).
    * ``momentum`` ``m``: the update is ``v <- m v + (1 - m) dH``, ``H <- H + v`` (HLOP's
      reference code uses 0.9; 0 is plain Oja).
    """

    def __init__(self, n_features: int, lr: float = 1.0, iterations: int = 5,
                 generator: torch.Generator | None = None, momentum: float = 0.0) -> None:
        super().__init__(n_features)
        self.lr = _check_real("lr", lr, 0.0, strict=True)
        self.iterations = _check_int("iterations", iterations, 1)
        self.momentum = _check_real("momentum", momentum)
        if self.momentum >= 1:
            raise ValueError(f"momentum must be in [0, 1), got {momentum}")
        self.generator = generator if generator is not None else torch.Generator().manual_seed(0)
        self.learning = torch.zeros(0, self.n_features, dtype=torch.float64)
        self.velocity = torch.zeros_like(self.learning)

    def grow(self, k: int) -> None:
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
        self._check_room(self.pending + k)
        self.pending += k

    def observe(self, x: torch.Tensor) -> None:
        x = self._check_batch(x)
        self.correlation += x.T @ x

    def consolidate(self) -> None:
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
        self.optimizer.zero_grad()

    def step(self) -> None:
        with torch.no_grad():
            for weight, subspace in self.pairs:
                if weight.grad is not None:
                    weight.grad.copy_(subspace.project(weight.grad))
        self.optimizer.step()


# --------------------------------------------------------------------------- the network


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
    LIF: ``u = beta v + I``, spike if ``u > threshold``, reset by subtraction."""

    def __init__(self, n_in: int, hidden: Sequence[int], n_out: int, beta: float = 0.9,
                 threshold: float = 1.0, seed: int = 0) -> None:
        super().__init__()
        sizes = [_check_int("n_in", n_in, 1)] + [_check_int("hidden", h, 1) for h in hidden]
        if len(sizes) < 2:
            raise ValueError("hidden must name at least one hidden layer width")
        _check_int("n_out", n_out, 1)
        self.beta = _check_real("beta", beta, 0.0)
        if self.beta > 1:
            raise ValueError(f"beta must be in [0, 1], got {beta}")
        self.threshold = _check_real("threshold", threshold, 0.0, strict=True)
        self.surrogate = Surrogate("arctan", 2.0)
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            self.linears = nn.ModuleList(
                [nn.Linear(a, b, bias=False) for a, b in zip(sizes, sizes[1:] + [n_out])])
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
                u = current if v[layer] is None else self.beta * v[layer] + current
                s = spike(u - self.threshold, self.surrogate)
                v[layer] = (u - self.threshold * s).detach()
                h = s
            loss = loss + nn.functional.cross_entropy(h.masked_fill(~mask, -1e9), y)
        if per_step:
            return loss / n_steps, [torch.cat(a) for a in steps]
        return loss / n_steps, [s.detach() / n_steps for s in sums]


# --------------------------------------------------------------------------- harness


@dataclass(frozen=True)
class ContinualConfig:
    """Settings of a continual-learning run.

    ``method``: one of :data:`METHODS`; ``training``: ``"bptt"`` or ``"online"``;
    ``hidden``: hidden widths; ``n_steps``: time steps per sample for static inputs;
    ``encoding``: ``"rate"`` (Bernoulli spikes) or ``"current"`` (intensities as constant
    input) for static inputs (time-series tasks are used as given); ``epochs`` per task,
    ``batch_size``, ``lr`` and ``momentum`` of SGD (a fresh optimiser per task; plain SGD
    keeps projected updates in the complement, Adam's per-coordinate scaling would not);
    ``beta``, ``threshold``: LIF; ``components``: HLOP subspace neurons added per task, one
    per Linear layer (its input width bounds their total over tasks); ``None`` gives each layer
    ``floor(0.8 * width / tasks)``; ``hebbian_lr``, ``hebbian_iterations``,
    ``hebbian_momentum``: Oja's subspace rule per batch (:class:`HebbianSubspace`);
    ``hebbian_epochs``: extra passes over each task's training data at its end (forward only)
    in which the subspaces keep learning from the trained network's activities before
    consolidation; ``hebbian_anneal``: over those passes the Hebbian step decays geometrically
    from ``hebbian_lr`` to ``hebbian_anneal * hebbian_lr`` (a decreasing step, as stochastic
    approximation needs to converge rather than hover around the subspace at a distance set
    by the step; 1 keeps it constant); ``subspace_activity``: what the subspaces learn from,
    ``"mean"`` (each Linear's presynaptic activity averaged over the time steps, a firing
    rate) or ``"step"`` (every time step's presynaptic spikes, or traces in online training:
    what the weight gradient is built from; 20 times more rows per batch); ``ewc_lambda``,
    ``fisher_samples``: EWC; ``seed``: weights, data order and spike draws.
    """

    method: str = "hlop"
    training: str = "bptt"
    hidden: tuple[int, ...] = (128,)
    n_steps: int = 20
    encoding: str = "rate"
    epochs: int = 5
    batch_size: int = 32
    lr: float = 0.05
    momentum: float = 0.9
    beta: float = 0.9
    threshold: float = 1.0
    components: tuple[int, ...] | None = None
    hebbian_lr: float = 1.0
    hebbian_iterations: int = 5
    hebbian_epochs: int = 2
    hebbian_momentum: float = 0.0
    hebbian_anneal: float = 0.01
    subspace_activity: str = "mean"
    ewc_lambda: float = 100.0
    fisher_samples: int = 200
    seed: int = 0

    def __post_init__(self) -> None:
        if self.method not in METHODS:
            raise ValueError(f"method must be one of {METHODS}, got {self.method!r}")
        if self.training not in TRAININGS:
            raise ValueError(f"training must be one of {TRAININGS}, got {self.training!r}")
        if self.subspace_activity not in ACTIVITIES:
            raise ValueError(f"subspace_activity must be one of {ACTIVITIES}, got "
                             f"{self.subspace_activity!r}")
        if self.encoding not in ENCODINGS:
            raise ValueError(f"encoding must be one of {ENCODINGS}, got {self.encoding!r}")
        if not isinstance(self.hidden, tuple) or not self.hidden:
            raise TypeError(f"hidden must be a non-empty tuple of ints, got {self.hidden!r}")
        for h in self.hidden:
            _check_int("hidden", h, 1)
        for name in ("n_steps", "epochs", "batch_size", "hebbian_iterations", "fisher_samples"):
            _check_int(name, getattr(self, name), 1)
        _check_int("hebbian_epochs", self.hebbian_epochs, 0)
        _check_int("seed", self.seed, 0)
        for name in ("lr", "hebbian_lr"):
            _check_real(name, getattr(self, name), 0.0, strict=True)
        for name in ("momentum", "beta", "ewc_lambda"):
            _check_real(name, getattr(self, name))
        _check_real("threshold", self.threshold, 0.0, strict=True)
        if not 0 < _check_real("hebbian_anneal", self.hebbian_anneal, 0.0, strict=True) <= 1:
            raise ValueError(f"hebbian_anneal must be in (0, 1], got {self.hebbian_anneal}")
        if _check_real("hebbian_momentum", self.hebbian_momentum) >= 1:
            raise ValueError(f"hebbian_momentum must be in [0, 1), got {self.hebbian_momentum}")
        if self.components is not None:
            if not isinstance(self.components, tuple) or \
                    len(self.components) != len(self.hidden) + 1:
                raise ValueError(f"components must be a tuple of {len(self.hidden) + 1} ints "
                                 f"(one per Linear layer), got {self.components!r}")
            for k in self.components:
                _check_int("components", k, 0)


@dataclass
class ContinualResult:
    """``accuracy``: R ``[tasks, tasks]`` in percent, ``R[i, j]`` on task ``j``'s test set after
    training on task ``i`` (NaN where not measured: the multitask bound trains once);
    ``acc``, ``bwt`` (percent, :func:`continual_metrics`); ``task_names``; ``seconds`` of
    training; ``subspace_sizes``: consolidated HLOP components per layer at the end;
    ``config`` as a dictionary; ``model`` and ``subspaces`` (HLOP) as trained."""

    accuracy: np.ndarray
    acc: float
    bwt: float
    task_names: list[str]
    seconds: float
    subspace_sizes: list[int] = field(default_factory=list)
    config: dict = field(default_factory=dict)
    model: SpikingMLP | None = field(default=None, repr=False)
    subspaces: list | None = field(default=None, repr=False)

    def to_dict(self) -> dict:
        return {"accuracy": [[None if math.isnan(v) else float(v) for v in row]
                             for row in self.accuracy],
                "acc": self.acc, "bwt": None if math.isnan(self.bwt) else self.bwt,
                "task_names": self.task_names, "seconds": self.seconds,
                "subspace_sizes": self.subspace_sizes, "config": self.config}


def continual_metrics(accuracy: np.ndarray) -> tuple[float, float]:
    """``(ACC, BWT)`` of an accuracy matrix R ``[T, T]``: ``ACC = mean_j R[T-1, j]``,
    ``BWT = mean_{j < T-1} (R[T-1, j] - R[j, j])`` (NaN for one task or an unmeasured
    diagonal)."""
    r = np.asarray(accuracy, dtype=float)
    if r.ndim != 2 or r.shape[0] != r.shape[1] or r.shape[0] == 0:
        raise ValueError(f"accuracy must be a square matrix [T, T] with T >= 1, got shape "
                         f"{r.shape}")
    n = r.shape[0]
    acc = float(np.mean(r[-1]))
    if n == 1:
        return acc, float("nan")
    bwt = float(np.mean(r[-1, :-1] - np.diag(r)[:-1]))
    return acc, bwt


def _check_tasks(tasks: Sequence[Task]) -> tuple[int, int]:
    if not isinstance(tasks, Sequence) or isinstance(tasks, (str, bytes)):
        raise TypeError(f"tasks must be a list of snn.data.Task, got {type(tasks).__name__}")
    if len(tasks) == 0:
        raise ValueError("tasks must not be empty: give at least one snn.data.Task")
    for i, task in enumerate(tasks):
        if not isinstance(task, Task):
            raise TypeError(f"tasks[{i}] must be an snn.data.Task, got {type(task).__name__}")
        if len(task.y_train) == 0 or len(task.y_test) == 0:
            raise ValueError(f"tasks[{i}] ({task.name}) has an empty train or test set")
        if task.x_train.shape[1:] != task.x_test.shape[1:]:
            raise ValueError(f"tasks[{i}] ({task.name}): x_train and x_test shapes differ after "
                             f"N: {task.x_train.shape[1:]} vs {task.x_test.shape[1:]}")
    first = tasks[0].x_train.shape[1:]
    for i, task in enumerate(tasks):
        if task.x_train.shape[1:] != first:
            raise ValueError(f"every task must have the same input size: tasks[0] has "
                             f"{first}, tasks[{i}] ({task.name}) has {task.x_train.shape[1:]}")
    n_classes = 1 + max(int(max(t.y_train.max(), t.y_test.max(), max(t.classes)))
                        for t in tasks)
    return int(first[-1]), n_classes


def _components(config: ContinualConfig, widths: list[int], n_tasks: int) -> tuple[int, ...]:
    if config.components is None:
        return tuple(max(1, int(0.8 * w) // n_tasks) for w in widths)
    for width, k in zip(widths, config.components):
        if k * n_tasks > width:
            raise ValueError(f"components: {k} per task over {n_tasks} tasks is a subspace of "
                             f"{k * n_tasks}, larger than the layer's input width {width}")
    return config.components


class _Batcher:
    """Time-major inputs ``[T, B, D]`` for a set of samples: static ``[N, D]`` encoded
    (Bernoulli from a generator, or constant current), time series ``[N, T, D]`` transposed."""

    def __init__(self, config: ContinualConfig, generator: torch.Generator) -> None:
        self.config = config
        self.generator = generator

    def __call__(self, x: np.ndarray) -> torch.Tensor:
        xt = torch.from_numpy(np.ascontiguousarray(x, dtype=np.float32))
        if xt.ndim == 3:
            return xt.transpose(0, 1).contiguous()
        if self.config.encoding == "current":
            return xt.expand(self.config.n_steps, *xt.shape).contiguous()
        draws = torch.rand((self.config.n_steps, *xt.shape), generator=self.generator)
        return (draws < xt).float()


def _class_mask(classes: Sequence[int], n_classes: int) -> torch.Tensor:
    mask = torch.zeros(n_classes, dtype=torch.bool)
    mask[list(classes)] = True
    return mask


def _evaluate(model: SpikingMLP, task: Task, n_classes: int, encode: _Batcher,
              batch_size: int = 256) -> float:
    mask = _class_mask(task.classes, n_classes)
    correct = 0
    with torch.no_grad():
        for start in range(0, len(task.y_test), batch_size):
            x = encode(task.x_test[start:start + batch_size])
            logits = model(x).masked_fill(~mask, -1e9)
            y = torch.from_numpy(task.y_test[start:start + batch_size])
            correct += int((logits.argmax(1) == y).sum())
    return 100.0 * correct / len(task.y_test)


class _EWC:
    """Elastic weight consolidation: per task a diagonal Fisher from squared per-sample
    gradients of the log-likelihood (labels drawn from the model, the true Fisher) and the
    weights at its end; penalty ``lambda / 2 sum_tasks sum F (w - w*)^2``."""

    def __init__(self, lam: float) -> None:
        self.lam = lam
        self.anchors: list[tuple[list[torch.Tensor], list[torch.Tensor]]] = []

    def penalty(self, model: nn.Module) -> torch.Tensor:
        total = torch.zeros(())
        for fisher, star in self.anchors:
            for p, f, w in zip(model.parameters(), fisher, star):
                total = total + (f * (p - w) ** 2).sum()
        return 0.5 * self.lam * total

    def consolidate(self, model: SpikingMLP, task: Task, n_classes: int, encode: _Batcher,
                    n_samples: int, rng: np.random.Generator, generator: torch.Generator
                    ) -> None:
        mask = _class_mask(task.classes, n_classes)
        fisher = [torch.zeros_like(p) for p in model.parameters()]
        pick = rng.permutation(len(task.y_train))[:n_samples]
        for i in pick:
            model.zero_grad()
            logits = model(encode(task.x_train[i:i + 1])).masked_fill(~mask, -1e9)
            log_p = torch.log_softmax(logits, 1)
            label = torch.multinomial(log_p.exp()[0].detach(), 1, generator=generator)
            log_p[0, label[0]].backward()
            for f, p in zip(fisher, model.parameters()):
                f += p.grad.detach() ** 2 / len(pick)
        model.zero_grad()
        self.anchors.append((fisher, [p.detach().clone() for p in model.parameters()]))


def run_continual(tasks: Sequence[Task], config: ContinualConfig | None = None,
                  progress: bool = False) -> ContinualResult:
    """Train a :class:`SpikingMLP` on ``tasks`` in order with ``config.method`` and measure
    the accuracy matrix R (percent) after each task.  Logits are restricted to each task's
    classes (task-incremental for split tasks; all classes for permuted ones)."""
    config = ContinualConfig() if config is None else config
    if not isinstance(config, ContinualConfig):
        raise TypeError(f"config must be a ContinualConfig, got {type(config).__name__}")
    n_in, n_classes = _check_tasks(tasks)
    widths = [n_in, *config.hidden]
    components = _components(config, widths, len(tasks))
    rng = np.random.default_rng(config.seed)
    generator = torch.Generator().manual_seed(config.seed)
    model = SpikingMLP(n_in, config.hidden, n_classes, config.beta, config.threshold,
                       config.seed)
    encode = _Batcher(config, generator)
    eval_seed = config.seed + 1_000_003

    def evaluate_all() -> list[float]:
        # The same spike draws at every evaluation, so that R's entries compare.
        ev = _Batcher(config, torch.Generator().manual_seed(eval_seed))
        return [_evaluate(model, task, n_classes, ev) for task in tasks]

    subspaces: list[_Subspace] | None = None
    if config.method == "hlop":
        subspaces = [HebbianSubspace(w, config.hebbian_lr, config.hebbian_iterations,
                                     torch.Generator().manual_seed(config.seed + 17 + i),
                                     config.hebbian_momentum)
                     for i, w in enumerate(widths)]
    elif config.method == "hlop-pca":
        subspaces = [PCASubspace(w) for w in widths]
    ewc = _EWC(config.ewc_lambda) if config.method == "ewc" else None
    per_step = config.subspace_activity == "step"

    n_tasks = len(tasks)
    accuracy = np.full((n_tasks, n_tasks), np.nan)
    start_time = time.perf_counter()
    if config.method == "multitask":
        stages = [list(range(n_tasks))]
        epochs = config.epochs
    else:
        stages = [[i] for i in range(n_tasks)]
        epochs = config.epochs

    from tqdm.auto import tqdm
    bar = tqdm(total=len(stages) * epochs, desc=f"continual {config.method}", unit="epoch",
               disable=not progress)
    for stage, members in enumerate(stages):
        x_all = np.concatenate([tasks[i].x_train for i in members])
        y_all = np.concatenate([tasks[i].y_train for i in members])
        masks = torch.stack([_class_mask(tasks[i].classes, n_classes) for i in members])
        owner = np.concatenate([np.full(len(tasks[i].y_train), j)
                                for j, i in enumerate(members)])
        if subspaces is not None:
            for subspace, k in zip(subspaces, components):
                subspace.grow(k)
        optimizer: Any = torch.optim.SGD(model.parameters(), lr=config.lr,
                                         momentum=config.momentum)
        if subspaces is not None and config.training == "bptt":
            optimizer = ProjectedOptimizer(
                optimizer, [(lin.weight, s) for lin, s in zip(model.linears, subspaces)])
        for _ in range(epochs):
            order = rng.permutation(len(y_all))
            for begin in range(0, len(order), config.batch_size):
                idx = order[begin:begin + config.batch_size]
                x = encode(x_all[idx])
                y = torch.from_numpy(y_all[idx])
                mask = masks[torch.from_numpy(owner[idx])]
                optimizer.zero_grad()
                if config.training == "online":
                    loss, inputs = model.online_loss(x, mask, y, subspaces, per_step)
                else:
                    logits, inputs = model(x, return_inputs=True, per_step=per_step)
                    loss = nn.functional.cross_entropy(logits.masked_fill(~mask, -1e9), y)
                if ewc is not None and ewc.anchors:
                    loss = loss + ewc.penalty(model)
                loss.backward()
                optimizer.step()
                if subspaces is not None:
                    for subspace, activity in zip(subspaces, inputs):
                        subspace.observe(activity)
            bar.update()
        if subspaces is not None:
            # Forward-only passes: the subspace of the activities the trained network produces.
            # The Hebbian step decays geometrically over them by hebbian_anneal in all.
            n_batches = config.hebbian_epochs * math.ceil(len(y_all) / config.batch_size)
            done = 0
            for _ in range(config.hebbian_epochs):
                order = rng.permutation(len(y_all))
                with torch.no_grad():
                    for begin in range(0, len(order), config.batch_size):
                        scale = config.hebbian_anneal ** (done / max(n_batches - 1, 1))
                        done += 1
                        for subspace in subspaces:
                            if isinstance(subspace, HebbianSubspace):
                                subspace.lr = config.hebbian_lr * scale
                        idx = order[begin:begin + config.batch_size]
                        _, inputs = model(encode(x_all[idx]), return_inputs=True,
                                          per_step=per_step)
                        for subspace, activity in zip(subspaces, inputs):
                            subspace.observe(activity)
            for subspace in subspaces:
                if isinstance(subspace, HebbianSubspace):
                    subspace.lr = config.hebbian_lr
                subspace.consolidate()
        if ewc is not None:
            ewc.consolidate(model, tasks[members[0]], n_classes, encode, config.fisher_samples,
                            rng, generator)
        row = n_tasks - 1 if config.method == "multitask" else stage
        accuracy[row] = evaluate_all()
    bar.close()
    seconds = time.perf_counter() - start_time
    acc, bwt = continual_metrics(accuracy)
    return ContinualResult(accuracy, acc, bwt, [t.name for t in tasks], seconds,
                           [s.size for s in subspaces] if subspaces is not None else [],
                           {**asdict(config), "components": list(components)}, model,
                           subspaces)


# --------------------------------------------------------------------------- command line


def _load_tasks(data: str, n_tasks: int, seed: int, root: str | None) -> list[Task]:
    from .data import (
        load_mnist_idx,
        permuted_digits_tasks,
        permuted_tasks,
        split_digits_tasks,
        split_fsdd_tasks,
    )

    if data == "permuted-digits":
        return permuted_digits_tasks(n_tasks, seed=seed)
    if data == "lowrank-digits":
        return permuted_digits_tasks(n_tasks, seed=seed, rank=8)
    if data == "split-digits":
        return split_digits_tasks(2, seed=seed)
    if data == "split-fsdd":
        return split_fsdd_tasks(root, dt=0.02, max_time=1.0)
    if data == "pmnist":
        if root is None:
            raise ValueError("--root FOLDER (with MNIST's four IDX files) is required with "
                             "--data pmnist")
        return permuted_tasks(*load_mnist_idx(root), n_tasks, seed=seed, name="permuted MNIST")
    raise ValueError(f"data must be one of {DATA_CHOICES}, got {data!r}")  # pragma: no cover


DATA_CHOICES = ("permuted-digits", "lowrank-digits", "split-digits", "split-fsdd", "pmnist")


def _positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be an int >= 1, got {text}")
    return value


def _components_arg(text: str) -> tuple[int, ...]:
    try:
        values = tuple(int(v) for v in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be comma-separated ints, one per Linear layer "
                                         f"(e.g. 10,20), got {text!r}") from None
    if any(v < 0 for v in values):
        raise argparse.ArgumentTypeError(f"must be ints >= 0, got {text!r}")
    return values


def format_matrix(result: ContinualResult) -> str:
    """R as a text table (percent), one row per training stage."""
    n = result.accuracy.shape[0]
    lines = ["after \\ on " + " ".join(f"{j:>6d}" for j in range(n))]
    for i, row in enumerate(result.accuracy):
        lines.append(f"task {i:<6d} " + " ".join("     -" if math.isnan(v) else f"{v:6.1f}"
                                                  for v in row))
    return "\n".join(lines)


def cmd_train_continual(args: argparse.Namespace) -> int:
    """``snn train continual``: run the methods, print R, ACC and BWT, write results.json."""
    import json

    torch.manual_seed(args.seed)
    if args.threads:
        torch.set_num_threads(args.threads)
    tasks = _load_tasks(args.data, args.tasks, args.seed, args.root)
    methods = list(METHODS) if args.method == "all" else [args.method]
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    print(f"{args.data}: {len(tasks)} tasks, {tasks[0].n_features} inputs, "
          f"{sum(len(t.y_train) for t in tasks)} training samples in all")
    results = {}
    for method in methods:
        config = ContinualConfig(
            method=method, training=args.training, hidden=tuple(args.hidden),
            n_steps=args.steps, encoding=args.encoding, epochs=args.epochs,
            batch_size=args.batch_size, lr=args.lr, components=args.components,
            hebbian_lr=args.hebbian_lr, hebbian_iterations=args.hebbian_iterations,
            hebbian_epochs=args.hebbian_epochs, hebbian_anneal=args.hebbian_anneal,
            hebbian_momentum=args.hebbian_momentum, subspace_activity=args.subspace_activity,
            ewc_lambda=args.ewc_lambda, seed=args.seed)
        result = run_continual(tasks, config, progress=not args.no_progress)
        results[method] = result.to_dict()
        bwt = "-" if math.isnan(result.bwt) else f"{result.bwt:.2f}"
        print(f"\n{method} ({args.training}): ACC {result.acc:.2f} %, BWT {bwt} % "
              f"({result.seconds:.1f} s)")
        print(format_matrix(result))
    (out / "results.json").write_text(json.dumps(results, indent=1))
    print(f"\nresults: {out / 'results.json'}")
    return 0


def add_continual_parser(subparsers: Any) -> argparse.ArgumentParser:
    """Add ``continual`` to the sub-parsers of ``snn train`` (with ``func`` set)."""
    parser = subparsers.add_parser(
        "continual", help="continual learning: HLOP and baselines on task sequences",
        description="Train a spiking MLP on a sequence of tasks and report the accuracy matrix, "
                    "ACC and BWT (GEM's definitions). Default: permuted sklearn digits.")
    parser.add_argument("--method", choices=[*METHODS, "all"], default="hlop")
    parser.add_argument("--data", choices=DATA_CHOICES, default="permuted-digits")
    parser.add_argument("--root", default=None,
                        help="folder of MNIST's IDX files (pmnist) or FSDD (split-fsdd; "
                             "default: the embedded sample)")
    parser.add_argument("--tasks", type=_positive_int, default=5,
                        help="number of permuted tasks")
    parser.add_argument("--training", choices=TRAININGS, default="bptt")
    parser.add_argument("--hidden", type=_positive_int, nargs="+", default=[128])
    parser.add_argument("--steps", type=_positive_int, default=20,
                        help="time steps per static sample")
    parser.add_argument("--encoding", choices=ENCODINGS, default="rate")
    parser.add_argument("--epochs", type=_positive_int, default=5, help="epochs per task")
    parser.add_argument("--batch-size", type=_positive_int, default=32)
    parser.add_argument("--lr", type=float, default=0.05, help="SGD learning rate")
    parser.add_argument("--components", type=_components_arg, default=None,
                        help="HLOP subspace neurons added per task, one per Linear layer "
                             "(e.g. 10,20)")
    parser.add_argument("--hebbian-lr", type=float, default=1.0)
    parser.add_argument("--hebbian-iterations", type=_positive_int, default=5)
    parser.add_argument("--hebbian-epochs", type=int, default=2,
                        help="forward-only passes per task end in which the subspaces learn")
    parser.add_argument("--hebbian-anneal", type=float, default=ContinualConfig.hebbian_anneal,
                        help="final / initial Hebbian step over the passes at each task end")
    parser.add_argument("--hebbian-momentum", type=float, default=0.0)
    parser.add_argument("--subspace-activity", choices=ACTIVITIES, default="mean",
                        help="subspaces learn from time-mean activity or every step's")
    parser.add_argument("--ewc-lambda", type=float, default=100.0)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=None)
    parser.add_argument("--out", default="snn_train_continual", help="folder for results.json")
    parser.add_argument("--no-progress", action="store_true", help="hide progress bars")
    parser.set_defaults(func=cmd_train_continual)
    return parser


def demo_continual(args: argparse.Namespace, out: Path) -> None:
    """Demo section: fine-tuning vs HLOP on 3 permuted-digit tasks; prints ACC / BWT and the
    final accuracies, saves ``continual_accuracy.png`` (R as heat maps) into ``out``."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from .cli import save_demo_plot

    seed = int(getattr(args, "seed", 0))
    progress = bool(getattr(args, "progress", False))
    tasks = permuted_tasks_for_demo(seed)
    print(f"\n== continual: spiking MLP 64 -> 128 LIF -> 10 on {len(tasks)} permuted-digit tasks "
          f"(sklearn digits, 20 rate-coded steps), fine-tuning vs HLOP (Hebbian subspaces)")
    results = {}
    for method in ("finetune", "hlop"):
        config = ContinualConfig(method=method, epochs=3, components=(15, 30), seed=seed)
        results[method] = run_continual(tasks, config, progress=progress)
    print(f"{'method':<10} {'ACC %':>7} {'BWT %':>7} {'seconds':>8}")
    for method, res in results.items():
        print(f"{method:<10} {res.acc:7.1f} {res.bwt:7.1f} {res.seconds:8.1f}")
    fig, axes = plt.subplots(1, 2, figsize=(7, 3.2))
    for ax, (method, res) in zip(axes, results.items()):
        image = ax.imshow(res.accuracy, vmin=0, vmax=100, cmap="viridis")
        for (i, j), v in np.ndenumerate(res.accuracy):
            ax.text(j, i, f"{v:.0f}", ha="center", va="center", fontsize=8, color="w")
        ax.set(title=f"{method}: ACC {res.acc:.1f}, BWT {res.bwt:.1f}",
               xlabel="tested on task", ylabel="after training task")
    fig.colorbar(image, ax=axes, shrink=0.8, label="accuracy (%)")
    save_demo_plot(fig, out, "continual_accuracy.png", "accuracy matrices")


def permuted_tasks_for_demo(seed: int) -> list[Task]:
    """Three permuted-digit tasks (the demo's sequence)."""
    from .data import permuted_digits_tasks

    return permuted_digits_tasks(3, seed=seed)
