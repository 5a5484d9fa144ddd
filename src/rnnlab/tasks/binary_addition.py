"""Binary addition of two N-bit numbers (lecture notes, "MLPs vs RNNs": "add two N-bit numbers to
produce an N+1-bit number"; an RNN that carries can add numbers of any size, while a network
trained for N bits will not work for N+1 bits).

Inputs: at step ``t`` the bits ``(a_t, b_t)``, least significant first, then one step of
``(0, 0)`` to emit the carry: ``T = N + 1``. Target at every step: bit ``t`` of ``a + b``.
Training uses ``bits = N``; ``split="test"`` uses ``test_bits = N + k`` to test generalisation.

Where we chose (the notes give no criterion): sigmoid outputs with binary cross-entropy; a sum is
correct when all its ``N + 1`` bits are on the right side of 0.5; solved when all 1,000 fresh
test sums at ``test_bits`` are correct.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from .base import Batch, Task, check_int_at_least


def add_bits(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Ripple-carry sum of bit arrays ``a, b (N, B)``, LSB first -> ``(N + 1, B)``."""
    N, B = a.shape
    out = np.zeros((N + 1, B), dtype=np.int64)
    carry = np.zeros(B, dtype=np.int64)
    for t in range(N):
        s = a[t] + b[t] + carry
        out[t], carry = s % 2, s // 2
    out[N] = carry
    return out


@dataclass
class BinaryAdditionTask(Task):
    """Binary addition, train at N bits, test at N + k (see the module docstring)."""

    bits: int = 8  # N, bits per training operand
    test_bits: int | None = None  # N + k for the test split (None: 2 N)
    target: str = "every"
    test_size: int = 1000  # fresh test sums

    name: ClassVar[str] = "binary_addition"
    source: ClassVar[str] = (
        "Lecture 'Recurrent Networks: Stability analysis and LSTMs', MLPs vs RNNs: N-bit addition"
    )
    loss: ClassVar[str] = "bce"
    criterion: ClassVar[str] = (
        "all N+1 sum bits right (threshold 0.5) for all 1,000 fresh test sums at test_bits"
    )

    def __post_init__(self) -> None:
        self.bits = check_int_at_least("bits", self.bits, 1)
        if self.test_bits is None:
            self.test_bits = 2 * self.bits
        self.test_bits = check_int_at_least("test_bits", self.test_bits, 1)
        self.test_size = check_int_at_least("test_size", self.test_size, 1)
        if self.target != "every":
            raise ValueError(f"target: expected 'every' for this task, got {self.target!r}")

    @property
    def input_size(self) -> int:
        return 2

    @property
    def output_size(self) -> int:
        return 1

    def _sample(self, batch: int, rng: np.random.Generator, split: str) -> Batch:
        N = self.bits if split == "train" else self.test_bits
        ab = rng.integers(0, 2, size=(2, N, batch))  # (2, N, B)
        s = add_bits(ab[0], ab[1])  # (N + 1, B)
        x = np.zeros((N + 1, batch, 2))
        x[:N] = ab.transpose(1, 2, 0)
        y = s.astype(np.float64)[:, :, None]  # (N + 1, B, 1)
        last = np.full(batch, N, dtype=np.int64)
        return Batch(x=x, y=y, mask=None, last=last)

    def _correct(self, outputs: np.ndarray, batch: Batch) -> np.ndarray:
        return np.all((outputs[:, :, 0] > 0.5) == (batch.y[:, :, 0] > 0.5), axis=0)
