"""GEMM and GEMV for the kernels: NumPy's own BLAS through CBLAS, or ``np.dot`` where it has none.

Why not just ``np.dot`` inside Numba: Numba's ``np.dot`` calls the BLAS that SciPy bundles, a
second OpenBLAS next to the one NumPy uses. Two OpenBLAS thread pools in one process take turns
badly (each pool's idle threads spin for a while after a call, on the cores the other pool is
about to use); per-step GEMMs of rnnlab's kernels alternating with NumPy matmuls were measured
2-5x slower than either library alone. NumPy's wheels ship OpenBLAS with 64-bit integers and a
CBLAS interface; calling it directly also gives ``beta = 1`` (accumulate into the output: no
temporary and no extra pass for the weight gradients) and GEMV for a batch of one. See
``benchmarks/NOTES.md`` for the measurements.

The symbols are registered with LLVM under fixed rnnlab names, so the compiled kernels (cached on
disk) never depend on how a given NumPy build names them. Without such a library the names point
to a stub that is never called: :data:`USE_CBLAS` is then false and the kernels take the
``np.dot`` branch.
"""

from __future__ import annotations

import ctypes
import glob
import os
from typing import Any

import llvmlite.binding as llvm
import numpy as np
from numba import njit, types

from ._common import JIT

# CBLAS enums (cblas.h)
ROW_MAJOR, NO_TRANS, TRANS = 101, 111, 112

# (rnnlab name, candidate symbols in NumPy's BLAS): newer wheels prefix "scipy_"
_SYMBOLS = {
    "rnnlab_sgemm": ("scipy_cblas_sgemm64_", "cblas_sgemm64_"),
    "rnnlab_dgemm": ("scipy_cblas_dgemm64_", "cblas_dgemm64_"),
    "rnnlab_sgemv": ("scipy_cblas_sgemv64_", "cblas_sgemv64_"),
    "rnnlab_dgemv": ("scipy_cblas_dgemv64_", "cblas_dgemv64_"),
}


def _numpy_blas_candidates() -> list[str]:
    """Shared libraries that NumPy's wheels bundle its ILP64 OpenBLAS as (Linux, macOS, Windows)."""
    root = os.path.dirname(np.__file__)
    patterns = [
        os.path.join(root, os.pardir, "numpy.libs", "*openblas64*"),
        os.path.join(root, ".dylibs", "*openblas64*"),
    ]
    return sorted(p for pattern in patterns for p in glob.glob(pattern))


_THREAD_COUNT = ("scipy_openblas_get_num_threads64_", "openblas_get_num_threads64_")


def _first(lib: ctypes.CDLL, candidates: tuple[str, ...]) -> Any:
    """The first of ``candidates`` that ``lib`` exports, or None."""
    for symbol in candidates:
        fn = getattr(lib, symbol, None)
        if fn is not None:
            return fn
    return None


def _resolve() -> tuple[dict[str, int] | None, Any]:
    """From NumPy's BLAS: the addresses of the four CBLAS functions and OpenBLAS's
    ``get_num_threads`` (None each where there is no such library or symbol)."""
    for path in _numpy_blas_candidates():
        try:
            lib = ctypes.CDLL(path)  # already loaded by NumPy: the same library and thread pool
        except OSError:
            continue
        found = {name: _first(lib, candidates) for name, candidates in _SYMBOLS.items()}
        if all(fn is not None for fn in found.values()):
            threads = _first(lib, _THREAD_COUNT)
            if threads is not None:
                threads.restype, threads.argtypes = ctypes.c_int, []
            return {n: ctypes.cast(fn, ctypes.c_void_p).value for n, fn in found.items()}, threads
    return None, None


_ADDRESSES, _get_num_threads = _resolve()


def blas_threads() -> int:
    """The threads NumPy's OpenBLAS runs a call on now (``threadpoolctl`` limits included); 1
    where it cannot be asked. A library call costs well under a microsecond."""
    return int(_get_num_threads()) if _get_num_threads is not None else 1


@ctypes.CFUNCTYPE(None)
def _never_called() -> None:  # pragma: no cover - the kernels check USE_CBLAS first
    raise RuntimeError("rnnlab: CBLAS stub called although USE_CBLAS is false")


