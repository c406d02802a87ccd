"""Engine: numba equals the reference backend bit for bit; delays, inputs, monitors, state."""

import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest

import snn

from .helpers import mixed_network, one_population_network


def _assert_same_results(a, b):
    assert a.spikes.keys() == b.spikes.keys()
    for pop in a.spikes:
        np.testing.assert_array_equal(a.spikes[pop].times, b.spikes[pop].times)
        np.testing.assert_array_equal(a.spikes[pop].indices, b.spikes[pop].indices)
    for pop in a.traces:
        for var in a.traces[pop]:
            # Bitwise: array_equal, not allclose.
            assert np.array_equal(a.traces[pop][var], b.traces[pop][var]), (pop, var)
    for pop in a.state.neurons:
        for x, y in zip(a.state.neurons[pop], b.state.neurons[pop], strict=True):
            assert np.array_equal(x, y)
    assert np.array_equal(a.state.ring, b.state.ring)


@pytest.mark.parametrize("delays", [True, False])
def test_numba_equals_reference_step_by_step(delays):
    net = mixed_network(seed=1, delays=delays)
    ref = snn.run(net, 0.06, backend="reference", rng=7)
    fast = snn.run(net, 0.06, backend="numba", rng=7)
    _assert_same_results(ref, fast)
    counts = {pop: s.count for pop, s in ref.spikes.items()}
    assert all(c > 0 for c in counts.values()), f"every population must fire: {counts}"


def test_numba_parallel_path_equals_reference(monkeypatch):
    from snn.backends import numba_backend

    monkeypatch.setattr(numba_backend, "PARALLEL_MIN_WORK", 10)
    net = mixed_network(seed=2)
    _assert_same_results(snn.run(net, 0.03, backend="reference", rng=3),
                         snn.run(net, 0.03, backend="numba", rng=3))


def test_progress_bar_chunks_do_not_change_results(capsys):
    net = mixed_network(seed=4)
    _assert_same_results(snn.run(net, 0.05, backend="numba", rng=1),
                         snn.run(net, 0.05, backend="numba", rng=1, progress=True))


@pytest.mark.parametrize("backend", ["numba", "torch"])
def test_continuing_from_state_equals_one_long_run(backend):
    net = mixed_network(seed=5)
    # Poisson draws differ between the two schedules, so compare with no Poisson input.
    net.sources.pop("noise")
    net.projections = [p for p in net.projections if p.pre != "noise"]
    whole = snn.run(net, 0.05, backend=backend)
    first = snn.run(net, 0.02, backend=backend)
    second = snn.run(net, 0.03, backend=backend, state=first.state)
    for pop in whole.traces:
        for var in whole.traces[pop]:
            joined = np.concatenate([first.traces[pop][var], second.traces[pop][var]])
            assert np.array_equal(joined, whole.traces[pop][var]), (pop, var)
    for pop in whole.spikes:
        joined = np.concatenate([first.spikes[pop].times, second.spikes[pop].times])
        np.testing.assert_array_equal(joined, whole.spikes[pop].times)
    assert second.t_start == pytest.approx(0.02)
    assert np.array_equal(second.state.ring, whole.state.ring)


@pytest.mark.parametrize("backend", snn.BACKENDS)
@pytest.mark.parametrize("delay_steps", [0, 1, 7, 40])
def test_delays_deliver_at_exactly_the_right_step(backend, delay_steps):
    """A spike at step s with delay d reaches the synaptic variable at the end of step
    s + d: it is first visible in the sample of step s + d + 1."""
    dt = 1e-4
    net = snn.Network(dt=dt, max_delay=5e-3)
    net.add_population("post", 1, snn.LIFParams(v_threshold=1.0))
    net.add_spike_source("pre", 1, [0], [0.0010])
    net.connect("pre", "post", 1e-12, pre_indices=[0], post_indices=[0],
                delays=delay_steps * dt)
    net.monitor_state("post", "syn_exc")
    res = snn.run(net, 0.01, backend=backend)
    trace = res.traces["post"]["syn_exc"][:, 0]
    first = int(np.flatnonzero(trace > 0)[0])
    assert first == 10 + delay_steps + 1
    assert trace[first] == pytest.approx(1e-12)


def test_spikes_propagate_to_the_next_step_like_brian2():
    """Neuron-to-neuron: zero delay reaches the target's synapse in the spike's step."""
    net = snn.Network(dt=1e-4)
    net.add_population("a", 1, snn.LIFParams(tau_refractory=0.0), v_init=-45e-3)
    net.add_population("b", 1, snn.LIFParams(v_threshold=1.0))
    net.connect("a", "b", np.array([[5e-12]]))
    net.monitor_spikes("a")
    net.monitor_state("b", "syn_exc")
    res = snn.run(net, 0.002)
    assert res.spikes["a"].times[0] == 0.0  # above threshold at once
    assert res.traces["b"]["syn_exc"][0, 0] == 0.0
    assert res.traces["b"]["syn_exc"][1, 0] == pytest.approx(5e-12)


