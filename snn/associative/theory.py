"""Statistical mechanics of the multitasking Hebbian network in the low-storage limit.

Derived here from the Hamiltonians of :mod:`snn.associative.couplings` (N -> infinity at
fixed P and M; replica symmetry is exact at low storage).  With ``etahat_mu = xi_mu
(2 k_mu - M) / (r M)``, ``k_mu ~ Binomial(M, (1 + r) / 2)`` (the example average of one
entry, exact for finite M) and ``rho = (1 - r^2) / (M r^2)``, the supervised network's
order parameters ``n_mu = sum_i etahat_mu_i s_i / (N (1 - d) (1 + rho))`` obey

    n_mu = E[ etahat_mu tanh(beta sum_nu n_nu etahat_nu) ] / ((1 - d) (1 + rho))
    m_mu = E[ xi_mu    tanh(beta sum_nu n_nu etahat_nu) ] / (1 - d)

(``m_mu``: the Mattis magnetisation of pattern ``mu``; at zero temperature ``tanh`` becomes
``sign`` with ``sign(0) = 0``).  For the unsupervised network the example-symmetric order
parameters ``n_mu,a = sum_i eta_mu,a_i s_i / (N (1 - d) r)`` give the local field
``sum_mu n_mu etahat_mu / (1 + rho)``; exchangeability of the examples turns their equation
into the one above for ``n_mu / (1 + rho)``: both protocols have the same equations, hence
the same magnetisations and learning thresholds (the statement of Agliari, Alessandrelli,
Barra & Ricci-Tersenghi 2023, arXiv 2308.04106, re-derived here).  With perfect data
(``r = 1``) ``etahat = xi``, ``rho = 0`` and the equations are those of the diluted Hopfield
network of Agliari, Barra, Galluzzi, Guerra & Moauro (PRL 108, 268101, 2012).

The expectations run over the ``3^P``-ish joint law of the entries, enumerated exactly while
that takes at most ``max_terms`` terms, else estimated from ``n_samples`` draws.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from statistics import NormalDist

import numpy as np

from .._random import numpy_generator
from ..validation import check_array, check_int, check_probability, check_real
from .data import dataset_entropy

__all__ = [
    "SelfConsistencySolution",
    "hierarchical_critical_dilution",
    "hierarchical_magnetizations",
    "learning_threshold",
    "retrieval_magnetization",
    "solve_self_consistency",
]


def hierarchical_magnetizations(dilution: float, n_patterns: int) -> np.ndarray:
    """Zero-temperature hierarchical state with perfect data: ``m_k = d^(k-1)``, k = 1..P.

    Units follow the first pattern that is nonzero on them (in the order of the strengths):
    pattern k is followed on the units where patterns 1..k-1 are all zero, a fraction
    ``d^(k-1)`` of its support.  A fixed point while :func:`hierarchical_critical_dilution`
    is not exceeded.

    Args:
        dilution: d in [0, 1).
        n_patterns: P (>= 1).

    Returns:
        float64 ``[P]`` (normalised by ``N (1 - d)``).
    """
    d = check_probability("dilution", dilution)
    p = check_int("n_patterns", n_patterns, minimum=1)
    return d ** np.arange(p, dtype=np.float64)


def hierarchical_critical_dilution(n_patterns: int) -> float:
    """Largest dilution at which the hierarchical state is a zero-temperature fixed point.

    A unit where pattern 1 is nonzero and all the others disagree with it keeps following
    pattern 1 while ``m_1 > m_2 + ... + m_P``, i.e. ``d + d^2 + ... + d^(P-1) < 1``.  The root
    is 1 for P <= 2, the golden ratio conjugate 0.618 for P = 3, and tends to 1/2 as P grows.

    Args:
        n_patterns: P (>= 1).
    """
    p = check_int("n_patterns", n_patterns, minimum=1)
    if p <= 2:
        return 1.0
    lo, hi = 0.0, 1.0
    for _ in range(200):
        mid = 0.5 * (lo + hi)
        if sum(mid**k for k in range(1, p)) < 1.0:
            lo = mid
        else:
            hi = mid
    return 0.5 * (lo + hi)


def _entry_law(dilution: float, quality: float, n_examples: int | None,
               prune: float = 1e-14) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Support of one entry's ``(xi, etahat)`` and its probabilities."""
    half = 0.5 * (1.0 - dilution)
    if n_examples is None or quality == 1.0:
        xi = np.array([0.0, 1.0, -1.0])
        return xi, xi.copy(), np.array([dilution, half, half])
    from scipy.stats import binom

    k = np.arange(n_examples + 1)
    pk = binom.pmf(k, n_examples, 0.5 * (1.0 + quality))
    keep = pk > prune
    k, pk = k[keep], pk[keep] / pk[keep].sum()
    value = (2.0 * k - n_examples) / (quality * n_examples)
    xi = np.concatenate([[0.0], np.ones(k.size), -np.ones(k.size)])
    eta = np.concatenate([[0.0], value, -value])
    prob = np.concatenate([[dilution], half * pk, half * pk])
    return xi, eta, prob


