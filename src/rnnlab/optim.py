"""Optimisers and gradient clipping over ``{name: array}`` dicts (the learning-rate schedules
they take are in :mod:`rnnlab.schedules`, and importable from here too).

Update rules follow ``torch.optim`` (same defaults, same order of operations up to rounding):

- ``SGD``: ``theta <- theta - lr g`` (the seeds' batch update);
- ``Momentum``: ``b <- mu b + g``; ``theta <- theta - lr b`` (Nesterov: ``- lr (g + mu b)``);
- ``Adam``: ``m <- b1 m + (1-b1) g``, ``v <- b2 v + (1-b2) g^2``,
  ``theta <- theta - lr (m / (1-b1^t)) / (sqrt(v / (1-b2^t)) + eps)``;
- ``RMSprop``: ``v <- a v + (1-a) g^2``; ``theta <- theta - lr g / (sqrt(v) + eps)``;
- ``Adagrad``: ``s <- s + g^2``; ``theta <- theta - lr g / (sqrt(s) + eps)``.

``lr`` is a number or a schedule ``lr(step) -> float`` where ``step`` counts the updates already
made (0 for the first). Optimiser state exports to a flat ``{name: array}`` dict
(:meth:`Optimizer.state_dict`) so a checkpoint can hold it and a resumed run continues bit for bit.
"""

from __future__ import annotations

import math
import numbers
from abc import ABC, abstractmethod

import numpy as np

from ._validate import NonFiniteError, check_positive_float
from .schedules import (  # noqa: F401 - the schedules' names, importable from here as before
    SCHEDULES,
    ConstantLR,
    CosineDecay,
    ExponentialDecay,
    Schedule,
    StepDecay,
    make_schedule,
)

Params = dict[str, np.ndarray]


# -- gradient norm and clipping ---------------------------------------------------------------
def _check_grads(grads: object, name: str = "grads") -> dict[str, np.ndarray]:
    if not isinstance(grads, dict):
        raise TypeError(f"{name}: expected a dict of numpy arrays, got {type(grads).__name__}")
    for k, g in grads.items():
        if not isinstance(g, np.ndarray):
            raise TypeError(f"{name}[{k!r}]: expected a numpy.ndarray, got {type(g).__name__}")
    return grads


def global_norm(grads: dict[str, np.ndarray]) -> float:
    """``||g|| = sqrt(sum over all arrays and entries of g^2)``, accumulated in float64."""
    _check_grads(grads)
    arrays = list(grads.values())
    if arrays and all(g.dtype == np.float32 and g.flags.c_contiguous for g in arrays):
        from .kernels._optim import sum_squares  # no float64 copies, one call

        return math.sqrt(sum_squares(arrays))
    total = 0.0  # float64 keeps BLAS's dot (the bits its reproductions were measured with)
    for g in arrays:
        g64 = g.astype(np.float64, copy=False).ravel()
        total += float(g64 @ g64)
    return math.sqrt(total)


def clip_grad_norm(grads: dict[str, np.ndarray], max_norm: float) -> float:
    """Pascanu, Mikolov & Bengio 2013, Algorithm 1, in place; returns the norm before clipping.

    ``if ||g|| >= threshold: g <- threshold / ||g|| * g``. A NaN/inf norm leaves ``grads``
    untouched (rescaling cannot repair it); the caller sees the non-finite norm and should stop.
    """
    threshold = check_positive_float("max_norm", max_norm)
    norm = global_norm(grads)
    if math.isfinite(norm) and norm >= threshold:
        scale = threshold / norm
        for g in grads.values():
            g *= scale
    return norm


def clip_grad_value(grads: dict[str, np.ndarray], clip: float) -> int:
    """Clip every entry to ``[-clip, clip]`` in place; returns how many entries were changed."""
    c = check_positive_float("clip", clip)
    _check_grads(grads)
    changed = 0
    for g in grads.values():
        changed += int(np.count_nonzero(np.abs(g) > c))
        np.clip(g, -c, c, out=g)
    return changed


