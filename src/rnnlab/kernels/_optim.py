"""One-pass optimiser updates: the element-wise arithmetic of :class:`rnnlab.optim.Adam` in a
single loop instead of a dozen NumPy passes with temporaries.

Every operation is the one NumPy performs, in the same order and the same precision (the
Python-float constants are rounded to the array's dtype first, as NumPy does with a Python
scalar), and without fused multiply-adds: the result is bit for bit NumPy's
(``tests/test_optim.py``).
"""

from __future__ import annotations

import numpy as np
from numba import njit

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


def adam(
    p: np.ndarray,
    g: np.ndarray,
    m: np.ndarray,
    v: np.ndarray,
    beta1: float,
    beta2: float,
    step: float,
    sqrt_bc2: float,
    eps: float,
) -> None:
    """One Adam update of ``p`` in place (``m``, ``v`` updated too); all four C-contiguous and of
    one dtype. ``step = lr / (1 - beta1^t)``, ``sqrt_bc2 = sqrt(1 - beta2^t)``."""
    c = p.dtype.type  # the Python constants rounded to the arrays' dtype, as NumPy does
    _adam(
        p.reshape(-1),
        g.reshape(-1),
        m.reshape(-1),
        v.reshape(-1),
        c(beta1),
        c(1.0 - beta1),
        c(beta2),
        c(1.0 - beta2),
        c(step),
        c(sqrt_bc2),
        c(eps),
    )
