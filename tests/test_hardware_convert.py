"""Conversion of torch models and engine networks to analog emulations; energy counts."""

import numpy as np
import pytest
import torch

import hardware_models as hm
import snn
from snn.layers import LIF, DelayedLinear

from .helpers import mixed_network


def _lif_model(seed=0):
    torch.manual_seed(seed)
    return torch.nn.Sequential(torch.nn.Linear(20, 32), LIF(beta=0.9), torch.nn.Linear(32, 5),
                               LIF(beta=0.9))


def _spikes(seed=1, steps=30, batch=4, n=20):
    return (torch.rand(steps, batch, n, generator=torch.Generator().manual_seed(seed))
            < 0.3).float()


def test_ideal_device_reproduces_a_small_lif_network_exactly():
    model, x = _lif_model(), _spikes()
    analog = hm.convert(model, "ideal", t=3600.0, rng=3)
    assert len(hm.analog_layers(analog)) == 2
    assert isinstance(model[0], torch.nn.Linear)  # the original is untouched
    assert torch.equal(analog(x), model(x))


def test_ideal_conv_and_delayed_linear_reproduce_the_clean_layers():
    torch.manual_seed(0)
    for conv, shape in ((torch.nn.Conv2d(3, 4, 3, padding=1, stride=2), (2, 3, 9, 8)),
                        (torch.nn.Conv1d(3, 4, 5, padding=2), (2, 3, 17))):
        x = torch.randn(shape)
        assert torch.equal(hm.convert(conv, "ideal")(x), conv(x))
        # The ADC path runs the convolution as tiled im2col products.
        adc = hm.convert(conv, "ideal", config=hm.CrossbarConfig(tile_rows=8, adc_bits=20,
                                                                  dac_range=(-5.0, 5.0)))
        torch.testing.assert_close(adc(x), conv(x), rtol=0, atol=1e-4)
    layer = DelayedLinear(6, 3, max_delay=5e-3, dt=1e-3, rng=torch.Generator()
                          .manual_seed(0))
    x = _spikes(steps=12, n=6)
    converted = hm.convert(torch.nn.Sequential(layer), "ideal")
    assert torch.equal(converted(x), layer(x))
    assert torch.equal(converted[0].delay, layer.delay)


def test_noisy_conversion_is_close_but_not_equal_and_reproducible():
    model, x = _lif_model(), _spikes()
    a = hm.convert(model, "pcm", rng=1)
    b = hm.convert(model, "pcm", rng=1)
    with torch.no_grad():
        ya, yb, clean = a[0](x), b[0](x), model[0](x)
    assert torch.equal(ya, yb)  # same seed: same chip and same read-noise stream
    rel = float((ya - clean).norm() / clean.norm().detach())
    assert 0.001 < rel < 0.2
    hm.set_time(a, 86400.0)
    assert all(layer.crossbar.t == 86400.0 for layer in hm.analog_layers(a))
    hm.reprogram(a, 2)
    assert all(layer.crossbar.t == 0.0 for layer in hm.analog_layers(a))
    assert not torch.equal(a[0].crossbar.g_prog, b[0].crossbar.g_prog)


def test_convert_bad_input():
    model = _lif_model()
    with pytest.raises(ValueError, match=r"unknown preset 'x'; known presets: \['ideal'"):
        hm.convert(model, "x")
    with pytest.raises(ValueError, match=r"t must be >= 0 \(s\)"):
        hm.convert(model, "pcm", t=-5.0)
    with pytest.raises(TypeError, match="model must be a torch.nn.Module"):
        hm.convert("model", "pcm")
    with torch.no_grad():
        model[0].weight[0, 0] = float("nan")
    with pytest.raises(ValueError, match="has NaN or inf"):
        hm.convert(model, "pcm")
    with pytest.raises(TypeError, match="config must be a CrossbarConfig"):
        hm.convert(_lif_model(), "pcm", config={"adc_bits": 4})


def _run(net):
    return snn.run(net, 0.03, backend="numba", rng=3)


def test_apply_with_the_ideal_device_leaves_engine_results_identical():
    net = mixed_network(seed=1)
    analog = hm.apply(net, "ideal", t=60.0, rng=0)
    assert analog is not net
    for a, b in zip(net.projections, analog.projections):
        np.testing.assert_array_equal(a.weights, b.weights)
    ra, rb = _run(net), _run(analog)
    for pop in ra.spikes:
        np.testing.assert_array_equal(ra.spikes[pop].times, rb.spikes[pop].times)


