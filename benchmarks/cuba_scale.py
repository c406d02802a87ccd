"""CUBA at a fixed 2 % connection probability up to 2e8 synapses: snnsim beside Brian2's
cpp_standalone, time and memory against the synapse count.

The CUBA network of Brette et al. (2007) (``snn.benchmark_networks``) scaled the way the
large-scale comparisons of simulators scale it: the connection probability stays at
p = 0.02, so N neurons carry about 0.02 N^2 synapses (4000: 3.2e5; 40,000: 3.2e7; 100,000:
2e8), and every weight is multiplied by 4000 / N so that the mean input of a neuron
(in-degree x weight) equals the 4000-neuron reference network's.  The fluctuations of the
input shrink as 1 / N, so the table reports the rates and CV of ISI at every size beside the
4000-neuron network's, to show the activity stays in the reference regime.
(``benchmarks/engine_cuba.py`` scales the other way: in-degree 80 at every size.)

Each simulator draws its own connectivity with the same law -- each (pre, post) pair present
independently with probability 0.02, no multapses, autapses allowed: snnsim with
``draw_connectivity_lean`` (int32 pairs, binomial counts then distinct targets per row),
Brian2 with ``connect(p=0.02)`` in its generated C++ code -- so the networks have the same
statistics, not the same draw (shipping 2e8 pairs to Brian2 would measure the file transfer).
The initial membrane potentials are the same draw in both.

Every measurement runs in a fresh subprocess, so that its peak resident memory (RSS) is its
own: for snnsim the whole process (network construction, lowering and run); for Brian2 the
compiled simulation binary (its own C++ network construction and run), measured by a
wrapper around it, with the Python process that generates and compiles the code reported
apart.  Times: seconds of wall time per model second of the simulation loop alone (snnsim's
``SimulationResult.wall_time``; Brian2's own timing of its main loop), network-build seconds
(snnsim: ``build_benchmark`` plus lowering the network for the engine; Brian2: the binary's
time outside its main loop, i.e. connecting, initialising and writing its results) and
Brian2's code generation + C++ compilation apart.  snnsim's compiled code is loaded (or
compiled once) on an unconnected network of the same size before the timed run.  CPU
seconds (all threads) of the simulating stage show how busy the cores were on a loaded
machine: for snnsim ``snn.run`` (lowering and loop), for Brian2 its binary (connecting and
loop).

Threads: snnsim runs with ``threads=`` on ``snn.run``; Brian2 with ``openmp_threads`` set to
the same count.  Run it with::

    python benchmarks/cuba_scale.py --sizes 4000 40000 100000 --duration 1 --threads 2

(``--threads 1 2`` measures both counts; ``--simulators snnsim`` leaves Brian2 out).  It
writes ``cuba_scale.json`` and ``cuba_scale.png`` to ``--out``.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
from _common import RESULTS_DIR, machine_info, write_json  # benchmarks/ is on sys.path

P_FIXED = 0.02  # connection probability at every size
DT = 1e-4  # s
SIMULATORS = ("snnsim", "brian2_standalone")
LABELS = {"snnsim": "snnsim numba", "brian2_standalone": "Brian2 cpp_standalone"}
REFERENCE_SIZE = 4000  # the published network; its rates are the reference regime

Measurement = dict[str, Any]


def peak_rss_mib() -> float:
    """Peak resident memory (MiB) of this process so far (Linux)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def available_memory_gib() -> float | None:
    """``MemAvailable`` of ``/proc/meminfo`` (GiB), where known."""
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemAvailable:"):
                return int(line.split()[1]) / 2**20
    except OSError:
        pass
    return None


def train_statistics(trains: dict) -> Measurement:
    """Mean rate (Hz) and mean CV of ISI (neurons with >= 3 spikes) of ``exc`` and ``inh``.

    engine_cuba.py's function of the same name, which this one must match, is not imported:
    that module imports Brian2, which would weigh on the peak RSS measured for snnsim."""
    stats: Measurement = {}
    for population, spikes in trains.items():
        stats[f"{population}_rate_hz"] = spikes.mean_rate()
        stats[f"{population}_cv_isi"] = spikes.mean_cv_isi(min_spikes=3)
    return stats


# --- workers: each runs in its own process -------------------------------------------------

