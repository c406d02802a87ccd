"""snn.data: the SHD/SSC layout, binning and batches, the cochlea encoder and FSDD.

Every file here is built in the exact public layout with h5py (variable-length arrays, as
SHD ships them); nothing needs the network.  The real FSDD recordings are used when present
(``$SNNSIM_FSDD_ROOT``: the recordings folder or the folder above it).
"""

from __future__ import annotations

import gzip
import hashlib
import json
import os
import shutil
import wave
import zipfile
from pathlib import Path

import h5py
import numpy as np
import pytest
import torch

from snn.data import (
    BinnedSpikes,
    CochleaConfig,
    SpikeDataset,
    audio_to_spikes,
    batches,
    bin_spikes,
    centre_frequencies,
    cochlea_drive,
    convert_fsdd,
    erb,
    erb_rate,
    file_checksum,
    fsdd_checksum,
    gammatone_response,
    lif_encode,
    lif_encoder_params,
    load_fsdd,
    load_sample,
    load_shd,
    load_ssc,
    read_spike_hdf5,
    read_wav,
    verify_checksum,
    write_spike_hdf5,
)

REPO = Path(__file__).resolve().parents[1]
DATASETS = REPO / "datasets"
SAMPLES = REPO / "snn" / "data" / "samples"
def _fsdd_recordings() -> Path | None:
    """The FSDD recordings named by $SNNSIM_FSDD_ROOT (the folder itself or its
    ``recordings`` subfolder), or None."""
    root = os.environ.get("SNNSIM_FSDD_ROOT")
    if not root:
        return None
    root = Path(root).expanduser()
    return root / "recordings" if (root / "recordings").is_dir() else root


FSDD_ROOT = _fsdd_recordings()
needs_fsdd = pytest.mark.skipif(FSDD_ROOT is None or not FSDD_ROOT.is_dir(),
                                reason="FSDD recordings not found: set $SNNSIM_FSDD_ROOT to "
                                       "the recordings folder (or the folder above it)")


@pytest.fixture(autouse=True)
def _private_cache(tmp_path, monkeypatch):
    # Decompressed files and converted FSDD go to a per-test cache, never the user's.
    monkeypatch.setenv("SNNSIM_CACHE_DIR", str(tmp_path / "cache"))


def write_shd_like(path: Path, times, units, labels, *, speakers=None, keys=None,
                   time_dtype=np.float32, skip=()) -> Path:
    """A file in the public SHD layout, written with h5py alone."""
    with h5py.File(path, "w") as f:
        if "spikes/times" not in skip:
            d = f.create_dataset("spikes/times", (len(times),),
                                 dtype=h5py.vlen_dtype(np.dtype(time_dtype)))
            for i, t in enumerate(times):
                d[i] = np.asarray(t, dtype=time_dtype)
        if "spikes/units" not in skip:
            d = f.create_dataset("spikes/units", (len(units),), dtype=h5py.vlen_dtype(np.uint16))
            for i, u in enumerate(units):
                d[i] = np.asarray(u, dtype=np.uint16)
        if "labels" not in skip:
            f.create_dataset("labels", data=np.asarray(labels, dtype=np.uint16))
        if speakers is not None:
            f.create_dataset("extra/speaker", data=np.asarray(speakers, dtype=np.uint16))
        if keys is not None:
            f.create_dataset("extra/keys", data=np.array([k.encode() for k in keys]))
            f.create_dataset("extra/meta_info/gender", data=np.array([b"f", b"m"]))
    return path


def small_dataset(n=6, channels=10, seed=0) -> SpikeDataset:
    rng = np.random.default_rng(seed)
    times, units = [], []
    for i in range(n):
        k = int(rng.integers(0, 20)) if i else 0  # sample 0 is silent
        times.append(np.sort(rng.uniform(0, 0.5, k)))
        units.append(rng.integers(0, channels, k))
    return SpikeDataset(times, units, np.arange(n) % 3, n_channels=channels,
                        extra={"speaker": np.arange(n) % 2, "keys": np.array(["a", "b", "c"])},
                        name="toy")


# -- layout, reading and writing ---------------------------------------------------------------


