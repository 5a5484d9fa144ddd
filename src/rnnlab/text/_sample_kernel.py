"""The compiled LSTM sampling loop of :mod:`rnnlab.text.sampling`, on one thread or several.

Each generated character needs every weight matrix once (about 3 MB for a 2x256 LSTM in
float32), one step after the other, so sampling is bound by how fast a core streams the weights:
from the shared L3 cache when they do not fit a core's own L2 (measured: about 150 us a
character on one core). With ``n`` threads, thread ``t`` owns the units ``[t*H/n, (t+1)*H/n)``
of every layer: its columns of each gate block are packed into its own matrices (a 2x256 LSTM:
1.5 MB a thread on two), which stay in its core's cache from one character to the next. After
each layer the threads meet at a barrier (every thread needs the whole ``h`` of the layer below);
each then computes the readout and draws the next character itself, from the same logits and the
same uniform, so all agree on it without another barrier. The barrier is a spin on per-thread
step counters with acquire/release atomics (Numba has no other cross-thread primitive); a thread
that spins long yields its core, so a machine with fewer free cores than threads slows down
instead of stalling.

Every thread runs the same arithmetic in the same order as one thread does, so the sampled
text does not depend on the number of threads.
"""

from __future__ import annotations

import threading

import numpy as np
from numba import njit, types
from numba.core import cgutils
from numba.extending import intrinsic

_sched_yield = types.ExternalFunction("sched_yield", types.int32())
_SPINS = 4096  # spins before a waiting thread yields its core


@intrinsic
def _load_acquire(typingctx, arr, idx):  # pragma: no cover - compiled
    """``arr[idx]`` as an atomic acquire load (int64): never hoisted out of a spin loop."""

    def codegen(context, builder, sig, args):
        aryty = sig.args[0]
        ary = context.make_array(aryty)(context, builder, args[0])
        ptr = cgutils.get_item_pointer(context, builder, aryty, ary, [args[1]])
        return builder.load_atomic(ptr, ordering="acquire", align=8)

    return types.int64(arr, idx), codegen


@intrinsic
def _store_release(typingctx, arr, idx, val):  # pragma: no cover - compiled
    """``arr[idx] = val`` as an atomic release store: the writes before it are seen first."""

    def codegen(context, builder, sig, args):
        aryty = sig.args[0]
        ary = context.make_array(aryty)(context, builder, args[0])
        ptr = cgutils.get_item_pointer(context, builder, aryty, ary, [args[1]])
        builder.store_atomic(args[2], ptr, ordering="release", align=8)
        return context.get_dummy_value()

    return types.void(arr, idx, val), codegen


@njit(cache=True, fastmath=True)
def _matvec_add(a, v, W):  # pragma: no cover - compiled
    """``a += v @ W`` row by row (``a += v_i * W[i]``), which the compiler vectorises."""
    for i in range(W.shape[0]):
        vi = v[i]
        row = W[i]
        for j in range(W.shape[1]):
            a[j] += vi * row[j]


@njit(cache=True)
def _barrier(prog, tid, nthr, stage):  # pragma: no cover - compiled
    _store_release(prog, tid * 8, stage)  # 8 int64 apart: each counter on its own cache line
    for o in range(nthr):
        spins = 0
        while _load_acquire(prog, o * 8) < stage:
            spins += 1
            if spins >= _SPINS:
                _sched_yield()
                spins = 0


