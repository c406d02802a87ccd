"""HLOP beyond the rate MLP: spiking lateral neurons, convolutions projected on their input
patches, gradient projection memory (GPM) and replay."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from snn.continual import (
    ContinualConfig,
    GPMSubspace,
    HebbianSubspace,
    PCASubspace,
    ProjectedOptimizer,
    SpikingConvNet,
    SpikingHebbianSubspace,
    lateral_spike_counts,
    run_continual,
    unfold_patches,
)
from snn.data import Task, split_digits_tasks


def _simulated_counts(drive, n_steps):
    """Signed integrate-and-fire neurons stepped one step at a time (membrane from half the
    threshold, threshold 1, reset by subtraction, at most one spike a step)."""
    v = torch.where(drive < 0, -0.5, 0.5).to(drive.dtype)
    counts = torch.zeros_like(drive)
    for _ in range(n_steps):
        v = v + drive
        up, down = (v >= 1.0).to(drive.dtype), (v <= -1.0).to(drive.dtype)
        v = v - up + down
        counts = counts + up - down
    return counts


def test_lateral_neurons_fire_at_the_rate_of_their_drive():
    drive = torch.tensor([0.0, 0.013, 0.25, -0.37, 0.999, 1.0, 3.0, -2.0], dtype=torch.float64)
    counts = lateral_spike_counts(drive, 100)
    # An integrate-and-fire neuron starting at half the threshold, driven by a constant
    # input d (|d| <= 1), fires round(100 d) times in 100 steps (halves away from zero);
    # above threshold it fires every step.
    expected = torch.sign(drive) * torch.floor(torch.clamp(drive.abs(), max=1.0) * 100 + 0.5)
    torch.testing.assert_close(counts, expected)
    # The closed form is the count of the neurons simulated step by step.
    random_drive = torch.rand(4000, generator=torch.Generator().manual_seed(0),
                              dtype=torch.float64) * 2.6 - 1.3
    for n_steps in (1, 7, 50, 1000):
        torch.testing.assert_close(lateral_spike_counts(random_drive, n_steps),
                                   _simulated_counts(random_drive, n_steps), rtol=0, atol=0)


def _low_rank(rng, n=800, dim=16, scales=(3.0, 2.0, 1.5)):
    basis, _ = np.linalg.qr(rng.standard_normal((dim, len(scales))))
    return torch.from_numpy(rng.standard_normal((n, len(scales))) * scales @ basis.T), basis


def test_spiking_lateral_circuit_learns_the_principal_subspace():
    rng = np.random.default_rng(0)
    x, basis = _low_rank(rng, n=640)
    spiking = SpikingHebbianSubspace(16, rng=1, n_steps=200, scale=20.0)
    rate = HebbianSubspace(16, rng=1)
    for s in (spiking, rate):
        s.grow(3)
        for _ in range(2):
            for batch in torch.split(x, 64):
                s.observe(batch)
        s.consolidate()
    h = spiking.frozen.numpy()
    # The same subspace as the rate circuit and the data's, within the rate quantisation.
    np.testing.assert_allclose(h.T @ h, basis @ basis.T, atol=0.05)
    np.testing.assert_allclose(h @ h.T, np.eye(3), atol=0.05)
    assert spiking.captured(x) > 0.99 and rate.captured(x) > 0.999


def test_gpm_keeps_the_fewest_directions_that_reach_its_threshold():
    rng = np.random.default_rng(2)
    scales = np.array([4.0, 2.0, 1.0, 0.5, 0.25])
    basis, _ = np.linalg.qr(rng.standard_normal((12, 5)))
    r = rng.standard_normal((500, 5)) * scales @ basis.T
    gpm = GPMSubspace(12, threshold=0.95, threshold_step=0.0)
    gpm.grow(12)
    gpm.observe(torch.from_numpy(r))
    gpm.consolidate()
    # GPM's criterion on the representation matrix's singular values.
    s2 = np.linalg.svd(r, compute_uv=False) ** 2
    expected = int(np.searchsorted(np.cumsum(s2) / s2.sum(), 0.95) + 1)
    assert gpm.size == expected
    u = np.linalg.svd(r.T, full_matrices=False)[0][:, :expected]
    np.testing.assert_allclose(gpm.frozen.numpy().T @ gpm.frozen.numpy(), u @ u.T, atol=1e-8)
    # A second task already inside the basis adds nothing; one outside adds its directions.
    gpm.grow(12 - gpm.size)
    gpm.observe(torch.from_numpy(r))
    gpm.consolidate()
    assert gpm.size == expected
    other = rng.standard_normal((300, 12))
    gpm.grow(12 - gpm.size)
    gpm.observe(torch.from_numpy(other))
    gpm.consolidate()
    assert expected < gpm.size <= 12
    f = gpm.frozen.numpy()
    np.testing.assert_allclose(f @ f.T, np.eye(gpm.size), atol=1e-10)
    with pytest.raises(ValueError, match="threshold"):
        GPMSubspace(4, threshold=1.5)


def test_unfolded_patches_times_the_weight_are_the_convolution():
    gen = torch.Generator().manual_seed(0)
    for shape in ((2, 12), (2, 6, 6)):
        net = SpikingConvNet(shape, (3,), 4, kernel_size=3, rng=0)
        conv = net.convs[0]
        x = torch.rand((5, *shape), generator=gen)
        out = conv(x)                                          # [5, 3, *spatial]
        rows = out.reshape(5, 3, -1).transpose(1, 2).reshape(-1, 3)
        torch.testing.assert_close(unfold_patches(x, 3) @ conv.weight.reshape(3, -1).T, rows)


@pytest.mark.parametrize("subspace", ["pca", "gpm"])
def test_projected_convolution_updates_leave_old_patch_responses_unchanged(subspace):
    """Train a convolution on new inputs with gradients projected off the subspace of old
    inputs' patches: its response to the old inputs does not move."""
    gen = torch.Generator().manual_seed(3)
    net = SpikingConvNet((1, 8, 8), (4,), 3, rng=1)
    conv = net.convs[0]
    # Old inputs: images made of two fixed patterns (their patches span few dimensions).
    patterns = torch.rand((2, 1, 8, 8), generator=gen)
    old = torch.einsum("nk,kchw->nchw", torch.rand((40, 2), generator=gen), patterns)
    space = PCASubspace(9) if subspace == "pca" else GPMSubspace(9, threshold=1.0)
    space.grow(9 if subspace == "gpm" else int(torch.linalg.matrix_rank(
        unfold_patches(old, 3).double())))
    space.observe(unfold_patches(old, 3))
    space.consolidate()
    assert space.captured(unfold_patches(old, 3)) > 1 - 1e-9
    before = conv(old).detach()
    opt = ProjectedOptimizer(torch.optim.SGD(conv.parameters(), lr=0.5), [(conv.weight, space)])
    new = torch.rand((40, 1, 8, 8), generator=gen)
    for _ in range(20):
        opt.zero_grad()
        conv(new).square().mean().backward()
        opt.step()
    assert not torch.allclose(conv(new), conv(new).detach() * 0)
    torch.testing.assert_close(conv(old).detach(), before, atol=1e-5, rtol=0)


