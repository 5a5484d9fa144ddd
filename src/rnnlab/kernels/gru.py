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

from . import _blas
from ._blas import gemm
from ._buffers import POOL
from ._common import JIT, as_c, forward_weight, forward_wt, work_buffer
from ._fpenv import flush_float32, restore_fpenv
from ._input import (
    backward_codes,
    finish_weight_grad,
    forward_codes,
    input_weight_grad,
    project_input,
)
from ._packed import forward_recurrent, packed_buffers, step_product
from ._vmath import sigmoid, tanh


@njit(**JIT)
def _forward(x, W_xh, W_hh, b_h, b_hn, h, gates, hn, ah, cblas, wt, codes, WxT, pk):
    # float32: subnormals (vanishing gradients) flushed to zero for this call (_fpenv.py)
    env = flush_float32(h)
    T, B, I = x.shape
    H = h.shape[2]
    project_input(x.reshape(T * B, I), W_xh, gates.reshape(T * B, 3 * H), codes, WxT, cblas, wt)
    # Zero-based block views (a[H + j] would carry a negative-index check that stops LLVM from
    # vectorising); `ah` comes from the caller for the same reason (see _common.work_buffer).
    b_r, b_z, b_n = b_h[:H], b_h[H : 2 * H], b_h[2 * H :]
    for t in range(T):
        step_product(cblas, h[t], W_hh, not wt, 0.0, ah, pk)  # kept apart: r scales its n block
        for b in range(B):
            a, r_, hp, hnb, hb = gates[t, b], ah[b], h[t, b], hn[t, b], h[t + 1, b]
            a_r, a_z, a_n = a[:H], a[H : 2 * H], a[2 * H :]
            h_r, h_z, h_n = r_[:H], r_[H : 2 * H], r_[2 * H :]
            for j in range(H):
                r = sigmoid(a_r[j] + b_r[j] + h_r[j])
                z = sigmoid(a_z[j] + b_z[j] + h_z[j])
                m = h_n[j] + b_hn[j]
                n = tanh(a_n[j] + b_n[j] + r * m)
                a_r[j], a_z[j], a_n[j] = r, z, n
                hnb[j] = m
                hb[j] = (1.0 - z) * n + z * hp[j]
    restore_fpenv(env)


@njit(**JIT)
def _backward(x, W_xh, W_hh, h, gates, hn, dy, dh, out, work, cblas, codes, dWxT, pk):
    # float32: subnormals (vanishing gradients) flushed to zero for this call (_fpenv.py)
    env = flush_float32(h)
    T, B, I = x.shape
    H = h.shape[2]
    dx, dW_xh, dW_hh, db_h, db_hn = out  # zeros, filled here
    # dL/d(input pre-activations) and dL/d(W_hh h_{t-1} + [0, 0, b_hn]) for one chunk, (K, B, 3H)
    dax, dah = work
    K = dax.shape[0]
    t_end = T
    while t_end > 0:
        t0 = max(t_end - K, 0)
        n_ = t_end - t0
        for t in range(t_end - 1, t0 - 1, -1):
            for b in range(B):
                g, m, hp, dhb, dyb = gates[t, b], hn[t, b], h[t, b], dh[b], dy[t, b]
                ax, ahb = dax[t - t0, b], dah[t - t0, b]
                g_r, g_z, g_n = g[:H], g[H : 2 * H], g[2 * H :]
                x_r, x_z, x_n = ax[:H], ax[H : 2 * H], ax[2 * H :]
                h_r, h_z, h_n = ahb[:H], ahb[H : 2 * H], ahb[2 * H :]
                for j in range(H):
                    r, z, n = g_r[j], g_z[j], g_n[j]
                    dh_t = dhb[j] + dyb[j]  # h_t feeds the output and step t+1
                    da_n = dh_t * (1.0 - z) * (1.0 - n * n)  # h = (1 - z) n + z h_prev
                    da_r = da_n * m[j] * r * (1.0 - r)  # n = tanh(a_n + r hn)
                    da_z = dh_t * (hp[j] - n) * z * (1.0 - z)
                    x_r[j], x_z[j], x_n[j] = da_r, da_z, da_n
                    h_r[j], h_z[j], h_n[j] = da_r, da_z, da_n * r
                    dhb[j] = dh_t * z
            # dL/dh_{t-1}: the z h_prev path (already in dh) plus the recurrent GEMM
            step_product(cblas, dah[t - t0], W_hh, False, 1.0, dh, pk)
        rows_x = dax[:n_].reshape(n_ * B, 3 * H)
        rows_h = dah[:n_].reshape(n_ * B, 3 * H)
        gemm(cblas, False, False, rows_x, W_xh, 0.0, dx[t0:t_end].reshape(n_ * B, dx.shape[2]))
        x2 = x[t0:t_end].reshape(n_ * B, I)
        input_weight_grad(rows_x, x2, dW_xh, codes[t0 * B : t_end * B], dWxT, cblas)
        gemm(cblas, True, False, rows_h, h[t0:t_end].reshape(n_ * B, H), 1.0, dW_hh)
        for r in range(n_ * B):
            db_h += rows_x[r]
            db_hn += rows_h[r, 2 * H :]
        t_end = t0
    restore_fpenv(env)


