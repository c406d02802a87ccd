"""Command line: ``snn demo``, ``snn train delays`` and ``snn info``."""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from . import __version__

__all__ = ["main"]


def _table(rows: list[dict], columns: list[tuple[str, str, str]]) -> str:
    """Format ``rows`` as a text table; columns are (key, header, format spec)."""
    cells = [[header for _, header, _ in columns]]
    for row in rows:
        cells.append([format(row[key], spec) for key, _, spec in columns])
    widths = [max(len(r[i]) for r in cells) for i in range(len(columns))]
    lines = ["  ".join(c.rjust(w) for c, w in zip(r, widths, strict=True)) for r in cells]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def save_demo_plot(fig, out: Path | str, name: str, what: str, dpi: int = 120) -> Path:
    """Save a demo section's figure as ``out / name``, close it and say where it went
    (``what: path``); returns the path."""
    import matplotlib.pyplot as plt

    path = Path(out) / name
    fig.savefig(path, dpi=dpi)
    plt.close(fig)
    print(f"{what}: {path}")
    return path


def _demo_engine(args: argparse.Namespace, out: Path) -> None:
    from .benchmark_networks import BENCHMARKS, build_benchmark
    from .engine import run

    spec = BENCHMARKS[args.model]
    print(f"== engine: {spec.name.upper()} network, {args.neurons} neurons, "
          f"{args.duration:g} s at dt = 0.1 ms ({spec.source})")
    net = build_benchmark(spec, args.neurons, seed=args.seed)
    start = time.perf_counter()
    warm_duration = min(args.duration, 0.01)
    run(net, warm_duration, backend=args.backend)
    first_call = time.perf_counter() - start
    result = run(net, args.duration, backend=args.backend, progress=args.progress)
    print(_table(result.summary(), [("population", "population", "s"), ("neurons", "neurons", "d"),
                                    ("spikes", "spikes", "d"), ("rate_hz", "rate (Hz)", ".2f"),
                                    ("cv_isi", "CV of ISI", ".3f")]))
    print(f"backend {args.backend}: {result.wall_time:.3f} s for {args.duration:g} s simulated "
          f"({result.wall_time / args.duration:.3f} s per simulated second); "
          f"first call ({warm_duration:g} s simulated) incl. compile or cache load "
          f"{first_call:.2f} s; "
          f"network build {result.build_time:.2f} s")
    path = out / f"{spec.name}_raster.png"
    fig = result.plot_raster(path=path, max_neurons=min(args.neurons, 1000))
    import matplotlib.pyplot as plt

    plt.close(fig)
    print(f"raster plot: {path}")


def _demo_plasticity(args: argparse.Namespace, out: Path) -> None:
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt
    import numpy as np

    from .benchmark_networks import SONG2000, build_stdp_experiment
    from .engine import run

    exp = SONG2000
    duration = args.stdp_duration
    print(f"== plasticity: online STDP, {exp.n_inputs} Poisson inputs at {exp.rate:g} Hz -> 1 "
          f"conductance LIF neuron, {duration:g} s at dt = 0.1 ms ({exp.source.split(';')[0]})")
    net, proj = build_stdp_experiment(exp, 1, seed=args.seed)
    run(net, 0.001, backend=args.backend)  # compile or load the cache
    result = run(net, duration, backend=args.backend, rng=args.seed, progress=args.progress)
    g_max = exp.rule.w_max
    before, after = proj.weights / g_max, result.weights(proj) / g_max
    times = result.spikes["neurons"].times
    window = min(2.0, duration / 4)
    rows = [dict(when=label, low=float(np.mean(w < 0.1)), high=float(np.mean(w > 0.9)),
                 mean=float(w.mean()), rate=float(np.sum(sel) / window))
            for label, w, sel in (("start", before, times < window),
                                  ("end", after, times >= duration - window))]
    print(_table(rows, [("when", "weights at", "s"), ("low", "w < 0.1 g_max", ".2f"),
                        ("high", "w > 0.9 g_max", ".2f"), ("mean", "mean w / g_max", ".3f"),
                        ("rate", f"output Hz ({window:g} s)", ".1f")]))
    print(f"backend {args.backend}: {result.wall_time:.2f} s for {duration:g} s simulated, "
          f"network build (Poisson draws) {result.build_time:.2f} s. Synapses compete: "
          f"the weights move to the bounds (Song et al. 2000 report a bimodal distribution)")
    fig, ax = plt.subplots(figsize=(6, 3.2))
    bins = np.linspace(0, 1, 41)
    ax.hist(before, bins=bins, alpha=0.5, label="initial")
    ax.hist(after, bins=bins, alpha=0.6, label=f"after {duration:g} s of STDP")
    ax.set_xlabel("weight / g_max")
    ax.set_ylabel("synapses")
    ax.legend()
    fig.tight_layout()
    save_demo_plot(fig, out, "stdp_weights.png", "weight histograms")


