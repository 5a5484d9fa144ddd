"""Learning-rate schedules ``lr(step) -> float``, ``step`` counting the updates already made
(0 for the first); the closed forms of ``torch.optim.lr_scheduler``'s schedules. The
optimisers of :mod:`rnnlab.optim` take one wherever they take a number."""

from __future__ import annotations

import math
import numbers
from collections.abc import Callable

from ._validate import check_choice, check_positive_float, check_positive_int

Schedule = Callable[[int], float]


class ConstantLR:
    """``lr(step) = lr``."""

    def __init__(self, lr: float) -> None:
        self.lr = check_positive_float("lr", lr)

    def __call__(self, step: int) -> float:
        return self.lr

    def __repr__(self) -> str:
        return f"ConstantLR(lr={self.lr})"


class StepDecay:
    """``lr(step) = lr * gamma ** (step // step_size)`` (``torch.optim.lr_scheduler.StepLR``)."""

    def __init__(self, lr: float, step_size: int, gamma: float = 0.1) -> None:
        self.lr = check_positive_float("lr", lr)
        self.step_size = check_positive_int("step_size", step_size)
        self.gamma = check_positive_float("gamma", gamma)

    def __call__(self, step: int) -> float:
        return self.lr * self.gamma ** (step // self.step_size)

    def __repr__(self) -> str:
        return f"StepDecay(lr={self.lr}, step_size={self.step_size}, gamma={self.gamma})"


class ExponentialDecay:
    """``lr(step) = lr * gamma ** step`` (``ExponentialLR``)."""

    def __init__(self, lr: float, gamma: float) -> None:
        self.lr = check_positive_float("lr", lr)
        self.gamma = check_positive_float("gamma", gamma)

    def __call__(self, step: int) -> float:
        return self.lr * self.gamma**step

    def __repr__(self) -> str:
        return f"ExponentialDecay(lr={self.lr}, gamma={self.gamma})"


class CosineDecay:
    """``lr(step) = min_lr + (lr - min_lr) (1 + cos(pi min(step, total)/total)) / 2``.

    The closed form of ``CosineAnnealingLR`` with ``T_max = total_steps``, held at ``min_lr`` after.
    """

    def __init__(self, lr: float, total_steps: int, min_lr: float = 0.0) -> None:
        self.lr = check_positive_float("lr", lr)
        self.total_steps = check_positive_int("total_steps", total_steps)
        if isinstance(min_lr, bool) or not isinstance(min_lr, numbers.Real):
            raise TypeError(f"min_lr: expected a number, got {type(min_lr).__name__}")
        if not (0.0 <= min_lr <= self.lr):
            raise ValueError(f"min_lr: expected a number in [0, lr={self.lr}], got {min_lr}")
        self.min_lr = float(min_lr)

    def __call__(self, step: int) -> float:
        s = min(step, self.total_steps)
        cos = 1.0 + math.cos(math.pi * s / self.total_steps)
        return self.min_lr + (self.lr - self.min_lr) * cos / 2.0

    def __repr__(self) -> str:
        return f"CosineDecay(lr={self.lr}, total_steps={self.total_steps}, min_lr={self.min_lr})"


SCHEDULES = {
    "constant": ConstantLR,
    "step": StepDecay,
    "exponential": ExponentialDecay,
    "cosine": CosineDecay,
}


def make_schedule(name: str, lr: float, **kw: object) -> Schedule:
    """A schedule by name (``constant``, ``step``, ``exponential``, ``cosine``)."""
    cls = SCHEDULES[check_choice("schedule", name, tuple(SCHEDULES))]
    return cls(lr, **kw)  # type: ignore[arg-type]
