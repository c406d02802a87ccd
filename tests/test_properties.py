"""Property-based checks over parameters and inputs (hypothesis)."""

import math

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import snn

from .helpers import single_neuron_network

times = st.floats(min_value=1e-3, max_value=100e-3)
voltages = st.floats(min_value=-80e-3, max_value=-40e-3)


@st.composite
def neuron_params(draw):
    kind = draw(st.sampled_from(["lif", "alif", "if", "coba"]))
    v_reset = draw(voltages)
    v_threshold = v_reset + draw(st.floats(min_value=2e-3, max_value=30e-3))
    common = dict(v_threshold=v_threshold, v_reset=v_reset,
                  tau_refractory=draw(st.floats(min_value=0.0, max_value=5e-3)),
                  reset=draw(st.sampled_from(["value", "subtract"])))
    syn = snn.CurrentSynapses(draw(times), draw(times))
    if kind == "if":
        return snn.IFParams(c_m=draw(st.floats(min_value=50e-12, max_value=500e-12)),
                            synapses=syn, **common)
    lif = dict(tau_m=draw(times), v_rest=draw(voltages),
               r_m=draw(st.floats(min_value=10e6, max_value=500e6)), **common)
    if kind == "coba":
        return snn.LIFParams(synapses=snn.ConductanceSynapses(draw(times), draw(times)), **lif)
    if kind == "alif":
        return snn.ALIFParams(synapses=syn, tau_adapt=draw(times),
                              threshold_increment=draw(st.floats(min_value=0.0, max_value=5e-3)),
                              **lif)
    return snn.LIFParams(synapses=syn, **lif)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(params=neuron_params(), current=st.floats(min_value=-0.2e-9, max_value=1e-9),
       delay=st.integers(min_value=0, max_value=30))
def test_numba_equals_reference_for_any_model(params, current, delay):
    net = single_neuron_network(params, current)
    net.add_population("m", 3, params)
    net.connect("n", "m", np.full((1, 3), 40e-12), delays=delay * net.dt)
    net.monitor_state("m", ["v", "syn_exc"])
    ref = snn.run(net, 0.03, backend="reference")
    fast = snn.run(net, 0.03, backend="numba")
    for pop in ref.traces:
        for var in ref.traces[pop]:
            assert np.array_equal(ref.traces[pop][var], fast.traces[pop][var]), (pop, var)
    np.testing.assert_array_equal(ref.spikes["n"].times, fast.spikes["n"].times)


@settings(max_examples=30, deadline=None)
@given(tau_m=times, tau_s=times, r_m=st.floats(min_value=10e6, max_value=500e6),
       v0=voltages, i_ext=st.floats(min_value=-1e-9, max_value=1e-9),
       i_syn=st.floats(min_value=-1e-9, max_value=1e-9),
       n=st.integers(min_value=1, max_value=200))
def test_subthreshold_lif_equals_closed_form(tau_m, tau_s, r_m, v0, i_ext, i_syn, n):
    """n steps of the model equal the analytic solution at t = n dt."""
    dt = 1e-4
    params = snn.LIFParams(tau_m=tau_m, v_rest=-65e-3, v_threshold=10.0, r_m=r_m,
                           synapses=snn.CurrentSynapses(tau_s, tau_s * 1.7 + 1e-4))
    c = snn.coeffs(params, dt)
    state = snn.NeuronState(v0, i_syn, 0.0, 0.0, 0.0)
    for _ in range(n):
        state, spike = snn.step_current(state, i_ext, c, snn.models.heaviside)
        assert spike == 0.0
    t = n * dt
    a = math.exp(-t / tau_m)
    if math.isclose(tau_s, tau_m, rel_tol=1e-12):
        syn_part = r_m * i_syn * (t / tau_m) * a
    else:
        syn_part = r_m * i_syn * tau_s / (tau_s - tau_m) * (math.exp(-t / tau_s) - a)
    expected = -65e-3 + (v0 + 65e-3) * a + r_m * i_ext * (1 - a) + syn_part
    assert math.isclose(state.v, expected, rel_tol=1e-9, abs_tol=1e-12)
    assert math.isclose(state.syn_exc, i_syn * math.exp(-t / tau_s), rel_tol=1e-9,
                        abs_tol=1e-30)