def test_round_trip_keeps_spikes_labels_and_extra(tmp_path):
    data = small_dataset()
    path = write_spike_hdf5(tmp_path / "toy.h5", data)
    with h5py.File(path) as f:  # exactly the public layout
        assert h5py.check_vlen_dtype(f["spikes/times"].dtype) == np.float64
        assert h5py.check_vlen_dtype(f["spikes/units"].dtype) == np.uint16
        assert f["labels"].dtype == np.uint16 and f["labels"].shape == (6,)
        assert f["extra/speaker"].shape == (6,)
    back = read_spike_hdf5(path)
    np.testing.assert_array_equal(back.flat_times, data.flat_times)
    np.testing.assert_array_equal(back.flat_units, data.flat_units)
    np.testing.assert_array_equal(back.offsets, data.offsets)
    np.testing.assert_array_equal(back.labels, data.labels)
    np.testing.assert_array_equal(back.extra["speaker"], data.extra["speaker"])
    assert back.class_names == ["a", "b", "c"]
    assert (back.n_channels, back.n_classes, back.name) == (10, 3, "toy")
    for t, u, (ts, us, _) in zip(back.times, back.units, map(data.sample, range(6))):
        np.testing.assert_array_equal(t, ts)
        np.testing.assert_array_equal(u, us)
    # float32 times: half the size, same spikes to float32 precision
    small = read_spike_hdf5(write_spike_hdf5(tmp_path / "f32.h5", data, time_dtype=np.float32))
    np.testing.assert_allclose(small.flat_times, data.flat_times, rtol=1e-7)


def test_reads_a_file_in_the_shd_layout_and_finds_it_by_name(tmp_path):
    write_shd_like(tmp_path / "shd_train.h5", [[0.1, 0.25], [0.3]], [[0, 699], [5]], [3, 19],
                   speakers=[1, 2], keys=[f"k{i}" for i in range(20)])
    data = load_shd(tmp_path, "train")
    assert (len(data), data.n_channels, data.n_classes, data.name) == (2, 700, 20, "shd_train")
    np.testing.assert_allclose(data.times[0], [0.1, 0.25], rtol=1e-7)
    np.testing.assert_array_equal(data.units[0], [0, 699])
    np.testing.assert_array_equal(data.labels, [3, 19])
    assert data.labels.dtype == np.int64
    np.testing.assert_array_equal(data.extra["speaker"], [1, 2])
    assert data.class_names[:2] == ["k0", "k1"]
    assert list(data.extra["meta_info/gender"]) == ["f", "m"]
    # meta_info and keys describe speakers and classes: they are not subset with the samples
    sub = data.subset([1])
    assert sub.extra["speaker"].tolist() == [2] and len(sub.extra["meta_info/gender"]) == 2


def test_gz_and_zip_files_are_unpacked_into_the_cache_not_the_data_folder(tmp_path):
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    plain = write_shd_like(tmp_path / "plain.h5", [[0.5], [0.1, 0.2]], [[3], [1, 2]], [0, 1])
    with open(plain, "rb") as src, gzip.open(data_dir / "ssc_valid.h5.gz", "wb") as dst:
        shutil.copyfileobj(src, dst)
    with zipfile.ZipFile(data_dir / "ssc_test.h5.zip", "w") as archive:
        archive.write(plain, "ssc_test.h5")
    valid = load_ssc(data_dir, "valid")
    test = load_ssc(data_dir, "test")
    for data in (valid, test):
        np.testing.assert_array_equal(data.labels, [0, 1])
        np.testing.assert_allclose(data.times[1], [0.1, 0.2], rtol=1e-7)
        assert data.n_classes == 35
    assert sorted(p.name for p in data_dir.iterdir()) == ["ssc_test.h5.zip", "ssc_valid.h5.gz"]
    cached = list((tmp_path / "cache" / "decompressed").glob("*.h5"))
    assert len(cached) == 2
    assert read_spike_hdf5(data_dir / "ssc_valid.h5.gz").n_spikes == 3  # reuses the copy
    assert len(list((tmp_path / "cache" / "decompressed").iterdir())) == 2


@pytest.mark.parametrize("missing", ["spikes/times", "spikes/units", "labels"])
def test_missing_key_is_named_with_the_expected_layout(tmp_path, missing):
    path = write_shd_like(tmp_path / "bad.h5", [[0.1]], [[1]], [0], skip=(missing,))
    with pytest.raises(ValueError, match=f"missing key '{missing}'.*spikes/times.*labels"):
        read_spike_hdf5(path)


