"""Scaling the CUBA/COBA benchmark networks at a fixed connection probability, and the lean
pair drawer behind it: the law of the pairs, the synapse counts and the weight scaling."""

import itertools

import numba
import numpy as np
import pytest
from scipy import stats

from snn.benchmark_networks import (
    BENCHMARKS,
    CUBA,
    build_benchmark,
    connection_probability,
    draw_connectivity,
    draw_connectivity_lean,
    draw_initial_state,
    synaptic_weights,
)

ALPHA = 1e-3  # significance of the statistical checks (fixed seeds: each runs once)


def _keys(pre: np.ndarray, post: np.ndarray, n_post: int) -> np.ndarray:
    return pre.astype(np.int64) * n_post + post


@pytest.mark.parametrize("p", [0.3, 0.5])
def test_lean_pairs_draw_each_row_from_the_independent_pair_law(p):
    """Over 6 targets every subset S has probability p^|S| (1-p)^(6-|S|) when each pair is
    present independently: the frequencies of the 64 subsets over 64,000 rows pass a
    chi-square test (rows of up to 3 targets come from the rejection of repeats, larger ones
    from direct sampling)."""
    n_rows, n_post = 64_000, 6
    pre, post = draw_connectivity_lean(n_rows, n_post, p, rng=11)
    codes = np.zeros(n_rows, dtype=np.int64)
    np.add.at(codes, pre, 1 << post.astype(np.int64))
    observed = np.bincount(codes, minlength=2 ** n_post)
    sizes = np.array([bin(code).count("1") for code in range(2 ** n_post)])
    expected = n_rows * p ** sizes * (1 - p) ** (n_post - sizes)
    assert stats.chisquare(observed, expected).pvalue > ALPHA


def test_lean_pairs_are_int32_distinct_sorted_and_binomial():
    n_pre, n_post, p = 3000, 2500, 0.02
    pre, post = draw_connectivity_lean(n_pre, n_post, p, rng=5)
    assert pre.dtype == np.int32 and post.dtype == np.int32
    keys = _keys(pre, post, n_post)
    assert np.all(np.diff(keys) > 0)  # sorted by pre then post, no pair twice (no multapse)
    n_pairs = n_pre * n_post
    total = stats.binom(n_pairs, p)
    assert total.cdf(pre.size) > ALPHA / 2 and total.sf(pre.size - 1) > ALPHA / 2
    # Out-degrees Binomial(n_post, p); in-degrees Binomial(n_pre, p): mean and variance.
    for degrees, n in ((np.bincount(pre, minlength=n_pre), n_post),
                       (np.bincount(post, minlength=n_post), n_pre)):
        mean, var = n * p, n * p * (1 - p)
        assert abs(degrees.mean() - mean) < 4 * np.sqrt(var / degrees.size)
        assert abs(degrees.var(ddof=1) / var - 1) < 4 * np.sqrt(2 / (degrees.size - 1))
    # Targets uniform: the in-degrees over the targets pass a chi-square test.
    in_degrees = np.bincount(post, minlength=n_post)
    assert stats.chisquare(in_degrees).pvalue > ALPHA


def test_lean_pairs_repeat_from_the_seed_and_not_from_the_thread_count():
    first = draw_connectivity_lean(500, 800, 0.05, rng=3)
    threads = numba.get_num_threads()
    try:
        numba.set_num_threads(1)
        one_thread = draw_connectivity_lean(500, 800, 0.05, rng=3)
    finally:
        numba.set_num_threads(threads)
    for a, b in zip(first, one_thread):
        np.testing.assert_array_equal(a, b)
    assert not np.array_equal(first[1], draw_connectivity_lean(500, 800, 0.05, rng=4)[1])


