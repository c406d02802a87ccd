"""Device noise as pure functions of conductances (S) and pre-drawn random numbers.

Every function takes the random numbers it needs (standard normals, uniforms in [0, 1)) as
arguments of the conductances' shape, so that tests can feed identical draws; drawing them is
separate (:func:`draw_normals`, :func:`draw_uniforms`, explicit generators).  Inputs may be
torch tensors (any device) or numpy arrays; the result has the type of the first argument.
Computation is in float64 for numpy inputs and in the tensor's own dtype for tensors.
"""

from __future__ import annotations

import math

import numpy as np
import torch

from snn._random import torch_generator
from snn.validation import check_nonnegative

from .presets import DevicePreset

__all__ = [
    "draw_normals",
    "draw_uniforms",
    "drift",
    "drift_exponent_stats",
    "program",
    "programming_noise_std",
    "quantize_levels",
    "read",
    "read_noise_std",
    "sample_drift_exponents",
    "stuck_at_faults",
]

_ZERO_CLIP = 1e-7  # relative conductance floor inside logarithms (as aihwkit)


def _to_torch(*arrays):
    """Tensors for the arrays and whether the first one was numpy."""
    was_numpy = isinstance(arrays[0], np.ndarray)
    ref = next((a for a in arrays if isinstance(a, torch.Tensor)), None)
    out = []
    for a in arrays:
        if isinstance(a, np.ndarray):
            t = torch.from_numpy(np.asarray(a, dtype=np.float64))
            if ref is not None:
                t = t.to(device=ref.device, dtype=ref.dtype)
            out.append(t)
        elif isinstance(a, torch.Tensor):
            out.append(a)
        else:
            raise TypeError(f"expected a torch tensor or numpy array, got {type(a).__name__}")
    for a in out[1:]:
        if a.shape != out[0].shape:
            raise ValueError(f"random draws must have the conductances' shape "
                             f"{tuple(out[0].shape)}, got {tuple(a.shape)}")
    return out, was_numpy


def _back(t: torch.Tensor, was_numpy: bool):
    return t.detach().cpu().numpy() if was_numpy else t


def draw_normals(shape: tuple[int, ...],
                 rng: torch.Generator | np.random.Generator | int | None = None,
                 *, device: torch.device | str = "cpu", dtype: torch.dtype = torch.float64
                 ) -> torch.Tensor | np.ndarray:
    """Standard normals.

    Args:
        shape: the shape of the draw.
        rng: a ``torch.Generator``, an int seed or None (a fresh torch generator; torch's
            global one is never used), or a ``numpy.random.Generator``.
        device: where the torch result goes.
        dtype: the torch result's dtype.

    Returns:
        A torch tensor of ``shape`` for a torch generator or seed (drawn on CPU, then
        moved to ``device``, so a seed gives the same numbers on every device), a float64
        numpy array for a numpy generator.
    """
    if isinstance(rng, np.random.Generator):
        return rng.standard_normal(shape)
    return torch.randn(tuple(shape), generator=torch_generator(rng), dtype=dtype).to(device)


def draw_uniforms(shape: tuple[int, ...],
                  rng: torch.Generator | np.random.Generator | int | None = None,
                  *, device: torch.device | str = "cpu", dtype: torch.dtype = torch.float64
                  ) -> torch.Tensor | np.ndarray:
    """Uniforms in [0, 1) of ``shape``; arguments and result as :func:`draw_normals`."""
    if isinstance(rng, np.random.Generator):
        return rng.random(shape)
    return torch.rand(tuple(shape), generator=torch_generator(rng), dtype=dtype).to(device)


def quantize_levels(g, preset: DevicePreset):
    """Round conductances to the nearest of the preset's ``levels`` evenly spaced in
    ``[g_min, g_max]`` (clipped into the range); identity (after clipping) for ``levels=None``."""
    (g,), was_numpy = _to_torch(g)
    g = g.clamp(preset.g_min, preset.g_max)
    if preset.levels is not None:
        step = (preset.g_max - preset.g_min) / (preset.levels - 1)
        g = torch.round((g - preset.g_min) / step) * step + preset.g_min
    return _back(g, was_numpy)


def programming_noise_std(g_target, preset: DevicePreset):
    """Programming noise std (S) at target conductance ``g_target`` (S):
    ``max(c0 + c1 r + c2 r^2, 0)``, ``r = g_target / g_max``."""
    (g,), was_numpy = _to_torch(g_target)
    r = g / preset.g_max
    c0, c1, c2 = preset.prog_noise_coeffs
    return _back((c0 + c1 * r + c2 * r * r).clamp(min=0.0), was_numpy)


