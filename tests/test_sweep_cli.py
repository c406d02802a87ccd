"""``snn sweep CONFIG.toml``: a benchmark grid from a configuration file."""

import json

import pytest

import snn
from snn.benchmark_networks import build_benchmark
from snn.cli import main
from snn.sweeps import point_seed

pytest.importorskip("pandas", reason="snn sweep prints a pandas table")

CONFIG = """
function = "engine_cuba"
rng = 3
backend = "serial"
results = "runs.jsonl"

[grid]
n_neurons = [50, 60]
duration = [0.02]
"""


def test_sweep_command_runs_the_grid_and_records_each_run(tmp_path, capsys):
    config = tmp_path / "cuba.toml"
    config.write_text(CONFIG)
    assert main(["sweep", str(config), "--no-progress"]) == 0
    out = capsys.readouterr().out
    assert "rate_exc" in out and "runs recorded in" in out
    rows = [json.loads(line) for line in (tmp_path / "runs.jsonl").read_text().splitlines()]
    assert [row["n_neurons"] for row in rows] == [50, 60]
    for row in rows:
        params = {"n_neurons": row["n_neurons"], "duration": 0.02}
        assert row["seed"] == point_seed(3, params)
        direct = snn.run(build_benchmark("cuba", n_neurons=row["n_neurons"], rng=row["seed"]),
                         duration=0.02, rng=row["seed"])
        assert row["rate_exc"] == direct.mean_rate("exc")
        assert row["rate_inh"] == direct.mean_rate("inh")
    # A second call finds every run recorded and appends nothing.
    assert main(["sweep", str(config), "--no-progress"]) == 0
    assert len((tmp_path / "runs.jsonl").read_text().splitlines()) == 2


@pytest.mark.parametrize("text, match", [
    ('function = "nope"\n[grid]\nn_neurons = [50]\n', "function must be one of"),
    ('function = "engine_cuba"\n', "grid"),
    ('function = "engine_cuba"\ncolour = 1\n[grid]\nn_neurons = [50]\n', "unknown keys"),
])
def test_bad_configuration_is_refused(text, match, tmp_path, capsys):
    config = tmp_path / "bad.toml"
    config.write_text(text)
    assert main(["sweep", str(config)]) == 2
    assert match in capsys.readouterr().err
