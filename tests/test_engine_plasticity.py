"""STDP attached to engine projections: the analytic window, backends step by step, runs
continued from a state, the replay rule ``stdp_csr`` and Brian2 on the same spike times."""

import dataclasses

import numpy as np
import pytest

import snn
from snn.plasticity import STDPParams, stdp_csr, stdp_window

DT = 1e-4
RULE = STDPParams(a_plus=0.01, a_minus=0.012, tau_plus=2e-3, tau_minus=3e-3)
DELTA_LIF = snn.LIFParams(synapses=snn.DeltaSynapses(), tau_refractory=0.0)
# The spiking homeostatic rule on inhibitory weights (negative): -1 pA at each spike of the
# target, +1 pA x 20 Hz per second.
HOMEOSTATIC = STDPParams(a_plus=0.0, a_minus=0.0, drift=20e-12, post_offset=-1e-12,
                         w_min=-2e-10, w_max=0.0)


def pairing_network(offsets, delay_steps, rule=RULE, t_pre=0.01):
    """Synapse ``k`` (pre ``k`` -> post ``k``, weight 0) sees one presynaptic spike and one
    postsynaptic spike, the latter forced by a strong static input about ``offsets[k]``
    steps after the presynaptic spike arrives."""
    n = len(offsets)
    net = snn.Network(dt=DT, max_delay=5e-3)
    net.add_population("post", n, DELTA_LIF)
    arrival = t_pre + np.asarray(delay_steps) * DT
    net.add_spike_source("pre", n, np.arange(n), np.full(n, t_pre))
    net.add_spike_source("drive", n, np.arange(n), arrival + (np.asarray(offsets) - 1) * DT)
    proj = net.connect("pre", "post", 0.0, pre_indices=np.arange(n), post_indices=np.arange(n),
                       delays=np.asarray(delay_steps) * DT, plasticity=rule)
    net.connect("drive", "post", 1.0, pre_indices=np.arange(n), post_indices=np.arange(n))
    net.monitor_spikes("post")
    return net, proj, arrival


@pytest.mark.parametrize("backend", ["reference", "numba", "torch"])
def test_weight_change_follows_the_analytic_window(backend):
    offsets = np.arange(-25, 26)
    delay_steps = np.arange(offsets.size) % 5
    net, proj, arrival = pairing_network(offsets, delay_steps)
    result = snn.run(net, 0.03, backend=backend)
    spikes = result.spikes["post"]
    assert np.array_equal(np.sort(spikes.indices), np.arange(offsets.size))  # one spike each
    t_post = np.empty(offsets.size)
    t_post[spikes.indices] = spikes.times
    delta = t_post - arrival
    # Both signs and the simultaneous pair (potentiation by a_plus) are covered.
    assert delta.min() < 0 < delta.max() and np.any(np.isclose(delta, 0.0))
    expected = stdp_window(delta, RULE)
    np.testing.assert_allclose(result.weights(proj), expected, rtol=1e-12, atol=1e-17)
    assert np.array_equal(result.weights(0), result.weights(proj))


def test_long_gaps_decay_by_the_same_exponential_on_both_backends():
    # Gaps beyond the decay table (DECAY_TABLE_STEPS) take the computed exponential.
    offsets = np.array([-3000, -2100, -2047, -2, 0, 3, 2047, 2048, 2500, 3000])
    rule = dataclasses.replace(RULE, tau_plus=0.05, tau_minus=0.06)
    net, proj, arrival = pairing_network(offsets, np.zeros(offsets.size, dtype=int), rule,
                                         t_pre=0.32)
    ref = snn.run(net, 0.7, backend="reference")
    fast = snn.run(net, 0.7, backend="numba")
    assert np.array_equal(ref.weights(proj), fast.weights(proj))
    assert np.array_equal(ref.weights(proj), snn.run(net, 0.7, backend="torch").weights(proj))
    t_post = np.empty(offsets.size)
    t_post[fast.spikes["post"].indices] = fast.spikes["post"].times
    np.testing.assert_allclose(fast.weights(proj), stdp_window(t_post - arrival, rule),
                               rtol=1e-12, atol=1e-20)


