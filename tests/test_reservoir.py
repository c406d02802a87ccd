"""Reservoir tasks, readouts and the echo state network (checked against ReservoirPy)."""

import numpy as np
import pytest

from snn.data import delayed_targets, mackey_glass, memory_capacity_input, narma10
from snn.reservoir.esn import ESN, ESNConfig
from snn.reservoir.readout import LogisticReadout, RidgeReadout, memory_capacity, nrmse


def test_narma10_follows_its_recursion():
    u, y = narma10(500, rng=1)
    assert u.min() >= 0 and u.max() <= 0.5
    t = np.arange(9, 499)
    expected = np.array([0.3 * y[k] + 0.05 * y[k] * y[k - 9:k + 1].sum()
                         + 1.5 * u[k - 9] * u[k] + 0.1 for k in t])
    np.testing.assert_allclose(y[t + 1], expected, rtol=0, atol=1e-15)
    u2, y2 = narma10(rng=None, u=u)
    np.testing.assert_array_equal(y2, y)


def test_mackey_glass_statistics_and_quasi_period():
    x = mackey_glass(3000)
    # tau = 17: bounded chaotic oscillation of mean ~0.9 with a dominant period near 50.
    assert 0.2 < x.min() < 0.5 and 1.2 < x.max() < 1.45
    assert 0.85 < x.mean() < 0.95
    spectrum = np.abs(np.fft.rfft(x - x.mean()))
    assert 40 < len(x) / (np.argmax(spectrum[1:]) + 1) < 60
    # halving the step changes the sampled series little (RK4 converged; chaos amplifies
    # the difference slowly, so compare the first samples after a short washout)
    fine = mackey_glass(100, h=0.05, washout_steps=50)
    np.testing.assert_allclose(fine, mackey_glass(100, washout_steps=50), atol=1e-4)


def test_generators_refuse_bad_input():
    with pytest.raises(ValueError, match="n_steps"):
        memory_capacity_input(0)
    with pytest.raises(ValueError, match="multiples"):
        mackey_glass(10, tau=17.05)
    with pytest.raises(ValueError, match="u must"):
        narma10(u=np.zeros(5))
    with pytest.raises(TypeError, match="rng"):
        memory_capacity_input(10, rng="a")


def test_delayed_targets():
    y = delayed_targets(np.arange(5.0), 2)
    np.testing.assert_array_equal(y[:, 0], [0, 0, 1, 2, 3])
    np.testing.assert_array_equal(y[:, 1], [0, 0, 0, 1, 2])


def test_ridge_readout_recovers_linear_map_and_refuses_before_fit():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(300, 5))
    w = rng.normal(size=(5, 2))
    y = x @ w + 0.5
    readout = RidgeReadout(alpha=0.0, washout_steps=10)
    with pytest.raises(RuntimeError, match="not fitted"):
        readout.predict(x)
    readout.fit(x, y)
    np.testing.assert_allclose(readout.coef_, w, atol=1e-10)
    assert readout.score(x, y) < 1e-10
    with pytest.raises(ValueError, match="states"):
        readout.predict(np.zeros((0, 5)))
    with pytest.raises(ValueError, match="washout_steps"):
        RidgeReadout(washout_steps=-1)
    with pytest.raises(RuntimeError, match="not fitted"):
        LogisticReadout().score(x, np.zeros(300))


def test_logistic_readout_and_nrmse():
    rng = np.random.default_rng(1)
    x = rng.normal(size=(200, 4))
    labels = (x[:, 0] > 0).astype(int)
    assert LogisticReadout().fit(x, labels).score(x, labels) > 0.95
    assert nrmse(np.arange(4.0), np.arange(4.0)) == 0.0


def test_esn_matches_reservoirpy_with_same_matrices():
    reservoirpy_nodes = pytest.importorskip("reservoirpy.nodes",
                                            reason="ReservoirPy comes with the test extra")
    esn = ESN(ESNConfig(n_neurons=50, spectral_radius=0.95, leak=0.3, input_scaling=0.5,
                        bias_scaling=0.1), n_inputs=2, rng=3)
    u = np.random.default_rng(4).uniform(-1, 1, (300, 2))
    ours = esn.run(u)
    peer = reservoirpy_nodes.Reservoir(W=esn.W, Win=esn.W_in, bias=esn.bias.copy(), lr=0.3)
    np.testing.assert_allclose(ours, peer.run(u), rtol=0, atol=1e-12)


def test_esn_spectral_radius_dale_and_bad_input():
    esn = ESN(ESNConfig(n_neurons=80, spectral_radius=0.7), rng=0)
    assert np.isclose(np.max(np.abs(np.linalg.eigvals(esn.W))), 0.7)
    dale = ESN(ESNConfig(n_neurons=80, spectral_radius=0.7, dale=True), rng=0)
    n_exc = 64
    assert np.all(dale.W[:, :n_exc] >= 0) and np.all(dale.W[:, n_exc:] <= 0)
    for bad in (0.0, -1.0):
        with pytest.raises(ValueError, match="spectral_radius"):
            ESNConfig(spectral_radius=bad)
    with pytest.raises(ValueError, match="u must"):
        esn.run(np.zeros(0))
    with pytest.raises(ValueError, match="u must"):
        esn.run(np.zeros((10, 3)))


def test_esn_memory_capacity_is_plausible():
    esn = ESN(ESNConfig(n_neurons=50, spectral_radius=0.9, input_scaling=0.1), rng=0)
    u = memory_capacity_input(3000, rng=0)
    states = esn.run(u)
    mc, r2 = memory_capacity(states[:1500], u[:1500], states[1500:], u[1500:], max_delay_steps=60)
    # bounded by the number of units (Jaeger 2001); a linear-ish reservoir gets a good share
    assert 10 < mc <= 50
    assert r2[0] > 0.95
