"""Google Speech Commands: the public folder layout and the delay paper's log-mel front end.

The front end is compared with torchaudio's transforms (a reference file written by
``datasets/gsc/make_logmel_reference.py``), and its parts with their definitions."""

from __future__ import annotations

import wave
from pathlib import Path

import numpy as np
import pytest

from snn.data import (
    GSC_CLASSES,
    BinnedSpikes,
    LogMelConfig,
    load_speech_commands,
    log_mel,
    mel_filterbank,
    speech_commands_files,
    speech_commands_noise,
)
from snn.data.speech_commands import power_spectrogram, resample

REFERENCE = Path(__file__).resolve().parents[1] / "datasets" / "gsc" / \
    "logmel_reference_torchaudio.npz"


def test_log_mel_equals_torchaudio_on_the_papers_settings():
    # The reference is committed: its absence is a failure, not a reason to skip.
    assert REFERENCE.is_file(), f"{REFERENCE} is missing (datasets/gsc/make_logmel_reference.py)"
    ref = np.load(REFERENCE)
    ours = log_mel(ref["waveform"])
    assert ours.shape == ref["log_mel"].shape == (101, 140)
    # torchaudio computes in float32: 1e-3 dB is its rounding, not a tolerance on the method.
    np.testing.assert_allclose(ours, ref["log_mel"], atol=2e-3, rtol=0)
    # Bands above the 4 kHz Nyquist frequency of the 8 kHz audio are empty: -100 dB.
    empty = mel_filterbank(129, 50.0, 14000.0, 140, 8000).max(axis=0) == 0.0
    assert empty.sum() == 53 and np.all(ours[:, empty] == -100.0)


def test_mel_filterbank_is_the_htk_triangles():
    fb = mel_filterbank(129, 50.0, 4000.0, 20, 8000)
    freqs = np.linspace(0, 4000, 129)
    mel = 2595 * np.log10(1 + np.array([50.0, 4000.0]) / 700)
    edges = 700 * (10 ** (np.linspace(mel[0], mel[1], 22) / 2595) - 1)
    for m in range(20):
        lo, mid, hi = edges[m:m + 3]
        rising, falling = (freqs - lo) / (mid - lo), (hi - freqs) / (hi - mid)
        expected = np.clip(np.minimum(rising, falling), 0, None)
        np.testing.assert_allclose(fb[:, m], expected, atol=1e-12)
    with pytest.raises(ValueError, match="f_min"):
        mel_filterbank(129, 5000.0, 4000.0, 20, 8000)


def test_resampling_keeps_a_tone_below_nyquist_and_removes_one_above():
    t16 = np.arange(16000) / 16000
    t8 = np.arange(8000) / 8000
    low = resample(np.sin(2 * np.pi * 1000 * t16), 16000, 8000)
    assert low.shape == (8000,)
    # Away from the edges (zero outside the signal) the 1 kHz tone is kept.
    np.testing.assert_allclose(low[100:-100], np.sin(2 * np.pi * 1000 * t8)[100:-100], atol=2e-3)
    high = resample(np.sin(2 * np.pi * 5000 * t16), 16000, 8000)
    assert np.abs(high[100:-100]).max() < 0.02
    with pytest.raises(ValueError, match="orig_rate"):
        resample(np.zeros(10), 0, 8000)


