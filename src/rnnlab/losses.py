"""Losses with hand-written gradients over the network's outputs.

Every loss returns ``(L, dL/d(input))`` where the input is what the loss is written over:

- :func:`mse` takes outputs ``y = phi_y(z)`` and returns ``dL/dy``;
- :func:`softmax_cross_entropy` and :func:`sigmoid_bce` take logits ``z = W_hy h + b_y`` and
  return ``dL/dz`` (computing the loss from logits is what keeps it finite).

Two target modes:

- **every step**: ``y (T, B, K)``, targets ``(T, B, K)`` (class indices ``(T, B)`` for
  cross-entropy), optional ``mask (T, B)`` of 0/1 for variable-length batches;
- **last step only**: pass ``last (B,)``, each sequence's own last valid time index; targets are
  ``(B, K)`` (indices ``(B,)`` for cross-entropy). The gradient is zero at every other step.

Normalisation (exact): the loss of one step of one sequence, ``l[t, b]``, is *summed* over the
``K`` output units (MSE: ``1/2 sum_k (y_k - o_k)^2``; BCE: sum of the K binary cross-entropies;
CE: ``-sum_k o_k log softmax(z)_k``). Then

    every step:  L = sum_{t,b} m[t,b] l[t,b] / sum_{t,b} m[t,b]      (m = 1 without a mask)
    last step:   L = 1/B sum_b l[last_b, b]

so without a mask ``L = 1/B sum_b (1/T sum_t l^t)``: the lecture notes' ``L = 1/T sum_t L^t``
averaged over the batch. The returned gradient is of this ``L``.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from ._validate import check_array, check_last
from .activations import log_softmax, sigmoid, softmax

__all__ = [
    "LOSSES",
    "get",
    "log_softmax",
    "mse",
    "sigmoid",
    "sigmoid_bce",
    "softmax",
    "softmax_cross_entropy",
]

LOSSES = ("mse", "bce", "ce")


def _weights(
    shape_tb: tuple[int, int], mask: np.ndarray | None, last: np.ndarray | None
) -> np.ndarray:
    """The (T, B) weight of each step's loss in L (see the module docstring)."""
    T, B = shape_tb
    if mask is not None and last is not None:
        raise ValueError("mask, last: expected at most one of them, got both")
    if last is not None:
        check_last(last, T, B)
        w = np.zeros((T, B))
        w[last, np.arange(B)] = 1.0 / B
        return w
    if mask is None:
        return np.full((T, B), 1.0 / (T * B))
    check_array("mask", mask, ndim=2, shape=(T, B))
    m = mask.astype(np.float64)
    if np.any((m != 0) & (m != 1)):
        raise ValueError("mask: expected only 0/1 (or bool) entries, got other values")
    n = m.sum()
    if n == 0:
        raise ValueError("mask: expected at least one unmasked step, got an all-zero mask")
    return m / n


def _check_outputs(name: str, y: object) -> np.ndarray:
    y = check_array(name, y, ndim=3)
    if y.dtype.kind != "f":
        raise TypeError(f"{name}: expected a float array, got dtype {y.dtype}")
    return y


def _expand_targets(
    o: object, y: np.ndarray, last: np.ndarray | None, name: str = "targets"
) -> np.ndarray:
    """Targets for MSE/BCE as a (T, B, K) array aligned with ``y`` (zeros off the last step)."""
    T, B, K = y.shape
    if last is None:
        return check_array(name, o, ndim=3, shape=(T, B, K)).astype(y.dtype, copy=False)
    o = check_array(name, o, ndim=2, shape=(B, K))
    full = np.zeros_like(y)
    full[last, np.arange(B)] = o
    return full


def mse(
    y: np.ndarray,
    targets: np.ndarray,
    mask: np.ndarray | None = None,
    last: np.ndarray | None = None,
) -> tuple[float, np.ndarray]:
    """Mean squared error ``l = 1/2 sum_k (y_k - o_k)^2``, averaged as in the module docstring.

    ``y (T, B, K)`` outputs; ``targets (T, B, K)``, or ``(B, K)`` with ``last (B,)``.
    Returns ``(L, dL/dy (T, B, K))``.
    """
    y = _check_outputs("y", y)
    w = _weights(y.shape[:2], mask, last)  # (T, B)
    o = _expand_targets(targets, y, last)
    diff = y - o  # (T, B, K)
    loss = 0.5 * float(np.sum(w * np.sum(diff * diff, axis=2)))
    return loss, (w[:, :, None] * diff).astype(y.dtype, copy=False)


