"""The temporal-order sequences drawn in compiled code: the same draws, in the same order, from
the same ``numpy.random.Generator`` as the reference loop in ``temporal_order.py``.

Why: the loop costs about 21 us per sequence in Python (a generator call per distractor run and
two per relevant symbol, a one-hot array, the padding): 0.17 ms of a batch of 8 sequences, about
a tenth of ``rnnlab train --task temporal_order``'s step, and 55 ms of each 2,560-sequence test
set, drawn on the evaluation thread while holding the GIL the training thread needs. As for the
adding problem (:mod:`._marked_kernel`), the draws repeat NumPy's algorithms on the generator's C
interface (:mod:`._bitgen`), so the sequences and the generator's final state are the same bits
(``tests/test_tasks.py`` holds the two paths to each other).
"""

from __future__ import annotations

import numba
import numpy as np

from ._bitgen import integers


@numba.njit(cache=True, nogil=True)
def draw_order(bitgen, batch, length, lo, hi, symbols, B, E, X):  # pragma: no cover - compiled
    """The whole batch in one compiled call, drawn from the generator at the address ``bitgen``
    (:func:`._bitgen.bitgen_address`) in the reference loop's order: the lengths, uniform in
    ``[length, length + length // 10]``, then per sequence its distractors (``0..3``), then per
    relevant symbol its position (1-based, uniform in ``[lo[j], hi[j]]``) and its bit (0 = X,
    1 = Y). ``symbols`` is the alphabet's size, ``B``, ``E``, ``X`` the indices of the start,
    end and first relevant symbol. Returns ``x (T_max, B, symbols)`` one-hot, ``mask (T_max,
    B)``, the classes ``(B,)``, the relevant positions ``(B, len(lo))`` (0-based) and each
    sequence's last step ``(B,)``."""
    lengths = np.empty(batch, dtype=np.int64)
    for b in range(batch):
        lengths[b] = integers(bitgen, length, length + length // 10 + 1)
    T = lengths.max()
    x = np.zeros((T, batch, symbols))
    mask = np.zeros((T, batch))
    classes = np.zeros(batch, dtype=np.int64)
    positions = np.zeros((batch, lo.size), dtype=np.int64)
    idx = np.empty(T, dtype=np.int64)
    for b in range(batch):
        n = lengths[b]
        for t in range(n):
            idx[t] = integers(bitgen, 0, 4)  # distractors a..d
        idx[0], idx[n - 1] = B, E
        for j in range(lo.size):
            p = integers(bitgen, lo[j], hi[j] + 1) - 1  # the paper's 1-based position
            bit = integers(bitgen, 0, 2)
            positions[b, j] = p
            idx[p] = X + bit
            classes[b] = classes[b] * 2 + bit
        for t in range(n):
            x[t, b, idx[t]] = 1.0
            mask[t, b] = 1.0
    return x, mask, classes, positions, lengths - 1
