"""The neuron-model API and the models built on it: every backend runs any declared model
bit for bit alike, each model equals Brian2 with the same equations and scheme, and every
preset fires its named pattern."""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass, field
from typing import NamedTuple

import numpy as np
import pytest

import snn
from snn.neurons import (
    ADEX_PRESETS,
    IZHIKEVICH_PRESETS,
    AdExParams,
    HodgkinHuxleyParams,
    IzhikevichParams,
    adex_preset,
    classify_firing,
    izhikevich_preset,
    largest_stable_dt,
)
from snn.synapses import (
    AlphaConductanceSynapses,
    AlphaCurrentSynapses,
    ConductanceSynapses,
    CurrentSynapses,
    decay_synapses,
    synapse_coeffs,
    synaptic_current,
)

DT = 1e-4


# A user-defined model, as a script would declare it: the quadratic integrate-and-fire
# neuron (Latham et al. 2000) with exponential current synapses, forward Euler.
@dataclass(frozen=True)
class QIFParams:
    tau_m: float = 10e-3
    v_rest: float = -65e-3
    v_critical: float = -50e-3
    v_peak: float = 0.0
    v_reset: float = -70e-3
    r_m: float = 100e6
    synapses: CurrentSynapses = field(default_factory=CurrentSynapses)


class QIFCoeffs(NamedTuple):
    dt_over_tau: float
    v_rest: float
    v_critical: float
    sharpness: float
    v_peak: float
    v_reset: float
    r_m: float
    syn_decay_exc: float
    syn_decay_inh: float
    syn_rise_exc: float
    syn_rise_inh: float
    syn_drive_exc: float
    syn_drive_inh: float
    syn_conductance: float


def qif_coeffs(p: QIFParams, dt: float) -> QIFCoeffs:
    return QIFCoeffs(dt / p.tau_m, p.v_rest, p.v_critical, 1.0 / (p.v_critical - p.v_rest),
                     p.v_peak, p.v_reset, p.r_m, *synapse_coeffs(p.synapses, dt))


def qif_step(state, i_ext, c, spike_fn, exp):
    v = state.v
    drive = c.sharpness * (v - c.v_rest) * (v - c.v_critical) + c.r_m * (
        i_ext + synaptic_current(state, v, c))
    v_new = v + c.dt_over_tau * drive
    spike = spike_fn(v_new - c.v_peak)
    v_new = spike * c.v_reset + (1.0 - spike) * v_new
    return (v_new,) + decay_synapses(state, c), spike


QIF = snn.define_model("QIF", QIFParams, state=[("v", "V", "v_rest"), ("syn_exc", "A"),
                                                ("syn_inh", "A")],
                       coeffs=qif_coeffs, step=qif_step)


def _weight(params) -> float:
    synapses = params.synapses
    if isinstance(synapses, (ConductanceSynapses, AlphaConductanceSynapses)):
        return 3e-9
    return {IzhikevichParams: 4e-12, AdExParams: 150e-12}.get(type(params), 60e-12)


def _all_models_network() -> snn.Network:
    """One population of every model and synapse kind (one compiled loop for all), driven by
    Poisson inputs through delayed synapses, a noisy current and recurrent connections."""
    populations = {"qif": QIFParams(), "lif_alpha": snn.LIFParams(
        synapses=AlphaCurrentSynapses()), "alif_alpha_g": snn.ALIFParams(
        synapses=AlphaConductanceSynapses()), "if_alpha": snn.IFParams(
        synapses=AlphaCurrentSynapses())}
    currents = {"qif": 0.1e-9, "lif_alpha": 0.2e-9, "alif_alpha_g": 0.2e-9, "if_alpha": 0.05e-9}
    for kind in (CurrentSynapses, ConductanceSynapses, AlphaCurrentSynapses,
                 AlphaConductanceSynapses):
        name = kind.__name__.removesuffix("Synapses").lower()
        populations[f"adex_{name}"] = adex_preset("adapting", kind())[0]
        currents[f"adex_{name}"] = 400e-12
        populations[f"izh_{name}"] = izhikevich_preset("chattering", kind())
        currents[f"izh_{name}"] = 6e-12
        populations[f"hh_{name}"] = HodgkinHuxleyParams(synapses=kind())
        currents[f"hh_{name}"] = 0.15e-9
    net = snn.Network(dt=DT, max_delay=3e-3)
    net.add_poisson_source("drive", 40, 80.0)
    rng = np.random.default_rng(5)
    for k, (name, params) in enumerate(populations.items()):
        net.add_population(name, 6, params)
        w = _weight(params)
        net.connect_random("drive", name, 0.3, w, delays=1e-3, rng=k)
        inhibitory = w if params.synapses.__class__.__name__.startswith(
            ("Conductance", "AlphaConductance")) else -w
        net.connect_random("drive", name, 0.2, inhibitory, delays=2e-3, channel="inh",
                           rng=100 + k)
        net.connect_random(name, name, 0.3, w, delays=0.5e-3, rng=200 + k)
        net.set_current(name, currents[name] * (1 + 0.3 * rng.standard_normal((400, 6))))
        net.monitor_state(name, "v")
    net.monitor_spikes()
    return net


