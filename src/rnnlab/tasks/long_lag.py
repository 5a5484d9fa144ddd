"""Noise-free sequences with long time lags: Hochreiter & Schmidhuber 1997, Exp. 2a.

``p + 1`` symbols ``a_1 ... a_{p-1}, x, y``, one-hot, ``p + 1`` input and output units. There are
two sequences, each chosen with probability 0.5: ``(y, a_1, ..., a_{p-1}, y)`` and
``(x, a_1, ..., a_{p-1}, x)``. At each step the network sees one element and predicts the next;
only the last prediction is hard: it must recall the first element across ``p`` steps.

Where we chose: outputs are softmax with cross-entropy (the paper: squared error); a sequence is
correct when the most active output is the true next symbol at every step; solved when both
sequences are correct (the test set is the two sequences, as the task has no others).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from .base import Batch, Task, check_int_at_least


@dataclass
class LongLagTask(Task):
    """Hochreiter & Schmidhuber 1997, Exp. 2a (see the module docstring)."""

    length: int = 100  # p, the time lag (paper: 100)
    target: str = "every"
    test_size: int = 2  # the two sequences

    name: ClassVar[str] = "long_lag"
    source: ClassVar[str] = "Hochreiter & Schmidhuber 1997, Exp. 2a (noise-free long time lag)"
    loss: ClassVar[str] = "ce"
    criterion: ClassVar[str] = (
        "the true next symbol is the most active output at every step, for both sequences"
    )

    def __post_init__(self) -> None:
        self.length = check_int_at_least("length", self.length, 2)
        self.test_size = check_int_at_least("test_size", self.test_size, 1)
        if self.target != "every":
            raise ValueError(f"target: expected 'every' for this task, got {self.target!r}")

    @property
    def input_size(self) -> int:
        return self.length + 1

    @property
    def output_size(self) -> int:
        return self.length + 1

    def sequences(self, first: np.ndarray) -> np.ndarray:
        """``(p + 1, B)`` symbol indices; ``first`` 0 selects ``x`` (index p-1), 1 selects ``y``."""
        p = self.length
        ends = p - 1 + np.asarray(first)  # (B,)
        middle = np.repeat(np.arange(p - 1)[:, None], len(ends), axis=1)  # a_1..a_{p-1}
        return np.concatenate([ends[None], middle, ends[None]], axis=0)

    def _sample(self, batch: int, rng: np.random.Generator, split: str) -> Batch:
        if split == "test":
            first = np.arange(batch) % 2  # both sequences, alternating
        else:
            first = rng.integers(0, 2, size=batch)
        seq = self.sequences(first)  # (p + 1, B)
        x = np.eye(self.input_size)[seq[:-1]]  # (p, B, p + 1)
        y = seq[1:].astype(np.int64)  # (p, B) next-symbol indices
        last = np.full(batch, self.length - 1, dtype=np.int64)
        return Batch(x=x, y=y, mask=None, last=last, info={"first": first})

    def _correct(self, outputs: np.ndarray, batch: Batch) -> np.ndarray:
        return np.all(outputs.argmax(axis=2) == batch.y, axis=0)
