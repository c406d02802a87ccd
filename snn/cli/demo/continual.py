"""Demo section ``continual``: fine-tuning vs HLOP (Hebbian subspaces) on three
permuted-digit tasks; ACC / BWT and the accuracy matrices."""

from __future__ import annotations

import argparse

from .._report import DemoSection


def run(args: argparse.Namespace, section: DemoSection) -> None:
    import numpy as np
    from matplotlib.figure import Figure
    from matplotlib.ticker import MaxNLocator

    from ...continual import ContinualConfig, run_continual
    from ...data import permuted_digits_tasks

    seed = int(args.seed)
    tasks = permuted_digits_tasks(3, rng=seed)
    section.heading(f"spiking MLP 64 -> 128 LIF -> 10 on {len(tasks)} permuted-digit tasks "
                    f"(sklearn digits, 20 rate-coded steps), fine-tuning vs HLOP (Hebbian "
                    f"subspaces)")
    results = {}
    for method in ("finetune", "hlop"):
        config = ContinualConfig(method=method, epochs=3, components=(15, 30), seed=seed)
        results[method] = run_continual(tasks, config, progress=args.progress)
    section.table([{"method": m, "acc": r.acc, "bwt": r.bwt, "seconds": r.seconds}
                   for m, r in results.items()],
                  [("method", "method", "s"), ("acc", "ACC (%)", ".1f"),
                   ("bwt", "BWT (%)", ".1f"), ("seconds", "training time (s)", ".1f")])
    n = len(tasks)
    fig = Figure(figsize=(8, 3.6), layout="constrained")
    axes = fig.subplots(1, 2, sharey=True)
    for ax, (method, res) in zip(axes, results.items()):
        image = ax.imshow(res.accuracy, vmin=0, vmax=100, cmap="viridis")
        for (i, j), v in np.ndenumerate(res.accuracy):
            # Dark text on the bright (high-accuracy) end of viridis, light text elsewhere.
            ax.text(j, i, f"{v:.0f}", ha="center", va="center", fontsize=8,
                    color="k" if v > 60 else "w")
        ax.set_title(f"{method}\nACC {res.acc:.1f} %, BWT {res.bwt:+.1f} %", fontsize=10)
        ax.set(xlabel="tested on task (index)", xticks=range(n), yticks=range(n))
        for axis in (ax.xaxis, ax.yaxis):
            axis.set_major_locator(MaxNLocator(integer=True))
    axes[0].set_ylabel("after training task (index)")
    fig.colorbar(image, ax=axes, shrink=0.8, label="test accuracy (%)")
    section.figure(fig, "continual_accuracy.png", "accuracy matrices")
