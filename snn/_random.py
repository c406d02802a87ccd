"""Explicit random generators: one helper that turns a seed argument into a generator."""

from __future__ import annotations

import numbers

import numpy as np

from .validation import check_int


def numpy_generator(rng: int | np.random.Generator | None,
                    name: str = "rng") -> np.random.Generator:
    """A ``numpy.random.Generator`` from ``rng``: a Generator (used as is), an int seed >= 0
    or None (fresh entropy); anything else is a ``TypeError`` naming ``name``."""
    if isinstance(rng, np.random.Generator):
        return rng
    if rng is None:
        return np.random.default_rng()
    return np.random.default_rng(_seed(name, rng, "a numpy.random.Generator"))


def _seed(name: str, rng, generator_kind: str) -> int:
    if isinstance(rng, (bool, np.bool_)) or not isinstance(rng, numbers.Integral):
        raise TypeError(f"{name} must be an int seed, {generator_kind} or None, got "
                        f"{type(rng).__name__}")
    return check_int(name, rng, minimum=0)


def int_seed(rng: int | np.random.Generator | None, name: str = "rng") -> int:
    """An int seed >= 0 from ``rng``, for code that needs integers (derived per-chunk or
    per-layer seeds, libraries that take ``random_state``): an int is returned as is, a
    ``numpy.random.Generator`` draws one below ``2**62`` (advancing it; the headroom lets
    callers add chunk offsets), None draws one from fresh entropy."""
    if isinstance(rng, np.random.Generator) or rng is None:
        return int(numpy_generator(rng, name).integers(2**62))
    return _seed(name, rng, "a numpy.random.Generator")


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
    return torch.Generator().manual_seed(_seed(name, rng, "a torch.Generator"))


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
