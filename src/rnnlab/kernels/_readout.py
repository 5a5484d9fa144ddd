"""The readout's loss in compiled loops: softmax cross-entropy in one pass per row, and MSE at
each sequence's last step in one call.

NumPy's route (``rnnlab.losses.softmax_cross_entropy`` after ``Readout.forward``) builds a
one-hot target array and runs log-softmax twice, exp, and the weighting as ~10 passes over the
``(T*B, K)`` logits with temporaries; here each row is read once and ``softmax(z)``, the loss
and ``dL/dz`` are written in the same loop. Arithmetic in float64 whatever the logits' dtype.
The last-step MSE (the adding problem's loss, float32) touches only the B rows that carry a
target; its NumPy route expanded targets and gradients to all T*B rows in about ten calls, about
100 µs of a 1.3-1.6 ms training step (B=8, H=64, T=100).
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

from . import _blas
from ._blas import gemm
from ._common import JIT
from ._vmath import exp64


@njit(**JIT)
def _softmax_ce(z, idx, w, y, dz, e):
    N, K = z.shape  # e: (K,) exp(z - max) of one row, float64 (passed in: vector loops)
    total = 0.0
    for r in range(N):
        zr, yr, dr = z[r], y[r], dz[r]
        # the row's largest logit with four running maxima (four chains instead of one; a
        # maximum is exact in any order)
        m0 = m1 = m2 = m3 = zr[0]
        for k in range(0, K - 3, 4):
            m0, m1 = max(m0, zr[k]), max(m1, zr[k + 1])
            m2, m3 = max(m2, zr[k + 2]), max(m3, zr[k + 3])
        for k in range(K - K % 4, K):
            m0 = max(m0, zr[k])
        m = max(max(m0, m1), max(m2, m3))
        for k in range(K):  # apart from the sum below: a vector loop
            e[k] = exp64(zr[k] - m)
        s = 0.0
        for k in range(K):  # in order: the same sum, so the same bits, as one loop gave
            s += e[k]
        inv = 1.0 / s
        wr = w[r]
        for k in range(K):
            p = e[k] * inv
            yr[k] = p
            dr[k] = wr * p
        c = idx[r]
        if wr != 0.0:
            total -= wr * ((zr[c] - m) - math.log(s))  # w log softmax(z)_c
            dr[c] = wr * (e[c] * inv - 1.0)
    return total


def softmax_ce(
    z: np.ndarray, idx: np.ndarray, w: np.ndarray
) -> tuple[float, np.ndarray, np.ndarray]:
    """``(L, softmax(z), dL/dz)`` for logits ``z (N, K)``, classes ``idx (N,)`` and row weights
    ``w (N,)``: ``L = -sum_r w_r log softmax(z_r)_{idx_r}``, ``dL/dz_r = w_r (softmax(z_r) -
    onehot(idx_r))``. ``y`` and ``dz`` have ``z``'s dtype."""
    y = np.empty_like(z)  # (N, K)
    dz = np.empty_like(z)  # (N, K)
    total = _softmax_ce(
        np.ascontiguousarray(z),
        np.ascontiguousarray(idx, dtype=np.int64),
        np.ascontiguousarray(w, dtype=np.float64),
        y,
        dz,
        np.empty(z.shape[1]),
    )
    return float(total), y, dz


@njit(**JIT)
def _mse_last(cblas, h2, W, b, o, rows, w, z, dh, dW, db, dzr, hr, grads):
    N, K = z.shape  # N = T*B rows; the B rows that carry a target are rows (B,)
    gemm(cblas, False, True, h2, W, 0.0, z)  # z = h W_hy^T (every step: y is returned whole)
    for r in range(N):
        for k in range(K):
            z[r, k] += b[k]
    total = 0.0
    for j in range(rows.shape[0]):
        r = rows[j]
        s = 0.0
        for k in range(K):  # dL/dz = w (y - o) at the target rows, computed in float64
            d = z[r, k] - o[j, k]
            s += d * d
            dzr[j, k] = w * np.float64(d)
        total += w * s
        hr[j] = h2[r]
    if not grads:
        return 0.5 * total
    for k in range(K):
        acc = 0.0
        for j in range(rows.shape[0]):
            acc += dzr[j, k]
        db[k] = acc
    gemm(cblas, True, False, dzr, hr, 0.0, dW)  # dW_hy = dz^T h over the target rows
    for j in range(rows.shape[0]):
        r = rows[j]
        for i in range(W.shape[1]):  # dL/dh = dz W_hy at the target rows (zeros elsewhere)
            acc = 0.0
            for k in range(K):
                acc += dzr[j, k] * W[k, i]
            dh[r, i] = acc
    return 0.5 * total


def mse_last(
    h2: np.ndarray, W: np.ndarray, b: np.ndarray, o: np.ndarray, rows: np.ndarray, grads: bool
) -> tuple[float, np.ndarray, np.ndarray | None, dict[str, np.ndarray] | None]:
    """MSE of an identity readout at one row per sequence, in one call.

    ``h2 (N, H)`` hidden states of every (step, sequence) row, ``W (K, H)``, ``b (K,)``,
    ``o (B, K)`` targets in ``h2``'s dtype, ``rows (B,)`` the row of each sequence's target.
    ``L = 1/(2B) sum_b ||y_rows[b] - o_b||^2`` (``rnnlab.losses``). Returns ``(L, y (N, K),
    dL/dh (N, H), {"W_hy", "b_y"})``, without the last two (None) unless ``grads``; ``dL/dz``
    is formed in float64 and rounded to the dtype once, as ``rnnlab.losses.mse`` does (the
    products and sums are not NumPy's calls: equal to the general route up to rounding).
    """
    N, H = h2.shape
    B, K = o.shape
    dt = h2.dtype
    z = np.empty((N, K), dt)
    # np.zeros: fresh zero pages, of which the kernel writes only the B target rows
    dh = np.zeros((N, H) if grads else (0, H), dt)
    dW, db = np.empty((K, H), dt), np.empty(K, dt)
    value = _mse_last(
        _blas.USE_CBLAS, h2, W, b, o, rows, 1.0 / B, z, dh, dW, db,
        np.empty((B, K), dt), np.empty((B, H), dt), grads,
    )  # fmt: skip
    if not grads:
        return float(value), z, None, None
    return float(value), z, dh, {"W_hy": dW, "b_y": db}