@pytest.mark.parametrize("mu", [0.5, 1.0, 2.0])
def test_weight_dependence_scales_each_change_by_the_distance_to_the_bound(mu):
    # Weights of a few mV: the plastic synapse alone never makes its neuron fire.
    rule = dataclasses.replace(RULE, a_plus=5e-4, a_minus=6e-4, w_min=-2e-3, w_max=3e-3, mu=mu)
    offsets = np.array([-6, -2, 0, 1, 4, 9])
    n = offsets.size
    net, proj, arrival = pairing_network(offsets, np.zeros(n, dtype=int), rule)
    w0 = np.linspace(-1.5e-3, 2.5e-3, n)
    proj.weights[:] = w0
    result = snn.run(net, 0.03, backend="numba")
    t_post = np.empty(n)
    t_post[result.spikes["post"].indices] = result.spikes["post"].times
    delta = t_post - arrival
    u = (w0 - rule.w_min) / (rule.w_max - rule.w_min)
    scale = np.where(delta >= 0, (1 - u) ** mu, u ** mu)
    np.testing.assert_allclose(result.weights(proj) - w0, scale * stdp_window(delta, rule),
                               rtol=1e-12, atol=1e-18)
    assert np.array_equal(result.weights(proj),
                          snn.run(net, 0.03, backend="reference").weights(proj))
    # torch.pow may round differently from the C library's pow in the last bit.
    np.testing.assert_allclose(snn.run(net, 0.03, backend="torch").weights(proj),
                               result.weights(proj), rtol=1e-14, atol=1e-20)


def test_weights_stay_within_the_bounds():
    rule = dataclasses.replace(RULE, w_min=-0.005, w_max=0.004)
    net, proj, _ = pairing_network(np.arange(-5, 6), np.zeros(11, dtype=int), rule)
    w = snn.run(net, 0.03).weights(proj)
    assert w.min() == -0.005 and w.max() == 0.004  # both bounds reached, none crossed


def plastic_network(seed=0):
    """Poisson input -> 60 LIF neurons with plastic delayed input and recurrent synapses,
    and a static inhibitory projection."""
    rng = np.random.default_rng(seed)
    net = snn.Network(dt=DT, max_delay=4e-3)
    net.add_poisson_source("input", 80, rng.uniform(20, 60, 80))
    net.add_population("exc", 60, snn.LIFParams(), v_init=rng.uniform(-0.065, -0.051, 60))
    feed = net.connect_random("input", "exc", 0.3, 2.5e-10, rng=rng,
                              delays=0.0, plasticity=dataclasses.replace(RULE, w_min=0.0,
                                                                        w_max=6e-10,
                                                                        a_plus=2e-11,
                                                                        a_minus=2.4e-11))
    pre, post = snn.network.random_pairs(60, 60, 0.1, rng)
    recurrent = net.connect("exc", "exc", rng.uniform(0, 1e-10, pre.size), pre_indices=pre,
                            post_indices=post, delays=rng.integers(0, 30, pre.size) * DT,
                            plasticity=STDPParams(a_plus=1e-11, a_minus=1.1e-11, tau_plus=0.02,
                                                  tau_minus=0.02, w_min=0.0, w_max=2e-10))
    net.connect_random("exc", "exc", 0.1, 5e-11, rng=rng, delays=1e-3, channel="inh")
    # Homeostatic inhibition (projection 3): stronger at each spike of its target, weaker
    # at a steady rate in between.
    net.connect_random("exc", "exc", 0.05, -4e-11, rng=rng, delays=rng.integers(1, 20) * DT,
                       channel="inh", plasticity=HOMEOSTATIC)
    net.monitor_spikes("exc")
    net.monitor_state("exc", ["v", "syn_exc"], indices=[0, 7, 33])
    return net, feed, recurrent


@pytest.mark.parametrize("backend", ["numba", "torch"])
def test_backends_are_bitwise_equal_with_plasticity(backend):
    net, feed, recurrent = plastic_network()
    ref = snn.run(net, 0.15, backend="reference", rng=3)
    fast = snn.run(net, 0.15, backend=backend, rng=3)
    assert ref.spikes["exc"].count > 100
    assert np.array_equal(ref.spikes["exc"].times, fast.spikes["exc"].times)
    assert np.array_equal(ref.spikes["exc"].indices, fast.spikes["exc"].indices)
    for var in ("v", "syn_exc"):
        assert np.array_equal(ref.traces["exc"][var], fast.traces["exc"][var])
    for proj in (feed, recurrent):
        assert not np.array_equal(ref.weights(proj), proj.weights)  # they learned
    for index in (0, 1, 3):
        for a, b in zip(ref.state.synapses[index], fast.state.synapses[index]):
            assert np.array_equal(a, b)
    assert not np.array_equal(ref.state.synapses[3].weights, net.projections[3].weights)
    assert ref.state.pending.shape[0] > 0  # delayed spikes still travelling at the end
    assert np.array_equal(ref.state.pending, fast.state.pending)
    assert np.array_equal(ref.state.ring, fast.state.ring)


