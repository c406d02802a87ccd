"""The CUBA and COBA benchmark networks against Brian2, started from the same draws."""

import numpy as np
import pytest

import snn
from snn.benchmark_networks import (
    BENCHMARKS,
    build_benchmark,
    connection_probability,
    draw_connectivity,
    draw_initial_state,
)

brian2 = pytest.importorskip("brian2", reason="Brian2 comes with the 'test' extra")
from snn.peers.brian2_models import benchmark_network  # noqa: E402

N_NEURONS = 4000
DURATION = 1.0
SEEDS = (0, 1, 2)


def _brian2_statistics(spec, connectivity, initial):
    brian2.start_scope()
    brian2.prefs.codegen.target = "numpy"
    group, syn_e, syn_i, mon = benchmark_network(spec, N_NEURONS, 1e-4, connectivity, initial)
    brian2.Network(group, syn_e, syn_i, mon).run(DURATION * brian2.second)
    trains = snn.SpikeTrains(np.asarray(mon.t_), np.asarray(mon.i_, dtype=np.int64), N_NEURONS,
                             DURATION)
    return trains.mean_rate(), trains.mean_cv_isi()


def _our_statistics(name, connectivity, initial):
    res = snn.run(build_benchmark(name, N_NEURONS, connectivity=connectivity, initial=initial),
                  DURATION)
    exc, inh = res.spikes["exc"], res.spikes["inh"]
    trains = snn.SpikeTrains(np.concatenate([exc.times, inh.times]),
                             np.concatenate([exc.indices, inh.indices + exc.n_neurons]),
                             N_NEURONS, DURATION)
    return trains.mean_rate(), trains.mean_cv_isi()


@pytest.mark.slow
@pytest.mark.parametrize("name", ["cuba", "coba"])
def test_benchmark_network_statistics_match_brian2(name):
    """Mean rate and mean CV of ISI over 3 seeds within 5 % of Brian2's (4000 neurons,
    80/20 E/I, p = 0.02, dt = 0.1 ms, 1 s)."""
    spec = BENCHMARKS[name]
    ours, theirs = [], []
    for seed in SEEDS:
        rng = np.random.default_rng(seed)
        initial = draw_initial_state(spec, N_NEURONS, rng)
        connectivity = draw_connectivity(N_NEURONS, connection_probability(spec, N_NEURONS), rng)
        ours.append(_our_statistics(name, connectivity, initial))
        theirs.append(_brian2_statistics(spec, connectivity, initial))
    ours, theirs = np.array(ours), np.array(theirs)
    rate_ours, cv_ours = ours.mean(axis=0)
    rate_theirs, cv_theirs = theirs.mean(axis=0)
    assert rate_theirs > 1.0  # the network is active
    assert abs(rate_ours - rate_theirs) <= 0.05 * rate_theirs, (ours, theirs)
    assert abs(cv_ours - cv_theirs) <= 0.05 * cv_theirs, (ours, theirs)


def test_benchmark_builder_validates_input():
    with pytest.raises(ValueError, match="benchmark"):
        build_benchmark("hh", 100)
    with pytest.raises(ValueError, match="n_neurons"):
        build_benchmark("cuba", 2)
