"""Training the delay network: the harness (checkpoints, resume, results) and a task only
delays can solve."""

import json

import numpy as np
import pytest
import torch

from snn.data import BinnedSpikes
from snn.delay_training import DelayTrainingConfig, evaluate, train_delay_network
from snn.layers import DelayNetworkConfig


def _interval_task(n, seed, n_steps=24, dt=10e-3):
    """Two channels fire once each; the class is the interval between them (2 or 6 steps).

    Both classes have the same spikes per channel and the same first spike time
    distribution, so a network whose neurons forget within a step (beta ~ 0) can only tell
    them apart by delaying one channel onto the other."""
    rng = np.random.default_rng(seed)
    counts = np.zeros((n, n_steps, 2), dtype=np.uint8)
    labels = rng.integers(0, 2, n)
    intervals = np.where(labels == 1, 6, 2)
    first = rng.integers(0, n_steps - 8, n)
    counts[np.arange(n), first, 0] = 1
    counts[np.arange(n), first + intervals, 1] = 1
    lengths = first + intervals + 1
    return BinnedSpikes(counts, labels.astype(np.int64), lengths.astype(np.int64), dt, 1, 2)


def _config(delays, **kw):
    base = dict(n_inputs=2, n_outputs=2, n_hidden=16, n_hidden_layers=1, dt=10e-3,
                max_delay=80e-3, delays=delays, dropout=0.0)
    base.update(kw)
    return DelayNetworkConfig(**base)


def test_training_writes_results_and_checkpoints_and_resumes(tmp_path):
    train, test = _interval_task(64, 0), _interval_task(32, 1)
    cfg = DelayTrainingConfig(epochs=2, batch_size=16, seed=3)
    res = train_delay_network(_config("learned"), train, test, cfg, out_dir=tmp_path,
                              progress=False)
    for key in ("test_accuracy", "test_accuracy_unrounded", "history", "delays_before",
                "delays_after", "mean_epoch_time_s", "n_parameters"):
        assert key in res
    assert len(res["history"]["epoch_time_s"]) == 2
    assert res["history"]["sigma"][0] > res["history"]["sigma"][1] or cfg.epochs < 4
    on_disk = json.loads((tmp_path / "results.json").read_text())
    assert on_disk["test_accuracy"] == res["test_accuracy"]
    assert (tmp_path / "checkpoint.pt").exists() and (tmp_path / "model.pt").exists()
    # The model ends with rounded delays.
    model = res["model"]
    assert all(float(p.sigma) == 0.0 for p in model.projections)
    assert all(torch.equal(p.delay, p.delay.round()) for p in model.projections)
    with pytest.raises(ValueError, match="other configurations"):
        train_delay_network(_config("learned"), train, test,
                            DelayTrainingConfig(epochs=3, batch_size=16, seed=3),
                            out_dir=tmp_path, resume=True, progress=False)


def test_an_interrupted_training_resumes_where_it_stopped(tmp_path):
    train, test = _interval_task(48, 0), _interval_task(16, 1)
    cfg = DelayTrainingConfig(epochs=3, batch_size=16, seed=4)
    whole = train_delay_network(_config("learned"), train, test, cfg, progress=False)
    first = train_delay_network(_config("learned"), train, test, cfg, out_dir=tmp_path,
                                progress=False, on_epoch=lambda epoch, _: epoch == 0)
    assert len(first["history"]["train_loss"]) == 1
    rest = train_delay_network(_config("learned"), train, test, cfg, out_dir=tmp_path,
                               resume=True, progress=False)
    assert rest["history"]["train_loss"] == whole["history"]["train_loss"]
    assert rest["test_accuracy"] == whole["test_accuracy"]


def test_same_seed_same_training():
    train, test = _interval_task(48, 0), _interval_task(16, 1)
    cfg = DelayTrainingConfig(epochs=2, batch_size=16, seed=5)
    a = train_delay_network(_config("learned"), train, test, cfg, progress=False)
    b = train_delay_network(_config("learned"), train, test, cfg, progress=False)
    assert a["history"]["train_loss"] == b["history"]["train_loss"]


