"""The LSTM's whole-sequence time loops, on one thread or on two with half of the batch each.

One thread: :func:`run_forward` projects every step's input in one GEMM into ``gates``, then
per step adds ``W_hh h_{t-1}`` (one product for the batch: packed panels or BLAS,
``kernels/_packed.py``) and runs the fused, vectorised gate arithmetic
(``kernels/lstm_gates.py``); :func:`run_backward` forms per step the pre-activation gradients
and ``dL/dh_{t-1}`` (one product), and every chunk of steps folds them into ``dx``, ``dW_xh``,
``dW_hh`` and ``db_h`` with whole GEMMs.

Two threads (:func:`forward_two`, :func:`backward_two`; when: ``kernels/_split.py``): thread 0
runs the same loops for sequences ``0..half``, thread 1 for ``half..B``. The sequences of a
batch do not interact, so the forward threads never wait for each other (each projects its own
rows step by step, so that they are in its own cache). The backward threads meet twice per
chunk: when every row of the chunk's gradients is written, and before the next chunk reuses
the buffer; in between they share out the chunk's sums, each a whole call (``dx``, ``db_h``,
the peepholes' and the first half of ``dW_hh``'s gate rows on thread 0, ``dW_xh`` and the
second half on thread 1; the one-thread kernel on this route makes the same two ``dW_hh``
calls).

The two give the same bits: one code for both, a product row is the same sum whatever the rows
beside it (``kernels/_packed.py``), and every chunk sum is the same call
(``tests/test_split.py``; a GEMM cut into row blocks did not sum in the same order).
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange

from ._blas import gemm
from ._common import JIT
from ._fpenv import flush_float32, restore_fpenv
from ._input import input_weight_grad, project_input
from ._packed import step_product, tile_scratch
from ._sync import ERROR, meet, start_together
from ._vmath import tanh
from .lstm_gates import cell_rows

_PAR = dict(JIT, parallel=True)


@njit(**JIT)
def run_forward(
    x, W_xh, W_hh, b_h, w_ic, w_fc, w_oc, h, c, gates, forget, peep, cblas, wt, codes, WxT, pk,
    b0, b1,
):  # fmt: skip
    """The forward time loop for sequences ``b0..b1`` (all of them: one thread). Arguments as
    ``kernels/lstm.py`` prepares them; ``pk``: this thread's panels (:func:`thread_panels`)."""
    # float32: subnormals (vanishing gradients) flushed to zero for this call (_fpenv.py)
    env = flush_float32(h)
    T, B, I = x.shape
    whole = b0 == 0 and b1 == B
    if whole:  # one thread: every step's input projection in one GEMM, written into gates
        R, GH = T * B, gates.shape[2]
        project_input(x.reshape(R, I), W_xh, gates.reshape(R, GH), codes, WxT, cblas, wt)
    for t in range(T):
        if not whole:
            # half of the batch: this thread's rows, step by step (rows the other core wrote
            # would move to this one at every step)
            rows = codes[t * B + b0 : t * B + b1]  # empty where x is not one-hot
            project_input(x[t, b0:b1], W_xh, gates[t, b0:b1], rows, WxT, cblas, wt)
        if whole:  # whole arrays: the product's own types (the rows of a block are views)
            step_product(cblas, h[t], W_hh, not wt, 1.0, gates[t], pk)  # += W_hh h_{t-1}
        else:
            step_product(cblas, h[t, b0:b1], W_hh, not wt, 1.0, gates[t, b0:b1], pk)
        cell_rows(gates[t], c[t], c[t + 1], h[t + 1], b0, b1, b_h, w_ic, w_fc, w_oc, forget, peep)
    restore_fpenv(env)


