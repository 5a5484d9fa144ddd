"""The per-step recurrent products on weights packed once per sequence (a register-tile GEMM).

Why: a recurrent layer multiplies the same ``W_hh`` by a small block of rows (the batch) at every
time step. OpenBLAS repacks all of ``W_hh`` on every call, and at 32 rows on one thread that
packing costs about as much as the arithmetic: ``(32, 256) x (256, 1024)`` ran at 64-68 GFLOP/s
against 158 for a large SGEMM on the same core (``benchmarks/NOTES.md``). Here ``W_hh`` is
packed once per sequence into panels of ``NR`` columns (``K x NR`` contiguous), and each step
runs a micro-kernel that keeps an ``MR x NR`` tile of the product in vector registers: ``MR``
rows of the left operand, read where they lie (each row in order over ``k``), are broadcast
against two vectors of a panel row with fused multiply-adds. Copying those rows into ``k``-major
slabs first, as a large GEMM does, cost 5-20 % of a step's product at 8-64 rows (the rows fit in
L1/L2 as they are; ``benchmarks/NOTES.md``). The micro-kernel is written as LLVM IR (a Numba
intrinsic), because LLVM does not find this register blocking in a plain loop nest (a plain
loop measured 16-19 GFLOP/s).

Every element of the product is the same sum in the same order whatever the number of rows and
the row's position (``k`` in blocks of ``KC``, each block a chain of fused multiply-adds added
to the output): a sequence's result does not depend on the batch it is in.

The tile follows the vector registers of the machine that compiles it: with AVX-512 (32
registers of 512 bits) ``MR = 8`` and two 16-lane float32 vectors per tile row; otherwise
(AVX2's 16 registers of 256 bits) ``MR = 6`` and two 8-lane vectors. Numba's on-disk cache is
keyed on the CPU, so a cache never crosses machines. (The tests compile the AVX2 tile on an
AVX-512 machine too: in a fresh process, with a cache directory of its own, with ``VECTOR_BITS``
and ``MR`` set before anything compiles.)
"""

from __future__ import annotations

import llvmlite.binding as llvm
import numpy as np
from llvmlite import ir
from numba import njit, types
from numba.core import cgutils
from numba.extending import intrinsic

from ._blas import blas_threads, gemm
from ._buffers import SCRATCH
from ._common import JIT, forward_weight


def _vector_bits() -> int:
    """512 where the host has AVX-512F, else 256 (LLVM splits wider vectors where it must)."""
    try:
        return 512 if llvm.get_host_cpu_features().get("avx512f", False) else 256
    except RuntimeError:  # a host LLVM cannot describe
        return 256


VECTOR_BITS = _vector_bits()
MR = 8 if VECTOR_BITS == 512 else 6  # rows of the register tile
NV = 2  # vectors per tile row: NR = NV * lanes columns
KC = 256  # k block: a panel's KC x NR block stays in L1 while the row tiles pass over it
MAX_ROWS = 64  # the packed products serve float32 batches of 2..MAX_ROWS rows (use_packed)

_I64, _I32 = ir.IntType(64), ir.IntType(32)


def panel_width(dtype: np.dtype) -> int:
    """``NR``: columns of a packed panel (and of the register tile) for ``dtype``."""
    return NV * VECTOR_BITS // (8 * np.dtype(dtype).itemsize)


def use_packed(batch: int, dtype: np.dtype, threads: int | None = None) -> bool:
    """Whether the per-step products of a batch of ``batch`` rows take the packed route.

    A fixed rule on the dtype, the shape and the BLAS's thread count (``threads``; now, by
    default), never a timing: float32, one BLAS thread (what the trainer runs on) and 2..MAX_ROWS
    rows. float64 keeps OpenBLAS's products, so float64 runs (the papers' reproductions, the
    tables measured in float64) keep their bits. One row stays a GEMV (memory-bound either
    way). With two BLAS threads OpenBLAS's own split was as fast or faster. At one thread the
    packed route was 4-8 % faster at 64 rows and at par at 96-128, where OpenBLAS's packing is
    amortised (``benchmarks/NOTES.md``); the bound also caps the trainer's two-thread split
    (:mod:`._split`), whose halves are packed products. The two routes differ only in rounding
    (both are held to the reference loop).
    """
    if np.dtype(dtype) != np.float32 or not 2 <= batch <= MAX_ROWS:
        return False
    return (blas_threads() if threads is None else threads) == 1


