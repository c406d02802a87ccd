"""The cortical microcircuit over MPI ranks on this machine, and a cost model for a cluster.

Each measurement launches ``mpiexec -n R`` on this script's worker, which builds the
Potjans-Diesmann microcircuit (:func:`snn.microcircuit.potjans_diesmann`, constant
background current, every spike recorded, each rank keeping the synapses onto its own
neurons) at a reduced ``--scale`` (in-degrees kept), runs ``--presim`` seconds to leave
the start transient, then times ``--duration`` seconds with
``snn.run(..., distributed="mpi")``.  Each rank reports its loop's wall time, the part of it
spent inside MPI calls (the spike exchange, waiting for slower ranks included) and the bytes it
received; the spikes of every rank count must be the same (checked).  A one-process run
without ``distributed=`` is timed beside, for the cost of the windowed loop itself.

The cost model (see ``fit_model``) splits the time per model second into a part that the
ranks share (neuron updates and synapse deliveries, each rank doing its share), a part every
rank repeats (one call of the compiled loop and one merge per exchange window, and the
handling of every spike id of the network), fitted to the measured 1- and 2-rank runs at two
scales, and a communication part for a cluster link of given latency and bandwidth.  It
predicts the full-scale microcircuit for 1 to 64 ranks, beside NEST's published figures.

    python benchmarks/distributed.py [--scales 0.05 0.1] [--ranks 1 2] [--duration 1]
        [--repeats 2] [--latency 1.5e-6] [--bandwidth 12.5e9]

Writes ``distributed.json`` and ``distributed.png``.  Time only on an otherwise idle machine:
ranks that wait for each other at every exchange slow down sharply when other processes hold
their cores.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from _common import machine_info, results_dir, write_json  # benchmarks/ is on sys.path

from snn.distributed import mpi_launcher

# NEST's full-scale microcircuit on JURECA-DC compute nodes (2 x AMD EPYC 7742, 128 cores
# each, InfiniBand HDR): real-time factors (wall time / model time), Kurth et al. (2022),
# "Sub-realtime simulation of a neuronal network of natural density", Neuromorphic
# Computing and Engineering 2, 021001.
NEST_PUBLISHED = [
    {"system": "NEST, 1 node (128 cores), Kurth et al. 2022", "cores": 128,
     "seconds_per_model_second": 0.67},
    {"system": "NEST, 2 nodes (256 cores), Kurth et al. 2022", "cores": 256,
     "seconds_per_model_second": 0.53},
]
FULL_SCALE_NEURONS = 77_169


def worker(args: argparse.Namespace) -> None:
    """One rank's share of a measurement (run under mpiexec, or alone for ``--plain``)."""
    import snn
    from snn.microcircuit import potjans_diesmann

    distributed = None if args.plain else "mpi"
    # Under mpirun each rank keeps the synapses onto its own neurons.
    net = potjans_diesmann(args.scale, rng=args.seed, distributed=distributed)
    start = time.perf_counter()
    first = snn.run(net, args.presim, rng=args.seed, distributed=distributed,
                    **({"threads": 1} if args.plain else {}))
    warm = time.perf_counter() - start
    result = snn.run(net, args.duration, rng=args.seed + 1, state=first.state,
                     distributed=distributed, **({"threads": 1} if args.plain else {}))
    rank = result.extra.get("rank", 0)
    n_spikes = sum(t.indices.size for t in result.spikes.values())
    checksum = sum(int(np.sum(t.indices.astype(np.int64) * (1 + np.arange(t.indices.size))
                              % 1_000_003)) for t in result.spikes.values())
    record = {
        "rank": rank, "ranks": result.extra.get("ranks", 1), "scale": args.scale,
        "n_neurons": int(sum(p.n_neurons for p in net.populations.values())),
        "n_synapses_rank": net.n_synapses,
        "peak_rss_gib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20,
        "n_steps": result.n_steps, "wall": result.wall_time, "build": result.build_time,
        "presim_wall": warm, "exchange_time": result.extra.get("exchange_time", 0.0),
        "bytes_received": result.extra.get("bytes_received", 0),
        "windows": result.extra.get("windows", 0),
        "spikes_exchanged": result.extra.get("spikes_exchanged", 0),
        "window_steps": result.extra.get("window_steps", 0),
        "n_spikes": n_spikes, "spike_checksum": checksum,
        "load_average": os.getloadavg()[0],
    }
    Path(args.out, f"rank{rank}.json").write_text(json.dumps(record))


