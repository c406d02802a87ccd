"""Liquid state machine on the engine: Dale's law, features, learning on spoken digits."""

import numpy as np
import pytest

from snn import ConductanceSynapses, CurrentSynapses, LIFParams
from snn.data import digits_events, images_to_events, load_sample
from snn.reservoir.lsm import LSM, LSMConfig, spike_features
from snn.reservoir.readout import LogisticReadout


@pytest.fixture(scope="module")
def lsm():
    return LSM(LSMConfig(n_neurons=200), n_inputs=64, rng=0)


def test_dale_law_and_structure(lsm):
    c = lsm.config
    assert (c.n_exc, c.n_inh) == (160, 40)
    for proj in lsm.network.projections:
        if proj.pre == "inh":
            assert proj.channel == "inh" and np.all(proj.weights <= 0)
        else:
            assert proj.channel == "exc" and np.all(proj.weights >= 0)
    # no autapses; recurrent density near p_recurrent
    ee = lsm.blocks[0]
    assert not np.any(ee.pre_indices == ee.post_indices)
    assert abs(ee.pre_indices.size / (160 * 159) - c.p_recurrent) < 0.02


def test_set_weights_round_trip_keeps_engine_order(lsm):
    before = [p.weights.copy() for p in lsm.network.projections]
    lsm.set_weights([b.weights for b in lsm.blocks])
    for b, p in zip(before, lsm.network.projections):
        np.testing.assert_array_equal(b, p.weights)
    # New weights reach each block's synapses, the inhibitory gain on top.
    lsm.inhibitory_gain[:] = 2.0
    try:
        lsm.set_weights([b.weights * 0.5 for b in lsm.blocks])
        for b, p in zip(lsm.blocks, lsm.network.projections):
            factor = 1.0 if b.channel == "inh" else 0.5
            np.testing.assert_array_equal(p.weights, b.weights * factor)
    finally:
        lsm.inhibitory_gain[:] = 1.0
        lsm.apply_inhibitory_gain()


def test_config_holds_the_neuron_model():
    neuron = LIFParams(tau_m=10e-3, synapses=CurrentSynapses(tau_exc=2e-3))
    lsm = LSM(LSMConfig(n_neurons=20, neuron=neuron), n_inputs=4, rng=1)
    assert all(pop.params is neuron for pop in lsm.network.populations.values())
    assert np.all(lsm.v_init >= neuron.v_reset) and np.all(lsm.v_init <= neuron.v_threshold)
    with pytest.raises(TypeError, match="neuron"):
        LSMConfig(neuron=LIFParams(synapses=ConductanceSynapses()))
    with pytest.raises(TypeError, match="dt"):
        LSMConfig(dt=True)
    with pytest.raises(TypeError, match="p_input"):
        LSMConfig(p_input=True)


def test_spike_features_counts_and_traces():
    times = np.array([0.01, 0.02, 0.06, 0.09])
    ids = np.array([0, 1, 1, 2])
    counts = spike_features(times, ids, 3, 0.1, n_windows=2)
    np.testing.assert_array_equal(counts, [1, 1, 0, 0, 1, 1])
    traces = spike_features(times, ids, 3, 0.1, n_windows=2, kind="traces", tau_trace=0.01)
    expected = np.exp([-4, -3, -np.inf, -9, -8, -1]) + [0, 0, 0, 0, np.exp(-4), 0]
    np.testing.assert_allclose(traces, expected, rtol=1e-12)
    with pytest.raises(ValueError, match="kind"):
        spike_features(times, ids, 3, 0.1, kind="rates")


def test_lsm_learns_spoken_digits_above_chance(lsm):
    train, test = load_sample("train"), load_sample("test")
    every_other = np.arange(0, 240, 2)  # all ten digits
    f_train = lsm.transform(train.subset(every_other), 1.0, n_windows=2)
    f_test = lsm.transform(test, 1.0, n_windows=2)
    assert f_train.shape == (120, 2 * 200)
    readout = LogisticReadout(c=0.1).fit(f_train, train.labels[every_other])
    accuracy = readout.score(f_test, test.labels)
    assert accuracy > 0.5  # chance is 0.1


def test_digit_events_and_lsm_on_them(lsm):
    data = digits_events("train", duration=0.05)
    assert data.n_channels == 64 and len(data.labels) > 1000
    first = np.flatnonzero(data.units[0] >= 0)
    assert np.all(np.diff(data.times[0][first]) >= 0)  # sorted by time
    sub = data.subset(np.arange(200))
    feats = lsm.transform(sub, 0.06, n_windows=2, kind="traces")
    acc = LogisticReadout(c=0.1).fit(feats[:150], sub.labels[:150]).score(feats[150:],
                                                                         sub.labels[150:])
    assert acc > 0.4


def test_bad_input_is_refused(lsm):
    with pytest.raises(ValueError, match="n_neurons"):
        LSMConfig(n_neurons=1)
    with pytest.raises(ValueError, match="units"):
        lsm.run([0.01], [64], 0.1)
    with pytest.raises(ValueError, match="duration"):
        lsm.run([0.01], [1], 0.0)
    with pytest.raises(ValueError, match="images"):
        images_to_events(np.zeros((0, 4)), np.zeros(0))
    with pytest.raises(ValueError, match="\\[0, 1\\]"):
        images_to_events(np.full((1, 4), 2.0), np.zeros(1, int))
