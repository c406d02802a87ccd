"""Large networks on one machine: compact synapse storage, threads, counter-based Poisson
drive and the memory estimate."""

import os
import subprocess
import sys
import textwrap
import tracemalloc
from pathlib import Path

import numba
import numpy as np
import pytest
from scipy import stats

import snn
from snn import random_streams
from snn.engine import build_plan

PARAMS = snn.LIFParams(tau_m=10e-3, v_rest=-65e-3, v_threshold=-50e-3, v_reset=-65e-3,
                       r_m=40e6, tau_refractory=2e-3,
                       synapses=snn.CurrentSynapses(tau_exc=0.5e-3, tau_inh=1e-3))
COBA = snn.LIFParams(synapses=snn.ConductanceSynapses(tau_exc=5e-3, tau_inh=10e-3))


def mixed_network(weight_dtype: str = "float64", max_delay: float = 4e-3,
                  delays: bool = True) -> snn.Network:
    """Every kind of input the threaded loop handles: delayed and direct synapses onto two
    models, multapses, spike and Poisson sources, Poisson drive on both channels, constant
    and time-varying currents, and probes."""
    rng = np.random.default_rng(11)
    net = snn.Network(dt=1e-4, max_delay=max_delay, weight_dtype=weight_dtype)
    net.add_population("a", 700, PARAMS, v_init=rng.uniform(-65e-3, -50e-3, 700))
    net.add_population("b", 300, COBA)
    net.add_population("c", 157, PARAMS)
    n = 30_000
    pre = rng.integers(0, 700, n, dtype=np.int32)
    post = rng.integers(0, 700, n, dtype=np.int32)
    d = (lambda size: rng.uniform(0, max_delay, size)) if delays else (lambda size: 0.0)
    net.connect("a", "a", rng.normal(60e-12, 6e-12, n), pre_indices=pre, post_indices=post,
                delays=d(n))
    net.connect("a", "b", 2e-9, pre_indices=pre[:5000], post_indices=post[:5000] % 300,
                delays=d(5000))
    net.connect("b", "a", -200e-12, pre_indices=post[:4000] % 300, post_indices=pre[:4000],
                delays=d(4000), channel="inh")
    net.connect("c", "a", -50e-12, pre_indices=post[:3000] % 157, post_indices=pre[:3000],
                delays=d(3000), channel="inh")
    net.add_spike_source("spikes", 20, rng.integers(0, 20, 300), rng.uniform(0, 0.05, 300))
    net.connect("spikes", "c", 300e-12, pre_indices=np.repeat(np.arange(20), 10),
                post_indices=rng.integers(0, 157, 200), delays=d(200))
    net.add_poisson_source("noise", 50, 40.0)
    net.connect("noise", "b", 1e-9, pre_indices=np.arange(50), post_indices=np.arange(50))
    net.add_poisson_drive("a", 16000.0, 70e-12)
    net.add_poisson_drive("a", 1000.0, -70e-12, channel="inh", name="a_inh")
    net.add_poisson_drive("b", np.linspace(100, 3000, 300), 1e-9)
    net.set_current("c", np.tile(np.linspace(0, 500e-12, 157), (600, 1)))
    net.set_current("b", 50e-12)
    net.monitor_spikes()
    net.monitor_state("a", "v", [0, 3, 699])
    net.monitor_state("b", ["v", "syn_exc"], [1, 2])
    return net


def assert_same_run(left, right):
    for name in left.spikes:
        np.testing.assert_array_equal(left.spikes[name].indices, right.spikes[name].indices)
        np.testing.assert_array_equal(left.spikes[name].times, right.spikes[name].times)
    for pop, variables in left.traces.items():
        for var, trace in variables.items():
            np.testing.assert_array_equal(trace, right.traces[pop][var])
    for pop, state in left.state.neurons.items():
        for a, b in zip(state, right.state.neurons[pop]):
            np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(left.state.ring, right.state.ring)


def thread_counts() -> list[int]:
    return list(range(1, min(3, numba.config.NUMBA_NUM_THREADS) + 1))