def sigmoid_bce(
    z: np.ndarray,
    targets: np.ndarray,
    mask: np.ndarray | None = None,
    last: np.ndarray | None = None,
) -> tuple[float, np.ndarray]:
    """Binary cross-entropy of ``sigmoid(z)`` against targets in [0, 1], from logits.

    ``l = sum_k max(z,0) - z o + log(1 + exp(-|z|))`` (the stable form of
    ``-o log s - (1-o) log(1-s)``); ``dl/dz = sigmoid(z) - o``. Shapes as :func:`mse`.
    Returns ``(L, dL/dz (T, B, K))``.
    """
    z = _check_outputs("z", z)
    w = _weights(z.shape[:2], mask, last)
    o = _expand_targets(targets, z, last)
    if np.any((o < 0) | (o > 1)):
        raise ValueError("targets: expected values in [0, 1] for binary cross-entropy")
    per = np.maximum(z, 0) - z * o + np.log1p(np.exp(-np.abs(z)))  # (T, B, K)
    loss = float(np.sum(w * per.sum(axis=2)))
    return loss, (w[:, :, None] * (sigmoid(z) - o)).astype(z.dtype, copy=False)


def _class_targets(o: object, z: np.ndarray, last: np.ndarray | None) -> np.ndarray:
    """Cross-entropy targets as a (T, B, K) probability array (one-hot for indices)."""
    T, B, K = z.shape
    if not isinstance(o, np.ndarray):
        raise TypeError(f"targets: expected a numpy.ndarray, got {type(o).__name__}")
    lead = (B,) if last is not None else (T, B)
    if o.dtype.kind in "iu":
        check_array("targets", o, shape=lead)
        if o.size and (o.min() < 0 or o.max() >= K):
            raise ValueError(
                f"targets: expected class indices in [0, {K - 1}], got [{o.min()}, {o.max()}]"
            )
        probs = np.zeros(lead + (K,), dtype=z.dtype)
        np.put_along_axis(probs, o[..., None], 1.0, axis=-1)
    else:
        probs = check_array("targets", o, shape=lead + (K,)).astype(z.dtype, copy=False)
        if np.any(probs < 0) or not np.allclose(probs.sum(axis=-1), 1.0):
            raise ValueError(
                "targets: expected class indices or rows of probabilities (>= 0, summing to 1)"
            )
    if last is None:
        return probs
    full = np.zeros_like(z)
    full[last, np.arange(B)] = probs
    return full


def _class_indices(o: object, shape: tuple[int, int, int], last: np.ndarray | None) -> np.ndarray:
    """Integer class targets as a (T, B) index array (0 off the last step with ``last``),
    checked as :func:`_class_targets` checks them."""
    T, B, K = shape
    lead = (B,) if last is not None else (T, B)
    o = check_array("targets", o, shape=lead)
    if o.size and (o.min() < 0 or o.max() >= K):
        raise ValueError(
            f"targets: expected class indices in [0, {K - 1}], got [{o.min()}, {o.max()}]"
        )
    if last is None:
        return o
    full = np.zeros((T, B), dtype=np.int64)
    full[last, np.arange(B)] = o
    return full


def softmax_cross_entropy(
    z: np.ndarray,
    targets: np.ndarray,
    mask: np.ndarray | None = None,
    last: np.ndarray | None = None,
) -> tuple[float, np.ndarray]:
    """Cross-entropy ``l = -sum_k o_k log softmax(z)_k`` from logits ``z (T, B, K)``.

    ``targets``: integer class indices ``(T, B)`` (``(B,)`` with ``last``) or probability rows
    ``(T, B, K)`` / ``(B, K)`` (one-hot or soft). ``dl/dz = softmax(z) - o`` (rows of ``o`` sum to
    1). Returns ``(L, dL/dz (T, B, K))``.
    """
    z = _check_outputs("z", z)
    w = _weights(z.shape[:2], mask, last)
    o = _class_targets(targets, z, last)
    logp = log_softmax(z)  # (T, B, K)
    loss = -float(np.sum(w * np.sum(o * logp, axis=2)))
    # Rows off the last step have o = 0 and weight 0, so their gradient is 0 as it must be.
    dz = w[:, :, None] * (np.exp(logp) - o)
    return loss, dz.astype(z.dtype, copy=False)


LossFn = Callable[..., tuple[float, np.ndarray]]
_BY_NAME: dict[str, LossFn] = {"mse": mse, "bce": sigmoid_bce, "ce": softmax_cross_entropy}


def get(name: str) -> LossFn:
    """The loss function called ``name``: ``"mse"``, ``"bce"`` or ``"ce"``."""
    if not isinstance(name, str) or name not in _BY_NAME:
        raise ValueError(f"loss: expected one of {', '.join(LOSSES)}; got {name!r}")
    return _BY_NAME[name]