def measure_snnsim(n_neurons: int, duration: float, threads: int, seed: int,
                   stage: dict[str, str]) -> Measurement:

    import snn
    from snn.benchmark_networks import build_benchmark

    run_options: dict[str, Any] = {"threads": threads}
    threads_via = "snn.run(threads=)"
    # Load (or compile once) the engine loop for a network of this size, so that the timed
    # run measures simulation only; without synapses the network costs nothing to build.
    none = np.zeros(0, dtype=np.int32)
    stage["stage"] = "loading the compiled loop"
    start = time.perf_counter()
    warm = build_benchmark("cuba", n_neurons, rng=seed, connectivity=(none, none),
                           scaling="fixed_p")
    snn.run(warm, 20 * DT, rng=seed, **run_options)
    compile_s = time.perf_counter() - start
    del warm
    stage["stage"] = "network construction"
    start = time.perf_counter()
    net = build_benchmark("cuba", n_neurons, rng=seed, scaling="fixed_p")
    network_s = time.perf_counter() - start
    network_rss = peak_rss_mib()
    n_synapses = sum(proj.n_synapses for proj in net.projections)
    # Network.memory_estimate(duration), where the engine offers it: what it expects.
    estimate = getattr(net, "memory_estimate", None)
    stage["stage"] = "snn.run (lowering and simulation)"
    cpu_start = time.process_time()
    result = snn.run(net, duration, rng=seed, **run_options)
    cpu_s = time.process_time() - cpu_start  # lowering and run, all threads
    return {"run_s": result.wall_time, "build_s": network_s + result.build_time,
            "network_s": network_s, "lowering_s": result.build_time, "compile_s": compile_s,
            "cpu_s": cpu_s, "peak_rss_mib": peak_rss_mib(),
            "peak_rss_network_mib": network_rss,
            "memory_estimate": None if estimate is None else str(estimate(duration)),
            "n_synapses": n_synapses, "threads_via": threads_via,
            **train_statistics(result.spikes)}


def measure_brian2_standalone(n_neurons: int, duration: float, threads: int, seed: int,
                              stage: dict[str, str]) -> Measurement:
    import brian2
    from engine_cuba import brian2_trains

    from snn.benchmark_networks import (
        CUBA,
        connection_probability,
        draw_initial_state,
        synaptic_weights,
    )
    from snn.peers.brian2_models import neuron_group

    p = connection_probability(CUBA, n_neurons, "fixed_p")
    w_exc, w_inh = synaptic_weights(CUBA, n_neurons, "fixed_p")
    n_exc = int(round(CUBA.exc_fraction * n_neurons))
    # Same first draw as build_benchmark(rng=seed): the initial potentials.
    initial = draw_initial_state(CUBA, n_neurons, np.random.default_rng(seed))
    with tempfile.TemporaryDirectory(prefix=f"cuba_scale_{n_neurons}_") as directory:
        usage = Path(directory) / "binary_usage.json"
        brian2.set_device("cpp_standalone", directory=directory, build_on_run=False)
        brian2.prefs.devices.cpp_standalone.openmp_threads = threads
        # The binary runs under this script's --measure wrapper, which records its peak RSS.
        brian2.prefs.devices.cpp_standalone.run_cmd_unix = [
            sys.executable, str(Path(__file__).resolve()), "--measure", str(usage), "./main"]
        brian2.seed(seed)
        stage["stage"] = "code generation and compilation"
        start = time.perf_counter()
        group = neuron_group(CUBA.params, n_neurons, DT, name="P")
        group.v = initial["v"] * brian2.volt
        syn_e = brian2.Synapses(group[:n_exc], group, on_pre=f"ie_post += {w_exc!r}*amp",
                                dt=DT * brian2.second, name="syn_e")
        syn_e.connect(p=p)
        syn_i = brian2.Synapses(group[n_exc:], group, on_pre=f"ii_post += {w_inh!r}*amp",
                                dt=DT * brian2.second, name="syn_i")
        syn_i.connect(p=p)
        monitor = brian2.SpikeMonitor(group, name="spikes")
        net = brian2.Network(group, syn_e, syn_i, monitor)
        net.run(duration * brian2.second)
        brian2.device.build(directory=directory, compile=True, run=False)
        compile_s = time.perf_counter() - start
        python_rss = peak_rss_mib()
        stage["stage"] = "the simulation binary"
        brian2.device.run(directory=directory, with_output=False)
        binary = json.loads(usage.read_text())
        run_s = float(brian2.device._last_run_time)
        n_synapses = len(syn_e) + len(syn_i)
        trains = brian2_trains(monitor, CUBA, n_neurons, duration)
    return {"run_s": run_s, "build_s": binary["wall_s"] - run_s, "compile_s": compile_s,
            "cpu_s": binary["cpu_s"], "peak_rss_mib": binary["peak_rss_mib"],
            "python_peak_rss_mib": python_rss,
            "n_synapses": int(n_synapses), "threads_via": "openmp_threads",
            **train_statistics(trains)}


