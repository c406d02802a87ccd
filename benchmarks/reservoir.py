"""Reservoir computing benchmark: the protocols of the two source papers, and the library's
ESN / LSM checks beside ReservoirPy.

``--part papers`` (writes ``reservoir_papers.json`` / ``.png``), over ``--seeds`` seeds (mean,
std, [min, max]):

* **Adaptive E/I balance** (Srinivasan et al., Nat. Commun. 2025): sigmoid-rate E/I
  reservoirs (N = 50 and 100) on memory capacity, NARMA-10 and Mackey-Glass (10 steps
  ahead); the best global balance beta (chosen on a validation series from a grid) against
  local per-synapse inhibitory adaptation toward homogeneous and heterogeneous targets (mean
  0.2, 0.3, 0.5; heterogeneous: Beta law of std 0.1) and against the one-shot design; every
  adapted reservoir is checked for self-sustained activity and for the echo-state property,
  and the counts are printed beside each score.
* **Zero-shot LSM** (Lin et al., Nat. Comput. Sci. 2025): projections trained on classes 1-7
  of FSDD spikes (the full FSDD, 2,700/300, from ``--data`` or ``$SNNSIM_FSDD_ROOT``; else
  the packaged sample, 240/60) and digits events (1,347/450), top-1 cross-modal retrieval
  of seen and unseen (8, 9) test samples among the candidates of all nine test classes, for
  liquids with resistive-switching weights, Gaussian weights and Dale 80/20 weights, and the
  authors' within-group candidates; the SRNN-CLIP baseline on the same seeds and split;
  training MACs per pair; energy per inference (synaptic events x device reads on the
  switching preset against digital baselines).

``--part zero-shot`` (writes ``reservoir_zero_shot.json`` / ``.png``): the zero-shot part
alone.

``--part lsm-rule`` (writes ``reservoir_lsm_rule.json``): our spiking variant of the
per-synapse rule on a 200-LIF liquid, learned online inside the engine's time loop
(``adapt_lsm_online``) and, beside it, applied between 1 ms engine chunks
(``adapt_lsm_synapses``), and its effect on FSDD accuracy (first 3 seeds).

``--part library`` (writes ``reservoir.json`` / ``.png``): ESN vs ReservoirPy 0.4 (memory
capacity, NARMA-10, Mackey-Glass, state-computation time), our earlier adaptation variant
(one inhibitory gain per unit, rectified tanh) against the best spectral radius, the
400-neuron LSM on FSDD spikes and digits events, and its chunk-wise adaptation.

Run it with::

    python benchmarks/reservoir.py [--part all|papers|zero-shot|lsm-rule|library] [--quick]
        [--seeds 10] [--data ../shared/data/fsdd] [--out benchmarks/results]

``--quick``: 2 seeds and smaller sets.
"""

from __future__ import annotations

import argparse
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
from _common import RESULTS_DIR, fsdd_root, machine_info, write_json

from snn.data import (
    digits_events,
    load_fsdd,
    load_sample,
    mackey_glass,
    memory_capacity_input,
    narma10,
)
from snn.reservoir.adaptation import activity_targets, adapt_esn, adapt_lsm
from snn.reservoir.esn import ESN, ESNConfig
from snn.reservoir.lsm import LSM, LSMConfig
from snn.reservoir.readout import LogisticReadout, RidgeReadout, memory_capacity

N_NEURONS = 100
TASKS = {  # (spectral radius, leak, input scaling) per task, shared by both libraries
    "memory_capacity": (0.9, 1.0, 0.1),
    "narma10": (0.9, 1.0, 0.5),
    "mackey_glass": (1.25, 0.3, 1.0),
}


def stats(values) -> dict:
    v = np.asarray(values, dtype=float)
    return {"mean": float(v.mean()), "std": float(v.std()), "min": float(v.min()),
            "max": float(v.max()), "values": v.tolist()}


def fmt(s: dict, scale: float = 1.0, digits: int = 3) -> str:
    return (f"{s['mean'] * scale:.{digits}f} ± {s['std'] * scale:.{digits}f} "
            f"[{s['min'] * scale:.{digits}f}, {s['max'] * scale:.{digits}f}]")


def task_series(task: str, rng: int):
    """(input [T, 1], target [T] or [T, k], split index, washout) for one task."""
    if task == "memory_capacity":
        u = memory_capacity_input(4200, rng)
        return u[:, None], None, 2100, 100
    if task == "narma10":
        u, y = narma10(4200, rng)
        return u[:, None], y, 2100, 100
    x = mackey_glass(4210, rng=rng)
    x = 2 * (x - x.min()) / (x.max() - x.min()) - 1
    return x[:-10, None], x[10:], 2100, 100


