"""The same models and networks written in Brian2, for checks and benchmarks.

Brian2 is an optional dependency (extras ``test`` and ``bench``); import this module only
where it is installed.  Every builder takes the draws (connectivity, initial state) of
:mod:`snn.benchmark_networks` so both simulators start from the same network.
"""

from __future__ import annotations

import numpy as np

from ..benchmark_networks import BenchmarkSpec
from ..models import ALIFParams, ConductanceSynapses, IFParams


def _b2():
    import brian2

    return brian2


def neuron_equations(params) -> tuple[str, dict, str, str, str]:
    """Brian2 equations, namespace, threshold, reset and method for one of our models.

    External input ``I`` (A) is a per-neuron parameter.  Returns SI-valued namespace
    entries with Brian2 units attached.
    """
    b2 = _b2()
    V, s, ohm, F = b2.volt, b2.second, b2.ohm, b2.farad
    syn = params.synapses
    ns = {"tau_e": syn.tau_exc * s, "tau_i": syn.tau_inh * s,
          "v_th": params.v_threshold * V, "v_reset": params.v_reset * V}
    if isinstance(params, IFParams):
        ns["C"] = params.c_m * F
        eqs = """
        dv/dt = (I + ie + ii) / C : volt (unless refractory)
        die/dt = -ie / tau_e : amp
        dii/dt = -ii / tau_i : amp
        I : amp
        """
        method = "exact"
    elif isinstance(syn, ConductanceSynapses):
        ns.update(tau_m=params.tau_m * s, v_rest=params.v_rest * V, R=params.r_m * ohm,
                  E_e=syn.e_exc * V, E_i=syn.e_inh * V)
        eqs = """
        dv/dt = ((v_rest - v) + R * (ie * (E_e - v) + ii * (E_i - v) + I)) / tau_m
                : volt (unless refractory)
        die/dt = -ie / tau_e : siemens
        dii/dt = -ii / tau_i : siemens
        I : amp
        """
        method = "exponential_euler"
    else:
        ns.update(tau_m=params.tau_m * s, v_rest=params.v_rest * V, R=params.r_m * ohm)
        eqs = """
        dv/dt = ((v_rest - v) + R * (I + ie + ii)) / tau_m : volt (unless refractory)
        die/dt = -ie / tau_e : amp
        dii/dt = -ii / tau_i : amp
        I : amp
        """
        method = "exact"
    threshold = "v > v_th"
    if isinstance(params, ALIFParams):
        ns.update(tau_a=params.tau_adapt * s, d_th=params.threshold_increment * V)
        eqs += "\n        da/dt = -a / tau_a : volt\n"
        threshold = "v > v_th + a"
        reset_v = "v = v - (v_th + a - v_reset)" if params.reset == "subtract" else "v = v_reset"
        reset = reset_v + "\na += d_th"
    else:
        reset = "v = v - (v_th - v_reset)" if params.reset == "subtract" else "v = v_reset"
    return eqs, ns, threshold, reset, method


def neuron_group(params, n: int, dt: float, name: str = "neurons"):
    b2 = _b2()
    eqs, ns, threshold, reset, method = neuron_equations(params)
    return b2.NeuronGroup(n, eqs, threshold=threshold, reset=reset,
                          refractory=params.tau_refractory * b2.second, method=method,
                          namespace=ns, dt=dt * b2.second, name=name)


def single_neuron_traces(params, current: float, duration: float, dt: float,
                         v_init: float | None = None) -> dict[str, np.ndarray]:
    """Run one neuron driven by a constant ``current`` (A) and one excitatory and one
    inhibitory input spike; returns traces (sampled at step starts) and spike times."""
    b2 = _b2()
    b2.start_scope()
    b2.prefs.codegen.target = "numpy"
    group = neuron_group(params, 1, dt)
    group.I = current * b2.amp
    group.v = (v_init if v_init is not None else
               (params.v_reset if isinstance(params, IFParams) else params.v_rest)) * b2.volt
    unit = b2.siemens if isinstance(params.synapses, ConductanceSynapses) else b2.amp
    w = 2e-9 if unit is b2.siemens else 50e-12
    stim = b2.SpikeGeneratorGroup(2, [0, 1], [0.0123, 0.0321] * b2.second, dt=dt * b2.second)
    syn_e = b2.Synapses(stim, group, on_pre=f"ie_post += {w!r}*{unit.name}", dt=dt * b2.second)
    syn_e.connect(i=0, j=0)
    syn_i = b2.Synapses(stim, group, on_pre=f"ii_post += {w!r}*{unit.name}", dt=dt * b2.second)
    syn_i.connect(i=1, j=0)
    variables = ["v", "ie", "ii"] + (["a"] if isinstance(params, ALIFParams) else [])
    mon = b2.StateMonitor(group, variables, record=0, dt=dt * b2.second)
    spikes = b2.SpikeMonitor(group)
    net = b2.Network(group, stim, syn_e, syn_i, mon, spikes)
    net.run(duration * b2.second)
    out = {var: np.asarray(getattr(mon, var + "_")[0]) for var in variables}
    out["spike_times"] = np.asarray(spikes.t_)
    out["stim_weight"] = w
    return out


def benchmark_network(spec: BenchmarkSpec, n_neurons: int, dt: float,
                      connectivity: tuple[np.ndarray, np.ndarray],
                      initial: dict[str, np.ndarray]):
    """Brian2 objects for the benchmark: (group, synapses_e, synapses_i, spike_monitor)."""
    b2 = _b2()
    group = neuron_group(spec.params, n_neurons, dt, name="P")
    group.v = initial["v"] * b2.volt
    unit = b2.siemens if isinstance(spec.params.synapses, ConductanceSynapses) else b2.amp
    if "syn_exc" in initial:
        group.ie = initial["syn_exc"] * unit
        group.ii = initial["syn_inh"] * unit
    n_exc = int(round(spec.exc_fraction * n_neurons))
    pre, post = connectivity
    exc = pre < n_exc
    syn_e = b2.Synapses(group, group, on_pre=f"ie_post += {spec.w_exc!r}*{unit.name}",
                        dt=dt * b2.second, name="syn_e")
    syn_e.connect(i=pre[exc], j=post[exc])
    syn_i = b2.Synapses(group, group, on_pre=f"ii_post += {spec.w_inh!r}*{unit.name}",
                        dt=dt * b2.second, name="syn_i")
    syn_i.connect(i=pre[~exc], j=post[~exc])
    mon = b2.SpikeMonitor(group, name="spikes")
    return group, syn_e, syn_i, mon
