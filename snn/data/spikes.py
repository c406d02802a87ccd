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

import gzip
import hashlib
import json
import os
import shutil
import uuid
import zipfile
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import h5py
import numpy as np

__all__ = [
    "SpikeDataset",
    "read_spike_hdf5",
    "write_spike_hdf5",
    "load_shd",
    "load_ssc",
    "file_checksum",
    "verify_checksum",
    "data_cache_dir",
]

#: The keys every file in the public layout holds, and their meaning (used in error messages).
LAYOUT = ("spikes/times (vlen float, s), spikes/units (vlen uint16, channel), "
          "labels (uint16 [N])")

# Names under extra/ that describe classes or speakers, not samples; everything else whose
# first dimension equals the number of samples is treated as per-sample metadata.
_GLOBAL_EXTRA_PREFIXES = ("keys", "meta_info", "speaker_names", "class_names")

SHD_CHANNELS = 700
SHD_CLASSES = 20
SSC_CLASSES = 35


def data_cache_dir() -> Path:
    """Folder for derived data files (decompressed downloads, converted FSDD).

    ``$SNNSIM_CACHE_DIR`` if set, else ``$XDG_CACHE_HOME/snnsim`` or ``~/.cache/snnsim``: the
    parent of the package's compiled-code cache (:func:`snn._numba_cache.cache_root`).
    """
    from .. import _numba_cache

    return _numba_cache.cache_root().parent


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


# -- HDF5 -------------------------------------------------------------------------------


def _part_name(target: Path) -> Path:
    """A unique temporary name beside ``target`` (same file system, so renaming is atomic;
    created with the ordinary permissions, unlike ``tempfile.mkstemp``'s 0600)."""
    return target.with_name(f".{target.name}.{os.getpid()}-{uuid.uuid4().hex[:8]}.part")


def _decompressed(path: Path, cache_dir: Path | None) -> Path:
    """Path of an uncompressed copy of a ``.gz`` / ``.zip`` file, made once per file version.

    The copy goes to ``cache_dir`` (default :func:`data_cache_dir` ``/ "decompressed"``), named
    by the source's path, size and modification time, so a changed download is unpacked
    again; it is written to a temporary name and renamed, so an interrupted run leaves no
    half file behind.
    """
    st = path.stat()
    key = hashlib.sha256(f"{path.resolve()}|{st.st_size}|{st.st_mtime_ns}".encode()).hexdigest()
    folder = Path(cache_dir) if cache_dir is not None else data_cache_dir() / "decompressed"
    stem = path.name.rsplit(".", 1)[0]
    target = folder / f"{Path(stem).stem}-{key[:16]}{Path(stem).suffix or '.h5'}"
    if target.exists():
        return target
    folder.mkdir(parents=True, exist_ok=True)
    tmp = _part_name(target)
    try:
        with open(tmp, "xb") as out:
            if path.suffix == ".gz":
                with gzip.open(path, "rb") as src:
                    shutil.copyfileobj(src, out, 1 << 20)
            else:
                with zipfile.ZipFile(path) as archive:
                    members = [m for m in archive.namelist() if m.endswith((".h5", ".hdf5"))]
                    if len(members) != 1:
                        raise ValueError(f"{path}: expected exactly one .h5 file in the zip "
                                         f"archive, found {members}")
                    with archive.open(members[0]) as src:
                        shutil.copyfileobj(src, out, 1 << 20)
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return target


def _read_extra(group: h5py.Group, prefix: str = "") -> dict[str, np.ndarray]:
    out: dict[str, np.ndarray] = {}
    for key, item in group.items():
        name = f"{prefix}{key}"
        if isinstance(item, h5py.Group):
            out.update(_read_extra(item, name + "/"))
        elif h5py.check_string_dtype(item.dtype) is not None:
            out[name] = np.asarray(item.asstr()[()], dtype=str)
        elif h5py.check_vlen_dtype(item.dtype) is not None:
            continue  # ragged metadata has no array form here; skipped rather than guessed
        else:
            out[name] = np.asarray(item[()])
    return out