def launch(scale: float, ranks: int, args: argparse.Namespace, plain: bool = False
           ) -> list[dict]:
    """Every rank's record of one measurement."""
    with tempfile.TemporaryDirectory() as out:
        command = [sys.executable, __file__, "--worker", "--scale", str(scale),
                   "--duration", str(args.duration), "--presim", str(args.presim),
                   "--seed", str(args.seed), "--out", out]
        if plain:
            command.append("--plain")
        else:
            command = [mpi_launcher() or "mpiexec", "-n", str(ranks), *command]
        env = {**os.environ, "NUMBA_NUM_THREADS": "1"}
        done = subprocess.run(command, capture_output=True, text=True, env=env)
        if done.returncode:
            raise SystemExit(f"{' '.join(command)} failed:\n{done.stderr}")
        return [json.loads(p.read_text()) for p in sorted(Path(out).glob("rank*.json"))]


def summarise(records: list[dict]) -> dict:
    """One measurement's figures (the slowest rank's time, every rank's traffic)."""
    first = records[0]
    duration = first["n_steps"] * 1e-4
    wall = max(r["wall"] for r in records)
    compute = max(r["wall"] - r["exchange_time"] for r in records)
    exchange = float(np.mean([r["exchange_time"] for r in records]))
    return {
        "scale": first["scale"], "ranks": first["ranks"], "n_neurons": first["n_neurons"],
        "n_synapses": sum(r["n_synapses_rank"] for r in records),
        "peak_rss_gib_per_rank": max(r["peak_rss_gib"] for r in records),
        "seconds_per_model_second": wall / duration,
        "compute_seconds_per_model_second": compute / duration,
        "exchange_share": exchange / wall,
        "bytes_per_step": float(np.mean([r["bytes_received"] for r in records])) / first[
            "n_steps"],
        "payload_bytes_per_step": 8.0 * first["spikes_exchanged"] / first["n_steps"],
        "windows_per_model_second": first["windows"] / duration,
        "window_steps": first["window_steps"],
        "spikes_per_model_second": first["n_spikes"] / duration,
        "spike_checksum": first["spike_checksum"],
        "load_average": max(r["load_average"] for r in records),
    }


def fit_model(rows: list[dict]) -> dict:
    """Fit ``T(R) = A / R + B`` per scale to the 1- and 2-rank computing times (best
    repeat), then ``A = a N`` (work in proportion to the neurons, in-degrees being kept) and
    ``B = b_w W + b_s S`` (``W`` windows and ``S`` network spikes per model second, which
    every rank handles), by least squares over the scales."""
    best: dict[tuple, float] = {}
    for row in rows:
        if row["ranks"] in (1, 2):
            key = (row["scale"], row["ranks"])
            best[key] = min(best.get(key, math.inf), row["compute_seconds_per_model_second"])
    scales = sorted({s for s, r in best if (s, 1) in best and (s, 2) in best})
    if not scales:
        raise SystemExit("the cost model needs 1- and 2-rank runs of at least one scale")
    shared, repeated = [], []
    for scale in scales:
        c1, c2 = best[(scale, 1)], best[(scale, 2)]
        row = next(r for r in rows if r["scale"] == scale and r["ranks"] == 2)
        shared.append((row["n_neurons"], 2 * (c1 - c2)))
        repeated.append((row["windows_per_model_second"], row["spikes_per_model_second"],
                         2 * c2 - c1))
    n = np.array([s[0] for s in shared], dtype=float)
    a = float(np.dot(n, [s[1] for s in shared]) / np.dot(n, n))
    design = np.array([[w, s] for w, s, _ in repeated])
    target = np.array([b for _, _, b in repeated])
    if len(scales) >= 2:
        (b_w, b_s), *_ = np.linalg.lstsq(design, target, rcond=None)
    else:  # one scale: all of the repeated part charged to the windows
        b_w, b_s = float(target[0] / design[0, 0]), 0.0
    return {"seconds_per_neuron_and_model_second": a, "seconds_per_window": float(b_w),
            "seconds_per_network_spike": float(b_s), "fitted_scales": scales,
            "per_scale": [{"scale": s, "shared_A": sh[1], "repeated_B": rp[2]}
                          for s, sh, rp in zip(scales, shared, repeated)]}


