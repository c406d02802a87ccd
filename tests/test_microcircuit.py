"""The Potjans & Diesmann (2014) microcircuit: the preset against the reference's tables, the
derived quantities against their formulas, the drawn network against its distributions,
and a small-scale run beside NEST 3.10."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats

from snn import Network
from snn.benchmark_networks import potjans_diesmann as reexported
from snn.microcircuit import (
    POTJANS_DIESMANN_2014 as PD,
)
from snn.microcircuit import (
    draw_normal_redrawn,
    microcircuit_quantities,
    potjans_diesmann,
    psc_per_psp,
    run_microcircuit,
    thalamic_spikes,
)

NAMES = ("L23E", "L23I", "L4E", "L4I", "L5E", "L5I", "L6E", "L6I")


def _synapses(n_target: int, n_source: int, p: float) -> float:
    """The fixed-total-number count written out, K = log(1 - p) / log(1 - 1/(N_pre N_post)),
    with the last term as the reference's helpers.py evaluates it."""
    pairs = float(n_target * n_source)
    return math.log(1.0 - p) / math.log((pairs - 1.0) / pairs)


def _projections(net: Network) -> dict[tuple[str, str], object]:
    return {(p.pre, p.post): p for p in net.projections}


# ---------------------------------------------------------------- the preset and its tables
def test_preset_holds_the_reference_tables():
    assert PD.populations == NAMES
    assert PD.n_neurons == (20683, 5834, 21915, 5479, 4850, 1065, 14395, 2948)
    assert sum(PD.n_neurons) == 77169
    assert PD.published_rates == (0.903, 2.965, 4.414, 5.876, 7.569, 8.633, 1.105, 7.829)
    probs = np.array(PD.connection_probabilities)
    assert probs.shape == (8, 8)
    # [target, source]: L23E <- L23E, L5E <- L5I, L6I <- L6I, L4E <- L23E
    assert probs[0, 0] == 0.1009 and probs[4, 5] == 0.3726 and probs[7, 7] == 0.1443
    assert probs[2, 0] == 0.0077 and probs[0, 5] == 0.0 and probs[6, 7] == 0.2252
    assert PD.k_ext == (1600, 1500, 2100, 1900, 2000, 1900, 2900, 2100)
    assert PD.thalamic_probabilities == (0.0, 0.0, 0.0983, 0.0619, 0.0, 0.0, 0.0512, 0.0196)
    assert PD.n_thalamic == 902
    assert (PD.tau_m, PD.c_m, PD.tau_syn, PD.tau_refractory) == (10e-3, 250e-12, 0.5e-3, 2e-3)
    assert PD.v0_mean[0] == pytest.approx(-68.28e-3) and PD.v0_std[6] == pytest.approx(5.46e-3)
    assert "microcircuit-PD14-model" in PD.source


def test_psc_per_psp_gives_the_psp_peak():
    """The current amplitude J of the factor makes a PSP whose maximum (found on a fine time
    grid from the closed-form PSP of an exponential current) is exactly 1 V."""
    factor = psc_per_psp(PD)
    t = np.linspace(0.0, 10e-3, 2_000_001)
    tau_m, tau_s = PD.tau_m, PD.tau_syn
    psp = (factor / PD.c_m * tau_m * tau_s / (tau_m - tau_s)
           * (np.exp(-t / tau_m) - np.exp(-t / tau_s)))
    assert psp.max() == pytest.approx(1.0, rel=1e-9)
    # 0.15 mV -> 87.81 pA, the reference's excitatory weight
    assert 0.15e-3 * factor == pytest.approx(87.81e-12, rel=1e-4)


