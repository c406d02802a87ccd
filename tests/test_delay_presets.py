"""The published delay-learning setups: presets equal to the reference code's best
configurations, its per-epoch evaluation (rounded delays, best model kept by validation),
parameter counts against the paper's, and one-epoch runs of each preset on small files."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from snn.cli import main
from snn.data import BinnedSpikes, SpikeDataset, write_spike_hdf5
from snn.delay_training import (
    DELAY_PRESETS,
    DelayTrainingConfig,
    delay_network_parameters,
    evaluate,
    evaluate_rounded,
    train_delay_network,
)
from snn.layers import DelayNetwork, DelayNetworkConfig

sys.path.insert(0, str(Path(__file__).parent))
from test_speech_commands import _make_folder  # noqa: E402


def _reference_sigma(epoch: int, taps: int, epochs: int) -> float:
    """The reference code's width: DCLS's learned SIG starts at taps // 2 and is multiplied
    by (0.23 / SIG_0) ** (1 / (epochs // 4)) after each of the first epochs // 4 epochs; the
    Gaussian uses SIG + 0.27."""
    sig0, final_epoch = taps // 2, epochs // 4
    alpha = (0.23 / sig0) ** (1 / final_epoch)
    return sig0 * alpha ** min(epoch, final_epoch) + 0.27


@pytest.mark.parametrize("name, taps, layers, hidden", [("shd", 25, 2, 256), ("ssc", 31, 3, 512),
                                                         ("gsc", 31, 3, 512)])
def test_presets_build_the_reference_networks(name, taps, layers, hidden):
    preset = DELAY_PRESETS[name]
    model = DelayNetwork(preset.model_config(), rng=0)
    # Kernel length: the reference rounds max_delay / dt up to an odd number of taps.
    assert preset.kernel_taps == taps
    assert all(p.max_delay_steps + 1 == taps for p in model.projections)
    assert len(model.projections) == layers + 1 and model.projections[0].out_features == hidden
    # Each layer pads its input on the right by (taps - 1) // 2 steps in the reference.
    assert model.config.padding_steps == (layers + 1) * ((taps - 1) // 2)
    for epoch in range(preset.epochs):
        assert model.sigma_for_epoch(epoch, preset.epochs) == pytest.approx(
            _reference_sigma(epoch, taps, preset.epochs), rel=1e-12)
    # beta = 1 - dt / tau (SpikingJelly's LIF with decay_input=False, tau in steps).
    assert model.config.beta == pytest.approx(1 - 10.0 / {"shd": 10.05}.get(name, 15.0))
    training = preset.training_config()
    assert training.keep == "best"
    assert training.lr_delays == pytest.approx(100 * training.lr_weights)


@pytest.mark.parametrize("name", ["shd", "ssc", "gsc"])
def test_parameter_counts_match_the_network_and_the_papers_table(name):
    preset = DELAY_PRESETS[name]
    model = DelayNetwork(preset.model_config(), rng=0)
    counted = sum(p.numel() for p in model.parameters() if p.requires_grad)
    assert counted == delay_network_parameters(preset.model_config()) == preset.n_parameters
    # The paper prints millions with one decimal.
    assert round(counted / 1e6, 1) == pytest.approx(preset.paper_parameters / 1e6)
    fixed = DelayNetwork(preset.model_config("fixed"), rng=0)
    assert sum(p.numel() for p in fixed.parameters() if p.requires_grad) == \
        delay_network_parameters(preset.model_config("fixed"))


def _interval_task(n, seed, n_steps=24):
    rng = np.random.default_rng(seed)
    counts = np.zeros((n, n_steps, 2), dtype=np.uint8)
    labels = rng.integers(0, 2, n)
    first = rng.integers(0, n_steps - 8, n)
    counts[np.arange(n), first, 0] = 1
    counts[np.arange(n), first + np.where(labels == 1, 6, 2), 1] = 1
    return BinnedSpikes(counts, labels.astype(np.int64), np.full(n, n_steps, np.int64), 10e-3,
                        1, 2)


def _small_config(**kw):
    base = dict(n_inputs=2, n_outputs=2, n_hidden=16, n_hidden_layers=1, dt=10e-3,
                max_delay=80e-3, dropout=0.0)
    base.update(kw)
    return DelayNetworkConfig(**base)


def test_rounded_evaluation_rounds_and_restores():
    model = DelayNetwork(_small_config(), rng=1)
    model.set_sigma(2.0)
    data = _interval_task(40, 3)
    before = [p.delay.detach().clone() for p in model.projections]
    rounded = evaluate_rounded(model, data, 16)
    assert all(torch.equal(b, p.delay) for b, p in zip(before, model.projections))
    assert all(float(p.sigma) == 2.0 for p in model.projections)
    model.round_delays_()
    assert rounded == evaluate(model, data, 16)


def test_keep_best_returns_the_best_validation_epoch():
    train, valid, test = _interval_task(64, 0), _interval_task(32, 1), _interval_task(32, 2)
    cfg = DelayTrainingConfig(epochs=4, batch_size=16, lr_weights=5e-3, lr_delays=1.0,
                              keep="best", seed=0)
    res = train_delay_network(_small_config(), train, test, cfg, progress=False, valid=valid)
    history = res["history"]
    best = int(np.argmax(history["valid_accuracy"]))
    assert res["best_epoch"] == best and res["validation_split"] == "valid"
    assert res["best_valid_accuracy"] == max(history["valid_accuracy"])
    # The returned model is the best epoch's: its rounded test accuracy is that epoch's.
    assert res["test_accuracy"] == history["test_accuracy"][best]
    assert evaluate(res["model"], valid, 16)[0] == res["best_valid_accuracy"]
    # Without a validation split the test set selects (the reference code's SHD protocol).
    res = train_delay_network(_small_config(), train, test,
                              DelayTrainingConfig(epochs=2, batch_size=16, keep="best"),
                              progress=False)
    assert res["validation_split"] == "test"
    assert res["test_accuracy"] == max(res["history"]["valid_accuracy"])
    with pytest.raises(ValueError, match="keep='best'"):
        train_delay_network(_small_config(), train, test, DelayTrainingConfig(epochs=1),
                            progress=False, valid=valid)
    with pytest.raises(ValueError, match="keep"):
        DelayTrainingConfig(keep="first")


def _spike_files(root: Path, prefix: str, splits: dict[str, int], n_classes: int) -> None:
    rng = np.random.default_rng(0)
    root.mkdir(parents=True)
    for split, n in splits.items():
        times = [np.sort(rng.uniform(0, 0.2, 80)) for _ in range(n)]
        units = [rng.integers(0, 700, 80) for _ in range(n)]
        write_spike_hdf5(root / f"{prefix}_{split}.h5",
                         SpikeDataset(times, units, rng.integers(0, n_classes, n),
                                      n_channels=700, n_classes=n_classes))


@pytest.mark.slow
@pytest.mark.parametrize("name", ["shd", "ssc", "gsc"])
def test_each_preset_runs_one_epoch_from_the_command_line(name, tmp_path, capsys, monkeypatch):
    root = tmp_path / name
    if name == "gsc":
        _make_folder(root)
        monkeypatch.setenv("SNNSIM_CACHE_DIR", str(tmp_path / "cache"))
    elif name == "shd":
        _spike_files(root, "shd", {"train": 12, "test": 6}, 20)
    else:
        _spike_files(root, "ssc", {"train": 12, "valid": 6, "test": 6}, 35)
    out = tmp_path / "out"
    assert main(["train", "delays", "--preset", name, "--root", str(root), "--epochs", "1",
                 "--out", str(out), "--no-progress", "--threads", "2"]) == 0
    text = capsys.readouterr().out
    preset = DELAY_PRESETS[name]
    assert f"{preset.n_parameters} trained parameters (paper: " \
           f"{preset.paper_parameters / 1e6:.1f} M)" in text
    assert f"paper ({name}): {preset.paper_accuracy:.2f}" in text
    summary = json.loads((out / "summary.json").read_text())["learned"]
    assert summary["n_parameters"] == preset.n_parameters
    assert summary["validation_split"] == ("test" if name == "shd" else "valid")
    results = json.loads((out / "learned" / "results.json").read_text())
    assert results["model_config"]["max_delay"] == pytest.approx(preset.max_delay)
    assert results["model_config"]["n_hidden"] == preset.n_hidden
    assert results["training_config"]["batch_size"] == preset.batch_size
    assert results["model_config"]["sigma_start"] == preset.sigma_start
    assert results["model_config"]["sigma_offset"] == pytest.approx(0.27)
