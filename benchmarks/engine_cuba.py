"""Engine speed on the CUBA and COBA benchmark networks: snnsim (numba) against Brian2.

For each model (CUBA, COBA) and network size, one connectivity and one initial state are drawn
from the seed and handed to three simulators: snnsim's numba backend, Brian2 in runtime mode
with the cython target, and Brian2's cpp_standalone device.  Each is timed for the simulation
loop (seconds of wall time per simulated second), for its compilation, and checked for the same
activity (mean exc/inh rate, mean CV of the inter-spike intervals).

Run it with::

    python benchmarks/engine_cuba.py [--sizes 4000 40000] [--duration 1.0] [--repeats 3] \
        [--models cuba coba] [--seed 1] [--out benchmarks/results]

Run times are the best of ``--repeats`` timed runs of each simulator (as ``timeit`` reports),
which filters out interference from other work on the machine; spike statistics come from
the first timed run.

It writes ``engine_cuba.json`` and ``engine_cuba.png`` to ``--out``.  The target is an snnsim
run time of at most 0.5x Brian2 cpp_standalone's at 4000 neurons, growing linearly (10x) from
4000 to 40000 neurons.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import brian2
import matplotlib
import numpy as np
from _common import RESULTS_DIR, machine_info, write_json  # benchmarks/ is on sys.path
from process_memory import reset_peak_rss, status_mib

import snn
from snn.benchmark_networks import (
    BENCHMARKS,
    BenchmarkSpec,
    build_benchmark,
    connection_probability,
    draw_connectivity,
    draw_initial_state,
)
from snn.peers.brian2_models import benchmark_network
from snn.results import SpikeTrains

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402  (after choosing the backend)
from matplotlib.ticker import FormatStrFormatter, LogLocator, NullFormatter  # noqa: E402

DT = 1e-4  # s, the time step of every simulator
TARGET_RATIO = 0.5  # snnsim / Brian2 cpp_standalone run time at the smallest size
LABELS = {"snnsim": "snnsim numba", "brian2_cython": "Brian2 cython",
          "brian2_standalone": "Brian2 cpp_standalone"}

Draws = tuple[tuple[np.ndarray, np.ndarray], dict[str, np.ndarray]]
Measurement = dict[str, Any]


def train_statistics(trains: dict[str, SpikeTrains]) -> Measurement:
    """Mean rate (Hz) and mean CV of ISI (neurons with >= 3 spikes) of ``exc`` and ``inh``."""
    stats: Measurement = {}
    for population, spikes in trains.items():
        stats[f"{population}_rate_hz"] = spikes.mean_rate()
        stats[f"{population}_cv_isi"] = spikes.mean_cv_isi(min_spikes=3)
    return stats


def brian2_trains(monitor: brian2.SpikeMonitor, spec: BenchmarkSpec, n_neurons: int,
                  duration: float) -> dict[str, SpikeTrains]:
    """Spikes of a Brian2 monitor over ``[0, duration)`` split into ``exc`` and ``inh``."""
    times = np.asarray(monitor.t_[:], dtype=np.float64)
    indices = np.asarray(monitor.i[:], dtype=np.int64)
    in_window = times < duration - DT / 2
    times, indices = times[in_window], indices[in_window]
    n_exc = int(round(spec.exc_fraction * n_neurons))
    is_exc = indices < n_exc
    return {"exc": SpikeTrains(times[is_exc], indices[is_exc], n_exc, duration),
            "inh": SpikeTrains(times[~is_exc], indices[~is_exc] - n_exc, n_neurons - n_exc,
                               duration)}


def measure_snnsim(spec: BenchmarkSpec, n_neurons: int, draws: Draws, duration: float,
                   repeats: int) -> Measurement:
    """Build, run once to compile (or load numba's disk cache), then time ``repeats`` runs."""
    rss_known = reset_peak_rss()
    connectivity, initial = draws
    start = time.perf_counter()
    net = build_benchmark(spec.name, n_neurons, dt=DT, connectivity=connectivity,
                          initial=initial)
    network_build_s = time.perf_counter() - start
    warmup = snn.run(net, duration, backend="numba")
    result = snn.run(net, duration, backend="numba")
    run_s = min([result.wall_time] + [snn.run(net, duration, backend="numba").wall_time
                                      for _ in range(repeats - 1)])
    # With a warm disk cache the first run only loads compiled code: its excess over a timed
    # run is then timing noise, which can be negative.
    return {"run_s": run_s, "compile_s": max(0.0, warmup.wall_time - run_s),
            "build_s": network_build_s + result.build_time,
            "peak_rss_mb": status_mib("VmHWM") if rss_known else None,
            **train_statistics(result.spikes)}


def brian2_objects(spec: BenchmarkSpec, n_neurons: int, draws: Draws
                   ) -> tuple[brian2.Network, brian2.SpikeMonitor]:
    connectivity, initial = draws
    group, syn_exc, syn_inh, monitor = benchmark_network(spec, n_neurons, DT, connectivity,
                                                         initial)
    return brian2.Network(group, syn_exc, syn_inh, monitor), monitor


def measure_brian2_cython(spec: BenchmarkSpec, n_neurons: int, draws: Draws, duration: float,
                          repeats: int) -> Measurement:
    """Runtime mode: one step generates and compiles the code, then ``repeats`` timed runs,
    each continuing the previous one."""
    brian2.prefs.codegen.target = "cython"
    brian2.start_scope()
    rss_known = reset_peak_rss()
    start = time.perf_counter()
    net, monitor = brian2_objects(spec, n_neurons, draws)
    build_s = time.perf_counter() - start
    start = time.perf_counter()
    net.run(DT * brian2.second)
    compile_s = time.perf_counter() - start
    run_s = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        net.run(duration * brian2.second)
        run_s = min(run_s, time.perf_counter() - start)
    return {"run_s": run_s, "compile_s": compile_s, "build_s": build_s,
            "peak_rss_mb": status_mib("VmHWM") if rss_known else None,
            **train_statistics(brian2_trains(monitor, spec, n_neurons, duration))}


def measure_brian2_standalone(spec: BenchmarkSpec, n_neurons: int, draws: Draws,
                              duration: float, repeats: int) -> Measurement:
    """cpp_standalone in a fresh project directory (cold C++ compile); the run time is the
    binary's own timing of its main loop (best of ``repeats`` executions of the binary), and
    the device is reset to runtime afterwards."""
    with tempfile.TemporaryDirectory(prefix=f"engine_{spec.name}_{n_neurons}_") as directory:
        brian2.set_device("cpp_standalone", directory=directory, build_on_run=False)
        try:
            brian2.start_scope()
            net, monitor = brian2_objects(spec, n_neurons, draws)
            net.run(duration * brian2.second)
            start = time.perf_counter()
            brian2.device.build(directory=directory, compile=True, run=True)
            total_s = time.perf_counter() - start
            run_s = float(brian2.device._last_run_time)
            trains = brian2_trains(monitor, spec, n_neurons, duration)
            for _ in range(repeats - 1):
                brian2.device.run(directory=directory, with_output=False)
                run_s = min(run_s, float(brian2.device._last_run_time))
        finally:
            brian2.device.reinit()
            brian2.set_device("runtime")
    # The simulation runs in a child process, so this process's RSS says nothing about it.
    return {"run_s": run_s, "compile_s": total_s - run_s, "build_s": None, "peak_rss_mb": None,
            **train_statistics(trains)}


MEASURES: dict[str, Callable[[BenchmarkSpec, int, Draws, float, int], Measurement]] = {
    "snnsim": measure_snnsim,
    "brian2_cython": measure_brian2_cython,
    "brian2_standalone": measure_brian2_standalone,
}


def find_row(rows: list[Measurement], model: str, n_neurons: int,
             simulator: str) -> Measurement:
    return next(r for r in rows if (r["model"], r["n_neurons"], r["simulator"])
                == (model, n_neurons, simulator))


def format_seconds(value: float | None) -> str:
    return "-" if value is None else f"{value:.3f}"


def print_table(rows: list[Measurement]) -> None:
    header = (f"{'model':<6}{'neurons':>8}  {'simulator':<22}{'run s/sim s':>12}"
              f"{'snnsim/this':>12}{'compile s':>11}{'exc Hz':>8}{'inh Hz':>8}{'exc CV':>8}"
              f"{'peak RSS MiB':>14}")
    print(header)
    print("-" * len(header))
    for row in rows:
        snnsim = find_row(rows, row["model"], row["n_neurons"], "snnsim")
        rss = "-" if row["peak_rss_mb"] is None else f"{row['peak_rss_mb']:.0f}"
        print(f"{row['model']:<6}{row['n_neurons']:>8}  {LABELS[row['simulator']]:<22}"
              f"{row['run_s_per_sim_s']:>12.3f}"
              f"{snnsim['run_s_per_sim_s'] / row['run_s_per_sim_s']:>12.2f}"
              f"{format_seconds(row['compile_s']):>11}{row['exc_rate_hz']:>8.2f}"
              f"{row['inh_rate_hz']:>8.2f}{row['exc_cv_isi']:>8.3f}{rss:>14}")


def summarise(rows: list[Measurement], models: list[str], sizes: list[int]
              ) -> dict[str, dict[str, float]]:
    """Per model: snnsim / Brian2 cpp_standalone at the smallest size and the growth of
    snnsim's run time from the smallest to the largest size."""
    smallest, largest = min(sizes), max(sizes)
    summary = {}
    for model in models:
        snn_small = find_row(rows, model, smallest, "snnsim")["run_s_per_sim_s"]
        standalone = find_row(rows, model, smallest, "brian2_standalone")["run_s_per_sim_s"]
        snn_large = find_row(rows, model, largest, "snnsim")["run_s_per_sim_s"]
        summary[model] = {"ratio_to_standalone": snn_small / standalone,
                          "growth": snn_large / snn_small, "linear_growth": largest / smallest}
        ratio = summary[model]["ratio_to_standalone"]
        verdict = "met" if ratio <= TARGET_RATIO else "NOT met"
        print(f"{model}: snnsim / Brian2 cpp_standalone at {smallest} neurons = {ratio:.2f} "
              f"(target <= {TARGET_RATIO}: {verdict}); snnsim run time {smallest} -> {largest} "
              f"neurons grows {summary[model]['growth']:.1f}x "
              f"(linear = {largest / smallest:.0f}x)")
    return summary


def plot(rows: list[Measurement], models: list[str], sizes: list[int], path: Path) -> None:
    fig, (ax_time, ax_rate) = plt.subplots(1, 2, figsize=(13, 5))
    colours = dict(zip(LABELS, ("tab:red", "tab:blue", "tab:green")))
    styles = dict(zip(models, (("-", "o"), ("--", "s"))))
    for simulator in LABELS:
        for model in models:
            times = [find_row(rows, model, n, simulator)["run_s_per_sim_s"] for n in sizes]
            line, marker = styles[model]
            ax_time.plot(sizes, times, line, marker=marker, color=colours[simulator],
                         label=f"{LABELS[simulator]}, {model.upper()}")
    ax_time.set(xscale="log", yscale="log", xlabel="neurons",
                ylabel="wall time per simulated second (s)", title="Run time")
    ax_time.set_xticks(sizes, [str(n) for n in sizes])
    ax_time.xaxis.set_minor_formatter(NullFormatter())
    ax_time.yaxis.set_major_locator(LogLocator(subs=(1.0, 2.0, 5.0)))
    ax_time.yaxis.set_major_formatter(FormatStrFormatter("%g"))
    ax_time.yaxis.set_minor_formatter(NullFormatter())
    ax_time.grid(True, which="both", alpha=0.3)
    ax_time.legend(fontsize=8)
    groups = [(model, n) for model in models for n in sizes]
    width = 0.8 / len(LABELS)
    for k, simulator in enumerate(LABELS):
        rates = [find_row(rows, model, n, simulator)["exc_rate_hz"] for model, n in groups]
        ax_rate.bar(np.arange(len(groups)) + (k - (len(LABELS) - 1) / 2) * width, rates, width,
                    color=colours[simulator], label=LABELS[simulator])
    ax_rate.set_xticks(np.arange(len(groups)),
                       [f"{model.upper()}\n{n} neurons" for model, n in groups])
    ax_rate.set(ylabel="mean excitatory rate (Hz)", title="Activity (same network, same start)")
    ax_rate.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[4000, 40000])
    parser.add_argument("--duration", type=float, default=1.0, help="simulated seconds")
    parser.add_argument("--models", nargs="+", choices=sorted(BENCHMARKS),
                        default=["cuba", "coba"])
    parser.add_argument("--repeats", type=int, default=3,
                        help="timed runs per simulator; the best is reported")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--out", type=Path, default=RESULTS_DIR)
    args = parser.parse_args()
    if args.repeats < 1:
        parser.error(f"--repeats must be >= 1, got {args.repeats}")
    if args.duration <= 0:
        parser.error(f"--duration must be > 0 s, got {args.duration}")
    args.out.mkdir(parents=True, exist_ok=True)
    machine = machine_info(
        "brian2", brian2_openmp_threads=brian2.prefs.devices.cpp_standalone.openmp_threads)
    in_degrees = sorted({BENCHMARKS[m].p_reference * BENCHMARKS[m].n_reference
                         for m in args.models})
    print(f"CUBA/COBA engine benchmark: sizes {args.sizes}, {args.duration} s simulated, "
          f"dt = {DT * 1e3:g} ms, seed {args.seed}.\nThe connection probability shrinks as "
          f"1/N so every neuron keeps an expected in-degree of "
          f"{' / '.join(f'{d:g}' for d in in_degrees)}; all simulators get the "
          f"same connectivity and initial state.\nsnnsim uses {machine['numba_threads']} "
          f"numba thread(s); Brian2 runs single-threaded.  numba and Brian2 cython cache "
          f"compiled code on disk (a warm cache gives a compile time near 0); cpp_standalone "
          f"compiles each network afresh.", flush=True)

    started = time.perf_counter()
    rows: list[Measurement] = []
    n_configurations = len(args.models) * len(args.sizes) * len(MEASURES)
    for model in args.models:
        spec = BENCHMARKS[model]
        for n_neurons in args.sizes:
            rng = np.random.default_rng(args.seed)
            probability = connection_probability(spec, n_neurons)
            # Same order as build_benchmark(seed=...): initial state, then connectivity.
            initial = draw_initial_state(spec, n_neurons, rng)
            connectivity = draw_connectivity(n_neurons, probability, rng)
            for simulator, measure in MEASURES.items():
                print(f"[{len(rows) + 1}/{n_configurations}] {model} {n_neurons} neurons "
                      f"({connectivity[0].size} synapses): {LABELS[simulator]} ...", flush=True)
                row = measure(spec, n_neurons, (connectivity, initial), args.duration,
                              args.repeats)
                rows.append({"model": model, "n_neurons": n_neurons, "simulator": simulator,
                             "connection_probability": probability,
                             "n_synapses": int(connectivity[0].size),
                             "run_s_per_sim_s": row["run_s"] / args.duration, **row})
    total_s = time.perf_counter() - started

    print()
    print_table(rows)
    print()
    summary = summarise(rows, args.models, args.sizes)
    print(f"total benchmark wall time: {total_s:.0f} s")

    settings = {"sizes": args.sizes, "duration_s": args.duration, "repeats": args.repeats,
                "dt_s": DT,
                "seed": args.seed, "models": args.models, "expected_in_degree": in_degrees,
                "target_ratio_to_standalone": TARGET_RATIO}
    report = {"settings": settings, "machine": machine, "results": rows, "summary": summary,
              "total_wall_s": total_s}
    write_json(args.out / "engine_cuba.json", report)
    plot(rows, args.models, args.sizes, args.out / "engine_cuba.png")
    print(f"wrote {args.out / 'engine_cuba.json'} and {args.out / 'engine_cuba.png'}")


if __name__ == "__main__":
    main()
