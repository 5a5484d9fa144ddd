"""Embedded Reber strings drawn in compiled code: the same draws, in the same order, from the
same ``numpy.random.Generator`` as the reference loop in ``reber.py``.

Why: the loop builds each string in Python (a generator call per branch, a one-hot block, the
sets of possible next symbols): about 40 us a string, 1.3 ms of the trainer's batch of 32, more
than the training step it feeds (``benchmarks/NOTES.md``). Every branch is
``Generator.integers(0, 2)``, repeated here on the generator's C interface (:mod:`._bitgen`), so
the strings and the generator's final state are the same bits (``tests/test_tasks.py`` holds
the two paths to each other).
"""

from __future__ import annotations

import numba
import numpy as np

from ._bitgen import integers


@numba.njit(cache=True, nogil=True)
def _push(codes, after, n, symbol, state):  # pragma: no cover - compiled
    """Write ``symbol`` and the grammar's ``state`` after it at index ``n`` of the two arrays
    (doubled, both, when full); return them."""
    if n == codes.size:
        codes2, after2 = np.empty(2 * n, dtype=codes.dtype), np.empty(2 * n, dtype=after.dtype)
        codes2[:n], after2[:n] = codes, after
        codes, after = codes2, after2
    codes[n], after[n] = symbol, state
    return codes, after


@numba.njit(cache=True, nogil=True)
def draw_reber(
    bitgen, batch, SYM, NEXT, V, sym_b, sym_t, sym_p, sym_e
):  # pragma: no cover - compiled
    """``batch`` embedded Reber strings from the generator at the address ``bitgen``, in the
    reference loop's order (per string: the remembered T/P, then one branch per state of the
    inner string). ``SYM[q, k]`` and ``NEXT[q, k]`` are the symbol and the next state of branch
    ``k`` from state ``q`` (state 5 ends the inner string with E); ``V`` is the alphabet's size,
    ``sym_b``, ``sym_t``, ``sym_p``, ``sym_e`` the indices of B, T, P and E.

    Returns the strings' symbols concatenated ``(N,)``, where each string starts ``(batch + 1,)``,
    the one-hot inputs ``x (T_max, batch, V)`` (every symbol but the last), the multi-hot targets
    ``y (T_max, batch, V)`` (the possible next symbols) and ``mask (T_max, batch)``."""
    # room for 8 symbols a string: every string has at least 9, so the arrays grow in every
    # call (a doubling or two; the growth is then tested with every draw)
    codes = np.empty(8 * batch, dtype=np.int64)
    # the grammar's state after each symbol (-1: outside the inner string)
    after = np.empty(8 * batch, dtype=np.int64)
    starts = np.empty(batch + 1, dtype=np.int64)
    n = 0
    for b in range(batch):
        starts[b] = n
        tp = sym_t if integers(bitgen, 0, 2) == 0 else sym_p
        for s in (sym_b, tp, sym_b):  # B, the remembered T/P, the inner string's B
            codes, after = _push(codes, after, n, s, -1)
            n += 1
        q = 0
        while q != 5:
            k = integers(bitgen, 0, 2)
            codes, after = _push(codes, after, n, SYM[q, k], NEXT[q, k])
            q = NEXT[q, k]
            n += 1
        for s in (sym_e, tp, sym_e):  # the inner string's E, the T/P again, E
            codes, after = _push(codes, after, n, s, -1)
            n += 1
    starts[batch] = n
    steps = 0
    for b in range(batch):
        steps = max(steps, starts[b + 1] - starts[b] - 1)
    x = np.zeros((steps, batch, V))
    y = np.zeros((steps, batch, V))
    mask = np.zeros((steps, batch))
    for b in range(batch):
        s0, L = starts[b], starts[b + 1] - starts[b]
        for i in range(L - 1):
            x[i, b, codes[s0 + i]] = 1.0
            mask[i, b] = 1.0
        y[0, b, sym_t] = y[0, b, sym_p] = 1.0  # after B
        y[1, b, sym_b] = 1.0  # after T/P: the inner B
        y[2, b, SYM[0, 0]] = y[2, b, SYM[0, 1]] = 1.0  # after the inner B
        for i in range(3, L - 3):  # after each inner symbol: its state's branches, or E
            q = after[s0 + i]
            if q == 5:
                y[i, b, sym_e] = 1.0
            else:
                y[i, b, SYM[q, 0]] = y[i, b, SYM[q, 1]] = 1.0
        y[L - 3, b, codes[s0 + 1]] = 1.0  # after the inner E: the remembered T/P
        y[L - 2, b, sym_e] = 1.0  # after it: E
    return codes[:n], starts, x, y, mask
