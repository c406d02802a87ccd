"""Demo section ``reservoir``: an echo state network on memory capacity, NARMA-10 and
Mackey-Glass; E/I adaptation vs a fixed radius; a liquid state machine on the embedded spoken
digits; the zero-shot LSM (Gaussian and resistive-switching weights): top-1 cross-modal
retrieval of seen and unseen classes."""

from __future__ import annotations

import argparse
import time

from .._report import DemoSection


def run(args: argparse.Namespace, section: DemoSection) -> None:
    import numpy as np
    from matplotlib.figure import Figure

    from ...data import digits_events, load_sample
    from ...reservoir import (
        LSM,
        ESNConfig,
        LogisticReadout,
        LSMConfig,
        ZeroShotConfig,
        zero_shot_experiment,
    )
    from ..train_reservoir import run_esn_task

    seed = int(args.seed)
    progress = bool(args.progress)
    section.heading("echo state network (100 tanh units), E/I adaptation, liquid state "
                    "machine (300 LIF, 80/20 E/I) and the resistive-memory zero-shot LSM")
    rows = []
    t0 = time.perf_counter()
    esn = {"memory-capacity": ESNConfig(spectral_radius=0.9, input_scaling=0.1),
           "narma10": ESNConfig(spectral_radius=0.9, input_scaling=0.5),
           "mackey-glass": ESNConfig(spectral_radius=1.25, leak=0.3)}
    results = {task: run_esn_task(task, cfg, seed) for task, cfg in esn.items()}
    rows.append(("ESN memory capacity (delays 1..200 steps)",
                 f"{results['memory-capacity']['memory_capacity']:.1f}"))
    rows.append(("ESN NARMA-10 test NRMSE", f"{results['narma10']['nrmse']:.3f}"))
    rows.append(("ESN Mackey-Glass 1-step NRMSE", f"{results['mackey-glass']['nrmse']:.4f}"))
    ei = dict(input_scaling=0.1, bias_mean=0.2, dale=True, activation="rectified_tanh")
    fixed = run_esn_task("memory-capacity", ESNConfig(spectral_radius=1.3, **ei), seed)
    adapted = run_esn_task("memory-capacity", ESNConfig(spectral_radius=2.0, **ei), seed,
                           adapt="homogeneous")
    rows.append(("E/I ESN memory capacity, radius 1.3 / adapted",
                 f"{fixed['memory_capacity']:.1f} / {adapted['memory_capacity']:.1f}"))
    train, test = load_sample("train"), load_sample("test")
    lsm = LSM(LSMConfig(n_neurons=300), train.n_channels, rng=seed)
    f_train = lsm.transform(train, 1.0, 2, progress=progress)
    f_test = lsm.transform(test, 1.0, 2, progress=progress)
    acc = LogisticReadout(c=0.1).fit(f_train, train.labels).score(f_test, test.labels)
    rows.append(("LSM test accuracy, spoken digits (240/60)", f"{100 * acc:.1f} %"))
    images = digits_events("train", duration=0.05, rng=seed)
    pick = np.random.default_rng(seed).permutation(len(images.labels))
    zs = {}
    half = train.subset(np.arange(0, len(train.labels), 2))
    for weights in ("gaussian", "switching"):
        zs[weights] = zero_shot_experiment(
            half, test, images.subset(pick[:400]), images.subset(pick[400:700]),
            encoder=weights, zero_shot=ZeroShotConfig(steps=100), n_windows=2,
            audio_duration=0.8, rng=seed)
        r = zs[weights]
        for group in ("seen", "unseen"):
            rows.append((f"zero-shot {weights}, {group} classes: audio->image / image->audio "
                         f"(chance {100 * r[group]['chance_audio_to_image']:.0f} %)",
                         f"{100 * r[group]['audio_to_image']:.1f} / "
                         f"{100 * r[group]['image_to_audio']:.1f} %"))
    section.table([{"what": name, "value": value} for name, value in rows],
                  [("what", "measure", "s"), ("value", "value", "s")])
    section.say(f"({time.perf_counter() - t0:.1f} s)")

    fig = Figure(figsize=(13, 3.6), layout="constrained")
    axes = fig.subplots(1, 3)
    mg = results["mackey-glass"]
    axes[0].plot(mg["target"][:300], label="Mackey-Glass")
    axes[0].plot(mg["prediction"][:300], "--", label="ESN 1-step prediction")
    axes[0].set(xlabel="time (steps)", ylabel="x (normalised to [-1, 1])",
                title="ESN prediction")
    axes[0].legend(fontsize=8)
    axes[1].plot(results["memory-capacity"]["r2"], label="ESN (tanh)")
    axes[1].plot(fixed["r2"], label="E/I, radius 1.3")
    axes[1].plot(adapted["r2"], label="E/I, adapted")
    axes[1].set(xlabel="delay k (steps)", ylabel="r² (dimensionless)", title="memory curve",
                xlim=(0, 60))
    axes[1].legend(fontsize=8)
    keys = [(g, d) for g in ("seen", "unseen") for d in ("audio_to_image", "image_to_audio")]
    for k, weights in enumerate(zs):
        axes[2].bar(np.arange(4) + 0.4 * k, [100 * zs[weights][g][d] for g, d in keys], 0.4,
                    label=weights)
    axes[2].set_xticks(np.arange(4) + 0.2, ["seen\naudio->image", "seen\nimage->audio",
                                            "unseen\naudio->image", "unseen\nimage->audio"])
    axes[2].axhline(100 * zs["switching"]["seen"]["chance_audio_to_image"], color="k",
                    lw=0.8, ls=":", label="chance")
    axes[2].set(ylim=(0, 100), ylabel="top-1 retrieval (%)",
                title="zero-shot LSM, classes 1-7 trained")
    axes[2].legend(fontsize=8)
    section.figure(fig, "reservoir.png", "reservoir plot", dpi=110)