# -- optimisers --------------------------------------------------------------------------------
class Optimizer(ABC):
    """Base class: ``step(params, grads)`` updates ``params`` in place.

    Subclasses list their per-parameter state buffers in ``_buffers`` (e.g. ``("m", "v")``);
    they are created lazily as zeros with each parameter's shape and dtype.
    """

    _buffers: tuple[str, ...] = ()

    def __init__(self, lr: float | Schedule) -> None:
        if callable(lr):
            self.schedule: Schedule = lr
        else:
            self.schedule = ConstantLR(lr)  # type: ignore[arg-type]
        self.t = 0  # updates made so far
        self.state: dict[str, dict[str, np.ndarray]] = {b: {} for b in self._buffers}

    @property
    def lr(self) -> float:
        """The learning rate the next :meth:`step` will use."""
        return float(self.schedule(self.t))

    def step(self, params: Params, grads: Params) -> None:
        """One update of every array in ``params`` from the same-named array in ``grads``."""
        _check_grads(params, "params")
        _check_grads(grads)
        if params.keys() != grads.keys():
            missing = sorted(set(params) ^ set(grads))
            raise ValueError(
                f"grads: expected the same keys as params, got a difference in {missing}"
            )
        for k, p in params.items():
            if grads[k].shape != p.shape:
                raise ValueError(f"grads[{k!r}]: expected shape {p.shape}, got {grads[k].shape}")
        lr = self.lr
        if self._step_all(params, grads, lr):
            return
        for k in params:
            if not np.isfinite(grads[k]).all():  # one NaN would spread through every later step
                raise _nonfinite(k)
        self.t += 1
        for k, p in params.items():
            bufs = {}
            for b in self._buffers:
                if k not in self.state[b]:
                    self.state[b][k] = np.zeros_like(p)
                bufs[b] = self.state[b][k]
            self._update(p, grads[k], lr, bufs)

    @abstractmethod
    def _update(self, p: np.ndarray, g: np.ndarray, lr: float, bufs: Params) -> None:
        """Update ``p`` in place from its gradient ``g`` and its state buffers."""

    def _step_all(self, params: Params, grads: Params, lr: float) -> bool:
        """The whole update (finiteness check, ``t += 1``, every array) in one compiled call,
        where a subclass has one and it applies; False leaves everything to :meth:`step`."""
        return False

    # -- state export/import for checkpoints ---------------------------------------------
    def state_dict(self) -> dict[str, np.ndarray]:
        """Flat ``{name: array}``: ``"t"`` (0-d int64) and ``"<buffer>.<param name>"`` arrays."""
        out: dict[str, np.ndarray] = {"t": np.array(self.t, dtype=np.int64)}
        for b, per in self.state.items():
            for k, a in per.items():
                out[f"{b}.{k}"] = a.copy()
        return out

    def load_state_dict(self, state: dict[str, np.ndarray]) -> None:
        """Restore what :meth:`state_dict` exported (copies the arrays)."""
        if not isinstance(state, dict) or "t" not in state:
            raise ValueError("state: expected a dict from state_dict() with a 't' entry")
        t = np.asarray(state["t"])
        if t.shape != () or t.dtype.kind not in "iu" or int(t) < 0:
            raise ValueError(f"state['t']: expected a non-negative 0-d int array, got {t!r}")
        new: dict[str, dict[str, np.ndarray]] = {b: {} for b in self._buffers}
        for key, a in state.items():
            if key == "t":
                continue
            b, _, k = key.partition(".")
            if b not in new or not k:
                raise ValueError(
                    f"state[{key!r}]: expected keys 't' or '<buffer>.<param>' with buffer in "
                    f"{list(self._buffers)}, got {key!r}"
                )
            new[b][k] = np.array(a, copy=True)
        self.t = int(t)
        self.state = new


class SGD(Optimizer):
    """Plain gradient descent ``theta <- theta - lr g``."""

    def _update(self, p, g, lr, bufs):
        p -= lr * g

    def __repr__(self) -> str:
        return f"SGD(lr={self.schedule!r})"


class Momentum(Optimizer):
    """Heavy-ball momentum as ``torch.optim.SGD(momentum=mu, nesterov=...)``, no dampening."""

    _buffers = ("b",)

    def __init__(self, lr: float | Schedule, momentum: float = 0.9, nesterov: bool = False):
        super().__init__(lr)
        self.momentum = check_positive_float("momentum", momentum)
        if not isinstance(nesterov, bool):
            raise TypeError(f"nesterov: expected a bool, got {type(nesterov).__name__}")
        self.nesterov = nesterov

    def _update(self, p, g, lr, bufs):
        b = bufs["b"]
        b *= self.momentum
        b += g
        p -= lr * (g + self.momentum * b if self.nesterov else b)

    def __repr__(self) -> str:
        return f"Momentum(lr={self.schedule!r}, momentum={self.momentum}, nesterov={self.nesterov})"


def _check_beta(name: str, value: float) -> float:
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not 0 <= value < 1:
        raise ValueError(f"{name}: expected a number in [0, 1), got {value!r}")
    return float(value)


def _nonfinite(key: str) -> NonFiniteError:
    return NonFiniteError(f"grads[{key!r}]: expected finite values, got NaN/inf entries")


# The one-call update (kernels/_optim.py) where it applies; False keeps the NumPy passes (tests).
FUSED = True


def _fused(arrays: list[np.ndarray]) -> bool:
    """Whether the one-call update applies: one float dtype, all C-contiguous."""
    dtype = arrays[0].dtype
    return (
        FUSED
        and dtype in (np.float32, np.float64)
        and all(a.dtype == dtype and a.flags.c_contiguous for a in arrays)
    )