def predict(model: dict, reference: dict, ranks: list[int], latency: float,
            bandwidth: float, padding: float) -> list[dict]:
    """Seconds per model second of the full-scale microcircuit on ``ranks`` ranks, one per
    core, over a link of ``latency`` (s per message) and ``bandwidth`` (bytes/s)."""
    factor = FULL_SCALE_NEURONS / reference["n_neurons"]
    spikes = reference["spikes_per_model_second"] * factor
    windows = reference["windows_per_model_second"]
    rows = []
    for r in ranks:
        shared = model["seconds_per_neuron_and_model_second"] * FULL_SCALE_NEURONS / r
        repeated = model["seconds_per_window"] * windows + \
            model["seconds_per_network_spike"] * spikes
        # A recursive-doubling allgather: log2(R) messages, each rank receiving the other
        # ranks' ids (8 bytes each, times the buffers' padding).
        comm = 0.0
        if r > 1:
            comm = windows * latency * math.ceil(math.log2(r)) + \
                (r - 1) / r * spikes * 8 * padding / bandwidth
        rows.append({"ranks": r, "shared": shared, "repeated": repeated, "communication": comm,
                     "seconds_per_model_second": shared + repeated + comm})
    return rows


def plot(rows: list[dict], prediction: list[dict], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (left, right) = plt.subplots(1, 2, figsize=(11, 4))
    for scale in sorted({r["scale"] for r in rows}):
        mine = sorted((r for r in rows if r["scale"] == scale and r["ranks"] > 0),
                      key=lambda r: r["ranks"])
        left.plot([r["ranks"] for r in mine], [r["seconds_per_model_second"] for r in mine],
                  "o-", label=f"scale {scale}: total")
        left.plot([r["ranks"] for r in mine],
                  [r["seconds_per_model_second"] * r["exchange_share"] for r in mine],
                  "x--", label=f"scale {scale}: in MPI")
    left.set(xlabel="ranks (this machine)", ylabel="s per model second",
             title="Measured, reduced scale")
    left.legend(fontsize=8)
    ranks = [p["ranks"] for p in prediction]
    right.plot(ranks, [p["seconds_per_model_second"] for p in prediction], "o-",
               label="snnsim, predicted (full scale)")
    right.plot(ranks, [p["shared"] for p in prediction], ":", label="shared part")
    right.plot(ranks, [p["repeated"] + p["communication"] for p in prediction], "--",
               label="repeated + communication")
    for published in NEST_PUBLISHED:
        right.scatter([published["cores"]], [published["seconds_per_model_second"]],
                      marker="s", label=published["system"])
    right.set(xscale="log", yscale="log", xlabel="ranks = cores", ylabel="s per model second",
              title="Cost model, full-scale microcircuit")
    right.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--scales", type=float, nargs="+", default=[0.05, 0.1])
    parser.add_argument("--ranks", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--duration", type=float, default=1.0, help="timed model seconds")
    parser.add_argument("--presim", type=float, default=0.1, help="untimed model seconds")
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--latency", type=float, default=1.5e-6,
                        help="cluster link latency per message (s)")
    parser.add_argument("--bandwidth", type=float, default=12.5e9,
                        help="cluster link bandwidth (bytes/s)")
    parser.add_argument("--predict-ranks", type=int, nargs="+",
                        default=[1, 2, 4, 8, 16, 32, 64])
    parser.add_argument("--out", default=None)
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--plain", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--scale", type=float, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        worker(args)
        return

    rows = []
    for repeat in range(args.repeats):
        for scale in args.scales:
            plain = summarise(launch(scale, 1, args, plain=True))
            plain["ranks"] = 0  # the one-process loop, no exchange
            rows.append(plain)
            print(f"scale {scale} repeat {repeat}: one process "
                  f"{plain['seconds_per_model_second']:.3f} s/model s", flush=True)
            for ranks in args.ranks:
                row = summarise(launch(scale, ranks, args))
                if row["spike_checksum"] != plain["spike_checksum"]:
                    raise SystemExit(f"scale {scale}, {ranks} ranks: spikes differ from the "
                                     f"one-process run")
                rows.append(row)
                print(f"scale {scale} repeat {repeat}: {ranks} ranks "
                      f"{row['seconds_per_model_second']:.3f} s/model s, "
                      f"{100 * row['exchange_share']:.0f} % in MPI, "
                      f"{row['bytes_per_step']:.0f} B/step received "
                      f"(load {row['load_average']:.2f})", flush=True)
    model = fit_model(rows)
    reference = max((r for r in rows if r["ranks"] == 2), key=lambda r: r["scale"])
    padding = reference["bytes_per_step"] / max(reference["payload_bytes_per_step"], 1e-9)
    prediction = predict(model, reference, args.predict_ranks, args.latency, args.bandwidth,
                         padding)
    print("\nfull scale, predicted (s per model second):")
    for p in prediction:
        print(f"  R={p['ranks']:3d}: {p['seconds_per_model_second']:.3f} "
              f"(shared {p['shared']:.3f}, repeated {p['repeated']:.3f}, "
              f"communication {p['communication']:.4f})")
    out = results_dir(args.out)
    report = {
        "machine": machine_info("mpi4py"),
        "model": "Potjans & Diesmann (2014) microcircuit, constant background current, "
                 "in-degrees kept at reduced scale",
        "measured": rows,
        "cost_model": {k: v for k, v in model.items() if k != "per_scale"},
        "cost_model_per_scale": model["per_scale"],
        "cluster": {"latency_s": args.latency, "bandwidth_bytes_per_s": args.bandwidth,
                    "buffer_padding": padding},
        "prediction_full_scale": prediction,
        "published": NEST_PUBLISHED,
        "assumptions": [
            "one rank per core, one thread per rank; the shared part divides evenly (no "
            "load imbalance)",
            "the repeated part (per window: a call of the compiled loop and a merge; per "
            "network spike: its id handled by every rank) does not shrink with ranks",
            "communication: a recursive-doubling allgather per window (log2 R latencies) "
            "moving every spike id (8 bytes, times the measured buffer padding) to every rank",
            "full-scale spike rate and work extrapolated in proportion to the neuron count "
            "from the largest measured scale (in-degrees kept, so rates are comparable)",
            "no waiting for a slower rank: the measured share in MPI at 2 ranks (mostly "
            "waiting) is not grown with R, although waiting for the slowest rank is known to "
            "dominate large runs; the prediction is a lower bound",
            "NEST's figures are from 128-core nodes, many threads per process; ours are "
            "ranks = cores, single-threaded",
        ],
        "provenance": {"command": "python " + " ".join(sys.argv),
                       "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())},
    }
    write_json(out / "distributed.json", report)
    plot(rows, prediction, out / "distributed.png")
    print(f"wrote {out / 'distributed.json'} and {out / 'distributed.png'}")


if __name__ == "__main__":
    main()