def test_power_spectrogram_matches_the_dft_of_each_windowed_frame():
    rng = np.random.default_rng(1)
    x = rng.standard_normal(1000)
    spec = power_spectrogram(x, 256, 80)
    assert spec.shape == (1 + 1000 // 80, 129)
    padded = np.pad(x, 128, mode="reflect")
    window = 0.5 - 0.5 * np.cos(2 * np.pi * np.arange(256) / 256)
    for frame in (0, 5, 12):
        direct = np.abs(np.fft.rfft(padded[frame * 80:frame * 80 + 256] * window)) ** 2
        np.testing.assert_allclose(spec[frame], direct, rtol=1e-9, atol=1e-9)


def _write_wav(path: Path, samples: np.ndarray, rate: int = 16000) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes((np.clip(samples, -1, 1) * 32767).astype("<i2").tobytes())


def _make_folder(root: Path) -> dict[str, list[str]]:
    """A small Speech Commands tree: 3 words x 4 speakers, the two lists and noise."""
    rng = np.random.default_rng(0)
    files = []
    for w, word in enumerate(("bed", "go", "zero")):
        for s in range(4):
            name = f"{word}/{s:08x}_nohash_0.wav"
            t = np.arange(rng.integers(12000, 16500)) / 16000   # some shorter, some longer
            _write_wav(root / name, 0.5 * np.sin(2 * np.pi * (300 + 400 * w) * t))
            files.append(name)
    (root / "validation_list.txt").write_text("\n".join([files[1], files[5]]) + "\n")
    (root / "testing_list.txt").write_text("\n".join([files[2], files[6], files[10]]) + "\n")
    _write_wav(root / "_background_noise_" / "white_noise.wav", 0.1 * rng.standard_normal(32000))
    (root / "README.md").write_text("not a recording")
    return {"all": files, "valid": [files[1], files[5]], "test": [files[2], files[6], files[10]]}


def test_the_folder_layout_gives_the_three_splits(tmp_path):
    layout = _make_folder(tmp_path / "gsc")
    train, train_labels = speech_commands_files(tmp_path / "gsc", "train")
    valid, _ = speech_commands_files(tmp_path / "gsc", "valid")
    test, test_labels = speech_commands_files(tmp_path / "gsc", "test")
    rel = [p.relative_to(tmp_path / "gsc").as_posix() for p in train]
    assert rel == sorted(set(layout["all"]) - set(layout["valid"]) - set(layout["test"]))
    assert [p.relative_to(tmp_path / "gsc").as_posix() for p in valid] == layout["valid"]
    assert len(test) == 3 and len(GSC_CLASSES) == 35
    assert [GSC_CLASSES[k] for k in test_labels] == ["bed", "go", "zero"]
    assert set(train_labels) == {GSC_CLASSES.index(w) for w in ("bed", "go", "zero")}
    noise = speech_commands_noise(tmp_path / "gsc")
    assert list(noise) == ["white_noise"] and noise["white_noise"][1] == 16000


def test_load_speech_commands_computes_the_front_end_once(tmp_path):
    _make_folder(tmp_path / "gsc")
    cache = tmp_path / "cache"
    data = load_speech_commands(tmp_path / "gsc", "train", cache_dir=cache, progress=False)
    assert isinstance(data, BinnedSpikes) and len(data) == 7
    assert data.counts.shape == (7, 101, 140) and data.counts.dtype == np.float32
    assert data.dt == pytest.approx(0.01) and data.n_classes == 35
    assert np.all(data.lengths == 101)
    paths, _ = speech_commands_files(tmp_path / "gsc", "train")
    from snn.data import read_wav

    samples, _ = read_wav(paths[3])
    np.testing.assert_array_equal(data.counts[3], log_mel(samples))
    stamp = (cache / "gsc_train.npy").stat().st_mtime_ns
    again = load_speech_commands(tmp_path / "gsc", "train", cache_dir=cache, progress=False)
    assert (cache / "gsc_train.npy").stat().st_mtime_ns == stamp
    np.testing.assert_array_equal(again.counts, data.counts)


def test_bad_folders_and_settings_are_refused(tmp_path):
    with pytest.raises(FileNotFoundError, match="does not exist"):
        speech_commands_files(tmp_path / "nowhere")
    (tmp_path / "gsc").mkdir()
    with pytest.raises(FileNotFoundError, match="validation_list.txt"):
        speech_commands_files(tmp_path / "gsc")
    layout = _make_folder(tmp_path / "gsc")
    _write_wav(tmp_path / "gsc" / "banana" / "0_nohash_0.wav", np.zeros(100))
    with pytest.raises(ValueError, match="banana"):
        speech_commands_files(tmp_path / "gsc")
    with pytest.raises(ValueError, match="split"):
        speech_commands_files(tmp_path / "gsc", "training")
    with pytest.raises(ValueError, match="LogMelConfig.n_mels"):
        LogMelConfig(n_mels=0)
    with pytest.raises(ValueError, match="f_min"):
        LogMelConfig(f_min=20000.0)
    (tmp_path / "gsc" / layout["test"][0]).unlink()
    with pytest.raises(FileNotFoundError, match="missing"):
        speech_commands_files(tmp_path / "gsc", "test")
