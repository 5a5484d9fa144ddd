"""Which time steps drive the update (seed 003): step k's share of dL/dW_hh.

``dL/dW_hh = sum_k dz_k h_{k-1}^T`` (summed over the batch); the term of step ``k`` is carried
to ``W_hh`` through ``dh_T/dh_k``, so with vanishing gradients the recent steps dominate and
long-term dependencies are ignored. The per-step norms come from
:func:`rnnlab.diagnostics.gradient_flow.backward_sweep` (``Sweep.contrib_log10``).
"""

from __future__ import annotations

import numpy as np

from .._validate import check_array


def contribution_summary(contrib_log10: np.ndarray, mass: float = 0.9) -> dict[str, object]:
    """Shares of the per-step contributions ``||C_k||_F`` (k = 1..T) to dL/dW_hh.

    Returns ``share`` (T,) each step's fraction of ``sum_k ||C_k||`` (an upper bound of the
    total's norm, so the shares add to 1), ``cumulative_from_end`` (T,) the share held by the
    last ``n`` steps for ``n = 1..T``, ``horizon``: the fewest most recent steps that hold
    ``mass`` of the sum, and ``oldest_half_share``: what the older half of the sequence holds.
    """
    c = check_array(
        "contrib_log10", np.asarray(contrib_log10, dtype=np.float64), ndim=1, finite=False
    )
    if c.size == 0:
        raise ValueError("contrib_log10: expected at least one step, got an empty array")
    if not 0 < mass < 1:
        raise ValueError(f"mass: expected a number in (0, 1), got {mass!r}")
    ok = np.isfinite(c)
    if not ok.any():
        raise ValueError("contrib_log10: expected at least one finite value, got none")
    top = c[ok].max()
    w = np.where(ok, 10.0 ** (np.where(ok, c, top) - top), 0.0)  # relative to the largest
    share = w / w.sum()
    from_end = np.cumsum(share[::-1])
    horizon = int(np.searchsorted(from_end, mass - 1e-12) + 1)
    half = c.size // 2
    return {
        "share": share,
        "cumulative_from_end": from_end,
        "horizon": min(horizon, c.size),
        "oldest_half_share": float(share[:half].sum()),
    }
