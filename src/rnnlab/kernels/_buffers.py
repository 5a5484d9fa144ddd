"""Reuse of the kernels' large arrays (caches, dx, work buffers) from one call to the next.

Why: one training step of a large layer asks for hundreds of MB (LSTM, B=128, H=512, T=100 in
float64: h, c, gates and dx, about 370 MB). Fresh memory from the OS costs page faults and the
zeroing (and compaction) of huge pages on first touch, inside the GEMMs that write it: measured
at 8 % (float32) and 14 % (float64) of such a step (benchmarks/NOTES.md). Handing the previous
step's arrays out again removes that cost.

Safety rule: a buffer is handed out again only while the pool holds the *only* reference to it.
Any array the caller keeps (the layer output ``y`` is a view of ``h``; a cache dict holds
``gates``) keeps its buffer out of reuse, so nothing a caller can still read is overwritten.
"""

from __future__ import annotations

import math
import sys
import threading

import numpy as np

# Below this size NumPy's allocator (malloc's heap) is cheap: pooling would only hold memory.
# Not much higher: in the bidirectional tagger's step (B=32, H=128, T=50, float32) glibc handed
# the 0.8 MB caches out as fresh pages every step (830-1,990 page faults, 2-4 ms of 54-58)
# while the floor was 1 MB (benchmarks/NOTES.md).
MIN_BYTES = 1 << 18
# Arrays start on a cache line: where two threads write neighbouring halves of a row (a split
# kernel, kernels/_split.py), no line holds both halves (false sharing cost several-fold).
ALIGN = 64
# A pooled buffer serves requests of at least half its size (variable sequence lengths reuse
# the buffers of longer ones; a small request does not pin a huge buffer).
MAX_WASTE = 2


class BufferPool:
    """Hands out C-contiguous arrays, recycling buffers that nothing outside the pool holds.

    ``idle_limit``: the most bytes of idle buffers (held by the pool alone) kept for reuse;
    the least recently handed out go first. 0 turns reuse off.
    """

    def __init__(self, idle_limit: int = 1 << 30):
        if isinstance(idle_limit, bool) or not isinstance(idle_limit, int):
            raise TypeError(f"idle_limit: expected an int (bytes), got {idle_limit!r}")
        if idle_limit < 0:
            raise ValueError(f"idle_limit: expected a number of bytes >= 0, got {idle_limit}")
        self.idle_limit = idle_limit
        self._bufs: list[np.ndarray] = []  # flat uint8 buffers, least recently used first
        self._lock = threading.Lock()

    def _idle(self, k: int) -> bool:
        # a view or any other holder anywhere adds a reference to the ones counted here
        return _refs(self._bufs, k) == _IDLE_REFS

    def _idle_indices(self) -> list[int]:
        return [k for k in range(len(self._bufs)) if self._idle(k)]

    @property
    def idle_bytes(self) -> int:
        """Bytes of the buffers that only the pool holds."""
        with self._lock:
            return sum(self._bufs[k].nbytes for k in self._idle_indices())

    def empty(self, shape: tuple[int, ...], dtype: np.dtype) -> np.ndarray:
        """An uninitialised array like ``np.empty(shape, dtype)``, from an idle buffer if any;
        its data starts on a cache line (:data:`ALIGN`)."""
        dt = np.dtype(dtype)
        nbytes = math.prod(shape) * dt.itemsize
        if nbytes < MIN_BYTES:
            return _aligned(np.empty(nbytes + ALIGN, dtype=np.uint8), nbytes, dt, shape)
        with self._lock:
            # idle bytes never exceed all the bytes held: the scan of who holds what (a
            # reference count per buffer, on every request) only when the limit could be passed
            if sum(b.nbytes for b in self._bufs) > self.idle_limit:
                self._evict()
            for k in range(len(self._bufs) - 1, -1, -1):  # the most recently used first
                size = self._bufs[k].nbytes
                if nbytes + ALIGN <= size < MAX_WASTE * nbytes + ALIGN and self._idle(k):
                    buf = self._bufs.pop(k)
                    break
            else:
                buf = np.empty(nbytes + ALIGN, dtype=np.uint8)
            self._bufs.append(buf)  # most recently used last
            return _aligned(buf, nbytes, dt, shape)

    def _evict(self) -> None:
        idle = self._idle_indices()
        excess = sum(self._bufs[k].nbytes for k in idle) - self.idle_limit
        drop = set()
        for k in idle:  # oldest first
            if excess <= 0:
                break
            drop.add(k)
            excess -= self._bufs[k].nbytes
        self._bufs = [b for k, b in enumerate(self._bufs) if k not in drop]

    def clear(self) -> None:
        """Let go of every buffer (those still in use stay valid for their holders)."""
        with self._lock:
            self._bufs = []


def _aligned(buf: np.ndarray, nbytes: int, dt: np.dtype, shape: tuple[int, ...]) -> np.ndarray:
    """The ``nbytes`` of ``buf`` (``nbytes + ALIGN`` long) that start on an ``ALIGN`` boundary,
    as an array of ``shape``."""
    skip = -buf.ctypes.data % ALIGN
    return buf[skip : skip + nbytes].view(dt).reshape(shape)


def _refs(items: list, k: int) -> int:
    return sys.getrefcount(items[k])


# References an array held by one list alone shows to _refs: the list's, plus what the call
# adds (measured, not assumed: interpreters differ in the temporaries they count)
_IDLE_REFS = _refs([np.empty(0)], 0)

# The pool of the built-in kernels.
POOL = BufferPool()


class Scratch(threading.local):
    """Work arrays that live only inside one kernel call, kept per thread for the next call.

    Why: a training step of a small layer is short (B=8, H=64, T=100: about 1.4 ms), and making
    its work arrays anew (packed weight panels, the packed rows of each thread, the backward
    pass's chunk buffers) cost about a tenth of it in allocation and zeroing. Here each is made
    once per thread and shape, zeroed then, and handed out again.

    Rule for callers: an array from :meth:`get` must not outlive the call that asked for it
    (never returned, never in a cache), and one call asks for each ``tag`` once (two arrays of
    one call need two tags). Each thread has its own arrays, so a second thread's kernels (an
    evaluation in the background) never touch them. The least recently used go first beyond
    :attr:`max_entries`.
    """

    max_entries = 32

    def __init__(self) -> None:
        self._arrays: dict[tuple, np.ndarray] = {}

    def get(self, tag: str, shape: tuple[int, ...], dtype: np.dtype) -> np.ndarray:
        """A C-contiguous array of ``shape`` on a cache line: zeros when first made, later
        whatever the previous call with this tag left in it."""
        dt = np.dtype(dtype)
        key = (tag, shape, dt)
        a = self._arrays.pop(key, None)
        if a is None:
            nbytes = math.prod(shape) * dt.itemsize
            a = _aligned(np.zeros(nbytes + ALIGN, dtype=np.uint8), nbytes, dt, shape)
            if len(self._arrays) >= self.max_entries:
                del self._arrays[next(iter(self._arrays))]  # the least recently used
        self._arrays[key] = a  # most recently used last
        return a

    def clear(self) -> None:
        """Let go of this thread's arrays."""
        self._arrays = {}


# The kernels' per-thread work arrays.
SCRATCH = Scratch()