def test_full_scale_counts_follow_the_formula():
    q = microcircuit_quantities(PD)
    for i in range(8):
        for j in range(8):
            k = _synapses(PD.n_neurons[i], PD.n_neurons[j], PD.connection_probabilities[i][j])
            assert q.full_n_synapses[i, j] == pytest.approx(k, rel=1e-12)
            assert q.n_synapses[i, j] == round(k)
            # the textbook form agrees to rounding error
            exact = math.log1p(-PD.connection_probabilities[i][j]) / math.log1p(
                -1.0 / (PD.n_neurons[i] * PD.n_neurons[j]))
            assert k == pytest.approx(exact, rel=1e-7)
    assert q.n_synapses.dtype == np.int64
    assert q.n_synapses.sum() == pytest.approx(2.99e8, rel=0.01)  # "about 3e8 synapses"
    np.testing.assert_array_equal(q.n_neurons, PD.n_neurons)


def test_weights_delays_and_dc_at_full_scale():
    q = microcircuit_quantities(PD)
    j_exc = 0.15e-3 * psc_per_psp(PD)
    expected = np.tile(np.array([j_exc, -4 * j_exc] * 4), (8, 1))
    expected[0, 2] = 2 * j_exc  # L4E -> L23E doubled
    np.testing.assert_allclose(q.weight_mean, expected, rtol=1e-14)
    np.testing.assert_allclose(q.delay_mean, np.tile([1.5e-3, 0.75e-3] * 4, (8, 1)))
    assert q.weight_ext == pytest.approx(j_exc)
    # DC equivalent of the Poisson background: rate x K_ext x J x tau_syn
    for i in range(8):
        assert q.dc[i] == pytest.approx(8.0 * PD.k_ext[i] * j_exc * 0.5e-3, rel=1e-14)
    assert q.dc[0] == pytest.approx(561.97e-12, rel=1e-4)
    np.testing.assert_array_equal(q.poisson_rates, 0.0)
    qp = microcircuit_quantities(PD, drive="poisson")
    np.testing.assert_array_equal(qp.dc, 0.0)
    np.testing.assert_allclose(qp.poisson_rates, 8.0 * np.array(PD.k_ext))


def test_scaling_rule():
    scale, k_scale = 0.1, 0.25
    full = microcircuit_quantities(PD)
    for drive in ("dc", "poisson"):
        q = microcircuit_quantities(PD, scale, k_scale, drive)
        np.testing.assert_array_equal(q.n_neurons, np.round(np.array(PD.n_neurons) * scale))
        np.testing.assert_array_equal(q.n_synapses,
                                      np.round(full.full_n_synapses * scale * k_scale))
        np.testing.assert_array_equal(q.k_ext, np.round(np.array(PD.k_ext) * k_scale))
        np.testing.assert_allclose(q.weight_mean, full.weight_mean / 0.5, rtol=1e-14)
        assert q.weight_ext == pytest.approx(full.weight_ext / 0.5, rel=1e-14)
        # the compensating DC, summed term by term over sources with full-scale in-degrees,
        # weights and published rates
        for i in range(8):
            rec = sum(full.weight_mean[i, j] * full.full_n_synapses[i, j] / PD.n_neurons[i]
                      * PD.published_rates[j] for j in range(8))
            ext = full.weight_ext * PD.k_ext[i] * 8.0
            base = ext * 0.5e-3 if drive == "dc" else 0.0
            extra = ext if drive == "poisson" else 0.0
            assert q.dc[i] == pytest.approx(base + 0.5e-3 * (1 - 0.5) * (rec + extra),
                                            rel=1e-12)
    # with k_scale = 1 only sizes and counts scale: in-degrees, weights and DC stay
    q = microcircuit_quantities(PD, 0.1)
    np.testing.assert_array_equal(q.weight_mean, full.weight_mean)
    np.testing.assert_array_equal(q.dc, full.dc)
    np.testing.assert_array_equal(q.n_synapses, np.round(full.full_n_synapses * 0.1))
    # the thalamic counts scale with k_scale only (the reference's rule)
    k_th = [_synapses(902, n, p) for n, p in zip(PD.n_neurons, PD.thalamic_probabilities)]
    np.testing.assert_array_equal(q.n_thalamic_synapses, np.round(k_th))
    q = microcircuit_quantities(PD, 0.1, 0.5)
    np.testing.assert_array_equal(q.n_thalamic_synapses, np.round(np.array(k_th) * 0.5))