def _spike_pattern_batch(generator, n_steps: int, batch: int, n_inputs: int):
    """Inputs ``[T, B, n_inputs]`` (Bernoulli spikes) and labels: every channel fires at 3 %
    per step, except that class k raises the k-th half of the channels to 4 % (close enough
    that single samples overlap and learning takes a few dozen steps)."""
    import torch

    labels = torch.randint(0, 2, (batch,), generator=generator)
    rates = torch.full((n_steps, batch, n_inputs), 0.03)
    half = n_inputs // 2
    for k in (0, 1):
        rates[:, labels == k, k * half:(k + 1) * half] = 0.04
    return torch.bernoulli(rates, generator=generator), labels


def _demo_layers(args: argparse.Namespace, out: Path) -> None:
    import matplotlib.pyplot as plt
    import torch
    from tqdm.auto import tqdm

    from .layers import LIF, Surrogate

    n_steps, batch, n_inputs, n_hidden, n_train = 50, 64, 40, 64, args.train_steps
    print(f"\n== layers: {n_inputs} -> {n_hidden} LIF -> 2 LIF spiking classifier, T = {n_steps} "
          f"steps, batch {batch}, {n_train} Adam steps (surrogate gradients, fused LIF op)")
    torch.manual_seed(args.seed)
    generator = torch.Generator().manual_seed(args.seed)
    model = torch.nn.Sequential(
        torch.nn.Linear(n_inputs, n_hidden), LIF(beta=0.9, surrogate=Surrogate("arctan", 2.0)),
        torch.nn.Linear(n_hidden, 2), LIF(beta=0.9, surrogate=Surrogate("arctan", 2.0)))
    optimizer = torch.optim.Adam(model.parameters(), lr=5e-3)
    test_x, test_y = _spike_pattern_batch(generator, n_steps, 256, n_inputs)

    def accuracy() -> float:
        with torch.no_grad():
            return float((model(test_x).sum(0).argmax(1) == test_y).float().mean())

    losses, accuracies = [], [accuracy()]
    step_starts = []
    for _ in tqdm(range(n_train), desc="training", unit="step", disable=not args.progress):
        step_starts.append(time.perf_counter())
        x, y = _spike_pattern_batch(generator, n_steps, batch, n_inputs)
        loss = torch.nn.functional.cross_entropy(model(x).sum(0), y)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
        accuracies.append(accuracy())
    step_starts.append(time.perf_counter())
    # The first step also compiles (or loads) the CPU kernels; it is reported on its own.
    first = step_starts[1] - step_starts[0]
    rest = (step_starts[-1] - step_starts[1]) / max(1, n_train - 1)
    print(f"test accuracy {accuracies[0]:.1%} before training, {accuracies[-1]:.1%} after; "
          f"loss {losses[0]:.3g} -> {losses[-1]:.3g}; {1e3 * rest:.1f} ms per training step "
          f"incl. the test evaluation (first step {first:.2f} s, with kernel compilation or "
          f"cache load)")
    fig, (ax_loss, ax_acc) = plt.subplots(1, 2, figsize=(9, 3.2))
    ax_loss.plot(range(1, n_train + 1), losses)
    ax_loss.set(xlabel="training step", ylabel="cross-entropy", title="Training loss")
    ax_acc.plot(range(n_train + 1), accuracies)
    ax_acc.set(xlabel="training step", ylabel="test accuracy", ylim=(0, 1.02),
               title="Test accuracy (256 held-out samples)")
    fig.tight_layout()
    save_demo_plot(fig, out, "layers_training.png", "training curves")


