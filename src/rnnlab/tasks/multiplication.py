"""Multiplication problem: Hochreiter & Schmidhuber 1997, "Long Short-Term Memory", Exp. 5.

As the adding problem (Exp. 4, :mod:`rnnlab.tasks.adding`) except that values are ``U[0, 1]``,
the target is ``X1 * X2``, and a marked first pair's value is set to 1.0 (the paper: X1).

Where we chose: correct when the absolute error at the sequence end is below 0.04 (the Exp. 4
tolerance; the paper also reports results at other error levels for this experiment); solved when
all 2,560 fresh test sequences are correct.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from .adding import AddingTask


@dataclass
class MultiplicationTask(AddingTask):
    """Hochreiter & Schmidhuber 1997, Exp. 5 (see the module docstring)."""

    name: ClassVar[str] = "multiplication"
    source: ClassVar[str] = "Hochreiter & Schmidhuber 1997, Exp. 5 (multiplication problem)"
    _target: ClassVar[str] = "X1*X2"
    _low: ClassVar[float] = 0.0
    _high: ClassVar[float] = 1.0
    _first_value: ClassVar[float] = 1.0

    @property
    def paper_sequences(self) -> int | None:
        """Not compared here (the paper's Exp. 5 counts depend on its error threshold)."""
        return None

    def _combine(self, x1: np.ndarray, x2: np.ndarray) -> np.ndarray:
        return x1 * x2
