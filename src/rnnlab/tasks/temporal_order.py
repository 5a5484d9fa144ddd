"""Temporal order: Hochreiter & Schmidhuber 1997, "Long Short-Term Memory", Exp. 6a and 6b.

Eight input symbols, one-hot: ``a, b, c, d, B, E, X, Y``. A sequence starts with ``B`` and ends
with ``E``; every other element is drawn from ``{a, b, c, d}`` except at the relevant positions,
which hold ``X`` or ``Y``. The class is the order of those symbols:

- Exp. 6a (``symbols=2``): positions ``t1 in [10, 20]``, ``t2 in [50, 60]``, length in
  ``[100, 110]``; classes ``XX, XY, YX, YY`` (the paper's Q, R, S, U).
- Exp. 6b (``symbols=3``): ``t1 in [10, 20]``, ``t2 in [33, 43]``, ``t3 in [66, 76]``; 8 classes
  ``XXX ... YYY``.

Targets only at the sequence end. The paper's success criterion: the final absolute error of all
output units below 0.3; it reports 31,390 (6a) and 571,100 (6b) training sequences.

Where we chose: the outputs are softmax probabilities trained with cross-entropy (the paper used
sigmoid units and squared error), and correct means every probability is within 0.3 of the one-hot
target. ``length`` scales every range proportionally (``length=100`` gives the paper's). The
paper counts positions from 1 with ``B`` at position 1, so its position ``t`` is index ``t - 1``
here (``B`` at index 0): the minimal lag from the last relevant symbol to the end is the paper's
40 (6a) and 24 (6b). Solved: all 2,560 fresh test sequences correct.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import ClassVar

import numpy as np

from .base import Batch, Task, check_int_at_least, last_outputs, lengths_between, pad

SYMBOLS = ("a", "b", "c", "d", "B", "E", "X", "Y")
_B, _E, _X = 4, 5, 6
# Relevant-position windows as fractions of the length (the paper's at length 100).
_WINDOWS = {2: ((0.10, 0.20), (0.50, 0.60)), 3: ((0.10, 0.20), (0.33, 0.43), (0.66, 0.76))}
# (bitgen_address, draw_order) once imported: an import statement at every draw cost ~6 us in a
# training loop (on caches the step's kernels had filled)
_compiled: tuple | None = None


@dataclass
class TemporalOrderTask(Task):
    """Hochreiter & Schmidhuber 1997, Exp. 6a (see the module docstring)."""

    symbols: int = 2  # relevant X/Y symbols: 2 (Exp. 6a) or 3 (Exp. 6b)
    length: int = 100  # minimal sequence length (paper: 100)
    tolerance: float = 0.3  # every output within this of its target is correct (paper)
    # Correct when the most probable class is the target instead (the classification error of
    # Pascanu et al.'s script, which scores this task that way); the tolerance is then unused.
    argmax: bool = False
    test_size: int = 2560  # fresh test sequences

    name: ClassVar[str] = "temporal_order"
    source: ClassVar[str] = "Hochreiter & Schmidhuber 1997, Exp. 6a (temporal order, 2 symbols)"
    loss: ClassVar[str] = "ce"

    def __post_init__(self) -> None:
        if self.symbols not in _WINDOWS:
            raise ValueError(f"symbols: expected 2 or 3, got {self.symbols!r}")
        self.length = check_int_at_least("length", self.length, 20)
        if not isinstance(self.argmax, (bool, np.bool_)):
            raise TypeError(f"argmax: expected True or False, got {self.argmax!r}")
        self.test_size = check_int_at_least("test_size", self.test_size, 1)

    @property
    def criterion(self) -> str:  # type: ignore[override]
        """The solved criterion in words, with this instance's rule and test size."""
        rule = (
            "the most probable class is the target's"
            if self.argmax
            else f"every output within {self.tolerance:g} of the one-hot class"
        )
        return f"{rule} at the sequence end, for all {self.test_size:,} fresh test sequences"

    @property
    def paper_sequences(self) -> int | None:
        """31,390 (Exp. 6a) and 571,100 (Exp. 6b) at the paper's length 100."""
        return {2: 31_390, 3: 571_100}[self.symbols] if self.length == 100 else None

    @property
    def input_size(self) -> int:
        return len(SYMBOLS)

    @property
    def output_size(self) -> int:
        return 2**self.symbols

    def windows(self) -> list[tuple[int, int]]:
        """The inclusive range of each relevant symbol's position at this length, 1-based as in the
        paper (``B`` at position 1; the array index is one less)."""
        return [
            (round(lo * self.length), round(hi * self.length)) for lo, hi in _WINDOWS[self.symbols]
        ]

    def _sample(self, batch: int, rng: np.random.Generator, split: str) -> Batch:
        x, mask, classes, positions, last = order_sequences(self, batch, rng)
        return Batch(x=x, y=classes, mask=mask, last=last, info={"positions": positions})

    def _correct(self, outputs: np.ndarray, batch: Batch) -> np.ndarray:
        p = last_outputs(outputs, batch)  # (B, K)
        if self.argmax:
            return np.argmax(p, axis=1) == batch.y
        target = np.eye(self.output_size)[batch.y]
        return np.all(np.abs(p - target) < self.tolerance, axis=1)


