"""Event-camera and silicon-cochlea recordings as tonic-style structured event arrays.

Two public layouts are read here, both into numpy structured arrays as the ``tonic`` library
hands them out, then into a :class:`~snn.data.SpikeDataset` for the engine:

* N-MNIST (Orchard et al. 2015): one binary file per sample, ``<root>/<Train|Test>/<digit>/
  <id>.bin``; every event is 5 bytes: ``x`` (byte 0), ``y`` (byte 1), polarity (bit 7 of
  byte 2) and a 23-bit timestamp in microseconds (the low 7 bits of byte 2, then bytes 3
  and 4, big-endian).  Events with ``y == 240`` mark a timestamp overflow: later timestamps
  gain ``2**13`` us.  Array dtype :data:`XYTP` (``x``, ``y``, ``t`` in us, ``p``).
* N-TIDIGITS (Anumula et al. 2018): one HDF5 file with ``<split>_labels`` (the sample keys,
  bytes) and, per key, ``<split>_addresses/<key>`` (cochlea channel, 0..63) and
  ``<split>_timestamps/<key>`` (seconds).  Keys end in the spoken digits and a take letter
  (``...-3a``: the digit 3; ``z`` is zero, ``o`` is "oh").  Array dtype :data:`TXP` (``t``
  in us, ``x`` the channel, ``p`` always 1), as tonic's NTIDIGITS.

Channels of a :class:`~snn.data.SpikeDataset` built from image events are
``(p * height + y) * width + x`` (two polarity planes), from audio events the cochlea channel.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from ..validation import check_array, check_choice, check_int
from .spikes.dataset import SpikeDataset

__all__ = ["NMNIST_SENSOR", "TXP", "XYTP", "events_to_dataset", "load_nmnist",
           "load_ntidigits", "read_nmnist_bin", "read_ntidigits", "write_nmnist_bin"]

XYTP = np.dtype([("x", np.int16), ("y", np.int16), ("t", np.int64), ("p", bool)])
"""Image events: pixel ``x``, ``y``, time ``t`` (us) and polarity ``p`` (tonic's layout)."""
TXP = np.dtype([("t", np.int64), ("x", np.int16), ("p", np.int8)])
"""Audio events: time ``t`` (us), channel ``x``, polarity ``p`` (tonic's N-TIDIGITS layout)."""
NMNIST_SENSOR = (34, 34, 2)
"""N-MNIST sensor size ``(width, height, polarities)``."""
_OVERFLOW_Y = 240
_OVERFLOW_US = 2**13


def read_nmnist_bin(path: str | os.PathLike) -> np.ndarray:
    """Events of one N-MNIST ``.bin`` file (timestamp-overflow markers removed).

    Args:
        path: the file.

    Returns:
        A structured array of dtype :data:`XYTP`, in file order.
    """
    raw = np.fromfile(Path(path), dtype=np.uint8)
    if raw.size % 5:
        raise ValueError(f"{path}: an N-MNIST file holds 5-byte events; got {raw.size} bytes")
    raw = raw.reshape(-1, 5).astype(np.int64)
    t = ((raw[:, 2] & 0x7F) << 16) | (raw[:, 3] << 8) | raw[:, 4]
    overflow = raw[:, 1] == _OVERFLOW_Y
    t = t + _OVERFLOW_US * np.cumsum(overflow)
    keep = ~overflow
    out = np.empty(int(keep.sum()), dtype=XYTP)
    out["x"], out["y"] = raw[keep, 0], raw[keep, 1]
    out["t"], out["p"] = t[keep], (raw[keep, 2] >> 7).astype(bool)
    return out


def write_nmnist_bin(path: str | os.PathLike, events: np.ndarray) -> None:
    """Write events in the N-MNIST binary layout (timestamps below ``2**23`` us).

    Args:
        path: the file to write.
        events: a structured array with fields ``x``, ``y`` (0..239 / 0..255), ``t`` (us,
            0 <= t < 2**23) and ``p``.
    """
    for name in ("x", "y", "t", "p"):
        if events.dtype.names is None or name not in events.dtype.names:
            raise ValueError(f"events must have fields x, y, t, p; missing {name!r}")
    x, y, t = (np.asarray(events[k], dtype=np.int64) for k in ("x", "y", "t"))
    if x.size and (x.min() < 0 or x.max() > 255 or y.min() < 0 or y.max() >= _OVERFLOW_Y):
        raise ValueError("events x must lie in [0, 255] and y in [0, 239]")
    if t.size and (t.min() < 0 or t.max() >= 2**23):
        raise ValueError("events t must lie in [0, 2**23) us")
    p = np.asarray(events["p"], dtype=np.int64) & 1
    raw = np.stack([x, y, (p << 7) | (t >> 16), (t >> 8) & 0xFF, t & 0xFF], axis=1)
    raw.astype(np.uint8).tofile(Path(path))


def events_to_dataset(events: Sequence[np.ndarray], labels: Sequence[int] | np.ndarray, *,
                      sensor_size: tuple[int, int, int], name: str = "") -> SpikeDataset:
    """Tonic-style event arrays as a :class:`~snn.data.SpikeDataset`.

    Args:
        events: one structured array per sample with ``t`` (us) and ``x`` (and ``y``,
            ``p`` for image events).
        labels: one integer label per sample.
        sensor_size: ``(width, height, polarities)``; ``(64, 1, 1)`` for N-TIDIGITS.
        name: the dataset's name.

    Returns:
        The dataset; times in s from each sample's first event, channels
        ``(p * height + y) * width + x``.
    """
    if len(sensor_size) != 3:
        raise ValueError(f"sensor_size must be (width, height, polarities), got {sensor_size}")
    width, height, pols = (check_int(f"sensor_size[{k}]", v, minimum=1)
                           for k, v in enumerate(sensor_size))
    labels = check_array("labels", labels, shape=(len(events),), kind="iu", dtype=np.int64)
    times, units = [], []
    for k, ev in enumerate(events):
        fields = ev.dtype.names or ()
        if "t" not in fields or "x" not in fields:
            raise ValueError(f"events[{k}] must be a structured array with fields t and x")
        x = np.asarray(ev["x"], dtype=np.int64)
        y = np.asarray(ev["y"], dtype=np.int64) if "y" in fields else np.zeros_like(x)
        p = (np.asarray(ev["p"], dtype=np.int64) if "p" in fields and pols > 1
             else np.zeros_like(x))
        if x.size and (x.min() < 0 or x.max() >= width or y.min() < 0 or y.max() >= height
                       or p.min() < 0 or p.max() >= pols):
            raise ValueError(f"events[{k}] fall outside sensor_size {sensor_size}")
        t = np.asarray(ev["t"], dtype=np.float64)
        t = (t - t.min()) * 1e-6 if t.size else t
        order = np.argsort(t, kind="stable")
        times.append(t[order])
        units.append(((p * height + y) * width + x)[order])
    return SpikeDataset(times, units, labels, n_channels=width * height * pols, name=name)


def load_nmnist(root: str | os.PathLike | None = None, split: str = "train", *,
                max_per_class: int | None = None) -> SpikeDataset:
    """N-MNIST from its public folder layout.

    Args:
        root: the folder holding ``Train/`` and ``Test/`` (or the ``SNNSIM_NMNIST``
            environment variable when None).
        split: ``"train"`` or ``"test"``.
        max_per_class: read at most this many files per digit (sorted by name).

    Returns:
        A :class:`~snn.data.SpikeDataset` of ``34 * 34 * 2`` channels, labels 0..9.
    """
    check_choice("split", split, ("train", "test"))
    if root is None:
        root = os.environ.get("SNNSIM_NMNIST")
        if not root:
            raise ValueError("root must name the N-MNIST folder (or set SNNSIM_NMNIST)")
    if max_per_class is not None:
        max_per_class = check_int("max_per_class", max_per_class, minimum=1)
    base = Path(root) / split.capitalize()
    if not base.is_dir():
        raise FileNotFoundError(f"no {split.capitalize()}/ folder under {root}")
    events, labels = [], []
    for digit in range(10):
        files = sorted((base / str(digit)).glob("*.bin"))[:max_per_class]
        events += [read_nmnist_bin(f) for f in files]
        labels += [digit] * len(files)
    if not events:
        raise FileNotFoundError(f"no .bin files under {base}/<digit>/")
    return events_to_dataset(events, labels, sensor_size=NMNIST_SENSOR, name=f"nmnist-{split}")


_SPOKEN = {"z": 0, "o": 10, **{str(d): d for d in range(1, 10)}}


def read_ntidigits(path: str | os.PathLike, split: str = "train", *,
                   single_digits: bool = True) -> tuple[list[np.ndarray], np.ndarray]:
    """Samples of an N-TIDIGITS HDF5 file as tonic-style arrays.

    Args:
        path: the ``n-tidigits.hdf5`` file.
        split: ``"train"`` or ``"test"``.
        single_digits: keep only utterances of one digit (labels 0..9 and 10 for "oh").

    Returns:
        ``(events, labels)``: arrays of dtype :data:`TXP` and int64 labels (-1 for
        multi-digit utterances when ``single_digits`` is False).
    """
    import h5py

    check_choice("split", split, ("train", "test"))
    events, labels = [], []
    with h5py.File(Path(path), "r") as f:
        for key in f[f"{split}_labels"][()]:
            key = key.decode() if isinstance(key, bytes) else str(key)
            spoken = key.rsplit("-", 1)[-1][:-1]  # drop the take letter
            if single_digits and (len(spoken) != 1 or spoken not in _SPOKEN):
                continue
            t = np.asarray(f[f"{split}_timestamps/{key}"][()], dtype=np.float64)
            ev = np.empty(t.size, dtype=TXP)
            ev["t"] = np.rint(t * 1e6).astype(np.int64)
            ev["x"] = np.asarray(f[f"{split}_addresses/{key}"][()], dtype=np.int64)
            ev["p"] = 1
            events.append(ev)
            labels.append(_SPOKEN[spoken] if len(spoken) == 1 and spoken in _SPOKEN else -1)
    return events, np.asarray(labels, dtype=np.int64)


def load_ntidigits(path: str | os.PathLike | None = None, split: str = "train") -> SpikeDataset:
    """The single-digit utterances of N-TIDIGITS (digits 0..9; "oh" left out).

    Args:
        path: the ``n-tidigits.hdf5`` file (or the ``SNNSIM_NTIDIGITS`` environment
            variable when None).
        split: ``"train"`` or ``"test"``.

    Returns:
        A :class:`~snn.data.SpikeDataset` of 64 channels, labels 0..9.
    """
    if path is None:
        path = os.environ.get("SNNSIM_NTIDIGITS")
        if not path:
            raise ValueError("path must name n-tidigits.hdf5 (or set SNNSIM_NTIDIGITS)")
    events, labels = read_ntidigits(path, split)
    keep = [k for k, y in enumerate(labels) if 0 <= y <= 9]
    if not keep:
        raise ValueError(f"{path} holds no single-digit utterance in split {split!r}")
    return events_to_dataset([events[k] for k in keep], labels[keep], sensor_size=(64, 1, 1),
                             name=f"ntidigits-{split}")
