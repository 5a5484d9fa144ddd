"""A layer's input projection and its weight gradient, shared by the three kernel families:
GEMMs, or for one-hot inputs (characters) a gather and a scatter-add.

Why: a character model's input ``x_t`` is one-hot, so ``W_xh x_t`` is a column of ``W_xh``
and ``dW_xh`` gains row ``r`` of the pre-activation gradient in column ``codes[r]``. The two
GEMMs they replace grow with the vocabulary and run at a poor rate (a short inner dimension):
for a 2x256 LSTM over 32 x 100 characters of a 100-symbol vocabulary, 7 ms of GEMM against 1.5
ms of copying forward, 6.5 against 3 backward (``benchmarks/NOTES.md``). The gather is the
GEMM's exact value (every other term is a zero); the scatter sums in row order, so ``dW_xh``
differs from the GEMM's in the last bits.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from ._blas import gemm
from ._common import JIT, one_hot_codes


@njit(**JIT)
def project_input(x2, W_xh, out, codes, WxT, cblas, wt):  # pragma: no cover - compiled
    """``out (R, G) = x2 (R, I) W_xh^T`` (``W_xh`` as the forward kernel takes it, transposed
    when ``wt``); when ``codes (R,)`` is not empty, rows of ``WxT (I, G)`` instead."""
    if codes.size:
        for r in range(out.shape[0]):
            out[r, :] = WxT[codes[r]]
    else:
        gemm(cblas, False, not wt, x2, W_xh, 0.0, out)


@njit(**JIT)
def input_weight_grad(rows, x2, dW_xh, codes, dWxT, cblas):  # pragma: no cover - compiled
    """``dW_xh (G, I) += rows (R, G)^T x2 (R, I)``; when ``codes (R,)`` is not empty, row ``r``
    of ``rows`` is added to row ``codes[r]`` of ``dWxT (I, G)`` instead."""
    if codes.size:
        for r in range(rows.shape[0]):
            dWxT[codes[r]] += rows[r]
    else:
        gemm(cblas, True, False, rows, x2, 1.0, dW_xh)


def forward_codes(
    x: np.ndarray, W_xh: np.ndarray, W_fwd: np.ndarray, wt: bool, dtype: np.dtype
) -> tuple[np.ndarray, np.ndarray]:
    """``(codes, WxT)`` for :func:`project_input`: the one-hot columns of ``x (T, B, I)`` (or an
    empty array) and ``W_xh^T (I, G)`` for the gather (``W_fwd`` when it is already that)."""
    codes = one_hot_codes(x)
    if not codes.size:
        return codes, np.empty((0, 0), dtype)
    return codes, (W_fwd if wt else np.ascontiguousarray(W_xh.T, dtype=dtype))


def backward_codes(x: np.ndarray, G: int, dtype: np.dtype) -> tuple[np.ndarray, np.ndarray]:
    """``(codes, dWxT)`` for :func:`input_weight_grad`: ``dWxT (I, G)`` zeros when ``x`` is
    one-hot; add it to ``dW_xh`` with :func:`finish_weight_grad`. The codes are found again
    rather than cached: a kernel's cache holds what the reference loop's does."""
    codes = one_hot_codes(x)
    return codes, np.zeros((x.shape[2], G) if codes.size else (0, 0), dtype=dtype)


def finish_weight_grad(dW_xh: np.ndarray, dWxT: np.ndarray) -> None:
    """``dW_xh += dWxT^T`` after a scatter-add (nothing for the GEMM route)."""
    if dWxT.size:
        dW_xh += dWxT.T
