"""Zero-shot LSM as the paper defines it (switching-stochasticity weights, projections trained
on classes 1-7, top-1 cross-modal retrieval of seen and unseen classes), and the earlier
resistive Dale LSM (device-drawn weights, per-chunk reads)."""

from dataclasses import replace

import numpy as np
import pytest

from snn.data import digits_events, load_sample
from snn.reservoir.lsm import LSMConfig
from snn.reservoir.zero_shot import (
    SWITCHING_LSM,
    ResistiveLSM,
    SwitchingLSM,
    ZeroShotConfig,
    check_class_split,
    retrieval_accuracy,
    retrieval_chance,
    switching_weights,
    train_projections,
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


def _small_split():
    audio_train, audio_test = load_sample("train"), load_sample("test")
    image = digits_events("train", duration=0.05)
    pick = np.random.default_rng(0).permutation(len(image.labels))
    return audio_train, audio_test, image.subset(pick[:450]), image.subset(pick[450:720])


SMALL = dict(zero_shot=ZeroShotConfig(steps=150), n_windows=2, audio_duration=0.8,
             lsm_config=replace(SWITCHING_LSM, n_neurons=100))


@pytest.fixture(scope="module")
def small_result():
    return zero_shot_experiment(*_small_split(), **SMALL)


def test_zero_shot_retrieval_of_seen_classes_beats_chance(small_result):
    r = small_result
    assert r["loss_last"] < r["loss_first"]
    seen, unseen = r["seen"], r["unseen"]
    # 9 test classes, balanced audio (6 per class): chance 1/9 for audio candidates
    assert seen["chance_image_to_audio"] == pytest.approx(1 / 9)
    assert seen["audio_to_image"] > 3 * seen["chance_audio_to_image"]
    assert seen["image_to_audio"] > 3 * seen["chance_image_to_audio"]
    assert seen["n_queries_audio"] == 7 * 6 and unseen["n_queries_audio"] == 2 * 6
    for key in ("audio_to_image", "image_to_audio"):
        assert 0.0 <= unseen[key] <= 1.0
    # only the two projections train: (features + 1) x embed_dim each
    d = ZeroShotConfig().embed_dim
    assert r["n_trained_parameters"] == 2 * (2 * 100 + 1) * d
    assert r["training_macs_per_pair"] == 2 * (2 * 2 * 100 * d)


def test_unseen_classes_never_reach_training():
    audio_train, audio_test, image_train, image_test = _small_split()
    seen = [1, 2, 3, 4, 5, 6, 7]
    a = zero_shot_experiment(audio_train, audio_test, image_train, image_test, **SMALL)
    # the same run without any training sample of classes 0, 8, 9 gives identical results
    b = zero_shot_experiment(
        audio_train.subset(np.flatnonzero(np.isin(audio_train.labels, seen))), audio_test,
        image_train.subset(np.flatnonzero(np.isin(image_train.labels, seen))), image_test,
        **SMALL)
    assert a["seen"] == b["seen"] and a["unseen"] == b["unseen"]


def test_group_candidates_have_the_chance_of_their_group(small_result):
    r = zero_shot_experiment(*_small_split(), candidates="group", **SMALL)
    assert r["unseen"]["chance_image_to_audio"] == pytest.approx(0.5)
    assert r["seen"]["chance_image_to_audio"] == pytest.approx(1 / 7)
    # one trained model, ranked both ways: each run reports the other ranking too, and it
    # equals what the other run reports as its own
    for group in ("seen", "unseen"):
        assert r["candidates_all"][group] == small_result[group]
        assert small_result["candidates_group"][group] == r[group]


def test_bad_splits_are_refused():
    with pytest.raises(ValueError, match="overlap"):
        check_class_split([1, 2, 3], [3, 8])
    with pytest.raises(ValueError, match="at least two"):
        check_class_split([1], [8])
    with pytest.raises(ValueError, match="overlap"):
        zero_shot_experiment(*_small_split(), unseen_classes=(7, 8), **SMALL)
    x = np.zeros((4, 3))
    with pytest.raises(ValueError, match="share at least two classes"):
        train_projections(x, np.array([1, 1, 2, 2]), x, np.array([3, 3, 4, 4]))
    with pytest.raises(ValueError, match="steps"):
        ZeroShotConfig(steps=0)
    with pytest.raises(ValueError, match="encoder"):
        zero_shot_experiment(*_small_split(), encoder="rram")


def test_retrieval_against_direct_formula():
    rng = np.random.default_rng(0)
    q, c = rng.normal(size=(30, 5)), rng.normal(size=(40, 5))
    yq, yc = rng.integers(0, 3, 30), rng.integers(0, 3, 40)
    cos = (q / np.linalg.norm(q, axis=1, keepdims=True)) @ \
        (c / np.linalg.norm(c, axis=1, keepdims=True)).T
    expected = np.mean([yc[np.argmax(row)] == y for row, y in zip(cos, yq)])
    assert retrieval_accuracy(q, yq, c, yc) == pytest.approx(expected)
    # a query identical to its candidate is always found
    assert retrieval_accuracy(c, yc, c, yc) == 1.0
    expected_chance = np.mean([np.mean(yc == y) for y in yq])
    assert retrieval_chance(yq, yc) == pytest.approx(expected_chance)


def test_switching_weights_follow_the_preset():
    from hardware_models import get_switching_preset

    p = get_switching_preset("rram_switching")
    w, g_pos, g_neg = switching_weights(200_000, p, rng=0)
    assert abs(g_pos.mean() - p.g_mean) < 0.01 * p.g_mean
    assert abs(g_pos.std() - p.g_std) < 0.01 * p.g_std
    np.testing.assert_allclose(w, (g_pos - g_neg) / (np.sqrt(2) * p.g_std))
    assert abs(w.mean()) < 0.01 and abs(w.std() - 1) < 0.02
    assert (w > 0).mean() == pytest.approx(0.5, abs=0.01)
    lsm = SwitchingLSM(SWITCHING_LSM, 16, rng=0)
    rec = lsm.blocks[0]
    assert lsm.config.n_neurons == 200 and rec.pre == "liquid"
    assert (rec.weights < 0).any() and (rec.weights > 0).any()  # no Dale's law here
    np.testing.assert_allclose(rec.weights, SWITCHING_LSM.w_exc * (
        lsm.g_pos[0] - lsm.g_neg[0]) / (np.sqrt(2) * p.g_std))
    with pytest.raises(ValueError, match="switching preset"):
        switching_weights(3, "pcm")


def test_switching_preset_cites_every_number():
    from dataclasses import replace

    from hardware_models import get_switching_preset

    p = get_switching_preset("rram_switching")
    for field in p.CITED_FIELDS:
        assert p.citation(field)
    # numbers that could not be found say so in their own citation
    assert p.citation("g_std").startswith("NOT FOUND")
    assert "MrLinNing/MemristorLSM" in p.citation("g_mean")
    with pytest.raises(ValueError, match="missing \\['read_time'\\]"):
        replace(p, citations=p.citations[:-1])
    with pytest.raises(ValueError, match="unknown \\['g_max'\\]"):
        replace(p, citations=p.citations + (("g_max", "x"),))
    with pytest.raises(TypeError, match="citations"):
        replace(p, citations=(("g_mean", ""),))
    with pytest.raises(ValueError, match="field must be one of"):
        p.citation("name")


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
