"""The adding/multiplication sequences drawn in compiled code: the same draws, in the same
order, from the same ``numpy.random.Generator`` as the reference loop in ``adding.py``.

Why: the loop costs about 15 us per sequence in Python (four generator calls, an array, the
padding), 5 % of ``rnnlab train --task adding``'s wall time, and it holds the GIL, so an
evaluation drawing 2,560 test sequences on a second thread stalled the training thread. The
draws repeat NumPy's algorithms on the generator's C interface (:mod:`._bitgen`), so the
sequences and the generator's final state are the same bits (``tests/test_tasks.py`` holds the
two paths to each other). A batch is one compiled call that gets the generator as an address:
inside a training loop, the NumPy glue around a draw and Numba's unboxing of a ``Generator``
cost more than the draw (a batch of 8: 110 us, then 75 us, now see ``benchmarks/NOTES.md``).
"""

from __future__ import annotations

import numba
import numpy as np

from ._bitgen import integers, uniform


@numba.njit(cache=True, nogil=True)
def draw_marked(bitgen, batch, length, low, high, first):  # pragma: no cover - compiled
    """The whole batch in one compiled call, drawn from the generator at the address ``bitgen``
    (:func:`._bitgen.bitgen_address`) in the reference loop's order: the lengths, uniform in
    ``[length, length + length // 10]``, then per sequence its values, X1's pair and X2's.
    Returns ``x (T_max, B, 2)``, ``mask (T_max, B)``, ``p1, p2 (B,)``, the marked values
    ``x1, x2 (B,)`` and each sequence's last step ``(B,)``; a sequence whose first pair is
    marked gets ``first`` there. ``m = length // 2 - 1``: X2 is one of the pairs ``0 .. m-1``
    other than X1's."""
    lengths = np.empty(batch, dtype=np.int64)
    for b in range(batch):
        lengths[b] = integers(bitgen, length, length + length // 10 + 1)
    m = length // 2 - 1
    x = np.zeros((lengths.max(), batch, 2))
    mask = np.zeros((x.shape[0], batch))
    p1 = np.empty(batch, dtype=np.int64)
    p2 = np.empty(batch, dtype=np.int64)
    x1, x2 = np.empty(batch), np.empty(batch)
    for b in range(batch):
        n = lengths[b]
        for t in range(n):
            x[t, b, 0] = uniform(bitgen, low, high)
            mask[t, b] = 1.0
        x[0, b, 1] = -1.0
        x[n - 1, b, 1] = -1.0
        q1 = integers(bitgen, 0, 10)
        if q1 < m:  # the k-th free pair, k uniform (see adding.py)
            k = integers(bitgen, 0, m - 1)
            q2 = k + (1 if k >= q1 else 0)
        else:
            q2 = integers(bitgen, 0, m)
        x[q1, b, 1] = 1.0
        x[q2, b, 1] = 1.0
        p1[b], p2[b] = q1, q2
        if q1 == 0 or q2 == 0:
            x[0, b, 0] = first
        x1[b], x2[b] = x[q1, b, 0], x[q2, b, 0]
    return x, mask, p1, p2, x1, x2, lengths - 1
