"""The Spiking Heidelberg Digits (SHD) and Spiking Speech Commands (SSC) data sets.

Cramer, Stradmann, Schemmel & Zenke, IEEE TNNLS 33(7):2744-2757 (2022).  Both come as one
HDF5 file per split in the layout of :mod:`snn.data.spikes.hdf5`; the manifests with URLs
and checksums are ``datasets/shd.json`` and ``datasets/ssc.json``.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from .dataset import SpikeDataset
from .hdf5 import SHD_CHANNELS, read_spike_hdf5

__all__ = ["load_shd", "load_ssc"]

SHD_CLASSES = 20
SSC_CLASSES = 35


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
