"""Whole-training-step speed against PyTorch, and the trainer's own overhead.

A training step here is what a training loop runs per batch: forward through the recurrent
stack, the readout, the loss, full BPTT, gradient-norm clipping (threshold 1) and one Adam
update. rnnlab's side is :meth:`rnnlab.model.SequenceModel.loss_and_grads`,
:func:`rnnlab.optim.clip_grad_norm` and :class:`rnnlab.optim.Adam`; PyTorch's is the
equivalent idiomatic loop (``nn.LSTM``/``nn.GRU``/``nn.RNN``, ``nn.Linear``, ``mse`` /
``cross_entropy``, ``clip_grad_norm_``, ``torch.optim.Adam``) starting from the same weights.
Both run in one process with the same thread count, alternate repeat by repeat, and report the
median after warm-up (as :mod:`rnnlab.bench` does for one layer).
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from ._validate import as_float_dtype
from .bench import _time_calls, loadavg, thread_limits


@dataclass(frozen=True)
class Workload:
    """One training-step shape: a recurrent stack, a readout and a loss."""

    name: str
    cell: str  # "rnn", "lstm" or "gru"
    B: int  # batch size
    H: int  # hidden size
    T: int  # sequence length
    I: int  # input size (a vocabulary for the char models: one-hot inputs)
    K: int  # outputs (classes for "ce")
    loss: str = "mse"  # "mse" (identity readout) or "ce" (softmax readout)
    target: str = "last"  # "last" (one target per sequence) or "every" (one per step)
    layers: int = 1
    bidirectional: bool = False
    lr: float = 3e-3

    def describe(self) -> str:
        """A short description: cell, depth, sizes."""
        depth = f"{self.layers}x" if self.layers > 1 else ""
        bi = "bi" if self.bidirectional else ""
        sizes = f"B={self.B} H={self.H} T={self.T} I={self.I} K={self.K}"
        return f"{depth}{bi}{self.cell.upper()} {sizes}"


def workloads(quick: bool = False) -> list[Workload]:
    """The seed workloads: the trainer's task settings, char models, min-char-rnn, a stack."""
    out = [
        Workload("adding", "lstm", 8, 64, 100, 2, 1),
        Workload("temporal order", "lstm", 8, 32, 100, 8, 4, loss="ce"),
        Workload("last-step regression", "lstm", 32, 128, 100, 128, 1),
        Workload("char model", "lstm", 32, 256, 50, 65, 65, loss="ce", target="every"),
        Workload("2-layer char model", "lstm", 32, 256, 50, 65, 65, "ce", "every", layers=2),
        Workload("GRU char model", "gru", 32, 256, 50, 65, 65, loss="ce", target="every"),
        Workload("min-char-rnn", "rnn", 1, 100, 25, 65, 65, loss="ce", target="every", lr=1e-1),
        Workload("2-layer bi tagger", "lstm", 32, 128, 50, 32, 10, "ce", "every", 2, True),
        Workload("large char model", "lstm", 64, 512, 100, 96, 96, loss="ce", target="every"),
    ]
    return out[:3] + out[6:7] if quick else out


def make_batch(w: Workload, dtype: np.dtype, seed: int = 1) -> tuple[np.ndarray, np.ndarray]:
    """``x (T, B, I)`` and the targets: ``(B, K)`` (mse, last), ``(B,)`` or ``(T, B)`` indices (ce).

    Char models get one-hot inputs, the others standard normal ones.
    """
    rng = np.random.default_rng(seed)
    if w.loss == "ce" and w.I == w.K:
        x = np.eye(w.I, dtype=dtype)[rng.integers(0, w.I, size=(w.T, w.B))]  # (T, B, I)
    else:
        x = rng.standard_normal((w.T, w.B, w.I)).astype(dtype)  # (T, B, I)
    if w.loss == "mse":
        return x, rng.standard_normal((w.B, w.K)).astype(dtype)
    lead = (w.B,) if w.target == "last" else (w.T, w.B)
    return x, rng.integers(0, w.K, size=lead)


def make_model(w: Workload, dtype: np.dtype):
    """The rnnlab :class:`~rnnlab.model.SequenceModel` of a workload (fast backend)."""
    from .layers import GRU, LSTM, RNN
    from .model import SequenceModel
    from .readout import Readout

    cls = {"rnn": RNN, "lstm": LSTM, "gru": GRU}[w.cell]
    layer = cls(w.I, w.H, num_layers=w.layers, bidirectional=w.bidirectional, rng=0, dtype=dtype)
    act = "softmax" if w.loss == "ce" else "identity"
    readout = Readout(w.H * layer.num_directions, w.K, activation=act, rng=1, dtype=dtype)
    return SequenceModel(layer, readout, loss=w.loss)


