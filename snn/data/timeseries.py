"""Time-series tasks for reservoirs: memory capacity, NARMA-10 and Mackey-Glass.

All generators take ``rng`` (an int seed, a ``numpy.random.Generator`` or None) and return
float64 arrays of shape ``[n_steps]`` (dimensionless; one sample per discrete time step).

* :func:`memory_capacity_input`: i.i.d. uniform input in ``[-scale, scale]`` (Jaeger 2001).
* :func:`narma10`: the tenth-order NARMA system of Atiya & Parlos (2000) driven by uniform
  input in ``[0, 0.5]``.
* :func:`mackey_glass`: the Mackey-Glass delay differential equation (tau = 17 by default)
  integrated with fourth-order Runge-Kutta at a fixed step whose delayed values lie exactly
  on the integration grid, then sampled every ``sample_interval`` time units.
"""

from __future__ import annotations

import numpy as np

from .._random import numpy_generator
from ..validation import check_array, check_int, check_positive, check_real

__all__ = ["memory_capacity_input", "narma10", "mackey_glass", "delayed_targets"]


def memory_capacity_input(n_steps: int, rng: int | np.random.Generator | None = None,
                          scale: float = 0.5) -> np.ndarray:
    """I.i.d. input ``u[t] ~ U(-scale, scale)``.

    Args:
        n_steps: length of the series (>= 1).
        rng: an int seed, a ``numpy.random.Generator`` or None (fresh entropy).
        scale: half-width of the uniform law (> 0).

    Returns:
        ``u`` ``[n_steps]`` (float64).
    """
    n_steps = check_int("n_steps", n_steps, minimum=1)
    scale = check_positive("scale", scale)
    return numpy_generator(rng).uniform(-scale, scale, n_steps)


def delayed_targets(u: np.ndarray, max_delay_steps: int) -> np.ndarray:
    """The targets of the memory-capacity task: ``y[t, k-1] = u[t - k]`` for
    ``k = 1..max_delay_steps`` (zero before the start).

    Args:
        u: the input series ``[n_steps]`` (non-empty).
        max_delay_steps: the longest delay (steps, >= 1).

    Returns:
        ``y`` ``[n_steps, max_delay_steps]`` (float64).
    """
    u = check_array("u", u, ndim=1, kind="biuf", dtype=np.float64)
    if u.size == 0:
        raise ValueError(f"u must be a non-empty 1-D array, got shape {u.shape}")
    max_delay_steps = check_int("max_delay_steps", max_delay_steps, minimum=1)
    y = np.zeros((u.size, max_delay_steps))
    for k in range(1, max_delay_steps + 1):
        y[k:, k - 1] = u[:-k] if k < u.size else []
    return y


def narma10(n_steps: int | None = None, rng: int | np.random.Generator | None = None,
            u: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """NARMA-10 (Atiya & Parlos 2000):

    ``y[t+1] = 0.3 y[t] + 0.05 y[t] sum_{i=0..9} y[t-i] + 1.5 u[t-9] u[t] + 0.1``

    with ``u ~ U(0, 0.5)`` unless ``u`` is given.  ``y`` starts at zero for the first 10
    steps.  (The recursion can diverge for rare inputs; it is then redrawn from the
    generator, so a seed always gives a bounded series.)

    Args:
        n_steps: length of the series (>= 11) when ``u`` is not given.
        rng: draws ``u``: an int seed, a ``numpy.random.Generator`` or None (fresh entropy).
        u: a given input series ``[n_steps]`` (at least 11 steps).

    Returns:
        ``(u, y)``, each ``[n_steps]`` (float64).
    """
    gen = numpy_generator(rng)
    if u is not None:
        u = check_array("u", u, ndim=1, kind="biuf", dtype=np.float64)
        if u.size < 11:
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
                 sample_interval: float = 1.0, washout_steps: int = 500,
                 rng: int | np.random.Generator | None = None) -> np.ndarray:
    """Mackey-Glass series ``dx/dt = beta x(t-tau) / (1 + x(t-tau)^power) - gamma x(t)``.

    Integrated by classical RK4 with step ``h`` (time units); ``tau / h`` must be whole, so
    the delayed value at ``t`` and ``t + h`` lies on the grid and the half-step value is the
    mean of its neighbours (linear interpolation).  Tau = 17 is chaotic, with values in
    about ``[0.2, 1.4]`` and mean about 0.9.

    Args:
        n_steps: samples returned (>= 1).
        tau: the delay (time units, > 0).
        beta: the delayed feedback gain.
        gamma: the decay rate.
        power: the exponent of the nonlinearity.
        x0: the history ``x = x0`` for ``t <= 0``.
        h: the integration step (time units, > 0).
        sample_interval: time units between samples (> 0, a whole multiple of ``h``).
        washout_steps: first samples dropped (>= 0).
        rng: perturbs the history by ``U(-0.01, 0.01)`` per grid point: an int seed or a
            ``numpy.random.Generator``.  None (the default) leaves the history flat, so the
            series is deterministic.

    Returns:
        ``x`` ``[n_steps]`` (float64), samples ``sample_interval`` apart.
    """
    n_steps = check_int("n_steps", n_steps, minimum=1)
    washout_steps = check_int("washout_steps", washout_steps, minimum=0)
    for name, value in (("tau", tau), ("h", h), ("sample_interval", sample_interval)):
        check_positive(name, value)
    for name, value in (("beta", beta), ("gamma", gamma), ("power", power), ("x0", x0)):
        check_real(name, value)
    lag = int(round(tau / h))
    every = int(round(sample_interval / h))
    if abs(lag * h - tau) > 1e-9 or abs(every * h - sample_interval) > 1e-9:
        raise ValueError(f"tau ({tau}) and sample_interval ({sample_interval}) must be whole "
                         f"multiples of h ({h})")
    total = (n_steps + washout_steps) * every
    x = np.empty(total + lag + 1)
    x[:lag + 1] = x0
    if rng is not None:
        x[:lag + 1] += numpy_generator(rng).uniform(-0.01, 0.01, lag + 1)

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
    samples = x[lag::every][:n_steps + washout_steps]
    return samples[washout_steps:].copy()
