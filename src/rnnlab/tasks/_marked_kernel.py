"""The adding/multiplication sequences drawn in compiled code: the same draws, in the same
order, from the same ``numpy.random.Generator`` as the reference loop in ``adding.py``.

Why: the loop costs about 15 us per sequence in Python (four generator calls, an array, the
padding), 5 % of ``rnnlab train --task adding``'s wall time, and it holds the GIL, so an
evaluation drawing 2,560 test sequences on a second thread stalled the training thread. Numba
draws from a NumPy ``Generator`` with NumPy's own algorithms (``uniform``, the bounded
``integers``), so the sequences and the generator's final state are the same bits
(``tests/test_tasks.py`` holds the two paths to each other).
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


def marked_arrays(
    lengths: np.ndarray, m: int, rng: np.random.Generator, low: float, high: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """``x (T_max, B, 2)``, ``mask (T_max, B)``, ``p1, p2 (B,)`` drawn by :func:`fill_marked`."""
    B = lengths.size
    x = np.zeros((int(lengths.max()), B, 2))
    mask = np.zeros((x.shape[0], B))
    p1 = np.empty(B, dtype=np.int64)
    p2 = np.empty(B, dtype=np.int64)
    fill_marked(rng, lengths.astype(np.int64), m, float(low), float(high), x, mask, p1, p2)
    return x, mask, p1, p2