class Adam(Optimizer):
    """Kingma & Ba 2015, as ``torch.optim.Adam`` (``betas=(0.9, 0.999)``, ``eps=1e-8``)."""

    _buffers = ("m", "v")

    def __init__(
        self, lr: float | Schedule = 1e-3, beta1: float = 0.9, beta2: float = 0.999, eps=1e-8
    ):
        super().__init__(lr)
        self.beta1 = _check_beta("beta1", beta1)
        self.beta2 = _check_beta("beta2", beta2)
        self.eps = check_positive_float("eps", eps)

    def _step_all(self, params, grads, lr):
        # every array in one compiled call, one pass each instead of ~12 NumPy passes with
        # temporaries and a Python round per array; the same operations in the same order and
        # precision, so the same bits (kernels/_optim.py). From the second step on: the
        # buffers are made by the first.
        ms, vs = self.state["m"], self.state["v"]
        if any(k not in ms for k in params):
            return False
        keys = list(params)
        arrays = [[d[k] for k in keys] for d in (params, grads, ms, vs)]
        if not _fused([a for group in arrays for a in group]):
            return False
        from .kernels._optim import adam_all

        t = self.t + 1
        bc1, bc2 = self._bias_corrections(t)
        step, sqrt_bc2 = lr / bc1, math.sqrt(bc2)
        bad = adam_all(*arrays, self.beta1, self.beta2, step, sqrt_bc2, self.eps)
        if bad >= 0:
            raise _nonfinite(keys[bad])
        self.t = t
        return True

    def _bias_corrections(self, t: int) -> tuple[float, float]:
        """``(1 - beta1^t, 1 - beta2^t)``: the moments' bias corrections after ``t`` updates."""
        return 1.0 - self.beta1**t, 1.0 - self.beta2**t

    def _update(self, p, g, lr, bufs):
        m, v = bufs["m"], bufs["v"]
        bc1, bc2 = self._bias_corrections(self.t)
        m *= self.beta1
        m += (1.0 - self.beta1) * g
        v *= self.beta2
        v += (1.0 - self.beta2) * g * g
        p -= (lr / bc1) * m / (np.sqrt(v) / math.sqrt(bc2) + self.eps)

    def __repr__(self) -> str:
        return f"Adam(lr={self.schedule!r}, beta1={self.beta1}, beta2={self.beta2}, eps={self.eps})"


class RMSprop(Optimizer):
    """Tieleman & Hinton 2012, as ``torch.optim.RMSprop`` (``alpha=0.99``, ``eps=1e-8``)."""

    _buffers = ("v",)

    def __init__(self, lr: float | Schedule = 1e-2, alpha: float = 0.99, eps: float = 1e-8):
        super().__init__(lr)
        self.alpha = _check_beta("alpha", alpha)
        self.eps = check_positive_float("eps", eps)

    def _update(self, p, g, lr, bufs):
        v = bufs["v"]
        v *= self.alpha
        v += (1.0 - self.alpha) * g * g
        p -= lr * g / (np.sqrt(v) + self.eps)

    def __repr__(self) -> str:
        return f"RMSprop(lr={self.schedule!r}, alpha={self.alpha}, eps={self.eps})"


class Adagrad(Optimizer):
    """Duchi et al. 2011, as ``torch.optim.Adagrad`` (``eps=1e-10``, no lr decay)."""

    _buffers = ("s",)

    def __init__(self, lr: float | Schedule = 1e-2, eps: float = 1e-10):
        super().__init__(lr)
        self.eps = check_positive_float("eps", eps)

    def _update(self, p, g, lr, bufs):
        s = bufs["s"]
        s += g * g
        p -= lr * g / (np.sqrt(s) + self.eps)

    def __repr__(self) -> str:
        return f"Adagrad(lr={self.schedule!r}, eps={self.eps})"


OPTIMIZERS = {
    "sgd": SGD,
    "momentum": Momentum,
    "nesterov": Momentum,
    "adam": Adam,
    "rmsprop": RMSprop,
    "adagrad": Adagrad,
}


def make_optimizer(name: str, lr: float | Schedule, **kw: object) -> Optimizer:
    """An optimiser by name: sgd, momentum, nesterov, adam, rmsprop, adagrad.

    ``lr`` is a positive number or a schedule; ``kw`` go to the class (e.g. ``momentum=0.9``).
    """
    if not isinstance(name, str) or name.lower() not in OPTIMIZERS:
        raise ValueError(f"optimizer: expected one of {', '.join(OPTIMIZERS)}; got {name!r}")
    if not callable(lr):
        check_positive_float("lr", lr)
    name = name.lower()
    if name == "nesterov":
        kw = {**kw, "nesterov": True}
    return OPTIMIZERS[name](lr, **kw)  # type: ignore[arg-type]
