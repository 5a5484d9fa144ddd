"""The data interface: what a training source gives the trainer.

A :class:`DataSource` is anything the trainer can learn from: a synthetic task of the registry
(:class:`rnnlab.data.TaskSource`), the user's own arrays (:class:`rnnlab.data.ArrayDataset`), a
text corpus or a time series. It hands out training batches of time-major sequences, says how
they are scored (the loss and the target mode), evaluates a model on its held-out part and says
when the result meets its criterion.

Batches are :class:`rnnlab.tasks.Batch`: inputs ``x (T, B, I)``, targets (``(T, B, K)`` at every
step or ``(B, K)`` at each sequence's last valid step; class indices for ``loss="ce"``), an
optional ``mask (T, B)``, ``last (B,)``. A *stateful* source (a long stream cut into chunks,
char-rnn style) sets ``batch.carry = True`` on a chunk that continues the previous batch's
``B`` streams; the trainer then starts it from the previous chunk's final hidden state (a
constant: no gradient crosses the border) and keeps that state in its checkpoints.

Exact resume: the trainer saves the random generator it passes to :meth:`DataSource.next_batch`
and the source's own :meth:`DataSource.state_dict` (a JSON-able position in the stream) with
every checkpoint, so a resumed run draws the same batches as an uninterrupted one.
"""

from __future__ import annotations

import importlib
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import Any, ClassVar

import numpy as np

from ..tasks.base import Batch

LOSSES = ("mse", "ce", "bce")  # the training losses a source may name (see rnnlab.losses)
TARGETS = ("every", "last")  # a target at every step, or one at each sequence's last step


@dataclass
class Evaluation:
    """The result of :meth:`DataSource.evaluate` on held-out data."""

    loss: float  # mean loss per sequence (per step for "every" targets), the training loss
    size: int  # held-out sequences (or characters: DataSource.eval_unit) the numbers come from
    solved: bool  # whether the result meets the source's criterion
    accuracy: float | None = None  # fraction of sequences correct; None where there is no such rule
    extra: dict[str, float] = field(default_factory=dict)  # further numbers (e.g. bits/char)


