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

:func:`time_command` times whole ``rnnlab train`` commands in fresh processes, any arguments:
what a user waits for at the shell, the costs of each run (imports, reading the data, the loss
curve) included, against the steps timed inside the same process.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
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
    """One ``rnnlab train`` command in a fresh process: its wall time, and the time its own
    training steps took, timed inside that process (:func:`time_command`)."""

    what: str  # the run, in words
    dtype: str
    steps: int  # steps the run kept
    wall: float  # the process, start to exit
    step: float  # in the kept training steps (gradient_step), timed in the process
    dropped: int = 0  # steps trained past the evaluation that ended the run

    @property
    def outside(self) -> float:
        """Share of the command's wall time spent outside the kept training steps."""
        return 1.0 - self.step / self.wall


# The fresh process's program: it times every call of Trainer.gradient_step and notes the step
# the run kept (Trainer.fit's last), runs the console script's function as `rnnlab` does, and
# writes both as JSON to its first argument when it exits. The timer costs about a microsecond
# a step; the steps past the evaluation that ended the run are its last calls.
_TIMED_CONSOLE = """
import atexit, json, sys, time
out = sys.argv.pop(1)
from rnnlab.training import trainer
calls, kept = [], [0]
step, fit = trainer.Trainer.gradient_step, trainer.Trainer.fit
def gradient_step(self, b):
    t0 = time.perf_counter()
    try:
        return step(self, b)
    finally:
        calls.append(time.perf_counter() - t0)
def run(self, **kw):
    try:
        return fit(self, **kw)
    finally:
        kept[0] = self.step
def write():
    with open(out, "w") as f:
        json.dump({"calls": calls, "kept": kept[0]}, f)
trainer.Trainer.gradient_step, trainer.Trainer.fit = gradient_step, run
atexit.register(write)
from rnnlab.cli import console
console()
"""


def time_command(args: Sequence[str], what: str) -> CommandTiming:
    """Run ``rnnlab train ARGS --out TMP`` in a fresh Python process and time it whole: the
    interpreter's start, the imports, Numba's first load of the compiled kernels, reading the
    data, the run, the loss curve and the exit; the progress bar draws into a pipe. The training
    steps the run kept are timed inside the process (``_TIMED_CONSOLE``)."""
    from .training.config import read_config

    with tempfile.TemporaryDirectory(prefix="rnnlab-bench-") as tmp:
        record = os.path.join(tmp, "steps.json")
        argv = [sys.executable, "-c", _TIMED_CONSOLE, record, "train", *args]
        argv += ["--out", os.path.join(tmp, "run")]
        t0 = time.perf_counter()
        done = subprocess.run(argv, capture_output=True, text=True)
        wall = time.perf_counter() - t0
        if done.returncode not in (0, 1):  # 1: a run that ended unsolved (a short --steps)
            last = (done.stderr.strip().splitlines() or ["no output"])[-1]
            raise RuntimeError(f"rnnlab train exited with {done.returncode}: {last}")
        with open(record) as f:
            steps = json.load(f)
        dtype = read_config(os.path.join(tmp, "run", "config.toml")).dtype
    kept, calls = int(steps["kept"]), steps["calls"]
    return CommandTiming(what, dtype, kept, wall, math.fsum(calls[:kept]), len(calls) - kept)


TEXT_STEPS = 600  # the character model's run: about a minute on a 2-core machine


def command_runs(dtypes: Sequence[str], quick: bool = False) -> list[tuple[str, list[str]]]:
    """The whole commands the bench times, ``(what, arguments of rnnlab train)``: the adding
    problem (T=100, seed 0, to solved) in each of ``dtypes``, the temporal-order problem (seed
    0, to solved), and a 2-layer character model on this Python's standard library for
    :data:`TEXT_STEPS` steps, a run of a realistic length (a task run takes seconds, so its
    costs per run weigh as much as its steps). ``quick``: a few steps of each."""
    adding = ["--task", "adding", "--model", "lstm", "--length", "100", "--seed", "0"]
    limit = (["--steps", "200"], ["--steps", "100"]) if quick else ([], [])  # not to solved
    text = 5 if quick else TEXT_STEPS
    runs = [("adding T=100", [*adding, "--dtype", d, *limit[0]]) for d in dtypes]
    runs.append(("temporal order", ["--task", "temporal_order", "--seed", "0", *limit[1]]))
    runs.append((f"char model, {text} steps", ["--text", "stdlib", "--steps", str(text)]))
    return runs


COMMAND_HEADER = (
    "| run | dtype | steps | command wall s | in steps s | dropped steps | outside steps |\n"
    "|---|---|---:|---:|---:|---:|---:|"
)


def format_command_row(c: CommandTiming) -> str:
    """One row of the whole-command table."""
    return (
        f"| {c.what} | {c.dtype} | {c.steps:,} | {c.wall:.2f} | {c.step:.2f} | {c.dropped} "
        f"| {100 * c.outside:.1f} % |"
    )
