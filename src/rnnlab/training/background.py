"""Evaluations on a second thread while training goes on, with the results of in-line ones.

Why: an evaluation (fresh test sequences, or held-out text, through the model) is a fifth of
``rnnlab train``'s wall time on the adding problem, and the Numba kernels release the GIL, so a
second core can evaluate while the first trains (benchmarks/NOTES.md).

How the run stays the same as with in-line evaluations: at an evaluation point (step ``s``) the
trainer copies the parameters for the worker and keeps a :class:`Snapshot` of everything else
that step ``s`` left (optimiser moments, random generator, source position, carried state, the
number of metric rows); training goes on. The result is applied after the first step that finds
it finished (or when the loop ends, which waits for it):

- if it ends the run (the criterion is met, or the model overflowed on held-out data), the
  trainer first returns to the snapshot, so the run stops at step ``s`` with the state of step
  ``s``, as in line; the steps trained past ``s`` are dropped;
- otherwise row ``s`` gets its test columns and the callbacks see the result with the trainer
  put back at the snapshot for the moment (so the checkpoint they write is the one an in-line
  evaluation writes, the same bits); then training goes on from the later step, unless a
  callback ended the run on the result (early stopping), which leaves the trainer at ``s``.

A few evaluations may be pending at once (:class:`BackgroundEvaluator`); results are applied in
the order of their steps, and those after a result that ends the run are dropped: one not yet
started never starts, one running is called off at the source's next cancellation point
(:mod:`rnnlab.data.cancel`). The training path never reads a result, so every step computes the
same bits either way.
"""

from __future__ import annotations

import copy
import math
import threading
from collections import deque
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from .._states import join_state, state_parts
from .._validate import NonFiniteError
from ..data import Evaluation
from ..data.cancel import called_off_by

if TYPE_CHECKING:  # pragma: no cover
    from .trainer import Trainer


@dataclass
class Snapshot:
    """What a trainer needs to return to an evaluation point (all copies)."""

    step: int
    sequences: int
    rows: int  # metric rows kept then
    params: dict[str, np.ndarray]
    optimizer: dict[str, np.ndarray]
    rng: dict[str, Any]
    source: dict[str, Any]
    state: Any  # the carried hidden state (None, an array or a tuple of arrays)
    omega: float | None


def _copy_state(state: Any) -> Any:
    parts = state_parts(state)
    return join_state([p.copy() for p in parts]) if parts else None


def take_snapshot(trainer: Trainer, params: dict[str, np.ndarray]) -> Snapshot:
    """The trainer's state now; ``params`` is a copy of its parameters made by the caller."""
    return Snapshot(
        step=trainer.step,
        sequences=trainer.sequences,
        rows=len(trainer.rows),
        params=params,
        optimizer=trainer.opt.state_dict(),
        rng=copy.deepcopy(trainer.data_rng.bit_generator.state),
        source=copy.deepcopy(trainer.source.state_dict()),
        state=_copy_state(trainer.state),
        omega=trainer.omega,
    )


def return_to(trainer: Trainer, snap: Snapshot) -> None:
    """Put the trainer back at ``snap`` (status, verdict and wall time are left as they are)."""
    for name, a in trainer.model.params.items():
        np.copyto(a, snap.params[name])
    trainer.opt.load_state_dict(snap.optimizer)
    trainer.data_rng.bit_generator.state = copy.deepcopy(snap.rng)
    trainer.source.load_state_dict(copy.deepcopy(snap.source))
    trainer.state = _copy_state(snap.state)
    trainer.step, trainer.sequences, trainer.omega = snap.step, snap.sequences, snap.omega
    del trainer.rows[snap.rows :]


