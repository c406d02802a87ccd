"""Demo section ``hardware``: a spiking classifier on emulated analog chips (device presets,
drift with and without compensation, several programming seeds) and its energy estimate."""

from __future__ import annotations

import argparse
import time

from .._report import DemoSection


def run(args: argparse.Namespace, section: DemoSection) -> None:
    # hardware_models depends on snn; the command line imports it only for this section.
    import numpy as np
    from matplotlib.figure import Figure

    import hardware_models as hm
    from hardware_models import experiments as ex

    from ...data import batches, bin_spikes, load_sample

    train = bin_spikes(load_sample("train"), 0.02, max_time=1.0)
    test = bin_spikes(load_sample("test"), 0.02, max_time=1.0)
    model = ex.make_classifier(train.counts.shape[2], 64, 10, rng=args.seed)
    section.heading(f"{train.counts.shape[2]} -> 64 LIF -> 10 LIF spiking classifier on the "
                    f"embedded FSDD sample ({len(train.labels)} train / {len(test.labels)} "
                    f"test), {args.hardware_epochs} epochs, then on analog chips "
                    f"({', '.join(args.hardware_presets)}; {args.hardware_seeds} chip seeds)")
    start = time.perf_counter()
    ex.train_classifier(model, train, epochs=args.hardware_epochs, batch_size=32, lr=5e-3,
                        rng=args.seed)
    clean = ex.accuracy(model, test)
    section.say(f"clean test accuracy {clean:.1%} (trained in "
                f"{time.perf_counter() - start:.1f} s)")
    times = args.hardware_times
    seeds = [args.seed + k for k in range(args.hardware_seeds)]
    rows, curves = [], {}
    for name in args.hardware_presets:
        preset = hm.get_preset(name)
        if args.hardware_g_range is not None:
            preset = preset.with_(g_min=args.hardware_g_range[0], g_max=args.hardware_g_range[1])
        for comp in (True, False):
            config = hm.CrossbarConfig(drift_compensation=comp)
            acc = ex.analog_accuracy(model, preset, test, times=times, seeds=seeds,
                                     config=config)
            label = f"{name}, {'compensated' if comp else 'uncompensated'}"
            curves[label] = acc
            row = {"chip": label}
            for t, m, sd in zip(times, acc.mean(0), acc.std(0)):
                row[f"{t:g}"] = f"{100 * m:.1f} +- {100 * sd:.1f}"
            rows.append(row)
    section.say(f"test accuracy (%) at t seconds after programming, mean +- std over "
                f"{len(seeds)} chips:")
    section.table(rows, [("chip", "chip", "s")] + [(f"{t:g}", f"t = {t:g} s", "s")
                                                   for t in times])
    x = next(iter(batches(test, len(test.labels))))[0].clamp(max=1.0)
    name = args.hardware_presets[0]
    analog = hm.convert(model, name, config=hm.CrossbarConfig(adc_bits=args.hardware_adc_bits))
    layers, _ = hm.count_operations(analog, x)
    report = hm.estimate_energy(layers, name, n_inferences=x.shape[1])
    section.say(f"energy and latency per inference ({args.hardware_adc_bits}-bit ADC; digital "
                f"figures from Horowitz, ISSCC 2014):")
    section.preformatted(report.table())

    # Drift is a power law in time: a log axis, which holds only times > 0.
    t = np.asarray(times, dtype=float)
    shown = t > 0
    fig = Figure(figsize=(6.5, 4), layout="constrained")
    ax = fig.subplots()
    for label, acc in curves.items():
        ax.errorbar(t[shown], 100 * acc.mean(0)[shown], yerr=100 * acc.std(0)[shown],
                    capsize=3, fmt="o--" if "uncompensated" in label else "o-", label=label)
    ax.axhline(100 * clean, color="k", lw=0.8, label="clean model")
    ax.set(xscale="log", xlabel="time after programming (s)", ylabel="test accuracy (%)",
           title="Spiking classifier on analog chips", ylim=(0, 102))
    if shown.any():
        ax.set_xlim(t[shown].min() / 3, t[shown].max() * 3)
    ax.legend(fontsize=7)
    caption = "accuracy vs time after programming"
    if not shown.all():
        caption += " (t = 0 s is in the table; the log axis holds t > 0 only)"
    section.figure(fig, "hardware_drift.png", caption)
