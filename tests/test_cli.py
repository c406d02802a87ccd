"""The command line: ``snn demo`` (both sections, small) and ``snn info``."""

import pytest

from snn.cli import main


def test_demo_runs_both_sections_and_saves_plots(tmp_path, capsys):
    assert main(["demo", "--output", str(tmp_path), "--neurons", "400", "--duration", "0.05",
                 "--train-steps", "40"]) == 0
    out = capsys.readouterr().out
    assert "== engine" in out and "== layers" in out
    assert (tmp_path / "cuba_raster.png").stat().st_size > 0
    assert (tmp_path / "layers_training.png").stat().st_size > 0
    # The layers section learns its task (chance is 50 %; 40 steps reach about 85 %).
    trained = float(out.split("% after")[0].rsplit(" ", 1)[-1])
    assert trained >= 75.0


def test_info(capsys):
    assert main(["info"]) == 0
    out = capsys.readouterr().out
    assert "backends: reference, numba, torch" in out and "cache" in out


@pytest.mark.parametrize("argv", [["demo", "--neurons", "2"], ["demo", "--duration", "0"],
                                  ["demo", "--train-steps", "0"], ["demo", "--sections", "x"],
                                  ["frobnicate"]])
def test_bad_arguments_exit_with_usage(argv):
    with pytest.raises(SystemExit) as raised:
        main(argv)
    assert raised.value.code == 2
