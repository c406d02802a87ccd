"""The multitasking Hebbian network: couplings against their defining formulas, the compiled
Glauber dynamics against the numpy reference, energy descent, reproducibility, the
statistical-mechanics predictions against Monte Carlo, and bad input."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest

from snn.associative import (
    Couplings,
    MultitaskingConfig,
    build_network,
    dataset_entropy,
    diluted_patterns,
    glauber,
    hamiltonian,
    hierarchical_critical_dilution,
    hierarchical_magnetizations,
    hopfield_couplings,
    learning_threshold,
    low_storage_bound,
    mattis_magnetizations,
    noisy_cue,
    noisy_examples,
    random_state,
    retrieval_magnetization,
    solve_self_consistency,
    sse_loss,
    supervised_couplings,
    unsupervised_couplings,
)


def _data(n=60, p=3, d=0.3, r=0.6, m=4, seed=0):
    rng = np.random.default_rng(seed)
    xi = diluted_patterns(p, n, d, rng)
    eta = noisy_examples(xi, r, m, rng)
    return xi, eta


# ------------------------------------------------------------------------------- data

def test_patterns_and_examples_have_the_stated_statistics():
    rng = np.random.default_rng(1)
    xi = diluted_patterns(4, 50_000, 0.3, rng)
    n = xi.size
    zero = np.mean(xi == 0)
    assert abs(zero - 0.3) < 5 * math.sqrt(0.3 * 0.7 / n)
    assert abs(np.mean(xi[xi != 0] == 1) - 0.5) < 5 * math.sqrt(0.25 / np.sum(xi != 0))
    eta = noisy_examples(xi, 0.6, 3, rng)
    assert eta.shape == (4, 3, 50_000) and eta.dtype == np.int8
    assert np.array_equal(eta == 0, np.broadcast_to(xi[:, None, :] == 0, eta.shape))
    flipped = np.mean(eta[:, :, xi[0] != 0][0] != xi[0][xi[0] != 0])
    support = 3 * np.sum(xi[0] != 0)
    assert abs(flipped - 0.2) < 5 * math.sqrt(0.2 * 0.8 / support)      # (1 - r) / 2


# ------------------------------------------------------------------------------- couplings

def test_couplings_match_their_defining_formulas():
    xi, eta = _data()
    p, m, n = eta.shape
    d, r = 0.3, 0.6
    rho = (1 - r**2) / (m * r**2)
    assert dataset_entropy(r, m) == pytest.approx(rho)
    etahat = eta.sum(axis=1) / (r * m)
    direct = {
        "hopfield": np.einsum("ui,uj->ij", xi, xi) / (n * (1 - d)),
        "supervised": np.einsum("ui,uj->ij", etahat, etahat) / (n * (1 - d) * (1 + rho)),
        "unsupervised": np.einsum("uai,uaj->ij", eta, eta) / (n * (1 - d) * (1 + rho) * r**2 * m),
    }
    built = {"hopfield": hopfield_couplings(xi, d),
             "supervised": supervised_couplings(eta, r, d),
             "unsupervised": unsupervised_couplings(eta, r, d)}
    state = random_state(n, rng=3)
    for name, couplings in built.items():
        want = direct[name].copy()
        np.fill_diagonal(want, 0.0)
        np.testing.assert_allclose(couplings.matrix(), want, rtol=1e-12, atol=1e-15)
        np.testing.assert_allclose(couplings.fields(state), want @ state, rtol=1e-12,
                                   atol=1e-14)
        assert np.array_equal(couplings.sparse().toarray(), couplings.integer_matrix())
        full = direct[name]
        assert hamiltonian(couplings, state) == pytest.approx(-0.5 * state @ full @ state,
                                                              rel=1e-12)


def test_perfect_examples_give_the_hopfield_couplings():
    xi, _ = _data(r=1.0)
    eta = noisy_examples(xi, 1.0, 5, rng=0)
    hop = hopfield_couplings(xi, 0.3).matrix()
    np.testing.assert_allclose(supervised_couplings(eta, 1.0, 0.3).matrix(), hop, rtol=1e-12)
    np.testing.assert_allclose(unsupervised_couplings(eta, 1.0, 0.3).matrix(), hop, rtol=1e-12)


def test_memory_estimates():
    xi, eta = _data(n=400, p=2, d=0.5)
    couplings = hopfield_couplings(xi, 0.5)
    assert couplings.memory_bytes("dense") == 4 * 400**2
    assert couplings.memory_bytes("factored") == 2 * xi.size
    nnz = couplings.sparse().nnz
    direct = np.einsum("ui,uj->ij", xi, xi).astype(np.int64)
    np.fill_diagonal(direct, 0)
    assert nnz == np.count_nonzero(direct)
    # The estimate counts the pairs some pattern covers (sums can still cancel).
    support = (xi != 0).astype(np.int64)
    covered = np.einsum("ui,uj->ij", support, support) > 0
    np.fill_diagonal(covered, False)
    assert nnz <= covered.sum()
    pairs = 400 * 399
    spread = 5 * math.sqrt(2 * couplings.expected_density() / 400)   # ~ N correlated pairs
    assert abs(covered.sum() / pairs - couplings.expected_density()) < spread
    assert couplings.memory_bytes("sparse") == int(8 * couplings.expected_density() * pairs) \
        + 8 * 401


# ------------------------------------------------------------------------------- dynamics

@pytest.mark.parametrize("training", ["hopfield", "supervised", "unsupervised"])
@pytest.mark.parametrize("update", ["sequential", "parallel"])
@pytest.mark.parametrize("beta", [math.inf, 2.5])
def test_numba_equals_the_numpy_reference_in_every_layout(training, update, beta):
    config = MultitaskingConfig(n_neurons=80, n_patterns=3, dilution=0.4, quality=0.7,
                                n_examples=3, training=training, seed=5)
    xi, _, couplings = build_network(config)
    start = random_state(80, rng=7)
    reference = glauber(couplings, start, xi, beta=beta, n_sweeps=6, update=update,
                        backend="numpy", rng=11)
    for representation in ("factored", "dense", "sparse"):
        result = glauber(couplings, start, xi, beta=beta, n_sweeps=6, update=update,
                         representation=representation, rng=11)
        assert np.array_equal(result.state, reference.state)
        assert np.array_equal(result.magnetizations, reference.magnetizations)
        np.testing.assert_allclose(result.energies, reference.energies, rtol=1e-14)
    np.testing.assert_allclose(reference.magnetizations[-1],
                               mattis_magnetizations(xi, reference.state, 0.4), rtol=1e-12)
    assert reference.energies[-1] == pytest.approx(
        hamiltonian(couplings, reference.state) / 80, rel=1e-12)


@pytest.mark.parametrize("training", ["hopfield", "supervised", "unsupervised"])
def test_zero_temperature_sequential_dynamics_never_raises_the_energy(training):
    config = MultitaskingConfig(n_neurons=300, n_patterns=4, dilution=0.5, quality=0.5,
                                n_examples=5, training=training, seed=2)
    xi, _, couplings = build_network(config)
    for seed in range(3):
        result = glauber(couplings, random_state(300, rng=seed + 100), xi, n_sweeps=40, rng=seed)
        steps = np.diff(result.energies)
        assert np.all(steps <= 1e-12 * np.abs(result.energies[:-1]))
        assert steps[0] < 0
        # Converged: no unit opposes its field, so a further sweep changes nothing.
        assert np.all(couplings.fields(result.state) * result.state >= 0)
        again = glauber(couplings, result.state, xi, n_sweeps=1, rng=99)
        assert np.array_equal(again.state, result.state)


def test_runs_are_reproducible_by_seed_and_leave_the_start_alone():
    config = MultitaskingConfig(n_neurons=200, n_patterns=2, dilution=0.2, seed=1)
    xi, _, couplings = build_network(config)
    start = random_state(200, rng=0)
    kept = start.copy()
    a = glauber(couplings, start, xi, beta=3.0, n_sweeps=5, rng=4)
    b = glauber(couplings, start, xi, beta=3.0, n_sweeps=5, rng=4)
    c = glauber(couplings, start, xi, beta=3.0, n_sweeps=5, rng=5)
    d = glauber(couplings, start, xi, beta=3.0, n_sweeps=5, rng=np.random.default_rng(4))
    e = glauber(couplings, start, xi, beta=3.0, n_sweeps=5, rng=np.random.default_rng(4))
    assert np.array_equal(start, kept)
    assert np.array_equal(a.state, b.state)
    assert np.array_equal(d.magnetizations, e.magnetizations)
    assert not np.array_equal(a.state, c.state)
    assert np.array_equal(build_network(config)[0], xi)


def test_noisy_cue_flips_the_stated_fraction():
    xi = diluted_patterns(1, 20_000, 0.0, rng=0)[0]
    cue = noisy_cue(xi, 0.1, rng=1)
    assert abs(np.mean(cue != xi) - 0.1) < 5 * math.sqrt(0.09 / 20_000)


# ------------------------------------------------------------------------------- theory

def test_hierarchical_state_is_the_zero_temperature_fixed_point_below_the_critical_dilution():
    assert hierarchical_critical_dilution(2) == 1.0
    assert hierarchical_critical_dilution(3) == pytest.approx((math.sqrt(5) - 1) / 2)
    assert hierarchical_critical_dilution(30) == pytest.approx(0.5, abs=1e-6)
    for d in (0.1, 0.3, 0.5):
        want = hierarchical_magnetizations(d, 3)
        sol = solve_self_consistency(3, d, start=want)
        assert sol.converged and sol.exact
        np.testing.assert_allclose(sol.magnetizations, want, atol=1e-12)
    # Beyond d_c the hierarchical start moves away (units covered by pattern 1 whose other
    # patterns disagree now follow those).
    moved = solve_self_consistency(3, 0.7, start=hierarchical_magnetizations(0.7, 3))
    assert moved.magnetizations[0] < 0.99


def test_monte_carlo_falls_on_the_hierarchical_power_law():
    """Zero temperature, perfect data, a cue of pattern 1: sorted |m_k| = d^(k-1) within the
    finite-N spread of a sum over the pattern's support."""
    n, d = 20_000, 0.3
    xi, _, couplings = build_network(MultitaskingConfig(n_neurons=n, n_patterns=3,
                                                        dilution=d, seed=3))
    result = glauber(couplings, noisy_cue(xi[0], 0.2, rng=0), xi, n_sweeps=20, rng=1)
    got = np.sort(np.abs(result.magnetizations[-1]))[::-1]
    want = hierarchical_magnetizations(d, 3)
    # On the support of pattern k, the units that follow it (a fraction d^(k-1)) add +1,
    # the others +-1 at random: the variance is (1 - d^(2(k-1))) / (N (1 - d)); the support
    # itself fluctuates by sqrt(d (1 - d) N) units.
    spread = np.sqrt((1 - want**2) / (n * (1 - d))) + math.sqrt(d * (1 - d) / n) / (1 - d)
    assert np.all(np.abs(got - want) < 5 * spread)


