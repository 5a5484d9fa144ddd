"""The training loop: a :class:`Trainer` over any data source, with callbacks.

One step: a batch from the source, gradients by full or truncated BPTT, norm (and value)
clipping, one optimiser update per gradient. Every ``eval_every`` steps the source evaluates the
model on held-out data, on a second thread where two cores are usable (:mod:`.background`: the
same results as in line); the run ends when the source's criterion is met, a budget is spent, a
callback stops it, or SIGINT/SIGTERM arrive (the current step finishes first, so the checkpoint
written then is consistent and a resumed run continues bit for bit).
"""

from __future__ import annotations

import math
import time
from collections.abc import Sequence
from typing import Any

import numpy as np

from .._cores import usable_cores
from .._validate import NonFiniteError, check_positive_int
from ..data import DataSource, Evaluation
from ..model import SequenceModel
from ..optim import clip_grad_norm, clip_grad_value, global_norm
from ..tasks.base import Batch
from . import bptt
from .background import BackgroundEvaluator
from .build import make_optimizer_for, seed_streams, single_thread_blas
from .callbacks import Callback
from .config import TrainConfig, config_to_dict
from .runs import METRIC_COLUMNS
from .signals import SIGNAL_STATUS, noted_signals, signal_name

# NumPy's error state for training and evaluating: overflow and invalid values become inf/NaN
# without a warning, and the NaN guard or the evaluation reports them
QUIET_FLOATS = {"over": "ignore", "invalid": "ignore", "divide": "ignore"}