class DataSource(ABC):
    """Base class of every training source; see the module docstring.

    Subclasses set the class attribute ``kind`` and implement the abstract members; the rest
    has defaults that fit a stateless source with no criterion.
    """

    kind: ClassVar[str]  # "task" | "arrays" | ...: the name config.toml records
    stateful: ClassVar[bool] = False  # consecutive batches continue the same B streams
    # evaluate() reads nothing that next_batch()/load_state_dict() change, so the trainer may run
    # it on a second thread while training goes on (False: always on the training thread)
    concurrent_evaluation: ClassVar[bool] = False
    extra_columns: ClassVar[tuple[str, ...]] = ()  # metrics.csv columns Evaluation.extra fills
    eval_unit: ClassVar[str] = "sequences"  # what Evaluation.size counts, in words (messages)

    # -- what the model must look like ----------------------------------------------------------
    @property
    @abstractmethod
    def input_size(self) -> int:
        """``I``: features per step of ``x``."""

    @property
    @abstractmethod
    def output_size(self) -> int:
        """``K``: outputs per step of the readout (classes for ``loss="ce"``)."""

    @property
    @abstractmethod
    def loss(self) -> str:
        """The training loss: ``"mse"``, ``"ce"`` or ``"bce"``."""

    @property
    @abstractmethod
    def target(self) -> str:
        """``"every"`` (a target at each step) or ``"last"`` (one per sequence)."""

    # -- training -------------------------------------------------------------------------------
    @abstractmethod
    def next_batch(self, batch: int, rng: np.random.Generator) -> Batch:
        """The next training batch of ``batch`` sequences; all randomness from ``rng``."""

    def state_dict(self) -> dict[str, Any]:
        """The source's position in its training stream, JSON-able (stateless: ``{}``)."""
        return {}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Restore what :meth:`state_dict` returned."""
        return None  # a stateless source has no position to restore

    def correct(self, outputs: np.ndarray, batch: Batch) -> np.ndarray | None:
        """``(B,)`` bool: which sequences the outputs ``y (T, B, K)`` get right; ``None`` where
        the source has no per-sequence rule (then no training accuracy is logged)."""
        return None

    @property
    def train_size(self) -> int | None:
        """Training sequences in one pass (an epoch); ``None`` for an endless generator."""
        return None

    # -- judging --------------------------------------------------------------------------------
    @abstractmethod
    def evaluate(
        self,
        model: Any,
        *,
        seed: int,
        step: int,
        size: int | None = None,
        screen: int | None = None,
    ) -> Evaluation:
        """Score ``model`` (a :class:`rnnlab.SequenceModel`) on held-out data.

        ``seed`` and ``step`` identify the evaluation, so a generator source can draw a fresh test
        set that no other evaluation and no training batch shares. ``size`` and ``screen`` are
        the trainer's ``eval_size`` / ``screen_size``: a source may check ``screen`` sequences
        first and the full set only when they pass. Only a full evaluation may say ``solved``.
        A long evaluation calls :func:`rnnlab.data.cancellation_point` between its chunks, so a
        background evaluation the run no longer needs stops there (:mod:`rnnlab.data.cancel`).
        """

    @property
    def criterion(self) -> str:
        """The "solved" criterion in words."""
        return "none: training runs until a budget is spent"

    @property
    def has_criterion(self) -> bool:
        """Whether an evaluation can say "solved" (else a run ends "finished" when its budget is
        spent)."""
        return False

    @property
    def default_budget(self) -> int | None:
        """Training sequences the trainer spends when no budget is given (``None``: none)."""
        return None

    @property
    def default_eval_size(self) -> int | None:
        """The trainer's ``eval_size`` when none is given (``None``: the whole held-out part)."""
        return None

    @property
    def defaults(self) -> dict[str, Any]:
        """Training settings measured to suit this source (hidden, lr, batch, gate biases)."""
        return {}

    @property
    def title(self) -> str:
        """A short name for messages and figure titles."""
        return self.kind

    @abstractmethod
    def spec(self) -> dict[str, Any]:
        """What ``config.toml`` records of the source: TOML-able (no ``None``), with ``kind``,
        ``input_size``, ``output_size``, ``loss``, ``target`` and whatever identifies the data
        (a hash), so a resumed or reloaded run can tell it is given the same data."""


def model_io(spec: dict[str, Any]) -> tuple[int, int, str]:
    """``(input_size, output_size, loss)`` from a source's :meth:`DataSource.spec`."""
    try:
        return int(spec["input_size"]), int(spec["output_size"]), str(spec["loss"])
    except (KeyError, TypeError, ValueError):
        raise ValueError(
            f"data: expected a table with input_size, output_size and loss, got {spec!r}"
        ) from None


# Sources that can rebuild themselves from their spec alone (a text corpus from its paths, a
# packaged series from its name) register a loader here, so that `load_run`, `evaluate` and
# `--resume` need nothing but the run folder. Sources of in-memory data (arrays) register none:
# their data must be passed again.
_LOADERS: dict[str, Any] = {}


def register_loader(kind: str, loader: Any) -> None:
    """Let ``loader(spec) -> DataSource`` rebuild sources of ``kind`` from their spec."""
    _LOADERS[kind] = loader


def load_source(spec: dict[str, Any]) -> DataSource:
    """Rebuild a source from the spec a run's config recorded; see :func:`register_loader`."""
    kind = spec.get("kind")
    if kind not in _LOADERS and isinstance(kind, str) and kind.isidentifier():
        try:  # a source of kind K registers its loader when rnnlab.K is imported
            importlib.import_module(f"rnnlab.{kind}")
        except ImportError:
            pass
    loader = _LOADERS.get(kind)  # type: ignore[arg-type]
    if loader is None:
        raise ValueError(
            f"data: this run was trained on {kind} data given from Python; pass the same data "
            "again (data=...)"
        )
    return loader(spec)
