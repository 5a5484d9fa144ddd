"""Adding problem: Hochreiter & Schmidhuber 1997, "Long Short-Term Memory", Experiment 4.

Each step is a pair (value, marker). Values are ``U[-1, 1]``. A sequence's length is uniform in
``[T, T + T/10]``. Exactly two pairs are marked with marker 1.0: one of the first ten pairs (value
X1), then one of the first ``T/2 - 1`` pairs still unmarked (X2). Every other marker is 0 except
the first and the last pair's, which are -1. (If the first pair is marked, its marker is 1.0 and
its value is set to 0, as the paper does for X1.) The target, given only at the sequence end, is
``0.5 + (X1 + X2) / 4``. A sequence is processed correctly when the absolute error at its end is
below 0.04; the paper tests on 2,560 fresh sequences.

Where the paper is silent or we chose: ``T/10`` and ``T/2`` are floored; "solved" here means all
``test_size`` (2,560) fresh test sequences are correct (the paper's stopping rule, average
training error < 0.01 and the last 2,000 training sequences correct, is the trainer's business).
The first-pair rule is applied whichever of X1/X2 sits there.
``length`` must be at least 12 so that X2 always has a free slot before the last pair.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from .base import Batch, Task, check_int_at_least, last_outputs, lengths_between, pad

# (bitgen_address, draw_marked) once imported: an import statement at every draw cost ~6 us
# in a training loop (on caches the step's kernels had filled)
_compiled: tuple | None = None


def marked_sequences(
    length: int, batch: int, rng: np.random.Generator, low: float, high: float, first: float
) -> tuple[np.ndarray, ...]:
    """The pairs of Experiments 4/5. Returns ``x (T_max, B, 2)``, ``mask (T_max, B)``, the
    marked positions ``p1, p2 (B,)``, the marked values ``x1, x2 (B,)`` and each sequence's
    last step ``(B,)``; a marked first pair holds ``first`` (the paper's X1 = 0 for adding).
    Drawn in compiled code (:mod:`._marked_kernel`), the same bits as
    :func:`marked_sequences_reference`."""
    global _compiled
    if _compiled is None:  # Numba: loaded on the first draw
        from ._bitgen import bitgen_address
        from ._marked_kernel import draw_marked

        _compiled = (bitgen_address, draw_marked)
    bitgen_address, draw_marked = _compiled
    address = bitgen_address(rng)  # rng stays alive (this frame holds it) during the draw
    return draw_marked(address, batch, length, float(low), float(high), float(first))


def marked_sequences_reference(
    length: int, batch: int, rng: np.random.Generator, low: float, high: float, first: float
) -> tuple[np.ndarray, ...]:
    """:func:`marked_sequences` as a readable Python loop (the reference the tests hold the
    compiled draw to)."""
    lengths = lengths_between(rng, length, length + length // 10, batch)
    seqs = []
    p1 = np.empty(batch, dtype=np.int64)
    p2 = np.empty(batch, dtype=np.int64)
    m = length // 2 - 1  # X2 is one of the pairs 0 .. m-1 other than X1's
    for b, n in enumerate(lengths):
        s = np.zeros((n, 2))
        s[:, 0] = rng.uniform(low, high, size=n)
        s[0, 1] = s[n - 1, 1] = -1.0
        p1[b] = rng.integers(0, 10)
        # the k-th free pair, k uniform: the same draw as rng.choice over the free pairs (which
        # costs 7x as much), so the same sequences
        if p1[b] < m:
            k = rng.integers(0, m - 1)
            p2[b] = k + (k >= p1[b])
        else:
            p2[b] = rng.integers(0, m)
        s[p1[b], 1] = s[p2[b], 1] = 1.0
        seqs.append(s)
    x, mask = pad(seqs)
    cols = np.arange(batch)
    x[0, (p1 == 0) | (p2 == 0), 0] = first
    last = (mask.sum(axis=0) - 1).astype(np.int64)
    return x, mask, p1, p2, x[p1, cols, 0], x[p2, cols, 0], last


@dataclass
class AddingTask(Task):
    """Hochreiter & Schmidhuber 1997, Exp. 4 (see the module docstring)."""

    length: int = 100  # minimal sequence length T (paper: 100, 500, 1000)
    tolerance: float = 0.04  # |error| at the sequence end below this is correct (paper)
    test_size: int = 2560  # fresh test sequences (paper)

    name: ClassVar[str] = "adding"
    source: ClassVar[str] = "Hochreiter & Schmidhuber 1997, Exp. 4 (adding problem)"
    loss: ClassVar[str] = "mse"
    _target: ClassVar[str] = "(0.5 + (X1 + X2)/4)"  # the target in words, for the criterion
    _low: ClassVar[float] = -1.0
    _high: ClassVar[float] = 1.0

    def __post_init__(self) -> None:
        self.length = check_int_at_least("length", self.length, 12)
        self.test_size = check_int_at_least("test_size", self.test_size, 1)

    @property
    def criterion(self) -> str:  # type: ignore[override]
        """The solved criterion in words, with this instance's tolerance and test size."""
        return (
            f"|output - {self._target}| < {self.tolerance:g} at the sequence end for all "
            f"{self.test_size:,} fresh test sequences"
        )

    @property
    def paper_sequences(self) -> int | None:
        """74,000 at T=100 (the paper's Table 7); other lengths are not compared here."""
        return 74_000 if self.length == 100 else None

    @property
    def input_size(self) -> int:
        return 2

    @property
    def output_size(self) -> int:
        return 1

    def _combine(self, x1: np.ndarray, x2: np.ndarray) -> np.ndarray:
        return 0.5 + (x1 + x2) / 4.0

    _first_value: ClassVar[float] = 0.0  # X1 when the first pair is the marked one

    def _sample(self, batch: int, rng: np.random.Generator, split: str) -> Batch:
        x, mask, p1, p2, x1, x2, last = marked_sequences(
            self.length, batch, rng, self._low, self._high, self._first_value
        )
        y = self._combine(x1, x2)[:, None]  # (B, 1)
        return Batch(x=x, y=y, mask=mask, last=last, info={"p1": p1, "p2": p2})

    def _correct(self, outputs: np.ndarray, batch: Batch) -> np.ndarray:
        err = last_outputs(outputs, batch) - batch.y  # (B, 1)
        return np.abs(err[:, 0]) < self.tolerance
