"""Continual-learning task sequences: permuted and split tasks, from sklearn's 8x8 digits
(shipped with scikit-learn, no download), MNIST IDX files or any labelled arrays.

```python
from snn.data import permuted_digits_tasks, split_digits_tasks, rate_encode

tasks = permuted_digits_tasks(5, seed=0)          # 5 tasks, 64 inputs in [0, 1], 10 classes
x = rate_encode(tasks[0].x_train[:32], 20, generator=0)    # spikes float32 [20, 32, 64]
```

A :class:`Task` holds ``x_train`` / ``x_test`` either static ``[N, D]`` (intensities, to be
encoded as spikes or currents) or time series ``[N, T, D]`` (spike counts), integer labels
``[N]`` and the classes it uses.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

__all__ = [
    "Task",
    "digits_arrays",
    "low_rank",
    "permuted_digits_tasks",
    "permuted_tasks",
    "rate_encode",
    "split_digits_tasks",
    "split_fsdd_tasks",
    "split_tasks",
]


@dataclass(eq=False)
class Task:
    """One task of a sequence: inputs ``x_train`` ``[N, D]`` or ``[N, T, D]`` (float32),
    labels ``y_train`` int64 ``[N]`` (and the same for test), the ``classes`` it uses."""

    name: str
    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    classes: tuple[int, ...]

    @property
    def n_features(self) -> int:
        """D, the input width."""
        return int(self.x_train.shape[-1])


def _check_int(name: str, value: object, low: int) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise TypeError(f"{name} must be an int, got {type(value).__name__}")
    if value < low:
        raise ValueError(f"{name} must be >= {low}, got {value}")
    return int(value)


def digits_arrays(test_fraction: float = 0.25, seed: int = 0
                  ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """sklearn's digits (1,797 images, 8x8) as ``x_train, y_train, x_test, y_test``; ``x``
    float32 ``[N, 64]`` in ``[0, 1]``; a stratified split drawn from ``seed``."""
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    if not 0.0 < test_fraction < 1.0:
        raise ValueError(f"test_fraction must be in (0, 1), got {test_fraction}")
    data = load_digits()
    x = (data.data / 16.0).astype(np.float32)
    y = data.target.astype(np.int64)
    x_tr, x_te, y_tr, y_te = train_test_split(x, y, test_size=test_fraction, random_state=seed,
                                              stratify=y)
    return x_tr, y_tr, x_te, y_te


def low_rank(x_train: np.ndarray, x_test: np.ndarray, rank: int
             ) -> tuple[np.ndarray, np.ndarray]:
    """Both sets reconstructed from the training set's top ``rank`` principal components
    (mean added back), then mapped affinely onto ``[0, 1]`` by the training set's global
    minimum and maximum (test values outside are clipped): training inputs that live exactly
    in a ``rank``-dimensional affine subspace."""
    rank = _check_int("rank", rank, 1)
    if rank > x_train.shape[1]:
        raise ValueError(f"rank must be <= the input width {x_train.shape[1]}, got {rank}")
    mean = x_train.mean(0)
    _, _, vt = np.linalg.svd(x_train - mean, full_matrices=False)
    basis = vt[:rank]
    rebuilt_train = (x_train - mean) @ basis.T @ basis + mean
    low, high = float(rebuilt_train.min()), float(rebuilt_train.max())

    def rescale(x):
        # An affine map keeps the subspace; clipping would not.
        return np.clip((x - low) / (high - low), 0.0, 1.0).astype(np.float32)

    return rescale(rebuilt_train), rescale((x_test - mean) @ basis.T @ basis + mean)


def permuted_tasks(x_train: np.ndarray, y_train: np.ndarray, x_test: np.ndarray,
                   y_test: np.ndarray, n_tasks: int, seed: int = 0,
                   identity_first: bool = True, name: str = "permuted") -> list[Task]:
    """``n_tasks`` tasks, each the same data with the input features (last axis) shuffled by
    its own permutation drawn from ``seed`` (task 0 unpermuted if ``identity_first``)."""
    n_tasks = _check_int("n_tasks", n_tasks, 1)
    if x_train.shape[-1] != x_test.shape[-1]:
        raise ValueError(f"x_train and x_test must have the same width, got "
                         f"{x_train.shape[-1]} and {x_test.shape[-1]}")
    rng = np.random.default_rng(seed)
    classes = tuple(int(c) for c in np.unique(y_train))
    tasks = []
    for i in range(n_tasks):
        perm = (np.arange(x_train.shape[-1]) if i == 0 and identity_first
                else rng.permutation(x_train.shape[-1]))
        tasks.append(Task(f"{name} {i}", np.ascontiguousarray(x_train[..., perm]),
                          y_train.astype(np.int64), np.ascontiguousarray(x_test[..., perm]),
                          y_test.astype(np.int64), classes))
    return tasks


def split_tasks(x_train: np.ndarray, y_train: np.ndarray, x_test: np.ndarray,
                y_test: np.ndarray, classes_per_task: int = 2, name: str = "split"
                ) -> list[Task]:
    """Tasks of consecutive classes (``0/1, 2/3, ...`` for 2 per task); labels keep their
    global values.  The classes must divide evenly."""
    classes_per_task = _check_int("classes_per_task", classes_per_task, 1)
    classes = np.unique(y_train)
    if classes.size % classes_per_task:
        raise ValueError(f"classes_per_task must divide the {classes.size} classes, got "
                         f"{classes_per_task}")
    tasks = []
    for start in range(0, classes.size, classes_per_task):
        group = classes[start:start + classes_per_task]
        tr, te = np.isin(y_train, group), np.isin(y_test, group)
        label = "/".join(str(int(c)) for c in group)
        tasks.append(Task(f"{name} {label}", x_train[tr], y_train[tr].astype(np.int64),
                          x_test[te], y_test[te].astype(np.int64),
                          tuple(int(c) for c in group)))
    return tasks


def permuted_digits_tasks(n_tasks: int = 5, seed: int = 0, rank: int | None = None,
                          test_fraction: float = 0.25) -> list[Task]:
    """Permuted digits: ``n_tasks`` pixel permutations of sklearn's digits (64 inputs in
    ``[0, 1]``, 10 classes, 1,347 train / 450 test images).  ``rank`` (optional): inputs
    first reduced to their top ``rank`` principal components (the low-rank variant)."""
    x_tr, y_tr, x_te, y_te = digits_arrays(test_fraction, seed)
    if rank is not None:
        x_tr, x_te = low_rank(x_tr, x_te, rank)
    label = "permuted digits" if rank is None else f"permuted digits rank {rank}"
    return permuted_tasks(x_tr, y_tr, x_te, y_te, n_tasks, seed=seed, name=label)


def split_digits_tasks(classes_per_task: int = 2, seed: int = 0,
                       test_fraction: float = 0.25) -> list[Task]:
    """Split digits: sklearn's digits in tasks of ``classes_per_task`` consecutive classes."""
    x_tr, y_tr, x_te, y_te = digits_arrays(test_fraction, seed)
    return split_tasks(x_tr, y_tr, x_te, y_te, classes_per_task, name="split digits")


