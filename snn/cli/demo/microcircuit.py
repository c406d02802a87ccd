"""Demo section ``microcircuit``: the Potjans & Diesmann (2014) cortical microcircuit at a
reduced scale; a raster by layer and the rates beside the reference's published ones."""

from __future__ import annotations

import argparse
import time

from .._report import DemoSection


def run(args: argparse.Namespace, section: DemoSection) -> None:
    import numpy as np

    from ...microcircuit import POTJANS_DIESMANN_2014, potjans_diesmann, run_microcircuit

    params = POTJANS_DIESMANN_2014
    scale, duration = args.microcircuit_scale, args.microcircuit_duration
    section.heading(f"Cortical microcircuit at scale {scale:g}: {duration:g} s after the "
                    f"0.5 s warm-up, DC background ({params.source})")
    start = time.perf_counter()
    net = potjans_diesmann(scale, rng=args.seed)
    build = time.perf_counter() - start
    recorded, warm = run_microcircuit(net, duration, rng=args.seed, backend=args.backend,
                                      progress=True)
    rows = [dict(population=name, neurons=s.n_neurons, rate_hz=s.mean_rate(),
                 published_hz=params.published_rates[i], cv_isi=s.mean_cv_isi())
            for i, (name, s) in enumerate(recorded.spikes.items())]
    section.table(rows, [("population", "population", "s"), ("neurons", "neurons", "d"),
                         ("rate_hz", "rate (Hz)", ".2f"),
                         ("published_hz", "published, full scale (Hz)", ".3f"),
                         ("cv_isi", "CV of ISI", ".3f")])
    section.say(
        f"{net.n_neurons} neurons, {net.n_synapses:.3g} synapses; built in {build:.1f} s; "
        f"backend {args.backend}: warm-up {warm.wall_time:.2f} s (incl. compile or cache "
        f"load), then {recorded.wall_time / duration:.3f} s per simulated second. At reduced "
        f"scale the in-degrees are kept but the network is smaller, so rates differ from the "
        f"full-scale published ones (the benchmark compares with NEST at the same scale).")
    fig = _raster_by_layer(recorded, params.populations, np)
    section.figure(fig, "microcircuit_raster.png", "raster by layer (last 200 ms)")


def _raster_by_layer(result, names, np):
    """Raster of the last 200 ms, layers stacked top (L2/3) to bottom (L6), E and I colours."""
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(8, 6))
    end = result.t_start + result.duration
    begin = max(result.t_start, end - 0.2)
    total = sum(result.spikes[name].n_neurons for name in names)
    top, ticks = total, []
    for k, name in enumerate(names):
        s = result.spikes[name]
        keep = s.times >= begin
        ax.scatter(s.times[keep] * 1e3, top - s.indices[keep], s=0.5, marker="|",
                   color="#595289" if k % 2 == 0 else "#af143c", rasterized=True)
        if k % 2 == 0:
            ticks.append((top - (s.n_neurons + result.spikes[names[k + 1]].n_neurons) / 2,
                          name[:-1].replace("23", "2/3")))
            ax.axhline(top, color="0.8", lw=0.8, zorder=0)
        top -= s.n_neurons
    ax.set_yticks([t for t, _ in ticks], [label for _, label in ticks])
    ax.set_xlim(begin * 1e3, end * 1e3)
    ax.set_ylim(0, total)
    ax.set_xlabel("time (ms)")
    ax.set_title("excitatory (blue) and inhibitory (red) neurons by layer")
    fig.tight_layout()
    return fig
