"""Long short-term memory cell."""

from __future__ import annotations

from typing import Any

import numpy as np

from ..activations import sigmoid
from .base import Cell, Params, State


class LSTMCell(Cell):
    r"""LSTM cell: the constant error carousel (CEC) with input, forget and output gates.

    Gate order in the stacked weights is PyTorch's ``i, f, g, o`` (seed 002, 003):

    .. math::
        a_t &= W_{xh} x_t + W_{hh} h_{t-1} + b_h \quad (4H = [a_i, a_f, a_g, a_o]) \\
        i_t &= \sigma(a_i + w_{ic} \odot c_{t-1}), \quad f_t = \sigma(a_f + w_{fc} \odot c_{t-1}),
        \quad g_t = \tanh(a_g) \\
        c_t &= f_t \odot c_{t-1} + i_t \odot g_t \\
        o_t &= \sigma(a_o + w_{oc} \odot c_t), \qquad h_t = o_t \odot \tanh(c_t)

    ``forget_gate=False`` is the original 1997 LSTM: no ``f`` block (gates ``i, g, o``) and
    ``c_t = c_{t-1} + i_t g_t``, the pure CEC. ``peepholes=True`` adds the peephole terms
    (``w_ic, w_fc, w_oc``, each ``(H,)``); without them those terms are absent. The notes write
    the peepholes as matrices ``W_fC C``; like Gers, Schraudolph & Schmidhuber (2002) and most
    libraries we use diagonal (per-unit) peepholes, so each cell sees only its own CEC.

    Parameters: ``W_xh (G*H, I)``, ``W_hh (G*H, H)``, ``b_h (G*H,)`` with G = 4 (or 3 without
    a forget gate). The backward follows the notes' ``LSTM_cell.backward`` line by line.

    One-step Jacobian of the state ``(h, c)`` (``'`` marks step t-1; ``i' = i (1 - i)`` etc.
    are the gates' derivatives):

    .. math::
        \frac{\partial c_t}{\partial c_{t-1}} &= \mathrm{diag}(f_t + g_t i'_t w_{ic}
            + c_{t-1} f'_t w_{fc}), \qquad
        \frac{\partial c_t}{\partial h_{t-1}} = \mathrm{diag}(g_t i'_t) W_{hi}
            + \mathrm{diag}(i_t (1 - g_t^2)) W_{hg} + \mathrm{diag}(c_{t-1} f'_t) W_{hf} \\
        \frac{\partial h_t}{\partial c_t} &= \mathrm{diag}(o_t (1 - \tanh^2 c_t)
            + \tanh(c_t) o'_t w_{oc}), \qquad
        \frac{\partial h_t}{\partial h_{t-1}} = \mathrm{diag}(\tanh(c_t) o'_t) W_{ho}
            + \frac{\partial h_t}{\partial c_t} \frac{\partial c_t}{\partial h_{t-1}}

    (``f_t = 1`` and no ``W_hf`` term without a forget gate; no ``w`` terms without
    peepholes). :meth:`step_jacobian_blocks` returns the four blocks, the diagonal ones as
    vectors; :meth:`step_jacobian` the dense ``(2H, 2H)`` matrix.
    """

    family = "lstm"
    state_names = ("h", "c")
    aux_names = ("gates",)

    def __init__(self, peepholes: bool = False, forget_gate: bool = True) -> None:
        self.peepholes = bool(peepholes)
        self.forget_gate = bool(forget_gate)
        self.gates = ("i", "f", "g", "o") if self.forget_gate else ("i", "g", "o")

    def param_shapes(self, input_size: int, hidden_size: int) -> dict[str, tuple[int, ...]]:
        shapes = super().param_shapes(input_size, hidden_size)
        if self.peepholes:
            shapes["w_ic"] = (hidden_size,)
            if self.forget_gate:
                shapes["w_fc"] = (hidden_size,)
            shapes["w_oc"] = (hidden_size,)
        return shapes

    def step(self, p: Params, x_t: np.ndarray, state: State) -> tuple[State, dict[str, Any]]:
        h_prev, c_prev = state
        a = x_t @ p["W_xh"].T + h_prev @ p["W_hh"].T + p["b_h"]  # (B, G*H)
        blocks = self.split_gates(a)  # each (B, H)
        a_i, a_g, a_o = blocks["i"], blocks["g"], blocks["o"]
        if self.peepholes:
            a_i = a_i + p["w_ic"] * c_prev
        i = sigmoid(a_i)  # input gate
        g = np.tanh(a_g)  # candidate input ("detecting input pattern")
        if self.forget_gate:
            a_f = blocks["f"] + p["w_fc"] * c_prev if self.peepholes else blocks["f"]
            f = sigmoid(a_f)  # forget gate
            c = f * c_prev + i * g  # (B, H)
        else:
            f = None
            c = c_prev + i * g  # (B, H) the 1997 CEC: self-connection fixed at 1
        if self.peepholes:
            a_o = a_o + p["w_oc"] * c
        o = sigmoid(a_o)  # output gate
        h = o * np.tanh(c)  # (B, H)
        gates = np.concatenate([i, f, g, o] if f is not None else [i, g, o], axis=1)  # (B, G*H)
        return (h, c), {"gates": gates}

    def step_backward(self, p, x_t, prev, new, aux, dnew, grads):
        h_prev, c_prev = prev
        _, c = new
        dh, dc_next = dnew
        blocks = self.split_gates(aux["gates"])
        i, g, o = blocks["i"], blocks["g"], blocks["o"]
        tanh_c = np.tanh(c)  # (B, H)
        do = dh * tanh_c  # h = o * tanh(c)
        dc = dc_next + dh * o * (1.0 - tanh_c * tanh_c)  # (B, H)
        da_o = do * o * (1.0 - o)  # o = sigmoid(a_o + w_oc c)
        if self.peepholes:
            dc += da_o * p["w_oc"]
            grads["w_oc"] += (da_o * c).sum(axis=0)
        di = dc * g  # c = f c_prev + i g
        dg = dc * i
        da_i = di * i * (1.0 - i)  # i = sigmoid(a_i + w_ic c_prev)
        da_g = dg * (1.0 - g * g)  # g = tanh(a_g)
        if self.forget_gate:
            f = blocks["f"]
            dc_prev = dc * f  # the CEC path, scaled by the forget gate
            da_f = dc * c_prev * f * (1.0 - f)  # f = sigmoid(a_f + w_fc c_prev)
            da = np.concatenate([da_i, da_f, da_g, da_o], axis=1)  # (B, 4H)
        else:
            dc_prev = dc.copy()  # the pure CEC carries the error unchanged
            da = np.concatenate([da_i, da_g, da_o], axis=1)  # (B, 3H)
        if self.peepholes:
            dc_prev += da_i * p["w_ic"]
            grads["w_ic"] += (da_i * c_prev).sum(axis=0)
            if self.forget_gate:
                dc_prev += da_f * p["w_fc"]
                grads["w_fc"] += (da_f * c_prev).sum(axis=0)
        grads["W_xh"] += da.T @ x_t  # (G*H, I)   a = W_xh x + W_hh h_prev + b_h
        grads["W_hh"] += da.T @ h_prev  # (G*H, H)
        grads["b_h"] += da.sum(axis=0)  # (G*H,)
        dx = da @ p["W_xh"]  # (B, I)
        dh_prev = da @ p["W_hh"]  # (B, H)
        return dx, (dh_prev, dc_prev)

    def step_jacobian_blocks(
        self, p: Params, prev: State, new: State, aux: dict[str, np.ndarray]
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """The blocks of ``d(h_t, c_t) / d(h_{t-1}, c_{t-1})`` of one sequence.

        ``prev = (h_{t-1}, c_{t-1})``, ``new = (h_t, c_t)``, each ``(H,)``; ``aux["gates"]``
        ``(G*H,)`` post-activation gates. Returns ``dh/dh' (H, H)``, ``dh/dc' (H,)``,
        ``dc/dh' (H, H)`` and ``dc/dc' (H,)`` (the two right blocks are diagonal).
        """
        c_prev, c = prev[1], new[1]
        gates = self.split_gates(aux["gates"])
        ii, g, o = gates["i"], gates["g"], gates["o"]
        H = c.shape[-1]
        W = {k: p["W_hh"][self.gate_slice(k, H)] for k in self.gates}  # (H, H) each
        di = ii * (1.0 - ii)  # sigmoid' of the input gate
        dc_dc = gates["f"].copy() if self.forget_gate else np.ones_like(c)
        dc_dh = (g * di)[:, None] * W["i"] + (ii * (1.0 - g * g))[:, None] * W["g"]
        if self.peepholes:
            dc_dc += g * di * p["w_ic"]
        if self.forget_gate:
            f = gates["f"]
            df = f * (1.0 - f)
            dc_dh += (c_prev * df)[:, None] * W["f"]
            if self.peepholes:
                dc_dc += c_prev * df * p["w_fc"]
        tc = np.tanh(c)
        do = o * (1.0 - o)
        dh_dcnew = o * (1.0 - tc * tc)  # h = o tanh(c)
        if self.peepholes:
            dh_dcnew = dh_dcnew + tc * do * p["w_oc"]  # o sees c_t through its peephole
        dh_dh = (tc * do)[:, None] * W["o"] + dh_dcnew[:, None] * dc_dh
        return dh_dh, dh_dcnew * dc_dc, dc_dh, dc_dc

    def step_jacobian(self, p, prev, new, aux):
        dh_dh, dh_dc, dc_dh, dc_dc = self.step_jacobian_blocks(p, prev, new, aux)
        return np.block([[dh_dh, np.diag(dh_dc)], [dc_dh, np.diag(dc_dc)]])  # (2H, 2H)
