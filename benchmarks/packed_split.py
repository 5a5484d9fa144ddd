"""Experiment (rejected, NOTES.md): own GEMM on packed weights, hidden units split over 2 threads.

Run: ``python benchmarks/packed_split.py [--forward] [--rounds N]``. LSTM forward + backward
(``--forward``: forward only), T=100, H=I, float64 and float32, at several (B, H). The "static"
variant:

* ``W_hh`` is packed once per sequence into panels of NR columns (K x NR contiguous), and every
  per-step product runs on a register-tile micro-kernel written as LLVM IR through a Numba
  intrinsic (6 rows x 16 float32 / 6 x 8 float64 columns, vector FMAs on AVX2). Nothing is
  repacked per step but the 6-row slabs of the left operand (h_{t-1} or da_t).
* Two threads (the caller and one pool thread) each own half of the hidden units: the gate
  columns of those units in the forward product, the gate arithmetic of those units, the
  columns of dh in the backward product. One spin barrier (atomics) per step. OpenBLAS runs at
  one thread: each of the two threads calls it for its half of the input projection, dx and the
  weight-gradient GEMMs.

With ``--forward`` also "dynamic": the threads take two unit panels at a time from a shared
counter (products and gate arithmetic of those units) instead of fixed halves; and "batch":
each thread runs the whole recurrence of half the sequences (no barrier per step).
``--only batch`` times just that variant against rnnlab's kernels.

It compares these with rnnlab's kernels (OpenBLAS at 2 threads per call), interleaved, and prints
the median times and the median of paired old/new ratios (above 1: new faster), after checking
that both give the same results (max relative difference over h and dW_hh). x86-64 only (the
spin loop uses the ``pause`` instruction); H must be a multiple of NR (16 in float32, 8 in
float64).
"""

import argparse
import statistics
import time
from concurrent.futures import ThreadPoolExecutor
from functools import partial

import numpy as np
from llvmlite import ir
from numba import njit, types
from numba.core import cgutils
from numba.extending import intrinsic
from threadpoolctl import threadpool_limits

from rnnlab.kernels import _blas
from rnnlab.kernels import lstm as fast_lstm
from rnnlab.kernels._blas import NO_TRANS, ROW_MAJOR, TRANS, _dgemm, _sgemm, gemm
from rnnlab.kernels._common import chunk_steps
from rnnlab.kernels._vmath import sigmoid, tanh

MR = 6  # rows of the register tile
I64, I32 = ir.IntType(64), ir.IntType(32)
JIT = dict(nogil=True, error_model="numpy", boundscheck=False)


