"""Fast whole-sequence kernels.

A kernel pair has exactly the signatures of :func:`rnnlab.cells.reference_forward` and
:func:`rnnlab.cells.reference_backward` and must return the same values and the same cache.
Kernels register per cell family; a layer with ``backend="fast"`` uses the registered pair when
it supports the cell's options and falls back to the reference loop otherwise.

The large arrays of the kernels (caches, dx, work buffers) come from :data:`POOL`, which hands a
buffer out again once nothing outside the pool holds it: ``POOL.clear()`` lets go of the idle
ones, ``POOL.idle_limit`` bounds them (bytes; 0 turns reuse off).
"""

from __future__ import annotations

from collections.abc import Callable

# Where NumPy has no CBLAS to call (see _blas), np.dot inside the kernels calls the BLAS that
# SciPy bundles (through Numba). Load it now, so that a thread limit set before the first kernel
# call (threadpoolctl only sees loaded libraries) covers it too.
import scipy.linalg.cython_blas  # noqa: F401

from ..cells.base import Cell
from ._buffers import POOL, BufferPool

__all__ = ["POOL", "BufferPool", "lookup", "register"]

ForwardFn = Callable[..., tuple]
BackwardFn = Callable[..., tuple]
Supports = Callable[[Cell], bool]

_KERNELS: dict[str, tuple[ForwardFn, BackwardFn, Supports]] = {}


def register(family: str, forward: ForwardFn, backward: BackwardFn, supports: Supports) -> None:
    """Register the fast pair for a cell family (``"rnn"``, ``"lstm"``, ``"gru"``)."""
    _KERNELS[family] = (forward, backward, supports)


def lookup(cell: Cell) -> tuple[ForwardFn, BackwardFn] | None:
    """The fast (forward, backward) for this cell, or ``None`` if none supports it."""
    entry = _KERNELS.get(cell.family)
    if entry is None or not entry[2](cell):
        return None
    return entry[0], entry[1]


def _register_builtin() -> None:
    # imported here, after register() exists: the kernel modules need only numpy and numba
    from . import gru, lstm, rnn

    for module in (rnn, lstm, gru):
        register(
            module.__name__.rsplit(".", 1)[1], module.forward, module.backward, module.supports
        )


_register_builtin()
