"""'snn train neurobench' through the package's own entry point."""

from __future__ import annotations

import json

import pytest

from snn.cli import main


def test_train_neurobench_memory_capacity_and_mackey_glass(tmp_path, capsys):
    assert main(["train", "neurobench", "--task", "memory-capacity", "--out",
                 str(tmp_path / "mc")]) == 0
    result = json.loads((tmp_path / "mc" / "results.json").read_text())
    assert 0 < result["memory_capacity"] <= 50 and len(result["per_delay"]) == 50
    assert main(["train", "neurobench", "--task", "mackey-glass", "--runs", "1", "--units",
                 "60", "--out", str(tmp_path / "mg")]) == 0
    result = json.loads((tmp_path / "mg" / "results.json").read_text())
    assert 0 <= result["smape"] <= 200 and result["series"].startswith("regenerated")
    assert result["metrics"]["SynapticOperations"]["Dense"] == 60 + 60 * 60 + 61
    printed = capsys.readouterr().out
    assert "memory capacity" in printed and "Mackey-Glass sMAPE" in printed


def test_train_neurobench_refuses_a_model_of_another_task(tmp_path):
    with pytest.raises(SystemExit, match="--model"):
        main(["train", "neurobench", "--task", "mackey-glass", "--model", "delays",
              "--out", str(tmp_path)])
    with pytest.raises(SystemExit):
        main(["train", "neurobench", "--task", "nothing"])
