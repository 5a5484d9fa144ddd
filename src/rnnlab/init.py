"""Weight initialisers with an explicit ``rng``, and :func:`initialize` for a layer's params dict.

Shapes follow PyTorch: a weight is ``(fan_out, fan_in)``. Gated cells stack their gate blocks
along the rows (LSTM ``i, f, g, o``; GRU ``r, z, n``); the recurrent schemes are applied to each
``(H, H)`` block of ``W_hh`` on its own, as a gate is its own small recurrent map.
"""

from __future__ import annotations

import numbers

import numpy as np

from ._validate import (
    as_float_dtype,
    as_rng,
    check_array,
    check_bool,
    check_choice,
    check_finite_float,
    check_positive_float,
)
from .cells import Cell, GRUCell, LSTMCell, RNNCell
from .cells.base import block_slice, gate_slice

SCHEMES = ("uniform", "xavier", "orthogonal", "identity")
CELLS = ("rnn", "lstm", "gru")


def _shape2(shape: object) -> tuple[int, int]:
    if (
        not isinstance(shape, tuple)
        or len(shape) != 2
        or not all(isinstance(s, numbers.Integral) and s > 0 for s in shape)
    ):
        raise ValueError(f"shape: expected a tuple of two positive ints, got {shape!r}")
    return int(shape[0]), int(shape[1])


def uniform(
    shape: tuple[int, ...],
    a: float,
    *,
    rng: int | np.random.Generator,
    dtype: object = np.float64,
) -> np.ndarray:
    """Entries ``U(-a, a)``.

    >>> uniform((2, 3), 0.1, rng=0).shape
    (2, 3)
    """
    a = check_positive_float("a", a)
    return as_rng(rng).uniform(-a, a, size=shape).astype(as_float_dtype(dtype))


def xavier(
    shape: tuple[int, int],
    *,
    rng: int | np.random.Generator,
    gain: float = 1.0,
    dtype: object = np.float64,
) -> np.ndarray:
    """Glorot & Bengio 2010 uniform: ``U(-a, a)``, ``a = gain sqrt(6 / (fan_in + fan_out))``."""
    fan_out, fan_in = _shape2(shape)
    gain = check_positive_float("gain", gain)
    return uniform(shape, gain * np.sqrt(6.0 / (fan_in + fan_out)), rng=rng, dtype=dtype)


def orthogonal(
    shape: tuple[int, int],
    *,
    rng: int | np.random.Generator,
    gain: float = 1.0,
    dtype: object = np.float64,
) -> np.ndarray:
    """Saxe et al. 2014: QR of a Gaussian matrix, columns' signs fixed by ``sign(diag(R))``.

    The sign fix makes the result Haar-distributed. Non-square shapes get orthonormal rows or
    columns, whichever there are fewer of.

    >>> Q = orthogonal((4, 4), rng=0)
    >>> bool(np.allclose(Q @ Q.T, np.eye(4)))
    True
    """
    rows, cols = _shape2(shape)
    gain = check_positive_float("gain", gain)
    a = as_rng(rng).standard_normal((max(rows, cols), min(rows, cols)))
    q, r = np.linalg.qr(a)
    q *= np.where(np.diag(r) < 0, -1.0, 1.0)  # column signs
    if rows < cols:
        q = q.T
    return (gain * q).astype(as_float_dtype(dtype))


def identity(
    shape: tuple[int, int], scale: float = 1.0, *, dtype: object = np.float64
) -> np.ndarray:
    """``scale * I`` (IRNN, Le, Jaitly & Hinton 2015); rectangular shapes: ones on the diagonal."""
    rows, cols = _shape2(shape)
    scale = check_positive_float("scale", scale)
    return scale * np.eye(rows, cols, dtype=as_float_dtype(dtype))


def spectral_radius(W: np.ndarray) -> float:
    """``max |eigenvalue|`` of a square matrix."""
    W = check_array("W", W, ndim=2)
    if W.shape[0] != W.shape[1]:
        raise ValueError(f"W: expected a square matrix, got shape {W.shape}")
    return float(np.max(np.abs(np.linalg.eigvals(W.astype(np.float64)))))


def scale_spectral_radius(W: np.ndarray, rho: float) -> np.ndarray:
    """``W * rho / spectral_radius(W)``: the same matrix with spectral radius ``rho``."""
    rho = check_positive_float("rho", rho)
    current = spectral_radius(W)
    if current == 0:
        raise ValueError("W: expected a matrix with a non-zero eigenvalue, got spectral radius 0")
    return (W * (rho / current)).astype(W.dtype)


