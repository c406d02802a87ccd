"""``snn sweep CONFIG.toml``: a grid of runs of a registered benchmark function through
:func:`snn.sweep`; prints the table and keeps every finished run in a JSON-lines file.

A configuration names the function and the grid; the command-line options override its
execution settings::

    function = "engine_cuba"      # one of SWEEP_FUNCTIONS
    rng = 1                       # root seed
    n_trials = 2
    backend = "loky"              # serial | loky | dask | ray
    n_jobs = 2
    results = "cuba_sweep.jsonl"  # relative to the configuration file

    [grid]
    n_neurons = [1000, 2000, 4000]
    duration = [0.5]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from ._args import positive_int

__all__ = ["SWEEP_FUNCTIONS", "add_parser", "engine_coba", "engine_cuba", "run"]


def _engine_benchmark(name: str, n_neurons: int, duration: float, seed: int,
                      backend: str = "numba") -> dict[str, float]:
    from .. import run as run_network
    from ..benchmark_networks import build_benchmark

    network = build_benchmark(name, n_neurons=n_neurons, rng=seed)
    result = run_network(network, duration=duration, rng=seed, backend=backend)
    return {"rate_exc": result.mean_rate("exc"), "rate_inh": result.mean_rate("inh"),
            "run_time": result.wall_time}


def engine_cuba(n_neurons: int, duration: float, seed: int,
                backend: str = "numba") -> dict[str, float]:
    """The CUBA benchmark network (``snn.benchmark_networks``) of ``n_neurons`` neurons for
    ``duration`` seconds; returns the mean rates of both populations (Hz) and the engine's
    run time (s)."""
    return _engine_benchmark("cuba", n_neurons, duration, seed, backend)


def engine_coba(n_neurons: int, duration: float, seed: int,
                backend: str = "numba") -> dict[str, float]:
    """The COBA benchmark network, as :func:`engine_cuba`."""
    return _engine_benchmark("coba", n_neurons, duration, seed, backend)


#: Functions a sweep configuration may name.
SWEEP_FUNCTIONS = {"engine_cuba": engine_cuba, "engine_coba": engine_coba}

_KEYS = {"function", "grid", "rng", "n_trials", "backend", "n_jobs", "results",
         "scheduler_address"}


def _load(path: Path) -> dict[str, Any]:
    try:
        import tomllib
    except ModuleNotFoundError:  # Python 3.10
        import tomli as tomllib
    with path.open("rb") as handle:
        config = tomllib.load(handle)
    unknown = sorted(set(config) - _KEYS)
    if unknown:
        raise ValueError(f"{path}: unknown keys {unknown}; known: {sorted(_KEYS)}")
    if config.get("function") not in SWEEP_FUNCTIONS:
        raise ValueError(f"{path}: function must be one of {sorted(SWEEP_FUNCTIONS)}, got "
                         f"{config.get('function')!r}")
    if "grid" not in config:
        raise ValueError(f"{path}: a [grid] table of name = [values] is required")
    return config


def run(args: argparse.Namespace) -> int:
    """``snn sweep``: load the configuration, run the sweep, print the table."""
    from ..sweeps import sweep

    path = Path(args.config)
    try:
        config = _load(path)
    except (OSError, ValueError) as error:
        print(f"snn sweep: error: {error}", file=sys.stderr)
        return 2
    results = args.results or config.get("results")
    if results is not None and args.results is None:
        results = path.parent / results  # relative to the configuration file
    table = sweep(SWEEP_FUNCTIONS[config["function"]], config["grid"],
                  backend=args.backend or config.get("backend", "loky"),
                  n_jobs=args.n_jobs if args.n_jobs is not None else config.get("n_jobs"),
                  results=results, rng=config.get("rng", 0),
                  n_trials=config.get("n_trials", 1), progress=not args.no_progress,
                  scheduler_address=args.scheduler_address or config.get("scheduler_address"))
    print(table.to_string(index=False))
    if results is not None:
        print(f"runs recorded in {results}")
    return 0


def add_parser(sub: argparse._SubParsersAction) -> None:
    """Adds ``sweep`` to the sub-commands ``sub``."""
    parser = sub.add_parser("sweep", help="a grid of benchmark runs through snn.sweep",
                            description=__doc__.split("\n\n")[0])
    parser.add_argument("config", help="TOML file: function, [grid], and optionally rng, "
                                       "n_trials, backend, n_jobs, results")
    parser.add_argument("--backend", choices=("serial", "loky", "dask", "ray"), default=None,
                        help="overrides the configuration's backend (default there: loky)")
    parser.add_argument("--n-jobs", type=positive_int, default=None, help="parallel workers")
    parser.add_argument("--results", default=None,
                        help="JSON-lines file of finished runs (a re-run skips them)")
    parser.add_argument("--scheduler-address", default=None,
                        help="a running Dask scheduler, e.g. tcp://host:8786")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")
    parser.set_defaults(func=run)
