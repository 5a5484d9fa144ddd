"""Is the running total of feature 1 larger than that of feature 2? (lecture notes, "Recurrent
Neural Networks", "What does this RNN do?").

Input ``x^t = (x_1^t, x_2^t)``; target at every step: 1 if ``sum_{s<=t} x_1^s > sum_{s<=t} x_2^s``,
else 0 (ties are "not larger"). Features are integers in ``[0, high]`` like the slide's example
``(2, 1), (0, 2), (1, 4)``.

The slide's hand-set network: ``h^t = tanh(w_xh x^t + w_hh h^{t-1} + b_h)``, ``h^0 = 0``,
``y^t = w_hy h^t + b_y`` with ``w_xh = (1, -1)``, ``w_hh = 1``, ``w_hy = 1``, biases 0, answering
"larger" when ``y^t > 0``. Its hidden state keeps track of the total difference, but only while
``tanh`` is nearly linear: tanh squashes a large lead, so a later step against it can flip the sign
too early (e.g. ``(4, 0), (0, 2)``: totals 4 > 2, yet ``h^2 = tanh(-2 + tanh(4)) < 0``). With the
identity instead of tanh, ``h^t`` *is* the total difference and the network is exact.
:func:`slide_network` returns either version; the tests measure both.

Where we chose (the notes give no criterion): sigmoid output with binary cross-entropy, so the
slide's ``y^t`` is the logit and ``y^t > 0`` is output > 0.5; a sequence is correct when every
step is; solved when all 1,000 fresh test sequences are correct.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from .base import Batch, Task, check_int_at_least


def slide_network(
    nonlinearity: str = "tanh",
) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray], str]:
    """The slide's weights: ``(rnn params, readout params, nonlinearity)``.

    RNN params use the layer key layout (``W_xh_l0 (1, 2)``, ``W_hh_l0 (1, 1)``, ``b_h_l0 (1,)``);
    readout params are ``W_hy (1, 1)``, ``b_y (1,)``. ``nonlinearity`` is ``"tanh"`` (the slide)
    or ``"identity"`` (the exact integrator).
    """
    if nonlinearity not in ("tanh", "identity"):
        raise ValueError(f"nonlinearity: expected one of tanh, identity; got {nonlinearity!r}")
    rnn = {
        "W_xh_l0": np.array([[1.0, -1.0]]),
        "W_hh_l0": np.array([[1.0]]),
        "b_h_l0": np.zeros(1),
    }
    readout = {"W_hy": np.array([[1.0]]), "b_y": np.zeros(1)}
    return rnn, readout, nonlinearity


def slide_network_logits(x: np.ndarray, nonlinearity: str = "tanh") -> np.ndarray:
    """Run the slide's network on ``x (T, B, 2)``; returns ``y (T, B, 1)`` (the logits)."""
    rnn, ro, act = slide_network(nonlinearity)
    phi = np.tanh if act == "tanh" else (lambda a: a)
    h = np.zeros((x.shape[1], 1))  # (B, 1), h^0 = 0
    ys = np.empty(x.shape[:2] + (1,))
    for t in range(x.shape[0]):
        h = phi(x[t] @ rnn["W_xh_l0"].T + h @ rnn["W_hh_l0"].T + rnn["b_h_l0"])  # (B, 1)
        ys[t] = h @ ro["W_hy"].T + ro["b_y"]
    return ys


@dataclass
class FeatureTotalTask(Task):
    """Running total of feature 1 > that of feature 2 (see the module docstring)."""

    length: int = 10  # steps per sequence
    high: int = 4  # features are integers in [0, high]
    target: str = "every"
    test_size: int = 1000  # fresh test sequences

    name: ClassVar[str] = "feature_total"
    source: ClassVar[str] = (
        "Congeduti 2024, 'Recurrent Neural Networks', 'What does this RNN do?': "
        "total of feature 1 > feature 2"
    )
    loss: ClassVar[str] = "bce"
    criterion: ClassVar[str] = (
        "output > 0.5 exactly when the running total of feature 1 exceeds that of feature 2, at "
        "every step, for all 1,000 fresh test sequences"
    )

    def __post_init__(self) -> None:
        self.length = check_int_at_least("length", self.length, 1)
        self.high = check_int_at_least("high", self.high, 1)
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
        x = rng.integers(0, self.high + 1, size=(self.length, batch, 2)).astype(np.float64)
        diff = np.cumsum(x[:, :, 0] - x[:, :, 1], axis=0)  # (T, B) running total difference
        y = (diff > 0).astype(np.float64)[:, :, None]  # (T, B, 1)
        last = np.full(batch, self.length - 1, dtype=np.int64)
        return Batch(x=x, y=y, mask=None, last=last)

    def _correct(self, outputs: np.ndarray, batch: Batch) -> np.ndarray:
        return np.all((outputs[:, :, 0] > 0.5) == (batch.y[:, :, 0] > 0.5), axis=0)
