"""Recurrent layers: cells stacked in depth, run in one or both directions over time.

Arrays are time-major, as in PyTorch: a sequence is ``(T, B, F)`` and a state is
``(num_layers * num_directions, B, H)`` with row ``layer * num_directions + direction``.
Parameter names are the cells' local names with the layer suffix ``_l{k}`` (and ``_reverse``
for the backward direction), e.g. ``W_hh_l0``, ``b_h_l1_reverse``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from . import kernels
from ._validate import (
    as_float_dtype,
    as_rng,
    check_array,
    check_choice,
    check_finite_float,
    check_positive_int,
)
from .cells import Cell, GRUCell, LSTMCell, RNNCell, reference_backward, reference_forward

StateArg = np.ndarray | tuple[np.ndarray, np.ndarray] | None
BACKENDS = ("fast", "reference")


@dataclass
class LayerCache:
    """What :meth:`RecurrentLayer.forward` keeps for the backward pass.

    ``steps[layer * dirs + d]`` is the cell cache of that layer and direction: arrays with a
    leading time axis in *processing* order (reversed time for the ``_reverse`` direction):
    ``"x"`` (T, B, I_layer), ``"h"`` (T+1, B, H) with ``h[0]`` the initial state, ``"c"`` for
    LSTM, and the cell's aux arrays (``"gates"``, GRU's ``"hn"``).
    """

    steps: list[dict[str, np.ndarray]] = field(default_factory=list)
    input_shape: tuple[int, int, int] = (0, 0, 0)  # (T, B, I) of the layer input


class RecurrentLayer:
    """A stack of ``num_layers`` recurrent layers, optionally bidirectional.

    Use :class:`RNN`, :class:`LSTM` or :class:`GRU`. ``forward(x (T, B, I), state)`` returns
    ``y (T, B, dirs*H)``, the final state (same structure as ``state``) and a cache;
    ``backward(dy, cache, dstate)`` returns ``dx (T, B, I)``, dL/d(initial state) and the
    parameter gradients (same keys and shapes as :attr:`params`).
    """

    def __init__(
        self,
        cell: Cell,
        input_size: int,
        hidden_size: int,
        num_layers: int = 1,
        bidirectional: bool = False,
        rng: int | np.random.Generator = 0,
        dtype: object = np.float64,
        backend: str = "fast",
    ) -> None:
        self.cell = cell
        self.input_size = check_positive_int("input_size", input_size)
        self.hidden_size = check_positive_int("hidden_size", hidden_size)
        self.num_layers = check_positive_int("num_layers", num_layers)
        if not isinstance(bidirectional, (bool, np.bool_)):
            raise TypeError(f"bidirectional: expected a bool, got {type(bidirectional).__name__}")
        self.bidirectional = bool(bidirectional)
        self.dtype = as_float_dtype(dtype)
        self.backend = check_choice("backend", backend, BACKENDS)
        gen = as_rng(rng)
        self.params: dict[str, np.ndarray] = {}
        self._local_names = tuple(cell.param_shapes(1, 1))
        for layer in range(self.num_layers):
            layer_in = self.input_size if layer == 0 else self.hidden_size * self.num_directions
            for d in range(self.num_directions):
                local = cell.init_params(layer_in, self.hidden_size, gen, self.dtype)
                for name, value in local.items():
                    self.params[name + self._suffix(layer, d)] = value

    # -- structure -----------------------------------------------------------------------
    @property
    def num_directions(self) -> int:
        return 2 if self.bidirectional else 1

    @property
    def family(self) -> str:
        return self.cell.family

    @staticmethod
    def _suffix(layer: int, d: int) -> str:
        return f"_l{layer}" + ("_reverse" if d else "")

    def cell_params(self, layer: int, d: int = 0) -> dict[str, np.ndarray]:
        """The parameters of one layer and direction under the cell's local names (views)."""
        sfx = self._suffix(layer, d)
        return {name: self.params[name + sfx] for name in self._local_names}

    def _sequence_fns(self):
        fast = kernels.lookup(self.cell) if self.backend == "fast" else None
        return fast if fast is not None else (reference_forward, reference_backward)

    # -- states --------------------------------------------------------------------------
    def _state_shape(self, batch: int) -> tuple[int, int, int]:
        return (self.num_layers * self.num_directions, batch, self.hidden_size)

    def _split_state(self, state: StateArg, batch: int, name: str = "state") -> list[np.ndarray]:
        """Validate a state argument; return one (L*D, B, H) array per state variable."""
        n = len(self.cell.state_names)
        shape = self._state_shape(batch)
        if state is None:
            return [np.zeros(shape, dtype=self.dtype) for _ in range(n)]
        if n == 1:
            if isinstance(state, tuple):
                raise TypeError(
                    f"{name}: expected one array h of shape {shape} for {self.family}, got a tuple"
                )
            parts = [state]
        else:
            if not isinstance(state, tuple) or len(state) != n:
                raise TypeError(
                    f"{name}: expected a tuple (h, c) of arrays of shape {shape}, "
                    f"got {type(state).__name__}"
                )
            parts = list(state)
        for s_name, part in zip(self.cell.state_names, parts):
            check_array(f"{name} ({s_name})", part, ndim=3, dtype=self.dtype, shape=shape)
        return parts

    def _join_state(self, parts: list[np.ndarray]) -> StateArg:
        return parts[0] if len(parts) == 1 else (parts[0], parts[1])

    # -- forward / backward ----------------------------------------------------------------
    def forward(
        self, x: np.ndarray, state: StateArg = None
    ) -> tuple[np.ndarray, StateArg, LayerCache]:
        """Run the network over ``x (T, B, I)``; return ``y (T, B, dirs*H)``, state, cache."""
        check_array("x", x, ndim=3, dtype=self.dtype, shape=(None, None, self.input_size))
        T, B, _ = x.shape
        if T < 1 or B < 1:
            raise ValueError(f"x: expected at least one time step and one sequence, got {x.shape}")
        init = self._split_state(state, B)
        final = [np.empty_like(s) for s in init]
        fwd, _ = self._sequence_fns()
        cache = LayerCache(input_shape=(T, B, self.input_size))
        inp = x
        for layer in range(self.num_layers):
            outs = []
            for d in range(self.num_directions):
                row = layer * self.num_directions + d
                seq = inp[::-1] if d else inp  # the reverse direction reads time backwards
                y_d, s_T, c = fwd(
                    self.cell, self.cell_params(layer, d), seq, tuple(s[row] for s in init)
                )
                for k, s in enumerate(s_T):
                    final[k][row] = s
                outs.append(y_d[::-1] if d else y_d)
                cache.steps.append(c)
            inp = outs[0] if len(outs) == 1 else np.concatenate(outs, axis=2)  # (T, B, D*H)
        return np.ascontiguousarray(inp), self._join_state(final), cache

    def backward(
        self, dy: np.ndarray, cache: LayerCache, dstate: StateArg = None
    ) -> tuple[np.ndarray, StateArg, dict[str, np.ndarray]]:
        """Backpropagate ``dy = dL/dy (T, B, dirs*H)`` and ``dstate = dL/d(final state)``.

        Returns ``dx (T, B, I)``, ``dL/d(initial state)`` (same structure as the state) and
        ``grads`` with the keys and shapes of :attr:`params`.
        """
        if not isinstance(cache, LayerCache):
            raise TypeError(
                f"cache: expected the LayerCache from forward, got {type(cache).__name__}"
            )
        T, B, _ = cache.input_shape
        H, D = self.hidden_size, self.num_directions
        check_array("dy", dy, ndim=3, dtype=self.dtype, shape=(T, B, D * H))
        dfinal = self._split_state(dstate, B, name="dstate")
        dinit = [np.empty_like(s) for s in dfinal]
        _, bwd = self._sequence_fns()
        grads: dict[str, np.ndarray] = {}
        d_out = dy
        for layer in range(self.num_layers - 1, -1, -1):
            d_in = None
            for d in range(D):
                row = layer * D + d
                dy_d = d_out[:, :, d * H : (d + 1) * H]
                if d:
                    dy_d = dy_d[::-1]
                dx_d, ds0, g = bwd(
                    self.cell,
                    self.cell_params(layer, d),
                    np.ascontiguousarray(dy_d),
                    tuple(s[row] for s in dfinal),
                    cache.steps[row],
                )
                for k, s in enumerate(ds0):
                    dinit[k][row] = s
                for name, value in g.items():
                    grads[name + self._suffix(layer, d)] = value
                if d:
                    dx_d = dx_d[::-1]
                d_in = dx_d if d_in is None else d_in + dx_d
            d_out = d_in
        grads = {name: grads[name] for name in self.params}  # same order as params
        return np.ascontiguousarray(d_out), self._join_state(dinit), grads

    def zero_state(self, batch: int) -> StateArg:
        """The all-zero initial state for ``batch`` sequences."""
        return self._join_state(self._split_state(None, check_positive_int("batch", batch)))

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(input_size={self.input_size}, hidden_size={self.hidden_size}, "
            f"num_layers={self.num_layers}, bidirectional={self.bidirectional}, "
            f"dtype={self.dtype.name}{self._extra_repr()})"
        )

    def _extra_repr(self) -> str:
        return ""


