"""Command line for reservoirs: the ``snn demo`` section and ``snn train reservoir``."""

from __future__ import annotations

import argparse
import json
import math
import time
from pathlib import Path
from typing import Any

import numpy as np

__all__ = ["demo_reservoir", "add_reservoir_parser", "cmd_train_reservoir", "TASK_CHOICES"]

TASK_CHOICES = ("memory-capacity", "narma10", "mackey-glass", "fsdd", "digits", "zero-shot")


def _positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number > 0, got {text!r}") from None
    if not math.isfinite(value) or value <= 0:
        raise argparse.ArgumentTypeError(f"expected a finite number > 0, got {text!r}")
    return value


def _unit_interval(text: str) -> float:
    value = _positive_float(text)
    if value > 1:
        raise argparse.ArgumentTypeError(f"expected a number in (0, 1], got {text!r}")
    return value


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected an integer >= 1, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected an integer >= 1, got {text!r}")
    return value


def _series_task(task: str, seed: int):
    """(u [T], target [T] or None, split) for the three time-series tasks."""
    from ..data import mackey_glass, memory_capacity_input, narma10

    if task == "memory-capacity":
        return memory_capacity_input(4200, seed), None, 2100
    if task == "narma10":
        u, y = narma10(4200, seed)
        return u, y, 2100
    x = mackey_glass(4201, seed=seed)
    x = 2 * (x - x.min()) / (x.max() - x.min()) - 1
    return x[:-1], x[1:], 2100


def run_esn_task(task: str, config, seed: int = 0, adapt: str = "none",
                 washout: int = 100) -> dict:
    """One ESN on one time-series task: memory capacity or test NRMSE (and the prediction)."""
    from .adaptation import activity_targets, adapt_esn
    from .esn import ESN
    from .readout import RidgeReadout, memory_capacity

    u, y, split = _series_task(task, seed)
    esn = ESN(config, seed=seed)
    if adapt != "none":
        targets = activity_targets(config.n_units, 0.5, 0.5 if adapt == "heterogeneous" else 0.0,
                                   seed=seed + 1)
        adapt_esn(esn, np.random.default_rng(seed + 2).uniform(-0.5, 0.5, 2000), targets)
    states = esn.run(u)
    if task == "memory-capacity":
        mc, r2 = memory_capacity(states[:split], u[:split], states[split:], u[split:],
                                 max_delay=2 * config.n_units, washout=washout)
        return {"task": task, "memory_capacity": mc, "r2": r2.tolist()}
    readout = RidgeReadout(1e-6, washout).fit(states[:split], y[:split])
    return {"task": task, "nrmse": readout.score(states[split:], y[split:]),
            "prediction": readout.predict(states[split:]).tolist(),
            "target": y[split:].tolist()}


