"""Recurrent layers: cells stacked in depth, run in one or both directions over time.

Arrays are time-major, as in PyTorch: a sequence is ``(T, B, F)`` and a state is
``(num_layers * num_directions, B, H)`` with row ``layer * num_directions + direction``.
Parameter names are the cells' local names with the layer suffix ``_l{k}`` (and ``_reverse``
for the backward direction), e.g. ``W_hh_l0``, ``b_h_l1_reverse``.

:meth:`RecurrentLayer.directions` walks the (layer, direction) pairs with their parameters and
caches; :func:`state_parts` / :meth:`RecurrentLayer.split_state` turn a state argument into
arrays.
"""

from __future__ import annotations

import numpy as np

from ._stack import BACKENDS, LayerCache, LayerDirection, RecurrentLayer
from ._states import StateArg, join_state, state_parts
from ._validate import check_finite_float
from .cells import GRUCell, LSTMCell, RNNCell
from .init import set_gate_bias

__all__ = [
    "BACKENDS",
    "GRU",
    "LSTM",
    "LayerCache",
    "LayerDirection",
    "RNN",
    "RecurrentLayer",
    "StateArg",
    "join_state",
    "state_parts",
]


class RNN(RecurrentLayer):
    r"""Elman RNN layers (seed 004), stacked ``num_layers`` deep, optionally bidirectional.

    Each layer computes, for every step ``t`` (see :class:`~rnnlab.cells.RNNCell`):

    .. math::
        h_t = \phi_h(W_{xh} x_t + W_{hh} h_{t-1} + b_h)

    where ``x_t`` is the input (layer 0) or the layer below's output (``num_directions * H``
    wide) and ``phi_h`` is ``nonlinearity``.

    Parameters
    ----------
    input_size : int
        Features ``I`` of ``x``.
    hidden_size : int
        Units ``H`` per layer and direction.
    num_layers : int, default 1
        Depth of the stack.
    nonlinearity : {"tanh", "sigmoid", "relu", "identity"}, default "tanh"
    bidirectional : bool, default False
        Add a ``_reverse`` direction that reads time backwards; outputs are concatenated.
    rng : int or numpy.random.Generator, keyword-only, default 0
        Seed or generator for the initial weights (every entry ``U(-1/sqrt(H), 1/sqrt(H))``).
    dtype : numpy.float32 or numpy.float64, keyword-only, default float64
    backend : {"fast", "reference"}, keyword-only, default "fast"
        The compiled whole-sequence kernels or the readable NumPy step loop (same results).

    Inputs (:meth:`forward`)
    ------------------------
    x : ndarray (T, B, I)
        Time-major input sequences of dtype ``dtype``.
    state : ndarray or None
        Initial state, ``(num_layers * num_directions, B, H)`` each, row
        ``layer * num_directions + direction``; None for zeros.

    Outputs (:meth:`forward`)
    -------------------------
    y : ndarray (T, B, num_directions * H)
        The top layer's ``h_t`` at every step; the ``_reverse`` direction's half is in time order.
    state : ndarray or None
        Final state, same structure and shapes as the initial one (the ``_reverse`` direction's
        final state is its state after reading ``x_1``).
    cache : LayerCache
        Everything :meth:`backward` needs; ``backward(dy, cache, dstate)`` returns
        ``dx (T, B, I)``, dL/d(initial state) and ``grads``, a dict with the keys and shapes of
        :attr:`params`.
    Attributes
    ----------
    params : dict of str to ndarray
        ``W_xh_l{k} (H, I_k)``, ``W_hh_l{k} (H, H)``, ``b_h_l{k} (H,)`` for each layer
        ``k`` (``I_0 = I``, ``I_k = num_directions * H`` above), and the same with suffix
        ``_reverse``. PyTorch's layout: rows are hidden units; ``b_h`` is PyTorch's
        ``b_ih + b_hh``.
    cell : RNNCell
        The equations and the reference step.

    Examples
    --------
    >>> import numpy as np
    >>> import rnnlab
    >>> rnn = rnnlab.RNN(3, 5, num_layers=2, nonlinearity="tanh", rng=0)
    >>> x = np.random.default_rng(0).standard_normal((7, 4, 3))  # (T, B, I)
    >>> y, h, cache = rnn.forward(x)
    >>> y.shape, h.shape
    ((7, 4, 5), (2, 4, 5))
    >>> dx, dh0, grads = rnn.backward(np.ones_like(y), cache)
    >>> dx.shape, sorted(grads) == sorted(rnn.params)
    ((7, 4, 3), True)
    """

    def __init__(
        self,
        input_size: int,
        hidden_size: int,
        num_layers: int = 1,
        nonlinearity: str = "tanh",
        bidirectional: bool = False,
        *,
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
            rng=rng,
            dtype=dtype,
            backend=backend,
        )

    @property
    def nonlinearity(self) -> str:
        return self.cell.nonlinearity

    def _extra_repr(self) -> str:
        return f", nonlinearity={self.nonlinearity!r}"


