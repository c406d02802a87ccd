"""Neuron models: parameter validation, exact integration, and equality with Brian2."""

import math

import numpy as np
import pytest

import snn
from snn.models import Coeffs, coeffs, heaviside, refractory_steps

from .helpers import single_neuron_network

DT = 1e-4
DURATION = 0.1

BRIAN2_CASES = {
    "lif_reset_to_value": (snn.LIFParams(tau_refractory=3e-3), 0.2e-9),
    "lif_reset_by_subtraction": (snn.LIFParams(reset="subtract", tau_refractory=0.0), 0.2e-9),
    "lif_slow_synapses": (snn.LIFParams(synapses=snn.CurrentSynapses(12e-3, 30e-3)), 0.17e-9),
    "alif": (snn.ALIFParams(tau_refractory=2e-3, threshold_increment=2e-3, tau_adapt=50e-3),
             0.25e-9),
    "alif_subtract": (snn.ALIFParams(reset="subtract", threshold_increment=1e-3), 0.22e-9),
    "coba_lif": (snn.LIFParams(synapses=snn.ConductanceSynapses()), 0.2e-9),
}


@pytest.mark.parametrize("case", sorted(BRIAN2_CASES))
@pytest.mark.parametrize("backend", ["numba", "reference"])
def test_single_neuron_matches_brian2(case, backend):
    """Traces equal Brian2's integration ('exact' for linear models, 'exponential_euler' for
    conductance synapses) to 1e-9 relative, and spikes fall on the same steps."""
    pytest.importorskip("brian2", reason="Brian2 comes with the 'test' extra")
    from snn.peers import brian2_models

    params, current = BRIAN2_CASES[case]
    peer = brian2_models.single_neuron_traces(params, current, DURATION, DT)
    ours = snn.run(single_neuron_network(params, current, weight=peer["stim_weight"]), DURATION,
                   backend=backend)
    assert peer["spike_times"].size >= 2, "the case must exercise threshold and reset"
    np.testing.assert_array_equal(np.rint(ours.spikes["n"].times / DT),
                                  np.rint(peer["spike_times"] / DT))
    names = {"v": "v", "syn_exc": "ie", "syn_inh": "ii", "adaptation": "a"}
    for ours_name, peer_name in names.items():
        if peer_name not in peer:
            continue
        mine = ours.traces["n"][ours_name][:, 0]
        theirs = peer[peer_name]
        scale = np.max(np.abs(theirs))
        assert scale > 0
        np.testing.assert_allclose(mine, theirs, rtol=1e-9, atol=1e-9 * scale,
                                   err_msg=f"{case}: {ours_name}")


def _if_analytic(params, current, w, t_exc, t_inh, n_steps):
    """Non-leaky neuron: v(t) = v0 + I t / C + sum_k w tau (1 - exp(-(t - t_k)/tau)) / C,
    evaluated at step starts, with synaptic input starting one step after delivery."""
    t = np.arange(n_steps) * DT
    v = params.v_reset + current * t / params.c_m
    syn = params.synapses
    for t_k, tau, sign in ((t_exc, syn.tau_exc, 1.0), (t_inh, syn.tau_inh, 1.0)):
        start = (round(t_k / DT) + 1) * DT  # delivered at the end of the spike's step
        age = np.clip(t - start, 0.0, None)
        v = v + sign * w * tau * (1.0 - np.exp(-age / tau)) / params.c_m
    return v


def test_if_matches_closed_form():
    """Brian2's exact solver rejects non-leaky equations, so IF is checked against the
    analytic solution (below threshold)."""
    params = snn.IFParams(v_threshold=1.0)  # never reached: pure integration
    current, w = 0.1e-9, 50e-12
    res = snn.run(single_neuron_network(params, current, weight=w), DURATION, backend="numba")
    expected = _if_analytic(params, current, w, 0.0123, 0.0321, res.n_steps)
    np.testing.assert_allclose(res.traces["n"]["v"][:, 0], expected, rtol=1e-9)


def test_equal_time_constants_use_the_limit_solution():
    """tau_syn == tau_m (where Brian2's exact solver divides by zero): the response to a
    current I0 exp(-t/tau) is R I0 (t/tau) exp(-t/tau)."""
    tau, r_m, i0 = 8e-3, 100e6, 80e-12
    params = snn.LIFParams(tau_m=tau, v_rest=0.0, v_threshold=1.0, v_reset=0.0, r_m=r_m,
                           synapses=snn.CurrentSynapses(tau, tau))
    res = snn.run(single_neuron_network(params, 0.0, weight=i0, stim_times=(0.0, 1.0)), 0.05)
    t = res.times - DT  # the input reaches the neuron at the end of step 0
    expected = np.where(t > 0, r_m * i0 * (t / tau) * np.exp(-t / tau), 0.0)
    np.testing.assert_allclose(res.traces["n"]["v"][:, 0], expected, rtol=1e-9, atol=1e-18)


def test_coefficients_are_plain_floats_and_exact():
    c = coeffs(snn.LIFParams(), 1e-4)
    assert isinstance(c, Coeffs)
    assert all(isinstance(x, float) for x in c)
    assert c.decay_m == math.exp(-1e-4 / 20e-3)
    assert c.refractory_steps == 20.0
    assert refractory_steps(5e-3, 1e-4) == 50


