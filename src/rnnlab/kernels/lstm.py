"""Fast whole-sequence LSTM forward and backward (same math and cache as the reference loop).

Forward: one GEMM for the input projections of all T steps, written straight into the
``gates`` buffer, then per step one recurrent GEMM and fused, vectorised gate arithmetic.
Backward: per step fused gate derivatives and one GEMM for dL/dh_{t-1}; every CHUNK_ROWS rows,
three GEMMs over the whole chunk give dx, dW_xh and dW_hh. The time loop runs inside Numba, so
a step costs no Python overhead; np.dot inside Numba calls BLAS directly.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from ._common import JIT, as_c, chunk_steps, optional
from ._vmath import sigmoid, tanh


@njit(**JIT)
def _forward(x, W_xh, W_hh, b_h, w_ic, w_fc, w_oc, h, c, gates, forget, peep):
    T, B, I = x.shape
    H = h.shape[2]
    GH = gates.shape[2]
    oi, of = 0, H
    og = 2 * H if forget else H
    oo = og + H
    ah = np.empty((B, GH), dtype=h.dtype)  # W_hh h_{t-1} for one step
    np.dot(x.reshape(T * B, I), W_xh.T, gates.reshape(T * B, GH))  # W_xh x_t for all t
    for t in range(T):
        np.dot(h[t], W_hh.T, ah)
        for b in range(B):
            a = gates[t, b]  # (GH,) pre-activations, overwritten with the gate values
            r = ah[b]
            cp, cn, hn = c[t, b], c[t + 1, b], h[t + 1, b]
            for k in range(GH):
                a[k] = a[k] + r[k] + b_h[k]
            if peep:
                for j in range(H):
                    a[oi + j] += w_ic[j] * cp[j]
                if forget:
                    for j in range(H):
                        a[of + j] += w_fc[j] * cp[j]
            if forget:
                for j in range(H):
                    i = sigmoid(a[oi + j])
                    f = sigmoid(a[of + j])
                    g = tanh(a[og + j])
                    a[oi + j], a[of + j], a[og + j] = i, f, g
                    cn[j] = f * cp[j] + i * g
            else:
                for j in range(H):
                    i = sigmoid(a[oi + j])
                    g = tanh(a[og + j])
                    a[oi + j], a[og + j] = i, g
                    cn[j] = cp[j] + i * g  # the 1997 CEC
            if peep:
                for j in range(H):
                    a[oo + j] += w_oc[j] * cn[j]
            for j in range(H):
                o = sigmoid(a[oo + j])
                a[oo + j] = o
                hn[j] = o * tanh(cn[j])


@njit(**JIT)
def _backward(x, W_xh, W_hh, w_ic, w_fc, w_oc, h, c, gates, dy, dh, dc, K, forget, peep):
    T, B, I = x.shape
    H = h.shape[2]
    GH = gates.shape[2]
    dt = h.dtype
    oi, of = 0, H
    og = 2 * H if forget else H
    oo = og + H
    dx = np.empty((T, B, I), dtype=dt)
    dW_xh = np.zeros((GH, I), dtype=dt)
    dW_hh = np.zeros((GH, H), dtype=dt)
    db_h = np.zeros(GH, dtype=dt)
    dw_ic, dw_fc, dw_oc = np.zeros_like(w_ic), np.zeros_like(w_fc), np.zeros_like(w_oc)
    da = np.empty((K, B, GH), dtype=dt)  # dL/da for the steps of one chunk
    tmp_x = np.empty((GH, I), dtype=dt)
    tmp_h = np.empty((GH, H), dtype=dt)
    t_end = T
    while t_end > 0:
        t0 = max(t_end - K, 0)
        n = t_end - t0
        for t in range(t_end - 1, t0 - 1, -1):
            for b in range(B):
                g = gates[t, b]
                d = da[t - t0, b]
                dhb, dcb, dyb = dh[b], dc[b], dy[t, b]
                cp, cn = c[t, b], c[t + 1, b]
                for j in range(H):
                    dh_t = dhb[j] + dyb[j]  # h_t feeds the output and step t+1
                    tc = tanh(cn[j])
                    o = g[oo + j]
                    d[oo + j] = dh_t * tc * o * (1.0 - o)  # h = o tanh(c), o = sigmoid(a_o)
                    dcb[j] = dcb[j] + dh_t * o * (1.0 - tc * tc)
                if peep:
                    for j in range(H):
                        dcb[j] += d[oo + j] * w_oc[j]
                        dw_oc[j] += d[oo + j] * cn[j]
                if forget:
                    for j in range(H):
                        i, f, gg = g[oi + j], g[of + j], g[og + j]
                        d[oi + j] = dcb[j] * gg * i * (1.0 - i)
                        d[of + j] = dcb[j] * cp[j] * f * (1.0 - f)
                        d[og + j] = dcb[j] * i * (1.0 - gg * gg)
                        dcb[j] = dcb[j] * f  # the CEC path, scaled by the forget gate
                else:
                    for j in range(H):
                        i, gg = g[oi + j], g[og + j]
                        d[oi + j] = dcb[j] * gg * i * (1.0 - i)
                        d[og + j] = dcb[j] * i * (1.0 - gg * gg)
                if peep:
                    for j in range(H):
                        dcb[j] += d[oi + j] * w_ic[j]
                        dw_ic[j] += d[oi + j] * cp[j]
                    if forget:
                        for j in range(H):
                            dcb[j] += d[of + j] * w_fc[j]
                            dw_fc[j] += d[of + j] * cp[j]
            np.dot(da[t - t0], W_hh, dh)  # dL/dh_{t-1} from step t
        rows = da[:n].reshape(n * B, GH)
        np.dot(rows, W_xh, dx[t0:t_end].reshape(n * B, I))
        np.dot(rows.T, x[t0:t_end].reshape(n * B, I), tmp_x)
        np.dot(rows.T, h[t0:t_end].reshape(n * B, H), tmp_h)
        dW_xh += tmp_x
        dW_hh += tmp_h
        for r in range(n * B):
            db_h += rows[r]
        t_end = t0
    return dx, dW_xh, dW_hh, db_h, dw_ic, dw_fc, dw_oc


def supports(cell) -> bool:
    """Every LSTM option (forget gate on/off, peepholes on/off) is implemented."""
    return cell.family == "lstm"


def forward(cell, p, x, state0):
    """Same contract as :func:`rnnlab.cells.reference_forward` for an :class:`LSTMCell`."""
    dt = x.dtype
    T, B, _ = x.shape
    H = state0[0].shape[1]
    h = np.empty((T + 1, B, H), dtype=dt)  # (T+1, B, H)
    c = np.empty((T + 1, B, H), dtype=dt)  # (T+1, B, H)
    h[0], c[0] = state0
    gates = np.empty((T, B, len(cell.gates) * H), dtype=dt)  # (T, B, G*H)
    _forward(
        as_c(x, dt),
        as_c(p["W_xh"], dt),
        as_c(p["W_hh"], dt),
        as_c(p["b_h"], dt),
        optional(p, "w_ic", dt),
        optional(p, "w_fc", dt),
        optional(p, "w_oc", dt),
        h,
        c,
        gates,
        cell.forget_gate,
        cell.peepholes,
    )
    cache = {"x": x, "h": h, "c": c, "gates": gates}
    return h[1:], (h[T].copy(), c[T].copy()), cache


def backward(cell, p, dy, dstate_T, cache):
    """Same contract as :func:`rnnlab.cells.reference_backward` for an :class:`LSTMCell`."""
    x, h = cache["x"], cache["h"]
    dt = h.dtype
    T, B, _ = x.shape
    dh = np.array(dstate_T[0], dtype=dt, order="C")  # (B, H) becomes dL/dh_0
    dc = np.array(dstate_T[1], dtype=dt, order="C")  # (B, H) becomes dL/dc_0
    dx, dW_xh, dW_hh, db_h, dw_ic, dw_fc, dw_oc = _backward(
        as_c(x, dt),
        as_c(p["W_xh"], dt),
        as_c(p["W_hh"], dt),
        optional(p, "w_ic", dt),
        optional(p, "w_fc", dt),
        optional(p, "w_oc", dt),
        h,
        cache["c"],
        cache["gates"],
        as_c(dy, dt),
        dh,
        dc,
        chunk_steps(T, B),
        cell.forget_gate,
        cell.peepholes,
    )
    grads = {"W_xh": dW_xh, "W_hh": dW_hh, "b_h": db_h}
    for name, g in (("w_ic", dw_ic), ("w_fc", dw_fc), ("w_oc", dw_oc)):
        if name in p:
            grads[name] = g
    return dx, (dh, dc), {name: grads[name] for name in p}
