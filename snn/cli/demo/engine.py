"""Demo section ``engine``: a Brian2 benchmark network (CUBA or COBA) on the time-stepped
engine; rates, CV of ISI, timings and a raster plot."""

from __future__ import annotations

import argparse
import time

from .._report import DemoSection


def run(args: argparse.Namespace, section: DemoSection) -> None:
    from ...benchmark_networks import BENCHMARKS, build_benchmark
    from ...engine import run as run_network

    spec = BENCHMARKS[args.model]
    section.heading(f"{spec.name.upper()} network, {args.neurons} neurons, "
                    f"{args.duration:g} s at dt = 0.1 ms ({spec.source})")
    net = build_benchmark(spec, args.neurons, rng=args.seed)
    start = time.perf_counter()
    warm_duration = min(args.duration, 0.01)
    run_network(net, warm_duration, backend=args.backend)
    first_call = time.perf_counter() - start
    result = run_network(net, args.duration, backend=args.backend, progress=args.progress)
    section.table(result.summary(), [("population", "population", "s"),
                                     ("neurons", "neurons", "d"), ("spikes", "spikes", "d"),
                                     ("rate_hz", "rate (Hz)", ".2f"),
                                     ("cv_isi", "CV of ISI", ".3f")])
    section.say(f"backend {args.backend}: {result.wall_time:.3f} s for {args.duration:g} s "
                f"simulated ({result.wall_time / args.duration:.3f} s per simulated second); "
                f"first call ({warm_duration:g} s simulated) incl. compile or cache load "
                f"{first_call:.2f} s; network build {result.build_time:.2f} s")
    fig = result.plot_raster(max_neurons=min(args.neurons, 1000))
    section.figure(fig, f"{spec.name}_raster.png", "raster plot")