@settings(max_examples=25, deadline=None)
@given(params=neuron_params(), current=st.floats(min_value=0.0, max_value=2e-9))
def test_invariants_after_every_step(params, current):
    """Reset-to-value neurons never sit above threshold after a step; refractory counts stay
    within [0, refractory steps]; a refractory neuron keeps its potential."""
    res = snn.run(single_neuron_network(params, current), 0.05, backend="numba")
    v = res.traces["n"]["v"][:, 0]
    refr = res.traces["n"]["refractory"][:, 0]
    adaptation = res.traces["n"]["adaptation"][:, 0]
    max_refr = snn.models.refractory_steps(params.tau_refractory, 1e-4)
    assert np.all((refr >= 0) & (refr <= max_refr))
    if params.reset == "value":
        assert np.all(v[1:] <= params.v_threshold + adaptation[1:] + 1e-15)
    # A neuron starting a step with >= 2 refractory steps left is still clamped after the
    # countdown, so its potential does not move during that step.
    clamped = refr[:-1] >= 2
    assert np.all(v[1:][clamped] == v[:-1][clamped])


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(min_value=0, max_value=2**31 - 1),
       max_delay=st.integers(min_value=0, max_value=25),
       a_plus=st.floats(min_value=0.0, max_value=5e-11),
       a_minus=st.floats(min_value=0.0, max_value=5e-11),
       tau_plus=st.floats(min_value=1e-3, max_value=50e-3),
       tau_minus=st.floats(min_value=1e-3, max_value=50e-3),
       bounded=st.booleans(), mu=st.sampled_from([0.5, 1.0, 2.0]))
def test_numba_equals_reference_for_any_stdp_network(seed, max_delay, a_plus, a_minus,
                                                      tau_plus, tau_minus, bounded, mu):
    from snn.plasticity import STDPParams

    rng = np.random.default_rng(seed)
    net = snn.Network(dt=1e-4, max_delay=max(max_delay, 1) * 1e-4)
    net.add_poisson_source("in", 20, rng.uniform(10, 200, 20))
    net.add_population("a", 12, snn.LIFParams(), v_init=rng.uniform(-65e-3, -50e-3, 12))
    rule = STDPParams(a_plus=a_plus, a_minus=a_minus, tau_plus=tau_plus, tau_minus=tau_minus,
                      **({"w_min": 0.0, "w_max": 4e-10, "mu": mu} if bounded else {}))
    pre, post = snn.network.random_pairs(20, 12, 0.5, rng)
    net.connect("in", "a", rng.uniform(0, 4e-10, pre.size), pre_indices=pre,
                post_indices=post, delays=rng.integers(0, max_delay + 1, pre.size) * 1e-4,
                plasticity=rule)
    pre, post = snn.network.random_pairs(12, 12, 0.3, rng)
    net.connect("a", "a", rng.uniform(0, 1e-10, pre.size), pre_indices=pre, post_indices=post,
                delays=rng.integers(0, max_delay + 1, pre.size) * 1e-4,
                plasticity=rule if rng.random() < 0.5 else None)
    net.monitor_spikes("a")
    ref = snn.run(net, 0.05, backend="reference", rng=seed)
    fast = snn.run(net, 0.05, backend="numba", rng=seed)
    np.testing.assert_array_equal(ref.spikes["a"].times, fast.spikes["a"].times)
    for index in range(2):
        assert np.array_equal(ref.weights(index), fast.weights(index))
    assert np.array_equal(ref.state.pending, fast.state.pending)
