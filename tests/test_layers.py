"""Training layers: the fused LIF op against its specification, finite differences, an
unfused autograd loop, snntorch and SpikingJelly."""

import itertools
import math

import numpy as np
import pytest
import torch

from snn.layers import ALIF, IF, LIF, LayerState, Surrogate, lif_sequence, spike

KINDS = ("fast_sigmoid", "arctan", "triangle")


def _inputs(seed, t=12, b=3, n=7, dtype=torch.float64):
    g = torch.Generator().manual_seed(seed)
    return dict(
        x=torch.randn(t, b, n, generator=g, dtype=dtype) * 0.6 + 0.3,
        beta=torch.rand(n, generator=g, dtype=dtype) * 0.5 + 0.45,
        threshold=torch.rand(n, generator=g, dtype=dtype) * 0.5 + 0.75,
        gain=torch.tensor(0.9, dtype=dtype),
        v0=torch.randn(b, n, generator=g, dtype=dtype) * 0.3,
        a0=torch.rand(b, n, generator=g, dtype=dtype) * 0.1,
    )


def _settings(reset, adaptive, detach, kind):
    return dict(reset=reset, threshold_increment=0.3 if adaptive else 0.0,
                decay_adapt=0.9 if adaptive else 1.0, detach_reset=detach,
                surrogate=Surrogate(kind, 1.5), v_reset=-0.1 if reset == "value" else 0.0)


def _run_with_grads(inputs, backend, settings):
    leaves = {k: v.clone().requires_grad_() for k, v in inputs.items()}
    s, v_last, a_last = lif_sequence(leaves["x"], leaves["beta"], leaves["threshold"],
                                     gain=leaves["gain"], v0=leaves["v0"], adaptation0=leaves["a0"],
                                     backend=backend, **settings)
    weights = torch.randn(s.shape, generator=torch.Generator().manual_seed(99),
                          dtype=torch.float64).to(s.dtype)
    loss = (s * weights).sum() + (v_last ** 2).sum() + (a_last * 0.7).sum()
    grads = torch.autograd.grad(loss, list(leaves.values()))
    return (s, v_last, a_last), dict(zip(leaves, grads))


GRID = list(itertools.product(("subtract", "value"), (False, True), (False, True), KINDS))


@pytest.mark.parametrize("reset,adaptive,detach,kind", GRID)
def test_numba_kernels_equal_torch_specification(reset, adaptive, detach, kind):
    """Forward bitwise equal in float64, gradients equal to rounding."""
    inputs = _inputs(1)
    settings = _settings(reset, adaptive, detach, kind)
    (s_t, v_t, a_t), g_t = _run_with_grads(inputs, "torch", settings)
    (s_n, v_n, a_n), g_n = _run_with_grads(inputs, "numba", settings)
    assert s_t.sum() > 0, "the case must spike"
    assert torch.equal(s_t, s_n) and torch.equal(v_t, v_n) and torch.equal(a_t, a_n)
    for name in g_t:
        torch.testing.assert_close(g_n[name], g_t[name], rtol=1e-12, atol=1e-13, msg=name)


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("dtype", [torch.float64, torch.float32])
def test_input_gradient_without_parameter_gradients(kind, dtype):
    """The CPU kernels skip the decay/threshold gradients when they are not needed; the input
    gradient must not change."""
    inputs = _inputs(5, t=15, b=4, n=33, dtype=dtype)
    settings = _settings("subtract", True, False, kind)
    grads = {}
    for backend in ("torch", "numba"):
        x = inputs["x"].clone().requires_grad_()
        s, v_last, _ = lif_sequence(x, inputs["beta"], inputs["threshold"], v0=inputs["v0"],
                                    backend=backend, **settings)
        (grads[backend],) = torch.autograd.grad((s * 1.5).sum() + v_last.sum(), [x])
    tol = dict(rtol=1e-12, atol=1e-13) if dtype == torch.float64 else dict(rtol=1e-4, atol=1e-5)
    torch.testing.assert_close(grads["numba"], grads["torch"], **tol)


@pytest.mark.parametrize("reset,adaptive,kind",
                         list(itertools.product(("subtract", "value"), (False, True), KINDS)))
