"""The continual-learning harness: settings, the training loop over a task sequence (HLOP with
rate or spiking lateral neurons, its exact-PCA variant, GPM, replay, HLOP with replay,
fine-tuning, EWC, the multitask bound), on a spiking MLP or convolutional network, and the
ACC / BWT metrics."""

from __future__ import annotations

import math
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import torch
from torch import nn

from ..data.tasks import Task
from ..distributed_training import (
    DistributedContext,
    average_gradients,
    check_global_batch,
    gather_samples,
    init_distributed,
    shard_batches,
)
from ..validation import check_choice, check_int, check_nonnegative, check_positive, check_real
from .model import SpikingConvNet, SpikingMLP
from .subspaces import (
    GPMSubspace,
    HebbianSubspace,
    PCASubspace,
    ProjectedOptimizer,
    SpikingHebbianSubspace,
    _Subspace,
)

__all__ = ["ACTIVITIES", "ARCHITECTURES", "ENCODINGS", "METHODS", "TRAININGS",
           "ContinualConfig", "ContinualResult", "continual_metrics", "run_continual"]

METHODS = ("hlop", "hlop-spiking", "hlop-pca", "gpm", "replay", "hlop-replay", "finetune",
           "ewc", "multitask")
ARCHITECTURES = ("mlp", "conv")
_PROJECTION_METHODS = ("hlop", "hlop-spiking", "hlop-pca", "gpm", "hlop-replay")
_REPLAY_METHODS = ("replay", "hlop-replay")
TRAININGS = ("bptt", "online")
ENCODINGS = ("rate", "current")
ACTIVITIES = ("step", "mean")


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

    ``architecture``: ``"mlp"`` (:class:`SpikingMLP` with ``hidden``) or ``"conv"``
    (:class:`SpikingConvNet` with ``channels`` and ``kernel_size`` on inputs of
    ``input_shape``, ``(C, H, W)`` or ``(C, L)``; None: ``(1, D)`` for time-series tasks
    ``[N, T, D]``); HLOP and GPM then work on each convolution's unfolded input patches
    (BPTT only).  ``method`` ``"hlop-spiking"``: HLOP with spiking lateral neurons
    (:class:`SpikingHebbianSubspace`, ``lateral_steps`` steps, rate ``lateral_scale``);
    ``"gpm"``: gradient projection memory (:class:`GPMSubspace`, ``gpm_threshold``,
    ``gpm_threshold_step``); ``"replay"``: fine-tuning with a replay buffer of
    ``replay_per_task`` training samples of each finished task, ``replay_batch`` of them
    drawn into every batch; ``"hlop-replay"``: HLOP with that buffer (the replayed samples'
    gradients are projected too).
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
    architecture: str = "mlp"
    channels: tuple[int, ...] = (8, 16)
    kernel_size: int = 3
    input_shape: tuple[int, ...] | None = None
    lateral_steps: int = 1000
    lateral_scale: float = 20.0
    gpm_threshold: float = 0.97
    gpm_threshold_step: float = 0.003
    replay_per_task: int = 20
    replay_batch: int = 8
    seed: int = 0

    def __post_init__(self) -> None:
        check_choice("method", self.method, METHODS)
        check_choice("training", self.training, TRAININGS)
        check_choice("subspace_activity", self.subspace_activity, ACTIVITIES)
        check_choice("encoding", self.encoding, ENCODINGS)
        check_choice("architecture", self.architecture, ARCHITECTURES)
        if self.architecture == "conv":
            if self.training != "bptt":
                raise ValueError("architecture 'conv' trains by BPTT only: set training='bptt'")
            if not isinstance(self.channels, tuple) or not self.channels:
                raise TypeError(f"channels must be a non-empty tuple of ints, got "
                                f"{self.channels!r}")
            for c in self.channels:
                check_int("channels", c, minimum=1)
            if check_int("kernel_size", self.kernel_size, minimum=1) % 2 == 0:
                raise ValueError(f"kernel_size must be odd, got {self.kernel_size}")
            if self.input_shape is not None and (not isinstance(self.input_shape, tuple)
                                                 or len(self.input_shape) not in (2, 3)):
                raise ValueError(f"input_shape must be (C, L) or (C, H, W), got "
                                 f"{self.input_shape!r}")
        for name in ("lateral_steps", "replay_batch"):
            check_int(name, getattr(self, name), minimum=1)
        check_int("replay_per_task", self.replay_per_task, minimum=0)
        check_positive("lateral_scale", self.lateral_scale)
        check_real("gpm_threshold", self.gpm_threshold, minimum=0.0, exclusive_minimum=True,
                   maximum=1.0)
        check_nonnegative("gpm_threshold_step", self.gpm_threshold_step)
        if not isinstance(self.hidden, tuple) or not self.hidden:
            raise TypeError(f"hidden must be a non-empty tuple of ints, got {self.hidden!r}")
        for h in self.hidden:
            check_int("hidden", h, minimum=1)
        for name in ("n_steps", "epochs", "batch_size", "hebbian_iterations", "fisher_samples"):
            check_int(name, getattr(self, name), minimum=1)
        check_int("hebbian_epochs", self.hebbian_epochs, minimum=0)
        check_int("seed", self.seed, minimum=0)
        for name in ("lr", "hebbian_lr", "threshold"):
            check_positive(name, getattr(self, name))
        for name in ("momentum", "beta", "ewc_lambda"):
            check_nonnegative(name, getattr(self, name))
        check_real("hebbian_anneal", self.hebbian_anneal, minimum=0.0, exclusive_minimum=True,
                   maximum=1.0)
        if check_nonnegative("hebbian_momentum", self.hebbian_momentum) >= 1:
            raise ValueError(f"hebbian_momentum must be in [0, 1), got {self.hebbian_momentum}")
        if self.components is not None:
            n_layers = (len(self.hidden) if self.architecture == "mlp" else len(self.channels)) + 1
            if not isinstance(self.components, tuple) or len(self.components) != n_layers:
                raise ValueError(f"components must be a tuple of {n_layers} ints "
                                 f"(one per weighted layer), got {self.components!r}")
            for k in self.components:
                check_int("components", k, minimum=0)


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
        """The results as JSON-ready values (NaN as None; without the model and subspaces)."""
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