@pytest.mark.parametrize("kwargs, match", [
    (dict(scale=0.0), "scale"), (dict(scale=1.5), "scale"), (dict(scale=-0.1), "scale"),
    (dict(k_scale=0.0), "k_scale"), (dict(k_scale=2.0), "k_scale"),
    (dict(drive="noise"), "drive"), (dict(scale=0.01, weight_dtype="float16"), "weight_dtype"),
    (dict(scale=0.01, dt=0.0), "dt"), (dict(scale=1e-5), "empty"),
])
def test_bad_input(kwargs, match):
    with pytest.raises(ValueError, match=match):
        potjans_diesmann(**kwargs)


def test_bad_types():
    with pytest.raises(TypeError, match="scale"):
        potjans_diesmann(scale="0.1")
    with pytest.raises(TypeError, match="thalamus"):
        potjans_diesmann(scale=0.01, thalamus=1)
    with pytest.raises(TypeError, match="params"):
        microcircuit_quantities(params={})


# ---------------------------------------------------------------- the drawn network
@pytest.fixture(scope="module")
def small():
    return potjans_diesmann(0.02, rng=7)


def test_builder_counts_sizes_and_initial_potentials(small):
    q = microcircuit_quantities(PD, 0.02)
    assert reexported is potjans_diesmann
    assert list(small.populations) == list(NAMES)
    projections = _projections(small)
    for i, target in enumerate(NAMES):
        pop = small.populations[target]
        assert pop.n_neurons == q.n_neurons[i]
        assert pop.params == PD.lif_params(small.dt)
        v0 = pop.initial.v
        se = PD.v0_std[i] / math.sqrt(v0.size)
        assert abs(v0.mean() - PD.v0_mean[i]) < 5 * se
        assert v0.std() == pytest.approx(PD.v0_std[i], rel=0.15)
        np.testing.assert_allclose(small.currents[target], q.dc[i])
        for j, source in enumerate(NAMES):
            if q.n_synapses[i, j] == 0:
                assert (source, target) not in projections
                continue
            proj = projections[source, target]
            assert proj.n_synapses == q.n_synapses[i, j]
            assert proj.channel == ("exc" if j % 2 == 0 else "inh")
    assert small.n_synapses == q.n_synapses.sum()
    assert small.spike_monitors == list(NAMES)


def test_weights_keep_sign_and_follow_the_normal(small):
    q = microcircuit_quantities(PD, 0.02)
    projections = _projections(small)
    for (i, j) in ((0, 0), (0, 2), (2, 3), (4, 5), (7, 7)):
        w = np.asarray(projections[NAMES[j], NAMES[i]].weights, dtype=np.float64)
        mean = q.weight_mean[i, j]
        sd = abs(mean) * 0.1
        assert np.all(np.sign(w) == np.sign(mean))
        assert abs(w.mean() - mean) < 5 * sd / math.sqrt(w.size)
        assert w.std() == pytest.approx(sd, rel=0.05)


def test_delays_are_redrawn_truncated_normals(small):
    """Delays in steps are >= 1 (no delay below dt), and their mean and SD are those of
    the normal truncated at dt/2 (the redraw bound), measured on the step grid."""
    dt = small.dt
    projections = _projections(small)
    for (i, j) in ((0, 0), (2, 3), (6, 7)):
        steps = np.asarray(projections[NAMES[j], NAMES[i]].delay_steps)
        assert steps.min() >= 1
        mean = 1.5e-3 if j % 2 == 0 else 0.75e-3
        sd = 0.5 * mean
        law = stats.truncnorm((0.5 * dt - mean) / sd, 10.0, loc=mean, scale=sd)
        d = steps * dt
        # rounding to the grid adds a uniform error of variance dt^2/12 and no mean
        assert abs(d.mean() - law.mean()) < 5 * law.std() / math.sqrt(d.size)
        assert d.std() == pytest.approx(math.sqrt(law.var() + dt**2 / 12), rel=0.05)