def test_gradcheck_float64(reset, adaptive, kind):
    """With the spike replaced by the surrogate's primitive the op is smooth, and its
    hand-written backward must match finite differences for every input and parameter.
    (With a Heaviside spike no surrogate-gradient op can pass: a step has zero finite
    differences.)  The detached-reset variant drops a gradient path on purpose; it is
    checked against autograd below instead."""
    inputs = _inputs(2, t=8, b=2, n=4)
    settings = _settings(reset, adaptive, False, kind)

    def op(x, beta, threshold, gain, v0, a0):
        return lif_sequence(x, beta, threshold, gain=gain, v0=v0, adaptation0=a0, backend="torch",
                            relaxed=True, **settings)

    leaves = [v.clone().requires_grad_() for v in inputs.values()]
    assert torch.autograd.gradcheck(op, leaves, eps=1e-6, atol=1e-7, rtol=1e-5)


def _unfused_loop(x, beta, threshold, gain, v0, a0, reset, threshold_increment, decay_adapt,
                  detach_reset, surrogate, v_reset):
    """The same neuron written step by step with autograd through every operation."""
    v, a, spikes = v0, a0, []
    for t in range(x.shape[0]):
        u = beta * v + gain * x[t]
        a = a * decay_adapt
        theta = threshold + a
        s = spike(u - theta, surrogate)
        s_reset = s.detach() if detach_reset else s
        if reset == "subtract":
            v = u - s_reset * (theta - v_reset)
        else:
            v = u + s_reset * (v_reset - u)
        a = a + threshold_increment * s
        spikes.append(s)
    return torch.stack(spikes), v, a


@pytest.mark.parametrize("reset,adaptive,detach,kind", GRID)
def test_backward_equals_autograd_of_unfused_loop(reset, adaptive, detach, kind):
    inputs = _inputs(3)
    settings = _settings(reset, adaptive, detach, kind)
    (s_f, v_f, a_f), g_f = _run_with_grads(inputs, "numba", settings)
    leaves = {k: v.clone().requires_grad_() for k, v in inputs.items()}
    s, v_last, a_last = _unfused_loop(**leaves, **settings)
    weights = torch.randn(s.shape, generator=torch.Generator().manual_seed(99), dtype=s.dtype)
    loss = (s * weights).sum() + (v_last ** 2).sum() + (a_last * 0.7).sum()
    grads = dict(zip(leaves, torch.autograd.grad(loss, list(leaves.values()))))
    assert torch.equal(s, s_f)
    torch.testing.assert_close(v_last, v_f, rtol=1e-12, atol=1e-12)
    for name in grads:
        torch.testing.assert_close(g_f[name], grads[name], rtol=1e-9, atol=1e-11, msg=name)


def test_float32_numba_matches_float64():
    inputs = _inputs(4, t=30, b=4, n=50)
    settings = _settings("subtract", True, False, "fast_sigmoid")
    (s64, v64, _), g64 = _run_with_grads(inputs, "numba", settings)
    (s32, v32, _), g32 = _run_with_grads({k: v.float() for k, v in inputs.items()}, "numba",
                                         settings)
    assert s32.dtype == torch.float32
    assert (s32.double() != s64).float().mean() < 1e-3
    torch.testing.assert_close(g32["x"].double(), g64["x"], rtol=1e-3, atol=1e-4)


def test_saves_only_the_free_potential():
    """Memory: the autograd graph keeps u [T, B, N] (and the small inputs), not every
    intermediate of a step loop."""
    x = torch.randn(50, 8, 32, requires_grad=True)
    saved = []

    def pack(t):
        saved.append(t)
        return t

    with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
        lif_sequence(x, 0.9, 1.0)
    big = [t for t in saved if t.numel() >= x.numel()]
    assert len(big) == 1 and big[0].shape == x.shape


def test_large_buffers_are_ordinary_tensors():
    from snn.layers.functional import _empty_like_large

    for like in (torch.zeros(3, 4), torch.zeros(64, 256, 1024).transpose(0, 1)):
        out = _empty_like_large(like)
        assert out.shape == like.shape and out.dtype == like.dtype and out.is_contiguous()
        out.fill_(2.0)
        assert float(out.sum()) == 2.0 * like.numel()


