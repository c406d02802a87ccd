"""Dense time bins of spike datasets, and time-major torch batches for training.

:func:`bin_spikes` turns a :class:`~snn.data.spikes.SpikeDataset` into a ``uint8`` array
``[N, T, C // pool]`` of spike counts per time bin and (pooled) channel; :func:`batches`
iterates over it in time-major float32 tensors ``x [T, B, C]`` with labels ``y [B]``, the
form the layers in :mod:`snn.layers` take.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
from numba import njit

from .._random import torch_generator
from ..validation import check_choice, check_int, check_positive
from .spikes import SpikeDataset

if TYPE_CHECKING:  # pragma: no cover
    import torch

__all__ = ["BinnedSpikes", "bin_spikes", "Batches", "batches"]

# Above this size (bytes) bin_spikes refuses to allocate and asks for a shorter window.
_MAX_BYTES = 8 << 30


@dataclass(eq=False)
class BinnedSpikes:
    """Spike counts in time bins: the dense form of a dataset.

    ``counts`` uint8 [N, T, C'] (counts saturate at 255, or 0/1 if ``binary``), or float32
    frames of a non-spiking front end (e.g. the log-mel energies of
    :func:`~snn.data.load_speech_commands`), batched the same way;
    ``labels`` int64 [N]; ``lengths`` int64 [N]: steps up to and including each sample's last
    kept spike (0 for a silent sample); ``dt`` bin width (s); ``pool`` channels summed per
    output channel; ``n_dropped`` spikes at or after ``T * dt`` that were left out.
    """

    counts: np.ndarray
    labels: np.ndarray
    lengths: np.ndarray
    dt: float
    pool: int
    n_classes: int
    binary: bool = False
    n_dropped: int = 0

    def __len__(self) -> int:
        return int(self.labels.size)

    @property
    def n_steps(self) -> int:
        """T, the number of time bins."""
        return int(self.counts.shape[1])

    @property
    def n_channels(self) -> int:
        """C', the number of (pooled) channels."""
        return int(self.counts.shape[2])

    def subset(self, indices: Sequence[int] | np.ndarray) -> BinnedSpikes:
        """The samples at ``indices`` (int array or boolean mask [N])."""
        idx = np.asarray(indices)
        if idx.dtype == bool:
            idx = np.flatnonzero(idx)
        return BinnedSpikes(self.counts[idx], self.labels[idx], self.lengths[idx], self.dt,
                            self.pool, self.n_classes, self.binary, 0)


@njit(cache=True)
def _bin_kernel(times, units, offsets, dt, n_steps, pool, binary, out, lengths):  # pragma: no cover
    dropped = 0
    for i in range(offsets.size - 1):
        last = 0
        for j in range(offsets[i], offsets[i + 1]):
            t = times[j]
            b = int(math.floor(t / dt))
            # t / dt is inexact: a spike at t = k * dt (as the product k * dt) would fall one
            # bin early, so compare with the bin edges the way they are computed.
            if (b + 1) * dt <= t:
                b += 1
            elif b * dt > t:
                b -= 1
            if b >= n_steps:
                dropped += 1
                continue
            c = units[j] // pool
            if binary:
                out[i, b, c] = 1
            elif out[i, b, c] < 255:
                out[i, b, c] += 1
            if b + 1 > last:
                last = b + 1
        lengths[i] = last
    return dropped


def _steps_for(duration: float, dt: float) -> int:
    """Bins of width ``dt`` covering ``[0, duration)``; a ratio within 1e-9 of an integer
    counts as that integer (1.0 / 0.01 is 100, not 101)."""
    ratio = duration / dt
    nearest = round(ratio)
    if abs(ratio - nearest) <= 1e-9 * max(1.0, ratio):
        return max(1, int(nearest))
    return max(1, math.ceil(ratio))


def bin_spikes(dataset: SpikeDataset, dt: float, *, n_steps: int | None = None,
               max_time: float | None = None, pool: int = 1,
               binary: bool = False) -> BinnedSpikes:
    """Count spikes per time bin and channel: ``uint8 [N, T, ceil(C / pool)]``.

    Bin ``k`` holds spikes with ``k * dt <= t < (k + 1) * dt`` (s); a spike exactly on an
    edge goes to the later bin.  ``T`` is ``n_steps``, or ``max_time / dt`` rounded up, or,
    if neither is given, enough bins for the latest spike.  Spikes at or after ``T * dt`` are
    dropped (counted in ``n_dropped``).  ``pool`` sums groups of ``pool`` adjacent channels
    (700 channels pooled by 5 give 140).  Counts saturate at 255; ``binary=True`` stores 1
    wherever there is at least one spike.  Memory: one byte per cell (SHD train at 100 steps
    and 140 channels: 114 MB).
    """
    if not isinstance(dataset, SpikeDataset):
        raise TypeError(f"dataset must be a SpikeDataset, got {type(dataset).__name__}")
    dt = check_positive("dt", dt, unit="s")
    pool = check_int("pool", pool, minimum=1)
    if n_steps is not None and max_time is not None:
        raise ValueError("give n_steps or max_time, not both")
    if n_steps is not None:
        steps = check_int("n_steps", n_steps, minimum=1)
    elif max_time is not None:
        steps = _steps_for(check_positive("max_time", max_time, unit="s"), dt)
    else:
        latest = float(dataset.flat_times.max()) if dataset.n_spikes else 0.0
        steps = int(math.floor(latest / dt)) + 1
        if steps * dt <= latest:  # the same edge rule as the kernel
            steps += 1
    channels = -(-dataset.n_channels // int(pool))
    size = len(dataset) * steps * channels
    if size > _MAX_BYTES:
        raise ValueError(f"binning {len(dataset)} samples x {steps} steps x {channels} "
                         f"channels needs {size / 2**30:.1f} GiB; pass a larger dt or pool, or "
                         f"n_steps / max_time to cut the window")
    if dataset.n_spikes and dataset.flat_times.max() / dt > 2.0**62:
        raise ValueError(f"dt={dt} is too small for spike times up to "
                         f"{dataset.flat_times.max()} s")
    out = np.zeros((len(dataset), steps, channels), dtype=np.uint8)
    lengths = np.zeros(len(dataset), dtype=np.int64)
    dropped = _bin_kernel(dataset.flat_times, dataset.flat_units, dataset.offsets, float(dt),
                          steps, int(pool), bool(binary), out, lengths)
    return BinnedSpikes(out, dataset.labels.copy(), lengths, float(dt), int(pool),
                        dataset.n_classes, bool(binary), int(dropped))


class Batches:
    """Re-iterable mini-batches of a :class:`BinnedSpikes`: ``(x, y)`` pairs.

    ``x`` is float32 (or ``dtype``) ``[T_b, B, C']``, time-major; ``y`` int64 ``[B]``.  With
    ``pad="longest"`` ``T_b`` is the longest ``length`` in the batch (at least 1), shorter
    samples being zero after their end; with ``pad="full"`` every batch has all ``T`` steps.
    Each pass over the object (one epoch) draws a new order from ``rng`` (a
    ``torch.Generator``, an int seed, or None for fresh entropy) when ``shuffle`` is set, so
    a seed makes the whole run reproducible.  Counts are
    moved to ``device`` as uint8 and converted there.
    """

    def __init__(self, data: BinnedSpikes, batch_size: int, *, shuffle: bool = False,
                 rng: torch.Generator | int | None = None, drop_last: bool = False,
                 pad: str = "longest", device: Any = None, dtype: Any = None) -> None:
        import torch

        if not isinstance(data, BinnedSpikes):
            raise TypeError(f"data must be BinnedSpikes (see bin_spikes), got "
                            f"{type(data).__name__}")
        batch_size = check_int("batch_size", batch_size, minimum=1)
        check_choice("pad", pad, ("longest", "full"))
        # Drawn once here: with rng=None every pass still follows one fresh-entropy stream.
        generator = torch_generator(rng) if shuffle else None
        self.data = data
        self.batch_size = int(batch_size)
        self.shuffle = bool(shuffle)
        self.generator = generator
        self.drop_last = bool(drop_last)
        self.pad = pad
        self.device = torch.device(device) if device is not None else torch.device("cpu")
        self.dtype = dtype if dtype is not None else torch.float32
        self._labels = torch.from_numpy(data.labels.astype(np.int64))

    def __len__(self) -> int:
        n = len(self.data)
        return n // self.batch_size if self.drop_last else -(-n // self.batch_size)

    def __iter__(self) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        import torch

        n = len(self.data)
        if self.shuffle:
            order = torch.randperm(n, generator=self.generator).numpy()
        else:
            order = np.arange(n)
        counts, lengths = self.data.counts, self.data.lengths
        for k in range(len(self)):
            idx = order[k * self.batch_size:(k + 1) * self.batch_size]
            steps = (max(1, int(lengths[idx].max())) if self.pad == "longest"
                     else counts.shape[1])
            block = torch.from_numpy(counts[idx, :steps]).to(self.device)  # uint8 [B, T_b, C]
            # One copy converts and transposes (2-3x faster than permute, to, contiguous).
            x = torch.empty((steps, idx.size, counts.shape[2]), dtype=self.dtype,
                            device=self.device)
            x.copy_(block.permute(1, 0, 2))
            y = self._labels[torch.from_numpy(idx)].to(self.device)
            yield x, y


def batches(data: BinnedSpikes, batch_size: int, *, shuffle: bool = False,
            rng: torch.Generator | int | None = None, drop_last: bool = False,
            pad: str = "longest", device: Any = None, dtype: Any = None) -> Batches:
    """Mini-batches ``(x [T_b, B, C'] float32, y [B] int64)`` of ``data``; see :class:`Batches`.

    ``for x, y in batches(binned, batch_size=256, shuffle=True, rng=0): ...``
    """
    return Batches(data, batch_size, shuffle=shuffle, rng=rng,
                   drop_last=drop_last, pad=pad, device=device, dtype=dtype)