CBLAS_FOUND: bool = _ADDRESSES is not None  # whether NumPy's BLAS offers the CBLAS functions
# whether the kernels call it; RNNLAB_NO_CBLAS=1 forces the np.dot route (and tests it)
USE_CBLAS: bool = CBLAS_FOUND and not os.environ.get("RNNLAB_NO_CBLAS")
_stub = ctypes.cast(_never_called, ctypes.c_void_p).value
for _name in _SYMBOLS:
    llvm.add_symbol(_name, _ADDRESSES[_name] if _ADDRESSES else _stub)

_i32, _i64, _ptr = types.int32, types.int64, types.intp
_gemm_sig = {
    t: types.void(_i32, _i32, _i32, _i64, _i64, _i64, t, _ptr, _i64, _ptr, _i64, t, _ptr, _i64)
    for t in (types.float32, types.float64)
}
_gemv_sig = {
    t: types.void(_i32, _i32, _i64, _i64, t, _ptr, _i64, _ptr, _i64, t, _ptr, _i64)
    for t in (types.float32, types.float64)
}
_sgemm = types.ExternalFunction("rnnlab_sgemm", _gemm_sig[types.float32])
_dgemm = types.ExternalFunction("rnnlab_dgemm", _gemm_sig[types.float64])
_sgemv = types.ExternalFunction("rnnlab_sgemv", _gemv_sig[types.float32])
_dgemv = types.ExternalFunction("rnnlab_dgemv", _gemv_sig[types.float64])


@njit(**JIT)
def _dot_into(ta, tb, A, B, C):
    # np.dot needs concrete layouts: one call per transpose case
    if ta and tb:
        np.dot(A.T, B.T, C)
    elif ta:
        np.dot(A.T, B, C)
    elif tb:
        np.dot(A, B.T, C)
    else:
        np.dot(A, B, C)


@njit(**JIT)
def gemm(cblas, ta, tb, A, B, beta, C):
    """``C = op(A) op(B) + beta C`` for 2-D arrays with contiguous rows (C-contiguous, or a block
    of columns of one); ``op`` transposes where asked.

    A: (M, K), or (K, M) if ``ta``. B: (K, N), or (N, K) if ``tb``. C: (M, N), written in place.
    ``beta`` is 0 (overwrite) or 1 (accumulate). ``cblas``: call NumPy's CBLAS (else np.dot).
    """
    M, N = C.shape
    K = A.shape[0] if ta else A.shape[1]
    if M == 0 or N == 0:
        return
    if K == 0:  # an empty sum (BLAS would reject the zero leading dimension)
        if beta == 0.0:
            C[:] = 0.0
        return
    if not cblas:
        tmp = np.empty((M, N), C.dtype)  # np.dot writes only into a C-contiguous array
        _dot_into(ta, tb, np.ascontiguousarray(A), np.ascontiguousarray(B), tmp)
        if beta == 0.0:
            C[:] = tmp
        else:
            C += tmp
        return
    a, b, c = A.ctypes.data, B.ctypes.data, C.ctypes.data
    # leading dimensions from the row strides (a block of columns is a matrix of its own); at
    # least the row length, which a one-row array's arbitrary stride may not be
    lda = max(A.strides[0] // A.itemsize, A.shape[1])
    ldb = max(B.strides[0] // B.itemsize, B.shape[1])
    ldc = max(C.strides[0] // C.itemsize, N)
    single = C.itemsize == 4
    if M == 1 and not ta:
        # a batch of one: C^T = op(B)^T A^T is a matrix-vector product (OpenBLAS's GEMM with
        # M = 1 was measured several times slower than its GEMV)
        tv = NO_TRANS if tb else TRANS
        rows, cols = B.shape
        if single:
            _sgemv(ROW_MAJOR, tv, rows, cols, 1.0, b, ldb, a, 1, beta, c, 1)
        else:
            _dgemv(ROW_MAJOR, tv, rows, cols, 1.0, b, ldb, a, 1, beta, c, 1)
        return
    tA = TRANS if ta else NO_TRANS
    tB = TRANS if tb else NO_TRANS
    if single:
        _sgemm(ROW_MAJOR, tA, tB, M, N, K, 1.0, a, lda, b, ldb, beta, c, ldc)
    else:
        _dgemm(ROW_MAJOR, tA, tB, M, N, K, 1.0, a, lda, b, ldb, beta, c, ldc)