def evaluate(states: np.ndarray, task: str, u, y, split: int, washout_steps: int) -> float:
    if task == "memory_capacity":
        return memory_capacity(states[:split], u[:split, 0], states[split:], u[split:, 0],
                               max_delay_steps=2 * N_NEURONS, washout_steps=washout_steps)[0]
    readout = RidgeReadout(alpha=1e-6, washout_steps=washout_steps).fit(states[:split],
                                                                        y[:split])
    return readout.score(states[split:], y[split:])  # NRMSE after the washout


def reservoirpy_reservoir(seed: int, sr: float, leak: float, scaling: float):
    from reservoirpy.nodes import Reservoir

    return Reservoir(units=N_NEURONS, sr=sr, lr=leak, input_scaling=scaling,
                     rc_connectivity=0.1, input_connectivity=1.0, seed=seed)


def best_time(fn, repeats: int = 3) -> float:
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times)


def esn_vs_reservoirpy(seeds, timing_steps: int) -> dict:
    out = {}
    for task, (sr, leak, scaling) in TASKS.items():
        ours, peer = [], []
        for seed in seeds:
            u, y, split, washout = task_series(task, seed)
            esn = ESN(ESNConfig(n_neurons=N_NEURONS, spectral_radius=sr, leak=leak,
                                input_scaling=scaling, connectivity=0.1), rng=seed)
            ours.append(evaluate(esn.run(u), task, u, y, split, washout))
            res = reservoirpy_reservoir(seed, sr, leak, scaling)
            peer.append(evaluate(res.run(u), task, u, y, split, washout))
        out[task] = {"snnsim": stats(ours), "reservoirpy": stats(peer)}
    u = memory_capacity_input(timing_steps, 0)[:, None]
    esn = ESN(ESNConfig(n_neurons=N_NEURONS, spectral_radius=0.9, connectivity=0.1), rng=0)
    esn.run(u[:10])  # load the compiled loop
    res = reservoirpy_reservoir(0, 0.9, 1.0, 1.0)
    res.run(u[:10])
    t_ours = best_time(lambda: esn.run(u))
    t_peer = best_time(lambda: reservoirpy_reservoir(0, 0.9, 1.0, 1.0).run(u))
    out["timing"] = {"steps": timing_steps, "snnsim_s": t_ours, "reservoirpy_s": t_peer,
                     "speedup": t_peer / t_ours}
    return out


EI = dict(n_neurons=N_NEURONS, input_scaling=0.1, bias_mean=0.2, dale=True,
          activation="rectified_tanh")
RADII = (0.5, 0.9, 1.3, 1.6, 2.0, 2.5, 3.0)


def adaptive_vs_global(seeds) -> dict:
    rows = {"global": [], "global_radius": [], "adaptive_homogeneous": [],
            "adaptive_heterogeneous": [], "rate_error_homogeneous": [],
            "rate_error_heterogeneous": []}
    for seed in seeds:
        u = memory_capacity_input(10400, seed)
        val, test, drive = u[:4200], u[4200:8400], u[8400:]

        def mc(esn, series):
            s = esn.run(series)
            return memory_capacity(s[:2100], series[:2100], s[2100:], series[2100:],
                                   max_delay_steps=2 * N_NEURONS)[0]

        scores = [mc(ESN(ESNConfig(spectral_radius=r, **EI), rng=seed), val) for r in RADII]
        best = RADII[int(np.argmax(scores))]
        rows["global_radius"].append(best)
        rows["global"].append(mc(ESN(ESNConfig(spectral_radius=best, **EI), rng=seed), test))
        for name, spread in (("homogeneous", 0.0), ("heterogeneous", 0.5)):
            esn = ESN(ESNConfig(spectral_radius=2.0, **EI), rng=seed)
            targets = activity_targets(N_NEURONS, 0.5, spread, rng=seed + 1)
            adapt_esn(esn, drive, targets, eta=1e-2)
            rows[f"adaptive_{name}"].append(mc(esn, test))
            rates = esn.run(test[:1000]).mean(0)
            rows[f"rate_error_{name}"].append(float(np.mean(np.abs(rates - targets))))
    out = {k: stats(v) for k, v in rows.items()}
    out["gain_homogeneous"] = stats(np.array(rows["adaptive_homogeneous"])
                                    / np.array(rows["global"]) - 1)
    out["gain_heterogeneous"] = stats(np.array(rows["adaptive_heterogeneous"])
                                      / np.array(rows["global"]) - 1)
    return out


