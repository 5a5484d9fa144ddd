"""Subnormals flushed to zero inside float32 kernels and Adam's call (kernels/_fpenv.py), and
nowhere else: not in float64 kernels, not in the caller's arithmetic afterwards."""

import numpy as np
import pytest
from numba import njit
from threadpoolctl import threadpool_limits

from cases import cell_cases
from rnnlab.gradcheck import relative_error
from rnnlab.kernels._fpenv import X86, flush_float32, flush_subnormals, restore_fpenv
from tolerances import FAST_REL_F32

TINY = np.float32(np.finfo(np.float32).tiny)
HALF = np.float32(0.5)


@njit
def _half_of_tiny_flushing_for(a):
    env = flush_float32(a)
    out = np.float32(a[0]) * np.float32(0.5)  # subnormal in IEEE arithmetic
    restore_fpenv(env)
    return out


@njit
def _half_of_tiny_flushing(a):
    env = flush_subnormals()
    out = a[0] * np.float32(0.5)
    restore_fpenv(env)
    return out


def test_the_flags_hold_inside_the_call_only():
    ieee = TINY * HALF
    assert ieee != 0  # the caller's arithmetic keeps subnormals
    flushed = 0 if X86 else ieee
    assert _half_of_tiny_flushing_for(np.array([TINY], np.float32)) == flushed
    assert _half_of_tiny_flushing_for(np.array([TINY], np.float64)) == ieee  # float64: untouched
    assert _half_of_tiny_flushing(np.array([TINY], np.float32)) == flushed
    assert TINY * HALF == ieee  # and after the calls, again


@pytest.mark.parametrize("case", ["rnn-tanh", "lstm", "gru"])
def test_vanishing_gradients_are_flushed_in_float32_kernels(case):
    """A loss at the last of 300 steps and a small W_hh: dL/dh_t falls through float32's
    subnormals on its way back. The fast kernels give zeros there (on x86-64), the float32
    reference loop subnormals, and both the float64 reference's gradients to FAST_REL_F32."""
    T, B, I, H = 300, 4, 3, 16
    make = cell_cases(I, H)[case]
    layers = {
        "fast": make(rng=5, dtype=np.float32),
        "ref32": make(rng=5, dtype=np.float32, backend="reference"),
        "ref64": make(rng=5, dtype=np.float64, backend="reference"),
    }
    x = np.random.default_rng(0).standard_normal((T, B, I))
    out = {}
    with threadpool_limits(1):
        for name, layer in layers.items():
            for key, w in layer.params.items():
                if key.startswith("W_hh"):
                    w *= 0.3
            y, _, cache = layer.forward(x.astype(layer.dtype))
            dy = np.zeros_like(y)
            dy[-1] = 1.0
            dx, _, grads = layer.backward(dy, cache)
            out[name] = {"dx": dx, **grads}
    assert TINY * HALF != 0  # the control word is the caller's again
    sub = lambda a: (a != 0) & (np.abs(a) < TINY)  # noqa: E731
    assert sub(out["ref32"]["dx"]).any()  # the case reaches the subnormals
    if X86:
        assert not sub(out["fast"]["dx"]).any()
    for key, ref in out["ref64"].items():
        assert relative_error(out["fast"][key], ref) < FAST_REL_F32, key