def test_apply_with_pcm_changes_weights_but_not_the_original():
    net = mixed_network(seed=1)
    before = [p.weights.copy() for p in net.projections]
    analog = hm.apply(net, "pcm", t=86400.0, rng=0)
    again = hm.apply(net, "pcm", t=86400.0, rng=0)
    for b, p, q, a in zip(before, net.projections, analog.projections, again.projections):
        np.testing.assert_array_equal(b, p.weights)
        np.testing.assert_array_equal(q.weights, a.weights)
        assert not np.array_equal(q.weights, p.weights)
        # Differential pairs keep the sign; drift compensation keeps the scale.
        big = np.abs(p.weights) > 0.3 * np.abs(p.weights).max()
        assert np.all(np.sign(q.weights[big]) == np.sign(p.weights[big]))
    with pytest.raises(TypeError, match="network must be an snn.Network"):
        hm.apply(object(), "pcm")
    with pytest.raises(ValueError, match="unknown preset"):
        hm.apply(net, "flash")


def test_energy_counts_follow_the_actual_spikes():
    model, x = _lif_model(), _spikes(steps=30, batch=4)
    # Ideal devices, so that the hidden spikes are the clean model's; PCM energy figures.
    analog = hm.convert(model, "ideal", config=hm.CrossbarConfig(tile_rows=8, adc_bits=16))
    layers, out = hm.count_operations(analog, x)
    assert out.shape == (30, 4, 5)
    first, second = layers
    assert first.macs == 30 * 4 * 20 * 32
    assert first.synaptic_events == int(x.sum()) * 32
    assert first.device_reads == 2 * first.synaptic_events
    assert first.adc_conversions == 30 * 4 * 32 * 3  # three row tiles of at most 8 rows
    hidden_spikes = int(LIF(beta=0.9)(model[0](x)).sum())
    assert second.synaptic_events == hidden_spikes * 5
    report = hm.estimate_energy(layers, "pcm", n_inferences=4)
    assert report.per_inference["macs"] == (first.macs + second.macs) / 4
    table = report.table()
    assert "analog pcm" in table and "digital int8 dense" in table
    d = report.as_dict()
    assert set(d) >= {"energy_J", "latency_s", "layers"}
    expected_digital = report.per_inference["macs"] * (0.23e-12 + 1.25e-12)
    assert d["energy_J"]["digital int8 dense (MAC + SRAM)"] == pytest.approx(expected_digital)
    # A clean model is counted the same way (no crossbar: one ADC pass per output).
    clean_layers, _ = hm.count_operations(model, x)
    assert clean_layers[0].synaptic_events == first.synaptic_events
    with pytest.raises(ValueError, match="n_inferences must be an int >= 1"):
        hm.estimate_energy(layers, "pcm", n_inferences=0)


@pytest.mark.parametrize("device", ["cpu", pytest.param("cuda", marks=pytest.mark.gpu)])
def test_converted_model_moves_to_a_device(device):
    model, x = _lif_model(), _spikes()
    analog = hm.convert(model, "pcm").to(device)
    assert analog[0].crossbar.g_prog.device.type == device
    assert analog(x.to(device)).device.type == device


def test_ideal_device_reproduces_a_delay_network_exactly():
    from snn.layers import DelayNetwork, DelayNetworkConfig

    torch.manual_seed(0)
    config = DelayNetworkConfig(n_inputs=12, n_outputs=3, n_hidden=16, n_hidden_layers=2,
                                max_delay=50e-3, batch_norm=False, dropout=0.0)
    net = DelayNetwork(config, rng=0).eval()
    with torch.no_grad():
        for projection in net.projections:
            projection.weight.mul_(4.0)  # enough drive that the hidden layers spike
    x = _spikes(steps=20, n=12)
    analog = hm.convert(net, "ideal").eval()
    assert len(hm.analog_layers(analog)) == 3  # every DelayedLinear, delays kept
    with torch.no_grad():
        clean = net(x)
        assert float(clean.abs().max()) > 0
        assert torch.equal(analog(x), clean)
        noisy = hm.convert(net, "pcm", t=86400.0).eval()(x)
    assert not torch.equal(noisy, clean)
