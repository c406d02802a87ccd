"""Reading and writing :class:`~snn.data.spikes.SpikeDataset` in the public SHD/SSC HDF5 layout.

    spikes/times   variable-length float arrays, one per sample: spike times (s)
    spikes/units   variable-length uint16 arrays, one per sample: channel of each spike
    labels         uint16 [N]: class of each sample
    extra/...      optional metadata

Compressed downloads (``.h5.gz``, ``.h5.zip``) are unpacked once into the cache folder by
:mod:`snn.data.spikes.download`.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import h5py
import numpy as np

from .dataset import SpikeDataset
from .download import decompressed, part_name

__all__ = ["LAYOUT", "SHD_CHANNELS", "read_spike_hdf5", "write_spike_hdf5"]

#: The keys every file in the public layout holds, and their meaning (used in error messages).
LAYOUT = ("spikes/times (vlen float, s), spikes/units (vlen uint16, channel), "
          "labels (uint16 [N])")
#: Input channels of SHD and SSC, the default when a file does not record its own.
SHD_CHANNELS = 700


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
        path = decompressed(path, None if cache_dir is None else Path(cache_dir))
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
    tmp = part_name(path)
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
