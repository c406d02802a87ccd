"""First-run cost of ``snn demo``: compilation of each demo section from an empty cache.

Each section of ``snn demo`` runs in a fresh Python process with empty compiled-code caches
(``SNNSIM_CACHE_DIR`` and ``NUMBA_CACHE_DIR`` pointing at a new temporary folder): that is
the *cold* run, what a fresh install pays.  The same command then runs again on the cache it
left: the *warm* run.  Their difference is the cost of compiling.  The whole demo (all
sections in one process) is measured the same way.

Run it with::

    python benchmarks/cold_compile.py [--sections engine layers ...] [--repeats 1] \
        [--full] [--out benchmarks/results]

By default the sections run with small workloads (a few simulated milliseconds, one or two
training steps or epochs): compilation does not depend on how long a section runs, and the
warm run then shows what remains besides compiling (imports, data, the little work left).
``--full`` runs the demo's default workloads instead.

Times: the wall time of each child process and its CPU time (user + system, read with
``resource.getrusage(RUSAGE_CHILDREN)``, which includes the demo's background warm-up process:
when several sections run, it compiles the later sections' kernels beside the first one, so
the CPU time counts both processes and the wall time is what the user waits).  On a machine
shared with other work the CPU time is the robust figure; with ``--repeats N`` the minimum
of N runs is reported.  Each child also records which numba functions compiled and for
which argument types (numba's ``numba:compile`` events: inclusive compile seconds, nested
compiles counted in their caller), and how many were loaded from the cache.

It prints a table and writes ``cold_compile.json`` and ``cold_compile.png`` to ``--out``.
The target: the whole demo's cold compile under 20 s (``compile_wall_s``, the wait; the CPU
time ``compile_cpu_s`` is reported beside it).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
SECTIONS = ("engine", "plasticity", "layers", "delays", "hardware", "continual", "reservoir")
# Small workloads: every section still calls every compiled function it uses.
QUICK_ARGS = ["--duration", "0.02", "--stdp-duration", "0.05", "--train-steps", "2",
              "--delay-epochs", "1", "--hardware-epochs", "1", "--hardware-seeds", "1",
              "--hardware-times", "1"]
TARGET_S = 20.0
OUR_PACKAGES = ("snn.", "hardware_models.")

Measurement = dict[str, Any]

# Runs in the child: the demo with numba's compile events recorded (CPU seconds of the
# process while each compiled), then a summary of every
# numba dispatcher of the package (signatures compiled or loaded from the cache).
CHILD = r"""
import json, sys, time
from numba.core import event
from numba.core.registry import CPUDispatcher

records = []

class _Listener(event.Listener):
    def __init__(self):
        self.stack = []

    def on_start(self, ev):
        self.stack.append(time.process_time())

    def on_end(self, ev):
        start = self.stack.pop()
        d = ev.data["dispatcher"]
        records.append({"function": f"{d.py_func.__module__}.{d.py_func.__qualname__}",
                        "args": str(tuple(ev.data["args"])), "seconds": time.process_time() - start,
                        "depth": len(self.stack)})

event.register("numba:compile", _Listener())
from snn.cli import main

main(sys.argv[2:])
dispatchers = []
for name, module in list(sys.modules.items()):
    if not (name.startswith("snn") or name.startswith("hardware_models")):
        continue
    for attr, value in list(vars(module).items()):
        if isinstance(value, CPUDispatcher) and value.py_func.__module__ == name:
            stats = value.stats
            if value.signatures or stats.cache_hits:
                dispatchers.append({"function": f"{name}.{value.py_func.__qualname__}",
                                    "signatures": len(value.signatures),
                                    "cache_hits": sum(stats.cache_hits.values()),
                                    "cache_misses": sum(stats.cache_misses.values()),
                                    "parallel": bool(value.targetoptions.get("parallel"))})
with open(sys.argv[1], "w") as f:
    json.dump({"compiles": records, "dispatchers": dispatchers}, f)
