"""Copy / recall over a long gap.

The motivation in "Recurrent Neural Networks and the Exploding & Vanishing Gradient
Problems" (Dang, Phan & Chau 2023, "RNN's memory"): in "I found my bicycle in the same town
... from which I had reported to the police that it had been stolen", a clear memory of
"bicycle" must survive the whole sentence. The standard benchmark of that is the copy-memory
problem (layout of Arjovsky, Shah & Bengio 2016):
the input is ``n`` random symbols from ``{1..k}``, then ``gap - 1`` blanks (0), then a delimiter
(``k + 1``), then ``n`` blanks; the target is blank for the first ``n + gap`` steps and then the
``n`` symbols in order. Total length ``gap + 2 n``.

Where we chose: softmax outputs over ``{blank, 1..k}`` with cross-entropy at every step; a
sequence is correct when all ``n`` recalled symbols are the most active outputs at the recall
steps; solved when all 256 fresh test sequences are correct. (Arjovsky et al. report the loss
against the memoryless baseline ``n log k / (gap + 2 n)`` rather than a criterion.)
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from .base import Batch, Task, check_int_at_least


@dataclass
class CopyTask(Task):
    """Copy ``n`` symbols across a gap (see the module docstring)."""

    length: int = 100  # gap between the last symbol and the delimiter's recall
    copy_length: int = 10  # n, symbols to remember
    n_symbols: int = 8  # k, alphabet size (excluding blank and delimiter)
    target: str = "every"
    test_size: int = 256  # fresh test sequences

    name: ClassVar[str] = "copy"
    source: ClassVar[str] = (
        "Dang, Phan & Chau 2023, the 'bicycle' sentence; copy-memory layout of "
        "Arjovsky, Shah & Bengio 2016"
    )
    loss: ClassVar[str] = "ce"
    criterion: ClassVar[str] = (
        "all n recalled symbols are the most active outputs, for all 256 fresh test sequences"
    )

    def __post_init__(self) -> None:
        self.length = check_int_at_least("length", self.length, 1)
        self.copy_length = check_int_at_least("copy_length", self.copy_length, 1)
        self.n_symbols = check_int_at_least("n_symbols", self.n_symbols, 2)
        self.test_size = check_int_at_least("test_size", self.test_size, 1)
        if self.target != "every":
            raise ValueError(f"target: expected 'every' for this task, got {self.target!r}")

    @property
    def input_size(self) -> int:
        return self.n_symbols + 2  # blank, symbols 1..k, delimiter

    @property
    def output_size(self) -> int:
        return self.n_symbols + 1  # blank, symbols 1..k

    def _sample(self, batch: int, rng: np.random.Generator, split: str) -> Batch:
        n, gap = self.copy_length, self.length
        T = gap + 2 * n
        data = rng.integers(1, self.n_symbols + 1, size=(n, batch))  # (n, B)
        idx = np.zeros((T, batch), dtype=np.int64)
        idx[:n] = data
        idx[n + gap - 1] = self.n_symbols + 1  # the delimiter
        y = np.zeros((T, batch), dtype=np.int64)
        y[n + gap :] = data
        x = np.eye(self.input_size)[idx]  # (T, B, k + 2)
        return Batch(x=x, y=y, mask=None, last=np.full(batch, T - 1, dtype=np.int64))

    def _correct(self, outputs: np.ndarray, batch: Batch) -> np.ndarray:
        start = self.copy_length + self.length
        return np.all(outputs[start:].argmax(axis=2) == batch.y[start:], axis=0)