@pytest.mark.parametrize("backend", ["reference", "numba", "torch"])
def test_a_run_continued_from_its_state_equals_one_long_run(backend):
    net, feed, recurrent = plastic_network(seed=1)
    # Poisson draws differ between one run and two, so drive the input from fixed spikes.
    rng = np.random.default_rng(2)
    times = np.sort(rng.uniform(0, 0.12, 4000))
    net.sources["input"] = snn.network.SpikeSource("input", 80, rng.integers(0, 80, 4000),
                                                   np.round(times / DT) * DT)
    whole = snn.run(net, 0.12, backend=backend)
    first = snn.run(net, 0.05, backend=backend)
    second = snn.run(net, 0.07, backend=backend, state=first.state)
    joined = np.concatenate([first.spikes["exc"].times, second.spikes["exc"].times])
    assert np.array_equal(np.round(joined / DT), np.round(whole.spikes["exc"].times / DT))
    for proj in (feed, recurrent, 3):
        assert np.array_equal(second.weights(proj), whole.weights(proj))
    assert np.array_equal(second.state.pending, whole.state.pending)


@pytest.mark.parametrize("rule", [RULE, dataclasses.replace(RULE, w_min=0.0, w_max=1e-3,
                                                              mu=0.7)])
def test_without_delays_the_engine_equals_stdp_csr_on_its_own_spikes(rule):
    rng = np.random.default_rng(4)
    n_pre, n_post, t_end = 40, 12, 0.2
    net = snn.Network(dt=DT)
    times = np.round(rng.uniform(0, t_end, 600) / DT) * DT
    idx = rng.integers(0, n_pre, 600)
    keep = np.unique(np.stack([idx, np.round(times / DT)]), axis=1, return_index=True)[1]
    net.add_spike_source("pre", n_pre, idx[keep], times[keep])
    net.add_poisson_source("drive", n_post, 300.0)
    net.add_population("post", n_post, DELTA_LIF)
    proj = net.connect("pre", "post", rng.uniform(0, 1e-3, (n_pre, n_post)), plasticity=rule)
    net.connect("drive", "post", 0.02, pre_indices=np.arange(n_post),
                post_indices=np.arange(n_post))
    net.monitor_spikes("post")
    result = snn.run(net, t_end, rng=0)
    n_steps = result.n_steps
    pre_raster = np.zeros((n_steps, n_pre), dtype=bool)
    pre_raster[np.round(times[keep] / DT).astype(int), idx[keep]] = True
    post_raster = np.zeros((n_steps, n_post), dtype=bool)
    post = result.spikes["post"]
    assert post.count > 50
    post_raster[np.round(post.times / DT).astype(int), post.indices] = True
    replay, _ = stdp_csr(pre_raster, post_raster, proj.indptr, proj.post_indices, proj.weights,
                         rule, DT)
    # The engine decays traces lazily (exp over the gap), the replay step by step.
    np.testing.assert_allclose(result.weights(proj), replay, rtol=1e-11, atol=1e-18)


