"""The machinery behind :mod:`rnnlab.layers`: the stack of cells, its states and its caches.

Arrays are time-major, as in PyTorch: a sequence is ``(T, B, F)`` and a state is
``(num_layers * num_directions, B, H)`` with row ``layer * num_directions + direction``.
Parameter names are the cells' local names with the layer suffix ``_l{k}`` (and ``_reverse``
for the backward direction), e.g. ``W_hh_l0``, ``b_h_l1_reverse``. Import these names from
:mod:`rnnlab.layers`.
"""

from __future__ import annotations

import copy
from collections.abc import Iterator
from dataclasses import dataclass, field

import numpy as np

from . import kernels
from ._states import StateArg, join_state, state_parts
from ._validate import (
    as_float_dtype,
    as_rng,
    check_array,
    check_bool,
    check_choice,
    check_index,
    check_instance,
    check_memory,
    check_positive_int,
)
from .cells import Cell, reference_backward, reference_forward

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


@dataclass
class LayerDirection:
    """One layer and direction of a stack, as :meth:`RecurrentLayer.directions` yields it.

    Attributes
    ----------
    layer, direction : int
        Depth index (0 at the input) and direction (1 = ``_reverse``, reads time backwards).
    row : int
        ``layer * num_directions + direction``: its row in a state ``(L*D, B, H)`` and its
        index in :attr:`LayerCache.steps`.
    suffix : str
        ``"_l{layer}"`` plus ``"_reverse"`` for direction 1; ``key`` is it without the ``_``.
    params : dict
        The cell's parameters under local names (views of the layer's arrays).
    cache : dict or None
        Its cell cache from ``forward`` (None when iterating without a cache).
    last : bool
        True for the last direction of its layer: the layer's output is complete after it.
    """

    layer: int
    direction: int
    row: int
    suffix: str
    params: dict[str, np.ndarray]
    cache: dict[str, np.ndarray] | None
    last: bool

    @property
    def key(self) -> str:
        return self.suffix[1:]

    def flip(self, a: np.ndarray) -> np.ndarray:
        """``a`` with its time axis (0) between time order and processing order (a view)."""
        return a[::-1] if self.direction else a

    def take(self, a: np.ndarray, hidden_size: int) -> np.ndarray:
        """This direction's columns of ``a (T, B, D*H)`` in processing order, contiguous."""
        d, H = self.direction, hidden_size
        return np.ascontiguousarray(self.flip(a[:, :, d * H : (d + 1) * H]))


