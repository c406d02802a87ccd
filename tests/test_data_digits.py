"""Continual-learning data: permuted / split digits, the low-rank variant, rate coding, split
FSDD, and MNIST's IDX format (tiny files built here, plain and gzipped)."""

import gzip
from pathlib import Path

import numpy as np
import pytest
import torch

from snn.data import (
    load_mnist_idx,
    permuted_digits_tasks,
    permuted_tasks,
    rate_encode,
    read_idx,
    split_digits_tasks,
    split_fsdd_tasks,
    split_tasks,
    write_idx,
)


def test_permuted_digits_are_seeded_permutations_of_the_same_images():
    tasks = permuted_digits_tasks(3, rng=0)
    again = permuted_digits_tasks(3, rng=0)
    other = permuted_digits_tasks(3, rng=1)
    assert len(tasks) == 3 and tasks[0].n_features == 64 and tasks[0].classes == tuple(range(10))
    x0 = tasks[0].x_train
    assert x0.dtype == np.float32 and 0 <= x0.min() and x0.max() <= 1
    for task in tasks[1:]:
        # Each column of a permuted task is a column of the original.
        perm = [int(np.flatnonzero((x0 == task.x_train[:, [j]]).all(0))[0])
                for j in range(64) if (x0 == task.x_train[:, [j]]).all(0).sum() == 1]
        assert len(perm) > 30
        np.testing.assert_array_equal(task.y_train, tasks[0].y_train)
    np.testing.assert_array_equal(tasks[2].x_test, again[2].x_test)
    assert not np.array_equal(tasks[1].x_train, tasks[2].x_train)
    assert not np.array_equal(tasks[1].x_train, other[1].x_train)
    assert len(tasks[0].y_train) + len(tasks[0].y_test) == 1797


def test_low_rank_variant_lives_in_a_small_subspace():
    tasks = permuted_digits_tasks(2, rng=0, rank=8)
    x = tasks[1].x_train
    centred = x - x.mean(0)
    singular = np.linalg.svd(centred, compute_uv=False)
    assert singular[8:].sum() / singular.sum() < 1e-5
    assert 0 <= x.min() and x.max() <= 1 and x.max() - x.min() > 0.99


def test_split_tasks_group_consecutive_classes():
    tasks = split_digits_tasks(2)
    assert [t.classes for t in tasks] == [(0, 1), (2, 3), (4, 5), (6, 7), (8, 9)]
    for task in tasks:
        assert set(np.unique(task.y_train)) == set(task.classes)
        assert set(np.unique(task.y_test)) == set(task.classes)
    with pytest.raises(ValueError, match="classes_per_task must divide"):
        split_digits_tasks(3)


def test_split_fsdd_tasks_on_the_embedded_sample():
    tasks = split_fsdd_tasks(None, dt=0.02, max_time=1.0)
    assert len(tasks) == 5
    assert tasks[0].x_train.shape[1:] == (50, 64) and tasks[3].classes == (6, 7)
    assert sum(len(t.y_train) for t in tasks) == 240


def test_rate_encode_draws_bernoulli_spikes_from_the_generator():
    x = np.array([[0.0, 0.25, 1.0]], dtype=np.float32).repeat(400, 0)
    spikes = rate_encode(x, 50, rng=torch.Generator().manual_seed(3))
    assert spikes.shape == (50, 400, 3) and spikes.dtype == torch.float32
    np.testing.assert_allclose(spikes.mean((0, 1)).numpy(), [0.0, 0.25, 1.0], atol=0.01)
    assert torch.equal(rate_encode(x, 5, rng=1), rate_encode(x, 5, rng=1))
    # rng=None: fresh entropy each call, torch's global generator untouched.
    before = torch.get_rng_state()
    assert not torch.equal(rate_encode(x, 20), rate_encode(x, 20))
    assert torch.equal(torch.get_rng_state(), before)
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        rate_encode(x * 2, 5)
    with pytest.raises(ValueError, match="x must have shape"):
        rate_encode(x[0], 5)


def test_permuted_tasks_refuse_bad_arguments():
    x, y = np.zeros((4, 3), np.float32), np.zeros(4, np.int64)
    with pytest.raises(ValueError, match="n_tasks"):
        permuted_tasks(x, y, x, y, 0)
    with pytest.raises(ValueError, match="same width"):
        permuted_tasks(x, y, x[:, :2], y, 2)
    with pytest.raises(TypeError, match="classes_per_task"):
        split_tasks(x, y, x, y, 1.5)


