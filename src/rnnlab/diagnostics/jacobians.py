"""Jacobian products dh_t/dh_k through time, the bound (gamma ||W_hh||)^(t-k), and the verdict.

Seed 004: ``dh_t/dh_k = prod_{i=k+1..t} dh_i/dh_{i-1}`` with, for a vanilla RNN,
``dh_i/dh_{i-1} = diag(phi'(z_i)) W_hh`` (the notes write the transpose, ``W_hh^T diag(phi')``,
for row vectors; the spectral norm is the same). Hence
``||dh_t/dh_k|| <= (gamma ||W_hh||_2)^(t-k)`` with ``gamma = sup phi'`` (1/4 sigmoid, 1 tanh):
below 1 the gradient must vanish; above 1 it *may* explode (Pascanu et al. 2013: a necessary,
not a sufficient, condition).

For one end point ``t`` the products for every ``k`` come from one sweep backwards from ``t``:
``P_t = I``, ``P_k = P_{k+1} J_{k+1}``: ``t`` matrix products of the state size, never the
``t^2`` separate products. The running product is kept as ``Q exp(s)`` and renormalised so that
3^1000 or 0.5^1000 stay representable; norms are reported as log10.

State Jacobians per family (one sequence ``b`` of the batch) are the cells' own
``step_jacobian`` (their class docstrings hold the formulas): RNN ``diag(phi'(z_i)) W_hh`` and
GRU, each H x H; LSTM the full state ``(h, c)`` (2H x 2H). ``dc_t/dc_k`` is the lower-right
block of the product and contains every path, through the CEC and through ``h``; the CEC alone
is the diagonal product ``prod f_i`` (seed 002, "constant error carousel").
"""

from __future__ import annotations

import numbers
from abc import ABC, abstractmethod
from dataclasses import dataclass, field

import numpy as np

from .._validate import check_array, check_index, check_instance
from ..layers import LayerCache, RecurrentLayer
from ._util import LN10, rescale, spectral_norm

VERDICTS = ("vanishing", "neutral", "exploding")


# -- per-step Jacobians ------------------------------------------------------------------------
class StepJacobians(ABC):
    """The Jacobians ``J_i = d state_i / d state_{i-1}``, ``i = 1..T``, of one sequence.

    ``blocks`` names the parts of the state vector (``{"h": slice}`` or ``{"h", "c"}``).
    ``matrix(i)`` builds ``J_i``; ``rmul(P, i)`` returns ``P @ J_i`` using its structure.
    """

    T: int
    size: int
    blocks: dict[str, slice]

    def matrix(self, i: int) -> np.ndarray:
        return self.rmul(np.eye(self.size, dtype=self.dtype), i)

    @abstractmethod
    def rmul(self, P: np.ndarray, i: int) -> np.ndarray:
        """``P @ J_i``."""

    def _check_i(self, i: int) -> int:
        if isinstance(i, bool) or not isinstance(i, numbers.Integral) or not 1 <= i <= self.T:
            raise ValueError(f"i: expected a step in 1..{self.T}, got {i!r}")
        return int(i)


class RNNJacobians(StepJacobians):
    """``J_i = diag(phi'(z_i)) W_hh`` from the stored ``h`` (``phi'`` is read off ``h_i``).

    The same matrix as :meth:`rnnlab.cells.RNNCell.step_jacobian`; ``rmul`` applies the
    diagonal before the product, ``(P diag(phi')) W_hh``, instead of building it.
    """

    def __init__(self, W_hh: np.ndarray, dphi: np.ndarray) -> None:
        check_array("W_hh", W_hh, ndim=2)
        H = W_hh.shape[0]
        if W_hh.shape != (H, H):
            raise ValueError(f"W_hh: expected a square (H, H) matrix, got shape {W_hh.shape}")
        check_array("dphi", dphi, ndim=2, shape=(None, H))
        self.W_hh, self.dphi = W_hh, dphi  # dphi[i-1] = phi'(z_i), (T, H)
        self.T, self.size, self.dtype = dphi.shape[0], H, W_hh.dtype
        self.blocks = {"h": slice(0, H)}

    def rmul(self, P: np.ndarray, i: int) -> np.ndarray:
        i = self._check_i(i)
        return (P * self.dphi[i - 1]) @ self.W_hh  # P diag(phi') W_hh


