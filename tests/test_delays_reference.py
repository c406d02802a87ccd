"""The DCLS + SpikingJelly reference implementation of learnable delays
(snn/peers/dcls_delays.py): shapes, the delay convention, training on a task that
needs delays, and configuration errors."""

import dataclasses
import json

import numpy as np
import pytest
import torch

from snn.peers import dcls_delays as ref

pytest.importorskip("DCLS", reason="the dcls package comes with the bench extra")
pytest.importorskip("spikingjelly", reason="installed by .ci/venv.sh (--no-deps)")
F = torch.nn.functional
Dcls1d = ref.peers().Dcls1d


def _timing_task(n, seed, n_steps=20, gaps=(1, 5)):
    """Two input channels spike once each; the class is the gap between the two spikes
    (1 or 5 steps) at a random onset, so only their relative timing tells the classes apart
    (the LIF neurons, tau = 1.005 steps, barely remember the previous step)."""
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, 2, n)
    x = np.zeros((n, n_steps, 2), np.float32)
    onset = rng.integers(0, n_steps - max(gaps), n)
    x[np.arange(n), onset, 0] = 1.0
    x[np.arange(n), onset + np.asarray(gaps)[labels], 1] = 1.0
    return x, labels


def _small_config(**changes):
    settings = dict(n_inputs=2, n_outputs=2, n_hidden=32, n_hidden_layers=2, max_delay_steps=9,
                    epochs=6, batch_size=32, lr_w=5e-3, dropout=0.1, threads=1, seed=0)
    settings.update(changes)
    return ref.ReferenceConfig(**settings)