@njit(**JIT)
def run_backward(
    me, flags, x, W_xh, W_hh, w_ic, w_fc, w_oc, h, c, gates, dy, dh, dc, out, da, forget, peep,
    cblas, codes, dWxT, pk, b0, b1,
):  # fmt: skip
    """The backward time loop for sequences ``b0..b1``. All of them: one thread (``flags`` is
    not read). Half: thread ``me`` of two, meeting through ``flags`` (``kernels/_sync.py``);
    then each does its share of every chunk's sums."""
    # float32: subnormals (vanishing gradients) flushed to zero for this call (_fpenv.py)
    env = flush_float32(h)
    T, B, I = x.shape
    H = h.shape[2]
    GH = gates.shape[2]
    oi, of = 0, H
    og = 2 * H if forget else H
    oo = og + H
    dx, dW_xh, dW_hh, db_h, dw_ic, dw_fc, dw_oc = out  # zeros, filled here
    solo = b0 == 0 and b1 == B
    if not solo and not start_together(flags, me):
        restore_fpenv(env)
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
                    dh_t = dhb[j] + dyb[j]  # h_t feeds the output and step t+1
                    tc = tanh(cn[j])
                    o = go[j]
                    do[j] = dh_t * tc * o * (1.0 - o)  # h = o tanh(c), o = sigmoid(a_o)
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
                        dcb[j] = dcb[j] * f  # the CEC path, scaled by the forget gate
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
            # these sequences' dL/dh_{t-1} from step t (whole arrays on one thread: as above)
            if solo:
                step_product(cblas, da[t - t0], W_hh, False, 0.0, dh, pk)
            else:
                step_product(cblas, da[t - t0, b0:b1], W_hh, False, 0.0, dh[b0:b1], pk)
        phase += 1
        if not solo and not meet(flags, me, phase):  # every row of the chunk is in da
            restore_fpenv(env)
            return
        # The chunk's sums over (step, sequence) rows: whole calls on one thread or the other
        # (a GEMM cut into row blocks may sum in another order). On the packed route (where a
        # split can run) dW_hh, the largest where x needs no gradient, is two calls, one per
        # half of the gate rows, on one thread as on two, so each thread has one of them and
        # the bits do not depend on the split; elsewhere (float64: the papers' tables) one call.
        rows = da[:n].reshape(n * B, GH)
        h2 = h[t0:t_end].reshape(n * B, H)  # h_{t-1} of each row
        top = GH // 2 if pk[0].shape[0] > 0 else 0
        if solo or me == 0:
            gemm(cblas, False, False, rows, W_xh, 0.0, dx[t0:t_end].reshape(n * B, dx.shape[2]))
            for r in range(n * B):
                db_h += rows[r]
            if peep:
                _peephole_grads(gates, da, c, t0, t_end, H, og, oo, forget, dw_ic, dw_fc, dw_oc)
            if top > 0:
                gemm(cblas, True, False, rows[:, :top], h2, 1.0, dW_hh[:top])
        if solo or me == 1:
            x2 = x[t0:t_end].reshape(n * B, I)
            input_weight_grad(rows, x2, dW_xh, codes[t0 * B : t_end * B], dWxT, cblas)
            gemm(cblas, True, False, rows[:, top:], h2, 1.0, dW_hh[top:])
        phase += 1
        if not solo and not meet(flags, me, phase):  # the next chunk writes da again
            restore_fpenv(env)
            return
        t_end = t0
    restore_fpenv(env)


@njit(**JIT)
def _peephole_grads(gates, da, c, t0, t_end, H, og, oo, forget, dw_ic, dw_fc, dw_oc):
    # do * c_t to dw_oc and di * c_{t-1} (df * c_{t-1}) to dw_ic (dw_fc), step by step
    # backwards and sequence by sequence over one chunk: the reference loop's order
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
def _forward_two(
    x, W_xh, W_hh, b_h, w_ic, w_fc, w_oc, h, c, gates, forget, peep, cblas, wt, codes, WxT,
    pk0, pk1, half,
):  # fmt: skip
    B = x.shape[1]
    for i in prange(2):
        # variables of fixed types: one compilation of the loop function (a literal argument,
        # or the index, int64 in one of Numba's two versions of this loop and uint64 in the
        # other, would compile it twice)
        b0, b1 = (0, half) if i == 0 else (half, B)
        pk = pk0 if i == 0 else pk1
        run_forward(
            x, W_xh, W_hh, b_h, w_ic, w_fc, w_oc, h, c, gates, forget, peep, cblas, wt, codes,
            WxT, pk, b0, b1,
        )  # fmt: skip


def forward_two(*args) -> None:
    """:func:`run_forward` on two threads: ``args`` as it takes them up to ``pk``, then
    ``pk0, pk1`` (:func:`thread_panels`) and ``half``. The threads never wait for each other,
    so any thread team gives the same result."""
    _forward_two(*args)


@njit(**_PAR)
def _backward_two(
    flags, x, W_xh, W_hh, w_ic, w_fc, w_oc, h, c, gates, dy, dh, dc, out, da, forget, peep,
    cblas, codes, dWxT, pk0, pk1, half,
):  # fmt: skip
    B = x.shape[1]
    for i in prange(2):
        me = 0 if i == 0 else 1  # fixed types: one compilation (see _forward_two)
        b0, b1 = (0, half) if me == 0 else (half, B)
        pk = pk0 if me == 0 else pk1
        run_backward(
            me, flags, x, W_xh, W_hh, w_ic, w_fc, w_oc, h, c, gates, dy, dh, dc, out, da, forget,
            peep, cblas, codes, dWxT, pk, b0, b1,
        )  # fmt: skip


def backward_two(*args) -> bool:
    """:func:`run_backward` on two threads: ``args`` as it takes them after ``flags``, up to
    ``pk``, then ``pk0, pk1`` and ``half``. False: the two did not run side by side, and
    ``dh``, ``dc`` and ``out`` hold partial sums."""
    # the counters come from here: an array made inside the parallel function was not the one
    # its loop body saw when the team had one thread
    flags = np.zeros(ERROR + 1, np.int64)
    _backward_two(flags, *args)
    return bool(flags[ERROR] == 0)


# the ``flags`` argument of a one-thread run_backward: never read or written
ONE_THREAD_FLAGS = np.zeros(ERROR + 1, np.int64)


def thread_panels(pk: tuple) -> tuple[tuple, tuple]:
    """Two threads' views of one set of packed panels (:func:`~rnnlab.kernels._packed.
    packed_panels`): the same weights, each thread its own work space."""
    return pk, (pk[0], tile_scratch(pk[0], "tile.second"))
