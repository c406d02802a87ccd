"""Spike datasets in the layout of the Heidelberg spiking data sets (SHD, SSC).

The public layout (Cramer et al. 2020, IEEE TNNLS) is one HDF5 file per split::

    spikes/times   variable-length float arrays, one per sample: spike times (s)
    spikes/units   variable-length uint16 arrays, one per sample: channel of each spike
    labels         uint16 [N]: class of each sample
    extra/...      optional metadata (SHD: extra/speaker [N], extra/keys, extra/meta_info/...)

:class:`SpikeDataset` holds such a split in memory as flat arrays plus per-sample offsets
(compressed sparse rows), so that binning and subsetting are vectorised and a split of
SSC's size costs a few hundred megabytes, not millions of small Python objects.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

__all__ = ["SpikeDataset"]

# Names under extra/ that describe classes or speakers, not samples; everything else whose
# first dimension equals the number of samples is treated as per-sample metadata.
_GLOBAL_EXTRA_PREFIXES = ("keys", "meta_info", "speaker_names", "class_names")


class SpikeDataset:
    """A labelled set of spike trains over ``n_channels`` input channels.

    Storage is flat: ``flat_times`` (float64 [S], s; float32 if given float32),
    ``flat_units`` (int32 [S], channel in ``[0, n_channels)``) and ``offsets`` (int64
    [N + 1]); sample ``i`` owns spikes
    ``offsets[i]:offsets[i + 1]``.  ``times[i]`` / ``units[i]`` give that sample's arrays
    (views, no copies).  ``labels`` is int64 [N] in ``[0, n_classes)``.  ``extra`` maps names
    to numpy arrays: per-sample ones (first dimension N, e.g. ``"speaker"``) follow the
    samples through :meth:`subset`; the others (``"keys"``, ``"meta_info/..."``) are copied.

    Construct it from per-sample sequences (``SpikeDataset(times, units, labels, ...)``) or
    from flat arrays (:meth:`from_flat`).  Inputs are validated: a ``ValueError`` names the
    first problem (empty dataset, NaN or negative time, unit outside ``[0, n_channels)``,
    mismatched lengths, label outside ``[0, n_classes)``).
    """

    def __init__(self, times: Sequence[np.ndarray], units: Sequence[np.ndarray],
                 labels: Sequence[int] | np.ndarray, *, n_channels: int,
                 n_classes: int | None = None, extra: Mapping[str, Any] | None = None,
                 name: str = "") -> None:
        if len(times) != len(units):
            raise ValueError(f"times and units must hold one array per sample; got "
                             f"{len(times)} and {len(units)} samples")
        lengths = np.fromiter((len(t) for t in times), dtype=np.int64, count=len(times))
        unit_lengths = np.fromiter((len(u) for u in units), dtype=np.int64, count=len(units))
        bad = np.flatnonzero(lengths != unit_lengths)
        if bad.size:
            i = int(bad[0])
            raise ValueError(f"sample {i}: times has {lengths[i]} spikes but units has "
                             f"{unit_lengths[i]}")
        offsets = np.zeros(len(times) + 1, dtype=np.int64)
        np.cumsum(lengths, out=offsets[1:])
        flat_times = (np.concatenate([np.asarray(t, dtype=np.float64).ravel() for t in times])
                      if len(times) else np.zeros(0))
        # An empty list has no integer type of its own; it must not turn the units to float.
        unit_arrays = [np.asarray(u).ravel() for u in units]
        flat_units = np.concatenate([u if u.size else u.astype(np.int64) for u in unit_arrays]
                                    + [np.zeros(0, dtype=np.int64)])
        self._init_flat(flat_times, flat_units, offsets, labels, n_channels, n_classes, extra,
                        name)

    @classmethod
    def from_flat(cls, flat_times: np.ndarray, flat_units: np.ndarray, offsets: np.ndarray,
                  labels: Sequence[int] | np.ndarray, *, n_channels: int,
                  n_classes: int | None = None, extra: Mapping[str, Any] | None = None,
                  name: str = "") -> SpikeDataset:
        """Build from flat arrays: times (s) [S], units [S], offsets [N + 1], labels [N]."""
        self = cls.__new__(cls)
        self._init_flat(flat_times, flat_units, offsets, labels, n_channels, n_classes, extra,
                        name)
        return self

    def _init_flat(self, flat_times, flat_units, offsets, labels, n_channels, n_classes,
                   extra, name) -> None:
        if isinstance(n_channels, bool) or not isinstance(n_channels, (int, np.integer)) \
                or n_channels < 1:
            raise ValueError(f"n_channels must be an integer >= 1, got {n_channels!r}")
        labels = np.asarray(labels)
        if labels.ndim != 1:
            raise ValueError(f"labels must be one-dimensional [N], got shape {labels.shape}")
        if labels.size == 0:
            raise ValueError("the dataset is empty (no samples); expected at least one")
        if labels.dtype.kind not in "iu":
            if labels.dtype.kind == "f" and np.all(labels == np.round(labels)):
                labels = labels.astype(np.int64)
            else:
                raise ValueError(f"labels must be integers, got dtype {labels.dtype}")
        labels = labels.astype(np.int64)
        if labels.min() < 0:
            raise ValueError(f"labels must be >= 0, got {int(labels.min())}")
        if n_classes is None:
            n_classes = int(labels.max()) + 1
        elif isinstance(n_classes, bool) or not isinstance(n_classes, (int, np.integer)) \
                or n_classes < 1:
            raise ValueError(f"n_classes must be an integer >= 1, got {n_classes!r}")
        elif labels.max() >= n_classes:
            raise ValueError(f"labels must lie in [0, n_classes={n_classes}); found "
                             f"{int(labels.max())}")
        offsets = np.asarray(offsets, dtype=np.int64)
        if offsets.shape != (labels.size + 1,) or offsets[0] != 0 or np.any(np.diff(offsets) < 0):
            raise ValueError(f"offsets must be non-decreasing int [N + 1 = {labels.size + 1}] "
                             f"starting at 0, got shape {offsets.shape}")
        # float32 times (as some files store them) stay float32: half the memory of SSC.
        flat_times = np.asarray(flat_times).ravel()
        flat_times = np.ascontiguousarray(
            flat_times, dtype=np.float32 if flat_times.dtype == np.float32 else np.float64)
        flat_units_in = np.asarray(flat_units).ravel()
        if flat_times.size != offsets[-1] or flat_units_in.size != offsets[-1]:
            raise ValueError(f"offsets[-1] = {offsets[-1]} spikes, but {flat_times.size} times "
                             f"and {flat_units_in.size} units were given")
        if flat_units_in.size and flat_units_in.dtype.kind not in "iu":
            raise ValueError(f"units must be integers, got dtype {flat_units_in.dtype}")
        if flat_units_in.size and (flat_units_in.min() < 0 or flat_units_in.max() >= n_channels):
            j = int(np.flatnonzero((flat_units_in < 0) | (flat_units_in >= n_channels))[0])
            i = int(np.searchsorted(offsets, j, side="right") - 1)
            raise ValueError(f"sample {i}: unit {int(flat_units_in[j])} is outside "
                             f"[0, n_channels={n_channels})")
        flat_units = np.ascontiguousarray(flat_units_in, dtype=np.int32)
        if flat_times.size:
            finite = np.isfinite(flat_times)
            if not finite.all() or flat_times.min() < 0:
                j = int(np.flatnonzero(~finite | (np.where(finite, flat_times, 0) < 0))[0])
                i = int(np.searchsorted(offsets, j, side="right") - 1)
                raise ValueError(f"sample {i}: spike times must be finite and >= 0 (s), got "
                                 f"{flat_times[j]!r}")
        self.flat_times = flat_times
        self.flat_units = flat_units
        self.offsets = offsets
        self.labels = labels
        self.n_channels = int(n_channels)
        self.n_classes = int(n_classes)
        self.name = str(name)
        self.extra = {str(k): np.asarray(v) for k, v in (extra or {}).items()}

    # -- access --------------------------------------------------------------------------

    def __len__(self) -> int:
        return int(self.labels.size)

    def __repr__(self) -> str:
        return (f"SpikeDataset(name={self.name!r}, samples={len(self)}, "
                f"spikes={self.n_spikes}, n_channels={self.n_channels}, "
                f"n_classes={self.n_classes}, extra={sorted(self.extra)})")

    @property
    def n_spikes(self) -> int:
        """Total number of spikes."""
        return int(self.offsets[-1])

    @property
    def times(self) -> list[np.ndarray]:
        """Per-sample spike times (s): a list of N views into ``flat_times``."""
        return np.split(self.flat_times, self.offsets[1:-1])

    @property
    def units(self) -> list[np.ndarray]:
        """Per-sample spike channels: a list of N int32 views into ``flat_units``."""
        return np.split(self.flat_units, self.offsets[1:-1])

    def sample(self, i: int) -> tuple[np.ndarray, np.ndarray, int]:
        """Sample ``i`` as ``(times [S_i] s, units [S_i], label)``."""
        n = len(self)
        if not -n <= i < n:
            raise IndexError(f"sample index {i} out of range for {n} samples")
        i %= n
        a, b = self.offsets[i], self.offsets[i + 1]
        return self.flat_times[a:b], self.flat_units[a:b], int(self.labels[i])

    @property
    def spike_counts(self) -> np.ndarray:
        """Number of spikes of each sample, int64 [N]."""
        return np.diff(self.offsets)

    @property
    def durations(self) -> np.ndarray:
        """Time of each sample's last spike (s), float64 [N]; 0 for a sample without spikes."""
        out = np.zeros(len(self))
        has = self.spike_counts > 0
        if has.any():
            # Samples need not be sorted in time, so take the maximum, not the last spike.
            out[has] = np.maximum.reduceat(self.flat_times, self.offsets[:-1][has])
        return out

    @property
    def class_names(self) -> list[str] | None:
        """Class names from ``extra["keys"]`` (as SHD stores them), or None."""
        keys = self.extra.get("keys")
        if keys is None:
            return None
        return [k.decode() if isinstance(k, bytes) else str(k) for k in keys.tolist()]

    def _is_per_sample(self, key: str) -> bool:
        value = self.extra[key]
        return (not key.startswith(_GLOBAL_EXTRA_PREFIXES) and value.ndim >= 1
                and value.shape[0] == len(self))

    # -- subsets and splits ---------------------------------------------------------------

    def subset(self, indices: Sequence[int] | np.ndarray, *, name: str | None = None
               ) -> SpikeDataset:
        """The samples at ``indices`` (int array or boolean mask [N]), in that order."""
        idx = np.asarray(indices)
        if idx.dtype == bool:
            if idx.shape != (len(self),):
                raise ValueError(f"a boolean mask must have shape [{len(self)}], got {idx.shape}")
            idx = np.flatnonzero(idx)
        if idx.dtype.kind not in "iu" and idx.size:
            raise ValueError(f"indices must be integers or a boolean mask, got {idx.dtype}")
        idx = idx.astype(np.int64).ravel()
        if idx.size == 0:
            raise ValueError("subset would be empty; pass at least one index")
        if idx.min() < -len(self) or idx.max() >= len(self):
            raise IndexError(f"indices out of range for {len(self)} samples")
        idx %= len(self)
        counts = self.spike_counts[idx]
        offsets = np.zeros(idx.size + 1, dtype=np.int64)
        np.cumsum(counts, out=offsets[1:])
        # Gather spike positions of all chosen samples in one vectorised expression.
        starts = np.repeat(self.offsets[idx] - offsets[:-1], counts)
        take = starts + np.arange(offsets[-1], dtype=np.int64)
        extra = {k: (v[idx] if self._is_per_sample(k) else v) for k, v in self.extra.items()}
        return SpikeDataset.from_flat(self.flat_times[take], self.flat_units[take], offsets,
                                      self.labels[idx], n_channels=self.n_channels,
                                      n_classes=self.n_classes, extra=extra,
                                      name=self.name if name is None else name)

    def split_indices(self, valid_fraction: float, rng: np.random.Generator | int, *,
                      group_by: str | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Sorted index arrays ``(train, valid)`` of a reproducible random split.

        Without ``group_by`` the split is stratified: each class gives
        ``round(valid_fraction * its count)`` samples to validation.  With
        ``group_by="speaker"`` (any per-sample ``extra`` key) whole groups go to validation,
        drawn in random order until they hold at least ``valid_fraction`` of the samples, so
        no speaker appears on both sides.  ``rng`` is a ``numpy.random.Generator`` or a seed.
        """
        if isinstance(valid_fraction, bool) or not isinstance(valid_fraction, (int, float)) \
                or not 0.0 < valid_fraction < 1.0:
            raise ValueError(f"valid_fraction must be a number in (0, 1), got {valid_fraction!r}")
        if isinstance(rng, (int, np.integer)) and not isinstance(rng, bool):
            rng = np.random.default_rng(int(rng))
        if not isinstance(rng, np.random.Generator):
            raise TypeError("rng must be a numpy.random.Generator or an integer seed, got "
                            f"{type(rng).__name__}")
        n = len(self)
        valid = np.zeros(n, dtype=bool)
        if group_by is None:
            for c in np.unique(self.labels):
                members = np.flatnonzero(self.labels == c)
                k = int(round(valid_fraction * members.size))
                valid[rng.permutation(members)[:k]] = True
        else:
            if group_by not in self.extra or not self._is_per_sample(group_by):
                per_sample = sorted(k for k in self.extra if self._is_per_sample(k))
                raise ValueError(f"group_by={group_by!r} is not per-sample metadata of this "
                                 f"dataset; available: {per_sample}")
            groups = self.extra[group_by]
            names, inverse = np.unique(groups, return_inverse=True)
            if names.size < 2:
                raise ValueError(f"group_by={group_by!r} has a single group; cannot split by it")
            sizes = np.bincount(inverse.ravel(), minlength=names.size)
            chosen, total = [], 0
            for g in rng.permutation(names.size):
                if total >= valid_fraction * n or len(chosen) == names.size - 1:
                    break
                chosen.append(g)
                total += sizes[g]
            valid = np.isin(inverse.ravel(), chosen)
        if valid.all() or not valid.any():
            raise ValueError(f"valid_fraction={valid_fraction} leaves one side of the split "
                             f"empty for {n} samples")
        return np.flatnonzero(~valid), np.flatnonzero(valid)

    def split(self, valid_fraction: float, rng: np.random.Generator | int, *,
              group_by: str | None = None) -> tuple[SpikeDataset, SpikeDataset]:
        """Reproducible ``(train, valid)`` split; see :meth:`split_indices` for the rules."""
        train, valid = self.split_indices(valid_fraction, rng, group_by=group_by)
        return (self.subset(train, name=f"{self.name}[train]"),
                self.subset(valid, name=f"{self.name}[valid]"))
