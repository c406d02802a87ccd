"""The network that tests/test_distributed.py runs under ``mpiexec -n R`` and in one process.

Run as ``python tests/distributed_script.py OUT_DIR [MODE]``: every rank writes the whole
result of two consecutive runs (the second continuing from the first's state) to
``OUT_DIR/rank<r>.npz``.  MODE (see :func:`main`) is ``mpi`` by default.
"""

import os
import sys
from pathlib import Path

import numpy as np

import snn
from snn.plasticity import STDPParams

DT = 1e-4
CUBA = snn.LIFParams(tau_m=10e-3, v_rest=-65e-3, v_threshold=-50e-3, v_reset=-65e-3,
                     r_m=40e6, tau_refractory=2e-3,
                     synapses=snn.CurrentSynapses(tau_exc=0.5e-3, tau_inh=1e-3))
COBA = snn.LIFParams(synapses=snn.ConductanceSynapses(tau_exc=5e-3, tau_inh=10e-3))
RULE = STDPParams(a_plus=4e-12, a_minus=4.4e-12, tau_plus=3e-3, tau_minus=4e-3, w_min=0.0,
                  w_max=200e-12)
HOMEOSTATIC = STDPParams(a_plus=0.0, a_minus=0.0, drift=200e-12, post_offset=-5e-12,
                         w_min=-300e-12, w_max=0.0)


def network(shortest_delay_steps: int = 2, distributed: str | None = None) -> snn.Network:
    """Two models, delays of at least ``shortest_delay_steps`` steps, multapses, STDP on
    recurrent and input synapses, spike and Poisson sources, Poisson drive on both channels,
    constant and time-varying currents, probes."""
    rng = np.random.default_rng(21)
    max_delay = 4e-3
    net = snn.Network(dt=DT, max_delay=max_delay, distributed=distributed)
    net.add_population("a", 500, CUBA, v_init=rng.uniform(-65e-3, -50e-3, 500))
    net.add_population("b", 211, COBA)
    net.add_population("c", 97, CUBA)
    low = shortest_delay_steps * DT

    def d(size):
        return low + rng.integers(0, int(round((max_delay - low) / DT)) + 1, size) * DT

    n = 20_000
    pre = rng.integers(0, 500, n, dtype=np.int32)
    post = rng.integers(0, 500, n, dtype=np.int32)
    net.connect("a", "a", rng.normal(60e-12, 6e-12, n), pre_indices=pre, post_indices=post,
                delays=d(n))
    net.connect("a", "a", rng.uniform(20e-12, 120e-12, 3000), pre_indices=pre[:3000],
                post_indices=post[-3000:], delays=d(3000), plasticity=RULE)
    net.connect("a", "b", 2e-9, pre_indices=pre[:4000], post_indices=post[:4000] % 211,
                delays=d(4000))
    net.connect("b", "a", -200e-12, pre_indices=post[:3000] % 211, post_indices=pre[:3000],
                delays=d(3000), channel="inh")
    net.connect("c", "a", -50e-12, pre_indices=post[:2000] % 97, post_indices=pre[:2000],
                delays=d(2000), channel="inh")
    # Homeostatic inhibition: stronger at each spike of the target, weaker in between.
    net.connect("a", "c", rng.uniform(-80e-12, -5e-12, 600), pre_indices=pre[:600],
                post_indices=post[:600] % 97, delays=d(600), channel="inh",
                plasticity=HOMEOSTATIC)
    net.add_spike_source("spikes", 20, rng.integers(0, 20, 400), rng.uniform(0, 0.05, 400))
    net.connect("spikes", "c", 300e-12, pre_indices=np.repeat(np.arange(20), 10),
                post_indices=rng.integers(0, 97, 200), delays=d(200))
    net.connect("spikes", "a", rng.uniform(0, 150e-12, 400),
                pre_indices=np.repeat(np.arange(20), 20), post_indices=rng.integers(0, 500, 400),
                delays=d(400), plasticity=RULE)
    net.add_poisson_source("noise", 50, 40.0)
    net.connect("noise", "b", 1e-9, pre_indices=np.arange(50), post_indices=np.arange(50),
                delays=d(50))
    net.add_poisson_drive("a", 16000.0, 70e-12)
    net.add_poisson_drive("a", 1000.0, -70e-12, channel="inh", name="a_inh")
    net.add_poisson_drive("b", np.linspace(100, 3000, 211), 1e-9)
    net.set_current("c", np.tile(np.linspace(0, 500e-12, 97), (600, 1)))
    net.set_current("b", 50e-12)
    net.monitor_spikes("a")
    net.monitor_spikes("c")
    net.monitor_state("a", "v", [0, 3, 499])
    net.monitor_state("b", ["v", "syn_exc"], [1, 2, 210])
    return net


def flatten(result, prefix: str) -> dict[str, np.ndarray]:
    """Every array a run leaves, by name."""
    arrays = {}
    for name, trains in result.spikes.items():
        arrays[f"{prefix}spikes/{name}/times"] = trains.times
        arrays[f"{prefix}spikes/{name}/indices"] = trains.indices
    for pop, variables in result.traces.items():
        for var, trace in variables.items():
            arrays[f"{prefix}traces/{pop}/{var}"] = trace
    for pop, state in result.state.neurons.items():
        for field, values in zip(state._fields, state):
            arrays[f"{prefix}neurons/{pop}/{field}"] = values
    arrays[f"{prefix}ring"] = result.state.ring
    for index, synapses in result.state.synapses.items():
        for field, values in zip(synapses._fields, synapses):
            arrays[f"{prefix}synapses/{index}/{field}"] = values
    arrays[f"{prefix}pending"] = result.state.pending
    return arrays


def main(out: Path, mode: str = "mpi") -> None:
    """``mode``: ``plain`` (no distributed=), ``mpi``, or ``shared`` (a network that keeps
    only each rank's synapses)."""
    distributed = None if mode == "plain" else "mpi"
    net = network(distributed="mpi" if mode == "shared" else None)
    # A rank given another seed builds other inputs (the mismatch test).
    seed = int(os.environ.get("SNNSIM_TEST_SEED", 3))
    first = snn.run(net, 0.03, rng=seed, distributed=distributed)
    second = snn.run(net, 0.025, rng=4, state=first.state, distributed=distributed)
    rank = first.extra.get("rank", 0)
    arrays = {**flatten(first, "first/"), **flatten(second, "second/")}
    arrays["ranks"] = np.array(first.extra.get("ranks", 1))
    arrays["n_synapses"] = np.array(net.n_synapses)
    for index, proj in enumerate(net.projections):
        arrays[f"targets/{index}"] = proj.post_indices
    np.savez(out / f"rank{rank}.npz", **arrays)


if __name__ == "__main__":
    main(Path(sys.argv[1]), *sys.argv[2:])
