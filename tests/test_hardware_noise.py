"""Device presets and noise functions: statistics against each preset's formulas.

Tolerances are sampling errors: 5 standard errors of the estimated mean (sigma / sqrt(n)),
standard deviation (sigma / sqrt(2 n)) or binomial fraction (sqrt(p (1 - p) / n)).
"""

import dataclasses
import math

import numpy as np
import pytest
import torch

import hardware_models as hm
from hardware_models import noise

N = 200_000
PCM = hm.get_preset("pcm")
RRAM = hm.get_preset("rram")


def _mean_std(x):
    x = torch.as_tensor(x, dtype=torch.float64)
    return float(x.mean()), float(x.std())


def _assert_mean_std(samples, mean, std, n=N):
    got_mean, got_std = _mean_std(samples)
    assert abs(got_mean - mean) <= 5 * std / math.sqrt(n) + 1e-15, (got_mean, mean)
    assert abs(got_std - std) <= 5 * std / math.sqrt(2 * n) + 1e-15, (got_std, std)


def test_registry_lists_known_presets_on_unknown_name():
    assert {"pcm", "rram", "ideal"} <= set(hm.PRESETS)
    with pytest.raises(ValueError, match=r"unknown preset 'flash'.*'ideal'.*'pcm'.*'rram'"):
        hm.get_preset("flash")
    with pytest.raises(TypeError, match="preset must be"):
        hm.get_preset(3)
    with pytest.raises(ValueError, match="already registered"):
        hm.register_preset(PCM)
    assert hm.get_preset(PCM) is PCM


@pytest.mark.parametrize("changes, error, match", [
    ({"g_min": 30e-6}, ValueError, "g_min < g_max"),
    ({"levels": 1}, ValueError, "DevicePreset.levels must be an int >= 2"),
    ({"levels": 2.5}, TypeError, "DevicePreset.levels must be an int"),
    ({"stuck_at_gmin_rate": 1.5}, ValueError, "DevicePreset.stuck_at_gmin_rate must be <= 1"),
    ({"drift_t0": 0.0}, ValueError, r"DevicePreset.drift_t0 must be > 0 \(s\)"),
    ({"g_max": float("nan")}, ValueError, "DevicePreset.g_max must be a number"),
    ({"read_energy": -1.0}, ValueError, "DevicePreset.read_energy must be >= 0"),
    ({"drift_exponent_abs": 1}, TypeError, "DevicePreset.drift_exponent_abs must be a bool"),
])
def test_preset_validation(changes, error, match):
    with pytest.raises(error, match=match):
        dataclasses.replace(PCM, **changes)


def test_every_preset_cites_its_source_in_field_docs():
    for preset in hm.PRESETS.values():
        assert len(preset.source) > 40
    assert "Nandakumar" in PCM.source and "aihwkit" in PCM.source
    assert "Wan et al." in RRAM.source and "ASSUMPTIONS" in RRAM.source


@pytest.mark.parametrize("relative", [0.1, 0.5, 1.0])
def test_programming_noise_matches_the_polynomial(relative):
    g_target = torch.full((N,), relative * PCM.g_max, dtype=torch.float64)
    g = noise.program(g_target, noise.draw_normals((N,), 1), PCM)
    c0, c1, c2 = PCM.prog_noise_coeffs
    sigma = c0 + c1 * relative + c2 * relative**2
    # aihwkit's figure at g_max = 25 uS: 0.26348 + 1.9650 - 1.1731 = 1.055 uS.
    if relative == 1.0:
        assert sigma == pytest.approx(1.05538e-6)
    _assert_mean_std(g, relative * PCM.g_max, sigma)


@pytest.mark.parametrize("relative", [0.5, 1.0])
def test_drift_exponents_match_the_clipped_linear_laws(relative):
    g_target = torch.full((N,), relative * PCM.g_max, dtype=torch.float64)
    nu = noise.sample_drift_exponents(g_target, noise.draw_normals((N,), 2), PCM)
    log_r = math.log(relative)
    mean = min(max(-0.0155 * log_r + 0.0244, 0.049), 0.1)
    std = min(max(-0.0125 * log_r - 0.0059, 0.008), 0.045)
    _assert_mean_std(nu, mean, std)


def test_drift_exponents_fold_to_absolute_values_like_aihwkit():
    relative = 0.01  # mean 0.0958, std 0.0517: about 3 % of raw draws are negative
    g_target = torch.full((N,), relative * PCM.g_max, dtype=torch.float64)
    nu = noise.sample_drift_exponents(g_target, noise.draw_normals((N,), 3), PCM)
    assert float(nu.min()) >= 0
    mu, s = (float(v[0]) for v in noise.drift_exponent_stats(g_target[:1], PCM))
    folded_mean = (s * math.sqrt(2 / math.pi) * math.exp(-mu**2 / (2 * s**2))
                   + mu * math.erf(mu / (s * math.sqrt(2))))
    folded_std = math.sqrt(mu**2 + s**2 - folded_mean**2)
    _assert_mean_std(nu, folded_mean, folded_std)