def _small(tasks, n_train, n_test):
    return [Task(t.name, t.x_train[:n_train], t.y_train[:n_train], t.x_test[:n_test],
                 t.y_test[:n_test], t.classes) for t in tasks]


# Rate HLOP on convolutions runs inside hlop-replay; tests/test_continual.py runs every
# method on the MLP.
@pytest.mark.parametrize("method", ["hlop-spiking", "gpm", "replay", "hlop-replay"])
def test_convolutional_methods_run_on_split_digits_and_1d_series(method):
    tasks = _small(split_digits_tasks(2, rng=0)[:2], 160, 60)
    config = ContinualConfig(method=method, architecture="conv", input_shape=(1, 8, 8),
                             channels=(4, 8), epochs=3, n_steps=6, batch_size=16, lr=0.3,
                             lateral_steps=20, replay_per_task=10, replay_batch=4, seed=2)
    result = run_continual(tasks, config)
    assert result.accuracy.shape == (2, 2) and np.isfinite(result.accuracy).all()
    assert result.accuracy[0, 0] > 80 and result.accuracy[1, 1] > 80   # 2 classes a task
    if method != "replay":
        assert len(result.subspace_sizes) == 3 and result.subspace_sizes[0] > 0
    # Time series [N, T, C]: 1-D convolutions over the channels at every step.
    rng = np.random.default_rng(0)
    series = [Task(f"t{i}", rng.random((30, 5, 16)).astype(np.float32),
                   rng.integers(2 * i, 2 * i + 2, 30), rng.random((10, 5, 16)).astype(np.float32),
                   rng.integers(2 * i, 2 * i + 2, 10), (2 * i, 2 * i + 1)) for i in range(2)]
    result = run_continual(series, ContinualConfig(method=method, architecture="conv",
                                                   channels=(2,), epochs=1, lateral_steps=20,
                                                   replay_per_task=5, replay_batch=2))
    assert result.accuracy.shape == (2, 2)


