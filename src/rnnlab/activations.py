"""Hidden-unit nonlinearities phi_h with the facts BPTT needs.

Each activation gives its value, its derivative *expressed through its output* (so the backward
pass needs only the stored h, not the pre-activation), and ``gamma = sup |phi'|``, the constant in
the bound ||dh_t/dh_k|| <= (gamma ||W_hh||)^(t-k) of the vanishing-gradient analysis.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np


def sigmoid(z: np.ndarray) -> np.ndarray:
    """Logistic function, stable for large |z| (no overflow warning in exp)."""
    out = np.empty_like(z)
    pos = z >= 0
    out[pos] = 1.0 / (1.0 + np.exp(-z[pos]))
    ez = np.exp(z[~pos])
    out[~pos] = ez / (1.0 + ez)
    return out


@dataclass(frozen=True)
class Activation:
    """A nonlinearity: ``f(z)``, ``df_from_y(y) = f'(z)`` where ``y = f(z)``, and ``gamma``."""

    name: str
    f: Callable[[np.ndarray], np.ndarray]
    df_from_y: Callable[[np.ndarray], np.ndarray]
    gamma: float  # sup of |f'|: 1 for tanh, relu and identity, 1/4 for sigmoid


ACTIVATIONS: dict[str, Activation] = {
    "tanh": Activation("tanh", np.tanh, lambda y: 1.0 - y * y, 1.0),
    "sigmoid": Activation("sigmoid", sigmoid, lambda y: y * (1.0 - y), 0.25),
    "relu": Activation(
        "relu", lambda z: np.maximum(z, 0.0), lambda y: (y > 0).astype(y.dtype), 1.0
    ),
    "identity": Activation("identity", lambda z: z.copy(), lambda y: np.ones_like(y), 1.0),
}


def get(name: str) -> Activation:
    """Look up an activation by name; the error lists the choices."""
    if not isinstance(name, str) or name not in ACTIVATIONS:
        raise ValueError(f"nonlinearity: expected one of {', '.join(ACTIVATIONS)}; got {name!r}")
    return ACTIVATIONS[name]