@pytest.mark.parametrize("max_delay_steps, kernel", [(9, 9), (8, 9), (1, 1)])
@pytest.mark.parametrize("n_hidden_layers", [1, 2])
def test_output_shape_and_length(max_delay_steps, kernel, n_hidden_layers):
    config = ref.ReferenceConfig(n_inputs=5, n_outputs=3, n_hidden=7,
                                 max_delay_steps=max_delay_steps, n_hidden_layers=n_hidden_layers)
    assert config.kernel_size == kernel
    model = ref.build_reference_model(config)
    v = model(torch.rand(17, 4, 5))
    # each of the n_hidden_layers + 1 delayed layers adds (K - 1) // 2 steps
    expected = 17 + (n_hidden_layers + 1) * ((kernel - 1) // 2)
    assert config.output_steps(17) == expected
    assert v.shape == (expected, 4, 3) and v.dtype == torch.float32
    assert torch.isfinite(v).all()
    hist = ref.delay_histogram(model)
    assert hist.shape == (n_hidden_layers + 1, kernel) and hist.dtype == np.int64
    assert hist.sum(axis=1).tolist() == [35] + [49] * (n_hidden_layers - 1) + [21]
    delays = ref.synaptic_delays(model)
    assert [d.shape for d in delays] == ([(7, 5)] + [(7, 7)] * (n_hidden_layers - 1)
                                         + [(3, 7)])
    assert all(d.min() >= 0 and d.max() <= kernel - 1 for d in delays)
    with pytest.raises(ValueError, match=r"x must be time-major \[T, B, 5\]"):
        model(torch.rand(17, 4, 6))


def test_initialisation_follows_the_reference():
    config = ref.ReferenceConfig(n_inputs=50, n_outputs=4, n_hidden=60, max_delay_steps=13)
    model = ref.build_reference_model(config)
    for synapse in model.synapses:
        fan_in = synapse.weight.shape[1]
        assert synapse.weight.abs().max() <= np.sqrt(6 / fan_in)  # kaiming uniform, relu
        assert synapse.P.min() >= -6 and synapse.P.max() <= 6
        assert synapse.P.requires_grad and not synapse.SIG.requires_grad
        assert torch.all(synapse.SIG == 6.0)  # sigma_init = K // 2
    # seeded: the same config gives the same model, another seed another one
    again = ref.build_reference_model(config)
    assert torch.equal(model.synapses[0].P, again.synapses[0].P)
    other = ref.build_reference_model(ref.ReferenceConfig(n_inputs=50, n_outputs=4,
                                                          n_hidden=60, max_delay_steps=13, seed=1))
    assert not torch.equal(model.synapses[0].P, other.synapses[0].P)


@pytest.mark.parametrize("kernel", [7, 9])
def test_delay_convention(kernel):
    """A single spike at t0 through a Dcls1d, padded (K - 1, (K - 1) // 2) as the reference
    pads, peaks at t0 + K - 1 - (P + K // 2) = t0 + K // 2 - P."""
    n_steps, t0 = 30, 6
    x = torch.zeros(1, 1, n_steps)
    x[0, 0, t0] = 1.0
    for position in range(-(kernel // 2), kernel // 2 + 1):
        conv = Dcls1d(1, 1, kernel_count=1, dilated_kernel_size=kernel, bias=False,
                      version="gauss")
        with torch.no_grad():
            conv.weight.fill_(1.0)
            conv.P.fill_(float(position))
            conv.SIG.fill_(0.0)  # narrowest Gaussian: |SIG| + 0.27 = 0.27 step
        with torch.no_grad():
            y = conv(F.pad(x, (kernel - 1, (kernel - 1) // 2)))[0, 0]
        assert y.shape[0] == n_steps + (kernel - 1) // 2
        delay = kernel - 1 - (position + kernel // 2)
        assert int(y.argmax()) == t0 + delay
        assert float(y[t0 + delay]) > 0.99
        assert 0 <= delay <= kernel - 1

    # the same through the model's first layer, read back by synaptic_delays / histogram
    config = ref.ReferenceConfig(n_inputs=1, n_outputs=1, n_hidden=3, max_delay_steps=kernel)
    model = ref.build_reference_model(config)
    with torch.no_grad():
        model.synapses[0].weight.fill_(1.0)
        model.synapses[0].P.copy_(torch.tensor([2.0, 0.0, -3.0]).reshape(1, 3, 1, 1))
        model.synapses[0].SIG.fill_(0.0)
    delays = ref.synaptic_delays(model)[0][:, 0]
    assert delays.tolist() == [kernel // 2 - 2, kernel // 2, kernel // 2 + 3]
    with torch.no_grad():
        out = model.delayed(0, x.permute(2, 0, 1))  # [T', 1, 3]
    assert out[:, 0, :].argmax(dim=0).tolist() == [t0 + d for d in delays.astype(int)]
    assert ref.delay_histogram(model)[0][delays.astype(int)].tolist() == [1, 1, 1]


def test_discretised_delays_are_single_taps():
    config = ref.ReferenceConfig(n_inputs=1, n_outputs=1, n_hidden=2, max_delay_steps=9)
    model = ref.build_reference_model(config)
    with torch.no_grad():
        model.synapses[0].weight.copy_(torch.tensor([0.5, -2.0]).reshape(2, 1, 1))
        model.synapses[0].P.copy_(torch.tensor([1.4, -2.6]).reshape(1, 2, 1, 1))
    ref.discretise_delays(model)
    x = torch.zeros(25, 1, 1)
    x[3, 0, 0] = 1.0
    with torch.no_grad():
        out = model.delayed(0, x)[:, 0, :]
    # P rounds to 1 and -3: delays 3 and 7; the whole weight lands on one step
    expected = torch.zeros_like(out)
    expected[3 + 3, 0] = 0.5
    expected[3 + 7, 1] = -2.0
    torch.testing.assert_close(out, expected, rtol=0, atol=1e-6)
    assert ref.synaptic_delays(model)[0][:, 0].tolist() == [3.0, 7.0]


EXPECTED_KEYS = {
    "train_loss", "train_accuracy", "epoch_time_s", "test_loss", "test_accuracy", "sigma",
    "lr_w", "lr_pos", "mean_epoch_time_s", "test_accuracy_before_rounding",
    "test_accuracy_rounded", "test_loss_rounded", "final_sigma", "delay_histogram",
    "n_parameters", "config", "n_train", "n_test", "n_steps", "output_steps",
    "batches_per_epoch", "torch_threads", "device", "versions", "implementation"}


def test_training_learns_a_timing_task():
    train_x, train_y = _timing_task(256, seed=0)
    test_x, test_y = _timing_task(200, seed=1)
    config = _small_config()
    result = ref.train_reference(torch.from_numpy(train_x), torch.from_numpy(train_y),
                                 test_x, test_y, config, progress=False)
    assert EXPECTED_KEYS <= set(result)
    json.dumps(result)  # JSON-serialisable
    for key in ("train_loss", "train_accuracy", "epoch_time_s", "test_loss", "test_accuracy",
                "sigma", "lr_w", "lr_pos"):
        assert len(result[key]) == config.epochs, key
    assert all(t > 0 for t in result["epoch_time_s"])
    # sigma: K // 2 = 4 during the first epoch, 0.23 from then on (final_epoch = 6 // 4 = 1)
    assert result["sigma"][0] == 4.0
    assert result["sigma"][1:] == pytest.approx([0.23] * 5)
    assert result["final_sigma"] == pytest.approx(0.23)
    assert result["lr_w"][0] < result["lr_w"][1]  # one-cycle warm-up
    assert result["lr_pos"][0] == pytest.approx(config.lr_pos)
    assert result["n_parameters"] == {"total": 2 * (64 + 1024 + 64) + 4 * 32,
                                      "weights": 64 + 1024 + 64,
                                      "positions": 64 + 1024 + 64, "batchnorm": 4 * 32}
    assert result["output_steps"] == 20 + 3 * 4 and result["batches_per_epoch"] == 8
    assert result["torch_threads"] == 1
    assert np.array(result["delay_histogram"]).sum(axis=1).tolist() == [64, 1024, 64]
    # chance is 0.5; the reference solves this task within a few epochs
    assert result["train_accuracy"][-1] > 0.8
    assert result["test_accuracy_before_rounding"] > 0.8
    assert result["test_accuracy_rounded"] > 0.8


def test_training_is_reproducible_and_leaves_global_state():
    train_x, train_y = _timing_task(64, seed=2)
    test_x, test_y = _timing_task(32, seed=3)
    config = _small_config(epochs=2, n_hidden=8)
    threads = torch.get_num_threads()
    torch.manual_seed(123)
    state = torch.get_rng_state()
    first = ref.train_reference(train_x, train_y, test_x, test_y, config, progress=False)
    assert torch.equal(torch.get_rng_state(), state)
    assert torch.get_num_threads() == threads
    second = ref.train_reference(train_x, train_y, test_x, test_y, config, progress=False)
    assert first["train_loss"] == second["train_loss"]
    assert first["test_loss"] == second["test_loss"]
    assert first["delay_histogram"] == second["delay_histogram"]


@pytest.mark.parametrize("changes, error, match", [
    (dict(n_hidden=0), ValueError, "ReferenceConfig.n_hidden must be an int >= 1"),
    (dict(n_inputs=2.5), TypeError, "ReferenceConfig.n_inputs must be an int"),
    (dict(n_hidden_layers=True), TypeError, "ReferenceConfig.n_hidden_layers must be an int"),
    (dict(max_delay_steps=0), ValueError, "ReferenceConfig.max_delay_steps must be an int >= 1"),
    (dict(epochs=0), ValueError, "ReferenceConfig.epochs must be an int >= 1"),
    (dict(batch_size=-1), ValueError, "ReferenceConfig.batch_size must be an int >= 1"),
    (dict(seed=-1), ValueError, "ReferenceConfig.seed must be an int >= 0"),
    (dict(dropout=1.0), ValueError, r"dropout must be a probability in \[0, 1\)"),
    (dict(dropout=-0.1), ValueError, "ReferenceConfig.dropout must be >= 0"),
    (dict(lr_w=0.0), ValueError, "ReferenceConfig.lr_w must be > 0"),
    (dict(lr_pos=-1.0), ValueError, "ReferenceConfig.lr_pos must be >= 0"),
    (dict(weight_decay=float("nan")), ValueError, "ReferenceConfig.weight_decay must be a number"),
    (dict(sigma_init=0.0), ValueError, "ReferenceConfig.sigma_init must be > 0"),
    (dict(sigma_final_epoch_fraction=1.5), ValueError,
     "ReferenceConfig.sigma_final_epoch_fraction must be <= 1"),
    (dict(tau_steps=1.0), ValueError, "ReferenceConfig.tau_steps must be > 1"),
    (dict(threads=0), ValueError, "ReferenceConfig.threads must be an int >= 1"),
    (dict(device="gpu0"), ValueError, "device must name a torch device"),
])
def test_config_validation(changes, error, match):
    with pytest.raises(error, match=match):
        ref.ReferenceConfig(**changes)


def test_config_derived_values():
    config = ref.ReferenceConfig()
    assert (config.n_inputs, config.n_hidden, config.n_outputs, config.kernel_size) == (
        140, 256, 20, 25)
    assert config.sigma_start == 12.0 and config.final_epoch == 150 // 4
    assert ref.ReferenceConfig(max_delay_steps=24).kernel_size == 25
    assert ref.ReferenceConfig(epochs=2).final_epoch == 1
    assert ref.ReferenceConfig(sigma_final_epoch_fraction=0).final_epoch == 0
    with pytest.raises(dataclasses.FrozenInstanceError):
        config.epochs = 3


def test_bad_data_is_rejected():
    config = _small_config(epochs=1)
    x, y = _timing_task(16, seed=0)
    with pytest.raises(ValueError, match=r"train_x must have shape \[N, T, 2\]"):
        ref.train_reference(x[..., :1], y, x, y, config, progress=False)
    with pytest.raises(ValueError, match=r"train_y must be integer class labels of shape \[16\]"):
        ref.train_reference(x, y[:-1], x, y, config, progress=False)
    with pytest.raises(ValueError, match=r"test_y must hold classes in 0 \.\. 1"):
        ref.train_reference(x, y, x, y + 1, config, progress=False)
    bad = x.copy()
    bad[0, 0, 0] = np.nan
    with pytest.raises(ValueError, match="test_x contains NaN"):
        ref.train_reference(x, y, bad, y, config, progress=False)
    with pytest.raises(TypeError, match="config must be a ReferenceConfig"):
        ref.train_reference(x, y, x, y, {"epochs": 1}, progress=False)
