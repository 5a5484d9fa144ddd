"""Keep the checkpoint with the lowest held-out loss beside the latest one."""

from __future__ import annotations

import math
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .. import checkpoint as ckpt
from .callbacks import Callback

if TYPE_CHECKING:  # pragma: no cover
    from ..data import Evaluation
    from .trainer import Trainer

BEST_FILE = "best.safetensors"  # the parameters with the lowest held-out loss so far


class BestCheckpoint(Callback):
    """Write ``best.safetensors`` (parameters and the evaluation's numbers, atomically) whenever
    an evaluation brings a lower held-out loss than every one before.

    A new run (step 0) removes an old run's file; a resumed run reads the best loss back from
    it, so a run interrupted or killed keeps its best model and goes on comparing against it.
    """

    def __init__(self, folder: str | Path) -> None:
        self.path = Path(folder) / BEST_FILE
        self.best = math.inf

    def on_start(self, trainer: Trainer) -> None:
        if trainer.step == 0:
            self.path.unlink(missing_ok=True)
            self.best = math.inf
        elif self.path.is_file():
            self.best = float(ckpt.load_checkpoint(self.path).metadata.get("test_loss", math.inf))

    def on_evaluate(self, trainer: Trainer, row: dict[str, Any], result: Evaluation) -> None:
        if not math.isfinite(result.loss) or result.loss >= self.best:
            return
        self.best = result.loss
        meta = {
            "step": trainer.step,
            "sequences": trainer.sequences,
            "seconds": trainer.seconds,
            "test_loss": result.loss,
            "test_size": result.size,
            **{k: float(v) for k, v in result.extra.items()},
        }
        ckpt.save_checkpoint(self.path, trainer.model.params, None, meta)
