"""Gate statistics of an LSTM or GRU from the forward cache: saturation and the forget gate."""

from __future__ import annotations

import numpy as np

from .._validate import check_array
from ..cells.base import block_slice

SIGMOID_GATES = {"lstm": ("i", "f", "o"), "gru": ("r", "z")}


def gate_statistics(
    gates: np.ndarray, names: tuple[str, ...], family: str, eps: float = 0.05
) -> dict[str, object]:
    """Saturation fractions and means of the post-activation gates ``(T, B, G*H)``.

    ``names`` is the gate order (``("i", "f", "g", "o")``, ``("i", "g", "o")``, ``("r", "z",
    "n")``). A sigmoid gate is saturated where it is within ``eps`` of 0 or 1 (its derivative
    is then below ``eps``); a tanh block (``g``, ``n``) where ``|value| > 1 - eps``.
    Returns per gate ``saturated_low``, ``saturated_high`` (fractions; for tanh blocks low is
    < -1+eps and high > 1-eps), ``mean``, and ``mean_over_time`` (T,) averaged over batch and
    units; ``forget_mean_over_time`` is the forget gate's (LSTM) or the GRU's keep gate
    ``z``'s, None for an LSTM without a forget gate.
    """
    check_array("gates", gates, ndim=3)
    if family not in SIGMOID_GATES:
        raise ValueError(f"family: expected one of lstm, gru; got {family!r}")
    G = len(names)
    if G == 0 or gates.shape[2] % G:
        raise ValueError(f"gates: expected a last axis of G*H with G={G}, got {gates.shape}")
    if not 0 < eps < 0.5:
        raise ValueError(f"eps: expected a number in (0, 0.5), got {eps!r}")
    H = gates.shape[2] // G
    out: dict[str, object] = {"eps": eps, "gates": {}}
    for k, name in enumerate(names):
        v = gates[:, :, block_slice(k, H)]
        if name in SIGMOID_GATES[family]:
            lo, hi = np.mean(v < eps), np.mean(v > 1.0 - eps)
        else:
            lo, hi = np.mean(v < -1.0 + eps), np.mean(v > 1.0 - eps)
        out["gates"][name] = {
            "saturated_low": float(lo),
            "saturated_high": float(hi),
            "mean": float(v.mean()),
            "mean_over_time": v.mean(axis=(1, 2)),
        }
    keep = "f" if family == "lstm" else "z"
    out["forget_gate"] = keep if keep in names else None
    out["forget_mean_over_time"] = out["gates"][keep]["mean_over_time"] if keep in names else None
    return out
