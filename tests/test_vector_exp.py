"""The vectorisable exponential: accuracy against the C library, and identical rounding in
numpy and in compiled code."""

import math

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from numba import njit

from snn.vector_exp import exp_compiled, exp_numpy


@njit
def _exp_loop(x, out):
    for i in range(x.size):
        out[i] = exp_compiled(x[i])


def _compiled(x: np.ndarray) -> np.ndarray:
    out = np.empty_like(x)
    _exp_loop(x, out)
    return out


SPECIAL = np.array([0.0, -0.0, 1.0, -1.0, math.log(2.0), 1e-300, -1e-300, 5e-324,
                    709.782712893384, 709.7827128933841, 710.0, 1e300, math.inf,
                    -708.3964185322641, -708.4, -720.5, -745.1332191019411, -745.14, -1e300,
                    -math.inf])


def _libm_exp(x: float) -> float:
    try:
        return math.exp(x)
    except OverflowError:
        return math.inf


def _wide_sample(seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return np.concatenate([SPECIAL, rng.uniform(-750.0, 712.0, 100_000),
                           rng.uniform(-3.0, 3.0, 100_000), rng.uniform(-1e-6, 1e-6, 1_000)])


def test_compiled_and_numpy_round_identically():
    x = _wide_sample(0)
    np.testing.assert_array_equal(_compiled(x), exp_numpy(x))


def test_within_two_ulp_of_the_c_library():
    # The C library's exp is within 1 ulp of the true value, ours too (see the module), so
    # the two differ by at most 2 ulp; in the subnormal range an ulp is the smallest subnormal.
    x = _wide_sample(1)
    ours = exp_numpy(x)
    libm = np.array([_libm_exp(v) for v in x])
    finite = np.isfinite(libm)
    np.testing.assert_array_equal(ours[~finite], libm[~finite])
    ulp = np.maximum(np.spacing(libm[finite]), 5e-324)
    assert np.max(np.abs(ours[finite] - libm[finite]) / ulp) <= 2.0


def test_special_values():
    got = exp_numpy(np.array([0.0, math.inf, -math.inf, math.nan, 710.0, -746.0]))
    assert got[0] == 1.0 and got[1] == math.inf and got[2] == 0.0
    assert math.isnan(got[3]) and got[4] == math.inf and got[5] == 0.0
    assert math.isnan(_compiled(np.array([math.nan]))[0])


@settings(max_examples=200, deadline=None)
@given(st.floats(min_value=-800.0, max_value=800.0, allow_nan=False))
def test_any_double_rounds_identically_and_closely(x):
    arr = np.array([x])
    assert _compiled(arr)[0] == exp_numpy(arr)[0]
    expected = _libm_exp(x)
    got = float(exp_numpy(arr)[0])
    if math.isfinite(expected):
        assert abs(got - expected) <= 2.0 * max(np.spacing(expected), 5e-324)
    else:
        assert got == expected
