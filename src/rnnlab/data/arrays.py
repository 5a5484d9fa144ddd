"""The user's own sequences, as NumPy arrays, as a :class:`DataSource`."""

from __future__ import annotations

import hashlib
import numbers
from typing import Any

import numpy as np

from .._validate import check_choice
from ..model import mask_from_last
from ..readout import readout_value
from ..tasks.base import Batch
from .base import LOSSES, TARGETS, DataSource, Evaluation
from .cancel import cancellation_point


def _as_inputs(name: str, x: object) -> np.ndarray:
    if not isinstance(x, np.ndarray):
        raise TypeError(f"{name}: expected a numpy.ndarray (T, N, I), got {type(x).__name__}")
    if x.dtype.kind not in "fiub":
        raise TypeError(f"{name}: expected a numeric array, got dtype {x.dtype}")
    if x.ndim != 3:
        raise ValueError(f"{name}: expected a 3-d array (T, N, I), got shape {x.shape}")
    if 0 in x.shape:
        raise ValueError(f"{name}: expected a non-empty array (T, N, I), got shape {x.shape}")
    x = x if x.dtype.kind == "f" else x.astype(np.float64)
    bad = x.size - np.count_nonzero(np.isfinite(x))
    if bad:
        raise ValueError(f"{name}: expected finite values, got {bad} NaN/inf entries")
    return x


def _as_targets(name: str, y: object, x: np.ndarray, target: str, loss: str) -> np.ndarray:
    if not isinstance(y, np.ndarray):
        raise TypeError(f"{name}: expected a numpy.ndarray, got {type(y).__name__}")
    T, N = x.shape[:2]
    lead = (T, N) if target == "every" else (N,)
    if loss == "ce":
        want = "(T, N)" if target == "every" else "(N,)"
        if y.dtype.kind not in "iu":
            raise TypeError(
                f"{name}: expected integer class indices {want} for loss 'ce', got dtype {y.dtype}"
            )
        if y.shape != lead:
            raise ValueError(f"{name}: expected shape {want} = {lead}, got {y.shape}")
        if y.size and y.min() < 0:
            raise ValueError(f"{name}: expected class indices >= 0, got {y.min()}")
        return y.astype(np.int64, copy=False)
    want = "(T, N, K)" if target == "every" else "(N, K)"
    if y.dtype.kind not in "fiub":
        raise TypeError(f"{name}: expected a numeric array {want}, got dtype {y.dtype}")
    if y.ndim != len(lead) + 1 or y.shape[:-1] != lead:
        raise ValueError(f"{name}: expected shape {want} with leading {lead}, got {y.shape}")
    y = y if y.dtype.kind == "f" else y.astype(np.float64)
    bad = y.size - np.count_nonzero(np.isfinite(y))
    if bad:
        raise ValueError(f"{name}: expected finite values, got {bad} NaN/inf entries")
    return y


def _as_last(name: str, lengths: object, T: int, N: int) -> np.ndarray:
    """``(N,)`` index of each sequence's last valid step, from ``lengths`` (None: all ``T``)."""
    if lengths is None:
        return np.full(N, T - 1, dtype=np.int64)
    if not isinstance(lengths, np.ndarray) or lengths.dtype.kind not in "iu":
        raise TypeError(f"{name}: expected an integer numpy array (N,), got {lengths!r:.60}")
    if lengths.shape != (N,):
        raise ValueError(f"{name}: expected shape ({N},), got {lengths.shape}")
    if N and (lengths.min() < 1 or lengths.max() > T):
        raise ValueError(
            f"{name}: expected lengths in [1, {T}], got [{lengths.min()}, {lengths.max()}]"
        )
    return lengths.astype(np.int64) - 1