WORKERS = {"snnsim": measure_snnsim, "brian2_standalone": measure_brian2_standalone}


def measure_command(usage: Path, command: list[str]) -> int:
    """Run ``command``; write its wall time and peak RSS (its own, from ``wait4``) to
    ``usage`` as JSON; return its exit status."""
    start = time.perf_counter()
    process = subprocess.Popen(command)
    _, status, rusage = os.wait4(process.pid, 0)
    wall_s = time.perf_counter() - start
    usage.write_text(json.dumps({"wall_s": wall_s, "peak_rss_mib": rusage.ru_maxrss / 1024,
                                 "cpu_s": rusage.ru_utime + rusage.ru_stime}))
    return os.waitstatus_to_exitcode(status)


# --- the driver ----------------------------------------------------------------------------

def measure_in_subprocess(simulator: str, n_neurons: int, duration: float, threads: int,
                          seed: int, timeout: float, memory_limit_gib: float
                          ) -> Measurement:
    """One measurement in a fresh Python process, its data (and its children's) limited to
    ``memory_limit_gib``; a failure is returned as ``error``."""
    with tempfile.TemporaryDirectory(prefix="cuba_scale_") as directory:
        out = Path(directory) / "measurement.json"
        command = [sys.executable, str(Path(__file__).resolve()), "--worker", simulator,
                   "--n-neurons", str(n_neurons), "--duration", str(duration), "--threads",
                   str(threads), "--seed", str(seed), "--result", str(out),
                   "--memory-limit-gib", str(memory_limit_gib)]
        start = time.perf_counter()
        try:
            done = subprocess.run(command, timeout=timeout, capture_output=True, text=True)
        except subprocess.TimeoutExpired:
            return {"error": f"timed out after {timeout:g} s"}
        if not out.exists():
            tail = (done.stderr or done.stdout or "").strip().splitlines()[-12:]
            last = tail[-1] if tail else "no output"
            return {"error": f"exit status {done.returncode}: {last}", "stderr_tail": tail}
        row = json.loads(out.read_text())
        row["process_wall_s"] = time.perf_counter() - start
        return row


def fmt(value: float | None, width: int, spec: str) -> str:
    """``value`` formatted by ``spec`` (``-`` where it is missing), right-aligned in
    ``width`` characters."""
    return f"{'-' if value is None else format(value, spec):>{width}}"


def print_table(rows: list[Measurement]) -> None:
    header = (f"{'neurons':>8}{'synapses':>11}  {'simulator':<22}{'thr':>4}"
              f"{'run s/model s':>14}{'build s':>9}{'compile s':>10}{'CPU s':>8}"
              f"{'peak RSS MiB':>13}{'exc Hz':>8}{'inh Hz':>8}{'exc CV':>8}")
    print(header)
    print("-" * len(header))
    for row in rows:
        prefix = (f"{row['n_neurons']:>8}{fmt(row.get('n_synapses'), 11, '.3g')}  "
                  f"{LABELS[row['simulator']]:<22}{row['threads']:>4}")
        if "error" in row:
            print(f"{prefix}  FAILED: {row['error']}")
            continue
        print(f"{prefix}{row['run_s_per_model_s']:>14.3f}{row['build_s']:>9.2f}"
              f"{row['compile_s']:>10.2f}{row['cpu_s']:>8.1f}{row['peak_rss_mib']:>13.0f}{row['exc_rate_hz']:>8.2f}"
              f"{row['inh_rate_hz']:>8.2f}{fmt(row['exc_cv_isi'], 8, '.3f')}")


