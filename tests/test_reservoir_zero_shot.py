"""Resistive-memory LSM (device-drawn weights, per-chunk reads) and zero-shot learning."""

import numpy as np
import pytest

from snn.data import digits_events, load_sample
from snn.reservoir.lsm import LSMConfig
from snn.reservoir.zero_shot import (
    ResistiveLSM,
    ZeroShotConfig,
    zero_shot_experiment,
)


def test_resistive_weights_follow_devices_and_keep_dale():
    lsm = ResistiveLSM(LSMConfig(n_neurons=100), 8, rng=0, preset="rram")
    p = lsm.preset
    for g in lsm.g_pos + lsm.g_neg:
        assert g.min() >= 0 and g.max() < p.g_max + 6e-6
    # the SET devices spread over the levels; the RESET ones sit near g_min
    g_set = np.concatenate(lsm.g_pos)
    assert g_set.std() > 0.2 * (p.g_max - p.g_min)
    assert abs(np.concatenate(lsm.g_neg).mean() - p.g_min) < 0.5e-6
    for b in lsm.blocks:
        assert np.all(b.weights <= 0) if b.pre == "inh" else np.all(b.weights >= 0)
    # nominal mean weight is kept on average (2 (g+ - g-) / range has mean ~1)
    ratio = np.mean(lsm.blocks[0].weights) / lsm.config.w_exc
    assert 0.8 < ratio < 1.2
    # reads differ by about the preset's read noise (1 %), not more
    first, second = lsm.read_weights(), lsm.read_weights()
    rel = np.abs(first[0] - second[0]) / np.maximum(np.abs(first[0]), 1e-15)
    assert 0.001 < np.median(rel) < 0.05


def test_chunked_reads_give_one_spike_record():
    lsm = ResistiveLSM(LSMConfig(n_neurons=100), 64, rng=0, read_interval=0.02)
    sample = load_sample("test")
    res = lsm.run(sample.times[0], sample.units[0], 0.1)
    assert res.spikes["exc"].times.max() < 0.1 and res.state.step == 100
    with pytest.raises(ValueError, match="read_interval"):
        ResistiveLSM(LSMConfig(n_neurons=100), 8, read_interval=0.0)


def test_zero_shot_beats_chance_on_small_subsets():
    audio_train = load_sample("train").subset(np.arange(0, 240, 2))
    audio_test = load_sample("test")
    image = digits_events("train", duration=0.05)
    rng = np.random.default_rng(0)
    pick = rng.permutation(len(image.labels))
    image_train, image_test = image.subset(pick[:200]), image.subset(pick[200:300])
    result = zero_shot_experiment(audio_train, audio_test, image_train, image_test,
                                  weights="rram", lsm_config=LSMConfig(n_neurons=100),
                                  zero_shot=ZeroShotConfig(steps=100), n_windows=2,
                                  read_interval=0.5, audio_duration=0.8)
    assert result["loss_last"] < result["loss_first"]
    assert result["probe_audio"] > 0.4 and result["probe_image"] > 0.4
    assert result["audio_by_image_prototypes"] > 0.3  # chance 0.1
    assert result["image_by_audio_prototypes"] > 0.3
    with pytest.raises(ValueError, match="steps"):
        ZeroShotConfig(steps=0)


def test_read_interval_of_one_step_reads_the_devices_every_step():
    lsm = ResistiveLSM(LSMConfig(n_neurons=50), 64, rng=1, read_interval=1e-3)
    reads = []
    original = lsm.read_weights

    def counting(noisy=True):
        reads.append(noisy)
        return original(noisy)

    lsm.read_weights = counting
    sample = load_sample("test")
    res = lsm.run(sample.times[0], sample.units[0], 0.02)
    assert len(reads) == 20 and res.state.step == 20