class LSTM(RecurrentLayer):
    r"""LSTM layers (gate order ``i, f, g, o``, as PyTorch), stacked, optionally bidirectional.

    Each layer computes, for every step ``t`` (see :class:`~rnnlab.cells.LSTMCell`):

    .. math::
        i_t &= \sigma(W_{xi} x_t + W_{hi} h_{t-1} + b_i + w_{ic} \odot c_{t-1}) \\
        f_t &= \sigma(W_{xf} x_t + W_{hf} h_{t-1} + b_f + w_{fc} \odot c_{t-1}) \\
        g_t &= \tanh(W_{xg} x_t + W_{hg} h_{t-1} + b_g) \\
        c_t &= f_t \odot c_{t-1} + i_t \odot g_t \\
        o_t &= \sigma(W_{xo} x_t + W_{ho} h_{t-1} + b_o + w_{oc} \odot c_t) \\
        h_t &= o_t \odot \tanh(c_t)

    The peephole terms ``w_?c`` are present only with ``peepholes=True``; with
    ``forget_gate=False`` (the 1997 LSTM) there is no ``f`` and ``c_t = c_{t-1} + i_t g_t``.

    Parameters
    ----------
    input_size : int
        Features ``I`` of ``x``.
    hidden_size : int
        Cells ``H`` per layer and direction.
    num_layers : int, default 1
    bidirectional : bool, default False
    peepholes : bool, default False
        Diagonal peepholes ``w_ic, w_fc, w_oc`` (Gers, Schraudolph & Schmidhuber 2002).
    forget_gate : bool, default True
        False gives Hochreiter & Schmidhuber's 1997 cell (gates ``i, g, o``).
    forget_bias : float, default 0.0
        Added to the forget gate's bias at initialisation (Gers et al. 2000 use a positive
        value so that the CEC remembers by default); needs ``forget_gate=True``.
    input_bias : float, default 0.0
        Added to the input gate's bias: Hochreiter & Schmidhuber 1997 start it negative
        (-3, -6 in Exp. 4) so that the CEC is closed to irrelevant inputs until the net
        learns when to open it.
    rng : int or numpy.random.Generator, keyword-only, default 0
        Seed or generator for the initial weights (``U(-1/sqrt(H), 1/sqrt(H))``).
    dtype : numpy.float32 or numpy.float64, keyword-only, default float64
    backend : {"fast", "reference"}, keyword-only, default "fast"

    Inputs (:meth:`forward`)
    ------------------------
    x : ndarray (T, B, I)
        Time-major input sequences of dtype ``dtype``.
    state : tuple (h, c) of ndarrays, or None
        Initial state, ``(num_layers * num_directions, B, H)`` each, row
        ``layer * num_directions + direction``; None for zeros.

    Outputs (:meth:`forward`)
    -------------------------
    y : ndarray (T, B, num_directions * H)
        The top layer's ``h_t`` at every step; the ``_reverse`` direction's half is in time order.
    state : tuple (h, c) of ndarrays, or None
        Final state, same structure and shapes as the initial one (the ``_reverse`` direction's
        final state is its state after reading ``x_1``).
    cache : LayerCache
        Everything :meth:`backward` needs; ``backward(dy, cache, dstate)`` returns
        ``dx (T, B, I)``, dL/d(initial state) and ``grads``, a dict with the keys and shapes of
        :attr:`params`.
    Attributes
    ----------
    params : dict of str to ndarray
        For each layer ``k`` (``I_0 = I``, ``I_k = num_directions * H`` above), with
        ``G = 4`` (``i, f, g, o``) or 3 (``i, g, o`` without a forget gate):
        ``W_xh_l{k} (G*H, I_k)``, ``W_hh_l{k} (G*H, H)``, ``b_h_l{k} (G*H,)`` (PyTorch's
        ``b_ih + b_hh``) and with peepholes ``w_ic_l{k}, w_fc_l{k}, w_oc_l{k} (H,)``; the
        same with suffix ``_reverse``. :meth:`~rnnlab.cells.Cell.gate_slice` gives a gate's rows.
    cell : LSTMCell

    Examples
    --------
    >>> import numpy as np
    >>> import rnnlab
    >>> lstm = rnnlab.LSTM(3, 4, num_layers=2, bidirectional=True, forget_bias=1.0, rng=0)
    >>> lstm.params["W_hh_l0"].shape, lstm.params["W_xh_l1_reverse"].shape
    ((16, 4), (16, 8))
    >>> x = np.random.default_rng(0).standard_normal((6, 2, 3))  # (T, B, I)
    >>> y, (h, c), cache = lstm.forward(x)
    >>> y.shape, h.shape, c.shape
    ((6, 2, 8), (4, 2, 4), (4, 2, 4))
    >>> dx, (dh0, dc0), grads = lstm.backward(np.ones_like(y), cache)
    >>> grads["W_hh_l0"].shape
    (16, 4)
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
        *,
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
            rng=rng,
            dtype=dtype,
            backend=backend,
        )
        check_finite_float("forget_bias", forget_bias)
        check_finite_float("input_bias", input_bias)
        if forget_bias and not forget_gate:
            raise ValueError(
                "forget_bias: a forget bias needs forget_gate=True, got forget_gate=False"
            )
        if input_bias:
            set_gate_bias(self.params, self.cell, "i", input_bias, add=True, name="input_bias")
        if forget_bias:
            set_gate_bias(self.params, self.cell, "f", forget_bias, add=True, name="forget_bias")

    @property
    def peepholes(self) -> bool:
        return self.cell.peepholes

    @property
    def forget_gate(self) -> bool:
        return self.cell.forget_gate

    def _extra_repr(self) -> str:
        return f", peepholes={self.peepholes}, forget_gate={self.forget_gate}"


class GRU(RecurrentLayer):
    r"""GRU layers in PyTorch's formulation (gate order ``r, z, n``), stacked, bidirectional.

    Each layer computes, for every step ``t`` (see :class:`~rnnlab.cells.GRUCell`):

    .. math::
        r_t &= \sigma(W_{xr} x_t + b_r + W_{hr} h_{t-1}) \\
        z_t &= \sigma(W_{xz} x_t + b_z + W_{hz} h_{t-1}) \\
        n_t &= \tanh(W_{xn} x_t + b_n + r_t \odot (W_{hn} h_{t-1} + b_{hn})) \\
        h_t &= (1 - z_t) \odot n_t + z_t \odot h_{t-1}

    Parameters
    ----------
    input_size : int
        Features ``I`` of ``x``.
    hidden_size : int
        Units ``H`` per layer and direction.
    num_layers : int, default 1
    bidirectional : bool, default False
    rng : int or numpy.random.Generator, keyword-only, default 0
        Seed or generator for the initial weights (``U(-1/sqrt(H), 1/sqrt(H))``).
    dtype : numpy.float32 or numpy.float64, keyword-only, default float64
    backend : {"fast", "reference"}, keyword-only, default "fast"

    Inputs (:meth:`forward`)
    ------------------------
    x : ndarray (T, B, I)
        Time-major input sequences of dtype ``dtype``.
    state : ndarray or None
        Initial state, ``(num_layers * num_directions, B, H)`` each, row
        ``layer * num_directions + direction``; None for zeros.

    Outputs (:meth:`forward`)
    -------------------------
    y : ndarray (T, B, num_directions * H)
        The top layer's ``h_t`` at every step; the ``_reverse`` direction's half is in time order.
    state : ndarray or None
        Final state, same structure and shapes as the initial one (the ``_reverse`` direction's
        final state is its state after reading ``x_1``).
    cache : LayerCache
        Everything :meth:`backward` needs; ``backward(dy, cache, dstate)`` returns
        ``dx (T, B, I)``, dL/d(initial state) and ``grads``, a dict with the keys and shapes of
        :attr:`params`.
    Attributes
    ----------
    params : dict of str to ndarray
        For each layer ``k``: ``W_xh_l{k} (3H, I_k)``, ``W_hh_l{k} (3H, H)`` (rows
        ``r, z, n``), ``b_h_l{k} (3H,)`` (PyTorch's ``b_ih`` plus the ``r, z`` parts of
        ``b_hh``) and ``b_hn_l{k} (H,)`` (the ``n`` part of ``b_hh``, kept apart because
        ``r_t`` multiplies it); the same with suffix ``_reverse``.
    cell : GRUCell

    Examples
    --------
    >>> import numpy as np
    >>> import rnnlab
    >>> gru = rnnlab.GRU(3, 5, rng=0)
    >>> sorted(gru.params)
    ['W_hh_l0', 'W_xh_l0', 'b_h_l0', 'b_hn_l0']
    >>> y, h, cache = gru.forward(np.zeros((4, 2, 3)))
    >>> y.shape, h.shape
    ((4, 2, 5), (1, 2, 5))
    """

    def __init__(
        self,
        input_size: int,
        hidden_size: int,
        num_layers: int = 1,
        bidirectional: bool = False,
        *,
        rng: int | np.random.Generator = 0,
        dtype: object = np.float64,
        backend: str = "fast",
    ) -> None:
        super().__init__(
            GRUCell(),
            input_size,
            hidden_size,
            num_layers,
            bidirectional,
            rng=rng,
            dtype=dtype,
            backend=backend,
        )