def _demo_delays(args: argparse.Namespace, out: Path) -> None:
    import matplotlib.pyplot as plt
    import numpy as np
    import torch

    from .delay_training import (
        DelayTrainingConfig,
        load_delay_data,
        plot_delay_histograms,
        train_delay_network,
    )
    from .layers import DelayNetworkConfig, run_exported

    train, test = load_delay_data("sample")
    print(f"\n== delays: spoken digits (embedded FSDD sample: {len(train)} train / {len(test)} "
          f"test utterances, {train.n_channels} cochlea channels, {train.dt * 1e3:g} ms steps); "
          f"{train.n_channels} -> 2 x {args.delay_hidden} LIF -> 10, delays up to 250 ms, "
          f"{args.delay_epochs} epochs")
    rows = []
    learned = None
    for mode in ("none", "learned"):
        cfg = DelayNetworkConfig(n_inputs=train.n_channels, n_outputs=10,
                                 n_hidden=args.delay_hidden, delays=mode)
        res = train_delay_network(cfg, train, test,
                                  DelayTrainingConfig(epochs=args.delay_epochs, batch_size=32,
                                                      seed=args.seed),
                                  progress=args.progress)
        rows.append({"delays": mode, "accuracy": 100 * res["test_accuracy"],
                     "epoch_s": res["median_epoch_time_s"]})
        if mode == "learned":
            learned = res
    print(_table(rows, [("delays", "delays", "s"), ("accuracy", "test accuracy (%)", ".1f"),
                        ("epoch_s", "s per epoch", ".2f")]))
    model = learned["model"].double().eval()
    sample = test.counts[0, :max(1, int(test.lengths[0]))].astype(np.float64)
    with torch.no_grad():
        readout, hidden = model(torch.from_numpy(sample)[:, None, :], return_hidden=True)
    engine = run_exported(model, sample)
    same = all(np.array_equal(engine["hidden"][k], hidden[k][:, 0].numpy())
               for k in range(len(hidden)))
    err = float(np.abs(engine["readout"] - readout[:, 0].numpy()).max())
    n_spikes = int(sum(h.sum() for h in engine["hidden"]))
    print(f"exported to the engine (integer delays, delta synapses): {n_spikes} hidden spikes "
          f"on a test utterance, {'identical' if same else 'DIFFERENT'} to the torch model; "
          f"readout differs by at most {err:.1e}")
    path = out / "delay_histograms.png"
    plt.close(plot_delay_histograms(learned, path))
    print(f"delay histograms before/after training: {path}")


def _demo_hardware(args: argparse.Namespace, out: Path) -> None:
    # hardware_models depends on snn; the command line imports it only for this section.
    import matplotlib.pyplot as plt
    import torch

    import hardware_models as hm
    from hardware_models import experiments as ex

    from .data import batches, bin_spikes, load_sample

    torch.manual_seed(args.seed)
    train = bin_spikes(load_sample("train"), 0.02, max_time=1.0)
    test = bin_spikes(load_sample("test"), 0.02, max_time=1.0)
    model = ex.make_classifier(train.counts.shape[2], 64, 10, seed=args.seed)
    print(f"\n== hardware: {train.counts.shape[2]} -> 64 LIF -> 10 LIF spiking classifier on "
          f"the embedded FSDD sample ({len(train.labels)} train / {len(test.labels)} test), "
          f"{args.hardware_epochs} epochs, then on analog chips "
          f"({', '.join(args.hardware_presets)}; {args.hardware_seeds} chip seeds)")
    start = time.perf_counter()
    ex.train_classifier(model, train, epochs=args.hardware_epochs, batch_size=32, lr=5e-3,
                        seed=args.seed)
    clean = ex.accuracy(model, test)
    print(f"clean test accuracy {clean:.1%} (trained in {time.perf_counter() - start:.1f} s)")
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
    print(f"test accuracy (%) at t seconds after programming, mean +- std over "
          f"{len(seeds)} chips:")
    print(_table(rows, [("chip", "chip", "s")] + [(f"{t:g}", f"t = {t:g} s", "s")
                                                  for t in times]))
    x = next(iter(batches(test, len(test.labels))))[0].clamp(max=1.0)
    name = args.hardware_presets[0]
    analog = hm.convert(model, name, config=hm.CrossbarConfig(adc_bits=args.hardware_adc_bits))
    layers, _ = hm.count_operations(analog, x)
    report = hm.estimate_energy(layers, name, n_inferences=x.shape[1])
    print(f"energy and latency per inference ({args.hardware_adc_bits}-bit ADC; digital "
          f"figures from Horowitz, ISSCC 2014):\n{report.table()}")
    fig, ax = plt.subplots(figsize=(6.5, 4))
    for label, acc in curves.items():
        ax.errorbar(times, 100 * acc.mean(0), yerr=100 * acc.std(0), capsize=3,
                    fmt="o--" if "uncompensated" in label else "o-", label=label)
    ax.axhline(100 * clean, color="k", lw=0.8, label="clean model")
    ax.set(xscale="symlog", xlabel="time after programming (s)", ylabel="test accuracy (%)",
           title="Spiking classifier on analog chips", ylim=(0, 102))
    ax.legend(fontsize=7)
    fig.tight_layout()
    save_demo_plot(fig, out, "hardware_drift.png", "accuracy vs time after programming")


