"""The command line: ``snn demo``, ``snn train delays | continual | reservoir |
neurobench``, ``snn nir info | convert``, ``snn sweep`` and ``snn info``.

The only place that parses arguments or prints demo tables; the library's modules expose
functions and return results. Layout: :mod:`.demo` (one module per demo section),
``train_*`` (one module per training command), :mod:`._report` (tables, figures, the HTML
report), :mod:`._args` (argument types). Modules that import torch load only when their
command runs, so that ``snn --help`` and ``snn info`` start quickly.
"""

from __future__ import annotations

import argparse
import importlib
import sys

__all__ = ["build_parser", "main"]

# Sub-commands of ``snn train``: module (with ``add_parser`` and ``run``) and help. Those
# marked lazy have parsers that need torch-importing modules (their choices come from the
# library): they are built only when the command is used.
TRAIN_COMMANDS = {
    "delays": ("snn.cli.train_delays", False,
               "spiking network with learnable delays (Hammouamri et al. 2024)"),
    "continual": ("snn.cli.train_continual", True,
                  "continual learning: HLOP and baselines on task sequences"),
    "reservoir": ("snn.cli.train_reservoir", True,
                  "reservoirs: echo state networks and liquid state machines on their tasks"),
    "neurobench": ("snn.cli.train_neurobench", True,
                   "NeuroBench tasks: Mackey-Glass, memory capacity, Yin-Yang"),
}


def cmd_info(args: argparse.Namespace) -> int:
    """``snn info``: versions, backends, threads and the compiled-code cache."""
    import numba
    import numpy

    from .. import __version__
    from .._numba_cache import cache_root
    from ..backends.numba_backend import PARALLEL_MIN_WORK
    from ..engine import BACKENDS

    print(f"snnsim {__version__}")
    print(f"backends: {', '.join(BACKENDS)}")
    print(f"numpy {numpy.__version__}, numba {numba.__version__} "
          f"({numba.get_num_threads()} threads; networks of >= {PARALLEL_MIN_WORK} current-based "
          f"or a third as many conductance-based neurons are updated in parallel)")
    print(f"compiled-code cache: {cache_root()}")
    return 0


def _check_train_delays(parser: argparse.ArgumentParser, args: argparse.Namespace) -> None:
    if args.data is None and args.preset is None:
        parser.error("give --data or --preset")
    for option in ("epochs", "batch_size", "hidden", "layers"):
        value = getattr(args, option)
        if value is not None and value < 1:
            parser.error(f"--{option.replace('_', '-')} must be >= 1")
    if args.dt is not None and args.dt <= 0:
        parser.error("--dt must be > 0 (s)")
    if args.max_delay is not None and args.max_delay < 0:
        parser.error("--max-delay must be >= 0 (s)")
    if args.limit is not None and args.limit < 1:
        parser.error("--limit must be >= 1")


def build_parser() -> argparse.ArgumentParser:
    """The parser of ``snn`` (lazy ``train`` commands listed by name and help only)."""
    from .. import __version__
    from . import demo, nir, sweep

    parser = argparse.ArgumentParser(prog="snn", description="snnsim: spiking-network simulator")
    parser.add_argument("--version", action="version", version=f"snnsim {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)
    demo.add_parser(sub)
    train = sub.add_parser("train", help="train a model").add_subparsers(dest="what",
                                                                         required=True)
    for name, (module, lazy, help_text) in TRAIN_COMMANDS.items():
        if lazy:
            # Listed here; main() hands the command to its own parser, built on use.
            train.add_parser(name, help=help_text)
        else:
            importlib.import_module(module).add_parser(train)
    train.choices["delays"].set_defaults(check=_check_train_delays)
    nir.add_parser(sub)
    sweep.add_parser(sub)
    info = sub.add_parser("info", help="versions, backends and cache location")
    info.set_defaults(func=cmd_info)
    return parser


def _run_lazy_train_command(name: str, argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="snn train")
    sub = parser.add_subparsers(dest="what", required=True)
    importlib.import_module(TRAIN_COMMANDS[name][0]).add_parser(sub)
    args = parser.parse_args([name, *argv])
    return args.func(args)


def main(argv: list[str] | None = None) -> int:
    """Run ``snn`` with ``argv`` (default: the process's arguments); returns the exit code."""
    argv = sys.argv[1:] if argv is None else list(argv)
    if len(argv) >= 2 and argv[0] == "train" and TRAIN_COMMANDS.get(argv[1], ("", False))[1]:
        return _run_lazy_train_command(argv[1], argv[2:])
    parser = build_parser()
    args = parser.parse_args(argv)
    if hasattr(args, "check"):
        args.check(parser, args)
    return args.func(args)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
