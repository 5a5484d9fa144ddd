"""Fast whole-sequence Elman RNN forward and backward (same math and cache as the reference).

Forward: one GEMM for the input projections of all T steps (into the ``h`` trajectory), then per
step one recurrent GEMM and a fused nonlinearity. Backward: per step dz_t = dh_t phi'(z_t) and
one GEMM for dL/dh_{t-1}; every CHUNK_ROWS rows three GEMMs give dx, dW_xh and dW_hh.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from ._common import JIT, as_c, chunk_steps
from ._vmath import sigmoid, tanh

PHI_CODES = {"tanh": 0, "sigmoid": 1, "relu": 2, "identity": 3}


@njit(**JIT)
def _forward(x, W_xh, W_hh, b_h, h, phi):
    T, B, I = x.shape
    H = h.shape[2]
    ah = np.empty((B, H), dtype=h.dtype)  # W_hh h_{t-1} for one step
    z = h[1:]  # the pre-activations are written where h_t goes, then overwritten by phi(z)
    np.dot(x.reshape(T * B, I), W_xh.T, z.reshape(T * B, H))
    for t in range(T):
        np.dot(h[t], W_hh.T, ah)
        for b in range(B):
            zt, r = h[t + 1, b], ah[b]
            if phi == 0:
                for j in range(H):
                    zt[j] = tanh(zt[j] + r[j] + b_h[j])
            elif phi == 1:
                for j in range(H):
                    zt[j] = sigmoid(zt[j] + r[j] + b_h[j])
            elif phi == 2:
                for j in range(H):
                    zt[j] = max(zt[j] + r[j] + b_h[j], 0.0)
            else:
                for j in range(H):
                    zt[j] = zt[j] + r[j] + b_h[j]


@njit(**JIT)
def _backward(x, W_xh, W_hh, h, dy, dh, K, phi):
    T, B, I = x.shape
    H = h.shape[2]
    dt = h.dtype
    dx = np.empty((T, B, I), dtype=dt)
    dW_xh = np.zeros((H, I), dtype=dt)
    dW_hh = np.zeros((H, H), dtype=dt)
    db_h = np.zeros(H, dtype=dt)
    dz = np.empty((K, B, H), dtype=dt)  # dL/dz for the steps of one chunk
    tmp_x = np.empty((H, I), dtype=dt)
    tmp_h = np.empty((H, H), dtype=dt)
    t_end = T
    while t_end > 0:
        t0 = max(t_end - K, 0)
        n = t_end - t0
        for t in range(t_end - 1, t0 - 1, -1):
            for b in range(B):
                d, hb, dhb, dyb = dz[t - t0, b], h[t + 1, b], dh[b], dy[t, b]
                if phi == 0:
                    for j in range(H):
                        d[j] = (dhb[j] + dyb[j]) * (1.0 - hb[j] * hb[j])
                elif phi == 1:
                    for j in range(H):
                        d[j] = (dhb[j] + dyb[j]) * (hb[j] * (1.0 - hb[j]))
                elif phi == 2:
                    for j in range(H):
                        d[j] = (dhb[j] + dyb[j]) if hb[j] > 0.0 else 0.0
                else:
                    for j in range(H):
                        d[j] = dhb[j] + dyb[j]
            np.dot(dz[t - t0], W_hh, dh)  # dL/dh_{t-1}
        rows = dz[:n].reshape(n * B, H)
        np.dot(rows, W_xh, dx[t0:t_end].reshape(n * B, I))
        np.dot(rows.T, x[t0:t_end].reshape(n * B, I), tmp_x)
        np.dot(rows.T, h[t0:t_end].reshape(n * B, H), tmp_h)
        dW_xh += tmp_x
        dW_hh += tmp_h
        for r in range(n * B):
            db_h += rows[r]
        t_end = t0
    return dx, dW_xh, dW_hh, db_h


def supports(cell) -> bool:
    """All four nonlinearities are implemented."""
    return cell.family == "rnn" and cell.nonlinearity in PHI_CODES


def forward(cell, p, x, state0):
    """Same contract as :func:`rnnlab.cells.reference_forward` for an :class:`RNNCell`."""
    dt = x.dtype
    T, B, _ = x.shape
    H = state0[0].shape[1]
    h = np.empty((T + 1, B, H), dtype=dt)  # (T+1, B, H)
    h[0] = state0[0]
    _forward(
        as_c(x, dt),
        as_c(p["W_xh"], dt),
        as_c(p["W_hh"], dt),
        as_c(p["b_h"], dt),
        h,
        PHI_CODES[cell.nonlinearity],
    )
    return h[1:], (h[T].copy(),), {"x": x, "h": h}


def backward(cell, p, dy, dstate_T, cache):
    """Same contract as :func:`rnnlab.cells.reference_backward` for an :class:`RNNCell`."""
    x, h = cache["x"], cache["h"]
    dt = h.dtype
    T, B, _ = x.shape
    dh = np.array(dstate_T[0], dtype=dt, order="C")  # (B, H) becomes dL/dh_0
    dx, dW_xh, dW_hh, db_h = _backward(
        as_c(x, dt),
        as_c(p["W_xh"], dt),
        as_c(p["W_hh"], dt),
        h,
        as_c(dy, dt),
        dh,
        chunk_steps(T, B),
        PHI_CODES[cell.nonlinearity],
    )
    return dx, (dh,), {"W_xh": dW_xh, "W_hh": dW_hh, "b_h": db_h}
