"""Time-series tasks for reservoirs: memory capacity, NARMA-10 and Mackey-Glass.

All generators take an explicit ``numpy.random.Generator`` or seed and return float64 arrays
of shape ``[n_steps]`` (dimensionless; one sample per discrete time step).

* :func:`memory_capacity_input`: i.i.d. uniform input in ``[-scale, scale]`` (Jaeger 2001).
* :func:`narma10`: the tenth-order NARMA system of Atiya & Parlos (2000) driven by uniform
  input in ``[0, 0.5]``.
* :func:`mackey_glass`: the Mackey-Glass delay differential equation (tau = 17 by default)
  integrated with fourth-order Runge-Kutta at a fixed step whose delayed values lie exactly
  on the integration grid, then sampled every ``sample_interval`` time units.
"""

from __future__ import annotations

import math

import numpy as np

from .._random import numpy_generator as _generator
from ..validation import check_int

__all__ = ["memory_capacity_input", "narma10", "mackey_glass", "delayed_targets"]


def memory_capacity_input(n_steps: int, seed=None, scale: float = 0.5) -> np.ndarray:
    """I.i.d. input ``u[t] ~ U(-scale, scale)``, shape ``[n_steps]``."""
    n_steps = check_int("n_steps", n_steps, minimum=1)
    if not (isinstance(scale, (int, float)) and math.isfinite(scale) and scale > 0):
        raise ValueError(f"scale must be a finite number > 0, got {scale!r}")
    return _generator(seed).uniform(-scale, scale, n_steps)


def delayed_targets(u: np.ndarray, max_delay: int) -> np.ndarray:
    """``y[t, k-1] = u[t - k]`` for ``k = 1..max_delay`` (zero before the start); shape
    ``[n_steps, max_delay]``: the targets of the memory-capacity task."""
    u = np.asarray(u, dtype=np.float64)
    if u.ndim != 1 or u.size == 0:
        raise ValueError(f"u must be a non-empty 1-D array, got shape {u.shape}")
    max_delay = check_int("max_delay", max_delay, minimum=1)
    y = np.zeros((u.size, max_delay))
    for k in range(1, max_delay + 1):
        y[k:, k - 1] = u[:-k] if k < u.size else []
    return y


def narma10(n_steps: int | None = None, seed=None, u: np.ndarray | None = None
            ) -> tuple[np.ndarray, np.ndarray]:
    """NARMA-10 (Atiya & Parlos 2000): returns ``(u, y)``, each shape ``[n_steps]``, with

    ``y[t+1] = 0.3 y[t] + 0.05 y[t] sum_{i=0..9} y[t-i] + 1.5 u[t-9] u[t] + 0.1``

    and ``u ~ U(0, 0.5)`` unless ``u`` is given.  ``y`` starts at zero for the first 10
    steps.  (The recursion can diverge for rare inputs; it is then redrawn from the
    generator, so a seed always gives a bounded series.)
    """
    gen = _generator(seed)
    if u is not None:
        u = np.asarray(u, dtype=np.float64)
        if u.ndim != 1 or u.size < 11:
            raise ValueError(f"u must be a 1-D array of at least 11 steps, got shape {u.shape}")
        y = _narma_recursion(u)
        if not np.all(np.isfinite(y)):
            raise ValueError("u makes NARMA-10 diverge; use inputs in [0, 0.5]")
        return u, y
    n_steps = check_int("n_steps", n_steps, minimum=11)
    for _ in range(100):
        u = gen.uniform(0.0, 0.5, n_steps)
        y = _narma_recursion(u)
        if np.all(np.isfinite(y)) and np.abs(y).max() < 10:
            return u, y
    raise RuntimeError("NARMA-10 diverged for 100 input draws")  # pragma: no cover


def _narma_recursion(u: np.ndarray) -> np.ndarray:
    y = np.zeros(u.size)
    with np.errstate(over="ignore", invalid="ignore"):
        for t in range(9, u.size - 1):
            y[t + 1] = (0.3 * y[t] + 0.05 * y[t] * y[t - 9:t + 1].sum()
                        + 1.5 * u[t - 9] * u[t] + 0.1)
    return y


def mackey_glass(n_steps: int, tau: float = 17.0, *, beta: float = 0.2, gamma: float = 0.1,
                 power: float = 10.0, x0: float = 1.2, h: float = 0.1,
                 sample_interval: float = 1.0, washout: int = 500, seed=None) -> np.ndarray:
    """Mackey-Glass series ``dx/dt = beta x(t-tau) / (1 + x(t-tau)^power) - gamma x(t)``.

    Integrated by classical RK4 with step ``h`` (time units); ``tau / h`` must be whole, so
    the delayed value at ``t`` and ``t + h`` lies on the grid and the half-step value is the
    mean of its neighbours (linear interpolation).  History: ``x = x0`` for ``t <= 0``, plus
    ``U(-0.01, 0.01)`` from ``seed`` when given.  The first ``washout`` samples are dropped;
    returns ``[n_steps]`` samples ``sample_interval`` apart (tau = 17: chaotic, values in
    about ``[0.2, 1.4]``, mean about 0.9).
    """
    n_steps = check_int("n_steps", n_steps, minimum=1)
    washout = check_int("washout", washout, minimum=0)
    for name, value in (("tau", tau), ("h", h), ("sample_interval", sample_interval)):
        if not (isinstance(value, (int, float)) and math.isfinite(value) and value > 0):
            raise ValueError(f"{name} must be a finite number > 0, got {value!r}")
    lag = int(round(tau / h))
    every = int(round(sample_interval / h))
    if abs(lag * h - tau) > 1e-9 or abs(every * h - sample_interval) > 1e-9:
        raise ValueError(f"tau ({tau}) and sample_interval ({sample_interval}) must be whole "
                         f"multiples of h ({h})")
    total = (n_steps + washout) * every
    x = np.empty(total + lag + 1)
    x[:lag + 1] = x0
    if seed is not None:
        x[:lag + 1] += _generator(seed).uniform(-0.01, 0.01, lag + 1)

    def f(xt, xd):
        return beta * xd / (1.0 + xd ** power) - gamma * xt

    for i in range(lag, lag + total):
        d0, d1 = x[i - lag], x[i - lag + 1]
        dm = 0.5 * (d0 + d1)
        xi = x[i]
        k1 = f(xi, d0)
        k2 = f(xi + 0.5 * h * k1, dm)
        k3 = f(xi + 0.5 * h * k2, dm)
        k4 = f(xi + h * k3, d1)
        x[i + 1] = xi + h / 6.0 * (k1 + 2 * k2 + 2 * k3 + k4)
    samples = x[lag::every][:n_steps + washout]
    return samples[washout:].copy()
