"""Vanilla (Elman) RNN cell."""

from __future__ import annotations

from typing import Any

import numpy as np

from .. import activations
from .base import Cell, Params, State


class RNNCell(Cell):
    r"""Elman recurrent cell (seed 004, 003; identity phi is seed 002's linear system).

    .. math::
        z_t = W_{xh} x_t + W_{hh} h_{t-1} + b_h, \qquad h_t = \phi_h(z_t)

    Parameters (PyTorch layout, rows are hidden units): ``W_xh (H, I)``, ``W_hh (H, H)``,
    ``b_h (H,)``. ``phi_h`` is one of ``tanh, sigmoid, relu, identity``. Backward:

    .. math::
        dz_t = dh_t \odot \phi'(z_t), \quad dW_{xh} \mathrel{+}= dz_t^T x_t, \quad
        dW_{hh} \mathrel{+}= dz_t^T h_{t-1}, \quad dh_{t-1} = dz_t W_{hh}, \quad dx_t = dz_t W_{xh}

    One-step Jacobian (seed 004): ``dh_t/dh_{t-1} = diag(phi'(z_t)) W_hh``, ``phi'`` read off
    ``h_t``.
    """

    family = "rnn"
    gates = ("h",)

    def __init__(self, nonlinearity: str = "tanh") -> None:
        self.phi = activations.get(nonlinearity, kind="hidden")
        self.nonlinearity = nonlinearity

    def step(self, p: Params, x_t: np.ndarray, state: State) -> tuple[State, dict[str, Any]]:
        (h_prev,) = state
        z = x_t @ p["W_xh"].T + h_prev @ p["W_hh"].T + p["b_h"]  # (B, H)
        h = self.phi.f(z)  # (B, H)
        return (h,), {}

    def step_backward(self, p, x_t, prev, new, aux, dnew, grads):
        (h_prev,), (h,), (dh,) = prev, new, dnew
        dz = dh * self.phi.df_from_y(h)  # (B, H)      h = phi(z)
        grads["W_xh"] += dz.T @ x_t  # (H, I)          z = W_xh x + ...
        grads["W_hh"] += dz.T @ h_prev  # (H, H)       ... + W_hh h_prev ...
        grads["b_h"] += dz.sum(axis=0)  # (H,)         ... + b_h
        dx = dz @ p["W_xh"]  # (B, I)
        dh_prev = dz @ p["W_hh"]  # (B, H)
        return dx, (dh_prev,)

    def step_jacobian(self, p, prev, new, aux):
        (h,) = new
        return self.phi.df_from_y(h)[:, None] * p["W_hh"]  # (H, H) diag(phi'(z_t)) W_hh
