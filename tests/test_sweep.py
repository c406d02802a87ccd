"""snn.sweep: the same table from every backend, incremental results, resume, bad input."""

from __future__ import annotations

import json
import math
import os
import time
from pathlib import Path

import numpy as np
import pytest

import snn
from snn.sweeps import point_seed

pd = pytest.importorskip("pandas", reason="snn.sweep returns a pandas DataFrame")

GRID = {"rate": [5.0, 10.0, 20.0], "n_neurons": [3, 4]}


def figures(rate: float, n_neurons: int, seed: int) -> dict:
    """A small deterministic computation of the point's parameters and seed."""
    draws = np.random.default_rng(seed).poisson(rate, size=n_neurons)
    return {"mean_count": float(draws.mean()), "total": int(draws.sum()),
            "log_rate": math.log(rate)}


def counted(rate: float, n_neurons: int, seed: int, marker_dir: str, kill: bool = False,
            results=None, n_before=0) -> dict:
    """``figures`` that leaves one marker file per call; with ``kill`` it waits until the
    results file holds ``n_before`` rows, then kills its worker process."""
    Path(marker_dir, f"{rate}_{n_neurons}_{seed}_{time.time_ns()}").touch()
    if kill:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if results and os.path.exists(results):
                with open(results) as handle:
                    if sum(1 for _ in handle) >= n_before:
                        break
            time.sleep(0.05)
        os._exit(1)
    return figures(rate, n_neurons, seed)


def _figures_only(table):
    return table.drop(columns=["wall_time"]).reset_index(drop=True)


def test_serial_table_rows_in_grid_order_with_formula_figures():
    table = snn.sweep(figures, GRID, backend="serial", rng=7, progress=False)
    assert list(table.columns) == ["rate", "n_neurons", "trial", "seed", "mean_count", "total",
                                   "log_rate", "wall_time"]
    assert list(zip(table.rate, table.n_neurons)) == [(r, n) for r in GRID["rate"]
                                                     for n in GRID["n_neurons"]]
    for row in table.itertuples():
        assert row.seed == point_seed(7, {"rate": row.rate, "n_neurons": row.n_neurons})
        expected = figures(row.rate, row.n_neurons, row.seed)
        assert row.mean_count == expected["mean_count"] and row.total == expected["total"]
        assert row.wall_time >= 0


def test_seed_depends_on_point_not_order_or_grid():
    a = point_seed(3, {"x": 1, "y": "b"})
    assert a == point_seed(3, {"y": "b", "x": 1})
    assert a != point_seed(4, {"x": 1, "y": "b"}) and a != point_seed(3, {"x": 1, "y": "b"}, 1)
    small = snn.sweep(figures, {"rate": [10.0], "n_neurons": [3]}, backend="serial", rng=3,
                      progress=False)
    big = snn.sweep(figures, GRID, backend="serial", rng=3, progress=False)
    assert small.seed[0] == big[(big.rate == 10.0) & (big.n_neurons == 3)].seed.item()


def test_trials_and_list_of_dicts_grid():
    grid = [{"rate": 2.0, "n_neurons": 2}, {"rate": 1.0, "n_neurons": 5}]
    table = snn.sweep(figures, grid, backend="serial", n_trials=3, progress=False)
    assert list(table.rate) == [2.0] * 3 + [1.0] * 3
    assert list(table.trial) == [0, 1, 2] * 2
    assert table.seed.nunique() == 6


def test_loky_gives_the_serial_table():
    serial = snn.sweep(figures, GRID, backend="serial", rng=11, progress=False)
    loky = snn.sweep(figures, GRID, backend="loky", n_jobs=2, rng=11, progress=False)
    pd.testing.assert_frame_equal(_figures_only(loky), _figures_only(serial))


@pytest.mark.slow
def test_dask_local_cluster_gives_the_serial_table(tmp_path):
    distributed = pytest.importorskip("distributed", reason="backend='dask' needs distributed")
    serial = snn.sweep(figures, GRID, backend="serial", rng=11, progress=False)
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  dashboard_address=None) as cluster:
        table = snn.sweep(figures, GRID, backend="dask", rng=11, progress=False,
                          scheduler_address=cluster.scheduler_address,
                          results=tmp_path / "dask.jsonl")
    pd.testing.assert_frame_equal(_figures_only(table), _figures_only(serial))
    assert len((tmp_path / "dask.jsonl").read_text().splitlines()) == len(serial)


@pytest.mark.slow
def test_ray_gives_the_serial_table():
    pytest.importorskip("ray", reason="ray is not installed: backend='ray' is not tested")
    serial = snn.sweep(figures, GRID, backend="serial", rng=11, progress=False)
    table = snn.sweep(figures, GRID, backend="ray", n_jobs=2, rng=11, progress=False)
    pd.testing.assert_frame_equal(_figures_only(table), _figures_only(serial))


def test_resume_computes_nothing_new(tmp_path):
    results, markers = tmp_path / "runs.jsonl", tmp_path / "calls"
    markers.mkdir()
    grid = {**GRID, "marker_dir": [str(markers)]}
    first = snn.sweep(counted, grid, backend="serial", results=results, progress=False)
    assert len(list(markers.iterdir())) == len(first) == 6
    lines = [json.loads(line) for line in results.read_text().splitlines()]
    assert len(lines) == 6
    second = snn.sweep(counted, grid, backend="serial", results=results, progress=False)
    assert len(list(markers.iterdir())) == 6  # no new call
    pd.testing.assert_frame_equal(second, first)
    # A larger grid computes only its new points.
    grid["rate"] = [*GRID["rate"], 40.0]
    third = snn.sweep(counted, grid, backend="serial", results=results, progress=False)
    assert len(list(markers.iterdir())) == 8 and len(third) == 8


