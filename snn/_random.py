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


def torch_generator(rng, name: str = "rng"):
    """A ``torch.Generator`` from ``rng``: a Generator (used as is), an int seed, or None (a
    new generator seeded from fresh entropy; torch's global generator is never touched)."""
    import torch

    if isinstance(rng, torch.Generator):
        return rng
    if rng is None:
        generator = torch.Generator()
        generator.seed()
        return generator
    if isinstance(rng, (int, np.integer)) and not isinstance(rng, bool):
        return torch.Generator().manual_seed(int(rng))
    raise TypeError(f"{name} must be an int seed, None or a torch.Generator, got "
                    f"{type(rng).__name__}")


def make_linear(n_in: int, n_out: int, generator, *, bias: bool = True, dtype=None):
    """A ``torch.nn.Linear(n_in, n_out)`` whose weight and bias are drawn from ``generator``
    (a ``torch.Generator``) with the distributions of ``Linear.reset_parameters``: equal to
    the layer ``torch.manual_seed(s)`` would give when ``generator`` is seeded with ``s``,
    and torch's global generator is neither used nor advanced."""
    import math

    import torch

    # Built on the meta device, where the constructor's own initialisation draws nothing.
    linear = torch.nn.Linear(n_in, n_out, bias=bias, device="meta", dtype=dtype)
    linear = linear.to_empty(device="cpu")
    with torch.no_grad():
        torch.nn.init.kaiming_uniform_(linear.weight, a=math.sqrt(5), generator=generator)
        if linear.bias is not None:
            bound = 1 / math.sqrt(n_in) if n_in > 0 else 0.0
            linear.bias.uniform_(-bound, bound, generator=generator)
    return linear
