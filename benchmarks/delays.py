"""Learnable synaptic delays on spoken digits: the three ablations over seeds, and snnsim's
training speed beside the reference implementation (DCLS + SpikingJelly), in one run.

Data: the Free Spoken Digit Dataset (3,000 recordings, 6 speakers; the conventional split,
2,700 train / 300 test) turned into spikes by ``snn.data`` (cochlea-like gammatone
filterbank + LIF encoder, 64 channels), binned at 10 ms over the first second.

Model (both implementations): the paper's feed-forward delay network (Hammouamri et al.,
ICLR 2024) -- ``64 -> [delayed synapses -> batch norm -> LIF -> dropout 0.4] x 2 -> delayed
synapses -> non-spiking readout`` with delays up to 240 ms (25 taps, the reference's odd
kernel), SpikingJelly's LIF (tau 10.05 ms, threshold 1, hard reset, arctan surrogate 5,
detached reset), the "sum of softmax over time" loss, Adam with a one-cycle schedule for the
weights and 100x the rate with cosine annealing for the delays, the interpolation width
shrinking over the first quarter of the epochs, delays rounded at the end.  Every batch
spans the whole second (no per-batch trimming) in both implementations.

Measured:

* ``snnsim`` with ``delays = learned``, ``fixed`` (random integer delays, not trained) and
  ``none``, each over ``--seeds`` and at each hidden-layer size of ``--hidden`` (128: the
  speed comparison; 32: a small network, where the paper finds delays matter most): test
  accuracy (rounded delays), training time per epoch, how far the delays moved;
* the reference (``snn/peers/dcls_delays.py``: ``DCLS.Dcls1d`` + SpikingJelly
  ``LIFNode``/``BatchNorm1d``/``Dropout``, built from the packages' public APIs) with
  learned delays over ``--reference-seeds`` at ``--reference-hidden`` neurons, on the same
  binned tensors, with the same threads;
* the ratio of training times per epoch (reference / snnsim, learned delays) and, at every
  size, whether learned delays beat both ablations outside the seeds' spread (lowest learned
  accuracy above the highest of each other).

With ``--kernels`` it first times the delayed projection alone (forward + backward) at
several input densities -- snnsim's sparse (numba) and dense (torch) paths and DCLS's
convolution -- which is where ``snn.layers.delays.SPARSE_MAX_DENSITY`` comes from.

Run::

    python benchmarks/delays.py [--data ../shared/data/fsdd] [--epochs 30] \
        [--seeds 0 1 2] [--reference-seeds 0 1 2] [--hidden 128 32] [--batch-size 64] \
        [--kernels] [--out benchmarks/results]

It writes ``delays.json`` and ``delays.png`` (accuracy per ablation with every seed, time
per epoch, delay histograms before/after training) to ``--out``.  For SHD or SSC use
``snn train delays --data shd --root PATH`` (see the README).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import numpy as np
import torch
from _common import RESULTS_DIR, fsdd_root, machine_info, write_json


def _kernels(densities, repeats: int = 5) -> list[dict]:
    """Forward + backward time (ms) of one delayed projection at each input density."""
    import torch.nn.functional as F

    from snn.layers import delayed_linear

    n_steps, batch, n_in, n_out, max_delay = 112, 64, 128, 128, 24
    rows = []
    gen = torch.Generator().manual_seed(0)
    weight = torch.randn(n_out, n_in, generator=gen).requires_grad_()
    delay = (torch.rand(n_out, n_in, generator=gen) * max_delay).requires_grad_()
    try:
        from DCLS.construct.modules import Dcls1d

        dcls = Dcls1d(n_in, n_out, kernel_count=1, dilated_kernel_size=max_delay + 1,
                      bias=False, version="gauss")
    except ImportError:
        dcls = None

    def timed(fn) -> float:
        fn()
        best = float("inf")
        for _ in range(repeats):
            start = time.perf_counter()
            fn()
            best = min(best, time.perf_counter() - start)
        return 1e3 * best

    for density in densities:
        x = (torch.rand(n_steps, batch, n_in, generator=gen) < density).float().requires_grad_()
        row = {"density": density}
        for backend in ("numba", "torch"):
            def step(backend=backend, x=x):
                y = delayed_linear(x, weight, delay.clamp(0, max_delay), max_delay, sigma=2.0,
                                   backend=backend)
                y.sum().backward()
            row[f"snnsim_{backend}_ms"] = timed(step)
        if dcls is not None:
            def step_dcls(x=x):
                xi = F.pad(x.permute(1, 2, 0), (max_delay, 0))
                dcls(xi).sum().backward()
            row["dcls_ms"] = timed(step_dcls)
        rows.append(row)
        print("  ".join(f"{k}={v:.3g}" for k, v in row.items()), flush=True)
    return rows


def _spread(values: list[float]) -> dict:
    return {"mean": statistics.fmean(values), "std": statistics.pstdev(values) if len(values) > 1
            else 0.0, "min": min(values), "max": max(values), "values": values}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", default=None,
                        help="FSDD recordings (wav) or converted files (default "
                             "$SNNSIM_FSDD_ROOT)")
    parser.add_argument("--epochs", type=int, default=30)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--reference-seeds", type=int, nargs="*", default=[0, 1, 2])
    parser.add_argument("--hidden", type=int, nargs="+", default=[128, 32],
                        help="hidden-layer sizes to run the ablations at")
    parser.add_argument("--reference-hidden", type=int, default=128,
                        help="the size at which the reference runs (speed comparison)")
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--modes", nargs="+", default=["learned", "fixed", "none"],
                        choices=["learned", "fixed", "none"])
    parser.add_argument("--limit", type=int, default=None, help="train on this many samples")
    parser.add_argument("--kernels", action="store_true",
                        help="also time the delayed projection alone at several densities")
    parser.add_argument("--out", default=str(RESULTS_DIR))
    parser.add_argument("--no-progress", action="store_true")
    args = parser.parse_args(argv)

    from snn.delay_training import DelayTrainingConfig, load_delay_data, train_delay_network
    from snn.layers import DelayNetworkConfig

    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    root = fsdd_root(args.data)
    report: dict = {"settings": {**vars(args), "data": str(root)},
                    "machine": machine_info("dcls", "spikingjelly")}
    if args.kernels:
        print("== delayed projection alone: T=112, B=64, 128 -> 128, 25 taps, fwd + bwd (ms)")
        report["kernels"] = _kernels([0.02, 0.05, 0.1, 0.2, 0.3, 0.5])

    dt, max_delay = 10e-3, 240e-3
    train, test = load_delay_data("fsdd", root, dt=dt, progress=not args.no_progress)
    if args.limit:
        train = train.subset(np.sort(np.random.default_rng(0).permutation(len(train))
                                     [:args.limit]))
    density = float((train.counts > 0).mean())
    print(f"FSDD spikes: {len(train)} train / {len(test)} test, {train.n_steps} steps of 10 ms, "
          f"{train.n_channels} channels, {100 * density:.1f} % of input cells nonzero")
    report["data"] = {"n_train": len(train), "n_test": len(test), "n_steps": train.n_steps,
                      "n_channels": train.n_channels, "input_density": density}

    runs: dict[str, list[dict]] = {}
    histograms = {}
    for hidden in args.hidden:
        for mode in args.modes:
            for seed in args.seeds:
                cfg = DelayNetworkConfig(n_inputs=train.n_channels, n_outputs=10,
                                         n_hidden=hidden, dt=dt, max_delay=max_delay,
                                         delays=mode)
                res = train_delay_network(
                    cfg, train, test, DelayTrainingConfig(epochs=args.epochs,
                                                          batch_size=args.batch_size, seed=seed,
                                                          pad="full"),
                    progress=not args.no_progress)
                if mode == "learned" and hidden not in histograms:
                    histograms[hidden] = {"before": res["delays_before"],
                                          "after": res["delays_after"]}
                runs.setdefault(f"snnsim/h{hidden}/{mode}", []).append({
                    "seed": seed, "test_accuracy": res["test_accuracy"],
                    "test_accuracy_unrounded": res["test_accuracy_unrounded"],
                    "epoch_time_s": res["history"]["epoch_time_s"],
                    "test_accuracy_per_epoch": res["history"]["test_accuracy"],
                    "mean_delay_change_steps": res["mean_delay_change_steps"],
                    "n_parameters": res["n_parameters"]})
                print(f"snnsim hidden={hidden} delays={mode} seed={seed}: test accuracy "
                      f"{100 * res['test_accuracy']:.2f} %, "
                      f"{res['mean_epoch_time_s']:.2f} s/epoch", flush=True)

    if args.reference_seeds:
        from snn.peers import dcls_delays as ref

        if not ref.peers_available():
            print("reference skipped: snn.peers.dcls_delays needs the 'dcls' and "
                  "'spikingjelly' packages")
        else:
            def sample_major(data):
                return data.counts.astype(np.float32), data.labels.astype(np.int64)

            train_x, train_y = sample_major(train)
            test_x, test_y = sample_major(test)
            for seed in args.reference_seeds:
                cfg = ref.ReferenceConfig(n_inputs=train.n_channels, n_outputs=10,
                                          n_hidden=args.reference_hidden, max_delay_steps=25,
                                          epochs=args.epochs, batch_size=args.batch_size,
                                          seed=seed)
                res = ref.train_reference(train_x, train_y, test_x, test_y, cfg,
                                          progress=not args.no_progress)
                runs.setdefault(f"reference/h{args.reference_hidden}/learned", []).append({
                    "seed": seed, "test_accuracy": res["test_accuracy_rounded"],
                    "test_accuracy_unrounded": res["test_accuracy_before_rounding"],
                    "epoch_time_s": res["epoch_time_s"],
                    "test_accuracy_per_epoch": res["test_accuracy"]})
                print(f"reference (DCLS + SpikingJelly) seed={seed}: test accuracy "
                      f"{100 * res['test_accuracy_rounded']:.2f} %, "
                      f"{statistics.fmean(res['epoch_time_s']):.2f} s/epoch", flush=True)

    summary = {}
    for name, items in runs.items():
        acc = [100 * r["test_accuracy"] for r in items]
        # Per run, the median epoch: the first epoch also compiles or loads kernels.
        epoch = [statistics.median(r["epoch_time_s"]) for r in items]
        summary[name] = {"accuracy_percent": _spread(acc), "epoch_time_s": _spread(epoch)}
    report["runs"], report["summary"] = runs, summary
    print("\n" + f"{'implementation / size / delays':32s} "
          f"{'accuracy (%) mean ± std [min, max]':38s} {'s per epoch':>11s}")
    for name, s in summary.items():
        a, t = s["accuracy_percent"], s["epoch_time_s"]
        print(f"{name:32s} {a['mean']:6.2f} ± {a['std']:4.2f} [{a['min']:6.2f}, {a['max']:6.2f}]"
              f"{'':10s} {t['mean']:8.2f}")
    verdict = {}
    for hidden in args.hidden:
        learned = summary.get(f"snnsim/h{hidden}/learned")
        if not learned:
            continue
        for other in ("fixed", "none"):
            if f"snnsim/h{hidden}/{other}" in summary:
                verdict[f"h{hidden}: learned beats {other} outside the spread"] = (
                    learned["accuracy_percent"]["min"]
                    > summary[f"snnsim/h{hidden}/{other}"]["accuracy_percent"]["max"])
        refs = summary.get(f"reference/h{hidden}/learned")
        if refs:
            verdict[f"h{hidden}: speed-up over the reference"] = (
                refs["epoch_time_s"]["mean"] / learned["epoch_time_s"]["mean"])
            verdict[f"h{hidden}: accuracy minus the reference's (points)"] = (
                learned["accuracy_percent"]["mean"] - refs["accuracy_percent"]["mean"])
    report["verdict"] = verdict
    print("\n" + "\n".join(f"{k}: {v:.3g}" if isinstance(v, float) else f"{k}: {v}"
                           for k, v in verdict.items()))
    write_json(out / "delays.json", report)
    _plot(summary, runs, histograms, out / "delays.png")
    print(f"\nwrote {out / 'delays.json'} and {out / 'delays.png'}")
    return 0


def _plot(summary, runs, histograms, path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    sizes = list(histograms)
    n_layers = max((len(h["after"]) for h in histograms.values()), default=0)
    n_rows = max(1, len(sizes))
    fig, axes = plt.subplots(n_rows, 2 + n_layers, figsize=(4.0 * (2 + n_layers), 3.4 * n_rows),
                             squeeze=False)
    names = list(summary)
    labels = [n.replace("/", "\n") for n in names]
    colours = ["C1" if n.startswith("reference") else "C0" for n in names]
    ax = axes[0][0]
    for i, name in enumerate(names):
        acc = summary[name]["accuracy_percent"]
        ax.bar(i, acc["mean"], color=colours[i], alpha=0.5)
        ax.plot([i] * len(acc["values"]), acc["values"], "k.", ms=6)
    ax.set_xticks(range(len(names)), labels, fontsize=7)
    low = min(min(s["accuracy_percent"]["values"]) for s in summary.values())
    ax.set(ylabel="test accuracy (%)", title="FSDD, rounded delays (dots: seeds)",
           ylim=(max(0, low - 10), 100))
    ax = axes[0][1]
    for i, name in enumerate(names):
        t = summary[name]["epoch_time_s"]
        ax.bar(i, t["mean"], yerr=t["std"], color=colours[i], alpha=0.7, capsize=3)
    ax.set_xticks(range(len(names)), labels, fontsize=7)
    ax.set(ylabel="training time per epoch (s)", title="Speed (same data, same threads)")
    for row in range(1, n_rows):
        axes[row][0].axis("off")
        axes[row][1].axis("off")
    for row, hidden in enumerate(sizes):
        hist = histograms[hidden]
        for layer in range(n_layers):
            ax = axes[row][2 + layer]
            b, a = hist["before"][layer], hist["after"][layer]
            centres = (np.asarray(a["edges"][:-1]) + np.asarray(a["edges"][1:])) / 2
            ax.bar(centres - 0.21, b["counts"], 0.42, color="0.65", label="before")
            ax.bar(centres + 0.21, a["counts"], 0.42, color="C0", label="after")
            last = layer == len(hist["after"]) - 1
            ax.set(xlabel="delay (steps of 10 ms)", ylabel="synapses",
                   title=f"{hidden} hidden: delays into {'readout' if last else f'layer {layer}'}")
            ax.legend(frameon=False, fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


if __name__ == "__main__":
    sys.exit(main())