@dataclass(frozen=True)
class SelfConsistencySolution:
    """A solution of the self-consistency equations.

    Args:
        magnetizations: Mattis magnetisations ``m_mu``, float64 ``[P]``.
        overlaps: order parameters ``n_mu`` of the example averages, float64 ``[P]``
            (equal to ``m_mu`` with perfect data).
        iterations: fixed-point iterations run.
        converged: whether the last step moved ``n`` by less than the tolerance.
        exact: whether the expectations were enumerated exactly (else sampled).
        stability: largest eigenvalue of the Jacobian of the map ``n -> F(n)`` at the
            solution, ``beta E[etahat etahat^T (1 - tanh^2)] / ((1 - d) (1 + rho))``: below 1
            the solution is a local minimum of the free energy (stable), above 1 a saddle;
            NaN at zero temperature.
    """

    magnetizations: np.ndarray
    overlaps: np.ndarray
    iterations: int
    converged: bool
    exact: bool
    stability: float


def solve_self_consistency(n_patterns: int, dilution: float, *, beta: float = math.inf,
                           quality: float = 1.0, n_examples: int | None = None,
                           start: object = None, damping: float = 0.5,
                           tolerance: float = 1e-10, max_iterations: int = 5000,
                           max_terms: int = 2_000_000, n_samples: int = 400_000,
                           rng: int | np.random.Generator | None = 0
                           ) -> SelfConsistencySolution:
    """Solve the low-storage self-consistency equations by damped fixed-point iteration.

    Args:
        n_patterns: P (>= 1).
        dilution: d in [0, 1).
        beta: inverse temperature (> 0, dimensionless); ``math.inf`` for zero temperature.
        quality: example quality r in (0, 1].
        n_examples: examples per pattern M (>= 1); None for perfect data (Hopfield).
        start: initial ``n`` (``[P]``); default a hierarchical start ``0.9^k``, which
            breaks the permutation symmetry of the patterns as a cue would.
        damping: weight of the new iterate, in (0, 1].
        tolerance: stop when ``max |n_new - n| < tolerance``.
        max_iterations: iteration cap (>= 1).
        max_terms: enumerate the joint law exactly up to this many terms.
        n_samples: draws of the sampled expectation beyond ``max_terms``.
        rng: seed or ``numpy.random.Generator`` of the sampled expectation.

    Returns:
        :class:`SelfConsistencySolution`.
    """
    p = check_int("n_patterns", n_patterns, minimum=1)
    d = check_probability("dilution", dilution)
    if d >= 1.0:
        raise ValueError(f"dilution must be < 1, got {d!r}")
    beta = check_real("beta", beta, minimum=0.0, exclusive_minimum=True, finite=False)
    r = check_real("quality", quality, minimum=0.0, maximum=1.0, exclusive_minimum=True)
    if n_examples is not None:
        n_examples = check_int("n_examples", n_examples, minimum=1)
    damping = check_real("damping", damping, minimum=0.0, maximum=1.0, exclusive_minimum=True)
    tolerance = check_real("tolerance", tolerance, minimum=0.0, exclusive_minimum=True)
    max_iterations = check_int("max_iterations", max_iterations, minimum=1)
    max_terms = check_int("max_terms", max_terms, minimum=1)
    n_samples = check_int("n_samples", n_samples, minimum=1)
    if start is None:
        n = 0.9 ** np.arange(p, dtype=np.float64)
    else:
        n = check_array("start", start, shape=(p,), kind="biuf", dtype=np.float64).copy()
    rho = 0.0 if n_examples is None else dataset_entropy(r, n_examples)

    xi1, eta1, prob1 = _entry_law(d, r, n_examples)
    size = xi1.size
    exact = size**p <= max_terms
    if exact:
        grids = np.meshgrid(*([np.arange(size)] * p), indexing="ij")
        index = np.stack([g.ravel() for g in grids])            # [P, T]
        weight = np.prod(prob1[index], axis=0)
    else:
        generator = numpy_generator(rng)
        index = generator.choice(size, size=(p, n_samples), p=prob1)
        weight = np.full(n_samples, 1.0 / n_samples)
    xi, eta = xi1[index], eta1[index]                           # [P, T]

    def response(order: np.ndarray) -> np.ndarray:
        field = order @ eta
        return np.sign(field) if math.isinf(beta) else np.tanh(beta * field)

    converged, iterations = False, 0
    for iterations in range(1, max_iterations + 1):  # noqa: B007 - reported below
        g = weight * response(n)
        new = (eta @ g) / ((1.0 - d) * (1.0 + rho))
        step = damping * (new - n)
        n = n + step
        if np.max(np.abs(step)) < tolerance * damping:
            converged = True
            break
    g = response(n)
    m = (xi @ (weight * g)) / (1.0 - d)
    stability = float("nan")
    if not math.isinf(beta):
        jacobian = beta * ((eta * (weight * (1.0 - g * g))) @ eta.T) / ((1.0 - d) * (1.0 + rho))
        stability = float(np.max(np.linalg.eigvalsh(jacobian)))
    return SelfConsistencySolution(magnetizations=m, overlaps=n, iterations=iterations,
                                   converged=converged, exact=exact, stability=stability)


