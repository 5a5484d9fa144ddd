"""Pascanu, Mikolov & Bengio's (2013) regulariser Omega, which asks BPTT to keep the error norm.

The paper (eq. 9), with ``delta_k = dE/dx_k`` the error at the state after ``k`` steps:

.. math::
    \\Omega = \\sum_k \\left( \\frac{\\| \\delta_{k} \\, \\partial x_{k} / \\partial x_{k-1} \\|}
                                {\\| \\delta_{k} \\|} - 1 \\right)^2

It is small when the one-step Jacobian neither shrinks nor grows the error it carries back,
i.e. when gradients neither vanish nor explode over that step. Only the explicit dependence on
``W_hh`` is differentiated: ``delta_k`` and the states are constants (the paper's Sec. 3.3 says
so, and the authors' code does it by substituting them after taking the gradient).

Which version is computed. The authors' code (``pascanur/trainingRNNs``, ``RNN.py``) differs from
eq. 9 in three ways, and this module follows the code, because its numbers (Fig. 7) come from it:

1. *squared* norms: ``r_k = ||a_k W_hh||^2 / ||delta_k||^2`` with ``a_k = delta_k * phi'(z_k)``
   (rnnlab's ``W_hh (H, H)`` acts as ``h_{k-1} @ W_hh.T``, so ``a_k @ W_hh`` is the error carried
   back to ``h_{k-1}``); the square root costs a division and changes neither the minimum nor
   the sign of the gradient;
2. a step whose error is negligible (``||delta_k||^2 < bound = 1e-20``, e.g. every step after
   the last target, or before it in a vanished network) counts as ``r_k = 1``: it adds nothing,
   instead of a ratio of two round-off errors;
3. the sum over steps of the batch-mean term is divided by the number of counted steps (the sum
   over steps of the fraction of the batch above ``bound``), so ``alpha`` does not scale with
   the sequence length.

Gated cells (LSTM, GRU). The paper defines Omega for ``x_k = W_hh phi(x_{k-1}) + ...``. Here the
same formula runs with ``a_k`` the error at the recurrent pre-activations ``u_k = W_hh h_{k-1}``
(all gate blocks, ``(B, G*H)``; the GRU's ``n`` block is ``W_hn h_{k-1} + b_hn``) and
``delta_k = dL/dh_k``: ``r_k`` compares the error that flows back to ``h_{k-1}`` *through W_hh*
with the error at ``h_k``. The paths that bypass ``W_hh`` (the LSTM's cell state ``c_{k-1} ->
c_k``, the GRU's ``z * h_{k-1}``) are left out of the numerator, because they are what keeps the
error there already; Omega then pulls only the ``W_hh`` path toward norm preservation.
"""

from __future__ import annotations

import numpy as np

from ._validate import check_array
from .cells.base import Cell
from .layers import LayerCache, RecurrentLayer

BOUND = 1e-20  # the authors' code: squared error norms below this count as "no error here"


def omega_and_grad(
    W_hh: np.ndarray, a: np.ndarray, delta: np.ndarray, bound: float = BOUND
) -> tuple[float, np.ndarray]:
    """Omega and dOmega/dW_hh with ``a`` and ``delta`` held constant.

    Parameters
    ----------
    W_hh : (G*H, H) recurrent weights (rows: gate units, columns: previous hidden units).
    a : (T, B, G*H) error at the recurrent pre-activations at step k = 1..T
        (vanilla RNN: ``delta_k * phi'(z_k)``).
    delta : (T, B, H) dL/dh_k for k = 1..T.
    bound : squared error norms below this count as ``r_k = 1`` (no term).

    Returns
    -------
    (omega, dW) : float and ``(G*H, H)``.
    """
    W_hh = check_array("W_hh", W_hh, ndim=2)
    # an exploding error is data, not bad input: it makes Omega non-finite, and the trainer
    # stops on the non-finite gradient norm
    check_array("delta", delta, ndim=3, shape=(None, None, W_hh.shape[1]), finite=False)
    T, B = delta.shape[:2]
    check_array("a", a, ndim=3, shape=(T, B, W_hh.shape[0]), finite=False)
    v = a @ W_hh  # (T, B, H): the error a_k carries back to h_{k-1} through W_hh
    num = np.einsum("tbh,tbh->tb", v, v)  # ||a_k W_hh||^2
    den = np.einsum("tbh,tbh->tb", delta, delta)  # ||delta_k||^2
    counted = den >= bound  # (T, B)
    n = counted.mean(axis=1).sum()  # counted steps (batch fractions summed over time)
    if n == 0:
        return 0.0, np.zeros_like(W_hh)
    safe = np.where(counted, den, 1.0)
    r = np.where(counted, num / safe, 1.0)  # (T, B)
    omega = float(((r - 1.0) ** 2).mean(axis=1).sum() / n)
    # d(r-1)^2/dW = 2 (r-1) * 2 a^T v / ||delta||^2, averaged over the batch, over n steps
    coef = np.where(counted, 4.0 * (r - 1.0) / safe, 0.0) / (B * n)  # (T, B)
    ca = (coef[..., None] * a).reshape(T * B, -1)  # (T*B, G*H)
    dW = ca.T @ v.reshape(T * B, -1)  # (G*H, H): sum over steps and sequences, one GEMM
    return omega, dW.astype(W_hh.dtype, copy=False)