@njit(cache=True, nogil=True, fastmath=True)
def _worker(
    tid, nthr, Wx0, Wx, Wh, b, Wy, by, hb, c, first, u, temperature, top_k, prog, out
):  # pragma: no cover - compiled
    """Thread ``tid`` of ``nthr`` generating ``len(u)`` characters (see the module docstring).

    ``Wx0 (n, V, 4Hc)`` (a one-hot input is a row), ``Wx (n, max(L-1, 1), H, 4Hc)``,
    ``Wh (n, L, H, 4Hc)``, ``b (n, L, 4Hc)``: each thread's columns, ``Hc = H / n``;
    ``Wy (H, V)``, ``by (V,)``; ``hb (2, L, H)``: the state before and after a step, swapped each
    step; ``c (L, H)``; ``prog``: the barrier's counters; ``out (len(u),)``: thread 0 writes it.
    """
    _, L, H = hb.shape
    Hc = H // nthr
    j0 = tid * Hc
    V = Wy.shape[1]
    x = np.int64(first)
    a = np.empty(4 * Hc, dtype=np.float32)  # this thread's gate pre-activations [i f g o]
    zf = np.empty(V, dtype=np.float32)
    stage = 0
    for t in range(u.shape[0]):
        h_prev, h_new = hb[t % 2], hb[(t + 1) % 2]
        for k in range(L):
            a[:] = b[tid, k]
            if k == 0:
                a += Wx0[tid, x]
            else:
                _matvec_add(a, h_new[k - 1], Wx[tid, k - 1])
            _matvec_add(a, h_prev[k], Wh[tid, k])
            for j in range(Hc):
                i_ = 1.0 / (1.0 + np.exp(-a[j]))
                f_ = 1.0 / (1.0 + np.exp(-a[Hc + j]))
                g_ = np.tanh(a[2 * Hc + j])
                o_ = 1.0 / (1.0 + np.exp(-a[3 * Hc + j]))
                c[k, j0 + j] = f_ * c[k, j0 + j] + i_ * g_
                h_new[k, j0 + j] = o_ * np.tanh(c[k, j0 + j])
            stage += 1
            if nthr > 1:
                _barrier(prog, tid, nthr, stage)
        zf[:] = by
        _matvec_add(zf, h_new[L - 1], Wy)
        z = zf.astype(np.float64)
        z[0] = -np.inf  # never the reserved unknown symbol
        if temperature == 0.0:
            x = np.int64(np.argmax(z))
        else:
            if top_k < V - 1:
                thr = np.sort(z)[V - top_k]
                for j in range(V):
                    if z[j] < thr:
                        z[j] = -np.inf
            p = np.exp((z - z.max()) / temperature)
            cs = np.cumsum(p)
            x = np.int64(min(np.searchsorted(cs, u[t] * cs[-1], side="right"), V - 1))
        if tid == 0:
            out[t] = x
    return 0


def _split(W: np.ndarray, n: int, H: int) -> np.ndarray:
    """``(..., 4H) -> (n, ..., 4H/n)``: thread ``t``'s columns of each of the four gate blocks."""
    Hc = H // n
    parts = []
    for t in range(n):
        cols = np.concatenate([np.arange(g * H + t * Hc, g * H + (t + 1) * Hc) for g in range(4)])
        parts.append(W[..., cols])
    return np.ascontiguousarray(np.stack(parts))


def sample_lstm(
    arrays: tuple[np.ndarray, ...],
    h: np.ndarray,
    c: np.ndarray,
    first: int,
    u: np.ndarray,
    temperature: float,
    top_k: int,
    threads: int,
) -> np.ndarray:
    """Generate ``len(u)`` character indices from the state ``h, c (L, H)`` (float32) after
    reading ``first``. ``arrays``: ``Wx0 (V, 4H)``, ``Wx (max(L-1, 1), H, 4H)``, ``Wh (L, H,
    4H)``, ``b (L, 4H)``, ``Wy (H, V)``, ``by (V,)``, float32. ``threads`` divides ``H``
    (:func:`rnnlab.text.sampling.sampling_threads`)."""
    Wx0, Wx, Wh, b, Wy, by = arrays
    L, H = h.shape
    n = int(threads)  # checked by sampling.sampling_threads
    hb = np.zeros((2, L, H), np.float32)
    hb[0] = h
    cc = np.array(c, dtype=np.float32)
    prog = np.zeros(8 * n, np.int64)
    out = np.empty(len(u), np.int64)
    args = (
        _split(Wx0, n, H),
        _split(Wx, n, H),
        _split(Wh, n, H),
        _split(b, n, H),
        Wy,
        by,
        hb,
        cc,
        np.int64(first),
        np.ascontiguousarray(u, dtype=np.float64),
        float(temperature),
        np.int64(top_k),
        prog,
        out,
    )
    helpers = [threading.Thread(target=_worker, args=(t, n, *args)) for t in range(1, n)]
    for th in helpers:
        th.start()
    try:
        _worker(0, n, *args)
    finally:
        for th in helpers:
            th.join()
    return out
