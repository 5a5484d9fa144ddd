"""Two threads inside one compiled call, in step: release/acquire counters and a spin wait.

Why: a small recurrent step (B=8, H=64: about 4 µs) is too short for any handover through the
operating system (a Python thread's wake-up measured 60 µs here), but a counter that one core
writes and the other reads moves between them in about 0.1 µs. Each of the two threads of a
split kernel (``kernels/_split.py``) counts the phases it has finished in its own slot of a
``flags`` array; a thread that needs the other's results of phase ``v`` waits until the other's
count reaches ``v``. The stores are releases and the loads acquires (LLVM atomics), so what a
thread wrote before it counted is visible to the thread that saw the count.

A wait gives up after ``SPIN_LIMIT`` polls (minutes), raises the error slot and returns False;
the first one, for the partner to start at all, after ``START_LIMIT`` (measured: 254 ms). A
partner that never comes (a team that runs the two halves one after the other) ends in an
error that the caller answers by running on one thread, never in a hang.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os

import llvmlite.binding as llvm
from llvmlite import ir
from numba import njit, types
from numba.core import cgutils
from numba.extending import intrinsic

from ._common import JIT

STRIDE = 16  # int64 slots between two threads' counters: 128 bytes, no shared cache line
ERROR = 2 * STRIDE  # the error slot
SPIN_LIMIT = 1 << 30  # polls before a wait gives up: minutes
START_LIMIT = 1 << 20  # polls for the partner to start at all: 254 ms measured, most of it in
# yields (a sleeping worker thread wakes in well under 1 ms; 2**14 polls, no yields, took
# 0.26 ms, and an OpenMP worker woken in the trainer was later than that)

YIELD_AFTER = 1 << 10  # polls (about 16 µs) before a waiting thread also yields its core
_X86 = llvm.get_process_triple().startswith(("x86_64", "i686", "i386"))


def _yield_address() -> int:
    """``sched_yield`` of the C library, else a function that does nothing."""
    if hasattr(os, "sched_yield"):
        try:
            libc = ctypes.CDLL(ctypes.util.find_library("c") or None)
            return ctypes.cast(libc.sched_yield, ctypes.c_void_p).value
        except (OSError, AttributeError):  # pragma: no cover - no C library by that name
            pass
    return ctypes.cast(_no_yield, ctypes.c_void_p).value  # pragma: no cover


@ctypes.CFUNCTYPE(ctypes.c_int)
def _no_yield() -> int:  # pragma: no cover - where the OS has no sched_yield
    return 0


llvm.add_symbol("rnnlab_sched_yield", _yield_address())
# Yield the core to the OS: a woken partner that the scheduler placed on the waiting thread's
# own core (a wake-up next to its waker) would otherwise run only when the spinning thread's
# time slice ends, milliseconds later.
_sched_yield = types.ExternalFunction("rnnlab_sched_yield", types.intc())


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
def wait_for(flags, other, phase, limit=SPIN_LIMIT):
    """Wait until thread ``other`` has finished ``phase``; False on an error (ours or its), or
    after ``limit`` polls (then the error slot is raised, so the other thread stops too)."""
    spins = 0
    while load_acquire(flags, other * STRIDE) < phase:
        if load_acquire(flags, ERROR) != 0:
            return False
        spins += 1
        if spins > limit:
            store_release(flags, ERROR, 1)
            return False
        if spins > YIELD_AFTER:
            _sched_yield()
        else:
            spin_pause()
    return True


@njit(inline="always", **JIT)
def meet(flags, me, phase, limit=SPIN_LIMIT):
    """:func:`arrive` at ``phase``, then wait for the other thread to have finished it too."""
    arrive(flags, me, phase)
    return wait_for(flags, 1 - me, phase, limit)


@njit(inline="always", **JIT)
def start_together(flags, me):
    """Phase 1: both threads are running. A team that runs the two halves one after the other
    (a thread layer that does not promise two threads) fails here after ``START_LIMIT`` polls
    instead of at the first step; the caller then runs on one thread."""
    return meet(flags, me, 1, START_LIMIT)