def test_bad_contents_raise_value_errors(tmp_path):
    with pytest.raises(ValueError, match="empty"):
        read_spike_hdf5(write_shd_like(tmp_path / "empty.h5", [], [], []))
    with pytest.raises(ValueError, match="unit 700 is outside"):
        read_spike_hdf5(write_shd_like(tmp_path / "u.h5", [[0.1]], [[700]], [0]))
    with pytest.raises(ValueError, match="finite and >= 0"):
        read_spike_hdf5(write_shd_like(tmp_path / "n.h5", [[0.1, np.nan]], [[1, 2]], [0]))
    with pytest.raises(ValueError, match="finite and >= 0"):
        read_spike_hdf5(write_shd_like(tmp_path / "neg.h5", [[-0.1]], [[1]], [0]))
    with pytest.raises(ValueError, match="sample 0 has 2 spike times but 1 units"):
        read_spike_hdf5(write_shd_like(tmp_path / "len.h5", [[0.1, 0.2]], [[1]], [0]))
    (tmp_path / "text.h5").write_text("not hdf5")
    with pytest.raises(ValueError, match="not a readable HDF5 file"):
        read_spike_hdf5(tmp_path / "text.h5")
    with pytest.raises(ValueError, match="empty"):
        SpikeDataset([], [], [], n_channels=3)
    with pytest.raises(ValueError, match=r"labels must lie in \[0, n_classes=2\)"):
        SpikeDataset([[0.1]], [[0]], [2], n_channels=3, n_classes=2)


def test_loaders_list_what_they_looked_for(tmp_path):
    with pytest.raises(FileNotFoundError, match=r"shd_test\.h5, .*shd_test\.h5\.gz"):
        load_shd(tmp_path, "test")
    with pytest.raises(ValueError, match="split must be one of"):
        load_ssc(tmp_path, "validation")


def test_checksums(tmp_path):
    path = tmp_path / "f.bin"
    path.write_bytes(b"spikes")
    md5 = hashlib.md5(b"spikes").hexdigest()
    sha = hashlib.sha256(b"spikes").hexdigest()
    assert verify_checksum(path, md5) == "md5"
    assert verify_checksum(path, sha.upper()) == "sha256"
    assert file_checksum(path) == sha
    with pytest.raises(ValueError, match="checksum mismatch.*expected 0{32}"):
        verify_checksum(path, "0" * 32)
    with pytest.raises(ValueError, match="MD5 .* or SHA-256"):
        verify_checksum(path, "abc")


def test_manifests_give_urls_and_well_formed_checksums():
    for name in ("shd", "ssc", "fsdd"):
        manifest = json.loads((DATASETS / f"{name}.json").read_text())
        assert manifest["licence"] and manifest["citation"]
        for entry in manifest.get("files", []):
            assert entry["md5"] is None or len(entry["md5"]) == 32
            assert entry["md5"] is None or entry.get("md5_source")
            assert "url" not in entry or entry["url"].startswith("https://")
    assert not (DATASETS / "__init__.py").exists()


# -- subsets and splits ------------------------------------------------------------------------


def test_subset_keeps_the_chosen_samples_in_order():
    data = small_dataset(n=8)
    sub = data.subset([5, 2, 5])
    assert len(sub) == 3
    for k, i in enumerate([5, 2, 5]):
        for a, b in zip(sub.sample(k), data.sample(i)):
            np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(sub.extra["speaker"], data.extra["speaker"][[5, 2, 5]])
    assert data.subset(data.labels == 1).labels.tolist() == [1, 1, 1]


def test_split_is_reproducible_disjoint_and_stratified():
    data = SpikeDataset([[0.1]] * 60, [[0]] * 60, np.repeat(np.arange(3), 20), n_channels=1,
                        extra={"speaker": np.tile(np.arange(6), 10)})
    a_train, a_valid = data.split_indices(0.25, np.random.default_rng(7))
    b_train, b_valid = data.split_indices(0.25, 7)
    np.testing.assert_array_equal(a_valid, b_valid)
    assert not set(a_train) & set(a_valid) and len(a_train) + len(a_valid) == 60
    assert np.bincount(data.labels[a_valid]).tolist() == [5, 5, 5]
    c_valid = data.split_indices(0.25, 8)[1]
    assert set(c_valid) != set(a_valid)
    train, valid = data.split(0.3, np.random.default_rng(1), group_by="speaker")
    assert not set(train.extra["speaker"]) & set(valid.extra["speaker"])
    assert len(valid) >= 18 and len(train) + len(valid) == 60
    with pytest.raises(ValueError, match="group_by='age'"):
        data.split(0.3, 1, group_by="age")
    with pytest.raises(TypeError, match="Generator or an integer seed"):
        data.split(0.3, None)


