"""The command line: ``snn demo`` (every section, small), ``snn train delays`` and
``snn info``."""

import json

import pytest

from snn.cli import main


def test_demo_runs_every_section_and_saves_plots(tmp_path, capsys):
    assert main(["demo", "--output", str(tmp_path), "--neurons", "400", "--duration", "0.05",
                 "--stdp-duration", "2", "--train-steps", "40", "--delay-epochs", "2",
                 "--delay-hidden", "16",
                 "--hardware-epochs", "2", "--hardware-seeds", "1",
                 "--microcircuit-scale", "0.01", "--microcircuit-duration", "0.05"]) == 0
    out = capsys.readouterr().out
    assert "== engine" in out and "== layers" in out and "== delays" in out
    assert "== plasticity" in out and (tmp_path / "stdp_weights.png").stat().st_size > 0
    assert "== hardware" in out and "== continual" in out and "== reservoir" in out
    assert "identical to the torch model" in out
    assert (tmp_path / "delay_histograms.png").stat().st_size > 0
    assert (tmp_path / "cuba_raster.png").stat().st_size > 0
    assert (tmp_path / "layers_training.png").stat().st_size > 0
    assert "== microcircuit" in out and "published, full scale" in out
    assert (tmp_path / "microcircuit_raster.png").stat().st_size > 0
    # The layers section learns its task (chance is 50 %; 40 steps reach about 85 %).
    trained = float(out.split("% after")[0].rsplit(" ", 1)[-1])
    assert trained >= 75.0


def test_train_delays_on_the_embedded_sample_runs_every_ablation(tmp_path, capsys):
    assert main(["train", "delays", "--data", "sample", "--delays", "all", "--epochs", "1",
                 "--hidden", "8", "--batch-size", "64", "--limit", "100", "--out", str(tmp_path),
                 "--no-progress"]) == 0
    out = capsys.readouterr().out
    assert "100 train / 60 test samples" in out
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert set(summary) == {"learned", "fixed", "none"}
    for mode in summary:
        assert (tmp_path / mode / "results.json").exists()
        assert (tmp_path / mode / "checkpoint.pt").exists()
        assert 0.0 <= summary[mode]["test_accuracy"] <= 1.0
    assert (tmp_path / "learned" / "delay_histograms.png").stat().st_size > 0


def test_train_delays_needs_a_root_for_real_datasets(tmp_path):
    with pytest.raises(SystemExit, match="--root"):
        main(["train", "delays", "--data", "shd", "--out", str(tmp_path)])
    with pytest.raises(FileNotFoundError, match="shd_train"):
        main(["train", "delays", "--data", "shd", "--root", str(tmp_path), "--out",
              str(tmp_path)])


def test_info(capsys):
    assert main(["info"]) == 0
    out = capsys.readouterr().out
    assert "backends: reference, numba, torch" in out and "cache" in out


@pytest.mark.parametrize("argv", [["demo", "--neurons", "2"], ["demo", "--duration", "0"],
                                  ["demo", "--train-steps", "0"], ["demo", "--stdp-duration", "0"],
                                  ["demo", "--sections", "x"],
                                  ["demo", "--microcircuit-scale", "0"],
                                  ["demo", "--microcircuit-scale", "1.5"],
                                  ["demo", "--microcircuit-duration", "0"],
                                  ["frobnicate"], ["train", "delays"],
                                  ["train", "delays", "--data", "sample", "--epochs", "0"],
                                  ["train", "delays", "--data", "sample", "--dt", "-1"],
                                  ["train", "delays", "--data", "mnist"]])
def test_bad_arguments_exit_with_usage(argv):
    with pytest.raises(SystemExit) as raised:
        main(argv)
    assert raised.value.code == 2


def test_train_delays_reads_shd_layout_files(tmp_path, capsys):
    import numpy as np

    from snn.data import SpikeDataset, write_spike_hdf5

    rng = np.random.default_rng(0)
    root = tmp_path / "shd"
    root.mkdir()
    for split, n in (("train", 40), ("test", 20)):
        times = [np.sort(rng.uniform(0, 0.5, 60)) for _ in range(n)]
        units = [rng.integers(0, 700, 60) for _ in range(n)]
        labels = rng.integers(0, 20, n)
        write_spike_hdf5(root / f"shd_{split}.h5",
                         SpikeDataset(times, units, labels, n_channels=700, n_classes=20))
    out = tmp_path / "out"
    assert main(["train", "delays", "--data", "shd", "--root", str(root), "--epochs", "1",
                 "--hidden", "8", "--batch-size", "16", "--out", str(out), "--no-progress"]) == 0
    text = capsys.readouterr().out
    assert "40 train / 20 test samples" in text and "140 channels, 20 classes" in text
    assert (out / "learned" / "results.json").exists()


def test_demo_hardware_section(tmp_path, capsys):
    assert main(["demo", "--sections", "hardware", "--output", str(tmp_path),
                 "--hardware-epochs", "8", "--hardware-seeds", "2"]) == 0
    out = capsys.readouterr().out
    assert "== hardware" in out and "pcm, compensated" in out and "rram, uncompensated" in out
    assert "digital int8 dense" in out
    assert (tmp_path / "hardware_drift.png").stat().st_size > 0
    # The classifier learns the 10 digits of the embedded sample (chance is 10 %).
    clean = float(out.split("clean test accuracy ")[1].split("%")[0])
    assert clean >= 40.0


@pytest.mark.parametrize("option, value, message", [
    ("--hardware-presets", ["flash"], "unknown preset 'flash'; known presets: ['ideal', 'pcm'"),
    ("--hardware-times", ["-1"], "time after programming must be >= 0 s"),
    ("--hardware-adc-bits", ["0"], "ADC bits must be >= 1"),
    ("--hardware-g-range", ["2e-5", "1e-6"], "0 <= G_MIN < G_MAX"),
])
def test_demo_hardware_bad_input_names_the_option(option, value, message, capsys):
    with pytest.raises(SystemExit) as raised:
        main(["demo", "--sections", "hardware", option, *value])
    assert raised.value.code == 2
    err = capsys.readouterr().err
    assert option in err and message in err


def test_lazy_train_commands_show_their_own_help(capsys):
    with pytest.raises(SystemExit) as raised:
        main(["train", "continual", "--help"])
    assert raised.value.code == 0
    assert "--method" in capsys.readouterr().out
    with pytest.raises(SystemExit) as raised:
        main(["train", "reservoir", "--help"])
    assert raised.value.code == 0
    with pytest.raises(SystemExit) as raised:
        main(["train", "--help"])
    assert raised.value.code == 0
    out = capsys.readouterr().out
    assert "continual" in out and "reservoir" in out
