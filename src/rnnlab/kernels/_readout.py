"""Softmax cross-entropy over the readout's logits in one pass per row.

NumPy's route (``rnnlab.losses.softmax_cross_entropy`` after ``Readout.forward``) builds a
one-hot target array and runs log-softmax twice, exp, and the weighting as ~10 passes over the
``(T*B, K)`` logits with temporaries; here each row is read once and ``softmax(z)``, the loss
and ``dL/dz`` are written in the same loop. Arithmetic in float64 whatever the logits' dtype.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

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
