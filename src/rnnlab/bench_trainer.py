"""The trainer's own overhead: where the wall time of ``rnnlab train`` goes.

:func:`time_trainer` runs the adding problem with the trainer's defaults and times the training
steps (forward, loss, BPTT, clipping, update), the drawing of batches and the evaluations
separately; what is not in the steps is the trainer's overhead. With evaluations on a second
thread, "evaluation" is the time the training thread spends on them (copying the state, waiting
for a result the loop needs), not the worker's time, and the steps trained past the step whose
evaluation ended the run (dropped when the run returns to it) count as overhead, not as steps.
"""

from __future__ import annotations

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

    @property
    def outside(self) -> float:
        """Share of the wall time spent outside the training steps."""
        return 1.0 - self.step / self.wall


def time_trainer(
    dtype: str = "float64",
    seed: int = 0,
    steps: int | None = None,
    background: bool | None = None,
    **settings: object,
) -> TrainerTiming:
    """Run the adding problem (T=100) with the trainer's defaults and time its parts.

    ``steps=None`` trains until solved (or the default budget); ``background`` as
    :class:`rnnlab.training.Trainer` takes it; ``settings`` override fields of
    :class:`rnnlab.training.TrainConfig` (e.g. ``eval_every``).
    """
    from .training import TrainConfig
    from .training.build import build_model
    from .training.config import make_source, resolve_config
    from .training.trainer import Trainer

    spent = {"step": 0.0, "batches": 0.0, "evaluation": 0.0}
    runs = {"step": 0, "batches": 0, "evaluation": 0}

    def timed(method: Callable, key: str) -> Callable:
        def wrapper(*args: object, **kw: object):
            t0 = time.perf_counter()
            try:
                return method(*args, **kw)
            finally:
                spent[key] += time.perf_counter() - t0
                runs[key] += 1

        return wrapper

    c = TrainConfig(task="adding", model="lstm", length=100, seed=seed, dtype=dtype, steps=steps)
    for k, v in settings.items():
        setattr(c, k, v)
    source = make_source(c)
    c = resolve_config(c, source)
    trainer = Trainer(c, source, build_model(c, source), background=background)
    trainer.gradient_step = timed(trainer.gradient_step, "step")  # type: ignore[method-assign]
    trainer.next_batch = timed(trainer.next_batch, "batches")  # type: ignore[method-assign]
    for name in ("evaluation_point", "collect_evaluation", "_final_evaluation"):
        setattr(trainer, name, timed(getattr(trainer, name), "evaluation"))
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
    )


TRAINER_HEADER = (
    "| dtype | evaluation | seed | status | steps | sequences | wall s | in steps s | batches s | "
    "evaluation s | dropped steps | outside steps | steps/s (train) | steps/s (bare step) |\n"
    "|---|---|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
)


def format_trainer_row(t: TrainerTiming) -> str:
    """One row of the trainer-overhead table."""
    return (
        f"| {t.dtype} | {'background' if t.background else 'in line'} | {t.seed} | {t.status} "
        f"| {t.steps:,} | {t.sequences:,} | {t.wall:.1f} | {t.step:.1f} | {t.batches:.2f} "
        f"| {t.evaluation:.2f} | {t.dropped} | {100 * t.outside:.1f} % "
        f"| {t.steps / t.wall:.0f} | {t.steps / t.step:.0f} |"
    )
