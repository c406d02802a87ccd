"""The Free Spoken Digit Dataset (FSDD), converted to spikes in the SHD layout.

FSDD (https://github.com/Jakobovski/free-spoken-digit-dataset, CC BY-SA 4.0) holds
``recordings/{digit}_{speaker}_{index}.wav``: 8 kHz mono 16-bit PCM, 6 speakers x 10 digits x
50 repetitions.  Its conventional split puts repetitions 0-4 of each (digit, speaker) in the
test set (300 files) and the rest in the training set (2,700).

:func:`convert_fsdd` runs every recording through :func:`~snn.data.cochlea.audio_to_spikes`
and writes ``fsdd_train.h5`` and ``fsdd_test.h5`` in the SHD layout; :func:`load_fsdd` loads
them, converting once into a cache folder keyed on the settings when given the recordings.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import tempfile
import time
import wave
from collections.abc import Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from importlib import resources
from pathlib import Path

import numpy as np

from ..validation import check_choice
from .cochlea import CochleaConfig, audio_to_spikes
from .spikes import SpikeDataset, data_cache_dir, read_spike_hdf5, write_spike_hdf5

__all__ = [
    "FSDD_PATTERN",
    "DIGIT_NAMES",
    "read_wav",
    "fsdd_files",
    "fsdd_checksum",
    "convert_fsdd",
    "load_fsdd",
    "load_sample",
]

#: File names of FSDD recordings: ``{digit}_{speaker}_{index}.wav``.
FSDD_PATTERN = re.compile(r"^(\d)_([A-Za-z0-9-]+)_(\d+)\.wav$")
#: Class names, in label order (stored as ``extra/keys`` like SHD's).
DIGIT_NAMES = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine")
#: Repetitions with an index below this are FSDD's test set.
TEST_INDEX_LIMIT = 5
SPLITS = ("train", "test")
# Bumped whenever the converter's output for a given config changes, so caches rebuild.
# 2: the LIF encoder became snn.models' LIF (fires on '>', the engine's refractory countdown).
_FORMAT_VERSION = 2


def read_wav(path: str | os.PathLike) -> tuple[np.ndarray, int]:
    """Samples (float64 [n_samples], full scale = 1) and sample rate (Hz) of a PCM wav file.

    8-, 16-, 24- and 32-bit integer PCM are read with the standard library's ``wave``;
    several channels are averaged to mono.  Anything else raises ``ValueError`` naming the
    file and the problem.
    """
    path = Path(path).expanduser()
    try:
        with wave.open(str(path), "rb") as w:
            n_channels, width, rate = w.getnchannels(), w.getsampwidth(), w.getframerate()
            frames = w.readframes(w.getnframes())
    except (wave.Error, EOFError) as err:
        raise ValueError(f"{path}: not a readable PCM wav file ({err}); expected integer "
                         f"PCM (8, 16, 24 or 32 bit)") from err
    if width == 1:
        x = (np.frombuffer(frames, dtype=np.uint8).astype(np.float64) - 128.0) / 128.0
    elif width == 2:
        x = np.frombuffer(frames, dtype="<i2") / 32768.0
    elif width == 3:
        b = np.frombuffer(frames, dtype=np.uint8).reshape(-1, 3).astype(np.int32)
        v = b[:, 0] | (b[:, 1] << 8) | (b[:, 2] << 16)
        x = np.where(v >= 1 << 23, v - (1 << 24), v) / float(1 << 23)
    elif width == 4:
        x = np.frombuffer(frames, dtype="<i4") / 2.0**31
    else:
        raise ValueError(f"{path}: unsupported sample width of {width} bytes; expected 1, 2, "
                         f"3 or 4 (8- to 32-bit integer PCM)")
    if n_channels > 1:
        x = x.reshape(-1, n_channels).mean(axis=1)
    if x.size == 0:
        raise ValueError(f"{path}: the recording holds no samples")
    return np.asarray(x, dtype=np.float64), int(rate)


def fsdd_files(recordings_dir: str | os.PathLike) -> list[Path]:
    """The FSDD wav files in a folder, sorted by name; ``ValueError`` if there are none.

    Every ``.wav`` file must be named ``{digit}_{speaker}_{index}.wav``.
    """
    folder = Path(recordings_dir).expanduser()
    if not folder.is_dir():
        raise ValueError(f"recordings_dir {folder} is not a folder; expected the FSDD "
                         f"'recordings' folder of {{digit}}_{{speaker}}_{{index}}.wav files")
    files = sorted(p for p in folder.iterdir() if p.suffix.lower() == ".wav" and p.is_file())
    if not files:
        raise ValueError(f"no .wav files in {folder}; expected the FSDD 'recordings' folder of "
                         f"{{digit}}_{{speaker}}_{{index}}.wav files")
    bad = [p.name for p in files if not FSDD_PATTERN.match(p.name)]
    if bad:
        raise ValueError(f"{folder}: {len(bad)} wav file(s) not named "
                         f"{{digit}}_{{speaker}}_{{index}}.wav, e.g. {bad[:3]}")
    return files


def fsdd_checksum(recordings_dir: str | os.PathLike) -> dict:
    """Fingerprint of a recordings folder: ``{"sha256", "n_files", "total_bytes"}``.

    The SHA-256 runs over the wav files sorted by name; for each it hashes the UTF-8 name, a
    zero byte, the size as 8 little-endian bytes and the content.  ``datasets/fsdd.json``
    records the value of the 3,000-recording release (6 speakers).
    """
    digest = hashlib.sha256()
    total = 0
    files = fsdd_files(recordings_dir)
    for path in files:
        data = path.read_bytes()
        digest.update(path.name.encode() + b"\0" + len(data).to_bytes(8, "little"))
        digest.update(data)
        total += len(data)
    return {"sha256": digest.hexdigest(), "n_files": len(files), "total_bytes": total}


def _parse(path: Path) -> tuple[int, str, int]:
    digit, speaker, index = FSDD_PATTERN.match(path.name).groups()
    return int(digit), speaker, int(index)


def _convert_split(files: Sequence[Path], speakers: Sequence[str], config: CochleaConfig,
                   name: str, progress: bool, workers: int) -> tuple[SpikeDataset, int]:
    def one(path: Path) -> tuple[np.ndarray, np.ndarray, int, float]:
        signal, rate = read_wav(path)
        try:
            times, units = audio_to_spikes(signal, rate, config)
        except ValueError as err:
            raise ValueError(f"{path}: {err}") from err
        return times, units, rate, signal.size / rate

    results: list[tuple[np.ndarray, np.ndarray, int, float]] = []
    bar = None
    if progress:
        from tqdm.auto import tqdm

        bar = tqdm(total=len(files), desc=f"FSDD -> spikes ({name})", unit="file")
    # The compiled kernels release the GIL, so threads overlap the filterbanks of files.
    with ThreadPoolExecutor(max_workers=workers) as pool:
        for result in pool.map(one, files):
            results.append(result)
            if bar is not None:
                bar.update(1)
    if bar is not None:
        bar.close()
    rates = {r[2] for r in results}
    if len(rates) != 1:
        raise ValueError(f"recordings have different sample rates {sorted(rates)} Hz; FSDD is "
                         f"8 kHz throughout")
    parsed = [_parse(p) for p in files]
    speaker_index = {s: i for i, s in enumerate(speakers)}
    extra = {
        "speaker": np.array([speaker_index[s] for _, s, _ in parsed], dtype=np.uint16),
        "repetition": np.array([i for _, _, i in parsed], dtype=np.uint16),
        "duration": np.array([r[3] for r in results], dtype=np.float32),
        "source_file": np.array([p.name for p in files]),
        "speaker_names": np.array(list(speakers)),
        "keys": np.array(DIGIT_NAMES),
    }
    dataset = SpikeDataset([r[0] for r in results], [r[1] for r in results],
                           np.array([d for d, _, _ in parsed]), n_channels=config.n_channels,
                           n_classes=10, extra=extra, name=name)
    return dataset, rates.pop()


def convert_fsdd(recordings_dir: str | os.PathLike, out_dir: str | os.PathLike,
                 config: CochleaConfig | None = None, *, progress: bool = True,
                 files: Iterable[str] | None = None, prefix: str = "fsdd",
                 time_dtype: type = np.float64, workers: int | None = None) -> dict[str, Path]:
    """Convert FSDD recordings to spikes; write ``{prefix}_train.h5`` and ``{prefix}_test.h5``.

    ``recordings_dir`` holds ``{digit}_{speaker}_{index}.wav`` files; ``files`` optionally
    restricts the conversion to those file names.  Repetitions 0-4 go to the test split, the
    rest to train.  Each file is in the SHD layout (``spikes/times`` s, ``spikes/units``
    channel 0 = lowest frequency, ``labels`` = digit) with ``extra/speaker`` (uint16 index
    into ``extra/speaker_names``), ``extra/repetition``, ``extra/duration`` (s, of the
    recording), ``extra/source_file`` and ``extra/keys`` (digit names); its attributes hold
    ``n_channels``, ``n_classes``, ``cochlea_config`` (JSON), ``sample_rate``,
    ``encoder_dt`` (s) and the source.  A split with no files is not written.  ``workers``
    threads (default: all cores) share the work; ``progress`` shows a tqdm bar.  Returns
    ``{split: path}``.
    """
    config = config or CochleaConfig()
    if not isinstance(config, CochleaConfig):
        raise TypeError(f"config must be a CochleaConfig, got {type(config).__name__}")
    available = fsdd_files(recordings_dir)
    if files is not None:
        wanted = {Path(f).name for f in files}
        by_name = {p.name: p for p in available}
        missing = sorted(wanted - set(by_name))
        if missing:
            raise ValueError(f"files not found in {recordings_dir}: {missing[:5]}")
        available = [by_name[n] for n in sorted(wanted)]
        if not available:
            raise ValueError("files is empty; pass at least one recording name")
    speakers = sorted({_parse(p)[1] for p in available})
    # Check the settings against the first file's rate before any work starts.
    with wave.open(str(available[0]), "rb") as w:
        config.check_sample_rate(w.getframerate())
    workers = workers or os.cpu_count() or 1
    out = Path(out_dir).expanduser()
    written: dict[str, Path] = {}
    for split in SPLITS:
        chosen = [p for p in available if (_parse(p)[2] < TEST_INDEX_LIMIT) == (split == "test")]
        if not chosen:
            continue
        name = f"{prefix}_{split}"
        dataset, rate = _convert_split(chosen, speakers, config, name, progress, workers)
        attrs = {
            "cochlea_config": config.to_dict(),
            "sample_rate": rate,
            "encoder_dt": config.step_samples(rate) / rate,
            "format_version": _FORMAT_VERSION,
            "source": "Free Spoken Digit Dataset, https://github.com/Jakobovski/"
                      "free-spoken-digit-dataset (CC BY-SA 4.0)",
            "description": f"FSDD {split} split (repetitions "
                           f"{'0-4' if split == 'test' else '5 and above'}) converted to "
                           f"spikes by snn.data.cochlea.audio_to_spikes",
        }
        written[split] = write_spike_hdf5(out / f"{name}.h5", dataset, time_dtype=time_dtype,
                                          attrs=attrs)
    return written


def _stored_config(path: Path) -> dict | None:
    import h5py

    with h5py.File(path, "r") as f:
        raw = f.attrs.get("cochlea_config")
    return None if raw is None else json.loads(raw)


def _cache_key(files: Sequence[Path], config: CochleaConfig) -> str:
    # Names and sizes identify the recordings cheaply; the config and the format version
    # identify the conversion.
    listing = [(p.name, p.stat().st_size) for p in files]
    blob = json.dumps([_FORMAT_VERSION, config.to_dict(), listing], sort_keys=True)
    return hashlib.sha256(blob.encode()).hexdigest()[:16]


def load_fsdd(root: str | os.PathLike, split: str = "train", config: CochleaConfig | None = None,
              cache_dir: str | os.PathLike | None = None, *, progress: bool = True
              ) -> SpikeDataset:
    """FSDD as spikes: 64 channels by default, 10 classes, ``extra["speaker"]``.

    If ``root`` holds converted ``fsdd_{split}.h5`` files they are read (``config``, if
    given, must equal the one they were made with).  If ``root`` (or ``root/recordings``)
    holds the wav recordings, both splits are converted once with ``config`` (default
    :class:`CochleaConfig`) into ``cache_dir`` (default: ``fsdd-<hash of settings and
    files>`` in the snnsim cache folder, ``$SNNSIM_CACHE_DIR`` or ``~/.cache/snnsim``) and
    read from there afterwards.
    """
    if split not in SPLITS:
        raise ValueError(f"split must be one of {SPLITS}, got {split!r}")
    root = Path(root).expanduser()
    converted = root / f"fsdd_{split}.h5"
    if converted.is_file():
        if config is not None:
            stored = _stored_config(converted)
            if stored is not None and stored != config.to_dict():
                raise ValueError(f"{converted} was made with a different CochleaConfig "
                                 f"({stored}); pass config=None to use it, or point root at "
                                 f"the recordings to convert with yours")
        return read_spike_hdf5(converted)
    recordings = root / "recordings" if (root / "recordings").is_dir() else root
    if not recordings.is_dir():
        raise ValueError(f"root {root} is not a folder; expected converted fsdd_{split}.h5 "
                         f"files or the FSDD wav recordings")
    try:
        files = fsdd_files(recordings)
    except ValueError as err:
        raise ValueError(f"root {root} holds neither fsdd_{split}.h5 nor FSDD recordings: "
                         f"{err}") from err
    config = config or CochleaConfig()
    folder = (Path(cache_dir).expanduser() if cache_dir is not None
              else data_cache_dir() / f"fsdd-{_cache_key(files, config)}")
    target = folder / f"fsdd_{split}.h5"
    if not target.is_file():
        folder.mkdir(parents=True, exist_ok=True)
        # Convert into a private folder, then move the files in: a concurrent or interrupted
        # conversion never leaves a partial file under the final name.
        scratch = Path(tempfile.mkdtemp(dir=folder, prefix=".convert-"))
        try:
            start = time.perf_counter()
            made = convert_fsdd(recordings, scratch, config, progress=progress)
            for path in made.values():
                os.replace(path, folder / path.name)
            (folder / "conversion.json").write_text(json.dumps({
                "recordings": str(recordings.resolve()), "n_files": len(files),
                "seconds": round(time.perf_counter() - start, 3),
                "cochlea_config": config.to_dict()}, indent=2))
        finally:
            shutil.rmtree(scratch, ignore_errors=True)
    return read_spike_hdf5(target)


def load_sample(split: str = "train") -> SpikeDataset:
    """The small FSDD sample shipped inside the package (``snn/data/samples``).

    Args:
        split: ``"train"`` (240 utterances) or ``"test"`` (60); all 6 speakers and 10
            digits, converted with the default :class:`CochleaConfig`.

    Returns:
        A :class:`SpikeDataset`: 64 channels, 10 classes, ``extra["speaker"]``.
    """
    check_choice("split", split, SPLITS)
    resource = resources.files(__package__) / "samples" / f"fsdd_sample_{split}.h5"
    # A real file for h5py, also when the package is imported from a zip archive.
    with resources.as_file(resource) as path:
        return read_spike_hdf5(path)
