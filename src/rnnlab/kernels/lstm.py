"""Fast whole-sequence LSTM forward and backward (same math and cache as the reference loop).

The entry points the layers call: they prepare the arrays and run the compiled time loops of
``kernels/lstm_loops.py`` on one thread, or on two where ``kernels/_split.py`` says so (the
same results). Forward: one GEMM for the input projections of all T steps, written straight
into the ``gates`` buffer, then per step one recurrent product that adds into it and fused,
vectorised gate arithmetic. Backward: per step fused gate derivatives and one product for
dL/dh_{t-1}; every CHUNK_ROWS rows, whole GEMMs over the chunk give dx, dW_xh and dW_hh. The
time loop runs inside Numba, so a step costs no Python overhead; the GEMMs call NumPy's BLAS
directly (see ``_blas``). ``_infer`` is the forward pass without a cache, for evaluation.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from . import _blas
from . import lstm_loops as loops
from ._buffers import POOL
from ._common import JIT, as_c, forward_weight, forward_wt, optional, work_buffer
from ._fpenv import flush_float32, restore_fpenv
from ._input import (
    backward_codes,
    finish_weight_grad,
    forward_codes,
    project_input,
)
from ._packed import forward_recurrent, packed_buffers, step_product
from ._split import split_failed, split_point
from .lstm_gates import cell_rows

# the peephole weights, in the order the kernels take them (empty arrays without peepholes)
PEEPHOLES = ("w_ic", "w_fc", "w_oc")


# Rows (steps x sequences) whose input projections the cache-free forward makes in one product.
# Step by step, one sequence's projection is a GEMV: it reads all of W_xh for one row (a
# 2-layer char model's held-out text, one stream: 44 us a step in the upper layer against 19 with
# the cache) and sums in another order than the training forward's GEMM of all steps, so its
# bits differed. A block of steps keeps the GEMM's sums (a product row is the same sum whatever
# the rows beside it; tests/test_kernels.py) and stays in cache (64 rows x 4H).
INFER_ROWS = 64


def infer_steps(B: int, T: int) -> int:
    """Steps per input-projection block of the cache-free forward for ``B`` sequences (1 from
    ``INFER_ROWS`` sequences up: each step's projection is then a GEMM already)."""
    return max(1, min(T, -(-INFER_ROWS // B)))


@njit(**JIT)
def _infer(
    x, W_xh, W_hh, b_h, w_ic, w_fc, w_oc, h, c2, a, K, forget, peep, cblas, wt, codes, WxT, pk
):  # fmt: skip
    # lstm_loops.run_forward without the cache: the pre-activations of K steps at a time go to
    # one (K', B, G*H) block and the cell state alternates between two (B, H) rows, so the gate
    # loops stay in cache. The same products and arithmetic (lstm_gates.cell_rows) in the same
    # order, so the same h bits; one-hot inputs gather rows of W_xh, as the training forward does.
    env = flush_float32(h)  # float32: subnormals flushed to zero for this call (_fpenv.py)
    T, B, I = x.shape
    GH = a.shape[2]
    t0 = 0
    while t0 < T:
        n = min(K, T - t0)
        if B == 1 and T - t0 - n == 1:
            n += 1  # no block of one row later: its product would be a GEMV (a has room)
        R = n * B
        rows = codes[t0 * B : t0 * B + R]  # empty where x is not one-hot
        project_input(
            x[t0 : t0 + n].reshape(R, I), W_xh, a[:n].reshape(R, GH), rows, WxT, cblas, wt
        )
        for s in range(n):
            t = t0 + s
            step_product(cblas, h[t], W_hh, not wt, 1.0, a[s], pk)  # += W_hh h_{t-1}
            cp, cn = c2[t % 2], c2[(t + 1) % 2]  # c_{t-1}, c_t
            cell_rows(a[s], cp, cn, h[t + 1], 0, B, b_h, w_ic, w_fc, w_oc, forget, peep)
        t0 += n
    restore_fpenv(env)


def supports(cell) -> bool:
    """Every LSTM option (forget gate on/off, peepholes on/off) is implemented."""
    return cell.family == "lstm"


def forward(cell, p, x, state0):
    """Same contract as :func:`rnnlab.cells.reference_forward` for an :class:`LSTMCell`."""
    dt = x.dtype
    # contiguous once, kept in the cache: a reversed direction's input (a strided view) is
    # then copied once per step, not again by the backward pass
    x = as_c(x, dt)
    wt = forward_wt(dt, x.shape[1])
    T, B, _ = x.shape
    H = state0[0].shape[1]
    h = POOL.empty((T + 1, B, H), dt)  # (T+1, B, H)
    c = POOL.empty((T + 1, B, H), dt)  # (T+1, B, H)
    h[0], c[0] = state0
    gates = POOL.empty((T, B, len(cell.gates) * H), dt)  # (T, B, G*H)
    W_hh, pk = forward_recurrent(p["W_hh"], dt, wt, B)
    half = split_point(B, H, dt)
    if wt and not half and pk[0].shape[0] > 0 and x.shape[2] >= 16:
        # one thread on the packed route: W_xh's only product is the GEMM of all T steps'
        # inputs. From 16 inputs up, OpenBLAS runs it with W_xh as it is (transposed in the
        # call) within 3 % of the time it takes on a transposed copy, and that copy costs
        # 2-12 % of the GEMM; the same bits either way (OpenBLAS packs both into the same
        # panels; benchmarks/NOTES.md). W_hh's products are packed and read no flag.
        wt = False
    W_xh = forward_weight(p["W_xh"], dt, wt)
    codes, WxT = forward_codes(x, p["W_xh"], W_xh, wt, dt)  # one-hot x: a gather
    cache = {"x": x, "h": h, "c": c, "gates": gates}
    peeps = (optional(p, w, dt) for w in PEEPHOLES)
    args = (x, W_xh, W_hh, as_c(p["b_h"], dt), *peeps, h, c, gates, cell.forget_gate)
    more = (cell.peepholes, _blas.USE_CBLAS, wt, codes, WxT)
    if half:  # two threads, each with half of the sequences (kernels/_split.py)
        loops.forward_two(*args, *more, *loops.thread_panels(pk), half)
    else:
        loops.run_forward(*args, *more, pk, 0, B)
    return h[1:], (h[T].copy(), c[T].copy()), cache


def backward(cell, p, dy, dstate_T, cache, need_dx=True):
    """Same contract as :func:`rnnlab.cells.reference_backward` for an :class:`LSTMCell`."""
    x, h = cache["x"], cache["h"]
    dt = h.dtype
    T, B, I = x.shape
    GH = cache["gates"].shape[2]
    H = h.shape[2]
    # Without need_dx (the bottom layer of a model: nobody reads dL/dx) dx has no columns and
    # its GEMM is skipped: I / (2 (I + H)) of the backward pass's GEMM work.
    dx = POOL.empty((T, B, I), dt) if need_dx else np.empty((T, B, 0), dt)  # (T, B, I)
    W_hh = as_c(p["W_hh"], dt)
    args = (
        as_c(x, dt),
        as_c(p["W_xh"], dt),
        W_hh,
        *(optional(p, w, dt) for w in PEEPHOLES),
        h,
        cache["c"],
        cache["gates"],
        as_c(dy, dt),
    )
    flags = (cell.forget_gate, cell.peepholes, _blas.USE_CBLAS)
    pk = packed_buffers(W_hh, False, B, dt)
    half = split_point(B, H, dt)
    for threads in (2, 1) if half else (1,):
        dh, dc = POOL.empty((B, H), dt), POOL.empty((B, H), dt)  # on cache lines (a split)
        dh[...], dc[...] = dstate_T  # (B, H) each, becoming dL/dh_0 and dL/dc_0
        grads = {
            "W_xh": np.zeros((GH, I), dtype=dt),
            "W_hh": np.zeros((GH, H), dtype=dt),
            "b_h": np.zeros(GH, dtype=dt),
        }
        peep = {w: np.zeros(H if w in p else 0, dtype=dt) for w in PEEPHOLES}
        out = (dx, grads["W_xh"], grads["W_hh"], grads["b_h"], *peep.values())
        codes, dWxT = backward_codes(x, GH, dt)  # one-hot x: dW_xh by a scatter-add
        rest = (dh, dc, out, work_buffer(T, B, GH, dt), *flags, codes, dWxT)
        if threads == 1:
            loops.run_backward(0, loops.ONE_THREAD_FLAGS, *args, *rest, pk, 0, B)
        elif loops.backward_two(*args, *rest, *loops.thread_panels(pk), half):
            break
        else:
            split_failed()  # the arrays hold partial sums: start again on one thread
    finish_weight_grad(grads["W_xh"], dWxT)
    grads.update({name: g for name, g in peep.items() if name in p})
    return (dx if need_dx else None), (dh, dc), {name: grads[name] for name in p}


backward.skips_dx = True  # takes need_dx=False (RecurrentLayer.backward checks for this)


def infer(cell, p, x, state0):
    """:func:`forward` without the cache (evaluation): ``(h (T, B, H), (h_T, c_T))``."""
    dt = x.dtype
    wt = forward_wt(dt, x.shape[1])
    T, B, _ = x.shape
    H = state0[0].shape[1]
    K = infer_steps(B, T)
    h = np.empty((T + 1, B, H), dt)  # (T+1, B, H)
    c2 = np.empty((2, B, H), dt)  # (2, B, H): c_{t-1} and c_t, alternating
    h[0], c2[0] = state0
    W_hh, pk = forward_recurrent(p["W_hh"], dt, wt, B)
    x = as_c(x, dt)
    W_xh = forward_weight(p["W_xh"], dt, wt)
    codes, WxT = forward_codes(x, p["W_xh"], W_xh, wt, dt)  # one-hot x: a gather
    _infer(
        x,
        W_xh,
        W_hh,
        as_c(p["b_h"], dt),
        optional(p, "w_ic", dt),
        optional(p, "w_fc", dt),
        optional(p, "w_oc", dt),
        h,
        c2,
        np.empty((K + (B == 1), B, len(cell.gates) * H), dt),  # (K', B, G*H)
        K,
        cell.forget_gate,
        cell.peepholes,
        _blas.USE_CBLAS,
        wt,
        codes,
        WxT,
        pk,
    )
    return h[1:], (h[T].copy(), c2[T % 2].copy())


forward.infer = infer  # RecurrentLayer.forward(..., keep_cache=False) looks for this