def step_errors(
    cell: Cell, p: dict[str, np.ndarray], cache: dict[str, np.ndarray], dy: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Run BPTT through one layer-direction and keep every step's errors.

    Parameters
    ----------
    cell, p, cache : the cell, its local parameters and its cache (``layer.direction(..., cache)``).
    dy : (T, B, H) dL/dh_k from above, in processing order.

    Returns
    -------
    delta : (T, B, H) total dL/dh_k, k = 1..T (through the output at k and all later steps).
    a : (T, B, G*H) error at the recurrent pre-activations ``W_hh h_{k-1}`` of step k.
    """
    x = cache["x"]
    T, B = x.shape[:2]
    H = p["W_hh"].shape[1]
    GH = p["W_hh"].shape[0]
    traj = [cache[name] for name in cell.state_names]
    delta = np.empty((T, B, H), dtype=x.dtype)
    a = np.empty((T, B, GH), dtype=x.dtype)
    scratch = {k: np.zeros_like(v) for k, v in p.items()}
    # step_backward returns dh_prev = (direct paths) + a_k @ W_hh; with W_hh replaced by the
    # selector of one gate block it returns that block of a_k instead, so the cell's own
    # backward (and no copy of its math) gives a_k for every family.
    selectors = []
    for g in range(GH // H):
        sel = np.zeros_like(p["W_hh"])
        sel[g * H : (g + 1) * H] = np.eye(H, dtype=sel.dtype)
        selectors.append({**p, "W_hh": sel})
    p_zero = {**p, "W_hh": np.zeros_like(p["W_hh"])}
    dnext = tuple(np.zeros((B, H), dtype=x.dtype) for _ in cell.state_names)
    for t in range(T - 1, -1, -1):
        dnew = (dnext[0] + dy[t], *dnext[1:])
        delta[t] = dnew[0]
        prev = tuple(s[t] for s in traj)
        new = tuple(s[t + 1] for s in traj)
        aux = {name: cache[name][t] for name in cell.aux_names}
        args = (x[t], prev, new, aux, dnew, scratch)
        _, (direct, *_) = cell.step_backward(p_zero, *args)
        for g, sp in enumerate(selectors):
            _, (dh_sel, *_) = cell.step_backward(sp, *args)
            a[t, :, g * H : (g + 1) * H] = dh_sel - direct
        _, dnext = cell.step_backward(p, *args)
    return delta, a


def rnn_step_errors(cell: Cell, p, cache, dy) -> tuple[np.ndarray, np.ndarray]:
    """:func:`step_errors` for a vanilla RNN cell, vectorised where it can be: ``a_k =
    delta_k * phi'(z_k)`` with ``phi'`` read off ``h_k``; the recursion
    ``delta_{k-1} = dy_{k-1} + a_k W_hh`` stays a loop."""
    h = cache["h"]  # (T+1, B, H)
    df = cell.phi.df_from_y(h[1:])  # (T, B, H)
    T = dy.shape[0]
    delta = np.empty_like(dy)
    a = np.empty_like(dy)
    carry = np.zeros_like(dy[0])
    W = p["W_hh"]
    for t in range(T - 1, -1, -1):
        delta[t] = carry + dy[t]
        a[t] = delta[t] * df[t]
        carry = a[t] @ W
    return delta, a


def layer_omega(
    layer: RecurrentLayer, cache: LayerCache, dy: np.ndarray, bound: float = BOUND
) -> tuple[float, np.ndarray]:
    """Omega and dOmega/dW_hh_l0 of a one-layer, one-direction layer after a forward pass.

    ``dy (T, B, H)``: dL/dh_k from the readout. Returns ``(omega, dW_hh (G*H, H))``.
    """
    if layer.num_layers != 1 or layer.num_directions != 1:
        raise ValueError(
            "omega: expected a one-layer, one-direction network (the paper's), got "
            f"{layer.num_layers} layer(s), {layer.num_directions} direction(s)"
        )
    unit = layer.direction(0, 0, cache)
    cell, p = layer.cell, unit.params
    fn = rnn_step_errors if cell.family == "rnn" else step_errors
    delta, a = fn(cell, p, unit.cache, dy)
    return omega_and_grad(p["W_hh"], a, delta, bound)


def add_omega(model, x, targets, alpha: float, grads: dict[str, np.ndarray], **loss_kw) -> float:
    """Add ``alpha * dOmega/dW_hh`` into ``grads["W_hh_l0"]`` for the batch ``x, targets``.

    ``model``: an :class:`rnnlab.SequenceModel`; ``loss_kw``: ``mask`` / ``last`` / ``state`` as
    for its ``loss_and_grads``. The forward pass is run again (the fast kernels keep no per-step
    errors); the readout gives dL/dh_k. Returns Omega's value.
    """
    from .readout import readout_loss

    state = loss_kw.pop("state", None)
    h, _, lcache = model.layer.forward(x, state)
    _, dh, _, _ = readout_loss(model.readout, h, targets, model.loss, **loss_kw)
    omega, dW = layer_omega(model.layer, lcache, dh)
    grads["W_hh_l0"] += alpha * dW
    return omega