def test_a_line_cut_short_by_a_crash_is_run_again(tmp_path):
    results = tmp_path / "runs.jsonl"
    full = snn.sweep(figures, GRID, backend="serial", results=results, progress=False)
    text = results.read_text()
    results.write_text(text[: text.rindex("\n", 0, len(text) - 1) + 10])  # last line cut
    again = snn.sweep(figures, GRID, backend="serial", results=results, progress=False)
    pd.testing.assert_frame_equal(_figures_only(again), _figures_only(full))


def killer_grid(tmp_path):
    """The results file, the folder of call markers, and the grid of ``counted`` whose last
    point kills its worker once the five points before it are recorded."""
    results, markers = tmp_path / "runs.jsonl", tmp_path / "calls"
    markers.mkdir()
    grid = [{"rate": r, "n_neurons": n, "marker_dir": str(markers), "kill": False,
             "results": str(results), "n_before": 5}
            for r in GRID["rate"] for n in GRID["n_neurons"]]
    grid[-1]["kill"] = True
    return results, markers, grid


@pytest.mark.slow
def test_killed_worker_loses_no_finished_point(tmp_path):
    # The last point kills its loky worker once the five points before it are recorded.
    results, markers, grid = killer_grid(tmp_path)
    with pytest.raises(Exception, match="(?i)terminat|killed|exit"):
        snn.sweep(counted, grid, backend="loky", n_jobs=2, results=results, progress=False)
    recorded = [json.loads(line) for line in results.read_text().splitlines()]
    assert len(recorded) == 5 and not any(row["kill"] for row in recorded)
    calls_before = len(list(markers.iterdir()))
    # The same points with the killer disarmed: only the killed point runs again.
    grid[-1]["kill"] = False
    table = snn.sweep(counted, grid, backend="loky", n_jobs=2, results=results, progress=False)
    assert len(list(markers.iterdir())) == calls_before + 1
    assert len(table) == 6 and len(results.read_text().splitlines()) == 6
    assert (table.iloc[-1].rate, table.iloc[-1].n_neurons) == (20.0, 4)


@pytest.mark.parametrize("kwargs, error, match", [
    ({"grid": {}}, ValueError, "grid must not be empty"),
    ({"grid": []}, ValueError, "grid must not be empty"),
    ({"grid": {"rate": []}}, ValueError, "grid\\['rate'\\]"),
    ({"grid": {"rate": 3.0}}, TypeError, "grid\\['rate'\\] must be a list"),
    ({"grid": {"seed": [1]}}, ValueError, "reserved|adds"),
    ({"grid": {"rate": [object()]}}, TypeError, "JSON"),
    ({"backend": "spark"}, ValueError, "backend must be one of"),
    ({"fn": 3}, TypeError, "fn must be callable"),
    ({"n_trials": 0}, ValueError, "n_trials"),
    ({"backend": "loky", "scheduler_address": "tcp://x:1"}, ValueError, "scheduler_address"),
    ({"backend": "serial", "n_jobs": 2}, ValueError, "n_jobs"),
])
def test_bad_input_is_refused_before_any_run(kwargs, error, match, tmp_path):
    calls = []

    def fn(**params):
        calls.append(params)
        return {}

    arguments = {"fn": fn, "grid": {"rate": [1.0]}, "backend": "serial", "progress": False,
                 **kwargs}
    with pytest.raises(error, match=match):
        snn.sweep(arguments.pop("fn"), arguments.pop("grid"), **arguments)
    assert not calls


def test_fn_returning_a_non_dict_is_a_type_error():
    with pytest.raises(TypeError, match="fn must return a dict"):
        snn.sweep(lambda rate, seed: rate, {"rate": [1.0]}, backend="serial", progress=False)


def test_ray_missing_is_a_clear_import_error():
    try:
        import ray  # noqa: F401
    except ImportError:
        with pytest.raises(ImportError, match="ray"):
            snn.sweep(figures, GRID, backend="ray", progress=False)
    else:
        pytest.skip("ray is installed: the missing-ray error cannot be shown")


@pytest.mark.slow
def test_killed_dask_worker_loses_no_finished_point(tmp_path):
    distributed = pytest.importorskip("distributed", reason="backend='dask' needs distributed")
    results, markers, grid = killer_grid(tmp_path)
    # The killing point takes down every worker that retries it, until the scheduler gives
    # up on it (KilledWorker); the nanny restarts the workers.
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  dashboard_address=None) as cluster:
        with pytest.raises(Exception, match="(?i)killed|worker"):
            snn.sweep(counted, grid, backend="dask", results=results, progress=False,
                      scheduler_address=cluster.scheduler_address)
        recorded = [json.loads(line) for line in results.read_text().splitlines()]
        assert len(recorded) == 5 and not any(row["kill"] for row in recorded)
        calls_before = len(list(markers.iterdir()))
        grid[-1]["kill"] = False
        table = snn.sweep(counted, grid, backend="dask", results=results, progress=False,
                          scheduler_address=cluster.scheduler_address)
    assert len(list(markers.iterdir())) == calls_before + 1
    assert len(table) == 6 and len(results.read_text().splitlines()) == 6


def test_a_point_listed_twice_runs_once(tmp_path):
    markers = tmp_path / "calls"
    markers.mkdir()
    point = {"rate": 3.0, "n_neurons": 2, "marker_dir": str(markers)}
    table = snn.sweep(counted, [point, point], backend="serial", progress=False)
    assert len(table) == 2 and len(list(markers.iterdir())) == 1
    assert table.iloc[0].to_dict() == table.iloc[1].to_dict()
