"""Readout ``y = phi_y(W_hy h + b_y)`` on top of a recurrent layer, forward and backward by hand.

Parameters ``{"W_hy": (K, H), "b_y": (K,)}`` in PyTorch's ``nn.Linear`` layout
(``z = h @ W_hy.T + b_y``). ``phi_y`` is one of ``identity``, ``sigmoid``, ``tanh``, ``softmax``.
With a cross-entropy loss the loss is taken from the logits ``z`` (``softmax``/``sigmoid`` are then
only used to report predictions); :func:`readout_loss` does the pairing.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from . import activations, losses
from ._validate import (
    as_float_dtype,
    as_rng,
    check_array,
    check_choice,
    check_last,
    check_positive_int,
)

# The output activation each loss is taken through (``mse`` works with any of them).
LOSS_ACTIVATION = {"bce": "sigmoid", "ce": "softmax"}


@dataclass
class ReadoutCache:
    """What :meth:`Readout.backward` needs."""

    h: np.ndarray  # (T, B, H) hidden states the readout saw
    z: np.ndarray  # (T, B, K) logits W_hy h + b_y
    y: np.ndarray  # (T, B, K) outputs phi_y(z)


class Readout:
    r"""The output layer ``y^t = phi_y(W_hy h^t + b_y)``, applied at every time step.

    .. math::
        z^t = W_{hy} h^t + b_y, \qquad y^t = \phi_y(z^t)

    with ``phi_y`` applied over the last axis (``softmax``) or element-wise (the others).

    Parameters
    ----------
    hidden_size : int
        Width ``H`` of ``h`` (``num_directions * H`` of a bidirectional layer).
    output_size : int
        Outputs ``K``.
    activation : {"identity", "sigmoid", "tanh", "softmax"}, default "identity"
        ``phi_y`` (see :mod:`rnnlab.activations`). Cross-entropy losses need ``softmax``
        (``ce``) or ``sigmoid`` (``bce``) and are taken from the logits ``z``.
    rng : int or numpy.random.Generator, keyword-only, default 0
        Seed or generator for ``W_hy``.
    dtype : numpy.float32 or numpy.float64, keyword-only, default float64

    Inputs (:meth:`forward`)
    ------------------------
    h : ndarray (T, B, H)
        Hidden states, e.g. a recurrent layer's output ``y``.

    Outputs (:meth:`forward`)
    -------------------------
    y : ndarray (T, B, K)
        ``phi_y(z)``.
    cache : ReadoutCache
        ``h``, ``z`` and ``y``; ``backward(dL/dy, cache)`` (or ``dL/dz`` with ``wrt="z"``)
        returns ``dL/dh (T, B, H)`` and ``{"W_hy": (K, H), "b_y": (K,)}``.

    Attributes
    ----------
    params : dict of str to ndarray
        ``W_hy (K, H)``, starting ``U(-1/sqrt(H), 1/sqrt(H))``, and ``b_y (K,)``, starting at
        zero: PyTorch's ``nn.Linear`` layout and default (``z = h @ W_hy.T + b_y``).

    Examples
    --------
    >>> import numpy as np
    >>> from rnnlab.readout import Readout
    >>> ro = Readout(4, 3, activation="softmax", rng=0)
    >>> y, cache = ro.forward(np.ones((5, 2, 4)))  # (T, B, H)
    >>> y.shape, bool(np.allclose(y.sum(axis=-1), 1.0))
    ((5, 2, 3), True)
    >>> dh, grads = ro.backward(np.ones_like(y), cache)
    >>> dh.shape, grads["W_hy"].shape
    ((5, 2, 4), (3, 4))
    """

    def __init__(
        self,
        hidden_size: int,
        output_size: int,
        activation: str = "identity",
        *,
        rng: int | np.random.Generator = 0,
        dtype: object = np.float64,
    ) -> None:
        self.hidden_size = check_positive_int("hidden_size", hidden_size)
        self.output_size = check_positive_int("output_size", output_size)
        self._phi = activations.get(activation, kind="output")
        self.activation = self._phi.name
        self.dtype = as_float_dtype(dtype)
        gen = as_rng(rng)
        k = 1.0 / np.sqrt(self.hidden_size)
        self.params: dict[str, np.ndarray] = {
            "W_hy": gen.uniform(-k, k, size=(self.output_size, self.hidden_size)).astype(
                self.dtype
            ),
            "b_y": np.zeros(self.output_size, dtype=self.dtype),
        }

    def __repr__(self) -> str:
        return f"Readout({self.hidden_size}, {self.output_size}, activation={self.activation!r})"

    def phi(self, z: np.ndarray) -> np.ndarray:
        """``phi_y(z)`` over the last axis."""
        return self._phi.f(z)

    def forward(self, h: np.ndarray) -> tuple[np.ndarray, ReadoutCache]:
        """``h (T, B, H) -> y (T, B, K)`` and a cache holding ``h``, ``z`` and ``y``."""
        h = check_array("h", h, ndim=3, shape=(None, None, self.hidden_size))
        K, H = self.output_size, self.hidden_size
        for name, shape in (("W_hy", (K, H)), ("b_y", (K,))):  # the user may replace them
            check_array(f"params[{name!r}]", self.params.get(name), dtype=self.dtype, shape=shape)
        z = h @ self.params["W_hy"].T + self.params["b_y"]  # (T, B, K)
        y = self.phi(z)  # (T, B, K)
        return y, ReadoutCache(h=h, z=z, y=y)

    def backward(
        self, dout: np.ndarray, cache: ReadoutCache, wrt: str = "y"
    ) -> tuple[np.ndarray, dict[str, np.ndarray]]:
        """Return ``(dL/dh (T, B, H), {"W_hy": ..., "b_y": ...})``.

        ``wrt="y"``: ``dout`` is ``dL/dy`` and is taken back through ``phi_y``;
        ``wrt="z"``: ``dout`` is already ``dL/dz`` (losses computed from logits).
        """
        check_choice("wrt", wrt, ("y", "z"))
        dout = check_array("dout", dout, shape=cache.z.shape)
        dz = dout if wrt == "z" else self._phi.backward(cache.y, dout)  # (T, B, K)
        K, H = self.output_size, self.hidden_size
        grads = {
            "W_hy": dz.reshape(-1, K).T @ cache.h.reshape(-1, H),  # (K, H)
            "b_y": dz.reshape(-1, K).sum(axis=0),  # (K,)
        }
        dh = dz @ self.params["W_hy"]  # (T, B, H)
        return dh, grads


def check_loss_activation(readout: Readout, loss: str) -> None:
    """Raise unless ``readout``'s activation is the one ``loss`` is taken through."""
    need = LOSS_ACTIVATION.get(loss)
    if need is not None and readout.activation != need:
        raise ValueError(
            f"readout.activation: loss {loss!r} needs activation {need!r}, "
            f"got {readout.activation!r}"
        )