def lsm_accuracy(seeds, audio, images, progress: bool) -> dict:
    (a_tr, a_te), (i_tr, i_te) = audio, images
    acc = {"fsdd": [], "digits": []}
    times = []
    for seed in seeds:
        lsm_a = LSM(LSMConfig(n_neurons=400), a_tr.n_channels, rng=seed)
        t0 = time.perf_counter()
        fa = lsm_a.transform(a_tr, 1.0, 4, progress=progress)
        times.append((time.perf_counter() - t0) / len(a_tr.labels))
        fa_te = lsm_a.transform(a_te, 1.0, 4, progress=progress)
        acc["fsdd"].append(LogisticReadout(c=0.1).fit(fa, a_tr.labels).score(fa_te, a_te.labels))
        lsm_i = LSM(LSMConfig(n_neurons=400), i_tr.n_channels, rng=seed)
        fi = lsm_i.transform(i_tr, 0.06, 4)
        fi_te = lsm_i.transform(i_te, 0.06, 4)
        acc["digits"].append(LogisticReadout(c=0.1).fit(fi, i_tr.labels).score(fi_te,
                                                                              i_te.labels))
    # no reservoir: the same readout on the input spikes binned into the same windows
    base = {}
    for name, (tr, te, dur) in {"fsdd": (a_tr, a_te, 1.0), "digits": (i_tr, i_te, 0.06)}.items():
        btr = _binned(tr, dur)
        bte = _binned(te, dur)
        base[name] = LogisticReadout(c=0.1).fit(btr, tr.labels).score(bte, te.labels)
    return {"fsdd": stats(acc["fsdd"]), "digits": stats(acc["digits"]),
            "input_only": base, "seconds_per_utterance": stats(times)}


def lsm_adaptation(seeds, audio) -> dict:
    """FSDD accuracy of a 400-neuron LSM as built and after adapting each neuron's inhibition
    toward 10 Hz (homogeneous) or U(5, 15) Hz (heterogeneous) over 60 training utterances."""
    a_tr, a_te = audio
    rows = {"fixed": [], "adaptive_homogeneous": [], "adaptive_heterogeneous": [],
            "rate_error_first_hz": [], "rate_error_last_hz": []}
    for seed in seeds:
        for name, spread in (("fixed", None), ("adaptive_homogeneous", 0.0),
                             ("adaptive_heterogeneous", 0.5)):
            lsm = LSM(LSMConfig(n_neurons=400), a_tr.n_channels, rng=seed)
            if spread is not None:
                targets = activity_targets(400, 10.0, spread, rng=seed + 1)
                errors = adapt_lsm(lsm, a_tr, targets, eta=0.02, n_chunks=60, rng=seed)
                if spread == 0.0:
                    rows["rate_error_first_hz"].append(float(errors[0]))
                    rows["rate_error_last_hz"].append(float(errors[-10:].mean()))
            f_tr, f_te = lsm.transform(a_tr, 1.0, 2), lsm.transform(a_te, 1.0, 2)
            rows[name].append(LogisticReadout(c=0.1).fit(f_tr, a_tr.labels)
                              .score(f_te, a_te.labels))
    return {k: stats(v) for k, v in rows.items()}


def _binned(data, duration: float) -> np.ndarray:
    from snn.reservoir.lsm import spike_features

    return np.stack([spike_features(t, u, data.n_channels, duration, 4)
                     for t, u in zip(data.times, data.units)])


def plot(result: dict, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 3, figsize=(13, 3.8))
    ax = axes[0]
    tasks = list(TASKS)
    for k, lib in enumerate(("snnsim", "reservoirpy")):
        m = [result["esn"][t][lib]["mean"] for t in tasks]
        s = [result["esn"][t][lib]["std"] for t in tasks]
        ax.bar(np.arange(3) + 0.4 * k, m, 0.4, yerr=s, label=lib)
    ax.set_xticks(np.arange(3) + 0.2, ["MC", "NARMA-10\nNRMSE", "MG NRMSE"])
    ax.set_yscale("log")
    ax.set_title(f"ESN vs ReservoirPy ({result['esn']['timing']['speedup']:.1f}x faster)")
    ax.legend()
    ax = axes[1]
    names = ["global", "adaptive_homogeneous", "adaptive_heterogeneous"]
    ax.bar(range(3), [result["adaptation"][n]["mean"] for n in names],
           yerr=[result["adaptation"][n]["std"] for n in names])
    ax.set_xticks(range(3), ["global\n(best radius)", "adaptive\nhomog.", "adaptive\nheterog."])
    ax.set_ylabel("memory capacity")
    ax.set_title("E/I adaptation (ESN)")
    ax = axes[2]
    names = ["fsdd", "digits"]
    ax.bar(np.arange(2), [result["lsm"][n]["mean"] for n in names],
           yerr=[result["lsm"][n]["std"] for n in names], width=0.4, label="LSM")
    ax.bar(np.arange(2) + 0.4, [result["lsm"]["input_only"][n] for n in names], width=0.4,
           label="input only")
    ax.set_xticks(np.arange(2) + 0.2, ["FSDD spikes", "digit events"])
    ax.set_ylim(0, 1)
    ax.legend(loc="lower right")
    ax.set_title("LSM accuracy")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


# ---------------------------------------------------------------------------------------------
# The two source papers' protocols (``--part papers``).