@intrinsic
def _micro(typingctx, A, arow, acol, Bp, boff, C, crow, ccol, kc, mr):
    """``C[crow+r, ccol+j] += sum_p A[arow+r, acol+p] * Bp.flat[boff+p*NR+j]``, ``p < kc``.

    ``mr`` (a literal, 1..MR) rows; the tile lives in registers over the whole ``kc`` loop.
    ``A`` is C-contiguous (a non-contiguous ``A`` does not compile); ``C`` needs contiguous rows.
    """
    if not isinstance(mr, types.IntegerLiteral) or A.layout != "C":  # rows read as contiguous
        return None
    rows = mr.literal_value
    sig = types.void(A, arow, acol, Bp, boff, C, crow, ccol, kc, mr)

    def codegen(context, builder, sig, args):
        a = context.make_array(sig.args[0])(context, builder, args[0])
        b = context.make_array(sig.args[3])(context, builder, args[3])
        c = context.make_array(sig.args[5])(context, builder, args[5])
        arow, acol, boff, crow, ccol, kc = args[1], args[2], args[4], args[6], args[7], args[8]
        dtype = sig.args[0].dtype
        fty = context.get_value_type(dtype)
        lanes = VECTOR_BITS // (8 * context.get_abi_sizeof(fty))
        vty = ir.VectorType(fty, lanes)
        vptr = vty.as_pointer()
        itemsize = ir.Constant(_I64, context.get_abi_sizeof(fty))
        ldc = builder.sdiv(builder.extract_value(c.strides, 0), itemsize)
        lda = builder.sdiv(builder.extract_value(a.strides, 0), itemsize)
        pa = [  # the start of each of the tile's rows of A
            builder.gep(a.data, [builder.add(builder.mul(builder.add(arow, r_), lda), acol)])
            for r_ in (ir.Constant(_I64, r) for r in range(rows))
        ]
        pb0 = builder.gep(b.data, [boff])
        pc0 = builder.gep(c.data, [builder.add(builder.mul(crow, ldc), ccol)])
        zero = ir.Constant(vty, None)
        acc = [[cgutils.alloca_once_value(builder, zero) for _ in range(NV)] for _ in range(rows)]
        suffix = "f32" if dtype == types.float32 else "f64"
        fma = cgutils.get_or_insert_function(
            builder.module, ir.FunctionType(vty, [vty] * 3), f"llvm.fma.v{lanes}{suffix}"
        )
        splat = ir.Constant(ir.VectorType(_I32, lanes), None)  # all lanes take lane 0
        with cgutils.for_range(builder, kc) as loop:
            p = loop.index
            pb = builder.gep(pb0, [builder.mul(p, ir.Constant(_I64, NV * lanes))])
            bv = [
                builder.load(
                    builder.bitcast(builder.gep(pb, [ir.Constant(_I64, v * lanes)]), vptr),
                    align=context.get_abi_sizeof(fty),
                )
                for v in range(NV)
            ]
            for r in range(rows):
                s = builder.load(builder.gep(pa[r], [p]))
                s = builder.insert_element(zero, s, ir.Constant(_I32, 0))
                s = builder.shuffle_vector(s, s, splat)
                for v in range(NV):
                    total = builder.call(fma, [s, bv[v], builder.load(acc[r][v])])
                    builder.store(total, acc[r][v])
        for r in range(rows):
            pr = builder.gep(pc0, [builder.mul(ir.Constant(_I64, r), ldc)])
            for v in range(NV):
                q = builder.bitcast(builder.gep(pr, [ir.Constant(_I64, v * lanes)]), vptr)
                align = context.get_abi_sizeof(fty)  # C rows need not be vector-aligned
                total = builder.fadd(builder.load(q, align=align), builder.load(acc[r][v]))
                builder.store(total, q, align=align)
        return context.get_dummy_value()

    return sig, codegen


@njit(inline="always", **JIT)
def _tile(A, arow, acol, Bp, boff, C, crow, ccol, kc, rows):
    # the row count must be a compile-time literal for the intrinsic: one branch per count
    if rows == 8:
        _micro(A, arow, acol, Bp, boff, C, crow, ccol, kc, 8)
    elif rows == 7:
        _micro(A, arow, acol, Bp, boff, C, crow, ccol, kc, 7)
    elif rows == 6:
        _micro(A, arow, acol, Bp, boff, C, crow, ccol, kc, 6)
    elif rows == 5:
        _micro(A, arow, acol, Bp, boff, C, crow, ccol, kc, 5)
    elif rows == 4:
        _micro(A, arow, acol, Bp, boff, C, crow, ccol, kc, 4)
    elif rows == 3:
        _micro(A, arow, acol, Bp, boff, C, crow, ccol, kc, 3)
    elif rows == 2:
        _micro(A, arow, acol, Bp, boff, C, crow, ccol, kc, 2)
    else:
        _micro(A, arow, acol, Bp, boff, C, crow, ccol, kc, 1)


