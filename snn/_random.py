"""Explicit random generators: one helper that turns a seed argument into a generator."""

from __future__ import annotations

import numpy as np


def numpy_generator(seed: int | np.random.Generator | None,
                    name: str = "seed") -> np.random.Generator:
    """``seed`` itself if it is a ``numpy.random.Generator``, else a new generator seeded
    with it (an int, or None for fresh entropy); anything else is a ``TypeError`` naming
    ``name``."""
    if isinstance(seed, np.random.Generator):
        return seed
    if seed is None or (isinstance(seed, (int, np.integer)) and not isinstance(seed, bool)):
        return np.random.default_rng(seed)
    raise TypeError(f"{name} must be an int, None or a numpy.random.Generator, got "
                    f"{type(seed).__name__}")
