"""NeuroBench's Mackey-Glass prediction task, its series regenerated locally.

NeuroBench (Yik et al., Nature Communications 2025) predicts the Mackey-Glass series
``dx/dt = beta x(t-tau) / (1 + x(t-tau)^n) - gamma x(t)`` with tau = 17, beta = 0.2,
gamma = 0.1, n = 10 from the constant past ``x = 0.7206597``, sampled 75 times per Lyapunov
time of 197 time units.  Each of 30 runs starts half a Lyapunov time (37.5 samples, floored
as NeuroBench's loader floors it) after the previous one; a run trains for 10 Lyapunov times
(750 samples; the first 0.6 Lyapunov time, 45 samples, warm the model up and are not
fitted) and then predicts 10 Lyapunov times (750 samples) free-running, each prediction fed
back as the next input.

NeuroBench ships its series as a file made with jitcdde (adaptive Bogacki-Shampine); here
the series is integrated by :func:`snn.data.mackey_glass` (RK4, fixed step), so it is a
regenerated series of the same system and parameters, not the published numbers: the two
separate after a few Lyapunov times, as any two integrations of a chaotic system do.

```python
from snn.data import MackeyGlassProtocol, mackey_glass_protocol_series, mackey_glass_run

protocol = MackeyGlassProtocol(n_runs=2)
series = mackey_glass_protocol_series(protocol)
run = mackey_glass_run(series, protocol, run_index=1)
print(run.train_inputs.shape, run.test_targets.shape)   # (750,) (750,)
```
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np

from ..validation import check_array, check_int, check_positive, check_real
from .timeseries import mackey_glass

__all__ = ["MackeyGlassProtocol", "MackeyGlassRun", "mackey_glass_protocol_series",
           "mackey_glass_run"]


@dataclass(frozen=True)
class MackeyGlassProtocol:
    """The settings of NeuroBench's Mackey-Glass task (its defaults; times in the system's
    own time units, counts of Lyapunov times dimensionless).

    Args:
        tau: the delay of the equation (time units, > 0).
        beta: the delayed feedback gain (> 0).
        gamma: the decay rate (> 0).
        power: the exponent ``n`` of the nonlinearity (> 0).
        constant_past: the history ``x(t) = constant_past`` for ``t <= 0``.
        lyapunov_time: one Lyapunov time (time units, > 0).
        points_per_lyapunov_time: samples per Lyapunov time (>= 1).
        train_lyapunov_times: length of the teacher-forced training part (> 0).
        test_lyapunov_times: length of the free-running prediction (> 0).
        warmup_lyapunov_times: start of the training part left out of the fit (>= 0).
        offset_lyapunov_times: shift of each run's start after the previous one (>= 0).
        n_runs: number of runs (>= 1); run ``k`` uses seed ``k`` for its model.
        integration_step: RK4 step (time units); ``tau`` and the sampling interval must be
            whole multiples of it.
        seed: added to the run index to seed each run's model (0: NeuroBench's seeds).
    """

    tau: float = 17.0
    beta: float = 0.2
    gamma: float = 0.1
    power: float = 10.0
    constant_past: float = 0.7206597
    lyapunov_time: float = 197.0
    points_per_lyapunov_time: int = 75
    train_lyapunov_times: float = 10.0
    test_lyapunov_times: float = 10.0
    warmup_lyapunov_times: float = 0.6
    offset_lyapunov_times: float = 0.5
    n_runs: int = 30
    integration_step: float = 1.0 / 150.0
    seed: int = 0

    def __post_init__(self) -> None:
        for name in ("tau", "beta", "gamma", "power", "lyapunov_time", "train_lyapunov_times",
                     "test_lyapunov_times", "integration_step"):
            check_positive(f"MackeyGlassProtocol.{name}", getattr(self, name))
        check_real("MackeyGlassProtocol.constant_past", self.constant_past)
        for name in ("warmup_lyapunov_times", "offset_lyapunov_times"):
            check_real(f"MackeyGlassProtocol.{name}", getattr(self, name), minimum=0.0)
        check_int("MackeyGlassProtocol.points_per_lyapunov_time",
                  self.points_per_lyapunov_time, minimum=1)
        check_int("MackeyGlassProtocol.n_runs", self.n_runs, minimum=1)
        check_int("MackeyGlassProtocol.seed", self.seed, minimum=0)
        if self.warmup_steps >= self.train_steps:
            raise ValueError(f"MackeyGlassProtocol.warmup_lyapunov_times must leave training "
                             f"samples: {self.warmup_steps} warm-up of {self.train_steps}")

    @property
    def sample_interval(self) -> float:
        """Time units between samples: ``lyapunov_time / points_per_lyapunov_time``."""
        return self.lyapunov_time / self.points_per_lyapunov_time

    @property
    def train_steps(self) -> int:
        """Samples of the training part (NeuroBench rounds)."""
        return round(self.train_lyapunov_times * self.points_per_lyapunov_time)

    @property
    def test_steps(self) -> int:
        """Samples predicted free-running (NeuroBench rounds)."""
        return round(self.test_lyapunov_times * self.points_per_lyapunov_time)

    @property
    def warmup_steps(self) -> int:
        """First training samples left out of the fit (NeuroBench rounds)."""
        return round(self.warmup_lyapunov_times * self.points_per_lyapunov_time)

    def offset_steps(self, run_index: int) -> int:
        """First sample of run ``run_index``: ``floor(run_index * offset * points)``, as
        NeuroBench's loader truncates its float offset."""
        run_index = check_int("run_index", run_index, minimum=0, maximum=self.n_runs - 1)
        return int(math.floor(run_index * self.offset_lyapunov_times
                              * self.points_per_lyapunov_time))

    def run_seed(self, run_index: int) -> int:
        """The model seed of run ``run_index`` (``seed + run_index``)."""
        return self.seed + check_int("run_index", run_index, minimum=0,
                                     maximum=self.n_runs - 1)


