"""Crossbar tiles: mapping, tiling, DAC/ADC, drift compensation, seeds and bad input."""

import dataclasses

import pytest
import torch

import hardware_models as hm
from hardware_models import noise


def _weights(out=24, inp=40, seed=0):
    return torch.randn(out, inp, generator=torch.Generator().manual_seed(seed))


def _inputs(n=32, inp=40, seed=1):
    return torch.rand(n, inp, generator=torch.Generator().manual_seed(seed), dtype=torch.float64)


def test_ideal_device_maps_weights_to_differential_pairs_and_back_exactly():
    w = _weights()
    chip = hm.AnalogMatrix(w, "ideal")
    g_plus, g_minus = chip.g_target
    assert float(torch.minimum(g_plus, g_minus).max()) == 0.0  # one side at g_min
    assert float((g_plus - g_minus).abs().max()) == pytest.approx(25e-6)  # w_max -> g range
    assert torch.equal(chip.read_weight().to(w.dtype), w)
    x = _inputs().float()
    assert torch.equal(chip.matmul(x), torch.nn.functional.linear(x, w))


def test_tiles_with_partial_sums_equal_the_untiled_product_when_ideal():
    w, x = _weights().double(), _inputs()
    # 40 rows in tiles of 7: six tiles, the last one partly filled.
    config = hm.CrossbarConfig(tile_rows=7, tile_cols=5, adc_bits=40)
    chip = hm.AnalogMatrix(w, "ideal", config)
    assert (chip.n_row_tiles, chip.n_col_tiles) == (6, 5)
    torch.testing.assert_close(chip.matmul(x), x @ w.T, rtol=0, atol=1e-9)


def test_adc_with_many_bits_converges_to_the_clean_output():
    w, x = _weights().double(), _inputs()
    clean = x @ w.T
    errors = []
    for bits in (2, 4, 8, 12, 16):
        chip = hm.AnalogMatrix(w, "ideal", hm.CrossbarConfig(tile_rows=16, adc_bits=bits))
        errors.append(float((chip.matmul(x) - clean).abs().max()))
    assert all(a > b for a, b in zip(errors, errors[1:]))
    # Error bound: half a step (full scale / (2**15 - 1)) per tile, three tiles.
    full_scale = hm.AnalogMatrix(w, "ideal", hm.CrossbarConfig(tile_rows=16)).full_scale()
    assert errors[-1] <= 3 * full_scale / (2**15 - 1) / 2 + 1e-12


def test_adc_is_signed_mid_tread_and_one_bit_is_a_comparator():
    from hardware_models.crossbar import quantize_adc

    y = torch.tensor([-2.0, -0.6, -0.1, 0.0, 0.1, 0.4, 2.0], dtype=torch.float64)
    assert quantize_adc(y, 2, 1.0).tolist() == [-1.0, -1.0, 0.0, 0.0, 0.0, 0.0, 1.0]
    assert quantize_adc(y, 1, 1.0).tolist() == [-0.5, -0.5, -0.5, 0.0, 0.5, 0.5, 0.5]
    assert quantize_adc(y, 3, 1.5).tolist() == [-1.5, -0.5, 0.0, 0.0, 0.0, 0.5, 1.5]


def test_adc_calibration_sets_the_range_from_partial_sums():
    w, x = _weights().double(), _inputs()
    model = torch.nn.Linear(40, 24, bias=False).double()
    with torch.no_grad():
        model.weight.copy_(w)
    analog = hm.convert(model, "ideal", config=hm.CrossbarConfig(tile_rows=16, adc_bits=6))
    full = analog.crossbar.full_scale()
    (calibrated,) = hm.calibrate_adc(analog, x, quantile=1.0)
    assert calibrated == pytest.approx(float(analog.crossbar.partial_sums(x).abs().max()))
    assert calibrated < full
    clean = x @ w.T
    calibrated_error = float((analog(x) - clean).abs().mean())
    analog.crossbar.set_adc_range(full)
    assert calibrated_error < float((analog(x) - clean).abs().mean())
    analog.crossbar.program(1)  # reprogramming keeps the periphery's calibration
    assert analog.crossbar.full_scale() == full
    with pytest.raises(ValueError, match="quantile must be > 0"):
        hm.calibrate_adc(analog, x, quantile=0.0)


def test_adc_saturates_at_its_range():
    w = torch.ones(2, 4, dtype=torch.float64)
    chip = hm.AnalogMatrix(w, "ideal", hm.CrossbarConfig(adc_bits=8, adc_range=1.5))
    y = chip.matmul(torch.ones(1, 4, dtype=torch.float64))
    assert torch.allclose(y, torch.full((1, 2), 1.5, dtype=torch.float64))


def test_dac_with_many_bits_converges_and_keeps_spikes_exact():
    w, x = _weights().double(), _inputs()
    clean = x @ w.T
    chip = hm.AnalogMatrix(w, "ideal", hm.CrossbarConfig(dac_bits=1))
    spikes = (x > 0.5).double()
    assert torch.equal(chip.matmul(spikes), hm.AnalogMatrix(w, "ideal").matmul(spikes))
    coarse = hm.AnalogMatrix(w, "ideal", hm.CrossbarConfig(dac_bits=3)).matmul(x)
    fine = hm.AnalogMatrix(w, "ideal", hm.CrossbarConfig(dac_bits=16)).matmul(x)
    assert float((fine - clean).abs().max()) < 1e-3 < float((coarse - clean).abs().max())