@pytest.mark.parametrize("delays", [True, False])
def test_every_thread_count_equals_the_reference_bitwise(delays):
    net = mixed_network(delays=delays, max_delay=4e-3 if delays else 0.0)
    reference = snn.run(net, 0.06, backend="reference", rng=3)
    assert sum(t.times.size for t in reference.spikes.values()) > 300  # an active network
    for threads in thread_counts():
        assert_same_run(reference, snn.run(net, 0.06, backend="numba", rng=3, threads=threads))


def test_float32_weights_run_alike_on_every_backend_and_thread_count():
    net = mixed_network("float32")
    assert net.projections[0].weights.dtype == np.float32
    reference = snn.run(net, 0.04, backend="reference", rng=5)
    assert_same_run(reference, snn.run(net, 0.04, backend="torch", rng=5))
    for threads in thread_counts():
        assert_same_run(reference, snn.run(net, 0.04, rng=5, threads=threads))
    # float32 storage rounds the weights once; the dynamics differ from float64 only by that.
    wide = snn.run(mixed_network("float64"), 0.04, backend="reference", rng=5)
    assert abs(wide.spikes["a"].times.size - reference.spikes["a"].times.size) < \
        0.05 * wide.spikes["a"].times.size


@pytest.mark.slow
def test_results_do_not_depend_on_the_size_of_the_thread_pool(tmp_path):
    """Four threads on a machine of any size (numba runs more threads than cores)."""
    root = str(Path(__file__).resolve().parents[1])
    script = textwrap.dedent(f"""
        import numpy as np, snn, sys
        sys.path.insert(0, {root!r})
        from tests.test_engine_scale import mixed_network
        net = mixed_network()
        runs = [snn.run(net, 0.03, rng=9, threads=k) for k in (1, 2, 3, 4)]
        ids = [np.concatenate([r.spikes[p].indices for p in r.spikes]) for r in runs]
        print(all(np.array_equal(ids[0], x) for x in ids), ids[0].size)
    """)
    env = dict(os.environ, NUMBA_NUM_THREADS="4")
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                         env=env, check=True, timeout=600)
    same, count = out.stdout.split()
    assert same == "True" and int(count) > 100


def test_threads_is_validated():
    net = mixed_network()
    for bad in (0, -1, numba.config.NUMBA_NUM_THREADS + 1):
        with pytest.raises(ValueError, match="threads"):
            snn.run(net, 0.001, threads=bad)
    for bad in (1.5, True, "2"):
        with pytest.raises(TypeError, match="threads"):
            snn.run(net, 0.001, threads=bad)
    with pytest.raises(ValueError, match="threads applies to backend"):
        snn.run(net, 0.001, backend="reference", threads=2)


# ------------------------------------------------------------------ counter-based streams
def test_uniforms_are_uniform_and_streams_independent():
    keys = random_streams.stream_keys(123, np.arange(4000))
    draws = np.stack([random_streams.uniforms(keys, step) for step in range(50)])
    assert draws.min() >= 0.0 and draws.max() < 1.0
    assert stats.kstest(draws.ravel(), "uniform").pvalue > 1e-3
    # Neighbouring streams and neighbouring steps are uncorrelated.
    for a, b in ((draws[:, :-1], draws[:, 1:]), (draws[:-1], draws[1:])):
        r = np.corrcoef(a.ravel(), b.ravel())[0, 1]
        assert abs(r) < 4 / np.sqrt(a.size)
    # Another seed gives other numbers; the same seed the same ones.
    other = random_streams.uniforms(random_streams.stream_keys(124, np.arange(4000)), 0)
    assert not np.any(other == draws[0])
    np.testing.assert_array_equal(
        random_streams.uniforms(random_streams.stream_keys(123, np.arange(4000)), 0), draws[0])


@pytest.mark.parametrize("mean", [0.05, 1.6, 12.0])
def test_poisson_counts_follow_the_poisson_distribution(mean):
    keys = random_streams.stream_keys(7, np.arange(2000))
    lam = np.full(keys.size, mean)
    counts = np.concatenate([random_streams.drive_counts(keys, lam, np.exp(-lam), step)
                             for step in range(100)])
    top = int(stats.poisson.ppf(0.999, mean))
    observed = np.bincount(np.minimum(counts, top), minlength=top + 1)
    expected = stats.poisson.pmf(np.arange(top + 1), mean) * counts.size
    expected[-1] = stats.poisson.sf(top - 1, mean) * counts.size
    keep = expected > 5
    chi2 = (((observed - expected) ** 2 / expected)[keep]).sum()
    assert stats.chi2.sf(chi2, keep.sum() - 1) > 1e-3


