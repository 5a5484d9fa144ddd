"""Fast whole-sequence Elman RNN forward and backward (same math and cache as the reference).

Forward: one GEMM for the input projections of all T steps (into the ``h`` trajectory), then per
step one recurrent GEMM and a fused nonlinearity. Backward: per step dz_t = dh_t phi'(z_t) and
one GEMM for dL/dh_{t-1}; every CHUNK_ROWS rows three GEMMs give dx, dW_xh and dW_hh.
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

PHI_CODES = {"tanh": 0, "sigmoid": 1, "relu": 2, "identity": 3}


@njit(**JIT)
def _forward(x, W_xh, W_hh, b_h, h, phi, cblas, wt, codes, WxT, pk):
    # float32: subnormals (vanishing gradients) flushed to zero for this call (_fpenv.py)
    env = flush_float32(h)
    T, B, I = x.shape
    H = h.shape[2]
    z = h[1:]  # the pre-activations are written where h_t goes, then overwritten by phi(z)
    project_input(x.reshape(T * B, I), W_xh, z.reshape(T * B, H), codes, WxT, cblas, wt)
    for t in range(T):
        step_product(cblas, h[t], W_hh, not wt, 1.0, h[t + 1], pk)  # += W_hh h_{t-1}
        for b in range(B):
            zt = h[t + 1, b]
            if phi == 0:
                for j in range(H):
                    zt[j] = tanh(zt[j] + b_h[j])
            elif phi == 1:
                for j in range(H):
                    zt[j] = sigmoid(zt[j] + b_h[j])
            elif phi == 2:
                for j in range(H):
                    zt[j] = max(zt[j] + b_h[j], 0.0)
            else:
                for j in range(H):
                    zt[j] = zt[j] + b_h[j]
    restore_fpenv(env)


@njit(**JIT)
def _backward(x, W_xh, W_hh, h, dy, dh, out, dz, phi, cblas, codes, dWxT, pk):
    # float32: subnormals (vanishing gradients) flushed to zero for this call (_fpenv.py)
    env = flush_float32(h)
    T, B, I = x.shape
    H = h.shape[2]
    dx, dW_xh, dW_hh, db_h = out  # zeros, filled here
    # dz: dL/dz for the steps of one chunk, (K, B, H)
    K = dz.shape[0]
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
            step_product(cblas, dz[t - t0], W_hh, False, 0.0, dh, pk)  # dL/dh_{t-1}
        rows = dz[:n].reshape(n * B, H)
        gemm(cblas, False, False, rows, W_xh, 0.0, dx[t0:t_end].reshape(n * B, dx.shape[2]))
        x2 = x[t0:t_end].reshape(n * B, I)
        input_weight_grad(rows, x2, dW_xh, codes[t0 * B : t_end * B], dWxT, cblas)
        gemm(cblas, True, False, rows, h[t0:t_end].reshape(n * B, H), 1.0, dW_hh)
        for r in range(n * B):
            db_h += rows[r]
        t_end = t0
    restore_fpenv(env)


def supports(cell) -> bool:
    """All four nonlinearities are implemented."""
    return cell.family == "rnn" and cell.nonlinearity in PHI_CODES


def forward(cell, p, x, state0):
    """Same contract as :func:`rnnlab.cells.reference_forward` for an :class:`RNNCell`."""
    dt = x.dtype
    # contiguous once, kept in the cache: a reversed direction's input (a strided view) is
    # then copied once per step, not again by the backward pass
    x = as_c(x, dt)
    wt = forward_wt(dt, x.shape[1])
    T, B, _ = x.shape
    H = state0[0].shape[1]
    h = POOL.empty((T + 1, B, H), dt)  # (T+1, B, H)
    h[0] = state0[0]
    W_xh = forward_weight(p["W_xh"], dt, wt)
    codes, WxT = forward_codes(x, p["W_xh"], W_xh, wt, dt)  # one-hot x: a gather
    W_hh, pk = forward_recurrent(p["W_hh"], dt, wt, B)
    _forward(
        x,
        W_xh,
        W_hh,
        as_c(p["b_h"], dt),
        h,
        PHI_CODES[cell.nonlinearity],
        _blas.USE_CBLAS,
        wt,
        codes,
        WxT,
        pk,
    )
    return h[1:], (h[T].copy(),), {"x": x, "h": h}


def backward(cell, p, dy, dstate_T, cache, need_dx=True):
    """Same contract as :func:`rnnlab.cells.reference_backward` for an :class:`RNNCell`."""
    x, h = cache["x"], cache["h"]
    dt = h.dtype
    T, B, _ = x.shape
    dh = np.array(dstate_T[0], dtype=dt, order="C")  # (B, H) becomes dL/dh_0
    H, I = h.shape[2], x.shape[2]
    grads = {
        "W_xh": np.zeros((H, I), dtype=dt),
        "W_hh": np.zeros((H, H), dtype=dt),
        "b_h": np.zeros(H, dtype=dt),
    }
    # Without need_dx (the bottom layer of a model: nobody reads dL/dx) dx has no columns and
    # its GEMM is skipped: I / (2 (I + H)) of the backward pass's GEMM work.
    dx = POOL.empty((T, B, I), dt) if need_dx else np.empty((T, B, 0), dt)  # (T, B, I)
    codes, dWxT = backward_codes(x, H, dt)  # one-hot x: dW_xh by a scatter-add
    W_hh = as_c(p["W_hh"], dt)
    _backward(
        as_c(x, dt),
        as_c(p["W_xh"], dt),
        W_hh,
        h,
        as_c(dy, dt),
        dh,
        (dx, grads["W_xh"], grads["W_hh"], grads["b_h"]),
        work_buffer(T, B, H, dt),
        PHI_CODES[cell.nonlinearity],
        _blas.USE_CBLAS,
        codes,
        dWxT,
        packed_buffers(W_hh, False, B, dt),
    )
    finish_weight_grad(grads["W_xh"], dWxT)
    return (dx if need_dx else None), (dh,), grads


backward.skips_dx = True  # takes need_dx=False (RecurrentLayer.backward checks for this)
