"""Exploding gradients during training: the gradient norm per update and its spikes.

The trainer logs ``grad_norm``, the global norm *before* clipping, in ``metrics.csv``. An
explosion event is an update whose norm exceeds ``factor`` times the running median of the
``window`` updates before it (Pascanu et al. 2013 describe such sudden spikes, "cliffs"), or a
non-finite norm.
"""

from __future__ import annotations

import os
from pathlib import Path

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
    metrics_path: str | os.PathLike, factor: float = 10.0, window: int = 50
) -> dict[str, object]:
    """Read ``grad_norm`` per update from a run's ``metrics.csv`` and flag explosion events.

    Returns ``step``, ``grad_norm``, ``running_median``, ``events`` (indices), ``event_steps``,
    ``factor`` and ``window``. Rows with an empty ``grad_norm`` cell are skipped.
    """
    from ..plots import read_metrics

    path = Path(metrics_path)
    cols = read_metrics(path)
    if "grad_norm" not in cols or "step" not in cols:
        raise ValueError(
            f"metrics: expected columns step and grad_norm in {str(path)!r}, got {sorted(cols)}"
        )
    keep = ~np.isnan(cols["grad_norm"])
    step, g = cols["step"][keep], cols["grad_norm"][keep]
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