BETAS = (-4.0, -3.0, -2.0, -1.0, 0.0, 1.0, 2.0, 2.7)
MEAN_TARGETS = (0.2, 0.3, 0.5)
TARGET_SPREAD = 0.1  # std of the Beta law of heterogeneous targets


def _balance_score(res, task: str, u, y, split: int) -> float:
    """MC (higher is better) or test NRMSE (lower is better) of a BalancedReservoir."""
    states = res.run(u)
    if task == "memory_capacity":
        return memory_capacity(states[:split], u[:split, 0], states[split:], u[split:, 0],
                               max_delay_steps=2 * res.n_neurons, washout_steps=100)[0]
    readout = RidgeReadout(alpha=1e-6, washout_steps=100).fit(states[:split], y[:split])
    return readout.score(states[split:], y[split:])


def balance_sweep(seeds, sizes, n_adapt_steps: int) -> dict:
    """Srinivasan et al.'s comparison: best global balance beta (chosen on a validation
    series) against local adaptation toward homogeneous / heterogeneous targets, and the
    one-shot design, on MC, NARMA-10 and Mackey-Glass; dynamics checks of every adapted
    reservoir."""
    from snn.reservoir.balance import (
        BalanceConfig,
        BalancedReservoir,
        dynamics_check,
        rate_targets,
    )

    out = {}
    for n in sizes:
        for task in TASKS:
            higher = task == "memory_capacity"
            rows: dict[str, list] = {"global": [], "global_beta": []}
            flags: dict[str, dict[str, int]] = {}
            for seed in seeds:
                u_val, y_val, split, _ = task_series(task, 10_000 + seed)
                u, y, _, _ = task_series(task, seed)
                drive = task_series(task, 20_000 + seed)[0][:n_adapt_steps]
                cfg = BalanceConfig(n_neurons=n, seed=seed)
                val = [_balance_score(BalancedReservoir(replace(cfg, balance=b), rng=seed),
                                      task, u_val, y_val, split) for b in BETAS]
                best = BETAS[int(np.argmax(val) if higher else np.argmin(val))]
                rows["global_beta"].append(best)
                rows["global"].append(_balance_score(
                    BalancedReservoir(BalanceConfig(n_neurons=n, balance=best, seed=seed),
                                      rng=seed), task, u, y, split))
                for mean in MEAN_TARGETS:
                    for kind, spread in (("homogeneous", 0.0), ("heterogeneous", TARGET_SPREAD)):
                        rho = rate_targets(n, mean, spread, rng=seed + 1)
                        for method in ("adaptive", "one_shot"):
                            key = f"{method}_{kind}_{mean}"
                            res = BalancedReservoir(BalanceConfig(n_neurons=n, balance=2.0,
                                                                  seed=seed), rng=seed)
                            if method == "adaptive":
                                res.adapt(drive, rho, delta=1e-3)
                            else:
                                res.design_inhibition(rho)
                            rows.setdefault(key, []).append(_balance_score(res, task, u, y,
                                                                           split))
                            check = dynamics_check(res, n_steps=600, washout_steps=300,
                                                   rng=seed)
                            f = flags.setdefault(key, {"self_sustained": 0,
                                                       "no_echo_state": 0})
                            f["self_sustained"] += int(check.self_sustained)
                            f["no_echo_state"] += int(not check.echo_state)
            result = {k: stats(v) for k, v in rows.items()}
            g = np.array(rows["global"])
            for key in rows:
                if key.startswith(("adaptive", "one_shot")):
                    v = np.array(rows[key])
                    # improvement over the tuned baseline, + is better for every task
                    result[key]["gain"] = stats(v / g - 1 if higher else g / v - 1)
                    result[key]["flags"] = flags[key]
            out[f"{task}_n{n}"] = result
    return out