class _Part:
    """One split: inputs, targets, last steps, and the mask when lengths vary."""

    def __init__(self, x: np.ndarray, y: np.ndarray, last: np.ndarray, target: str) -> None:
        self.x, self.y, self.last, self.target = x, y, last, target
        T = x.shape[0]
        self.mask = (np.arange(T)[:, None] <= last[None, :]).astype(np.float64)  # (T, N)
        self.full = bool(np.all(last == T - 1))

    @property
    def n(self) -> int:
        return self.x.shape[1]

    def batch(self, idx: np.ndarray) -> Batch:
        y = self.y[:, idx] if self.target == "every" else self.y[idx]
        mask = None if self.full else self.mask[:, idx]
        return Batch(x=self.x[:, idx], y=y, mask=mask, last=self.last[idx])

    def digest(self, h: Any) -> None:
        for a in (self.x, self.y, self.last):
            h.update(f"{a.dtype.str}{a.shape}".encode())
            h.update(np.ascontiguousarray(a).tobytes())


def _split_off(
    x: np.ndarray, y: np.ndarray, last: np.ndarray, target: str, val_fraction: object
) -> tuple[_Part, _Part]:
    """``(train, held-out)``: the last ``val_fraction`` of the ``N`` sequences held out."""
    if isinstance(val_fraction, bool) or not isinstance(val_fraction, numbers.Real):
        raise TypeError(f"val_fraction: expected a number in (0, 1), got {val_fraction!r}")
    if not 0.0 < val_fraction < 1.0:
        raise ValueError(f"val_fraction: expected a number in (0, 1), got {val_fraction}")
    N = x.shape[1]
    n_val = int(round(N * float(val_fraction)))
    if n_val < 1 or n_val >= N:
        raise ValueError(
            f"val_fraction: {val_fraction} of {N} sequences holds out {n_val}; expected "
            "at least one held-out and one training sequence"
        )
    cut = N - n_val
    ys = (y[:, :cut], y[:, cut:]) if target == "every" else (y[:cut], y[cut:])
    return (
        _Part(x[:, :cut], ys[0], last[:cut], target),
        _Part(x[:, cut:], ys[1], last[cut:], target),
    )


def _outputs(train: _Part, val: _Part, loss: str, classes: object) -> int:
    """``K``: the targets' width, or for ``ce`` the classes (given, or largest index + 1)."""
    if loss != "ce":
        return int(train.y.shape[-1])
    seen = int(max(train.y.max(), val.y.max())) + 1
    if classes is None:
        return seen
    if isinstance(classes, bool) or not isinstance(classes, numbers.Integral):
        raise TypeError(f"classes: expected a positive int, got {classes!r}")
    if classes < seen:
        raise ValueError(f"classes: expected at least {seen} (largest index + 1), got {classes}")
    return int(classes)


def _check_criterion(target_loss: object, target_accuracy: object, loss: str) -> None:
    for name, v, top in (
        ("target_loss", target_loss, None),
        ("target_accuracy", target_accuracy, 1.0),
    ):
        if v is not None and (
            isinstance(v, bool)
            or not isinstance(v, numbers.Real)
            or not np.isfinite(v)
            or v < 0
            or (top is not None and v > top)
        ):
            raise ValueError(
                f"{name}: expected a finite number >= 0{' and <= 1' if top else ''}, got {v!r}"
            )
    if target_accuracy is not None and loss == "mse":
        raise ValueError(
            "target_accuracy: needs loss 'ce' or 'bce' (mse has no 'correct'), got 'mse'"
        )