def _evaluate(model: SpikingMLP | SpikingConvNet, task: Task, n_classes: int, encode: _Batcher,
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

    def consolidate(self, model: nn.Module, task: Task, n_classes: int, encode: _Batcher,
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


class _Replay:
    """A replay buffer: ``replay_per_task`` training samples of each finished task (drawn
    without replacement), ``replay_batch`` of them appended to every batch of later tasks,
    each scored on its own task's classes."""

    def __init__(self, config: ContinualConfig, n_classes: int) -> None:
        self.config = config
        self.n_classes = n_classes
        self.x: list[np.ndarray] = []
        self.y: list[np.ndarray] = []
        self.masks: list[torch.Tensor] = []

    @property
    def size(self) -> int:
        return sum(len(y) for y in self.y)

    def store(self, task: Task, rng: np.random.Generator) -> None:
        pick = rng.permutation(len(task.y_train))[:self.config.replay_per_task]
        if len(pick):
            self.x.append(task.x_train[pick])
            self.y.append(task.y_train[pick])
            self.masks.append(_class_mask(task.classes, self.n_classes).expand(len(pick), -1))

    def mix(self, x: np.ndarray, y: np.ndarray, mask: torch.Tensor,
            rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray, torch.Tensor]:
        xs, ys, ms = np.concatenate(self.x), np.concatenate(self.y), torch.cat(self.masks)
        pick = rng.choice(len(ys), size=min(self.config.replay_batch, len(ys)), replace=False)
        return (np.concatenate([x, xs[pick]]), np.concatenate([y, ys[pick]]),
                torch.cat([mask, ms[torch.from_numpy(pick)]]))


def _leading_rows(activity: torch.Tensor, n_new: int, n_all: int, n_steps: int,
                  per_step: bool) -> torch.Tensor:
    """The rows of a batch's activity that belong to its first ``n_new`` samples (rows are
    grouped [steps,] samples, positions)."""
    if per_step:
        rows_per_sample = activity.shape[0] // (n_all * n_steps)
        view = activity.reshape(n_steps, n_all, rows_per_sample, -1)
        return view[:, :n_new].reshape(-1, activity.shape[1])
    rows_per_sample = activity.shape[0] // n_all
    return activity[:n_new * rows_per_sample]


def run_continual(tasks: Sequence[Task], config: ContinualConfig | None = None,
                  progress: bool = False) -> ContinualResult:
    """Train a :class:`SpikingMLP` on ``tasks`` in order with ``config.method`` and measure
    the accuracy matrix R (percent) after each task.  Logits are restricted to each task's
    classes (task-incremental for split tasks; all classes for permuted ones).

    Under ``torchrun --nproc-per-node N`` (:mod:`snn.distributed_training`) the gradient
    steps are data-parallel: every process encodes the same global batch (one shared
    generator), trains on its consecutive share, and the gradients are averaged explicitly
    (the OTTT loss does not come from ``forward``, where DDP would arm its hooks); the
    subspaces observe the activity of the whole global batch, gathered from the processes,
    so that every process holds the same model and subspaces as one process would.  The
    forward-only subspace passes, EWC's Fisher and the evaluations run whole on every
    process (identical results; only rank 0 shows progress)."""
    config = ContinualConfig() if config is None else config
    if not isinstance(config, ContinualConfig):
        raise TypeError(f"config must be a ContinualConfig, got {type(config).__name__}")
    n_in, n_classes = _check_tasks(tasks)
    context = init_distributed("cpu")  # stays open for later trainings (init_distributed)
    return _run_continual(tasks, config, progress, context, n_in, n_classes)


def _run_continual(tasks: Sequence[Task], config: ContinualConfig, progress: bool,
                   context: DistributedContext, n_in: int, n_classes: int) -> ContinualResult:
    rng = np.random.default_rng(config.seed)
    generator = torch.Generator().manual_seed(config.seed)
    model: SpikingMLP | SpikingConvNet
    if config.architecture == "conv":
        shape = config.input_shape
        if shape is None:
            if tasks[0].x_train.ndim != 3:
                raise ValueError("input_shape is needed for a convolutional network on static "
                                 "inputs [N, D], e.g. (1, 8, 8) for the digits")
            shape = (1, n_in)
        if int(np.prod(shape)) != n_in:
            raise ValueError(f"input_shape {tuple(shape)} holds {int(np.prod(shape))} values "
                             f"but the tasks have {n_in} features")
        model = SpikingConvNet(shape, config.channels, n_classes, config.kernel_size,
                               config.beta, config.threshold, config.seed)
        weighted = model.layers
        widths = model.input_widths
    else:
        model = SpikingMLP(n_in, config.hidden, n_classes, config.beta, config.threshold,
                           config.seed)
        weighted = list(model.linears)
        widths = [n_in, *config.hidden]
    components = _components(config, widths, len(tasks))
    encode = _Batcher(config, generator)
    eval_seed = config.seed + 1_000_003

    def evaluate_all() -> list[float]:
        # The same spike draws at every evaluation, so that R's entries compare.
        ev = _Batcher(config, torch.Generator().manual_seed(eval_seed))
        return [_evaluate(model, task, n_classes, ev) for task in tasks]

    subspaces: list[_Subspace] | None = None
    if config.method in ("hlop", "hlop-replay"):
        subspaces = [HebbianSubspace(w, config.hebbian_lr, config.hebbian_iterations,
                                     torch.Generator().manual_seed(config.seed + 17 + i),
                                     config.hebbian_momentum)
                     for i, w in enumerate(widths)]
    elif config.method == "hlop-spiking":
        subspaces = [SpikingHebbianSubspace(w, config.hebbian_lr, config.hebbian_iterations,
                                            torch.Generator().manual_seed(config.seed + 17 + i),
                                            config.hebbian_momentum, config.lateral_steps,
                                            config.lateral_scale)
                     for i, w in enumerate(widths)]
    elif config.method == "hlop-pca":
        subspaces = [PCASubspace(w) for w in widths]
    elif config.method == "gpm":
        subspaces = [GPMSubspace(w, config.gpm_threshold, config.gpm_threshold_step)
                     for w in widths]
    ewc = _EWC(config.ewc_lambda) if config.method == "ewc" else None
    per_step = config.subspace_activity == "step"
    replay = _Replay(config, n_classes) if config.method in _REPLAY_METHODS else None

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
               disable=not (progress and context.is_main))
    for stage, members in enumerate(stages):
        x_all = np.concatenate([tasks[i].x_train for i in members])
        y_all = np.concatenate([tasks[i].y_train for i in members])
        masks = torch.stack([_class_mask(tasks[i].classes, n_classes) for i in members])
        owner = np.concatenate([np.full(len(tasks[i].y_train), j)
                                for j, i in enumerate(members)])
        check_global_batch(config.batch_size, len(y_all), context, "ContinualConfig.batch_size")
        if subspaces is not None:
            for subspace, k in zip(subspaces, components):
                if isinstance(subspace, GPMSubspace):
                    # GPM's threshold decides how many directions a task adds.
                    k = subspace.n_features - subspace.size
                subspace.grow(k)
        optimizer: Any = torch.optim.SGD(model.parameters(), lr=config.lr,
                                         momentum=config.momentum)
        if subspaces is not None and config.training == "bptt":
            optimizer = ProjectedOptimizer(
                optimizer, [(lin.weight, s) for lin, s in zip(weighted, subspaces)])
        for _ in range(epochs):
            order = rng.permutation(len(y_all))
            for begin in range(0, len(order), config.batch_size):
                idx = order[begin:begin + config.batch_size]
                x_np, y_np = x_all[idx], y_all[idx]
                mask = masks[torch.from_numpy(owner[idx])]
                if replay is not None and replay.size:
                    x_np, y_np, mask = replay.mix(x_np, y_np, mask, rng)
                # The whole global batch is encoded (the same draws on every process); each
                # process trains on its consecutive share of it.
                shard = next(shard_batches([(encode(x_np), torch.from_numpy(y_np))], context))
                x, y = shard.x, shard.y
                mask = mask[shard.start:shard.start + len(y)]
                optimizer.zero_grad()
                if config.training == "online":
                    loss, inputs = model.online_loss(x, mask, y, subspaces, per_step)
                else:
                    logits, inputs = model(x, return_inputs=True, per_step=per_step)
                    loss = nn.functional.cross_entropy(logits.masked_fill(~mask, -1e9), y)
                if shard.loss_scale != 1.0:
                    loss = loss * shard.loss_scale
                if ewc is not None and ewc.anchors:
                    loss = loss + ewc.penalty(model)
                loss.backward()
                average_gradients(model, context)
                optimizer.step()
                if subspaces is not None:
                    n_new = len(idx)
                    if context.distributed:
                        inputs = [gather_samples(a, len(y), context,
                                                 x.shape[0] if per_step else 1)
                                  for a in inputs]
                    for subspace, activity in zip(subspaces, inputs):
                        # The subspaces learn the current task's activity (replayed samples
                        # come last in the batch and belong to older subspaces).
                        subspace.observe(activity if replay is None or replay.size == 0
                                         else _leading_rows(activity, n_new, len(y_np),
                                                            x.shape[0], per_step))
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
        if replay is not None:
            replay.store(tasks[members[0]], rng)
        row = n_tasks - 1 if config.method == "multitask" else stage
        accuracy[row] = evaluate_all()
    bar.close()
    seconds = time.perf_counter() - start_time
    acc, bwt = continual_metrics(accuracy)
    return ContinualResult(accuracy, acc, bwt, [t.name for t in tasks], seconds,
                           [s.size for s in subspaces] if subspaces is not None else [],
                           {**asdict(config), "components": list(components)}, model,
                           subspaces)
