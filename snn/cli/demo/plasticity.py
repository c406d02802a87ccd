"""Demo section ``plasticity``: online pair-based STDP on the engine (Song, Miller & Abbott
2000): the weights of competing synapses move to the bounds."""

from __future__ import annotations

import argparse

from .._report import DemoSection


def run(args: argparse.Namespace, section: DemoSection) -> None:
    import numpy as np
    from matplotlib.figure import Figure

    from ...benchmark_networks import SONG2000, build_stdp_experiment
    from ...engine import run as run_network

    exp = SONG2000
    duration = args.stdp_duration
    section.heading(f"online STDP, {exp.n_inputs} Poisson inputs at {exp.rate:g} Hz -> 1 "
                    f"conductance LIF neuron, {duration:g} s at dt = 0.1 ms "
                    f"({exp.source.split(';')[0]})")
    net, proj = build_stdp_experiment(exp, 1, rng=args.seed)
    run_network(net, 0.001, backend=args.backend)  # compile or load the cache
    result = run_network(net, duration, backend=args.backend, rng=args.seed,
                         progress=args.progress)
    g_max = exp.rule.w_max
    before, after = proj.weights / g_max, result.weights(proj) / g_max
    times = result.spikes["neurons"].times
    window = min(2.0, duration / 4)
    rows = [dict(when=label, low=float(np.mean(w < 0.1)), high=float(np.mean(w > 0.9)),
                 mean=float(w.mean()), rate=float(np.sum(sel) / window))
            for label, w, sel in (("start", before, times < window),
                                  ("end", after, times >= duration - window))]
    section.table(rows, [("when", "weights at", "s"), ("low", "w < 0.1 g_max", ".2f"),
                         ("high", "w > 0.9 g_max", ".2f"), ("mean", "mean w / g_max", ".3f"),
                         ("rate", f"output rate (Hz, {window:g} s)", ".1f")])
    section.say(f"backend {args.backend}: {result.wall_time:.2f} s for {duration:g} s simulated, "
                f"network build (Poisson draws) {result.build_time:.2f} s. Synapses compete: "
                f"the weights move to the bounds (Song et al. 2000 report a bimodal "
                f"distribution)")
    fig = Figure(figsize=(6, 3.2), layout="constrained")
    ax = fig.subplots()
    bins = np.linspace(0, 1, 41)
    ax.hist(before, bins=bins, alpha=0.5, label="initial")
    ax.hist(after, bins=bins, alpha=0.6, label=f"after {duration:g} s of STDP")
    ax.set_xlabel("weight / g_max (dimensionless)")
    ax.set_ylabel("synapses (count)")
    ax.legend()
    section.figure(fig, "stdp_weights.png", "weight histograms")