def test_compiled_poisson_count_equals_the_vectorised_one():
    keys = random_streams.stream_keys(5, np.arange(3000))
    lam = np.linspace(0.0, 30.0, keys.size)

    @numba.njit
    def compiled(keys, step, lam, exp_neg):
        out = np.empty(keys.size, dtype=np.int64)
        for m in range(keys.size):
            u = random_streams.counter_uniform(keys[m], np.uint64(step))
            out[m] = random_streams.poisson_count(u, lam[m], exp_neg[m])
        return out

    for step in (0, 1, 2**40):
        np.testing.assert_array_equal(
            compiled(keys, step, lam, np.exp(-lam)),
            random_streams.drive_counts(keys, lam, np.exp(-lam), step))


def test_poisson_drive_delivers_rate_times_weight():
    """A neuron that cannot fire integrates the drive: the synaptic current's mean is
    rate * weight * tau (shot noise, Campbell's theorem)."""
    params = snn.LIFParams(v_threshold=1.0, synapses=snn.CurrentSynapses(tau_exc=5e-3))
    net = snn.Network(dt=1e-4)
    net.add_population("n", 500, params)
    net.add_poisson_drive("n", 2000.0, 1e-12)
    net.monitor_state("n", "syn_exc")
    trace = snn.run(net, 0.3, rng=1).traces["n"]["syn_exc"][1000:]
    expected = 2000.0 * 1e-12 * 5e-3
    assert trace.mean() == pytest.approx(expected, rel=0.01)


def test_poisson_drive_is_validated():
    net = snn.Network(dt=1e-4)
    net.add_population("n", 5, PARAMS)
    net.add_population("g", 5, COBA)
    with pytest.raises(ValueError, match="population"):
        net.add_poisson_drive("x", 10.0, 1e-12)
    with pytest.raises(ValueError, match="rate"):
        net.add_poisson_drive("n", -1.0, 1e-12)
    with pytest.raises(ValueError, match="rate"):
        net.add_poisson_drive("n", 1e7, 1e-12)
    with pytest.raises(ValueError, match="rate"):
        net.add_poisson_drive("n", [1.0, 2.0], 1e-12)
    with pytest.raises(ValueError, match="weight"):
        net.add_poisson_drive("n", 1.0, np.nan)
    with pytest.raises(ValueError, match=">= 0 S"):
        net.add_poisson_drive("g", 1.0, -1e-9)
    with pytest.raises(ValueError, match="channel"):
        net.add_poisson_drive("n", 1.0, 1e-12, channel="both")
    net.add_poisson_drive("n", 1.0, 1e-12)
    with pytest.raises(ValueError, match="already used"):
        net.add_poisson_drive("n", 1.0, 1e-12)
    with pytest.raises(ValueError, match="run_trials"):
        snn.run_trials(net, 0.01, 2)


# ------------------------------------------------------------------ compact storage
@pytest.mark.parametrize(("max_delay", "dtype"), [(0.0255, np.uint8), (0.0256, np.uint16),
                                                  (7.0, np.uint32)])
def test_delays_are_stored_in_the_smallest_type_the_longest_delay_allows(max_delay, dtype):
    net = snn.Network(dt=1e-4, max_delay=max_delay)
    net.add_population("n", 10, PARAMS)
    proj = net.connect("n", "n", 1e-12, pre_indices=[0, 1], post_indices=[2, 3],
                       delays=[0.0, max_delay])
    assert proj.delay_steps.dtype == dtype
    assert proj.delay_steps.tolist() == [0, round(max_delay / 1e-4)]
    assert proj.post_indices.dtype == np.int32 and proj.weights.dtype == np.float64
    plan = build_plan(net, 10, np.random.default_rng(0))
    assert plan.delays.dtype == dtype and plan.targets.dtype == np.int32
    assert plan.channels.dtype == np.uint8 and plan.syn_rule.size == 0