def order_sequences(
    task: TemporalOrderTask, batch: int, rng: np.random.Generator
) -> tuple[np.ndarray, ...]:
    """A batch of ``task``'s sequences: ``x (T_max, B, 8)`` one-hot, ``mask (T_max, B)``, the
    classes ``(B,)``, the relevant positions ``(B, symbols)`` and each sequence's last step
    ``(B,)``. Drawn in compiled code (:mod:`._order_kernel`), the same bits as
    :func:`order_sequences_reference`."""
    global _compiled
    if _compiled is None:  # Numba: loaded on the first draw
        from ._bitgen import bitgen_address
        from ._order_kernel import draw_order

        _compiled = (bitgen_address, draw_order)
    bitgen_address, draw_order = _compiled
    lo, hi = (np.array(w, dtype=np.int64) for w in zip(*task.windows()))
    address = bitgen_address(rng)  # rng stays alive (this frame holds it) during the draw
    return draw_order(address, batch, task.length, lo, hi, len(SYMBOLS), _B, _E, _X)


def order_sequences_reference(
    task: TemporalOrderTask, batch: int, rng: np.random.Generator
) -> tuple[np.ndarray, ...]:
    """:func:`order_sequences` as a readable Python loop (the reference the tests hold the
    compiled draw to)."""
    lengths = lengths_between(rng, task.length, task.length + task.length // 10, batch)
    seqs, classes = [], np.zeros(batch, dtype=np.int64)
    positions = np.zeros((batch, task.symbols), dtype=np.int64)
    for b, n in enumerate(lengths):
        idx = rng.integers(0, 4, size=n)  # distractors a..d
        idx[0], idx[n - 1] = _B, _E
        for j, (lo, hi) in enumerate(task.windows()):
            positions[b, j] = rng.integers(lo, hi + 1) - 1  # the paper's 1-based t
            bit = rng.integers(0, 2)  # 0 = X, 1 = Y
            idx[positions[b, j]] = _X + bit
            classes[b] = classes[b] * 2 + bit
        seqs.append(np.eye(len(SYMBOLS))[idx])
    x, mask = pad(seqs)
    return x, mask, classes, positions, (lengths - 1).astype(np.int64)


@dataclass
class TemporalOrder3Task(TemporalOrderTask):
    """Hochreiter & Schmidhuber 1997, Exp. 6b: three relevant symbols, eight classes."""

    # Fixed, not a setting: `temporal_order_3` with symbols=2 would silently be Exp. 6a.
    symbols: int = field(default=3, init=False)

    name: ClassVar[str] = "temporal_order_3"
    source: ClassVar[str] = "Hochreiter & Schmidhuber 1997, Exp. 6b (temporal order, 3 symbols)"
