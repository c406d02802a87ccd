"""Sigmoid-rate E/I reservoir: the model equation, the per-synapse inhibitory rule, the one-shot
design, the global balance and the dynamics diagnostics, each against a direct formula."""

import numpy as np
import pytest

from snn.data import memory_capacity_input
from snn.reservoir.balance import (
    BalanceConfig,
    BalancedReservoir,
    dynamics_check,
    rate_targets,
)


def _sigmoid(x):
    return 1.0 / (1.0 + np.exp(-x))


def _direct(res, u, rho=None, delta=0.0):
    """The paper's equations written out in numpy, one step at a time."""
    c = res.config
    a_inh = res.a_inh.copy()
    v = np.zeros(res.n_neurons)
    r = _sigmoid(c.gain * (v - c.threshold))
    out = []
    for t in range(len(u)):
        v = c.leak * v + (res.a_exc - a_inh) @ r + res.w_in @ np.atleast_1d(u[t])
        r = _sigmoid(c.gain * (v - c.threshold))
        out.append(r)
        if rho is not None:
            a_inh = np.where(res.inh_mask, np.maximum(a_inh + delta * (r - rho)[:, None], 0.0),
                             0.0)
    return np.array(out), a_inh


def test_config_validation():
    with pytest.raises(ValueError, match="leak"):
        BalanceConfig(leak=1.0)
    with pytest.raises(ValueError, match="frac_exc"):
        BalanceConfig(n_neurons=2, frac_exc=0.1)
    with pytest.raises(TypeError, match="config"):
        BalancedReservoir({"n_neurons": 10})


def test_structure_follows_dale_and_balance():
    res = BalancedReservoir(BalanceConfig(n_neurons=60, connectivity=0.2, balance=-0.5), rng=1)
    n_exc = res.config.n_exc
    assert np.all(res.a_exc[:, n_exc:] == 0) and np.all(res.a_inh[:, :n_exc] == 0)
    assert np.all(res.a_exc >= 0) and np.all(res.a_inh >= 0)
    assert np.all(np.diag(res.a_exc) == 0) and np.all(np.diag(res.a_inh) == 0)
    assert res.a_exc.sum(1).mean() == pytest.approx(res.config.excitation)
    assert res.balance == pytest.approx(-0.5)
    res.set_balance(1.25)
    assert res.balance == pytest.approx(1.25)
    with pytest.raises(ValueError, match="beta"):
        res.set_balance(res.config.excitation + 1.0)


def test_run_matches_the_equation():
    res = BalancedReservoir(BalanceConfig(n_neurons=30, connectivity=0.3), rng=2)
    u = memory_capacity_input(50, rng=0)
    np.testing.assert_allclose(res.run(u), _direct(res, u)[0], rtol=1e-12, atol=1e-12)


def test_adapt_is_the_per_synapse_rule():
    res = BalancedReservoir(BalanceConfig(n_neurons=30, connectivity=0.3, balance=1.0), rng=3)
    rho = rate_targets(30, 0.3, 0.1, rng=4)
    u = memory_capacity_input(40, rng=5)
    _, expected = _direct(res, u, rho, delta=0.05)
    res.adapt(u, rho, delta=0.05)
    np.testing.assert_allclose(res.a_inh, expected, rtol=1e-12, atol=1e-12)
    assert np.all(res.a_inh[~res.inh_mask] == 0)


def test_adaptation_brings_rates_to_targets():
    res = BalancedReservoir(BalanceConfig(n_neurons=100, balance=2.0), rng=0)
    rho = rate_targets(100, 0.3, 0.1, rng=1)
    u = memory_capacity_input(500, rng=2)
    before = np.abs(res.run(u).mean(0) - rho).mean()
    res.adapt(memory_capacity_input(8000, rng=3), rho, delta=2e-3)
    after_rates = res.run(u).mean(0)
    assert np.abs(after_rates - rho).mean() < 0.5 * before
    # The rule acts only through existing inhibitory synapses: units with two or more reach
    # their targets, units with none cannot move.
    n_inh = res.inh_mask.sum(1)
    assert np.abs(after_rates - rho)[n_inh >= 2].mean() < 0.03
    assert np.corrcoef(after_rates[n_inh >= 2], rho[n_inh >= 2])[0, 1] > 0.9


def test_one_shot_design_makes_targets_a_fixed_point():
    cfg = BalanceConfig(n_neurons=80, connectivity=0.3, balance=2.5)
    res = BalancedReservoir(cfg, rng=6)
    rho = rate_targets(80, 0.4, 0.05, rng=7)
    scale = res.design_inhibition(rho)
    ok = scale > 0  # rows that needed no negative inhibition
    assert ok.mean() > 0.9
    v_star = cfg.threshold + np.log(rho / (1 - rho)) / cfg.gain
    v_next = cfg.leak * v_star + (res.a_exc - res.a_inh) @ rho  # zero input, one step
    np.testing.assert_allclose(v_next[ok], v_star[ok], atol=1e-10)


def test_targets():
    np.testing.assert_array_equal(rate_targets(5, 0.2), np.full(5, 0.2))
    t = rate_targets(20000, 0.3, 0.1, rng=0)
    assert np.all((t > 0) & (t < 1))
    assert t.mean() == pytest.approx(0.3, abs=0.005) and t.std() == pytest.approx(0.1, abs=0.005)
    with pytest.raises(ValueError, match="mean"):
        rate_targets(5, 1.2)
    with pytest.raises(ValueError, match="spread"):
        rate_targets(5, 0.5, 0.6)


@pytest.mark.parametrize("bad", [np.full(10, 1.0), np.full(10, 0.0), np.full(10, -0.2)])
def test_targets_outside_unit_interval_are_refused(bad):
    res = BalancedReservoir(BalanceConfig(n_neurons=10, connectivity=0.5), rng=0)
    with pytest.raises(ValueError, match=r"targets.*\(0, 1\)"):
        res.adapt(np.zeros(5), bad)
    with pytest.raises(ValueError, match=r"targets.*\(0, 1\)"):
        res.design_inhibition(bad)


def test_dynamics_check_flags_self_sustained_activity():
    quiet = BalancedReservoir(BalanceConfig(n_neurons=100, balance=-2.0), rng=0)
    d = dynamics_check(quiet, n_steps=600, washout_steps=300)
    assert d.echo_state and not d.self_sustained
    # A steep sigmoid with strong inhibition gives a period-2 E/I oscillation with no input.
    loud = BalancedReservoir(BalanceConfig(n_neurons=100, gain=4.0, threshold=0.5,
                                           excitation=2.0, balance=1.0), rng=0)
    loud.adapt(memory_capacity_input(5000, rng=5), np.full(100, 0.1), delta=1e-3)
    d = dynamics_check(loud, n_steps=600, washout_steps=300)
    assert d.self_sustained and d.autonomous_std > 0.05
    assert not d.echo_state
