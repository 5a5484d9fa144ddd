"""The trainer's own overhead: where the wall time of ``rnnlab train`` goes.

:func:`time_trainer` runs the adding problem with the trainer's defaults and times the training
steps (forward, loss, BPTT, clipping, update), the drawing of batches and the evaluations
separately; what is not in the steps is the trainer's overhead. With evaluations on a second
thread, "evaluation" is the time the training thread spends on them (copying the state, waiting
for a result the loop needs), not the worker's time, and the steps trained past the step whose
evaluation ended the run (dropped when the run returns to it) count as overhead, not as steps.
With ``run_folder=True`` the run also writes what ``rnnlab train --out`` writes (the callbacks
of :func:`rnnlab.train`: a checkpoint and ``metrics.csv`` at every evaluation, the loss curve at
the end), into a temporary folder, and runs its progress bar, drawn into the null device.
"""

from __future__ import annotations

import contextlib
import csv
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass

from .bench import loadavg


@dataclass
class TrainerTiming:
    """Where one ``rnnlab train`` run's wall time went, seconds."""

    dtype: str
    seed: int
    status: str
    steps: int
    sequences: int
    wall: float  # Trainer.fit, start to end
    step: float  # inside gradient_step: forward, loss, BPTT, clipping, update (kept steps)
    batches: float  # drawing training batches
    evaluation: float  # evaluations (screens and full test sets) on the training thread
    background: bool = False  # evaluations on a second thread
    dropped: int = 0  # steps trained past the evaluation that ended the run
    loadavg: str = ""
    run_folder: bool = False  # the run folder and progress bar of `rnnlab train --out`
    checkpoints: float = 0.0  # writing checkpoints and metrics.csv (not in "evaluation")
    figure: float = 0.0  # drawing loss-curve.png at the end (matplotlib's import included)

    @property
    def outside(self) -> float:
        """Share of the wall time spent outside the training steps."""
        return 1.0 - self.step / self.wall

    @property
    def outside_loop(self) -> float:
        """:attr:`outside` without the one figure drawn at the end (a cost per run, not per
        step)."""
        return 1.0 - self.step / (self.wall - self.figure)


def time_trainer(
    dtype: str = "float64",
    seed: int = 0,
    steps: int | None = None,
    background: bool | None = None,
    run_folder: bool = False,
    **settings: object,
) -> TrainerTiming:
    """Run the adding problem (T=100) with the trainer's defaults and time its parts.

    ``steps=None`` trains until solved (or the default budget); ``background`` as
    :class:`rnnlab.training.Trainer` takes it; ``run_folder``: write the run folder and run the
    progress bar as ``rnnlab train --out`` does (module docstring); ``settings`` override fields
    of :class:`rnnlab.training.TrainConfig` (e.g. ``eval_every``).
    """
    with contextlib.ExitStack() as stack:
        tmp = stack.enter_context(tempfile.TemporaryDirectory(prefix="rnnlab-bench-"))
        if run_folder:  # the bar draws on stderr
            null = stack.enter_context(open(os.devnull, "w"))
            stack.enter_context(contextlib.redirect_stderr(null))
        return _time_trainer(dtype, seed, steps, background, tmp if run_folder else None, settings)


def _time_trainer(
    dtype: str,
    seed: int,
    steps: int | None,
    background: bool | None,
    out: str | None,
    settings: dict[str, object],
) -> TrainerTiming:
    from .training import TrainConfig
    from .training.build import build_model
    from .training.callbacks import Checkpointer, LossCurve, default_callbacks
    from .training.config import make_source, resolve_config
    from .training.runs import RunFolder
    from .training.trainer import Trainer

    keys = ("step", "batches", "evaluation", "checkpoints", "figure")
    spent, runs = dict.fromkeys(keys, 0.0), dict.fromkeys(keys, 0)

    def timed(method: Callable, key: str, within: str | None = None) -> Callable:
        # ``within``: a part timed inside another (a checkpoint written at an evaluation),
        # taken out of that one's time so that every second counts once
        def wrapper(*args: object, **kw: object):
            t0 = time.perf_counter()
            try:
                return method(*args, **kw)
            finally:
                dt = time.perf_counter() - t0
                spent[key] += dt
                runs[key] += 1
                if within is not None:
                    spent[within] -= dt

        return wrapper

    c = TrainConfig(task="adding", model="lstm", length=100, seed=seed, dtype=dtype, steps=steps)
    for k, v in settings.items():
        setattr(c, k, v)
    source = make_source(c)
    c = resolve_config(c, source)
    folder = RunFolder(out) if out is not None else None
    cbs = default_callbacks(folder, True, c.patience) if folder is not None else []
    trainer = Trainer(c, source, build_model(c, source), callbacks=cbs, background=background)
    trainer.gradient_step = timed(trainer.gradient_step, "step")  # type: ignore[method-assign]
    trainer.next_batch = timed(trainer.next_batch, "batches")  # type: ignore[method-assign]
    for name in ("evaluation_point", "collect_evaluation", "_final_evaluation"):
        setattr(trainer, name, timed(getattr(trainer, name), "evaluation"))
    for cb in cbs:
        if isinstance(cb, Checkpointer):
            cb.on_evaluate = timed(cb.on_evaluate, "checkpoints", "evaluation")  # type: ignore
            cb.on_start = timed(cb.on_start, "checkpoints")  # type: ignore[method-assign]
            cb.on_end = timed(cb.on_end, "checkpoints")  # type: ignore[method-assign]
        elif isinstance(cb, LossCurve):
            cb.on_end = timed(cb.on_end, "figure")  # type: ignore[method-assign]
    if folder is not None:
        trainer.config_sha256 = folder.start(c)
    load = loadavg()
    t0 = time.perf_counter()
    status = trainer.fit()
    wall = time.perf_counter() - t0
    kept = trainer.step / max(runs["step"], 1)  # the dropped steps are overhead, not steps
    return TrainerTiming(
        dtype,
        seed,
        status,
        trainer.step,
        trainer.solved_at or trainer.sequences,
        wall,
        spent["step"] * kept,
        spent["batches"],
        spent["evaluation"],
        trainer.background,
        runs["step"] - trainer.step,
        f"{load} -> {loadavg()}",
        folder is not None,
        spent["checkpoints"],
        spent["figure"],
    )


