"""Gradient flow through time: ||dL/dh_k|| (and ||dL/dc_k||) at every step from one backward sweep.

The layer's own backward returns only dL/d(initial state) and the summed parameter gradients; the
per-step adjoints it computes on the way are dropped. :func:`backward_sweep` runs the same BPTT
recursion (the cell's reference ``step_backward``, so the math is the library's) and keeps, for
every step k, the total derivative dL/dh_k (through the output at k and through all later steps),
dL/dc_k for an LSTM, and the contribution of step k to dL/dW_hh (seed 003: which steps drive the
update).

Exploding and vanishing adjoints leave float64's range on long sequences (3^1000 overflows). The
sweep therefore carries the adjoint as ``value * exp(log_scale)`` and rescales when the value gets
huge or tiny; everything it reports is a log10 norm, finite across the whole range.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .._validate import check_array, check_instance
from ..layers import LayerCache, RecurrentLayer
from ._util import LN10, log10_or_nan, rescale


@dataclass
class Sweep:
    """What :func:`backward_sweep` records for one layer and direction.

    Steps are in *processing* order (reversed time for a ``_reverse`` direction); index ``k`` of
    ``dh`` is the state after ``k`` steps, so ``dh[0]`` is dL/d(initial state).
    """

    key: str  # "l0", "l0_reverse", "l1", ...
    dh: np.ndarray  # (T+1, B, H) dL/dh_k, true value dh[k] * exp(log_scale[k])
    dc: np.ndarray | None  # (T+1, B, H) dL/dc_k, h_k held fixed (LSTM; same scale), else None
    log_scale: np.ndarray  # (T+1,) natural-log scale of dh[k] and dc[k]
    dh_log10: np.ndarray  # (T+1, B) log10 ||dL/dh_k||_2 per sequence (NaN where zero)
    dc_log10: np.ndarray | None  # (T+1, B) log10 ||dL/dc_k||_2 for an LSTM
    contrib_log10: np.ndarray  # (T,) log10 ||contribution of step k=1..T to dL/dW_hh||_F
    grads: dict[str, np.ndarray]  # summed parameter gradients (local names; may be inf)

    def dh_true(self) -> np.ndarray:
        """dL/dh_k in true scale, (T+1, B, H); overflows to inf where the norm is beyond float64."""
        with np.errstate(over="ignore"):
            return self.dh * np.exp(self.log_scale)[:, None, None]

    def dc_true(self) -> np.ndarray | None:
        if self.dc is None:
            return None
        with np.errstate(over="ignore"):
            return self.dc * np.exp(self.log_scale)[:, None, None]


def backward_sweep(
    layer: RecurrentLayer,
    cache: LayerCache,
    dy: np.ndarray,
    layer_index: int = 0,
    direction: int = 0,
    dstate: tuple[np.ndarray, ...] | None = None,
    dy_log_scale: np.ndarray | None = None,
) -> tuple[Sweep, np.ndarray, np.ndarray]:
    """BPTT over one layer and direction, keeping every step's adjoint.

    ``dy (T, B, H)`` is dL/dh_t from above in processing order (true value
    ``dy[t] * exp(dy_log_scale[t])``); ``dstate`` is dL/d(final state) (``(dh,)`` or
    ``(dh, dc)``, each ``(B, H)``; None = zeros). Returns the :class:`Sweep`, ``dx (T, B, I)``
    and its per-step natural-log scale ``(T,)`` (the input of the layer below).
    """
    check_instance("layer", layer, RecurrentLayer, "an rnnlab recurrent layer")
    unit = layer.direction(layer_index, direction, cache)
    cell, p, step = layer.cell, unit.params, unit.cache
    x = step["x"]  # (T, B, I)
    T, B = x.shape[:2]
    H = layer.hidden_size
    check_array("dy", dy, ndim=3, shape=(T, B, H))
    dy_log = np.zeros(T) if dy_log_scale is None else np.asarray(dy_log_scale, dtype=np.float64)
    lstm = "c" in cell.state_names
    traj = [step[name] for name in cell.state_names]
    dtype = x.dtype
    dh = np.zeros((T + 1, B, H), dtype=dtype)
    dc = np.zeros((T + 1, B, H), dtype=dtype) if lstm else None
    log_scale = np.zeros(T + 1)
    contrib = np.full(T, np.nan)
    dx = np.empty_like(x)
    dx_log = np.zeros(T)
    grads = {name: np.zeros_like(v) for name, v in p.items()}
    g_step = {name: np.zeros_like(v) for name, v in p.items()}
    if dstate is None:
        dnext = tuple(np.zeros((B, H), dtype=dtype) for _ in cell.state_names)
    else:
        dnext = tuple(np.array(d, dtype=dtype) for d in dstate)
    L = 0.0  # natural-log scale of dnext
    # beyond float64 the summed gradient is inf (or inf - inf = nan): that is the true float64 sum
    with np.errstate(over="ignore", under="ignore", invalid="ignore"):
        for t in range(T - 1, -1, -1):
            # dL/dh_{t+1} = dy from above + what flows back from step t+2 (common scale L)
            if np.any(dy[t]):
                if dy_log[t] - L > 300.0:  # the carried adjoint is negligible: adopt dy's scale
                    dnext = tuple(d * np.exp(L - dy_log[t]) for d in dnext)
                    L = float(dy_log[t])
                dnew = (dnext[0] + dy[t] * np.exp(dy_log[t] - L), *dnext[1:])
            else:
                dnew = (dnext[0].copy(), *dnext[1:])
            dh[t + 1] = dnew[0]
            if lstm:
                dc[t + 1] = dnew[1]
            log_scale[t + 1] = L
            for g in g_step.values():
                g.fill(0.0)
            prev = tuple(s[t] for s in traj)
            new = tuple(s[t + 1] for s in traj)
            aux = {name: step[name][t] for name in cell.aux_names}
            dx[t], dnext = cell.step_backward(p, x[t], prev, new, aux, dnew, g_step)
            dx_log[t] = L
            nrm = float(np.linalg.norm(g_step["W_hh"]))
            contrib[t] = np.log10(nrm) + L / LN10 if nrm > 0 else np.nan
            factor = np.exp(L)
            for name, g in g_step.items():
                grads[name] += g * factor
            # rescale the carried adjoint (all state parts share one scale)
            stacked = np.stack(dnext)
            L_new = rescale(stacked, L)
            if L_new != L:
                dnext = tuple(stacked)
                L = L_new
    dh[0] = dnext[0]
    if lstm:
        dc[0] = dnext[1]
    log_scale[0] = L
    key = unit.key
    dh_log10 = log10_or_nan(np.linalg.norm(dh, axis=2)) + log_scale[:, None] / LN10
    dc_log10 = None
    if lstm:
        dc_log10 = log10_or_nan(np.linalg.norm(dc, axis=2)) + log_scale[:, None] / LN10
    sweep = Sweep(key, dh, dc, log_scale, dh_log10, dc_log10, contrib, grads)
    return sweep, dx, dx_log


def gradient_flow(
    layer: RecurrentLayer,
    cache: LayerCache,
    dy: np.ndarray,
    dstate: object = None,
) -> dict[str, Sweep]:
    """:func:`backward_sweep` for every layer and direction, top layer first, as BPTT runs.

    ``dy (T, B, D*H)`` is dL/d(layer output), ``dstate`` dL/d(final state) in the layer's state
    structure (None = zeros). Returns ``{"l0": Sweep, "l0_reverse": Sweep, ...}`` in the layer's
    parameter order. The sum of each sweep's per-step contributions is the layer's own gradient.
    """
    check_instance("layer", layer, RecurrentLayer, "an rnnlab recurrent layer")
    check_instance("cache", cache, LayerCache, "the LayerCache from forward")
    T, B, _ = cache.input_shape
    H, D = layer.hidden_size, layer.num_directions
    check_array("dy", dy, ndim=3, shape=(T, B, D * H))
    parts = layer.split_state(dstate, B, name="dstate")
    out: dict[str, Sweep] = {}
    d_out, d_out_log = dy, np.zeros(T)
    d_in = d_in_log = None
    # the same walk as RecurrentLayer.backward, with a per-step log scale beside each gradient
    for u in layer.directions(cache, top_down=True):
        sweep, dx, dx_log = backward_sweep(
            layer,
            cache,
            u.take(d_out, H),
            u.layer,
            u.direction,
            tuple(s[u.row] for s in parts),
            u.flip(d_out_log),
        )
        out[sweep.key] = sweep
        dx, dx_log = u.flip(dx), u.flip(dx_log)
        if d_in is None:
            d_in, d_in_log = dx, dx_log
        else:  # add the two directions' dx on a common per-step scale
            common = np.maximum(d_in_log, dx_log)
            with np.errstate(under="ignore"):
                d_in = (
                    d_in * np.exp(d_in_log - common)[:, None, None]
                    + dx * np.exp(dx_log - common)[:, None, None]
                )
            d_in_log = common
        if u.last:
            d_out, d_out_log, d_in, d_in_log = d_in, d_in_log, None, None
    return {u.key: out[u.key] for u in layer.directions()}


def last_step_loss_gradient(
    T: int, B: int, width: int, rng: np.random.Generator, dtype: object = np.float64
) -> np.ndarray:
    """dL/dy for ``L = sum_b u_b . y_T[b]``, random unit vectors ``u_b``: a loss at the end only.

    With the loss at the last step alone, ||dL/dh_k|| = ||u^T dh_T/dh_k|| shows the
    vanishing/exploding factor of seed 004 undiluted by losses at nearby steps.
    """
    dy = np.zeros((T, B, width), dtype=dtype)
    u = rng.standard_normal((B, width))
    dy[-1] = u / np.linalg.norm(u, axis=1, keepdims=True)
    return dy