@pytest.mark.slow
def test_every_backend_runs_every_model_bit_for_bit():
    """The built-in models with every synapse kind and a model declared in this file run on
    the numba and torch backends exactly as on the reference backend (float64)."""
    net = _all_models_network()
    results = {b: snn.run(net, 0.04, backend=b, rng=1) for b in ("reference", "numba", "torch")}
    ref = results["reference"]
    assert sum(len(ref.spikes[n].times) for n in net.populations) > 200
    for name in net.populations:
        assert len(ref.spikes[name].times) > 0, name
    for backend in ("numba", "torch"):
        out = results[backend]
        for name in net.populations:
            np.testing.assert_array_equal(out.traces[name]["v"], ref.traces[name]["v"],
                                          err_msg=f"{backend} {name}")
            np.testing.assert_array_equal(out.spikes[name].times, ref.spikes[name].times)
            for a, b in zip(out.state.neurons[name], ref.state.neurons[name]):
                np.testing.assert_array_equal(a, b)


def test_user_model_follows_its_equation_on_the_reference_backend():
    """The declared QIF neuron, run by the engine, equals a direct loop over its equation."""
    net = snn.Network(dt=DT)
    net.add_population("q", 2, QIFParams())
    current = np.array([0.05e-9, 0.2e-9])
    net.set_current("q", current)
    net.monitor_state("q", "v")
    net.monitor_spikes()
    out = snn.run(net, 0.05, backend="reference")
    p = QIFParams()
    v = np.full(2, p.v_rest)
    expected = []
    for _ in range(500):
        expected.append(v.copy())
        v = v + DT / p.tau_m * ((v - p.v_rest) * (v - p.v_critical) / (p.v_critical - p.v_rest)
                                + p.r_m * current)
        v = np.where(v > p.v_peak, p.v_reset, v)
    np.testing.assert_allclose(out.traces["q"]["v"], np.array(expected), rtol=0, atol=1e-15)
    assert len(out.spikes["q"].times) > 0


def test_models_map_state_and_inputs_to_engine_rows():
    model = snn.model_of(AdExParams(synapses=AlphaCurrentSynapses()))
    assert model.state_names == ("v", "w", "refractory", "syn_exc", "syn_inh", "rise_exc",
                                 "rise_inh")
    assert model.units["w"] == "A" and model.units["rise_exc"] == "A"
    rows = dict(zip(model.state_names, model.engine_rows))
    assert (rows["rise_exc"], rows["rise_inh"], rows["v"]) == (1, 2, 0)
    lif = snn.model_of(snn.LIFParams())
    assert lif.engine_rows == (0, 1, 2, 3, 4)


def test_compile_key_follows_the_model_code():
    def other_step(state, i_ext, c, spike_fn, exp):
        v = state.v + 2.0 * c.dt_over_tau
        spike = spike_fn(v - c.v_peak)
        return (v,) + decay_synapses(state, c), spike

    other = snn.define_model("QIF", QIFParams, state=[("v", "V", "v_rest"), ("syn_exc", "A"),
                                                      ("syn_inh", "A")],
                             coeffs=qif_coeffs, step=other_step, register=False)
    assert other.key != QIF.key
    assert QIF.key == snn.define_model(
        "QIF", QIFParams, state=QIF.state, coeffs=qif_coeffs, step=qif_step,
        register=False).key


# ---------------------------------------------------------------- against Brian2

