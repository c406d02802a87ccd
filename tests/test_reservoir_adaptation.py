"""Local E/I adaptation toward target activity, for the ESN (online) and the LSM (chunks)."""

import numpy as np
import pytest

import snn
from snn.data import load_sample, memory_capacity_input
from snn.reservoir.adaptation import activity_targets, adapt_esn, adapt_lsm
from snn.reservoir.esn import ESN, ESNConfig
from snn.reservoir.lsm import LSM, LSMConfig

EI = dict(n_neurons=100, spectral_radius=2.0, input_scaling=0.1, bias_mean=0.2, dale=True,
          activation="rectified_tanh")


def test_targets_homogeneous_and_heterogeneous():
    np.testing.assert_array_equal(activity_targets(4, 0.3), np.full(4, 0.3))
    t = activity_targets(1000, 0.3, 0.5, rng=0)
    assert t.min() >= 0.15 and t.max() <= 0.45 and t.std() > 0.05
    with pytest.raises(ValueError, match="spread"):
        activity_targets(4, 0.3, 2.0)


@pytest.mark.parametrize("spread", [0.0, 0.3])
def test_esn_rates_converge_to_targets(spread):
    esn = ESN(ESNConfig(**EI), rng=0)
    targets = activity_targets(100, 0.5, spread, rng=1)
    u = memory_capacity_input(4000, rng=0)
    before = esn.run(u[:1000]).mean(0)
    adapt_esn(esn, u, targets, eta=1e-2)
    after = esn.run(u[:1000]).mean(0)
    assert np.mean(np.abs(after - targets)) < 0.5 * np.mean(np.abs(before - targets))
    assert abs(after.mean() - targets.mean()) < 0.05
    if spread:  # heterogeneous targets give heterogeneous rates
        assert np.corrcoef(after, targets)[0, 1] > 0.5


def test_adapt_esn_refuses_plain_reservoirs():
    with pytest.raises(ValueError, match="dale"):
        adapt_esn(ESN(ESNConfig(n_neurons=10), rng=0), np.zeros(10), np.full(10, 0.2))
    esn = ESN(ESNConfig(**EI), rng=0)
    with pytest.raises(ValueError, match="targets"):
        adapt_esn(esn, np.zeros(10), np.full(100, 1.5))


def test_lsm_rates_approach_targets():
    lsm = LSM(LSMConfig(n_neurons=150), 64, rng=0)
    targets = activity_targets(150, 10.0, 0.5, rng=2)
    errors = adapt_lsm(lsm, load_sample("train"), targets, eta=0.02, n_chunks=40)
    assert errors[-5:].mean() < 0.4 * errors[0]
    inh = [p for p in lsm.network.projections if p.channel == "inh"]
    assert all(np.all(p.weights <= 0) for p in inh)  # Dale's law survives adaptation


def test_per_synapse_rule_on_the_liquid_matches_one_chunk_by_hand():
    from snn.reservoir.adaptation import adapt_lsm_synapses

    sample = load_sample("test")
    lsm = LSM(LSMConfig(n_neurons=60), 64, rng=3)
    ref = LSM(LSMConfig(n_neurons=60), 64, rng=3)
    targets = np.full(60, 5.0)
    # one chunk covering the whole sample: one update with the sample's mean rates
    adapt_lsm_synapses(lsm, sample, targets, delta=1e-13, n_samples=1, duration=0.3,
                       chunk_duration=0.3, tau_rate=0.1, rng=7)
    res = ref.run(sample.times[0], sample.units[0], 0.3, rng=7)
    rates = np.concatenate([np.bincount(res.spikes["exc"].indices, minlength=48),
                            np.bincount(res.spikes["inh"].indices, minlength=12)]) / 0.3
    for before, after in zip(ref.blocks, lsm.blocks):
        if before.channel != "inh":
            np.testing.assert_array_equal(before.weights, after.weights)
            continue
        post = before.post_indices + (0 if before.post == "exc" else 48)
        expected = -np.maximum(-before.weights + 1e-13 * (rates[post] - 5.0), 0.0)
        np.testing.assert_allclose(after.weights, expected, rtol=1e-12)


def test_per_synapse_rule_on_the_liquid_lowers_rates_toward_target():
    from snn.reservoir.adaptation import adapt_lsm_synapses

    sample = load_sample("train")
    lsm = LSM(LSMConfig(n_neurons=100), 64, rng=0)
    errors = adapt_lsm_synapses(lsm, sample, np.full(100, 5.0), delta=5e-13, n_samples=3,
                                duration=0.5, chunk_duration=5e-3)
    assert errors[-1] < errors[0]
    with pytest.raises(ValueError, match="chunk_duration"):
        adapt_lsm_synapses(lsm, sample, np.full(100, 5.0), chunk_duration=1e-4)


def test_online_rule_moves_each_inhibitory_synapse_by_delta_times_rate_error():
    """Learned inside the time loop: over the run each inhibitory synapse onto neuron i
    changes by -delta N_i + delta rho_i T (N_i the spikes of i, T the time), held <= 0."""
    from snn.plasticity import STDPParams
    from snn.reservoir.adaptation import adapt_lsm_online

    sample = load_sample("test")
    lsm = LSM(LSMConfig(n_neurons=60), 64, rng=3)
    ref = LSM(LSMConfig(n_neurons=60), 64, rng=3)
    targets = np.linspace(2.0, 30.0, 60)
    delta = 2e-12
    adapt_lsm_online(lsm, sample, targets, delta=delta, n_samples=1, duration=0.3, rng=7)
    # The same run, to count each neuron's spikes.
    rules = [STDPParams(a_plus=0.0, a_minus=0.0, drift=delta * rho, post_offset=-delta,
                        w_max=0.0) for rho in targets]
    net, _ = ref._build(rules)
    net.set_spikes("input", sample.units[0], sample.times[0])
    res = snn.run(net, 0.3, rng=7)
    counts = np.concatenate([np.bincount(res.spikes["exc"].indices, minlength=48),
                             np.bincount(res.spikes["inh"].indices, minlength=12)])
    moved = 0
    for before, after in zip(ref.blocks, lsm.blocks):
        if before.channel != "inh":
            np.testing.assert_array_equal(before.weights, after.weights)
            continue
        post = before.post_indices + (0 if before.post == "exc" else 48)
        expected = before.weights - delta * counts[post] + delta * targets[post] * 0.3
        free = expected < -1e-13  # not held at 0 on the way (checked on the end value)
        np.testing.assert_allclose(after.weights[free], expected[free], rtol=1e-9)
        assert np.all(after.weights <= 0.0)
        moved += np.count_nonzero(after.weights != before.weights)
    assert moved > 50


def test_online_rule_brings_the_liquid_toward_its_targets():
    from snn.reservoir.adaptation import adapt_lsm_online

    sample = load_sample("train")
    lsm = LSM(LSMConfig(n_neurons=100), 64, rng=0)
    errors = adapt_lsm_online(lsm, sample, np.full(100, 5.0), delta=5e-12, n_samples=4,
                              duration=0.5)
    assert errors[-1] < errors[0]
    with pytest.raises(ValueError, match="target_rates"):
        adapt_lsm_online(lsm, sample, np.zeros(100))
