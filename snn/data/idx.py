"""MNIST's IDX file format: read and write, plain or gzipped; load MNIST-layout folders.

An IDX file is a 4-byte magic number (two zero bytes, a type code, the number of
dimensions), one big-endian uint32 per dimension, then the values big-endian in C order.
Type codes: 0x08 uint8, 0x09 int8, 0x0B int16, 0x0C int32, 0x0D float32, 0x0E float64.
"""

from __future__ import annotations

import gzip
import os
from pathlib import Path

import numpy as np

__all__ = ["read_idx", "write_idx", "load_mnist_idx"]

_CODES = {0x08: np.dtype("u1"), 0x09: np.dtype("i1"), 0x0B: np.dtype(">i2"),
          0x0C: np.dtype(">i4"), 0x0D: np.dtype(">f4"), 0x0E: np.dtype(">f8")}
_BY_KIND = {(dt.kind, dt.itemsize): code for code, dt in _CODES.items()}

MNIST_FILES = {"x_train": "train-images-idx3-ubyte", "y_train": "train-labels-idx1-ubyte",
               "x_test": "t10k-images-idx3-ubyte", "y_test": "t10k-labels-idx1-ubyte"}


def _open(path: Path, mode: str):
    return gzip.open(path, mode) if path.suffix == ".gz" else open(path, mode)


def read_idx(path: str | os.PathLike) -> np.ndarray:
    """The array stored in IDX file ``path`` (``.gz`` read as gzip), in native byte order."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"path: no IDX file at {path}")
    with _open(path, "rb") as f:
        data = f.read()
    if len(data) < 4 or data[0] != 0 or data[1] != 0 or data[2] not in _CODES:
        raise ValueError(f"{path}: not an IDX file (magic must be 00 00 <type code> <ndim> with "
                         f"a type code in {sorted(hex(c) for c in _CODES)}, got "
                         f"{data[:4].hex(' ')})")
    dtype, ndim = _CODES[data[2]], data[3]
    header = 4 + 4 * ndim
    if len(data) < header:
        raise ValueError(f"{path}: truncated IDX header ({ndim} dimensions need {header} bytes, "
                         f"file has {len(data)})")
    shape = tuple(int(d) for d in np.frombuffer(data, ">u4", ndim, 4))
    expected = header + int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
    if len(data) != expected:
        raise ValueError(f"{path}: IDX size mismatch: shape {shape} of {dtype.name} needs "
                         f"{expected} bytes, file has {len(data)}")
    values = np.frombuffer(data, dtype, offset=header).reshape(shape)
    return values.astype(dtype.newbyteorder("="))


def write_idx(path: str | os.PathLike, array: np.ndarray) -> None:
    """Write ``array`` (uint8, int8, int16, int32, float32 or float64; at most 255 dims) to
    ``path`` in IDX format (gzipped if the name ends in ``.gz``)."""
    array = np.asarray(array)
    code = _BY_KIND.get((array.dtype.kind, array.dtype.itemsize))
    if code is None or array.dtype.kind not in "uif" or (array.dtype.kind == "u"
                                                         and array.dtype.itemsize != 1):
        raise TypeError(f"array must be uint8, int8, int16, int32, float32 or float64, got "
                        f"{array.dtype}")
    if array.ndim > 255:
        raise ValueError(f"array must have at most 255 dimensions, got {array.ndim}")
    header = bytes([0, 0, code, array.ndim]) + np.asarray(array.shape, ">u4").tobytes()
    with _open(Path(path), "wb") as f:
        f.write(header + np.ascontiguousarray(array, _CODES[code]).tobytes())


def _find(root: Path, stem: str) -> Path:
    for name in (stem, stem + ".gz", stem.replace("-idx", ".idx")):
        if (root / name).is_file():
            return root / name
    raise FileNotFoundError(f"root: {root} has no {stem} (or {stem}.gz); expected the four "
                            f"MNIST files {', '.join(MNIST_FILES.values())}")


def load_mnist_idx(root: str | os.PathLike
                   ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """MNIST (or Fashion-MNIST) from the four IDX files in ``root`` as ``x_train, y_train,
    x_test, y_test``: images float32 ``[N, rows * cols]`` in ``[0, 1]``, labels int64."""
    root = Path(root)
    if not root.is_dir():
        raise FileNotFoundError(f"root: no folder at {root}")
    arrays = {key: read_idx(_find(root, stem)) for key, stem in MNIST_FILES.items()}
    for split in ("train", "test"):
        x, y = arrays[f"x_{split}"], arrays[f"y_{split}"]
        if x.ndim != 3 or y.ndim != 1 or x.shape[0] != y.shape[0]:
            raise ValueError(f"{split}: images must be [N, rows, cols] and labels [N] with the "
                             f"same N, got {x.shape} and {y.shape}")
    scale = 255.0 if arrays["x_train"].dtype == np.uint8 else 1.0

    def flat(x):
        return (x.reshape(x.shape[0], -1) / scale).astype(np.float32)

    return (flat(arrays["x_train"]), arrays["y_train"].astype(np.int64),
            flat(arrays["x_test"]), arrays["y_test"].astype(np.int64))