def retrieval_magnetization(quality: float, n_examples: int) -> float:
    """Zero-temperature magnetisation of a single learned pattern (P = 1, any dilution).

    The state follows the sign of the example average: ``m = P(k > M/2) - P(k < M/2)``,
    ``k ~ Binomial(M, (1 + r) / 2)``; the same for supervised and unsupervised couplings.

    Args:
        quality: r in (0, 1].
        n_examples: M (>= 1).
    """
    from scipy.stats import binom

    r = check_real("quality", quality, minimum=0.0, maximum=1.0, exclusive_minimum=True)
    m = check_int("n_examples", n_examples, minimum=1)
    p = 0.5 * (1.0 + r)
    below = binom.cdf(math.ceil(m / 2) - 1, m, p)        # k < M/2
    above = binom.sf(math.floor(m / 2), m, p)            # k > M/2
    return float(above - below)


def learning_threshold(quality: object, target_magnetization: float = 0.9, *,
                       exact: bool = False) -> np.ndarray:
    """Examples per pattern needed for a retrieved pattern to reach ``target_magnetization``.

    With the example average Gaussian (large M), ``m = 2 Phi(1 / sqrt(rho)) - 1``, so
    ``m >= m*`` needs ``rho <= 1 / theta^2`` with ``theta = Phi^-1((1 + m*) / 2)``:
    ``M >= theta^2 (1 - r^2) / r^2``; the same for supervised and unsupervised training.
    ``exact=True`` gives the smallest integer M from :func:`retrieval_magnetization`
    instead.

    Args:
        quality: r in (0, 1], a number or an array.
        target_magnetization: m* in (0, 1).
        exact: smallest integer M from the binomial law instead of the Gaussian formula.

    Returns:
        float64 array of the shape of ``quality`` (the Gaussian threshold, or the integer M).
    """
    r = check_array("quality", quality, kind="biuf", dtype=np.float64)
    if np.any(r <= 0) or np.any(r > 1):
        raise ValueError("quality must be in (0, 1]")
    target = check_real("target_magnetization", target_magnetization, minimum=0.0,
                        maximum=1.0, exclusive_minimum=True)
    if target >= 1.0:
        raise ValueError("target_magnetization must be < 1")
    theta = NormalDist().inv_cdf(0.5 * (1.0 + target))
    if not exact:
        return theta**2 * (1.0 - r**2) / r**2
    out = np.empty_like(r)
    for idx, value in np.ndenumerate(r):
        m = 1
        while retrieval_magnetization(float(value), m) < target:
            m += 1
        out[idx] = m
    return out
