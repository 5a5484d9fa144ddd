"""Subnormal numbers flushed to zero inside one compiled call (x86-64's MXCSR: FTZ and DAZ).

Why: Adam's moments of a weight whose gradient has stopped (the output row of a character the
batches no longer hold) decay by ``beta1`` and ``beta2`` every step until they are subnormal
(below 1.2e-38 in float32), and tiny gradients square into subnormals. Arithmetic on
subnormals takes a microcode assist of about a hundred cycles on x86: with 14 % of the moments
subnormal, Adam's one pass over a min-char-rnn-sized model took 308 µs instead of 24
(``benchmarks/NOTES.md``). Such values cannot move a weight: the update is ``step * m /
(sqrt(v) / sqrt(bc2) + eps)``, and a subnormal ``m`` changes it by less than ``1e-30 * step``,
a subnormal ``v`` not at all next to ``eps``. GPUs flush them by default;
``torch.set_flush_denormal(True)`` does what :func:`flush_subnormals` does, for a whole process.

Here the flags are set for the duration of one compiled call and the caller's control word is
restored at its end, so nothing outside the call (NumPy, the user's code, other threads: the
register is per thread) sees a change. Normal numbers give the same bits either way. On other
machines both functions do nothing (the call keeps IEEE subnormals, and their cost).
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


@intrinsic
def flush_subnormals(typingctx):
    """Set FTZ and DAZ; return the previous control word (0 where there is none)."""

    def codegen(context, builder, signature, args):
        if not X86:
            return ir.Constant(_I32, 0)
        slot = cgutils.alloca_once(builder, _I32)
        _mxcsr(builder, "llvm.x86.sse.stmxcsr", slot)
        old = builder.load(slot)
        builder.store(builder.or_(old, ir.Constant(_I32, _FTZ_DAZ)), slot)
        _mxcsr(builder, "llvm.x86.sse.ldmxcsr", slot)
        return old

    return types.uint32(), codegen


@intrinsic
def restore_fpenv(typingctx, old):
    """Put back the control word :func:`flush_subnormals` returned."""
    if old != types.uint32:
        return None

    def codegen(context, builder, signature, args):
        if X86:
            slot = cgutils.alloca_once(builder, _I32)
            builder.store(args[0], slot)
            _mxcsr(builder, "llvm.x86.sse.ldmxcsr", slot)
        return context.get_dummy_value()

    return types.void(types.uint32), codegen
