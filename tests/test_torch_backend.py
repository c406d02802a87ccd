"""torch backend: exp_torch rounds like exp_numpy; one trial equals the reference bit for bit
on the CPU in float64; run_trials batches independent trials; continuation, float32, bad
input, progress bar and (with a CUDA device) the GPU against the CPU."""

import math

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

import snn
from snn import engine
from snn.backends import torch_backend
from snn.vector_exp import exp_numpy, exp_torch

from .helpers import mixed_network, one_population_network
from .test_engine import _assert_same_results
from .test_vector_exp import _wide_sample


def _bits(x: np.ndarray) -> np.ndarray:
    return np.asarray(x, dtype=np.float64).view(np.int64)


def test_exp_torch_equals_exp_numpy_bit_for_bit():
    x = np.concatenate([_wide_sample(0), [math.nan]])
    np.testing.assert_array_equal(_bits(exp_torch(torch.from_numpy(x)).numpy()),
                                  _bits(exp_numpy(x)))


def test_exp_torch_float32_rounds_the_float64_result_once():
    with np.errstate(over="ignore"):  # the sample's +-1e300 become +-inf in float32
        x = _wide_sample(2).astype(np.float32)
    got = exp_torch(torch.from_numpy(x))
    assert got.dtype == torch.float32 and got.shape == x.shape
    with np.errstate(over="ignore"):  # beyond float32's range the result is inf
        expected = exp_numpy(x.astype(np.float64)).astype(np.float32)
    np.testing.assert_array_equal(got.numpy(), expected)


@settings(max_examples=200, deadline=None)
@given(st.floats(allow_nan=False, width=64))
def test_exp_torch_any_double(x):
    assert exp_torch(torch.tensor([x], dtype=torch.float64)).item() == exp_numpy(np.array([x]))[0]


@pytest.mark.parametrize("delays", [True, False])
def test_torch_equals_reference_step_by_step(delays):
    """Spikes, every state trace, the final state and the ring buffer are bitwise equal:
    index_add_ on the CPU adds in list order, which is the reference's np.add.at order."""
    net = mixed_network(seed=1, delays=delays)
    ref = snn.run(net, 0.06, backend="reference", rng=7)
    fast = snn.run(net, 0.06, backend="torch", rng=7)
    _assert_same_results(ref, fast)
    assert all(s.count > 0 for s in ref.spikes.values())
    assert fast.backend == "torch"
    assert fast.extra == {"device": "cpu", "dtype": "torch.float64"}


@pytest.mark.parametrize("backend", ["reference", "numba"])
def test_run_trials_torch_equals_sequential_backends_trial_by_trial(backend):
    net = mixed_network(seed=2)
    batched = snn.run_trials(net, 0.03, 4, backend="torch", rng=5)
    sequential = snn.run_trials(net, 0.03, 4, backend=backend, rng=5)
    assert len(batched) == len(sequential) == 4
    for k, (a, b) in enumerate(zip(batched, sequential)):
        assert a.extra["trial"] == b.extra["trial"] == k
        _assert_same_results(a, b)
    # Trial 0 is what run() draws from the same seed.
    _assert_same_results(batched[0], snn.run(net, 0.03, backend=backend, rng=5))
    # Only the Poisson-driven population differs between trials.
    coba = [r.traces["coba"]["syn_exc"] for r in batched]
    assert all(not np.array_equal(coba[0], other) for other in coba[1:])
    lif = [r.traces["lif"]["v"] for r in batched]
    assert all(np.array_equal(lif[0], other) for other in lif[1:])


def test_each_trial_continues_from_its_own_state():
    net = mixed_network(seed=6)
    torch_trials = snn.run_trials(net, 0.02, 3, backend="torch", rng=1)
    ref_trials = snn.run_trials(net, 0.02, 3, backend="reference", rng=1)
    for a, b in zip(torch_trials, ref_trials):
        # Spikes still in flight are part of the state: the ring must carry over.
        assert np.any(a.state.ring != 0)
        _assert_same_results(snn.run(net, 0.02, backend="torch", state=a.state, rng=9),
                             snn.run(net, 0.02, backend="reference", state=b.state, rng=9))


def test_float32_runs_and_stays_close_to_float64():
    net = mixed_network(seed=1)
    exact = snn.run_trials(net, 0.04, 2, backend="torch", rng=3)
    single = snn.run_trials(net, 0.04, 2, backend="torch", rng=3, dtype=torch.float32)
    for a, b in zip(exact, single):
        assert b.extra["dtype"] == "torch.float32"
        assert b.traces["lif"]["v"].dtype == np.float64  # widened exactly for the result
        for pop in a.spikes:
            assert b.mean_rate(pop) == pytest.approx(a.mean_rate(pop), rel=0.1, abs=1.0)
        for pop in a.traces:
            # float32 resolves ~4e-9 V at -60 mV; rounding errors accumulate to ~3e-7 V.
            np.testing.assert_allclose(b.traces[pop]["v"], a.traces[pop]["v"], rtol=0,
                                       atol=1e-5)
    assert not np.array_equal(single[0].traces["lif"]["v"], exact[0].traces["lif"]["v"])