@intrinsic
def _micro(typingctx, Ap, aoff, Bp, boff, C, crow, ccol, kc, mr):
    """C[crow:crow+mr, ccol:ccol+NR] += sum_p Ap.flat[aoff + p*MR + r] Bp.flat[boff + p*NR + j]."""
    if not isinstance(mr, types.IntegerLiteral):
        return None
    rows = mr.literal_value
    sig = types.void(Ap, aoff, Bp, boff, C, crow, ccol, kc, mr)

    def codegen(context, builder, sig, args):
        a = context.make_array(sig.args[0])(context, builder, args[0])
        b = context.make_array(sig.args[2])(context, builder, args[2])
        c = context.make_array(sig.args[4])(context, builder, args[4])
        aoff, boff, crow, ccol, kc = args[1], args[3], args[5], args[6], args[7]
        dtype = sig.args[0].dtype
        fty = context.get_value_type(dtype)
        lanes = 8 if dtype == types.float32 else 4
        nv = 2  # vectors per tile row: NR = 2 * lanes
        vty = ir.VectorType(fty, lanes)
        vptr = vty.as_pointer()
        itemsize = ir.Constant(I64, context.get_abi_sizeof(fty))
        ldc = builder.sdiv(builder.extract_value(c.strides, 0), itemsize)
        pa0 = builder.gep(a.data, [aoff])
        pb0 = builder.gep(b.data, [boff])
        pc0 = builder.gep(c.data, [builder.add(builder.mul(crow, ldc), ccol)])
        acc = [
            [cgutils.alloca_once_value(builder, ir.Constant(vty, None)) for _ in range(nv)]
            for _ in range(rows)
        ]
        name = f"llvm.fma.v{lanes}{'f32' if lanes == 8 else 'f64'}"
        fma = cgutils.get_or_insert_function(builder.module, ir.FunctionType(vty, [vty] * 3), name)
        splat = ir.Constant(ir.VectorType(I32, lanes), None)
        with cgutils.for_range(builder, kc) as loop:
            p = loop.index
            pb = builder.gep(pb0, [builder.mul(p, ir.Constant(I64, nv * lanes))])
            pa = builder.gep(pa0, [builder.mul(p, ir.Constant(I64, MR))])
            bv = [
                builder.load(
                    builder.bitcast(builder.gep(pb, [ir.Constant(I64, v * lanes)]), vptr), align=4
                )
                for v in range(nv)
            ]
            for r in range(rows):
                s = builder.load(builder.gep(pa, [ir.Constant(I64, r)]))
                s = builder.insert_element(ir.Constant(vty, None), s, ir.Constant(I32, 0))
                s = builder.shuffle_vector(s, s, splat)
                for v in range(nv):
                    builder.store(builder.call(fma, [s, bv[v], builder.load(acc[r][v])]), acc[r][v])
        for r in range(rows):
            pr = builder.gep(pc0, [builder.mul(ir.Constant(I64, r), ldc)])
            for v in range(nv):
                q = builder.bitcast(builder.gep(pr, [ir.Constant(I64, v * lanes)]), vptr)
                total = builder.fadd(builder.load(q, align=4), builder.load(acc[r][v]))
                builder.store(total, q, align=4)  # C rows need not be vector-aligned
        return context.get_dummy_value()

    return sig, codegen


@intrinsic
def _load(typingctx, arr, idx):
    """Atomic (sequentially consistent) read of arr[idx]."""

    def codegen(context, builder, sig, args):
        arr = context.make_array(sig.args[0])(context, builder, args[0])
        return builder.load_atomic(builder.gep(arr.data, [args[1]]), "seq_cst", 8)

    return types.int64(arr, idx), codegen


def _atomic(op):
    """Atomic arr[idx] = val ("store") or arr[idx] += val, returning the old value ("add")."""

    @intrinsic
    def fn(typingctx, arr, idx, val):
        def codegen(context, builder, sig, args):
            arr = context.make_array(sig.args[0])(context, builder, args[0])
            ptr = builder.gep(arr.data, [args[1]])
            if op == "store":
                builder.store_atomic(args[2], ptr, "seq_cst", 8)
                return args[2]
            return builder.atomic_rmw("add", ptr, args[2], "seq_cst")

        return types.int64(arr, idx, val), codegen

    return fn


_store, _add = _atomic("store"), _atomic("add")


@intrinsic
def _pause(typingctx):
    def codegen(context, builder, sig, args):
        fnty = ir.FunctionType(ir.VoidType(), [])
        fn = cgutils.get_or_insert_function(builder.module, fnty, "llvm.x86.sse2.pause")
        builder.call(fn, [])
        return context.get_dummy_value()

    return types.void(), codegen


@njit(inline="always", **JIT)
def _barrier(sync, n):
    """Barrier of n threads: sync[0] arrivals, sync[1] generation; the last to arrive also
    zeroes sync[2], the counter of claimed unit panels (dynamic forward), for the next step."""
    gen = _load(sync, 1)
    if _add(sync, 0, 1) == n - 1:
        _store(sync, 0, 0)
        _store(sync, 2, 0)
        _add(sync, 1, 1)
    else:
        while _load(sync, 1) == gen:
            _pause()


@njit(inline="always", **JIT)
def _pack_rows(A, Ap):
    """A (M, K) -> Ap (ceil(M/MR), K, MR), rows past M zero."""
    M, K = A.shape
    for ib in range(Ap.shape[0]):
        for r in range(MR):
            i = ib * MR + r
            if i < M:
                row, dst = A[i], Ap[ib]
                for p in range(K):
                    dst[p, r] = row[p]
            else:
                for p in range(K):
                    Ap[ib, p, r] = 0.0


