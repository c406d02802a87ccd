"""Continual learning of a spiking MLP: HLOP against exact-PCA projection, EWC, fine-tuning
and joint multitask training, over seeds.

What it measures: a spiking MLP (inputs -> 128 LIF -> classes, surrogate-gradient BPTT; HLOP
also with online trace-based training) learns a sequence of tasks; after each task it is
tested on every task, giving the accuracy matrix R, and from it ACC and BWT as defined by
Lopez-Paz & Ranzato (GEM, 2017) and used by HLOP (Xiao et al., ICLR 2024).  Scenarios:

* permuted digits, 5 and 10 tasks: sklearn's 8x8 digits (64 inputs, rate-coded over 20 steps)
  under a fixed pixel permutation per task;
* low-rank permuted digits, 5 tasks: the same with the images first reduced to their 8
  principal components (each task's inputs span 9 dimensions of 64);
* the low-rank variant once more with the intensities fed as constant input currents
  instead of Bernoulli spikes (spike noise is full-rank: only this keeps the first layer's
  input inside the 9-dimensional span that the premise of the low-rank variant assumes);
* split FSDD: the Free Spoken Digit Dataset as cochlea spikes (64 channels, 50 steps of
  20 ms), 5 tasks of two digits (task-incremental: each task's own classes are scored).
  Read from ``--data`` or ``$SNNSIM_FSDD_ROOT`` when given (e.g. ``../shared/data/fsdd``),
  else the sample shipped with the package.

* spiking vs rate lateral neurons (permuted digits, 5 tasks, the MLP): HLOP's circuit with
  integrate-and-fire lateral neurons (1000 steps, the reference code's default) beside the
  rate one, and GPM;
* the spiking lateral neurons' rate resolution (permuted digits, 5 tasks, the MLP): the
  spiking circuit at 50, 200, 1000 and 5000 lateral steps (a rate step of ``scale / steps``
  = 0.4, 0.1, 0.02 and 0.004) beside the rate circuit: how far the rows drift from
  orthonormal and what that costs in ACC / BWT;
* the papers' baselines on a small convolutional SNN (conv 6 -> LIF -> pool -> conv 12 ->
  LIF -> pool -> Linear; HLOP and GPM project each convolution's updates on its unfolded
  input patches): split digits as 8x8 images (2-D convolutions) and split FSDD
  cochleagrams (1-D convolutions over the 64 channels at every step, kernel 5); fine-tuning,
  EWC, replay (20 stored samples per task, 8 replayed per batch), GPM (threshold 0.97 +
  0.003 per task), HLOP with rate and with spiking lateral neurons (1000 steps), HLOP with
  replay.  The JSON's checks say which of the paper's orderings hold here.

HLOP and its exact-PCA variant use the same subspace sizes: per task 10 (5 with 10 tasks)
components for the input layer and 20 (10) for the hidden layer, and learn from the same
time-mean activities (``ContinualConfig`` defaults: HLOP's new rows start orthonormal, and
its step decays 100-fold over the two forward-only passes at each task end).  For subspace
methods the JSON also records ``||H H^T - I||`` of the consolidated rows per layer.  Every
number is over 3 seeds (weights, task permutations, spike draws), mean +- standard deviation
[min, max].

Rows are ``(label, method, training)`` or ``(label, method, training, settings)``, the last a
dictionary of ``ContinualConfig`` fields for that row only.  ``--methods`` runs only the
rows with those labels; ``--merge`` takes, for each scenario, the rows of every file given,
a later file's row replacing an earlier one's of the same label (to re-run single rows).

Run:  python benchmarks/continual.py            (about 30 min on 2 busy cores)
      python benchmarks/continual.py --quick    (one seed, fewer epochs, about 1 min)
or split over the cores, one thread each, then merge:
      python benchmarks/continual.py --threads 1 --scenarios perm5 lowrank lowrank-current \\
          --tag _a &
      python benchmarks/continual.py --threads 1 --scenarios perm10 fsdd --tag _b
      python benchmarks/continual.py --merge benchmarks/results/continual_{a,b}.json
Writes benchmarks/results/continual.json, continual_matrices.png (mean R per scenario and
method) and continual_acc_bwt.png (ACC and BWT with their spread).
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from pathlib import Path

import numpy as np
import torch
from _common import RESULTS_DIR, fsdd_root, machine_info

from snn.continual import ContinualConfig, run_continual
from snn.data import permuted_digits_tasks, split_digits_tasks, split_fsdd_tasks

# (label, method, training)
METHOD_ROWS = [
    ("finetune", "finetune", "bptt"),
    ("ewc", "ewc", "bptt"),
    ("hlop", "hlop", "bptt"),
    ("hlop-pca", "hlop-pca", "bptt"),
    ("multitask", "multitask", "bptt"),
    ("finetune (online)", "finetune", "online"),
    ("hlop (online)", "hlop", "online"),
]


# The papers' comparison (Xiao et al., ICLR 2024): HLOP beside GPM, EWC and replay, with
# spiking lateral neurons beside the rate circuit, on a small convolutional SNN.
CONV_ROWS = [
    ("finetune", "finetune", "bptt"),
    ("ewc", "ewc", "bptt"),
    ("replay", "replay", "bptt"),
    ("gpm", "gpm", "bptt"),
    ("hlop", "hlop", "bptt"),
    ("hlop-spiking", "hlop-spiking", "bptt"),
    ("hlop-replay", "hlop-replay", "bptt"),
]
# Spiking lateral neurons run the reference code's 1000 steps (a rate step of 20 / 1000).
LATERAL_STEPS = 1000
LATERAL_ROWS = [
    ("finetune", "finetune", "bptt"),
    ("hlop", "hlop", "bptt"),
    ("hlop-spiking", "hlop-spiking", "bptt", {"lateral_steps": LATERAL_STEPS}),
    ("gpm", "gpm", "bptt"),
]
# The spiking circuit's rate resolution: scale / steps = 0.4, 0.1, 0.02, 0.004.
RESOLUTION_ROWS = [("hlop", "hlop", "bptt")] + [
    (f"hlop-spiking ({steps} steps)", "hlop-spiking", "bptt", {"lateral_steps": steps})
    for steps in (50, 200, 1000, 5000)]
# Convolutional settings: two conv layers (6, 12 channels, 3 taps), SGD at 0.3 (the
# convolutions learn little in a few epochs at the MLP's 0.05).
CONV_CONFIG = {"architecture": "conv", "channels": (6, 12), "lr": 0.3, "batch_size": 16,
               "n_steps": 10, "lateral_steps": LATERAL_STEPS}


def scenarios(quick: bool, fsdd: Path | None = None) -> list[dict]:
    fsdd = None if quick else fsdd
    rows = [
        {"key": "perm5", "name": "permuted digits, 5 tasks", "data": ("permuted", 5, None),
         "components": (10, 20)},
        {"key": "perm10", "name": "permuted digits, 10 tasks",
         "data": ("permuted", 10, None), "components": (5, 10)},
        {"key": "lowrank", "name": "low-rank permuted digits (8 PCs), 5 tasks",
         "data": ("permuted", 5, 8), "components": (10, 20)},
        {"key": "lowrank-current",
         "name": "low-rank permuted digits (8 PCs), 5 tasks, current input",
         "data": ("permuted", 5, 8), "components": (10, 20), "encoding": "current"},
        {"key": "fsdd",
         "name": "split FSDD" + (" (full)" if fsdd else " (sample shipped with snn.data)"),
         "data": ("fsdd", fsdd), "components": (10, 20)},
        {"key": "perm5-lateral",
         "name": "permuted digits, 5 tasks: spiking vs rate lateral neurons",
         "data": ("permuted", 5, None), "components": (10, 20), "rows": LATERAL_ROWS},
        {"key": "perm5-lateral-steps",
         "name": "permuted digits, 5 tasks: spiking lateral neurons' rate resolution",
         "data": ("permuted", 5, None), "components": (10, 20), "rows": RESOLUTION_ROWS},
        {"key": "conv-digits", "name": "split digits as 8x8 images, 2-D conv SNN, 5 tasks",
         "data": ("split-digits",), "components": (1, 10, 8), "rows": CONV_ROWS,
         "config": {**CONV_CONFIG, "input_shape": (1, 8, 8)}},
        {"key": "conv-fsdd",
         "name": "split FSDD cochleagrams, 1-D conv SNN over channels, 5 tasks"
                 + (" (full)" if fsdd else " (sample)"),
         "data": ("fsdd", fsdd), "components": (1, 5, 30), "rows": CONV_ROWS,
         "config": {**CONV_CONFIG, "kernel_size": 5}},
    ]
    return [r for r in rows if not (quick and r["key"] == "perm10")]


SCENARIO_KEYS = ("perm5", "perm10", "lowrank", "lowrank-current", "fsdd", "perm5-lateral",
                 "perm5-lateral-steps", "conv-digits", "conv-fsdd")


def load(spec, seed):
    if spec[0] == "permuted":
        return permuted_digits_tasks(spec[1], rng=seed, rank=spec[2])
    if spec[0] == "split-digits":
        return split_digits_tasks(2, rng=seed)
    return split_fsdd_tasks(spec[1], dt=0.02, max_time=1.0)


def spread(values) -> dict:
    v = np.asarray([x for x in values if x is not None and not math.isnan(x)], dtype=float)
    if v.size == 0:
        return {"mean": None, "std": None, "min": None, "max": None, "n": 0}
    return {"mean": float(v.mean()), "std": float(v.std(ddof=1)) if v.size > 1 else 0.0,
            "min": float(v.min()), "max": float(v.max()), "n": int(v.size)}


def mean_matrix(mats: np.ndarray) -> list:
    """Mean over seeds of R ``[seeds, T, T]``; entries never measured (NaN) become None."""
    with np.errstate(invalid="ignore"):
        counts = (~np.isnan(mats)).sum(0)
        mean = np.where(counts > 0, np.nansum(mats, 0) / np.maximum(counts, 1), np.nan)
    return [[None if math.isnan(v) else float(v) for v in row] for row in mean]


def fmt(s: dict) -> str:
    if s["mean"] is None:
        return "-"
    return f"{s['mean']:6.2f} ± {s['std']:4.2f} [{s['min']:.1f}, {s['max']:.1f}]"


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="one seed, 2 epochs, no 10-task run")
    parser.add_argument("--seeds", type=int, nargs="+", default=None)
    parser.add_argument("--epochs", type=int, default=None, help="epochs per task (default 5)")
    parser.add_argument("--out", default=str(RESULTS_DIR))
    parser.add_argument("--data", default=None,
                        help="FSDD folder for split FSDD (default $SNNSIM_FSDD_ROOT, else the "
                             "sample shipped with the package)")
    parser.add_argument("--scenarios", nargs="+", choices=SCENARIO_KEYS, default=None,
                        help="run only these scenarios (default: all)")
    parser.add_argument("--methods", nargs="+", default=None, metavar="LABEL",
                        help="run only the rows with these labels (default: all)")
    parser.add_argument("--threads", type=int, default=2, help="torch threads")
    parser.add_argument("--tag", default="", help="suffix of the output names")
    parser.add_argument("--merge", nargs="+", default=None, metavar="JSON",
                        help="combine the results of separate runs (e.g. one per core) into "
                             "continual.json (or continual<tag>.json) and its plots, then exit")
    args = parser.parse_args(argv)
    if args.merge:
        return merge(args.merge, Path(args.out), "continual" + args.tag)
    seeds = args.seeds or ([0] if args.quick else [0, 1, 2])
    epochs = args.epochs or (2 if args.quick else 5)
    torch.set_num_threads(args.threads)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)

    report = {"seeds": seeds, "epochs_per_task": epochs, "hidden": [128],
              "machine": machine_info(), "scenarios": []}
    start = time.perf_counter()
    name = ("continual_quick" if args.quick else "continual") + args.tag
    fsdd = fsdd_root(args.data, required=False)
    for scen in scenarios(args.quick, fsdd):
        if args.scenarios and scen["key"] not in args.scenarios:
            continue
        print(f"\n== {scen['name']}", flush=True)
        entry = {"name": scen["name"], "components_per_task": list(scen["components"]),
                 "methods": {}}
        for label, method, training, *settings in scen.get("rows", METHOD_ROWS):
            if args.methods and label not in args.methods:
                continue
            row_config = {**scen.get("config", {}), **(settings[0] if settings else {})}
            runs = []
            for seed in seeds:
                tasks = load(scen["data"], seed)
                config = ContinualConfig(method=method, training=training, hidden=(128,),
                                         epochs=epochs, components=scen["components"],
                                         encoding=scen.get("encoding", "rate"), seed=seed,
                                         **row_config)
                result = run_continual(tasks, config)
                run = result.to_dict()
                if result.subspaces:
                    # How far the consolidated rows are from orthonormal, per layer.
                    run["orthonormality_error"] = [
                        float(torch.linalg.norm(s.frozen @ s.frozen.T - torch.eye(s.size,
                              dtype=s.frozen.dtype))) for s in result.subspaces]
                runs.append(run)
            acc = spread([r["acc"] for r in runs])
            bwt = spread([r["bwt"] for r in runs])
            mats = np.array([[[np.nan if v is None else v for v in row] for row in r["accuracy"]]
                             for r in runs])
            entry["methods"][label] = {
                "method": method, "training": training,
                "settings": {k: list(v) if isinstance(v, tuple) else v
                             for k, v in row_config.items()}, "acc": acc, "bwt": bwt,
                "accuracy_mean": mean_matrix(mats),
                "seconds": spread([r["seconds"] for r in runs]), "runs": runs}
            orth = [max(r["orthonormality_error"]) for r in runs if "orthonormality_error" in r]
            if orth:
                entry["methods"][label]["orthonormality_error_max"] = max(orth)
            print(f"{label:<18} ACC {fmt(acc)}   BWT {fmt(bwt)}   "
                  f"{entry['methods'][label]['seconds']['mean']:.1f} s/run"
                  + (f"   max ||H H^T - I|| {max(orth):.3g}" if orth else ""), flush=True)
        entry["checks"] = checks(entry)
        for line in entry["checks"]["lines"]:
            print("  " + line)
        entry["key"] = scen["key"]
        report["scenarios"].append(entry)
        report["total_seconds"] = time.perf_counter() - start
        # Written after every scenario, so that an interrupted run keeps what it finished.
        (out / f"{name}.json").write_text(json.dumps(report, indent=1, allow_nan=False,
                                                     default=lambda o: None))
    plot(report, out, name)
    print(f"\n{report['total_seconds']:.0f} s in all; results: {out / (name + '.json')}, "
          f"{out / (name + '_matrices.png')}, {out / (name + '_acc_bwt.png')}")
    return 0


def merge(paths: list[str], out: Path, name: str = "continual") -> int:
    """Combine reports of separate runs (same settings) in the canonical scenario order."""
    reports = [json.loads(Path(p).read_text()) for p in paths]
    merged = {**reports[0], "scenarios": [], "merged_from": [str(p) for p in paths],
              "total_seconds": sum(r.get("total_seconds", 0.0) for r in reports)}
    found: dict[str, dict] = {}
    for report in reports:
        for e in report["scenarios"]:
            if e["key"] in found:
                # A later file's rows replace an earlier one's of the same label.
                found[e["key"]] = {**found[e["key"]], **e,
                                   "methods": {**found[e["key"]]["methods"], **e["methods"]}}
            else:
                found[e["key"]] = e
    merged["scenarios"] = [found[k] for k in SCENARIO_KEYS if k in found]
    for entry in merged["scenarios"]:
        entry["checks"] = checks(entry)
    out.mkdir(parents=True, exist_ok=True)
    (out / f"{name}.json").write_text(json.dumps(merged, indent=1, allow_nan=False))
    plot(merged, out, name)
    for entry in merged["scenarios"]:
        print(f"\n== {entry['name']}")
        for label, res in entry["methods"].items():
            print(f"{label:<18} ACC {fmt(res['acc'])}   BWT {fmt(res['bwt'])}")
        for line in entry["checks"]["lines"]:
            print("  " + line)
    print(f"\nmerged into {out / (name + '.json')}")
    return 0


def checks(entry: dict) -> dict:
    """The issue's targets, evaluated (reported, never tuned for)."""
    m = entry["methods"]
    lines, values = [], {}
    if "hlop-pca" not in m:
        return _paper_checks(m)
    ft, hl, pca = m["finetune"]["bwt"]["mean"], m["hlop"]["bwt"]["mean"], m["hlop-pca"]
    if ft is not None and hl is not None and hl < 0:
        values["forgetting_ratio_finetune_over_hlop"] = ft / hl
        lines.append(f"fine-tuning BWT / HLOP BWT = {ft / hl:.2f} (target >= 4)")
    elif ft is not None and hl is not None:
        lines.append(f"HLOP BWT = {hl:+.2f} %: no forgetting (fine-tuning {ft:.2f} %)")
    gap = m["hlop"]["acc"]["mean"] - pca["acc"]["mean"]
    values["acc_hlop_minus_pca"] = gap
    lines.append(f"HLOP ACC - exact-PCA ACC = {gap:+.2f} points (target within 1.5)")
    if "low-rank" in entry["name"]:
        values["hlop_bwt"] = hl
        lines.append(f"HLOP BWT = {hl:.2f} % (target >= -2 %)")
    return {"values": values, "lines": lines}


