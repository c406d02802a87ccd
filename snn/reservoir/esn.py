"""Echo state network (rate reservoir), the time loop compiled with numba.

Update (ReservoirPy's leaky-integrator form):
``x[t] = (1 - leak) x[t-1] + leak tanh(W x[t-1] + W_in u[t] + b)``, ``x[-1] = x0``.

With ``dale=True`` the reservoir has excitatory and inhibitory units (``frac_exc``): every
column of ``W`` (a presynaptic unit) has one sign.  Such a reservoir is held as
``W = W_exc + diag(g) W_inh`` with a per-unit inhibitory gain ``g`` (shape ``[n_units]``,
1 at construction), which :mod:`snn.reservoir.adaptation` adapts.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numba
import numpy as np

from .._random import numpy_generator as _generator
from .readout import check_states

__all__ = ["ESNConfig", "ESN", "esn_states", "ACTIVATIONS"]

ACTIVATIONS = ("tanh", "rectified_tanh")


@dataclass(frozen=True)
class ESNConfig:
    """Echo state network hyper-parameters (all dimensionless).

    ``spectral_radius``: largest |eigenvalue| of ``W`` after rescaling (> 0).
    ``leak``: leak rate in (0, 1].  ``input_scaling``: ``W_in`` entries are
    ``+-input_scaling`` (Bernoulli signs, ReservoirPy's default) on a fraction
    ``input_connectivity`` of the entries.  ``connectivity``: fraction of nonzero ``W``
    entries (normal values).  Bias ``b ~ bias_mean + U(-bias_scaling, bias_scaling)``.
    ``activation``: ``"tanh"`` or ``"rectified_tanh"`` (``max(0, tanh)``: non-negative rates,
    so that inhibitory units really inhibit; used with ``dale=True`` for E/I adaptation).
    """

    n_units: int = 100
    spectral_radius: float = 0.9
    leak: float = 1.0
    input_scaling: float = 1.0
    connectivity: float = 0.1
    input_connectivity: float = 1.0
    bias_scaling: float = 0.0
    bias_mean: float = 0.0
    dale: bool = False
    frac_exc: float = 0.8
    activation: str = "tanh"

    def __post_init__(self) -> None:
        if isinstance(self.n_units, bool) or not isinstance(self.n_units, int) or \
                self.n_units < 1:
            raise ValueError(f"n_units must be an integer >= 1, got {self.n_units!r}")
        checks = (("spectral_radius", self.spectral_radius, 0.0, math.inf, False),
                  ("leak", self.leak, 0.0, 1.0, True),
                  ("input_scaling", self.input_scaling, 0.0, math.inf, True),
                  ("connectivity", self.connectivity, 0.0, 1.0, True),
                  ("input_connectivity", self.input_connectivity, 0.0, 1.0, True),
                  ("frac_exc", self.frac_exc, 0.0, 1.0, True))
        for name, value, lo, hi, hi_closed in checks:
            if isinstance(value, bool) or not isinstance(value, (int, float)) or \
                    not math.isfinite(value) or value <= lo or value > hi or \
                    (value == hi and not hi_closed):
                raise ValueError(f"{name} must be a finite number in ({lo:g}, {hi:g}"
                                 f"{']' if hi_closed else ')'}, got {value!r}")
        if self.activation not in ACTIVATIONS:
            raise ValueError(f"activation must be one of {ACTIVATIONS}, got {self.activation!r}")
        if not (isinstance(self.bias_mean, (int, float)) and math.isfinite(self.bias_mean)):
            raise ValueError(f"bias_mean must be a finite number, got {self.bias_mean!r}")
        if not (isinstance(self.bias_scaling, (int, float)) and self.bias_scaling >= 0):
            raise ValueError(f"bias_scaling must be a number >= 0, got {self.bias_scaling!r}")


@numba.njit(cache=True)
def _run_kernel(indptr, indices, data, drive, x0, leak, rectify):  # pragma: no cover - compiled
    n_steps, n = drive.shape
    out = np.empty((n_steps, n))
    x = x0.copy()
    pre = np.empty(n)
    for t in range(n_steps):
        for i in range(n):
            acc = drive[t, i]
            for k in range(indptr[i], indptr[i + 1]):
                acc += data[k] * x[indices[k]]
            pre[i] = acc
        for i in range(n):
            f = math.tanh(pre[i])
            if rectify and f < 0.0:
                f = 0.0
            x[i] = (1.0 - leak) * x[i] + leak * f
            out[t, i] = x[i]
    return out


def esn_states(w, w_in, bias, u, x0, leak, rectify: bool = False) -> np.ndarray:
    """Compiled ESN loop over inputs ``u [T, n_in]`` from ``x0 [N]``: states ``[T, N]``.

    ``w [N, N]`` is stored row-sparse (only its nonzeros are visited each step) and the
    input drive ``u W_in^T + b`` is computed for all steps at once before the loop.
    """
    w = np.asarray(w, dtype=np.float64)
    rows, cols = np.nonzero(w)
    indptr = np.zeros(w.shape[0] + 1, dtype=np.int64)
    np.cumsum(np.bincount(rows, minlength=w.shape[0]), out=indptr[1:])
    drive = np.ascontiguousarray(np.asarray(u, np.float64) @ np.asarray(w_in, np.float64).T
                                 + np.asarray(bias, np.float64))
    return _run_kernel(indptr, cols.astype(np.int64), np.ascontiguousarray(w[rows, cols]),
                       drive, np.ascontiguousarray(x0, np.float64), float(leak), bool(rectify))


class ESN:
    """An echo state network with ``n_inputs`` inputs built from ``config`` and ``seed``.

    Attributes: ``W`` ``[N, N]`` (the effective recurrent matrix), ``W_in`` ``[N, n_in]``,
    ``bias`` ``[N]``; for Dale reservoirs also ``w_exc``, ``w_inh`` and ``gain``.
    Give ``W``/``W_in``/``bias`` to use fixed matrices (then ``config``'s random draws are
    skipped and ``W`` is used as given, not rescaled).
    """

    def __init__(self, config: ESNConfig, n_inputs: int = 1, seed=None, *,
                 W: np.ndarray | None = None, W_in: np.ndarray | None = None,
                 bias: np.ndarray | None = None) -> None:
        if not isinstance(config, ESNConfig):
            raise TypeError(f"config must be an ESNConfig, got {type(config).__name__}")
        if isinstance(n_inputs, bool) or not isinstance(n_inputs, (int, np.integer)) or \
                n_inputs < 1:
            raise ValueError(f"n_inputs must be an integer >= 1, got {n_inputs!r}")
        self.config = config
        self.n_inputs = int(n_inputs)
        n = config.n_units
        gen = _generator(seed)
        if W is None:
            mask = gen.random((n, n)) < config.connectivity
            values = gen.normal(0.0, 1.0, (n, n))
            if config.dale:
                n_exc = int(round(config.frac_exc * n))
                sign = np.where(np.arange(n) < n_exc, 1.0, -1.0)
                # Inhibitory columns are stronger so that excitation and inhibition balance.
                scale = np.where(sign > 0, 1.0, n_exc / max(n - n_exc, 1))
                values = np.abs(values) * sign * scale
            w = values * mask
            radius = np.max(np.abs(np.linalg.eigvals(w)))
            if radius == 0:
                raise ValueError("the random recurrent matrix is nilpotent (all eigenvalues "
                                 "0); raise connectivity or n_units")
            w = w * (config.spectral_radius / radius)
        else:
            w = check_states("W", W)
            if w.shape != (n, n):
                raise ValueError(f"W must have shape ({n}, {n}), got {w.shape}")
        if W_in is None:
            signs = gen.choice([-1.0, 1.0], size=(n, self.n_inputs))
            keep = gen.random((n, self.n_inputs)) < config.input_connectivity
            w_in = signs * keep * config.input_scaling
        else:
            w_in = check_states("W_in", W_in)
            if w_in.shape != (n, self.n_inputs):
                raise ValueError(f"W_in must have shape ({n}, {self.n_inputs}), got {w_in.shape}")
        if bias is None:
            b = config.bias_mean + (gen.uniform(-config.bias_scaling, config.bias_scaling, n)
                                    if config.bias_scaling > 0 else np.zeros(n))
        else:
            b = check_states("bias", np.reshape(bias, (1, -1)))[0]
            if b.shape != (n,):
                raise ValueError(f"bias must have shape ({n},), got {b.shape}")
        self.w_exc = np.where(w > 0, w, 0.0) if config.dale else w
        self.w_inh = np.where(w < 0, w, 0.0) if config.dale else np.zeros_like(w)
        self.gain = np.ones(n)
        self.W_in = w_in
        self.bias = b

    @property
    def W(self) -> np.ndarray:
        """Effective recurrent matrix ``w_exc + diag(gain) w_inh`` ``[N, N]``."""
        return self.w_exc + self.gain[:, None] * self.w_inh

    @property
    def n_units(self) -> int:
        return self.config.n_units

    def _inputs(self, u) -> np.ndarray:
        arr = np.asarray(u)
        if arr.ndim == 1:
            arr = arr[:, None]
        arr = check_states("u", arr)
        if arr.shape[1] != self.n_inputs:
            raise ValueError(f"u must have shape [n_steps, {self.n_inputs}], got {arr.shape}")
        return arr

    def run(self, u, x0: np.ndarray | None = None) -> np.ndarray:
        """States ``[T, N]`` for inputs ``u`` (``[T]`` or ``[T, n_inputs]``) from ``x0``
        (zeros by default)."""
        arr = self._inputs(u)
        x = np.zeros(self.n_units) if x0 is None else np.asarray(x0, dtype=np.float64)
        if x.shape != (self.n_units,):
            raise ValueError(f"x0 must have shape ({self.n_units},), got {x.shape}")
        return esn_states(self.W, self.W_in, self.bias, arr, x, self.config.leak,
                          self.config.activation == "rectified_tanh")