@pytest.mark.slow
@pytest.mark.parametrize("mu", [0.0, 1.0])
def test_engine_stdp_equals_brian2_on_the_same_spike_times(mu):
    brian2 = pytest.importorskip("brian2", reason="Brian2 comes with the 'test' extra")
    net, feed, recurrent = plastic_network(seed=6)
    recurrent = dataclasses.replace(recurrent, plasticity=dataclasses.replace(
        recurrent.plasticity, mu=mu))
    net.projections[1] = recurrent
    result = snn.run(net, 0.2, rng=7)
    exc = result.spikes["exc"]
    # Brian2 gets the presynaptic spikes (the recurrent projection's are the recorded ones)
    # and the postsynaptic spikes as spike generators, and only computes the weights.
    brian2.start_scope()
    brian2.prefs.codegen.target = "numpy"
    brian2.defaultclock.dt = DT * brian2.second
    step = np.round(exc.times / DT).astype(int)
    pre_group = brian2.SpikeGeneratorGroup(60, exc.indices, step * DT * brian2.second)
    post_group = brian2.SpikeGeneratorGroup(60, exc.indices, step * DT * brian2.second)
    rule = recurrent.plasticity
    syn = brian2.Synapses(
        pre_group, post_group,
        model="""w : 1
                 dapre/dt = -apre / taupre : 1 (event-driven)
                 dapost/dt = -apost / taupost : 1 (event-driven)""",
        on_pre="""apre += 1
                  w = clip(w - a_minus * apost * ((w - w_min) / w_range)**mu, w_min, w_max)""",
        on_post="""apost += 1
                   w = clip(w + a_plus * apre * ((w_max - w) / w_range)**mu, w_min, w_max)""",
        namespace=dict(taupre=rule.tau_plus * brian2.second,
                       taupost=rule.tau_minus * brian2.second, a_plus=rule.a_plus,
                       a_minus=rule.a_minus, w_min=rule.w_min, w_max=rule.w_max,
                       w_range=rule.w_max - rule.w_min, mu=mu))
    pre = np.repeat(np.arange(60), np.diff(recurrent.indptr))
    syn.connect(i=pre, j=recurrent.post_indices)
    syn.w = recurrent.weights
    syn.delay = recurrent.delay_steps * DT * brian2.second
    brian2.Network(pre_group, post_group, syn).run(0.2 * brian2.second)
    ours = result.weights(recurrent)
    assert np.abs(ours - recurrent.weights).max() > 5 * rule.a_plus  # it learned
    np.testing.assert_allclose(ours, np.asarray(syn.w), rtol=1e-9, atol=1e-22)


def test_plasticity_errors_are_clear():
    net, proj, _ = pairing_network(np.arange(3), np.zeros(3, dtype=int))
    with pytest.raises(TypeError, match="plasticity must be an snn.plasticity.STDPParams"):
        net.connect("pre", "post", 0.0, pre_indices=[0], post_indices=[0], plasticity="stdp")
    with pytest.raises(ValueError, match=r"weights must lie within plasticity's \[w_min"):
        net.connect("pre", "post", 1.0, pre_indices=[0], post_indices=[0],
                    plasticity=dataclasses.replace(RULE, w_max=0.5))
    with pytest.raises(ValueError, match="w_min must be <= w_max"):
        STDPParams(w_min=1.0, w_max=0.0)
    with pytest.raises(ValueError, match="w_max must be a number"):
        STDPParams(w_max=float("nan"))
    with pytest.raises(ValueError, match="mu > 0 needs finite bounds"):
        STDPParams(mu=1.0)
    with pytest.raises(ValueError, match=r"STDPParams.mu must be >= 0"):
        STDPParams(mu=-1.0, w_min=0.0, w_max=1.0)
    cond = snn.Network(dt=DT)
    cond.add_spike_source("pre", 2, [0], [0.0])
    cond.add_population("post", 2, snn.LIFParams(synapses=snn.ConductanceSynapses()))
    with pytest.raises(ValueError, match="w_min must be >= 0 S"):
        cond.connect("pre", "post", np.zeros((2, 2)), plasticity=RULE)
    state = snn.run(net, 0.01).state
    with pytest.raises(ValueError, match="state.synapses has no entry for plastic projection"):
        snn.run(net, 0.01, state=dataclasses.replace(state, synapses={}))
    with pytest.raises(ValueError, match="state.pending holds an arrival"):
        snn.run(net, 0.01, state=dataclasses.replace(state, pending=np.array([[0, 1, 0]])))
    result = snn.run(net, 0.01)
    with pytest.raises(ValueError, match="projection must be a projection of the simulated"):
        result.weights(object())
    with pytest.raises(ValueError, match="projection must be an int <="):
        result.weights(5)


