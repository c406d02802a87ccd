"""Google Speech Commands v0.02 (Warden 2018) in its public layout, NeuroBench's keyword
spotting data set.

The archive unpacks to one folder per word (``<root>/<word>/<speaker>_nohash_<k>.wav``,
16 kHz mono, at most 1 s), ``_background_noise_/`` (not a class), and the split lists
``validation_list.txt`` and ``testing_list.txt`` (one ``word/file.wav`` per line); every
other clip is training data.  NeuroBench classifies all 35 words.

The folder comes from the ``root`` argument or ``$SNNSIM_SPEECH_COMMANDS_ROOT``; nothing is
downloaded here.

```python
from snn.data import SPEECH_COMMANDS_WORDS
print(len(SPEECH_COMMANDS_WORDS))      # 35
```
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from ..validation import check_choice, check_int
from .fsdd import read_wav

__all__ = ["SPEECH_COMMANDS_WORDS", "SPEECH_COMMANDS_ENV", "speech_commands_files",
           "load_speech_commands"]

#: The 35 words of v0.02, in the sorted order that gives each its label.
SPEECH_COMMANDS_WORDS = (
    "backward", "bed", "bird", "cat", "dog", "down", "eight", "five", "follow", "forward",
    "four", "go", "happy", "house", "learn", "left", "marvin", "nine", "no", "off", "on",
    "one", "right", "seven", "sheila", "six", "stop", "three", "tree", "two", "up", "visual",
    "wow", "yes", "zero")

#: Environment variable naming the data set's folder.
SPEECH_COMMANDS_ENV = "SNNSIM_SPEECH_COMMANDS_ROOT"

SPLITS = ("train", "validation", "test")


def _root(root: str | os.PathLike | None) -> Path:
    if root is None:
        root = os.environ.get(SPEECH_COMMANDS_ENV)
        if not root:
            raise ValueError(f"root must name the Speech Commands folder (or set "
                             f"${SPEECH_COMMANDS_ENV})")
    path = Path(root).expanduser()
    if not path.is_dir():
        raise ValueError(f"root must be the Speech Commands folder, got {str(path)!r}, which "
                         f"is not a folder")
    return path


def speech_commands_files(root: str | os.PathLike | None, split: str) -> list[tuple[str, int]]:
    """The clips of one split as ``(relative path, label)``, sorted by path.

    Args:
        root: the unpacked folder (None: ``$SNNSIM_SPEECH_COMMANDS_ROOT``).
        split: ``"train"``, ``"validation"`` or ``"test"``.

    Returns:
        ``[(word/file.wav, label), ...]`` with ``label`` the word's index in
        :data:`SPEECH_COMMANDS_WORDS`.
    """
    check_choice("split", split, SPLITS)
    base = _root(root)
    lists = {}
    for name, file in (("validation", "validation_list.txt"), ("test", "testing_list.txt")):
        path = base / file
        if not path.is_file():
            raise ValueError(f"{path} is missing: root must be the unpacked Speech Commands "
                             f"folder with its split lists")
        lists[name] = {line.strip() for line in path.read_text().splitlines() if line.strip()}
    index = {word: i for i, word in enumerate(SPEECH_COMMANDS_WORDS)}
    if split != "train":
        chosen = sorted(lists[split])
    else:
        held_out = lists["validation"] | lists["test"]
        chosen = sorted(f"{w.name}/{f.name}" for w in base.iterdir()
                        if w.is_dir() and w.name in index for f in w.glob("*.wav")
                        if f"{w.name}/{f.name}" not in held_out)
    out = []
    for rel in chosen:
        word = rel.split("/", 1)[0]
        if word not in index:
            raise ValueError(f"{rel}: unknown word {word!r} in the split list")
        out.append((rel, index[word]))
    return out


def load_speech_commands(root: str | os.PathLike | None = None, split: str = "test",
                         limit: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Clips of one split, zero-padded (or cut) to 1 s at 16 kHz.

    Args:
        root: the unpacked folder (None: ``$SNNSIM_SPEECH_COMMANDS_ROOT``).
        split: ``"train"``, ``"validation"`` or ``"test"``.
        limit: read only the first ``limit`` clips of the sorted split (>= 1; None: all).

    Returns:
        ``(audio, labels)``: float32 ``[n, 16000]`` (full scale 1) and int64 ``[n]``.
    """
    files = speech_commands_files(root, split)
    if limit is not None:
        files = files[:check_int("limit", limit, minimum=1)]
    base = _root(root)
    audio = np.zeros((len(files), 16000), np.float32)
    for i, (rel, _) in enumerate(files):
        x, rate = read_wav(base / rel)
        if rate != 16000:
            raise ValueError(f"{base / rel}: sample rate {rate} Hz, expected 16000 Hz")
        audio[i, :min(x.size, 16000)] = x[:16000]
    return audio, np.array([label for _, label in files], dtype=np.int64)