class RNN(RecurrentLayer):
    """Elman RNN layers: ``h_t = phi(W_xh x_t + W_hh h_{t-1} + b_h)``; see :class:`RNNCell`."""

    def __init__(
        self,
        input_size: int,
        hidden_size: int,
        num_layers: int = 1,
        nonlinearity: str = "tanh",
        bidirectional: bool = False,
        rng: int | np.random.Generator = 0,
        dtype: object = np.float64,
        backend: str = "fast",
    ) -> None:
        super().__init__(
            RNNCell(nonlinearity),
            input_size,
            hidden_size,
            num_layers,
            bidirectional,
            rng,
            dtype,
            backend,
        )

    @property
    def nonlinearity(self) -> str:
        return self.cell.nonlinearity

    def _extra_repr(self) -> str:
        return f", nonlinearity={self.nonlinearity!r}"


class LSTM(RecurrentLayer):
    """LSTM layers (gate order ``i, f, g, o``); state is ``(h, c)``; see :class:`LSTMCell`.

    ``forget_bias`` is added to the forget-gate bias at initialisation (Gers et al. 2000 use a
    positive value so that the CEC remembers by default). ``input_bias`` is added to the
    input-gate bias: Hochreiter & Schmidhuber 1997 start it negative (-3, -6 in Exp. 4) so that
    the CEC is closed to the noise of irrelevant inputs until the net learns when to open it.
    """

    def __init__(
        self,
        input_size: int,
        hidden_size: int,
        num_layers: int = 1,
        bidirectional: bool = False,
        peepholes: bool = False,
        forget_gate: bool = True,
        forget_bias: float = 0.0,
        input_bias: float = 0.0,
        rng: int | np.random.Generator = 0,
        dtype: object = np.float64,
        backend: str = "fast",
    ) -> None:
        super().__init__(
            LSTMCell(peepholes=peepholes, forget_gate=forget_gate),
            input_size,
            hidden_size,
            num_layers,
            bidirectional,
            rng,
            dtype,
            backend,
        )
        check_finite_float("forget_bias", forget_bias)
        check_finite_float("input_bias", input_bias)
        if forget_bias and not forget_gate:
            raise ValueError(
                "forget_bias: a forget bias needs forget_gate=True, got forget_gate=False"
            )
        H = self.hidden_size
        for name, value in self.params.items():
            if name.startswith("b_h_"):
                value[:H] += input_bias  # the i block comes first with or without a forget gate
                if forget_bias:
                    value[H : 2 * H] += forget_bias

    @property
    def peepholes(self) -> bool:
        return self.cell.peepholes

    @property
    def forget_gate(self) -> bool:
        return self.cell.forget_gate

    def _extra_repr(self) -> str:
        return f", peepholes={self.peepholes}, forget_gate={self.forget_gate}"


class GRU(RecurrentLayer):
    """GRU layers in PyTorch's formulation (gate order ``r, z, n``); see :class:`GRUCell`."""

    def __init__(
        self,
        input_size: int,
        hidden_size: int,
        num_layers: int = 1,
        bidirectional: bool = False,
        rng: int | np.random.Generator = 0,
        dtype: object = np.float64,
        backend: str = "fast",
    ) -> None:
        super().__init__(
            GRUCell(), input_size, hidden_size, num_layers, bidirectional, rng, dtype, backend
        )
