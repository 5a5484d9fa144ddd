"""NumPy ``Generator`` draws in compiled code, through the bit generator's C interface.

Why not hand the ``Generator`` itself to a Numba function: Numba unboxes it on every call with
three ``ctypes.cast`` calls and an import, about 20 us inside a training loop (where caches are
cold after each step), more than drawing a whole batch of the adding problem. Here a compiled
function gets one integer, the address of the generator's ``bitgen_t`` (NumPy's documented C
interface: the state and the ``next_uint32`` / ``next_double`` functions), and the draws below
repeat NumPy's algorithms, so the values and the generator's final state are the same bits as
NumPy's (``tests/test_tasks.py`` holds them to NumPy's own draws).
"""

from __future__ import annotations

import numpy as np
from llvmlite import ir
from numba import njit, types
from numba.core import cgutils
from numba.extending import intrinsic

# bitgen_t = {void *state; next_uint64; next_uint32; next_double; next_raw}: pointer slots
_STATE, _NEXT_UINT32, _NEXT_DOUBLE = 0, 2, 3


def bitgen_address(rng: np.random.Generator) -> int:
    """The address of ``rng``'s ``bitgen_t``; valid while ``rng`` is alive."""
    return rng.bit_generator.ctypes.bit_generator.value


def _next(result: types.Type, slot: int):
    @intrinsic
    def call(typingctx, address):
        """``bitgen->fn(bitgen->state)`` for the function in ``slot`` of the ``bitgen_t``."""
        if not isinstance(address, types.Integer):
            return None

        def codegen(context, builder, sig, args):
            voidp = ir.IntType(8).as_pointer()
            slots = builder.inttoptr(args[0], voidp.as_pointer())  # (void **) bitgen
            state = builder.load(cgutils.gep(builder, slots, _STATE))
            fnty = ir.FunctionType(context.get_value_type(result), [voidp])
            fn = builder.bitcast(builder.load(cgutils.gep(builder, slots, slot)), fnty.as_pointer())
            return builder.call(fn, [state])

        return result(address), codegen

    return call


next_uint32 = _next(types.uint32, _NEXT_UINT32)
next_double = _next(types.float64, _NEXT_DOUBLE)


@njit(inline="always", cache=True, nogil=True)
def uniform(bitgen, low, high):  # pragma: no cover - compiled
    """``Generator.uniform(low, high)``: ``low + (high - low) * next_double``, as NumPy."""
    return low + (high - low) * next_double(bitgen)


@njit(inline="always", cache=True, nogil=True)
def integers(bitgen, low, high):  # pragma: no cover - compiled
    """``Generator.integers(low, high)`` (int64, ``high`` excluded) for ``1 <= high - low <
    2**32``: Lemire's bounded draw on ``next_uint32``, as NumPy draws such a range (one value,
    or each of ``size`` values)."""
    rng = np.uint64(high - low - 1)  # the largest offset
    if rng == 0:
        return low
    excl = rng + np.uint64(1)
    m = np.uint64(next_uint32(bitgen)) * excl
    leftover = m & np.uint64(0xFFFFFFFF)
    if leftover < excl:
        threshold = (np.uint64(0xFFFFFFFF) - rng) % excl
        while leftover < threshold:
            m = np.uint64(next_uint32(bitgen)) * excl
            leftover = m & np.uint64(0xFFFFFFFF)
    return low + np.int64(m >> np.uint64(32))
