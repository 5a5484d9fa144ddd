"""Nonlinearities with the facts BPTT needs: the one registry for hidden units and readouts.

Each activation gives its value, its derivative *expressed through its output* (so the backward
pass needs only the stored h, not the pre-activation), the vector-Jacobian product ``dL/dz``
from ``dL/dy`` and ``gamma = sup |phi'|``, the constant in the bound
``||dh_t/dh_k|| <= (gamma ||W_hh||)^(t-k)`` of the vanishing-gradient analysis.

Hidden units (``phi_h``, :data:`HIDDEN`) use the element-wise ones; a readout (``phi_y``,
:data:`OUTPUT`) may also use ``softmax``, which acts on the last axis as a whole.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from ._validate import check_choice


def sigmoid(z: np.ndarray) -> np.ndarray:
    """Logistic function ``1 / (1 + exp(-z))``, stable for large |z| (no overflow in exp).

    Keeps the dtype of ``z``.

    >>> sigmoid(np.array([-800.0, 0.0, 800.0]))
    array([0. , 0.5, 1. ])
    """
    out = np.empty_like(z)
    pos = z >= 0
    out[pos] = 1.0 / (1.0 + np.exp(-z[pos]))
    ez = np.exp(z[~pos])
    out[~pos] = ez / (1.0 + ez)
    return out


def log_softmax(z: np.ndarray) -> np.ndarray:
    """``log softmax`` over the last axis, shifted by the max for stability."""
    s = z - z.max(axis=-1, keepdims=True)
    return s - np.log(np.exp(s).sum(axis=-1, keepdims=True))


def softmax(z: np.ndarray) -> np.ndarray:
    """Softmax over the last axis."""
    return np.exp(log_softmax(z))


def _softmax_vjp(y: np.ndarray, dy: np.ndarray) -> np.ndarray:
    # dz_k = y_k (dy_k - sum_j y_j dy_j): the softmax Jacobian (diag(y) - y y^T) times dy
    return y * (dy - np.sum(y * dy, axis=-1, keepdims=True))


@dataclass(frozen=True)
class Activation:
    """A nonlinearity ``y = f(z)``.

    Attributes
    ----------
    name : str
    f : callable
        ``z -> y``, same shape and dtype.
    df_from_y : callable or None
        ``y -> f'(z)`` element-wise (None for ``softmax``, whose Jacobian is not diagonal).
    gamma : float
        ``sup |f'|``: 1 for tanh, relu and identity, 1/4 for sigmoid (1/2, the largest
        Jacobian norm, for softmax).
    vjp : callable or None
        ``(y, dL/dy) -> dL/dz``; None means ``dL/dy * df_from_y(y)``.
    """

    name: str
    f: Callable[[np.ndarray], np.ndarray]
    df_from_y: Callable[[np.ndarray], np.ndarray] | None
    gamma: float
    vjp: Callable[[np.ndarray, np.ndarray], np.ndarray] | None = None

    def backward(self, y: np.ndarray, dy: np.ndarray) -> np.ndarray:
        """``dL/dz`` from the output ``y`` and ``dL/dy`` (same shape)."""
        if self.vjp is not None:
            return self.vjp(y, dy)
        return dy * self.df_from_y(y)


ACTIVATIONS: dict[str, Activation] = {
    "tanh": Activation("tanh", np.tanh, lambda y: 1.0 - y * y, 1.0),
    "sigmoid": Activation(
        "sigmoid", sigmoid, lambda y: y * (1.0 - y), 0.25, vjp=lambda y, dy: dy * y * (1.0 - y)
    ),
    "relu": Activation(
        "relu", lambda z: np.maximum(z, 0.0), lambda y: (y > 0).astype(y.dtype), 1.0
    ),
    "identity": Activation(
        "identity", lambda z: z.copy(), lambda y: np.ones_like(y), 1.0, vjp=lambda y, dy: dy
    ),
    "softmax": Activation("softmax", softmax, None, 0.5, vjp=_softmax_vjp),
}
HIDDEN = ("tanh", "sigmoid", "relu", "identity")  # element-wise: usable as phi_h
OUTPUT = ("identity", "sigmoid", "tanh", "softmax")  # usable as a readout's phi_y


def get(name: str, kind: str = "hidden") -> Activation:
    """Look up an activation by name; the error lists the choices.

    ``kind="hidden"`` allows :data:`HIDDEN` (the error names the argument ``nonlinearity``),
    ``kind="output"`` allows :data:`OUTPUT` (argument ``activation``).

    >>> get("tanh").gamma
    1.0
    >>> get("softmax", kind="output").name
    'softmax'
    """
    kind = check_choice("kind", kind, ("hidden", "output"))
    if kind == "hidden":
        return ACTIVATIONS[check_choice("nonlinearity", name, HIDDEN)]
    return ACTIVATIONS[check_choice("activation", name, OUTPUT)]