@njit(inline="always", **JIT)
def _panels(Ap, M, Bp, p0, p1, C, K, KC):
    """C[:, p*NR:(p+1)*NR] += A @ Bp[p] for panels p0..p1-1 (Ap: A packed by _pack_rows)."""
    NR = Bp.shape[2]
    Mf = M - M % MR
    for kc in range(0, K, KC):
        kn = min(KC, K - kc)
        for p in range(p0, p1):
            boff, col = (p * K + kc) * NR, p * NR
            for i0 in range(0, Mf, MR):
                _micro(Ap, (i0 // MR * K + kc) * MR, Bp, boff, C, i0, col, kn, 6)
            r, ao = M - Mf, (Mf // MR * K + kc) * MR
            if r == 1:
                _micro(Ap, ao, Bp, boff, C, Mf, col, kn, 1)
            elif r == 2:
                _micro(Ap, ao, Bp, boff, C, Mf, col, kn, 2)
            elif r == 3:
                _micro(Ap, ao, Bp, boff, C, Mf, col, kn, 3)
            elif r == 4:
                _micro(Ap, ao, Bp, boff, C, Mf, col, kn, 4)
            elif r == 5:
                _micro(Ap, ao, Bp, boff, C, Mf, col, kn, 5)


@njit(inline="always", **JIT)
def _gemm_tn_cols(A, c0, c1, Bm, C):
    """C[c0:c1] += A[:, c0:c1]^T Bm with one BLAS call (A (R, lda), Bm (R, N), C (., N))."""
    R, N = Bm.shape
    lda = A.shape[1]
    a, c = A.ctypes.data + c0 * A.itemsize, C.ctypes.data + c0 * N * C.itemsize
    if C.itemsize == 4:
        _sgemm(ROW_MAJOR, TRANS, NO_TRANS, c1 - c0, N, R, 1.0, a, lda, Bm.ctypes.data, N, 1.0, c, N)
    else:
        _dgemm(ROW_MAJOR, TRANS, NO_TRANS, c1 - c0, N, R, 1.0, a, lda, Bm.ctypes.data, N, 1.0, c, N)


@njit(**JIT)
def _forward_part(k, n_threads, sync, x, W_xh, Wf, b_h, h, c, gates, claim, Ap, KC):
    """Thread k's share of the forward pass. claim = 0: the units split in fixed halves;
    claim = n: the threads take n unit panels at a time from a shared counter until none are
    left (dynamic balance), each doing the products and the gate arithmetic of what it took."""
    T, B, I = x.shape
    H, GH = h.shape[2], gates.shape[2]
    R = T * B
    r0, r1 = R * k // n_threads, R * (k + 1) // n_threads
    gemm(True, False, True, x.reshape(R, I)[r0:r1], W_xh, 0.0, gates.reshape(R, GH)[r0:r1])
    NR = Wf.shape[2]
    npu = H // NR  # unit panels per gate block
    _barrier(sync, n_threads)
    for t in range(T):
        _pack_rows(h[t], Ap)
        taken = False
        while True:
            if claim > 0:
                q0 = _add(sync, 2, claim)
                if q0 >= npu:
                    break
                q1 = min(q0 + claim, npu)
            else:
                if taken:
                    break
                q0, q1 = npu * k // n_threads, npu * (k + 1) // n_threads
                taken = True
            for gb in range(4):
                _panels(Ap, B, Wf, gb * npu + q0, gb * npu + q1, gates[t], H, KC)
            u0, u1 = q0 * NR, q1 * NR
            for b in range(B):
                a = gates[t, b]
                cp, cn, hn = c[t, b, u0:u1], c[t + 1, b, u0:u1], h[t + 1, b, u0:u1]
                ai, af = a[u0:u1], a[H + u0 : H + u1]
                ag, ao = a[2 * H + u0 : 2 * H + u1], a[3 * H + u0 : 3 * H + u1]
                bi, bf = b_h[u0:u1], b_h[H + u0 : H + u1]
                bg, bo = b_h[2 * H + u0 : 2 * H + u1], b_h[3 * H + u0 : 3 * H + u1]
                for j in range(u1 - u0):
                    i, f, g = sigmoid(ai[j] + bi[j]), sigmoid(af[j] + bf[j]), tanh(ag[j] + bg[j])
                    ai[j], af[j], ag[j] = i, f, g
                    cn[j] = f * cp[j] + i * g
                for j in range(u1 - u0):
                    o = sigmoid(ao[j] + bo[j])
                    ao[j] = o
                    hn[j] = o * tanh(cn[j])
        _barrier(sync, n_threads)


@njit(**JIT)
def _backward_part(k, n_threads, sync, x, W_xh, Wb, h, c, gates, dy, dh, dc, out, da, Ap, KC):
    T, B, I = x.shape
    H, GH = h.shape[2], gates.shape[2]
    dx, dW_xh, dW_hh, db_h = out
    NR = Wb.shape[2]
    npu = H // NR
    q0, q1 = npu * k // n_threads, npu * (k + 1) // n_threads
    u0, u1 = q0 * NR, q1 * NR
    K = da.shape[0]
    t_end = T
    while t_end > 0:
        t0 = max(t_end - K, 0)
        n = t_end - t0
        for t in range(t_end - 1, t0 - 1, -1):
            for b in range(B):
                g, d = gates[t, b], da[t - t0, b]
                dhb, dcb, dyb = dh[b, u0:u1], dc[b, u0:u1], dy[t, b, u0:u1]
                cp, cn = c[t, b, u0:u1], c[t + 1, b, u0:u1]
                gi, gf = g[u0:u1], g[H + u0 : H + u1]
                gg, go = g[2 * H + u0 : 2 * H + u1], g[3 * H + u0 : 3 * H + u1]
                di, df = d[u0:u1], d[H + u0 : H + u1]
                dg, do = d[2 * H + u0 : 2 * H + u1], d[3 * H + u0 : 3 * H + u1]
                for j in range(u1 - u0):
                    dh_t = dhb[j] + dyb[j]
                    tc = tanh(cn[j])
                    o = go[j]
                    do[j] = dh_t * tc * o * (1.0 - o)
                    dcb[j] = dcb[j] + dh_t * o * (1.0 - tc * tc)
                for j in range(u1 - u0):
                    i, f, gv = gi[j], gf[j], gg[j]
                    di[j] = dcb[j] * gv * i * (1.0 - i)
                    df[j] = dcb[j] * cp[j] * f * (1.0 - f)
                    dg[j] = dcb[j] * i * (1.0 - gv * gv)
                    dcb[j] = dcb[j] * f
            _barrier(sync, n_threads)  # da_t complete: both threads read all of it
            _pack_rows(da[t - t0], Ap)
            dh[:, u0:u1] = 0.0
            _panels(Ap, B, Wb, q0, q1, dh, GH, KC)
        _barrier(sync, n_threads)
        rows = da[:n].reshape(n * B, GH)
        R = n * B
        r0, r1 = R * k // n_threads, R * (k + 1) // n_threads
        gemm(True, False, False, rows[r0:r1], W_xh, 0.0, dx[t0:t_end].reshape(R, I)[r0:r1])
        xr, hr = x[t0:t_end].reshape(R, I), h[t0:t_end].reshape(R, H)
        for gb in range(4):
            c0, c1 = gb * H + u0, gb * H + u1
            _gemm_tn_cols(rows, c0, c1, xr, dW_xh)
            _gemm_tn_cols(rows, c0, c1, hr, dW_hh)
            for r in range(R):
                db_h[c0:c1] += rows[r, c0:c1]
        _barrier(sync, n_threads)  # the next chunk overwrites da
        t_end = t0


@njit(**JIT)
def _forward_batch(k, n_threads, sync, x, W_xh, Wf, b_h, h, c, gates, Ap, KC):
    """Thread k's share of the forward pass split by sequences: its rows of the input projection,
    one barrier, then the whole recurrence of its part of the batch (no barrier per step)."""
    T, B, I = x.shape
    H, GH = h.shape[2], gates.shape[2]
    R = T * B
    r0, r1 = R * k // n_threads, R * (k + 1) // n_threads
    gemm(True, False, True, x.reshape(R, I)[r0:r1], W_xh, 0.0, gates.reshape(R, GH)[r0:r1])
    _barrier(sync, n_threads)
    b0, b1 = B * k // n_threads, B * (k + 1) // n_threads
    bi, bf, bg, bo = b_h[:H], b_h[H : 2 * H], b_h[2 * H : 3 * H], b_h[3 * H :]
    for t in range(T):
        _pack_rows(h[t, b0:b1], Ap)
        _panels(Ap, b1 - b0, Wf, 0, Wf.shape[0], gates[t, b0:b1], H, KC)
        for b in range(b0, b1):
            a = gates[t, b]
            cp, cn, hn = c[t, b], c[t + 1, b], h[t + 1, b]
            ai, af, ag, ao = a[:H], a[H : 2 * H], a[2 * H : 3 * H], a[3 * H :]
            for j in range(H):
                i, f, g = sigmoid(ai[j] + bi[j]), sigmoid(af[j] + bf[j]), tanh(ag[j] + bg[j])
                ai[j], af[j], ag[j] = i, f, g
                cn[j] = f * cp[j] + i * g
            for j in range(H):
                o = sigmoid(ao[j] + bo[j])
                ao[j] = o
                hn[j] = o * tanh(cn[j])


POOL = ThreadPoolExecutor(1)


def _on_two_threads(fn, args, work, KC):
    """fn(k, 2, *args, work[k], KC) for k = 1 on the pool thread and k = 0 here, joined."""
    future = POOL.submit(fn, 1, 2, *args, work[1], KC)
    fn(0, 2, *args, work[0], KC)
    future.result()


def new_step(x, W_xh, W_hh, b_h, dy=None, claim=0, KC=256):
    """Forward (+ backward unless dy is None) of a forget-gate LSTM, zero initial state.

    Returns h and dW_hh (None without dy). ``claim``: see ``_forward_part``; -1: the forward
    pass split by sequences instead (``_forward_batch``; forward only).
    """
    dt = x.dtype
    T, B, I = x.shape
    GH, H = W_hh.shape
    NR = 16 if dt == np.float32 else 8
    with threadpool_limits(1, user_api="blas"):
        # panels of NR columns of the right operand, each (K, NR) contiguous
        Wf = np.ascontiguousarray(W_hh.reshape(GH // NR, NR, H).transpose(0, 2, 1))  # (GH/NR,H,NR)
        h, c = np.zeros((T + 1, B, H), dt), np.zeros((T + 1, B, H), dt)
        gates = np.empty((T, B, GH), dt)
        sync = np.zeros(3, np.int64)
        slabs = -(-B // MR)
        Ap = [np.empty((slabs, H, MR), dt), np.empty((slabs, H, MR), dt)]
        if claim < 0:
            _on_two_threads(_forward_batch, (sync, x, W_xh, Wf, b_h, h, c, gates), Ap, KC)
        else:
            _on_two_threads(_forward_part, (sync, x, W_xh, Wf, b_h, h, c, gates, claim), Ap, KC)
        if dy is None:
            return h, None
        Wb = np.ascontiguousarray(W_hh.reshape(GH, H // NR, NR).transpose(1, 0, 2))  # (H/NR,GH,NR)
        dh, dc = np.zeros((B, H), dt), np.zeros((B, H), dt)
        out = (np.empty((T, B, I), dt), np.zeros((GH, I), dt), np.zeros((GH, H), dt))
        out += (np.zeros(GH, dt),)
        da = np.empty((chunk_steps(T, B), B, GH), dt)
        Ap = [np.empty((slabs, GH, MR), dt), np.empty((slabs, GH, MR), dt)]
        args = (sync, x, W_xh, Wb, h, c, gates, dy, dh, dc, out, da)
        _on_two_threads(_backward_part, args, Ap, KC)
    return h, out[2]


def old_step(x, W_xh, W_hh, b_h, dy=None):
    """The same step through rnnlab's kernels."""
    dt = x.dtype
    T, B, I = x.shape
    GH, H = W_hh.shape
    e = np.empty(0, dt)
    h, c = np.zeros((T + 1, B, H), dt), np.zeros((T + 1, B, H), dt)
    gates = np.empty((T, B, GH), dt)
    fast_lstm._forward(x, W_xh, W_hh, b_h, e, e, e, h, c, gates, True, False, _blas.USE_CBLAS)
    if dy is None:
        return h, None
    dh, dc = np.zeros((B, H), dt), np.zeros((B, H), dt)
    out = (np.empty((T, B, I), dt), np.zeros((GH, I), dt), np.zeros((GH, H), dt), np.zeros(GH, dt))
    da = np.empty((chunk_steps(T, B), B, GH), dt)
    args = (x, W_xh, W_hh, e, e, e, h, c, gates, dy, dh, dc, out + (e, e, e), da)
    fast_lstm._backward(*args, True, False, _blas.USE_CBLAS)
    return h, out[2]


def main(forward_only: bool, rounds: int, only: list[str] | None = None) -> None:
    """Print, per dtype and (B, H), median times and paired old/new ratios of each variant
    (``only``: just these variants besides "old", in the order given)."""
    points = ((128, 512), (32, 512), (128, 256))
    if not forward_only:
        points += ((32, 256), (32, 64))
    for dt in (np.float64, np.float32):
        for B, H in points:
            T = 100
            rng = np.random.default_rng(0)
            x = rng.standard_normal((T, B, H)).astype(dt)
            W_xh = (rng.standard_normal((4 * H, H)) / np.sqrt(H)).astype(dt)
            W_hh = (rng.standard_normal((4 * H, H)) / np.sqrt(H)).astype(dt)
            b_h = (rng.standard_normal(4 * H) * 0.1).astype(dt)
            dy = None if forward_only else rng.standard_normal((T, B, H)).astype(dt)
            args = (x, W_xh, W_hh, b_h, dy)
            variants = {"old": partial(old_step, *args), "static": partial(new_step, *args)}
            if forward_only:
                variants["dynamic"] = partial(new_step, *args, claim=2)
                variants["batch"] = partial(new_step, *args, claim=-1)
            if only:
                variants = {k: variants[k] for k in ["old", *only]}
            ref = variants["old"]()
            diff = 0.0
            for fn in variants.values():
                for a, b in zip(ref, fn()):
                    if a is not None:
                        diff = max(diff, float(np.abs(a - b).max() / np.abs(a).max()))
            times: dict[str, list[float]] = {k: [] for k in variants}
            with threadpool_limits(2, user_api="blas"):
                for _ in range(rounds):
                    for name, fn in variants.items():
                        t0 = time.perf_counter()
                        fn()
                        times[name].append(time.perf_counter() - t0)
            med = ", ".join(f"{k} {statistics.median(v) * 1e3:.1f}" for k, v in times.items())
            paired = ", ".join(
                f"{k} {statistics.median(o / n for o, n in zip(times['old'], v)):.2f}"
                for k, v in times.items()
                if k != "old"
            )
            print(
                f"{np.dtype(dt).name} B={B:3} H={H:3} ({'forward' if forward_only else 'step'}):"
                f" ms {med}; paired old/new {paired}; max rel diff {diff:.1e}",
                flush=True,
            )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--forward", action="store_true", help="forward pass only, + dynamic")
    parser.add_argument("--rounds", type=int, default=7, help="interleaved rounds (default 7)")
    parser.add_argument("--only", nargs="+", help="time only these variants besides old")
    args = parser.parse_args()
    main(args.forward, args.rounds, args.only)
