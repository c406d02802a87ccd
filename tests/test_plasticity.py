"""Local learning rules: Oja / subspace / Sanger against numpy's eigenvectors, anti-Hebbian
decorrelation, STDP with traces against its analytic window; numpy and torch alike."""

import numpy as np
import pytest
import torch

from snn import plasticity as pl


def _correlated(rng, n=8, samples=4000):
    """Zero-mean Gaussian data with a spread spectrum; returns data and eigenvectors
    (columns, decreasing eigenvalue)."""
    basis, _ = np.linalg.qr(rng.standard_normal((n, n)))
    scales = np.array([3.0, 2.2, 1.6, 1.0, 0.6, 0.4, 0.3, 0.2])[:n]
    x = (rng.standard_normal((samples, n)) * scales) @ basis.T
    cov = x.T @ x / samples
    values, vectors = np.linalg.eigh(cov)
    return x, vectors[:, ::-1]


def _train(rule, x, w, eta, epochs=6, batch=20):
    for _ in range(epochs):
        for start in range(0, len(x), batch):
            w = w + rule(x[start:start + batch], w, eta)
    return w


def test_oja_converges_to_the_first_principal_component():
    rng = np.random.default_rng(0)
    x, vectors = _correlated(rng)
    w = _train(pl.oja, x, rng.standard_normal((1, 8)) * 0.1, 0.01)
    cosine = abs(w[0] @ vectors[:, 0]) / np.linalg.norm(w[0])
    assert cosine > 0.99
    assert np.linalg.norm(w[0]) == pytest.approx(1.0, abs=0.05)


def test_oja_subspace_converges_to_the_top_k_subspace():
    rng = np.random.default_rng(1)
    x, vectors = _correlated(rng)
    w = _train(pl.oja_subspace, x, rng.standard_normal((3, 8)) * 0.1, 0.01)
    top = vectors[:, :3]
    # Orthonormal rows spanning the same subspace: the projectors agree.
    np.testing.assert_allclose(w @ w.T, np.eye(3), atol=0.05)
    assert np.linalg.norm(w.T @ w - top @ top.T) < 0.1


def test_oja_subspace_with_frozen_components_learns_the_residual_subspace():
    rng = np.random.default_rng(2)
    x, vectors = _correlated(rng)
    frozen = vectors[:, :2].T.copy()
    w = _train(lambda b, w, eta: pl.oja_subspace(b, w, eta, frozen=frozen), x,
               rng.standard_normal((2, 8)) * 0.1, 0.01)
    nxt = vectors[:, 2:4]
    assert np.linalg.norm(w.T @ w - nxt @ nxt.T) < 0.15


def test_sanger_finds_the_top_k_components_in_order():
    rng = np.random.default_rng(3)
    x, vectors = _correlated(rng)
    w = _train(pl.sanger, x, rng.standard_normal((3, 8)) * 0.1, 0.01, epochs=10)
    for i in range(3):
        cosine = abs(w[i] @ vectors[:, i]) / np.linalg.norm(w[i])
        assert cosine > 0.98, (i, cosine)


def test_rules_take_torch_tensors_and_agree_with_numpy():
    rng = np.random.default_rng(4)
    x, w = rng.standard_normal((5, 6)), rng.standard_normal((3, 6))
    for rule in (pl.oja, pl.oja_subspace, pl.sanger):
        expected = rule(x, w, 0.1)
        got = rule(torch.from_numpy(x), torch.from_numpy(w), 0.1)
        assert isinstance(got, torch.Tensor)
        np.testing.assert_allclose(got.numpy(), expected, rtol=1e-12)
    y = x @ w.T
    np.testing.assert_allclose(pl.hebbian(torch.from_numpy(x), torch.from_numpy(y), 0.5).numpy(),
                               0.5 * y.T @ x / 5, rtol=1e-12)
    np.testing.assert_allclose(pl.anti_hebbian_lateral(torch.from_numpy(y), 0.1).numpy(),
                               pl.anti_hebbian_lateral(y, 0.1), rtol=1e-12)


def test_anti_hebbian_lateral_weights_decorrelate_the_responses():
    rng = np.random.default_rng(5)
    mix = np.array([[1.0, 0.8, 0.3], [0.0, 0.6, 0.5], [0.0, 0.0, 0.7]])
    x = rng.standard_normal((4000, 3)) @ mix
    lateral = np.zeros((3, 3))

    def settle(batch, m):
        return np.linalg.solve(np.eye(3) - m, batch.T).T       # y = x + M y

    corr_before = np.corrcoef(settle(x, lateral).T)
    for _ in range(5):
        for start in range(0, len(x), 20):
            lateral = lateral + pl.anti_hebbian_lateral(settle(x[start:start + 20], lateral),
                                                        0.02)
    corr_after = np.corrcoef(settle(x, lateral).T)
    off = ~np.eye(3, dtype=bool)
    assert np.abs(corr_before[off]).max() > 0.5
    assert np.abs(corr_after[off]).max() < 0.1
    assert np.all(np.diag(lateral) == 0)


