"""The Yin-Yang data set (Kriener, Göltz & Petrovici 2021), generated from its description.

Points ``(x, y)`` are drawn uniformly in the square ``[0, 2 r_big]^2`` and kept inside the
circle of radius ``r_big`` around ``(r_big, r_big)``; the class of a point is ``dot`` (2)
within ``r_small`` of either eye, ``(1.5 r_big, r_big)`` or ``(0.5 r_big, r_big)``; else
``yin`` (1) when it lies within ``r_small`` of the right eye, or between ``r_small`` and
``r_big / 2`` of the left eye, or above the centre line and more than ``r_big / 2`` from the
right eye; else ``yang`` (0).  Classes are balanced by rejection sampling: each sample
first draws its wanted class, then draws points until one has it.  A sample is
``(x, y, 1 - x, 1 - y)``: the mirrored pair gives every input the same mean.

The published splits are 5,000 training samples (seed 42), 1,000 validation (seed 41) and
1,000 test (seed 40), drawn with numpy's legacy ``RandomState`` stream in this order of
calls; an int seed here uses that stream, so the splits come out as published.

```python
from snn.data import yin_yang, yin_yang_splits

x, labels = yin_yang(10, rng=42)        # x float64 [10, 4], labels int64 [10]
splits = yin_yang_splits()              # {"train": (x, y), "validation": ..., "test": ...}
```
"""

from __future__ import annotations

import numpy as np

from ..validation import check_int, check_positive

__all__ = ["YIN_YANG_SPLITS", "yin_yang", "yin_yang_class", "yin_yang_splits"]

#: The published splits: name -> (number of samples, seed).
YIN_YANG_SPLITS = {"train": (5000, 42), "validation": (1000, 41), "test": (1000, 40)}


def yin_yang_class(x: np.ndarray, y: np.ndarray, r_small: float = 0.1,
                   r_big: float = 0.5) -> np.ndarray:
    """The class of each point: 0 yang, 1 yin, 2 dot (the module docstring's rule).

    Args:
        x: first coordinates ``[n]`` (any shape, broadcast with ``y``).
        y: second coordinates ``[n]``.
        r_small: radius of the eyes (> 0).
        r_big: radius of the whole symbol (> 0).

    Returns:
        int64 classes of the broadcast shape.
    """
    x, y = np.asarray(x, np.float64), np.asarray(y, np.float64)
    d_right = np.hypot(x - 1.5 * r_big, y - r_big)
    d_left = np.hypot(x - 0.5 * r_big, y - r_big)
    is_yin = (d_right <= r_small) | ((d_left > r_small) & (d_left <= 0.5 * r_big)) | \
        ((y > r_big) & (d_right > 0.5 * r_big))
    is_dot = (d_right < r_small) | (d_left < r_small)
    return np.where(is_dot, 2, is_yin.astype(np.int64)).astype(np.int64)


def yin_yang(n_samples: int, rng: int | np.random.RandomState | np.random.Generator = 42,
             r_small: float = 0.1, r_big: float = 0.5) -> tuple[np.ndarray, np.ndarray]:
    """``n_samples`` balanced Yin-Yang samples by rejection sampling.

    Args:
        n_samples: number of samples (>= 1).
        rng: an int seed (numpy's legacy ``RandomState`` stream, the published generator's),
            a ``numpy.random.RandomState`` or a ``numpy.random.Generator`` (its own
            stream: other samples than the published ones).
        r_small: radius of the eyes (> 0, < r_big / 2).
        r_big: radius of the symbol (> 0).

    Returns:
        ``(x, labels)``: ``x`` float64 ``[n_samples, 4]`` = ``(x, y, 1 - x, 1 - y)`` with
        ``x, y`` in ``[0, 2 r_big]``; ``labels`` int64 ``[n_samples]`` in ``{0, 1, 2}``.
    """
    n_samples = check_int("n_samples", n_samples, minimum=1)
    r_small = check_positive("r_small", r_small)
    r_big = check_positive("r_big", r_big)
    if not r_small < 0.5 * r_big:
        raise ValueError(f"r_small must be < r_big / 2 ({0.5 * r_big}), got {r_small}")
    if isinstance(rng, np.random.Generator):
        def draw_class():
            return int(rng.integers(3))

        def draw_point():
            return rng.random(2)
    else:
        if isinstance(rng, np.random.RandomState):
            state = rng
        elif isinstance(rng, (bool, np.bool_)) or not isinstance(rng, (int, np.integer)):
            raise TypeError(f"rng must be an int seed, a numpy.random.RandomState or a "
                            f"numpy.random.Generator, got {type(rng).__name__}")
        else:
            state = np.random.RandomState(check_int("rng", rng, minimum=0))

        def draw_class():
            return int(state.randint(3))

        def draw_point():
            return state.rand(2)
    points = np.empty((n_samples, 2))
    labels = np.empty(n_samples, dtype=np.int64)
    centre = r_big
    for i in range(n_samples):
        goal = draw_class()
        while True:
            x, y = draw_point() * 2.0 * r_big
            if np.hypot(x - centre, y - centre) > r_big:
                continue
            if int(yin_yang_class(x, y, r_small, r_big)) == goal:
                break
        points[i] = x, y
        labels[i] = goal
    return np.concatenate([points, 1.0 - points], axis=1), labels


def yin_yang_splits() -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """The published training, validation and test splits (:data:`YIN_YANG_SPLITS`).

    Returns:
        ``{"train": (x, labels), "validation": ..., "test": ...}`` as :func:`yin_yang`
        returns them (5,000 / 1,000 / 1,000 samples).
    """
    return {name: yin_yang(n, rng=seed) for name, (n, seed) in YIN_YANG_SPLITS.items()}
