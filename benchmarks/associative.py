"""The multitasking Hebbian network: Monte Carlo beside the statistical mechanics, and speed.

What it measures (each part selectable with ``--parts``):

* ``regimes``: zero temperature, perfect data, P = 3: the sorted Mattis magnetisations
  after a cue of pattern 1 against the hierarchical power law ``m_k = d^(k-1)`` (fixed point
  up to the critical dilution ``d + d^2 = 1``, d_c = 0.618); and at inverse temperature
  ``--beta`` the magnetisations against d from the self-consistency equations (curves) and
  Monte Carlo (dots), with the dilution where the symmetric parallel state (all m equal)
  takes over, solved from the equations.
* ``finite_size``: |m_MC - m_theory| against N (several seeds) for three cases: the
  hierarchical state (d = 0.3, T = 0), supervised learning (r = 0.6, M = 15, d = 0.3, T = 0)
  and the parallel state (d = 0.9, beta = ``--beta``); the fitted exponent of N.
* ``thresholds``: P = 1, T = 0: the examples M needed for m >= 0.9 against r, from the
  theory (exact binomial and Gaussian law ``M = theta^2 (1 - r^2) / r^2``) and from Monte
  Carlo with supervised and unsupervised couplings.
* ``loss``: the Hamiltonian per unit and the sum-of-squared-errors loss of each pattern
  along zero-temperature trajectories: both reach their minima at the same state.
* ``spiking``: the Hopfield couplings (P = 3) on LIF neurons in the engine, cued with pattern
  1 (10 % of its units flipped), with 1 ms or 1-10 ms synaptic delays, signed synapses or an
  excitatory/inhibitory split (Dale's law, negative couplings through inhibitory relays),
  against zero-temperature Glauber dynamics from the same cue.
* ``speed``: Monte Carlo sweeps per second (CPU time, best of ``--repeats``) at N = 10^3,
  10^4, 10^5 (P = 3, d = 0.3, Hopfield couplings, zero temperature), compiled against the
  numpy implementation (per-unit numpy updates for sequential sweeps, fully vectorised for
  parallel ones), and the memory each storage layout of the couplings needs.

Run:  python benchmarks/associative.py [--quick] [--parts regimes speed ...]
Writes benchmarks/results/associative.json and associative.png.
"""

from __future__ import annotations

import argparse
import json
import math
import time

import matplotlib
import numpy as np

from snn.associative import (
    MultitaskingConfig,
    build_network,
    glauber,
    hierarchical_critical_dilution,
    hierarchical_magnetizations,
    learning_threshold,
    noisy_cue,
    random_state,
    solve_self_consistency,
    sse_loss,
)

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402  (after choosing the backend)
from _common import RESULTS_DIR, machine_info, results_dir, write_json  # noqa: E402

PARTS = ("regimes", "finite_size", "thresholds", "loss", "spiking", "speed")
P = 3


def _sorted_abs(m: np.ndarray) -> np.ndarray:
    return np.sort(np.abs(m))[::-1]


