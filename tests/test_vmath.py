"""The vectorisable exp / sigmoid / tanh of the fast kernels against extended-precision NumPy."""

import numpy as np
import pytest
from numba import njit

from rnnlab.kernels._common import JIT
from rnnlab.kernels._vmath import fma, sigmoid, tanh

ULP = 4  # allowed relative error, in units of the dtype's eps (measured: at most 1.5)


# compiled as the kernels are (the functions are inlined: the caller's flags apply to them)
@njit(**{k: v for k, v in JIT.items() if k != "cache"})
def _apply(x, t, s):
    # two plain loops, as in the kernels: LLVM vectorises them, the tail runs scalar
    for k in range(x.size):
        t[k] = tanh(x[k])
    for k in range(x.size):
        s[k] = sigmoid(x[k])


def _run(x):
    t, s = np.empty_like(x), np.empty_like(x)
    _apply(x, t, s)
    return t, s


def _exact(x):
    xl = x.astype(np.longdouble)
    e = np.exp(-np.abs(xl))
    return np.tanh(xl), np.where(xl >= 0, 1 / (1 + e), e / (1 + e))


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_within_a_few_ulp_over_the_whole_range(dtype, rng):
    mag = 10.0 ** rng.uniform(-12, 3, 200_000)  # 1e-12 .. 1e3, both signs
    x = (mag * rng.choice([-1.0, 1.0], mag.size)).astype(dtype)
    x = np.concatenate([x, np.array([0.0, 0.625, -0.625, np.nextafter(0.625, 0)], dtype)])
    t, s = _run(x)
    t_ref, s_ref = _exact(x)
    eps = np.finfo(dtype).eps
    rel_t = np.abs(t - t_ref) / np.maximum(np.abs(t_ref), np.finfo(dtype).tiny)
    assert rel_t.max() <= ULP * eps
    # sigmoid: relative error where the value is a normal number of the dtype (below that
    # exp is clamped on purpose: no denormals), absolute error everywhere
    normal = x > (-700.0 if dtype == np.float64 else -80.0)
    assert (np.abs(s - s_ref) / s_ref)[normal].max() <= ULP * eps
    assert np.abs(s - s_ref).max() <= eps


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_saturate_at_huge_arguments_and_keep_nan(dtype):
    big = np.finfo(dtype).max
    x = np.array([1e19, -1e19, 1e30, -1e30, big, -big, np.inf, -np.inf, np.nan], dtype)
    t, s = _run(x)
    np.testing.assert_array_equal(t[:8], [1, -1, 1, -1, 1, -1, 1, -1])
    np.testing.assert_array_equal(s[:8:2], [1, 1, 1, 1])
    assert np.all(s[1:8:2] < 1e-30)
    assert np.isnan(t[8]) and np.isnan(s[8])


@njit(**{k: v for k, v in JIT.items() if k != "cache"})
def _fma_loop(a, b, c, out):
    for k in range(a.size):  # vectorised, as in the kernels, with a scalar tail
        out[k] = fma(a[k], b[k], c[k])


@pytest.mark.parametrize("dtype,bits", [(np.float64, 30), (np.float32, 13)])
def test_fma_rounds_once(dtype, bits):
    # (1 + e)(1 - e) - 1 = -e^2 exactly; rounding the product first gives 0
    e = dtype(2.0**-bits)
    a, b, c = (np.full(37, v, dtype) for v in (1 + e, 1 - e, -1))
    out = np.empty_like(a)
    _fma_loop(a, b, c, out)
    assert np.all(out == -(e * e)) and out.dtype == dtype
    assert np.all(a * b + c == 0)  # what an unfused a * b + c gives
