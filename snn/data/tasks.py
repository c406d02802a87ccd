"""Continual-learning task sequences: permuted and split tasks, from sklearn's 8x8 digits
(shipped with scikit-learn, no download), MNIST IDX files or any labelled arrays.

```python
from snn.data import permuted_digits_tasks, split_digits_tasks, rate_encode

tasks = permuted_digits_tasks(5, rng=0)           # 5 tasks, 64 inputs in [0, 1], 10 classes
x = rate_encode(tasks[0].x_train[:32], 20, rng=0)  # spikes float32 [20, 32, 64]
```

A :class:`Task` holds ``x_train`` / ``x_test`` either static ``[N, D]`` (intensities, to be
encoded as spikes or currents) or time series ``[N, T, D]`` (spike counts), integer labels
``[N]`` and the classes it uses.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from .._random import int_seed, numpy_generator
from ..validation import check_array, check_choice, check_int, check_real

if TYPE_CHECKING:  # pragma: no cover
    from .spikes import SpikeDataset

__all__ = [
    "Task",
    "digits_arrays",
    "digits_events",
    "low_rank",
    "permuted_digits_tasks",
    "permuted_tasks",
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


def digits_arrays(test_fraction: float = 0.25, rng: int | np.random.Generator | None = 0
                  ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """sklearn's digits (1,797 images, 8x8) in a stratified train/test split.

    Args:
        test_fraction: share of the images in the test split, in (0, 1).
        rng: draws the split: an int seed (passed to scikit-learn as ``random_state``), or a
            ``numpy.random.Generator`` / None from which one such seed is drawn.

    Returns:
        ``x_train, y_train, x_test, y_test``: ``x`` float32 ``[N, 64]`` in ``[0, 1]``,
        ``y`` int64 ``[N]``.
    """
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    test_fraction = check_real("test_fraction", test_fraction, minimum=0.0,
                               exclusive_minimum=True, maximum=1.0)
    if test_fraction == 1.0:
        raise ValueError("test_fraction must be < 1, got 1.0")
    data = load_digits()
    x = (data.data / 16.0).astype(np.float32)
    y = data.target.astype(np.int64)
    # scikit-learn takes an int below 2**32 (or its own RandomState), not a Generator.
    seed = int_seed(rng) % 2**32
    x_tr, x_te, y_tr, y_te = train_test_split(x, y, test_size=test_fraction, random_state=seed,
                                              stratify=y)
    return x_tr, y_tr, x_te, y_te


def low_rank(x_train: np.ndarray, x_test: np.ndarray, rank: int
             ) -> tuple[np.ndarray, np.ndarray]:
    """Both sets reconstructed from the training set's top ``rank`` principal components
    (mean added back), then mapped affinely onto ``[0, 1]`` by the training set's global
    minimum and maximum (test values outside are clipped): training inputs that live exactly
    in a ``rank``-dimensional affine subspace.

    Args:
        x_train: ``[N, D]``; x_test: ``[M, D]``.
        rank: components kept, in ``[1, D]``.

    Returns:
        ``(x_train, x_test)`` rebuilt, float32, same shapes.
    """
    x_train = check_array("x_train", x_train, ndim=2, kind="biuf")
    x_test = check_array("x_test", x_test, shape=(None, x_train.shape[1]), kind="biuf")
    rank = check_int("rank", rank, minimum=1)
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
                   y_test: np.ndarray, n_tasks: int,
                   rng: int | np.random.Generator | None = 0,
                   identity_first: bool = True, name: str = "permuted") -> list[Task]:
    """``n_tasks`` tasks, each the same data with the input features (last axis) shuffled by
    its own permutation.

    Args:
        x_train: training inputs ``[N, D]`` or ``[N, T, D]``.
        y_train: their integer labels ``[N]``.
        x_test: test inputs of the same width ``D``.
        y_test: their integer labels.
        n_tasks: tasks (>= 1).
        rng: draws the permutations: an int seed, a ``numpy.random.Generator`` or None.
        identity_first: task 0 keeps the features in order.
        name: prefix of the task names.

    Returns:
        A list of ``n_tasks`` :class:`Task`.
    """
    n_tasks = check_int("n_tasks", n_tasks, minimum=1)
    x_train = check_array("x_train", x_train, kind="biuf")
    x_test = check_array("x_test", x_test, kind="biuf")
    y_train = check_array("y_train", y_train, shape=(x_train.shape[0],), kind="iu")
    y_test = check_array("y_test", y_test, shape=(x_test.shape[0],), kind="iu")
    if x_train.shape[-1] != x_test.shape[-1]:
        raise ValueError(f"x_train and x_test must have the same width, got "
                         f"{x_train.shape[-1]} and {x_test.shape[-1]}")
    rng = numpy_generator(rng)
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
    global values.

    Args:
        x_train: training inputs ``[N, D]`` or ``[N, T, D]``.
        y_train: their integer labels ``[N]``.
        x_test: test inputs.
        y_test: their integer labels.
        classes_per_task: classes per task (>= 1); it must divide the number of classes.
        name: prefix of the task names.

    Returns:
        A list of :class:`Task`, one per group of classes.
    """
    classes_per_task = check_int("classes_per_task", classes_per_task, minimum=1)
    y_train = check_array("y_train", y_train, shape=(len(x_train),), kind="iu")
    y_test = check_array("y_test", y_test, shape=(len(x_test),), kind="iu")
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


