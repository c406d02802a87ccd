"""Event loaders on small files written byte by byte in the public N-MNIST and N-TIDIGITS
layouts (5-byte events; HDF5 keys, addresses and timestamps)."""

import h5py
import numpy as np
import pytest

from snn.data.events import (
    TXP,
    XYTP,
    events_to_dataset,
    load_nmnist,
    load_ntidigits,
    read_nmnist_bin,
    read_ntidigits,
    write_nmnist_bin,
)


def _event_bytes(x, y, p, t_us):
    return bytes([x, y, (p << 7) | (t_us >> 16), (t_us >> 8) & 0xFF, t_us & 0xFF])


def test_nmnist_bytes_decode_with_overflow(tmp_path):
    f = tmp_path / "00001.bin"
    f.write_bytes(_event_bytes(3, 5, 1, 100_000) + _event_bytes(33, 0, 0, 8191)
                  + _event_bytes(0, 240, 0, 0)  # overflow marker: later times + 2**13 us
                  + _event_bytes(7, 9, 1, 10))
    ev = read_nmnist_bin(f)
    assert ev.dtype == XYTP and ev.size == 3
    np.testing.assert_array_equal(ev["x"], [3, 33, 7])
    np.testing.assert_array_equal(ev["y"], [5, 0, 9])
    np.testing.assert_array_equal(ev["p"], [True, False, True])
    np.testing.assert_array_equal(ev["t"], [100_000, 8191, 10 + 2**13])
    (tmp_path / "bad.bin").write_bytes(b"\x00" * 7)
    with pytest.raises(ValueError, match="5-byte"):
        read_nmnist_bin(tmp_path / "bad.bin")


def test_nmnist_writer_matches_the_bytes(tmp_path):
    ev = np.zeros(2, dtype=XYTP)
    ev["x"], ev["y"], ev["t"], ev["p"] = [1, 33], [2, 30], [5, 2**23 - 1], [True, False]
    write_nmnist_bin(tmp_path / "a.bin", ev)
    assert (tmp_path / "a.bin").read_bytes() == _event_bytes(1, 2, 1, 5) + \
        _event_bytes(33, 30, 0, 2**23 - 1)
    np.testing.assert_array_equal(read_nmnist_bin(tmp_path / "a.bin"), ev)


def test_load_nmnist_folder_layout(tmp_path):
    for digit, n in ((0, 2), (3, 1)):
        folder = tmp_path / "Train" / str(digit)
        folder.mkdir(parents=True)
        for k in range(n):
            (folder / f"{k:05d}.bin").write_bytes(_event_bytes(2, 1, 1, 3000 + k)
                                                   + _event_bytes(4, 0, 0, 1000))
    data = load_nmnist(tmp_path, "train")
    assert data.n_channels == 34 * 34 * 2
    np.testing.assert_array_equal(data.labels, [0, 0, 3])
    # times from the first event, sorted; channel (p * 34 + y) * 34 + x
    np.testing.assert_allclose(data.times[0], [0.0, 2e-3])
    np.testing.assert_array_equal(data.units[0], [4, (1 * 34 + 1) * 34 + 2])
    assert len(load_nmnist(tmp_path, "train", max_per_class=1).labels) == 2
    with pytest.raises(FileNotFoundError, match="Test"):
        load_nmnist(tmp_path, "test")


def test_ntidigits_hdf5_layout(tmp_path):
    path = tmp_path / "n-tidigits.hdf5"
    keys = ["man-ae-3a", "woman-bc-zb", "man-ae-12a", "boy-cd-ob"]
    with h5py.File(path, "w") as f:
        f["train_labels"] = np.array([k.encode() for k in keys])
        for k, key in enumerate(keys):
            f[f"train_addresses/{key}"] = np.array([5, 63, 0][:k + 1], dtype=np.int64)
            f[f"train_timestamps/{key}"] = np.array([0.5, 0.25, 1.0][:k + 1])
    events, labels = read_ntidigits(path, "train")
    np.testing.assert_array_equal(labels, [3, 0, 10])  # "12" left out; "o" is 10
    assert events[0].dtype == TXP
    np.testing.assert_array_equal(events[1]["t"], [500_000, 250_000])
    np.testing.assert_array_equal(events[1]["x"], [5, 63])
    _, all_labels = read_ntidigits(path, "train", single_digits=False)
    np.testing.assert_array_equal(all_labels, [3, 0, -1, 10])
    data = load_ntidigits(path, "train")  # "oh" is not a digit class
    assert data.n_channels == 64
    np.testing.assert_array_equal(data.labels, [3, 0])
    np.testing.assert_allclose(data.times[1], [0.0, 0.25])
    np.testing.assert_array_equal(data.units[1], [63, 5])


def test_events_outside_the_sensor_are_refused():
    ev = np.zeros(1, dtype=XYTP)
    ev["x"] = 40
    with pytest.raises(ValueError, match="sensor_size"):
        events_to_dataset([ev], [1], sensor_size=(34, 34, 2))
