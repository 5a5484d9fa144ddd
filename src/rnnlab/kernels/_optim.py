"""One-pass optimiser updates: the element-wise arithmetic of :class:`rnnlab.optim.Adam` in a
single loop instead of a dozen NumPy passes with temporaries, for every parameter array in one
compiled call; and the sum of squares of float32 gradients for the global norm.

Every operation is the one NumPy performs, in the same order and the same precision (the
Python-float constants are rounded to the array's dtype first, as NumPy does with a Python
scalar), and without fused multiply-adds: the result is bit for bit NumPy's
(``tests/test_optim.py``), except that moments below the normal range become zeros (the call
flushes subnormals, ``_fpenv.py``; the weights keep NumPy's bits).
"""

from __future__ import annotations

import numpy as np
from numba import njit

from ._fpenv import flush_subnormals, restore_fpenv

# No fastmath at all: a contracted a * b + c would round once where NumPy rounds twice.
_JIT = dict(cache=True, error_model="numpy", nogil=True)


@njit(**_JIT)
def _adam(p, g, m, v, beta1, one_minus_beta1, beta2, one_minus_beta2, step, sqrt_bc2, eps):
    # NumPy's sequence (rnnlab.optim.Adam._update), element by element:
    #   m *= b1; m += (1 - b1) * g; v *= b2; v += (1 - b2) * g * g
    #   p -= (lr / bc1) * m / (sqrt(v) / sqrt(bc2) + eps)
    for i in range(p.size):
        gi = g[i]
        mi = m[i] * beta1
        mi = mi + one_minus_beta1 * gi
        vi = v[i] * beta2
        vi = vi + one_minus_beta2 * gi * gi
        m[i] = mi
        v[i] = vi
        p[i] = p[i] - step * mi / (np.sqrt(vi) / sqrt_bc2 + eps)


@njit(**_JIT)
def _first_nonfinite(gs):
    # index of the first array holding a NaN/inf, else -1; an OR over the entries (no early
    # exit) keeps the loop a vector loop
    for k in range(len(gs)):
        g = gs[k]
        bad = False
        for i in range(g.size):
            bad |= not abs(g[i]) < np.inf
        if bad:
            return k
    return -1


@njit(**_JIT)
def _adam_all(ps, gs, ms, vs, beta1, one_minus_beta1, beta2, one_minus_beta2, step, sqrt_bc2, eps):
    bad = _first_nonfinite(gs)
    if bad >= 0:  # nothing is updated: one NaN would spread through every later step
        return bad
    # decayed moments and squares of tiny gradients fall below the normal range, where x86
    # arithmetic takes ~100 cycles a value; they cannot move a weight (kernels/_fpenv.py)
    env = flush_subnormals()
    for k in range(len(ps)):
        _adam(
            ps[k],
            gs[k],
            ms[k],
            vs[k],
            beta1,
            one_minus_beta1,
            beta2,
            one_minus_beta2,
            step,
            sqrt_bc2,
            eps,
        )
    restore_fpenv(env)
    return -1


def adam_all(
    ps: list[np.ndarray],
    gs: list[np.ndarray],
    ms: list[np.ndarray],
    vs: list[np.ndarray],
    beta1: float,
    beta2: float,
    step: float,
    sqrt_bc2: float,
    eps: float,
) -> int:
    """One Adam update of every ``ps[k]`` in place (``ms[k]``, ``vs[k]`` updated too); all arrays
    C-contiguous and of one float dtype, ``gs[k]`` of ``ps[k]``'s shape. ``step = lr / (1 -
    beta1^t)``, ``sqrt_bc2 = sqrt(1 - beta2^t)``.

    Returns -1, or the index of the first gradient with a NaN/inf entry; then nothing changed.
    """
    c = ps[0].dtype.type  # the Python constants rounded to the arrays' dtype, as NumPy does
    return _adam_all(
        *(tuple(a.reshape(-1) for a in arrays) for arrays in (ps, gs, ms, vs)),
        c(beta1),
        c(1.0 - beta1),
        c(beta2),
        c(1.0 - beta2),
        c(step),
        c(sqrt_bc2),
        c(eps),
    )


@njit(cache=True, error_model="numpy", fastmath={"reassoc"}, nogil=True)
def _sum_squares(gs):
    # reassociation lets LLVM keep partial sums in vector lanes (5x faster than one chain);
    # the order is then fixed by the compiled code: the same sum on every call on one machine
    total = 0.0
    for k in range(len(gs)):
        g = gs[k]
        for i in range(g.size):
            x = np.float64(g[i])
            total += x * x
    return total


def sum_squares(gs: list[np.ndarray]) -> float:
    """``sum(g^2)`` over float32 arrays, accumulated in float64 without float64 copies."""
    return float(_sum_squares(tuple(g.reshape(-1) for g in gs)))
