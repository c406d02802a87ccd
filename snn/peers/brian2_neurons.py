"""The neuron models of :mod:`snn.neurons` written in Brian2, for checks and benchmarks.

The membrane equations are Brian2 equations integrated by the same scheme as ours (``euler``
for AdEx and Izhikevich, ``exponential_euler`` for Hodgkin-Huxley).  The synaptic variables
are parameters that a ``run_regularly`` operation advances exactly after the state update
(the exact solution of their linear equations, as :mod:`snn.synapses` does); input spikes
add their weight to the kind's input variable in Brian2's ``synapses`` slot.  That is the
order of our engine's step, so both integrate the same arithmetic.

Brian2 is an optional dependency (extras ``test`` and ``bench``); import this module only
where it is installed.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..neurons import AdExParams, HodgkinHuxleyParams, IzhikevichParams
from ..synapses import ALPHA_KINDS, CONDUCTANCE_KINDS

__all__ = ["neuron_group", "run_single_neurons"]


def _b2():
    import brian2

    return brian2


def _synapse_parts(synapses: Any) -> tuple[str, str, str, dict, str]:
    """(equations, current expression, the decay code, namespace, input variables suffix)."""
    b2 = _b2()
    unit = "siemens" if isinstance(synapses, CONDUCTANCE_KINDS) else "amp"
    ns = {"tau_syn_e": synapses.tau_exc * b2.second, "tau_syn_i": synapses.tau_inh * b2.second}
    eqs = f"syn_exc : {unit}\nsyn_inh : {unit}\n"
    if isinstance(synapses, ALPHA_KINDS):
        eqs += f"rise_exc : {unit}\nrise_inh : {unit}\n"
        # syn(t + dt) = (syn + e rise dt / tau) exp(-dt / tau); rise(t + dt) = rise exp(-dt/tau)
        decay = ("syn_exc = (syn_exc + rise_exc * exp(1) * dt / tau_syn_e) * exp(-dt / tau_syn_e)\n"
                 "syn_inh = (syn_inh + rise_inh * exp(1) * dt / tau_syn_i) * exp(-dt / tau_syn_i)\n"
                 "rise_exc = rise_exc * exp(-dt / tau_syn_e)\n"
                 "rise_inh = rise_inh * exp(-dt / tau_syn_i)")
    else:
        decay = ("syn_exc = syn_exc * exp(-dt / tau_syn_e)\n"
                 "syn_inh = syn_inh * exp(-dt / tau_syn_i)")
    if isinstance(synapses, CONDUCTANCE_KINDS):
        ns.update(e_syn_e=synapses.e_exc * b2.volt, e_syn_i=synapses.e_inh * b2.volt)
        current = "(syn_exc * (e_syn_e - v) + syn_inh * (e_syn_i - v))"
    else:
        current = "(syn_exc + syn_inh)"
    return eqs, current, decay, ns, "rise" if isinstance(synapses, ALPHA_KINDS) else "syn"


def neuron_group(params: Any, n_neurons: int, drive: str = "I : amp"):
    """A Brian2 ``NeuronGroup`` of our model ``params`` (AdEx, Izhikevich or
    Hodgkin-Huxley), its initial state set as our model declares it.

    Args:
        params: an :class:`snn.AdExParams`, :class:`snn.IzhikevichParams` or
            :class:`snn.HodgkinHuxleyParams`.
        n_neurons: the group's size.
        drive: the Brian2 definition of the external current ``I`` (default: a parameter).

    Returns:
        ``(group, input variable prefix)``: spikes add their weight to
        ``<prefix>_exc`` / ``<prefix>_inh``.
    """
    b2 = _b2()
    V, A, S, F, s = b2.volt, b2.amp, b2.siemens, b2.farad, b2.second
    syn_eqs, current, decay, ns, prefix = _synapse_parts(params.synapses)
    if isinstance(params, AdExParams):
        ns.update(c_m=params.c_m * F, g_l=params.g_l * S, e_l=params.e_l * V,
                  v_t=params.v_t * V, d_t=params.delta_t * V, a=params.a * S,
                  tau_w=params.tau_w * s, b=params.b * A, v_r=params.v_reset * V,
                  v_peak=params.v_peak * V)
        eqs = f"""
        dv/dt = (g_l * (e_l - v) + g_l * d_t * exp((v - v_t) / d_t) - w + {current} + I) / c_m
                : volt (unless refractory)
        dw/dt = (a * (v - e_l) - w) / tau_w : amp
        """
        kwargs = dict(threshold="v > v_peak", reset="v = v_r; w += b",
                      refractory=params.tau_refractory * s, method="euler")
        initial = {"v": params.e_l * V}
    elif isinstance(params, IzhikevichParams):
        ns.update(a=params.a / s, b=params.b / s, c=params.c * V, d=params.d * V / s,
                  v_peak=params.v_peak * V, k=params.k / (V * s), p=params.p / s,
                  q=params.q * V / s, c_m=params.c_m * F)
        eqs = f"""
        dv/dt = k * v**2 + p * v + q - u + ({current} + I) / c_m : volt
        du/dt = a * (b * v - u) : volt / second
        """
        kwargs = dict(threshold="v > v_peak", reset="v = c; u += d", method="euler")
        initial = {"v": params.c * V, "u": params.b * params.c * V / s}
    elif isinstance(params, HodgkinHuxleyParams):
        from ..neurons.hodgkin_huxley import _steady_gate

        ns.update(c_m=params.c_m * F, g_l=params.g_l * S, e_l=params.e_l * V,
                  g_na=params.g_na * S, e_na=params.e_na * V, g_k=params.g_k * S,
                  e_k=params.e_k * V, v_t=params.v_t * V, v_spike=params.v_spike * V)
        mv, ms = b2.mV, b2.ms
        ns.update(mV=mv, ms=ms)
        eqs = f"""
        dv/dt = (g_l * (e_l - v) - g_na * m**3 * h * (v - e_na) - g_k * n**4 * (v - e_k)
                 + {current} + I) / c_m : volt
        dm/dt = 1.28 / exprel((13*mV - v + v_t) / (4*mV)) / ms * (1 - m)
                - 1.4 / exprel((v - v_t - 40*mV) / (5*mV)) / ms * m : 1
        dn/dt = 0.16 / exprel((15*mV - v + v_t) / (5*mV)) / ms * (1 - n)
                - 0.5 * exp((10*mV - v + v_t) / (40*mV)) / ms * n : 1
        dh/dt = 0.128 * exp((17*mV - v + v_t) / (18*mV)) / ms * (1 - h)
                - 4 / (1 + exp((40*mV - v + v_t) / (5*mV))) / ms * h : 1
        """
        kwargs = dict(threshold="v > v_spike", refractory=params.tau_refractory * s,
                      method="exponential_euler")
        initial = {"v": params.e_l * V, **{g: _steady_gate(params, params.e_l, g)
                                           for g in "mnh"}}
    else:
        raise TypeError(f"params must be AdExParams, IzhikevichParams or HodgkinHuxleyParams, "
                        f"got {type(params).__name__}")
    group = b2.NeuronGroup(n_neurons, eqs + syn_eqs + drive, namespace=ns, **kwargs)
    group.run_regularly(decay, when="groups", order=1)
    for name, value in initial.items():
        setattr(group, name, value)
    return group, prefix


def run_single_neurons(params: Any, current: np.ndarray, dt: float,
                       spikes: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None,
                       channel: np.ndarray | None = None) -> tuple[np.ndarray, list[np.ndarray]]:
    """Run ``current.shape[1]`` unconnected neurons of ``params`` in Brian2 (numpy target).

    Args:
        params: the model's parameters.
        current: ``[n_steps, n_neurons]`` external current of each step (A).
        dt: time step (s).
        spikes: optional input ``(times s, target neuron, weight)``: each spike adds its
            weight to its target's input variable on the channel given by ``channel``
            (0 excitatory, 1 inhibitory; per spike).
        channel: per-spike channel, with ``spikes``.

    Returns:
        ``(v [n_steps, n_neurons] in V at each step's start, spike times per neuron in s)``.
    """
    b2 = _b2()
    b2.start_scope()
    b2.prefs.codegen.target = "numpy"
    n_steps, n_neurons = current.shape
    drive = b2.TimedArray(current * b2.amp, dt=dt * b2.second)
    group, prefix = neuron_group(params, n_neurons, drive="I = drive(t, i) : amp")
    group.namespace["drive"] = drive
    objects = [group]
    if spikes is not None:
        times, targets, weights = spikes
        unit = b2.siemens if isinstance(params.synapses, CONDUCTANCE_KINDS) else b2.amp
        for ch, name in enumerate(("exc", "inh")):
            sel = channel == ch
            if not np.any(sel):
                continue
            source = b2.SpikeGeneratorGroup(int(sel.sum()), np.arange(int(sel.sum())),
                                            times[sel] * b2.second)
            syn = b2.Synapses(source, group, "weight : " + ("siemens" if unit == b2.siemens
                                                            else "amp"),
                              on_pre=f"{prefix}_{name}_post += weight")
            syn.connect(i=np.arange(int(sel.sum())), j=targets[sel])
            syn.weight = weights[sel] * unit
            objects += [source, syn]
    monitor = b2.StateMonitor(group, "v", record=True, when="start")
    spike_monitor = b2.SpikeMonitor(group)
    net = b2.Network(*objects, monitor, spike_monitor)
    net.run(n_steps * dt * b2.second, namespace={})
    trains = spike_monitor.spike_trains()
    return (np.asarray(monitor.v / b2.volt).T.copy(),
            [np.asarray(trains[k] / b2.second) for k in range(n_neurons)])
