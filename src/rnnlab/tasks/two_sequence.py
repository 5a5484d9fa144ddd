"""Two-sequence problem: Hochreiter & Schmidhuber 1997, Exp. 3a (after Bengio, Simard & Frasconi
1994).

One input line; two classes with probability 0.5 each. Only the first ``N`` elements carry the
class: 1.0 for class 1 and -1.0 for class 2. Every later element is Gaussian noise with mean 0
and variance 0.2. The length is uniform in ``[T, T + T/10]``. The target at the sequence end is
1.0 for class 1 and 0.0 for class 2; a sequence is classified correctly when the absolute output
error at its end is below 0.2 (the paper's criterion).

Where we chose: for ``N > 1`` all of the first ``N`` elements carry the same class value; solved
means all ``test_size`` (2,560) fresh test sequences are correct.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from .base import Batch, Task, check_int_at_least, last_outputs, lengths_between, pad


@dataclass
class TwoSequenceTask(Task):
    """Hochreiter & Schmidhuber 1997, Exp. 3a (see the module docstring)."""

    length: int = 100  # minimal sequence length T (paper: 100, 1000)
    relevant: int = 3  # N, the number of leading elements that carry the class (paper: 1, 3)
    tolerance: float = 0.2  # |error| at the sequence end below this is correct (paper)
    test_size: int = 2560  # fresh test sequences

    name: ClassVar[str] = "two_sequence"
    source: ClassVar[str] = "Hochreiter & Schmidhuber 1997, Exp. 3a (two-sequence problem)"
    loss: ClassVar[str] = "mse"
    criterion: ClassVar[str] = (
        "|output - target| < 0.2 at the sequence end (target 1 or 0) for all 2,560 fresh test "
        "sequences"
    )

    def __post_init__(self) -> None:
        self.length = check_int_at_least("length", self.length, 2)
        self.relevant = check_int_at_least("relevant", self.relevant, 1)
        if self.relevant >= self.length:
            raise ValueError(
                f"relevant: expected an int below length={self.length}, got {self.relevant}"
            )
        self.test_size = check_int_at_least("test_size", self.test_size, 1)

    @property
    def input_size(self) -> int:
        return 1

    @property
    def output_size(self) -> int:
        return 1

    def _sample(self, batch: int, rng: np.random.Generator, split: str) -> Batch:
        lengths = lengths_between(rng, self.length, self.length + self.length // 10, batch)
        cls = rng.integers(0, 2, size=batch)  # 1 = class 1, 0 = class 2
        seqs = []
        for b, n in enumerate(lengths):
            s = rng.normal(0.0, np.sqrt(0.2), size=(n, 1))
            s[: self.relevant, 0] = 1.0 if cls[b] else -1.0
            seqs.append(s)
        x, mask = pad(seqs)
        y = cls.astype(np.float64)[:, None]  # (B, 1)
        return Batch(x=x, y=y, mask=mask, last=(lengths - 1).astype(np.int64))

    def _correct(self, outputs: np.ndarray, batch: Batch) -> np.ndarray:
        return np.abs(last_outputs(outputs, batch) - batch.y)[:, 0] < self.tolerance
