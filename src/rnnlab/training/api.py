"""``train(config) -> Run`` and ``evaluate(run_dir)``: the one-call entry points."""

from __future__ import annotations

import dataclasses
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .._validate import check_positive_int
from ..data import DataSource, TaskSource
from ..data.tasks import eval_rng
from ..model import SequenceModel
from .build import build_model, single_thread_blas
from .callbacks import Callback, default_callbacks
from .config import TrainConfig, make_source, resolve_config, validate_config
from .memory import check_memory
from .runs import RunFolder, check_out_dir, load_run, read_metric_rows, read_run
from .trainer import Trainer

# The command line's exit status for each way a run ends (2 is bad input; a signal gives the
# shell's 128 + signal number: 130 for SIGINT, 143 for SIGTERM).
EXIT_STATUS = {"solved": 0, "finished": 0, "stopped": 0, "not solved": 1, "diverged": 3}


@dataclass
class Run:
    """The result of :func:`train`."""

    config: TrainConfig  # the resolved config (no defaults left open)
    model: SequenceModel  # the trained model
    source: DataSource  # the data source it trained on
    status: str  # "solved" | "not solved" | "finished" | "stopped" | "diverged" | "interrupted"
    message: str  # one line saying what happened
    step: int  # updates (batches) done
    sequences: int  # training sequences seen
    seconds: float  # training time
    test_accuracy: float | None  # fraction correct at the last evaluation (None: no such rule)
    solved_at: int | None  # training sequences seen when the criterion was first met
    out: Path | None  # run folder, if any
    test_loss: float | None = None  # held-out loss at the last evaluation
    exit_status: int | None = None  # 130 / 143 when SIGINT / SIGTERM stopped the run

    @property
    def solved(self) -> bool:
        return self.status == "solved"

    @property
    def exit_code(self) -> int:
        """0 solved / finished / stopped early, 1 not solved, 3 diverged, 130 / 143 interrupted
        by SIGINT / SIGTERM (a consistent checkpoint was written; ``resume`` continues)."""
        if self.exit_status is not None:
            return self.exit_status
        return EXIT_STATUS.get(self.status, 1)

    @property
    def task(self) -> Any:
        """The task instance, for a run on a registry task (else None)."""
        return self.source.task if isinstance(self.source, TaskSource) else None


def train(
    config: TrainConfig,
    data: DataSource | None = None,
    *,
    progress: bool = True,
    resume: bool = False,
    force: bool = False,
    log: Callable[[str], None] | None = None,
    callbacks: Sequence[Callback] | None = None,
    background_eval: bool | None = None,
    threads: int | None = None,
) -> Run:
    """Train as ``config`` says, on ``data`` or on the task ``config.task``; return a :class:`Run`.

    Args:
        config: a :class:`TrainConfig`; ``None`` fields take the source's defaults.
        data: a :class:`rnnlab.data.DataSource`, e.g. ``rnnlab.ArrayDataset(x, y)``; ``None``:
            the registry task ``config.task``.
        progress: show a progress bar on stderr.
        resume: continue the run saved in ``config.out`` from its checkpoint (its saved config is
            used; ``steps``, ``max_sequences`` and ``time_budget`` may be raised; in-memory data
            must be passed again and is checked against the saved hash).
        force: overwrite the run files of an existing ``config.out``.
        log: receives the status lines (default: stderr).
        callbacks: replaces :func:`~rnnlab.training.callbacks.default_callbacks` (NaN guard,
            checkpoints, early stopping, progress bar, loss curve) when given.
        background_eval: evaluate on a second thread while training goes on (the same results;
            :mod:`rnnlab.training.background`); None: where the process may use two cores.
        threads: the most threads a training step's kernels may use (1: one core; the same
            results either way); None: Numba's setting, all the machine's cores unless
            ``NUMBA_NUM_THREADS`` says otherwise.

    Nothing is written before every input has been checked. With ``config.out`` set, the run
    folder holds ``config.toml``, ``metrics.csv``, ``model.safetensors`` and ``loss-curve.png``.

    Examples:
        >>> import numpy as np, rnnlab
        >>> x = np.random.default_rng(0).standard_normal((10, 40, 1))
        >>> data = rnnlab.ArrayDataset(x, np.cumsum(x, axis=0), val_fraction=0.25)
        >>> run = rnnlab.train(rnnlab.TrainConfig(model="gru", hidden=8, steps=20), data,
        ...                    progress=False, log=lambda s: None)
        >>> run.status, run.step
        ('finished', 20)
    """
    say = log or (lambda s: print(s, file=sys.stderr))
    validate_config(config)
    if resume and config.out is None:
        raise ValueError("out: resume needs the run folder, got None")
    out = check_out_dir(config.out, resume, force) if config.out is not None else None
    saved = None
    if resume:
        assert out is not None
        saved_cfg, saved = read_run(out)
        config = dataclasses.replace(
            saved_cfg,
            steps=config.steps if config.steps is not None else saved_cfg.steps,
            max_sequences=config.max_sequences or saved_cfg.max_sequences,
            time_budget=config.time_budget
            if config.time_budget is not None
            else saved_cfg.time_budget,
            out=str(out),
        )
    source = make_source(config, data)
    c = resolve_config(config, source)
    if source.train_size is not None and c.batch > source.train_size:
        raise ValueError(
            f"batch: expected at most {source.train_size} (the training sequences of the data), "
            f"got {c.batch}"
        )
    check_memory(c, source)
    model = build_model(c, source)
    folder = RunFolder(out) if out is not None else None
    cbs = default_callbacks(folder, progress, c.patience) if callbacks is None else callbacks
    trainer = Trainer(c, source, model, callbacks=cbs, background=background_eval, threads=threads)
    if saved is not None:
        assert folder is not None
        folder.clean()
        trainer.restore(saved, read_metric_rows(folder.metrics_path, int(saved.metadata["step"])))
        if trainer.status == "solved":
            msg = f"already solved after {trainer.solved_at:,} training sequences; nothing to do"
            say(msg)
            return _run(trainer, msg, out)
    elif folder is not None:
        trainer.config_sha256 = folder.start(c)
    trainer.fit(final_evaluation=folder is not None)
    message = verdict(trainer)
    say(message)
    return _run(trainer, message, out)