def test_progress_bar_does_not_change_results(capsys):
    net = mixed_network(seed=4)
    _assert_same_results(snn.run(net, 0.01, backend="torch", rng=1),
                         snn.run(net, 0.01, backend="torch", rng=1, progress=True))
    assert "torch" in capsys.readouterr().err


@pytest.mark.parametrize(
    "kwargs, error, message",
    [
        (dict(trials=0), ValueError, "trials"),
        (dict(trials=-2), ValueError, "trials"),
        (dict(trials=2.0), TypeError, "trials"),
        (dict(trials=True), TypeError, "trials"),
        (dict(trials="4"), TypeError, "trials"),
        (dict(trials=2, backend="torch", device="gpu0"), ValueError, "device"),
        (dict(trials=2, backend="torch", device="meta"), ValueError, "device"),
        (dict(trials=2, backend="torch", device=0), TypeError, "device"),
        (dict(trials=2, backend="torch", dtype=torch.float16), ValueError, "dtype"),
        (dict(trials=2, backend="torch", dtype="float32"), TypeError, "dtype"),
        (dict(trials=2, backend="torch", dtype=np.float32), TypeError, "dtype"),
        (dict(trials=2, backend="numba", device="cpu"), ValueError, "device"),
        (dict(trials=2, backend="reference", dtype=torch.float64), ValueError, "dtype"),
        (dict(trials=2, dtype=torch.float64), ValueError, "dtype"),  # numba, the default
        (dict(trials=2, backend="jax"), ValueError, "backend"),
        (dict(trials=2, duration=0.0), ValueError, "duration"),
    ],
)
def test_bad_arguments_are_rejected_before_any_work(monkeypatch, kwargs, error, message):
    def no_work(*args, **kw):
        raise AssertionError("the plan was built before the arguments were checked")

    monkeypatch.setattr(engine, "build_plan", no_work)
    kwargs = dict(kwargs)
    duration = kwargs.pop("duration", 0.01)
    with pytest.raises(error, match=message):
        snn.run_trials(one_population_network(), duration, **kwargs)


def test_run_checks_device_and_dtype_too(monkeypatch):
    monkeypatch.setattr(engine, "build_plan", lambda *a, **k: pytest.fail("plan was built"))
    with pytest.raises(ValueError, match="dtype"):
        snn.run(one_population_network(), 0.01, backend="torch", dtype=torch.int64)
    with pytest.raises(ValueError, match="device"):
        snn.run(one_population_network(), 0.01, backend="numba", device="cpu")


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the error without CUDA")
def test_cuda_without_cuda_says_so():
    with pytest.raises(ValueError, match="CUDA is not available"):
        snn.run_trials(one_population_network(), 0.01, 2, backend="torch", device="cuda")
    with pytest.raises(ValueError, match="CUDA is not available"):
        snn.run(one_population_network(), 0.01, backend="torch", device=torch.device("cuda:0"))


def test_simulate_rejects_malformed_schedules():
    plan = engine.build_plan(one_population_network(), 10, np.random.default_rng(0))
    good = (plan.input_ptr, plan.input_ids)
    assert len(torch_backend.simulate(plan, schedules=[good, good])) == 2
    with pytest.raises(ValueError, match="schedules"):
        torch_backend.simulate(plan, schedules=[])
    with pytest.raises(ValueError, match="schedules"):
        torch_backend.simulate(plan, schedules=[(np.zeros(5, np.int64), plan.input_ids)])
    with pytest.raises(ValueError, match="input-source ids"):
        torch_backend.simulate(plan, schedules=[(np.r_[0, np.ones(10, np.int64)], [0])])


@pytest.mark.gpu
@pytest.mark.parametrize("dtype", [torch.float64, torch.float32])
def test_cuda_matches_cpu_float64(dtype):
    """On CUDA index_add_ adds with atomics in no fixed order, so float64 sums may differ in
    the last bits from the CPU's; over a short run no spike moves.  float32 is compared with
    the tolerance of the float32 CPU test."""
    net = mixed_network(seed=1)
    cpu = snn.run_trials(net, 0.03, 3, backend="torch", rng=3)
    gpu = snn.run_trials(net, 0.03, 3, backend="torch", rng=3, device="cuda",
                           dtype=dtype)
    atol = 1e-5 if dtype == torch.float32 else 1e-12
    for a, b in zip(cpu, gpu):
        assert b.extra["device"].startswith("cuda")
        for pop in a.spikes:
            if dtype == torch.float64:
                np.testing.assert_array_equal(a.spikes[pop].times, b.spikes[pop].times)
                np.testing.assert_array_equal(a.spikes[pop].indices, b.spikes[pop].indices)
            else:
                assert b.mean_rate(pop) == pytest.approx(a.mean_rate(pop), rel=0.1, abs=1.0)
        for pop in a.traces:
            np.testing.assert_allclose(b.traces[pop]["v"], a.traces[pop]["v"], rtol=0,
                                       atol=atol)
            for var in ("syn_exc", "syn_inh"):
                scale = max(np.abs(a.traces[pop][var]).max(), 1e-30)
                np.testing.assert_allclose(b.traces[pop][var], a.traces[pop][var], rtol=0,
                                           atol=(1e-4 if dtype == torch.float32 else 1e-12)
                                           * scale)