def readout_loss(
    readout: Readout,
    h: np.ndarray,
    targets: np.ndarray,
    loss: str,
    mask: np.ndarray | None = None,
    last: np.ndarray | None = None,
) -> tuple[float, np.ndarray, dict[str, np.ndarray], np.ndarray]:
    """Readout, loss and their backward in one call.

    ``loss`` is ``"mse"`` (on ``y = phi_y(z)``), ``"bce"`` (readout activation must be
    ``sigmoid``) or ``"ce"`` (must be ``softmax``); the last two are computed from the logits.
    Returns ``(L, dL/dh (T, B, H), readout grads, y (T, B, K))``.
    """
    return _readout_loss(readout, h, targets, loss, mask, last, grads=True)


def readout_value(
    readout: Readout,
    h: np.ndarray,
    targets: np.ndarray,
    loss: str,
    mask: np.ndarray | None = None,
    last: np.ndarray | None = None,
) -> tuple[float, np.ndarray]:
    """:func:`readout_loss` without the backward (evaluation): ``(L, y (T, B, K))``, the same
    values. An evaluation chunk of 512 sequences of the adding problem skips a 14 MB ``dL/dh``
    this way."""
    value, _, _, y = _readout_loss(readout, h, targets, loss, mask, last, grads=False)
    return value, y