def read_spike_hdf5(path: str | os.PathLike, *, n_channels: int | None = None,
                    n_classes: int | None = None, name: str | None = None,
                    cache_dir: str | os.PathLike | None = None) -> SpikeDataset:
    """Read one split in the SHD/SSC layout into a :class:`SpikeDataset`.

    ``path`` may be ``.h5``/``.hdf5``, or ``.h5.gz`` / ``.h5.zip`` as downloaded; compressed
    files are unpacked once into ``cache_dir`` (default: the snnsim cache folder, see
    :func:`data_cache_dir`), never next to the data.  ``n_channels`` defaults to the file's
    ``n_channels`` attribute, else 700 (SHD/SSC); ``n_classes`` to the file's attribute, else
    ``max(label) + 1``.  Raises ``ValueError`` naming the missing key and the expected layout
    if the file is not in it, and for empty or invalid data.
    """
    path = Path(path).expanduser()
    if not path.is_file():
        raise FileNotFoundError(f"no such file: {path}")
    if path.suffix in (".gz", ".zip"):
        path = _decompressed(path, None if cache_dir is None else Path(cache_dir))
    try:
        handle = h5py.File(path, "r")
    except OSError as err:
        raise ValueError(f"{path} is not a readable HDF5 file ({err}); expected the SHD "
                         f"layout: {LAYOUT}") from err
    with handle as f:
        for key in ("spikes/times", "spikes/units", "labels"):
            if key not in f:
                raise ValueError(f"{path}: missing key {key!r}; expected the SHD layout: "
                                 f"{LAYOUT}")
        times_ds, units_ds = f["spikes/times"], f["spikes/units"]
        labels = np.asarray(f["labels"][()]).ravel()
        if labels.size == 0:
            raise ValueError(f"{path}: the dataset is empty (labels has no entries)")
        if times_ds.shape != labels.shape or units_ds.shape != labels.shape:
            raise ValueError(f"{path}: spikes/times {times_ds.shape}, spikes/units "
                             f"{units_ds.shape} and labels {labels.shape} must all have one "
                             f"entry per sample")
        for key, ds in (("spikes/times", times_ds), ("spikes/units", units_ds)):
            if h5py.check_vlen_dtype(ds.dtype) is None:
                raise ValueError(f"{path}: {key} must be a variable-length array per sample "
                                 f"(SHD layout: {LAYOUT}), got dtype {ds.dtype}")
        times = times_ds[()]
        units = units_ds[()]
        attrs = dict(f.attrs)
        extra = _read_extra(f["extra"]) if "extra" in f else {}
    if n_channels is None:
        n_channels = int(attrs.get("n_channels", SHD_CHANNELS))
    if n_classes is None and "n_classes" in attrs:
        n_classes = int(attrs["n_classes"])
    lengths = np.fromiter((t.size for t in times), dtype=np.int64, count=times.size)
    unit_lengths = np.fromiter((u.size for u in units), dtype=np.int64, count=units.size)
    if np.any(lengths != unit_lengths):
        i = int(np.flatnonzero(lengths != unit_lengths)[0])
        raise ValueError(f"{path}: sample {i} has {lengths[i]} spike times but "
                         f"{unit_lengths[i]} units")
    offsets = np.zeros(lengths.size + 1, dtype=np.int64)
    np.cumsum(lengths, out=offsets[1:])
    flat_times = np.concatenate(times) if offsets[-1] else np.zeros(0)
    flat_units = np.concatenate(units) if offsets[-1] else np.zeros(0, dtype=np.uint16)
    if name is None:
        name = str(attrs.get("name", path.name.split(".")[0]))
    try:
        return SpikeDataset.from_flat(flat_times, flat_units, offsets, labels,
                                      n_channels=n_channels, n_classes=n_classes, extra=extra,
                                      name=name)
    except ValueError as err:
        raise ValueError(f"{path}: {err}") from err


def _write_extra(group: h5py.Group, key: str, value: Any) -> None:
    arr = np.asarray(value)
    if arr.dtype.kind in "US" or arr.dtype == object:
        group.create_dataset(key, data=np.asarray(arr, dtype=str).astype(object),
                             dtype=h5py.string_dtype())
    else:
        group.create_dataset(key, data=arr)


def write_spike_hdf5(path: str | os.PathLike, dataset: SpikeDataset, *,
                     time_dtype: type | np.dtype = np.float64,
                     attrs: Mapping[str, Any] | None = None) -> Path:
    """Write ``dataset`` to ``path`` in the public SHD layout and return the path.

    ``spikes/times`` (variable-length ``time_dtype``, s; float32 halves the size and keeps
    sub-microsecond resolution over a few seconds), ``spikes/units`` (variable-length
    uint16), ``labels`` (uint16 [N]) and ``extra/<key>`` for every entry of
    ``dataset.extra`` (``"a/b"`` keys become subgroups).  File attributes record
    ``n_channels``, ``n_classes`` and ``name``, plus ``attrs`` (values that are not numbers
    or strings are stored as JSON).  The file is written under a temporary name and renamed.
    """
    path = Path(path).expanduser()
    time_dtype = np.dtype(time_dtype)
    if time_dtype.kind != "f":
        raise ValueError(f"time_dtype must be a floating type, got {time_dtype}")
    if dataset.n_channels > 65536 or dataset.n_classes > 65536:
        raise ValueError("the SHD layout stores units and labels as uint16: n_channels and "
                         f"n_classes must be <= 65536, got {dataset.n_channels}, "
                         f"{dataset.n_classes}")
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = _part_name(path)
    try:
        with h5py.File(tmp, "w") as f:
            n = len(dataset)
            times_ds = f.create_dataset("spikes/times", (n,), dtype=h5py.vlen_dtype(time_dtype))
            units_ds = f.create_dataset("spikes/units", (n,), dtype=h5py.vlen_dtype(np.uint16))
            # One object array per dataset: h5py writes it in a single call.
            t_obj = np.empty(n, dtype=object)
            u_obj = np.empty(n, dtype=object)
            t_all = dataset.flat_times.astype(time_dtype)
            u_all = dataset.flat_units.astype(np.uint16)
            for i in range(n):
                a, b = dataset.offsets[i], dataset.offsets[i + 1]
                t_obj[i] = t_all[a:b]
                u_obj[i] = u_all[a:b]
            if n > 1 and np.all(np.diff(dataset.offsets) == dataset.offsets[1]):
                # Equal lengths: h5py would read the object array as one 2-D block and
                # refuse it, so the rows go one at a time.
                for i in range(n):
                    times_ds[i] = t_obj[i]
                    units_ds[i] = u_obj[i]
            else:
                times_ds[...] = t_obj
                units_ds[...] = u_obj
            f.create_dataset("labels", data=dataset.labels.astype(np.uint16))
            if dataset.extra:
                extra = f.create_group("extra")
                for key, value in dataset.extra.items():
                    _write_extra(extra, key, value)
            f.attrs["n_channels"] = dataset.n_channels
            f.attrs["n_classes"] = dataset.n_classes
            f.attrs["name"] = dataset.name
            for key, value in (attrs or {}).items():
                if isinstance(value, (str, int, float, np.integer, np.floating)):
                    f.attrs[key] = value
                else:
                    f.attrs[key] = json.dumps(value, sort_keys=True)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