class MackeyGlassRun(NamedTuple):
    """One run of the task: one-step-ahead pairs for training, and the free-running part.

    Shapes:
        ``train_inputs``, ``train_targets`` ``[train_steps]`` (``train_targets[t] =
        train_inputs[t + 1]``, the last one the first test input); ``test_inputs``,
        ``test_targets`` ``[test_steps]``: ``test_inputs[0]`` is the one true value a model
        sees before it predicts ``test_targets`` free-running.
    """

    train_inputs: np.ndarray  #: x[0 .. train_steps - 1] of the run
    train_targets: np.ndarray  #: x[1 .. train_steps]
    test_inputs: np.ndarray  #: x[train_steps .. train_steps + test_steps - 1]
    test_targets: np.ndarray  #: x[train_steps + 1 .. train_steps + test_steps]
    warmup_steps: int  #: training samples left out of the fit


def mackey_glass_protocol_series(protocol: MackeyGlassProtocol | None = None) -> np.ndarray:
    """The series every run of ``protocol`` is cut from, integrated here.

    Args:
        protocol: the task settings (None: NeuroBench's).

    Returns:
        ``x`` ``[offset_steps(n_runs - 1) + train_steps + test_steps + 1]`` (float64), sample
        ``k`` at time ``k * sample_interval`` after the constant past ends.
    """
    protocol = MackeyGlassProtocol() if protocol is None else protocol
    if not isinstance(protocol, MackeyGlassProtocol):
        raise TypeError(f"protocol must be a MackeyGlassProtocol, got {type(protocol).__name__}")
    n = protocol.offset_steps(protocol.n_runs - 1) + protocol.train_steps + \
        protocol.test_steps + 1
    return mackey_glass(n, protocol.tau, beta=protocol.beta, gamma=protocol.gamma,
                        power=protocol.power, x0=protocol.constant_past,
                        h=protocol.integration_step, sample_interval=protocol.sample_interval,
                        washout_steps=0)


def mackey_glass_run(series: np.ndarray, protocol: MackeyGlassProtocol,
                     run_index: int) -> MackeyGlassRun:
    """Cut run ``run_index`` out of ``series`` as NeuroBench's loader does.

    Args:
        series: the whole series ``[n]`` (:func:`mackey_glass_protocol_series`).
        protocol: the task settings.
        run_index: which run, in ``[0, n_runs)``.

    Returns:
        The run's training and test arrays (:class:`MackeyGlassRun`).
    """
    if not isinstance(protocol, MackeyGlassProtocol):
        raise TypeError(f"protocol must be a MackeyGlassProtocol, got {type(protocol).__name__}")
    x = check_array("series", series, ndim=1, kind="iuf", dtype=np.float64)
    start = protocol.offset_steps(run_index)
    n_train, n_test = protocol.train_steps, protocol.test_steps
    if x.size < start + n_train + n_test + 1:
        raise ValueError(f"series must hold at least {start + n_train + n_test + 1} samples "
                         f"for run {run_index}, got {x.size}")
    part = x[start:start + n_train + n_test + 1]
    return MackeyGlassRun(part[:n_train].copy(), part[1:n_train + 1].copy(),
                          part[n_train:n_train + n_test].copy(),
                          part[n_train + 1:].copy(), protocol.warmup_steps)
