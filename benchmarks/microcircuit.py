"""The Potjans & Diesmann (2014) cortical microcircuit: snnsim (numba) beside NEST 3.10.

At each scale (population sizes relative to the full 77,169 neurons; in-degrees kept, so the
synapse count scales too) and each seed, both simulators build the model from the same
parameter preset (:data:`snn.microcircuit.POTJANS_DIESMANN_2014`), simulate the 0.5 s warm-up
and then ``--duration`` seconds, and report per-population rates and CV of ISI, network-build
seconds, seconds per model second of the recorded part, and peak resident memory. Every run
is a subprocess of its own, so that its peak RSS (``ru_maxrss`` of that child from
``os.wait4``, construction included) is its alone.

Run it with::

    python benchmarks/microcircuit.py [--scales 0.05 0.1 0.2 0.5 1] [--seeds 10] \\
        [--full-scale-seeds 3] [--duration 10] [--threads 1 2] [--nest-threads N] \\
        [--weight-dtype float32] [--drive dc] [--skip-nest] [--out benchmarks/results] \\
        [--rate-scale 0.1] [--sweep-seeds 1] [--sweep-duration 2] [--runs-file runs.jsonl]

Rates are compared at full scale and at ``--rate-scale`` (``--seeds`` seeds there, each for
``--duration``); the other reduced scales measure time and memory (``--sweep-seeds`` seeds
of ``--sweep-duration``).  With ``--runs-file`` every finished run is appended to a JSON-lines
file and reused by a later invocation that asks for the same run, so a long sweep can be
split or resumed.  Each run records the machine's load average before and after it; speed
is compared on the fastest run of each simulator, since other load only slows runs down.

For snnsim, the first seed of each scale runs once per ``--threads`` entry (the thread
speed-up); the statistics use the largest thread count. NEST runs with ``--nest-threads``
(default: the CPU count, raised to what its 27-bit connection index needs: each thread
holds fewer than 2**27 connections, so the full model's ~3e8 synapses need at least 3).

It writes ``microcircuit.json``, ``microcircuit_scaling.png`` (time and memory against
synapse count) and ``microcircuit_rates.png`` (rates and CV by population at the largest
scale) to ``--out``, prints the tables, and checks the targets: full scale within 6 GiB peak
including construction; every population's rate within 10 % of NEST's over the same seeds;
seconds per model second at most 0.5x NEST's on the same cores; construction within 120 s;
2 threads at least 1.7x faster than 1. A target whose runs were not made is reported as
NOT RUN, never as met.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
from _common import RESULTS_DIR, machine_info, write_json  # benchmarks/ is on sys.path
from process_memory import status_mib

from snn.microcircuit import POTJANS_DIESMANN_2014, microcircuit_quantities

NAMES = POTJANS_DIESMANN_2014.populations
PUBLISHED = np.array(POTJANS_DIESMANN_2014.published_rates)
NEST_CONNECTIONS_PER_THREAD = 2**27 - 1  # NEST's 27-bit local connection index
GIB = 2**30


# ----------------------------------------------------------------------------- child runs
def _population_stats(spikes: dict) -> dict[str, list[float]]:
    return {"rates": [spikes[name].mean_rate() for name in NAMES],
            "cv_isi": [spikes[name].mean_cv_isi() for name in NAMES]}


def _child_ours(job: dict) -> dict:
    from snn.microcircuit import potjans_diesmann, run_microcircuit

    start = time.perf_counter()
    net = potjans_diesmann(job["scale"], drive=job["drive"], rng=job["seed"],
                           weight_dtype=job["weight_dtype"])
    construct = time.perf_counter() - start
    construct_peak = status_mib("VmHWM")  # construction alone, before the engine lowers it
    estimate = net.memory_estimate(job["duration"])
    start = time.perf_counter()
    recorded, warm = run_microcircuit(net, job["duration"], job["warmup"],
                                      rng=job["seed"] + 10_000, threads=job["threads"])
    total = time.perf_counter() - start
    out = _population_stats(recorded.spikes)
    out.update(
        n_neurons=net.n_neurons, n_synapses=net.n_synapses,
        construct_seconds=construct,
        construct_peak_rss_gib=None if construct_peak is None else construct_peak / 1024,
        # the engine's own estimate, made before the run, to compare with the measured peak
        estimated_peak_gib=estimate.peak / GIB,
        lower_seconds=warm.build_time if warm is not None else recorded.build_time,
        # construction plus the engine's lowering of the network (the first run's build)
        build_seconds=construct + (warm.build_time if warm is not None else 0.0),
        warmup_seconds=warm.wall_time if warm is not None else 0.0,
        simulate_seconds=recorded.wall_time,
        seconds_per_model_second=recorded.wall_time / job["duration"],
        run_seconds_total=total)
    return out


def _child_nest(job: dict) -> dict:
    from snn.peers.nest_microcircuit import run_nest_microcircuit

    result = run_nest_microcircuit(job["scale"], drive=job["drive"], duration=job["duration"],
                                   warmup=job["warmup"], seed=job["seed"] + 1,
                                   threads=job["threads"], isolated=False)
    q = microcircuit_quantities(POTJANS_DIESMANN_2014, job["scale"], 1.0, job["drive"])
    out = _population_stats(result.spikes)
    out.update(n_neurons=int(q.n_neurons.sum()), n_synapses=int(q.n_synapses.sum()),
               nest_connections=result.n_synapses, build_seconds=result.build_seconds,
               warmup_seconds=result.warmup_seconds, simulate_seconds=result.simulate_seconds,
               seconds_per_model_second=result.simulate_seconds / job["duration"])
    return out


def _child(job_path: str, out_path: str) -> None:
    job = json.loads(Path(job_path).read_text())
    result = _child_ours(job) if job["simulator"] == "snnsim" else _child_nest(job)
    Path(out_path).write_text(json.dumps(result))


def _run_in_child(job: dict) -> dict:
    """Run ``job`` in a fresh interpreter; add its peak RSS (GiB) and wall seconds."""
    with tempfile.TemporaryDirectory() as tmp:
        job_path, out_path = Path(tmp) / "job.json", Path(tmp) / "out.json"
        job_path.write_text(json.dumps(job))
        load_before = os.getloadavg()[0]
        start = time.perf_counter()
        env = dict(os.environ)
        if job.get("omp_wait_policy"):
            # OpenMP's waiting threads spin (ACTIVE) or sleep (PASSIVE); with more threads
            # than cores, as NEST needs at full scale here, spinning takes the cores the
            # working threads wait for.
            env["OMP_WAIT_POLICY"] = job["omp_wait_policy"]
        proc = subprocess.Popen([sys.executable, __file__, "--child", str(job_path),
                                 str(out_path)], stdout=subprocess.DEVNULL,
                                stderr=subprocess.PIPE, text=True, env=env)
        stderr = proc.stderr.read()
        _, status, usage = os.wait4(proc.pid, 0)
        proc.returncode = os.waitstatus_to_exitcode(status)
        wall = time.perf_counter() - start
        if proc.returncode != 0:
            return {"error": stderr.strip().splitlines()[-1] if stderr.strip() else
                    f"exit code {proc.returncode}", **job}
        result = json.loads(out_path.read_text())
    # The machine's 1-minute load average before and after: a run on a busy machine is
    # slower, and its timing says so.
    result.update(job, peak_rss_gib=usage.ru_maxrss * 1024 / GIB, child_wall_seconds=wall,
                  load_before=load_before, load_after=os.getloadavg()[0])
    return result


def _run_cached(job: dict, runs_file: Path | None) -> dict:
    """``job``'s result from ``runs_file`` (JSON lines) if a finished run of the same job is
    there, else a new run, appended to it: a sweep that stops loses no finished run, and a
    second invocation reuses them."""
    if runs_file is not None and runs_file.exists():
        for line in runs_file.read_text().splitlines():
            done = json.loads(line)
            if "error" not in done and all(done.get(k) == v for k, v in job.items()) \
                    and done.get("omp_wait_policy") == job.get("omp_wait_policy"):
                return done
    result = _run_in_child(job)
    if runs_file is not None and "error" not in result:
        with runs_file.open("a") as handle:
            handle.write(json.dumps(result) + "\n")
    return result


# ----------------------------------------------------------------------------- the sweep
def nest_threads_needed(n_synapses: int) -> int:
    """Fewest NEST threads whose 27-bit indices hold ``n_synapses`` connections."""
    return max(1, math.ceil(n_synapses / NEST_CONNECTIONS_PER_THREAD))


def _summary(runs: list[dict]) -> dict[str, Any]:
    ok = [r for r in runs if "error" not in r]
    if not ok:
        return {"n_runs": 0, "errors": [r["error"] for r in runs]}
    rates = np.array([r["rates"] for r in ok])
    cvs = np.array([r["cv_isi"] for r in ok], dtype=np.float64)
    out = {"n_runs": len(ok), "rates_mean": rates.mean(0).tolist(),
           "rates_sd": (rates.std(0, ddof=1) if len(ok) > 1 else np.zeros(8)).tolist(),
           "cv_isi_mean": np.nanmean(cvs, 0).tolist()}
    for key in ("build_seconds", "seconds_per_model_second", "peak_rss_gib", "n_synapses",
                "n_neurons"):
        values = np.array([r[key] for r in ok], dtype=np.float64)
        out[key] = float(values.mean())
        out[key + "_max"] = float(values.max())
        out[key + "_min"] = float(values.min())
    if len(ok) < len(runs):
        out["errors"] = [r["error"] for r in runs if "error" in r]
    return out


def _print_table(title: str, header: list[str], rows: list[list[str]]) -> None:
    print(f"\n{title}")
    widths = [max(len(h), *(len(r[k]) for r in rows)) for k, h in enumerate(header)]
    print("  ".join(h.rjust(w) for h, w in zip(header, widths)))
    for row in rows:
        print("  ".join(c.rjust(w) for c, w in zip(row, widths)))


def _fmt(x: float | None, spec: str = ".3f") -> str:
    return "-" if x is None or (isinstance(x, float) and math.isnan(x)) else format(x, spec)


def _targets(report: dict) -> list[dict]:
    """Each target: MET, MISSED (with the measured values) or NOT RUN (with why)."""
    scales = report["scales"]
    full = scales.get("1.0", {})
    ours_full = full.get("snnsim", {})
    out = []

    def add(name: str, status: str, measured: str) -> None:
        out.append({"target": name, "status": status, "measured": measured})

    if ours_full.get("n_runs"):
        peak = ours_full["peak_rss_gib_max"]
        add("full scale peak RSS <= 6 GiB (incl. construction)",
            "MET" if peak <= 6.0 else "MISSED", f"{peak:.2f} GiB")
        build = ours_full["build_seconds_max"]
        add("construction <= 120 s at full scale", "MET" if build <= 120 else "MISSED",
            f"{build:.1f} s")
    else:
        add("full scale peak RSS <= 6 GiB (incl. construction)", "NOT RUN", "no full-scale run")
        add("construction <= 120 s at full scale", "NOT RUN", "no full-scale run")
    # rates and speed: at full scale when run, else at the largest scale both ran (reported)
    both = [s for s, v in scales.items() if v.get("snnsim", {}).get("n_runs")
            and v.get("nest", {}).get("n_runs")]
    if both:
        key = "1.0" if "1.0" in both else max(both, key=float)
        ours, nest = scales[key]["snnsim"], scales[key]["nest"]
        rel = np.abs(np.array(ours["rates_mean"]) / np.array(nest["rates_mean"]) - 1)
        where = f"scale {key}" + ("" if key == "1.0" else " (full scale not run)")
        worst = int(np.argmax(rel))
        # the seed spread of the difference, so that a gap can be told from seed noise
        se = np.sqrt(np.array(ours["rates_sd"]) ** 2 / ours["n_runs"]
                     + np.array(nest["rates_sd"]) ** 2 / nest["n_runs"])
        gap = np.abs(np.array(ours["rates_mean"]) - np.array(nest["rates_mean"]))
        with np.errstate(divide="ignore", invalid="ignore"):
            in_se = gap / se
        add(f"every population's rate within 10 % of NEST's ({where})",
            "MET" if np.all(rel <= 0.10) else "MISSED",
            f"largest gap {rel[worst] * 100:.1f} % ({NAMES[worst]}); gap / seed SE of the "
            f"difference ({ours['n_runs']} and {nest['n_runs']} seeds): "
            + ", ".join(f"{n} {r * 100:.1f}% ({z:.1f} SE)"
                        for n, r, z in zip(NAMES, rel, in_se)))
        # The fastest run of each: other load on the machine only ever slows a run down.
        fast_ours = ours["seconds_per_model_second_min"]
        fast_nest = nest["seconds_per_model_second_min"]
        ratio = fast_ours / fast_nest
        ours_threads = report["threads_ours"]
        add(f"seconds per model second <= 0.5x NEST's ({where}; fastest run of each)",
            "MET" if ratio <= 0.5 else "MISSED",
            f"{fast_ours:.3f} vs {fast_nest:.3f} s/s = {ratio:.2f}x (snnsim {ours_threads} "
            f"threads, NEST {scales[key].get('nest_threads')})")
    else:
        why = "no scale where both simulators ran"
        add("every population's rate within 10 % of NEST's", "NOT RUN", why)
        add("seconds per model second <= 0.5x NEST's", "NOT RUN", why)
    speedups = [(s, v["thread_speedup"]) for s, v in scales.items()
                if v.get("thread_speedup") is not None]
    if speedups:
        key, speedup = max(speedups, key=lambda kv: float(kv[0]))
        add(f"2 threads >= 1.7x faster than 1 (scale {key})",
            "MET" if speedup >= 1.7 else "MISSED", f"{speedup:.2f}x")
    else:
        add("2 threads >= 1.7x faster than 1", "NOT RUN", "--threads did not list 1 and 2")
    return out


def _plots(report: dict, out: Path) -> list[Path]:
    import matplotlib

    matplotlib.use("Agg")  # a script: no display is needed
    import matplotlib.pyplot as plt

    paths = []
    fig, (ax_t, ax_m) = plt.subplots(1, 2, figsize=(11, 4))
    for sim, marker in (("snnsim", "o-"), ("nest", "s--")):
        # Fastest run of each: runs made while other processes held the cores are slower.
        points = sorted((v[sim]["n_synapses"], v[sim]["seconds_per_model_second_min"],
                         v[sim]["peak_rss_gib"], v[sim]["build_seconds_min"])
                        for v in report["scales"].values() if v.get(sim, {}).get("n_runs"))
        if not points:
            continue
        syn, speed, mem, build = (np.array(c) for c in zip(*points))
        ax_t.loglog(syn, speed, marker, label=f"{sim}: s per model s (fastest run)")
        ax_t.loglog(syn, build, marker, alpha=0.5, label=f"{sim}: build s")
        ax_m.loglog(syn, mem, marker, label=sim)
    ax_t.set_xlabel("synapses")
    ax_t.set_ylabel("seconds")
    ax_t.legend(fontsize="small")
    ax_m.axhline(6.0, color="k", lw=0.8, ls=":", label="6 GiB target")
    ax_m.set_xlabel("synapses")
    ax_m.set_ylabel("peak RSS (GiB)")
    ax_m.legend(fontsize="small")
    fig.suptitle("Potjans-Diesmann microcircuit: time and memory against synapse count")
    fig.tight_layout()
    paths.append(out / "microcircuit_scaling.png")
    fig.savefig(paths[-1], dpi=120)
    plt.close(fig)

    ran = [s for s, v in report["scales"].items() if v.get("snnsim", {}).get("n_runs")]
    if ran:
        key = max(ran, key=float)
        entry = report["scales"][key]
        fig, (ax_r, ax_c) = plt.subplots(1, 2, figsize=(11, 4))
        x = np.arange(len(NAMES))
        series = [("snnsim", entry["snnsim"])]
        if entry.get("nest", {}).get("n_runs"):
            series.append(("NEST 3.10", entry["nest"]))
        width = 0.8 / (len(series) + 1)
        for k, (label, s) in enumerate(series):
            ax_r.bar(x + k * width, s["rates_mean"], width, yerr=s["rates_sd"], label=label)
            ax_c.bar(x + k * width, s["cv_isi_mean"], width, label=label)
        ax_r.bar(x + len(series) * width, PUBLISHED, width, label="published (full scale)")
        for ax, ylabel in ((ax_r, "rate (Hz)"), (ax_c, "CV of ISI")):
            ax.set_xticks(x + width * len(series) / 2, NAMES)
            ax.set_ylabel(ylabel)
            ax.legend(fontsize="small")
        fig.suptitle(f"rates and CV by population at scale {key}")
        fig.tight_layout()
        paths.append(out / "microcircuit_rates.png")
        fig.savefig(paths[-1], dpi=120)
        plt.close(fig)
    return paths


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--scales", type=float, nargs="+", default=[0.05, 0.1, 0.2, 0.5, 1.0])
    parser.add_argument("--seeds", type=int, default=10, help="seeds per reduced scale")
    parser.add_argument("--full-scale-seeds", type=int, default=3, help="seeds at scale 1")
    parser.add_argument("--nest-full-scale-seeds", type=int, default=None,
                        help="NEST's seeds at scale 1 (default: --full-scale-seeds)")
    parser.add_argument("--rate-scale", type=float, default=0.1,
                        help="the reduced scale that runs --seeds seeds for --duration; the "
                             "other reduced scales measure time and memory")
    parser.add_argument("--sweep-seeds", type=int, default=1,
                        help="seeds at reduced scales other than --rate-scale")
    parser.add_argument("--sweep-duration", type=float, default=2.0,
                        help="recorded seconds at reduced scales other than --rate-scale")
    parser.add_argument("--runs-file", type=Path, default=None,
                        help="JSON lines of finished runs: reused when the same run is asked "
                             "again, new runs appended")
    parser.add_argument("--duration", type=float, default=10.0,
                        help="recorded simulated seconds after the warm-up")
    parser.add_argument("--warmup", type=float, default=0.5, help="warm-up (s, not recorded)")
    parser.add_argument("--threads", type=int, nargs="+", default=None,
                        help="snnsim thread counts (default: 1 and the CPU count)")
    parser.add_argument("--nest-threads", type=int, default=None,
                        help="NEST threads (default: CPU count, raised to what its 27-bit "
                             "connection index needs)")
    parser.add_argument("--weight-dtype", choices=["float32", "float64"], default="float32")
    parser.add_argument("--drive", choices=["dc", "poisson"], default="dc")
    parser.add_argument("--skip-nest", action="store_true")
    parser.add_argument("--nest-rate-threads", type=int, default=None,
                        help="NEST threads at --rate-scale (default: as --nest-threads); the "
                             "rates there do not depend on it")
    parser.add_argument("--nest-omp-wait-policy", choices=["ACTIVE", "PASSIVE"], default=None,
                        help="OMP_WAIT_POLICY for NEST's runs (default: OpenMP's own)")
    parser.add_argument("--seed", type=int, default=1, help="first seed")
    parser.add_argument("--out", type=Path, default=RESULTS_DIR)
    parser.add_argument("--child", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        _child(*args.child)
        return
    for scale in args.scales:
        if not 0 < scale <= 1:
            parser.error(f"--scales must lie in (0, 1], got {scale}")
    if args.duration <= 0 or args.warmup < 0 or args.seeds < 1 or args.full_scale_seeds < 1:
        parser.error("--duration must be > 0, --warmup >= 0, seeds >= 1")
    cpus = os.cpu_count() or 1
    threads = sorted(set(args.threads or [1, cpus]))
    if threads[0] < 1 or (args.nest_threads is not None and args.nest_threads < 1):
        parser.error("thread counts must be >= 1")
    report: dict[str, Any] = {
        "machine": machine_info("nest-simulator"),
        "model": POTJANS_DIESMANN_2014.source, "published_rates": PUBLISHED.tolist(),
        "populations": list(NAMES), "duration": args.duration, "warmup": args.warmup,
        "drive": args.drive, "weight_dtype": args.weight_dtype, "threads": threads,
        "threads_ours": threads[-1], "scales": {}, "runs": []}
    for scale in args.scales:
        n_seeds = (args.full_scale_seeds if scale == 1.0 else
                   args.seeds if scale == args.rate_scale else args.sweep_seeds)
        n_nest_seeds = (args.nest_full_scale_seeds or n_seeds) if scale == 1.0 else n_seeds
        duration = (args.duration if scale in (1.0, args.rate_scale) else
                    args.sweep_duration)
        q = microcircuit_quantities(POTJANS_DIESMANN_2014, scale, 1.0, args.drive)
        needed = nest_threads_needed(int(q.n_synapses.sum()))
        nest_threads = args.nest_threads if args.nest_threads is not None else max(cpus, needed)
        if scale == args.rate_scale and args.nest_rate_threads is not None:
            nest_threads = max(args.nest_rate_threads, needed)
        entry: dict[str, Any] = {"nest_threads": nest_threads, "nest_threads_needed": needed,
                                 "n_synapses": int(q.n_synapses.sum())}
        ours_runs, nest_runs, by_threads = [], [], {}
        for k in range(max(n_seeds, n_nest_seeds)):
            seed = args.seed + k
            counts = threads if k == 0 else threads[-1:]
            for n_threads in counts if k < n_seeds else []:
                job = dict(simulator="snnsim", scale=scale, seed=seed, drive=args.drive,
                           duration=duration, warmup=args.warmup,
                           weight_dtype=args.weight_dtype, threads=n_threads)
                result = _run_cached(job, args.runs_file)
                report["runs"].append(result)
                print(f"snnsim scale {scale:g} seed {seed} threads {n_threads}: "
                      + (result.get("error") or
                         f"{result['seconds_per_model_second']:.3f} s/s, build "
                         f"{result['build_seconds']:.1f} s, {result['peak_rss_gib']:.2f} GiB"),
                      flush=True)
                if k == 0 and "error" not in result:
                    by_threads[n_threads] = result["seconds_per_model_second"]
                if n_threads == threads[-1]:
                    ours_runs.append(result)
            if not args.skip_nest and k < n_nest_seeds:
                if nest_threads < needed:
                    result = {"error": f"NEST needs >= {needed} threads here, given "
                                       f"{nest_threads}", "simulator": "nest", "scale": scale}
                else:
                    job = dict(simulator="nest", scale=scale, seed=seed, drive=args.drive,
                               duration=duration, warmup=args.warmup,
                               threads=nest_threads)
                    if args.nest_omp_wait_policy:
                        job["omp_wait_policy"] = args.nest_omp_wait_policy
                    result = _run_cached(job, args.runs_file)
                report["runs"].append(result)
                print(f"NEST   scale {scale:g} seed {seed} threads {nest_threads}: "
                      + (result.get("error") or
                         f"{result['seconds_per_model_second']:.3f} s/s, build "
                         f"{result['build_seconds']:.1f} s, {result['peak_rss_gib']:.2f} GiB"),
                      flush=True)
                nest_runs.append(result)
        entry["snnsim"] = _summary(ours_runs)
        if nest_runs:
            entry["nest"] = _summary(nest_runs)
        entry["seconds_per_model_second_by_threads"] = {str(t): v for t, v in by_threads.items()}
        entry["thread_speedup"] = (by_threads[1] / by_threads[2]
                                   if 1 in by_threads and 2 in by_threads else None)
        report["scales"][str(float(scale))] = entry

    for key, entry in report["scales"].items():
        rows = []
        for i, name in enumerate(NAMES):
            ours, nest = entry["snnsim"], entry.get("nest", {})
            rows.append([name, _fmt(PUBLISHED[i]),
                         _fmt(ours["rates_mean"][i]) if ours.get("n_runs") else "-",
                         _fmt(ours["rates_sd"][i]) if ours.get("n_runs") else "-",
                         _fmt(nest["rates_mean"][i]) if nest.get("n_runs") else "-",
                         _fmt(nest["rates_sd"][i]) if nest.get("n_runs") else "-",
                         _fmt(ours["cv_isi_mean"][i]) if ours.get("n_runs") else "-",
                         _fmt(nest["cv_isi_mean"][i]) if nest.get("n_runs") else "-"])
        _print_table(f"scale {key}: rates (Hz, mean and SD over seeds) and CV of ISI",
                     ["pop", "published", "snnsim", "sd", "NEST", "sd", "CV snnsim", "CV NEST"],
                     rows)
    rows = []
    for key, entry in report["scales"].items():
        for sim in ("snnsim", "nest"):
            s = entry.get(sim, {})
            if s.get("n_runs"):
                rows.append([key, sim, f"{s['n_neurons']:.0f}", f"{s['n_synapses']:.3g}",
                             _fmt(s["build_seconds"], ".2f"),
                             _fmt(s["seconds_per_model_second"], ".3f"),
                             _fmt(s["seconds_per_model_second_min"], ".3f"),
                             _fmt(s["peak_rss_gib"], ".2f"),
                             str(report["threads_ours"] if sim == "snnsim"
                                 else entry["nest_threads"])])
    _print_table("timings and memory (means over seeds, and the fastest run)",
                 ["scale", "simulator", "neurons", "synapses", "build s", "s per model s",
                  "fastest", "peak GiB", "threads"], rows)
    report["targets"] = _targets(report)
    print("\ntargets")
    for t in report["targets"]:
        print(f"  {t['status']:8s} {t['target']}: {t['measured']}")
    args.out.mkdir(parents=True, exist_ok=True)
    report["figures"] = [str(p) for p in _plots(report, args.out)]
    path = write_json(args.out / "microcircuit.json", report)
    print(f"\nwrote {path} and {', '.join(report['figures'])}")


if __name__ == "__main__":
    main()