def test_supervised_and_unsupervised_learning_retrieve_as_predicted():
    """One pattern learned from M examples of quality r: m = P(k > M/2) - P(k < M/2) for
    both protocols; the spread is that of a mean over the N (1 - d) units."""
    n, d = 20_000, 0.2
    for r, m in ((0.3, 21), (0.5, 7), (0.8, 3)):
        want = retrieval_magnetization(r, m)
        sol = solve_self_consistency(1, d, quality=r, n_examples=m)
        assert sol.magnetizations[0] == pytest.approx(want, abs=1e-9)
        spread = math.sqrt((1 - want**2) / (n * (1 - d)))
        for training in ("supervised", "unsupervised"):
            config = MultitaskingConfig(n_neurons=n, n_patterns=1, dilution=d, quality=r,
                                        n_examples=m, training=training, seed=4)
            xi, _, couplings = build_network(config)
            result = glauber(couplings, noisy_cue(xi[0], 0.1, rng=1), xi, n_sweeps=10, rng=2)
            assert abs(result.magnetizations[-1, 0] - want) < 5 * spread, (training, r, m)


def test_learning_threshold_formulas():
    r = np.array([0.2, 0.4, 0.6, 0.8])
    gaussian = learning_threshold(r, 0.9)
    theta = 1.6448536269514722                     # Phi^-1(0.95)
    np.testing.assert_allclose(gaussian, theta**2 * (1 - r**2) / r**2)
    exact = learning_threshold(r, 0.9, exact=True)
    for value, m in zip(r, exact):
        assert retrieval_magnetization(value, int(m)) >= 0.9
        assert all(retrieval_magnetization(value, k) < 0.9 for k in range(1, int(m)))
    # The Gaussian law is the large-M limit: within a couple of examples where M is large.
    assert abs(exact[0] - gaussian[0]) < 0.05 * gaussian[0] + 2