def supports(cell) -> bool:
    return cell.family == "gru"


def forward(cell, p, x, state0):
    """Same contract as :func:`rnnlab.cells.reference_forward` for a :class:`GRUCell`."""
    dt = x.dtype
    # contiguous once, kept in the cache: a reversed direction's input (a strided view) is
    # then copied once per step, not again by the backward pass
    x = as_c(x, dt)
    wt = forward_wt(dt, x.shape[1])
    T, B, _ = x.shape
    H = state0[0].shape[1]
    h = POOL.empty((T + 1, B, H), dt)  # (T+1, B, H)
    h[0] = state0[0]
    gates = POOL.empty((T, B, 3 * H), dt)  # (T, B, 3H) r, z, n
    hn = POOL.empty((T, B, H), dt)  # (T, B, H) W_hn h + b_hn
    W_xh = forward_weight(p["W_xh"], dt, wt)
    codes, WxT = forward_codes(x, p["W_xh"], W_xh, wt, dt)  # one-hot x: a gather
    W_hh, pk = forward_recurrent(p["W_hh"], dt, wt, B)
    _forward(
        x,
        W_xh,
        W_hh,
        as_c(p["b_h"], dt),
        as_c(p["b_hn"], dt),
        h,
        gates,
        hn,
        np.empty((B, 3 * H), dtype=dt),  # (B, 3H) W_hh h_{t-1} of one step
        _blas.USE_CBLAS,
        wt,
        codes,
        WxT,
        pk,
    )
    return h[1:], (h[T].copy(),), {"x": x, "h": h, "gates": gates, "hn": hn}


def backward(cell, p, dy, dstate_T, cache, need_dx=True):
    """Same contract as :func:`rnnlab.cells.reference_backward` for a :class:`GRUCell`."""
    x, h = cache["x"], cache["h"]
    dt = h.dtype
    T, B, _ = x.shape
    dh = np.array(dstate_T[0], dtype=dt, order="C")  # (B, H) becomes dL/dh_0
    H, I = h.shape[2], x.shape[2]
    grads = {
        "W_xh": np.zeros((3 * H, I), dtype=dt),
        "W_hh": np.zeros((3 * H, H), dtype=dt),
        "b_h": np.zeros(3 * H, dtype=dt),
        "b_hn": np.zeros(H, dtype=dt),
    }
    # Without need_dx (the bottom layer of a model: nobody reads dL/dx) dx has no columns and
    # its GEMM is skipped: I / (2 (I + H)) of the backward pass's GEMM work.
    dx = POOL.empty((T, B, I), dt) if need_dx else np.empty((T, B, 0), dt)  # (T, B, I)
    work = (work_buffer(T, B, 3 * H, dt, "work.a"), work_buffer(T, B, 3 * H, dt, "work.b"))
    codes, dWxT = backward_codes(x, 3 * H, dt)  # one-hot x: dW_xh by a scatter-add
    W_hh = as_c(p["W_hh"], dt)
    _backward(
        as_c(x, dt),
        as_c(p["W_xh"], dt),
        W_hh,
        h,
        cache["gates"],
        cache["hn"],
        as_c(dy, dt),
        dh,
        (dx, grads["W_xh"], grads["W_hh"], grads["b_h"], grads["b_hn"]),
        work,
        _blas.USE_CBLAS,
        codes,
        dWxT,
        packed_buffers(W_hh, False, B, dt),
    )
    finish_weight_grad(grads["W_xh"], dWxT)
    return (dx if need_dx else None), (dh,), grads


backward.skips_dx = True  # takes need_dx=False (RecurrentLayer.backward checks for this)