def papers_zero_shot(seeds, audio, images, srnn_seeds) -> dict:
    """Lin et al.'s protocol: seen / unseen top-1 retrieval of the switching-weight LSM, the
    Gaussian and Dale variants, the SRNN-CLIP baseline, training cost and energy."""
    from hardware_models import count_engine_operations, estimate_energy
    from snn.reservoir.srnn_clip import SRNNClipConfig, srnn_clip_experiment
    from snn.reservoir.zero_shot import SWITCHING_LSM, ZeroShotConfig, zero_shot_experiment

    zs = ZeroShotConfig(steps=300)
    out = {}
    # Each trained model is ranked both ways: among all test candidates and within its group
    # (the authors' evaluation), from the same embeddings.
    for encoder in ("switching", "gaussian", "dale"):
        rows = [zero_shot_experiment(*audio, *images, encoder=encoder, candidates="all",
                                     zero_shot=zs, n_windows=2, audio_duration=0.8, rng=s)
                for s in seeds]
        out[f"{encoder}_all"] = _retrieval_stats(rows)
        out[f"{encoder}_group"] = _retrieval_stats(rows, "candidates_group")
    rows = [srnn_clip_experiment(*audio, *images, config=SRNNClipConfig(), zero_shot=zs,
                                 audio_duration=0.8, image_duration=0.06, rng=s)
            for s in srnn_seeds]
    out["srnn_all"] = _retrieval_stats(rows)
    out["srnn_group"] = _retrieval_stats(rows, "candidates_group")
    out["training_cost_ratio"] = (out["srnn_all"]["training_macs_per_pair"]
                                  / out["switching_all"]["training_macs_per_pair"])
    # Energy per inference of the two liquids on the switching preset (events x reads) and
    # on digital baselines, counted over 20 test samples of each modality.
    from snn.reservoir.zero_shot import SwitchingLSM

    energy = {}
    for name, data, duration in (("audio", audio[1], 0.8), ("image", images[1], 0.06)):
        lsm = SwitchingLSM(SWITCHING_LSM, data.n_channels, rng=0)
        counts = None
        for k in range(20):
            res = lsm.run(data.times[k], data.units[k], duration, rng=k)
            c = count_engine_operations(lsm.network, res)
            if counts is None:
                counts = c
            else:
                for total, more in zip(counts, c):
                    for f in ("macs", "synaptic_events", "input_vectors", "device_reads",
                              "dac_conversions", "adc_conversions"):
                        setattr(total, f, getattr(total, f) + getattr(more, f))
        report = estimate_energy(counts, "rram_switching", n_inferences=20)
        energy[name] = {"energy_j": report.energy, "per_inference": report.per_inference}
    out["energy"] = energy
    return out


def _retrieval_stats(rows, view: str | None = None) -> dict:
    """Mean / spread over seeds of the retrieval entries of ``rows`` (or of ``row[view]``)."""
    out = {}
    for group in ("seen", "unseen"):
        got = [r[view][group] if view else r[group] for r in rows]
        out[group] = {k: stats([g[k] for g in got]) for k in got[0]}
    out["training_macs_per_pair"] = rows[0]["training_macs_per_pair"]
    out["n_trained_parameters"] = rows[0]["n_trained_parameters"]
    out["loss_last"] = stats([r["loss_last"] for r in rows])
    return out


def _plot_zero_shot(zs: dict, axes) -> None:
    ax = axes[0]
    names = ["switching_all", "gaussian_all", "dale_all", "srnn_all"]
    for k, (group, hatch) in enumerate((("seen", ""), ("unseen", "//"))):
        for d, direction in enumerate(("audio_to_image", "image_to_audio")):
            x = np.arange(len(names)) + 0.2 * (2 * k + d)
            ax.bar(x, [100 * zs[n][group][direction]["mean"] for n in names], 0.2,
                   yerr=[100 * zs[n][group][direction]["std"] for n in names], hatch=hatch,
                   label=f"{group} {direction.replace('_to_', '->')}")
    ax.axhline(100 * zs["switching_all"]["seen"]["chance_audio_to_image"]["mean"], color="k",
               ls=":", lw=1, label="chance (9 classes)")
    n_srnn = len(zs["srnn_all"]["seen"]["audio_to_image"]["values"])
    ax.set_xticks(np.arange(len(names)) + 0.3, ["LSM\nswitching", "LSM\nGaussian",
                                                "LSM\nDale 80/20", f"SRNN-CLIP\n({n_srnn} seeds)"])
    ax.set(ylabel="top-1 retrieval (%)", ylim=(0, 100),
           title=f"zero-shot ({zs.get('audio', 'FSDD')}):\nclasses 1-7 trained, "
                 "candidates of all 9")
    ax.title.set_fontsize(9)
    ax.legend(fontsize=7)
    ax = axes[1]
    for k, (name, label) in enumerate((("switching_group", "LSM switching"),
                                       ("srnn_group", "SRNN-CLIP"))):
        g = zs[name]
        vals = [g[gr][d] for gr in ("seen", "unseen")
                for d in ("audio_to_image", "image_to_audio")]
        ax.bar(np.arange(4) + 0.4 * k, [100 * v["mean"] for v in vals], 0.4,
               yerr=[100 * v["std"] for v in vals], label=label)
    g = zs["switching_group"]
    ch = [g[gr]["chance_audio_to_image"]["mean"] for gr in ("seen", "unseen")]
    ax.hlines([100 * ch[0], 100 * ch[1]], [-0.3, 1.7], [1.7, 3.7], colors="k", linestyles=":",
              label="chance (7 or 2 classes)")
    ax.set_xticks(np.arange(4) + 0.2, ["seen\na->i", "seen\ni->a", "unseen\na->i",
                                       "unseen\ni->a"])
    ax.set(ylim=(0, 100), ylabel="top-1 retrieval (%)",
           title="candidates within group (authors' evaluation)")
    ax.legend(fontsize=7)