def test_parallel_regime_at_strong_dilution_and_finite_temperature():
    """beta = 5, d = 0.9: the symmetric state (all m equal) solves the equations; Monte
    Carlo from pattern 1 relaxes to it; the deviation is compared with the spread of the
    time average itself."""
    d, beta, n = 0.9, 5.0, 20_000
    sol = solve_self_consistency(3, d, beta=beta)
    assert np.ptp(sol.magnetizations) < 1e-8
    xi, _, couplings = build_network(MultitaskingConfig(n_neurons=n, n_patterns=3,
                                                        dilution=d, seed=6))
    result = glauber(couplings, noisy_cue(xi[0], 0.0, rng=0), xi, beta=beta, n_sweeps=120,
                     rng=3)
    tail = np.abs(result.magnetizations[40:])
    mean = tail.mean(axis=0)
    # The per-sweep thermal spread at this N (it shrinks as 1 / sqrt(N)).
    tolerance = 5 * tail.std(axis=0)
    assert np.all(np.abs(mean - sol.magnetizations) < tolerance), (mean, sol.magnetizations)


def test_hamiltonian_is_a_decreasing_function_of_each_pattern_loss():
    xi, _ = _data(n=500, p=3, d=0.3)
    couplings = hopfield_couplings(xi, 0.3)
    support = np.sum(xi != 0, axis=1)
    for seed in range(5):
        state = noisy_cue(xi[seed % 3], 0.1 * seed, rng=seed)
        loss = sse_loss(xi, state)
        direct = np.minimum(np.sum((xi - np.abs(xi) * state) ** 2, axis=1),
                            np.sum((xi + np.abs(xi) * state) ** 2, axis=1)) / (2 * support)
        np.testing.assert_allclose(loss, direct)
        from_loss = -np.sum(support**2 * (1 - loss) ** 2) / (2 * 500 * 0.7)
        assert hamiltonian(couplings, state) == pytest.approx(from_loss, rel=1e-12)
    assert np.all(sse_loss(xi, np.where(xi[0] != 0, xi[0], 1)) <= 1.0)
    assert sse_loss(xi, np.where(xi[0] != 0, xi[0], 1))[0] == 0.0


