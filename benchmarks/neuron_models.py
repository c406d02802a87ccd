"""Engine speed with neuron models beyond the LIF family: snnsim (numba) against Brian2.

Two networks of 4000 neurons (80 % excitatory, each pair connected with probability 0.02,
conductance-based exponential synapses, 5 ms / 10 ms, reversal 0 / -80 mV):

* ``cobahh``: Brian2's COBAHH example, Hodgkin-Huxley neurons with Traub-Miles channels,
  weights 6 nS / 67 nS, exponential Euler;
* ``adex``: the same network with adaptive exponential integrate-and-fire neurons (forward
  Euler), the Vogels-Abbott COBA weights (0.6 nS / 6.7 nS) and a 0.25 nA drive;
* ``adex_user``: the AdEx network again, its model declared in this script with
  :func:`snn.define_model` as a user would, to compare a user-defined model with the
  built-in one.

One connectivity and one initial state are drawn from the seed and handed to snnsim's numba
backend, Brian2 runtime (cython target) and Brian2 cpp_standalone, all with the same
equations and integration scheme (:mod:`snn.peers.brian2_neurons`).  Run times are seconds
of wall time per simulated second, the best of ``--repeats``; compile times are the first
run's excess (snnsim: with an empty compiled-code cache unless ``--warm``); the user-declared
model is compared with the built-in one by CPU time.  Target: snnsim
at most 0.5x cpp_standalone's run time, and the user-defined model as fast as the built-in.

    python benchmarks/neuron_models.py [--duration 1.0] [--repeats 3] [--out DIR]

Writes ``neuron_models.json`` and ``neuron_models.png``.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from typing import Any

import brian2
import matplotlib
import numpy as np
from _common import RESULTS_DIR, machine_info, write_json  # benchmarks/ is on sys.path

import snn
from snn.network import random_pairs
from snn.neurons import AdExParams, HodgkinHuxleyParams
from snn.neurons.adex import AdExCoeffs, adex_coeffs
from snn.peers.brian2_neurons import neuron_group
from snn.synapses import ConductanceSynapses, decay_synapses, synaptic_current

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402  (after choosing the backend)

DT = 1e-4
N_NEURONS = 4000
P_CONNECT = 0.02
TARGET_RATIO = 0.5
SYNAPSES = ConductanceSynapses(tau_exc=5e-3, tau_inh=10e-3, e_exc=0.0, e_inh=-80e-3)


# The AdEx model as a user would declare it in a script (the same equations as the
# built-in one, written here).
def user_adex_step(state, i_ext, c, spike_fn, exp):
    refractory = state.refractory - (state.refractory > 0.0) * 1.0
    active = (refractory <= 0.0) * 1.0
    v, w = state.v, state.w
    current = (c.g_l * (c.e_l - v) + c.g_l * c.delta_t * exp((v - c.v_t) / c.delta_t)
               - w + synaptic_current(state, v, c) + i_ext)
    v_new = v + active * (current * c.dt_over_c_m)
    w_new = w + (c.a * (v - c.e_l) - w) * c.dt_over_tau_w
    spike = spike_fn(v_new - c.v_peak) * active
    v_new = spike * c.v_reset + (1.0 - spike) * v_new
    w_new = w_new + spike * c.b
    refractory = refractory + spike * c.refractory_steps
    return (v_new, w_new, refractory) + decay_synapses(state, c), spike


USER_ADEX = snn.define_model(
    "UserAdEx", AdExParams,
    state=[("v", "V", "e_l"), ("w", "A"), ("refractory", "steps"), ("syn_exc", "S"),
           ("syn_inh", "S")],
    coeffs=adex_coeffs, step=user_adex_step, work=4.0, register=False)
assert AdExCoeffs  # the coefficients are the built-in model's

NETWORKS: dict[str, dict[str, Any]] = {
    "cobahh": dict(params=HodgkinHuxleyParams(synapses=SYNAPSES), w_exc=6e-9, w_inh=67e-9,
                   current=0.0, model=None),
    "adex": dict(params=AdExParams(c_m=200e-12, g_l=10e-9, e_l=-60e-3, v_t=-50e-3,
                                   delta_t=2e-3, a=2e-9, tau_w=100e-3, b=20e-12,
                                   v_reset=-60e-3, v_peak=0.0, tau_refractory=5e-3,
                                   synapses=SYNAPSES),
                 w_exc=0.6e-9, w_inh=6.7e-9, current=0.25e-9, model=None),
}
NETWORKS["adex_user"] = dict(NETWORKS["adex"], model=USER_ADEX)


def draws(seed: int) -> dict[str, np.ndarray]:
    """Connectivity and the initial state of Brian2's COBAHH example (v around the leak
    potential, g_e ~ N(40, 15) nS, g_i ~ N(200, 120) nS)."""
    rng = np.random.default_rng(seed)
    pre, post = random_pairs(N_NEURONS, N_NEURONS, P_CONNECT, rng)
    return {"pre": pre, "post": post,
            "v_offset": (rng.standard_normal(N_NEURONS) * 5 - 5) * 1e-3,
            "syn_exc": (rng.standard_normal(N_NEURONS) * 1.5 + 4) * 10e-9,
            "syn_inh": (rng.standard_normal(N_NEURONS) * 12 + 20) * 10e-9}


def snnsim_network(spec: dict, d: dict[str, np.ndarray]) -> snn.Network:
    params = spec["params"]
    net = snn.Network(dt=DT)
    net.add_population("P", N_NEURONS, params, model=spec["model"],
                       v_init=params.e_l + d["v_offset"],
                       initial={"syn_exc": np.maximum(d["syn_exc"], 0.0),
                                "syn_inh": np.maximum(d["syn_inh"], 0.0)})
    n_exc = int(0.8 * N_NEURONS)
    exc = d["pre"] < n_exc
    net.connect("P", "P", spec["w_exc"], pre_indices=d["pre"][exc], post_indices=d["post"][exc])
    net.connect("P", "P", spec["w_inh"], pre_indices=d["pre"][~exc],
                post_indices=d["post"][~exc], channel="inh")
    if spec["current"]:
        net.set_current("P", spec["current"])
    net.monitor_spikes()
    return net


def brian2_network(spec: dict, d: dict[str, np.ndarray]):
    params = spec["params"]
    group, prefix = neuron_group(params, N_NEURONS)
    group.I = spec["current"] * brian2.amp
    group.v = (params.e_l + d["v_offset"]) * brian2.volt
    group.syn_exc = np.maximum(d["syn_exc"], 0.0) * brian2.siemens
    group.syn_inh = np.maximum(d["syn_inh"], 0.0) * brian2.siemens
    n_exc = int(0.8 * N_NEURONS)
    exc = d["pre"] < n_exc
    syn_e = brian2.Synapses(group, group, on_pre=f"{prefix}_exc_post += {spec['w_exc']!r}*siemens")
    syn_e.connect(i=d["pre"][exc], j=d["post"][exc])
    syn_i = brian2.Synapses(group, group, on_pre=f"{prefix}_inh_post += {spec['w_inh']!r}*siemens")
    syn_i.connect(i=d["pre"][~exc], j=d["post"][~exc])
    monitor = brian2.SpikeMonitor(group)
    return brian2.Network(group, syn_e, syn_i, monitor), monitor


def rate(n_spikes: int, duration: float) -> float:
    return n_spikes / N_NEURONS / duration


def measure_snnsim(spec, d, duration, repeats) -> dict:
    net = snnsim_network(spec, d)
    start = time.perf_counter()
    first = snn.run(net, duration, backend="numba")
    first_s = time.perf_counter() - start
    run_s, cpu_s = float("inf"), float("inf")
    for _ in range(repeats):
        start = time.process_time()
        run_s = min(run_s, snn.run(net, duration, backend="numba").wall_time)
        cpu_s = min(cpu_s, time.process_time() - start)
    return {"run_s": run_s, "cpu_s": cpu_s, "compile_s": max(0.0, first_s - run_s),
            "rate_hz": rate(len(first.spikes["P"].times), duration)}


def measure_brian2_cython(spec, d, duration, repeats) -> dict:
    brian2.prefs.codegen.target = "cython"
    brian2.defaultclock.dt = DT * brian2.second
    brian2.start_scope()
    net, monitor = brian2_network(spec, d)
    start = time.perf_counter()
    net.run(DT * brian2.second, namespace={})
    compile_s = time.perf_counter() - start
    counts, run_s = [], float("inf")
    for _ in range(repeats):
        before = monitor.num_spikes
        start = time.perf_counter()
        net.run(duration * brian2.second, namespace={})
        run_s = min(run_s, time.perf_counter() - start)
        counts.append(monitor.num_spikes - before)
    return {"run_s": run_s, "compile_s": compile_s, "rate_hz": rate(counts[0], duration)}


def measure_brian2_standalone(spec, d, duration, repeats) -> dict:
    with tempfile.TemporaryDirectory(prefix="neuron_models_") as directory:
        brian2.set_device("cpp_standalone", directory=directory, build_on_run=False)
        try:
            brian2.start_scope()
            brian2.defaultclock.dt = DT * brian2.second
            net, monitor = brian2_network(spec, d)
            net.run(duration * brian2.second, namespace={})
            start = time.perf_counter()
            brian2.device.build(directory=directory, compile=True, run=True)
            total_s = time.perf_counter() - start
            run_s = float(brian2.device._last_run_time)
            n_spikes = int(monitor.num_spikes)
            for _ in range(repeats - 1):
                brian2.device.run(directory=directory, with_output=False)
                run_s = min(run_s, float(brian2.device._last_run_time))
        finally:
            brian2.device.reinit()
            brian2.set_device("runtime")
    return {"run_s": run_s, "compile_s": total_s - run_s, "rate_hz": rate(n_spikes, duration)}


SIMULATORS = {"snnsim": measure_snnsim, "brian2_cython": measure_brian2_cython,
              "brian2_standalone": measure_brian2_standalone}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--duration", type=float, default=1.0)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--networks", nargs="+", default=list(NETWORKS), choices=list(NETWORKS))
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--warm", action="store_true",
                        help="keep snnsim's compiled-code cache (default: a fresh one)")
    parser.add_argument("--out", type=str, default=str(RESULTS_DIR))
    args = parser.parse_args()
    if not args.warm:
        os.environ["SNNSIM_CACHE_DIR"] = tempfile.mkdtemp(prefix="snnsim_cache_")
    d = draws(args.seed)
    rows = []
    for name in args.networks:
        spec = NETWORKS[name]
        simulators = ["snnsim"] if spec["model"] is not None else list(SIMULATORS)
        for simulator in simulators:
            measured = SIMULATORS[simulator](spec, d, args.duration, args.repeats)
            row = {"network": name, "simulator": simulator,
                   "run_s_per_sim_s": measured["run_s"] / args.duration, **measured}
            rows.append(row)
            print(f"{name:<10} {simulator:<18} {row['run_s_per_sim_s']:8.3f} s/sim s  "
                  f"compile {row['compile_s']:7.2f} s  rate {row['rate_hz']:6.2f} Hz", flush=True)
    find = {(r["network"], r["simulator"]): r for r in rows}
    summary = {}
    for name in args.networks:
        if NETWORKS[name]["model"] is not None:
            continue
        ours = find[(name, "snnsim")]["run_s_per_sim_s"]
        ratio = ours / find[(name, "brian2_standalone")]["run_s_per_sim_s"]
        summary[name] = {"ratio_to_standalone": ratio,
                         "ratio_to_cython": ours / find[(name, "brian2_cython")]["run_s_per_sim_s"],
                         "target_met": ratio <= TARGET_RATIO}
        print(f"{name}: snnsim / cpp_standalone = {ratio:.2f} (target <= {TARGET_RATIO}: "
              f"{'met' if ratio <= TARGET_RATIO else 'NOT met'})")
    if ("adex_user", "snnsim") in find and ("adex", "snnsim") in find:
        # CPU time: both run the same arithmetic, and CPU time is less disturbed by other
        # work on the machine than wall time.
        ratio = find[("adex_user", "snnsim")]["cpu_s"] / find[("adex", "snnsim")]["cpu_s"]
        summary["user_over_builtin_cpu"] = ratio
        print(f"user-defined AdEx / built-in AdEx CPU time = {ratio:.2f}")
    out = args.out
    os.makedirs(out, exist_ok=True)
    write_json(os.path.join(out, "neuron_models.json"), {
        "machine": machine_info("brian2"), "duration_s": args.duration, "dt_s": DT,
        "n_neurons": N_NEURONS, "rows": rows, "summary": summary,
        "command": "python benchmarks/neuron_models.py " + " ".join(
            f"--{k} {v}" for k, v in (("duration", args.duration), ("repeats", args.repeats)))})
    fig, ax = plt.subplots(figsize=(8, 4.5))
    names = [n for n in args.networks]
    colours = {"snnsim": "tab:red", "brian2_cython": "tab:blue", "brian2_standalone": "tab:green"}
    for k, simulator in enumerate(SIMULATORS):
        values = [find.get((n, simulator), {}).get("run_s_per_sim_s", np.nan) for n in names]
        ax.bar(np.arange(len(names)) + (k - 1) * 0.27, values, 0.27, color=colours[simulator],
               label=simulator.replace("_", " "))
    ax.set_xticks(np.arange(len(names)), names)
    ax.set(ylabel="wall time per simulated second (s)", yscale="log",
           title=f"{N_NEURONS} neurons, dt = {DT * 1e3:g} ms")
    ax.legend()
    fig.tight_layout()
    fig.savefig(os.path.join(out, "neuron_models.png"), dpi=120)
    print("wrote", os.path.join(out, "neuron_models.json"))


if __name__ == "__main__":
    main()
