"""Two threads inside one compiled call, in step: release/acquire counters and a spin wait.

Why: a small recurrent step (B=8, H=64: about 4 µs) is too short for any handover through the
operating system (a Python thread's wake-up measured 60 µs here), but a counter that one core
writes and the other reads moves between them in about 0.1 µs. Each of the two threads of a
split kernel (``kernels/_split.py``) counts the phases it has finished in its own slot of a
``flags`` array; a thread that needs the other's results of phase ``v`` waits until the other's
count reaches ``v``. The stores are releases and the loads acquires (LLVM atomics), so what a
thread wrote before it counted is visible to the thread that saw the count.

A wait gives up after about ``SPIN_LIMIT`` polls (minutes), raises the error slot and returns
False: a partner that never comes (a thread team of one) ends in an error, not a hang.
"""

from __future__ import annotations

import llvmlite.binding as llvm
from llvmlite import ir
from numba import njit, types
from numba.core import cgutils
from numba.extending import intrinsic

from ._common import JIT

STRIDE = 16  # int64 slots between two threads' counters: 128 bytes, no shared cache line
ERROR = 2 * STRIDE  # the error slot
SPIN_LIMIT = 1 << 30

_X86 = llvm.get_process_triple().startswith(("x86_64", "i686", "i386"))


def _int64_slot(context, builder, arr_type, arr, idx):
    a = context.make_array(arr_type)(context, builder, arr)
    return builder.gep(a.data, [idx])


@intrinsic
def load_acquire(typingctx, arr, idx):
    """``arr[idx]`` of an int64 array as an atomic load with acquire ordering."""
    if not (isinstance(arr, types.Array) and arr.dtype == types.int64):
        return None
    sig = types.int64(arr, types.intp)

    def codegen(context, builder, sig, args):
        ptr = _int64_slot(context, builder, sig.args[0], args[0], args[1])
        return builder.load_atomic(ptr, "acquire", 8)

    return sig, codegen


@intrinsic
def store_release(typingctx, arr, idx, value):
    """``arr[idx] = value`` on an int64 array as an atomic store with release ordering."""
    if not (isinstance(arr, types.Array) and arr.dtype == types.int64):
        return None
    sig = types.void(arr, types.intp, types.int64)

    def codegen(context, builder, sig, args):
        ptr = _int64_slot(context, builder, sig.args[0], args[0], args[1])
        builder.store_atomic(args[2], ptr, "release", 8)
        return context.get_dummy_value()

    return sig, codegen


@intrinsic
def spin_pause(typingctx):
    """The CPU's spin-wait hint (x86 ``pause``: the polling core yields its pipeline)."""
    sig = types.void()

    def codegen(context, builder, sig, args):
        if _X86:
            fn = cgutils.get_or_insert_function(
                builder.module, ir.FunctionType(ir.VoidType(), []), "llvm.x86.sse2.pause"
            )
            builder.call(fn, [])
        return context.get_dummy_value()

    return sig, codegen


@njit(inline="always", **JIT)
def arrive(flags, me, phase):
    """This thread has finished ``phase`` (its writes before this call are published)."""
    store_release(flags, me * STRIDE, phase)


@njit(inline="always", **JIT)
def wait_for(flags, other, phase):
    """Wait until thread ``other`` has finished ``phase``; False on an error (ours or its)."""
    spins = 0
    while load_acquire(flags, other * STRIDE) < phase:
        if load_acquire(flags, ERROR) != 0:
            return False
        spins += 1
        if spins > SPIN_LIMIT:
            store_release(flags, ERROR, 1)
            return False
        spin_pause()
    return True


@njit(inline="always", **JIT)
def step_together(flags, me, phase):
    """:func:`arrive` at ``phase``, then wait for the other thread to have finished it too."""
    arrive(flags, me, phase)
    return wait_for(flags, 1 - me, phase)
