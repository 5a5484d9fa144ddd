"""Fast whole-sequence kernels.

A kernel pair has exactly the signatures of :func:`rnnlab.cells.reference_forward` and
:func:`rnnlab.cells.reference_backward` and must return the same values and the same cache.
Kernels register per cell family; a layer with ``backend="fast"`` uses the registered pair when
it supports the cell's options and falls back to the reference loop otherwise. The built-in
pairs (Numba) are imported and registered on the first :func:`lookup`.

The large arrays of the kernels (caches, dx, work buffers) come from :data:`POOL`, which hands a
buffer out again once nothing outside the pool holds it: ``POOL.clear()`` lets go of the idle
ones, ``POOL.idle_limit`` bounds them (bytes; 0 turns reuse off).
"""

from __future__ import annotations

import threading
from collections.abc import Callable

from ..cells.base import Cell
from ._buffers import POOL, BufferPool

__all__ = ["POOL", "BufferPool", "lookup", "register"]

ForwardFn = Callable[..., tuple]
BackwardFn = Callable[..., tuple]
Supports = Callable[[Cell], bool]


class _Registry(dict):
    """family -> (forward, backward, supports); a missing family loads the built-in kernels."""

    def __missing__(self, family: str) -> tuple[ForwardFn, BackwardFn, Supports]:
        _register_builtin()
        if family in self:
            return dict.__getitem__(self, family)
        raise KeyError(family)


_KERNELS: dict[str, tuple[ForwardFn, BackwardFn, Supports]] = _Registry()
# The built-in kernels are compiled Numba code: importing them costs about a second, so they
# are loaded on the first lookup, not when rnnlab (or a layer) is imported.
_BUILTIN_LOADED = False
_BUILTIN_LOCK = threading.Lock()


def register(family: str, forward: ForwardFn, backward: BackwardFn, supports: Supports) -> None:
    """Register the fast pair for a cell family (``"rnn"``, ``"lstm"``, ``"gru"``).

    A pair registered here wins over the built-in one of that family, before or after the
    built-in kernels are loaded.
    """
    _KERNELS[family] = (forward, backward, supports)


def lookup(cell: Cell) -> tuple[ForwardFn, BackwardFn] | None:
    """The fast (forward, backward) for this cell, or ``None`` if none supports it."""
    if not _BUILTIN_LOADED:
        _register_builtin()
    entry = _KERNELS.get(cell.family)
    if entry is None or not entry[2](cell):
        return None
    return entry[0], entry[1]


def _register_builtin() -> None:
    global _BUILTIN_LOADED
    with _BUILTIN_LOCK:
        if _BUILTIN_LOADED:
            return
        # Where NumPy has no CBLAS to call (see _blas), np.dot inside the kernels calls the
        # BLAS that SciPy bundles (through Numba). Load it with the kernels, before their first
        # call, so that a thread limit entered before that call (threadpoolctl only sees loaded
        # libraries) covers it too.
        import scipy.linalg.cython_blas  # noqa: F401

        from . import gru, lstm, rnn

        for module in (rnn, lstm, gru):
            family = module.__name__.rsplit(".", 1)[1]
            # setdefault: a pair the user registered before this first lookup stays
            _KERNELS.setdefault(family, (module.forward, module.backward, module.supports))
        _BUILTIN_LOADED = True