def _brian2_case(params, base_current, seed=0, n_steps=3000):
    pytest.importorskip("brian2", reason="Brian2 comes with the 'test' extra")
    from snn.peers.brian2_neurons import run_single_neurons

    rng = np.random.default_rng(seed)
    n = 3
    current = base_current * (1 + 0.5 * rng.standard_normal((n_steps, n)))
    current[:200] = 0.0  # a step at 20 ms, with noise recorded once
    k = 40
    times = np.round(rng.uniform(0, n_steps * DT * 0.9, k) / DT) * DT
    targets = rng.integers(0, n, k)
    channel = rng.integers(0, 2, k)
    conductance = isinstance(params.synapses, (ConductanceSynapses, AlphaConductanceSynapses))
    w = rng.uniform(1, 5, k) * _weight(params) / 2
    if not conductance:
        w = np.where(channel == 1, -w, w)
    v_brian2, trains = run_single_neurons(params, current, DT, (times, targets, w), channel)
    net = snn.Network(dt=DT)
    net.add_population("n", n, params)
    net.add_spike_source("s", k, np.arange(k), times)
    for c, name in enumerate(("exc", "inh")):
        sel = channel == c
        net.connect("s", "n", w[sel], pre_indices=np.flatnonzero(sel), post_indices=targets[sel],
                    channel=name)
    net.set_current("n", current)
    net.monitor_spikes()
    net.monitor_state("n", "v")
    out = snn.run(net, n_steps * DT, backend="reference")
    ours = [out.spikes["n"].times[out.spikes["n"].indices == i] for i in range(n)]
    return out.traces["n"]["v"], v_brian2, ours, trains


@pytest.mark.slow
@pytest.mark.parametrize("params, current", [
    (adex_preset("adapting")[0], 500e-12),
    (adex_preset("tonic", AlphaConductanceSynapses())[0], 500e-12),
    (adex_preset("initial_burst", ConductanceSynapses())[0], 400e-12),
    (izhikevich_preset("regular_spiking"), 10e-12),
    (izhikevich_preset("chattering", AlphaCurrentSynapses()), 10e-12),
    (izhikevich_preset("fast_spiking", ConductanceSynapses()), 10e-12),
    (HodgkinHuxleyParams(), 0.3e-9),
    (HodgkinHuxleyParams(synapses=ConductanceSynapses()), 0.3e-9),
    (HodgkinHuxleyParams(synapses=AlphaConductanceSynapses()), 0.3e-9),
], ids=["adex", "adex-alpha-g", "adex-g", "izh", "izh-alpha", "izh-g", "hh", "hh-g",
        "hh-alpha-g"])
def test_model_equals_brian2_with_the_same_equations_and_scheme(params, current):
    """Single neurons under a noisy current step and input spikes: the same membrane
    potential as Brian2 to 1e-9 V at every step, and the same spikes."""
    v, v_brian2, ours, theirs = _brian2_case(params, current)
    assert np.abs(v - v_brian2).max() < 1e-9
    assert sum(len(t) for t in ours) >= 3
    for a, b in zip(ours, theirs):
        np.testing.assert_allclose(a, b, atol=DT / 10, rtol=0)


# ---------------------------------------------------------------- firing patterns

def _step_response(params_list, currents, duration=0.7, onset=0.1, extra=None):
    """Spike times of one neuron per parameter set under a step current from ``onset``."""
    net = snn.Network(dt=DT)
    n_steps = int(round(duration / DT))
    for k, (params, current) in enumerate(zip(params_list, currents)):
        net.add_population(f"p{k}", 1, params)
        drive = np.zeros((n_steps, 1))
        drive[int(round(onset / DT)):] = current
        net.set_current(f"p{k}", drive if extra is None else extra(drive, current))
    net.monitor_spikes()
    out = snn.run(net, duration, backend="numba")
    return [out.spikes[f"p{k}"].times for k in range(len(params_list))]


def test_adex_presets_fire_the_patterns_of_naud_2008():
    names = list(ADEX_PRESETS)
    trains = _step_response([ADEX_PRESETS[n][0] for n in names],
                            [ADEX_PRESETS[n][1] for n in names])
    found = {n: classify_firing(t, 0.1, 0.6) for n, t in zip(names, trains)}
    assert found == {n: n for n in names}


def test_izhikevich_presets_fire_the_classes_of_izhikevich_2003():
    names = list(IZHIKEVICH_PRESETS)
    trains = _step_response([IZHIKEVICH_PRESETS[n] for n in names], [10e-12] * len(names))
    found = {n: classify_firing(t, 0.1, 0.6) for n, t in zip(names[:5], trains[:5])}
    # Regular spiking and low-threshold spiking adapt; intrinsic bursting starts with a
    # burst; chattering bursts; fast spiking keeps its rate.
    assert found == {"regular_spiking": "adapting", "intrinsically_bursting": "initial_burst",
                     "chattering": "bursting", "fast_spiking": "tonic",
                     "low_threshold_spiking": "adapting"}
    rates = {n: np.sum(t > 0.4) / 0.3 for n, t in zip(names, trains)}
    assert rates["fast_spiking"] > 100 and rates["low_threshold_spiking"] > 50
    assert rates["regular_spiking"] < 40


