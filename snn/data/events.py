"""Images turned into event streams: sklearn's 8x8 digits as spikes (a saccade-free N-MNIST).

Each pixel is one channel.  ``"latency"`` coding: a pixel of intensity ``x`` in ``(0, 1]``
fires once at ``t = duration * (1 - x)`` (bright pixels first), plus optional Gaussian jitter;
pixels below ``threshold`` stay silent.  ``"rate"`` coding: each pixel fires a Poisson train of
rate ``max_rate * x`` over ``duration``.
"""

from __future__ import annotations

import math

import numpy as np

from .spikes import SpikeDataset

__all__ = ["images_to_events", "digits_events"]


def images_to_events(images: np.ndarray, labels: np.ndarray, *, duration: float = 0.1,
                     coding: str = "latency", max_rate: float = 200.0, jitter: float = 0.0,
                     threshold: float = 0.05, seed=None, n_classes: int | None = None
                     ) -> SpikeDataset:
    """Spike dataset from ``images`` (float ``[N, P]`` in ``[0, 1]``, P pixels = channels) and
    integer ``labels`` ``[N]``; times in s within ``[0, duration)``."""
    x = np.asarray(images, dtype=np.float64)
    y = np.asarray(labels)
    if x.ndim != 2 or x.shape[0] == 0 or x.shape[1] == 0:
        raise ValueError(f"images must be a non-empty [N, pixels] array, got shape {x.shape}")
    if y.shape != (x.shape[0],):
        raise ValueError(f"labels must have shape ({x.shape[0]},), got {y.shape}")
    if not np.all(np.isfinite(x)) or x.min() < 0 or x.max() > 1:
        raise ValueError("images must hold finite values in [0, 1]")
    if coding not in ("latency", "rate"):
        raise ValueError(f"coding must be 'latency' or 'rate', got {coding!r}")
    for name, value in (("duration", duration), ("max_rate", max_rate)):
        if not (isinstance(value, (int, float)) and math.isfinite(value) and value > 0):
            raise ValueError(f"{name} must be a finite number > 0, got {value!r}")
    if not (isinstance(jitter, (int, float)) and jitter >= 0):
        raise ValueError(f"jitter must be a number >= 0 s, got {jitter!r}")
    gen = seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)
    times, units = [], []
    eps = 1e-9 * duration
    for image in x:
        if coding == "latency":
            u = np.flatnonzero(image >= threshold)
            t = duration * (1.0 - image[u])
            if jitter:
                t = t + gen.normal(0.0, jitter, t.size)
            t = np.clip(t, 0.0, duration - eps)
        else:
            counts = gen.poisson(max_rate * duration * image)
            u = np.repeat(np.arange(image.size), counts)
            t = gen.uniform(0.0, duration, u.size)
        order = np.argsort(t, kind="stable")
        times.append(t[order])
        units.append(u[order].astype(np.int32))
    return SpikeDataset(times, units, y.astype(np.int64), n_channels=x.shape[1],
                        n_classes=n_classes, name=f"images-{coding}")


def digits_events(split: str = "train", *, test_fraction: float = 0.25, seed: int = 0,
                  **coding) -> SpikeDataset:
    """sklearn's digits (stratified split from ``seed``, via :func:`snn.data.digits_arrays`)
    as events over 64 channels; ``coding`` goes to :func:`images_to_events`."""
    from .digits import digits_arrays

    if split not in ("train", "test"):
        raise ValueError(f"split must be 'train' or 'test', got {split!r}")
    x_tr, y_tr, x_te, y_te = digits_arrays(test_fraction, seed)
    x, y = (x_tr, y_tr) if split == "train" else (x_te, y_te)
    coding.setdefault("seed", seed)
    return images_to_events(x, y, n_classes=10, **coding)
