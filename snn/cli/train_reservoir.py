"""``snn train reservoir``: one reservoir (an ESN, an LSM or the zero-shot LSM) on one task;
prints the score and writes ``results.json``."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

import numpy as np

from ._args import positive_float, positive_int, unit_interval

__all__ = ["TASK_CHOICES", "add_parser", "run", "run_esn_task"]

TASK_CHOICES = ("memory-capacity", "narma10", "mackey-glass", "fsdd", "digits", "zero-shot")


def _series_task(task: str, rng: int):
    """(u [T], target [T] or None, split) for the three time-series tasks."""
    from ..data import mackey_glass, memory_capacity_input, narma10

    if task == "memory-capacity":
        return memory_capacity_input(4200, rng), None, 2100
    if task == "narma10":
        u, y = narma10(4200, rng)
        return u, y, 2100
    x = mackey_glass(4201, rng=rng)
    x = 2 * (x - x.min()) / (x.max() - x.min()) - 1
    return x[:-1], x[1:], 2100


def run_esn_task(task: str, config, rng: int = 0, adapt: str = "none",
                 washout_steps: int = 100) -> dict:
    """One ESN on one time-series task: memory capacity or test NRMSE (and the prediction).
    ``rng`` (an int seed ``s``) draws the series from ``s``, the ESN from ``s``, the
    adaptation targets from ``s + 1`` and the adaptation input from ``s + 2``."""
    from ..reservoir import ESN, RidgeReadout, activity_targets, adapt_esn, memory_capacity

    u, y, split = _series_task(task, rng)
    esn = ESN(config, rng=rng)
    if adapt != "none":
        targets = activity_targets(config.n_neurons, 0.5,
                                   0.5 if adapt == "heterogeneous" else 0.0, rng=rng + 1)
        adapt_esn(esn, np.random.default_rng(rng + 2).uniform(-0.5, 0.5, 2000), targets)
    states = esn.run(u)
    if task == "memory-capacity":
        mc, r2 = memory_capacity(states[:split], u[:split], states[split:], u[split:],
                                 max_delay_steps=2 * config.n_neurons,
                                 washout_steps=washout_steps)
        return {"task": task, "memory_capacity": mc, "r2": r2.tolist()}
    readout = RidgeReadout(1e-6, washout_steps).fit(states[:split], y[:split])
    return {"task": task, "nrmse": readout.score(states[split:], y[split:]),
            "prediction": readout.predict(states[split:]).tolist(),
            "target": y[split:].tolist()}


def run(args: argparse.Namespace) -> int:
    """``snn train reservoir``: one reservoir on one task; prints the score, writes
    ``results.json`` into ``--out``."""
    from dataclasses import replace

    from ..data import digits_events, load_fsdd, load_sample
    from ..reservoir import LSM, ESNConfig, LogisticReadout, LSMConfig, zero_shot_experiment
    from ..reservoir.zero_shot import SWITCHING_LSM

    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    if args.task in ("memory-capacity", "narma10", "mackey-glass"):
        config = ESNConfig(n_neurons=args.units, spectral_radius=args.spectral_radius,
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
        images = digits_events("train", duration=0.05, rng=args.seed), \
            digits_events("test", duration=0.05, rng=args.seed)
        config = LSMConfig(n_neurons=args.neurons)
        if args.task == "zero-shot":
            result = zero_shot_experiment(*audio, *images, encoder=args.weights,
                                          lsm_config=replace(SWITCHING_LSM,
                                                             n_neurons=args.neurons),
                                          rng=args.seed, progress=args.progress)
            seen, unseen = result["seen"], result["unseen"]
            score = (f"top-1 retrieval audio->image / image->audio: seen classes "
                     f"{100 * seen['audio_to_image']:.1f} / {100 * seen['image_to_audio']:.1f} "
                     f"%, unseen classes {100 * unseen['audio_to_image']:.1f} / "
                     f"{100 * unseen['image_to_audio']:.1f} % (chance "
                     f"{100 * seen['chance_audio_to_image']:.0f} %)")
        else:
            train, test = audio if args.task == "fsdd" else images
            duration = 1.0 if args.task == "fsdd" else 0.06
            lsm = LSM(config, train.n_channels, rng=args.seed)
            f_train = lsm.transform(train, duration, args.windows, progress=args.progress)
            f_test = lsm.transform(test, duration, args.windows, progress=args.progress)
            acc = LogisticReadout(c=0.1).fit(f_train, train.labels).score(f_test, test.labels)
            result = {"task": args.task, "accuracy": acc}
            score = f"test accuracy {100 * acc:.1f} %"
    print(f"{args.task}: {score}")
    (out / "results.json").write_text(json.dumps(result, indent=1))
    print(f"results: {out / 'results.json'}")
    return 0


def add_parser(subparsers: Any) -> argparse.ArgumentParser:
    """Add ``reservoir`` to the sub-parsers of ``snn train`` (with ``func`` set)."""
    parser = subparsers.add_parser(
        "reservoir", help="echo state networks and liquid state machines on reservoir tasks",
        description="An ESN on memory capacity, NARMA-10 or Mackey-Glass; an LSM on FSDD "
                    "spikes or digit events; or the zero-shot LSM (audio <-> images).")
    parser.add_argument("--task", choices=TASK_CHOICES, required=True)
    parser.add_argument("--units", type=positive_int, default=100, help="ESN units")
    parser.add_argument("--spectral-radius", type=positive_float, default=0.9,
                        help="ESN spectral radius (> 0)")
    parser.add_argument("--leak", type=unit_interval, default=1.0, help="ESN leak rate")
    parser.add_argument("--input-scaling", type=positive_float, default=0.1)
    parser.add_argument("--adapt", choices=["none", "homogeneous", "heterogeneous"],
                        default="none", help="local E/I adaptation of the ESN")
    parser.add_argument("--neurons", type=positive_int, default=400, help="LSM neurons")
    parser.add_argument("--windows", type=positive_int, default=4,
                        help="LSM readout windows per sample")
    parser.add_argument("--weights", default="switching",
                        choices=("switching", "gaussian", "dale"),
                        help="zero-shot LSM weights: resistive switching stochasticity "
                             "(default), the same Gaussian law without devices, or an 80/20 "
                             "E/I liquid")
    parser.add_argument("--root", default=None,
                        help="FSDD recordings folder (default: the embedded sample)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", default="snn_train_reservoir", help="folder for results.json")
    parser.add_argument("--progress", action="store_true", help="show progress bars")
    parser.set_defaults(func=run)
    return parser