def test_thalamo_cortical_preset_bursts_on_release_from_hyperpolarisation():
    """Izhikevich 2003, Fig. 2 (TC): a rebound burst after a hyperpolarising step; the
    regular-spiking and fast-spiking cells stay silent."""
    names = ["thalamo_cortical", "regular_spiking", "fast_spiking"]

    def hyperpolarise(drive, current):
        drive[:] = 0.0
        drive[1000:3000] = -10e-12  # 100 ms to 300 ms
        return drive

    trains = _step_response([IZHIKEVICH_PRESETS[n] for n in names], [0.0] * 3, duration=0.45,
                            extra=hyperpolarise)
    rebound = [t[(t >= 0.3) & (t < 0.35)] for t in trains]
    assert len(rebound[0]) >= 2 and np.diff(rebound[0]).max() < 15e-3
    assert len(rebound[1]) == 0 and len(rebound[2]) == 0


def test_resonator_preset_rings_after_a_small_pulse():
    """Izhikevich 2003, Fig. 2 (RZ): damped subthreshold oscillations; the first undershoot
    after a small pulse exceeds a quarter of the peak, far more than the other classes."""
    undershoot = {}
    for name in ("resonator", "regular_spiking", "fast_spiking", "low_threshold_spiking"):
        net = snn.Network(dt=DT)
        net.add_population("n", 1, IZHIKEVICH_PRESETS[name])
        drive = np.zeros((5000, 1))
        drive[3000:3010] = 2e-12  # 1 ms pulse after 300 ms at rest
        net.set_current("n", drive)
        net.monitor_state("n", "v")
        net.monitor_spikes()
        out = snn.run(net, 0.5, backend="reference")
        v = out.traces["n"]["v"][:, 0]
        rest = v[2999]
        after = v[3010:]
        assert len(out.spikes["n"].times[out.spikes["n"].times > 0.3]) == 0
        undershoot[name] = (rest - after.min()) / (after.max() - rest)
    assert undershoot["resonator"] > 0.25
    assert max(undershoot[n] for n in undershoot if n != "resonator") < 0.15


# ---------------------------------------------------------------- bad input

def test_step_reading_an_undeclared_name_is_refused_at_declaration():
    def step(state, i_ext, c, spike_fn, exp):
        return (state.v + state.current,), spike_fn(state.v)

    with pytest.raises(ValueError, match="state.current"):
        snn.define_model("Bad", QIFParams, state=[("v", "V"), ("syn_exc", "A"),
                                                  ("syn_inh", "A")],
                         coeffs=qif_coeffs, step=step, register=False)


def test_state_variable_without_unit_is_refused():
    with pytest.raises(ValueError, match="must have a unit"):
        snn.define_model("Bad", QIFParams, state=["v", ("syn_exc", "A"), ("syn_inh", "A")],
                         coeffs=qif_coeffs, step=qif_step, register=False)
    with pytest.raises(ValueError, match="must have a unit"):
        snn.StateVariable("v", "")


def test_step_returning_the_wrong_number_of_fields_is_refused_before_compiling():
    def short_step(state, i_ext, c, spike_fn, exp):
        return (state.v, state.syn_exc), spike_fn(state.v - c.v_peak)

    model = snn.define_model("Short", QIFParams, state=QIF.state, coeffs=qif_coeffs,
                             step=short_step, register=False)
    net = snn.Network(dt=DT)
    net.add_population("n", 2, QIFParams(), model=model)
    with pytest.raises(ValueError, match="returns 2 state fields, the model declares 3"):
        snn.run(net, 0.001, backend="numba")


def test_unknown_params_type_names_the_registered_models():
    @dataclass(frozen=True)
    class Unregistered:
        x: float = 1.0

    net = snn.Network()
    with pytest.raises(TypeError, match="registered neuron model"):
        net.add_population("n", 2, Unregistered())


def test_bad_model_parameters_are_refused():
    with pytest.raises(ValueError, match="AdExParams.delta_t"):
        AdExParams(delta_t=0.0)
    with pytest.raises(ValueError, match="v_peak"):
        AdExParams(v_peak=-60e-3)
    with pytest.raises(ValueError, match="HodgkinHuxleyParams.g_na"):
        HodgkinHuxleyParams(g_na=-1.0)
    with pytest.raises(TypeError, match="IzhikevichParams.synapses"):
        IzhikevichParams(synapses=snn.DeltaSynapses())
    with pytest.raises(ValueError, match="name"):
        adex_preset("chaotic")