class BackgroundEvaluator:
    """A worker thread that evaluates copies of the model; see the module docstring.

    ``max_pending``: evaluations that may wait at once (each holds a copy of the parameters and
    a snapshot, about four times the parameters' bytes); when that many are pending, the next
    evaluation point waits for the oldest. A queue rather than one slot, because the full test
    sets near a solution take longer than the steps between two evaluation points.
    """

    def __init__(self, max_pending: int = 4) -> None:
        self.max_pending = max_pending
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="rnnlab-eval")
        # (its future, snapshot, metric row, model copy, the flag that calls the evaluation off)
        self._pending: deque[tuple[Future, Snapshot, dict[str, Any], Any, threading.Event]] = (
            deque()
        )
        self._spare: list[Any] = []  # model copies whose evaluation has been applied

    def submit(self, trainer: Trainer, row: dict[str, Any]) -> None:
        """Start evaluating the model of this step (after the oldest pending one, if the queue
        is full)."""
        while len(self._pending) >= self._limit(trainer):
            self._apply_oldest(trainer)
            if trainer.stopping:  # that result ended the run
                self._drop()
                return
        model = self._spare.pop() if self._spare else copy.deepcopy(trainer.model)
        for name, a in trainer.model.params.items():
            np.copyto(model.params[name], a)
        snap = take_snapshot(trainer, model.params)
        from ..kernels._split import lend_second_core, return_second_core

        # the worker runs on the core a split kernel would take (rnnlab.kernels._split): lent
        # before it starts, given back when the evaluation ends or is dropped unstarted
        lend_second_core()
        flag = threading.Event()
        future = self._pool.submit(_judge, trainer, model, snap.step, flag)
        future.add_done_callback(lambda _: return_second_core())
        self._pending.append((future, snap, row, model, flag))

    def collect(self, trainer: Trainer, *, wait: bool) -> None:
        """Apply the finished results in order (``wait``: every pending one) until one ends the
        run; the later ones are of steps the run does not keep and are dropped."""
        stops = trainer.stops  # the run may already be ending (a signal, a budget)
        while self._pending and (wait or self._pending[0][0].done()) and trainer.stops == stops:
            self._apply_oldest(trainer)
        if trainer.stops != stops:
            self._drop()

    def _limit(self, trainer: Trainer) -> int:
        nbytes = sum(a.nbytes for a in trainer.model.params.values())
        return max(1, min(self.max_pending, (256 << 20) // max(4 * nbytes, 1)))

    def _apply_oldest(self, trainer: Trainer) -> None:
        future, snap, row, model, _ = self._pending.popleft()
        try:
            result, overflow = future.result(), False
        except NonFiniteError:
            result, overflow = Evaluation(loss=math.nan, size=0, solved=False), True
        if overflow or result.solved:  # the run ends at the evaluated step, as in line
            return_to(trainer, snap)
            trainer.apply_evaluation(result, row, overflow=overflow)
            trainer.emit("on_evaluate", row, result)
            return
        # The callbacks see the trainer as at the evaluated step (a checkpoint written now is
        # the one an in-line evaluation writes); then training goes on from the latest step,
        # unless a callback ended the run on this result.
        now = take_snapshot(trainer, {k: v.copy() for k, v in trainer.model.params.items()})
        later_rows = trainer.rows[snap.rows :]
        return_to(trainer, snap)
        stops = trainer.stops
        trainer.apply_evaluation(result, row)
        trainer.emit("on_evaluate", row, result)
        if trainer.stops == stops:
            return_to(trainer, now)
            trainer.rows.extend(later_rows)
        self._spare.append(model)

    def _drop(self) -> None:
        """Forget the evaluations of steps the run will not keep (one running is called off)."""
        for future, *_, flag in self._pending:
            future.cancel()
            flag.set()
        self._pending.clear()

    def close(self) -> None:
        """Stop the worker; pending evaluations are dropped, and one already running is called
        off at its source's next cancellation point, not waited for (its result is not needed)."""
        self._drop()
        self._pool.shutdown(wait=False, cancel_futures=True)


def _judge(trainer: Trainer, model: Any, step: int, flag: threading.Event) -> Evaluation:
    # on the worker thread: the evaluation stops at a cancellation point once flag is set
    with called_off_by(flag):
        return trainer.judge(model, step, False)