def test_modules_shapes_state_and_learning():
    torch.manual_seed(0)
    x = torch.rand(20, 4, 3, 5) * 0.8
    layer = LIF((3, 5), beta=0.8, learn_beta=True, learn_threshold=True)
    out, state = layer(x, return_state=True)
    assert out.shape == x.shape and isinstance(state, LayerState)
    assert state.v.shape == (4, 3, 5)
    # Running in two halves with the state carried over equals one run.
    first, mid = layer(x[:10], return_state=True)
    second = layer(x[10:], state=mid)
    assert torch.equal(torch.cat([first, second]), out)
    out.sum().backward()
    assert layer.beta.grad.shape == (3, 5) and layer.threshold.grad.abs().sum() > 0
    alif = ALIF(n_neurons=(3, 5), decay_adapt=0.9, threshold_increment=0.2)
    assert alif(x).sum() < LIF((3, 5))(x).sum()  # adaptation lowers the rate
    _, alif_state = alif(x, return_state=True)
    assert alif_state.adaptation.shape == (4, 3, 5) and alif_state.adaptation.max() > 0
    assert LIF(n_neurons=7).beta.shape == (7,)
    integ = IF(threshold=2.0, reset="value")
    assert integ(torch.full((4, 1, 1), 0.6)).flatten().tolist() == [0.0, 0.0, 0.0, 1.0]


def test_from_tau_uses_exact_decay():
    layer = LIF.from_tau(tau=20e-3, dt=1e-3)
    assert layer.beta.item() == pytest.approx(math.exp(-1e-3 / 20e-3), rel=1e-7)


@pytest.mark.parametrize("bad,err", [
    (np.zeros((3, 2, 2)), TypeError),
    (torch.zeros(3, 2, dtype=torch.float32), ValueError),
    (torch.zeros(3, 2, 2, dtype=torch.int64), TypeError),
    (torch.full((3, 2, 2), float("nan")), ValueError),
    (torch.zeros(0, 2, 2), ValueError),
])
def test_bad_input(bad, err):
    with pytest.raises(err, match="x"):
        lif_sequence(bad, 0.9)
    with pytest.raises(err):
        LIF()(bad)


def test_bad_settings():
    x = torch.zeros(3, 2, 4)
    with pytest.raises(ValueError, match="backend"):
        lif_sequence(x, 0.9, backend="cupy")
    with pytest.raises(ValueError, match="reset"):
        lif_sequence(x, 0.9, reset="hard")
    with pytest.raises(ValueError, match="beta"):
        lif_sequence(x, torch.ones(3))
    with pytest.raises(ValueError, match="v0"):
        lif_sequence(x, 0.9, v0=torch.zeros(2, 3))
    with pytest.raises(ValueError, match="relaxed"):
        lif_sequence(x, 0.9, relaxed=True, backend="numba")
    with pytest.raises(ValueError, match="kind"):
        Surrogate("sigmoid")
    with pytest.raises(ValueError, match="slope"):
        Surrogate("arctan", -1.0)
    with pytest.raises(ValueError, match="beta"):
        LIF(beta=1.5)
    with pytest.raises(ValueError, match="features"):
        LIF(5)(torch.zeros(3, 2, 4))
    with pytest.raises(ValueError, match="n_neurons"):
        LIF(n_neurons=0)
    with pytest.raises(TypeError, match=r"n_neurons\[1\]"):
        LIF(n_neurons=(3, 2.5))
    with pytest.raises(ValueError, match="tau"):
        LIF.from_tau(tau=-1.0, dt=1e-3)


# --- peers ------------------------------------------------------------------------------------


def _linear_lif_grads(make_layer, x, weight):
    """Spikes of layer(x @ weight) and the gradients of a spike-count loss w.r.t. x and the
    weight (so the surrogate path through time is exercised)."""
    x = x.clone().requires_grad_()
    w = weight.clone().requires_grad_()
    spikes = make_layer(x @ w)
    target = torch.linspace(0.0, 1.0, spikes.shape[-1], dtype=x.dtype)
    loss = ((spikes.mean(0) - target) ** 2).sum()
    gx, gw = torch.autograd.grad(loss, [x, w])
    return spikes.detach(), gx, gw