def test_dropout_draws_from_the_seed_and_leaves_the_global_generator_alone(tmp_path):
    train, test = _interval_task(48, 0), _interval_task(16, 1)
    cfg = DelayTrainingConfig(epochs=2, batch_size=16, seed=5)
    model_cfg = _config("learned", dropout=0.3)
    torch.manual_seed(123)
    before = torch.get_rng_state()
    a = train_delay_network(model_cfg, train, test, cfg, progress=False)
    assert torch.equal(torch.get_rng_state(), before)
    torch.manual_seed(456)  # another global state: the same training all the same
    b = train_delay_network(model_cfg, train, test, cfg, progress=False)
    assert a["history"]["train_loss"] == b["history"]["train_loss"]
    # Resuming restores the dropout masks' generator too.
    first = train_delay_network(model_cfg, train, test, cfg, out_dir=tmp_path, progress=False,
                                on_epoch=lambda epoch, history: epoch == 0)
    rest = train_delay_network(model_cfg, train, test, cfg, out_dir=tmp_path, resume=True,
                               progress=False)
    assert len(first["history"]["train_loss"]) == 1
    assert rest["history"]["train_loss"] == a["history"]["train_loss"]


@pytest.mark.slow
def test_only_delays_solve_the_interval_task():
    train, test = _interval_task(512, 0), _interval_task(256, 1)
    cfg = DelayTrainingConfig(epochs=25, batch_size=32, seed=0)
    accuracy = {}
    for mode in ("none", "learned"):
        res = train_delay_network(_config(mode), train, test, cfg, progress=False)
        accuracy[mode] = res["test_accuracy"]
    assert accuracy["none"] < 0.7  # chance is 0.5
    assert accuracy["learned"] > 0.9


def test_bad_training_input_is_rejected():
    train, test = _interval_task(16, 0), _interval_task(8, 1)
    with pytest.raises(ValueError, match="channels"):
        train_delay_network(_config("learned", n_inputs=3), train, test,
                            DelayTrainingConfig(epochs=1), progress=False)
    with pytest.raises(ValueError, match="label"):
        train_delay_network(_config("learned", n_outputs=1), train, test,
                            DelayTrainingConfig(epochs=1), progress=False)
    with pytest.raises(ValueError, match="dt"):
        train_delay_network(_config("learned", dt=5e-3, tau_m=10e-3), train, test,
                            DelayTrainingConfig(epochs=1), progress=False)
    empty = train.subset(np.zeros(0, dtype=np.int64))
    with pytest.raises(ValueError, match="at least one sample"):
        train_delay_network(_config("learned"), empty, test, DelayTrainingConfig(epochs=1),
                            progress=False)
    with pytest.raises(TypeError, match="BinnedSpikes"):
        train_delay_network(_config("learned"), train.counts, test,
                            DelayTrainingConfig(epochs=1), progress=False)
    with pytest.raises(ValueError, match="epochs"):
        DelayTrainingConfig(epochs=0)
    with pytest.raises(ValueError, match="pad"):
        DelayTrainingConfig(pad="none")
    with pytest.raises(TypeError, match=r"DelayTrainingConfig\.epochs must be an int"):
        DelayTrainingConfig(epochs=2.0)
    with pytest.raises(ValueError, match=r"DelayTrainingConfig\.lr_delays must be > 0"):
        DelayTrainingConfig(lr_delays=0.0)
    with pytest.raises(ValueError, match=r"DelayTrainingConfig\.seed must be an int >= 0"):
        DelayTrainingConfig(seed=-1)


def test_evaluate_counts_correct_predictions():
    from snn.layers import DelayNetwork

    data = _interval_task(20, 2)
    model = DelayNetwork(_config("none"))
    accuracy, loss = evaluate(model, data, batch_size=7)
    with torch.no_grad():
        x = torch.from_numpy(data.counts).float().permute(1, 0, 2)
        predicted = model.scores(model.eval()(x)).argmax(1).numpy()
    assert accuracy == pytest.approx(float((predicted == data.labels).mean()))
    assert np.isfinite(loss)


def test_a_trained_model_exports_to_the_engine_spike_for_spike():
    from snn.layers import run_exported

    train, test = _interval_task(64, 0), _interval_task(8, 1)
    res = train_delay_network(_config("learned", n_hidden_layers=2, dropout=0.2), train, test,
                              DelayTrainingConfig(epochs=3, batch_size=16, seed=1),
                              progress=False)
    model = res["model"].double().eval()
    x = torch.from_numpy(test.counts).double().permute(1, 0, 2)
    with torch.no_grad():
        readout, hidden = model(x, return_hidden=True)
    assert sum(float(h.sum()) for h in hidden) > 0
    for b in range(4):
        engine = run_exported(model, test.counts[b].astype(np.float64))
        for layer, spikes in enumerate(hidden):
            np.testing.assert_array_equal(engine["hidden"][layer], spikes[:, b].numpy())
        np.testing.assert_allclose(engine["readout"], readout[:, b].numpy(), rtol=0, atol=1e-9)