def _readout_loss(readout, h, targets, loss, mask, last, *, grads: bool):
    fn = losses.get(loss)
    check_loss_activation(readout, loss)
    if _fused_applies(readout, h, targets, loss, mask):
        return _fused_readout_loss(readout, h, targets, loss, last, grads)
    y, cache = readout.forward(h)
    if loss == "mse":
        value, dy = fn(y, targets, mask=mask, last=last)
        dh, g = readout.backward(dy, cache, wrt="y") if grads else (None, None)
    else:
        value, dz = fn(cache.z, targets, mask=mask, last=last)
        dh, g = readout.backward(dz, cache, wrt="z") if grads else (None, None)
    return value, dh, g, y


def _fused_applies(readout, h, targets, loss, mask) -> bool:
    """The fused route covers MSE on an identity readout and cross-entropy with class indices,
    without a mask (the trainer's tasks and char models); everything else takes the general
    route above."""
    if mask is not None or not isinstance(h, np.ndarray) or h.ndim != 3:
        return False
    if h.dtype != readout.dtype or h.shape[2] != readout.hidden_size:
        return False
    if loss == "mse":
        return readout.activation == "identity"
    return loss == "ce" and isinstance(targets, np.ndarray) and targets.dtype.kind in "iu"


def _fused_readout_loss(
    readout: Readout,
    h: np.ndarray,
    targets: np.ndarray,
    loss: str,
    last: np.ndarray | None,
    grads: bool,
) -> tuple[float, np.ndarray | None, dict[str, np.ndarray] | None, np.ndarray]:
    """:func:`readout_loss` in fewer passes: softmax and cross-entropy in one loop per row
    (``kernels/_readout.py``), and with ``last`` the backward GEMMs over the B rows that carry a
    target instead of all T*B rows (the others have ``dL/dz = 0``). ``grads=False``: no
    backward (``dL/dh`` and the grads are None)."""
    T, B, H = h.shape
    K = readout.output_size
    W, b = readout.params["W_hy"], readout.params["b_y"]
    h2 = np.ascontiguousarray(h).reshape(T * B, H)  # (T*B, H)
    if loss == "mse" and last is not None and h.dtype == np.float32:
        # float32 only: float64 keeps NumPy's products and their bits (the papers' tables)
        return _mse_last(h2, targets, last, W, b, (T, B, H, K), grads)
    z = h2 @ W.T  # (T*B, K)
    z += b
    if loss == "mse":
        y = z.reshape(T, B, K)  # identity readout: y = z
        value, dz3 = losses.mse(y, targets, last=last)
        dz = dz3.reshape(T * B, K)
    else:
        from .kernels._readout import softmax_ce

        w = losses._weights((T, B), None, last)  # (T, B) weight of each step's loss
        idx = losses._class_indices(targets, (T, B, K), last)  # (T, B)
        value, y2, dz = softmax_ce(z, idx.reshape(-1), w.reshape(-1))
        y = y2.reshape(T, B, K)
    if not grads:
        return value, None, None, y
    if last is None:
        g = {"W_hy": dz.T @ h2, "b_y": dz.sum(axis=0)}  # (K, H), (K,)
        dh = (dz @ W).reshape(T, B, H)
        return value, dh, g, y
    rows = np.asarray(last) * B + np.arange(B)  # the (t, b) rows that carry a target
    dzr, hr = dz[rows], h2[rows]  # (B, K), (B, H)
    g = {"W_hy": dzr.T @ hr, "b_y": dzr.sum(axis=0)}
    dh = np.zeros((T * B, H), dtype=h.dtype)
    dh[rows] = dzr @ W
    return value, dh.reshape(T, B, H), g, y


def _mse_last(h2, targets, last, W, b, shape, grads):
    """MSE at each sequence's last step in one compiled call (``kernels/_readout.py``): the
    general route expands the targets and ``dL/dz`` to all T*B rows, ten NumPy passes."""
    from .kernels._readout import mse_last

    T, B, H, K = shape
    last = check_last(last, T, B)
    o = check_array("targets", targets, ndim=2, shape=(B, K)).astype(h2.dtype, copy=False)
    rows = last * B + np.arange(B)  # the (t, b) rows that carry a target
    value, z, dh, g = mse_last(h2, W, b, np.ascontiguousarray(o), rows, grads)
    return value, (dh.reshape(T, B, H) if grads else None), g, z.reshape(T, B, K)
