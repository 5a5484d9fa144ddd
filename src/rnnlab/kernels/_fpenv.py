"""Subnormal numbers flushed to zero inside one compiled call (x86-64's MXCSR: FTZ and DAZ).

Why: numbers below the normal range (1.2e-38 in float32) take a microcode assist of about a
hundred cycles per operation on x86. They are what vanishing gradients become: a float32 LSTM
(B=32, H=128) with its loss at the last of 1,000 steps spent 1.23 s in BPTT where it now spends
0.155 s, as ``dL/dh_t`` decayed through the subnormals; Adam's moments of weights whose gradient
has stopped decay into them too (Adam's pass over a min-char-rnn model: 308 µs instead of 24;
``benchmarks/NOTES.md``). Such values cannot change a result that is not itself below 1e-38:
GPUs flush them by default; ``torch.set_flush_denormal(True)`` does what these functions do,
for a whole process.

Here the flags are set at the start of one compiled call and the caller's control word is put
back at its end, so nothing outside the call (NumPy, the user's code, other threads: the
register is per thread) sees a change. Normal numbers give the same bits either way. The
recurrent kernels flush in float32 only (:func:`flush_float32`): float64 runs, the papers'
tables among them, keep IEEE subnormals and every bit. A BLAS call inside such a kernel runs on
the calling thread with one BLAS thread (the trainer's setting); with more, OpenBLAS's own
threads keep their subnormals. On other machines the functions do nothing (IEEE subnormals, and
their cost).
"""

from __future__ import annotations

import platform

from llvmlite import ir
from numba import types
from numba.core import cgutils
from numba.extending import intrinsic

X86 = platform.machine().lower() in ("x86_64", "amd64")
_FTZ_DAZ = (1 << 15) | (1 << 6)  # MXCSR: flush results to zero, treat inputs as zero
_I32 = ir.IntType(32)
_PTR = ir.IntType(8).as_pointer()


def _mxcsr(builder: ir.IRBuilder, name: str, slot: ir.Value) -> None:
    fn = cgutils.get_or_insert_function(
        builder.module, ir.FunctionType(ir.VoidType(), [_PTR]), name
    )
    builder.call(fn, [builder.bitcast(slot, _PTR)])


def _read_and_flush(builder: ir.IRBuilder, flush: bool) -> ir.Value:
    """The control word before; FTZ and DAZ set after it where ``flush``."""
    if not X86:
        return ir.Constant(_I32, 0)
    slot = cgutils.alloca_once(builder, _I32)
    _mxcsr(builder, "llvm.x86.sse.stmxcsr", slot)
    old = builder.load(slot)
    if flush:
        builder.store(builder.or_(old, ir.Constant(_I32, _FTZ_DAZ)), slot)
        _mxcsr(builder, "llvm.x86.sse.ldmxcsr", slot)
    return old


@intrinsic
def flush_subnormals(typingctx):
    """Set FTZ and DAZ; return the previous control word (0 where there is none)."""

    def codegen(context, builder, signature, args):
        return _read_and_flush(builder, True)

    return types.uint32(), codegen


@intrinsic
def flush_float32(typingctx, a):
    """:func:`flush_subnormals` where ``a`` is a float32 array; for any other array the control
    word is only read (and returned for :func:`restore_fpenv`)."""
    if not isinstance(a, types.Array):
        return None
    flush = a.dtype == types.float32

    def codegen(context, builder, signature, args):
        return _read_and_flush(builder, flush)

    return types.uint32(a), codegen


@intrinsic
def restore_fpenv(typingctx, old):
    """Put back the control word :func:`flush_subnormals` or :func:`flush_float32` returned."""
    if old != types.uint32:
        return None

    def codegen(context, builder, signature, args):
        if X86:
            slot = cgutils.alloca_once(builder, _I32)
            builder.store(args[0], slot)
            _mxcsr(builder, "llvm.x86.sse.ldmxcsr", slot)
        return context.get_dummy_value()

    return types.void(types.uint32), codegen
