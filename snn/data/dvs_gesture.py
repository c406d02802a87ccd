"""IBM DVS Gesture (Amir et al. 2017), NeuroBench's gesture data, in its public layout.

The archive ``DvsGesture.tar.gz`` unpacks to ``DvsGesture/`` with one recording per user
and lighting, ``userNN_<lighting>.aedat`` (AEDAT 3.1: ``#`` header lines, then packets of a
28-byte header -- type, source, event size, timestamp offset, overflow, capacity, count,
valid count -- followed by the events; a polarity event is a ``uint32`` word, bit 1 the
polarity, bits 2-16 ``y`` and bits 17-31 ``x``, then a ``uint32`` timestamp in µs), its
labels ``userNN_<lighting>_labels.csv`` (``class,startTime_usec,endTime_usec``, classes
1..11) and the split lists ``trials_to_train.txt`` / ``trials_to_test.txt`` (one ``.aedat``
name per line).  The sensor is 128 x 128.

The folder comes from an argument or ``$SNNSIM_DVS_GESTURE_ROOT``; nothing is downloaded.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import NamedTuple

import numpy as np

from ..validation import check_choice

__all__ = ["DVS_GESTURE_ENV", "GestureSample", "read_aedat_polarity", "load_dvs_gesture"]

#: Environment variable naming the unpacked ``DvsGesture`` folder.
DVS_GESTURE_ENV = "SNNSIM_DVS_GESTURE_ROOT"

_POLARITY_EVENT = 1
_HEADER = np.dtype([("type", "<i2"), ("source", "<i2"), ("size", "<i4"), ("ts_offset", "<i4"),
                    ("ts_overflow", "<i4"), ("capacity", "<i4"), ("number", "<i4"),
                    ("valid", "<i4")])


class GestureSample(NamedTuple):
    """One gesture: its events and class (0..10, the file's class minus 1).

    Shapes:
        ``t`` int64 ``[n]`` (µs from the gesture's start), ``x``, ``y`` int16 ``[n]`` in
        ``0..127``, ``p`` int8 ``[n]`` (0 off, 1 on).
    """

    t: np.ndarray
    x: np.ndarray
    y: np.ndarray
    p: np.ndarray
    label: int


def read_aedat_polarity(path: str | os.PathLike) -> tuple[np.ndarray, ...]:
    """The polarity events of an AEDAT 3.1 file.

    Args:
        path: the ``.aedat`` file.

    Returns:
        ``(t, x, y, p)``: int64 µs (with the packets' overflow), int16, int16, int8 ``[n]``.
    """
    data = Path(path).read_bytes()
    pos = 0
    while data.startswith(b"#", pos):  # text header lines
        end = data.find(b"\n", pos)
        if end < 0:
            raise ValueError(f"{path}: header without an end")
        pos = end + 1
    parts = []
    while pos + _HEADER.itemsize <= len(data):
        header = np.frombuffer(data, _HEADER, 1, pos)[0]
        pos += _HEADER.itemsize
        size, number = int(header["size"]), int(header["number"])
        if size <= 0 or pos + size * number > len(data):
            raise ValueError(f"{path}: truncated or malformed event packet at byte {pos}")
        if int(header["type"]) == _POLARITY_EVENT:
            words = np.frombuffer(data, "<u4", number * size // 4, pos).reshape(number, -1)
            valid = (words[:, 0] & 1) == 1
            overflow = np.int64(header["ts_overflow"]) << 31
            parts.append((words[valid, 1].astype(np.int64) + overflow,
                          ((words[valid, 0] >> 17) & 0x7FFF).astype(np.int16),
                          ((words[valid, 0] >> 2) & 0x7FFF).astype(np.int16),
                          ((words[valid, 0] >> 1) & 1).astype(np.int8)))
        pos += size * number
    if not parts:
        return (np.zeros(0, np.int64), np.zeros(0, np.int16), np.zeros(0, np.int16),
                np.zeros(0, np.int8))
    return tuple(np.concatenate(column) for column in zip(*parts))


def load_dvs_gesture(root: str | os.PathLike | None = None, split: str = "test"
                     ) -> list[GestureSample]:
    """The gestures of one split, cut from each recording by its labels file.

    Args:
        root: the unpacked ``DvsGesture`` folder (None: ``$SNNSIM_DVS_GESTURE_ROOT``).
        split: ``"train"`` or ``"test"``.

    Returns:
        The :class:`GestureSample` list, recordings in the split list's order.
    """
    check_choice("split", split, ("train", "test"))
    if root is None:
        root = os.environ.get(DVS_GESTURE_ENV)
        if not root:
            raise ValueError(f"root must name the DvsGesture folder (or set ${DVS_GESTURE_ENV})")
    base = Path(root).expanduser()
    listing = base / f"trials_to_{split}.txt"
    if not listing.is_file():
        raise ValueError(f"{listing} is missing: root must be the unpacked DvsGesture folder")
    samples = []
    for name in (line.strip() for line in listing.read_text().splitlines()):
        if not name:
            continue
        t, x, y, p = read_aedat_polarity(base / name)
        labels = np.loadtxt(base / name.replace(".aedat", "_labels.csv"), delimiter=",",
                            skiprows=1, dtype=np.int64, ndmin=2)
        for cls, start, end in labels:
            inside = (t >= start) & (t < end)
            samples.append(GestureSample(t[inside] - start, x[inside], y[inside], p[inside],
                                         int(cls) - 1))
    return samples