def _demo_continual(args: argparse.Namespace, out: Path) -> None:
    from .continual import demo_continual

    demo_continual(args, out)


def _demo_reservoir(args: argparse.Namespace, out: Path) -> None:
    from .reservoir import demo_reservoir

    demo_reservoir(args, out)


DEMO_SECTIONS = {"engine": _demo_engine, "plasticity": _demo_plasticity, "layers": _demo_layers,
                 "delays": _demo_delays, "hardware": _demo_hardware, "continual": _demo_continual,
                 "reservoir": _demo_reservoir}

# Sub-commands of ``snn train`` whose modules import torch and more: their parsers are built
# only when the command is used, so that the command line starts quickly.
LAZY_TRAIN_COMMANDS = {
    "continual": ("snn.continual", "add_continual_parser",
                  "continual learning: HLOP and baselines on task sequences"),
    "reservoir": ("snn.reservoir", "add_reservoir_parser",
                  "reservoirs: echo state networks and liquid state machines on their tasks"),
}


def _run_lazy_train_command(name: str, argv: list[str]) -> int:
    import importlib

    module, adder, _ = LAZY_TRAIN_COMMANDS[name]
    parser = argparse.ArgumentParser(prog="snn train")
    sub = parser.add_subparsers(dest="what", required=True)
    getattr(importlib.import_module(module), adder)(sub)
    args = parser.parse_args([name, *argv])
    return args.func(args)


def cmd_demo(args: argparse.Namespace) -> int:
    out = Path(args.output)
    out.mkdir(parents=True, exist_ok=True)
    for section in args.sections:
        DEMO_SECTIONS[section](args, out)
    return 0


def cmd_train_delays(args: argparse.Namespace) -> int:
    import json

    import numpy as np

    from .delay_training import (
        DelayTrainingConfig,
        load_delay_data,
        plot_delay_histograms,
        train_delay_network,
    )
    from .layers import DELAY_MODES, DelayNetworkConfig

    if args.data != "sample" and args.root is None:
        raise SystemExit(f"snn train delays: --root PATH is required with --data {args.data}")
    train, test = load_delay_data(args.data, args.root, dt=args.dt, max_time=args.max_time,
                                  pool=args.pool, progress=not args.no_progress)
    if args.limit is not None:
        pick = np.random.default_rng(args.seed).permutation(len(train))[:args.limit]
        train = train.subset(np.sort(pick))
    n_classes = int(max(train.n_classes, test.n_classes))
    print(f"{args.data}: {len(train)} train / {len(test)} test samples, {train.n_steps} steps of "
          f"{args.dt * 1e3:g} ms, {train.n_channels} channels, {n_classes} classes")
    modes = DELAY_MODES if args.delays == "all" else (args.delays,)
    out = Path(args.out)
    rows, summary = [], {}
    for mode in modes:
        model_cfg = DelayNetworkConfig(
            n_inputs=train.n_channels, n_outputs=n_classes, n_hidden=args.hidden,
            n_hidden_layers=args.layers, dt=args.dt, max_delay=args.max_delay, delays=mode,
            dropout=args.dropout)
        train_cfg = DelayTrainingConfig(epochs=args.epochs, batch_size=args.batch_size,
                                        lr_weights=args.lr, lr_delays=args.lr_delays,
                                        seed=args.seed, threads=args.threads)
        res = train_delay_network(model_cfg, train, test, train_cfg, out_dir=out / mode,
                                  resume=args.resume, progress=not args.no_progress,
                                  device=args.device)
        if mode == "learned":
            import matplotlib.pyplot as plt

            plt.close(plot_delay_histograms(res, out / mode / "delay_histograms.png"))
        rows.append({"delays": mode, "accuracy": 100 * res["test_accuracy"],
                     "epoch_s": res["median_epoch_time_s"], "params": res["n_parameters"]})
        summary[mode] = {k: v for k, v in res.items() if k != "model"}
    print(_table(rows, [("delays", "delays", "s"), ("accuracy", "test accuracy (%)", ".2f"),
                        ("epoch_s", "s per epoch", ".2f"), ("params", "parameters", "d")]))
    (out / "summary.json").write_text(json.dumps(
        {mode: {k: summary[mode][k] for k in ("test_accuracy", "test_accuracy_unrounded",
                                               "mean_epoch_time_s", "n_parameters")}
         for mode in summary}, indent=1))
    print(f"results, checkpoints and plots: {out}/")
    return 0


