"""Online STDP in the engine against Brian2: the Song, Miller & Abbott (2000) experiment.

What it measures.  1000 Poisson inputs at 15 Hz drive conductance-based LIF neurons through
excitatory synapses that learn by additive pair-based STDP with hard bounds ``[0, g_max]``
(the parameters of Song et al. 2000 as in Brian2's STDP example: tau_m 10 ms, E_L -74 mV,
threshold -54 mV, reset -60 mV, tau_e 5 ms, E_e 0 mV, g_max 0.01 of the leak conductance,
A+ = 0.01 g_max, A- = 1.05 A+, tau+ = tau- = 20 ms).  The published outcome is competition
between the synapses: the weights end bimodal, piled at 0 and at g_max.

Scenarios:
  * ``song``: 1000 inputs -> 1 neuron (1000 plastic synapses), 100 s (``--quick``: 20 s);
  * ``wide``: 1000 inputs -> 100 neurons, all to all (100,000 plastic synapses), 10 s
    (``--quick``: 2 s).

For each, snnsim's numba backend and Brian2 in runtime mode (cython target; its code is
compiled in an untimed first step) and as cpp_standalone (the binary's own timing of its
loop) each simulate the same network (same initial weights) with their own Poisson draws,
for ``--seeds`` seeds.  Reported: wall time per simulated second -- for snnsim lowering the
network included, since that is where its Poisson inputs are drawn, while Brian2 draws them
in its loop -- plastic synaptic events per second, and the outcome: the fraction of weights
below 0.1 g_max and above 0.9 g_max, and the output rate over the last fifth of the run.  A
third check, independent of any peer: the weight change of single spike pairs in the engine
against the analytic STDP window.

Run:  python benchmarks/stdp.py [--quick] [--seeds 0 1 2] [--scenarios song wide]
Writes benchmarks/results/stdp.json and stdp.png (weight histograms of both simulators,
speed, and the measured window over the analytic curve).

Loop only:  python benchmarks/stdp.py --loop [--repeats 7] [--duration 1.0]
times the numba backend's compiled loop alone on the ``wide`` network (1000 -> 100, lowered
once, compiled before timing): CPU seconds (``time.process_time``, robust on a shared
machine) per simulated second, the minimum over the repeats.  Prints one line; no files.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import math
import os
import platform
import tempfile
import time
from pathlib import Path
from typing import Any

import matplotlib
import numba
import numpy as np

import snn
from snn.benchmark_networks import SONG2000, build_stdp_experiment
from snn.plasticity import stdp_window

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402  (after choosing the backend)

DT = 1e-4  # s
EXPERIMENT = SONG2000
RULE = EXPERIMENT.rule
G_MAX = RULE.w_max  # S
R_M = EXPERIMENT.params.r_m  # ohm: Brian2's conductances are in units of 1 / R_M
N_INPUTS = EXPERIMENT.n_inputs
RATE = EXPERIMENT.rate
SCENARIOS = {  # name: (neurons, duration s, quick duration s)
    "song": (1, 100.0, 20.0),
    "wide": (100, 10.0, 2.0),
}
SIMULATORS = ("snnsim", "brian2_cython", "brian2_standalone")


def initial_weights(n_post: int, seed: int) -> np.ndarray:
    """The initial weights :func:`build_stdp_experiment` draws for ``seed`` (S)."""
    _, proj = build_stdp_experiment(EXPERIMENT, n_post, seed, dt=DT)
    return proj.weights.reshape(N_INPUTS, n_post)


def outcome(weights: np.ndarray, times: np.ndarray, n_post: int, duration: float
            ) -> dict[str, float]:
    late = times >= 0.8 * duration
    return {"low_fraction": float(np.mean(weights < 0.1 * G_MAX)),
            "high_fraction": float(np.mean(weights > 0.9 * G_MAX)),
            "late_rate_hz": float(late.sum() / (n_post * 0.2 * duration))}


def run_snnsim(n_post: int, duration: float, seed: int) -> dict[str, Any]:
    net, proj = build_stdp_experiment(EXPERIMENT, n_post, seed, dt=DT)
    snn.run(net, 10 * DT, rng=seed)  # compile (or load the cache) outside the timing
    start = time.perf_counter()
    result = snn.run(net, duration, rng=seed)
    total = time.perf_counter() - start
    weights = result.weights(proj)
    spikes = result.spikes["neurons"]
    # Brian2 draws its Poisson inputs inside its loop; snnsim while lowering the network:
    # the comparison uses the total.
    return {"run_s": total, "loop_s": result.wall_time, "build_s": result.build_time,
            "weights": weights, **outcome(weights, spikes.times, n_post, duration)}


def numba_loop_seconds(duration: float, repeats: int, seed: int = 0) -> list[float]:
    """CPU seconds of the numba backend's loop per simulated second, one entry per repeat,
    on the ``wide`` network; the network is lowered once and the loop compiled (or loaded
    from the cache) before the first timed repeat."""
    from snn.backends import numba_backend
    from snn.engine import build_plan

    n_post = SCENARIOS["wide"][0]
    net, _ = build_stdp_experiment(EXPERIMENT, n_post, seed, dt=DT)
    numba_backend.simulate(build_plan(net, 10, np.random.default_rng(seed)))  # compile
    plan = build_plan(net, int(round(duration / DT)), np.random.default_rng(seed))
    times = []
    for _ in range(repeats):
        start = time.process_time()
        numba_backend.simulate(plan)
        times.append((time.process_time() - start) / duration)
    return times


def brian2_network(n_post: int, seed: int):
    """The same experiment in Brian2 (its STDP example's equations); conductances in units
    of the leak conductance.  Integrated by exponential Euler, snnsim's scheme, rather than
    the example's forward Euler, whose conductance decays by 1 - dt/tau_e per step (an
    effective tau_e 1 % shorter) and lowers the output rate by a few percent."""
    import brian2 as b2

    b2.start_scope()
    b2.defaultclock.dt = DT * b2.second
    b2.seed(seed)
    p = EXPERIMENT.params
    namespace = dict(taum=p.tau_m * b2.second, taue=p.synapses.tau_exc * b2.second,
                     Ee=p.synapses.e_exc * b2.volt, El=p.v_rest * b2.volt,
                     vt=p.v_threshold * b2.volt, vr=p.v_reset * b2.volt)
    neurons = b2.NeuronGroup(n_post, """dv/dt = (ge * (Ee - v) + El - v) / taum : volt
                                        dge/dt = -ge / taue : 1""",
                             threshold="v > vt", reset="v = vr", method="exponential_euler",
                             namespace=namespace)
    neurons.v = p.v_rest * b2.volt
    inputs = b2.PoissonGroup(N_INPUTS, rates=RATE * b2.Hz)
    synapses = b2.Synapses(
        inputs, neurons,
        model="""w : 1
                 dapre/dt = -apre / taupre : 1 (event-driven)
                 dapost/dt = -apost / taupost : 1 (event-driven)""",
        on_pre="""ge += w
                  apre += 1
                  w = clip(w - a_minus * apost, 0, gmax)""",
        on_post="""apost += 1
                   w = clip(w + a_plus * apre, 0, gmax)""",
        namespace=dict(taupre=RULE.tau_plus * b2.second, taupost=RULE.tau_minus * b2.second,
                       a_plus=RULE.a_plus * R_M, a_minus=RULE.a_minus * R_M,
                       gmax=G_MAX * R_M))
    synapses.connect()  # all to all, ordered by pre then post, like the dense form
    synapses.w = initial_weights(n_post, seed).reshape(-1) * R_M
    monitor = b2.SpikeMonitor(neurons)
    return b2.Network(neurons, inputs, synapses, monitor), synapses, monitor


def run_brian2_cython(n_post: int, duration: float, seed: int) -> dict[str, Any]:
    import brian2 as b2

    b2.prefs.codegen.target = "cython"
    net, synapses, monitor = brian2_network(n_post, seed)
    net.run(10 * DT * b2.second)  # code generation and compilation, untimed
    start = time.perf_counter()
    net.run(duration * b2.second)
    run_s = time.perf_counter() - start
    weights = np.asarray(synapses.w) / R_M
    times = np.asarray(monitor.t_) - 10 * DT
    return {"run_s": run_s, "weights": weights, **outcome(weights, times, n_post, duration)}


def run_brian2_standalone(n_post: int, duration: float, seed: int) -> dict[str, Any]:
    """cpp_standalone: the run time is the binary's own timing of its main loop."""
    import brian2 as b2

    with tempfile.TemporaryDirectory(prefix="stdp_standalone_") as directory:
        b2.set_device("cpp_standalone", directory=directory, build_on_run=False)
        try:
            net, synapses, monitor = brian2_network(n_post, seed)
            net.run(duration * b2.second)
            b2.device.build(directory=directory, compile=True, run=True)
            run_s = float(b2.device._last_run_time)
            weights = np.asarray(synapses.w) / R_M
            times = np.asarray(monitor.t_)
        finally:
            b2.device.reinit()
            b2.set_device("runtime")
    return {"run_s": run_s, "weights": weights, **outcome(weights, times, n_post, duration)}


