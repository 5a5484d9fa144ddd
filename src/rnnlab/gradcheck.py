"""Gradient checking by central finite differences, written once over ``{name: array}`` dicts.

The error measure is norm-wise: ``||a - b|| / max(||a||, ||b||)``, so entries that happen to be
near zero do not dominate. Use float64: in float32 the finite differences themselves are only
good to about 1e-3.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from ._validate import as_rng, check_positive_float
from .layers import RecurrentLayer, StateArg, state_parts


def relative_error(a: np.ndarray, b: np.ndarray) -> float:
    """``||a - b||_2 / max(||a||_2, ||b||_2)``; 0 when both are zero."""
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    if a.shape != b.shape:
        raise ValueError(f"b: expected shape {a.shape} (the shape of a), got {b.shape}")
    scale = max(np.linalg.norm(a), np.linalg.norm(b))
    return 0.0 if scale == 0 else float(np.linalg.norm(a - b) / scale)


def numerical_gradients(
    loss: Callable[[], float], arrays: dict[str, np.ndarray], eps: float = 1e-6
) -> dict[str, np.ndarray]:
    """Central differences ``(L(a + eps) - L(a - eps)) / 2 eps`` for every entry of every array.

    ``loss()`` must read the arrays in place; each entry is perturbed and restored in turn.
    """
    eps = check_positive_float("eps", eps)
    out = {}
    for name, a in arrays.items():
        g = np.zeros(a.shape, dtype=np.float64)
        flat, gflat = a.reshape(-1), g.reshape(-1)
        if not np.shares_memory(flat, a):
            raise ValueError(f"arrays[{name!r}]: expected a contiguous array to perturb in place")
        for j in range(flat.size):
            keep = flat[j]
            flat[j] = keep + eps
            up = loss()
            flat[j] = keep - eps
            down = loss()
            flat[j] = keep
            gflat[j] = (up - down) / (2.0 * eps)
        out[name] = g
    return out


def check_layer(
    layer: RecurrentLayer,
    x: np.ndarray,
    state: StateArg = None,
    *,
    rng: int | np.random.Generator = 0,
    eps: float = 1e-6,
) -> dict[str, float]:
    """Compare ``layer.backward`` with finite differences; return the relative error per array.

    The loss is a random linear read-out of every output and of the final state,
    ``L = sum(w_y * y) + sum(w_s * state_T)``, so every path through time is exercised. Keys are
    the parameter names plus ``"x"`` and ``"state"`` (or ``"state.h"``, ``"state.c"``).
    """
    gen = as_rng(rng)
    y, s_T, cache = layer.forward(x, state)
    w_y = gen.standard_normal(y.shape).astype(layer.dtype)  # (T, B, D*H)
    w_s = [gen.standard_normal(s.shape).astype(layer.dtype) for s in state_parts(s_T)]
    dstate = tuple(w_s) if isinstance(s_T, tuple) else w_s[0]
    dx, dstate0, grads = layer.backward(w_y, cache, dstate)

    if state is None:
        state = layer.zero_state(x.shape[1])
    parts = state_parts(state)
    state_names = ["state"] if len(parts) == 1 else ["state.h", "state.c"]

    def loss() -> float:
        y_, s_, _ = layer.forward(x, state)
        return float(np.sum(w_y * y_) + sum(np.sum(w * s) for w, s in zip(w_s, state_parts(s_))))

    arrays = {**layer.params, "x": x, **dict(zip(state_names, parts))}
    numeric = numerical_gradients(loss, arrays, eps)
    analytic = {**grads, "x": dx, **dict(zip(state_names, state_parts(dstate0)))}
    return {name: relative_error(analytic[name], numeric[name]) for name in arrays}