def rates_against_reference(rows: list[Measurement]) -> list[Measurement]:
    """Each run's rates beside the same simulator's at the reference size (4000 neurons,
    the published network), where it was measured."""
    reference = {(r["simulator"], r["threads"]): r for r in rows
                 if r["n_neurons"] == REFERENCE_SIZE and "error" not in r}
    out = []
    for row in rows:
        ref = reference.get((row["simulator"], row["threads"]))
        if ref is None or "error" in row or row is ref:
            continue
        out.append({"simulator": row["simulator"], "threads": row["threads"],
                    "n_neurons": row["n_neurons"],
                    "exc_rate_ratio": row["exc_rate_hz"] / ref["exc_rate_hz"],
                    "inh_rate_ratio": row["inh_rate_hz"] / ref["inh_rate_hz"]})
        print(f"{LABELS[row['simulator']]}, {row['threads']} thread(s), {row['n_neurons']} "
              f"neurons: exc rate {row['exc_rate_hz']:.2f} Hz = "
              f"{out[-1]['exc_rate_ratio']:.2f}x the {REFERENCE_SIZE}-neuron network's")
    return out


def plot(rows: list[Measurement], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")  # a script: choosing the backend here changes no importer's
    import matplotlib.pyplot as plt
    from matplotlib.ticker import FormatStrFormatter, NullFormatter

    fig, (ax_run, ax_build, ax_mem) = plt.subplots(1, 3, figsize=(16, 5))
    colours = {"snnsim": "tab:red", "brian2_standalone": "tab:green"}
    markers = ["o", "s", "^", "D"]
    thread_counts = sorted({r["threads"] for r in rows})
    for simulator in SIMULATORS:
        for k, threads in enumerate(thread_counts):
            done = sorted((r for r in rows if r["simulator"] == simulator
                           and r["threads"] == threads and "error" not in r),
                          key=lambda r: r["n_neurons"])
            if not done:
                continue
            # The expected count: each simulator's draw differs from it by ~1e-4 relative.
            synapses = [P_FIXED * r["n_neurons"] ** 2 for r in done]
            style = {"color": colours[simulator], "marker": markers[k % len(markers)],
                     "label": f"{LABELS[simulator]}, {threads} thread(s)"}
            ax_run.plot(synapses, [r["run_s_per_model_s"] for r in done], "-", **style)
            ax_build.plot(synapses, [r["build_s"] for r in done], "-", **style)
            if simulator == "brian2_standalone":
                ax_build.plot(synapses, [r["compile_s"] for r in done], ":",
                              **{**style, "label": f"{style['label']}: code generation "
                                                   f"+ compilation"})
            ax_mem.plot(synapses, [r["peak_rss_mib"] / 1024 for r in done], "-", **style)
    titles = (("wall time per model second (s)", "Simulation loop"),
              ("seconds", "Network construction"),
              ("peak RSS (GiB)", "Peak memory of the simulating process"))
    sizes = sorted({r["n_neurons"] for r in rows})
    for ax, (ylabel, title) in zip((ax_run, ax_build, ax_mem), titles):
        ax.set(xscale="log", yscale="log", xlabel="synapses (expected)", ylabel=ylabel,
               title=title)
        ax.set_xticks([P_FIXED * n ** 2 for n in sizes],
                      [f"{P_FIXED * n ** 2:.2g}\n{n} neurons" for n in sizes])
        ax.xaxis.set_minor_formatter(NullFormatter())
        ax.yaxis.set_major_formatter(FormatStrFormatter("%g"))
        ax.yaxis.set_minor_formatter(NullFormatter())
        ax.grid(True, which="both", alpha=0.3)
        if ax.get_legend_handles_labels()[0]:
            ax.legend(fontsize=7)
    fig.suptitle(f"CUBA at p = {P_FIXED} (weights x 4000/N)")
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[4000, 40000])
    parser.add_argument("--duration", type=float, default=1.0, help="model seconds")
    parser.add_argument("--threads", type=int, nargs="+", default=[os.cpu_count() or 1],
                        help="thread counts (snnsim numba threads = Brian2 openmp_threads)")
    parser.add_argument("--simulators", nargs="+", choices=SIMULATORS, default=list(SIMULATORS))
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--timeout", type=float, default=3600.0,
                        help="seconds allowed to each measurement's process")
    parser.add_argument("--memory-limit-gib", type=float, default=None,
                        help="data memory allowed to each measurement's process, so that a "
                             "network too large fails with MemoryError instead of pushing "
                             "the machine out of memory (default: 90%% of the memory "
                             "available at the start)")
    parser.add_argument("--out", type=Path, default=RESULTS_DIR)
    # Internal: one measurement (--worker) or the wrapper of Brian2's binary (--measure).
    parser.add_argument("--worker", choices=SIMULATORS, help=argparse.SUPPRESS)
    parser.add_argument("--n-neurons", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--result", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--measure", nargs=argparse.REMAINDER, help=argparse.SUPPRESS)
    parser.add_argument("--replot", type=Path, default=None,
                        help="redraw the figure of a cuba_scale.json into --out and stop")
    args = parser.parse_args()
    if args.replot:
        args.out.mkdir(parents=True, exist_ok=True)
        plot(json.loads(args.replot.read_text())["results"], args.out / "cuba_scale.png")
        return
    if args.measure:
        sys.exit(measure_command(Path(args.measure[0]), args.measure[1:]))
    if args.worker:
        if args.memory_limit_gib is not None:
            limit = int(args.memory_limit_gib * 2**30)
            resource.setrlimit(resource.RLIMIT_DATA, (limit, limit))
        stage = {"stage": "start"}
        try:
            row = WORKERS[args.worker](args.n_neurons, args.duration, args.threads[0],
                                       args.seed, stage)
        except MemoryError as error:  # the --memory-limit-gib limit: say where and how much
            row = {"error": f"MemoryError in {stage['stage']} at a peak RSS of "
                            f"{peak_rss_mib():.0f} MiB: {error}"}
        args.result.write_text(json.dumps(row))
        return
    if args.duration <= 0:
        parser.error(f"--duration must be > 0 model seconds, got {args.duration}")
    if min(args.sizes) < 5:
        parser.error(f"--sizes must be >= 5 neurons, got {args.sizes}")
    if min(args.threads) < 1:
        parser.error(f"--threads must be >= 1, got {args.threads}")
    if args.memory_limit_gib is None:
        available = available_memory_gib()
        args.memory_limit_gib = round(0.9 * available, 1) if available else 1e6
    if args.memory_limit_gib <= 0:
        parser.error(f"--memory-limit-gib must be > 0, got {args.memory_limit_gib}")

    machine = machine_info("brian2")
    print(f"CUBA at fixed p = {P_FIXED}: sizes {args.sizes}, {args.duration} model s, "
          f"dt = {DT * 1e3:g} ms, threads {args.threads}, seed {args.seed}; weights x 4000/N; "
          f"each simulator draws its own connectivity with the same law; one process per "
          f"measurement, its data memory limited to {args.memory_limit_gib:g} GiB.",
          flush=True)
    started = time.perf_counter()
    rows: list[Measurement] = []
    plan = [(n, t, s) for n in args.sizes for t in args.threads for s in args.simulators]
    for k, (n_neurons, threads, simulator) in enumerate(plan, 1):
        print(f"[{k}/{len(plan)}] {n_neurons} neurons (~{P_FIXED * n_neurons ** 2:.3g} "
              f"synapses), {LABELS[simulator]}, {threads} thread(s) ...", flush=True)
        row = measure_in_subprocess(simulator, n_neurons, args.duration, threads, args.seed,
                                    args.timeout, args.memory_limit_gib)
        if "run_s" in row:
            row["run_s_per_model_s"] = row["run_s"] / args.duration
        rows.append({"n_neurons": n_neurons, "simulator": simulator, "threads": threads,
                     **row})
        if "error" in row:
            print(f"    failed: {row['error']}", flush=True)
    total_s = time.perf_counter() - started

    print()
    print_table(rows)
    print()
    regime = rates_against_reference(rows)
    print(f"total benchmark wall time: {total_s:.0f} s")
    settings = {"sizes": args.sizes, "duration_s": args.duration, "threads": args.threads,
                "simulators": args.simulators, "dt_s": DT, "seed": args.seed,
                "connection_probability": P_FIXED,
                "memory_limit_gib": args.memory_limit_gib,
                "weight_scaling": "w * 4000 / n_neurons (mean input per neuron kept)"}
    report = {"settings": settings, "machine": machine, "results": rows,
              "rates_vs_reference_size": regime, "total_wall_s": total_s}
    args.out.mkdir(parents=True, exist_ok=True)
    write_json(args.out / "cuba_scale.json", report)
    plot(rows, args.out / "cuba_scale.png")
    print(f"wrote {args.out / 'cuba_scale.json'} and {args.out / 'cuba_scale.png'}")


if __name__ == "__main__":
    main()