def test_poisson_input_rate_and_seed():
    net = snn.Network(dt=1e-4)
    net.add_population("n", 200, snn.LIFParams(v_threshold=1.0))
    net.add_poisson_source("p", 200, 50.0)
    net.connect("p", "n", 1e-12, pre_indices=np.arange(200), post_indices=np.arange(200))
    net.monitor_state("n", "syn_exc")
    a = snn.run(net, 1.0, rng=1)
    b = snn.run(net, 1.0, rng=1)
    c = snn.run(net, 1.0, rng=2)
    assert np.array_equal(a.traces["n"]["syn_exc"], b.traces["n"]["syn_exc"])
    assert not np.array_equal(a.traces["n"]["syn_exc"], c.traces["n"]["syn_exc"])
    # Count input events from jumps of the synaptic variable: mean 50 Hz x 200 x 1 s.
    jumps = np.diff(a.traces["n"]["syn_exc"], axis=0) > 0.5e-12
    expected = 50.0 * 200
    assert abs(jumps.sum() - expected) < 5 * np.sqrt(expected)


def test_time_varying_current_and_trace_helpers(tmp_path):
    net = snn.Network(dt=1e-4)
    net.add_population("n", 2, snn.LIFParams(tau_refractory=0.0))
    steps = 1000
    current = np.zeros((steps, 2))
    current[500:, 1] = 0.3e-9  # second neuron switched on half-way
    net.set_current("n", current)
    net.monitor_spikes()
    net.monitor_state("n", "v", indices=[1])
    res = snn.run(net, 0.1)
    assert res.spikes["n"].count > 0
    assert np.all(res.spikes["n"].indices == 1)
    assert np.all(res.spikes["n"].times >= 0.05)
    assert res.traces["n"]["v"].shape == (steps, 1)
    assert res.rates("n")[0] == 0
    assert res.summary()[0]["spikes"] == res.spikes["n"].count
    res.plot_raster(path=tmp_path / "raster.png")
    res.plot_traces("n", "v", path=tmp_path / "v.png")
    assert (tmp_path / "raster.png").stat().st_size > 1000
    with pytest.raises(ValueError, match="covers 1000 steps"):
        snn.run(net, 0.2)


def test_rates_and_cv_of_a_regular_train():
    times = np.arange(100) * 0.01
    trains = snn.SpikeTrains(times, np.zeros(100, dtype=np.int64), n_neurons=2, duration=1.0)
    np.testing.assert_allclose(trains.rates(), [100.0, 0.0])
    assert trains.mean_rate() == pytest.approx(50.0)
    assert trains.mean_cv_isi() == pytest.approx(0.0, abs=1e-9)