def _paper_checks(m: dict) -> dict:
    """Which of the paper's orderings hold here: HLOP above GPM, EWC and replay in ACC,
    HLOP with replay above both alone, spiking lateral neurons as good as the rate ones.  A
    gap smaller than the larger of the two standard deviations over seeds is reported as
    not resolved."""
    acc = {k: v["acc"]["mean"] for k, v in m.items() if v["acc"]["mean"] is not None}
    std = {k: v["acc"]["std"] or 0.0 for k, v in m.items() if v["acc"]["mean"] is not None}
    lines, values = [], {}

    def verdict(gap: float, *keys: str) -> str:
        if abs(gap) < max(std[k] for k in keys):
            return "not resolved: within the spread over seeds"
        return "holds" if gap > 0 else "does not hold"

    for other in ("gpm", "ewc", "replay", "finetune"):
        if "hlop" in acc and other in acc:
            gap = acc["hlop"] - acc[other]
            values[f"acc_hlop_minus_{other}"] = gap
            lines.append(f"HLOP ACC - {other} ACC = {gap:+.2f} points "
                         f"(paper: HLOP > {other}; {verdict(gap, 'hlop', other)})")
    if {"hlop-replay", "hlop", "replay"} <= acc.keys():
        best = max(("hlop", "replay"), key=lambda k: acc[k])
        gap = acc["hlop-replay"] - acc[best]
        values["acc_hlop_replay_minus_best_single"] = gap
        lines.append(f"HLOP+replay ACC - max(HLOP, replay) = {gap:+.2f} points (paper: the "
                     f"combination is best; {verdict(gap, 'hlop-replay', best)})")
    if {"hlop-spiking", "hlop"} <= acc.keys():
        gap = acc["hlop-spiking"] - acc["hlop"]
        values["acc_spiking_minus_rate_lateral"] = gap
        lines.append(f"spiking lateral ACC - rate lateral ACC = {gap:+.2f} points "
                     f"(paper: about equal)")
    for label in m:
        # The rate-resolution rows: drift from orthonormal and its cost against the rate
        # circuit.
        if label.startswith("hlop-spiking (") and "hlop" in acc and label in acc:
            gap = acc[label] - acc["hlop"]
            bwt_gap = m[label]["bwt"]["mean"] - m["hlop"]["bwt"]["mean"]
            orth = m[label].get("orthonormality_error_max")
            values[f"acc_minus_rate:{label}"] = gap
            values[f"bwt_minus_rate:{label}"] = bwt_gap
            lines.append(f"{label}: ACC {gap:+.2f}, BWT {bwt_gap:+.2f} points against the rate "
                         f"circuit; max ||H H^T - I|| {orth:.3g} (rate: "
                         f"{m['hlop'].get('orthonormality_error_max', float('nan')):.3g})")
    return {"values": values, "lines": lines}