def test_hodgkin_huxley_warns_above_its_largest_stable_step():
    """The Traub-Miles neuron is faithful up to 0.1 ms (the step of Brian2's COBAHH example);
    a larger step warns and names that bound."""
    params = HodgkinHuxleyParams()
    assert largest_stable_dt(params) == pytest.approx(1e-4)
    net = snn.Network(dt=0.2e-3)
    net.add_population("n", 1, params)
    with pytest.warns(RuntimeWarning, match=r"largest stable step .* 0\.0001 s"):
        snn.run(net, 0.002, backend="reference")
    net = snn.Network(dt=0.1e-3)
    net.add_population("n", 1, params)
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        snn.run(net, 0.002, backend="reference")


def test_alpha_synapse_peaks_at_its_weight_after_tau():
    """A spike of weight w gives w (t / tau) exp(1 - t / tau): peak w at t = tau."""
    tau = 5e-3
    net = snn.Network(dt=DT)
    net.add_population("n", 1, snn.LIFParams(synapses=AlphaCurrentSynapses(tau_exc=tau),
                                             v_threshold=1.0))
    net.add_spike_source("s", 1, [0], [0.0])
    net.connect("s", "n", [[1e-9]])
    net.monitor_state("n", "syn_exc")
    out = snn.run(net, 0.03, backend="reference")
    g = out.traces["n"]["syn_exc"][:, 0]
    t = (np.arange(g.size) - 1) * DT  # the weight arrives at the end of step 0
    expected = np.where(t > 0, 1e-9 * (t / tau) * np.exp(1 - t / tau), 0.0)
    np.testing.assert_allclose(g, expected, atol=1e-21, rtol=1e-12)
    assert t[np.argmax(g)] == pytest.approx(tau, abs=DT / 2)
    assert math.isclose(g.max(), 1e-9, rel_tol=1e-6)


_CACHE_SCRIPT = """
import sys
from dataclasses import dataclass
from typing import NamedTuple
import snn
from snn.backends import numba_backend as nb


@dataclass(frozen=True)
class LeakParams:
    tau: float = 10e-3
    v_threshold: float = 1.0


class LeakCoeffs(NamedTuple):
    decay: float
    v_threshold: float


def leak_coeffs(p, dt):
    return LeakCoeffs(1.0 - dt / p.tau, p.v_threshold)


def leak_step(state, i_ext, c, spike_fn, exp):
    v = state.v * c.decay + i_ext * SCALE
    spike = spike_fn(v - c.v_threshold)
    return (v * (1.0 - spike), state.syn_exc, state.syn_inh), spike


snn.define_model("Leak", LeakParams, state=[("v", "1"), ("syn_exc", "1"), ("syn_inh", "1")],
                 coeffs=leak_coeffs, step=leak_step)
net = snn.Network()
net.add_population("n", 3, LeakParams())
net.set_current("n", 1.0)
net.monitor_spikes()
out = snn.run(net, 0.01)
(loop,) = [l for l in nb._LOOPS.values() if len(l.kinds) == 3]
print(len(out.spikes["n"].times), bool(loop.kernel.stats.cache_hits))
"""


@pytest.mark.slow
def test_compiled_loop_of_a_user_model_is_cached_and_keyed_on_its_code(tmp_path):
    """A second process with the same model loads its compiled loop from disk; a change to
    the step's code (a constant here) compiles anew, with the new behaviour."""
    import os
    import subprocess
    import sys

    env = dict(os.environ, SNNSIM_CACHE_DIR=str(tmp_path))

    def run(scale: str) -> list[str]:
        script = _CACHE_SCRIPT.replace("SCALE", scale)
        done = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True,
                              text=True, check=True, timeout=600)
        return done.stdout.split()

    first, second, changed = run("0.25"), run("0.25"), run("0.5")
    assert first[1] == "False" and second == [first[0], "True"]
    assert changed[1] == "False" and int(changed[0]) > int(first[0])


def test_networks_and_states_of_any_model_pickle_by_reference():
    import pickle

    net = snn.Network(dt=DT)
    net.add_population("izh", 2, IzhikevichParams())
    net.add_population("qif", 2, QIFParams())
    out = snn.run(net, 0.002, backend="reference")
    back = pickle.loads(pickle.dumps(net))
    assert back.populations["izh"].model is net.populations["izh"].model
    assert back.populations["qif"].model is QIF
    state = pickle.loads(pickle.dumps(out.state))
    np.testing.assert_array_equal(state.neurons["izh"].u, out.state.neurons["izh"].u)
    assert type(state.neurons["qif"]) is QIF.state_type
