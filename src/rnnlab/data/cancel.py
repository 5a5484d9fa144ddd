"""Calling off an evaluation whose result is no longer wanted.

The trainer evaluates on a second thread while training goes on
(:mod:`rnnlab.training.background`). When a result ends the run (the task is solved at an
earlier step, or the run stops), the evaluations of later steps are dropped, but one may already
be running: the worker went on for 0.12-0.17 s after a solved adding run, on a test set nobody
would read, and a process waits for its threads before it exits. So the worker runs each
evaluation under a flag (:func:`called_off_by`), and a source's
:meth:`~rnnlab.data.DataSource.evaluate` calls :func:`cancellation_point` between its chunks:
once the flag is set, the evaluation stops there with :class:`EvaluationCancelled`. A source that
never calls it is simply not stopped early; on the training thread (no flag) it does nothing.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager

# the flag of the evaluation this thread runs (an Event), or None
_current = threading.local()


class EvaluationCancelled(Exception):
    """Raised by :func:`cancellation_point` in an evaluation that has been called off."""


def cancellation_point() -> None:
    """Raise :class:`EvaluationCancelled` if this thread's evaluation has been called off; a
    source's ``evaluate`` calls it between chunks of its held-out data."""
    flag = getattr(_current, "flag", None)
    if flag is not None and flag.is_set():
        raise EvaluationCancelled("the evaluation was called off: its result is not needed")


@contextmanager
def called_off_by(flag: threading.Event) -> Iterator[None]:
    """Run this thread's evaluation under ``flag``: once it is set, the next
    :func:`cancellation_point` raises."""
    _current.flag = flag
    try:
        yield
    finally:
        _current.flag = None