def permuted_digits_tasks(n_tasks: int = 5, rng: int | np.random.Generator | None = 0,
                          rank: int | None = None, test_fraction: float = 0.25) -> list[Task]:
    """Permuted digits: ``n_tasks`` pixel permutations of sklearn's digits (64 inputs in
    ``[0, 1]``, 10 classes, 1,347 train / 450 test images).

    Args:
        n_tasks: tasks (>= 1).
        rng: draws the split, then the permutations: an int seed (used for both), a
            ``numpy.random.Generator`` (drawn on in that order) or None.
        rank: inputs first reduced to their top ``rank`` principal components (the low-rank
            variant); None keeps them.
        test_fraction: share of the images in the test split.

    Returns:
        A list of ``n_tasks`` :class:`Task`, ``x`` float32 ``[N, 64]``.
    """
    x_tr, y_tr, x_te, y_te = digits_arrays(test_fraction, rng)
    if rank is not None:
        x_tr, x_te = low_rank(x_tr, x_te, rank)
    label = "permuted digits" if rank is None else f"permuted digits rank {rank}"
    return permuted_tasks(x_tr, y_tr, x_te, y_te, n_tasks, rng=rng, name=label)


def split_digits_tasks(classes_per_task: int = 2, rng: int | np.random.Generator | None = 0,
                       test_fraction: float = 0.25) -> list[Task]:
    """Split digits: sklearn's digits in tasks of ``classes_per_task`` consecutive classes.

    Args:
        classes_per_task: classes per task (it must divide 10).
        rng: draws the train/test split (as in :func:`digits_arrays`).
        test_fraction: share of the images in the test split.

    Returns:
        A list of :class:`Task`, ``x`` float32 ``[N, 64]``.
    """
    x_tr, y_tr, x_te, y_te = digits_arrays(test_fraction, rng)
    return split_tasks(x_tr, y_tr, x_te, y_te, classes_per_task, name="split digits")


def split_fsdd_tasks(root: str | os.PathLike | None = None, classes_per_task: int = 2,
                     dt: float = 0.02, max_time: float = 1.0, pool: int = 1) -> list[Task]:
    """Split FSDD: the Free Spoken Digit Dataset as spikes (:func:`snn.data.load_fsdd` on
    ``root``, or the embedded sample if ``root`` is None), binned in ``dt`` (s) up to
    ``max_time`` (s), in tasks of ``classes_per_task`` digits.

    Args:
        root: folder of the FSDD recordings, or None for the embedded sample.
        classes_per_task: digits per task.
        dt: bin width (s).
        max_time: binned duration (s).
        pool: adjacent channels summed into one.

    Returns:
        A list of :class:`Task`, ``x`` float32 spike counts ``[N, T, C]``.
    """
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


def digits_events(split: str = "train", *, test_fraction: float = 0.25,
                  rng: int | np.random.Generator | None = 0, **coding: Any) -> SpikeDataset:
    """sklearn's digits as events over 64 channels (a saccade-free N-MNIST).

    Args:
        split: ``"train"`` or ``"test"`` of the stratified split of :func:`digits_arrays`.
        test_fraction: share of the images in the test split.
        rng: draws the split (as in :func:`digits_arrays`), then the coding's random draws:
            an int seed (used for both), a ``numpy.random.Generator`` (drawn on in that
            order) or None.
        **coding: keyword arguments of :func:`snn.data.encoders.images_to_events`
            (``duration``, ``coding``, ``jitter``, ...).

    Returns:
        A :class:`~snn.data.SpikeDataset`, 10 classes, times in seconds.
    """
    from .encoders import images_to_events

    check_choice("split", split, ("train", "test"))
    x_tr, y_tr, x_te, y_te = digits_arrays(test_fraction, rng)
    x, y = (x_tr, y_tr) if split == "train" else (x_te, y_te)
    return images_to_events(x, y, n_classes=10, rng=rng, **coding)
