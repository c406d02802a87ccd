"""``snn demo``: the embedded demonstration, one module per section. Each section prints its
tables, saves its figures into the output folder and records both for the HTML report
(``index.html`` beside the figures), which is rewritten after every section."""

from __future__ import annotations

import argparse
import importlib
import time
from pathlib import Path
from typing import Any

from .. import _args
from .._report import DemoReport
from ._warm_up import WarmUp

__all__ = ["SECTIONS", "add_parser", "run"]

#: Section name -> one-line description; each is the module ``snn.cli.demo.<name>`` with a
#: function ``run(args, section)``, imported only when the section runs.
SECTIONS = {
    "engine": "a Brian2 benchmark network on the time-stepped engine",
    "plasticity": "online STDP on the engine",
    "layers": "a spiking classifier trained with surrogate gradients",
    "delays": "learned synaptic delays on spoken digits, exported to the engine",
    "hardware": "the classifier on emulated analog chips; energy per inference",
    "continual": "fine-tuning vs HLOP on permuted digits",
    "reservoir": "echo state networks, liquid state machines, the zero-shot LSM",
    "associative": "the multitasking Hebbian network: parallel retrieval, learning",
    "microcircuit": "the Potjans-Diesmann cortical microcircuit at reduced scale",
}


def run(args: argparse.Namespace) -> int:
    """Run the chosen sections in order; write the figures and ``index.html``."""
    out = Path(args.output)
    out.mkdir(parents=True, exist_ok=True)
    report = DemoReport(out)
    # Compiles the later sections' kernels in a second process while the first one runs.
    warm_up = WarmUp(args.sections, args)
    try:
        for name in args.sections:
            section = report.section(name)
            module = importlib.import_module(f"{__name__}.{name}")
            wall, cpu = time.perf_counter(), time.process_time()
            warm_up.before(name)
            module.run(args, section)
            section.wall_seconds = time.perf_counter() - wall
            section.cpu_seconds = time.process_time() - cpu
            report.write()
    finally:
        warm_up.stop()
    print(f"\nreport: {report.write()}")
    return 0


def check(parser: argparse.ArgumentParser, args: argparse.Namespace) -> None:
    """Refuse option values that argparse's types do not check (exits with usage)."""
    if args.neurons < 5:
        parser.error("--neurons must be >= 5")
    if args.duration <= 0:
        parser.error("--duration must be > 0 (s)")
    if not 0 < args.microcircuit_scale <= 1:
        parser.error("--microcircuit-scale must lie in (0, 1]")
    if args.microcircuit_duration <= 0:
        parser.error("--microcircuit-duration must be > 0 (s)")
    if args.stdp_duration < 0.01:
        parser.error("--stdp-duration must be >= 0.01 (s)")
    for option in ("train_steps", "delay_epochs", "delay_hidden"):
        if getattr(args, option) < 1:
            parser.error(f"--{option.replace('_', '-')} must be >= 1")


def add_parser(subparsers: Any) -> argparse.ArgumentParser:
    """Add ``demo`` to the sub-parsers of ``snn`` (with ``func`` set)."""
    demo = subparsers.add_parser(
        "demo", help="run the embedded demonstration; save its plots and an HTML report",
        description="Run the demonstration sections on embedded data. Figures, and "
                    "index.html gathering every section's tables, figures and timings, go "
                    "into --output.")
    demo.add_argument("--output", default="snn_demo_output",
                      help="folder for the figures and index.html")
    demo.add_argument("--model", choices=["cuba", "coba"], default="cuba")
    demo.add_argument("--neurons", type=int, default=4000)
    demo.add_argument("--duration", type=float, default=1.0, help="simulated seconds")
    demo.add_argument("--backend", choices=["numba", "reference"], default="numba")
    demo.add_argument("--seed", type=int, default=0)
    demo.add_argument("--progress", action="store_true", help="show progress bars")
    demo.add_argument("--sections", nargs="+", choices=list(SECTIONS), default=list(SECTIONS),
                      help="which parts of the demo to run: "
                           + "; ".join(f"{k}: {v}" for k, v in SECTIONS.items()))
    demo.add_argument("--stdp-duration", type=float, default=100.0,
                      help="simulated seconds of the plasticity section")
    demo.add_argument("--microcircuit-scale", type=float, default=0.1,
                      help="population sizes of the microcircuit section, relative to full "
                           "scale (77,169 neurons)")
    demo.add_argument("--microcircuit-duration", type=float, default=1.0,
                      help="simulated seconds of the microcircuit section after its 0.5 s "
                           "warm-up")
    demo.add_argument("--train-steps", type=int, default=60,
                      help="training steps of the layers section")
    demo.add_argument("--delay-epochs", type=int, default=12,
                      help="training epochs of the delays section")
    demo.add_argument("--delay-hidden", type=int, default=64,
                      help="hidden neurons per layer in the delays section")
    demo.add_argument("--hardware-presets", nargs="+", type=_args.preset_name,
                      default=["pcm", "rram"], help="device presets of the hardware section")
    demo.add_argument("--hardware-times", nargs="+", type=_args.seconds_after_programming,
                      default=[1.0, 86400.0, 3.15e7],
                      help="times after programming (s) of the hardware section")
    demo.add_argument("--hardware-adc-bits", type=_args.adc_bits, default=8,
                      help="ADC resolution of the hardware section's energy estimate")
    demo.add_argument("--hardware-g-range", nargs=2, type=float, metavar=("G_MIN", "G_MAX"),
                      action=_args.ConductanceRange, default=None,
                      help="override the presets' conductance range (S)")
    demo.add_argument("--hardware-epochs", type=_args.positive_int, default=15,
                      help="training epochs of the hardware section")
    demo.add_argument("--hardware-seeds", type=_args.positive_int, default=3,
                      help="chips (programming seeds) per point in the hardware section")
    demo.set_defaults(func=run, check=check)
    return demo