def _plot_balance(bal: dict, axes) -> None:
    for ax, task in zip(axes, ("memory_capacity", "narma10")):
        n = max(int(k.rsplit("_n", 1)[1]) for k in bal if k.startswith(task))
        r = bal[f"{task}_n{n}"]
        labels, means, stds = ["global β"], [r["global"]["mean"]], [r["global"]["std"]]
        for mean in MEAN_TARGETS:
            for kind in ("homogeneous", "heterogeneous"):
                v = r[f"adaptive_{kind}_{mean}"]
                labels.append(f"{kind[:3]}. {mean}")
                means.append(v["mean"])
                stds.append(v["std"])
        ax.bar(range(len(labels)), means, yerr=stds)
        ax.set_xticks(range(len(labels)), labels, rotation=45, fontsize=8)
        ax.set(title=f"{task} (N = {n}): adapted vs best global β",
               ylabel="memory capacity" if task == "memory_capacity" else "test NRMSE")


def plot_papers(result: dict, path: Path) -> None:
    """The panels of whichever parts ``result`` holds: zero-shot retrieval (2 panels) and / or
    the adaptation sweep (2 panels)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    n_panels = 2 * (("zero_shot" in result) + ("balance" in result))
    fig, axes = plt.subplots(1, n_panels, figsize=(4.5 * n_panels, 4))
    axes = list(np.atleast_1d(axes))
    if "zero_shot" in result:
        _plot_zero_shot(result["zero_shot"], axes[:2])
        axes = axes[2:]
    if "balance" in result:
        _plot_balance(result["balance"], axes)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def zero_shot_data(args):
    """((audio train, test), (image train, test), description): FSDD spikes from ``--data`` /
    ``$SNNSIM_FSDD_ROOT`` when given (else the packaged sample), sklearn digits as events."""
    root = fsdd_root(args.data, required=False)
    if root is not None:
        audio = (load_fsdd(root, "train", progress=False), load_fsdd(root, "test", progress=False))
        name = f"FSDD {len(audio[0].labels)}/{len(audio[1].labels)}"
    else:
        audio = load_sample("train"), load_sample("test")
        name = "FSDD sample 240/60"
    images = digits_events("train", duration=0.05), digits_events("test", duration=0.05)
    return audio, images, name


def print_zero_shot(zs: dict) -> None:
    print(f"\nZero-shot retrieval ({zs['audio']}, digits events {zs['images']}; classes 1-7 "
          f"trained, 8-9 unseen, 0 left out), top-1 %")
    for name, r in zs.items():
        if not isinstance(r, dict) or "seen" not in r:
            continue
        for group in ("seen", "unseen"):
            g = r[group]
            print(f"  {name:16s} {group:6s} a->i {fmt(g['audio_to_image'], 100, 1)}  "
                  f"i->a {fmt(g['image_to_audio'], 100, 1)}  chance "
                  f"{100 * g['chance_audio_to_image']['mean']:.1f} / "
                  f"{100 * g['chance_image_to_audio']['mean']:.1f}")
        print(f"  {'':16s} seeds {len(r['seen']['audio_to_image']['values'])}, trained "
              f"parameters {r['n_trained_parameters']}, training MACs per pair "
              f"{r['training_macs_per_pair']:.3g}")
    print(f"  training cost SRNN-CLIP / LSM projections: {zs['training_cost_ratio']:.1f}x")
    for name, e in zs["energy"].items():
        print(f"  energy per {name} inference: " + ", ".join(
            f"{k} {v * 1e9:.3g} nJ" for k, v in e["energy_j"].items()))


def run_zero_shot(args, seeds) -> dict:
    audio, images, name = zero_shot_data(args)
    zs = papers_zero_shot(seeds, audio, images, seeds)
    zs["audio"] = name
    zs["images"] = f"{len(images[0].labels)}/{len(images[1].labels)}"
    print_zero_shot(zs)
    return zs


def _finish_zero_shot(args, seeds, result: dict, t_start: float, stem: Path) -> dict:
    """Add the zero-shot part to ``result``, then write ``stem``.json and .png."""
    result["zero_shot"] = run_zero_shot(args, seeds)
    result["total_seconds"] = time.perf_counter() - t_start
    write_json(stem.with_suffix(".json"), result)
    plot_papers(result, stem.with_suffix(".png"))
    print(f"\nwrote {stem.with_suffix('.json')} and {stem.name}.png in "
          f"{result['total_seconds']:.0f} s")
    return result


def main_zero_shot(args, seeds, out: Path) -> dict:
    t_start = time.perf_counter()
    result = {"machine": machine_info(), "seeds": seeds}
    return _finish_zero_shot(args, seeds, result, t_start, out / "reservoir_zero_shot")


def main_papers(args, seeds, out: Path) -> dict:
    t_start = time.perf_counter()
    result = {"machine": machine_info(), "seeds": seeds}
    sizes = (50,) if args.quick else (50, 100)
    result["balance"] = balance_sweep(seeds, sizes, 4000)
    print(f"\nAdaptive E/I balance (sigmoid units), seeds {seeds}; mean ± std [min, max]; gain "
          f"over the best global beta of {BETAS}; flags: reservoirs (of {len(seeds)}) with "
          f"self-sustained activity / without the echo-state property")
    for key, r in result["balance"].items():
        print(f"  {key}: global {fmt(r['global'], 1, 3)} (beta {r['global_beta']['values']})")
        for name, v in r.items():
            if "gain" in v:
                print(f"    {name:28s} {fmt(v, 1, 3)}  gain {fmt(v['gain'], 100, 1)} %  "
                      f"flags {v['flags']['self_sustained']}/{v['flags']['no_echo_state']}")
    return _finish_zero_shot(args, seeds, result, t_start, out / "reservoir_papers")


def lsm_synapse_rule(seeds, audio, n_samples: int, chunk_duration: float) -> dict:
    """Our spiking variant of the per-synapse rule, online in the engine's time loop and
    between 1 ms engine chunks: FSDD accuracy of a 200-neuron 80/20 liquid as built and
    after adaptation toward 10 Hz (homogeneous) or a heterogeneous law of the same mean."""
    from snn.reservoir.adaptation import (
        activity_targets,
        adapt_lsm_online,
        adapt_lsm_synapses,
    )

    a_tr, a_te = audio
    variants = (("fixed", None, None), ("homogeneous", 0.0, "chunks"),
                ("heterogeneous", 0.5, "chunks"), ("online_homogeneous", 0.0, "online"),
                ("online_heterogeneous", 0.5, "online"))
    rows: dict[str, list] = {name: [] for name, _, _ in variants}
    for how in ("chunks", "online"):
        rows[f"rate_error_first_hz_{how}"] = []
        rows[f"rate_error_last_hz_{how}"] = []
    for seed in seeds:
        for name, spread, how in variants:
            lsm = LSM(LSMConfig(n_neurons=200), a_tr.n_channels, rng=seed)
            if spread is not None:
                targets = activity_targets(200, 10.0, spread, rng=seed + 1)
                if how == "chunks":
                    errors = adapt_lsm_synapses(lsm, a_tr, targets, delta=5e-13,
                                                n_samples=n_samples, duration=1.0,
                                                chunk_duration=chunk_duration, rng=seed)
                else:  # inside the engine's time loop
                    errors = adapt_lsm_online(lsm, a_tr, targets, delta=5e-12,
                                              n_samples=n_samples, duration=1.0, rng=seed)
                if spread == 0.0:
                    rows[f"rate_error_first_hz_{how}"].append(float(errors[0]))
                    rows[f"rate_error_last_hz_{how}"].append(float(errors[-1]))
            f_tr, f_te = lsm.transform(a_tr, 1.0, 2), lsm.transform(a_te, 1.0, 2)
            rows[name].append(LogisticReadout(c=0.1).fit(f_tr, a_tr.labels)
                              .score(f_te, a_te.labels))
    return {k: stats(v) for k, v in rows.items()}


def main_lsm_rule(args, seeds, out: Path) -> dict:
    t_start = time.perf_counter()
    chunk = 1e-3
    n_samples = 5 if args.quick else 10
    result = {"machine": machine_info(), "seeds": seeds, "chunk_duration_s": chunk,
              "n_adaptation_samples": n_samples}
    audio = load_sample("train"), load_sample("test")
    result["lsm_rule"] = r = lsm_synapse_rule(seeds, audio, n_samples, chunk)
    print(f"\nPer-synapse inhibitory rule on a 200-LIF liquid (ours; online in the engine's "
          f"loop, or between {chunk * 1e3:g} ms engine chunks), FSDD sample 240/60, seeds "
          f"{seeds}, test accuracy %")
    for name in ("fixed", "homogeneous", "heterogeneous", "online_homogeneous",
                 "online_heterogeneous"):
        print(f"  {name:20s}: {fmt(r[name], 100, 1)}")
    for how in ("chunks", "online"):
        print(f"  rate error ({how}, homogeneous, first -> last adaptation sample): "
              f"{fmt(r[f'rate_error_first_hz_{how}'], 1, 1)} -> "
              f"{fmt(r[f'rate_error_last_hz_{how}'], 1, 1)} Hz")
    result["total_seconds"] = time.perf_counter() - t_start
    write_json(out / "reservoir_lsm_rule.json", result)
    return result


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--data", default=None,
                        help="FSDD folder (recordings/ or converted fsdd_*.h5) for the "
                             "zero-shot and library parts; default $SNNSIM_FSDD_ROOT, else the "
                             "sample shipped with the package")
    parser.add_argument("--out", default=str(RESULTS_DIR))
    parser.add_argument("--progress", action="store_true")
    parser.add_argument("--part", choices=("all", "papers", "zero-shot", "lsm-rule",
                                           "library"),
                        default="all",
                        help="papers: the protocols of the two source papers (writes "
                             "reservoir_papers.*); zero-shot: only the zero-shot "
                             "LSM part of papers (writes reservoir_zero_shot.*); library: ESN "
                             "vs ReservoirPy, LSM accuracy and our adaptation variant (writes "
                             "reservoir.*)")
    args = parser.parse_args(argv)
    seeds = list(range(2 if args.quick else args.seeds))
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    if args.part == "zero-shot":
        return main_zero_shot(args, seeds, out)
    if args.part in ("all", "papers"):
        papers = main_papers(args, seeds, out)
        if args.part == "papers":
            return papers
    if args.part in ("all", "lsm-rule"):
        rule = main_lsm_rule(args, seeds[:3], out)
        if args.part == "lsm-rule":
            return rule
    t_start = time.perf_counter()

    root = fsdd_root(args.data, required=False)
    if root is not None and not args.quick:
        a_tr, a_te = load_fsdd(root, "train", progress=False), load_fsdd(root, "test",
                                                                         progress=False)
        source = f"FSDD {len(a_tr.labels)}/{len(a_te.labels)} from {root}"
    else:
        a_tr, a_te = load_sample("train"), load_sample("test")
        source = "FSDD sample shipped with snn.data, 240/60"
    i_tr, i_te = digits_events("train", duration=0.05), digits_events("test", duration=0.05)
    if args.quick:
        a_tr, a_te = a_tr.subset(np.arange(0, len(a_tr.labels), 4)), a_te
        i_tr, i_te = i_tr.subset(np.arange(0, len(i_tr.labels), 3)), i_te
    rng = np.random.default_rng(0)
    zs_audio = (a_tr.subset(rng.permutation(len(a_tr.labels))[:600]),
                a_te.subset(np.arange(min(300, len(a_te.labels)))))
    result = {"machine": machine_info("reservoirpy"), "seeds": seeds, "audio": source}
    print(f"audio: {source}; digits events {len(i_tr.labels)}/{len(i_te.labels)}")

    result["esn"] = esn_vs_reservoirpy(seeds, 5000 if args.quick else 20000)
    print("\nESN (N = 100) vs ReservoirPy, mean ± std [min, max] over seeds", seeds)
    for task in TASKS:
        r = result["esn"][task]
        print(f"  {task:16s} snnsim {fmt(r['snnsim'])}   reservoirpy {fmt(r['reservoirpy'])}")
    tm = result["esn"]["timing"]
    print(f"  states of {tm['steps']} steps: snnsim {tm['snnsim_s'] * 1e3:.1f} ms, "
          f"reservoirpy {tm['reservoirpy_s'] * 1e3:.1f} ms -> {tm['speedup']:.1f}x")

    result["adaptation"] = adaptive_vs_global(seeds)
    ad = result["adaptation"]
    print("\nE/I ESN memory capacity (delays 1..200)")
    print(f"  global (best radius {ad['global_radius']['values']}): {fmt(ad['global'], 1, 2)}")
    for name in ("homogeneous", "heterogeneous"):
        print(f"  adaptive {name:13s}: {fmt(ad['adaptive_' + name], 1, 2)}  gain "
              f"{fmt(ad['gain_' + name], 100, 1)} %  rate error "
              f"{fmt(ad['rate_error_' + name], 1, 3)}")

    result["lsm"] = lsm_accuracy(seeds, (a_tr, a_te), (i_tr, i_te), args.progress)
    ls = result["lsm"]
    print("\nLSM (400 LIF, 80/20 E/I) + logistic readout, test accuracy")
    print(f"  FSDD spikes : {fmt(ls['fsdd'], 100, 1)} %   input only "
          f"{100 * ls['input_only']['fsdd']:.1f} %   "
          f"{1e3 * ls['seconds_per_utterance']['mean']:.1f} ms per 1 s utterance")
    print(f"  digit events: {fmt(ls['digits'], 100, 1)} %   input only "
          f"{100 * ls['input_only']['digits']:.1f} %")

    result["lsm_adaptation"] = lsm_adaptation(seeds, zs_audio)
    la = result["lsm_adaptation"]
    print(f"\nLSM E/I adaptation (FSDD {len(zs_audio[0].labels)}/{len(zs_audio[1].labels)}), "
          f"accuracy %; rate error {fmt(la['rate_error_first_hz'], 1, 1)} -> "
          f"{fmt(la['rate_error_last_hz'], 1, 1)} Hz")
    for name in ("fixed", "adaptive_homogeneous", "adaptive_heterogeneous"):
        print(f"  {name:23s}: {fmt(la[name], 100, 1)}")

    result["total_seconds"] = time.perf_counter() - t_start
    write_json(out / "reservoir.json", result)
    plot(result, out / "reservoir.png")
    print(f"\nwrote {out / 'reservoir.json'} and reservoir.png in {result['total_seconds']:.0f} s")
    return result


if __name__ == "__main__":
    main()