def test_draw_normal_redrawn_is_the_truncated_normal():
    rng = np.random.default_rng(3)
    law = stats.truncnorm(-1.0, 2.0, loc=1.0, scale=0.5)
    for dtype in ("float64", "float32"):
        x = draw_normal_redrawn(rng, 200_000, 1.0, 0.5, 0.5, 2.0, dtype)
        assert x.dtype == np.dtype(dtype)
        assert x.min() >= 0.5 and x.max() <= 2.0
        assert stats.kstest(x, law.cdf).pvalue > 1e-3


def test_same_seed_same_network():
    a = potjans_diesmann(0.005, rng=5)
    b = potjans_diesmann(0.005, rng=5)
    c = potjans_diesmann(0.005, rng=6)
    for pa, pb in zip(a.projections, b.projections):
        np.testing.assert_array_equal(pa.post_indices, pb.post_indices)
        np.testing.assert_array_equal(pa.weights, pb.weights)
    assert not np.array_equal(a.projections[0].weights, c.projections[0].weights)
    # rng=None means the preset's seed
    d = potjans_diesmann(0.005)
    e = potjans_diesmann(0.005, rng=PD.seed)
    np.testing.assert_array_equal(d.projections[3].weights, e.projections[3].weights)


def test_thalamus():
    net = potjans_diesmann(0.01, thalamus=True, rng=2)
    q = microcircuit_quantities(PD, 0.01)
    source = net.sources["TH"]
    assert source.n_neurons == 902
    # the generator's window [700, 710) ms, relayed 1 ms later as in the reference
    assert np.all((source.times >= 0.701 - 1e-12) & (source.times < 0.711 - 1e-12))
    expected = 902 * 120.0 * 0.01
    assert abs(source.times.size - expected) < 5 * math.sqrt(expected)
    projections = _projections(net)
    for i, target in enumerate(NAMES):
        n = int(q.n_thalamic_synapses[i])
        if n == 0:
            assert ("TH", target) not in projections
        else:
            proj = projections["TH", target]
            assert proj.n_synapses == n and proj.channel == "exc"
            assert np.all(np.asarray(proj.weights) > 0)
    indices, times = thalamic_spikes(PD, np.random.default_rng(0), 1e-4)
    assert indices.max() < 902 and times.size == indices.size


def test_poisson_drive():
    net = potjans_diesmann(0.01, drive="poisson", rng=1)
    q = microcircuit_quantities(PD, 0.01, drive="poisson")
    for i, name in enumerate(NAMES):
        drive = net.drives[f"{name}_drive"]
        np.testing.assert_allclose(drive.rates, 8.0 * PD.k_ext[i])
        assert drive.weight == pytest.approx(q.weight_ext) and drive.channel == "exc"
        assert name not in net.currents


def test_float32_storage():
    net = potjans_diesmann(0.01, rng=1, weight_dtype="float32")
    ref = potjans_diesmann(0.01, rng=1)
    for p, r in zip(net.projections, ref.projections):
        assert p.weights.dtype == np.float32 and p.post_indices.dtype == np.int32
        assert p.n_synapses == r.n_synapses


def test_refractory_period_held_as_long_as_nest():
    """Under a constant current the inter-spike interval of an iaf_psc_exp neuron is its
    refractory period (20 clamped steps after the spike's) plus the exact time from reset
    to threshold, rounded up to the step: ``tau_m ln(R I / (R I - (V_th - E_L)))``."""
    import snn

    dt, current = 1e-4, 5e-9
    net = snn.Network(dt=dt, max_delay=0.0)
    net.add_population("n", 1, PD.lif_params(dt), v_init=PD.v_reset)
    net.set_current("n", current)
    net.monitor_spikes("n")
    times = snn.run(net, 0.02).spikes["n"].times
    r_i = PD.tau_m / PD.c_m * current
    climb = PD.tau_m * math.log(r_i / (r_i - (PD.v_threshold - PD.e_l)))
    expected = (20 + math.ceil(climb / dt)) * dt  # 2.8 ms, as NEST 3.10 gives
    np.testing.assert_allclose(np.diff(times), expected, atol=1e-9)
    assert PD.lif_params().tau_refractory == PD.tau_refractory


