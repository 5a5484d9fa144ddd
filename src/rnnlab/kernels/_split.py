"""When the LSTM's kernels run on two threads, each with half of the batch.

Why: at the trainer's small batches (adding: B=8, H=64) one step is a few microseconds of
arithmetic, and the products already run near the core's peak (``kernels/_packed.py``). The
second core can only help inside the step. Halves of the batch need no meeting in the forward
pass and two per chunk of steps in the backward pass (``kernels/lstm_loops.py``); halves of
the hidden units, measured first, had to meet at every step and were slower
(``benchmarks/NOTES.md``). The threads are Numba's (OpenMP or TBB: a parallel region starts in
2-3 µs; Numba's own work queue took 90 µs); the meetings are counters in shared memory
(``kernels/_sync.py``, about 0.14 µs).

A fixed rule, never a timing (:func:`split_point`): the packed route's conditions (float32, one
BLAS thread, at most ``_packed.MAX_ROWS`` rows), at least two sequences per thread, rows of
whole cache lines (H a multiple of 16), two or more threads in Numba's team for the calling
thread (``train(threads=...)``, :func:`step_threads`) and two usable cores, an OpenMP or TBB
thread layer, the second core not lent out (:func:`lend_second_core`: the trainer's background
evaluation runs there), and not a child process forked after the threads started (GNU OpenMP
ends such a child at its first parallel region). The split gives the same bits as one thread
(``tests/test_split.py``), so the rule decides speed only, never a result.
"""

from __future__ import annotations

import contextlib
import math
import os
import threading
import time
from collections.abc import Iterator

import numba
import numpy as np
from numba import njit, prange

from .._cores import usable_cores
from ._packed import use_packed

# float32 values per cache line: rows of H values are whole lines (the pool's arrays start on a
# line), so the two threads never write to one line
LINE = 16

_lent = 0  # lend_second_core() calls not yet returned
_lent_lock = threading.Lock()
_layer: str | None = None  # Numba's thread layer, once known
_owner = 0  # the process that started Numba's threads (a forked child must not use them)
_failed = False  # split calls found their threads not side by side: one thread from then on
_failures = 0
MAX_FAILURES = 3  # a thread woken late is not a team of one; three such calls are
CORES_TTL = 1.0  # seconds a look at the usable cores stays valid
_cores_seen = (-math.inf, 0)  # (time.monotonic() of the last look, usable cores then)


@njit(parallel=True, cache=True)
def _probe(out):  # pragma: no cover - compiled
    for i in prange(out.size):
        out[i] = i


def thread_layer() -> str:
    """Numba's thread layer for parallel regions (``omp``, ``tbb`` or ``workqueue``); the first
    call runs a tiny parallel region to find out."""
    global _layer, _owner
    if _layer is None:
        _probe(np.zeros(2, np.int64))
        _layer, _owner = numba.threading_layer(), os.getpid()
    return _layer


def lend_second_core() -> None:
    """Until a matching :func:`return_second_core`, kernels do not split: another thread of this
    process is about to use the second core (a split step would wait for a core that is busy).
    Called by the thread that starts the other one, before it starts it."""
    global _lent
    with _lent_lock:
        _lent += 1


def return_second_core() -> None:
    """The end of a :func:`lend_second_core` (from any thread)."""
    global _lent
    with _lent_lock:
        _lent -= 1


@contextlib.contextmanager
def step_threads(threads: int | None) -> Iterator[None]:
    """The kernels called from this thread in the block use at most ``threads`` threads (1: no
    split); None leaves Numba's setting (all the cores of the machine, or NUMBA_NUM_THREADS)."""
    if threads is None:
        yield
        return
    old = numba.get_num_threads()
    numba.set_num_threads(max(1, min(int(threads), numba.config.NUMBA_NUM_THREADS)))
    try:
        yield
    finally:
        numba.set_num_threads(old)


def _usable_cores() -> int:
    """:func:`usable_cores`, asked again at most every ``CORES_TTL`` seconds: the system call
    behind it, twice per training step, cost more than the rest of the rule."""
    global _cores_seen
    now = time.monotonic()
    if now - _cores_seen[0] > CORES_TTL:
        _cores_seen = (now, usable_cores())
    return _cores_seen[1]


def split_point(batch: int, hidden: int, dtype: np.dtype) -> int:
    """The first sequence of the second thread's half of the batch, or 0 where the kernel runs
    on one thread."""
    if batch < 4 or hidden % LINE or _failed or _lent or not use_packed(batch, dtype):
        return 0
    if numba.get_num_threads() < 2 or _usable_cores() < 2:
        return 0
    if _layer is not None and _owner != os.getpid():
        # a child forked after this process started GNU OpenMP's threads: a parallel region
        # there ends the process ("fork() called from a process already using GNU OpenMP")
        return 0
    if thread_layer() not in ("omp", "tbb"):  # Numba's work queue: 90 µs to start a region
        return 0
    return batch // 2


def second_core_free() -> bool:
    """Whether work called from this thread may take a second core now: no other thread of
    this process has it (:func:`lend_second_core`), this thread's thread limit
    (:func:`step_threads`) allows two, and the process may use two cores."""
    return not _lent and numba.get_num_threads() >= 2 and _usable_cores() >= 2


def split_failed() -> None:
    """A split call's two threads did not run side by side (its results are discarded); after
    ``MAX_FAILURES`` such calls the kernels of this process run on one thread."""
    global _failed, _failures
    _failures += 1
    _failed = _failures >= MAX_FAILURES