def _run(t: Trainer, message: str, out: Path | None) -> Run:
    last = t.last_eval
    return Run(
        t.config,
        t.model,
        t.source,
        t.status,
        message,
        t.step,
        t.sequences,
        t.seconds,
        t.last_accuracy,
        t.solved_at,
        out,
        test_loss=last.loss if last is not None else None,
        exit_status=t.exit_status,
    )


def verdict(t: Trainer) -> str:
    """One line saying how the run ended."""
    c, src = t.config, t.source
    what = f"{c.model.upper()} on {src.title}"
    paper = src.task.paper_sequences if isinstance(src, TaskSource) else None
    ref = f" (paper's LSTM: {paper:,})" if paper else ""
    acc = (
        f"{100 * t.last_accuracy:.2f}% of fresh test sequences correct"
        if t.last_accuracy is not None
        else ""
    )
    if t.last_accuracy is not None and t.last_eval is not None and t.last_eval.size:
        # the count beside the strict verdict: 1 wrong of 2,560 and 900 wrong are both "not solved"
        n = t.last_eval.size
        acc += f" ({round((1.0 - t.last_accuracy) * n):,} wrong of {n:,})"
    held = (
        f"held-out loss {t.last_eval.loss:.4g} on {t.last_eval.size:,} {src.eval_unit}"
        if t.last_eval is not None
        else "no evaluation"
    )
    if t.status == "solved":
        return (
            f"SOLVED: {what} met the criterion after {t.solved_at:,} training sequences{ref}, "
            f"{t.seconds:.0f} s, {t.step:,} steps."
        )
    if t.status == "diverged":
        return f"DIVERGED: {what}: {t.why}."
    if t.status == "interrupted":
        return (
            f"INTERRUPTED: {what} after {t.sequences:,} sequences ({t.seconds:.0f} s); "
            f"resume with --resume. {acc}"
        )
    if t.status == "finished":
        return (
            f"FINISHED: {what} after {t.sequences:,} sequences, {t.seconds:.0f} s ({t.why}); "
            f"{held}."
        )
    if t.status == "stopped":
        return f"STOPPED EARLY: {what} after {t.sequences:,} sequences ({t.why}); {held}."
    return (
        f"NOT SOLVED: {what} did not meet the criterion ({src.criterion}) within "
        f"{t.sequences:,} training sequences and {t.seconds:.0f} s ({t.why}); {acc}."
    )


def evaluate(
    run_dir: str | Any,
    size: int | None = None,
    seed: int | None = None,
    data: DataSource | None = None,
) -> dict[str, Any]:
    """Reload a run folder and judge it on held-out data with its source's criterion.

    For a task: ``size`` fresh test sequences (default: the task's test size) from a test seed no
    training evaluation used. For data given from Python, pass it again as ``data``. Returns
    ``{"task", "model", "length", "accuracy", "loss", "solved", "size", "criterion", "seed"}``.
    """
    run = load_run(run_dir)
    c = run.config
    source = make_source(c, data)
    if size is not None:
        check_positive_int("size", size)
    seed = 2**31 - 1 if seed is None else seed
    with single_thread_blas():
        if isinstance(source, TaskSource):
            from ..data.tasks import evaluate_model

            size = size or int(source.task.test_size)
            acc, loss, ok = evaluate_model(run.model, source.task, size, eval_rng(seed, 10**9))
        else:
            r = source.evaluate(run.model, seed=seed, step=10**9, size=size)
            acc, loss, ok, size = r.accuracy, r.loss, r.solved, r.size
    return {
        "task": c.task if c.task is not None else source.title,
        "model": c.model,
        "length": c.length,
        "accuracy": acc,
        "loss": loss,
        "solved": ok,
        "size": size,
        "criterion": source.criterion,
        "seed": seed,
    }