# -- binning and batches -----------------------------------------------------------------------


def test_binning_against_a_hand_computed_example():
    dt = 1e-3
    # Spikes exactly on bin edges (computed as k * dt) belong to bin k.
    times = [[0.0, 3 * dt, 3 * dt, 7 * dt, 0.0095], [2 * dt], []]
    units = [[0, 5, 6, 3, 1], [9, ], []]
    data = SpikeDataset(times, units, [0, 1, 2], n_channels=10)
    b = bin_spikes(data, dt, n_steps=8, pool=5)
    assert isinstance(b, BinnedSpikes) and b.counts.dtype == np.uint8
    assert b.counts.shape == (3, 8, 2)
    expected = np.zeros((3, 8, 2), dtype=np.uint8)
    expected[0, 0, 0] = 1  # unit 0 at t = 0
    expected[0, 3, 1] = 2  # units 5 and 6 pooled, at t = 3 dt
    expected[0, 7, 0] = 1  # unit 3 at t = 7 dt
    expected[1, 2, 1] = 1
    np.testing.assert_array_equal(b.counts, expected)
    assert b.n_dropped == 1  # the spike at 9.5 ms is past 8 steps
    assert b.lengths.tolist() == [8, 3, 0]
    # Without a window every spike fits; max_time=8 ms is the same as 8 steps.
    assert bin_spikes(data, dt).n_steps == 10
    np.testing.assert_array_equal(bin_spikes(data, dt, max_time=8e-3, pool=5).counts, expected)
    # pool that does not divide the channels keeps a partial last group
    assert bin_spikes(data, dt, n_steps=8, pool=3).counts.shape == (3, 8, 4)
    binary = bin_spikes(data, dt, n_steps=8, pool=5, binary=True)
    assert binary.counts[0, 3, 1] == 1 and binary.counts.sum() == 4


def test_binning_saturates_and_validates():
    data = SpikeDataset([np.full(300, 0.001)], [np.zeros(300, dtype=int)], [0], n_channels=2)
    assert bin_spikes(data, 0.01).counts[0, 0, 0] == 255
    with pytest.raises(ValueError, match="dt must be"):
        bin_spikes(data, 0.0)
    with pytest.raises(ValueError, match="pool must be"):
        bin_spikes(data, 0.01, pool=0)
    with pytest.raises(ValueError, match="n_steps or max_time, not both"):
        bin_spikes(data, 0.01, n_steps=3, max_time=1.0)


def test_batches_are_time_major_padded_and_reproducible():
    rng = np.random.default_rng(0)
    n, steps, channels = 10, 12, 3
    counts = rng.integers(0, 3, (n, steps, channels)).astype(np.uint8)
    lengths = np.array([12, 3, 5, 7, 2, 9, 4, 4, 1, 6])
    for i, length in enumerate(lengths):
        counts[i, length:] = 0
    data = BinnedSpikes(counts, np.arange(n) % 4, lengths, 1e-3, 1, 4)
    plain = list(batches(data, batch_size=4))
    assert [tuple(x.shape) for x, _ in plain] == [(12, 4, 3), (9, 4, 3), (6, 2, 3)]
    x, y = plain[1]
    assert x.dtype == torch.float32 and y.dtype == torch.int64
    np.testing.assert_array_equal(x.permute(1, 0, 2).numpy(), counts[4:8, :9])
    assert y.tolist() == [0, 1, 2, 3]
    assert len(batches(data, 4, drop_last=True)) == 2
    assert [x.shape[0] for x, _ in batches(data, 4, pad="full")] == [12, 12, 12]
    g1, g2 = torch.Generator().manual_seed(3), torch.Generator().manual_seed(3)
    first = [y.tolist() for _, y in batches(data, 3, shuffle=True, rng=g1)]
    again = [y.tolist() for _, y in batches(data, 3, shuffle=True, rng=g2)]
    assert first == again
    loader = batches(data, 10, shuffle=True, rng=5)
    (x1, y1), = list(loader)
    (x2, y2), = list(loader)  # a new epoch draws a new order
    assert sorted(y1.tolist()) == sorted(y2.tolist()) and not torch.equal(x1, x2)
    # rng=None: fresh entropy, drawn without touching torch's global generator.
    before = torch.get_rng_state()
    unseeded = sorted(y for _, ys in batches(data, 3, shuffle=True) for y in ys.tolist())
    assert unseeded == sorted(data.labels.tolist())
    assert torch.equal(torch.get_rng_state(), before)
    with pytest.raises(TypeError, match="rng must be"):
        batches(data, 2, shuffle=True, rng=1.5)