def test_float32_construction_is_lean():
    """With float32 weights the network holds 9 bytes per synapse (int32 target, float32
    weight, uint8 delay), and construction never holds more than 6 bytes per synapse of the
    largest projection beyond that: no int64 or float64 array as long as a projection is
    alive at the peak (numpy's allocations, traced by tracemalloc)."""
    import gc
    import tracemalloc

    potjans_diesmann(0.005, rng=1, weight_dtype="float32")  # compile and import first
    q = microcircuit_quantities(PD, 0.02)
    gc.collect()
    tracemalloc.start()
    try:
        net = potjans_diesmann(0.02, rng=1, weight_dtype="float32")
        held, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert net.n_synapses == q.n_synapses.sum()
    assert held / net.n_synapses < 9.5
    assert (peak - held) / q.n_synapses.max() < 6.0  # 3.6 when written


# ---------------------------------------------------------------- beside NEST
SEEDS = 4


@pytest.mark.parametrize("kwargs, match", [
    (dict(threads=0), "threads"), (dict(scale=2.0), "scale"), (dict(duration=0.0), "duration"),
    (dict(seed=0), "seed"), (dict(drive="x"), "drive"),
])
def test_nest_peer_bad_input(kwargs, match):
    """Refused before NEST is imported or its kernel touched."""
    from snn.peers.nest_microcircuit import run_nest_microcircuit

    with pytest.raises(ValueError, match=match):
        run_nest_microcircuit(**{"scale": 0.01, **kwargs})


def test_run_microcircuit_bad_input():
    net = potjans_diesmann(0.005, rng=1)
    with pytest.raises(ValueError, match="duration"):
        run_microcircuit(net, 0.0)
    with pytest.raises(ValueError, match="warmup"):
        run_microcircuit(net, 0.1, -1.0)


@pytest.mark.slow
def test_rates_beside_nest():
    """Per-population rates of ours and NEST's at scale 0.02 over 1 s after the 0.5 s
    warm-up, four seeds each (each seed a new network and input).

    The tolerance is the seed spread: the difference of the two means must lie within 4.5
    standard errors of that difference, ``sqrt(s_ours^2/n + s_nest^2/n)`` with the seeds'
    sample SDs (a Welch t statistic below 4.5; at about 6 degrees of freedom two equal
    models exceed it in one of the eight populations with probability about 3 %). The seeds
    are fixed, so the outcome is deterministic; when written, six seeds of the same streams
    gave a largest |t| of 2.1.
    """
    pytest.importorskip("nest", reason="NEST 3.10 (pip install nest-simulator) is not installed")
    from snn.peers.nest_microcircuit import run_nest_microcircuit

    ours, theirs = [], []
    for seed in range(SEEDS):
        net = potjans_diesmann(0.02, rng=100 + seed)
        recorded, _ = run_microcircuit(net, 1.0, rng=200 + seed, threads=1)
        ours.append([recorded.mean_rate(name) for name in NAMES])
        nest_run = run_nest_microcircuit(0.02, duration=1.0, seed=300 + seed)
        theirs.append([nest_run.spikes[name].mean_rate() for name in NAMES])
        assert nest_run.n_synapses == net.n_synapses + net.n_neurons  # + recorder links
    ours, theirs = np.array(ours), np.array(theirs)
    se = np.sqrt(ours.var(0, ddof=1) / SEEDS + theirs.var(0, ddof=1) / SEEDS)
    gap = np.abs(ours.mean(0) - theirs.mean(0))
    assert np.all(gap <= 4.5 * se), (ours.mean(0), theirs.mean(0), se)
    assert np.all(ours.mean(0) > 0.5)