class ArrayDataset(DataSource):
    """The user's own sequences, with a held-out part, as a training source.

    Args:
        x: ``(T, N, I)`` inputs, time-major: ``N`` sequences of ``T`` steps (padded after each
            sequence's end where ``lengths`` is given).
        y: targets. ``target="every"``: ``(T, N, K)`` (``(T, N)`` integer classes for ``ce``);
            ``target="last"``: ``(N, K)`` (``(N,)`` classes for ``ce``), read at each sequence's
            last valid step.
        target: ``"every"`` or ``"last"`` (keyword-only, as are the rest).
        loss: ``"mse"``, ``"ce"`` (softmax cross-entropy) or ``"bce"`` (sigmoid).
        lengths: ``(N,)`` valid length of each sequence; ``None``: all ``T``.
        x_val, y_val, lengths_val: an explicit held-out part; otherwise the last
            ``val_fraction`` of the ``N`` sequences is held out (a contiguous block, so data in
            time order is split without leaking the future).
        val_fraction: share of the sequences held out when ``x_val`` is not given, in (0, 1).
        classes: ``K`` for ``loss="ce"``; ``None``: one more than the largest index seen.
        target_loss: the run counts as solved once the held-out loss is at or below this.
        target_accuracy: ... or once this fraction of held-out sequences is correct
            (``ce``/``bce`` only: every valid step's argmax / threshold right).

    Batches: each epoch visits the training sequences in a fresh random order (drawn from the
    trainer's stream) in batches of ``B``; the ``N mod B`` left over start the next epoch.

    Examples:
        >>> rng = np.random.default_rng(0)
        >>> x = rng.standard_normal((20, 64, 1))
        >>> y = np.cumsum(x, axis=0)                       # the running total at every step
        >>> ds = ArrayDataset(x, y, target="every", loss="mse", val_fraction=0.25)
        >>> ds.train_size, ds.val_size, ds.input_size, ds.output_size
        (48, 16, 1, 1)
    """

    kind = "arrays"
    concurrent_evaluation = True  # the validation arrays are read only

    def __init__(
        self,
        x: np.ndarray,
        y: np.ndarray,
        *,
        target: str = "every",
        loss: str = "mse",
        lengths: np.ndarray | None = None,
        x_val: np.ndarray | None = None,
        y_val: np.ndarray | None = None,
        lengths_val: np.ndarray | None = None,
        val_fraction: float = 0.1,
        classes: int | None = None,
        target_loss: float | None = None,
        target_accuracy: float | None = None,
    ) -> None:
        self._target = check_choice("target", target, TARGETS)
        self._loss = check_choice("loss", loss, LOSSES)
        x = _as_inputs("x", x)
        y = _as_targets("y", y, x, target, loss)
        last = _as_last("lengths", lengths, *x.shape[:2])
        if x_val is None:
            if y_val is not None or lengths_val is not None:
                raise ValueError("x_val: expected an array when y_val or lengths_val is given")
            self.train, self.val = _split_off(x, y, last, target, val_fraction)
        else:
            if y_val is None:
                raise ValueError("y_val: expected the held-out targets with x_val, got None")
            xv = _as_inputs("x_val", x_val)
            if xv.shape[2] != x.shape[2]:
                raise ValueError(
                    f"x_val: expected {x.shape[2]} features per step like x, got {xv.shape[2]}"
                )
            yv = _as_targets("y_val", y_val, xv, target, loss)
            if loss != "ce" and yv.shape[-1] != y.shape[-1]:
                raise ValueError(
                    f"y_val: expected {y.shape[-1]} outputs like y, got {yv.shape[-1]}"
                )
            self.train = _Part(x, y, last, target)
            self.val = _Part(xv, yv, _as_last("lengths_val", lengths_val, *xv.shape[:2]), target)
        self._K = _outputs(self.train, self.val, loss, classes)
        _check_criterion(target_loss, target_accuracy, loss)
        self.target_loss, self.target_accuracy = target_loss, target_accuracy
        h = hashlib.sha256()
        self.train.digest(h)
        self.val.digest(h)
        self.sha256 = h.hexdigest()
        self._epoch, self._pos, self._order_seed = 0, 0, None
        self._order: tuple[int | None, np.ndarray] = (None, np.arange(0))  # (seed, permutation)

    # -- shape of the problem -------------------------------------------------------------------
    input_size = property(lambda self: int(self.train.x.shape[2]))
    output_size = property(lambda self: self._K)
    loss = property(lambda self: self._loss)
    target = property(lambda self: self._target)
    train_size = property(lambda self: self.train.n)
    val_size = property(lambda self: self.val.n)

    @property
    def criterion(self) -> str:
        rules = []
        if self.target_loss is not None:
            rules.append(f"held-out loss <= {self.target_loss:g}")
        if self.target_accuracy is not None:
            rules.append(f"{100 * self.target_accuracy:g}% of held-out sequences correct")
        return " or ".join(rules) if rules else super().criterion

    @property
    def has_criterion(self) -> bool:
        return self.target_loss is not None or self.target_accuracy is not None

    @property
    def title(self) -> str:
        return f"arrays (N={self.train_size}+{self.val_size}, T={self.train.x.shape[0]})"

    def spec(self) -> dict[str, Any]:
        out = {
            "kind": self.kind,
            "input_size": self.input_size,
            "output_size": self.output_size,
            "loss": self.loss,
            "target": self.target,
            "train_sequences": self.train_size,
            "val_sequences": self.val_size,
            "sha256": self.sha256,
        }
        if self.target_loss is not None:
            out["target_loss"] = float(self.target_loss)
        if self.target_accuracy is not None:
            out["target_accuracy"] = float(self.target_accuracy)
        return out

    # -- training stream ------------------------------------------------------------------------
    def next_batch(self, batch: int, rng: np.random.Generator) -> Batch:
        N = self.train.n
        if batch > N:
            raise ValueError(f"batch: expected at most {N} (the training sequences), got {batch}")
        if self._order_seed is None or self._pos + batch > N:
            # A new epoch. Its order is drawn from the trainer's stream as one seed, so a
            # checkpoint holds the position as three numbers, not N indices.
            if self._order_seed is not None:
                self._epoch += 1
            self._order_seed = int(rng.integers(2**63))
            self._pos = 0
        if self._order[0] != self._order_seed:
            self._order = (self._order_seed, np.random.default_rng(self._order_seed).permutation(N))
        order = self._order[1]
        idx = np.sort(order[self._pos : self._pos + batch])
        self._pos += batch
        return self.train.batch(idx)

    def state_dict(self) -> dict[str, Any]:
        return {"epoch": self._epoch, "pos": self._pos, "order_seed": self._order_seed}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self._epoch, self._pos = int(state.get("epoch", 0)), int(state.get("pos", 0))
        seed = state.get("order_seed")
        self._order_seed = None if seed is None else int(seed)

    def correct(self, outputs: np.ndarray, batch: Batch) -> np.ndarray | None:
        if self.loss == "mse":
            return None
        T, B = outputs.shape[:2]
        if self.loss == "ce":
            pred = np.argmax(outputs, axis=-1)  # (T, B)
            hit = pred == (batch.y if self.target == "every" else batch.y[None])
        else:
            hit = np.all(
                (outputs > 0.5) == (batch.y > 0.5)
                if self.target == "every"
                else (outputs > 0.5) == (batch.y[None] > 0.5),
                axis=-1,
            )
        m = (
            mask_from_last(batch.last, T)
            if self.target == "last"
            else (batch.mask if batch.mask is not None else np.ones((T, B)))
        )
        return np.all(hit | (m == 0), axis=0)

    # -- judging --------------------------------------------------------------------------------
    def evaluate(
        self,
        model: Any,
        *,
        seed: int,
        step: int,
        size: int | None = None,
        screen: int | None = None,
        chunk: int = 512,
    ) -> Evaluation:
        """Loss (and accuracy for ``ce``/``bce``) on the held-out part; ``size`` caps how many of
        its sequences are used (the first ones), ``seed``/``step``/``screen`` are not needed."""
        n_all = self.val.n if size is None else min(size, self.val.n)
        loss_sum, hits = 0.0, []
        for s in range(0, n_all, chunk):
            cancellation_point()  # a background evaluation no longer wanted stops here
            b = self.val.batch(np.arange(s, min(s + chunk, n_all)))
            x = b.x.astype(model.dtype, copy=False)
            h, _, _ = model.layer.forward(x, keep_cache=False)  # no backward follows
            value, y = readout_value(
                model.readout, h, b.y, model.loss, **b.loss_kwargs(self.target)
            )
            loss_sum += value * b.x.shape[1]
            ok = self.correct(y, b)
            if ok is not None:
                hits.append(ok)
        loss = loss_sum / n_all
        acc = float(np.concatenate(hits).mean()) if hits else None
        solved = (self.target_loss is not None and loss <= self.target_loss) or (
            self.target_accuracy is not None and acc is not None and acc >= self.target_accuracy
        )
        return Evaluation(loss=float(loss), size=n_all, solved=bool(solved), accuracy=acc)