def program(g_target, normals, preset: DevicePreset):
    """Programmed conductance (S): ``g_target + sigma_prog(g_target) * normals``, times a fixed
    per-device gain when the preset has device-to-device variation (then ``normals`` must have
    a leading axis of 2: ``[0]`` programming, ``[1]`` variation); clipped at 0 S."""
    g_target_t, was_numpy = _to_torch(g_target)
    g_target_t = g_target_t[0]
    (n,), _ = _to_torch(normals)
    if isinstance(n, torch.Tensor) and isinstance(g_target_t, torch.Tensor):
        n = n.to(device=g_target_t.device, dtype=g_target_t.dtype)
    variation = preset.device_variation > 0
    if variation:
        if n.shape != (2, *g_target_t.shape):
            raise ValueError(f"with device variation, normals must have shape "
                             f"{(2, *g_target_t.shape)}, got {tuple(n.shape)}")
        n_prog, n_var = n[0], n[1]
    else:
        if n.shape != g_target_t.shape:
            raise ValueError(f"normals must have the conductances' shape "
                             f"{tuple(g_target_t.shape)}, got {tuple(n.shape)}")
        n_prog = n
    sigma = programming_noise_std(g_target_t, preset)
    g = g_target_t + sigma * n_prog
    if variation:
        g = g * (1.0 + preset.device_variation * n_var)
    return _back(g.clamp(min=0.0), was_numpy)


def drift_exponent_stats(g_target, preset: DevicePreset):
    """Mean and std of the drift exponent ``nu`` at target conductance ``g_target`` (S),
    before any folding to ``|nu|``."""
    (g,), was_numpy = _to_torch(g_target)
    log_r = torch.log((g / preset.g_max).abs().clamp(min=_ZERO_CLIP))
    a, b, lo, hi = preset.drift_mean
    mean = (a * log_r + b).clamp(lo, hi)
    a, b, lo, hi = preset.drift_std
    std = (a * log_r + b).clamp(lo, hi)
    return _back(mean, was_numpy), _back(std, was_numpy)


def sample_drift_exponents(g_target, normals, preset: DevicePreset):
    """Per-device drift exponents ``nu = mean(g) + std(g) * normals`` (``|nu|`` where the
    preset folds them), dimensionless."""
    (g, n), was_numpy = _to_torch(g_target, normals)
    mean, std = drift_exponent_stats(g, preset)
    nu = mean + std * n.to(g.dtype)
    if preset.drift_exponent_abs:
        nu = nu.abs()
    return _back(nu, was_numpy)


def drift(g_prog, nu, t: float, preset: DevicePreset):
    """Conductance (S) ``t`` seconds after programming: ``g_prog ((t + t0) / t0) ** -nu``."""
    t = check_nonnegative("t", t, unit="s")
    (g, nu_t), was_numpy = _to_torch(g_prog, nu)
    factor = (t + preset.drift_t0) / preset.drift_t0
    if factor == 1.0:
        return _back(g.clone(), was_numpy)
    return _back(g * torch.pow(torch.as_tensor(factor, dtype=g.dtype, device=g.device),
                               -nu_t.to(g.dtype)), was_numpy)


def read_noise_std(g_prog, t: float, preset: DevicePreset):
    """Relative std of the 1/f read noise accumulated ``t`` s after programming at programmed
    conductance ``g_prog`` (S): ``q(r) sqrt(ln((t + t0 + t_read) / (2 t_read)))``."""
    t = check_nonnegative("t", t, unit="s")
    (g,), was_numpy = _to_torch(g_prog)
    r = (g / preset.g_max).abs()
    q = (preset.read_noise_coeff
         / torch.pow(r, preset.read_noise_exponent).clamp(min=1e-3)).clamp(
        max=preset.read_noise_max)
    window = math.sqrt(math.log((t + preset.drift_t0 + preset.t_read) / (2 * preset.t_read)))
    return _back(q * window, was_numpy)


def read(g, normals, t: float, preset: DevicePreset, *, g_prog=None):
    """One read of (drifted) conductances ``g`` (S) at ``t`` s after programming:
    ``g + |g| sigma_read * normals``, clipped at 0 S.  ``g_prog`` (programmed conductance) sets
    the noise level; it defaults to ``g``."""
    (g_t, n), was_numpy = _to_torch(g, normals)
    if preset.read_noise_coeff == 0.0:
        return _back(g_t.clone(), was_numpy)
    ref = g_t if g_prog is None else _to_torch(g_prog, g_t)[0][0]
    sigma = read_noise_std(ref, t, preset)
    return _back((g_t + g_t.abs() * sigma * n.to(g_t.dtype)).clamp(min=0.0), was_numpy)


def stuck_at_faults(g, uniforms, preset: DevicePreset):
    """Conductances with stuck devices replaced: ``uniforms < p_min`` -> ``g_min``,
    ``p_min <= uniforms < p_min + p_max`` -> ``g_max``.  Returns ``(g, stuck)`` where ``stuck``
    is 0 (healthy), -1 (stuck at g_min) or +1 (stuck at g_max), as int8."""
    (g_t, u), was_numpy = _to_torch(g, uniforms)
    p_min, p_max = preset.stuck_at_gmin_rate, preset.stuck_at_gmax_rate
    low = u < p_min
    high = (u >= p_min) & (u < p_min + p_max)
    g_out = torch.where(low, torch.full_like(g_t, preset.g_min),
                        torch.where(high, torch.full_like(g_t, preset.g_max), g_t))
    stuck = high.to(torch.int8) - low.to(torch.int8)
    return _back(g_out, was_numpy), _back(stuck, was_numpy)
