"""The MSWC keyword subset of NeuroBench's few-shot class-incremental task, in the layout of
its published archive (``mswc_fscil.tar.gz``, with the 16 kHz wav conversion).

``<root>/MSWC/`` holds ``base_train.csv``, ``base_val.csv`` and ``base_test.csv`` (the 100
base classes) and ``<lang>/evaluation.csv`` (the 100 incremental classes of one language);
each CSV has a header line and rows ``path,word,language``, the clip being
``<root>/MSWC/<language>/clips/<path>``.  Clips are 1 s at most; this reader takes wav files
(the opus originals are not decoded here).

The folder comes from an argument or ``$SNNSIM_MSWC_ROOT``; nothing is downloaded.
"""

from __future__ import annotations

import csv
import os
from pathlib import Path

import numpy as np

from ..validation import check_choice, check_int
from .fsdd import read_wav

__all__ = ["MSWC_ENV", "mswc_fscil_files", "load_mswc_fscil"]

#: Environment variable naming the folder that contains ``MSWC/``.
MSWC_ENV = "SNNSIM_MSWC_ROOT"


def _folder(root: str | os.PathLike | None) -> Path:
    if root is None:
        root = os.environ.get(MSWC_ENV)
        if not root:
            raise ValueError(f"root must name the folder holding MSWC/ (or set ${MSWC_ENV})")
    folder = Path(root).expanduser() / "MSWC"
    if not folder.is_dir():
        raise ValueError(f"{folder} is not a folder: root must hold the unpacked MSWC/ folder")
    return folder


def mswc_fscil_files(root: str | os.PathLike | None, split: str,
                     language: str = "en") -> list[tuple[Path, str]]:
    """The clips of one split as ``(audio path, word)``.

    Args:
        root: the folder holding ``MSWC/`` (None: ``$SNNSIM_MSWC_ROOT``).
        split: ``"base_train"``, ``"base_val"``, ``"base_test"`` or ``"evaluation"``.
        language: the language folder of ``"evaluation"`` (e.g. ``"en"``).

    Returns:
        The rows of the split file, in its order.
    """
    check_choice("split", split, ("base_train", "base_val", "base_test", "evaluation"))
    folder = _folder(root)
    table = folder / language / "evaluation.csv" if split == "evaluation" else \
        folder / f"{split}.csv"
    if not table.is_file():
        raise ValueError(f"{table} is missing: expected the published MSWC FSCIL layout")
    rows = []
    with table.open(newline="", encoding="utf-8") as f:
        reader = csv.reader(f)
        next(reader, None)  # header
        for row in reader:
            if len(row) != 3:
                raise ValueError(f"{table}: rows must be path,word,language, got {row}")
            path, word, lang = (field.strip() for field in row)
            rows.append((folder / lang / "clips" / path, word))
    return rows


def load_mswc_fscil(root: str | os.PathLike | None = None, split: str = "base_test",
                    language: str = "en", limit: int | None = None
                    ) -> tuple[np.ndarray, np.ndarray, tuple[str, ...]]:
    """Clips of one split, zero-padded (or cut) to 1 s at 16 kHz.

    Args:
        root: the folder holding ``MSWC/`` (None: ``$SNNSIM_MSWC_ROOT``).
        split: as for :func:`mswc_fscil_files`.
        language: the language of ``"evaluation"``.
        limit: read only the first ``limit`` rows (>= 1; None: all).

    Returns:
        ``(audio, labels, words)``: float32 ``[n, 16000]``, int64 ``[n]`` indexing
        ``words`` (the split's words, sorted).
    """
    rows = mswc_fscil_files(root, split, language)
    if limit is not None:
        rows = rows[:check_int("limit", limit, minimum=1)]
    words = tuple(sorted({word for _, word in rows}))
    index = {word: i for i, word in enumerate(words)}
    audio = np.zeros((len(rows), 16000), np.float32)
    for i, (path, _) in enumerate(rows):
        if path.suffix.lower() != ".wav":
            path = path.with_suffix(".wav")
        x, rate = read_wav(path)
        if rate != 16000:
            raise ValueError(f"{path}: sample rate {rate} Hz, expected the 16 kHz conversion")
        audio[i, :min(x.size, 16000)] = x[:16000]
    return audio, np.array([index[w] for _, w in rows], dtype=np.int64), words