def cmd_info(args: argparse.Namespace) -> int:
    import numba
    import numpy

    from ._numba_cache import cache_root
    from .backends.numba_backend import PARALLEL_MIN_WORK
    from .engine import BACKENDS

    print(f"snnsim {__version__}")
    print(f"backends: {', '.join(BACKENDS)}")
    print(f"numpy {numpy.__version__}, numba {numba.__version__} "
          f"({numba.get_num_threads()} threads; networks of >= {PARALLEL_MIN_WORK} current-based "
          f"or a third as many conductance-based neurons are updated in parallel)")
    print(f"compiled-code cache: {cache_root()}")
    return 0


def _preset_name(value: str) -> str:
    from hardware_models import get_preset

    try:
        return get_preset(value).name
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


def _seconds_after_programming(value: str) -> float:
    import math

    try:
        t = float(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a time in seconds, got {value!r}") from None
    if not math.isfinite(t) or t < 0:
        raise argparse.ArgumentTypeError(f"time after programming must be >= 0 s, got {value}")
    return t


def _adc_bits(value: str) -> int:
    try:
        bits = int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected an integer number of bits, got "
                                         f"{value!r}") from None
    if bits < 1:
        raise argparse.ArgumentTypeError(f"ADC bits must be >= 1, got {bits}")
    return bits


def _positive_int(value: str) -> int:
    try:
        number = int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected an integer, got {value!r}") from None
    if number < 1:
        raise argparse.ArgumentTypeError(f"must be >= 1, got {number}")
    return number


