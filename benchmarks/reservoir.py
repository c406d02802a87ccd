"""Reservoir computing benchmark: ESN beside ReservoirPy, adaptive vs globally tuned E/I
balance, liquid state machine accuracy, and the resistive-memory zero-shot LSM.

In one run, over ``--seeds`` seeds (mean, std, [min, max]):

* **ESN vs ReservoirPy 0.4** with the same size and hyper-parameters (each draws its own
  random matrices from the seed; the readout is the same ridge regression): memory capacity
  (i.i.d. input, delays 1..2N), NARMA-10 NRMSE, Mackey-Glass (tau = 17) 10-step-ahead NRMSE,
  and the time to compute the reservoir states of a 20,000-step series (best of 3; the
  compiled loop is warmed up once first).
* **Adaptive vs globally tuned E/I** (ESN with 80/20 E/I units, rectified-tanh rates):
  memory capacity of the best spectral radius on a grid (chosen on a validation series)
  against local adaptation of each unit's inhibition toward homogeneous and heterogeneous
  target rates, starting from an over-excited reservoir (radius 2).
* **LSM accuracy** (400 LIF neurons, 80/20 E/I, windowed spike counts, logistic readout) on
  the Free Spoken Digit Dataset as spikes (2,700 / 300) and on sklearn's digits as latency
  events (1,347 / 450), beside a logistic readout on the binned input alone.
* **LSM E/I adaptation**: FSDD accuracy (subset of 600 / 300) of the liquid as built and
  after each neuron adapted its inhibition toward homogeneous or heterogeneous target rates
  (two readout windows).
* **Zero-shot LSM** with ideal weights and with weights from the RRAM preset's switching
  statistics (read noise re-read every 100 ms): linear probes of each liquid and zero-shot
  accuracy audio -> image prototypes and image -> audio prototypes (FSDD subset of 600 /
  300 utterances).

Run it with::

    python benchmarks/reservoir.py [--quick] [--seeds 5] [--data ../shared/data/fsdd]
        [--out benchmarks/results]

``--quick``: 2 seeds, a quarter of the FSDD and a third of the digits training sets (about
3 minutes).  Writes ``reservoir.json`` and ``reservoir.png`` to ``--out`` and prints the
tables.
"""

from __future__ import annotations

import argparse
import time
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
from snn.reservoir.zero_shot import zero_shot_experiment

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


def zero_shot(seeds, audio, images, progress: bool) -> dict:
    out = {}
    for weights in ("ideal", "rram"):
        rows = []
        for seed in seeds:
            rows.append(zero_shot_experiment(*audio, *images, weights=weights,
                                             lsm_config=LSMConfig(n_neurons=200),
                                             read_interval=0.1, rng=seed, progress=progress))
        out[weights] = {k: stats([r[k] for r in rows]) for k in rows[0]
                        if isinstance(rows[0][k], float)}
    return out


def plot(result: dict, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 4, figsize=(17, 3.8))
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
    ax = axes[3]
    keys = ["probe_audio", "probe_image", "audio_by_image_prototypes",
            "image_by_audio_prototypes"]
    for k, w in enumerate(("ideal", "rram")):
        ax.bar(np.arange(4) + 0.4 * k, [result["zero_shot"][w][x]["mean"] for x in keys], 0.4,
               yerr=[result["zero_shot"][w][x]["std"] for x in keys], label=w)
    ax.set_xticks(np.arange(4) + 0.2, ["probe\naudio", "probe\nimage", "audio by\nimages",
                                       "images by\naudio"])
    ax.set_ylim(0, 1)
    ax.legend(loc="lower right")
    ax.set_title("zero-shot LSM")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--data", default=None,
                        help="FSDD folder (recordings/ or converted fsdd_*.h5); default "
                             "$SNNSIM_FSDD_ROOT, else the sample shipped with the package")
    parser.add_argument("--out", default=str(RESULTS_DIR))
    parser.add_argument("--progress", action="store_true")
    args = parser.parse_args(argv)
    seeds = list(range(2 if args.quick else args.seeds))
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
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

    zs_images = (i_tr, i_te)
    result["zero_shot"] = zero_shot(seeds, zs_audio, zs_images, args.progress)
    print("\nZero-shot LSM (200 LIF per modality), accuracy %")
    for w, r in result["zero_shot"].items():
        print(f"  {w:5s}: probe audio {fmt(r['probe_audio'], 100, 1)}, probe image "
              f"{fmt(r['probe_image'], 100, 1)}")
        print(f"         audio->image {fmt(r['audio_by_image_prototypes'], 100, 1)}, "
              f"image->audio {fmt(r['image_by_audio_prototypes'], 100, 1)}")
    result["total_seconds"] = time.perf_counter() - t_start
    write_json(out / "reservoir.json", result)
    plot(result, out / "reservoir.png")
    print(f"\nwrote {out / 'reservoir.json'} and reservoir.png in {result['total_seconds']:.0f} s")
    return result


if __name__ == "__main__":
    main()