@njit(**JIT)
def pack_weights(W, transposed, Bp):
    """Pack the right operand of ``C = A @ op(W)`` into panels: ``Bp (P, K, NR)``.

    ``transposed``: ``op(W) = W^T`` with ``W (N, K)``; else ``op(W) = W`` with ``W (K, N)``.
    Columns past N in the last panel are zeros.
    """
    P, K, NR = Bp.shape
    N = W.shape[0] if transposed else W.shape[1]
    for p in range(P):
        panel = Bp[p]
        n0 = p * NR
        width = min(NR, N - n0)
        if width < NR:
            panel[:] = 0.0
        for k in range(K):
            dst = panel[k]
            if transposed:  # a column of W^T: NR rows of W, each read in order over k
                for j in range(width):
                    dst[j] = W[n0 + j, k]
            else:
                src = W[k]
                for j in range(width):
                    dst[j] = src[n0 + j]


@njit(**JIT)
def packed_gemm(A, pk, beta, C):
    """``C = A @ B + beta C`` with ``B (K, N)`` packed by :func:`packed_panels` (``pk = (Bp,
    scratch)``; ``beta`` 0 or 1).

    A: (M, K), rows contiguous. C: (M, N), rows contiguous.
    """
    Bp, scratch = pk
    M, K = A.shape
    N = C.shape[1]
    NR = Bp.shape[2]
    if beta == 0.0:
        for i in range(M):
            C[i, :] = 0.0
    full = N // NR
    for k0 in range(0, K, KC):
        kn = min(KC, K - k0)
        for p in range(Bp.shape[0]):
            boff = (p * K + k0) * NR
            for i0 in range(0, M, MR):
                rows = min(MR, M - i0)
                if p < full:
                    _tile(A, i0, k0, Bp, boff, C, i0, p * NR, kn, rows)
                else:  # a partial panel: the tile goes through scratch
                    scratch[:] = 0.0
                    _tile(A, i0, k0, Bp, boff, scratch, 0, 0, kn, rows)
                    for r in range(rows):
                        for j in range(N - p * NR):
                            C[i0 + r, p * NR + j] += scratch[r, j]


def packed_panels(W: np.ndarray, transposed: bool, dtype: np.dtype):
    """The packed products' operand ``op(W)`` (see :func:`pack_weights`) and work space:
    ``(Bp, scratch)``, with ``Bp`` packed."""
    dtype = np.dtype(dtype)
    NR = panel_width(dtype)
    N, K = W.shape if transposed else W.shape[::-1]
    Bp = SCRATCH.get("panels", (-(-N // NR), K, NR), dtype)  # packed anew on every call
    pack_weights(np.ascontiguousarray(W, dtype=dtype), transposed, Bp)
    return Bp, tile_scratch(Bp)


def tile_scratch(Bp: np.ndarray, tag: str = "tile") -> np.ndarray:
    """A product's own ``(MR, NR)`` tile for the last, partial panel of ``Bp``, on cache lines
    of its own (the two threads of a split kernel write theirs at every step;
    ``kernels/_split.py``). A per-thread array of the calling kernel
    (:class:`~rnnlab.kernels._buffers.Scratch`; ``tag`` tells two of one call apart), which
    :func:`packed_gemm` zeroes itself."""
    return SCRATCH.get(tag, (MR, Bp.shape[2]), Bp.dtype)


def no_panels(dtype: np.dtype):
    """Empty panels: the kernels then call BLAS (:func:`step_product` reads only their count)."""
    dtype = np.dtype(dtype)
    return np.empty((0, 0, panel_width(dtype)), dtype), np.empty((0, 0), dtype)


def packed_buffers(W: np.ndarray, transposed: bool, rows: int, dtype: np.dtype):
    """:func:`packed_panels` where :func:`use_packed` says yes, else :func:`no_panels`."""
    if use_packed(rows, dtype):
        return packed_panels(W, transposed, dtype)
    return no_panels(dtype)


@njit(inline="always", **JIT)
def step_product(cblas, A, W, tw, beta, C, pk):
    """``C = A @ op(W) + beta C``, one time step's recurrent product: on the packed panels
    ``pk`` from :func:`packed_buffers` where it holds any (``W`` is then not read), else by BLAS
    (``tw``: ``op(W) = W^T``)."""
    if pk[0].shape[0] > 0:
        packed_gemm(A, pk, beta, C)
    else:
        gemm(cblas, False, tw, A, W, beta, C)


def forward_recurrent(W_hh: np.ndarray, dtype: np.dtype, wt: bool, batch: int):
    """A forward kernel's ``W_hh`` and panels ``pk`` for its per-step products ``h W_hh^T``.

    Packed straight from ``W_hh`` where :func:`use_packed` (no transposed copy is made), else
    ``W_hh`` as :func:`~rnnlab.kernels._common.forward_weight` gives it, with :func:`no_panels`.
    """
    if use_packed(batch, dtype):
        W = np.ascontiguousarray(W_hh, dtype=dtype)
        return W, packed_panels(W, True, dtype)
    return forward_weight(W_hh, dtype, wt), no_panels(dtype)