def demo_reservoir(args: argparse.Namespace, out: Path) -> None:
    """Demo section (about 15 s): an ESN on memory capacity, NARMA-10 and Mackey-Glass; E/I
    adaptation vs a fixed radius; an LSM on the embedded spoken digits; the zero-shot LSM
    with ideal and RRAM weights.  Prints a table, saves ``reservoir.png`` into ``out``."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from ..cli import save_demo_plot
    from ..data import digits_events, load_sample
    from .esn import ESNConfig
    from .lsm import LSM, LSMConfig
    from .readout import LogisticReadout
    from .zero_shot import ZeroShotConfig, zero_shot_experiment

    seed = int(getattr(args, "seed", 0))
    progress = bool(getattr(args, "progress", False))
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    print("\n== reservoir: echo state network (100 tanh units), E/I adaptation, liquid state "
          "machine (300 LIF, 80/20 E/I) and the resistive-memory zero-shot LSM")
    rows = []
    t0 = time.perf_counter()
    esn = {"memory-capacity": ESNConfig(spectral_radius=0.9, input_scaling=0.1),
           "narma10": ESNConfig(spectral_radius=0.9, input_scaling=0.5),
           "mackey-glass": ESNConfig(spectral_radius=1.25, leak=0.3)}
    results = {task: run_esn_task(task, cfg, seed) for task, cfg in esn.items()}
    rows.append(("ESN memory capacity (delays 1..200)",
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
    lsm = LSM(LSMConfig(n_neurons=300), train.n_channels, seed=seed)
    f_train = lsm.transform(train, 1.0, 2, progress=progress)
    f_test = lsm.transform(test, 1.0, 2, progress=progress)
    acc = LogisticReadout(c=0.1).fit(f_train, train.labels).score(f_test, test.labels)
    rows.append(("LSM test accuracy, spoken digits (240/60)", f"{100 * acc:.1f} %"))
    images = digits_events("train", duration=0.05, seed=seed)
    pick = np.random.default_rng(seed).permutation(len(images.labels))
    zs = {}
    half = train.subset(np.arange(0, len(train.labels), 2))
    for weights in ("ideal", "rram"):
        zs[weights] = zero_shot_experiment(
            half, test, images.subset(pick[:200]), images.subset(pick[200:300]),
            weights=weights, lsm_config=LSMConfig(n_neurons=100),
            zero_shot=ZeroShotConfig(steps=100), n_windows=2, read_interval=0.5,
            audio_duration=0.8, seed=seed)
        r = zs[weights]
        rows.append((f"zero-shot {weights}: audio->image / image->audio",
                     f"{100 * r['audio_by_image_prototypes']:.1f} / "
                     f"{100 * r['image_by_audio_prototypes']:.1f} %"))
    width = max(len(name) for name, _ in rows)
    for name, value in rows:
        print(f"{name:<{width}}  {value}")
    print(f"({time.perf_counter() - t0:.1f} s)")

    fig, axes = plt.subplots(1, 3, figsize=(13, 3.4))
    mg = results["mackey-glass"]
    axes[0].plot(mg["target"][:300], label="Mackey-Glass")
    axes[0].plot(mg["prediction"][:300], "--", label="ESN 1-step prediction")
    axes[0].set(xlabel="step", title="ESN prediction")
    axes[0].legend(fontsize=8)
    axes[1].plot(results["memory-capacity"]["r2"], label="ESN (tanh)")
    axes[1].plot(fixed["r2"], label="E/I, radius 1.3")
    axes[1].plot(adapted["r2"], label="E/I, adapted")
    axes[1].set(xlabel="delay k", ylabel="r^2", title="memory curve", xlim=(0, 60))
    axes[1].legend(fontsize=8)
    keys = ["probe_audio", "probe_image", "audio_by_image_prototypes",
            "image_by_audio_prototypes"]
    for k, weights in enumerate(zs):
        axes[2].bar(np.arange(4) + 0.4 * k, [zs[weights][x] for x in keys], 0.4, label=weights)
    axes[2].set_xticks(np.arange(4) + 0.2, ["probe\naudio", "probe\nimage", "audio by\nimages",
                                            "images by\naudio"])
    axes[2].set(ylim=(0, 1), title="zero-shot LSM accuracy")
    axes[2].legend(fontsize=8)
    fig.tight_layout()
    save_demo_plot(fig, out, "reservoir.png", "reservoir plot", dpi=110)


def cmd_train_reservoir(args: argparse.Namespace) -> int:
    """``snn train reservoir``: one reservoir on one task; prints the score, writes
    ``results.json`` into ``--out``."""
    from ..data import digits_events, load_fsdd, load_sample
    from .esn import ESNConfig
    from .lsm import LSM, LSMConfig
    from .readout import LogisticReadout
    from .zero_shot import zero_shot_experiment

    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    if args.task in ("memory-capacity", "narma10", "mackey-glass"):
        config = ESNConfig(n_units=args.units, spectral_radius=args.spectral_radius,
                           leak=args.leak, input_scaling=args.input_scaling,
                           **({} if args.adapt == "none" else
                              dict(dale=True, activation="rectified_tanh", bias_mean=0.2)))
        result = run_esn_task(args.task, config, args.seed, adapt=args.adapt)
        result.pop("prediction", None)
        result.pop("target", None)
        score = (f"memory capacity {result['memory_capacity']:.2f}"
                 if "memory_capacity" in result else f"test NRMSE {result['nrmse']:.4f}")
    else:
        if args.root:
            audio = load_fsdd(args.root, "train", progress=args.progress), \
                load_fsdd(args.root, "test", progress=args.progress)
        else:
            audio = load_sample("train"), load_sample("test")
        images = digits_events("train", duration=0.05, seed=args.seed), \
            digits_events("test", duration=0.05, seed=args.seed)
        config = LSMConfig(n_neurons=args.neurons)
        if args.task == "zero-shot":
            result = zero_shot_experiment(*audio, *images, weights=args.weights,
                                          lsm_config=config, seed=args.seed,
                                          progress=args.progress)
            score = (f"audio->image {100 * result['audio_by_image_prototypes']:.1f} %, "
                     f"image->audio {100 * result['image_by_audio_prototypes']:.1f} %")
        else:
            train, test = audio if args.task == "fsdd" else images
            duration = 1.0 if args.task == "fsdd" else 0.06
            lsm = LSM(config, train.n_channels, seed=args.seed)
            f_train = lsm.transform(train, duration, args.windows, progress=args.progress)
            f_test = lsm.transform(test, duration, args.windows, progress=args.progress)
            acc = LogisticReadout(c=0.1).fit(f_train, train.labels).score(f_test, test.labels)
            result = {"task": args.task, "accuracy": acc}
            score = f"test accuracy {100 * acc:.1f} %"
    print(f"{args.task}: {score}")
    (out / "results.json").write_text(json.dumps(result, indent=1))
    print(f"results: {out / 'results.json'}")
    return 0


def add_reservoir_parser(subparsers: Any) -> argparse.ArgumentParser:
    """Add ``reservoir`` to the sub-parsers of ``snn train`` (with ``func`` set)."""
    parser = subparsers.add_parser(
        "reservoir", help="echo state networks and liquid state machines on reservoir tasks",
        description="An ESN on memory capacity, NARMA-10 or Mackey-Glass; an LSM on FSDD "
                    "spikes or digit events; or the zero-shot LSM (audio <-> images).")
    parser.add_argument("--task", choices=TASK_CHOICES, required=True)
    parser.add_argument("--units", type=_positive_int, default=100, help="ESN units")
    parser.add_argument("--spectral-radius", type=_positive_float, default=0.9,
                        help="ESN spectral radius (> 0)")
    parser.add_argument("--leak", type=_unit_interval, default=1.0, help="ESN leak rate")
    parser.add_argument("--input-scaling", type=_positive_float, default=0.1)
    parser.add_argument("--adapt", choices=["none", "homogeneous", "heterogeneous"],
                        default="none", help="local E/I adaptation of the ESN")
    parser.add_argument("--neurons", type=_positive_int, default=400, help="LSM neurons")
    parser.add_argument("--windows", type=_positive_int, default=4,
                        help="LSM readout windows per sample")
    parser.add_argument("--weights", default="rram",
                        help="zero-shot LSM weights: 'ideal' or a hardware preset name")
    parser.add_argument("--root", default=None,
                        help="FSDD recordings folder (default: the embedded sample)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", default="snn_train_reservoir", help="folder for results.json")
    parser.add_argument("--progress", action="store_true", help="show progress bars")
    parser.set_defaults(func=cmd_train_reservoir)
    return parser