def plot(report: dict, out: Path, name: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    scen = report["scenarios"]
    labels: list[str] = []
    for entry in scen:
        labels += [label for label in entry["methods"] if label not in labels]
    fig, axes = plt.subplots(len(scen), len(labels), figsize=(2.3 * len(labels),
                                                                2.3 * len(scen)),
                             squeeze=False)
    for i, entry in enumerate(scen):
        for j, label in enumerate(labels):
            ax = axes[i, j]
            if label not in entry["methods"]:
                ax.axis("off")
                continue
            mat = entry["methods"][label]["accuracy_mean"]
            if mat is not None:
                ax.imshow(np.array(mat, dtype=float), vmin=0, vmax=100, cmap="viridis")
            res = entry["methods"][label]
            bwt = res["bwt"]["mean"]
            ax.set_title(f"{label}\nACC {res['acc']['mean']:.1f}"
                         + ("" if bwt is None else f" BWT {bwt:.1f}"), fontsize=7)
            ax.set_xticks([])
            ax.set_yticks([])
            if j == 0:
                ax.set_ylabel(entry["name"].replace(", ", "\n"), fontsize=7)
    fig.suptitle("Accuracy matrix R (row: after task i; column: task j), mean over seeds",
                 fontsize=9)
    fig.tight_layout()
    fig.savefig(out / f"{name}_matrices.png", dpi=110)
    plt.close(fig)

    fig, axes = plt.subplots(1, 2, figsize=(12, 4))
    width = 0.8 / len(scen)
    x = np.arange(len(labels))
    for k, entry in enumerate(scen):
        for ax, key in zip(axes, ("acc", "bwt")):
            empty = {"mean": None, "std": None}
            means = [entry["methods"].get(lb, {key: empty})[key]["mean"] for lb in labels]
            stds = [entry["methods"].get(lb, {key: empty})[key]["std"] for lb in labels]
            ax.bar(x + k * width, [np.nan if v is None else v for v in means], width,
                   yerr=[0 if v is None else v for v in stds], capsize=2, label=entry["name"])
    for ax, key in zip(axes, ("ACC (%)", "BWT (%)")):
        ax.set_xticks(x + width * (len(scen) - 1) / 2, labels, rotation=30, ha="right",
                      fontsize=8)
        ax.set_ylabel(key)
        ax.axhline(0, color="k", lw=0.5)
    axes[0].legend(fontsize=7)
    fig.suptitle(f"Continual learning: mean ± std over seeds {report['seeds']}")
    fig.tight_layout()
    fig.savefig(out / f"{name}_acc_bwt.png", dpi=110)
    plt.close(fig)


if __name__ == "__main__":
    sys.exit(main())
