"""Noise-free sequences with long time lags: Hochreiter & Schmidhuber 1997, Exp. 2a.

``p + 1`` symbols ``a_1 ... a_{p-1}, x, y``, one-hot, ``p + 1`` input and output units. There are
two sequences, each chosen with probability 0.5: ``(y, a_1, ..., a_{p-1}, y)`` and
``(x, a_1, ..., a_{p-1}, x)``. At each step the network sees one element and predicts the next;
only the last prediction is hard: it must recall the first element across ``p`` steps.

Why only the last prediction is trained (``predict="last"``, the default). The paper's net had
direct input-to-output connections: 10,201 of its 10,504 weights at p = 100 are those
``(p+1) x (p+1)`` shortcuts, and they make the 99 easy predictions (``a_i -> a_{i+1}``) without the
memory cell, which only has to carry x/y. rnnlab's readout sees only ``h``, so with a target at
every step (``predict="every"``) the hidden state must also name the current symbol, one of 100,
at every step, and training overwrites the first symbol: an LSTM and a GRU both stayed at 50%
(p = 30 and p = 100, 30,000 sequences). Scoring only the final prediction leaves the recurrent
layer the paper's memory cell's job; there, too fast a start (Adam, lr 3e-3) lets the LSTM's cell
states drift to |c| ~ 16, where tanh(c) saturates and neither the bit nor its gradient gets through
(H&S's "internal state drift"), hence the smaller learning rate of this task's defaults.

Where we chose: outputs are softmax with cross-entropy (the paper: squared error). With
``predict="last"`` a sequence is correct when every output at the end is within 0.25 of the one-hot
final symbol (the paper's error bound; the most active output alone passed a run whose final
probabilities for x and y were both about 0.5); with ``predict="every"`` when the true next symbol
is the most active output at every step. Solved when both sequences are correct (the test set is the
two sequences; the task has no others).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import ClassVar

import numpy as np

from .base import Batch, Task, check_int_at_least


@dataclass
class LongLagTask(Task):
    """Hochreiter & Schmidhuber 1997, Exp. 2a (see the module docstring)."""

    length: int = 100  # p, the time lag (paper: 100)
    predict: str = "last"  # "last": the final symbol only (see above); "every": every next symbol
    tolerance: float = 0.25  # predict="last": every final output within this of its target (paper)
    test_size: int = 2  # the two sequences
    target: str = field(default="last", init=False)  # follows `predict`

    name: ClassVar[str] = "long_lag"
    source: ClassVar[str] = "Hochreiter & Schmidhuber 1997, Exp. 2a (noise-free long time lag)"
    loss: ClassVar[str] = "ce"
    criterion: ClassVar[str] = (
        "every output within 0.25 of the one-hot final symbol at the end, for both sequences"
    )

    def __post_init__(self) -> None:
        self.length = check_int_at_least("length", self.length, 2)
        self.test_size = check_int_at_least("test_size", self.test_size, 1)
        if self.predict not in ("last", "every"):
            raise ValueError(f"predict: expected 'last' or 'every', got {self.predict!r}")
        self.target = self.predict

    @property
    def paper_sequences(self) -> int | None:
        """5,040 at p = 100 (the paper's LSTM, Exp. 2a)."""
        return 5_040 if self.length == 100 else None

    @property
    def budget(self) -> int | None:
        """Default training budget: ten times the paper's count (seeds need 4,000-15,200 here)."""
        return 10 * self.paper_sequences if self.paper_sequences else None

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
        if self.predict == "last":
            y = y[-1]  # (B,) the final symbol: x or y
        last = np.full(batch, self.length - 1, dtype=np.int64)
        return Batch(x=x, y=y, mask=None, last=last, info={"first": first})

    def _correct(self, outputs: np.ndarray, batch: Batch) -> np.ndarray:
        if self.predict == "last":  # the paper's: final output error below 0.25 on every unit
            target = np.eye(self.output_size)[batch.y]  # (B, p + 1)
            return np.all(np.abs(outputs[-1] - target) < self.tolerance, axis=1)
        return np.all(outputs.argmax(axis=2) == batch.y, axis=0)