def test_rows_are_sorted_by_target_and_multapses_keep_their_order():
    net = snn.Network(dt=1e-4)
    net.add_population("n", 6, PARAMS)
    pre = np.array([2, 0, 2, 2, 0, 2], dtype=np.int32)
    post = np.array([5, 3, 1, 5, 1, 0], dtype=np.int32)
    w = np.arange(1.0, 7.0) * 1e-12
    proj = net.connect("n", "n", w, pre_indices=pre, post_indices=post)
    assert proj.indptr.tolist() == [0, 2, 2, 6, 6, 6, 6]
    assert proj.post_indices.tolist() == [1, 3, 0, 1, 5, 5]
    np.testing.assert_array_equal(proj.weights, np.array([5, 2, 6, 3, 1, 4]) * 1e-12)
    np.testing.assert_array_equal(proj.connect_order, [4, 1, 5, 2, 0, 3])
    # Weights given in connect order land on the same synapses.
    new = net.set_weights(proj, w * 2)
    np.testing.assert_array_equal(new.weights, proj.weights * 2)
    lean = net.connect("n", "n", w, pre_indices=pre, post_indices=post, keep_order=False)
    assert lean.connect_order is None
    with pytest.raises(ValueError, match="keep_order=False"):
        net.set_weights(lean, w)


def test_connect_makes_no_copy_as_long_as_the_synapse_list():
    n, size = 2_000_000, 5000
    rng = np.random.default_rng(0)
    pre = rng.integers(0, size, n, dtype=np.int32)
    post = rng.integers(0, size, n, dtype=np.int32)
    weights = rng.random(n, dtype=np.float32) * 1e-12
    delays = rng.random(n, dtype=np.float32) * 1e-3
    net = snn.Network(dt=1e-4, max_delay=2e-3, weight_dtype="float32")
    net.add_population("n", size, PARAMS)
    # Compile the counting sorts for these dtypes first: tracemalloc also counts the
    # compiler's Python objects, which are not the data this test is about.
    net.connect("n", "n", weights[:10], pre_indices=pre[:10], post_indices=post[:10],
                delays=delays[:10], keep_order=False)
    tracemalloc.start()
    proj = net.connect("n", "n", weights, pre_indices=pre, post_indices=post, delays=delays,
                       keep_order=False)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    stored = proj.post_indices.nbytes + proj.weights.nbytes + proj.delay_steps.nbytes
    assert stored == 9 * n
    # The stored arrays, the delay steps before sorting (1 byte each), the int32 order of
    # the counting sort (4 bytes each) and boolean checks (1 byte, one at a time): an int64
    # or float64 temporary of the synapse list would add 8 bytes per synapse.
    assert peak < stored + 6 * n + proj.indptr.nbytes + 2**20


def test_bad_weight_dtype():
    with pytest.raises(ValueError, match="weight_dtype"):
        snn.Network(weight_dtype="float16")
    with pytest.raises(ValueError, match="weight_dtype"):
        snn.Network(weight_dtype="bogus")
    assert snn.Network(weight_dtype=np.float32).weight_dtype == np.float32


# ------------------------------------------------------------------ memory estimate
def test_memory_estimate_counts_the_engine_arrays():
    net = mixed_network("float32")
    estimate = net.memory_estimate(0.05)
    stored = sum(p.post_indices.nbytes + p.weights.nbytes + p.delay_steps.nbytes
                 + p.indptr.nbytes + (0 if p.connect_order is None else p.connect_order.nbytes)
                 for p in net.projections)
    assert estimate.network == stored
    plan = build_plan(net, 500, np.random.default_rng(0))
    table = sum(getattr(plan, name).nbytes for name in
                ("targets", "weights", "delays", "channels", "indptr"))
    # The table plus the per-id fill pointers used while building it.
    assert estimate.synapses == table + plan.indptr.nbytes
    assert estimate.neurons >= 2 * (plan.state.nbytes + plan.ring.nbytes)
    assert estimate.peak == estimate.network + estimate.run
    assert "GiB" in str(estimate)


def test_a_run_that_cannot_fit_is_refused_with_the_figure(monkeypatch):
    net = mixed_network()
    need = net.memory_estimate(0.01).run
    monkeypatch.setenv("SNNSIM_MEMORY_LIMIT", str(need - 1))
    with pytest.raises(ValueError, match=r"needs about .* GiB .* available"):
        snn.run(net, 0.01)
    monkeypatch.setenv("SNNSIM_MEMORY_LIMIT", str(need))
    snn.run(net, 0.01)
