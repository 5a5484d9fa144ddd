"""The task suite: one module per task, each with a seeded generator and its source's criterion.

>>> task = get_task("adding", length=100)
>>> batch = task.sample(32, rng=0)          # x (T, 32, 2), y (32, 1), mask (T, 32), last (32,)
>>> ok = task.correct(outputs, batch)       # outputs (T, 32, 1) -> (32,) bool
>>> task.solved(task.correct(test_outputs, task.test_set(rng=1)))
"""

from __future__ import annotations

import dataclasses

from .adding import AddingTask
from .base import Batch, Task
from .binary_addition import BinaryAdditionTask
from .copy import CopyTask
from .feature_total import FeatureTotalTask, slide_network, slide_network_logits
from .forecasting import MackeyGlassTask, SineMixtureTask, mackey_glass
from .long_lag import LongLagTask
from .multiplication import MultiplicationTask
from .parity import ParityTask
from .reber import EmbeddedReberTask
from .temporal_order import TemporalOrder3Task, TemporalOrderTask
from .two_sequence import TwoSequenceTask

TASKS: dict[str, type[Task]] = {
    cls.name: cls
    for cls in (
        AddingTask,
        MultiplicationTask,
        TemporalOrderTask,
        TemporalOrder3Task,
        TwoSequenceTask,
        EmbeddedReberTask,
        LongLagTask,
        CopyTask,
        ParityTask,
        BinaryAdditionTask,
        FeatureTotalTask,
        SineMixtureTask,
        MackeyGlassTask,
    )
}


def get_task(name: str, **kw: object) -> Task:
    """The task called ``name`` with settings ``kw`` (the fields of its class)."""
    if not isinstance(name, str) or name not in TASKS:
        raise ValueError(f"task: expected one of {', '.join(TASKS)}; got {name!r}")
    cls = TASKS[name]
    fields = [f.name for f in dataclasses.fields(cls) if f.init]
    unknown = sorted(set(kw) - set(fields))
    if unknown:
        raise TypeError(
            f"{unknown[0]}: not a setting of task {name!r}; expected one of {', '.join(fields)}"
        )
    return cls(**kw)


def task_settings(name: str) -> dict[str, object]:
    """The settings of task ``name`` and their defaults."""
    if name not in TASKS:
        raise ValueError(f"task: expected one of {', '.join(TASKS)}; got {name!r}")
    return {f.name: f.default for f in dataclasses.fields(TASKS[name]) if f.init}


__all__ = [
    "TASKS",
    "AddingTask",
    "Batch",
    "BinaryAdditionTask",
    "CopyTask",
    "EmbeddedReberTask",
    "FeatureTotalTask",
    "LongLagTask",
    "MackeyGlassTask",
    "MultiplicationTask",
    "ParityTask",
    "SineMixtureTask",
    "Task",
    "TemporalOrder3Task",
    "TemporalOrderTask",
    "TwoSequenceTask",
    "get_task",
    "mackey_glass",
    "slide_network",
    "slide_network_logits",
    "task_settings",
]
