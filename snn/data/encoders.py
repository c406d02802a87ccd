"""Encoders: values turned into spikes, all in one place.

* :func:`rate_encode`: Bernoulli rate code, intensities ``[B, D]`` -> spikes ``[T, B, D]``
  (torch), the input of the training layers;
* :func:`images_to_events`: images ``[N, P]`` -> a :class:`SpikeDataset` of events, by
  latency (one spike per pixel, bright pixels first) or rate (Poisson trains);
* :func:`lif_encode`: a drive ``[T, C]`` -> the spikes of one leaky integrate-and-fire
  neuron per channel (the last stage of the cochlea, :mod:`snn.data.cochlea`).  It runs the
  neuron model of :mod:`snn.models` (:func:`~snn.models.step_current` with a
  :class:`~snn.models.LIFParams`), so it fires, resets and stays refractory exactly as a LIF
  population of the engine driven by the same currents.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np
from numba import njit

from .. import models
from .._random import numpy_generator, torch_generator
from ..validation import (
    check_array,
    check_choice,
    check_int,
    check_nonnegative,
    check_positive,
    check_real,
)
from .spikes import SpikeDataset

if TYPE_CHECKING:  # pragma: no cover
    import torch

__all__ = ["images_to_events", "lif_encode", "lif_encoder_params", "rate_encode"]


# -- Bernoulli rate code -------------------------------------------------------------------


def rate_encode(x: np.ndarray | Sequence[Sequence[float]], n_steps: int,
                rng: torch.Generator | int | None = None) -> torch.Tensor:
    """Bernoulli rate code: each step a spike with probability ``x``.

    Args:
        x: intensities in ``[0, 1]``, shape ``[B, D]``.
        n_steps: number of time steps T (>= 1).
        rng: a ``torch.Generator``, an int seed, or None (fresh entropy).

    Returns:
        Spikes, float32 torch tensor ``[T, B, D]`` of zeros and ones.
    """
    import torch

    n_steps = check_int("n_steps", n_steps, minimum=1)
    x = check_array("x", x, kind="biuf", dtype=np.float32)
    if x.ndim != 2:
        raise ValueError(f"x must have shape [B, D], got {tuple(x.shape)}")
    if x.size and (float(x.min()) < 0 or float(x.max()) > 1):
        raise ValueError("x must hold intensities in [0, 1]")
    generator = torch_generator(rng)
    draws = torch.rand((n_steps, *x.shape), generator=generator)
    return (draws < torch.from_numpy(x)).float()


# -- images as events -----------------------------------------------------------------------


def images_to_events(images: np.ndarray, labels: np.ndarray, *, duration: float = 0.1,
                     coding: str = "latency", max_rate: float = 200.0, jitter: float = 0.0,
                     threshold: float = 0.05, rng: np.random.Generator | int | None = None,
                     n_classes: int | None = None) -> SpikeDataset:
    """A spike dataset from images, one channel per pixel.

    ``"latency"`` coding: a pixel of intensity ``x >= threshold`` fires once at
    ``t = duration * (1 - x)`` (bright pixels first), plus Gaussian jitter of standard
    deviation ``jitter`` (s); dimmer pixels stay silent.  ``"rate"`` coding: each pixel fires
    a Poisson train of rate ``max_rate * x`` (Hz) over ``duration``.

    Args:
        images: float ``[N, P]`` in ``[0, 1]``; P pixels become P channels.
        labels: integer ``[N]``.
        duration: length of each sample (s).
        coding: ``"latency"`` or ``"rate"``.
        max_rate: rate of a pixel of intensity 1 under rate coding (Hz).
        jitter: standard deviation of the latency jitter (s).
        threshold: intensity below which a pixel is silent under latency coding.
        rng: a ``numpy.random.Generator``, an int seed, or None (fresh entropy).
        n_classes: number of classes (default ``max(labels) + 1``).

    Returns:
        A :class:`SpikeDataset` with times in ``[0, duration)`` (s), each sample's spikes in
        time order.
    """
    x = check_array("images", images, kind="biuf", dtype=np.float64)
    y = np.asarray(labels)
    if x.ndim != 2 or x.shape[0] == 0 or x.shape[1] == 0:
        raise ValueError(f"images must be a non-empty [N, pixels] array, got shape {x.shape}")
    if y.shape != (x.shape[0],):
        raise ValueError(f"labels must have shape ({x.shape[0]},), got {y.shape}")
    if x.min() < 0 or x.max() > 1:
        raise ValueError("images must hold finite values in [0, 1]")
    check_choice("coding", coding, ("latency", "rate"))
    duration = check_positive("duration", duration, unit="s")
    max_rate = check_positive("max_rate", max_rate, unit="Hz")
    jitter = check_nonnegative("jitter", jitter, unit="s")
    threshold = check_real("threshold", threshold)
    gen = numpy_generator(rng)
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


# -- leaky integrate-and-fire encoder ----------------------------------------------------------


def lif_encoder_params(threshold: float = 0.35, tau_m: float = 10e-3,
                       refractory: float = 2e-3) -> models.LIFParams:
    """The :class:`~snn.models.LIFParams` of a dimensionless encoder neuron.

    ``tau_m dv/dt = drive - v`` (``v_rest = 0``, ``r_m = 1``, so a drive of 1 "ampere"
    settles at 1 "volt"), spikes when ``v > threshold``, resets to 0 and is held there for
    ``refractory`` seconds (:func:`snn.models.refractory_steps` whole steps).

    Args:
        threshold: firing threshold, in units of the drive (> 0).
        tau_m: membrane time constant (s).
        refractory: refractory period (s, >= 0).
    """
    return models.LIFParams(tau_m=tau_m, v_rest=0.0, v_threshold=check_positive(
        "threshold", threshold), v_reset=0.0, r_m=1.0, tau_refractory=refractory,
        reset="value", synapses=models.CurrentSynapses())


@njit(cache=True, nogil=True)
def _lif_kernel(drive, c):  # pragma: no cover
    # One channel at a time: its state stays in registers over the whole time loop.
    n_steps, n_channels = drive.shape
    raster = np.zeros((n_steps, n_channels), dtype=np.uint8)
    for ch in range(n_channels):
        state = models.NeuronState(0.0, 0.0, 0.0, 0.0, 0.0)
        for k in range(n_steps):
            state, spike = models.step_current(state, drive[k, ch], c,
                                               models.heaviside_scalar)
            if spike > 0.0:
                raster[k, ch] = 1
    return raster


def lif_encode(drive: np.ndarray, dt: float, params: models.LIFParams | None = None
               ) -> tuple[np.ndarray, np.ndarray]:
    """Spikes of one LIF neuron per channel driven by ``drive``.

    Each step of ``dt`` seconds is one :func:`snn.models.step_current` of a neuron with
    ``params`` starting at rest, the drive entering as the external current held over the
    step: integration, ``v > v_threshold``, reset and refractory period are those of the
    engine's LIF.  A spike emitted in step ``k`` is stamped at the end of that step,
    ``(k + 1) * dt``.

    Args:
        drive: external input ``[T, C]`` (A, or dimensionless with
            :func:`lif_encoder_params`), finite.
        dt: time step (s).
        params: the neuron (current synapses); default :func:`lif_encoder_params` ``()``.

    Returns:
        ``(times [S] float64 s, units [S] int64)``, sorted by time, then unit.
    """
    drive = check_array("drive", drive, kind="biuf", dtype=np.float64)
    if drive.ndim != 2:
        raise ValueError(f"drive must be [steps, channels], got shape {drive.shape}")
    dt = check_positive("dt", dt, unit="s")
    params = lif_encoder_params() if params is None else params
    if not isinstance(params, models.LIFParams) or isinstance(
            params.synapses, models.ConductanceSynapses):
        raise TypeError("params must be LIFParams (or ALIFParams) with current or delta "
                        f"synapses, got {params!r}")
    raster = _lif_kernel(np.ascontiguousarray(drive), models.coeffs(params, dt))
    steps, units = np.nonzero(raster)
    return (steps + 1) * dt, units.astype(np.int64)
