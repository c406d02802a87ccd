"""The jointly trained spiking RNN baseline (SRNN-CLIP): same split and retrieval as the
zero-shot LSM, every weight trained, and its training cost against a direct count."""

import numpy as np
import pytest

from snn.data import digits_events, load_sample
from snn.reservoir.srnn_clip import SRNNClipConfig, srnn_clip_experiment, srnn_training_macs
from snn.reservoir.zero_shot import ZeroShotConfig, training_macs


def test_training_macs_against_direct_count():
    # forward: 50 steps x (64 + 200) x 200 recurrent + 2 x 200 x 32 projection; x3 with
    # the backward pass through time
    assert srnn_training_macs(64, 200, 50, 2, 32) == 3 * (50 * 264 * 200 + 400 * 32)
    assert training_macs(400, 32) == 2 * 400 * 32
    with pytest.raises(ValueError, match="n_steps"):
        srnn_training_macs(64, 200, 0, 2, 32)


def test_srnn_clip_trains_end_to_end_on_the_split():
    a_tr, a_te = load_sample("train"), load_sample("test")
    img = digits_events("train", duration=0.05)
    pick = np.random.default_rng(0).permutation(len(img.labels))
    cfg = SRNNClipConfig(n_hidden=24, audio_dt=40e-3, image_dt=5e-3)
    r = srnn_clip_experiment(a_tr, a_te, img.subset(pick[:300]), img.subset(pick[300:500]),
                             config=cfg, zero_shot=ZeroShotConfig(steps=25, embed_dim=8),
                             audio_duration=0.4, image_duration=0.05, rng=0)
    assert r["loss_last"] < r["loss_first"]
    assert r["seen"]["n_queries_audio"] == 42 and r["unseen"]["n_queries_audio"] == 12
    assert r["seen"]["chance_image_to_audio"] == pytest.approx(1 / 9)
    # every weight trains: input, recurrent and projection of both encoders
    expected = sum(n_in * 24 + 24 * 24 + 2 * 24 * 8 + 8 for n_in in (64, img.n_channels))
    assert r["n_trained_parameters"] == expected
    assert r["training_macs_per_pair"] == srnn_training_macs(64, 24, 10, 2, 8) + \
        srnn_training_macs(img.n_channels, 24, 10, 2, 8)
    with pytest.raises(ValueError, match="overlap"):
        srnn_clip_experiment(a_tr, a_te, img, img, unseen_classes=(1, 8))
