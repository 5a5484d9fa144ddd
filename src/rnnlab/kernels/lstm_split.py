"""The LSTM's whole-sequence kernels on two threads, each with half of the batch.

Forward: thread 0 runs sequences ``0..half``, thread 1 ``half..B``, every step of them: the
input projection of its rows, the product with ``W_hh`` (the packed panels are shared, each
thread has its own row buffers, ``kernels/_packed.py``) and the gate arithmetic. The sequences
of a batch do not interact, so the threads never wait for each other. Backward: each thread
runs its sequences' steps back through a chunk of steps, writing their rows of the
pre-activation gradients ``da``; then the threads meet, share out the chunk's sums over all
rows (``dx`` and ``db_h`` on thread 0, ``dW_xh`` and ``dW_hh`` on thread 1), and meet again
before the next chunk reuses ``da``. (When and why: ``kernels/_split.py``.)

Every number is the one-thread kernel's (``kernels/lstm.py``): a product row is the same sum
whatever the rows beside it, the gate code is the same, and the chunk's sums are the same
calls, whole (a GEMM cut into row blocks may sum in another order). ``tests/test_split.py``
holds the two to the same bits. The gate loops are written out here rather than shared with
``kernels/lstm.py``: moved into a function called from both, they measured 15-20 % slower in
the one-thread kernel (LLVM no longer lifted the peephole branches out of the step loop).
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange

from ._blas import gemm
from ._common import JIT
from ._input import input_weight_grad, project_input
from ._packed import packed_gemm, row_buffers
from ._sync import ERROR, meet, start_together
from ._vmath import sigmoid, tanh

_PAR = dict(JIT, parallel=True)


@njit(**JIT)
def _forward_part(
    x, W_xh, b_h, w_ic, w_fc, w_oc, h, c, gates, forget, peep, cblas, wt, codes,
    WxT, pk, b0, b1,
):  # fmt: skip
    T, B, I = x.shape
    H = h.shape[2]
    oi, of = 0, H
    og = 2 * H if forget else H
    oo = og + H
    bi, bf, bg, bo = b_h[oi : oi + H], b_h[of : of + H], b_h[og : og + H], b_h[oo : oo + H]
    for t in range(T):
        # this thread's sequences' input projections, one step at a time: rows the other core
        # wrote would have to move to this one at every step
        project_input(
            x[t, b0:b1], W_xh, gates[t, b0:b1], codes[t * B + b0 : t * B + b1], WxT, cblas, wt
        )
        packed_gemm(h[t, b0:b1], pk, 1.0, gates[t, b0:b1])  # += W_hh h_{t-1}
        for b in range(b0, b1):
            a = gates[t, b]  # (GH,) pre-activations, overwritten with the gate values
            cp, cn, hn = c[t, b], c[t + 1, b], h[t + 1, b]
            ai, af, ag, ao = a[oi : oi + H], a[of : of + H], a[og : og + H], a[oo : oo + H]
            if peep:
                for j in range(H):
                    ai[j] += w_ic[j] * cp[j]
                if forget:
                    for j in range(H):
                        af[j] += w_fc[j] * cp[j]
            if forget:
                for j in range(H):
                    i = sigmoid(ai[j] + bi[j])
                    f = sigmoid(af[j] + bf[j])
                    g = tanh(ag[j] + bg[j])
                    ai[j], af[j], ag[j] = i, f, g
                    cn[j] = f * cp[j] + i * g
            else:
                for j in range(H):
                    i = sigmoid(ai[j] + bi[j])
                    g = tanh(ag[j] + bg[j])
                    ai[j], ag[j] = i, g
                    cn[j] = cp[j] + i * g
            if peep:
                for j in range(H):
                    ao[j] += w_oc[j] * cn[j]
            for j in range(H):
                o = sigmoid(ao[j] + bo[j])
                ao[j] = o
                hn[j] = o * tanh(cn[j])


@njit(**_PAR)
def forward(
    x, W_xh, b_h, w_ic, w_fc, w_oc, h, c, gates, forget, peep, cblas, wt, codes, WxT, pk0, pk1,
    half,
):  # fmt: skip
    """The forward pass of ``kernels/lstm.py`` on two threads: sequences ``0..half`` and
    ``half..B``, with the panels of :func:`thread_panels`. The threads never wait for each
    other, so this gives the same result in any thread team."""
    B = x.shape[1]
    for me in prange(2):
        # one call site with variables: a literal 0 would compile the part a second time
        b0, b1 = (0, half) if me == 0 else (half, B)
        pk = pk0 if me == 0 else pk1
        _forward_part(
            x, W_xh, b_h, w_ic, w_fc, w_oc, h, c, gates, forget, peep, cblas, wt, codes, WxT, pk,
            b0, b1,
        )  # fmt: skip


@njit(**JIT)
def _backward_part(
    me, flags, x, W_xh, w_ic, w_fc, w_oc, h, c, gates, dy, dh, dc, out, da, forget, peep, cblas,
    codes, dWxT, pk, b0, b1,
):  # fmt: skip
    T, B, I = x.shape
    H = h.shape[2]
    GH = gates.shape[2]
    oi, of = 0, H
    og = 2 * H if forget else H
    oo = og + H
    dx, dW_xh, dW_hh, db_h, dw_ic, dw_fc, dw_oc = out  # zeros, filled here
    if not start_together(flags, me):
        return
    phase = 1
    K = da.shape[0]
    t_end = T
    while t_end > 0:
        t0 = max(t_end - K, 0)
        n = t_end - t0
        for t in range(t_end - 1, t0 - 1, -1):
            for b in range(b0, b1):
                g = gates[t, b]
                d = da[t - t0, b]
                dhb, dcb, dyb = dh[b], dc[b], dy[t, b]
                cp, cn = c[t, b], c[t + 1, b]
                gi, gf, gg, go = g[oi : oi + H], g[of : of + H], g[og : og + H], g[oo : oo + H]
                di, df, dg, do = d[oi : oi + H], d[of : of + H], d[og : og + H], d[oo : oo + H]
                for j in range(H):
                    dh_t = dhb[j] + dyb[j]
                    tc = tanh(cn[j])
                    o = go[j]
                    do[j] = dh_t * tc * o * (1.0 - o)
                    dcb[j] = dcb[j] + dh_t * o * (1.0 - tc * tc)
                if peep:
                    for j in range(H):
                        dcb[j] += do[j] * w_oc[j]
                if forget:
                    for j in range(H):
                        i, f, gv = gi[j], gf[j], gg[j]
                        di[j] = dcb[j] * gv * i * (1.0 - i)
                        df[j] = dcb[j] * cp[j] * f * (1.0 - f)
                        dg[j] = dcb[j] * i * (1.0 - gv * gv)
                        dcb[j] = dcb[j] * f
                else:
                    for j in range(H):
                        i, gv = gi[j], gg[j]
                        di[j] = dcb[j] * gv * i * (1.0 - i)
                        dg[j] = dcb[j] * i * (1.0 - gv * gv)
                if peep:
                    for j in range(H):
                        dcb[j] += di[j] * w_ic[j]
                    if forget:
                        for j in range(H):
                            dcb[j] += df[j] * w_fc[j]
            # this thread's sequences' dL/dh_{t-1}
            packed_gemm(da[t - t0, b0:b1], pk, 0.0, dh[b0:b1])
        phase += 1
        if not meet(flags, me, phase):  # every sequence's rows of the chunk are in da
            return
        # The chunk's sums over (step, sequence) rows: the one-thread kernel's calls, whole
        # (a GEMM cut into row blocks may sum in another order), shared out between the two
        rows = da[:n].reshape(n * B, GH)
        if me == 0:
            gemm(cblas, False, False, rows, W_xh, 0.0, dx[t0:t_end].reshape(n * B, dx.shape[2]))
            for r in range(n * B):
                db_h += rows[r]
            if peep:
                _peephole_grads(gates, da, c, t0, t_end, H, og, oo, forget, dw_ic, dw_fc, dw_oc)
        else:
            x2 = x[t0:t_end].reshape(n * B, I)
            input_weight_grad(rows, x2, dW_xh, codes[t0 * B : t_end * B], dWxT, cblas)
            gemm(cblas, True, False, rows, h[t0:t_end].reshape(n * B, H), 1.0, dW_hh)
        phase += 1
        if not meet(flags, me, phase):  # the next chunk writes da again
            return
        t_end = t0


@njit(**JIT)
def _peephole_grads(gates, da, c, t0, t_end, H, og, oo, forget, dw_ic, dw_fc, dw_oc):
    # the one-thread kernel adds, step by step backwards and sequence by sequence, do * c_t to
    # dw_oc and di * c_{t-1} (df * c_{t-1}) to dw_ic (dw_fc): the same sums in the same order
    B = gates.shape[1]
    for t in range(t_end - 1, t0 - 1, -1):
        for b in range(B):
            d = da[t - t0, b]
            cp, cn = c[t, b], c[t + 1, b]
            do, di, df = d[oo : oo + H], d[0:H], d[H : 2 * H]
            for j in range(H):
                dw_oc[j] += do[j] * cn[j]
            for j in range(H):
                dw_ic[j] += di[j] * cp[j]
            if forget:
                for j in range(H):
                    dw_fc[j] += df[j] * cp[j]


@njit(**_PAR)
def _backward(
    flags, x, W_xh, w_ic, w_fc, w_oc, h, c, gates, dy, dh, dc, out, da, forget, peep, cblas,
    codes, dWxT, pk0, pk1, half,
):  # fmt: skip
    B = x.shape[1]
    for i in prange(2):
        # variables of fixed types: one compilation (the loop index is int64 or uint64 in the
        # two versions Numba compiles of this loop)
        me = 0 if i == 0 else 1
        b0, b1 = (0, half) if me == 0 else (half, B)
        pk = pk0 if me == 0 else pk1
        _backward_part(
            me, flags, x, W_xh, w_ic, w_fc, w_oc, h, c, gates, dy, dh, dc, out, da, forget, peep,
            cblas, codes, dWxT, pk, b0, b1,
        )  # fmt: skip


def backward(*args) -> bool:
    """The backward pass of ``kernels/lstm.py`` on two threads, ``args`` as ``_backward`` takes
    them after ``flags`` (as :func:`forward`; the threads meet twice per chunk of steps). False:
    the two did not run side by side, and ``dh``, ``dc`` and ``out`` hold partial sums."""
    # the counters come from here: an array made inside the parallel function was not the one
    # its loop body saw when the team had one thread
    flags = np.zeros(ERROR + 1, np.int64)
    _backward(flags, *args)
    return bool(flags[ERROR] == 0)


def thread_panels(pk: tuple, rows: int) -> tuple[tuple, tuple]:
    """Two threads' views of one set of packed panels (:func:`~rnnlab.kernels._packed.
    packed_panels`): the same weights, each thread its own work space for ``rows`` rows."""
    return pk, (pk[0], *row_buffers(pk[0], rows))
