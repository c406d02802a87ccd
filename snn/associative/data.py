"""Diluted patterns and their noisy examples (the data of the multitasking Hebbian network).

A pattern ``xi`` has ``n_neurons`` entries in {-1, 0, +1}: each entry is 0 with probability
``dilution`` (d) and +1 or -1 with probability (1 - d) / 2 each.  An example of a pattern keeps
its zeros and flips each nonzero entry with probability (1 - r) / 2, where ``quality`` r is in
[0, 1]: ``eta = chi * xi`` with ``chi = +1`` with probability (1 + r) / 2, else -1, so that the
average of an example entry is ``r * xi``.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass

import numpy as np

from .._random import numpy_generator
from ..validation import check_array, check_choice, check_int, check_probability, check_real

__all__ = [
    "TRAINING",
    "MultitaskingConfig",
    "check_patterns",
    "dataset_entropy",
    "diluted_patterns",
    "low_storage_bound",
    "noisy_examples",
]

#: How the couplings are built: ``"hopfield"`` (from the patterns themselves, the limit of
#: perfect data), ``"supervised"`` (example averages per pattern, the teacher knows which
#: pattern each example belongs to) or ``"unsupervised"`` (every example on its own).
TRAINING = ("hopfield", "supervised", "unsupervised")


def low_storage_bound(n_neurons: int) -> int:
    """The largest number of patterns the low-storage theory is used for here: ``ln N``.

    The self-consistency equations of :mod:`snn.associative.theory` hold for a number of
    patterns that grows at most logarithmically with the network size (the setting of
    Agliari et al. 2012 and 2023); beyond, the cross-talk noise of order ``sqrt(P / N)``
    is no longer negligible beside the smallest signal of the hierarchical state.

    Args:
        n_neurons: network size N (>= 2).

    Returns:
        ``max(1, floor(ln N))``.
    """
    n_neurons = check_int("n_neurons", n_neurons, minimum=2)
    return max(1, int(math.floor(math.log(n_neurons))))


def warn_beyond_low_storage(name: str, n_patterns: int, n_neurons: int,
                            stacklevel: int = 3) -> None:
    """Warn (``UserWarning``, naming ``name`` and the bound) when ``n_patterns`` exceeds
    :func:`low_storage_bound` of ``n_neurons``."""
    bound = low_storage_bound(n_neurons)
    if n_patterns > bound:
        warnings.warn(f"{name} = {n_patterns} exceeds the low-storage bound ln N = {bound} "
                      f"for N = {n_neurons}: the self-consistency equations of the "
                      "low-storage theory no longer describe this network", UserWarning,
                      stacklevel=stacklevel)


@dataclass(frozen=True)
class MultitaskingConfig:
    """One multitasking Hebbian network and its training set (all numbers dimensionless).

    Args:
        n_neurons: number of binary units N (>= 2).
        n_patterns: number of patterns P (>= 1); more than :func:`low_storage_bound`
            warns: the statistical-mechanics predictions no longer hold.
        dilution: fraction d of zero entries in each pattern, in [0, 1).
        quality: example quality r, in (0, 1]: each nonzero entry of an example is flipped
            with probability (1 - r) / 2 (r = 0 carries no information and leaves the
            couplings' normalisation undefined).
        n_examples: examples per pattern M (>= 1); ignored by ``training="hopfield"``.
        training: one of :data:`TRAINING`.
        seed: seed of the patterns and examples.
    """

    n_neurons: int = 1000
    n_patterns: int = 3
    dilution: float = 0.2
    quality: float = 1.0
    n_examples: int = 1
    training: str = "hopfield"
    seed: int = 0

    def __post_init__(self) -> None:
        check_int("MultitaskingConfig.n_neurons", self.n_neurons, minimum=2)
        check_int("MultitaskingConfig.n_patterns", self.n_patterns, minimum=1)
        check_real("MultitaskingConfig.dilution", self.dilution, minimum=0.0, maximum=1.0)
        if self.dilution >= 1.0:
            raise ValueError("MultitaskingConfig.dilution must be < 1 (d = 1 leaves every "
                             f"pattern empty), got {self.dilution!r}")
        check_probability("MultitaskingConfig.quality", self.quality)
        if self.quality <= 0.0:
            raise ValueError("MultitaskingConfig.quality must be > 0 (r = 0 examples carry no "
                             f"information about the patterns), got {self.quality!r}")
        check_int("MultitaskingConfig.n_examples", self.n_examples, minimum=1)
        check_choice("MultitaskingConfig.training", self.training, TRAINING)
        check_int("MultitaskingConfig.seed", self.seed, minimum=0)
        warn_beyond_low_storage("MultitaskingConfig.n_patterns", self.n_patterns,
                                self.n_neurons, stacklevel=4)

    @property
    def dataset_entropy(self) -> float:
        """rho = (1 - r^2) / (M r^2): the variance of an example average over the pattern
        (0 for ``training="hopfield"``)."""
        if self.training == "hopfield":
            return 0.0
        return dataset_entropy(self.quality, self.n_examples)


def dataset_entropy(quality: float, n_examples: int) -> float:
    """rho = (1 - r^2) / (M r^2), the variance of ``mean_a(chi_a) / r`` (dimensionless).

    Args:
        quality: example quality r in (0, 1].
        n_examples: examples per pattern M (>= 1).
    """
    quality = check_real("quality", quality, minimum=0.0, maximum=1.0, exclusive_minimum=True)
    n_examples = check_int("n_examples", n_examples, minimum=1)
    return (1.0 - quality**2) / (n_examples * quality**2)


def diluted_patterns(n_patterns: int, n_neurons: int, dilution: float,
                     rng: int | np.random.Generator | None = None) -> np.ndarray:
    """Random diluted patterns.

    Args:
        n_patterns: number of patterns P (>= 1).
        n_neurons: entries per pattern N (>= 1).
        dilution: probability d of a zero entry, in [0, 1].
        rng: seed or ``numpy.random.Generator``.

    Returns:
        int8 array of shape ``[P, N]`` with entries in {-1, 0, +1}.
    """
    n_patterns = check_int("n_patterns", n_patterns, minimum=1)
    n_neurons = check_int("n_neurons", n_neurons, minimum=1)
    dilution = check_probability("dilution", dilution)
    generator = numpy_generator(rng)
    signs = generator.integers(0, 2, size=(n_patterns, n_neurons), dtype=np.int8) * 2 - 1
    keep = generator.random((n_patterns, n_neurons)) >= dilution
    return (signs * keep).astype(np.int8)


def check_patterns(patterns: object, name: str = "patterns") -> np.ndarray:
    """``patterns`` as an int8 ``[P, N]`` array with entries in {-1, 0, +1}."""
    array = check_array(name, patterns, ndim=2, kind="biuf")
    if array.shape[0] < 1 or array.shape[1] < 1:
        raise ValueError(f"{name} must have shape [n_patterns >= 1, n_neurons >= 1], got "
                         f"{array.shape}")
    if not np.all(np.isin(array, (-1, 0, 1))):
        raise ValueError(f"{name} entries must be -1, 0 or +1")
    return array.astype(np.int8, copy=False)


def noisy_examples(patterns: object, quality: float, n_examples: int,
                   rng: int | np.random.Generator | None = None) -> np.ndarray:
    """``n_examples`` noisy examples of each pattern.

    Args:
        patterns: ``[P, N]`` entries in {-1, 0, +1}.
        quality: r in [0, 1]; each nonzero entry is flipped with probability (1 - r) / 2.
        n_examples: examples per pattern M (>= 1).
        rng: seed or ``numpy.random.Generator``.

    Returns:
        int8 array of shape ``[P, M, N]``: ``examples[mu, a] = chi[mu, a] * patterns[mu]``.
    """
    xi = check_patterns(patterns)
    quality = check_probability("quality", quality)
    n_examples = check_int("n_examples", n_examples, minimum=1)
    generator = numpy_generator(rng)
    n_patterns, n_neurons = xi.shape
    flip = generator.random((n_patterns, n_examples, n_neurons)) >= (1.0 + quality) / 2.0
    chi = (1 - 2 * flip.astype(np.int8)).astype(np.int8)
    return (chi * xi[:, None, :]).astype(np.int8)