class Trainer:
    """Trains ``model`` on ``source`` as the resolved config ``config`` says.

    Args:
        config: a resolved :class:`TrainConfig` (see :func:`rnnlab.training.resolve_config`).
        source: the :class:`rnnlab.data.DataSource` to learn from.
        model: the :class:`rnnlab.SequenceModel` to train (its arrays are updated in place).
        callbacks: :class:`Callback` objects, called in order (keyword-only).
        background: evaluate on a second thread while training goes on (same results, see
            :mod:`rnnlab.training.background`); None: where the process may use two or more
            cores. Only for sources that allow it (``source.concurrent_evaluation``).
        threads: the most threads a training step's kernels may use (1: one core; the LSTM's
            kernels split a small float32 batch over two, ``rnnlab.kernels._split``, with the
            same results); None: Numba's setting, the machine's cores unless
            ``NUMBA_NUM_THREADS`` says otherwise.

    Attributes:
        step, sequences, seconds: updates done, training sequences seen, training time.
        rows: the metric rows so far (one per step; evaluations fill the test columns).
        status: ``"not solved"`` (running or budget spent), ``"solved"``, ``"diverged"``,
            ``"stopped"`` (a callback), ``"interrupted"`` (a signal).
        last_eval: the latest :class:`rnnlab.data.Evaluation`, or None.
        background: whether :meth:`fit` evaluates on a second thread.
    """

    def __init__(
        self,
        config: TrainConfig,
        source: DataSource,
        model: SequenceModel,
        *,
        callbacks: Sequence[Callback] = (),
        background: bool | None = None,
        threads: int | None = None,
    ) -> None:
        if threads is not None:
            check_positive_int("threads", threads)
        self.threads = threads
        self.config, self.source, self.model = config, source, model
        self.callbacks = list(callbacks)
        self.opt = make_optimizer_for(config)
        self.data_rng = np.random.default_rng(seed_streams(config.seed)[1])
        # a new run starts the source at the beginning of its stream, wherever an earlier run
        # on the same object left it (restore() moves it to a checkpoint's position)
        source.load_state_dict({})
        self.step = self.sequences = 0
        self.seconds = 0.0
        self.rows: list[dict[str, Any]] = []
        self.columns = METRIC_COLUMNS + tuple(
            k for k in getattr(source, "extra_columns", ()) if k not in METRIC_COLUMNS
        )
        self.status, self.why = "not solved", ""
        self.solved_at: int | None = None
        self.last_eval: Evaluation | None = None
        self.last_accuracy: float | None = None  # test accuracy of the last evaluation
        self.state: Any = None  # the hidden state a stateful source carries between batches
        self.signal: int | None = None  # the signal that interrupted the run
        self.omega: float | None = None  # Omega of the last batch (config.omega set)
        self.saved_step = 0
        self.checkpoint_path = None
        self.config_sha256: str | None = None  # of the run folder's config.toml, if any
        self.stops = 0  # calls of stop() so far (the background evaluator compares counts)
        self._stopping = False
        self._start = 0.0
        if background is None:
            # Not the load average: the process's own earlier runs count in it. A busy second
            # core only shares its time with the worker, whose work is needed anyway.
            background = usable_cores() >= 2
        self.background = bool(background) and getattr(source, "concurrent_evaluation", False)
        self._evaluator: BackgroundEvaluator | None = None

    # -- state ------------------------------------------------------------------------------------
    def metadata(self, status: str) -> dict[str, Any]:
        """What a checkpoint records besides the arrays (JSON-able)."""
        return {
            "step": self.step,
            "sequences": self.sequences,
            "seconds": self.seconds,
            "status": status,
            "rng_state": self.data_rng.bit_generator.state,
            "source_state": self.source.state_dict(),
            "solved_at": self.solved_at,
            "test_accuracy": self.last_accuracy,
            "task": self.config.task,
            "model": self.config.model,
            "config": config_to_dict(self.config),
            "config_sha256": self.config_sha256,
        }

    def carried_arrays(self) -> dict[str, np.ndarray]:
        """The carried hidden state as arrays for the checkpoint (``{}`` when there is none)."""
        if self.state is None:
            return {}
        parts = self.state if isinstance(self.state, tuple) else (self.state,)
        return {"state": {str(i): p for i, p in enumerate(parts)}}

    def restore(self, saved: Any, rows: list[dict[str, Any]]) -> None:
        """Continue from a :class:`rnnlab.checkpoint.Checkpoint` and its metric rows."""
        meta = saved.metadata
        self.model.load_params(saved.params)
        if saved.optimizer_state is not None:
            self.opt.load_state_dict(saved.optimizer_state)
        self.data_rng.bit_generator.state = meta["rng_state"]
        self.source.load_state_dict(meta.get("source_state") or {})
        self.step, self.sequences = int(meta["step"]), int(meta["sequences"])
        self.seconds = float(meta["seconds"])
        self.solved_at, self.last_accuracy = meta.get("solved_at"), meta.get("test_accuracy")
        self.config_sha256 = meta.get("config_sha256")
        parts = (saved.extra or {}).get("state")
        if parts:
            arrays = tuple(parts[str(i)] for i in range(len(parts)))
            self.state = arrays if len(arrays) > 1 else arrays[0]
        self.rows = rows
        self.saved_step = self.step
        if meta.get("status") == "solved":
            self.status = "solved"

    # -- control ----------------------------------------------------------------------------------
    def stop(self, status: str, why: str) -> None:
        """End the run after the current step with ``status`` and the reason ``why``."""
        self.status, self.why, self._stopping = status, why, True
        self.stops += 1

    @property
    def stopping(self) -> bool:
        """Whether the run ends after the current step."""
        return self._stopping

    def limit_reached(self) -> str | None:
        """The budget that is spent, in words, or None."""
        c = self.config
        if c.steps is not None and self.step >= c.steps:
            return f"step limit {c.steps:,} reached"
        if c.max_sequences is not None and self.sequences >= c.max_sequences:
            return f"sequence budget {c.max_sequences:,} reached"
        if c.time_budget is not None and time.perf_counter() - self._start >= c.time_budget:
            return f"time budget {c.time_budget:g} s reached"
        return None

    def emit(self, hook: str, *args: Any) -> None:
        """Call ``hook`` (e.g. ``"on_evaluate"``) on every callback, in order."""
        for cb in self.callbacks:
            getattr(cb, hook)(self, *args)

    # -- one step ---------------------------------------------------------------------------------
    def next_batch(self) -> Batch:
        """The source's next training batch, in the model's dtype."""
        b = self.source.next_batch(self.config.batch, self.data_rng)
        if b.x.dtype != self.model.dtype:
            b.x = b.x.astype(self.model.dtype)
        return b

    def _update(self, grads: dict[str, np.ndarray]) -> float:
        """Clip and apply one gradient; return its norm before clipping."""
        c = self.config
        norm = clip_grad_norm(grads, c.clip) if c.clip is not None else global_norm(grads)
        if not math.isfinite(norm):
            return norm
        if c.clip_value is not None:
            clip_grad_value(grads, c.clip_value)
        self.opt.step(self.model.params, grads)
        return norm

    def gradient_step(self, b: Batch) -> tuple[float, float, np.ndarray]:
        """Gradients of ``b`` (full or truncated BPTT) and the update(s): ``(loss, norm, y)``.

        With truncated BPTT the loss is the sum of the chunk losses and the norm the largest
        pre-clipping norm over the chunks. Activations that overflow to inf or NaN on the way
        give a NaN loss (which the NaN guard reports as divergence), not an exception; inside
        :meth:`fit` without NumPy's warnings about them (:data:`QUIET_FLOATS`).
        """
        try:
            return self._gradient_step(b)
        except NonFiniteError:
            nan = float("nan")
            return nan, nan, np.full(b.x.shape[:2] + (self.source.output_size,), nan)

    def _gradient_step(self, b: Batch) -> tuple[float, float, np.ndarray]:
        c, state = self.config, (self.state if b.carry else None)
        if c.tbptt is None:
            value, grads, y, s_T = bptt.full_bptt(self.model, self.source, b, state)
            if c.omega:  # Pascanu et al. (2013): alpha * dOmega/dW_hh joins before clipping
                from ..regularizers import add_omega

                kw = b.loss_kwargs(self.source.target)
                self.omega = add_omega(self.model, b.x, b.y, c.omega, grads, state=state, **kw)
            norm = self._update(grads)
        else:
            chunks = bptt.tbptt_chunks(self.model, self.source, b, c.tbptt, state)
            value, norm, ys, s_T, finished = bptt.run_chunks(chunks, self._update)
            if finished:
                y = np.concatenate(ys)
            else:  # stopped early on a non-finite norm
                y = np.full(b.x.shape[:2] + (self.source.output_size,), np.nan)
        if self.source.stateful:
            self.state = s_T
        return value, norm, y

    def train_step(self) -> dict[str, Any]:
        """One batch and its update(s); returns the step's metric row."""
        b = self.next_batch()
        loss, norm, y = self.gradient_step(b)
        self.step += 1
        self.sequences += self.config.batch
        self.seconds = time.perf_counter() - self._start
        ok = self.source.correct(y, b) if math.isfinite(loss) else None
        return {
            "step": self.step,
            "sequences": self.sequences,
            "loss": loss,
            "grad_norm": norm,
            # count / size is np.mean's value for bools; np.mean's Python layers cost ~15 us
            "accuracy": float(np.count_nonzero(ok) / ok.size) if ok is not None else None,
            "seconds": round(self.seconds, 4),
            "test_accuracy": None,
            "test_loss": None,
            "test_size": None,
        }

    def judge(self, model: Any, step: int, final: bool = False) -> Evaluation:
        """The source's evaluation of ``model`` as at ``step`` (the full set when ``final``);
        raises NonFiniteError when activations overflow. Reads no trainer state but the config,
        so it may run on another thread."""
        c = self.config
        with np.errstate(**QUIET_FLOATS):
            return self.source.evaluate(
                model,
                seed=c.seed,
                step=step,
                size=c.eval_size,
                screen=None if final else c.screen_size,
            )

    def evaluate(self, row: dict[str, Any] | None, final: bool = False) -> Evaluation:
        """Evaluate on held-out data now (the full set when ``final``) and fill ``row``'s
        columns."""
        try:
            result, overflow = self.judge(self.model, self.step, final), False
        except NonFiniteError:  # activations overflowed on held-out data
            result, overflow = Evaluation(loss=float("nan"), size=0, solved=False), True
        return self.apply_evaluation(result, row, overflow=overflow)

    def apply_evaluation(
        self, result: Evaluation, row: dict[str, Any] | None, *, overflow: bool = False
    ) -> Evaluation:
        """Record ``result`` of the model as it is now: ``row``'s test columns, the latest
        evaluation, the verdict."""
        if overflow:
            self.stop("diverged", f"the evaluation at step {self.step:,} overflowed to NaN/inf")
        self.last_eval, self.last_accuracy = result, result.accuracy
        if row is not None:
            row.update(test_accuracy=result.accuracy, test_loss=result.loss, test_size=result.size)
            row.update(result.extra)
        self.seconds = time.perf_counter() - self._start
        if result.solved:
            self.solved_at = self.sequences
            self.stop("solved", "")
        return result

    # -- the loop ---------------------------------------------------------------------------------
    def fit(self, *, final_evaluation: bool = True) -> str:
        """Train until solved, a budget is spent, a callback stops, or a signal; return status.

        ``final_evaluation``: a run that ends unsolved is judged once more on the source's full
        evaluation set, so the verdict never rests on a training batch or a screen.
        """
        if self.status == "solved":
            return self.status
        self._start = time.perf_counter() - self.seconds
        # The handlers stay in place until the last file is written: a signal that arrives
        # after the loop only lets the run finish its evaluation and checkpoint.
        with noted_signals(self._note_signal):
            self.emit("on_start")
            from ..kernels._split import step_threads  # Numba: only when training runs

            if self.background:
                self._evaluator = BackgroundEvaluator()
            try:
                # one error state for the whole loop: entered at every step, it cost ~10 us
                # of a 1.3 ms adding step (on caches the kernels had filled)
                with single_thread_blas(), step_threads(self.threads), np.errstate(**QUIET_FLOATS):
                    self._loop()
            except KeyboardInterrupt:  # no handler could be installed (not the main thread)
                self.stop("interrupted", "interrupted by the user")
            finally:
                if self._evaluator is not None:
                    self._evaluator.close()
                    self._evaluator = None
            self.seconds = time.perf_counter() - self._start
            if final_evaluation and self.status == "not solved":
                with step_threads(self.threads):  # the run's thread limit holds here too
                    self._final_evaluation()
            if self.status == "not solved" and not self.source.has_criterion:
                self.status = "finished"  # nothing to solve: the budget was the plan
            self.emit("on_end")
        return self.status

    def _loop(self) -> None:
        c = self.config
        while not self._stopping:
            why = self.limit_reached()
            if why is not None:
                self.why = why
                break
            row = self.train_step()
            if not (math.isfinite(row["loss"]) and math.isfinite(row["grad_norm"])):
                # the NaN guard ends the run here: the verdicts of earlier steps come first,
                # as in line (one of them may end it sooner, or be the last checkpoint)
                self.collect_evaluation(wait=True)
                if self._stopping:
                    break
            self.emit("on_step", row)
            if self.status == "diverged":
                break
            self.rows.append(row)
            stops = self.stops
            self.collect_evaluation(wait=False)
            if self.stops == stops and self.step % c.eval_every == 0:  # no result ended the run
                self.evaluation_point(row)
            if self.signal is not None and not self._stopping:
                self.stop("interrupted", f"stopped by signal {signal_name(self.signal)}")
        self.collect_evaluation(wait=True)  # a pending verdict may still end the run earlier

    def evaluation_point(self, row: dict[str, Any]) -> None:
        """Evaluate the model of this step: in line, or handed to the background thread."""
        if self._evaluator is None:
            result = self.evaluate(row)
            self.emit("on_evaluate", row, result)
        else:
            self._evaluator.submit(self, row)

    def collect_evaluation(self, *, wait: bool) -> None:
        """Apply a finished background evaluation (``wait``: wait for a pending one)."""
        if self._evaluator is not None:
            self._evaluator.collect(self, wait=wait)

    def _final_evaluation(self) -> None:
        last = self.rows[-1] if self.rows else None
        full = self.config.eval_size
        if (
            last is not None
            and last.get("test_size") is not None
            and (full is None or last["test_size"] == full)
        ):
            return  # the last evaluation already used the full set
        self.evaluate(last, final=True)

    def _note_signal(self, signum: int) -> None:
        self.signal = signum  # the loop stops after the step in progress

    @property
    def exit_status(self) -> int | None:
        """The shell's exit code of the signal that stopped the run (130, 143), or None (also
        when the signal came after the loop had ended: then the verdict stands)."""
        if self.signal is None or self.status != "interrupted":
            return None
        return SIGNAL_STATUS.get(self.signal)