# -- SHD and SSC --------------------------------------------------------------------------


def _find_split(root: str | os.PathLike, prefix: str, split: str, splits: tuple[str, ...],
                manifest: str) -> Path:
    if split not in splits:
        raise ValueError(f"split must be one of {splits}, got {split!r}")
    root = Path(root).expanduser()
    if not root.is_dir():
        raise FileNotFoundError(f"{prefix.upper()} root folder {root} does not exist")
    candidates = [root / f"{prefix}_{split}{ext}" for ext in (".h5", ".h5.gz", ".h5.zip")]
    for candidate in candidates:
        if candidate.is_file():
            return candidate
    looked = ", ".join(str(c) for c in candidates)
    raise FileNotFoundError(f"no {prefix.upper()} {split} file found; looked for {looked}. "
                            f"Download it from the URL in datasets/{manifest} (see "
                            f"datasets/README.md)")


def load_shd(root: str | os.PathLike, split: str = "train", **kwargs: Any) -> SpikeDataset:
    """Spiking Heidelberg Digits: ``shd_{split}.h5`` (or ``.h5.gz``/``.h5.zip``) in ``root``.

    ``split`` is ``"train"`` (8156 samples) or ``"test"`` (2264).  700 channels, 20 classes
    (digits 0-9 in English, then German); ``extra["speaker"]`` [N] names the speaker.
    Keyword arguments go to :func:`read_spike_hdf5`.
    """
    path = _find_split(root, "shd", split, ("train", "test"), "shd.json")
    kwargs.setdefault("n_channels", SHD_CHANNELS)
    kwargs.setdefault("n_classes", SHD_CLASSES)
    kwargs.setdefault("name", f"shd_{split}")
    return read_spike_hdf5(path, **kwargs)


def load_ssc(root: str | os.PathLike, split: str = "train", **kwargs: Any) -> SpikeDataset:
    """Spiking Speech Commands: ``ssc_{split}.h5`` (or ``.h5.gz``/``.h5.zip``) in ``root``.

    ``split`` is ``"train"``, ``"valid"`` or ``"test"``; 700 channels, 35 classes.  Keyword
    arguments go to :func:`read_spike_hdf5`.
    """
    path = _find_split(root, "ssc", split, ("train", "valid", "test"), "ssc.json")
    kwargs.setdefault("n_channels", SHD_CHANNELS)
    kwargs.setdefault("n_classes", SSC_CLASSES)
    kwargs.setdefault("name", f"ssc_{split}")
    return read_spike_hdf5(path, **kwargs)


# -- checksums ----------------------------------------------------------------------------


def file_checksum(path: str | os.PathLike, algorithm: str = "sha256") -> str:
    """Hex digest of a file's bytes (``algorithm``: ``"md5"`` or ``"sha256"``)."""
    if algorithm not in ("md5", "sha256"):
        raise ValueError(f"algorithm must be 'md5' or 'sha256', got {algorithm!r}")
    digest = hashlib.new(algorithm)
    with open(Path(path).expanduser(), "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def verify_checksum(path: str | os.PathLike, expected: str) -> str:
    """Check a file against an MD5 (32 hex digits) or SHA-256 (64) digest.

    Returns the algorithm used; raises ``ValueError`` giving both digests on a mismatch, and
    for an ``expected`` value that is neither form.
    """
    expected_clean = str(expected).strip().lower()
    algorithm = {32: "md5", 64: "sha256"}.get(len(expected_clean))
    if algorithm is None or any(c not in "0123456789abcdef" for c in expected_clean):
        raise ValueError(f"expected must be an MD5 (32 hex digits) or SHA-256 (64 hex digits) "
                         f"digest, got {expected!r}")
    actual = file_checksum(path, algorithm)
    if actual != expected_clean:
        raise ValueError(f"{algorithm} checksum mismatch for {path}: expected {expected_clean}, "
                         f"got {actual} (incomplete or altered download?)")
    return algorithm