def scale_recurrent_blocks(params: dict[str, np.ndarray], radius: float) -> dict[str, np.ndarray]:
    """Rescale each ``(H, H)`` gate block of every ``W_hh*`` to spectral radius ``radius``.

    In place and in the array's dtype.
    A gate block is its own small recurrent map, so each is scaled on its own (the stacked
    ``(G*H, H)`` matrix has no spectrum). ``H`` is read off the shape ``(G*H, H)``.
    Returns ``params``.

    >>> p = {"W_hh_l0": orthogonal((8, 4), rng=0)}
    >>> _ = scale_recurrent_blocks(p, 0.5)
    >>> round(spectral_radius(p["W_hh_l0"][4:8]), 6)
    0.5
    """
    radius = check_positive_float("radius", radius)
    _check_params(params)
    for key, W in params.items():
        if not key.startswith("W_hh"):
            continue
        check_array(f"params[{key!r}]", W, ndim=2)
        H = W.shape[1]
        if W.shape[0] % H:
            raise ValueError(f"params[{key!r}]: expected shape (G*H, H), got {W.shape}")
        for k in range(W.shape[0] // H):
            sl = block_slice(k, H)
            W[sl] = scale_spectral_radius(W[sl], radius)
    return params


def set_gate_bias(
    params: dict[str, np.ndarray],
    cell: Cell | str,
    gate: str,
    value: float,
    *,
    add: bool = False,
    name: str = "value",
) -> dict[str, np.ndarray]:
    """Set (or, with ``add=True``, add to) gate ``gate``'s rows of every stacked bias ``b_h*``.

    ``params`` is a layer's dict (keys with ``_l{k}`` / ``_reverse`` suffixes) or one cell's.
    ``cell`` is a :class:`~rnnlab.cells.Cell` (its ``gates`` give the order) or a family name
    ``"rnn"``, ``"lstm"``, ``"gru"``, whose gates are then read off each ``W_hh``'s shape (an
    LSTM has ``i, f, g, o``, or ``i, g, o`` without a forget gate). The GRU's separate
    ``b_hn`` is not a stacked bias and is left alone. ``name`` is the argument the error
    messages name (e.g. ``"forget_bias"``). Returns ``params``; nothing changes on an error.

    >>> import rnnlab
    >>> lstm = rnnlab.LSTM(2, 3, rng=0)
    >>> _ = set_gate_bias(lstm.params, lstm.cell, "f", 1.0)
    >>> lstm.params["b_h_l0"][3:6]
    array([1., 1., 1.])
    """
    value = check_finite_float(name, value)
    check_bool("add", add)
    for key, sl in _bias_rows(params, cell, gate, name).items():
        if add:
            params[key][sl] += value
        else:
            params[key][sl] = value
    return params


def _bias_rows(
    params: dict[str, np.ndarray], cell: Cell | str, gate: str, name: str
) -> dict[str, slice]:
    """``{key: rows of gate}`` for every stacked bias ``b_h*`` (not ``b_hn``) in ``params``."""
    _check_params(params)
    rows = {}
    for key in params:
        if not key.startswith("b_h") or key.startswith("b_hn"):
            continue
        gates = cell.gates if isinstance(cell, Cell) else _cell_gates(params, key, cell)
        if gate not in gates:
            raise ValueError(
                f"{name}: params[{key!r}] has {len(gates)} gate blocks ({', '.join(gates)}), "
                f"none is {gate!r}"
            )
        rows[key] = gate_slice(gates, gate, params[key].shape[0] // len(gates))
    return rows


def _check_params(params: object) -> None:
    if not isinstance(params, dict) or not params:
        raise TypeError("params: expected a non-empty dict of numpy arrays")


def _gates(cell: str, W_hh: np.ndarray, key: str) -> tuple[int, int]:
    """(number of gate blocks G, hidden size H) from a ``W_hh`` of shape (G*H, H)."""
    GH, H = W_hh.shape
    G, rem = divmod(GH, H)
    allowed = {"rnn": (1,), "lstm": (3, 4), "gru": (3,)}[cell]
    if rem or G not in allowed:
        raise ValueError(
            f"params[{key!r}]: expected shape (G*H, H) with G in {allowed} for cell {cell!r}, "
            f"got {W_hh.shape}"
        )
    return G, H


def _cell_gates(params: dict[str, np.ndarray], key: str, cell: str) -> tuple[str, ...]:
    """Gate names of the layer that ``key`` belongs to, for a family name ``cell``."""
    cell = check_choice("cell", cell, CELLS)
    G = _gate_count(params, key, cell)
    if cell == "lstm":
        return LSTMCell(forget_gate=G == 4).gates
    return {"rnn": RNNCell, "gru": GRUCell}[cell]().gates


def initialize(
    params: dict[str, np.ndarray],
    scheme: str,
    rng: int | np.random.Generator,
    *,
    radius: float | None = None,
    forget_bias: float | None = None,
    cell: str = "lstm",
    input_bias: float | None = None,
) -> dict[str, np.ndarray]:
    """Apply ``scheme`` to a recurrent layer's params in place (the arrays keep their identity).

    By key (any ``_l{k}`` / ``_reverse`` suffix):

    - ``W_hh*`` (recurrent): per ``(H, H)`` gate block, ``uniform`` ``U(+-1/sqrt(H))``,
      ``xavier``, ``orthogonal`` or ``identity``; then, if ``radius`` is given, each block is
      rescaled to that spectral radius (:func:`scale_recurrent_blocks`).
    - ``W_xh*`` (input): per gate block, ``U(+-1/sqrt(H))`` for ``uniform``, Xavier for
      ``xavier`` and ``orthogonal``, and ``N(0, 0.001^2)`` for ``identity`` (Le et al. 2015).
    - ``b_*`` biases (``b_h``, GRU's ``b_hn``): zero; then, for an LSTM with a forget gate
      (``i, f, g, o``), the ``f`` rows of ``b_h`` are ``forget_bias`` if given; for any LSTM,
      the ``i`` rows are ``input_bias`` if given (:func:`set_gate_bias`).
    - LSTM peephole weights ``w_ic, w_fc, w_oc``: zero.

    ``cell`` is ``"rnn"``, ``"lstm"`` or ``"gru"``. Returns ``params``.

    >>> import rnnlab
    >>> lstm = rnnlab.LSTM(2, 4, rng=0)
    >>> _ = initialize(lstm.params, "orthogonal", rng=1, radius=0.9, forget_bias=1.0)
    >>> round(spectral_radius(lstm.params["W_hh_l0"][:4]), 6), float(lstm.params["b_h_l0"][4])
    (0.9, 1.0)
    """
    scheme = check_choice("scheme", scheme, SCHEMES)
    cell = check_choice("cell", cell, CELLS)
    gen = as_rng(rng)
    if radius is not None:
        radius = check_positive_float("radius", radius)
    biases = {"f": ("forget_bias", forget_bias), "i": ("input_bias", input_bias)}
    for name, bias in biases.values():
        if bias is None:
            continue
        check_finite_float(name, bias)
        if cell != "lstm":
            raise ValueError(f"{name}: only an LSTM has this gate, got cell={cell!r}")
    _check_params(params)
    for gate, (name, bias) in biases.items():
        if bias is not None:
            _bias_rows(params, cell, gate, name)  # check before anything changes
    # Sort so that the result depends only on the keys, not on the dict's insertion order.
    for key in sorted(params):
        a = params[key]
        check_array(f"params[{key!r}]", a)
        if key.startswith("W_hh"):
            G, H = _gates(cell, a, key)
            full = np.empty((G * H, H))  # float64 until the blocks are scaled, then cast
            for g in range(G):
                if scheme == "uniform":
                    new = uniform((H, H), 1.0 / np.sqrt(H), rng=gen)
                elif scheme == "xavier":
                    new = xavier((H, H), rng=gen)
                elif scheme == "orthogonal":
                    new = orthogonal((H, H), rng=gen)
                else:
                    new = identity((H, H))
                full[block_slice(g, H)] = new
            if radius is not None:
                scale_recurrent_blocks({"W_hh": full}, radius)
            a[...] = full
        elif key.startswith("W_xh"):
            H = a.shape[0] // _gate_count(params, key, cell)
            for g in range(a.shape[0] // H):
                shape = (H, a.shape[1])
                if scheme == "uniform":
                    new = uniform(shape, 1.0 / np.sqrt(H), rng=gen)
                elif scheme == "identity":
                    new = 0.001 * gen.standard_normal(shape)
                else:
                    new = xavier(shape, rng=gen)
                a[block_slice(g, H)] = new
        elif key.startswith("b_"):
            a[...] = 0.0
        elif key[:4] in ("w_ic", "w_fc", "w_oc"):
            a[...] = 0.0
        else:
            raise ValueError(
                f"params: unknown key {key!r}; expected W_hh*, W_xh*, b_* or peephole w_?c*"
            )
    for gate, (name, bias) in biases.items():
        if bias is not None:
            set_gate_bias(params, cell, gate, bias, name=name)
    return params


def _gate_count(params: dict[str, np.ndarray], key: str, cell: str) -> int:
    """Gate blocks of the layer that ``key`` belongs to, read from its ``W_hh`` partner."""
    suffix = key[4:] if key.startswith(("W_xh", "b_hn")) else key[3:]
    partner = "W_hh" + suffix
    if partner not in params:
        raise ValueError(f"params: {key!r} has no matching {partner!r}")
    return _gates(cell, params[partner], partner)[0]
