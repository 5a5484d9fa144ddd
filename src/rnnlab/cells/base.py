"""What every cell family provides, and the readable reference loop over time.

A *cell* is one layer and one direction of a recurrent network at one time step. It owns its
equations (class docstring), its parameter shapes and one reference step forward and backward.
The loop over time lives here, once, for all cells; the fast kernels in ``rnnlab.kernels`` replace
exactly these two functions (same arguments, same cache, same results).

Local parameter names inside a cell are the notes' names without layer suffix
(``W_xh, W_hh, b_h, ...``); ``rnnlab.layers`` adds ``_l{k}`` / ``_l{k}_reverse``.

Gated cells stack their gate blocks along the rows of ``W_xh``, ``W_hh`` and ``b_h`` (LSTM
``i, f, g, o``; GRU ``r, z, n``). :func:`gate_slice` is the one place that turns a gate name into
its rows; everything else (initialisers, layers, diagnostics) asks it.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from typing import Any

import numpy as np

State = tuple[np.ndarray, ...]  # (h,) or (h, c), each (B, H)
Params = dict[str, np.ndarray]


def block_slice(k: int, hidden_size: int) -> slice:
    """Rows of the ``k``-th ``(H, ...)`` block in a stack of gate blocks: ``k*H : (k+1)*H``."""
    return slice(k * hidden_size, (k + 1) * hidden_size)


def gate_slice(gates: Sequence[str], gate: str, hidden_size: int) -> slice:
    """Rows of gate ``gate`` in weights stacked in the order ``gates``.

    >>> gate_slice(("i", "f", "g", "o"), "f", 3)
    slice(3, 6, None)
    """
    if gate not in gates:
        raise ValueError(f"gate: expected one of {', '.join(gates)}; got {gate!r}")
    return block_slice(tuple(gates).index(gate), hidden_size)


class Cell(ABC):
    """Interface of a cell family. Subclasses set ``family``, ``gates`` and ``state_names``."""

    family: str = ""
    gates: tuple[str, ...] = ()  # gate blocks stacked in W_xh / W_hh rows, in order
    state_names: tuple[str, ...] = ("h",)  # ("h",) or ("h", "c")
    aux_names: tuple[str, ...] = ()  # extra per-step arrays kept for the backward pass

    def gate_slice(self, gate: str, hidden_size: int) -> slice:
        """Rows of gate ``gate`` in ``W_xh (G*H, I)``, ``W_hh (G*H, H)``, ``b_h (G*H,)``."""
        return gate_slice(self.gates, gate, hidden_size)

    def split_gates(self, a: np.ndarray) -> dict[str, np.ndarray]:
        """Views of the gate blocks of ``a (..., G*H)`` along its last axis, keyed by gate."""
        H = a.shape[-1] // len(self.gates)
        return {g: a[..., block_slice(k, H)] for k, g in enumerate(self.gates)}

    def param_shapes(self, input_size: int, hidden_size: int) -> dict[str, tuple[int, ...]]:
        """Shapes of the cell's parameters, keyed by local name."""
        G, I, H = len(self.gates), input_size, hidden_size
        return {"W_xh": (G * H, I), "W_hh": (G * H, H), "b_h": (G * H,)}

    def init_params(
        self, input_size: int, hidden_size: int, *, rng: np.random.Generator, dtype: np.dtype
    ) -> Params:
        """PyTorch's default: every entry U(-1/sqrt(H), 1/sqrt(H))."""
        k = 1.0 / np.sqrt(hidden_size)
        return {
            name: rng.uniform(-k, k, size=shape).astype(dtype)
            for name, shape in self.param_shapes(input_size, hidden_size).items()
        }

    @abstractmethod
    def step(self, p: Params, x_t: np.ndarray, state: State) -> tuple[State, dict[str, Any]]:
        """One step forward: ``x_t (B, I)``, state -> new state and the aux arrays of this step."""

    @abstractmethod
    def step_backward(
        self,
        p: Params,
        x_t: np.ndarray,
        prev: State,
        new: State,
        aux: dict[str, np.ndarray],
        dnew: State,
        grads: Params,
    ) -> tuple[np.ndarray, State]:
        """Invert one step: dL/d(new state) -> (dx_t, dL/d(prev state)); adds into ``grads``."""

    @abstractmethod
    def step_jacobian(
        self, p: Params, prev: State, new: State, aux: dict[str, np.ndarray]
    ) -> np.ndarray:
        """``d(new state) / d(prev state)`` of one step of one sequence.

        ``prev``, ``new``: the states before and after the step, each part ``(H,)``; ``aux``:
        this step's aux arrays for that sequence (e.g. ``"gates" (G*H,)``). Returns
        ``(S*H, S*H)`` with the state parts in :attr:`state_names` order (S = 1, or 2 for the
        LSTM's ``(h, c)``); row ``j`` is the derivative of new unit ``j``.
        """


def reference_forward(
    cell: Cell, p: Params, x: np.ndarray, state0: State
) -> tuple[np.ndarray, State, dict[str, np.ndarray]]:
    """Run ``cell`` over ``x (T, B, I)`` from ``state0``, one readable step at a time.

    Returns ``y (T, B, H)`` (the hidden states h_1..h_T), the final state and the cache: ``"x"``
    (T, B, I), ``"h"`` (T+1, B, H) with ``h[0]`` the initial state, ``"c"`` (T+1, B, H) for an
    LSTM, and the cell's aux arrays with a leading time axis (T, ...).
    """
    T, B = x.shape[:2]
    H = state0[0].shape[1]
    traj = {name: np.empty((T + 1, B, H), dtype=x.dtype) for name in cell.state_names}
    for name, s in zip(cell.state_names, state0):
        traj[name][0] = s
    aux_t: list[dict[str, Any]] = []
    state = state0
    for t in range(T):
        state, aux = cell.step(p, x[t], state)
        for name, s in zip(cell.state_names, state):
            traj[name][t + 1] = s
        aux_t.append(aux)
    cache: dict[str, np.ndarray] = {"x": x, **traj}
    for name in cell.aux_names:
        cache[name] = np.stack([a[name] for a in aux_t])
    return traj["h"][1:], state, cache


def reference_backward(
    cell: Cell, p: Params, dy: np.ndarray, dstate_T: State, cache: dict[str, np.ndarray]
) -> tuple[np.ndarray, State, Params]:
    """Backpropagate through time over the whole sequence held in ``cache``.

    ``dy (T, B, H)`` is dL/dh_t from above (the output or the next layer); ``dstate_T`` is
    dL/d(final state). Returns ``dx (T, B, I)``, dL/d(initial state) and the parameter gradients.
    """
    x = cache["x"]
    T = x.shape[0]
    grads = {name: np.zeros_like(value) for name, value in p.items()}
    dx = np.empty_like(x)  # (T, B, I)
    dnext = tuple(d.copy() for d in dstate_T)  # (dh_next,) or (dh_next, dc_next)
    traj = [cache[name] for name in cell.state_names]
    for t in range(T - 1, -1, -1):
        dnew = (dnext[0] + dy[t], *dnext[1:])  # h_t feeds both the output and step t+1
        prev = tuple(s[t] for s in traj)
        new = tuple(s[t + 1] for s in traj)
        aux = {name: cache[name][t] for name in cell.aux_names}
        dx[t], dnext = cell.step_backward(p, x[t], prev, new, aux, dnew, grads)
    return dx, dnext, grads
