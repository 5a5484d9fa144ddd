"""The papers' settings: what each experiment trains, the paper's numbers, and the sweep jobs.

Hochreiter & Schmidhuber (1997), "Long Short-Term Memory", Exps. 1-6, and Pascanu, Mikolov &
Bengio (2013), "On the difficulty of training recurrent neural networks", Sec. 4.1 / Fig. 7.

Two set-ups per H&S experiment:

- ``paper``: the paper's LSTM as closely as rnnlab's cells allow: no forget gate (the CEC's
  self-weight fixed at 1), negative input-gate bias where the paper starts its input gates
  negative, plain gradient descent on one sequence at a time (batch 1), no clipping, the paper's
  learning rate, and as many hidden units as the paper has memory cells. What rnnlab cannot copy:
  the paper's cell blocks share their gates (here every unit has its own), its squashing
  functions' ranges, its truncated gradient (here full BPTT), its weight range (here PyTorch's
  U(+-1/sqrt(H))) and, in Exp. 2a, its direct input-to-output weights (see tasks/long_lag.py).
  Where the paper gives a range or we read a value off its text, the comment says so.
- ``tuned``: rnnlab's measured defaults (``rnnlab.data.tasks.TASK_DEFAULTS``): Adam, small
  batches, clipping at 1, forget-gate bias 5, input-gate bias -3.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from .spec import Job

SETUPS = ("paper", "tuned")
_PAPER_LSTM = {"model": "lstm", "forget_gate": False, "optimizer": "sgd", "batch": 1, "clip": None}


@dataclass(frozen=True)
class Setting:
    """One setting a paper reports."""

    key: str  # short name: "4-T100"
    title: str  # "Exp. 4 adding, T=100"
    task: str  # rnnlab task
    task_kwargs: dict[str, Any]  # its settings (length included)
    paper_sequences: int | None  # the paper's LSTM: mean training sequences to success
    paper_note: str  # the paper's result in words where a single count does not say it
    paper_wrong: float | None  # the paper's mean wrong test sequences (of 2,560), if reported
    criterion: str  # the paper's success criterion, in words
    paper: dict[str, Any] = field(default_factory=dict)  # the paper's set-up (TrainConfig fields)
    budget: int = 100_000  # training sequences per run

    def config(self, setup: str, model: str = "lstm") -> dict[str, Any]:
        """TrainConfig fields of this setting under ``setup`` (paper | tuned) for ``model``."""
        if setup not in SETUPS:
            raise ValueError(f"setup: expected one of {', '.join(SETUPS)}, got {setup!r}")
        kw = dict(self.task_kwargs)
        c: dict[str, Any] = {"task": self.task, "model": model, "max_sequences": self.budget}
        c["dtype"] = "float64"  # as the README's tables were measured (not every row in float32)
        if "length" in kw:
            c["length"] = kw.pop("length")
        if kw:
            c["task_kwargs"] = kw
        if setup == "paper":
            if model != "lstm":
                raise ValueError(f"model: the paper set-up is the paper's LSTM, got {model!r}")
            c.update(_PAPER_LSTM, **self.paper)
        return c


_ADD = "absolute error at the end below 0.04 for every test sequence"
HS1997 = (
    Setting(
        "1",
        "Exp. 1 embedded Reber",
        "reber",
        {},
        None,
        "8,440-39,740 by architecture, 97-100% of trials (Table 1)",
        None,
        "ST1: none of 256 test strings misclassified (the most active outputs are the possible "
        "next symbols at every step)",
        {"hidden": 4, "lr": 0.5},
        60_000,  # 4 blocks of 1 cell; lr 0.1-0.5 in the paper
    ),
    Setting(
        "2a",
        "Exp. 2a noise-free long lag, p=100",
        "long_lag",
        {"length": 100},
        5_040,
        "",
        None,
        "final output error below 0.25 on every output unit, for both sequences",
        {"hidden": 4, "lr": 1.0},
        50_400,  # 1 cell plus input-output shortcuts in the paper
    ),
    Setting(
        "3a-100-3",
        "Exp. 3a two-sequence, T=100, N=3",
        "two_sequence",
        {"length": 100, "relevant": 3},
        None,
        "solved in every trial (Table 3)",
        None,
        "absolute error at the end below 0.2 for every test sequence",
        {"hidden": 1, "lr": 1.0},
        100_000,  # one memory cell (our reading)
    ),
    Setting(
        "3a-100-1",
        "Exp. 3a two-sequence, T=100, N=1",
        "two_sequence",
        {"length": 100, "relevant": 1},
        None,
        "solved in every trial (Table 3)",
        None,
        "absolute error at the end below 0.2 for every test sequence",
        {"hidden": 1, "lr": 1.0},
        100_000,
    ),
    Setting(
        "3a-1000-3",
        "Exp. 3a two-sequence, T=1000, N=3",
        "two_sequence",
        {"length": 1000, "relevant": 3},
        None,
        "solved in every trial (Table 3)",
        None,
        "absolute error at the end below 0.2 for every test sequence",
        {"hidden": 1, "lr": 1.0},
        100_000,
    ),
    Setting(
        "4-T100",
        "Exp. 4 adding, T=100",
        "adding",
        {"length": 100},
        74_000,
        "",
        1.0,
        _ADD,
        {"hidden": 4, "lr": 0.5, "input_bias": -3.0},
        150_000,  # 2 blocks of 2; gates -3 and -6
    ),
    Setting(
        "4-T500",
        "Exp. 4 adding, T=500",
        "adding",
        {"length": 500},
        209_000,
        "",
        None,
        _ADD,
        {"hidden": 4, "lr": 0.5, "input_bias": -3.0},
        420_000,
    ),
    Setting(
        "4-T1000",
        "Exp. 4 adding, T=1000",
        "adding",
        {"length": 1000},
        None,
        "solved (Table 7)",
        None,
        _ADD,
        {"hidden": 4, "lr": 0.5, "input_bias": -3.0},
        500_000,
    ),
    Setting(
        "5-T100",
        "Exp. 5 multiplication, T=100",
        "multiplication",
        {"length": 100},
        None,
        "the paper stops at a training error threshold; some test sequences stay wrong (Table 8)",
        None,
        _ADD,
        {"hidden": 4, "lr": 0.1, "input_bias": -3.0},
        300_000,
    ),
    Setting(
        "6a",
        "Exp. 6a temporal order, 2 symbols",
        "temporal_order",
        {"length": 100},
        31_390,
        "",
        None,
        "every output within 0.3 of its target at the end, for every test sequence",
        {"hidden": 4, "lr": 0.5, "input_bias": -2.0},
        100_000,  # 2 blocks of 2 (our reading)
    ),
    Setting(
        "6b",
        "Exp. 6b temporal order, 3 symbols",
        "temporal_order_3",
        {"length": 100},
        571_100,
        "",
        None,
        "every output within 0.3 of its target at the end, for every test sequence",
        {"hidden": 6, "lr": 0.1, "input_bias": -2.0},
        600_000,  # 3 blocks of 2 (our reading)
    ),
)
SETTINGS = {s.key: s for s in HS1997}
QUICK_HS = ("2a", "4-T100", "6a", "6b")  # the lecture's few minutes

# Rows of the H&S table: (label, setup, model)
HS_ROWS = (
    ("LSTM, paper set-up (no forget gate)", "paper", "lstm"),
    ("LSTM, rnnlab defaults", "tuned", "lstm"),
    ("GRU, rnnlab defaults", "tuned", "gru"),
    ("tanh RNN, rnnlab defaults", "tuned", "rnn"),
)


def setup_config(task: str, task_kwargs: dict[str, Any], setup: str) -> dict[str, Any]:
    """The paper / tuned settings of the H&S setting matching ``task`` and ``task_kwargs``
    (without the task itself and the budget); ``{}`` for ``tuned`` (the task's defaults)."""
    if setup not in SETUPS:
        raise ValueError(f"setup: expected one of {', '.join(SETUPS)}, got {setup!r}")
    if setup == "tuned":
        return {}
    for s in HS1997:
        if s.task == task and all(task_kwargs.get(k, v) == v for k, v in s.task_kwargs.items()):
            return {**_PAPER_LSTM, **s.paper}
    known = sorted({s.task for s in HS1997})
    raise ValueError(f"setup: the paper set-up exists for {', '.join(known)}; got task {task!r}")


def hochreiter_jobs(
    seeds: int, keys: tuple[str, ...] | None = None, quick: bool = False
) -> list[Job]:
    """Jobs of ``rnnlab reproduce hochreiter1997``; each job's ``sweep`` is
    ``"hochreiter1997|SETTING|ROW"``."""
    keys = keys or (QUICK_HS if quick else tuple(SETTINGS))
    bad = [k for k in keys if k not in SETTINGS]
    if bad:
        raise ValueError(
            f"tables: unknown setting {bad[0]!r}; expected some of {', '.join(SETTINGS)}"
        )
    jobs = []
    for k in keys:
        s = SETTINGS[k]
        for i, (_label, setup, model) in enumerate(HS_ROWS):
            base = s.config(setup, model)
            if quick:  # a lecture's budget: a minute per run at most
                base.update(time_budget=60.0, max_sequences=min(s.budget, 40_000))
            else:  # the sequence budget decides; an hour caps the slowest (batch-1, T=1000) runs
                base["time_budget"] = 3600.0
            for seed in range(seeds):
                jobs.append(Job({**base, "seed": seed}, sweep=f"hochreiter1997|{k}|{i}"))
    return jobs


# -- Pascanu et al. 2013 ---------------------------------------------------------------------------
# Sec. 4.1 and the authors' script (pascanur/trainingRNNs, RNN.py's defaults): 50 tanh units,
# SGD with learning rate 0.01, mini-batches of 20, clipping threshold 1, Omega's weight
# alpha = 2, W_hh scaled to spectral radius 0.95 (the script's "smart_tanh" start also makes it
# sparse: rnnlab keeps it dense). Success: under 1% of 10,000 fresh test sequences wrong, with
# "wrong" as the script scores it (PASCANU_CRITERIA). Fig. 7 of the ICML 2013 version
# (arXiv:1211.5063v2) plots the success rate against T. The script trains up to 5e6 updates
# (10^8 sequences); our budget is far smaller (see pascanu_jobs).
PASCANU_BASE = {
    "dtype": "float64",  # as the README's tables were measured (the tanh RNN is not measured in
    # float32 on these tasks)
    "model": "rnn",
    "hidden": 50,
    "optimizer": "sgd",
    "lr": 0.01,
    "batch": 20,
    "radius": 0.95,
}
TREATMENTS = (
    ("SGD", {"clip": None}),
    ("SGD-C (clipping)", {"clip": 1.0}),
    ("SGD-CR (clipping + Omega)", {"clip": 1.0, "omega": 2.0}),
)
PASCANU_TASKS = (("temporal_order", "temporal order"), ("adding", "addition"))
# The script's errors: temporal order is a classification (argmax of the softmax); addition is
# wrong when the squared error exceeds 0.04, i.e. |error| >= 0.2 (its target (x1 + x2)/2 has the
# same spread, std 0.20, as the H&S target 0.5 + (X1 + X2)/4 that rnnlab's task uses).
PASCANU_CRITERIA = {"temporal_order": {"argmax": True}, "adding": {"tolerance": 0.2}}
PASCANU_FRESH = 10_000


def pascanu_jobs(seeds: int, quick: bool = False) -> list[Job]:
    """Jobs of ``rnnlab reproduce pascanu2013``; ``sweep`` is ``"pascanu2013|TASK|T|ROW"``."""
    # Measured (one seed, T=50, 500,000 sequences): SGD-CR learns temporal order in about
    # 250,000 sequences (1 minute) where SGD-C is still at chance; so the quick grid is T=50 at
    # that budget, and the full grid gives each run 4x more.
    lengths = (50,) if quick else (50, 100, 150, 200)
    budget = 500_000 if quick else 2_000_000
    jobs = []
    for task, _ in PASCANU_TASKS:
        for T in lengths:
            for i, (_label, extra) in enumerate(TREATMENTS):
                base = {**PASCANU_BASE, **extra, "task": task, "length": T}
                base["task_kwargs"] = dict(PASCANU_CRITERIA[task])
                base.update(max_sequences=budget, time_budget=240.0 if quick else 3600.0)
                for seed in range(seeds):
                    jobs.append(
                        Job(
                            {**base, "seed": seed},
                            sweep=f"pascanu2013|{task}|{T}|{i}",
                            fresh_eval=PASCANU_FRESH,
                        )
                    )
    return jobs