class _ConductanceRange(argparse.Action):
    """``G_MIN G_MAX`` in siemens with ``0 <= G_MIN < G_MAX``."""

    def __call__(self, parser, namespace, values, option_string=None):
        g_min, g_max = values
        if not 0 <= g_min < g_max:
            raise argparse.ArgumentError(self, f"conductance range must be G_MIN G_MAX (S) with "
                                               f"0 <= G_MIN < G_MAX, got {g_min:g} {g_max:g}")
        setattr(namespace, self.dest, (g_min, g_max))


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="snn", description="snnsim: spiking-network simulator")
    parser.add_argument("--version", action="version", version=f"snnsim {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)
    demo = sub.add_parser("demo", help="run the embedded demonstration and save its plots")
    demo.add_argument("--output", default="snn_demo_output", help="folder for plots")
    demo.add_argument("--model", choices=["cuba", "coba"], default="cuba")
    demo.add_argument("--neurons", type=int, default=4000)
    demo.add_argument("--duration", type=float, default=1.0, help="simulated seconds")
    demo.add_argument("--backend", choices=["numba", "reference"], default="numba")
    demo.add_argument("--seed", type=int, default=0)
    demo.add_argument("--progress", action="store_true", help="show progress bars")
    demo.add_argument("--sections", nargs="+", choices=list(DEMO_SECTIONS),
                      default=list(DEMO_SECTIONS), help="which parts of the demo to run")
    demo.add_argument("--stdp-duration", type=float, default=100.0,
                      help="simulated seconds of the plasticity section")
    demo.add_argument("--train-steps", type=int, default=60,
                      help="training steps of the layers section")
    demo.add_argument("--delay-epochs", type=int, default=12,
                      help="training epochs of the delays section")
    demo.add_argument("--delay-hidden", type=int, default=64,
                      help="hidden neurons per layer in the delays section")
    demo.add_argument("--hardware-presets", nargs="+", type=_preset_name, default=["pcm", "rram"],
                      help="device presets of the hardware section")
    demo.add_argument("--hardware-times", nargs="+", type=_seconds_after_programming,
                      default=[1.0, 86400.0, 3.15e7],
                      help="times after programming (s) of the hardware section")
    demo.add_argument("--hardware-adc-bits", type=_adc_bits, default=8,
                      help="ADC resolution of the hardware section's energy estimate")
    demo.add_argument("--hardware-g-range", nargs=2, type=float, metavar=("G_MIN", "G_MAX"),
                      action=_ConductanceRange, default=None,
                      help="override the presets' conductance range (S)")
    demo.add_argument("--hardware-epochs", type=_positive_int, default=15,
                      help="training epochs of the hardware section")
    demo.add_argument("--hardware-seeds", type=_positive_int, default=3,
                      help="chips (programming seeds) per point in the hardware section")
    demo.set_defaults(func=cmd_demo)
    train = sub.add_parser("train", help="train a model").add_subparsers(dest="what",
                                                                         required=True)
    delays = train.add_parser(
        "delays", help="spiking network with learnable delays (Hammouamri et al. 2024)",
        description="Train the feed-forward delay network on SHD, SSC, FSDD or the embedded "
                    "FSDD sample. Defaults are the paper's SHD configuration.")
    delays.add_argument("--data", choices=["shd", "ssc", "fsdd", "sample"], required=True)
    delays.add_argument("--root", help="folder of the dataset files (not for --data sample)")
    delays.add_argument("--delays", choices=["learned", "fixed", "none", "all"],
                        default="learned", help="ablation; 'all' trains the three in turn")
    delays.add_argument("--epochs", type=int, default=150)
    delays.add_argument("--batch-size", type=int, default=256)
    delays.add_argument("--hidden", type=int, default=256, help="neurons per hidden layer")
    delays.add_argument("--layers", type=int, default=2, help="hidden layers")
    delays.add_argument("--dt", type=float, default=10e-3, help="time step (s)")
    delays.add_argument("--max-delay", type=float, default=250e-3, help="longest delay (s)")
    delays.add_argument("--max-time", type=float, default=None,
                        help="time window kept from each sample (s)")
    delays.add_argument("--pool", type=int, default=None,
                        help="input channels summed together (default: 5 for SHD/SSC)")
    delays.add_argument("--dropout", type=float, default=0.4)
    delays.add_argument("--lr", type=float, default=1e-3, help="learning rate of the weights")
    delays.add_argument("--lr-delays", type=float, default=0.1,
                        help="learning rate of the delays (steps)")
    delays.add_argument("--seed", type=int, default=0)
    delays.add_argument("--limit", type=int, default=None,
                        help="train on a random subset of this many samples")
    delays.add_argument("--out", default="snn_train_delays", help="folder for results")
    delays.add_argument("--resume", action="store_true",
                        help="continue from the checkpoints in --out")
    delays.add_argument("--device", default="cpu", help="cpu or cuda")
    delays.add_argument("--threads", type=int, default=None)
    delays.add_argument("--no-progress", action="store_true", help="hide progress bars")
    delays.set_defaults(func=cmd_train_delays)
    for name, (_, _, help_text) in LAZY_TRAIN_COMMANDS.items():
        # Listed here; main() hands the command to its real parser, built on use.
        train.add_parser(name, help=help_text)
    info = sub.add_parser("info", help="versions, backends and cache location")
    info.set_defaults(func=cmd_info)
    return parser


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    if len(argv) >= 2 and argv[0] == "train" and argv[1] in LAZY_TRAIN_COMMANDS:
        return _run_lazy_train_command(argv[1], argv[2:])
    parser = build_parser()
    args = parser.parse_args(argv)
    if getattr(args, "neurons", 5) < 5:
        parser.error("--neurons must be >= 5")
    if getattr(args, "duration", 1.0) <= 0:
        parser.error("--duration must be > 0")
    if getattr(args, "stdp_duration", 1.0) < 0.01:
        parser.error("--stdp-duration must be >= 0.01 (s)")
    for option in ("train_steps", "delay_epochs", "delay_hidden", "epochs", "batch_size",
                   "hidden", "layers"):
        if getattr(args, option, 1) < 1:
            parser.error(f"--{option.replace('_', '-')} must be >= 1")
    if getattr(args, "dt", 1.0) <= 0:
        parser.error("--dt must be > 0 (s)")
    if getattr(args, "max_delay", 0.0) < 0:
        parser.error("--max-delay must be >= 0 (s)")
    if getattr(args, "limit", None) is not None and args.limit < 1:
        parser.error("--limit must be >= 1")
    return args.func(args)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