TRAINER_HEADER = (
    "| dtype | evaluation | run folder | seed | status | steps | sequences | wall s | in steps s "
    "| batches s | evaluation s | checkpoints s | figure s | dropped steps | outside steps "
    "| outside steps, figure aside | steps/s (train) | steps/s (bare step) |\n"
    "|---|---|---|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
)


def format_trainer_row(t: TrainerTiming) -> str:
    """One row of the trainer-overhead table."""
    return (
        f"| {t.dtype} | {'background' if t.background else 'in line'} "
        f"| {'written' if t.run_folder else 'none'} | {t.seed} | {t.status} "
        f"| {t.steps:,} | {t.sequences:,} | {t.wall:.1f} | {t.step:.1f} | {t.batches:.2f} "
        f"| {t.evaluation:.2f} | {t.checkpoints:.2f} | {t.figure:.2f} | {t.dropped} "
        f"| {100 * t.outside:.1f} % | {100 * t.outside_loop:.1f} % "
        f"| {t.steps / t.wall:.0f} | {t.steps / t.step:.0f} |"
    )


@dataclass
class CommandTiming:
    """The whole ``rnnlab train`` command in a fresh process, against the training steps of the
    same run timed in this process (:func:`time_trainer` with ``run_folder=True``)."""

    dtype: str
    steps: int  # steps the command's run kept (read from its metrics.csv)
    wall: float  # the process, start to exit
    step: float  # the same run's training steps, timed in this process

    @property
    def outside(self) -> float:
        """Share of the command's wall time spent outside the training steps."""
        return 1.0 - self.step / self.wall


def time_command(inside: TrainerTiming, steps: int | None = None) -> CommandTiming:
    """Run ``rnnlab train --task adding`` (seed and dtype of ``inside``, a run-folder timing)
    in a fresh Python process through the console script's function, and time it whole: the
    interpreter's start, the imports, Numba's first load of the compiled kernels, the run, the
    loss curve and the exit. ``inside.step`` is the same run's time in its steps (the same
    steps, the same bits)."""
    with tempfile.TemporaryDirectory(prefix="rnnlab-bench-") as tmp:
        out = os.path.join(tmp, "run")
        args = ["train", "--task", "adding", "--model", "lstm", "--length", "100"]
        args += ["--seed", str(inside.seed), "--dtype", inside.dtype, "--quiet", "--out", out]
        if steps is not None:
            args += ["--steps", str(steps)]
        code = "from rnnlab.cli import console; console()"
        t0 = time.perf_counter()
        done = subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True)
        wall = time.perf_counter() - t0
        if done.returncode not in (0, 1):  # 1: a run that ended unsolved (a short --steps)
            last = (done.stderr.strip().splitlines() or ["no output"])[-1]
            raise RuntimeError(f"rnnlab train exited with {done.returncode}: {last}")
        with open(os.path.join(out, "metrics.csv"), newline="") as f:
            kept = sum(1 for _ in csv.DictReader(f))
    return CommandTiming(inside.dtype, kept, wall, inside.step)


COMMAND_HEADER = (
    "| dtype | steps | command wall s | in steps s | outside steps |\n|---|---:|---:|---:|---:|"
)


def format_command_row(c: CommandTiming) -> str:
    """One row of the whole-command table."""
    return f"| {c.dtype} | {c.steps:,} | {c.wall:.2f} | {c.step:.2f} | {100 * c.outside:.1f} % |"
