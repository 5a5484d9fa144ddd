"""The per-step products on packed weights (kernels/_packed.py), against float64 NumPy."""

import os

import numpy as np
import pytest
from threadpoolctl import threadpool_limits

from rnnlab.kernels._blas import blas_threads
from rnnlab.kernels._packed import (
    KC,
    MAX_ROWS,
    MR,
    pack_weights,
    packed_buffers,
    packed_gemm,
    packed_panels,
    panel_width,
    use_packed,
)

TOL = {np.float32: 2e-6, np.float64: 1e-14}  # relative to the largest |term| sum


def _case(rng, M, K, N, dtype, transposed):
    A = rng.standard_normal((M, K)).astype(dtype)
    W = rng.standard_normal((N, K) if transposed else (K, N)).astype(dtype)
    C = rng.standard_normal((M, N)).astype(dtype)
    return A, W, C


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("transposed", [True, False])
@pytest.mark.parametrize(
    "M,K,N",
    [(2, 1, 1), (3, 5, 17), (MR, 64, 256), (MR + 1, 7, 33), (20, KC + 44, 100), (MAX_ROWS, 40, 96)],
)
@pytest.mark.parametrize("beta", [0.0, 1.0])
def test_packed_gemm_matches_float64_product(dtype, transposed, M, K, N, beta):
    rng = np.random.default_rng(M * 1000 + K * 10 + N)
    A, W, C = _case(rng, M, K, N, dtype, transposed)
    B = W.T if transposed else W  # (K, N)
    ref = A.astype(np.float64) @ B.astype(np.float64) + beta * C.astype(np.float64)
    scale = np.abs(A).astype(np.float64) @ np.abs(B).astype(np.float64) + np.abs(C)
    pk = packed_panels(W, transposed, dtype)
    assert pk[0].shape == (-(-N // panel_width(dtype)), K, panel_width(dtype))
    out = C.copy()
    packed_gemm(A, pk, beta, out)
    assert np.all(np.abs(out - ref) <= TOL[dtype] * max(K, 1) * scale)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_pack_layout_and_zero_padding(dtype):
    rng = np.random.default_rng(0)
    NR = panel_width(dtype)
    K, N = 9, NR + 3
    W = rng.standard_normal((N, K)).astype(dtype)
    Bp = np.full((2, K, NR), np.nan, dtype)
    pack_weights(W, True, Bp)
    assert np.array_equal(Bp.transpose(1, 0, 2).reshape(K, 2 * NR)[:, :N], W.T)
    assert np.all(Bp[1, :, 3:] == 0.0)  # past N: zeros, never stale memory


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_a_row_does_not_depend_on_its_batch(dtype):
    """Each output element is the same sum in the same order for any row count or position."""
    rng = np.random.default_rng(1)
    A, W, _ = _case(rng, MAX_ROWS - 3, 300, 70, dtype, True)
    alone = []
    for i in (0, MR, MAX_ROWS - 4):
        out = np.zeros((2, 70), dtype)
        packed_gemm(np.ascontiguousarray(A[[i, 0]]), packed_panels(W, True, dtype), 0.0, out)
        alone.append(out[0])
    out = np.zeros((MAX_ROWS - 3, 70), dtype)
    packed_gemm(A, packed_panels(W, True, dtype), 0.0, out)
    for row, i in zip(alone, (0, MR, MAX_ROWS - 4)):
        assert np.array_equal(out[i], row)


def test_route_rule():
    f32, f64 = np.float32, np.float64
    assert not use_packed(1, f32, threads=1)  # a GEMV
    assert use_packed(2, f32, threads=1) and use_packed(MAX_ROWS, f32, threads=1)
    assert not use_packed(MAX_ROWS + 1, f32, threads=1)
    assert not use_packed(MR, f32, threads=2)  # OpenBLAS's own split
    assert not use_packed(MR, f64, threads=1)  # float64 runs keep OpenBLAS's bits
    with threadpool_limits(1):
        assert blas_threads() == 1 and use_packed(MR, f32)
        for rows, dtype in ((1, f32), (MR, f64)):
            Bp, scratch = packed_buffers(np.ones((4, 3), dtype), True, rows, dtype)
            assert Bp.shape[0] == 0 and scratch.size == 0  # empty: the kernels call BLAS
        assert packed_buffers(np.ones((4, 3), f32), True, MR, f32)[0].shape[0] == 1


AVX2_CHECK = """
import numpy as np
from threadpoolctl import threadpool_limits
from rnnlab.kernels import _packed
_packed.VECTOR_BITS, _packed.MR = 256, 6  # before anything compiles (a fresh Numba cache)
from rnnlab.layers import LSTM
assert (_packed.VECTOR_BITS, _packed.MR) == (256, 6)
assert _packed.panel_width(np.float32) == 16 and _packed.panel_width(np.float64) == 8
rng = np.random.default_rng(0)
for dtype in (np.float32, np.float64):
    A = rng.standard_normal((13, 300)).astype(dtype)
    W = rng.standard_normal((21, 300)).astype(dtype)
    C = np.zeros((13, 21), dtype)
    _packed.packed_gemm(A, _packed.packed_panels(W, True, dtype), 0.0, C)
    ref = A.astype(np.float64) @ W.T.astype(np.float64)
    assert np.abs(C - ref).max() <= (1e-4 if dtype == np.float32 else 1e-12) * np.abs(ref).max()
x = rng.standard_normal((5, 7, 3)).astype(np.float32)
dy = rng.standard_normal((5, 7, 10)).astype(np.float32)
out = {}
for backend in ("fast", "reference"):
    layer = LSTM(3, 10, rng=1, backend=backend, dtype=np.float32)
    with threadpool_limits(1):
        y, _, cache = layer.forward(x)
        _, _, grads = layer.backward(dy, cache)
    out[backend] = (y, grads["W_hh_l0"])
with threadpool_limits(1):
    assert _packed.use_packed(7, np.float32)
for a, b in zip(out["fast"], out["reference"]):
    assert np.abs(a - b).max() <= 1e-5 * np.abs(b).max()
print("ok")
"""


def test_avx2_tile_in_a_fresh_process(tmp_path):
    """The 6 x 2-vector tile that machines without AVX-512 compile, run here (on any x86-64
    with AVX2) in a process with its own Numba cache."""
    import subprocess
    import sys

    import llvmlite.binding as llvm

    if not llvm.get_host_cpu_features().get("avx2", False):
        pytest.skip("the host has no AVX2")
    env = {**os.environ, "NUMBA_CACHE_DIR": str(tmp_path)}
    done = subprocess.run(
        [sys.executable, "-c", AVX2_CHECK], env=env, capture_output=True, text=True, timeout=600
    )
    assert done.returncode == 0 and done.stdout.strip() == "ok", done.stderr[-2000:]
