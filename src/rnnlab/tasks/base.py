"""What every task provides: a seeded batch generator and the "solved" criterion of its source.

Arrays are time-major. A :class:`Batch` holds inputs ``x (T, B, I)``, targets, and for
variable-length batches a ``mask (T, B)`` (1 on valid steps, 0 on padding after a sequence's
end). Targets follow the task's ``target`` mode:

- ``"every"``: one target per step, ``(T, B, K)`` (class indices ``(T, B)`` for ``loss="ce"``);
  padded steps hold zeros and are masked out of the loss;
- ``"last"``: one target per sequence at its own last valid step ``last[b]``, ``(B, K)``
  (indices ``(B,)`` for ``"ce"``).

``correct(outputs, batch)`` takes the network's outputs ``y = phi_y(z) (T, B, K)``: values for
``mse``, probabilities (``sigmoid``/``softmax``) for ``bce``/``ce``.
"""

from __future__ import annotations

import numbers
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import Any, ClassVar

import numpy as np

from .._validate import as_rng, check_array, check_choice, check_positive_int

SPLITS = ("train", "test")


@dataclass
class Batch:
    """One batch of sequences, time-major."""

    x: np.ndarray  # (T, B, I) inputs, zero after each sequence's end
    y: np.ndarray  # targets: (T, B, K) / (T, B) for "every"; (B, K) / (B,) for "last"
    mask: np.ndarray | None  # (T, B) 1.0 on valid steps; None when every sequence has length T
    last: np.ndarray  # (B,) int64 index of each sequence's last valid step
    info: dict[str, Any] = field(default_factory=dict)  # generator details (positions, classes)
    carry: bool = False  # True: each sequence continues the previous batch's (a stateful source);
    # training starts it from that batch's final hidden state instead of zeros

    @property
    def lengths(self) -> np.ndarray:
        """``(B,)`` valid length of each sequence."""
        return self.last + 1

    def loss_kwargs(self, target: str) -> dict[str, np.ndarray | None]:
        """``{"last": ...}`` or ``{"mask": ...}`` for :mod:`rnnlab.losses` under ``target``."""
        return {"last": self.last} if target == "last" else {"mask": self.mask}


class Task(ABC):
    """Base class. Subclasses are dataclasses whose fields are the task's settings."""

    name: ClassVar[str]  # registry name
    source: ClassVar[str]  # citation of the problem and its criterion
    loss: ClassVar[str]  # "mse" | "bce" | "ce"
    criterion: ClassVar[str]  # the solved criterion in words
    target: str = "last"  # "last" | "every"
    test_size: int = 1000  # fresh test sequences the solved criterion is judged on
    solved_accuracy: float = 1.0  # fraction of the test set that must be correct

    @property
    def paper_sequences(self) -> int | None:
        """Training sequences the source's LSTM needed in exactly this setting (None: the source
        reports none for it); the trainer's default sequence budget."""
        return None

    @property
    @abstractmethod
    def input_size(self) -> int: ...

    @property
    @abstractmethod
    def output_size(self) -> int: ...

    @abstractmethod
    def _sample(self, batch: int, rng: np.random.Generator, split: str) -> Batch: ...

    @abstractmethod
    def _correct(self, outputs: np.ndarray, batch: Batch) -> np.ndarray: ...

    def sample(self, batch: int, rng: int | np.random.Generator, split: str = "train") -> Batch:
        """``batch`` fresh sequences drawn with ``rng``; ``split="test"`` for the test setting."""
        batch = check_positive_int("batch", batch)
        split = check_choice("split", split, SPLITS)
        return self._sample(batch, as_rng(rng), split)

    def test_set(self, rng: int | np.random.Generator) -> Batch:
        """The ``test_size`` fresh sequences the solved criterion is judged on."""
        return self.sample(self.test_size, rng, split="test")

    def correct(self, outputs: np.ndarray, batch: Batch, *, check: bool = True) -> np.ndarray:
        """``(B,)`` bool: which sequences the outputs ``(T, B, K)`` get right (see source).

        ``check=False`` skips the checks of the arguments, for a caller that made ``outputs``
        itself with a model of this task (the trainer, at every step: the checks cost about
        as much as the rule); non-finite outputs then meet the rule as they are, without an error.
        """
        if check:
            if not isinstance(batch, Batch):
                raise TypeError(f"batch: expected a Batch, got {type(batch).__name__}")
            T, B = batch.x.shape[:2]
            check_array("outputs", outputs, ndim=3, shape=(T, B, self.output_size))
        return np.asarray(self._correct(outputs, batch), dtype=bool)

    def solved(self, correct: np.ndarray | float) -> bool:
        """Whether a test result meets the criterion: a ``(N,)`` bool array from
        :meth:`correct` over the test set, or the fraction correct."""
        if isinstance(correct, np.ndarray):
            if correct.ndim != 1 or correct.size == 0:
                raise ValueError(
                    f"correct: expected a non-empty 1-d bool array, got shape {correct.shape}"
                )
            acc = float(np.mean(correct))
        elif isinstance(correct, numbers.Real) and not isinstance(correct, bool):
            acc = float(correct)
            if not 0.0 <= acc <= 1.0:
                raise ValueError(f"correct: expected a fraction in [0, 1], got {acc}")
        else:
            raise TypeError(
                f"correct: expected a bool array or a fraction, got {type(correct).__name__}"
            )
        return acc >= self.solved_accuracy

    def describe(self) -> dict[str, Any]:
        """Name, source, sizes, loss, target mode and criterion, for listings."""
        return {
            "name": self.name,
            "source": self.source,
            "input_size": self.input_size,
            "output_size": self.output_size,
            "loss": self.loss,
            "target": self.target,
            "criterion": self.criterion,
        }


def last_outputs(outputs: np.ndarray, batch: Batch) -> np.ndarray:
    """``(B, K)``: each sequence's output at its own last valid step."""
    return outputs[batch.last, np.arange(outputs.shape[1])]


def pad(seqs: list[np.ndarray], dtype: object = np.float64) -> tuple[np.ndarray, np.ndarray]:
    """Stack ``(T_b, F)`` sequences into ``(T_max, B, F)`` zeros-padded, and the ``(T_max, B)``
    mask."""
    T = max(len(s) for s in seqs)
    F = seqs[0].shape[1]
    x = np.zeros((T, len(seqs), F), dtype=dtype)
    mask = np.zeros((T, len(seqs)))
    for b, s in enumerate(seqs):
        x[: len(s), b] = s
        mask[: len(s), b] = 1.0
    return x, mask


def check_int_at_least(name: str, value: object, low: int) -> int:
    """``value`` as int if it is an integer >= ``low``."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name}: expected an int >= {low}, got {type(value).__name__} {value!r}")
    if value < low:
        raise ValueError(f"{name}: expected an int >= {low}, got {value}")
    return int(value)


def lengths_between(rng: np.random.Generator, low: int, high: int, batch: int) -> np.ndarray:
    """``(B,)`` ints uniform in ``[low, high]`` inclusive."""
    return rng.integers(low, high + 1, size=batch)
