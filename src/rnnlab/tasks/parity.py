"""Parity of a bit sequence (lecture notes, "Recurrent Neural Networks": "determine the parity of a
binary input sequence, whether the number of 1's is odd"; strategy: track the parity over the
sequence).

Input: one bit per step. Target: 1 if the number of ones is odd. ``target="last"`` asks only at
each sequence's end; ``target="every"`` asks for the running parity at every step (the easier,
"track it" version). Lengths are uniform in ``[min_length, length]`` (``min_length`` defaults to
``length``); shorter sequences are zero-padded and masked.

Where we chose (the notes give no criterion): sigmoid output with binary cross-entropy; a
sequence is correct when every asked-for output is on the right side of 0.5; solved when all
1,000 fresh test sequences are correct.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from .base import Batch, Task, check_int_at_least, last_outputs, lengths_between

TARGETS = ("last", "every")


@dataclass
class ParityTask(Task):
    """Parity of a bit sequence (see the module docstring)."""

    length: int = 20  # longest sequence
    min_length: int | None = None  # shortest sequence (None: all have ``length``)
    target: str = "last"  # "last": parity at the end; "every": running parity
    test_size: int = 1000  # fresh test sequences

    name: ClassVar[str] = "parity"
    source: ClassVar[str] = "Congeduti 2024, 'Recurrent Neural Networks': parity of a bit sequence"
    loss: ClassVar[str] = "bce"
    criterion: ClassVar[str] = (
        "output > 0.5 exactly when the number of ones so far is odd, for all 1,000 fresh test "
        "sequences"
    )

    def __post_init__(self) -> None:
        self.length = check_int_at_least("length", self.length, 1)
        if self.min_length is None:
            self.min_length = self.length
        self.min_length = check_int_at_least("min_length", self.min_length, 1)
        if self.min_length > self.length:
            raise ValueError(
                f"min_length: expected an int <= length={self.length}, got {self.min_length}"
            )
        if self.target not in TARGETS:
            raise ValueError(f"target: expected one of last, every; got {self.target!r}")
        self.test_size = check_int_at_least("test_size", self.test_size, 1)

    @property
    def input_size(self) -> int:
        return 1

    @property
    def output_size(self) -> int:
        return 1

    def _sample(self, batch: int, rng: np.random.Generator, split: str) -> Batch:
        lengths = lengths_between(rng, self.min_length, self.length, batch)
        T = int(lengths.max())
        mask = (np.arange(T)[:, None] < lengths[None, :]).astype(np.float64)  # (T, B)
        bits = rng.integers(0, 2, size=(T, batch)) * mask.astype(np.int64)  # (T, B)
        running = (np.cumsum(bits, axis=0) % 2).astype(np.float64)  # (T, B)
        last = (lengths - 1).astype(np.int64)
        if self.target == "last":
            y = running[last, np.arange(batch)][:, None]  # (B, 1)
        else:
            y = (running * mask)[:, :, None]  # (T, B, 1)
        x = bits.astype(np.float64)[:, :, None]  # (T, B, 1)
        return Batch(x=x, y=y, mask=None if self.min_length == self.length else mask, last=last)

    def _correct(self, outputs: np.ndarray, batch: Batch) -> np.ndarray:
        if self.target == "last":
            return (last_outputs(outputs, batch)[:, 0] > 0.5) == (batch.y[:, 0] > 0.5)
        ok = (outputs[:, :, 0] > 0.5) == (batch.y[:, :, 0] > 0.5)  # (T, B)
        if batch.mask is not None:
            ok |= batch.mask == 0
        return np.all(ok, axis=0)
