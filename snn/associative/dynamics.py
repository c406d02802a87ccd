"""Glauber dynamics of the multitasking Hebbian network, compiled with numba.

A unit ``i`` sees the local field ``h_i = sum_{j != i} J_ij s_j`` and takes the value +1 with
probability ``1 / (1 + exp(-2 beta h_i))`` (``beta``: inverse temperature, dimensionless); at
zero temperature (``beta = inf``) it takes the sign of ``h_i`` and keeps its value when
``h_i = 0``.  One *sweep* is N single-unit updates:

* ``update="sequential"``: N updates one after the other, each at a unit drawn uniformly at
  random (random sequential Glauber dynamics; at zero temperature the energy never rises);
* ``update="parallel"``: every unit updated at once from the same fields.

Random numbers are keyed by (seed, sweep, update) through a counter-based hash
(splitmix64), so a run does not depend on how its sweeps are split into compiled blocks, and
the numpy reference (``backend="numpy"``) draws exactly the same numbers: both backends give
bitwise the same trajectory.

Observables: Mattis magnetisations ``m_mu = sum_i xi_mu_i s_i / (N (1 - d))`` per pattern,
the Hamiltonian ``H = -(1/2) sum_{i, j} J_ij s_i s_j`` (self-couplings included, a constant
for binary units) and the sum-of-squared-errors loss per pattern.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass

import numba
import numpy as np

from .._random import int_seed, numpy_generator
from ..validation import check_array, check_choice, check_int, check_probability, check_real
from .couplings import REPRESENTATIONS, Couplings, _check_state
from .data import check_patterns

__all__ = [
    "BACKENDS",
    "UPDATES",
    "GlauberResult",
    "glauber",
    "hamiltonian",
    "mattis_magnetizations",
    "noisy_cue",
    "random_state",
    "sse_loss",
]

#: Update schemes of :func:`glauber`.
UPDATES = ("sequential", "parallel")
#: Implementations of :func:`glauber`: the compiled loop and the numpy reference.
BACKENDS = ("numba", "numpy")

_GOLDEN = 0x9E3779B97F4A7C15
_MIX1 = 0xBF58476D1CE4E5B9
_MIX2 = 0x94D049BB133111EB
_KINDS = {"factored": 0, "dense": 1, "sparse": 2}


# ----------------------------------------------------------------------------- observables

def mattis_magnetizations(patterns: object, state: object,
                          dilution: float | None = None) -> np.ndarray:
    """``m_mu = sum_i xi_mu_i s_i / (N (1 - d))`` for every pattern.

    Args:
        patterns: ``[P, N]`` in {-1, 0, +1}.
        state: ``[N]`` in {-1, +1}, or ``[T, N]`` for several states.
        dilution: d of the normalisation; None uses the fraction of zeros of ``patterns``.

    Returns:
        float64 ``[P]`` (or ``[T, P]``); 1 for a state equal to a pattern on its support.
    """
    xi = check_patterns(patterns)
    s = check_array("state", state, kind="biuf")
    if s.ndim not in (1, 2) or s.shape[-1] != xi.shape[1]:
        raise ValueError(f"state must have shape ({xi.shape[1]},) or (T, {xi.shape[1]}) to "
                         f"match patterns, got {s.shape}")
    d = float(np.mean(xi == 0)) if dilution is None else check_probability("dilution",
                                                                             dilution)
    if d >= 1.0:
        raise ValueError("dilution must be < 1")
    return (s.astype(np.float64) @ xi.T.astype(np.float64)) / (xi.shape[1] * (1.0 - d))


def hamiltonian(couplings: Couplings, state: object) -> float:
    """``H = -(1/2) sum_{i, j} J_ij s_i s_j = -(scale / 2) sum_k (U_k . s)^2`` (dimensionless,
    extensive: divide by N for the energy per unit).

    Args:
        couplings: :class:`~snn.associative.Couplings`.
        state: ``[N]`` in {-1, +1}.
    """
    s = _check_state(state, couplings.n_neurons)
    q = couplings.factors.astype(np.int64) @ s.astype(np.int64)
    return float(-0.5 * couplings.scale * float(np.sum(q * q)))


def sse_loss(patterns: object, state: object) -> np.ndarray:
    """Sum-of-squared-errors loss of a state against each pattern (or its reversal).

    ``L_mu = min_{+-} ||xi_mu -+ |xi_mu| * s||^2 / (2 n_mu) = 1 - |xi_mu . s| / n_mu``, with
    ``n_mu`` the number of nonzero entries of pattern ``mu``: the squared error of the state
    read on the pattern's support, 0 for a retrieved pattern, 1 for an uncorrelated state.
    With the Hopfield couplings ``H = -(1 / (2 N (1 - d))) sum_mu n_mu^2 (1 - L_mu)^2``.

    Args:
        patterns: ``[P, N]`` in {-1, 0, +1}, each with at least one nonzero entry.
        state: ``[N]`` in {-1, +1}.

    Returns:
        float64 ``[P]``.
    """
    xi = check_patterns(patterns)
    s = _check_state(state, xi.shape[1])
    support = np.sum(xi != 0, axis=1)
    if np.any(support == 0):
        raise ValueError("patterns must each have at least one nonzero entry")
    diff_plus = np.sum((xi - np.abs(xi) * s) ** 2, axis=1, dtype=np.int64)
    diff_minus = np.sum((xi + np.abs(xi) * s) ** 2, axis=1, dtype=np.int64)
    return np.minimum(diff_plus, diff_minus) / (2.0 * support)


def random_state(n_neurons: int, rng: int | np.random.Generator | None = None) -> np.ndarray:
    """A state with independent, equally likely +-1 entries.

    Args:
        n_neurons: N (>= 1).
        rng: seed or ``numpy.random.Generator``.

    Returns:
        int8 ``[N]``.
    """
    n_neurons = check_int("n_neurons", n_neurons, minimum=1)
    generator = numpy_generator(rng)
    return (generator.integers(0, 2, n_neurons, dtype=np.int8) * 2 - 1).astype(np.int8)


def noisy_cue(pattern: object, flip_probability: float,
              rng: int | np.random.Generator | None = None) -> np.ndarray:
    """A start state near a pattern: its signs, random where it is 0, each unit then flipped
    with probability ``flip_probability``.

    Args:
        pattern: ``[N]`` in {-1, 0, +1}.
        flip_probability: in [0, 1].
        rng: seed or ``numpy.random.Generator``.

    Returns:
        int8 ``[N]`` in {-1, +1}.
    """
    xi = check_patterns(np.asarray(pattern)[None, :] if np.ndim(pattern) == 1 else pattern,
                        "pattern")
    if xi.shape[0] != 1:
        raise ValueError(f"pattern must have shape (N,), got {np.shape(pattern)}")
    p = check_probability("flip_probability", flip_probability)
    generator = numpy_generator(rng)
    n = xi.shape[1]
    state = np.where(xi[0] != 0, xi[0], random_state(n, generator)).astype(np.int8)
    flips = generator.random(n) < p
    return np.where(flips, -state, state).astype(np.int8)


# ------------------------------------------------------------------------- random numbers

@numba.njit(cache=True)
def _uniform(seed, counter):  # pragma: no cover - compiled
    z = seed + counter * np.uint64(_GOLDEN)
    z = (z ^ (z >> np.uint64(30))) * np.uint64(_MIX1)
    z = (z ^ (z >> np.uint64(27))) * np.uint64(_MIX2)
    z = z ^ (z >> np.uint64(31))
    return float(z >> np.uint64(11)) * (1.0 / 9007199254740992.0)


def _uniforms(seed: int, counters: np.ndarray) -> np.ndarray:
    """The numpy twin of :func:`_uniform` on an array of counters."""
    z = np.uint64(seed) + counters.astype(np.uint64) * np.uint64(_GOLDEN)
    z = (z ^ (z >> np.uint64(30))) * np.uint64(_MIX1)
    z = (z ^ (z >> np.uint64(27))) * np.uint64(_MIX2)
    z = z ^ (z >> np.uint64(31))
    return (z >> np.uint64(11)).astype(np.float64) * (1.0 / 9007199254740992.0)


# ------------------------------------------------------------------------- compiled loop

@numba.njit(cache=True)
def _decide(h, s_i, scale, beta, zero_temperature, u):  # pragma: no cover - compiled
    if zero_temperature:
        if h > 0:
            return 1
        if h < 0:
            return -1
        return s_i
    if u < 1.0 / (1.0 + math.exp(-2.0 * beta * scale * h)):
        return 1
    return -1


@numba.njit(cache=True)
def _flip(i, new, ut, xi_t, q, overlap, sigma):  # pragma: no cover - compiled
    for k in range(ut.shape[1]):
        q[k] += 2 * new * np.int64(ut[i, k])
    for p in range(xi_t.shape[1]):
        overlap[p] += 2 * new * np.int64(xi_t[i, p])
    sigma[i] = new


@numba.njit(cache=True)
def _run_block(kind, ut, dense, indptr, indices, data, xi_t, sigma, q, overlap, scale, beta,
               zero_temperature, sequential, seed, first_sweep, n_sweeps, m_out,
               q2_out):  # pragma: no cover - compiled
    n = sigma.shape[0]
    new_states = np.empty(n, dtype=np.int64)
    useed = np.uint64(seed)
    for s in range(n_sweeps):
        base = np.uint64(first_sweep + s) * np.uint64(n)
        if sequential:
            for t in range(n):
                counter = (base + np.uint64(t)) * np.uint64(2)
                i = int(_uniform(useed, counter) * n)
                if i >= n:
                    i = n - 1
                s_i = np.int64(sigma[i])
                h = 0
                # The field, written out per layout: a call here costs more than the sum.
                if kind == 0:
                    for k in range(ut.shape[1]):
                        w = np.int64(ut[i, k])
                        h += w * (q[k] - w * s_i)
                elif kind == 1:
                    for j in range(n):
                        h += np.int64(dense[i, j]) * sigma[j]
                else:
                    for p in range(indptr[i], indptr[i + 1]):
                        h += np.int64(data[p]) * sigma[indices[p]]
                u = 0.0
                if not zero_temperature:
                    u = _uniform(useed, counter + np.uint64(1))
                new = _decide(h, s_i, scale, beta, zero_temperature, u)
                if new != s_i:
                    _flip(i, new, ut, xi_t, q, overlap, sigma)
        else:
            for i in range(n):
                s_i = np.int64(sigma[i])
                h = 0
                if kind == 0:
                    for k in range(ut.shape[1]):
                        w = np.int64(ut[i, k])
                        h += w * (q[k] - w * s_i)
                elif kind == 1:
                    for j in range(n):
                        h += np.int64(dense[i, j]) * sigma[j]
                else:
                    for p in range(indptr[i], indptr[i + 1]):
                        h += np.int64(data[p]) * sigma[indices[p]]
                u = 0.0
                if not zero_temperature:
                    u = _uniform(useed, (base + np.uint64(i)) * np.uint64(2) + np.uint64(1))
                new_states[i] = _decide(h, s_i, scale, beta, zero_temperature, u)
            for i in range(n):
                if new_states[i] != sigma[i]:
                    _flip(i, new_states[i], ut, xi_t, q, overlap, sigma)
        for p in range(overlap.shape[0]):
            m_out[s, p] = overlap[p]
        total = 0.0
        for k in range(q.shape[0]):
            total += float(q[k]) * float(q[k])
        q2_out[s] = total


# ------------------------------------------------------------------------- numpy reference

def _numpy_sweep(kind: int, ut: np.ndarray, matrix, xi_t: np.ndarray, sigma: np.ndarray,
                 q: np.ndarray, overlap: np.ndarray, scale: float, beta: float,
                 zero_temperature: bool, sequential: bool, seed: int, sweep: int,
                 self_weight: np.ndarray) -> None:
    n = sigma.shape[0]
    base = np.uint64(sweep) * np.uint64(n)
    counters = (base + np.arange(n, dtype=np.uint64)) * np.uint64(2)
    if sequential:
        sites = np.minimum((_uniforms(seed, counters) * n).astype(np.int64), n - 1)
        accept = _uniforms(seed, counters + np.uint64(1))
        for t in range(n):
            i = sites[t]
            s_i = int(sigma[i])
            if kind == 0:
                h = int(ut[i] @ q) - int(self_weight[i]) * s_i
            elif kind == 1:
                h = int(matrix[i] @ sigma)
            else:
                lo, hi = matrix.indptr[i], matrix.indptr[i + 1]
                h = int(matrix.data[lo:hi] @ sigma[matrix.indices[lo:hi]])
            if zero_temperature:
                new = 1 if h > 0 else (-1 if h < 0 else s_i)
            else:
                new = 1 if accept[t] < 1.0 / (1.0 + math.exp(-2.0 * beta * scale * h)) else -1
            if new != s_i:
                q += 2 * new * ut[i]
                overlap += 2 * new * xi_t[i]
                sigma[i] = new
        return
    if kind == 0:
        h = ut @ q - self_weight * sigma
    else:
        h = matrix @ sigma
    if zero_temperature:
        new = np.where(h > 0, 1, np.where(h < 0, -1, sigma))
    else:
        accept = _uniforms(seed, counters + np.uint64(1))
        with np.errstate(over="ignore"):
            p_up = 1.0 / (1.0 + np.exp(-2.0 * beta * scale * h.astype(np.float64)))
        new = np.where(accept < p_up, 1, -1)
    flipped = np.flatnonzero(new != sigma)
    delta = 2 * new[flipped]
    q += delta @ ut[flipped]
    overlap += delta @ xi_t[flipped]
    sigma[flipped] = new[flipped]


# ------------------------------------------------------------------------- driver

@dataclass(frozen=True)
class GlauberResult:
    """What :func:`glauber` returns.

    Args:
        state: final state, int8 ``[N]`` in {-1, +1}.
        magnetizations: Mattis magnetisations, float64 ``[n_sweeps + 1, P]`` (row 0: start).
        energies: Hamiltonian per unit ``H / N``, float64 ``[n_sweeps + 1]``.
        wall_time: seconds spent in the sweeps (s).
    """

    state: np.ndarray
    magnetizations: np.ndarray
    energies: np.ndarray
    wall_time: float

    @property
    def n_sweeps(self) -> int:
        """Number of sweeps run."""
        return int(self.energies.shape[0] - 1)


def glauber(couplings: Couplings, state: object, patterns: object, *,
            beta: float = math.inf, n_sweeps: int = 10, update: str = "sequential",
            representation: str = "factored", backend: str = "numba",
            rng: int | np.random.Generator | None = None,
            progress: bool = False) -> GlauberResult:
    """Run Glauber dynamics from ``state``; record the magnetisations and energy per sweep.

    Args:
        couplings: :class:`~snn.associative.Couplings` (N units).
        state: start state ``[N]`` in {-1, +1} (not modified), e.g. :func:`noisy_cue` or
            :func:`random_state`.
        patterns: ``[P, N]`` in {-1, 0, +1}, the patterns whose Mattis magnetisations are
            recorded (normalised with ``couplings.dilution``).
        beta: inverse temperature (dimensionless, > 0); ``math.inf`` for zero temperature.
        n_sweeps: number of sweeps (N updates each, >= 0).
        update: ``"sequential"`` or ``"parallel"``.
        representation: storage of the couplings, one of
            :data:`~snn.associative.REPRESENTATIONS` (same trajectory, different cost:
            see :meth:`Couplings.memory_bytes`).
        backend: ``"numba"`` (compiled) or ``"numpy"`` (the reference; bitwise equal).
        rng: seed or ``numpy.random.Generator`` of the update order and acceptance draws.
        progress: show a progress bar over sweeps.

    Returns:
        :class:`GlauberResult`.
    """
    if not isinstance(couplings, Couplings):
        raise TypeError(f"couplings must be a Couplings, got {type(couplings).__name__}")
    n = couplings.n_neurons
    sigma = _check_state(state, n).copy()
    xi = check_patterns(patterns)
    if xi.shape[1] != n:
        raise ValueError(f"patterns must have shape (P, {n}) to match the couplings, got "
                         f"{xi.shape}")
    beta = check_real("beta", beta, minimum=0.0, exclusive_minimum=True, finite=False)
    n_sweeps = check_int("n_sweeps", n_sweeps, minimum=0)
    check_choice("update", update, UPDATES)
    check_choice("representation", representation, REPRESENTATIONS)
    check_choice("backend", backend, BACKENDS)
    seed = int_seed(rng) & (2**64 - 1)
    kind = _KINDS[representation]
    zero_temperature = math.isinf(beta)
    sequential = update == "sequential"

    ut = np.ascontiguousarray(couplings.factors.T)
    xi_t = np.ascontiguousarray(xi.T)
    q = couplings.factors.astype(np.int64) @ sigma.astype(np.int64)
    overlap = xi.astype(np.int64) @ sigma.astype(np.int64)
    norm = 1.0 / (n * (1.0 - couplings.dilution))
    overlaps = np.empty((n_sweeps + 1, xi.shape[0]))
    q2 = np.empty(n_sweeps + 1)
    overlaps[0], q2[0] = overlap, float(np.sum(q.astype(np.float64) ** 2))

    dense = np.zeros((1, 1), dtype=np.int32)
    indptr = np.zeros(2, dtype=np.int64)
    indices = np.zeros(1, dtype=np.int32)
    data = np.zeros(1, dtype=np.int32)
    matrix = None
    if representation == "dense":
        dense = matrix = couplings.integer_matrix()
    elif representation == "sparse":
        matrix = couplings.sparse()
        indptr, indices, data = matrix.indptr, matrix.indices, matrix.data

    from tqdm.auto import tqdm

    bar = tqdm(total=n_sweeps, desc="Glauber", unit="sweep", disable=not progress)
    start = time.perf_counter()
    if backend == "numba":
        work = {0: n * ut.shape[1], 1: n * n, 2: data.size}[kind] + n  # operations per sweep
        block = max(1, min(n_sweeps, int(2e7 // work)))
        done = 0
        while done < n_sweeps:
            count = min(block, n_sweeps - done)
            _run_block(kind, ut, dense, indptr, indices, data, xi_t, sigma, q, overlap,
                       couplings.scale, beta, zero_temperature, sequential, seed, done,
                       count, overlaps[1 + done:1 + done + count], q2[1 + done:1 + done + count])
            done += count
            bar.update(count)
    else:
        self_weight = np.sum(ut.astype(np.int64) ** 2, axis=1)
        ut64, xi64 = ut.astype(np.int64), xi_t.astype(np.int64)
        sigma64 = sigma.astype(np.int64)
        for sweep in range(n_sweeps):
            _numpy_sweep(kind, ut64, matrix, xi64, sigma64, q, overlap, couplings.scale, beta,
                         zero_temperature, sequential, seed, sweep, self_weight)
            overlaps[1 + sweep], q2[1 + sweep] = overlap, float(np.sum(q.astype(np.float64)**2))
            bar.update(1)
        sigma = sigma64.astype(np.int8)
    wall = time.perf_counter() - start
    bar.close()
    return GlauberResult(state=sigma, magnetizations=overlaps * norm,
                         energies=-0.5 * couplings.scale * q2 / n, wall_time=wall)
