"""Sigmoid-rate reservoir with local excitation/inhibition balance, after Srinivasan, Plenz &
Girvan, "Boosting reservoir computing with brain-inspired adaptive dynamics" (Nature
Communications 2025, DOI 10.1038/s41467-025-64978-8; arXiv 2504.12480).

Units (``N`` of them, ``frac_exc`` excitatory, the rest inhibitory, Dale's law) have a
potential ``v`` and a rate ``r``:

    v(t + 1) = Lambda v(t) + (A_E - A_I) r(t) + W_in u(t),     r = sigma(c (v - theta)),

with ``Lambda = leak`` (one scalar on the diagonal), ``A_E >= 0`` the synapses from
excitatory units (columns ``< n_exc``) and ``A_I >= 0`` those from inhibitory units, and
``sigma`` the logistic function.  The global balance is ``beta = mean_i sum_j (A_E - A_I)_ij``
(mean row sum).

* Local adaptation (:meth:`BalancedReservoir.adapt`): every existing inhibitory synapse onto
  unit ``i`` changes at every step by ``delta (r_i - rho_i)`` toward that unit's target rate
  ``rho_i``, clipped at zero (a synapse stays in the structure at weight 0 and can grow back).
* One-shot design (:meth:`BalancedReservoir.design_inhibition`): at a fixed point with rates
  equal to the targets, ``v_i* = theta + logit(rho_i) / c`` and
  ``(1 - leak) v_i* = sum_j A_E,ij rho_j - sum_j A_I,ij rho_j`` (zero-mean input); each unit's
  inhibitory row is rescaled so that this holds, in one step, without simulation.
* Global baseline (:meth:`BalancedReservoir.set_balance`): all inhibitory synapses scaled by
  one factor so that ``beta`` takes a chosen value (the paper tunes ``beta``, not the
  spectral radius).
* Diagnostics (:func:`dynamics_check`): self-sustained activity (rates that keep varying with
  zero input) and loss of the echo-state property (two initial states that do not converge
  under the same input), which adaptation toward high targets can produce.

Heterogeneous targets (:func:`rate_targets`) are drawn from a Beta law of the given mean and
spread, so that every target lies in (0, 1).  This law is OUR CHOICE, not the paper's: the
paper's distribution of heterogeneous targets and its parameters could not be found (of the
paper only the abstract and introduction of arXiv 2504.12480v1 were available, and no code
repository of the authors was found), so results with heterogeneous targets test
heterogeneity as such, not the paper's exact targets.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numba
import numpy as np

from .._random import numpy_generator
from ..validation import check_array, check_int, check_positive, check_real

__all__ = ["BalanceConfig", "BalancedReservoir", "DynamicsCheck", "dynamics_check",
           "rate_targets"]


@dataclass(frozen=True)
class BalanceConfig:
    """Sigmoid-rate E/I reservoir (all quantities dimensionless, time in steps).

    Args:
        n_neurons: units (>= 2).
        frac_exc: share of excitatory units, in (0, 1).
        connectivity: probability of each ordered pair being a synapse, in (0, 1].
        leak: ``Lambda``, the potential kept from one step to the next, in [0, 1).
        gain: ``c``, slope of the sigmoid (> 0).
        threshold: ``theta``, potential of half-maximal rate.
        excitation: mean row sum of ``A_E`` (> 0); synapse weights are ``|N(0, 1)|``
            scaled to it.
        balance: initial global balance ``beta`` (mean row sum of ``A_E - A_I``).
        input_scaling: ``W_in`` entries ``U(-input_scaling, input_scaling)`` (> 0).
        seed: seed of the random structure when no ``rng`` is given.
    """

    n_neurons: int = 100
    frac_exc: float = 0.8
    connectivity: float = 0.1
    leak: float = 0.5
    gain: float = 1.0
    threshold: float = 0.0
    excitation: float = 3.0
    balance: float = 0.0
    input_scaling: float = 0.5
    seed: int = 0

    def __post_init__(self) -> None:
        check_int("BalanceConfig.n_neurons", self.n_neurons, minimum=2)
        check_real("BalanceConfig.frac_exc", self.frac_exc, minimum=0.0, maximum=1.0,
                   exclusive_minimum=True)
        check_real("BalanceConfig.connectivity", self.connectivity, minimum=0.0, maximum=1.0,
                   exclusive_minimum=True)
        if not 0.0 <= check_real("BalanceConfig.leak", self.leak) < 1.0:
            raise ValueError(f"BalanceConfig.leak must lie in [0, 1), got {self.leak!r}")
        check_positive("BalanceConfig.gain", self.gain)
        check_real("BalanceConfig.threshold", self.threshold)
        check_positive("BalanceConfig.excitation", self.excitation)
        check_real("BalanceConfig.balance", self.balance)
        check_positive("BalanceConfig.input_scaling", self.input_scaling)
        check_int("BalanceConfig.seed", self.seed)
        if not 1 <= self.n_exc < self.n_neurons:
            raise ValueError(f"BalanceConfig.frac_exc={self.frac_exc} leaves an empty "
                             f"population of {self.n_neurons} units")

    @property
    def n_exc(self) -> int:
        """Number of excitatory units."""
        return int(round(self.frac_exc * self.n_neurons))


def rate_targets(n_neurons: int, mean: float, spread: float = 0.0,
                 rng: int | np.random.Generator | None = None) -> np.ndarray:
    """Target rates ``rho`` in (0, 1), homogeneous or heterogeneous.

    Args:
        n_neurons: units (>= 1).
        mean: mean target, in (0, 1).
        spread: 0 for ``mean`` everywhere; else the standard deviation of a Beta law of mean
            ``mean`` (``0 < spread < sqrt(mean (1 - mean))``; the law is our choice, see the
            module docstring).
        rng: draws heterogeneous targets: an int seed, a ``numpy.random.Generator`` or None.

    Returns:
        Targets ``[n_neurons]`` (float64), each in (0, 1).
    """
    n_neurons = check_int("n_neurons", n_neurons, minimum=1)
    mean = check_real("mean", mean)
    if not 0.0 < mean < 1.0:
        raise ValueError(f"mean must lie in (0, 1) (a sigmoid rate), got {mean!r}")
    spread = check_real("spread", spread, minimum=0.0)
    if spread == 0:
        return np.full(n_neurons, mean)
    var_max = mean * (1 - mean)
    if not spread**2 < var_max:
        raise ValueError(f"spread must be < sqrt(mean (1 - mean)) = {math.sqrt(var_max):.4g} "
                         f"for mean={mean}, got {spread!r}")
    k = var_max / spread**2 - 1.0
    out = numpy_generator(rng).beta(mean * k, (1 - mean) * k, n_neurons)
    return np.clip(out, 1e-6, 1 - 1e-6)


def check_targets(targets, n_neurons: int) -> np.ndarray:
    """Validate target rates: shape ``(n_neurons,)``, every value in (0, 1)."""
    t = check_array("targets", targets, shape=(n_neurons,), kind="iuf", dtype=np.float64)
    if not np.all((t > 0) & (t < 1)):
        raise ValueError(f"targets must have shape ({n_neurons},) with every value in (0, 1) "
                         f"(rates of sigmoid units); got values in [{t.min()}, {t.max()}]")
    return t


@numba.njit(cache=True)
def _balance_kernel(a_exc, a_inh, inh_mask, drive, v0, leak, gain, threshold, targets, delta,
                    adapt, record):  # pragma: no cover - compiled
    n_steps, n = drive.shape
    v = v0.copy()
    r = np.empty(n)
    for i in range(n):
        r[i] = 1.0 / (1.0 + math.exp(-gain * (v[i] - threshold)))
    out = np.empty((n_steps if record else 1, n))
    error = np.zeros(n_steps)
    for t in range(n_steps):
        v_new = np.empty(n)
        for i in range(n):
            acc = leak * v[i] + drive[t, i]
            for j in range(n):
                acc += (a_exc[i, j] - a_inh[i, j]) * r[j]
            v_new[i] = acc
        err = 0.0
        for i in range(n):
            v[i] = v_new[i]
            r[i] = 1.0 / (1.0 + math.exp(-gain * (v[i] - threshold)))
            if record:
                out[t, i] = r[i]
            d = r[i] - targets[i]
            err += abs(d)
            if adapt:
                for j in range(n):
                    if inh_mask[i, j]:
                        w = a_inh[i, j] + delta * d
                        a_inh[i, j] = w if w > 0.0 else 0.0
        error[t] = err / n
    if not record:
        out[0] = r
    return out, v, error


class BalancedReservoir:
    """A sigmoid-rate E/I reservoir (see the module docstring for the equations).

    Args:
        config: the parameters.
        n_inputs: input channels (>= 1).
        rng: draws the structure and weights: an int seed, a ``numpy.random.Generator`` or
            None (``config.seed``).

    Attributes:
        a_exc: ``A_E`` ``[N, N]`` (>= 0; nonzero only in excitatory columns).
        a_inh: ``A_I`` ``[N, N]`` (>= 0; nonzero only in inhibitory columns).
        inh_mask: the inhibitory synapses that exist ``[N, N]`` (bool).
        w_in: ``W_in`` ``[N, n_inputs]``.
    """

    def __init__(self, config: BalanceConfig, n_inputs: int = 1,
                 rng: int | np.random.Generator | None = None) -> None:
        if not isinstance(config, BalanceConfig):
            raise TypeError(f"config must be a BalanceConfig, got {type(config).__name__}")
        self.config = config
        self.n_inputs = check_int("n_inputs", n_inputs, minimum=1)
        gen = numpy_generator(config.seed if rng is None else rng)
        n, n_exc = config.n_neurons, config.n_exc
        mask = gen.random((n, n)) < config.connectivity
        np.fill_diagonal(mask, False)
        mag = np.abs(gen.normal(0.0, 1.0, (n, n))) * mask
        exc_cols = np.arange(n) < n_exc
        a_exc = np.where(exc_cols[None, :], mag, 0.0)
        a_inh = np.where(exc_cols[None, :], 0.0, mag)
        mean_e = a_exc.sum(1).mean()
        if mean_e == 0 or a_inh.sum() == 0:
            raise ValueError("the random structure has no excitatory or no inhibitory synapse; "
                             "raise connectivity or n_neurons")
        self.a_exc = a_exc * (config.excitation / mean_e)
        self.a_inh = a_inh
        self.inh_mask = a_inh > 0
        self.w_in = gen.uniform(-config.input_scaling, config.input_scaling, (n, self.n_inputs))
        self.set_balance(config.balance)

    @property
    def n_neurons(self) -> int:
        """Number of units ``N``."""
        return self.config.n_neurons

    @property
    def balance(self) -> float:
        """Global balance ``beta``: mean row sum of ``A_E - A_I``."""
        return float((self.a_exc - self.a_inh).sum(1).mean())

    def set_balance(self, beta: float) -> None:
        """Scale every inhibitory synapse by one factor so that ``balance == beta``.

        Args:
            beta: the global balance; must be <= the mean excitatory row sum (inhibition
                cannot be negative).
        """
        beta = check_real("beta", beta)
        excitation = self.a_exc.sum(1).mean()
        inhibition = self.a_inh.sum(1).mean()
        if beta > excitation * (1 + 1e-9):
            raise ValueError(f"beta must be <= the mean excitatory row sum {excitation:.4g}, "
                             f"got {beta!r}")
        if inhibition == 0:  # all inhibition adapted away: restart from the structure
            self.a_inh = self.inh_mask.astype(np.float64)
            inhibition = self.a_inh.sum(1).mean()
        self.a_inh = self.a_inh * (max(excitation - beta, 0.0) / inhibition)

    def design_inhibition(self, targets: np.ndarray) -> np.ndarray:
        """One-shot design: rescale each unit's inhibitory row so that the rates ``targets``
        are a fixed point under zero input (see the module docstring).

        Args:
            targets: target rates ``[N]`` in (0, 1).

        Returns:
            The row scale factors applied ``[N]`` (rows that would need negative inhibition
            get factor 0, rows without inhibitory synapses keep theirs).
        """
        rho = check_targets(targets, self.n_neurons)
        c = self.config
        v_star = c.threshold + np.log(rho / (1 - rho)) / c.gain
        needed = self.a_exc @ rho - (1 - c.leak) * v_star
        current = self.a_inh @ rho
        # Rows that had their inhibition adapted to 0 restart from the structure.
        base = np.where((current > 0)[:, None], self.a_inh, self.inh_mask.astype(np.float64))
        current = base @ rho
        scale = np.where(current > 0, np.maximum(needed, 0.0) / np.where(current > 0, current,
                                                                         1.0), 1.0)
        self.a_inh = base * scale[:, None]
        return scale

    def _drive(self, u) -> np.ndarray:
        arr = np.asarray(u, dtype=np.float64)
        if arr.ndim == 1:
            arr = arr[:, None]
        arr = check_array("u", arr, ndim=2, kind="f", dtype=np.float64)
        if arr.shape[1] != self.n_inputs or arr.shape[0] < 1:
            raise ValueError(f"u must have shape [n_steps] or [n_steps, {self.n_inputs}] with "
                             f"n_steps >= 1, got {np.shape(u)}")
        if not np.all(np.isfinite(arr)):
            raise ValueError("u must be finite")
        return np.ascontiguousarray(arr @ self.w_in.T)

    def _v0(self, v0) -> np.ndarray:
        if v0 is None:
            return np.zeros(self.n_neurons)
        return check_array("v0", v0, shape=(self.n_neurons,), kind="iuf", dtype=np.float64)

    def run(self, u: np.ndarray, v0: np.ndarray | None = None) -> np.ndarray:
        """Drive the reservoir with ``u`` (weights fixed).

        Args:
            u: inputs ``[T]`` or ``[T, n_inputs]``.
            v0: initial potentials ``[N]`` (zeros by default).

        Returns:
            Rates ``r(t)`` ``[T, N]`` in (0, 1).
        """
        out, _, _ = _balance_kernel(self.a_exc, self.a_inh, self.inh_mask, self._drive(u),
                                    self._v0(v0), float(self.config.leak),
                                    float(self.config.gain), float(self.config.threshold),
                                    np.zeros(self.n_neurons), 0.0, False, True)
        return out

    def adapt(self, u: np.ndarray, targets: np.ndarray, delta: float = 1e-3,
              v0: np.ndarray | None = None) -> np.ndarray:
        """Drive the reservoir with ``u`` while every existing inhibitory synapse onto unit
        ``i`` changes by ``delta (r_i - rho_i)`` at every step (clipped at 0); ``a_inh`` is
        updated in place.

        Args:
            u: inputs ``[T]`` or ``[T, n_inputs]``.
            targets: target rates ``rho`` ``[N]`` in (0, 1).
            delta: the adaptation rate (> 0).
            v0: initial potentials ``[N]`` (zeros by default).

        Returns:
            The mean absolute rate error ``mean_i |r_i - rho_i|`` at every step ``[T]``.
        """
        rho = check_targets(targets, self.n_neurons)
        delta = check_positive("delta", delta)
        a_inh = np.ascontiguousarray(self.a_inh.copy())
        _, _, error = _balance_kernel(self.a_exc, a_inh, self.inh_mask, self._drive(u),
                                      self._v0(v0), float(self.config.leak),
                                      float(self.config.gain), float(self.config.threshold),
                                      rho, float(delta), True, False)
        self.a_inh = a_inh
        return error


@dataclass(frozen=True)
class DynamicsCheck:
    """What the adaptation can hide, measured on one reservoir.

    Attributes:
        self_sustained: rates keep varying with zero input (std over time, after a washout,
            above ``tolerance``): the reservoir oscillates or is chaotic by itself.
        echo_state: two different initial states driven by the same input end up within
            ``tolerance`` of each other (the echo-state property, tested empirically).
        autonomous_std: the mean over units of the rate std over time with zero input.
        final_distance: the largest rate difference between the two driven runs at the end.
    """

    self_sustained: bool
    echo_state: bool
    autonomous_std: float
    final_distance: float


def dynamics_check(reservoir: BalancedReservoir, u: np.ndarray | None = None, *,
                   n_steps: int = 1000, washout_steps: int = 500, tolerance: float = 1e-3,
                   rng: int | np.random.Generator | None = 0) -> DynamicsCheck:
    """Test a reservoir for self-sustained activity and for the echo-state property.

    Args:
        reservoir: the reservoir (not changed).
        u: the driving input of the echo-state test ``[T]`` or ``[T, n_inputs]``; default
            ``U(-0.5, 0.5)`` white noise of ``n_steps``.
        n_steps: length of the zero-input run and of the default input (>= 2).
        washout_steps: steps left out before measuring the autonomous std (< n_steps).
        tolerance: threshold on both measures (> 0).
        rng: draws the two initial states (``N(0, 2)`` potentials) and the default input.

    Returns:
        A :class:`DynamicsCheck`.
    """
    if not isinstance(reservoir, BalancedReservoir):
        raise TypeError(f"reservoir must be a BalancedReservoir, got "
                        f"{type(reservoir).__name__}")
    n_steps = check_int("n_steps", n_steps, minimum=2)
    washout_steps = check_int("washout_steps", washout_steps, minimum=0,
                              maximum=n_steps - 1)
    tolerance = check_positive("tolerance", tolerance)
    gen = numpy_generator(rng)
    n = reservoir.n_neurons
    if u is None:
        u = gen.uniform(-0.5, 0.5, (n_steps, reservoir.n_inputs))
    autonomous = reservoir.run(np.zeros((n_steps, reservoir.n_inputs)),
                               v0=gen.normal(0.0, 2.0, n))
    auto_std = float(autonomous[washout_steps:].std(0).mean())
    a = reservoir.run(u, v0=gen.normal(0.0, 2.0, n))
    b = reservoir.run(u, v0=gen.normal(0.0, 2.0, n))
    distance = float(np.abs(a[-1] - b[-1]).max())
    return DynamicsCheck(self_sustained=auto_std > tolerance, echo_state=distance < tolerance,
                         autonomous_std=auto_std, final_distance=distance)