# ------------------------------------------------------------------------------- bad input

def test_bad_input_is_refused_with_the_argument_named():
    with pytest.raises(ValueError, match="dilution"):
        MultitaskingConfig(dilution=1.2)
    with pytest.raises(ValueError, match="dilution"):
        MultitaskingConfig(dilution=-0.1)
    with pytest.raises(ValueError, match="quality"):
        MultitaskingConfig(quality=1.5)
    with pytest.raises(ValueError, match="quality"):
        MultitaskingConfig(quality=0.0)
    with pytest.raises(ValueError, match="n_examples"):
        MultitaskingConfig(n_examples=0)
    with pytest.raises(ValueError, match="training"):
        MultitaskingConfig(training="teacher")
    with pytest.raises(ValueError, match="dilution"):
        diluted_patterns(2, 10, 1.5)
    xi, eta = _data(n=40)
    with pytest.raises(ValueError, match="quality"):
        noisy_examples(xi, -0.1, 2)
    with pytest.raises(ValueError, match="n_examples"):
        noisy_examples(xi, 0.5, 0)
    with pytest.raises(ValueError, match="quality"):
        supervised_couplings(eta, 0.0)
    with pytest.raises(ValueError, match="examples"):
        unsupervised_couplings(eta[0], 0.5)
    with pytest.raises(ValueError, match="patterns"):
        hopfield_couplings(xi * 2)
    couplings = hopfield_couplings(xi)
    with pytest.raises(ValueError, match="state"):
        glauber(couplings, np.ones(41), xi)
    with pytest.raises(ValueError, match="state"):
        glauber(couplings, np.zeros(40), xi)
    with pytest.raises(ValueError, match="patterns"):
        glauber(couplings, np.ones(40), xi[:, :30])
    with pytest.raises(ValueError, match="beta"):
        glauber(couplings, np.ones(40), xi, beta=0.0)
    with pytest.raises(ValueError, match="update"):
        glauber(couplings, np.ones(40), xi, update="async")
    with pytest.raises(ValueError, match="representation"):
        glauber(couplings, np.ones(40), xi, representation="coo")
    with pytest.raises(TypeError, match="couplings"):
        glauber(xi, np.ones(40), xi)
    with pytest.raises(TypeError, match="factors"):
        Couplings(np.ones((2, 3)), 1.0, 0.1, "hopfield", 2)
    with pytest.raises(ValueError, match="n_patterns"):
        solve_self_consistency(0, 0.1)
    with pytest.raises(ValueError, match="start"):
        solve_self_consistency(3, 0.1, start=[1.0, 0.5])


