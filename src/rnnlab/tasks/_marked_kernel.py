"""The adding/multiplication sequences drawn in compiled code: the same draws, in the same
order, from the same ``numpy.random.Generator`` as the reference loop in ``adding.py``.

Why: the loop costs about 15 us per sequence in Python (four generator calls, an array, the
padding), 5 % of ``rnnlab train --task adding``'s wall time, and it holds the GIL, so an
evaluation drawing 2,560 test sequences on a second thread stalled the training thread. Numba
draws from a NumPy ``Generator`` with NumPy's own algorithms (``uniform``, the bounded
``integers``), so the sequences and the generator's final state are the same bits
(``tests/test_tasks.py`` holds the two paths to each other). A batch is one compiled call:
handing the ``Generator`` to Numba alone costs about 37 us inside a training loop (Numba reads
its ctypes interface on every call).
"""

from __future__ import annotations

import numba
import numpy as np


@numba.njit(cache=True, nogil=True)
def fill_marked(rng, lengths, m, low, high, x, mask, p1, p2):  # pragma: no cover - compiled
    """Fill ``x (T_max, B, 2)`` and ``mask (T_max, B)`` (zeros on entry) and the marked
    positions ``p1, p2 (B,)`` for the sequence ``lengths (B,)``; ``m``: X2 is one of the pairs
    ``0 .. m-1`` other than X1's."""
    for b in range(lengths.size):
        n = lengths[b]
        for t in range(n):
            x[t, b, 0] = rng.uniform(low, high)
            mask[t, b] = 1.0
        x[0, b, 1] = -1.0
        x[n - 1, b, 1] = -1.0
        q1 = rng.integers(0, 10)
        if q1 < m:  # the k-th free pair, k uniform (see adding.py)
            k = rng.integers(0, m - 1)
            q2 = k + (1 if k >= q1 else 0)
        else:
            q2 = rng.integers(0, m)
        x[q1, b, 1] = 1.0
        x[q2, b, 1] = 1.0
        p1[b], p2[b] = q1, q2


@numba.njit(cache=True, nogil=True)
def draw_marked(rng, batch, length, low, high, first):  # pragma: no cover - compiled
    """The whole batch in one compiled call (the Python glue around the draw, the lengths'
    ``integers`` call included, cost about 50 us per batch inside a training loop): the
    lengths, uniform in ``[length, length + length // 10]`` (Numba's ``integers`` with ``size``
    is NumPy's draw, bit for bit), then ``x (T_max, B, 2)``, ``mask (T_max, B)``, ``p1, p2
    (B,)``, the marked values ``x1, x2 (B,)`` and each sequence's last step ``(B,)``. A
    sequence whose first pair is marked gets ``first`` there."""
    lengths = rng.integers(length, length + length // 10 + 1, size=batch)
    x = np.zeros((lengths.max(), batch, 2))
    mask = np.zeros((x.shape[0], batch))
    p1 = np.empty(batch, dtype=np.int64)
    p2 = np.empty(batch, dtype=np.int64)
    fill_marked(rng, lengths, length // 2 - 1, low, high, x, mask, p1, p2)
    x1, x2 = np.empty(batch), np.empty(batch)
    for b in range(batch):
        if p1[b] == 0 or p2[b] == 0:
            x[0, b, 0] = first
        x1[b], x2[b] = x[p1[b], b, 0], x[p2[b], b, 0]
    return x, mask, p1, p2, x1, x2, lengths - 1
