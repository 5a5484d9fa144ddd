"""The registry's synthetic tasks as a :class:`DataSource`.

Randomness: the trainer passes one training stream to :meth:`TaskSource.next_batch`; the test sets
of the evaluation at step ``s`` are drawn from ``SeedSequence([seed, 1, s])`` (the quick screen) and
``SeedSequence([seed, 2, s])`` (the full set), so they are fresh each time and independent of the
training stream and of each other.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..readout import readout_value
from ..tasks import get_task
from ..tasks.base import Batch, Task
from .base import DataSource, Evaluation
from .cancel import cancellation_point

# Training settings the plain `rnnlab train --task NAME` uses (chosen by measurement; see README).
# The negative input-gate bias is the paper's own (Exp. 4 starts them at -3 and -6): with open
# input gates every irrelevant input leaks into the CEC, and the sum of ~100 noise terms buries
# the two marked values; small batches give many updates per training sequence.
_ADDING = {"hidden": 64, "lr": 3e-3, "batch": 8, "forget_bias": 5.0, "input_bias": -3.0}
_ORDER = {"hidden": 32, "lr": 3e-3, "batch": 8, "forget_bias": 5.0, "input_bias": -3.0}
# float32 where it was measured to solve as float64 does, in half the time (README, "Speed"):
# the LSTM on adding (seeds 0-4 at the same counts), temporal order (seeds 0-4, Exp. 6b) and long
# lag (seeds 0-2). LSTM only: a float32 tanh RNN on adding ran 2x slower than in float64 (22.9 s
# against 11.3 s for 74,000 sequences): its vanishing gradients become subnormal numbers.
_F32 = {"dtype": {"lstm": "float32"}}  # model -> dtype; other models: the generic default
TASK_DEFAULTS: dict[str, dict[str, Any]] = {
    "adding": {**_ADDING, **_F32},
    "multiplication": _ADDING,  # the same marked-pair layout (generic defaults: 10% correct)
    "two_sequence": _ADDING,  # one noisy input line, one output at the end, as in adding
    "temporal_order": {**_ORDER, **_F32},
    "temporal_order_3": {**_ORDER, **_F32},  # Exp. 6b under its own name gets the 6a settings
    # lr 1e-3: at 3e-3 the cell states drift into tanh's saturation (see tasks/long_lag.py)
    "long_lag": {**_ORDER, "lr": 1e-3, **_F32},
}


class TaskSource(DataSource):
    """A registry task (:mod:`rnnlab.tasks`) seen through the data interface.

    Args:
        task: a :class:`rnnlab.tasks.Task` instance.

    Examples:
        >>> from rnnlab.tasks import get_task
        >>> src = TaskSource(get_task("adding", length=20))
        >>> b = src.next_batch(4, np.random.default_rng(0))
        >>> b.x.shape[1:], src.loss, src.target   # lengths vary: T is the longest, 20 to 22
        ((4, 2), 'mse', 'last')
    """

    kind = "task"
    concurrent_evaluation = True  # test draws come from their own seeded generators

    def __init__(self, task: Task) -> None:
        if not isinstance(task, Task):
            raise TypeError(f"task: expected an rnnlab Task, got {type(task).__name__}")
        self.task = task

    @classmethod
    def from_name(cls, name: str, **settings: Any) -> TaskSource:
        """The task ``name`` with its settings (unknown settings are a ValueError naming them)."""
        try:
            return cls(get_task(name, **settings))
        except TypeError as exc:  # an unknown keyword for this task
            raise ValueError(f"task_kwargs: {name} does not take these settings ({exc})") from None

    input_size = property(lambda self: self.task.input_size)
    output_size = property(lambda self: self.task.output_size)
    loss = property(lambda self: self.task.loss)
    target = property(lambda self: self.task.target)
    criterion = property(lambda self: self.task.criterion)
    has_criterion = property(lambda self: True)
    # a task's own budget where it gives one (a tight paper count would stop good runs), else the
    # paper's count
    default_budget = property(
        lambda self: getattr(self.task, "budget", None) or self.task.paper_sequences
    )
    default_eval_size = property(lambda self: int(self.task.test_size))

    @property
    def defaults(self) -> dict[str, Any]:
        return dict(TASK_DEFAULTS.get(self.task.name, {}))

    @property
    def title(self) -> str:
        length = getattr(self.task, "length", None)
        return f"{self.task.name} (T={length})" if length is not None else self.task.name

    def next_batch(self, batch: int, rng: np.random.Generator) -> Batch:
        # the trainer's own batch size and generator, checked with its config: the task's
        # argument checks are skipped (as for correct below)
        return self.task._sample(batch, rng, "train")

    def correct(self, outputs: np.ndarray, batch: Batch) -> np.ndarray:
        # the trainer's own model outputs: the task's argument checks are skipped
        return self.task.correct(outputs, batch, check=False)

    def spec(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "name": self.task.name,
            "input_size": self.input_size,
            "output_size": self.output_size,
            "loss": self.loss,
            "target": self.target,
        }

    def evaluate(
        self,
        model: Any,
        *,
        seed: int,
        step: int,
        size: int | None = None,
        screen: int | None = None,
    ) -> Evaluation:
        """The screened evaluation at ``step``.

        A full test set costs as much as many training steps, so a quick check on ``screen``
        fresh sequences comes first, then ``size`` (the trainer's ``eval_size``), and the full
        set is drawn only when the smaller one meets the task's criterion. Only the task's own
        test set (``task.test_size`` sequences) can declare it solved, whatever ``size`` and
        ``screen`` are: a smaller ``size`` only screens. The returned accuracy and loss are those
        of the last set evaluated. ``screen=None`` (the final verdict) evaluates every set whole.
        """
        full = int(self.task.test_size)
        size = size or full
        levels = [] if screen is None or screen >= size else [(screen, eval_rng(seed, step))]
        levels.append((size, eval_rng(seed, step, full=True)))
        if size < full:
            levels.append((full, eval_rng(seed, step, level=3)))
        for n, rng in levels:
            # a set that cannot meet the criterion any more stops early (same verdict); its
            # accuracy and loss are then those of the m sequences evaluated. Without a screen
            # (the final verdict) every set is evaluated whole, so its accuracy is exact.
            acc, loss, ok, m = evaluate_model(
                model, self.task, n, rng, stop_early=screen is not None, counted=True
            )
            if not ok:
                return Evaluation(loss=loss, size=m, solved=False, accuracy=acc)
        return Evaluation(loss=loss, size=n, solved=ok and n >= full, accuracy=acc)


def eval_rng(
    seed: int, step: int, full: bool = False, level: int | None = None
) -> np.random.Generator:
    """The test stream of the evaluation at ``step``: independent of training and of every other
    evaluation (the screen, the ``eval_size`` set and the task's own test set of one step are
    independent of each other too). ``level`` overrides the stream's tag (1 screen, 2 the
    ``eval_size`` set, 3 the task's test set when it is larger)."""
    tag = level if level is not None else (2 if full else 1)
    return np.random.default_rng(np.random.SeedSequence([seed, tag, step]))


def evaluate_model(
    model: Any,
    task: Task,
    size: int,
    rng: int | np.random.Generator,
    chunk: int = 512,
    *,
    stop_early: bool = False,
    counted: bool = False,
) -> tuple[float, float, bool] | tuple[float, float, bool, int]:
    """``(accuracy, loss, solved)`` of ``model`` on ``size`` fresh test sequences from ``rng``.

    ``stop_early``: evaluate the first chunk in growing slices (:func:`_early_bounds`) and
    stop after the first slice that leaves more sequences wrong than the criterion allows. The
    same sequences are drawn and the rest could not change the verdict, but accuracy and loss
    are then those of the sequences evaluated; ``counted`` appends how many that was.
    """
    gen = np.random.default_rng(rng) if not isinstance(rng, np.random.Generator) else rng
    allowed = int(np.floor((1.0 - task.solved_accuracy) * size + 1e-9))  # wrong ones allowed
    correct, loss_sum, n, wrong = [], 0.0, 0, 0
    for start in range(0, size, chunk):
        b = task.sample(min(chunk, size - start), gen, split="test")  # the same draws either way
        bounds = _early_bounds(b.x.shape[1]) if stop_early and start == 0 else [0, b.x.shape[1]]
        for lo, hi in zip(bounds[:-1], bounds[1:]):
            cancellation_point()  # a background evaluation no longer wanted stops here
            s = _slice(b, lo, hi, task.target) if hi - lo < b.x.shape[1] else b
            h, _, _ = model.layer.forward(s.x.astype(model.dtype, copy=False), keep_cache=False)
            value, y = readout_value(
                model.readout, h, s.y, model.loss, **s.loss_kwargs(task.target)
            )
            ok = task.correct(y, s)
            correct.append(ok)
            loss_sum += value * s.x.shape[1]
            n += s.x.shape[1]
            wrong += int(ok.size - np.count_nonzero(ok))
            if stop_early and wrong > allowed:
                break
        if stop_early and wrong > allowed:
            break
    ok = np.concatenate(correct)
    result = (float(ok.mean()), loss_sum / n, bool(task.solved(ok)) and n == size)
    return (*result, n) if counted else result


# The first slice when an evaluation may stop early: a model far from the criterion fails
# within a few dozen sequences; the slices then double (32, 32, 64, 128, ...), so a set that
# does fail costs at most about twice the sequences needed to show it.
EARLY_SLICE = 32


def _early_bounds(n: int) -> list[int]:
    """Slice bounds 0, 32, 64, 128, 256, ... n over a first chunk of ``n`` sequences."""
    bounds = [0]
    while bounds[-1] < n:
        bounds.append(min(n, max(EARLY_SLICE, 2 * bounds[-1])))
    return bounds


def _slice(b: Batch, lo: int, hi: int, target: str) -> Batch:
    """Sequences ``lo:hi`` of a time-major batch (targets ``(B, ...)`` for ``"last"``, else
    ``(T, B, ...)``)."""
    return Batch(
        x=b.x[:, lo:hi],
        y=b.y[lo:hi] if target == "last" else b.y[:, lo:hi],
        mask=None if b.mask is None else b.mask[:, lo:hi],
        last=b.last[lo:hi],
    )
