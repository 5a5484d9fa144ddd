"""Gated recurrent unit cell."""

from __future__ import annotations

from typing import Any

import numpy as np

from ..activations import sigmoid
from .base import Cell, Params, State


class GRUCell(Cell):
    r"""Gated recurrent unit in PyTorch's formulation (gate order ``r, z, n``; seed 002).

    .. math::
        r_t &= \sigma(W_{xr} x_t + b_r + W_{hr} h_{t-1}) \\
        z_t &= \sigma(W_{xz} x_t + b_z + W_{hz} h_{t-1}) \\
        n_t &= \tanh(W_{xn} x_t + b_n + r_t \odot (W_{hn} h_{t-1} + b_{hn})) \\
        h_t &= (1 - z_t) \odot n_t + z_t \odot h_{t-1}

    The notes write ``h_t = (1 - z) h_{t-1} + z h~``: the same cell with ``z`` and ``1 - z``
    swapped. Parameters: ``W_xh (3H, I)``, ``W_hh (3H, H)``, ``b_h (3H,)`` (PyTorch's
    ``b_ih`` plus the r and z parts of ``b_hh``) and ``b_hn (H,)``, which must stay separate
    because the reset gate multiplies it.

    One-step Jacobian (``r' = r (1 - r)``, ``z' = z (1 - z)``):

    .. math::
        \frac{\partial h_t}{\partial h_{t-1}} = \mathrm{diag}(z_t)
            + \mathrm{diag}((h_{t-1} - n_t) z'_t) W_{hz}
            + \mathrm{diag}((1 - z_t)(1 - n_t^2))
              \left(\mathrm{diag}(hn_t\, r'_t) W_{hr} + \mathrm{diag}(r_t) W_{hn}\right)

    with ``hn_t = W_hn h_{t-1} + b_hn``.
    """

    family = "gru"
    gates = ("r", "z", "n")
    aux_names = ("gates", "hn")

    def param_shapes(self, input_size: int, hidden_size: int) -> dict[str, tuple[int, ...]]:
        shapes = super().param_shapes(input_size, hidden_size)
        shapes["b_hn"] = (hidden_size,)
        return shapes

    def step(self, p: Params, x_t: np.ndarray, state: State) -> tuple[State, dict[str, Any]]:
        (h_prev,) = state
        a_x = self.split_gates(x_t @ p["W_xh"].T + p["b_h"])  # each (B, H)
        a_h = self.split_gates(h_prev @ p["W_hh"].T)  # each (B, H)
        r = sigmoid(a_x["r"] + a_h["r"])  # reset gate
        z = sigmoid(a_x["z"] + a_h["z"])  # update gate
        hn = a_h["n"] + p["b_hn"]  # (B, H)
        n = np.tanh(a_x["n"] + r * hn)  # candidate
        h = (1.0 - z) * n + z * h_prev  # (B, H)
        return (h,), {"gates": np.concatenate([r, z, n], axis=1), "hn": hn}

    def step_backward(self, p, x_t, prev, new, aux, dnew, grads):
        (h_prev,), (dh,) = prev, dnew
        r, z, n = self.split_gates(aux["gates"]).values()  # each (B, H)
        hn = aux["hn"]  # (B, H)
        dn = dh * (1.0 - z)  # h = (1 - z) n + z h_prev
        dz = dh * (h_prev - n)
        dh_prev = dh * z
        da_n = dn * (1.0 - n * n)  # n = tanh(a_n + r hn)
        dr = da_n * hn
        dhn = da_n * r  # hn = W_hn h_prev + b_hn
        da_r = dr * r * (1.0 - r)  # r = sigmoid(.)
        da_z = dz * z * (1.0 - z)  # z = sigmoid(.)
        da_x = np.concatenate([da_r, da_z, da_n], axis=1)  # (B, 3H)
        da_h = np.concatenate([da_r, da_z, dhn], axis=1)  # (B, 3H)
        grads["W_xh"] += da_x.T @ x_t  # (3H, I)
        grads["W_hh"] += da_h.T @ h_prev  # (3H, H)
        grads["b_h"] += da_x.sum(axis=0)  # (3H,)
        grads["b_hn"] += dhn.sum(axis=0)  # (H,)
        dx = da_x @ p["W_xh"]  # (B, I)
        dh_prev = dh_prev + da_h @ p["W_hh"]  # (B, H)
        return dx, (dh_prev,)

    def step_jacobian(self, p, prev, new, aux):
        (h_prev,) = prev
        r, z, n = self.split_gates(aux["gates"]).values()  # each (H,)
        hn = aux["hn"]  # (H,)
        H = h_prev.shape[-1]
        W_hr, W_hz, W_hn = (p["W_hh"][self.gate_slice(k, H)] for k in self.gates)
        dn = (1.0 - z) * (1.0 - n * n)
        J = ((h_prev - n) * z * (1.0 - z))[:, None] * W_hz
        J += (dn * hn * r * (1.0 - r))[:, None] * W_hr
        J += (dn * r)[:, None] * W_hn
        J[np.diag_indices_from(J)] += z
        return J  # (H, H)