@pytest.mark.parametrize("dtype", ["u1", "i1", "i2", "i4", "f4", "f8"])
@pytest.mark.parametrize("suffix", ["", ".gz"])
def test_idx_round_trip(tmp_path, dtype, suffix):
    array = (np.arange(24).reshape(2, 3, 4) * (1 if dtype[0] == "u" else -1)).astype(dtype)
    path = tmp_path / f"a.idx{suffix}"
    write_idx(path, array)
    back = read_idx(path)
    assert back.dtype == np.dtype(dtype) and back.shape == (2, 3, 4)
    np.testing.assert_array_equal(back, array)


def test_idx_bytes_follow_the_public_layout(tmp_path):
    write_idx(tmp_path / "l", np.array([7, 2, 1], np.uint8))
    assert (tmp_path / "l").read_bytes() == bytes([0, 0, 8, 1, 0, 0, 0, 3, 7, 2, 1])
    write_idx(tmp_path / "s", np.array([[1, -2]], np.int16))
    assert (tmp_path / "s").read_bytes() == bytes([0, 0, 0x0B, 2, 0, 0, 0, 1, 0, 0, 0, 2,
                                                   0, 1, 0xFF, 0xFE])


def test_idx_errors_name_the_problem(tmp_path):
    bad = tmp_path / "bad"
    bad.write_bytes(bytes([1, 2, 8, 1, 0, 0, 0, 1, 5]))
    with pytest.raises(ValueError, match="not an IDX file"):
        read_idx(bad)
    short = tmp_path / "short"
    short.write_bytes(bytes([0, 0, 8, 1, 0, 0, 0, 5, 1, 2]))
    with pytest.raises(ValueError, match="size mismatch"):
        read_idx(short)
    with pytest.raises(FileNotFoundError, match="no IDX file"):
        read_idx(tmp_path / "missing")
    with pytest.raises(TypeError, match="uint8"):
        write_idx(tmp_path / "x", np.zeros(3, np.uint16))


def _write_mnist(root: Path, gz: bool, n_train=6, n_test=4):
    rng = np.random.default_rng(0)
    files = {"train-images-idx3-ubyte": rng.integers(0, 256, (n_train, 3, 3), dtype=np.uint8),
             "train-labels-idx1-ubyte": np.arange(n_train, dtype=np.uint8) % 10,
             "t10k-images-idx3-ubyte": rng.integers(0, 256, (n_test, 3, 3), dtype=np.uint8),
             "t10k-labels-idx1-ubyte": np.arange(n_test, dtype=np.uint8) % 10}
    for name, array in files.items():
        write_idx(root / (name + (".gz" if gz else "")), array)
    return files


@pytest.mark.parametrize("gz", [False, True])
def test_load_mnist_idx_and_permuted_mnist(tmp_path, gz):
    files = _write_mnist(tmp_path, gz)
    x_tr, y_tr, x_te, y_te = load_mnist_idx(tmp_path)
    assert x_tr.shape == (6, 9) and x_te.shape == (4, 9) and x_tr.dtype == np.float32
    np.testing.assert_allclose(x_tr * 255, files["train-images-idx3-ubyte"].reshape(6, 9),
                               atol=1e-4)
    np.testing.assert_array_equal(y_te, [0, 1, 2, 3])
    tasks = permuted_tasks(x_tr, y_tr, x_te, y_te, 3, rng=0, name="pmnist")
    assert len(tasks) == 3 and tasks[2].x_train.shape == (6, 9)
    if gz:
        with gzip.open(tmp_path / "train-images-idx3-ubyte.gz", "rb") as f:
            assert f.read(4) == bytes([0, 0, 8, 3])


def test_load_mnist_idx_refuses_missing_or_inconsistent_files(tmp_path):
    with pytest.raises(FileNotFoundError, match="train-images-idx3-ubyte"):
        load_mnist_idx(tmp_path)
    _write_mnist(tmp_path, False)
    write_idx(tmp_path / "train-labels-idx1-ubyte", np.zeros(5, np.uint8))
    with pytest.raises(ValueError, match="same N"):
        load_mnist_idx(tmp_path)