"""


def _cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def run_demo(sections: list[str], cache: Path, extra: list[str]) -> Measurement:
    """One ``snn demo --sections ...`` in a child process using the caches under ``cache``."""
    env = dict(os.environ, SNNSIM_CACHE_DIR=str(cache / "snnsim"),
               NUMBA_CACHE_DIR=str(cache / "numba"), MPLBACKEND="Agg",
               PYTHONPATH=os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]))
    with tempfile.TemporaryDirectory() as work:
        events = Path(work) / "events.json"
        cmd = [sys.executable, "-c", CHILD, str(events), "demo", "--sections", *sections,
               "--output", str(Path(work) / "out"), *extra]
        cpu0, wall0 = _cpu_seconds(), time.perf_counter()
        proc = subprocess.run(cmd, env=env, capture_output=True, text=True)
        wall, cpu = time.perf_counter() - wall0, _cpu_seconds() - cpu0
        if proc.returncode != 0:
            raise RuntimeError(f"demo {sections} failed:\n{proc.stdout[-3000:]}\n"
                               f"{proc.stderr[-3000:]}")
        detail = json.loads(events.read_text())
    top = [r for r in detail["compiles"] if r["depth"] == 0]
    return {"wall_s": wall, "cpu_s": cpu, "compile_s": sum(r["seconds"] for r in top),
            "n_compiles": len(detail["compiles"]), **detail}


def measure(sections: list[str], extra: list[str], repeats: int) -> Measurement:
    """Cold then warm runs of ``sections``, each the best of ``repeats``."""
    colds, warms = [], []
    for _ in range(repeats):
        cache = Path(tempfile.mkdtemp(prefix="snn-cold-compile-"))
        try:
            colds.append(run_demo(sections, cache, extra))
            warms.append(run_demo(sections, cache, extra))
        finally:
            shutil.rmtree(cache, ignore_errors=True)
    cold = min(colds, key=lambda m: m["cpu_s"])
    warm = min(warms, key=lambda m: m["cpu_s"])
    cold_wall, warm_wall = min(m["wall_s"] for m in colds), min(m["wall_s"] for m in warms)
    return {
        "sections": sections,
        "cold_wall_s": cold_wall, "cold_cpu_s": cold["cpu_s"],
        "warm_wall_s": warm_wall, "warm_cpu_s": warm["cpu_s"],
        # What compiling costs: CPU (both processes when the demo's background warm-up
        # runs) and the wait it adds.
        "compile_cpu_s": cold["cpu_s"] - warm["cpu_s"], "compile_wall_s": cold_wall - warm_wall,
        "compile_events_s": cold["compile_s"], "n_compiles": cold["n_compiles"],
        "warm_n_compiles": warm["n_compiles"],
        "compiles": cold["compiles"], "dispatchers": cold["dispatchers"],
        "warm_dispatchers": warm["dispatchers"],
    }


def print_table(rows: list[Measurement]) -> None:
    header = (f"{'section':<10} {'cold wall':>9} {'cold CPU':>9} {'warm wall':>9} "
              f"{'warm CPU':>9} {'compile CPU':>11} {'compile wall':>12} {'numba compile':>13} "
              f"{'compiles':>8}")
    print(header)
    print("-" * len(header))
    for row in rows:
        print(f"{row['name']:<10} {row['cold_wall_s']:9.1f} {row['cold_cpu_s']:9.1f} "
              f"{row['warm_wall_s']:9.1f} {row['warm_cpu_s']:9.1f} "
              f"{row['compile_cpu_s']:11.1f} {row['compile_wall_s']:12.1f} "
              f"{row['compile_events_s']:13.1f} "
              f"{row['n_compiles']:8d}")
    print("(seconds; compile CPU = cold CPU - warm CPU, of the demo and its background "
          "warm-up process; compile wall = cold wall - warm wall, the wait; numba compile = "
          "summed top-level numba:compile events of the demo process's cold run; compiles = "
          "signatures it compiled, nested included)")


def print_breakdown(rows: list[Measurement]) -> None:
    for row in rows:
        if not row["compiles"]:
            continue
        print(f"\n{row['name']}: numba compiles, longest first (inclusive seconds; "
              f"'+' = compiled while compiling a caller, its time counted there too)")
        ours = [r for r in row["compiles"] if r["function"].startswith(OUR_PACKAGES)]
        for r in sorted(ours, key=lambda r: -r["seconds"]):
            print(f"  {'+' if r['depth'] else ' '} {r['seconds']:6.2f} s  {r['function']}  "
                  f"{r['args'][:100]}")
        print(f"  ({len(row['compiles']) - len(ours)} more: numba's own helpers, compiled "
              f"within the above)")
        if row["warm_n_compiles"]:
            print(f"  warm run still compiled {row['warm_n_compiles']} signatures")


def union_compile_s(rows: list[Measurement]) -> float:
    """Compile CPU seconds of the sections' top-level compiles, each (function, argument
    types) counted once, as one process running them all would compile them (nested
    compiles of a signature already compiled elsewhere are not subtracted)."""
    seen: dict[tuple[str, str], float] = {}
    for row in rows:
        if row["name"] == "whole":
            continue
        for r in row["compiles"]:
            if r["depth"] == 0:
                key = (r["function"], r["args"])
                seen[key] = min(seen.get(key, r["seconds"]), r["seconds"])
    return sum(seen.values())


def plot(rows: list[Measurement], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    names = [r["name"] for r in rows]
    x = np.arange(len(rows))
    fig, ax = plt.subplots(figsize=(8, 3.8))
    ax.bar(x - 0.2, [r["cold_cpu_s"] for r in rows], 0.4, label="cold (empty cache)")
    ax.bar(x + 0.2, [r["warm_cpu_s"] for r in rows], 0.4, label="warm (cache filled)")
    ax.axhline(TARGET_S, color="k", lw=0.8, ls="--", label=f"{TARGET_S:g} s")
    ax.set_xticks(x, names)
    ax.set(ylabel="CPU time of the process (s)",
           title="snn demo: first run (cold) vs second run (warm), per section")
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sections", nargs="+", choices=SECTIONS, default=list(SECTIONS))
    parser.add_argument("--no-whole", action="store_true",
                        help="skip the whole demo in one process")
    parser.add_argument("--repeats", type=int, default=1)
    parser.add_argument("--full", action="store_true", help="the demo's default workloads")
    parser.add_argument("--out", default=str(ROOT / "benchmarks" / "results"))
    parser.add_argument("--tag", default="", help="suffix of the output file names")
    args = parser.parse_args()
    extra = [] if args.full else QUICK_ARGS
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    stem = f"cold_compile{args.tag}"
    import numba
    import numpy

    result = {"machine": {"platform": platform.platform(), "python": platform.python_version(),
                          "cpus": os.cpu_count(), "numba": numba.__version__,
                          "numpy": numpy.__version__},
              "demo_args": extra, "repeats": args.repeats, "target_s": TARGET_S, "rows": []}
    rows = result["rows"]
    names = list(args.sections) + ([] if args.no_whole else ["whole"])
    for name in names:
        sections = list(args.sections) if name == "whole" else [name]
        rows.append({"name": name, **measure(sections, extra, args.repeats)})
        print(f"{name}: cold {rows[-1]['cold_cpu_s']:.1f} s CPU, warm "
              f"{rows[-1]['warm_cpu_s']:.1f} s CPU", flush=True)
        # Written after every row: the whole run takes long on a busy machine.
        (out / f"{stem}.json").write_text(json.dumps(result, indent=1))
    print()
    print_table(rows)
    print_breakdown(rows)
    print(f"\nnumba compile of all sections together (each signature once): "
          f"{union_compile_s(rows):.1f} s CPU")
    plot(rows, out / f"{stem}.png")
    print(f"\nwrote {out / stem}.json and .png")


if __name__ == "__main__":
    main()
