"""Hebbian couplings of the multitasking network, held exactly as integer factors.

Every coupling matrix here has the form ``J = scale * U^T U`` (self-couplings excluded from
the dynamics) with an integer factor ``U`` of shape ``[K, N]``:

* Hopfield (perfect data): ``U = xi`` (``K = P``), ``scale = 1 / (N (1 - d))``;
* supervised: ``U[mu] = sum_a eta[mu, a]`` (``K = P``), ``scale = 1 / (N (1 - d) (1 + rho)
  r^2 M^2)``, i.e. ``J = sum_mu etahat_mu etahat_mu^T / (N (1 - d) (1 + rho))`` with the
  example average ``etahat_mu = sum_a eta[mu, a] / (r M)``;
* unsupervised: ``U[(mu, a)] = eta[mu, a]`` (``K = P M``), ``scale = 1 / (N (1 - d)
  (1 + rho) r^2 M)``;

with ``rho = (1 - r^2) / (M r^2)`` (Agliari, Alessandrelli, Barra & Ricci-Tersenghi 2023,
"Parallel learning by multitasking neural networks", J. Stat. Mech. 114034, arXiv
2308.04106).  With these normalisations both protocols give, for N -> infinity at fixed P and
M, the same local field ``sum_mu m_mu etahat_mu / (1 + rho)`` in a state of Mattis
magnetisations ``m_mu`` uncorrelated with the example noise.  Integer factors keep the
local fields exact (an integer times one float), so the three storage layouts (factored,
dense, sparse) give bitwise the same dynamics.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..validation import check_choice, check_int, check_real
from .data import (
    MultitaskingConfig,
    check_patterns,
    dataset_entropy,
    diluted_patterns,
    noisy_examples,
    warn_beyond_low_storage,
)

__all__ = [
    "REPRESENTATIONS",
    "Couplings",
    "build_network",
    "hopfield_couplings",
    "supervised_couplings",
    "unsupervised_couplings",
]

#: Storage layouts of the couplings for the dynamics: ``"factored"`` (the integer factor
#: ``U``, ``K N`` entries), ``"dense"`` (int32 ``N x N``), ``"sparse"`` (int32 CSR of the
#: nonzero off-diagonal couplings).
REPRESENTATIONS = ("factored", "dense", "sparse")


@dataclass(frozen=True, eq=False)
class Couplings:
    """Couplings ``J = scale * U^T U`` (dimensionless) with an integer factor.

    Args:
        factors: integer array ``[K, N]`` (``U``).
        scale: the float multiplying ``U^T U`` (> 0).
        dilution: pattern dilution d the normalisation used, in [0, 1).
        training: ``"hopfield"``, ``"supervised"`` or ``"unsupervised"``.
        n_patterns: number of patterns P the factors come from.
    """

    factors: np.ndarray
    scale: float
    dilution: float
    training: str
    n_patterns: int

    def __post_init__(self) -> None:
        if not isinstance(self.factors, np.ndarray) or self.factors.ndim != 2 \
                or self.factors.dtype.kind not in "iu":
            raise TypeError("Couplings.factors must be an integer numpy array [K, N]")
        check_real("Couplings.scale", self.scale, minimum=0.0, exclusive_minimum=True)
        check_real("Couplings.dilution", self.dilution, minimum=0.0, maximum=1.0)
        check_int("Couplings.n_patterns", self.n_patterns, minimum=1)

    @property
    def n_neurons(self) -> int:
        """Number of units N."""
        return int(self.factors.shape[1])

    def integer_matrix(self) -> np.ndarray:
        """The integer couplings ``G = U^T U`` with a zero diagonal, int32 ``[N, N]``
        (``J = scale * G``); needs ``4 N^2`` bytes."""
        n = self.n_neurons
        u = self.factors.astype(np.float64)
        out = np.empty((n, n), dtype=np.int32)
        rows = max(1, 2**22 // max(n, 1))
        for start in range(0, n, rows):
            block = u[:, start:start + rows].T @ u   # exact: integers far below 2^53
            out[start:start + rows] = np.rint(block).astype(np.int32)
        np.fill_diagonal(out, 0)
        return out

    def matrix(self) -> np.ndarray:
        """The couplings ``J`` as a float64 ``[N, N]`` array with a zero diagonal."""
        return self.scale * self.integer_matrix().astype(np.float64)

    def sparse(self):
        """The nonzero off-diagonal integer couplings as a ``scipy.sparse.csr_array``
        (int32 data, ``J = scale * G``), built row block by row block."""
        from scipy import sparse

        n = self.n_neurons
        u = self.factors.astype(np.float64)
        rows = max(1, 2**22 // max(n, 1))
        blocks = []
        for start in range(0, n, rows):
            block = np.rint(u[:, start:start + rows].T @ u).astype(np.int32)
            idx = np.arange(block.shape[0])
            block[idx, start + idx] = 0
            blocks.append(sparse.csr_array(block))
        matrix = sparse.vstack(blocks, format="csr")
        matrix.sort_indices()
        return sparse.csr_array((matrix.data.astype(np.int32), matrix.indices.astype(np.int32),
                                 matrix.indptr.astype(np.int64)), shape=(n, n))

    def expected_density(self) -> float:
        """Expected fraction of nonzero off-diagonal couplings: two units interact when some
        pattern is nonzero on both, ``1 - (1 - (1 - d)^2)^P`` (an upper bound: sums can
        cancel)."""
        return 1.0 - (1.0 - (1.0 - self.dilution) ** 2) ** self.n_patterns

    def memory_bytes(self, representation: str = "factored") -> int:
        """Bytes the dynamics need to hold the couplings in ``representation``.

        ``"factored"``: ``K N`` factor entries (its integer width) plus a transposed copy;
        ``"dense"``: ``4 N^2``; ``"sparse"``: 8 bytes per expected nonzero (int32 index and
        value, :meth:`expected_density`) plus ``8 (N + 1)`` for the row pointers.
        """
        check_choice("representation", representation, REPRESENTATIONS)
        n = self.n_neurons
        if representation == "factored":
            return 2 * self.factors.size * self.factors.itemsize
        if representation == "dense":
            return 4 * n * n
        return int(8 * self.expected_density() * n * (n - 1)) + 8 * (n + 1)

    def fields(self, state: np.ndarray) -> np.ndarray:
        """Local fields ``h_i = sum_{j != i} J_ij s_j`` (float64 ``[N]``) of a state ``[N]``
        in {-1, +1}."""
        s = _check_state(state, self.n_neurons)
        u = self.factors.astype(np.int64)
        overlaps = u @ s.astype(np.int64)
        self_term = np.sum(u * u, axis=0) * s
        return self.scale * (overlaps @ u - self_term).astype(np.float64)


def _check_state(state: object, n_neurons: int, name: str = "state") -> np.ndarray:
    from ..validation import check_array

    array = check_array(name, state, ndim=1, kind="biuf")
    if array.shape[0] != n_neurons:
        raise ValueError(f"{name} must have shape ({n_neurons},) to match the couplings, got "
                         f"{array.shape}")
    if not np.all((array == 1) | (array == -1)):
        raise ValueError(f"{name} entries must be -1 or +1")
    return array.astype(np.int8, copy=False)


def _dilution(patterns_or_examples: np.ndarray, dilution: float | None) -> float:
    if dilution is None:
        dilution = float(np.mean(patterns_or_examples == 0))
    dilution = check_real("dilution", dilution, minimum=0.0, maximum=1.0)
    if dilution >= 1.0:
        raise ValueError("dilution must be < 1 (the couplings are normalised by 1 - d), got "
                         f"{dilution!r}")
    return dilution


def _check_examples(examples: object) -> np.ndarray:
    from ..validation import check_array

    array = check_array("examples", examples, ndim=3, kind="biuf")
    if min(array.shape) < 1:
        raise ValueError("examples must have shape [n_patterns, n_examples, n_neurons], all "
                         f">= 1, got {array.shape}")
    if not np.all(np.isin(array, (-1, 0, 1))):
        raise ValueError("examples entries must be -1, 0 or +1")
    return array.astype(np.int8, copy=False)


def hopfield_couplings(patterns: object, dilution: float | None = None) -> Couplings:
    """Hebbian couplings of the patterns themselves, ``J = xi^T xi / (N (1 - d))``.

    Args:
        patterns: ``[P, N]`` in {-1, 0, +1}.
        dilution: the d of the normalisation; None uses the fraction of zero entries.

    Returns:
        :class:`Couplings` with ``training="hopfield"``.
    """
    xi = check_patterns(patterns)
    d = _dilution(xi, dilution)
    warn_beyond_low_storage("n_patterns (patterns.shape[0])", xi.shape[0], xi.shape[1])
    return _hopfield(xi, d)


def _hopfield(xi: np.ndarray, d: float) -> Couplings:
    return Couplings(np.ascontiguousarray(xi), 1.0 / (xi.shape[1] * (1.0 - d)), d, "hopfield",
                     xi.shape[0])


def _quality(quality: float) -> float:
    return check_real("quality", quality, minimum=0.0, maximum=1.0, exclusive_minimum=True)


def supervised_couplings(examples: object, quality: float,
                         dilution: float | None = None) -> Couplings:
    """Supervised Hebbian couplings: the teacher groups the examples by pattern.

    ``J = sum_mu etahat_mu etahat_mu^T / (N (1 - d) (1 + rho))`` with
    ``etahat_mu = sum_a eta[mu, a] / (r M)`` and ``rho = (1 - r^2) / (M r^2)``.

    Args:
        examples: ``[P, M, N]`` in {-1, 0, +1} (:func:`noisy_examples`).
        quality: the example quality r in (0, 1] used in the normalisation.
        dilution: the d of the normalisation; None uses the fraction of zero entries.

    Returns:
        :class:`Couplings` with ``training="supervised"``.
    """
    eta = _check_examples(examples)
    r = _quality(quality)
    d = _dilution(eta, dilution)
    warn_beyond_low_storage("n_patterns (examples.shape[0])", eta.shape[0], eta.shape[2])
    return _supervised(eta, r, d)


def _supervised(eta: np.ndarray, r: float, d: float) -> Couplings:
    n_patterns, m, n = eta.shape
    dtype = np.int16 if m < 2**15 else np.int32
    sums = eta.sum(axis=1, dtype=np.int64).astype(dtype)
    rho = dataset_entropy(r, m)
    scale = 1.0 / (n * (1.0 - d) * (1.0 + rho) * r * r * m * m)
    return Couplings(np.ascontiguousarray(sums), scale, d, "supervised", n_patterns)


def unsupervised_couplings(examples: object, quality: float,
                           dilution: float | None = None) -> Couplings:
    """Unsupervised Hebbian couplings: every example stored on its own, no labels.

    ``J = sum_{mu, a} eta[mu, a] eta[mu, a]^T / (N (1 - d) (1 + rho) r^2 M)``.

    Args:
        examples: ``[P, M, N]`` in {-1, 0, +1}.
        quality: the example quality r in (0, 1] used in the normalisation.
        dilution: the d of the normalisation; None uses the fraction of zero entries.

    Returns:
        :class:`Couplings` with ``training="unsupervised"`` and ``K = P M`` factors.
    """
    eta = _check_examples(examples)
    r = _quality(quality)
    d = _dilution(eta, dilution)
    warn_beyond_low_storage("n_patterns (examples.shape[0])", eta.shape[0], eta.shape[2])
    return _unsupervised(eta, r, d)


def _unsupervised(eta: np.ndarray, r: float, d: float) -> Couplings:
    n_patterns, m, n = eta.shape
    rho = dataset_entropy(r, m)
    scale = 1.0 / (n * (1.0 - d) * (1.0 + rho) * r * r * m)
    return Couplings(np.ascontiguousarray(eta.reshape(n_patterns * m, n)), scale, d,
                     "unsupervised", n_patterns)


def build_network(config: MultitaskingConfig) -> tuple[np.ndarray, np.ndarray | None, Couplings]:
    """Patterns, examples and couplings of ``config`` (drawn from ``config.seed``).

    Args:
        config: :class:`MultitaskingConfig`.

    Returns:
        ``(patterns [P, N] int8, examples [P, M, N] int8 or None for "hopfield", couplings)``;
        the normalisation uses the nominal ``config.dilution``.
    """
    if not isinstance(config, MultitaskingConfig):
        raise TypeError(f"config must be a MultitaskingConfig, got {type(config).__name__}")
    generator = np.random.default_rng(config.seed)
    xi = diluted_patterns(config.n_patterns, config.n_neurons, config.dilution, generator)
    # The config has already warned about the low-storage bound.
    if config.training == "hopfield":
        return xi, None, _hopfield(xi, config.dilution)
    eta = noisy_examples(xi, config.quality, config.n_examples, generator)
    build = _supervised if config.training == "supervised" else _unsupervised
    return xi, eta, build(eta, config.quality, config.dilution)