# -- cochlea -----------------------------------------------------------------------------------


def test_gammatone_magnitude_peaks_at_its_centre_frequency():
    config = CochleaConfig(n_channels=16, f_min=150.0, f_max=3500.0)
    rate = 8000.0
    fc = centre_frequencies(config)
    # ERB-rate spacing: equal steps of erb-rate, widening bandwidths
    assert np.all(np.diff(fc) > 0) and fc[0] == 150.0 and fc[-1] == 3500.0
    np.testing.assert_allclose(np.diff(erb_rate(fc)), np.diff(erb_rate(fc)).mean(), rtol=1e-9)
    assert np.isclose(erb(1000.0), 132.639)  # Glasberg & Moore: 24.7 (4.37 f / kHz + 1)
    freqs = np.linspace(1.0, rate / 2 - 1.0, 40000)
    response = np.abs(gammatone_response(freqs, rate, config))
    peaks = freqs[np.argmax(response, axis=0)]
    # The analytic cascade peaks at fc exactly; its real output within 1 % of fc.
    assert np.all(np.abs(peaks - fc) <= 0.01 * fc)
    at_fc = np.abs(gammatone_response(fc, rate, config))[np.arange(16), np.arange(16)]
    # Unit gain at fc; the top channel, 500 Hz below Nyquist, meets its mirror image.
    np.testing.assert_allclose(at_fc[:-1], 1.0, atol=2e-3)
    np.testing.assert_allclose(at_fc[-1], 1.0, atol=0.03)
    # A pure tone at a channel's centre frequency drives that channel most.
    t = np.arange(int(0.3 * rate)) / rate
    for channel in (2, 8, 13):
        drive = cochlea_drive(np.sin(2 * np.pi * fc[channel] * t), rate, config)
        assert int(np.argmax(drive[100:].mean(axis=0))) == channel


def test_lif_encoder_rate_grows_with_drive_and_respects_refractoriness():
    dt, steps = 5e-4, 4000  # 2 s
    levels = np.array([0.2, 0.36, 0.5, 1.0, 2.0, 8.0])
    drive = np.tile(levels, (steps, 1))
    times, units = lif_encode(drive, dt, lif_encoder_params(0.35, 10e-3, 2e-3))
    rates = np.bincount(units, minlength=levels.size) / (steps * dt)
    assert rates[0] == 0  # below threshold: silent
    assert np.all(np.diff(rates) > 0)
    # From rest, a constant drive I crosses the threshold after m = ceil(tau ln(I / (I - theta))
    # / dt) steps; after a spike the membrane is clamped for refractory_steps - 1 = 3 steps
    # and then integrates again from 0 (the engine's refractory countdown).
    for u, level in enumerate(levels[2:], start=2):
        m = int(np.ceil(10e-3 * np.log(level / (level - 0.35)) / dt))
        train = times[units == u]
        assert train[0] == pytest.approx(m * dt)
        np.testing.assert_allclose(np.diff(train), (3 + m) * dt, rtol=1e-9)
    # with a crossing time long against dt (24 steps at I = 0.5) the rate is close to that
    # of the continuous neuron, 1 / (t_ref + tau ln(I / (I - theta)))
    analytic = 1 / (2e-3 + 10e-3 * np.log(0.5 / (0.5 - 0.35)))
    assert rates[2] == pytest.approx(analytic, rel=0.01)
    assert np.all(np.diff(times) >= 0)  # sorted by time
    with pytest.raises(ValueError, match="drive must be"):
        lif_encode(np.zeros(5), dt)
    with pytest.raises(TypeError, match="params must be"):
        lif_encode(drive, dt, params=CochleaConfig())