def measured_window() -> tuple[np.ndarray, np.ndarray]:
    """Weight change of single pairs in the engine, by post - pre time (s), without the
    bounds (a depression from 0 would otherwise be clipped away)."""
    rule = dataclasses.replace(RULE, w_min=-math.inf, w_max=math.inf)
    offsets = np.arange(-600, 601, 8)
    n = offsets.size
    net = snn.Network(dt=DT)
    net.add_population("post", n, snn.LIFParams(synapses=snn.DeltaSynapses(),
                                                tau_refractory=0.0))
    t_pre = 0.07
    net.add_spike_source("pre", n, np.arange(n), np.full(n, t_pre))
    net.add_spike_source("drive", n, np.arange(n), t_pre + (offsets - 1) * DT)
    proj = net.connect("pre", "post", 0.0, pre_indices=np.arange(n),
                       post_indices=np.arange(n), plasticity=rule)
    net.connect("drive", "post", 1.0, pre_indices=np.arange(n), post_indices=np.arange(n))
    net.monitor_spikes("post")
    result = snn.run(net, 0.14)
    t_post = np.empty(n)
    t_post[result.spikes["post"].indices] = result.spikes["post"].times
    return t_post - t_pre, result.weights(proj)


def summarise(values: list[float]) -> dict[str, float]:
    arr = np.asarray(values, dtype=float)
    return {"mean": float(arr.mean()), "std": float(arr.std(ddof=1)) if arr.size > 1 else 0.0,
            "min": float(arr.min()), "max": float(arr.max()), "n": int(arr.size)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="shorter runs")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--scenarios", nargs="+", choices=list(SCENARIOS),
                        default=list(SCENARIOS))
    parser.add_argument("--out", type=Path,
                        default=Path(__file__).resolve().parent / "results")
    parser.add_argument("--loop", action="store_true",
                        help="time the numba loop alone on the wide network and stop")
    parser.add_argument("--repeats", type=int, default=7, help="repeats of --loop")
    parser.add_argument("--duration", type=float, default=1.0,
                        help="simulated seconds per --loop repeat")
    args = parser.parse_args()
    if args.loop:
        times = numba_loop_seconds(args.duration, args.repeats)
        print(f"numba loop, wide ({N_INPUTS} -> {SCENARIOS['wide'][0]}, "
              f"{N_INPUTS * SCENARIOS['wide'][0]} plastic synapses): min "
              f"{min(times):.4f} CPU s per simulated s over {len(times)} repeats of "
              f"{args.duration:g} s (all: {', '.join(f'{t:.4f}' for t in times)})")
        return
    args.out.mkdir(parents=True, exist_ok=True)

    report: dict[str, Any] = {
        "machine": {"cpu_count": os.cpu_count(), "platform": platform.platform(),
                    "python": platform.python_version(), "numba": numba.__version__,
                    "numba_threads": numba.get_num_threads(), "snnsim": snn.__version__},
        "dt": DT, "rate_hz": RATE, "inputs": N_INPUTS, "seeds": args.seeds,
        "rule": {"a_plus_over_gmax": 0.01, "a_minus_over_a_plus": 1.05, "tau_s": 0.02},
        "scenarios": {}}
    hist_weights: dict[str, dict[str, np.ndarray]] = {}
    for name in args.scenarios:
        n_post, duration, quick = SCENARIOS[name]
        duration = quick if args.quick else duration
        rows: dict[str, list[dict[str, Any]]] = {name: [] for name in SIMULATORS}
        runners = {"snnsim": run_snnsim, "brian2_cython": run_brian2_cython,
                   "brian2_standalone": run_brian2_standalone}
        for seed in args.seeds:
            for simulator, fn in runners.items():
                row = fn(n_post, duration, seed)
                hist_weights.setdefault(name, {}).setdefault(simulator, row["weights"])
                row.pop("weights")
                rows[simulator].append(row)
                print(f"{name:<5} seed {seed} {simulator:<18} run {row['run_s']:7.2f} s  "
                      f"weights <0.1 gmax {row['low_fraction']:.2f}  >0.9 gmax "
                      f"{row['high_fraction']:.2f}  late rate {row['late_rate_hz']:.1f} Hz",
                      flush=True)
        events = N_INPUTS * n_post * RATE  # plastic synaptic events per simulated second
        summary = {}
        for simulator, items in rows.items():
            summary[simulator] = {key: summarise([r[key] for r in items])
                                  for key in items[0]}
            summary[simulator]["run_s_per_sim_s"] = summarise(
                [r["run_s"] / duration for r in items])
            summary[simulator]["events_per_s"] = summarise(
                [events * duration / r["run_s"] for r in items])
        speedup = {peer: summarise([b["run_s"] / s["run_s"] for s, b in
                                    zip(rows["snnsim"], rows[peer])])
                   for peer in SIMULATORS[1:]}
        report["scenarios"][name] = {"neurons": n_post, "plastic_synapses": N_INPUTS * n_post,
                                     "duration_s": duration, "runs": rows,
                                     "summary": summary, "speedup": speedup}
    delta, dw = measured_window()
    analytic = stdp_window(delta, RULE)
    report["window"] = {"pairs": int(delta.size),
                        "max_abs_error_over_a_plus": float(np.abs(dw - analytic).max()
                                                           / RULE.a_plus)}

    print()
    print(f"{'scenario':<9}{'simulator':<19}{'run s/sim s':>16}{'events/s':>12}"
          f"{'w<0.1gmax':>11}{'w>0.9gmax':>11}{'late Hz':>9}")
    for name, sc in report["scenarios"].items():
        for simulator, s in sc["summary"].items():
            print(f"{name:<9}{simulator:<19}"
                  f"{s['run_s_per_sim_s']['mean']:>9.4f}±{s['run_s_per_sim_s']['std']:<4.4f}"
                  f"{s['events_per_s']['mean']:>12.3g}"
                  f"{s['low_fraction']['mean']:>11.2f}{s['high_fraction']['mean']:>11.2f}"
                  f"{s['late_rate_hz']['mean']:>9.1f}")
        build = sc["summary"]["snnsim"]["build_s"]["mean"]
        for peer, sp in sc["speedup"].items():
            print(f"  snnsim (lowering and Poisson draws included, {build:.2f} s of it) is "
                  f"{sp['mean']:.1f}x faster than {peer} [{sp['min']:.1f}, {sp['max']:.1f}]")
    print(f"window: {delta.size} pairs, max |measured - analytic| = "
          f"{report['window']['max_abs_error_over_a_plus']:.1e} a_plus")

    (args.out / "stdp.json").write_text(json.dumps(report, indent=1))
    fig, axes = plt.subplots(1, len(args.scenarios) + 1, figsize=(4.2 * (len(args.scenarios)
                                                                         + 1), 3.4))
    for ax, name in zip(axes, args.scenarios):
        bins = np.linspace(0, 1, 41)
        for simulator, colour in zip(SIMULATORS, ("C0", "C1", "C2")):
            # Brian2's two modes draw the same inputs: outlines keep both visible.
            ax.hist(hist_weights[name][simulator] / G_MAX, bins=bins, color=colour,
                    label=f"{simulator} (seed {args.seeds[0]})",
                    **({"alpha": 0.5} if simulator == "snnsim" else
                       {"histtype": "step", "lw": 2.5 if "cython" in simulator else 1.2}))
        sc = report["scenarios"][name]
        ax.set_title(f"{name}: {sc['plastic_synapses']} synapses, {sc['duration_s']:g} s\n"
                     f"snnsim {sc['speedup']['brian2_standalone']['mean']:.1f}x faster than "
                     f"Brian2 standalone", fontsize=9)
        ax.set_xlabel("final weight / g_max")
        ax.set_ylabel("synapses")
        ax.legend(fontsize=8)
    ax = axes[-1]
    grid = np.linspace(delta.min(), delta.max(), 400)
    ax.plot(grid * 1e3, stdp_window(grid, RULE) / RULE.a_plus, color="k", lw=1,
            label="analytic window")
    ax.plot(delta * 1e3, dw / RULE.a_plus, "o", ms=3, color="C3", label="engine, one pair")
    ax.set_xlabel("t_post - t_pre (ms)")
    ax.set_ylabel("weight change / A+")
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(args.out / "stdp.png", dpi=120)
    print(f"wrote {args.out / 'stdp.json'} and {args.out / 'stdp.png'}")


if __name__ == "__main__":
    main()