class LSTMJacobians(StepJacobians):
    """Full-state Jacobian of the LSTM in ``(h, c)`` order, with or without peepholes/forget gate.

    ``J = [[dh/dh', dh/dc'], [dc/dh', dc/dc']]`` where ``'`` marks the previous step; the two
    right blocks are diagonal, so ``P @ J`` costs one ``(2H x 2H) @ (2H x H)`` product. The
    blocks come from :meth:`rnnlab.cells.LSTMCell.step_jacobian_blocks`.
    """

    def __init__(self, layer: RecurrentLayer, step: dict[str, np.ndarray], p: dict, b: int) -> None:
        self.cell, self.p = layer.cell, p
        H = layer.hidden_size
        self.post = step["gates"][:, b, :]  # (T, G*H) post-activation gates
        gates = self.cell.split_gates(self.post)  # (T, H) each
        self.i, self.g, self.o = gates["i"], gates["g"], gates["o"]
        self.f = gates.get("f")
        self.h = step["h"][:, b, :]  # (T+1, H)
        self.c = step["c"][:, b, :]  # (T+1, H)
        self.T, self.size, self.dtype = self.i.shape[0], 2 * H, p["W_hh"].dtype
        self.H = H
        self.blocks = {"h": slice(0, H), "c": slice(H, 2 * H)}

    def parts(self, i: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """``(dh/dh' (H,H), dh/dc' (H,), dc/dh' (H,H), dc/dc' (H,))`` of step ``i``."""
        i = self._check_i(i)
        prev, new = (self.h[i - 1], self.c[i - 1]), (self.h[i], self.c[i])
        return self.cell.step_jacobian_blocks(self.p, prev, new, {"gates": self.post[i - 1]})

    def rmul(self, P: np.ndarray, i: int) -> np.ndarray:
        dh_dh, dh_dc, dc_dh, dc_dc = self.parts(i)
        H = self.H
        out = np.empty_like(P)
        out[:, :H] = P[:, :H] @ dh_dh + P[:, H:] @ dc_dh
        out[:, H:] = P[:, :H] * dh_dc + P[:, H:] * dc_dc
        return out

    def cec_log10(self, t: int) -> np.ndarray:
        """log10 of ``max_j prod_{i=k+1..t} f_i[j]`` for ``k = t..0``: the CEC path alone."""
        if self.f is None:
            return np.zeros(t + 1)  # the 1997 CEC: self-weight exactly 1
        with np.errstate(divide="ignore"):
            logf = np.log10(self.f[:t])  # (t, H)
        cum = np.cumsum(logf[::-1], axis=0)  # lag 1..t
        return np.concatenate([[0.0], cum.max(axis=1)])


class GRUJacobians(StepJacobians):
    """``dh_i/dh_{i-1}`` of PyTorch's GRU (gates ``r, z, n``), dense (H x H), from
    :meth:`rnnlab.cells.GRUCell.step_jacobian`."""

    def __init__(self, layer: RecurrentLayer, step: dict[str, np.ndarray], p: dict, b: int) -> None:
        self.cell, self.p = layer.cell, p
        self.gates = step["gates"][:, b, :]  # (T, 3H)
        self.hn = step["hn"][:, b, :]  # (T, H)
        self.h = step["h"][:, b, :]  # (T+1, H)
        self.T, self.size, self.dtype = self.gates.shape[0], layer.hidden_size, p["W_hh"].dtype
        self.blocks = {"h": slice(0, layer.hidden_size)}

    def jacobian(self, i: int) -> np.ndarray:
        i = self._check_i(i)
        aux = {"gates": self.gates[i - 1], "hn": self.hn[i - 1]}
        return self.cell.step_jacobian(self.p, (self.h[i - 1],), (self.h[i],), aux)

    def rmul(self, P: np.ndarray, i: int) -> np.ndarray:
        return P @ self.jacobian(i)


def step_jacobians(
    layer: RecurrentLayer, cache: LayerCache, layer_index: int = 0, direction: int = 0, b: int = 0
) -> StepJacobians:
    """The per-step state Jacobians of sequence ``b`` in one layer and direction of ``cache``."""
    check_instance("layer", layer, RecurrentLayer, "an rnnlab recurrent layer")
    unit = layer.direction(layer_index, direction, cache)
    step, p = unit.cache, unit.params
    b = check_index("b", b, step["h"].shape[1], "a sequence index")
    if layer.family == "rnn":
        return RNNJacobians(p["W_hh"], layer.cell.phi.df_from_y(step["h"][1:, b, :]))
    if layer.family == "lstm":
        return LSTMJacobians(layer, step, p, b)
    return GRUJacobians(layer, step, p, b)


# -- products ----------------------------------------------------------------------------------
@dataclass
class JacobianProducts:
    """Norms of ``d state_t / d state_k`` for a fixed end ``t`` against the lag ``t - k``."""

    t: int  # the end step
    lags: np.ndarray  # (n,) lags t-k at which norms were taken, ascending, starting at 0
    log10_norm: dict[str, np.ndarray]  # block name ("h", "c") -> (n,) log10 spectral norm
    products: dict[int, np.ndarray] = field(default_factory=dict)  # lag -> full product, if kept


def _lag_grid(t: int, max_points: int | None) -> np.ndarray:
    if max_points is None or t + 1 <= max_points:
        return np.arange(t + 1)
    return np.unique(np.round(np.linspace(0, t, max_points)).astype(int))


def jacobian_products(
    jac: StepJacobians,
    t: int | None = None,
    max_points: int | None = 200,
    keep_products: bool = False,
) -> JacobianProducts:
    """``||d state_t / d state_k||_2`` per block for ``k = t..0``, from one backward sweep.

    The running product is updated at every step (``t`` structured products); the spectral norm
    (the costly part, an eigen-solve of the block's Gram matrix) is taken at ``max_points``
    evenly spaced lags (all lags when ``t < max_points`` or ``max_points`` is None).
    ``keep_products=True`` also returns the full products at those lags (small models only).
    """
    if not isinstance(jac, StepJacobians):
        raise TypeError(f"jac: expected StepJacobians, got {type(jac).__name__}")
    t = jac.T if t is None else t
    if isinstance(t, bool) or not isinstance(t, numbers.Integral) or not 1 <= t <= jac.T:
        raise ValueError(f"t: expected an end step in 1..{jac.T}, got {t!r}")
    if max_points is not None and (not isinstance(max_points, numbers.Integral) or max_points < 2):
        raise ValueError(f"max_points: expected an int >= 2 or None, got {max_points!r}")
    lags = _lag_grid(int(t), max_points)
    want = set(lags.tolist())
    norms = {name: np.full(lags.size, np.nan) for name in jac.blocks}
    products: dict[int, np.ndarray] = {}
    P = np.eye(jac.size, dtype=np.float64)
    s = 0.0  # P_true = P * exp(s)
    idx = 0
    with np.errstate(under="ignore"):
        for lag in range(0, int(t) + 1):
            if lag > 0:
                P = jac.rmul(P, int(t) - lag + 1)  # P_k = P_{k+1} J_{k+1}, k = t - lag
                s = rescale(P, s)
            if lag in want:
                for name, sl in jac.blocks.items():
                    nrm = spectral_norm(P[sl, sl])
                    norms[name][idx] = np.log10(nrm) + s / LN10 if nrm > 0 else np.nan
                if keep_products:
                    products[lag] = P * np.exp(s)
                idx += 1
    return JacobianProducts(int(t), lags, norms, products)


# -- bound and verdicts --------------------------------------------------------------------------
def bound_log10(gamma: float, W_hh: np.ndarray, lags: np.ndarray) -> np.ndarray:
    """log10 of the bound ``(gamma ||W_hh||_2)^lag`` (seed 004) at each lag."""
    check_array("W_hh", W_hh, ndim=2)
    if not isinstance(gamma, numbers.Real) or not gamma > 0:
        raise ValueError(f"gamma: expected a positive number, got {gamma!r}")
    sigma = float(np.linalg.norm(np.asarray(W_hh, dtype=np.float64), 2))
    with np.errstate(divide="ignore"):
        return np.asarray(lags, dtype=np.float64) * np.log10(gamma * sigma)


def growth_rate(lags: np.ndarray, log10_norm: np.ndarray, skip: int = 1) -> float:
    """Per-step factor ``r`` of a least-squares fit ``log10 ||.|| ~ a + lag log10 r``.

    Lags below ``skip`` (the transient) and non-finite values are left out. NaN if fewer than
    two points remain.
    """
    lags = np.asarray(lags, dtype=np.float64)
    y = np.asarray(log10_norm, dtype=np.float64)
    if lags.shape != y.shape or lags.ndim != 1:
        raise ValueError(
            f"lags, log10_norm: expected two 1-d arrays of one length, got {lags.shape}, {y.shape}"
        )
    ok = np.isfinite(y) & (lags >= skip)
    if ok.sum() < 2 or np.ptp(lags[ok]) == 0:
        return float("nan")
    slope = np.polyfit(lags[ok], y[ok], 1)[0]
    return float(10.0**slope)


def classify_growth(rate: float, span: int, decades: float = 2.0) -> str:
    """Verdict on a per-step factor ``rate`` measured over ``span`` steps.

    ``"vanishing"`` if ``rate^span`` shrinks the norm by more than ``decades`` powers of ten,
    ``"exploding"`` if it grows it by more, ``"neutral"`` otherwise. Judging the change over the
    span, not the rate alone, matters: x0.985 per step is 10^-6.6 after 1000 steps.
    """
    if isinstance(rate, bool) or not isinstance(rate, numbers.Real) or not np.isfinite(rate):
        raise ValueError(f"rate: expected a finite positive number, got {rate!r}")
    if rate <= 0:
        raise ValueError(f"rate: expected a finite positive number, got {rate!r}")
    if isinstance(span, bool) or not isinstance(span, numbers.Integral) or span < 1:
        raise ValueError(f"span: expected a positive int, got {span!r}")
    if not isinstance(decades, numbers.Real) or not decades > 0:
        raise ValueError(f"decades: expected a positive number, got {decades!r}")
    change = span * np.log10(rate)
    if change < -decades:
        return "vanishing"
    if change > decades:
        return "exploding"
    return "neutral"


def classify_bound(gamma: float, sigma_max: float) -> str:
    """The seed's test ``gamma * lambda`` against 1, with ``lambda = ||W_hh||_2``.

    ``"vanishing"`` when ``gamma sigma_max < 1`` (then the gradient must vanish); otherwise
    ``"may explode"``: exceeding 1 is necessary for explosion but does not cause it.
    """
    if not isinstance(gamma, numbers.Real) or not gamma > 0:
        raise ValueError(f"gamma: expected a positive number, got {gamma!r}")
    if not isinstance(sigma_max, numbers.Real) or not sigma_max >= 0:
        raise ValueError(f"sigma_max: expected a non-negative number, got {sigma_max!r}")
    return "vanishing" if gamma * sigma_max < 1.0 else "may explode"
