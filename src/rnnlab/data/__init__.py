"""Training data: one interface (:class:`DataSource`) for tasks, the user's arrays, text, series.

- :class:`TaskSource`: a synthetic task of :mod:`rnnlab.tasks`;
- :class:`ArrayDataset`: the user's own ``(T, N, I)`` arrays with a held-out part.

``rnnlab.train(config, data=source)`` trains on any of them.
"""

from ..tasks.base import Batch
from .arrays import ArrayDataset
from .base import (
    LOSSES,
    TARGETS,
    DataSource,
    Evaluation,
    load_source,
    model_io,
    register_loader,
)
from .cancel import EvaluationCancelled, cancellation_point
from .tasks import TASK_DEFAULTS, TaskSource

__all__ = [
    "LOSSES",
    "TARGETS",
    "TASK_DEFAULTS",
    "ArrayDataset",
    "Batch",
    "DataSource",
    "Evaluation",
    "EvaluationCancelled",
    "TaskSource",
    "cancellation_point",
    "load_source",
    "model_io",
    "register_loader",
]
