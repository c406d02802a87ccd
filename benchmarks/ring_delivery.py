"""Spike delivery into the ring buffer alone, on 1 and 2 threads, for rings that fit the
cache and rings that do not.

The engine's threaded delivery (see ``snn.backends.numba_backend._deliver_part``) gives each
thread a range of target neurons; each thread walks every spiking row, finds its share by
binary search and adds the weights to the ring slots their delays select
(``_deliver_to_ring``, which prefetches the place of the synapse 64 ahead).  This benchmark
calls that function on synthetic rows
(3,900 sorted random targets each, delays of 1-59 steps, 2 channels) over 61 delay slots,
with no neuron update, so it says how fast the machine itself can scatter additions and how
well that scales with threads.  Run it with::

    python benchmarks/ring_delivery.py [--neurons 4000 20000 77169] [--repeats 3]

It prints nanoseconds per synapse for each ring size and thread count (best of the
repeats), and writes ``ring_delivery.json`` and ``ring_delivery.png``.
"""

from __future__ import annotations

import argparse
import time

import numba
import numpy as np
from _common import machine_info, results_dir, write_json  # benchmarks/ is on sys.path
from numba import njit, prange

from snn.backends.numba_backend import _deliver_to_ring

DEPTH = 61  # delay slots of the full-scale microcircuit's ring
ROW = 3_900  # synapses per neuron in the microcircuit
ROWS = 30  # spiking rows per step
STEPS = 300


@njit(parallel=True, cache=True)
def _deliver(ring, rows_ptr, targets, delays, channels, weights, n_steps, bounds):
    for part in prange(bounds.size - 1):
        lo, hi = bounds[part], bounds[part + 1]
        for step in range(n_steps):
            now = step % ring.shape[0]
            for r in range(rows_ptr.size - 1):
                begin, end = rows_ptr[r], rows_ptr[r + 1]
                first = begin + np.searchsorted(targets[begin:end], lo)
                last = begin + np.searchsorted(targets[begin:end], hi)
                _deliver_to_ring(ring, now, first, last, targets, weights, delays, channels)


def measure(n_neurons: int, threads: int, repeats: int) -> float:
    """Best nanoseconds per synapse over ``repeats`` runs of :data:`STEPS` steps."""
    rng = np.random.default_rng(0)
    ring = np.zeros((DEPTH, 2, n_neurons))
    targets = np.concatenate([np.sort(rng.integers(0, n_neurons, ROW))
                              for _ in range(ROWS)]).astype(np.int32)
    rows_ptr = np.arange(ROWS + 1, dtype=np.int64) * ROW
    delays = rng.integers(1, DEPTH - 1, targets.size).astype(np.uint8)
    channels = rng.integers(0, 2, targets.size).astype(np.uint8)
    weights = rng.random(targets.size).astype(np.float32)
    bounds = np.linspace(0, n_neurons, threads + 1).astype(np.int64)
    previous = numba.get_num_threads()
    numba.set_num_threads(threads)
    try:
        _deliver(ring, rows_ptr, targets, delays, channels, weights, 2, bounds)  # compile
        best = np.inf
        for _ in range(repeats):
            start = time.perf_counter()
            _deliver(ring, rows_ptr, targets, delays, channels, weights, STEPS, bounds)
            best = min(best, time.perf_counter() - start)
    finally:
        numba.set_num_threads(previous)
    return best / (STEPS * targets.size) * 1e9


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--neurons", type=int, nargs="+", default=[4000, 20000, 77169])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--out", default=None)
    args = parser.parse_args()
    if min(args.neurons) < ROW or args.repeats < 1:
        parser.error(f"--neurons must be >= {ROW} and --repeats >= 1")
    threads = [t for t in (1, 2) if t <= numba.config.NUMBA_NUM_THREADS]
    rows = []
    print(f"{'neurons':>8} {'ring MB':>8} " + " ".join(f"{t} thr ns/syn" for t in threads)
          + "  speed-up")
    for n in args.neurons:
        ns = {t: measure(n, t, args.repeats) for t in threads}
        speedup = ns[1] / ns[2] if 2 in ns else None
        ring_mb = DEPTH * 2 * n * 8 / 1e6
        rows.append({"n_neurons": n, "ring_mb": ring_mb,
                     "ns_per_synapse": {str(t): v for t, v in ns.items()},
                     "speedup_2_threads": speedup})
        print(f"{n:8d} {ring_mb:8.1f} " + " ".join(f"{ns[t]:12.2f}" for t in threads)
              + (f"  {speedup:8.2f}" if speedup else ""))
    out = results_dir(args.out)
    write_json(out / "ring_delivery.json",
               {"machine": machine_info("numba"), "depth": DEPTH, "row": ROW, "rows": ROWS,
                "steps": STEPS, "results": rows})
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(5, 3.2))
    for t in threads:
        ax.plot([r["ring_mb"] for r in rows], [r["ns_per_synapse"][str(t)] for r in rows],
                "o-", label=f"{t} thread(s)")
    ax.set_xscale("log")
    ax.set(xlabel="ring buffer (MB)", ylabel="ns per synapse",
           title="Delivery into the ring buffer")
    ax.legend()
    fig.tight_layout()
    fig.savefig(out / "ring_delivery.png", dpi=120)
    print(f"wrote {out / 'ring_delivery.json'} and {out / 'ring_delivery.png'}")


if __name__ == "__main__":
    main()
