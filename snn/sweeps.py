"""Parameter sweeps and repeated trials on existing engines: joblib's local processes
(loky), a Dask ``distributed`` cluster (its futures) or Ray (its tasks), with
results written incrementally as one table.

The scheduling is theirs; this module only builds the points, derives their seeds, records
each finished point and assembles the table.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import numbers
import os
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from ._random import int_seed
from .validation import check_choice, check_int

if TYPE_CHECKING:  # pandas loads inside sweep(), so that importing snn stays quick
    import pandas

__all__ = ["SWEEP_BACKENDS", "point_seed", "sweep"]

#: Execution backends of :func:`sweep`.
SWEEP_BACKENDS = ("serial", "loky", "dask", "ray")

# Columns the sweep adds to each row; neither parameters nor figures may use these names.
_RESERVED = ("trial", "seed", "wall_time")


def point_seed(root_seed: int, params: Mapping[str, Any], trial: int = 0) -> int:
    """The int seed of one sweep point: a function of the root seed, the point's parameters
    and the trial index only, so it never depends on the order in which points run, on the
    backend, or on which other points the grid holds.

    Args:
        root_seed: the sweep's root seed (int >= 0).
        params: the point's parameters (JSON-serialisable values).
        trial: the trial index (int >= 0).

    Returns:
        An int seed in ``[0, 2**62)``.
    """
    root_seed = check_int("root_seed", root_seed, minimum=0)
    trial = check_int("trial", trial, minimum=0)
    digest = hashlib.sha256(_canonical(params).encode()).digest()
    words = [int.from_bytes(digest[i:i + 4], "little") for i in range(0, 32, 4)]
    sequence = np.random.SeedSequence([root_seed, trial, *words])
    return int(sequence.generate_state(1, np.uint64)[0] >> np.uint64(2))


def _canonical(params: Mapping[str, Any]) -> str:
    # Sorted keys: the key of a point does not depend on the order its grid listed names.
    return json.dumps(dict(params), sort_keys=True, allow_nan=True)


def _plain(name: str, value: Any) -> Any:
    """``value`` as a plain JSON value (numpy scalars unwrapped), or a TypeError."""
    if isinstance(value, np.generic):
        value = value.item()
    if value is None or isinstance(value, (bool, str, numbers.Real)):
        return value
    raise TypeError(f"{name} must be a number, str, bool or None (a JSON value), got "
                    f"{type(value).__name__}")


def _points(grid: Any) -> list[dict[str, Any]]:
    """The grid's points in grid order: the cartesian product of a dict of lists (last name
    varies fastest), or a list of dicts as given."""
    if isinstance(grid, Mapping):
        if not grid:
            raise ValueError("grid must not be empty: give a dict of name -> list of values "
                             "or a list of dicts")
        names, values = [], []
        for name, options in grid.items():
            if not isinstance(name, str):
                raise TypeError(f"grid names must be str, got {type(name).__name__}")
            if isinstance(options, (str, bytes)) or not isinstance(options, Sequence | np.ndarray):
                raise TypeError(f"grid[{name!r}] must be a list of values, got "
                                f"{type(options).__name__}")
            if len(options) == 0:
                raise ValueError(f"grid[{name!r}] must list at least one value")
            names.append(name)
            values.append([_plain(f"grid[{name!r}] values", v) for v in options])
        points = [dict(zip(names, combo)) for combo in itertools.product(*values)]
    elif isinstance(grid, Sequence) and not isinstance(grid, (str, bytes)):
        if len(grid) == 0:
            raise ValueError("grid must not be empty: give a dict of name -> list of values "
                             "or a list of dicts")
        points = []
        for index, point in enumerate(grid):
            if not isinstance(point, Mapping):
                raise TypeError(f"grid[{index}] must be a dict of parameters, got "
                                f"{type(point).__name__}")
            for name in point:
                if not isinstance(name, str):
                    raise TypeError(f"grid[{index}] names must be str, got "
                                    f"{type(name).__name__}")
            points.append({name: _plain(f"grid[{index}][{name!r}]", value)
                           for name, value in point.items()})
    else:
        raise TypeError("grid must be a dict of name -> list of values or a list of dicts, "
                        f"got {type(grid).__name__}")
    for point in points:
        clash = [name for name in point if name in _RESERVED]
        if clash:
            raise ValueError(f"grid must not name the columns the sweep adds {_RESERVED}; "
                             f"got {clash}")
    return points


def _run_point(fn: Callable[..., Any], params: dict[str, Any], trial: int,
               seed: int) -> tuple[str, dict[str, Any]]:
    """Runs one point (in a worker) and returns its key and its row."""
    start = time.perf_counter()
    figures = fn(**params, seed=seed)
    wall_time = time.perf_counter() - start
    if not isinstance(figures, Mapping):
        raise TypeError(f"fn must return a dict of figures, got {type(figures).__name__} "
                        f"for point {params}")
    row: dict[str, Any] = {**params, "trial": trial, "seed": seed}
    for name, value in figures.items():
        if not isinstance(name, str):
            raise TypeError(f"fn must return a dict with str keys, got {type(name).__name__}")
        if name in row or name == "wall_time":
            raise ValueError(f"fn returned a figure named {name!r}, which is a parameter or "
                             f"a column the sweep adds")
        row[name] = _plain(f"fn's figure {name!r}", value)
    row["wall_time"] = wall_time
    return _key(params, trial, seed), row


def _key(params: Mapping[str, Any], trial: int, seed: int) -> str:
    return f"{_canonical(params)}|{trial}|{seed}"


def _read_finished(path: Path, parameter_names: Sequence[str]) -> dict[str, dict[str, Any]]:
    """Rows already recorded in a JSON-lines results file, by point key. A line cut short by
    a crash (not valid JSON, or not a row) is skipped: that point runs again."""
    finished: dict[str, dict[str, Any]] = {}
    if not path.exists():
        return finished
    with path.open("r", encoding="utf-8") as handle:
        for line in handle:
            try:
                row = json.loads(line)
            except json.JSONDecodeError:
                continue
            if not isinstance(row, dict) or "seed" not in row or "trial" not in row:
                continue
            params = {name: row.get(name) for name in row if name in parameter_names}
            finished[_key(params, row["trial"], row["seed"])] = row
    return finished


def _append(path: Path, row: Mapping[str, Any]) -> None:
    # One line per point, flushed at once: a crash of this process or a worker loses no
    # recorded point, and at worst leaves one partial last line, which reading skips.
    with path.open("a", encoding="utf-8") as handle:
        handle.write(json.dumps(row, allow_nan=True) + "\n")
        handle.flush()


def _prepare_file(path: Path) -> None:
    # A file whose last line a crash cut short gets a newline, so the next row starts clean.
    if path.exists() and path.stat().st_size > 0:
        with path.open("rb") as handle:
            handle.seek(-1, os.SEEK_END)
            last = handle.read(1)
        if last != b"\n":
            with path.open("a", encoding="utf-8") as handle:
                handle.write("\n")


def sweep(fn: Callable[..., Mapping[str, Any]], grid: Mapping[str, Sequence[Any]]
          | Sequence[Mapping[str, Any]], *, backend: str = "loky", n_jobs: int | None = None,
          results: str | os.PathLike | None = None, rng: int | np.random.Generator = 0,
          n_trials: int = 1, progress: bool = True,
          scheduler_address: str | None = None) -> pandas.DataFrame:
    """Runs ``fn`` at every point of ``grid`` (and ``n_trials`` seeds per point) and returns
    one table, one row per run, in grid order.

    Each run calls ``fn(**params, seed=seed)``, which returns a dict of figures (numbers,
    str, bool or None). Its seed comes from :func:`point_seed` (root seed, parameters,
    trial), so every backend and every execution order gives the same table.

    With ``results``, every finished run is appended at once to that JSON-lines file (one
    JSON object per line: rows may differ in their figures and no header is needed before
    the first result; a line cut short by a crash is detected and skipped). A later call
    with the same file runs only the points it does not hold yet (keyed by parameters,
    trial and seed); rows are written by this process as workers return them, so workers
    need no shared file system.

    Args:
        fn: a picklable callable ``fn(**params, seed=int) -> dict`` (module-level for the
            process backends).
        grid: a dict of name -> list of values (their cartesian product, the last name
            varying fastest) or a list of dicts of parameters. Values must be JSON scalars
            (numbers, str, bool, None); the names ``trial``, ``seed`` and ``wall_time`` are
            reserved.
        backend: ``"serial"`` (a loop in this process), ``"loky"`` (joblib's local
            processes), ``"dask"`` (futures of a ``distributed.Client``) or
            ``"ray"`` (Ray tasks on the cluster of ``RAY_ADDRESS``, else a local one
            started for the sweep; needs ``ray`` installed).
        n_jobs: parallel workers. loky: default the CPU count. dask: without
            ``scheduler_address``, the number of single-threaded worker processes of the
            ``LocalCluster`` started (default the CPU count); with it, ignored (the
            cluster's workers). ray: the CPUs of a local Ray started for the sweep (default
            all); ignored on an existing cluster. serial: must be None or 1.
        results: path of the JSON-lines results file, or None to keep nothing on disk.
        rng: the root seed (int >= 0), or a ``numpy.random.Generator`` that draws one.
        n_trials: runs per point (int >= 1), with trial indices ``0 .. n_trials-1``.
        progress: show a tqdm progress bar over the runs.
        scheduler_address: address of a running Dask scheduler (``"tcp://host:8786"``), for
            ``backend="dask"`` only.

    Returns:
        A ``pandas.DataFrame`` with the parameter columns, ``trial``, ``seed``, the
        figures, and ``wall_time`` (seconds ``fn`` took in its worker).

    Raises:
        TypeError, ValueError: bad arguments, before any run; ``fn`` returning something
            other than a dict of figures (when that point runs).
        ImportError: ``backend="ray"`` without ray, ``"dask"`` without ``distributed``.
    """
    if not callable(fn):
        raise TypeError(f"fn must be callable, got {type(fn).__name__}")
    check_choice("backend", backend, SWEEP_BACKENDS)
    points = _points(grid)
    n_trials = check_int("n_trials", n_trials, minimum=1)
    if n_jobs is not None:
        n_jobs = check_int("n_jobs", n_jobs, minimum=1)
    if backend == "serial" and n_jobs not in (None, 1):
        raise ValueError(f"n_jobs must be None or 1 with backend='serial', got {n_jobs}")
    if scheduler_address is not None:
        if not isinstance(scheduler_address, str):
            raise TypeError("scheduler_address must be a str such as 'tcp://host:8786', got "
                            f"{type(scheduler_address).__name__}")
        if backend != "dask":
            raise ValueError("scheduler_address applies to backend='dask' only, got "
                             f"backend={backend!r}")
    if not isinstance(progress, bool):
        raise TypeError(f"progress must be a bool, got {type(progress).__name__}")
    root_seed = int_seed(rng, "rng")
    path = None if results is None else Path(results)
    if path is not None and path.is_dir():
        raise ValueError(f"results must be a file path, got the directory {path}")

    import pandas as pd

    runs = [(params, trial, point_seed(root_seed, params, trial))
            for params in points for trial in range(n_trials)]
    parameter_names = list(dict.fromkeys(name for params in points for name in params))
    finished: dict[str, dict[str, Any]] = {}
    if path is not None:
        finished = _read_finished(path, parameter_names)
        _prepare_file(path)
    # A point listed twice in the grid runs once.
    todo = list({_key(*run): run for run in runs if _key(*run) not in finished}.values())

    if todo:
        from tqdm.auto import tqdm

        n_runs = len({_key(*run) for run in runs})
        bar = tqdm(total=n_runs, initial=n_runs - len(todo), disable=not progress,
                   desc=f"sweep ({backend})", unit="run")
        try:
            for key, row in _execute(fn, todo, backend, n_jobs, scheduler_address):
                finished[key] = row
                if path is not None:
                    _append(path, row)
                bar.update(1)
        finally:
            bar.close()

    rows = [finished[_key(*run)] for run in runs]
    table = pd.DataFrame(rows)
    figures = [c for c in table.columns if c not in parameter_names and c not in _RESERVED]
    return table[[*parameter_names, "trial", "seed", *figures, "wall_time"]]


def _execute(fn, todo, backend, n_jobs, scheduler_address):
    """Yields ``(key, row)`` of the runs of ``todo`` as they finish."""
    if backend == "serial":
        for params, trial, seed in todo:
            yield _run_point(fn, params, trial, seed)
        return

    if backend == "loky":
        import joblib

        tasks = (joblib.delayed(_run_point)(fn, params, trial, seed)
                 for params, trial, seed in todo)
        parallel = joblib.Parallel(n_jobs=n_jobs or os.cpu_count() or 1, backend="loky",
                                   return_as="generator_unordered", batch_size=1)
        yield from parallel(tasks)
    elif backend == "dask":
        try:
            from distributed import Client, LocalCluster, as_completed
        except ImportError as error:
            raise ImportError("backend='dask' needs dask's distributed package: pip install "
                              "'snnsim[cluster]' (or 'dask[distributed]')") from error
        cluster = None
        if scheduler_address is None:
            cluster = LocalCluster(n_workers=n_jobs or os.cpu_count() or 1,
                                   threads_per_worker=1, processes=True,
                                   dashboard_address=None)
            client = Client(cluster)
        else:
            client = Client(scheduler_address)
        # Dask's own futures rather than joblib's Dask backend: with the latter, a task
        # whose workers died (KilledWorker) left the results generator waiting forever
        # (joblib 1.6, distributed 2026.8); as_completed raises it.
        futures = [client.submit(_run_point, fn, params, trial, seed, pure=False)
                   for params, trial, seed in todo]
        try:
            for future in as_completed(futures):
                yield future.result()
        finally:
            client.cancel(futures)
            client.close()
            if cluster is not None:
                cluster.close()
    else:  # ray
        try:
            import ray
        except ImportError as error:
            raise ImportError("backend='ray' needs ray, which is not installed: pip install "
                              "'ray[default]'") from error
        # Ray's own tasks rather than joblib's Ray backend, which cannot return results as
        # they complete (joblib 1.6, ray 2.60). ray.init() joins the cluster named by
        # RAY_ADDRESS when that is set, else starts a local one.
        started = not ray.is_initialized()
        if started:
            ray.init(num_cpus=n_jobs, include_dashboard=False, log_to_driver=False)
        remote = ray.remote(num_cpus=1)(_run_point)
        pending = [remote.remote(fn, params, trial, seed) for params, trial, seed in todo]
        try:
            while pending:
                done, pending = ray.wait(pending, num_returns=1)
                yield ray.get(done[0])
        finally:
            for reference in pending:
                ray.cancel(reference, force=True)
            if started:
                ray.shutdown()
