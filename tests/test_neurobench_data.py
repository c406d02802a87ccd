"""The data of NeuroBench's Mackey-Glass task and the Yin-Yang data set."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

from snn.data import (
    YIN_YANG_SPLITS,
    MackeyGlassProtocol,
    mackey_glass,
    mackey_glass_protocol_series,
    mackey_glass_run,
    yin_yang,
    yin_yang_class,
    yin_yang_splits,
)

# Rows 0, 1 and -1 (x, y) and the class counts of the files the data set's authors published
# (publication_data/*.npy of github.com/lkriener/yin_yang_data_set).
PUBLISHED = {
    "train": ([[0.68030754, 0.45049925], [0.09767211, 0.68423303], [0.76907972, 0.58833893]],
              [1681, 1702, 1617]),
    "validation": ([[0.68057273, 0.32097339], [0.66851572, 0.91744785],
                    [0.7107041, 0.80473335]], [316, 336, 348]),
    "test": ([[0.23409665, 0.40172498], [0.75132902, 0.46824252], [0.32834061, 0.38998304]],
             [350, 316, 334]),
}


def test_yin_yang_splits_reproduce_the_published_files():
    splits = yin_yang_splits()
    for name, (rows, counts) in PUBLISHED.items():
        x, labels = splits[name]
        assert x.shape == (YIN_YANG_SPLITS[name][0], 4) and labels.dtype == np.int64
        np.testing.assert_allclose(x[[0, 1, -1], :2], rows, atol=5e-9)
        np.testing.assert_array_equal(x[:, 2:], 1.0 - x[:, :2])
        assert np.bincount(labels).tolist() == counts
        assert np.array_equal(yin_yang_class(x[:, 0], x[:, 1]), labels)


def test_yin_yang_against_the_published_files_when_given():
    folder = os.environ.get("YIN_YANG_PUBLICATION_DATA")
    if not folder or not Path(folder, "test_samples.npy").exists():
        pytest.skip("set YIN_YANG_PUBLICATION_DATA to the data set's publication_data/ folder "
                    "to compare every sample")
    for name, (x, labels) in yin_yang_splits().items():
        np.testing.assert_array_equal(x, np.load(Path(folder, f"{name}_samples.npy")))
        np.testing.assert_array_equal(labels, np.load(Path(folder, f"{name}_labels.npy")))


def test_yin_yang_geometry_and_arguments():
    x, labels = yin_yang(300, rng=np.random.default_rng(0))
    centre = np.hypot(x[:, 0] - 0.5, x[:, 1] - 0.5)
    assert np.all(centre <= 0.5)
    # the eyes are dots, the upper half away from the right eye is yin
    assert yin_yang_class(0.75, 0.5) == 2 and yin_yang_class(0.25, 0.5) == 2
    assert yin_yang_class(0.5, 0.9) == 1 and yin_yang_class(0.5, 0.1) == 0
    with pytest.raises(TypeError, match="rng"):
        yin_yang(3, rng="a")
    with pytest.raises(ValueError, match="r_small"):
        yin_yang(3, r_small=0.3)


def test_mackey_glass_protocol_cuts_runs_as_neurobench():
    protocol = MackeyGlassProtocol()
    assert (protocol.train_steps, protocol.test_steps, protocol.warmup_steps) == (750, 750, 45)
    assert [protocol.offset_steps(k) for k in (0, 1, 2, 29)] == [0, 37, 75, 1087]
    series = mackey_glass_protocol_series(protocol)
    assert series.size == 1087 + 1501 and series[0] == protocol.constant_past
    # the same integration as snn.data.mackey_glass
    np.testing.assert_array_equal(series[:50], mackey_glass(
        50, 17.0, x0=0.7206597, h=1 / 150, sample_interval=197 / 75, washout_steps=0))
    run = mackey_glass_run(series, protocol, 2)
    np.testing.assert_array_equal(run.train_inputs, series[75:825])
    np.testing.assert_array_equal(run.train_targets, series[76:826])
    assert run.test_inputs[0] == series[825] and run.test_targets[-1] == series[1575]
    assert 0.4 < series.min() and series.max() < 1.4
    with pytest.raises(ValueError, match="run_index"):
        mackey_glass_run(series, protocol, 30)
    with pytest.raises(ValueError, match="warmup"):
        MackeyGlassProtocol(warmup_lyapunov_times=10)
    with pytest.raises(ValueError, match="at least"):
        mackey_glass_run(series[:100], protocol, 0)


def _write_wav(path, samples, rate=16000):
    import wave

    path.parent.mkdir(parents=True, exist_ok=True)
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes((np.asarray(samples) * 32767).astype("<i2").tobytes())


def test_speech_commands_audio_reads_its_public_layout(tmp_path, monkeypatch):
    from snn.data import GSC_CLASSES, speech_commands_audio, speech_commands_files

    clips = {"yes/a_nohash_0.wav": 0.5, "yes/b_nohash_0.wav": 0.25, "no/a_nohash_1.wav": -0.5,
             "zero/c_nohash_0.wav": 0.125, "_background_noise_/noise.wav": 0.1}
    for rel, level in clips.items():
        _write_wav(tmp_path / rel, np.full(8000 if "b_" in rel else 16000, level))
    (tmp_path / "validation_list.txt").write_text("no/a_nohash_1.wav\n")
    (tmp_path / "testing_list.txt").write_text("yes/b_nohash_0.wav\n")
    yes, no, zero = (GSC_CLASSES.index(w) for w in ("yes", "no", "zero"))
    paths, labels = speech_commands_files(tmp_path, "train")
    assert [p.relative_to(tmp_path).as_posix() for p in paths] == ["yes/a_nohash_0.wav",
                                                                   "zero/c_nohash_0.wav"]
    assert labels.tolist() == [yes, zero]
    monkeypatch.setenv("SNNSIM_SPEECH_COMMANDS_ROOT", str(tmp_path))
    audio, labels = speech_commands_audio(split="test")
    assert audio.shape == (1, 16000) and labels.tolist() == [yes]
    # a half-second clip is zero-padded to 1 s
    np.testing.assert_allclose(audio[0, :8000], 0.25, atol=1e-4)
    assert np.all(audio[0, 8000:] == 0)
    assert speech_commands_audio(tmp_path, "valid")[1].tolist() == [no]
    with pytest.raises(ValueError, match="split"):
        speech_commands_files(tmp_path, "dev")
    with pytest.raises(FileNotFoundError, match="validation_list"):
        speech_commands_files(tmp_path / "yes", "test")


def test_primate_reaching_reads_its_public_layout(tmp_path):
    import h5py

    from snn.data import read_primate_reaching

    t = np.arange(1.0, 1.2, 0.004)[None, :]  # [1, T], 4 ms samples
    cursor = np.stack([np.linspace(0, 10, t.size), np.full(t.size, 5.0)])  # [2, T] mm
    path = tmp_path / "indy_test.mat"
    with h5py.File(path, "w") as f:
        f["t"] = t
        f["cursor_pos"] = cursor
        f["target_pos"] = np.zeros_like(cursor)
        refs = np.empty((2, 3), dtype=h5py.ref_dtype)  # [units, electrodes]
        trains = {(0, 0): [1.002, 1.0021, 1.1011], (1, 2): [1.0513], (0, 1): []}
        for unit in range(2):
            for channel in range(3):
                times = trains.get((unit, channel))
                data = np.zeros(2) if not times else np.array(times)[None, :]
                refs[unit, channel] = f.create_dataset(f"refs/{unit}_{channel}", data=data).ref
        f["spikes"] = refs
    session = read_primate_reaching(path)
    # only the two units that fired: electrode 0 unit 0, then electrode 2 unit 1
    assert session.spikes.shape == (t.size, 2)
    bins = np.searchsorted(t[0], [1.002, 1.0021, 1.1011, 1.0513])  # bin k ends at t[k]
    assert session.spikes[bins[0], 0] == 2 and session.spikes[bins[2], 0] == 1
    assert session.spikes[bins[3], 1] == 1 and session.spikes.sum() == 4
    np.testing.assert_allclose(session.velocity[:, 0], 10 / (t[0, -1] - t[0, 0]))
    np.testing.assert_allclose(session.velocity[:, 1], 0.0)
    coarse = read_primate_reaching(path, bin_width=0.016)
    assert coarse.spikes.shape[0] == t.size // 4 and coarse.spikes.sum() == 4
    with pytest.raises(ValueError, match="session"):
        read_primate_reaching(tmp_path / "missing.mat")


def _aedat(path, events, overflow=0):
    """An AEDAT 3.1 file with one polarity packet of (t_us, x, y, p) events."""
    header = b"#!AER-DAT3.1\r\n#Format: RAW\r\n#!END-HEADER\r\n"
    words = np.array([((x << 17) | (y << 2) | (p << 1) | 1, t) for t, x, y, p in events],
                     dtype="<u4")
    packet = np.array([(1, 1, 8, 4, overflow, len(events), len(events), len(events))],
                      dtype=[("a", "<i2"), ("b", "<i2")] + [(c, "<i4") for c in "cdefgh"])
    path.write_bytes(header + packet.tobytes() + words.tobytes())


def test_dvs_gesture_reads_its_public_layout(tmp_path):
    from snn.data import load_dvs_gesture, read_aedat_polarity

    events = [(100, 5, 7, 1), (1500, 127, 0, 0), (2500, 64, 100, 1), (4000, 1, 2, 0)]
    _aedat(tmp_path / "user01_led.aedat", events)
    (tmp_path / "user01_led_labels.csv").write_text(
        "class,startTime_usec,endTime_usec\n3,1000,3000\n11,3000,5000\n")
    (tmp_path / "trials_to_test.txt").write_text("user01_led.aedat\n")
    t, x, y, p = read_aedat_polarity(tmp_path / "user01_led.aedat")
    assert t.tolist() == [100, 1500, 2500, 4000] and x.tolist() == [5, 127, 64, 1]
    assert y.tolist() == [7, 0, 100, 2] and p.tolist() == [1, 0, 1, 0]
    samples = load_dvs_gesture(tmp_path, "test")
    assert [s.label for s in samples] == [2, 10]
    assert samples[0].t.tolist() == [500, 1500] and samples[0].x.tolist() == [127, 64]
    assert samples[1].t.tolist() == [1000] and samples[1].p.tolist() == [0]
    with pytest.raises(ValueError, match="trials_to_train"):
        load_dvs_gesture(tmp_path, "train")


def test_mswc_fscil_reads_its_published_layout(tmp_path):
    from snn.data import load_mswc_fscil, mswc_fscil_files

    folder = tmp_path / "MSWC"
    for rel, level in (("go/a.wav", 0.5), ("up/b.wav", 0.25), ("go/c.wav", -0.5)):
        _write_wav(folder / "en" / "clips" / rel, np.full(12000, level))
    _write_wav(folder / "de" / "clips" / "ja/d.wav", np.full(16000, 0.125))
    (folder / "base_test.csv").write_text("LINK,WORD,LANG\nup/b.opus,up,en\ngo/a.opus,go,en\n"
                                          "go/c.opus,go,en\n")
    (folder / "de").mkdir(exist_ok=True)
    (folder / "de" / "evaluation.csv").write_text("LINK,WORD,LANG\nja/d.wav,ja,de\n")
    assert [w for _, w in mswc_fscil_files(tmp_path, "base_test")] == ["up", "go", "go"]
    audio, labels, words = load_mswc_fscil(tmp_path, "base_test")
    assert words == ("go", "up") and labels.tolist() == [1, 0, 0]
    np.testing.assert_allclose(audio[0, :12000], 0.25, atol=1e-4)
    assert np.all(audio[:, 12000:] == 0)
    audio, labels, words = load_mswc_fscil(tmp_path, "evaluation", language="de")
    assert words == ("ja",) and audio.shape == (1, 16000)
    with pytest.raises(ValueError, match="missing"):
        mswc_fscil_files(tmp_path, "base_train")
