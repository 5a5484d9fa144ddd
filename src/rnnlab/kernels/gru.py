"""Fast whole-sequence GRU forward and backward (same math and cache as the reference loop).

PyTorch's formulation: the reset gate multiplies ``hn = W_hn h + b_hn``, so the input and the
recurrent pre-activations of the n block stay apart: the input projections of all T steps are
one GEMM into ``gates``; per step one recurrent GEMM gives all three blocks of ``W_hh h``.
Backward keeps two gradients per row, da_x (for W_xh, b_h, x) and da_h (for W_hh, h), which
differ only in the n block (da_n versus da_n * r).
"""

from __future__ import annotations

import numpy as np
from numba import njit

from ._common import JIT, as_c, chunk_steps
from ._vmath import sigmoid, tanh


@njit(**JIT)
def _forward(x, W_xh, W_hh, b_h, b_hn, h, gates, hn):
    T, B, I = x.shape
    H = h.shape[2]
    ah = np.empty((B, 3 * H), dtype=h.dtype)  # W_hh h_{t-1} for one step
    np.dot(x.reshape(T * B, I), W_xh.T, gates.reshape(T * B, 3 * H))  # W_xh x_t for all t
    for t in range(T):
        np.dot(h[t], W_hh.T, ah)
        for b in range(B):
            a, r_, hp, hnb, hb = gates[t, b], ah[b], h[t, b], hn[t, b], h[t + 1, b]
            for j in range(H):
                r = sigmoid(a[j] + b_h[j] + r_[j])
                z = sigmoid(a[H + j] + b_h[H + j] + r_[H + j])
                m = r_[2 * H + j] + b_hn[j]
                n = tanh(a[2 * H + j] + b_h[2 * H + j] + r * m)
                a[j], a[H + j], a[2 * H + j] = r, z, n
                hnb[j] = m
                hb[j] = (1.0 - z) * n + z * hp[j]


@njit(**JIT)
def _backward(x, W_xh, W_hh, h, gates, hn, dy, dh, K):
    T, B, I = x.shape
    H = h.shape[2]
    dt = h.dtype
    dx = np.empty((T, B, I), dtype=dt)
    dW_xh = np.zeros((3 * H, I), dtype=dt)
    dW_hh = np.zeros((3 * H, H), dtype=dt)
    db_h = np.zeros(3 * H, dtype=dt)
    db_hn = np.zeros(H, dtype=dt)
    dax = np.empty((K, B, 3 * H), dtype=dt)  # dL/d(input pre-activations), one chunk
    dah = np.empty((K, B, 3 * H), dtype=dt)  # dL/d(W_hh h_{t-1} + [0, 0, b_hn]), one chunk
    back = np.empty((B, H), dtype=dt)
    tmp_x = np.empty((3 * H, I), dtype=dt)
    tmp_h = np.empty((3 * H, H), dtype=dt)
    t_end = T
    while t_end > 0:
        t0 = max(t_end - K, 0)
        n_ = t_end - t0
        for t in range(t_end - 1, t0 - 1, -1):
            for b in range(B):
                g, m, hp, dhb, dyb = gates[t, b], hn[t, b], h[t, b], dh[b], dy[t, b]
                ax, ahb = dax[t - t0, b], dah[t - t0, b]
                for j in range(H):
                    r, z, n = g[j], g[H + j], g[2 * H + j]
                    dh_t = dhb[j] + dyb[j]  # h_t feeds the output and step t+1
                    da_n = dh_t * (1.0 - z) * (1.0 - n * n)  # h = (1 - z) n + z h_prev
                    da_r = da_n * m[j] * r * (1.0 - r)  # n = tanh(a_n + r hn)
                    da_z = dh_t * (hp[j] - n) * z * (1.0 - z)
                    ax[j], ax[H + j], ax[2 * H + j] = da_r, da_z, da_n
                    ahb[j], ahb[H + j], ahb[2 * H + j] = da_r, da_z, da_n * r
                    dhb[j] = dh_t * z
            np.dot(dah[t - t0], W_hh, back)
            dh += back  # dL/dh_{t-1}: the z h_prev path plus the recurrent GEMM
        rows_x = dax[:n_].reshape(n_ * B, 3 * H)
        rows_h = dah[:n_].reshape(n_ * B, 3 * H)
        np.dot(rows_x, W_xh, dx[t0:t_end].reshape(n_ * B, I))
        np.dot(rows_x.T, x[t0:t_end].reshape(n_ * B, I), tmp_x)
        np.dot(rows_h.T, h[t0:t_end].reshape(n_ * B, H), tmp_h)
        dW_xh += tmp_x
        dW_hh += tmp_h
        for r in range(n_ * B):
            db_h += rows_x[r]
            db_hn += rows_h[r, 2 * H :]
        t_end = t0
    return dx, dW_xh, dW_hh, db_h, db_hn


def supports(cell) -> bool:
    return cell.family == "gru"


def forward(cell, p, x, state0):
    """Same contract as :func:`rnnlab.cells.reference_forward` for a :class:`GRUCell`."""
    dt = x.dtype
    T, B, _ = x.shape
    H = state0[0].shape[1]
    h = np.empty((T + 1, B, H), dtype=dt)  # (T+1, B, H)
    h[0] = state0[0]
    gates = np.empty((T, B, 3 * H), dtype=dt)  # (T, B, 3H) r, z, n
    hn = np.empty((T, B, H), dtype=dt)  # (T, B, H) W_hn h + b_hn
    _forward(
        as_c(x, dt),
        as_c(p["W_xh"], dt),
        as_c(p["W_hh"], dt),
        as_c(p["b_h"], dt),
        as_c(p["b_hn"], dt),
        h,
        gates,
        hn,
    )
    return h[1:], (h[T].copy(),), {"x": x, "h": h, "gates": gates, "hn": hn}


def backward(cell, p, dy, dstate_T, cache):
    """Same contract as :func:`rnnlab.cells.reference_backward` for a :class:`GRUCell`."""
    x, h = cache["x"], cache["h"]
    dt = h.dtype
    T, B, _ = x.shape
    dh = np.array(dstate_T[0], dtype=dt, order="C")  # (B, H) becomes dL/dh_0
    dx, dW_xh, dW_hh, db_h, db_hn = _backward(
        as_c(x, dt),
        as_c(p["W_xh"], dt),
        as_c(p["W_hh"], dt),
        h,
        cache["gates"],
        cache["hn"],
        as_c(dy, dt),
        dh,
        chunk_steps(T, B),
    )
    return dx, (dh,), {"W_xh": dW_xh, "W_hh": dW_hh, "b_h": db_h, "b_hn": db_hn}
