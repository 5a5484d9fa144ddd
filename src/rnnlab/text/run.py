"""Training a character model and reading its run folder back: config, callbacks, evaluation."""

from __future__ import annotations

import dataclasses
import math
import os
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from .. import checkpoint as ckpt
from ..training.best import BEST_FILE, BestCheckpoint
from ..training.callbacks import Callback, ProgressBar, default_callbacks
from ..training.config import TrainConfig, read_config
from ..training.runs import RunFolder
from .corpus import find_files, read_texts
from .source import LN2, TextSource, score, text_metrics
from .vocab import Vocabulary

# The trainer's settings for text beyond TEXT_DEFAULTS (hidden 256, lr 4e-3, batch 32): a
# 2-layer LSTM in float32, each batch one chunk (no further truncation), norm clipping at 5.
TEXT_CONFIG: dict[str, Any] = {
    "model": "lstm",
    "layers": 2,
    "dtype": "float32",
    "clip": 5.0,
    "eval_every": 100,
    "time_budget": 600.0,
}


def text_config(**settings: Any) -> TrainConfig:
    """A :class:`TrainConfig` with the text defaults, overridden by ``settings``."""
    return TrainConfig(**{**TEXT_CONFIG, **settings})


class TextMetrics(Callback):
    """Write ``vocab.json`` at the start of a new run; add training bits/char to each row."""

    def __init__(self, folder: Path | None, vocab: Vocabulary | None) -> None:
        self.folder, self.vocab = folder, vocab

    def on_start(self, trainer: Any) -> None:
        if self.folder is not None and self.vocab is not None:
            self.vocab.save(self.folder)

    def on_step(self, trainer: Any, row: dict[str, Any]) -> None:
        row["bits_per_char"] = row["loss"] / LN2 if math.isfinite(row["loss"]) else row["loss"]


class TextProgress(ProgressBar):
    """The progress bar in nats/char and bits/char, training and held-out."""

    def on_step(self, trainer: Any, row: dict[str, Any]) -> None:
        text = f"train {row['loss']:.3f} nats {row['loss'] / LN2:.3f} bits/char"
        last = trainer.last_eval
        if last is not None:
            text += f" | held-out {last.loss:.3f} nats {last.loss / LN2:.3f} bits/char"
        self.bar.update(1)
        self.bar.set_postfix_str(text, refresh=False)


def text_callbacks(
    out: str | os.PathLike | None,
    vocab: Vocabulary | None,
    *,
    progress: bool = True,
    patience: int | None = None,
) -> list[Callback]:
    """The default callbacks plus ``vocab.json``, bits/char, the best checkpoint
    (``best.safetensors``) and the progress bar in bits/char."""
    folder = RunFolder(out) if out is not None else None
    cbs: list[Callback] = [TextMetrics(folder.path if folder else None, vocab)]
    cbs += default_callbacks(folder, False, patience)
    if folder is not None:
        cbs.insert(2, BestCheckpoint(folder.path))  # after NaNGuard, beside the checkpointer
    if progress:
        cbs.append(TextProgress())
    return cbs


def is_text_run(out: str | os.PathLike) -> bool:
    """Whether the run folder ``out`` holds a text run."""
    path = Path(out) / ckpt.CONFIG_FILE
    return path.is_file() and read_config(path).data.get("kind") == "text"


def train_text(
    config: TrainConfig,
    data: TextSource | None = None,
    *,
    progress: bool = True,
    resume: bool = False,
    force: bool = False,
    log: Callable[[str], None] | None = None,
    background_eval: bool | None = None,
    threads: int | None = None,
) -> Any:
    """:func:`rnnlab.train` with :func:`text_callbacks`; ``data`` may be None only to resume."""
    from ..training import train

    if data is None and not resume:
        raise ValueError("data: expected a TextSource (or resume=True), got None")
    vocab = data.vocab if data is not None else None
    cbs = text_callbacks(config.out, vocab, progress=progress, patience=config.patience)
    if resume and config.out is not None and config.patience is None:
        saved = Path(config.out) / ckpt.CONFIG_FILE
        if saved.is_file():
            cbs = text_callbacks(
                config.out, vocab, progress=progress, patience=read_config(saved).patience
            )
    return train(
        config,
        data,
        progress=progress,
        resume=resume,
        force=force,
        log=log,
        callbacks=cbs,
        background_eval=background_eval,
        threads=threads,
    )


@dataclasses.dataclass
class TextRun:
    """A text run read back: its config, the model (best or last checkpoint), the vocabulary."""

    path: Path  # the run folder
    config: TrainConfig  # its resolved config
    model: Any  # SequenceModel with the chosen checkpoint's parameters
    vocab: Vocabulary  # the training text's vocabulary
    checkpoint: str  # "best" or "last": which parameters were loaded


def load_text_run(path: str | os.PathLike, *, which: str = "best") -> TextRun:
    """Load a text run folder; ``which="best"`` takes ``best.safetensors`` when it exists
    (the lowest held-out loss), ``"last"`` the latest checkpoint."""
    from ..training import load_run

    if which not in ("best", "last"):
        raise ValueError(f"which: expected 'best' or 'last', got {which!r}")
    run = load_run(path)
    if run.config.data.get("kind") != "text":
        raise ValueError(
            f"run: {str(run.path)!r} is not a text run (it trained on "
            f"{run.config.data.get('kind') or run.config.task})"
        )
    vocab = Vocabulary.load(run.path)
    best = run.path / BEST_FILE
    used = "last"
    if which == "best" and best.is_file():
        run.model.load_params(ckpt.load_checkpoint(best).params)
        used = "best"
    return TextRun(run.path, run.config, run.model, vocab, used)


def evaluate_text(
    model: Any,
    vocab: Vocabulary,
    paths: str | Sequence[str],
    *,
    glob: str | None = None,
    encoding_errors: str = "strict",
) -> dict[str, Any]:
    """nats/char, bits/char, perplexity and the unknown fraction of ``model`` on a text.

    The rule is fixed: the files' text is one stream; the state is zero at its first character
    and carried through to its end; each character after the first is scored. Characters
    outside ``vocab`` are scored as the reserved symbol and counted in ``unknown_fraction``.
    """
    files = find_files([paths] if isinstance(paths, str) else list(paths), glob)
    texts = [t for _, t in read_texts(files, encoding_errors)]
    n = sum(len(t) for t in texts)
    if n < 2:
        raise ValueError(f"text: expected at least 2 characters to score, got {n}")
    codes = np.empty(n, dtype=vocab.dtype)
    s = 0
    for t in texts:
        vocab.encode(t, out=codes[s : s + len(t)])
        s += len(t)
    del texts
    from ..training.build import single_thread_blas

    with single_thread_blas():
        total, count = score(model, codes)
    out = text_metrics(total, count, int(np.count_nonzero(codes == 0)), n)
    out.update(characters=n, predicted=count, files=len(files.files))
    return out