@pytest.mark.parametrize("steps", [-30, -12, -5, -1, 1, 3, 10, 25, 60])
def test_stdp_with_traces_reproduces_the_analytic_window(steps):
    params = pl.STDPParams(a_plus=0.01, a_minus=0.012, tau_plus=17e-3, tau_minus=34e-3)
    dt, n = 1e-3, 200
    # Three synapses: the pair at +d, and isolated pre or post spikes (no pair -> no change).
    t_pre, t_post = 80, 80 + steps
    pre = np.zeros((n, 3))
    post = np.zeros((n, 3))
    pre[t_pre, 0], post[t_post, 0] = 1, 1
    pre[t_pre, 1] = 1
    post[t_post, 2] = 1
    traces = pl.stdp_traces(3, 3)
    total = np.zeros((3, 3))
    for t in range(n):
        dw, traces = pl.stdp_step(pre[t], post[t], traces, params, dt)
        total += dw
    expected = pl.stdp_window(steps * dt, params)
    assert total[0, 0] == pytest.approx(float(expected), rel=1e-12)
    assert total[1, 1] == 0 and total[2, 2] == 0
    # Neuron 0's post spike pairs with neuron 1's pre spike at the same times.
    assert total[0, 1] == pytest.approx(float(expected), rel=1e-12)


def test_stdp_runs_on_torch_and_matches_numpy():
    params = pl.STDPParams()
    rng = np.random.default_rng(6)
    pre, post = (rng.random((50, 4)) < 0.1) * 1.0, (rng.random((50, 2)) < 0.1) * 1.0
    tn, tt = pl.stdp_traces(4, 2), pl.stdp_traces(4, 2, like=torch.zeros(1, dtype=torch.float64))
    wn, wt = np.zeros((2, 4)), torch.zeros(2, 4, dtype=torch.float64)
    for t in range(50):
        dn, tn = pl.stdp_step(pre[t], post[t], tn, params, 1e-3)
        dtorch, tt = pl.stdp_step(torch.from_numpy(pre[t]), torch.from_numpy(post[t]), tt, params,
                                  1e-3)
        wn, wt = wn + dn, wt + dtorch
    np.testing.assert_allclose(wt.numpy(), wn, rtol=1e-12)


def test_bad_input_is_refused_by_name():
    with pytest.raises(ValueError, match="eta"):
        pl.oja(np.ones((2, 3)), np.ones((1, 3)), -1.0)
    with pytest.raises(ValueError, match="weight must have shape"):
        pl.oja_subspace(np.ones((2, 3)), np.ones((1, 4)), 0.1)
    with pytest.raises(TypeError, match="numpy arrays or all torch"):
        pl.sanger(np.ones((2, 3)), torch.ones(1, 3), 0.1)
    with pytest.raises(ValueError, match="pre must have shape"):
        pl.hebbian(np.ones((2, 3, 4)), np.ones((2, 1)), 0.1)
    with pytest.raises(ValueError, match="tau_plus"):
        pl.STDPParams(tau_plus=0.0)
    with pytest.raises(ValueError, match="dt"):
        pl.stdp_step(np.zeros(2), np.zeros(1), pl.stdp_traces(2, 1), pl.STDPParams(), 0.0)


def test_compiled_csr_stdp_equals_the_dense_rule_and_the_window():
    rng = np.random.default_rng(7)
    n_pre, n_post, n_steps, dt = 6, 4, 300, 1e-3
    params = pl.STDPParams(a_plus=0.01, a_minus=0.012, tau_plus=15e-3, tau_minus=25e-3)
    mask = rng.random((n_post, n_pre)) < 0.5
    dense = np.where(mask, rng.random((n_post, n_pre)), 0.0)
    # CSR over presynaptic neurons, as in snn.network.Projection.
    rows = [np.flatnonzero(mask[:, i]) for i in range(n_pre)]
    indptr = np.concatenate([[0], np.cumsum([r.size for r in rows])])
    targets = np.concatenate(rows)
    weights = np.concatenate([dense[r, i] for i, r in enumerate(rows)])
    pre = rng.random((n_steps, n_pre)) < 0.05
    post = rng.random((n_steps, n_post)) < 0.05
    traces = pl.stdp_traces(n_pre, n_post)
    expected = dense.copy()
    for t in range(n_steps):
        dw, traces = pl.stdp_step(pre[t] * 1.0, post[t] * 1.0, traces, params, dt)
        expected += dw * mask
    half = n_steps // 2
    got, tr = pl.stdp_csr(pre[:half], post[:half], indptr, targets, weights, params, dt)
    got, tr = pl.stdp_csr(pre[half:], post[half:], indptr, targets, got, params, dt, tr)
    np.testing.assert_allclose(got, np.concatenate([expected[r, i] for i, r in
                                                    enumerate(rows)]), rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(tr.pre, traces.pre, rtol=1e-12)
    # One pair on one synapse: the analytic window.
    one = np.zeros((60, 1), bool)
    later = one.copy()
    one[10, 0], later[17, 0] = True, True
    w, _ = pl.stdp_csr(one, later, np.array([0, 1]), np.array([0]), np.zeros(1), params, dt)
    assert w[0] == pytest.approx(float(pl.stdp_window(7 * dt, params)), rel=1e-12)
    w, _ = pl.stdp_csr(later, one, np.array([0, 1]), np.array([0]), np.zeros(1), params, dt)
    assert w[0] == pytest.approx(float(pl.stdp_window(-7 * dt, params)), rel=1e-12)
    with pytest.raises(ValueError, match="indptr must be a CSR row pointer"):
        pl.stdp_csr(one, later, np.array([0, 2]), np.array([0]), np.zeros(1), params, dt)
    with pytest.raises(ValueError, match="same T"):
        pl.stdp_csr(one[:5], later, np.array([0, 1]), np.array([0]), np.zeros(1), params, dt)