def rate_encode(x: np.ndarray | Sequence[float], n_steps: int, generator=None):
    """Bernoulli rate code: ``x`` ``[B, D]`` intensities in ``[0, 1]`` -> spikes float32
    ``[n_steps, B, D]`` (torch), each step a spike with probability ``x``.  ``generator``: a
    ``torch.Generator`` or an int seed."""
    import torch

    n_steps = _check_int("n_steps", n_steps, 1)
    x = torch.as_tensor(np.asarray(x, dtype=np.float32))
    if x.ndim != 2:
        raise ValueError(f"x must have shape [B, D], got {tuple(x.shape)}")
    if x.numel() and (float(x.min()) < 0 or float(x.max()) > 1):
        raise ValueError("x must hold intensities in [0, 1]")
    if generator is None or isinstance(generator, (int, np.integer)):
        generator = torch.Generator().manual_seed(int(generator or 0))
    draws = torch.rand((n_steps, *x.shape), generator=generator)
    return (draws < x).float()


def split_fsdd_tasks(root=None, classes_per_task: int = 2, dt: float = 0.02,
                     max_time: float = 1.0, pool: int = 1) -> list[Task]:
    """Split FSDD: the Free Spoken Digit Dataset as spikes (:func:`snn.data.load_fsdd` on
    ``root``, or the embedded sample if ``root`` is None), binned in ``dt`` (s) up to
    ``max_time`` (s), in tasks of ``classes_per_task`` digits; ``x`` float32 spike counts
    ``[N, T, C]``."""
    from .binning import bin_spikes
    from .fsdd import load_fsdd, load_sample

    if root is None:
        train, test = load_sample("train"), load_sample("test")
    else:
        train = load_fsdd(root, "train", progress=False)
        test = load_fsdd(root, "test", progress=False)
    btr = bin_spikes(train, dt, max_time=max_time, pool=pool)
    bte = bin_spikes(test, dt, max_time=max_time, pool=pool)
    return split_tasks(btr.counts.astype(np.float32), btr.labels, bte.counts.astype(np.float32),
                       bte.labels, classes_per_task, name="split FSDD")