def test_replay_and_conv_settings_are_checked():
    with pytest.raises(ValueError, match="BPTT"):
        ContinualConfig(architecture="conv", training="online")
    with pytest.raises(ValueError, match="kernel_size"):
        ContinualConfig(architecture="conv", kernel_size=4)
    with pytest.raises(ValueError, match="replay_per_task"):
        ContinualConfig(method="replay", replay_per_task=-1)
    tasks = _small(split_digits_tasks(5, rng=0)[:2], 20, 10)
    with pytest.raises(ValueError, match="input_shape"):
        run_continual(tasks, ContinualConfig(architecture="conv"))
    with pytest.raises(ValueError, match="holds 49 values"):
        run_continual(tasks, ContinualConfig(architecture="conv", input_shape=(1, 7, 7)))


def _orthonormality_errors(n_steps, n=24, k=4, n_tasks=3, n_batches=100):
    """||H H^T - I||_F after each of ``n_tasks`` tasks of a lateral circuit (rate when
    ``n_steps`` is None) learning ``k`` components a task from activity with a spread
    spectrum (std 2 down to 0.02): later tasks' neurons learn weaker directions."""
    rng = np.random.default_rng(0)
    basis = np.linalg.qr(rng.standard_normal((n, n)))[0]
    spectrum = np.geomspace(2.0, 0.02, n)
    lateral = (HebbianSubspace(n, rng=1) if n_steps is None
               else SpikingHebbianSubspace(n, rng=1, n_steps=n_steps, scale=20.0))
    errors = []
    for _ in range(n_tasks):
        lateral.grow(k)
        for _ in range(n_batches):
            lateral.observe(torch.from_numpy(rng.standard_normal((64, n)) * spectrum
                                             @ basis.T))
        lateral.consolidate()
        h = lateral.frozen
        errors.append(float(torch.linalg.norm(h @ h.T - torch.eye(lateral.size,
                                                                  dtype=h.dtype))))
    return np.array(errors)


def test_spiking_lateral_rows_stay_orthonormal_at_the_reference_rate_resolution():
    # At the reference's 1000 steps (rate step scale / steps = 0.02) the spiking rows stay
    # as orthonormal as the rate circuit's (||H H^T - I|| < 0.01 over 12 rows, 3 tasks);
    # at 50 steps (rate step 0.4, coarser than the weak directions' activity) the later
    # tasks' rows drift: the rate resolution is what keeps them orthonormal.
    rate = _orthonormality_errors(None)
    fine = _orthonormality_errors(1000)
    coarse = _orthonormality_errors(50)
    assert rate.max() < 0.005
    assert fine.max() < 0.01
    assert coarse[-1] > 0.1 and coarse[-1] > 10 * fine[-1]


@pytest.mark.slow
def test_spiking_lateral_rows_in_a_convolutional_run_stay_near_orthonormal():
    # End to end (3 split-digit tasks, 2 conv layers and the readout): at the reference's
    # 1000 lateral steps every layer's consolidated rows are within 0.2 of orthonormal
    # (measured 0.001 / 0.011 / 0.13; the rate circuit 0.0002 / 0.004 / 0.008); at 20 steps
    # they are not (0.85 / 1.5 / 0.78).
    tasks = _small(split_digits_tasks(2, rng=0)[:3], 160, 60)

    def errors(lateral_steps):
        config = ContinualConfig(method="hlop-spiking", architecture="conv",
                                 input_shape=(1, 8, 8), channels=(4, 8), epochs=3, n_steps=6,
                                 batch_size=16, lr=0.3, lateral_steps=lateral_steps, seed=2)
        result = run_continual(tasks, config)
        return np.array([float(torch.linalg.norm(s.frozen @ s.frozen.T - torch.eye(
            s.size, dtype=s.frozen.dtype))) for s in result.subspaces])

    fine, coarse = errors(1000), errors(20)
    assert fine.max() < 0.2
    assert coarse.max() > 0.5 and coarse.max() > 5 * fine.max()