def test_static_networks_are_unchanged_by_the_plasticity_path():
    net, feed, recurrent = plastic_network(seed=8)
    static = snn.Network(dt=DT, max_delay=4e-3)
    static.populations.update(net.populations)
    static.sources.update(net.sources)
    static.projections = [dataclasses.replace(p, plasticity=None) for p in net.projections]
    static.spike_monitors = list(net.spike_monitors)
    frozen = dataclasses.replace(RULE, a_plus=0.0, a_minus=0.0)
    zero_rate = snn.Network(dt=DT, max_delay=4e-3)
    zero_rate.populations.update(net.populations)
    zero_rate.sources.update(net.sources)
    zero_rate.projections = [dataclasses.replace(p, plasticity=frozen) for p in net.projections]
    zero_rate.spike_monitors = list(net.spike_monitors)
    a = snn.run(static, 0.1, rng=1)
    b = snn.run(zero_rate, 0.1, rng=1)
    # A rule with zero amplitudes learns nothing: same spikes as the static network.
    assert np.array_equal(a.spikes["exc"].times, b.spikes["exc"].times)
    assert np.array_equal(b.weights(1), net.projections[1].weights)
    assert a.state.synapses == {} and a.state.pending.shape == (0, 3)


def test_arrival_queue_grows_when_many_plastic_spikes_arrive_at_once():
    # 100 inputs fire together twice onto 60 neurons: 6000 plastic arrivals in one step,
    # more than the queue's first capacity (4096).
    net = snn.Network(dt=DT, max_delay=2e-3)
    idx = np.tile(np.arange(100), 2)
    net.add_spike_source("burst", 100, idx, np.repeat([0.002, 0.004], 100))
    net.add_population("post", 60, DELTA_LIF)
    delays = np.random.default_rng(0).integers(0, 3, (100, 60)) * DT
    proj = net.connect("burst", "post", np.full((100, 60), 0.0005), delays=delays,
                       plasticity=RULE)
    net.monitor_spikes("post")
    ref = snn.run(net, 0.01, backend="reference")
    fast = snn.run(net, 0.01, backend="numba")
    assert ref.spikes["post"].count > 0
    batched = snn.run(net, 0.01, backend="torch")
    assert np.array_equal(ref.weights(proj), batched.weights(proj))
    assert np.array_equal(ref.spikes["post"].times, fast.spikes["post"].times)
    assert np.array_equal(ref.weights(proj), fast.weights(proj))


def test_trials_each_learn_from_the_initial_weights():
    net, feed, recurrent = plastic_network(seed=9)
    initial = feed.weights.copy()
    trials = snn.run_trials(net, 0.05, 3, backend="numba", rng=4)
    single = snn.run(net, 0.05, rng=4)
    assert np.array_equal(trials[0].weights(feed), single.weights(feed))
    assert not np.array_equal(trials[1].weights(feed), trials[2].weights(feed))
    assert np.array_equal(feed.weights, initial)  # the network itself is untouched
    # The torch backend runs the trials as one batch, each learning on its own.
    batch = snn.run_trials(net, 0.05, 3, backend="torch", rng=4)
    for one, other in zip(trials, batch):
        assert np.array_equal(one.spikes["exc"].times, other.spikes["exc"].times)
        for proj in (feed, recurrent):
            assert np.array_equal(one.weights(proj), other.weights(proj))
        assert np.array_equal(one.state.pending, other.state.pending)


@pytest.mark.gpu
def test_cuda_learns_as_the_cpu_does():
    """On CUDA index_add_ adds in no fixed order: sums may differ in the last bits."""
    net, feed, recurrent = plastic_network(seed=11)
    cpu = snn.run_trials(net, 0.03, 2, backend="torch", rng=1)
    gpu = snn.run_trials(net, 0.03, 2, backend="torch", rng=1, device="cuda")
    for a, b in zip(cpu, gpu):
        np.testing.assert_array_equal(a.spikes["exc"].times, b.spikes["exc"].times)
        for proj in (feed, recurrent):
            np.testing.assert_allclose(b.weights(proj), a.weights(proj), rtol=1e-12,
                                       atol=1e-24)