def test_step_function_is_shared_by_scalars_arrays_and_tensors():
    torch = pytest.importorskip("torch")
    params = snn.ALIFParams(reset="subtract")
    c = coeffs(params, 1e-4)
    rng = np.random.default_rng(3)
    v = rng.uniform(-60e-3, -45e-3, 50)
    state = snn.NeuronState(v, rng.uniform(0, 1e-10, 50), -rng.uniform(0, 1e-10, 50),
                            rng.uniform(0, 2e-3, 50), np.floor(rng.uniform(0, 3, 50)))
    i_ext = rng.uniform(0, 3e-10, 50)
    new_np, spike_np = snn.step_current(state, i_ext, c, heaviside)
    tensors = snn.NeuronState(*(torch.from_numpy(x) for x in state))
    new_t, spike_t = snn.step_current(tensors, torch.from_numpy(i_ext), c, heaviside)
    for a, b in zip(new_np, new_t, strict=True):
        np.testing.assert_array_equal(a, b.numpy())
    np.testing.assert_array_equal(spike_np, spike_t.numpy())
    for k in range(0, 50, 7):  # Python scalars
        s = snn.NeuronState(*(float(x[k]) for x in state))
        new_s, spike_s = snn.step_current(s, float(i_ext[k]), c, heaviside)
        assert spike_s == spike_np[k]
        assert new_s.v == new_np.v[k]
    assert spike_np.sum() > 0


@pytest.mark.parametrize(
    "factory, message",
    [
        (lambda: snn.LIFParams(tau_m=0.0), "tau_m"),
        (lambda: snn.LIFParams(tau_m=-1e-3), "tau_m"),
        (lambda: snn.LIFParams(r_m=float("nan")), "r_m"),
        (lambda: snn.LIFParams(tau_refractory=-1e-3), "tau_refractory"),
        (lambda: snn.LIFParams(reset="zero"), "reset"),
        (lambda: snn.LIFParams(synapses="cuba"), "synapses"),
        (lambda: snn.CurrentSynapses(tau_exc=0.0), "tau_exc"),
        (lambda: snn.ConductanceSynapses(e_inh=float("inf")), "e_inh"),
        (lambda: snn.ALIFParams(tau_adapt=0.0), "tau_adapt"),
        (lambda: snn.ALIFParams(threshold_increment=-1e-3), "threshold_increment"),
        (lambda: snn.IFParams(c_m=-1.0), "c_m"),
        (lambda: snn.IFParams(synapses=snn.ConductanceSynapses()), "synapses"),
        (lambda: coeffs(snn.LIFParams(), 0.0), "dt"),
        (lambda: coeffs(snn.LIFParams(), -1e-4), "dt"),
        (lambda: coeffs("lif", 1e-4), "params"),
    ],
)
def test_bad_parameters_name_the_argument(factory, message):
    with pytest.raises((ValueError, TypeError), match=message):
        factory()


def test_params_are_frozen():
    params = snn.LIFParams()
    with pytest.raises(AttributeError):
        params.tau_m = 1.0  # type: ignore[misc]


@pytest.mark.parametrize("params", [snn.LIFParams(), snn.ALIFParams(), snn.IFParams(),
                                    snn.LIFParams(synapses=snn.ConductanceSynapses())],
                         ids=["lif", "alif", "if", "coba"])
def test_step_defaults_to_heaviside_and_math_exp(params):
    """Without spike_fn (and exp) the documented defaults apply: the same result as passing
    heaviside (and math.exp) for scalars, and numpy arrays with numpy.exp."""
    c = coeffs(params, DT)
    fire = snn.NeuronState(params.v_threshold + 1e-3, 1e-9, 0.0, 0.0, 0.0)
    rest = snn.NeuronState(params.v_reset, 1e-9, 0.0, 0.0, 0.0)
    for state in (fire, rest):
        expected = snn.step(state, 1e-10, c, heaviside, math.exp)
        assert snn.step(state, 1e-10, c) == expected
        assert snn.step(state, 1e-10, c, heaviside) == expected
        if c.conductance:
            assert snn.step_conductance(state, 1e-10, c) == expected
        else:
            assert snn.step_current(state, 1e-10, c) == expected
    assert snn.step(fire, 1e-10, c)[1] == 1.0 and snn.step(rest, 1e-10, c)[1] == 0.0
    arrays = snn.NeuronState(*(np.array([a, b]) for a, b in zip(fire, rest)))
    new, spike = snn.step(arrays, np.full(2, 1e-10), c, exp=np.exp)
    np.testing.assert_array_equal(spike, [1.0, 0.0])


@pytest.mark.parametrize("params", [
    snn.LIFParams(), snn.LIFParams(synapses=snn.ConductanceSynapses(), reset="subtract"),
    snn.ALIFParams(tau_refractory=3e-3), snn.IFParams(synapses=snn.DeltaSynapses())])
def test_coeffs_pack_into_a_row_and_unpack_alike_in_python_and_compiled_code(params):
    from numba import njit

    from snn.models import pack_coeffs, unpack_coeffs

    c = coeffs(params, DT)
    row = pack_coeffs(c)
    assert row.dtype == np.float64 and row.shape == (len(Coeffs._fields),)
    assert unpack_coeffs(row) == c and all(type(x) is float for x in unpack_coeffs(row))
    compiled = njit(lambda rows, i: unpack_coeffs(rows[i]))
    assert compiled(np.stack([np.zeros_like(row), row]), 1) == c
    with pytest.raises(ValueError, match="row must hold"):
        unpack_coeffs(row[:-1])
    with pytest.raises(TypeError, match="c must be Coeffs"):
        pack_coeffs(tuple(c))
