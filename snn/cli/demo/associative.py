"""Demo section ``associative``: the multitasking Hebbian network (Agliari, Alessandrelli,
Barra & Ricci-Tersenghi 2023): hierarchical retrieval against the power law d^(k-1),
learning from noisy examples with and without a teacher, and the same couplings on spiking
LIF neurons."""

from __future__ import annotations

import argparse

from .._report import DemoSection

N_NEURONS = 4000
N_PATTERNS = 3
DILUTIONS = (0.1, 0.3, 0.5)


def run(args: argparse.Namespace, section: DemoSection) -> None:
    import numpy as np
    from matplotlib.figure import Figure

    from ...associative import (
        MultitaskingConfig,
        SpikingRetrievalConfig,
        build_network,
        glauber,
        hierarchical_magnetizations,
        noisy_cue,
        retrieval_magnetization,
        spiking_retrieval,
    )

    section.heading(f"multitasking Hebbian network, N = {N_NEURONS}, P = {N_PATTERNS} "
                    "diluted patterns, zero-temperature Glauber dynamics from a cue")
    rows, curves = [], []
    for d in DILUTIONS:
        xi, _, couplings = build_network(MultitaskingConfig(
            n_neurons=N_NEURONS, n_patterns=N_PATTERNS, dilution=d, seed=args.seed))
        cue = noisy_cue(xi[0], 0.2, rng=np.random.default_rng([args.seed, 1]))
        result = glauber(couplings, cue, xi, n_sweeps=20, rng=np.random.default_rng(
            [args.seed, 2]), progress=args.progress)
        m = np.sort(np.abs(result.magnetizations[-1]))[::-1]
        law = hierarchical_magnetizations(d, N_PATTERNS)
        curves.append((d, m, law))
        rows.append(dict(d=d, m1=m[0], m2=m[1], m3=m[2],
                         law=" ".join(f"{v:.3f}" for v in law)))
    section.table(rows, [("d", "dilution d", ".1f"), ("m1", "|m| 1st", ".3f"),
                         ("m2", "|m| 2nd", ".3f"), ("m3", "|m| 3rd", ".3f"),
                         ("law", "d^(k-1)", "s")])
    section.say("Mild dilution: each unit follows the strongest pattern that is nonzero on "
                "it, so the magnetisations fall as d^(k-1) with the rank k (hierarchical "
                "parallel retrieval); beyond d + d^2 = 1 (d = 0.618 for three patterns) this "
                "state is no longer a fixed point.")

    quality, examples = 0.5, 9
    learned = []
    for training in ("supervised", "unsupervised"):
        xi, _, couplings = build_network(MultitaskingConfig(
            n_neurons=N_NEURONS, n_patterns=1, dilution=0.2, quality=quality,
            n_examples=examples, training=training, seed=args.seed))
        cue = noisy_cue(xi[0], 0.3, rng=np.random.default_rng([args.seed, 3]))
        result = glauber(couplings, cue, xi, n_sweeps=10, rng=np.random.default_rng(
            [args.seed, 4]))
        learned.append(dict(training=training, m=float(result.magnetizations[-1, 0]),
                            theory=retrieval_magnetization(quality, examples)))
    section.table(learned, [("training", "couplings", "s"), ("m", "m (Monte Carlo)", ".3f"),
                            ("theory", "m (theory)", ".3f")])
    section.say(f"Learning one pattern from M = {examples} examples of quality r = {quality}: "
                "with or without a teacher the network retrieves the same magnetisation, "
                "P(k > M/2) - P(k < M/2) with k ~ Binomial(M, (1 + r) / 2).")

    if args.backend == "numba":
        n_spiking, d = 800, 0.3
        xi, _, couplings = build_network(MultitaskingConfig(
            n_neurons=n_spiking, n_patterns=N_PATTERNS, dilution=d, seed=args.seed))
        cue = noisy_cue(xi[0], 0.1, rng=np.random.default_rng([args.seed, 5]))
        binary = glauber(couplings, cue, xi, n_sweeps=20, rng=np.random.default_rng(
            [args.seed, 6]))
        spiking = spiking_retrieval(couplings, xi, cue, SpikingRetrievalConfig(
            dale=True, delay_min=1e-3, delay_max=5e-3, duration=0.3, seed=args.seed))
        section.say(f"The same couplings on {n_spiking} LIF neurons (Dale's law: negative "
                    f"couplings through inhibitory relays; delays 1-5 ms), d = {d}: sorted "
                    "|m| " + " ".join(f"{v:.3f}" for v in np.sort(np.abs(
                        spiking.magnetizations))[::-1])
                    + " against the binary network's " + " ".join(
                        f"{v:.3f}" for v in np.sort(np.abs(binary.magnetizations[-1]))[::-1])
                    + f" ({spiking.n_synapses} synapses, {spiking.wall_time:.2f} s).")

    fig = Figure(figsize=(6, 3.4), layout="constrained")
    ax = fig.subplots()
    ranks = np.arange(1, N_PATTERNS + 1)
    for d, m, law in curves:
        line, = ax.plot(ranks, law, "-", label=f"d = {d}: d^(k-1)")
        ax.plot(ranks, m, "o", color=line.get_color())
    ax.set_yscale("log")
    ax.set_xticks(ranks)
    ax.set_xlabel("rank k of the pattern")
    ax.set_ylabel("|m_k| (dimensionless)")
    ax.legend()
    section.figure(fig, "associative_hierarchy.png", "hierarchical retrieval")