def test_additive_stdp_splits_the_weights_and_multiplicative_stdp_does_not():
    # Song, Miller & Abbott (2000): additive STDP drives competing synapses to the bounds;
    # with weight dependence mu = 1 (van Rossum et al. 2000) they settle inside, unimodal.
    from snn.benchmark_networks import SONG2000, build_stdp_experiment

    shares = {}
    for mu in (0.0, 1.0):
        experiment = dataclasses.replace(SONG2000, rule=dataclasses.replace(SONG2000.rule, mu=mu))
        net, proj = build_stdp_experiment(experiment, 1, rng=0)
        w = snn.run(net, 60.0, rng=0).weights(proj) / SONG2000.rule.w_max
        shares[mu] = (np.mean(w < 0.1) + np.mean(w > 0.9), np.std(w))
    # Uniform initial weights: 20 % within 0.1 of a bound, standard deviation 0.29.
    assert shares[0.0][0] > 0.3 and shares[0.0][1] > 0.31  # piled at both bounds
    assert shares[1.0][0] < 0.05 and shares[1.0][1] < 0.15  # one bump inside


def test_a_run_in_progress_bar_chunks_equals_one_call():
    # With progress=True the compiled loop runs in chunks of steps; the learning state and
    # the arrival queue carry over between them.
    net, feed, recurrent = plastic_network(seed=10)
    whole = snn.run(net, 0.5, rng=2)
    chunked = snn.run(net, 0.5, rng=2, progress=True)
    assert np.array_equal(whole.spikes["exc"].times, chunked.spikes["exc"].times)
    for proj in (feed, recurrent):
        assert np.array_equal(whole.weights(proj), chunked.weights(proj))
    assert np.array_equal(whole.state.pending, chunked.state.pending)


@pytest.mark.parametrize("backend", ["reference", "numba", "torch"])
def test_drift_and_post_offset_equal_the_step_by_step_rule(backend):
    """Weights under drift and post_offset (taken lazily at each event) against the rule
    applied at every step from the run's own spikes: each step the weight drifts within the
    bounds, each spike of the target adds post_offset; a_plus = a_minus = 0."""
    rng = np.random.default_rng(5)
    n_pre, n_post = 6, 4
    net = snn.Network(dt=DT, max_delay=2e-3)
    net.add_spike_source("pre", n_pre, rng.integers(0, n_pre, 60), rng.uniform(0, 0.05, 60))
    net.add_population("post", n_post, snn.LIFParams(), v_init=np.full(n_post, -0.06))
    # Target 0 stays silent (its weights drift up to w_max), the others fire regularly.
    net.set_current("post", np.array([0.0, 1e-9, 2e-9, 4e-9]))
    pre, post = np.meshgrid(np.arange(n_pre), np.arange(n_post), indexing="ij")
    rule = dataclasses.replace(HOMEOSTATIC, drift=2e-9, post_offset=-2e-11, w_min=-1.5e-10)
    w0 = rng.uniform(-1e-10, -1e-11, pre.size)
    proj = net.connect("pre", "post", w0, pre_indices=pre.ravel(), post_indices=post.ravel(),
                       delays=rng.integers(1, 15, pre.size) * DT, channel="inh",
                       plasticity=rule)
    net.monitor_spikes("post")
    result = snn.run(net, 0.06, backend=backend, rng=1)
    post_steps = np.round(result.spikes["post"].times / DT).astype(int)
    assert post_steps.size > 20  # the targets spike, and the offsets reach the bounds
    learned = result.state.synapses[0]
    # Synapse k, in the projection's CSR order: target, initial weight, last event step.
    targets = proj.post_indices
    initial = proj.weights
    drift_step, offset = rule.drift * DT, rule.post_offset
    for k in range(targets.size):
        spikes = set(post_steps[result.spikes["post"].indices == targets[k]].tolist())
        w = initial[k]
        for step in range(1, int(learned.last_step[k]) + 1):
            w = min(max(w + drift_step, rule.w_min), rule.w_max)
            if step in spikes:
                w = min(max(w + offset, rule.w_min), rule.w_max)
        np.testing.assert_allclose(learned.weights[k], w, rtol=1e-9, atol=1e-22)
    assert np.any(learned.weights == rule.w_min) and np.any(learned.weights == rule.w_max)


def test_drift_and_post_offset_are_engine_only():
    rule = dataclasses.replace(RULE, drift=1.0)
    with pytest.raises(ValueError, match="engine's plastic projections only"):
        stdp_csr(np.zeros((2, 1), bool), np.zeros((2, 1), bool), np.array([0, 1]),
                 np.array([0]), np.zeros(1), rule, DT)
    with pytest.raises(ValueError, match="STDPParams.post_offset"):
        STDPParams(post_offset=float("nan"))
