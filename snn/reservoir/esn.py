"""Echo state network (rate reservoir), the time loop compiled with numba.

Update (ReservoirPy's leaky-integrator form):
``x[t] = (1 - leak) x[t-1] + leak tanh(W x[t-1] + W_in u[t] + b)``, ``x[-1] = x0``.

With ``dale=True`` the reservoir has excitatory and inhibitory units (``frac_exc``): every
column of ``W`` (a presynaptic unit) has one sign.  Such a reservoir is held as
``W = W_exc + diag(g) W_inh`` with a per-unit inhibitory gain ``g`` (shape ``[n_neurons]``,
1 at construction), which :mod:`snn.reservoir.adaptation` adapts.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numba
import numpy as np

from .._random import numpy_generator
from ..validation import check_choice, check_int, check_nonnegative, check_real
from .readout import check_states

__all__ = ["ESNConfig", "ESN", "esn_states", "ACTIVATIONS"]

ACTIVATIONS = ("tanh", "rectified_tanh")


@dataclass(frozen=True)
class ESNConfig:
    """Echo state network hyper-parameters (all dimensionless).

    Args:
        n_neurons: number of reservoir units (>= 1).
        spectral_radius: largest |eigenvalue| of ``W`` after rescaling (> 0).
        leak: leak rate in (0, 1].
        input_scaling: ``W_in`` entries are ``+-input_scaling`` (Bernoulli signs,
            ReservoirPy's default), > 0.
        connectivity: fraction of nonzero ``W`` entries (normal values), in (0, 1].
        input_connectivity: fraction of nonzero ``W_in`` entries, in (0, 1].
        bias_scaling: half-width of the uniform bias spread (>= 0): the bias is
            ``b ~ bias_mean + U(-bias_scaling, bias_scaling)``.
        bias_mean: mean bias.
        dale: excitatory and inhibitory units (every column of ``W`` has one sign).
        frac_exc: share of excitatory units with ``dale``, in (0, 1].
        activation: ``"tanh"`` or ``"rectified_tanh"`` (``max(0, tanh)``: non-negative
            rates, so that inhibitory units really inhibit; used with ``dale=True`` for E/I
            adaptation).
    """

    n_neurons: int = 100
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
        check_int("ESNConfig.n_neurons", self.n_neurons, minimum=1)
        check_real("ESNConfig.spectral_radius", self.spectral_radius, minimum=0.0,
                   exclusive_minimum=True)
        for name in ("leak", "connectivity", "input_connectivity", "frac_exc"):
            check_real(f"ESNConfig.{name}", getattr(self, name), minimum=0.0, maximum=1.0,
                       exclusive_minimum=True)
        check_real("ESNConfig.input_scaling", self.input_scaling, minimum=0.0,
                   exclusive_minimum=True)
        check_choice("ESNConfig.activation", self.activation, ACTIVATIONS)
        check_real("ESNConfig.bias_mean", self.bias_mean)
        check_nonnegative("ESNConfig.bias_scaling", self.bias_scaling)
        if not isinstance(self.dale, bool):
            raise TypeError(f"ESNConfig.dale must be a bool, got {type(self.dale).__name__}")


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
    """An echo state network with ``n_inputs`` inputs built from ``config``.

    Args:
        config: the hyper-parameters.
        n_inputs: input channels (>= 1).
        rng: draws ``W``, ``W_in`` and the bias: an int seed, a ``numpy.random.Generator``
            or None (fresh entropy).
        W: a fixed recurrent matrix ``[N, N]``, used as given (not rescaled); None draws it.
        W_in: a fixed input matrix ``[N, n_inputs]``; None draws it.
        bias: a fixed bias ``[N]``; None draws it.

    Shapes:
        ``W`` ``[N, N]`` (the effective recurrent matrix), ``W_in`` ``[N, n_inputs]``,
        ``bias`` ``[N]`` with ``N = config.n_neurons``; for Dale reservoirs also ``w_exc``,
        ``w_inh`` ``[N, N]`` and ``gain`` ``[N]``.
    """

    def __init__(self, config: ESNConfig, n_inputs: int = 1,
                 rng: int | np.random.Generator | None = None, *,
                 W: np.ndarray | None = None, W_in: np.ndarray | None = None,
                 bias: np.ndarray | None = None) -> None:
        if not isinstance(config, ESNConfig):
            raise TypeError(f"config must be an ESNConfig, got {type(config).__name__}")
        self.config = config
        self.n_inputs = check_int("n_inputs", n_inputs, minimum=1)
        n = config.n_neurons
        gen = numpy_generator(rng)
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
                                 "0); raise connectivity or n_neurons")
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
    def n_neurons(self) -> int:
        """Number of reservoir units ``N``."""
        return self.config.n_neurons

    def _inputs(self, u) -> np.ndarray:
        arr = np.asarray(u)
        if arr.ndim == 1:
            arr = arr[:, None]
        arr = check_states("u", arr)
        if arr.shape[1] != self.n_inputs:
            raise ValueError(f"u must have shape [n_steps, {self.n_inputs}], got {arr.shape}")
        return arr

    def run(self, u: np.ndarray, x0: np.ndarray | None = None) -> np.ndarray:
        """Drive the reservoir with ``u`` from the state ``x0``.

        Args:
            u: inputs ``[T]`` or ``[T, n_inputs]``.
            x0: initial state ``[N]`` (zeros by default).

        Returns:
            States ``[T, N]``.
        """
        arr = self._inputs(u)
        x = np.zeros(self.n_neurons) if x0 is None else np.asarray(x0, dtype=np.float64)
        if x.shape != (self.n_neurons,):
            raise ValueError(f"x0 must have shape ({self.n_neurons},), got {x.shape}")
        return esn_states(self.W, self.W_in, self.bias, arr, x, self.config.leak,
                          self.config.activation == "rectified_tanh")