class RecurrentLayer:
    """A stack of ``num_layers`` recurrent layers, optionally bidirectional.

    Use :class:`RNN`, :class:`LSTM` or :class:`GRU`, whose docstrings give the equations,
    inputs, outputs and weight layout. ``forward(x (T, B, I), state)`` returns
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
        *,
        rng: int | np.random.Generator = 0,
        dtype: object = np.float64,
        backend: str = "fast",
    ) -> None:
        self.cell = cell
        self.input_size = check_positive_int("input_size", input_size)
        self.hidden_size = check_positive_int("hidden_size", hidden_size)
        self.num_layers = check_positive_int("num_layers", num_layers)
        self.bidirectional = check_bool("bidirectional", bidirectional)
        self.dtype = as_float_dtype(dtype)
        self.backend = check_choice("backend", backend, BACKENDS)
        gen = as_rng(rng)
        D, H = self.num_directions, self.hidden_size
        widths = self.layer_inputs
        n = sum(int(np.prod(shape)) for w in widths for shape in cell.param_shapes(w, H).values())
        check_memory("hidden_size", 2.0 * D * n * self.dtype.itemsize, "the parameters")
        self.params: dict[str, np.ndarray] = {}
        self._local_names = tuple(cell.param_shapes(1, 1))
        for layer, layer_in in enumerate(widths):
            for d in range(self.num_directions):
                local = cell.init_params(layer_in, self.hidden_size, rng=gen, dtype=self.dtype)
                for name, value in local.items():
                    self.params[name + self._suffix(layer, d)] = value
        self._shapes = {name: a.shape for name, a in self.params.items()}

    def check_params(self, finite: bool = True) -> None:
        """Check that :attr:`params` still holds every array with its shape and dtype (and, with
        ``finite``, no NaN/inf): a user may replace or edit the arrays in place. Run once at the
        start of every :meth:`forward`, so a wrong array is an error naming it, never wrong
        numbers or a message from deep inside a kernel."""
        if not isinstance(self.params, dict) or set(self.params) != set(self._shapes):
            got = sorted(self.params) if isinstance(self.params, dict) else type(self.params)
            raise ValueError(f"params: expected the keys {sorted(self._shapes)}, got {got}")
        for name, shape in self._shapes.items():
            check_array(
                f"params[{name!r}]", self.params[name], dtype=self.dtype, shape=shape, finite=finite
            )

    # -- structure -----------------------------------------------------------------------
    @property
    def num_directions(self) -> int:
        return 2 if self.bidirectional else 1

    @property
    def layer_inputs(self) -> tuple[int, ...]:
        """The input size of each stacked layer: ``input_size``, then ``dirs * hidden_size``."""
        return (self.input_size,) + (self.num_directions * self.hidden_size,) * (
            self.num_layers - 1
        )

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

    def layer_views(self) -> list[RecurrentLayer]:
        """One single-layer :class:`RecurrentLayer` per stacked layer, holding this stack's own
        parameter arrays (not copies: an update of either shows in both). Layer ``l`` of the
        stack is view ``l``'s layer 0, so running the views in turn is running the stack (the
        same bits); apart, they can run on different threads.

        >>> import rnnlab
        >>> lstm = rnnlab.LSTM(2, 3, num_layers=2)
        >>> top = lstm.layer_views()[1]
        >>> top.input_size, top.num_layers, top.params["W_hh_l0"] is lstm.params["W_hh_l1"]
        (3, 1, True)
        """
        views = []
        for layer, width in enumerate(self.layer_inputs):
            view = copy.copy(self)
            view.num_layers, view.input_size = 1, width
            view.params = {
                name + self._suffix(0, d): self.params[name + self._suffix(layer, d)]
                for d in range(self.num_directions)
                for name in self._local_names
            }
            view._shapes = {name: a.shape for name, a in view.params.items()}
            views.append(view)
        return views

    def directions(
        self, cache: LayerCache | None = None, *, top_down: bool = False
    ) -> Iterator[LayerDirection]:
        """Every (layer, direction) with its parameters and, given ``cache``, its cell cache.

        Bottom layer first, as the forward pass runs; ``top_down=True`` for the backward pass.
        Directions run 0 then 1 within a layer; :attr:`LayerDirection.last` marks the end of a
        layer. The iteration is lazy, so a loop may compute what the next layer reads.

        >>> import rnnlab
        >>> lstm = rnnlab.LSTM(2, 3, num_layers=2, bidirectional=True)
        >>> [(u.key, u.row, u.last) for u in lstm.directions(top_down=True)]
        [('l1', 2, False), ('l1_reverse', 3, True), ('l0', 0, False), ('l0_reverse', 1, True)]
        >>> sorted(lstm.direction(1, 1).params)
        ['W_hh', 'W_xh', 'b_h']
        """
        if cache is not None:
            self._check_cache(cache)
        order = range(self.num_layers - 1, -1, -1) if top_down else range(self.num_layers)
        for layer in order:
            for d in range(self.num_directions):
                yield self._direction(layer, d, cache)

    def direction(
        self, layer_index: int = 0, direction: int = 0, cache: LayerCache | None = None
    ) -> LayerDirection:
        """One (layer, direction) of :meth:`directions`; its cell cache if ``cache`` is given."""
        check_index("layer_index", layer_index, self.num_layers, "a layer")
        check_index("direction", direction, self.num_directions, "a direction")
        if cache is not None:
            self._check_cache(cache)
        return self._direction(int(layer_index), int(direction), cache)

    def _direction(self, layer: int, d: int, cache: LayerCache | None) -> LayerDirection:
        row = layer * self.num_directions + d
        return LayerDirection(
            layer,
            d,
            row,
            self._suffix(layer, d),
            self.cell_params(layer, d),
            None if cache is None else cache.steps[row],
            d == self.num_directions - 1,
        )

    def _check_cache(self, cache: object) -> None:
        check_instance("cache", cache, LayerCache, "the LayerCache from forward")
        n = self.num_layers * self.num_directions
        if len(cache.steps) != n:
            raise ValueError(
                f"cache: expected {n} layer-direction caches for this layer, got {len(cache.steps)}"
            )

    def _sequence_fns(self):
        fast = kernels.lookup(self.cell) if self.backend == "fast" else None
        return fast if fast is not None else (reference_forward, reference_backward)

    # -- states --------------------------------------------------------------------------
    def _state_shape(self, batch: int) -> tuple[int, int, int]:
        return (self.num_layers * self.num_directions, batch, self.hidden_size)

    def split_state(self, state: StateArg, batch: int, name: str = "state") -> list[np.ndarray]:
        """Validate a state argument; return one ``(L*D, B, H)`` array per state variable.

        ``None`` gives zeros. ``name`` is the argument the errors name (``"dstate"``, ...).
        """
        n = len(self.cell.state_names)
        shape = self._state_shape(batch)
        if state is None:
            return [np.zeros(shape, dtype=self.dtype) for _ in range(n)]
        if n == 1 and isinstance(state, tuple):
            raise TypeError(
                f"{name}: expected one array h of shape {shape} for {self.family}, got a tuple"
            )
        if n > 1 and (not isinstance(state, tuple) or len(state) != n):
            raise TypeError(
                f"{name}: expected a tuple (h, c) of arrays of shape {shape}, "
                f"got {type(state).__name__}"
            )
        parts = state_parts(state)
        for s_name, part in zip(self.cell.state_names, parts):
            check_array(f"{name} ({s_name})", part, ndim=3, dtype=self.dtype, shape=shape)
        return parts

    # -- forward / backward ----------------------------------------------------------------
    def forward(
        self, x: np.ndarray, state: StateArg = None, *, check: bool = True, keep_cache: bool = True
    ) -> tuple[np.ndarray, StateArg, LayerCache | None]:
        """Run the network over ``x (T, B, I)``; return ``y (T, B, dirs*H)``, state, cache.

        ``check=False`` skips the finiteness check of the parameters (their shapes are always
        checked): for callers that run many one-step forwards with parameters checked once.
        ``keep_cache=False`` (evaluation: no backward pass follows) returns ``None`` for the
        cache; kernels that can run without one (the LSTM's) then keep only ``h`` and ``c``.
        """
        self.check_params(finite=check)
        check_array("x", x, ndim=3, dtype=self.dtype, shape=(None, None, self.input_size))
        T, B, _ = x.shape
        if T < 1 or B < 1:
            raise ValueError(f"x: expected at least one time step and one sequence, got {x.shape}")
        init = self.split_state(state, B)
        final = [np.empty_like(s) for s in init]
        fwd, _ = self._sequence_fns()
        infer = None if keep_cache else getattr(fwd, "infer", None)
        cache = LayerCache(input_shape=(T, B, self.input_size))
        inp, outs = x, []
        for u in self.directions():
            # the reverse direction reads time backwards
            args = (self.cell, u.params, u.flip(inp), tuple(s[u.row] for s in init))
            if infer is not None:
                (y_d, s_T), c = infer(*args), None
            else:
                y_d, s_T, c = fwd(*args)
            for k, s in enumerate(s_T):
                final[k][u.row] = s
            outs.append(u.flip(y_d))
            cache.steps.append(c)
            if u.last:
                inp = outs[0] if len(outs) == 1 else np.concatenate(outs, axis=2)  # (T, B, D*H)
                outs = []
        return np.ascontiguousarray(inp), join_state(final), cache if keep_cache else None

    def backward(
        self,
        dy: np.ndarray,
        cache: LayerCache,
        dstate: StateArg = None,
        *,
        need_dx: bool = True,
        check: bool = True,
    ) -> tuple[np.ndarray | None, StateArg, dict[str, np.ndarray]]:
        """Backpropagate ``dy = dL/dy (T, B, dirs*H)`` and ``dstate = dL/d(final state)``.

        Returns ``dx (T, B, I)``, ``dL/d(initial state)`` (same structure as the state) and
        ``grads`` with the keys and shapes of :attr:`params`. ``need_dx=False`` (a model whose
        input needs no gradient) returns ``dx = None``; the fast kernels then skip its GEMM.
        ``check=False`` skips the finiteness check of ``dy`` (its shape is always checked): for
        callers that made ``dy`` themselves, where a NaN shows in the gradients anyway.
        """
        self._check_cache(cache)
        T, B, I = cache.input_shape
        if I != self.input_size:
            raise ValueError(
                f"cache: expected the cache of this layer's forward (input size "
                f"{self.input_size}), got one of input size {I}"
            )
        H, D = self.hidden_size, self.num_directions
        check_array("dy", dy, ndim=3, dtype=self.dtype, shape=(T, B, D * H), finite=check)
        dfinal = self.split_state(dstate, B, name="dstate")
        dinit = [np.empty_like(s) for s in dfinal]
        _, bwd = self._sequence_fns()
        grads: dict[str, np.ndarray] = {}
        d_out, d_in = dy, None
        skip = not need_dx and getattr(bwd, "skips_dx", False)
        for u in self.directions(cache, top_down=True):
            args = (self.cell, u.params, u.take(d_out, H), tuple(s[u.row] for s in dfinal), u.cache)
            if skip and u.layer == 0:
                dx_d, ds0, g = bwd(*args, need_dx=False)
            else:
                dx_d, ds0, g = bwd(*args)
            for k, s in enumerate(ds0):
                dinit[k][u.row] = s
            for name, value in g.items():
                grads[name + u.suffix] = value
            if dx_d is not None:
                dx_d = u.flip(dx_d)
                if d_in is None:
                    d_in = dx_d
                else:  # into the first direction's dx (the kernel's own array): no new one
                    d_in += dx_d
            if u.last:  # the layer below reads the sum over both directions
                d_out, d_in = d_in, None
        grads = {name: grads[name] for name in self.params}  # same order as params
        dx = None if d_out is None or not need_dx else np.ascontiguousarray(d_out)
        return dx, join_state(dinit), grads

    def zero_state(self, batch: int) -> StateArg:
        """The all-zero initial state for ``batch`` sequences."""
        return join_state(self.split_state(None, check_positive_int("batch", batch)))

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(input_size={self.input_size}, hidden_size={self.hidden_size}, "
            f"num_layers={self.num_layers}, bidirectional={self.bidirectional}, "
            f"dtype={self.dtype.name}{self._extra_repr()})"
        )

    def _extra_repr(self) -> str:
        return ""