@pytest.mark.parametrize("name", sorted(BENCHMARKS))
def test_fixed_p_network_has_binomial_synapse_counts_and_scaled_weights(name):
    """2000 neurons at p = 0.02: each of the four projections holds Binomial(n_pre * n_post,
    0.02) synapses, and the weights are the reference's times 4000 / 2000, so that the
    expected input of a neuron (in-degree x weight) equals the 4000-neuron network's."""
    spec = BENCHMARKS[name]
    n_neurons = 2000
    net = build_benchmark(name, n_neurons, rng=7, scaling="fixed_p", monitor=False)
    sizes = {pop: net.populations[pop].n_neurons for pop in ("exc", "inh")}
    assert sizes == {"exc": 1600, "inh": 400}
    w_exc, w_inh = spec.w_exc * 4000 / n_neurons, spec.w_inh * 4000 / n_neurons
    assert synaptic_weights(spec, n_neurons, "fixed_p") == pytest.approx((w_exc, w_inh),
                                                                         rel=1e-15)
    assert connection_probability(spec, n_neurons, "fixed_p") == 0.02
    assert len(net.projections) == 4
    total = 0
    for proj in net.projections:
        n_pairs = sizes[proj.pre] * sizes[proj.post]
        law = stats.binom(n_pairs, 0.02)
        assert law.cdf(proj.n_synapses) > ALPHA / 2 and law.sf(proj.n_synapses - 1) > ALPHA / 2
        weight = w_exc if proj.pre == "exc" else w_inh
        np.testing.assert_array_equal(proj.weights, np.full(proj.n_synapses, weight))
        keys = _keys(np.repeat(np.arange(sizes[proj.pre]), np.diff(proj.indptr)),
                     proj.post_indices, sizes[proj.post])
        assert np.all(np.diff(keys) > 0)
        total += proj.n_synapses
    law = stats.binom(n_neurons ** 2, 0.02)
    assert law.cdf(total) > ALPHA / 2 and law.sf(total - 1) > ALPHA / 2
    # Mean input per neuron from each population equals the reference network's.
    reference_in = spec.p_reference * spec.n_reference * spec.exc_fraction * spec.w_exc
    assert 0.02 * 1600 * w_exc == pytest.approx(reference_in, rel=1e-12)


def test_both_scalings_agree_at_the_reference_size():
    for scaling in ("in_degree", "fixed_p"):
        assert connection_probability(CUBA, 4000, scaling) == 0.02
        assert synaptic_weights(CUBA, 4000, scaling) == (CUBA.w_exc, CUBA.w_inh)
    assert connection_probability(CUBA, 40000) == pytest.approx(0.002)
    assert connection_probability(CUBA, 40000, "fixed_p") == 0.02


def test_default_scaling_keeps_the_published_draws():
    """The in-degree scaling still draws the initial state, then the whole connectivity by
    ``draw_connectivity``, from one generator."""
    n_neurons, n_exc = 500, 400
    net = build_benchmark("cuba", n_neurons, rng=5, monitor=False)
    rng = np.random.default_rng(5)
    initial = draw_initial_state(CUBA, n_neurons, rng)
    pre, post = draw_connectivity(n_neurons, connection_probability(CUBA, n_neurons), rng)
    np.testing.assert_array_equal(net.populations["exc"].initial.v, initial["v"][:n_exc])
    blocks = [(a, b) for a, b in itertools.product(((0, n_exc), (n_exc, n_neurons)), repeat=2)]
    for proj, ((a0, a1), (b0, b1)) in zip(net.projections, blocks):
        keep = (pre >= a0) & (pre < a1) & (post >= b0) & (post < b1)
        np.testing.assert_array_equal(proj.post_indices, post[keep] - b0)
        np.testing.assert_array_equal(np.repeat(np.arange(a1 - a0), np.diff(proj.indptr)),
                                      pre[keep] - a0)
        assert proj.weights[0] == (CUBA.w_exc if a0 == 0 else CUBA.w_inh)


def test_scaling_arguments_are_validated():
    with pytest.raises(ValueError, match="scaling"):
        build_benchmark("cuba", 100, scaling="fixed_k")
    with pytest.raises(ValueError, match="scaling"):
        synaptic_weights(CUBA, 100, "p")
    with pytest.raises(ValueError, match="p"):
        draw_connectivity_lean(10, 10, 1.5, rng=0)
    with pytest.raises(ValueError, match="n_post"):
        draw_connectivity_lean(10, 0, 0.1, rng=0)
    with pytest.raises(TypeError, match="n_pre"):
        draw_connectivity_lean(10.0, 10, 0.1, rng=0)
