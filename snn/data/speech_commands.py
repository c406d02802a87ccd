"""Google Speech Commands v0.02 (35 words) and the log-mel front end of the delay paper.

The public archive (Warden 2018, CC BY 4.0) unpacks into one folder per word holding 1 s,
16 kHz, 16-bit PCM recordings named ``{speaker}_nohash_{n}.wav``, plus
``validation_list.txt`` and ``testing_list.txt`` (paths relative to the root, one a line)
and ``_background_noise_/`` (long noise recordings, not utterances).  The conventional split
is: the files of each list form the validation and test sets, every other utterance the
training set (84,843 / 9,981 / 11,005).

The front end is the non-spiking one of Hammouamri, Khalfaoui-Hassani & Masquelier (ICLR
2024, code ``Thvnvtos/SNN-delays``, ``datasets.py``): each recording is zero-padded or cut to
1 s, resampled to 8 kHz (windowed-sinc low-pass, Hann window, 6 zero crossings, roll-off
0.99), turned into a power spectrogram (256-point periodic Hann window, hop 80 samples =
10 ms, centred frames with reflected edges: 101 frames), projected on 140 triangular mel
bands (HTK mel scale, 50 Hz to 14 kHz, no area normalisation) and taken to decibels
(``10 log10(max(p, 1e-10))``).  The mel range is the paper's: above the 4 kHz Nyquist
frequency of the resampled audio the bands are empty, so 53 of the 140 are a constant
-100 dB.  The whole chain is written here with numpy and torch (it equals torchaudio's
``Resample``, ``Spectrogram``, ``MelScale`` and ``AmplitudeToDB`` with those settings).

:func:`load_speech_commands` returns a split as :class:`~snn.data.BinnedSpikes` whose
``counts`` are the float32 log-mel frames ``[N, 101, 140]`` (``dt`` = 10 ms), so the delay
network trains on it like on binned spikes.  Features are computed once per split and kept
as a ``.npy`` file in the cache folder (``$SNNSIM_CACHE_DIR``), read back memory-mapped.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
from collections.abc import Sequence
from dataclasses import dataclass, fields
from pathlib import Path

import numpy as np

from ..validation import check_choice, check_int, check_positive, check_real
from .binning import BinnedSpikes
from .spikes import data_cache_dir
from .spikes.download import part_name

__all__ = [
    "GSC_CLASSES",
    "GSC_SPLITS",
    "LogMelConfig",
    "mel_filterbank",
    "resample",
    "power_spectrogram",
    "log_mel",
    "speech_commands_files",
    "load_speech_commands",
    "speech_commands_noise",
    "speech_commands_audio",
    "SPEECH_COMMANDS_ENV",
]

#: Environment variable naming the unpacked folder, read by :func:`speech_commands_audio`
#: when no root is given.
SPEECH_COMMANDS_ENV = "SNNSIM_SPEECH_COMMANDS_ROOT"

#: The 35 words of Speech Commands v0.02, in label order (alphabetical, as the delay paper's
#: code numbers them).
GSC_CLASSES = ("backward", "bed", "bird", "cat", "dog", "down", "eight", "five", "follow",
               "forward", "four", "go", "happy", "house", "learn", "left", "marvin", "nine",
               "no", "off", "on", "one", "right", "seven", "sheila", "six", "stop", "three",
               "tree", "two", "up", "visual", "wow", "yes", "zero")
#: Split names (as for SSC): training, validation and test.
GSC_SPLITS = ("train", "valid", "test")
_LIST_FILES = {"valid": "validation_list.txt", "test": "testing_list.txt"}
_NOISE_FOLDER = "_background_noise_"
_FORMAT_VERSION = 1


@dataclass(frozen=True)
class LogMelConfig:
    """Settings of the log-mel front end (defaults: the delay paper's GSC front end)."""

    sample_rate: int = 16000  #: sample rate of the recordings (Hz)
    duration: float = 1.0  #: every recording is zero-padded or cut to this length (s)
    resample_rate: int = 8000  #: rate after resampling (Hz)
    n_fft: int = 256  #: FFT and window length (samples at resample_rate)
    hop_length: int = 80  #: samples between frames (at resample_rate; 80 = 10 ms)
    n_mels: int = 140  #: mel bands
    f_min: float = 50.0  #: lowest band edge (Hz)
    f_max: float = 14000.0  #: highest band edge (Hz; bands above resample_rate / 2 are empty)
    amin: float = 1e-10  #: power floor before the logarithm
    lowpass_zero_crossings: int = 6  #: half-length of the resampling filter (zero crossings)
    rolloff: float = 0.99  #: resampling cut-off, as a fraction of the lower Nyquist frequency

    def __post_init__(self) -> None:
        owner = "LogMelConfig"
        for name in ("sample_rate", "resample_rate", "n_fft", "hop_length", "n_mels",
                     "lowpass_zero_crossings"):
            check_int(f"{owner}.{name}", getattr(self, name), minimum=1)
        for name in ("duration", "f_max", "amin"):
            check_positive(f"{owner}.{name}", getattr(self, name))
        check_real(f"{owner}.f_min", self.f_min, minimum=0.0)
        check_real(f"{owner}.rolloff", self.rolloff, minimum=0.0, maximum=1.0)
        if self.rolloff == 0.0:
            raise ValueError(f"{owner}.rolloff must be in (0, 1], got 0")
        if self.f_min >= self.f_max:
            raise ValueError(f"{owner}.f_min must be < f_max={self.f_max} Hz, got {self.f_min}")

    @property
    def n_samples(self) -> int:
        """Samples per recording after padding or cutting (at ``sample_rate``)."""
        return int(round(self.duration * self.sample_rate))

    @property
    def n_frames(self) -> int:
        """Frames per recording (centred frames: ``1 + resampled length // hop_length``)."""
        resampled = math.ceil(self.resample_rate * self.n_samples / self.sample_rate)
        return 1 + resampled // self.hop_length

    @property
    def dt(self) -> float:
        """Time between frames (s)."""
        return self.hop_length / self.resample_rate

    def to_dict(self) -> dict:
        """The fields as a plain dictionary (for JSON and cache keys)."""
        return {f.name: getattr(self, f.name) for f in fields(self)}


def _hz_to_mel(hz: np.ndarray | float) -> np.ndarray:
    return 2595.0 * np.log10(1.0 + np.asarray(hz, dtype=np.float64) / 700.0)


def _mel_to_hz(mel: np.ndarray) -> np.ndarray:
    return 700.0 * (10.0 ** (np.asarray(mel, dtype=np.float64) / 2595.0) - 1.0)


def mel_filterbank(n_freqs: int, f_min: float, f_max: float, n_mels: int,
                   sample_rate: float) -> np.ndarray:
    """Triangular mel filters on the HTK mel scale (``2595 log10(1 + f / 700)``), unnormalised.

    Band ``m`` rises linearly from 0 at edge ``m`` to 1 at edge ``m + 1`` and falls back to 0
    at edge ``m + 2``, the ``n_mels + 2`` edges being equally spaced in mel from ``f_min`` to
    ``f_max``; the spectrum's bins sit at ``linspace(0, sample_rate // 2, n_freqs)`` Hz.

    Args:
        n_freqs: frequency bins of the spectrum (``n_fft // 2 + 1``).
        f_min: lowest edge (Hz, >= 0).
        f_max: highest edge (Hz, > f_min).
        n_mels: number of bands (>= 1).
        sample_rate: sample rate of the spectrum's signal (Hz).

    Returns:
        The weights, float64 ``[n_freqs, n_mels]`` (spectrum ``[..., n_freqs] @ weights``).
    """
    n_freqs = check_int("n_freqs", n_freqs, minimum=2)
    n_mels = check_int("n_mels", n_mels, minimum=1)
    f_min = check_real("f_min", f_min, minimum=0.0, unit="Hz")
    f_max = check_positive("f_max", f_max, unit="Hz")
    sample_rate = check_positive("sample_rate", sample_rate, unit="Hz")
    if f_min >= f_max:
        raise ValueError(f"f_min must be < f_max={f_max} Hz, got {f_min}")
    freqs = np.linspace(0.0, float(sample_rate // 2), n_freqs)
    edges = _mel_to_hz(np.linspace(_hz_to_mel(f_min), _hz_to_mel(f_max), n_mels + 2))
    widths = np.diff(edges)                                    # [n_mels + 1]
    to_edge = edges[None, :] - freqs[:, None]                  # [n_freqs, n_mels + 2]
    rising = -to_edge[:, :-2] / widths[:-1]
    falling = to_edge[:, 2:] / widths[1:]
    return np.maximum(0.0, np.minimum(rising, falling))


def _sinc_kernel(orig: int, new: int, zero_crossings: int, rolloff: float):
    """Polyphase windowed-sinc filter for ``orig -> new`` (both divided by their gcd):
    ``[new, 2 * width + orig]`` taps and the padding ``width``."""
    cutoff = min(orig, new) * rolloff
    width = math.ceil(zero_crossings * orig / cutoff)
    taps = np.arange(-width, width + orig, dtype=np.float64) / orig
    # Output phase j reads input i at time i / orig - j / new (in input periods x orig).
    t = (-np.arange(new, dtype=np.float64)[:, None] / new + taps[None, :]) * cutoff
    t = np.clip(t, -zero_crossings, zero_crossings)
    window = np.cos(t * math.pi / zero_crossings / 2.0) ** 2
    arg = t * math.pi
    sinc = np.where(arg == 0.0, 1.0, np.sin(arg) / np.where(arg == 0.0, 1.0, arg))
    return sinc * window * (cutoff / orig), width


def resample(waveforms: np.ndarray, orig_rate: int, new_rate: int, *,
             zero_crossings: int = 6, rolloff: float = 0.99) -> np.ndarray:
    """Band-limited resampling by a windowed-sinc filter (Hann window).

    The low-pass cut-off is ``rolloff`` times the lower of the two Nyquist frequencies; the
    filter spans ``zero_crossings`` zero crossings of the sinc on each side.  The signal is
    taken as zero outside its samples; the output has ``ceil(n * new_rate / orig_rate)``
    samples.

    Args:
        waveforms: samples, float ``[..., n]``.
        orig_rate: their sample rate (Hz, integer).
        new_rate: the wanted sample rate (Hz, integer).
        zero_crossings: half-length of the filter in zero crossings (>= 1).
        rolloff: cut-off as a fraction of the lower Nyquist frequency, in ``(0, 1]``.

    Returns:
        The resampled signals, float64 ``[..., ceil(n * new_rate / orig_rate)]``.
    """
    import torch

    orig_rate = check_int("orig_rate", orig_rate, minimum=1)
    new_rate = check_int("new_rate", new_rate, minimum=1)
    zero_crossings = check_int("zero_crossings", zero_crossings, minimum=1)
    rolloff = check_real("rolloff", rolloff, minimum=0.0, maximum=1.0)
    if rolloff == 0.0:
        raise ValueError("rolloff must be in (0, 1], got 0")
    x = np.asarray(waveforms, dtype=np.float64)
    if x.ndim < 1 or x.shape[-1] < 1:
        raise ValueError(f"waveforms must have at least one sample on the last axis, got "
                         f"shape {x.shape}")
    if orig_rate == new_rate:
        return x.copy()
    gcd = math.gcd(orig_rate, new_rate)
    orig, new = orig_rate // gcd, new_rate // gcd
    kernel, width = _sinc_kernel(orig, new, zero_crossings, rolloff)
    lead, n = x.shape[:-1], x.shape[-1]
    flat = torch.from_numpy(x.reshape(-1, 1, n))
    padded = torch.nn.functional.pad(flat, (width, width + orig))
    # One strided correlation per output phase; phases interleave into the output.
    out = torch.nn.functional.conv1d(padded, torch.from_numpy(kernel)[:, None, :], stride=orig)
    out = out.transpose(1, 2).reshape(flat.shape[0], -1)
    length = math.ceil(new * n / orig)
    return out[:, :length].numpy().reshape(*lead, length)


def power_spectrogram(waveforms: np.ndarray, n_fft: int, hop_length: int) -> np.ndarray:
    """Squared magnitude of the short-time Fourier transform, frames centred on multiples of
    ``hop_length`` (the signal mirrored by ``n_fft // 2`` samples at each end), periodic Hann
    window of length ``n_fft``, one-sided.

    Args:
        waveforms: samples, float ``[..., n]`` with ``n > n_fft // 2``.
        n_fft: FFT and window length (>= 2).
        hop_length: samples between frames (>= 1).

    Returns:
        Power, float64 ``[..., 1 + n // hop_length, n_fft // 2 + 1]`` (frames, frequencies).
    """
    import torch

    n_fft = check_int("n_fft", n_fft, minimum=2)
    hop_length = check_int("hop_length", hop_length, minimum=1)
    x = np.asarray(waveforms, dtype=np.float64)
    if x.ndim < 1 or x.shape[-1] <= n_fft // 2:
        raise ValueError(f"waveforms must have more than n_fft // 2 = {n_fft // 2} samples on "
                         f"the last axis, got shape {x.shape}")
    lead, n = x.shape[:-1], x.shape[-1]
    flat = torch.from_numpy(x.reshape(-1, n))
    window = torch.hann_window(n_fft, periodic=True, dtype=torch.float64)
    spec = torch.stft(flat, n_fft, hop_length=hop_length, win_length=n_fft, window=window,
                      center=True, pad_mode="reflect", normalized=False, onesided=True,
                      return_complex=True)
    power = spec.abs().square().transpose(1, 2).numpy()        # [B, frames, freqs]
    return power.reshape(*lead, power.shape[1], power.shape[2])


def _fit_length(x: np.ndarray, n: int) -> np.ndarray:
    if x.shape[-1] >= n:
        return x[..., :n]
    return np.concatenate([x, np.zeros(x.shape[:-1] + (n - x.shape[-1],), x.dtype)], axis=-1)


def log_mel(waveforms: np.ndarray, config: LogMelConfig | None = None) -> np.ndarray:
    """The paper's front end: pad/cut, resample, power spectrogram, mel bands, decibels.

    Args:
        waveforms: recordings at ``config.sample_rate``, float ``[n]`` or ``[N, n]`` (full
            scale 1; any length: padded with zeros or cut to ``config.duration``).
        config: the settings (None: :class:`LogMelConfig`'s defaults, the paper's).

    Returns:
        Log-mel energies (dB), float32 ``[n_frames, n_mels]`` or ``[N, n_frames, n_mels]``
        (101 x 140 with the defaults).
    """
    config = LogMelConfig() if config is None else config
    if not isinstance(config, LogMelConfig):
        raise TypeError(f"config must be a LogMelConfig, got {type(config).__name__}")
    x = np.asarray(waveforms, dtype=np.float64)
    if x.ndim not in (1, 2):
        raise ValueError(f"waveforms must be [n] or [N, n] samples, got shape {x.shape}")
    if not np.all(np.isfinite(x)):
        raise ValueError("waveforms must be finite")
    x = _fit_length(x, config.n_samples)
    x = resample(x, config.sample_rate, config.resample_rate,
                 zero_crossings=config.lowpass_zero_crossings, rolloff=config.rolloff)
    power = power_spectrogram(x, config.n_fft, config.hop_length)
    bands = power @ mel_filterbank(config.n_fft // 2 + 1, config.f_min, config.f_max,
                                   config.n_mels, config.resample_rate)
    return (10.0 * np.log10(np.maximum(bands, config.amin))).astype(np.float32)


def _read_list(root: Path, name: str) -> list[str]:
    path = root / name
    if not path.is_file():
        raise FileNotFoundError(f"{path} not found: root must be the unpacked Speech Commands "
                                f"folder (with validation_list.txt and testing_list.txt)")
    return [line.strip().replace("\\", "/") for line in path.read_text().splitlines()
            if line.strip()]


def speech_commands_files(root: str | os.PathLike, split: str = "train"
                          ) -> tuple[list[Path], np.ndarray]:
    """The recordings of one split and their labels.

    Args:
        root: the unpacked Speech Commands v0.02 folder (word folders,
            ``validation_list.txt``, ``testing_list.txt``, ``_background_noise_``).
        split: ``"train"`` (every utterance in neither list), ``"valid"`` or ``"test"``.

    Returns:
        ``(paths, labels)``: the wav files (training: sorted by relative path; validation and
        test: in the order of their list) and int64 ``[N]`` indices into :data:`GSC_CLASSES`.
    """
    check_choice("split", split, GSC_SPLITS)
    root = Path(root).expanduser()
    if not root.is_dir():
        raise FileNotFoundError(f"Speech Commands root folder {root} does not exist")
    lists = {name: _read_list(root, file) for name, file in _LIST_FILES.items()}
    if split == "train":
        excluded = set(lists["valid"]) | set(lists["test"])
        relative = sorted(p.relative_to(root).as_posix() for p in root.glob("*/*.wav")
                          if p.parent.name != _NOISE_FOLDER and "_nohash_" in p.name)
        relative = [r for r in relative if r not in excluded]
    else:
        relative = lists[split]
    unknown = sorted({r.split("/")[0] for r in relative} - set(GSC_CLASSES))
    if unknown:
        raise ValueError(f"{root}: folders {unknown} are not Speech Commands v0.02 words; "
                         f"expected the 35 of GSC_CLASSES")
    paths = [root / r for r in relative]
    missing = [str(p) for p in paths if not p.is_file()]
    if missing:
        raise FileNotFoundError(f"{len(missing)} files of the {split} list are missing, e.g. "
                                f"{missing[0]}")
    labels = np.array([GSC_CLASSES.index(r.split("/")[0]) for r in relative], dtype=np.int64)
    return paths, labels


def speech_commands_noise(root: str | os.PathLike) -> dict[str, tuple[np.ndarray, int]]:
    """The background-noise recordings (``_background_noise_/*.wav``), by file stem.

    The paper's front end does not use them; they are here for augmentation experiments.

    Args:
        root: the unpacked Speech Commands folder.

    Returns:
        ``{name: (samples float64 [n], sample rate Hz)}``.
    """
    from .fsdd import read_wav

    folder = Path(root).expanduser() / _NOISE_FOLDER
    if not folder.is_dir():
        raise FileNotFoundError(f"{folder} not found: root must be the unpacked Speech "
                                f"Commands folder")
    return {p.stem: read_wav(p) for p in sorted(folder.glob("*.wav"))}


def _features(paths: Sequence[Path], config: LogMelConfig, out: np.ndarray,
              progress: bool, chunk: int = 256) -> None:
    from tqdm.auto import tqdm

    from .fsdd import read_wav

    for start in tqdm(range(0, len(paths), chunk), disable=not progress, unit="chunk",
                      desc="log-mel"):
        block = np.zeros((min(chunk, len(paths) - start), config.n_samples))
        for k, path in enumerate(paths[start:start + chunk]):
            samples, rate = read_wav(path)
            if rate != config.sample_rate:
                raise ValueError(f"{path}: sample rate {rate} Hz, expected "
                                 f"{config.sample_rate} Hz (LogMelConfig.sample_rate)")
            block[k] = _fit_length(samples, config.n_samples)
        out[start:start + len(block)] = log_mel(block, config)


def load_speech_commands(root: str | os.PathLike, split: str = "train",
                         config: LogMelConfig | None = None, *,
                         cache_dir: str | os.PathLike | None = None,
                         progress: bool = True) -> BinnedSpikes:
    """One split of Speech Commands v0.02 through the log-mel front end.

    Features are computed once and stored as ``gsc_{split}.npy`` in ``cache_dir`` (default:
    ``gsc-<hash of settings and file list>`` in the snnsim cache folder), then read back
    memory-mapped.

    Args:
        root: the unpacked Speech Commands v0.02 folder.
        split: ``"train"``, ``"valid"`` or ``"test"``.
        config: front-end settings (None: the paper's, :class:`LogMelConfig`).
        cache_dir: where to keep the features (None: the snnsim cache folder).
        progress: show a progress bar while computing features.

    Returns:
        A :class:`~snn.data.BinnedSpikes` whose ``counts`` are the float32 log-mel frames
        ``[N, n_frames, n_mels]`` (dB), ``dt`` the frame step (s), 35 classes, every
        ``length`` the full ``n_frames``.
    """
    config = LogMelConfig() if config is None else config
    if not isinstance(config, LogMelConfig):
        raise TypeError(f"config must be a LogMelConfig, got {type(config).__name__}")
    paths, labels = speech_commands_files(root, split)
    if not paths:
        raise ValueError(f"the {split} split of {root} holds no recordings")
    listing = [p.relative_to(Path(root).expanduser()).as_posix() for p in paths]
    key = hashlib.sha256(json.dumps([_FORMAT_VERSION, config.to_dict(), listing],
                                    sort_keys=True).encode()).hexdigest()[:16]
    folder = (Path(cache_dir).expanduser() if cache_dir is not None
              else data_cache_dir() / f"gsc-{key}")
    target = folder / f"gsc_{split}.npy"
    if not target.is_file():
        folder.mkdir(parents=True, exist_ok=True)
        scratch = part_name(target)
        try:
            out = np.lib.format.open_memmap(scratch, mode="w+", dtype=np.float32,
                                            shape=(len(paths), config.n_frames, config.n_mels))
            _features(paths, config, out, progress)
            out.flush()
            del out
            os.replace(scratch, target)
        finally:
            if scratch.exists():
                scratch.unlink()
    frames = np.load(target, mmap_mode="r")
    if frames.shape != (len(paths), config.n_frames, config.n_mels):
        raise ValueError(f"{target} holds {frames.shape}, expected "
                         f"{(len(paths), config.n_frames, config.n_mels)}; delete it to rebuild")
    lengths = np.full(len(paths), config.n_frames, dtype=np.int64)
    return BinnedSpikes(frames, labels, lengths, config.dt, 1, len(GSC_CLASSES))


def speech_commands_audio(root: str | os.PathLike | None = None, split: str = "test",
                          limit: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Raw clips of one split, zero-padded (or cut) to 1 s at 16 kHz: the input of
    NeuroBench's keyword-spotting task, which brings its own front end.

    Args:
        root: the unpacked folder (None: ``$SNNSIM_SPEECH_COMMANDS_ROOT``).
        split: ``"train"``, ``"valid"`` or ``"test"``.
        limit: read only the first ``limit`` clips of the split (>= 1; None: all).

    Returns:
        ``(audio, labels)``: float32 ``[n, 16000]`` (full scale 1) and int64 ``[n]`` indices
        into :data:`GSC_CLASSES`.
    """
    from .fsdd import read_wav

    if root is None:
        root = os.environ.get(SPEECH_COMMANDS_ENV)
        if not root:
            raise ValueError(f"root must name the Speech Commands folder (or set "
                             f"${SPEECH_COMMANDS_ENV})")
    paths, labels = speech_commands_files(root, split)
    if limit is not None:
        n = check_int("limit", limit, minimum=1)
        paths, labels = paths[:n], labels[:n]
    audio = np.zeros((len(paths), 16000), np.float32)
    for i, path in enumerate(paths):
        x, rate = read_wav(path)
        if rate != 16000:
            raise ValueError(f"{path}: sample rate {rate} Hz, expected 16000 Hz")
        audio[i, :min(x.size, 16000)] = x[:16000]
    return audio, labels
