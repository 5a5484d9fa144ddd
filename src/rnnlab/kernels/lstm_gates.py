"""The LSTM's gate arithmetic of one time step, for a block of rows (the forward kernels' core).

``a (B, G*H)`` holds each row's pre-activations without the bias, ``W_xh x_t + W_hh h_{t-1}``,
in the gate order of ``cells/lstm.py`` (i, f, g, o; without a forget gate i, g, o). For rows
``b0..b1``::

    i = sigmoid(a_i + b_i + w_ic * c_{t-1})      (the peephole terms only with peepholes)
    f = sigmoid(a_f + b_f + w_fc * c_{t-1})      (f = 1 without a forget gate: the 1997 CEC)
    g = tanh(a_g + b_g)
    c_t = f * c_{t-1} + i * g
    o = sigmoid(a_o + b_o + w_oc * c_t)
    h_t = o * tanh(c_t)

and ``a`` is overwritten with the gate values i, f, g, o (the backward pass reads them).

Why two functions and a call per step: with and without a forget gate the loops differ, and a
branch between two loops inside the kernels' row loop made the arithmetic 1.3-1.4x slower
(``benchmarks/NOTES.md``); each function here is compiled on its own. Their output-gate lines
are the same; an inlined helper for them made the forward 1.1-1.2x slower. The fused
multiply-adds of ``c_t`` are written out (``_vmath.fma``) as the ones the compiler had chosen
before, so the bits stay those of the earlier kernels: its own choice between the two
products of ``f c + i g`` changes with the shape of the code around it.
"""

from __future__ import annotations

from numba import njit

from ._common import JIT
from ._vmath import fma, sigmoid, tanh


@njit(**JIT)
def cell_rows(a, cp, cn, hn, b0, b1, b_h, w_ic, w_fc, w_oc, forget, peep):
    """One step for rows ``b0..b1``: ``a (B, G*H)`` pre-activations (overwritten with the
    gates), ``cp = c_{t-1} (B, H)``; writes ``cn = c_t`` and ``hn = h_t`` (B, H)."""
    if forget:
        _rows_forget(a, cp, cn, hn, b0, b1, b_h, w_ic, w_fc, w_oc, peep)
    else:
        _rows_cec(a, cp, cn, hn, b0, b1, b_h, w_ic, w_oc, peep)


@njit(**JIT)
def _rows_forget(a, cp, cn, hn, b0, b1, b_h, w_ic, w_fc, w_oc, peep):
    H = cn.shape[1]
    # Zero-based views of the gate blocks: an offset index such as r[2 * H + j] carries Numba's
    # negative-index check, which keeps LLVM from vectorising the loop (3x).
    bi, bf, bg, bo = b_h[0:H], b_h[H : 2 * H], b_h[2 * H : 3 * H], b_h[3 * H : 4 * H]
    for b in range(b0, b1):
        r, c0, c1, h1 = a[b], cp[b], cn[b], hn[b]
        ai, af, ag, ao = r[0:H], r[H : 2 * H], r[2 * H : 3 * H], r[3 * H : 4 * H]
        # the bias is added inside the gate loops: a separate pass over the row cost a read and
        # a write of the whole (B, GH) block per step
        if peep:
            for j in range(H):
                ai[j] += w_ic[j] * c0[j]
            for j in range(H):
                af[j] += w_fc[j] * c0[j]
        for j in range(H):
            i = sigmoid(ai[j] + bi[j])
            f = sigmoid(af[j] + bf[j])
            g = tanh(ag[j] + bg[j])
            ai[j], af[j], ag[j] = i, f, g
            c1[j] = fma(f, c0[j], i * g)  # f c_{t-1} + i g
        if peep:
            for j in range(H):
                ao[j] += w_oc[j] * c1[j]
        for j in range(H):
            o = sigmoid(ao[j] + bo[j])
            ao[j] = o
            h1[j] = o * tanh(c1[j])


@njit(**JIT)
def _rows_cec(a, cp, cn, hn, b0, b1, b_h, w_ic, w_oc, peep):
    # without a forget gate: the gates are i, g, o
    H = cn.shape[1]
    bi, bg, bo = b_h[0:H], b_h[H : 2 * H], b_h[2 * H : 3 * H]
    for b in range(b0, b1):
        r, c0, c1, h1 = a[b], cp[b], cn[b], hn[b]
        ai, ag, ao = r[0:H], r[H : 2 * H], r[2 * H : 3 * H]
        if peep:
            for j in range(H):
                ai[j] += w_ic[j] * c0[j]
        for j in range(H):
            i = sigmoid(ai[j] + bi[j])
            g = tanh(ag[j] + bg[j])
            ai[j], ag[j] = i, g
            c1[j] = fma(i, g, c0[j])  # the 1997 CEC: c_t = c_{t-1} + i g
        if peep:
            for j in range(H):
                ao[j] += w_oc[j] * c1[j]
        for j in range(H):
            o = sigmoid(ao[j] + bo[j])
            ao[j] = o
            h1[j] = o * tanh(c1[j])
