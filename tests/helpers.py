"""Small networks shared by the tests."""

import numpy as np

import snn


def single_neuron_network(params, current, dt=1e-4, stim_times=(0.0123, 0.0321), weight=None):
    """One neuron with a constant current and one excitatory and one inhibitory input spike,
    every state variable monitored (the network of snn.peers.brian2_models)."""
    net = snn.Network(dt=dt)
    net.add_population("n", 1, params)
    net.set_current("n", current)
    net.add_spike_source("stim", 2, [0, 1], list(stim_times))
    if weight is None:
        weight = 2e-9 if isinstance(params.synapses, snn.ConductanceSynapses) else 50e-12
    net.connect("stim", "n", np.array([[weight], [0.0]]), channel="exc")
    net.connect("stim", "n", np.array([[0.0], [weight]]), channel="inh")
    net.monitor_spikes()
    net.monitor_state("n", list(snn.STATE_VARIABLES))
    return net


def mixed_network(seed=0, delays=True, n_exc=60, n_inh=20):
    """Every feature at once: LIF (current), ALIF with subtractive reset, COBA LIF, IF,
    Poisson and spike-time sources, dense and sparse projections, delays, constant and
    time-varying currents, spike and state monitors."""
    rng = np.random.default_rng(seed)
    net = snn.Network(dt=1e-4, max_delay=5e-3)
    lif = snn.LIFParams(v_rest=-49e-3, tau_refractory=2e-3)
    alif = snn.ALIFParams(reset="subtract", threshold_increment=2e-3, tau_adapt=30e-3)
    coba = snn.LIFParams(synapses=snn.ConductanceSynapses(), tau_refractory=1e-3)
    iaf = snn.IFParams(tau_refractory=1e-3)
    net.add_population("lif", n_exc, lif, v_init=rng.uniform(-60e-3, -50e-3, n_exc))
    net.add_population("alif", n_inh, alif, v_init=rng.uniform(-65e-3, -50e-3, n_inh))
    net.add_population("coba", 15, coba, v_init=-60e-3)
    net.add_population("if", 5, iaf)
    net.add_poisson_source("noise", 30, rng.uniform(20, 80, 30))
    net.add_spike_source("pulse", 3, [0, 1, 2, 0], [0.001, 0.002, 0.0105, 0.02])
    d = (lambda: rng.uniform(0, 5e-3)) if delays else (lambda: 0.0)
    net.connect_random("lif", "lif", 0.1, 20e-12, rng=rng, delays=d())
    net.connect_random("lif", "alif", 0.2, 30e-12, rng=rng)
    net.connect_random("alif", "lif", 0.2, -60e-12, channel="inh", rng=rng, delays=d())
    net.connect_random("noise", "coba", 0.3, 3e-9, rng=rng)
    net.connect_random("alif", "coba", 0.3, 5e-9, channel="inh", rng=rng)
    net.connect("pulse", "if", rng.uniform(0, 100e-12, (3, 5)),
                delays=rng.uniform(0, 4e-3, (3, 5)) if delays else 0.0)
    net.connect("lif", "if", 10e-12, pre_indices=np.arange(5), post_indices=np.arange(5))
    net.set_current("alif", 0.16e-9)
    net.set_current("if", np.linspace(0.0, 0.2e-9, 5))
    steps = 600
    net.set_current("coba", 0.15e-9 + 0.05e-9 * rng.standard_normal((steps, 15)))
    net.monitor_spikes()
    for pop in ("lif", "alif", "coba", "if"):
        net.monitor_state(pop, list(snn.STATE_VARIABLES))
    return net


def one_population_network():
    """Three default LIF neurons and nothing else (for argument checks)."""
    net = snn.Network(dt=1e-4)
    net.add_population("n", 3, snn.LIFParams())
    return net