@pytest.mark.parametrize("beta,slope", [(0.9, 2.0), (0.7, 5.0)])
def test_matches_snntorch_leaky(beta, slope):
    """snntorch's Leaky (subtract reset, delayed and detached) equals this op with
    ``v_reset = threshold * (1 - 1 / beta)``: its reset ``-threshold`` acts after the decay,
    ours before it, so ours subtracts ``threshold / beta``."""
    snntorch = pytest.importorskip("snntorch", reason="snntorch comes with the test extra")
    from snntorch import surrogate as snn_surrogate

    torch.manual_seed(1)
    x = torch.rand(40, 6, 30, dtype=torch.float64)
    weight = torch.randn(30, 16, dtype=torch.float64) * 0.4
    threshold = 1.0

    def theirs(current):
        leaky = snntorch.Leaky(beta=torch.tensor(beta, dtype=torch.float64),
                               threshold=threshold, reset_mechanism="subtract",
                               spike_grad=snn_surrogate.atan(alpha=slope))
        mem = torch.zeros_like(current[0])
        out = []
        for t in range(current.shape[0]):
            spk, mem = leaky(current[t], mem)
            out.append(spk)
        return torch.stack(out)

    def ours(current):
        return lif_sequence(current, beta, threshold, v_reset=threshold * (1 - 1 / beta),
                            surrogate=Surrogate("arctan", slope), detach_reset=True)[0]

    s_theirs, gx_theirs, gw_theirs = _linear_lif_grads(theirs, x, weight)
    s_ours, gx_ours, gw_ours = _linear_lif_grads(ours, x, weight)
    assert s_theirs.sum() > 0
    assert torch.equal(s_ours, s_theirs)
    # snntorch emits float32 spikes whatever the input dtype, so the gradient reaching its
    # surrogate is rounded to float32 (relative 6e-8) before it flows back through time.
    torch.testing.assert_close(gx_ours, gx_theirs, rtol=1e-6, atol=1e-6)
    torch.testing.assert_close(gw_ours, gw_theirs, rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize("hard_reset,decay_input",
                         list(itertools.product((True, False), (True, False))))
def test_matches_spikingjelly_lifnode(hard_reset, decay_input):
    """SpikingJelly's LIFNode: beta = 1 - 1/tau, gain 1/tau (decay_input) or 1, hard reset
    to 0 or soft reset by subtraction, gradient through the reset (detach_reset=False)."""
    pytest.importorskip("spikingjelly", reason="installed by .ci/venv.sh (--no-deps)")
    from spikingjelly.activation_based import neuron, surrogate

    torch.manual_seed(2)
    tau, slope = 2.5, 2.0
    x = torch.rand(40, 6, 30, dtype=torch.float64) * (2.0 if decay_input else 1.0)
    weight = torch.randn(30, 16, dtype=torch.float64) * 0.4

    def theirs(current):
        node = neuron.LIFNode(tau=tau, decay_input=decay_input, v_threshold=1.0,
                              v_reset=0.0 if hard_reset else None,
                              surrogate_function=surrogate.ATan(alpha=slope),
                              detach_reset=False, step_mode="m")
        return node(current)

    layer = LIF(beta=1.0 - 1.0 / tau, threshold=1.0, reset="value" if hard_reset else "subtract",
                surrogate=Surrogate("arctan", slope), decay_input=decay_input)

    s_theirs, gx_theirs, gw_theirs = _linear_lif_grads(theirs, x, weight)
    s_ours, gx_ours, gw_ours = _linear_lif_grads(layer, x, weight)
    assert s_theirs.sum() > 0
    assert torch.equal(s_ours, s_theirs)
    torch.testing.assert_close(gx_ours, gx_theirs, rtol=1e-9, atol=1e-12)
    torch.testing.assert_close(gw_ours, gw_theirs, rtol=1e-9, atol=1e-12)
