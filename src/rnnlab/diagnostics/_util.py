"""Small helpers shared by the diagnostics: log-scaled norms and spectral norms."""

from __future__ import annotations

import numpy as np

LN10 = float(np.log(10.0))
# Rescale a running product or adjoint when its largest entry leaves [1e-100, 1e100]: far from
# float64's limits, so no step can overflow before the next check.
_BIG, _SMALL = 1e100, 1e-100


def log10_or_nan(a: np.ndarray) -> np.ndarray:
    """``log10(a)`` with zeros (and negatives) as NaN instead of -inf and a warning."""
    a = np.asarray(a, dtype=np.float64)
    out = np.full(a.shape, np.nan)
    pos = a > 0
    out[pos] = np.log10(a[pos])
    return out


def rescale(a: np.ndarray, log_scale: float) -> float:
    """Divide ``a`` in place by its largest |entry| if that is huge or tiny; return the new scale.

    The true value is ``a * exp(log_scale)`` before and after the call.
    """
    m = float(np.max(np.abs(a))) if a.size else 0.0
    if m > _BIG or (0.0 < m < _SMALL):
        a /= m
        return log_scale + float(np.log(m))
    return log_scale


def spectral_norm(a: np.ndarray) -> float:
    """Largest singular value, via the largest eigenvalue of the smaller Gram matrix.

    ``eigvalsh`` of ``A A^T`` is several times faster than an SVD for the top value and its
    relative accuracy for the largest eigenvalue is at machine precision.
    """
    if a.shape[0] > a.shape[1]:
        a = a.T
    g = a @ a.T
    return float(np.sqrt(max(np.linalg.eigvalsh(g)[-1], 0.0)))
