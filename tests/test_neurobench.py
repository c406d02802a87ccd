"""NeuroBench's metrics: snnsim's definitions against the NeuroBench harness (the peer), on
models both can run, and against direct counts."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import snn
from snn.data import MackeyGlassProtocol, mackey_glass_protocol_series, mackey_glass_run
from snn.neurobench import (
    ESNPredictor,
    SpikingReservoirConfig,
    SpikingReservoirPredictor,
    activation_sparsity,
    connection_sparsity,
    footprint,
    layer_operations,
    membrane_updates,
    run_mackey_glass,
    smape,
    sparse_layer_operations,
    total_operations,
)
from snn.neurobench.engine import network_metrics
from snn.reservoir import ESNConfig

neurobench = pytest.importorskip("neurobench", reason="the neurobench package (extra "
                                 "'neurobench') is not installed")
from neurobench.benchmarks import Benchmark  # noqa: E402
from neurobench.metrics.static import ConnectionSparsity, Footprint  # noqa: E402
from neurobench.metrics.workload import (  # noqa: E402
    SMAPE,
    ActivationSparsity,
    MembraneUpdates,
    SynapticOperations,
)
from neurobench.models import SNNTorchModel, TorchModel  # noqa: E402

from snn.neurobench.harness import (  # noqa: E402
    DelayedSynapticOperations,
    LayerMembraneUpdates,
    TimeMajorModel,
    esn_model,
    sequence_loader,
)


def _harness(model, loader, static, workload):
    return Benchmark(model, loader, [], [], [static, workload]).run(quiet=True)


# ------------------------------------------------------------------ definitions, direct counts
def test_layer_operations_count_nonzero_pairs():
    w = np.array([[1.0, 0.0, 2.0], [0.0, 0.0, 3.0]])
    x = np.array([[[1.0, 1.0, 0.0]], [[0.0, 0.0, 1.0]]])  # [T=2, B=1, 3]
    ops = layer_operations(w, x)
    # step 0: input 0 (1 weight) and input 1 (0 weights); step 1: input 2 (2 weights)
    assert (ops.effective, ops.dense, ops.spiking) == (3, 12, True)
    graded = layer_operations(w, 0.5 * x)
    assert graded.spiking is False and graded.effective == 3
    assert total_operations([ops, graded], 2) == {"Effective_MACs": 1.5, "Effective_ACs": 1.5,
                                                  "Dense": 12.0}
    # delays: a spike only counts where it arrives within the run
    d = np.array([[0, 0, 1], [0, 0, 0]])
    assert layer_operations(w, x, d).effective == 2  # the step-1 spike via (0, 2) arrives late


def test_sparse_layer_operations_match_the_dense_count():
    rng = np.random.default_rng(0)
    w = rng.normal(size=(5, 4)) * (rng.random((5, 4)) < 0.5)  # [n_pre, n_post]
    w[2] = 0.0
    spikes = (rng.random((30, 5)) < 0.3).astype(float)  # [T, n_pre]
    rows, cols = np.nonzero(np.ones_like(w))
    indptr = np.arange(0, 21, 4)
    sparse = sparse_layer_operations(indptr, w[rows, cols], spikes.sum(0).astype(int), 4, 30)
    dense = layer_operations(w.T, spikes)
    assert (sparse.effective, sparse.dense) == (dense.effective, dense.dense)


def test_sparsities_footprint_membrane_updates_and_smape():
    assert connection_sparsity([np.array([[0.0, 1.0], [2.0, 0.0]]), (3, 4)]) == 0.625
    assert activation_sparsity([np.array([0, 1, 0, 0])]) == 0.75
    assert activation_sparsity([]) == 0.0
    assert footprint([np.zeros(3), torch.zeros(2, dtype=torch.float32)]) == 32
    v = np.array([[0.0, 1.0], [0.0, 0.5], [0.2, 0.5]])  # [T, N]
    assert membrane_updates(v, 1) == 2 + 1 + 1
    assert smape(np.array([1.0, 2.0]), np.array([1.0, 1.0])) == pytest.approx(100 / 3)
    assert smape(np.array([np.nan]), np.array([1.0])) == 200.0
    with pytest.raises(ValueError, match="same non-empty shape"):
        smape(np.zeros(2), np.zeros(3))


# ------------------------------------------------------------------ the harness as the peer
def _esn_run(n_neurons=40):
    protocol = MackeyGlassProtocol(n_runs=1, train_lyapunov_times=4, test_lyapunov_times=2)
    run = mackey_glass_run(mackey_glass_protocol_series(protocol), protocol, 0)
    config = ESNConfig(n_neurons=n_neurons, spectral_radius=1.1, connectivity=0.2, leak=0.7,
                       bias_scaling=0.5)
    predictor = ESNPredictor(config, rng=0).fit(run.train_inputs, run.train_targets,
                                                run.warmup_steps)
    return predictor, run


def test_esn_metrics_equal_the_harness_on_the_same_network():
    predictor, run = _esn_run()
    model = esn_model(predictor)  # built before predict: it starts from the fitted state
    n = run.test_targets.size
    prediction = predictor.predict(run.test_inputs[0], n)
    ours = predictor.metrics()
    loader = sequence_loader(run.test_inputs[:, None, None], run.test_targets[:, None], n)
    theirs = _harness(model, loader, [Footprint, ConnectionSparsity],
                      [SMAPE, ActivationSparsity, SynapticOperations, MembraneUpdates])
    for key in ("Footprint", "ConnectionSparsity", "ActivationSparsity", "SynapticOperations",
                "MembraneUpdates"):
        assert ours[key] == theirs[key], key
    assert smape(prediction, run.test_targets) == pytest.approx(theirs["SMAPE"], abs=1e-8)


class _TorchNet(torch.nn.Module):
    """Linear -> LIF -> Linear -> LIF over [T, B, 4] (snnsim layers)."""

    def __init__(self, fc1, fc2, beta):
        super().__init__()
        self.fc1, self.fc2 = fc1, fc2
        self.lif1 = snn.layers.LIF(beta=beta, reset="subtract")
        self.lif2 = snn.layers.LIF(beta=beta, reset="subtract")

    def forward(self, x):
        return self.lif2(self.fc2(self.lif1(self.fc1(x))))


def _snntorch_net(fc1, fc2, beta):
    import snntorch

    class Net(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.fc1, self.fc2 = fc1, fc2
            # reset_delay=False: the reset applies in the step that spikes, as in snnsim
            self.lif1 = snntorch.Leaky(beta=beta, init_hidden=True, reset_delay=False)
            self.lif2 = snntorch.Leaky(beta=beta, init_hidden=True, output=True,
                                       reset_delay=False)

        def forward(self, x):
            return self.lif2(self.fc2(self.lif1(self.fc1(x))))

    return Net()


def test_time_major_model_matches_snntorch_in_the_harness():
    # a decay exact in binary, so that both libraries round alike in float32
    gen = torch.Generator().manual_seed(0)
    fc1, fc2 = torch.nn.Linear(4, 16), torch.nn.Linear(16, 3)
    # Inputs stay below twice the threshold: above it, snntorch subtracts a pending reset
    # before it tests the threshold (a second spike waits a step), snnsim does not.
    with torch.no_grad():
        for layer in (fc1, fc2):
            limit = 1.9 / layer.in_features
            w = torch.rand(layer.weight.shape, generator=gen) * 1.3 * limit - 0.3 * limit
            layer.weight.copy_(w * (torch.rand(w.shape, generator=gen) < 0.7))
            layer.bias.zero_()
    spikes = (torch.rand(6, 25, 4, generator=gen) < 0.3).float()  # [B, T, 4]
    labels = torch.zeros(6, 25, 3)
    loader = sequence_loader(spikes, labels, 3)
    ours = _harness(TimeMajorModel(_TorchNet(fc1, fc2, 0.75)), loader,
                    [Footprint, ConnectionSparsity],
                    [ActivationSparsity, SynapticOperations, LayerMembraneUpdates])
    theirs = _harness(SNNTorchModel(_snntorch_net(fc1, fc2, 0.75)), loader,
                      [ConnectionSparsity],
                      [ActivationSparsity, SynapticOperations, MembraneUpdates])
    assert 0.3 < ours["ActivationSparsity"] < 1.0
    assert ours["ActivationSparsity"] == theirs["ActivationSparsity"]
    assert ours["SynapticOperations"] == theirs["SynapticOperations"]
    assert ours["SynapticOperations"]["Effective_ACs"] > 0
    assert ours["LayerMembraneUpdates"] == pytest.approx(theirs["MembraneUpdates"])
    assert ours["ConnectionSparsity"] == theirs["ConnectionSparsity"]
    assert ours["Footprint"] == footprint(list(_TorchNet(fc1, fc2, 0.75).parameters())
                                          + list(_TorchNet(fc1, fc2, 0.75).buffers()))


def test_delayed_linear_operations_in_the_harness():
    gen = torch.Generator().manual_seed(1)
    layer = snn.layers.DelayedLinear(3, 2, dt=1e-3, max_delay=4e-3, bias=False)
    with torch.no_grad():
        layer.weight.copy_(torch.tensor([[1.0, 0.0, 2.0], [0.5, 0.5, 0.0]]))
        layer.delay.copy_(torch.tensor([[0.0, 1.0, 4.0], [2.0, 3.0, 0.0]]))
    layer.sigma.fill_(0.0)
    net = torch.nn.Sequential(layer)
    x = (torch.rand(2, 10, 3, generator=gen) < 0.5).float()  # [B, T, 3]
    loader = sequence_loader(x, torch.zeros(2, 10, 2), 2)
    result = _harness(TimeMajorModel(net), loader, [],
                      [DelayedSynapticOperations, SynapticOperations])
    # direct count: input (b, t, j) reaches output i through weight w_ij at t + d_ij < T
    w, d = layer.weight.detach().numpy(), layer.delay.detach().numpy().astype(int)
    count = sum(int(x[b, t, j] != 0) for b in range(2) for t in range(10) for j in range(3)
                for i in range(2) if w[i, j] != 0 and t + d[i, j] < 10)
    assert result["DelayedSynapticOperations"] == {"Effective_MACs": 0.0,
                                                   "Effective_ACs": count / 2,
                                                   "Dense": 10 * 6.0}


def test_network_metrics_equal_the_harness_on_the_same_projection():
    rng = np.random.default_rng(3)
    n_in, n_out, n_steps = 6, 5, 40
    w = rng.normal(1e-9, 2e-10, (n_in, n_out)) * (rng.random((n_in, n_out)) < 0.6)
    raster = rng.random((n_steps, n_in)) < 0.2
    steps, units = np.nonzero(raster)
    dt = 1e-3
    net = snn.Network(dt=dt, max_delay=0.0)
    net.add_population("out", n_out, snn.LIFParams())
    net.add_spike_source("in", n_in, units, steps * dt)
    net.connect("in", "out", w)
    net.monitor_spikes("out")
    net.monitor_state("out", "v")
    result = snn.run(net, n_steps * dt, backend="numba", rng=0)
    ours = network_metrics(net, result)
    # the same projection as a Linear layer fed the same spikes, in the harness
    linear = torch.nn.Linear(n_in, n_out, bias=False, dtype=torch.float64)
    with torch.no_grad():
        linear.weight.copy_(torch.from_numpy(w.T))
    loader = sequence_loader(torch.from_numpy(raster[None].astype(np.float64)),
                             torch.zeros(1, n_steps, n_out), 1)
    theirs = _harness(TorchModel(torch.nn.Sequential(linear)), loader, [ConnectionSparsity],
                      [SynapticOperations])
    assert ours["SynapticOperations"] == theirs["SynapticOperations"]
    assert ours["ConnectionSparsity"] == theirs["ConnectionSparsity"]
    spikes = result.spikes["out"]
    assert ours["ActivationSparsity"] == pytest.approx(1 - spikes.count / (n_out * n_steps))
    v = result.traces["out"]["v"]
    assert ours["MembraneUpdates"] == v[0].size + np.count_nonzero(np.diff(v, axis=0))


# ------------------------------------------------------------------ the task runner
def test_run_mackey_glass_scores_both_predictors():
    protocol = MackeyGlassProtocol(n_runs=2, train_lyapunov_times=4, test_lyapunov_times=1)
    config = ESNConfig(n_neurons=100, spectral_radius=1.1, connectivity=0.1, leak=0.7,
                       input_scaling=0.8, bias_scaling=0.9)
    esn = run_mackey_glass(lambda seed: ESNPredictor(config, rng=seed), protocol)
    assert esn["series"] == "regenerated" and len(esn["smape_runs"]) == 2
    assert 0 <= esn["smape"] < 10  # one Lyapunov time ahead is predictable
    assert esn["metrics"]["SynapticOperations"]["Dense"] == 100 + 100 * 100 + 101
    spiking = run_mackey_glass(
        lambda seed: SpikingReservoirPredictor(SpikingReservoirConfig(n_neurons=40),
                                               rng=seed), protocol)
    assert 0 <= spiking["smape"] <= 200
    assert spiking["metrics"]["SynapticOperations"]["Effective_ACs"] > 0
    assert 0 < spiking["metrics"]["ActivationSparsity"] < 1


# ------------------------------------------------------------------ memory capacity
def test_memory_capacity_equals_reservoirpy_on_its_documented_example():
    pytest.importorskip("reservoirpy", reason="ReservoirPy comes with the 'test' extra")
    from reservoirpy.nodes import Reservoir, Ridge
    from reservoirpy.observables import memory_capacity

    from snn.neurobench.memory import esn_memory_capacity
    from snn.reservoir import ESN

    theirs = memory_capacity(Reservoir(100, sr=1, seed=1) >> Ridge(ridge=1e-4), k_max=50,
                             as_list=True, seed=1)
    assert theirs.sum() == pytest.approx(18.78, abs=0.005)  # the documented value
    reservoir = Reservoir(100, sr=1, seed=1)  # the same weights as the copy above
    reservoir.initialize(np.zeros((1, 1)))
    esn = ESN(ESNConfig(n_neurons=100, spectral_radius=1.0), 1, W=reservoir.W.toarray(),
              W_in=reservoir.Win.toarray(), bias=np.full(100, float(reservoir.bias)))
    mc, per_delay = esn_memory_capacity(esn, k_max=50, seed=1, ridge=1e-4)
    np.testing.assert_allclose(per_delay, theirs, atol=1e-9)
    assert 0 < mc <= 50  # capped by k_max and by the 100 features


def test_lsm_memory_capacity_runs_the_same_protocol():
    from snn.neurobench.memory import lsm_memory_capacity
    from snn.reservoir import LSM, LSMConfig

    lsm = LSM(LSMConfig(n_neurons=100, w_input=1e-9), 2, rng=0)
    mc, per_delay = lsm_memory_capacity(lsm, k_max=30, step_duration=20e-3, max_rate=1000.0)
    assert per_delay.shape == (30,) and 0 < mc <= 30
    assert per_delay[0] > 0.3  # the last value is in the liquid's spikes


# ------------------------------------------------------------------ Yin-Yang classifiers
@pytest.mark.slow
@pytest.mark.parametrize("model", ["lif", "delays"])
def test_yin_yang_metrics_equal_the_harness(model):
    from snn.data import yin_yang_splits
    from snn.neurobench.yin_yang import (
        YinYangConfig,
        encode_latency,
        train_yin_yang,
        yin_yang_metrics,
    )

    splits = yin_yang_splits()
    small = {name: (x[:400], y[:400]) for name, (x, y) in splits.items()}
    config = YinYangConfig(model=model, hidden=30, encode_steps=10, n_steps=15, epochs=4,
                           batch_size=20, max_delay_steps=5, seed=0)
    result = train_yin_yang(config, small)
    assert result["test_accuracy"] > 0.45  # chance is 1/3
    net = result["net"]
    x = small["test"][0][:64]
    ours = yin_yang_metrics(net, x)
    data = encode_latency(x, config.encode_steps, config.n_steps).transpose(0, 1)
    loader = sequence_loader(data, torch.zeros(64, config.n_steps, 3), 32)
    theirs = _harness(TimeMajorModel(net), loader, [Footprint, ConnectionSparsity],
                      [ActivationSparsity, SynapticOperations, DelayedSynapticOperations,
                       LayerMembraneUpdates])
    assert ours["Footprint"] == theirs["Footprint"]
    assert ours["ConnectionSparsity"] == theirs["ConnectionSparsity"]
    assert ours["ActivationSparsity"] == pytest.approx(theirs["ActivationSparsity"])
    assert ours["MembraneUpdates"] == pytest.approx(theirs["LayerMembraneUpdates"])
    harness_ops = {k: theirs["SynapticOperations"][k] + theirs["DelayedSynapticOperations"][k]
                   for k in ("Effective_MACs", "Effective_ACs", "Dense")}
    assert ours["SynapticOperations"] == pytest.approx(harness_ops)
