"""Callbacks: what happens around the training loop, each a small object a user can add or omit.

A callback implements any of ``on_start(trainer)``, ``on_step(trainer, row)`` (after each update,
before the row is kept: a callback may call ``trainer.stop(...)``), ``on_evaluate(trainer, row,
result)`` and ``on_end(trainer)``. :func:`rnnlab.train` uses :func:`default_callbacks`.
"""

from __future__ import annotations

import math
import sys
import time
from typing import TYPE_CHECKING, Any

from .. import checkpoint as ckpt
from .runs import RunFolder

if TYPE_CHECKING:  # pragma: no cover
    from ..data import Evaluation
    from .trainer import Trainer


class Callback:
    """Base class: every hook does nothing."""

    def on_start(self, trainer: Trainer) -> None: ...

    def on_step(self, trainer: Trainer, row: dict[str, Any]) -> None: ...

    def on_evaluate(self, trainer: Trainer, row: dict[str, Any], result: Evaluation) -> None: ...

    def on_end(self, trainer: Trainer) -> None: ...


class NaNGuard(Callback):
    """Stop the run as "diverged" at the first non-finite loss or gradient norm; the row of that
    step is not kept and the last finite checkpoint stays on disk."""

    def on_step(self, trainer: Trainer, row: dict[str, Any]) -> None:
        loss, norm = row["loss"], row["grad_norm"]
        if math.isfinite(loss) and math.isfinite(norm):
            return
        what, bad = ("loss", loss) if not math.isfinite(loss) else ("gradient norm", norm)
        kept = (
            f"the last finite checkpoint (step {trainer.saved_step:,}) is kept in "
            f"{trainer.checkpoint_path}"
            if trainer.checkpoint_path is not None
            else "nothing saved"
        )
        trainer.stop(
            "diverged",
            f"training stopped at step {trainer.step:,}: the {what} became {bad}; {kept}",
        )


class Checkpointer(Callback):
    """Write the run folder: a step-0 checkpoint, one at every evaluation, one at the end.

    Each save writes ``metrics.csv`` first and ``model.safetensors`` after it (see
    :mod:`rnnlab.training.runs`), both atomically, on a background thread; the run's end waits
    for them.
    """

    def __init__(self, folder: RunFolder) -> None:
        self.folder = folder

    def on_start(self, trainer: Trainer) -> None:
        trainer.checkpoint_path = self.folder.path / ckpt.MODEL_FILE
        if trainer.step == 0:
            self.save(trainer, "running")  # a finite step-0 checkpoint exists from the start

    def on_evaluate(self, trainer: Trainer, row: dict[str, Any], result: Evaluation) -> None:
        self.save(trainer, "solved" if result.solved else "running")

    def on_end(self, trainer: Trainer) -> None:
        if trainer.status != "diverged":  # a diverged run keeps its last finite checkpoint
            self.save(trainer, "running" if trainer.status == "interrupted" else trainer.status)
        self.folder.flush()  # the run ends with its files on disk

    def save(self, trainer: Trainer, status: str) -> None:
        self.folder.save(
            trainer.model,
            trainer.opt.state_dict(),
            trainer.metadata(status),
            trainer.rows,
            trainer.columns,
            trainer.carried_arrays(),
        )
        trainer.saved_step = trainer.step


class EarlyStopping(Callback):
    """Stop when ``patience`` evaluations in a row bring no held-out loss below the best one by
    more than the fraction ``min_delta`` of it (noise-level gains do not count)."""

    def __init__(self, patience: int, min_delta: float = 1e-4) -> None:
        self.patience, self.min_delta = patience, min_delta
        self.best = math.inf
        self.waited = 0

    def on_evaluate(self, trainer: Trainer, row: dict[str, Any], result: Evaluation) -> None:
        if result.loss < self.best - self.min_delta * abs(self.best):
            self.best, self.waited = result.loss, 0
            return
        self.waited += 1
        if self.waited >= self.patience:
            trainer.stop(
                "stopped",
                f"no lower held-out loss in {self.patience} evaluations (best {self.best:.4g})",
            )


POSTFIX_EVERY = 0.1  # seconds between two texts of the progress bar (it redraws every 0.5 s)


class ProgressBar(Callback):
    """A tqdm bar on stderr: steps, loss, gradient norm, accuracy, last test result."""

    def __init__(self) -> None:
        self.bar: Any = None
        self._due = 0.0  # time.monotonic() from which the next step sets the bar's text

    def on_start(self, trainer: Trainer) -> None:
        from tqdm.auto import tqdm

        c = trainer.config
        total = c.steps or (math.ceil(c.max_sequences / c.batch) if c.max_sequences else None)
        self.bar = tqdm(
            total=total,
            initial=trainer.step,
            desc=f"{c.model} {trainer.source.title}",
            unit="step",
            dynamic_ncols=True,
            file=sys.stderr,
            mininterval=0.5,
        )

    def on_step(self, trainer: Trainer, row: dict[str, Any]) -> None:
        # the bar redraws at most every mininterval: its text is made only when it may show
        # (formatting it at every step cost ~8 us of a 1.3 ms adding step)
        now = time.monotonic()
        if now >= self._due:
            self._due = now + POSTFIX_EVERY
            self.bar.set_postfix_str(_postfix(trainer, row), refresh=False)
        self.bar.update(1)

    def on_end(self, trainer: Trainer) -> None:
        if self.bar is not None:
            self.bar.n = trainer.step  # a run that returned to an evaluated step ends there
            if trainer.rows:
                self.bar.set_postfix_str(_postfix(trainer, trainer.rows[-1]), refresh=False)
            self.bar.close()


def _postfix(trainer: Trainer, row: dict[str, Any]) -> str:
    """The progress bar's text: the step's loss, gradient norm, accuracy, last test result."""
    acc = row.get("accuracy")
    last = trainer.last_eval
    text = f"loss {row['loss']:.3g} |g| {row['grad_norm']:.3g}"
    if acc is not None:
        text += f" acc {100 * acc:.0f}%"
    if last is not None:
        text += (
            f" test {100 * last.accuracy:.1f}%"
            if last.accuracy is not None
            else f" test loss {last.loss:.3g}"
        )
    return text


class LossCurve(Callback):
    """Draw ``loss-curve.png`` from ``metrics.csv`` at the end of the run."""

    def __init__(self, folder: RunFolder) -> None:
        self.folder = folder

    def on_end(self, trainer: Trainer) -> None:
        if not trainer.rows:
            return
        from ..figures.training import metrics_columns, plot_loss_curve  # matplotlib only now

        c = trainer.config
        plot_loss_curve(
            metrics_columns(trainer.rows),  # every finite step, also past the last checkpoint
            self.folder.path / ckpt.CURVE_FILE,
            title=f"{c.model.upper()} on {trainer.source.title}: {trainer.status}",
            clip=c.clip,
        )


def default_callbacks(folder: RunFolder | None, progress: bool, patience: int | None) -> list:
    """What :func:`rnnlab.train` uses: the NaN guard, then the run folder's writers, early
    stopping (if ``patience``), the progress bar (if ``progress``)."""
    cbs: list[Callback] = [NaNGuard()]
    if folder is not None:
        cbs.append(Checkpointer(folder))
    if patience is not None:
        cbs.append(EarlyStopping(patience))
    if progress:
        cbs.append(ProgressBar())
    if folder is not None:
        cbs.append(LossCurve(folder))
    return cbs