@pytest.mark.parametrize("refractory", [0.0, 1.2e-3, 2e-3, 2.6e-3])
def test_lif_encoder_spikes_equal_the_engines_lif_population(refractory):
    """The encoder is the engine's LIF neuron: the same currents into a population with the
    same LIFParams give the same spikes, step for step, on every backend."""
    from snn import Network, run

    dt, n_steps, n_channels = 5e-4, 600, 12
    rng = np.random.default_rng(4)
    # Slowly varying drives around threshold, some channels silent, some saturating; one
    # channel sits exactly on the threshold (fires only above it).
    drive = np.abs(np.cumsum(rng.normal(0.0, 0.08, (n_steps, n_channels)), axis=0))
    drive[:, 0] = 0.0
    drive[:, 1] = 0.35
    drive[:, 2] = 3.0
    params = lif_encoder_params(0.35, 10e-3, refractory)
    times, units = lif_encode(drive, dt, params)
    assert times.size > 100
    assert not np.any(units == 1)  # v tends to the threshold, never above it
    for backend in ("reference", "numba"):
        net = Network(dt=dt)
        net.add_population("encoder", n_channels, params)
        net.set_current("encoder", drive)
        net.monitor_spikes("encoder")
        result = run(net, n_steps * dt, backend=backend)
        engine = result.spikes["encoder"]
        engine_steps = np.rint(engine.times / dt).astype(np.int64)
        # The engine stamps a spike at the start of its step, the encoder at its end.
        np.testing.assert_array_equal(np.rint(times / dt).astype(np.int64) - 1, engine_steps)
        np.testing.assert_array_equal(units, engine.indices)


def test_cochlea_encoder_is_the_lif_of_its_config():
    config = CochleaConfig(threshold=0.3, tau_m=8e-3, refractory=1.5e-3)
    p = config.lif_params()
    assert (p.v_threshold, p.tau_m, p.tau_refractory, p.v_rest, p.v_reset, p.r_m) == (
        0.3, 8e-3, 1.5e-3, 0.0, 0.0, 1.0)
    rate = 8000
    t = np.arange(int(0.3 * rate)) / rate
    tone = np.sin(2 * np.pi * 440.0 * t)
    drive = cochlea_drive(tone, rate, config)
    drive = drive / np.percentile(drive, config.level_percentile)
    expected = lif_encode(drive, config.step_samples(rate) / rate, p)
    got = audio_to_spikes(tone, rate, config)
    np.testing.assert_array_equal(got[0], expected[0])
    np.testing.assert_array_equal(got[1], expected[1])


def test_audio_to_spikes_on_a_tone_is_selective_and_loudness_invariant():
    rate = 8000
    config = CochleaConfig()
    t = np.arange(int(0.5 * rate)) / rate
    fc = centre_frequencies(config)
    tone = np.sin(2 * np.pi * fc[40] * t)
    times, units = audio_to_spikes(tone, rate, config)
    assert times.dtype == np.float64 and units.dtype == np.int64
    assert 0 < times.min() and times.max() <= 0.5 + 1e-9
    counts = np.bincount(units, minlength=config.n_channels)
    assert abs(int(np.argmax(counts)) - 40) <= 1
    assert counts[:30].sum() == 0 and counts[50:].sum() == 0  # far channels stay silent
    rate_hz = counts[counts > 0].mean() / 0.5
    assert 10 < rate_hz < 200
    loud_t, loud_u = audio_to_spikes(100 * tone, rate, config)
    quiet_t, quiet_u = audio_to_spikes(0.001 * tone, rate, config)
    assert abs(loud_t.size - times.size) <= 0.02 * times.size
    assert abs(quiet_t.size - times.size) <= 0.02 * times.size
    silent = audio_to_spikes(np.zeros(800), rate, config)
    assert silent[0].size == 0 and silent[1].size == 0


def test_cochlea_config_is_validated():
    with pytest.raises(ValueError, match="f_max .* Nyquist"):
        audio_to_spikes(np.ones(100), 6000, CochleaConfig(f_max=3500.0))
    with pytest.raises(ValueError, match="n_channels"):
        CochleaConfig(n_channels=0)
    with pytest.raises(ValueError, match="f_max .* must be >= f_min"):
        CochleaConfig(f_min=500.0, f_max=400.0)
    with pytest.raises(ValueError, match="compression"):
        CochleaConfig(compression="sqrt")
    with pytest.raises(ValueError, match="tau_m"):
        CochleaConfig(tau_m=-1.0)
    with pytest.raises(ValueError, match="signal must be one-dimensional"):
        audio_to_spikes(np.zeros((10, 2)), 8000)
    with pytest.raises(ValueError, match="NaN"):
        audio_to_spikes(np.array([0.0, np.nan]), 8000)
    with pytest.raises(AttributeError):
        CochleaConfig().n_channels = 3  # frozen