def test_more_patterns_than_the_low_storage_bound_warn_with_the_bound():
    assert low_storage_bound(1000) == 6
    with pytest.warns(UserWarning, match=r"low-storage bound ln N = 6"):
        MultitaskingConfig(n_neurons=1000, n_patterns=7)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        MultitaskingConfig(n_neurons=1000, n_patterns=6)
    xi = diluted_patterns(7, 1000, 0.2, rng=0)
    with pytest.warns(UserWarning, match="n_patterns.*ln N = 6"):
        hopfield_couplings(xi)
    with pytest.warns(UserWarning, match="ln N = 6"):
        unsupervised_couplings(noisy_examples(xi, 0.5, 2, rng=1), 0.5)


def test_stability_is_the_jacobian_of_the_map():
    """P = 1, d = 0: the paramagnet m = 0 has Jacobian beta (stable above T = 1); the
    retrieval state m = tanh(beta m) has Jacobian beta (1 - m^2) < 1."""
    para = solve_self_consistency(1, 0.0, beta=0.5, start=[0.3])
    assert para.magnetizations[0] == pytest.approx(0.0, abs=1e-8)
    assert para.stability == pytest.approx(0.5, rel=1e-6)
    retrieval = solve_self_consistency(1, 0.0, beta=2.0, start=[1.0])
    m = retrieval.magnetizations[0]
    assert m == pytest.approx(math.tanh(2.0 * m), abs=1e-10)
    assert retrieval.stability == pytest.approx(2.0 * (1 - m * m), rel=1e-8)
    assert math.isnan(solve_self_consistency(1, 0.0).stability)


def test_spiking_network_retrieves_like_the_binary_network():
    """The couplings on LIF neurons (E/I split with relays, 1-5 ms delays), cued with pattern
    1: the state read from the rates is a fixed point of the binary zero-temperature
    dynamics except on units whose local field is near 0 (which a rate readout can read
    either way).  Which fixed point is reached can differ from Glauber dynamics from the
    same cue (benchmarks/associative.py compares them)."""
    from snn.associative.spiking import SpikingRetrievalConfig, spiking_retrieval

    n, d = 400, 0.3
    xi, _, couplings = build_network(MultitaskingConfig(n_neurons=n, n_patterns=3,
                                                        dilution=d, seed=2))
    cue = noisy_cue(xi[0], 0.1, rng=np.random.default_rng([2, 1]))
    config = SpikingRetrievalConfig(dale=True, delay_min=1e-3, delay_max=5e-3, duration=0.25)
    result = spiking_retrieval(couplings, xi, cue, config)
    assert result.relay_ratio == pytest.approx(1.0, abs=0.02)
    fields = couplings.fields(result.state)
    ambiguous = np.abs(fields) < 0.1                     # a retrieved unit has |h| ~ 1
    aligned = np.sign(fields) == result.state
    assert np.all(aligned | ambiguous)
    assert np.sum(ambiguous) < 0.1 * n
    assert np.array_equal(result.window_magnetizations[-1], result.magnetizations)
    with pytest.raises(ValueError, match="duration"):
        SpikingRetrievalConfig(duration=0.1, cue_duration=0.05, readout_window=0.1)
    with pytest.raises(ValueError, match="cue"):
        spiking_retrieval(couplings, xi, cue[:10])