@pytest.mark.parametrize(
    "action, error, message",
    [
        (lambda: snn.Network(dt=0.0), ValueError, "dt"),
        (lambda: snn.Network(dt=-1e-4), ValueError, "dt"),
        (lambda: snn.Network(dt="0.1"), TypeError, "dt"),
        (lambda: snn.run(one_population_network(), 0.0), ValueError, "duration"),
        (lambda: snn.run(one_population_network(), -1.0), ValueError, "duration"),
        (lambda: snn.run(one_population_network(), float("nan")), ValueError, "duration"),
        (lambda: snn.run(one_population_network(), 0.1, backend="cuda"), ValueError,
         "backend"),
        (lambda: snn.run("net", 0.1), TypeError, "network"),
        (lambda: snn.run(snn.Network(), 0.1), ValueError, "population"),
        (lambda: one_population_network().add_population("m", 0, snn.LIFParams()),
         ValueError, "n_neurons"),
        (lambda: one_population_network().add_population("n", 2, snn.LIFParams()),
         ValueError, "already used"),
        (lambda: one_population_network().add_population("m", 2, snn.LIFParams(),
                                                                v_init=[0.0] * 3),
         ValueError, "v_init"),
        (lambda: one_population_network().add_population("m", 2, snn.LIFParams(),
                                                                v_init=[np.nan, 0.0]),
         ValueError, "v_init"),
        (lambda: one_population_network().add_population("m", 2, "lif"), TypeError,
         "params"),
        (lambda: one_population_network().connect("n", "n", np.zeros((3, 2))),
         ValueError, "weights must have shape"),
        (lambda: one_population_network().connect("n", "n", np.full((3, 3), np.nan)),
         ValueError, "weights"),
        (lambda: one_population_network().connect("n", "n", np.zeros((3, 3), dtype=complex)),
         TypeError, "weights"),
        (lambda: one_population_network().connect("n", "x", np.zeros((3, 3))),
         ValueError, "post"),
        (lambda: one_population_network().connect("n", "n", 1.0, pre_indices=[0],
                                                         post_indices=[3]),
         ValueError, "post_indices"),
        (lambda: one_population_network().connect("n", "n", np.zeros((3, 3)),
                                                         channel="gaba"),
         ValueError, "channel"),
        (lambda: one_population_network().connect("n", "n", np.zeros((3, 3)),
                                                         delays=0.5),
         ValueError, "max_delay"),
        (lambda: one_population_network().connect("n", "n", np.zeros((3, 3)),
                                                         delays=-1e-3),
         ValueError, "delays"),
        (lambda: one_population_network().set_current("n", np.zeros(4)), ValueError,
         "values"),
        (lambda: one_population_network().set_current("n", [np.inf, 0, 0]), ValueError,
         "values"),
        (lambda: one_population_network().add_poisson_source("p", 3, 2e4), ValueError,
         "rates"),
        (lambda: one_population_network().add_spike_source("s", 2, [0, 2], [0.0, 0.1]),
         ValueError, "indices"),
        (lambda: one_population_network().add_spike_source("s", 2, [0, 1], [0.0]),
         ValueError, "times"),
        (lambda: one_population_network().monitor_state("n", "w"), ValueError,
         "variables"),
        (lambda: one_population_network().connect_random("n", "n", 1.5, 1.0), ValueError,
         "p must be"),
        (lambda: one_population_network().connect_random("n", "n", True, 1.0), TypeError,
         "p must be"),
        (lambda: snn.Network(dt=True), TypeError, "dt"),
        (lambda: snn.Network(max_delay=True), TypeError, "max_delay"),
        (lambda: one_population_network().add_population("m", True, snn.LIFParams()),
         TypeError, "n_neurons"),
        (lambda: snn.run(one_population_network(), True), TypeError, "duration"),
        (lambda: snn.run(one_population_network(), 0.01, rng="0"), TypeError, "rng"),
        (lambda: one_population_network().connect_random("n", "n", 0.5, 1.0, rng=1.5),
         TypeError, "rng"),
    ],
)
def test_bad_input_is_rejected_before_running(action, error, message):
    with pytest.raises(error, match=message):
        action()


def test_conductance_weights_must_be_nonnegative():
    net = snn.Network()
    net.add_population("n", 2, snn.LIFParams(synapses=snn.ConductanceSynapses()))
    with pytest.raises(ValueError, match="conductance"):
        net.connect("n", "n", -np.ones((2, 2)))


def test_compiled_loop_is_cached_on_disk(tmp_path):
    """A second process loads the compiled loop from the cache instead of compiling."""
    script = textwrap.dedent("""
        import snn
        from snn.backends import numba_backend as nb
        net = snn.Network()
        net.add_population("n", 5, snn.LIFParams())
        net.set_current("n", 0.3e-9)
        net.monitor_spikes()
        snn.run(net, 0.01)
        (loop,) = nb._LOOPS.values()
        print(loop.kernel.stats.cache_hits.most_common(1)[0][1]
              if loop.kernel.stats.cache_hits else 0)
    """)
    env = dict(os.environ, SNNSIM_CACHE_DIR=str(tmp_path))
    runs = [subprocess.run([sys.executable, "-c", script], env=env, capture_output=True,
                           text=True, check=True, timeout=300) for _ in range(2)]
    hits = [int(r.stdout.strip().splitlines()[-1]) for r in runs]
    assert hits == [0, 1]
    assert any((tmp_path / "numba").iterdir())


def test_bernoulli_steps_are_a_bernoulli_process_per_step():
    from snn.engine import _bernoulli_steps

    rng = np.random.default_rng(0)
    n_steps = 20_000
    p = np.array([0.0] * 2 + [0.002] * 300 + [0.4] * 5 + [1.0] * 2)
    steps, idx = _bernoulli_steps(p, n_steps, rng)
    assert steps.min() >= 0 and steps.max() < n_steps
    counts = np.bincount(idx, minlength=p.size)
    assert np.all(counts[:2] == 0) and np.all(counts[-2:] == n_steps)
    # No neuron fires twice in a step.
    assert np.unique(idx * n_steps + steps).size == steps.size
    for value, sel in ((0.002, slice(2, 302)), (0.4, slice(302, 307))):
        expected = value * n_steps * (sel.stop - sel.start)
        assert abs(counts[sel].sum() - expected) < 5 * np.sqrt(expected)
    # Uniform over the run: the same rate in each tenth, first and last included.
    sparse = steps[(idx >= 2) & (idx < 302)]
    per_tenth = np.histogram(sparse, bins=10, range=(0, n_steps))[0]
    mean = sparse.size / 10
    assert np.all(np.abs(per_tenth - mean) < 5 * np.sqrt(mean))
    # Very short runs too.
    steps, _ = _bernoulli_steps(np.full(4000, 0.3), 2, rng)
    assert np.all(np.abs(np.bincount(steps, minlength=2) - 1200) < 5 * np.sqrt(1200))


