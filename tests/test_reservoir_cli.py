"""The reservoir command line: 'snn train reservoir' through a parser built here the way
snn.cli builds its own, and the demo section through snn.cli.main."""

import argparse
import json

import pytest

from snn.cli import main
from snn.cli.train_reservoir import add_parser


def make_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="snn")
    sub = parser.add_subparsers(dest="command", required=True)
    train = sub.add_parser("train").add_subparsers(dest="what", required=True)
    add_parser(train)
    return parser


def test_train_reservoir_esn_writes_results(tmp_path, capsys):
    args = make_parser().parse_args(["train", "reservoir", "--task", "narma10", "--units", "50",
                                     "--out", str(tmp_path)])
    assert args.func(args) == 0
    result = json.loads((tmp_path / "results.json").read_text())
    assert 0 < result["nrmse"] < 1
    assert "NRMSE" in capsys.readouterr().out


def test_train_reservoir_adaptive_memory_capacity(tmp_path):
    args = make_parser().parse_args(["train", "reservoir", "--task", "memory-capacity",
                                     "--units", "40", "--spectral-radius", "2",
                                     "--adapt", "homogeneous", "--out", str(tmp_path)])
    args.func(args)
    assert json.loads((tmp_path / "results.json").read_text())["memory_capacity"] > 2


@pytest.mark.parametrize("argv, message", [
    (["--spectral-radius", "0"], "number > 0"),
    (["--spectral-radius", "-1"], "number > 0"),
    (["--leak", "1.5"], "(0, 1]"),
    (["--units", "0"], "integer >= 1"),
    (["--task", "weather"], "invalid choice"),
])
def test_bad_arguments_are_refused_at_parse_time(argv, message, capsys):
    base = ["train", "reservoir"] + ([] if "--task" in argv else ["--task", "narma10"])
    with pytest.raises(SystemExit):
        make_parser().parse_args(base + argv)
    assert message in capsys.readouterr().err


@pytest.mark.slow
def test_demo_section_prints_table_and_saves_plot(tmp_path, capsys):
    assert main(["demo", "--sections", "reservoir", "--output", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "LSM test accuracy" in out and "zero-shot switching, unseen classes" in out
    assert (tmp_path / "reservoir.png").stat().st_size > 10_000
    page = (tmp_path / "index.html").read_text()
    assert '<img src="reservoir.png"' in page and "LSM test accuracy" in page


@pytest.mark.slow
def test_train_reservoir_zero_shot_reports_seen_and_unseen(tmp_path, capsys):
    args = make_parser().parse_args(["train", "reservoir", "--task", "zero-shot", "--neurons",
                                     "50", "--out", str(tmp_path)])
    assert args.func(args) == 0
    result = json.loads((tmp_path / "results.json").read_text())
    assert set(result["unseen"]) >= {"audio_to_image", "chance_audio_to_image"}
    assert result["train_classes"] == [1, 2, 3, 4, 5, 6, 7]
    assert "unseen classes" in capsys.readouterr().out
    with pytest.raises(SystemExit):
        make_parser().parse_args(["train", "reservoir", "--task", "zero-shot", "--weights",
                                  "rram"])