def rnnlab_step(w: Workload, dtype: np.dtype) -> Callable[[], None]:
    """One rnnlab training step on a fixed batch (as the trainer runs it)."""
    from .optim import Adam, clip_grad_norm

    model = make_model(w, dtype)
    x, tgt = make_batch(w, dtype)
    kw = {"last": np.full(w.B, w.T - 1)} if w.target == "last" else {}
    opt = Adam(w.lr)
    params = model.params

    def step() -> None:
        _, grads, _, _ = model.loss_and_grads(x, tgt, **kw)
        clip_grad_norm(grads, 1.0)
        opt.step(params, grads)

    return step


def torch_step(w: Workload, dtype: np.dtype) -> Callable[[], None]:
    """The same step written as an idiomatic PyTorch loop, from the same initial weights."""
    import torch
    import torch.nn.functional as F

    from .interop import to_torch

    model = make_model(w, dtype)
    rnn = to_torch(model.layer)
    lin = torch.nn.Linear(model.readout.hidden_size, w.K).to(rnn.weight_hh_l0.dtype)
    with torch.no_grad():
        lin.weight.copy_(torch.from_numpy(model.readout.params["W_hy"]))
        lin.bias.copy_(torch.from_numpy(model.readout.params["b_y"]))
    x_np, tgt_np = make_batch(w, dtype)
    x, tgt = torch.from_numpy(x_np), torch.from_numpy(tgt_np)
    params = [*rnn.parameters(), *lin.parameters()]
    opt = torch.optim.Adam(params, lr=w.lr)

    def step() -> None:
        opt.zero_grad(set_to_none=True)
        out, _ = rnn(x)  # (T, B, D*H)
        if w.target == "last":
            z = lin(out[-1])  # (B, K): only the step that has a target
            if w.loss == "mse":
                loss = 0.5 * ((z - tgt) ** 2).sum() / w.B
            else:
                loss = F.cross_entropy(z, tgt)
        else:
            z = lin(out)  # (T, B, K)
            loss = F.cross_entropy(z.reshape(-1, w.K), tgt.reshape(-1))
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, 1.0)
        opt.step()

    return step


@dataclass
class StepResult:
    """Median step times of one workload, milliseconds."""

    workload: Workload
    rnnlab_ms: float
    torch_ms: float
    repeats: int
    steps_per_block: int = 1  # consecutive steps in one timed block (measure_step)

    @property
    def ratio(self) -> float:
        """torch ms / rnnlab ms: above 1 means rnnlab is faster."""
        return self.torch_ms / self.rnnlab_ms


@dataclass
class StepReport:
    """One table: a dtype and a thread count."""

    dtype: str
    threads: int
    results: list[StepResult] = field(default_factory=list)
    loadavg: str = ""

    @property
    def geomean(self) -> float:
        """Geometric mean of the ratios."""
        return math.exp(statistics.fmean(math.log(r.ratio) for r in self.results))


BLOCK_S = 0.02  # the faster side's timed block of consecutive steps lasts at least this (s)


def measure_step(
    w: Workload,
    dtype: np.dtype,
    min_repeats: int = 7,
    max_repeats: int = 15,
    budget_s: float = 3.0,
    block_s: float = BLOCK_S,
) -> StepResult:
    """Interleaved medians of both steps after two warm-up steps each.

    A repeat times a block of consecutive steps of each side in turn, as a training loop runs
    them: one step alone, right after the other library's, runs on caches the other one
    filled (a small step then took up to 1.7x its time in a loop, on both sides). A block
    has enough steps for the faster side's to last ``block_s`` (one step for the large
    workloads); the median is of the blocks' times per step.
    """
    steps = {"rnnlab": rnnlab_step(w, dtype), "torch": torch_step(w, dtype)}
    for fn in steps.values():
        fn()
    first = {name: _time_calls(fn) for name, fn in steps.items()}
    per_block = max(1, math.ceil(block_s / max(min(first.values()), 1e-9)))
    per_repeat = per_block * sum(first.values())
    repeats = int(min(max_repeats, max(min_repeats, budget_s / max(per_repeat, 1e-6))))
    times: dict[str, list[float]] = {name: [] for name in steps}
    for _ in range(repeats):
        for name, fn in steps.items():
            times[name].append(_time_calls(fn, per_block))
    med = {name: statistics.median(ts) * 1e3 for name, ts in times.items()}
    return StepResult(w, med["rnnlab"], med["torch"], repeats, per_block)


def run_steps(
    ws: list[Workload],
    dtype: object,
    threads: int,
    progress: Callable[[StepResult], None] | None = None,
) -> StepReport:
    """Measure every workload at ``threads`` threads (BLAS and PyTorch)."""
    import torch  # noqa: F401  (imported before the limits so that they cover it)

    dt = as_float_dtype(dtype)
    rnnlab_step(Workload("warm-up", "lstm", 1, 2, 2, 2, 1), dt)()  # load the kernels
    report = StepReport(dt.name, threads, loadavg=loadavg())
    with thread_limits(threads):
        for w in ws:
            r = measure_step(w, dt)
            report.results.append(r)
            if progress is not None:
                progress(r)
    report.loadavg += f" -> {loadavg()}"
    return report


STEP_HEADER = (
    "| workload | shape | loss | steps per block | rnnlab ms | torch ms | torch/rnnlab |\n"
    "|---|---|---|---:|---:|---:|---:|"
)