# -- wav files and FSDD ------------------------------------------------------------------------


def write_wav(path: Path, signal: np.ndarray, rate: int = 8000, width: int = 2) -> Path:
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(width)
        w.setframerate(rate)
        if width == 1:
            w.writeframes(np.clip(signal * 127 + 128, 0, 255).astype(np.uint8).tobytes())
        else:
            w.writeframes((np.clip(signal, -1, 1) * 32767).astype("<i2").tobytes())
    return path


def fake_fsdd(folder: Path) -> Path:
    """FSDD-named tone recordings: digits 0-2, speakers a and b, repetitions 0 and 5."""
    folder.mkdir(parents=True)
    t = np.arange(2400) / 8000
    for digit in range(3):
        for s, speaker in enumerate(("alice", "bob")):
            for index in (0, 5):
                f = 300.0 * (digit + 1) * (1 + 0.05 * s) + 10 * index
                write_wav(folder / f"{digit}_{speaker}_{index}.wav",
                          0.3 * np.sin(2 * np.pi * f * t) * np.hanning(t.size))
    return folder


def test_read_wav_formats_and_errors(tmp_path):
    x = 0.5 * np.sin(np.linspace(0, 20, 800))
    y, rate = read_wav(write_wav(tmp_path / "a.wav", x))
    assert rate == 8000 and y.dtype == np.float64
    np.testing.assert_allclose(y, x, atol=1e-4)
    y8, _ = read_wav(write_wav(tmp_path / "b.wav", x, width=1))
    np.testing.assert_allclose(y8, x, atol=0.02)  # 8-bit quantisation
    (tmp_path / "c.wav").write_bytes(b"RIFF\x00\x00\x00\x00WAVEjunk")
    with pytest.raises(ValueError, match="c.wav: not a readable PCM wav"):
        read_wav(tmp_path / "c.wav")


def test_convert_and_load_fsdd_from_recordings_with_a_cache(tmp_path, monkeypatch):
    recordings = fake_fsdd(tmp_path / "rec")
    written = convert_fsdd(recordings, tmp_path / "out", progress=False)
    assert {k: p.name for k, p in written.items()} == {"train": "fsdd_train.h5",
                                                       "test": "fsdd_test.h5"}
    train = read_spike_hdf5(written["train"])
    assert len(train) == 6 and train.n_channels == 64 and train.n_classes == 10
    assert train.extra["repetition"].tolist() == [5] * 6
    assert sorted(train.labels.tolist()) == [0, 0, 1, 1, 2, 2]
    assert set(train.extra["speaker_names"]) == {"alice", "bob"}
    assert train.extra["source_file"][0] == "0_alice_5.wav"
    with h5py.File(written["test"]) as f:
        assert json.loads(f.attrs["cochlea_config"]) == CochleaConfig().to_dict()
        assert f.attrs["encoder_dt"] == 5e-4 and f.attrs["sample_rate"] == 8000
    # load_fsdd converts once into the cache, keyed on the settings, then reuses it
    first = load_fsdd(recordings, "test", progress=False)
    assert len(first) == 6 and set(first.extra["repetition"]) == {0}
    cached = list((tmp_path / "cache").glob("fsdd-*/fsdd_test.h5"))
    assert len(cached) == 1

    def refuse(*args, **kwargs):
        raise AssertionError("converted again")

    monkeypatch.setattr("snn.data.fsdd.convert_fsdd", refuse)
    again = load_fsdd(recordings, "test")
    np.testing.assert_array_equal(again.flat_times, first.flat_times)
    with pytest.raises(AssertionError, match="converted again"):
        load_fsdd(recordings, "test", CochleaConfig(n_channels=8))
    # a folder of converted files is read directly; a different config is refused
    np.testing.assert_array_equal(load_fsdd(tmp_path / "out", "test").flat_units,
                                  first.flat_units)
    with pytest.raises(ValueError, match="different CochleaConfig"):
        load_fsdd(tmp_path / "out", "test", CochleaConfig(n_channels=8))