def _run(config: MultitaskingConfig, *, beta: float, n_sweeps: int, seed: int,
         cue: float | None = 0.0) -> np.ndarray:
    """Mattis magnetisations (sorted |m|) at the end of a run, averaged over the last half
    of the sweeps at finite temperature."""
    xi, _, couplings = build_network(config)
    # Streams of their own: an int seed equal to config.seed would redraw the patterns' signs.
    start_rng = np.random.default_rng([seed, 1])
    start = (random_state(config.n_neurons, rng=start_rng) if cue is None
             else noisy_cue(xi[0], cue, rng=start_rng))
    result = glauber(couplings, start, xi, beta=beta, n_sweeps=n_sweeps,
                     rng=np.random.default_rng([seed, 2]))
    if math.isinf(beta):
        return _sorted_abs(result.magnetizations[-1])
    tail = np.abs(result.magnetizations[n_sweeps // 2:])
    return _sorted_abs(tail.mean(axis=0))


def symmetric_onset(beta: float, lo: float = 0.3, hi: float = 0.99) -> float:
    """Smallest dilution at which the equations, started hierarchically, end symmetric."""
    def symmetric(d: float) -> bool:
        sol = solve_self_consistency(P, d, beta=beta, start=[1.0, 0.5, 0.25],
                                     max_iterations=20000)
        return float(np.ptp(sol.magnetizations)) < 1e-6
    if symmetric(lo) or not symmetric(hi):
        return float("nan")
    for _ in range(30):
        mid = 0.5 * (lo + hi)
        lo, hi = (lo, mid) if symmetric(mid) else (mid, hi)
    return 0.5 * (lo + hi)


def part_regimes(args) -> dict:
    n = args.n_regimes
    out: dict = {"n_neurons": n, "beta": args.beta, "seeds": args.seeds,
                 "critical_dilution_T0": hierarchical_critical_dilution(P)}
    rank_rows = []
    for d in (0.1, 0.3, 0.5):
        runs = [_run(MultitaskingConfig(n_neurons=n, n_patterns=P, dilution=d, seed=s),
                     beta=math.inf, n_sweeps=20, seed=s, cue=0.2) for s in range(args.seeds)]
        runs = np.array(runs)
        rank_rows.append({"dilution": d, "mc_mean": runs.mean(0).tolist(),
                          "mc_std": runs.std(0).tolist(),
                          "power_law": hierarchical_magnetizations(d, P).tolist()})
    out["hierarchical_T0"] = rank_rows
    grid = np.linspace(0.05, 0.97, 47)
    curve = [solve_self_consistency(P, float(d), beta=args.beta, start=[1.0, 0.5, 0.25],
                                    max_iterations=20000).magnetizations.tolist()
             for d in grid]
    out["theory_vs_dilution"] = {"dilution": grid.tolist(), "m": curve}
    dots = []
    for d in args.regime_dilutions:
        runs = np.array([_run(MultitaskingConfig(n_neurons=n, n_patterns=P, dilution=d,
                                                 seed=s), beta=args.beta,
                              n_sweeps=args.sweeps_hot, seed=s) for s in range(args.seeds)])
        hierarchical = solve_self_consistency(P, d, beta=args.beta, start=[1.0, 0.5, 0.25],
                                              max_iterations=20000)
        # The solution the Monte Carlo state lies next to: the equations started from it.
        nearest = solve_self_consistency(P, d, beta=args.beta, start=runs.mean(0),
                                         max_iterations=20000)
        dots.append({"dilution": d, "mc_mean": runs.mean(0).tolist(),
                     "mc_std": runs.std(0).tolist(),
                     "theory": _sorted_abs(hierarchical.magnetizations).tolist(),
                     "theory_stability": hierarchical.stability,
                     "nearest_solution": _sorted_abs(nearest.magnetizations).tolist(),
                     "nearest_stability": nearest.stability})
    out["mc_vs_dilution"] = dots
    out["symmetric_onset_dilution"] = symmetric_onset(args.beta)
    print(f"\nregimes (P = {P}, N = {n}): T = 0 hierarchical fixed point up to d_c = "
          f"{out['critical_dilution_T0']:.4f}; at beta = {args.beta:g} all m equal from "
          f"d = {out['symmetric_onset_dilution']:.4f} (equations)")
    print(f"{'d':>5} {'T':>6} {'m1 MC':>8} {'m2 MC':>8} {'m3 MC':>8}   theory (stability);"
          " solution next to the MC state (stability)")
    for row in rank_rows:
        print(f"{row['dilution']:5.2f} {'0':>6} " + " ".join(f"{v:8.4f}" for v in row["mc_mean"])
              + "   " + " ".join(f"{v:.4f}" for v in row["power_law"]))
    for row in dots:
        print(f"{row['dilution']:5.2f} {1 / args.beta:6.3f} "
              + " ".join(f"{v:8.4f}" for v in row["mc_mean"])
              + "   " + " ".join(f"{v:.4f}" for v in row["theory"])
              + f" ({row['theory_stability']:.3f});  "
              + " ".join(f"{v:.4f}" for v in row["nearest_solution"])
              + f" ({row['nearest_stability']:.3f})")
    return out


def part_finite_size(args) -> dict:
    cases = {
        "hierarchical d=0.3 T=0": (dict(dilution=0.3), math.inf, 20, 0.2),
        "supervised r=0.6 M=15 d=0.3 T=0": (dict(dilution=0.3, quality=0.6, n_examples=15,
                                                 training="supervised"), math.inf, 20, 0.2),
        f"parallel d=0.9 beta={args.beta:g}": (dict(dilution=0.9), args.beta,
                                              args.sweeps_hot, 0.0),
    }
    out: dict = {"sizes": args.sizes_fss, "seeds": args.seeds_fss, "cases": []}
    print(f"\nfinite-size scaling: mean |m_MC - m_theory| over {args.seeds_fss} seeds "
          "(sorted magnetisations)")
    for name, (kw, beta, sweeps, cue) in cases.items():
        d = kw["dilution"]
        sol = solve_self_consistency(P, d, beta=beta, quality=kw.get("quality", 1.0),
                                     n_examples=kw.get("n_examples"),
                                     start=hierarchical_magnetizations(d, P) if math.isinf(beta)
                                     else [1.0, 0.5, 0.25], max_iterations=20000)
        theory = _sorted_abs(sol.magnetizations)
        errors = []
        for n in args.sizes_fss:
            dev = [np.abs(_run(MultitaskingConfig(n_neurons=n, n_patterns=P, seed=s, **kw),
                               beta=beta, n_sweeps=sweeps, seed=s, cue=cue) - theory).mean()
                   for s in range(args.seeds_fss)]
            errors.append(float(np.mean(dev)))
        slope = float(np.polyfit(np.log(args.sizes_fss), np.log(errors), 1)[0])
        out["cases"].append({"case": name, "theory": theory.tolist(), "errors": errors,
                             "exponent": slope})
        print(f"  {name:36s} " + " ".join(f"N={n}: {e:.4f}" for n, e in
                                          zip(args.sizes_fss, errors))
              + f"   fitted exponent {slope:+.2f}")
    return out


def part_thresholds(args) -> dict:
    n, d, target = args.n_thresholds, 0.2, 0.9
    qualities = np.array(args.qualities)
    exact = learning_threshold(qualities, target, exact=True)
    gaussian = learning_threshold(qualities, target)
    rows = []
    for r, m_exact in zip(qualities, exact):
        found = {}
        for training in ("supervised", "unsupervised"):
            m_needed = None
            for m in range(max(1, int(m_exact) - 6), int(m_exact) + 12):
                config = MultitaskingConfig(n_neurons=n, n_patterns=1, dilution=d,
                                            quality=float(r), n_examples=m, training=training,
                                            seed=m)
                value = _run(config, beta=math.inf, n_sweeps=10, seed=m, cue=None)[0]
                if value >= target:
                    m_needed = m
                    break
            found[training] = m_needed
        rows.append({"quality": float(r), "theory_exact": int(m_exact),
                     "theory_gaussian": float(gaussian[list(qualities).index(r)]),
                     "mc_supervised": found["supervised"],
                     "mc_unsupervised": found["unsupervised"]})
    print(f"\nlearning thresholds (P = 1, d = {d}, N = {n}, T = 0): examples M for m >= "
          f"{target}")
    print(f"{'r':>5} {'exact':>6} {'gauss':>7} {'MC sup':>7} {'MC unsup':>9}")
    for row in rows:
        print(f"{row['quality']:5.2f} {row['theory_exact']:6d} {row['theory_gaussian']:7.1f} "
              f"{row['mc_supervised']!s:>7} {row['mc_unsupervised']!s:>9}")
    return {"n_neurons": n, "dilution": d, "target_magnetization": target, "rows": rows}


def part_loss(args) -> dict:
    n, d = args.n_regimes, 0.3
    config = MultitaskingConfig(n_neurons=n, n_patterns=P, dilution=d, seed=11)
    xi, _, couplings = build_network(config)
    support = np.sum(xi != 0, axis=1)
    trajectories = []
    for seed in range(args.seeds):
        result = glauber(couplings, random_state(n, rng=np.random.default_rng([seed, 1])), xi,
                         n_sweeps=15, rng=np.random.default_rng([seed, 2]))
        loss = 1.0 - np.abs(result.magnetizations) * (n * (1 - d)) / support
        final_loss = sse_loss(xi, result.state)
        assert np.allclose(loss[-1], final_loss)
        trajectories.append({
            "energy_per_unit": result.energies.tolist(), "loss": loss.tolist(),
            "argmin_energy": int(np.argmin(result.energies)),
            "argmin_total_loss": int(np.argmin(loss.sum(axis=1))),
            "final_sorted_loss": np.sort(final_loss).tolist()})
    for t in trajectories:
        total = np.sum(t["loss"], axis=1)
        t["loss_excess_at_energy_minimum"] = float(total[t["argmin_energy"]] - total.min())
        t["correlation_energy_total_loss"] = float(np.corrcoef(t["energy_per_unit"], total)[0, 1])
    print(f"\nHamiltonian and loss along {args.seeds} zero-temperature trajectories "
          f"(N = {n}, d = {d}): correlation of H and the summed loss "
          + " ".join(f"{t['correlation_energy_total_loss']:.4f}" for t in trajectories)
          + "; summed loss at the energy minimum above its own minimum by "
          + " ".join(f"{t['loss_excess_at_energy_minimum']:.1e}" for t in trajectories)
          + "; final sorted losses " + "; ".join(
              " ".join(f"{v:.3f}" for v in t["final_sorted_loss"]) for t in trajectories)
          + " (hierarchical theory 1 - d^(k-1): "
          + " ".join(f"{1 - v:.3f}" for v in hierarchical_magnetizations(d, P)) + ")")
    return {"n_neurons": n, "dilution": d, "trajectories": trajectories}


def part_spiking(args) -> dict:
    from snn.associative.spiking import SpikingRetrievalConfig, spiking_retrieval

    n = args.n_spiking
    rows = []
    print(f"\nspiking retrieval (LIF, N = {n}, P = {P}, cue: pattern 1 with 10 % flipped); "
          "sorted |m| in the last 100 ms")
    print(f"{'d':>5} {'Glauber T=0':>22} {'E/I':>4} {'delays':>8} {'spiking':>22}  relay")
    for d in args.spiking_dilutions:
        config = MultitaskingConfig(n_neurons=n, n_patterns=P, dilution=d, seed=21)
        xi, _, couplings = build_network(config)
        cue = noisy_cue(xi[0], 0.1, rng=np.random.default_rng([21, 1]))
        reference = glauber(couplings, cue, xi, n_sweeps=30, rng=np.random.default_rng([21, 2]))
        m_ref = reference.magnetizations[-1]
        for dale in (False, True):
            for delay_max in (1e-3, 10e-3):
                spiking = spiking_retrieval(couplings, xi, cue, SpikingRetrievalConfig(
                    dale=dale, delay_min=1e-3, delay_max=delay_max, duration=0.4))
                row = {"dilution": d, "dale": dale, "delay_max_s": delay_max,
                       "glauber": m_ref.tolist(), "spiking": spiking.magnetizations.tolist(),
                       "spiking_windows": spiking.window_magnetizations.tolist(),
                       "relay_ratio": spiking.relay_ratio,
                       "rate_active_hz": spiking.rate_active,
                       "n_synapses": spiking.n_synapses, "wall_time_s": spiking.wall_time}
                rows.append(row)
                print(f"{d:5.2f} {' '.join(f'{v:6.3f}' for v in _sorted_abs(m_ref)):>22} "
                      f"{'yes' if dale else 'no':>4} {delay_max * 1e3:5.0f} ms "
                      f"{' '.join(f'{v:6.3f}' for v in _sorted_abs(spiking.magnetizations)):>22}"
                      f"  {spiking.relay_ratio:.2f}")
    return {"n_neurons": n, "rows": rows}


def _cpu_time(repeats: int, *args, **kwargs) -> float:
    """Best CPU time of ``glauber(*args, **kwargs)`` over ``repeats`` calls (s)."""
    best = math.inf
    for _ in range(repeats):
        start = time.process_time()
        glauber(*args, **kwargs)
        best = min(best, time.process_time() - start)
    return best


def part_speed(args) -> dict:
    rows = []
    print("\nMonte Carlo sweeps per second (CPU time, best of "
          f"{args.repeats}; P = {P}, d = 0.3, T = 0)")
    print(f"{'N':>7} {'update':>10} {'layout':>8} {'numba':>10} {'numpy':>10} {'ratio':>7}"
          f" {'memory':>10}")
    for n in args.sizes_speed:
        config = MultitaskingConfig(n_neurons=n, n_patterns=P, dilution=0.3, seed=0)
        xi, _, couplings = build_network(config)
        start = random_state(n, rng=0)
        for update in ("sequential", "parallel"):
            for layout in ("factored", "dense", "sparse"):
                memory = couplings.memory_bytes(layout)
                if layout != "factored" and memory > args.max_matrix_bytes:
                    rows.append({"n_neurons": n, "update": update, "layout": layout,
                                 "memory_bytes": memory, "numba_sweeps_per_s": None,
                                 "numpy_sweeps_per_s": None})
                    continue
                sweeps = max(2, int(args.work // (n * (P if layout == "factored" else n))))
                glauber(couplings, start, xi, n_sweeps=1, update=update,
                        representation=layout)                   # compile or load
                fast = _cpu_time(args.repeats, couplings, start, xi, n_sweeps=sweeps,
                                 update=update, representation=layout)
                slow_sweeps = 1 if update == "sequential" else sweeps
                slow = None
                if layout == "factored" or update == "parallel":
                    slow = _cpu_time(1 if update == "sequential" else args.repeats,
                                     couplings, start, xi, n_sweeps=slow_sweeps, update=update,
                                     representation=layout, backend="numpy")
                row = {"n_neurons": n, "update": update, "layout": layout,
                       "memory_bytes": memory, "numba_sweeps_per_s": sweeps / fast,
                       "numpy_sweeps_per_s": None if slow is None else slow_sweeps / slow}
                rows.append(row)
                ratio = (row["numba_sweeps_per_s"] / row["numpy_sweeps_per_s"]
                         if slow else float("nan"))
                print(f"{n:7d} {update:>10} {layout:>8} {row['numba_sweeps_per_s']:10.1f} "
                      f"{row['numpy_sweeps_per_s'] or float('nan'):10.2f} {ratio:7.1f} "
                      f"{memory / 2**20:8.1f} MiB")
    memory = []
    for n in (10**3, 10**4, 10**5):
        for d in (0.3, 0.9):
            density = 1.0 - (1.0 - (1.0 - d) ** 2) ** P    # Couplings.expected_density
            memory.append({"n_neurons": n, "dilution": d,
                           "factored_bytes": 2 * P * n, "dense_bytes": 4 * n * n,
                           "sparse_bytes": int(8 * density * n * (n - 1)) + 8 * (n + 1)})
    print("memory of the couplings (P = 3, Hopfield, int8 factors): " + "; ".join(
        f"N={row['n_neurons']:.0e} d={row['dilution']}: factored "
        f"{row['factored_bytes'] / 2**20:.2f} MiB, dense {row['dense_bytes'] / 2**30:.3g} GiB, "
        f"sparse {row['sparse_bytes'] / 2**30:.3g} GiB" for row in memory))
    return {"rows": rows, "memory": memory}


def figure(report: dict, path) -> None:
    fig, axes = plt.subplots(3, 3, figsize=(14, 12), layout="constrained")
    ax = axes[0, 0]
    if "regimes" in report:
        for row in report["regimes"]["hierarchical_T0"]:
            k = np.arange(1, P + 1)
            line, = ax.plot(k, row["power_law"], "-", label=f"d = {row['dilution']}: d^(k-1)")
            ax.errorbar(k, row["mc_mean"], yerr=row["mc_std"], fmt="o", color=line.get_color())
        ax.set_yscale("log")
        ax.set_xlabel("rank k of the pattern")
        ax.set_ylabel("|m_k| (sorted)")
        ax.set_title(f"T = 0: hierarchical retrieval, N = {report['regimes']['n_neurons']}")
        ax.legend(fontsize=8)
        ax = axes[0, 1]
        theory = np.array(report["regimes"]["theory_vs_dilution"]["m"])
        grid = report["regimes"]["theory_vs_dilution"]["dilution"]
        for k in range(P):
            line, = ax.plot(grid, np.sort(np.abs(theory), axis=1)[:, ::-1][:, k],
                            label=f"m_{k + 1} equations")
            ax.errorbar([r["dilution"] for r in report["regimes"]["mc_vs_dilution"]],
                        [r["mc_mean"][k] for r in report["regimes"]["mc_vs_dilution"]],
                        yerr=[r["mc_std"][k] for r in report["regimes"]["mc_vs_dilution"]],
                        fmt="o", color=line.get_color())
        onset = report["regimes"]["symmetric_onset_dilution"]
        ax.axvline(onset, color="gray", ls="--", label=f"all equal from d = {onset:.3f}")
        ax.set_xlabel("dilution d")
        ax.set_ylabel("|m_k|")
        ax.set_title(f"beta = {report['regimes']['beta']:g}: hierarchical -> parallel")
        ax.legend(fontsize=8)
    ax = axes[0, 2]
    if "finite_size" in report:
        sizes = report["finite_size"]["sizes"]
        for case in report["finite_size"]["cases"]:
            ax.loglog(sizes, case["errors"], "o-",
                      label=f"{case['case']} (slope {case['exponent']:+.2f})")
        ref = np.array(sizes, dtype=float)
        first = report["finite_size"]["cases"][0]["errors"][0]
        ax.loglog(ref, first * (ref / ref[0]) ** -0.5, "k:", label="N^-1/2")
        ax.set_xlabel("N")
        ax.set_ylabel("mean |m_MC - m_theory|")
        ax.set_title("finite-size scaling")
        ax.legend(fontsize=7)
    ax = axes[1, 0]
    if "thresholds" in report:
        rows = report["thresholds"]["rows"]
        r = [row["quality"] for row in rows]
        fine = np.linspace(min(r), 0.95, 100)
        ax.plot(fine, learning_threshold(fine, report["thresholds"]["target_magnetization"]),
                "k-", label="theta^2 (1 - r^2) / r^2")
        ax.plot(r, [row["theory_exact"] for row in rows], "ks", mfc="none",
                label="exact (binomial)")
        ax.plot(r, [row["mc_supervised"] for row in rows], "o", label="MC supervised")
        ax.plot(r, [row["mc_unsupervised"] for row in rows], "x", ms=9,
                label="MC unsupervised")
        ax.set_yscale("log")
        ax.set_xlabel("example quality r")
        ax.set_ylabel("examples M for m >= 0.9")
        ax.set_title("learning threshold")
        ax.legend(fontsize=8)
    ax = axes[1, 1]
    if "loss" in report:
        twin = ax.twinx()
        for t in report["loss"]["trajectories"][:3]:
            line, = ax.plot(t["energy_per_unit"], "-")
            twin.plot(np.sum(t["loss"], axis=1), "--", color=line.get_color())
        ax.set_xlabel("sweep")
        ax.set_ylabel("H / N (solid)")
        twin.set_ylabel("sum of pattern losses (dashed)")
        ax.set_title("Hamiltonian and loss, T = 0")
    ax = axes[1, 2]
    if "speed" in report:
        rows = [r for r in report["speed"]["rows"] if r["layout"] == "factored"]
        for update, marker in (("sequential", "o"), ("parallel", "s")):
            sel = [r for r in rows if r["update"] == update]
            ax.loglog([r["n_neurons"] for r in sel], [r["numba_sweeps_per_s"] for r in sel],
                      marker + "-", label=f"numba {update}")
            ax.loglog([r["n_neurons"] for r in sel], [r["numpy_sweeps_per_s"] for r in sel],
                      marker + "--", label=f"numpy {update}")
        ax.set_xlabel("N")
        ax.set_ylabel("sweeps / CPU s")
        ax.set_title("Monte Carlo speed (factored couplings)")
        ax.legend(fontsize=8)
    ax = axes[2, 0]
    if "spiking" in report:
        rows = report["spiking"]["rows"]
        dilutions = sorted({row["dilution"] for row in rows})
        ranks = np.arange(1, P + 1)
        for d in dilutions:
            sel = [row for row in rows if row["dilution"] == d]
            line, = ax.plot(ranks, _sorted_abs(np.array(sel[0]["glauber"])), "-",
                            label=f"d = {d}")
            for row in sel:
                ax.plot(ranks + (0.08 if row["dale"] else -0.08),
                        _sorted_abs(np.array(row["spiking"])),
                        "o" if row["delay_max_s"] <= 1e-3 else "x", color=line.get_color())
        ax.set_xticks(ranks)
        ax.set_xlabel("rank k of the pattern")
        ax.set_ylabel("|m_k|")
        ax.set_title(f"LIF network (N = {report['spiking']['n_neurons']}): lines Glauber T = 0,\n"
                     "o 1 ms / x 1-10 ms delays; left signed, right E/I")
        ax.legend(fontsize=8)
    ax = axes[2, 1]
    if "speed" in report:
        memory = report["speed"]["memory"]
        for key, style in (("factored_bytes", "o-"), ("dense_bytes", "s-"),
                           ("sparse_bytes", "^-")):
            for d, ls in ((0.3, "-"), (0.9, ":")):
                sel = [m for m in memory if m["dilution"] == d]
                if key != "sparse_bytes" and d == 0.9:
                    continue
                ax.loglog([m["n_neurons"] for m in sel], [m[key] for m in sel],
                          style[0] + ls, label=f"{key.split('_')[0]}"
                          + (f" d = {d}" if key == "sparse_bytes" else ""))
        ax.axhline(128 * 2**30, color="gray", ls="--", label="128 GiB")
        ax.set_xlabel("N")
        ax.set_ylabel("bytes (P = 3)")
        ax.set_title("memory of the couplings")
        ax.legend(fontsize=8)
    axes[2, 2].axis("off")
    fig.savefig(path, dpi=110)
    plt.close(fig)


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="smaller sizes and fewer seeds")
    parser.add_argument("--parts", nargs="+", choices=PARTS, default=list(PARTS))
    parser.add_argument("--beta", type=float, default=5.0,
                        help="inverse temperature of the finite-temperature runs")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--out", default=None, help=f"results folder (default {RESULTS_DIR})")
    parser.add_argument("--replot", action="store_true",
                        help="redraw associative.png from the JSON in --out; run nothing")
    args = parser.parse_args(argv)
    if args.replot:
        out = results_dir(args.out)
        report = json.loads((out / "associative.json").read_text())
        figure(report, out / "associative.png")
        return report
    quick = args.quick
    args.seeds = 3 if quick else 5
    args.n_regimes = 10_000 if quick else 40_000
    args.sweeps_hot = 60 if quick else 120
    args.regime_dilutions = [0.3, 0.5, 0.7, 0.8, 0.9] if quick else \
        [0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.75, 0.8, 0.85, 0.9, 0.95]
    args.sizes_fss = [1000, 4000, 16000] if quick else [1000, 4000, 16000, 64000]
    args.seeds_fss = 4 if quick else 8
    args.n_thresholds = 10_000 if quick else 40_000
    args.qualities = [0.3, 0.5, 0.7, 0.9] if quick else [0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8,
                                                         0.9]
    args.n_spiking = 1000 if quick else 2000
    args.spiking_dilutions = [0.3, 0.7] if quick else [0.1, 0.3, 0.5, 0.7, 0.9]
    args.sizes_speed = [10**3, 10**4, 10**5]
    args.work = 2e7 if quick else 1e8
    args.max_matrix_bytes = 2**29
    report: dict = {"machine": machine_info(), "quick": quick, "parts": args.parts}
    for part in args.parts:
        report[part] = globals()[f"part_{part}"](args)
    out = results_dir(args.out)
    write_json(out / "associative.json", report)
    figure(report, out / "associative.png")
    print(f"\nwrote {out / 'associative.json'} and associative.png")
    return report


if __name__ == "__main__":
    main()
