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
def _softmax_ce(z, idx, w, y, dz):
    N, K = z.shape
    e = np.empty(K)  # exp(z - max) of one row, float64
    total = 0.0
    for r in range(N):
        zr, yr, dr = z[r], y[r], dz[r]
        m = zr[0]
        for k in range(1, K):
            m = max(m, zr[k])
        s = 0.0
        for k in range(K):
            e[k] = exp64(zr[k] - m)
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
    )
    return float(total), y, dz
