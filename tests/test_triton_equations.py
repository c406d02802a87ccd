"""The Triton kernels keep their own copy of the model's equations (Triton cannot call Python
functions); these checks hold that copy to the one definition of each equation:
:func:`snn.models.reset_membrane` / :func:`snn.models.fire_and_reset` /
:func:`snn.models.free_potential_current` (forward), :func:`snn.layers.adjoint.lif_adjoint`
(backward) and :func:`snn.layers.surrogate.pseudo_derivative`, evaluated on the same grid of
inputs in float32 and float64.  The kernels run under Triton's interpreter (switched on
before they are defined, so in a subprocess) and must agree bit for bit.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

triton = pytest.importorskip("triton",
                             reason="Triton comes with the test extra on Linux x86_64 only")
import triton.language as tl  # noqa: E402

from snn import models  # noqa: E402
from snn.layers import Surrogate  # noqa: E402
from snn.layers.adjoint import lif_adjoint  # noqa: E402
from snn.layers.surrogate import SURROGATE_KINDS  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
BLOCK = 128


def _grid(dtype: torch.dtype) -> tuple[torch.Tensor, torch.Tensor]:
    """Free membranes ``u`` across and far from the thresholds ``theta``, with exact zeros
    of ``u - theta``."""
    gen = torch.Generator().manual_seed(5)
    u = torch.cat([torch.linspace(-3.0, 3.0, 241, dtype=torch.float64),
                   torch.randn(271, generator=gen, dtype=torch.float64)]).to(dtype)
    theta = (0.5 + torch.rand(u.shape, generator=gen, dtype=torch.float64)).to(dtype)
    theta[::7] = u[::7]  # exactly at the threshold: no spike, largest pseudo-derivative
    return u, theta


from snn.layers import triton_kernels as tk  # noqa: E402


# Wrapper kernels around the Triton helpers (defined at import; run under the interpreter).
@triton.jit
def _surrogate_kernel(z_ptr, out_ptr, n, slope_arg: tl.float64, scale_arg: tl.float64,
                      inner_arg: tl.float64, SURROGATE: tl.constexpr, BLOCK: tl.constexpr):
    dtype = z_ptr.dtype.element_ty
    offs = tl.program_id(0) * BLOCK + tl.arange(0, BLOCK)
    mask = offs < n
    z = tl.load(z_ptr + offs, mask=mask, other=0.0)
    out = tk._surrogate(z, tk._const(slope_arg, dtype), tk._const(scale_arg, dtype),
                        tk._const(inner_arg, dtype), SURROGATE)
    tl.store(out_ptr + offs, out, mask=mask)

@triton.jit
def _after_step_kernel(u_ptr, theta_ptr, out_ptr, n, v_reset_arg: tl.float64,
                       subtract_arg: tl.float64, reset_const_arg: tl.float64,
                       BLOCK: tl.constexpr):
    dtype = u_ptr.dtype.element_ty
    offs = tl.program_id(0) * BLOCK + tl.arange(0, BLOCK)
    mask = offs < n
    u = tl.load(u_ptr + offs, mask=mask, other=0.0)
    theta = tl.load(theta_ptr + offs, mask=mask, other=0.0)
    out = tk._after_step(u, theta, tk._const(v_reset_arg, dtype),
                         tk._const(subtract_arg, dtype), tk._const(reset_const_arg, dtype))
    tl.store(out_ptr + offs, out, mask=mask)


def _equal(a: torch.Tensor, b: torch.Tensor) -> int:
    """Number of elements that differ (NaN never occurs on these grids)."""
    return int((a != b).sum())


def _report() -> None:
    """Subprocess entry point (TRITON_INTERPRET=1): mismatch counts per check, as JSON."""
    from snn.layers import functional

    out = {"interpreted": tk.interpreted()}
    for dtype in (torch.float32, torch.float64):
        name = str(dtype).split(".")[1]
        u, theta = _grid(dtype)
        n = u.numel()
        grid = (triton.cdiv(n, BLOCK),)
        for kind in SURROGATE_KINDS:
            surrogate = Surrogate(kind, 1.7)
            got = torch.empty_like(u)
            _surrogate_kernel[grid](u - theta, got, n, *surrogate.constants,
                                    SURROGATE=surrogate.code, BLOCK=BLOCK)
            out[f"{name}/surrogate/{kind}"] = _equal(got, surrogate.derivative(u - theta))
        for subtract in (0.0, 1.0):
            v_reset = -0.2
            got = torch.empty_like(u)
            _after_step_kernel[grid](u, theta, got, n, v_reset, subtract,
                                     (1.0 - subtract) * v_reset, BLOCK=BLOCK)
            want = models.reset_membrane(u, models.heaviside(u - theta), theta, v_reset, subtract)
            out[f"{name}/reset/subtract={subtract:g}"] = _equal(got, want)

        # One step of the whole kernels over the grid: B = n rows of one neuron each.
        gen = torch.Generator().manual_seed(9)

        def rand(lo, hi, gen=gen, n=n, dtype=dtype):
            return (lo + (hi - lo) * torch.rand(n, 1, generator=gen, dtype=torch.float64)
                    ).to(dtype)

        v0, a0, x = rand(-0.5, 1.5), rand(0.0, 0.3), rand(-0.5, 1.5)
        beta, gain, threshold = rand(0.8, 1.0)[:1, 0], rand(0.5, 1.5)[:1, 0], theta[:1]
        for reset, kind, detach in (("subtract", "arctan", False), ("value", "triangle", True),
                                    ("subtract", "fast_sigmoid", True)):
            cfg = functional.LIFConfig(
                v_rest=0.05, v_reset=-0.1, subtract=reset == "subtract", decay_adapt=0.9,
                threshold_increment=0.3, surrogate=Surrogate(kind, 1.7), detach_reset=detach,
                per_step_threshold=True)
            key = f"{name}/step/{reset}/{kind}/detach={detach}"
            spikes, v1, a1, u_seq, theta_seq = tk.lif_forward(x[None], v0, a0, beta, gain,
                                                              threshold, cfg)
            c = cfg.coeffs(beta, gain, threshold)
            state = models.NeuronState(v0, 0.0, 0.0, a0, 0.0)
            u_want = models.free_potential_current(state, x, c)
            new, s_want = models.fire_and_reset(state, u_want, 0.0, 1.0, c, models.heaviside)
            out[key + "/forward"] = sum(_equal(g, w) for g, w in (
                (u_seq[0], u_want), (spikes[0], s_want), (v1, new.v), (a1, new.adaptation)))
            g_s, g_v, g_a = rand(-1, 1)[None], rand(-1, 1), rand(-1, 1)
            grad_x, g_v0, g_a0, g_beta, g_gain, g_theta = tk.lif_backward(
                g_s, g_v, g_a, u_seq, theta_seq, v0, x[None], beta, gain, cfg)
            _, v_reset, subtract, decay_adapt, threshold_increment = cfg.scalars
            z = u_seq[0] - theta_seq[0]
            du, dtheta = lif_adjoint(
                models.heaviside(z), cfg.surrogate.derivative(z), u_seq[0], theta_seq[0],
                g_s[0], g_v, g_a, v_reset, subtract, 1.0 - subtract, threshold_increment,
                0.0 if detach else 1.0, 1.0)
            out[key + "/backward"] = sum(_equal(g, w) for g, w in (
                (grad_x[0], du * gain), (g_v0, du * beta), (g_theta, dtheta),
                (g_a0, (dtheta + g_a) * decay_adapt), (g_beta, du * (v0 - cfg.v_rest)),
                (g_gain, du * x)))
    print(json.dumps(out))


@pytest.fixture(scope="module")
def report() -> dict:
    env = {**os.environ, "TRITON_INTERPRET": "1"}
    proc = subprocess.run(
        [sys.executable, "-c", "from tests.test_triton_equations import _report; _report()"],
        cwd=REPO, env=env, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, f"interpreter run failed:\n{proc.stderr[-4000:]}"
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    assert result.pop("interpreted"), "TRITON_INTERPRET=1 did not switch the interpreter on"
    return result


def test_triton_copy_of_the_equations_equals_the_model_functions(report):
    assert len(report) == 2 * (3 + 2 + 3 * 2)
    assert report == dict.fromkeys(report, 0), {k: v for k, v in report.items() if v}