def test_fixed_seed_gives_a_fixed_chip():
    w = _weights()
    a, b = hm.AnalogMatrix(w, "pcm", rng=5), hm.AnalogMatrix(w, "pcm", rng=5)
    c = hm.AnalogMatrix(w, "pcm", rng=6)
    for name in ("g_prog", "nu", "stuck"):
        assert torch.equal(getattr(a, name), getattr(b, name))
    assert not torch.equal(a.g_prog, c.g_prog)
    # Reprogramming with the same seed gives the same chip again, read noise included.
    first = a.set_time(3600.0).read_weight()
    a.program(5).set_time(3600.0)
    assert torch.equal(a.read_weight(), first)
    # Reads differ from one another (fresh read noise), but not with a generator of one seed.
    assert not torch.equal(a.read_weight(), a.read_weight())
    g1, g2 = torch.Generator().manual_seed(1), torch.Generator().manual_seed(1)
    assert torch.equal(a.read_weight(g1), a.read_weight(g2))


def test_drift_compensation_restores_the_mean_weight_scale():
    w = _weights(64, 64).double()
    raw = hm.AnalogMatrix(w, "pcm", hm.CrossbarConfig(drift_compensation=False), rng=0)
    comp = hm.AnalogMatrix(w, "pcm", rng=0)
    for chip in (raw, comp):
        chip.set_time(3.15e7)  # a year
    gen = torch.Generator().manual_seed(0)
    ratio_raw = float((raw.read_weight(gen) * w).sum() / (w * w).sum())
    ratio_comp = float((comp.read_weight(gen) * w).sum() / (w * w).sum())
    assert ratio_raw < 0.6  # PCM loses about half its conductance in a year (nu ~ 0.05..0.1)
    assert abs(ratio_comp - 1.0) < 0.05
    assert comp.compensation > 1.5


def test_rram_levels_and_faults_show_up_in_the_chip():
    preset = dataclasses.replace(hm.get_preset("rram"), name="rram_faulty",
                                 stuck_at_gmin_rate=0.1, stuck_at_gmax_rate=0.1)
    chip = hm.AnalogMatrix(_weights(100, 100), preset, rng=0)
    fraction = float((chip.stuck != 0).double().mean())
    assert 0.18 < fraction < 0.22
    step = (preset.g_max - preset.g_min) / 15
    on_levels = ((chip.g_target - preset.g_min) / step)
    assert torch.allclose(on_levels, on_levels.round(), atol=1e-9)


@pytest.mark.parametrize("kwargs, error, match", [
    ({"tile_rows": 0}, ValueError, "CrossbarConfig.tile_rows must be an int >= 1"),
    ({"tile_cols": 2.5}, TypeError, "CrossbarConfig.tile_cols must be an int"),
    ({"adc_bits": 0}, ValueError, "CrossbarConfig.adc_bits must be an int >= 1"),
    ({"dac_bits": True}, TypeError, "CrossbarConfig.dac_bits must be an int"),
    ({"dac_range": (1.0, 0.0)}, ValueError, "dac_range must be .lo, hi. with lo < hi"),
    ({"adc_range": -1.0}, ValueError, "CrossbarConfig.adc_range must be > 0"),
])
def test_bad_crossbar_config(kwargs, error, match):
    with pytest.raises(error, match=match):
        hm.CrossbarConfig(**kwargs)


def test_bad_matrix_input():
    w = _weights()
    w[0, 0] = float("nan")
    with pytest.raises(ValueError, match="weight must be finite"):
        hm.AnalogMatrix(w, "pcm")
    with pytest.raises(ValueError, match="weight must be a 2-D tensor"):
        hm.AnalogMatrix(torch.ones(3), "pcm")
    with pytest.raises(ValueError, match="unknown preset 'nope'"):
        hm.AnalogMatrix(_weights(), "nope")
    chip = hm.AnalogMatrix(_weights(), "pcm")
    with pytest.raises(ValueError, match=r"t must be >= 0 \(s\)"):
        chip.set_time(-1.0)
    with pytest.raises(ValueError, match=r"g_min < g_max"):
        dataclasses.replace(hm.get_preset("pcm"), g_min=30e-6, g_max=20e-6)


def test_chip_statistics_follow_the_noise_functions():
    # The chip draws its programming noise from the same pure functions.
    w = _weights(8, 8)
    chip = hm.AnalogMatrix(w, "pcm", rng=3)
    gen = torch.Generator().manual_seed(3)
    expected = noise.program(chip.g_target, noise.draw_normals(chip.g_target.shape, gen),
                             chip.preset)
    assert torch.equal(chip.g_prog, expected)


def test_chip_reads_follow_the_read_noise_law():
    preset = hm.get_preset("pcm").with_(name="pcm_read_only", prog_noise_coeffs=(0.0, 0.0, 0.0),
                                        drift_mean=(0.0, 0.0, 0.0, 0.0),
                                        drift_std=(0.0, 0.0, 0.0, 0.0))
    w = torch.full((400, 500), 0.5, dtype=torch.float64)
    chip = hm.AnalogMatrix(w, preset, hm.CrossbarConfig(w_max=1.0), rng=0).set_time(86400.0)
    reads = chip.read_weight()
    relative = 0.5  # g_plus = g_max / 2, g_minus = 0 S (no noise on a zero conductance)
    sigma = float(noise.read_noise_std(torch.tensor([relative * preset.g_max]), 86400.0,
                                       preset)[0]) * 0.5
    n = w.numel()
    assert abs(float(reads.mean()) - 0.5) < 5 * sigma / n**0.5
    assert abs(float(reads.std()) - sigma) < 5 * sigma / (2 * n) ** 0.5
