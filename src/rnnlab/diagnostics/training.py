"""Exploding gradients during training: the gradient norm per update and its spikes.

The trainer logs ``grad_norm``, the global norm *before* clipping, in ``metrics.csv``. An
explosion event is an update whose norm exceeds ``factor`` times the running median of the
``window`` updates before it (Pascanu et al. 2013 describe such sudden spikes, "cliffs"), or a
non-finite norm.
"""

from __future__ import annotations

import numpy as np

from .._validate import check_positive_float, check_positive_int


def explosion_events(
    grad_norm: np.ndarray, factor: float = 10.0, window: int = 50, min_history: int = 5
) -> dict[str, np.ndarray]:
    """Flag spikes in a gradient-norm series ``(N,)``.

    Returns ``running_median (N,)`` (median of the finite norms among the previous ``window``
    updates; NaN until ``min_history`` of them exist) and ``events``: the indices where the norm
    is non-finite or above ``factor * running_median``.
    """
    g = np.asarray(grad_norm, dtype=np.float64)
    if g.ndim != 1:
        raise ValueError(f"grad_norm: expected a 1-d array, got shape {g.shape}")
    factor = check_positive_float("factor", factor)
    window = check_positive_int("window", window)
    min_history = check_positive_int("min_history", min_history)
    if np.any(g[np.isfinite(g)] < 0):
        raise ValueError("grad_norm: expected non-negative norms, got a negative value")
    med = np.full(g.shape, np.nan)
    for n in range(g.size):
        past = g[max(0, n - window) : n]
        past = past[np.isfinite(past)]
        if past.size >= min_history:
            med[n] = np.median(past)
    with np.errstate(invalid="ignore"):
        spike = np.isfinite(med) & (g > factor * med)
    events = np.flatnonzero(spike | ~np.isfinite(g))
    return {"running_median": med, "events": events}


def training_gradients(
    step: np.ndarray, grad_norm: np.ndarray, factor: float = 10.0, window: int = 50
) -> dict[str, object]:
    """Explosion events in a run's gradient norms per update.

    Parameters
    ----------
    step : (N,) array
        Update number of each row (the ``step`` column of ``metrics.csv``).
    grad_norm : (N,) array
        Global gradient norm before clipping; NaN marks a row without one (skipped).
    factor, window : float, int
        As in :func:`explosion_events`.

    Returns
    -------
    dict
        ``step (M,)``, ``grad_norm (M,)`` (the M rows with a norm), ``running_median (M,)``,
        ``events`` (indices into the M rows), ``event_steps``, ``factor`` and ``window``.
    """
    step = np.asarray(step, dtype=np.float64)
    g = np.asarray(grad_norm, dtype=np.float64)
    if step.ndim != 1 or g.shape != step.shape:
        raise ValueError(
            f"step, grad_norm: expected two 1-d arrays of one length, got shapes {step.shape} "
            f"and {g.shape}"
        )
    keep = ~np.isnan(g)
    step, g = step[keep], g[keep]
    ev = explosion_events(g, factor=factor, window=window)
    return {
        "step": step,
        "grad_norm": g,
        "running_median": ev["running_median"],
        "events": ev["events"],
        "event_steps": step[ev["events"]],
        "factor": factor,
        "window": window,
    }