def test_drift_is_a_power_law_with_the_mean_exponent_as_log_log_slope():
    g_target = torch.full((N,), 0.7 * PCM.g_max, dtype=torch.float64)
    g_prog = noise.program(g_target, noise.draw_normals((N,), 4), PCM)
    nu = noise.sample_drift_exponents(g_target, noise.draw_normals((N,), 5), PCM)
    times = np.array([1.0, 60.0, 3600.0, 86400.0, 2.6e6, 3.15e7])
    log_x = np.log((times + PCM.drift_t0) / PCM.drift_t0)
    log_g = np.array([float(torch.log(noise.drift(g_prog, nu, t, PCM) / g_prog).mean())
                      for t in times])
    slope = np.polyfit(log_x, log_g, 1)[0]
    assert slope == pytest.approx(-float(nu.mean()), rel=1e-9)
    mean = min(max(-0.0155 * math.log(0.7) + 0.0244, 0.049), 0.1)
    assert abs(-slope - mean) < 5 * 0.008 / math.sqrt(N)
    np.testing.assert_array_equal(noise.drift(g_prog, nu, 0.0, PCM), g_prog)


@pytest.mark.parametrize("t", [0.0, 3600.0, 3.15e7])
def test_read_noise_std_grows_like_sqrt_log_time(t):
    relative = 0.4
    g = torch.full((N,), relative * PCM.g_max, dtype=torch.float64)
    g_read = noise.read(g, noise.draw_normals((N,), 6), t, PCM)
    q = min(0.0088 / relative**0.65, 0.2)
    sigma = q * math.sqrt(math.log((t + 20.0 + 250e-9) / (2 * 250e-9)))
    _assert_mean_std(g_read, float(g[0]), sigma * float(g[0]))


def test_stuck_at_fault_fractions_are_binomial():
    preset = dataclasses.replace(RRAM, name="faulty", stuck_at_gmin_rate=0.05,
                                 stuck_at_gmax_rate=0.02)
    g = torch.full((N,), 20e-6, dtype=torch.float64)
    g_out, stuck = noise.stuck_at_faults(g, noise.draw_uniforms((N,), 7), preset)
    for value, p, level in ((-1, 0.05, preset.g_min), (1, 0.02, preset.g_max)):
        fraction = float((stuck == value).double().mean())
        assert abs(fraction - p) <= 5 * math.sqrt(p * (1 - p) / N)
        assert bool((g_out[stuck == value] == level).all())
    assert bool((g_out[stuck == 0] == 20e-6).all())


def test_device_variation_is_a_relative_gain():
    preset = dataclasses.replace(PCM, name="varied", prog_noise_coeffs=(0.0, 0.0, 0.0),
                                 device_variation=0.1)
    g = torch.full((N,), 10e-6, dtype=torch.float64)
    with pytest.raises(ValueError, match="normals must have shape"):
        noise.program(g, noise.draw_normals((N,), 8), preset)
    out = noise.program(g, noise.draw_normals((2, N), 8), preset)
    _assert_mean_std(out, 10e-6, 1e-6)


def test_levels_quantisation():
    g = torch.linspace(-5e-6, 50e-6, 1001, dtype=torch.float64)
    q = noise.quantize_levels(g, RRAM)
    levels = torch.linspace(RRAM.g_min, RRAM.g_max, 16, dtype=torch.float64)
    assert torch.isclose(q[:, None], levels[None]).any(1).all()
    assert float((q - g.clamp(RRAM.g_min, RRAM.g_max)).abs().max()) <= (
        levels[1] - levels[0]) / 2 + 1e-15


def test_identical_draws_give_identical_results_on_torch_and_numpy():
    rng = np.random.default_rng(9)
    g_np = rng.uniform(0, PCM.g_max, 1000)
    n1, n2, n3 = (rng.standard_normal(1000) for _ in range(3))
    g_t = torch.from_numpy(g_np)
    t1, t2, t3 = (torch.from_numpy(n) for n in (n1, n2, n3))
    prog_np = noise.program(g_np, n1, PCM)
    nu_np = noise.sample_drift_exponents(g_np, n2, PCM)
    read_np = noise.read(noise.drift(prog_np, nu_np, 3600.0, PCM), n3, 3600.0, PCM,
                         g_prog=prog_np)
    prog_t = noise.program(g_t, t1, PCM)
    nu_t = noise.sample_drift_exponents(g_t, t2, PCM)
    read_t = noise.read(noise.drift(prog_t, nu_t, 3600.0, PCM), t3, 3600.0, PCM, g_prog=prog_t)
    assert isinstance(read_np, np.ndarray) and isinstance(read_t, torch.Tensor)
    np.testing.assert_array_equal(prog_np, prog_t.numpy())
    np.testing.assert_array_equal(nu_np, nu_t.numpy())
    np.testing.assert_array_equal(read_np, read_t.numpy())


def test_seeded_draws_are_reproducible():
    assert torch.equal(noise.draw_normals((5,), 3), noise.draw_normals((5,), 3))
    a = noise.draw_normals((5,), np.random.default_rng(3))
    assert isinstance(a, np.ndarray)
    with pytest.raises(TypeError, match="rng must be an int seed, a torch.Generator"):
        noise.draw_normals((5,), "seed")


@pytest.mark.parametrize("t, error", [(-1.0, ValueError), (float("nan"), ValueError),
                                      (float("inf"), ValueError), ("1 s", TypeError),
                                      (True, TypeError)])
def test_bad_time_is_rejected(t, error):
    g = torch.ones(3) * 1e-6
    with pytest.raises(error, match="t must be"):
        noise.drift(g, torch.zeros(3), t, PCM)
    with pytest.raises(error, match="t must be"):
        noise.read_noise_std(g, t, PCM)


def test_shape_mismatch_of_draws_is_rejected():
    with pytest.raises(ValueError, match="shape"):
        noise.sample_drift_exponents(torch.ones(3), torch.ones(4), PCM)