def format_step_row(r: StepResult) -> str:
    """One row of the step table."""
    w = r.workload
    loss = f"{w.loss} ({w.target})"
    return (
        f"| {w.name} | {w.describe()} | {loss} | {r.steps_per_block} "
        f"| {r.rnnlab_ms:.2f} | {r.torch_ms:.2f} | {r.ratio:.2f} |"
    )


def format_step_report(report: StepReport) -> str:
    """A Markdown table with the geometric mean and the worst workload."""
    worst = min(report.results, key=lambda r: r.ratio)
    return "\n".join(
        [
            f"### Training step, {report.dtype}, {report.threads} thread(s) "
            f"(load average {report.loadavg})",
            "",
            STEP_HEADER,
            *(format_step_row(r) for r in report.results),
            "",
            f"Geometric mean of torch ms / rnnlab ms: **{report.geomean:.2f}**; worst "
            f"{worst.ratio:.2f} ({worst.workload.name}).",
        ]
    )


def run_cli(
    cmd: str,
    dtypes: tuple[str, ...],
    threads: tuple[int, ...],
    quick: bool,
    trainer: bool,
    echo: Callable[[str], None] = print,
) -> list[str]:
    """``rnnlab bench --workload train``: every step table, then the trainer's overhead."""
    from .bench import environment_line
    from .bench_trainer import (
        COMMAND_HEADER,
        TRAINER_HEADER,
        command_runs,
        format_command_row,
        format_trainer_row,
        time_command,
        time_trainer,
    )

    sections = [
        "# rnnlab bench --workload train",
        "",
        f"`{cmd}`; {environment_line()}. One training step = forward, readout, loss, full BPTT, "
        "gradient-norm clipping (threshold 1) and one Adam update, on a fixed batch; PyTorch "
        "runs the same step as an idiomatic loop (`nn.LSTM`/`nn.GRU`/`nn.RNN`, `nn.Linear`, "
        "`clip_grad_norm_`, `torch.optim.Adam`) from the same weights. Both in one process, "
        "same thread count, interleaved block by block (a block: consecutive steps of one "
        f"side, as a training loop runs them, at least {BLOCK_S * 1e3:.0f} ms of the faster "
        "side's); medians of 7-15 blocks after warm-up, per step. The load average of the "
        "machine (shared, 2 cores) before and after each table is in its title.",
    ]
    ws = workloads(quick)
    for n in threads:
        for name in dtypes:
            echo(f"{name}, {n} thread(s), load average {loadavg()}:")
            echo(STEP_HEADER)
            report = run_steps(ws, name, n, progress=lambda r: echo(format_step_row(r)))
            text = format_step_report(report)
            echo(f"{text.splitlines()[-1]} (load average {report.loadavg})")
            sections += ["", text]
    if trainer:
        rows, commands = [], []
        echo(TRAINER_HEADER)
        for name in dtypes:
            for background, folder in ((False, False), (True, False), (True, True)):
                t = time_trainer(
                    name,
                    seed=0,
                    steps=200 if quick else None,
                    background=background,
                    run_folder=folder,
                )
                rows.append(t)
                echo(format_trainer_row(t))
        echo(COMMAND_HEADER)
        for what, args in command_runs(dtypes, quick):
            commands.append(time_command(args, what))
            echo(format_command_row(commands[-1]))
        loads = "; ".join(t.loadavg for t in rows)
        sections += [
            "",
            "### `rnnlab train --task adding --model lstm --length 100`, seed 0 "
            f"(load average {loads})",
            "",
            "The trainer's defaults (one BLAS thread, evaluation every 50 steps: a screen of 256 "
            "fresh sequences, then the full 2,560 when the screen is all correct), with the "
            "evaluations in line and on a second thread (the default with two or more cores; the "
            "same verdicts); the last row of each dtype also writes the run folder as "
            "`rnnlab train --out` does (a checkpoint and `metrics.csv` at every evaluation, "
            "`loss-curve.png` at the end) and runs its progress bar (into the null device). "
            '"outside steps" is the share of the wall time not spent in the training steps '
            "(evaluation on the training thread, drawing batches, metric rows, checkpoints, the "
            'figure, steps trained past the solving evaluation); "figure aside" leaves out '
            "the one figure drawn at the end (matplotlib's import included), a cost per run.",
            "",
            TRAINER_HEADER,
            *(format_trainer_row(t) for t in rows),
            "",
            "Whole commands, `rnnlab train ... --out DIR` in a fresh process (the interpreter's "
            "start, the imports, Numba's first load of the compiled kernels, reading the data, "
            "the run with its run folder and progress bar, the loss curve, the exit), against "
            "the kept training steps timed inside that process: the adding problem above, the "
            "temporal-order problem (both to solved: a few seconds), and a 2-layer character "
            "model on this Python's standard library (`--text stdlib`, its defaults) for a run "
            "of a realistic length:",
            "",
            COMMAND_HEADER,
            *(format_command_row(c) for c in commands),
        ]
    return sections