def test_fsdd_errors_name_the_path(tmp_path):
    (tmp_path / "empty").mkdir()
    with pytest.raises(ValueError, match="no .wav files in .*empty"):
        convert_fsdd(tmp_path / "empty", tmp_path / "out")
    with pytest.raises(ValueError, match="neither fsdd_train.h5 nor FSDD recordings"):
        load_fsdd(tmp_path / "empty", "train")
    odd = tmp_path / "odd"
    odd.mkdir()
    write_wav(odd / "hello.wav", np.zeros(100))
    with pytest.raises(ValueError, match=r"not named \{digit\}_\{speaker\}_\{index\}\.wav"):
        convert_fsdd(odd, tmp_path / "out")
    with pytest.raises(ValueError, match="split must be one of"):
        load_fsdd(odd, "valid")


@needs_fsdd
def test_real_fsdd_recordings_match_the_manifest_and_convert(tmp_path):
    manifest = json.loads((DATASETS / "fsdd.json").read_text())["recordings"]
    found = fsdd_checksum(FSDD_ROOT)
    assert found == {k: manifest[k] for k in ("sha256", "n_files", "total_bytes")}
    names = [f"{d}_{s}_{i}.wav" for d in (0, 7) for s in ("george", "theo") for i in (0, 9)]
    written = convert_fsdd(FSDD_ROOT, tmp_path, files=names, progress=False)
    test = read_spike_hdf5(written["test"])
    assert len(test) == 4 and test.extra["repetition"].tolist() == [0] * 4
    assert test.labels.tolist() == [0, 0, 7, 7]
    duration = test.extra["duration"].astype(float)
    rates = test.spike_counts / duration / test.n_channels
    assert np.all((rates > 5) & (rates < 100))  # tens of Hz per channel
    assert np.all(test.durations <= duration + 1e-3)


# -- embedded sample ---------------------------------------------------------------------------


def test_embedded_sample_loads_with_all_classes_and_matches_its_manifest():
    record = json.loads((DATASETS / "fsdd.json").read_text())["embedded_sample"]["files"]
    for split, n in (("train", 240), ("test", 60)):
        data = load_sample(split)
        assert len(data) == n and data.n_channels == 64 and data.n_classes == 10
        assert set(data.labels.tolist()) == set(range(10))
        assert len(set(data.extra["speaker"].tolist())) == 6
        entry = record[f"snn/data/samples/fsdd_sample_{split}.h5"]
        assert data.n_spikes == entry["spikes"]
        assert file_checksum(SAMPLES / f"fsdd_sample_{split}.h5") == entry["sha256"]
    total = sum(p.stat().st_size for p in SAMPLES.glob("*.h5"))
    assert total <= 1.5e6
    binned = bin_spikes(load_sample("test"), 5e-3, max_time=1.0)
    assert binned.counts.shape == (60, 200, 64)
    x, y = next(iter(batches(binned, 16)))
    assert x.shape[1:] == (16, 64) and y.shape == (16,)


@needs_fsdd
def test_embedded_sample_is_what_the_converter_makes_today(tmp_path):
    """The shipped sample is derived data: any change of the encoder must remake it
    (datasets/fsdd/make_sample.py)."""
    chosen = [p.name for p in sorted(FSDD_ROOT.glob("*_0.wav"))]
    made = convert_fsdd(FSDD_ROOT, tmp_path, CochleaConfig(), files=chosen,
                        prefix="fsdd_sample", time_dtype=np.float32, progress=False)
    fresh, shipped = read_spike_hdf5(made["test"]), load_sample("test")
    np.testing.assert_array_equal(fresh.offsets, shipped.offsets)
    np.testing.assert_array_equal(fresh.flat_units, shipped.flat_units)
    np.testing.assert_array_equal(fresh.flat_times, shipped.flat_times)
    np.testing.assert_array_equal(fresh.labels, shipped.labels)


def test_samples_of_equal_length_round_trip(tmp_path):
    rng = np.random.default_rng(3)
    times = [np.sort(rng.uniform(0, 0.5, 7)) for _ in range(4)]
    units = [rng.integers(0, 10, 7) for _ in range(4)]
    ds = SpikeDataset(times, units, [0, 1, 0, 1], n_channels=10)
    back = read_spike_hdf5(write_spike_hdf5(tmp_path / "equal.h5", ds))
    for a, b in zip(ds.times, back.times):
        np.testing.assert_array_equal(a, b)
    for a, b in zip(ds.units, back.units):
        np.testing.assert_array_equal(a, b)