def test_run_and_run_trials_share_one_default_backend():
    net = mixed_network(seed=3)
    single = snn.run(net, 0.01, rng=2)
    (trial,) = snn.run_trials(net, 0.01, 1, rng=2)
    assert single.backend == trial.backend == snn.backends.DEFAULT_BACKEND == "numba"
    _assert_same_results(single, trial)


def test_every_backend_returns_the_one_typed_result():
    from snn.backends import BackendOutput, get_backend
    from snn.engine import build_plan

    plan = build_plan(mixed_network(seed=1), 50, np.random.default_rng(0))
    for name in snn.BACKENDS:
        backend = get_backend(name)
        (out,) = backend.simulate(plan, options=backend.resolve_options({}))
        assert isinstance(out, BackendOutput) and out.plastic is None
        assert out.final_state.shape == (5, plan.n_neurons)
        assert out.probes.shape == (50, plan.probe_idx.size)


def test_unknown_backend_lists_the_registered_ones():
    with pytest.raises(ValueError, match="backend must be one of 'reference', 'numba', 'torch'"):
        snn.run(one_population_network(), 0.01, backend="jax")


def test_simulation_without_torch_does_not_import_it():
    script = textwrap.dedent("""
        import sys
        import snn
        net = snn.Network()
        net.add_population("n", 2, snn.LIFParams())
        net.set_current("n", 0.3e-9)
        for backend in ("numba", "reference"):
            snn.run(net, 0.002, backend=backend)
        snn.run_trials(net, 0.002, 2)
        print("torch" in sys.modules)
    """)
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                         check=True, timeout=300)
    assert out.stdout.strip().splitlines()[-1] == "False"


def test_set_spikes_replaces_a_source_for_later_runs_only():
    net = snn.Network(dt=1e-4)
    net.add_population("n", 2, snn.LIFParams())
    net.add_spike_source("in", 2, [0], [0.001])
    net.connect("in", "n", np.diag([1e-9, 1e-9]))
    net.monitor_state("n", "syn_exc")
    first = snn.run(net, 0.005)
    net.set_spikes("in", [1, 1], [0.002, 0.003])
    second = snn.run(net, 0.005)
    assert first.traces["n"]["syn_exc"][:, 0].max() > 0
    assert second.traces["n"]["syn_exc"][:, 0].max() == 0
    assert np.count_nonzero(np.diff(second.traces["n"]["syn_exc"][:, 1]) > 0) == 2
    with pytest.raises(ValueError, match="indices"):
        net.set_spikes("in", [2], [0.001])
    with pytest.raises(ValueError, match="spike source"):
        net.set_spikes("n", [0], [0.001])


def test_set_weights_in_connect_or_csr_order():
    net = one_population_network()
    pre, post = np.array([2, 0, 1, 0]), np.array([0, 1, 2, 2])
    proj = net.connect("n", "n", [1e-12, 2e-12, 3e-12, 4e-12], pre_indices=pre,
                       post_indices=post)
    np.testing.assert_array_equal(proj.weights, [2e-12, 4e-12, 3e-12, 1e-12])  # CSR by pre
    result = snn.run(net, 0.001)
    new = net.set_weights(proj, [10e-12, 20e-12, 30e-12, 40e-12])
    assert net.projections == [new]
    np.testing.assert_array_equal(new.weights, [20e-12, 40e-12, 30e-12, 10e-12])
    np.testing.assert_array_equal(net.set_weights(0, new.weights * 2, order="csr").weights,
                                  [40e-12, 80e-12, 60e-12, 20e-12])
    np.testing.assert_array_equal(result.weights(0), [2e-12, 4e-12, 3e-12, 1e-12])
    dense = net.connect("n", "n", np.arange(9.0).reshape(3, 3) * 1e-12)
    assert dense.connect_order is None
    np.testing.assert_array_equal(net.set_weights(dense, np.ones((3, 3))).weights, np.ones(9))
    with pytest.raises(ValueError, match="weights"):
        net.set_weights(0, np.ones(3))
    with pytest.raises(ValueError, match="projection"):
        net.set_weights(5, 1.0)
    with pytest.raises(ValueError, match="order"):
        net.set_weights(0, 1.0, order="pre")
