"""Training-step speed of rnnlab's fast kernels against PyTorch on the same CPU.

A training step is a forward pass over ``x (T, B, I)`` plus full BPTT with gradients for every
parameter and for the input. Both libraries run in the same process with the same number of
threads (``torch.set_num_threads`` and ``threadpoolctl`` for every BLAS NumPy and SciPy loaded),
alternate repeat by repeat so that load from other processes hits both alike, and report the
median of the repeats after warm-up. GFLOP/s counts the GEMM work only: a step does three times
the forward GEMMs (forward; dx and dh; dW_xh and dW_hh), ``6 T B G H (I + H)`` flops with G gate
blocks (RNN 1, GRU 3, LSTM 4). The GEMM rate it is compared with (SGEMM for float32, DGEMM for
float64, 2048 x 2048 matrices, NumPy) is measured beside every point, between its repeats, and
taken as the median like the step times: on a shared machine the rate moves by tens of percent
within minutes, and one rate for the whole table put some points above 100 %.
"""

from __future__ import annotations

import math
import os
import statistics
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ._validate import as_float_dtype, check_positive_int
from .layers import GRU, LSTM, RNN, RecurrentLayer

GATE_BLOCKS = {"rnn": 1, "lstm": 4, "gru": 3}
PROBES = 7  # GEMM-rate probes per point at most (a 2048 x 2048 DGEMM takes ~0.2 s)
FAMILIES = tuple(GATE_BLOCKS)


@dataclass(frozen=True)
class Point:
    """One benchmark shape."""

    cell: str  # "rnn", "lstm" or "gru"
    B: int  # batch size
    H: int  # hidden size
    T: int  # sequence length
    I: int  # input size

    @property
    def gflop(self) -> float:
        """GEMM work of one training step (forward + BPTT), in GFLOP."""
        G = GATE_BLOCKS[self.cell]
        return 6.0 * self.T * self.B * G * self.H * (self.I + self.H) / 1e9


@dataclass
class Result:
    """Timings of one point: medians over the repeats, in milliseconds."""

    point: Point
    rnnlab_ms: float  # median rnnlab training step
    torch_ms: float | None  # median PyTorch training step; None without --against torch
    repeats: int  # timed repeats per library
    gemm_gflops: float | None = None  # median GEMM rate measured between the repeats, GFLOP/s

    @property
    def ratio(self) -> float | None:
        """torch time / rnnlab time: above 1 means rnnlab is faster."""
        return None if self.torch_ms is None else self.torch_ms / self.rnnlab_ms

    @property
    def gflops(self) -> float:
        """rnnlab's GEMM throughput in GFLOP/s."""
        return self.point.gflop / (self.rnnlab_ms / 1e3)


@dataclass
class Report:
    """A whole benchmark run."""

    dtype: str  # "float32" or "float64"
    threads: int  # threads given to every BLAS and to PyTorch
    gemm_gflops: float  # rate of a large matmul (NumPy) in this dtype before the points, GFLOP/s
    blas_limited: bool  # whether threadpoolctl could set the BLAS thread count
    results: list[Result] = field(default_factory=list)

    @property
    def geomean(self) -> float | None:
        """Geometric mean of the speed ratios (None without torch)."""
        ratios = [r.ratio for r in self.results if r.ratio is not None]
        return math.exp(statistics.fmean(map(math.log, ratios))) if ratios else None


def grid(quick: bool = False) -> list[Point]:
    """The benchmark shapes: the issue's grid, or a small subset that runs in seconds."""
    if quick:
        return [
            Point("rnn", 1, 64, 100, 64),
            Point("lstm", 32, 128, 100, 128),
            Point("gru", 32, 64, 100, 64),
            Point("lstm", 1, 64, 200, 64),
            Point("lstm", 32, 256, 50, 256),
        ]
    points = [
        Point(cell, B, H, 100, H) for cell in FAMILIES for B in (1, 32, 128) for H in (64, 256, 512)
    ]
    points.append(Point("lstm", 32, 128, 1000, 2))
    return points


class GemmProbe:
    """Times ``a @ b`` for two ``(n, n)`` matrices of one dtype, as often as asked."""

    def __init__(self, dtype: object = np.float32, n: int = 2048):
        dt = as_float_dtype(dtype)
        rng = np.random.default_rng(0)
        self.n = check_positive_int("n", n)
        self.a = rng.standard_normal((n, n)).astype(dt)  # (n, n)
        self.b = rng.standard_normal((n, n)).astype(dt)  # (n, n)
        self.out = np.empty((n, n), dtype=dt)  # (n, n)
        np.matmul(self.a, self.b, out=self.out)  # warm-up: threads started, pages touched

    def rate(self, repeats: int = 5) -> float:
        """GFLOP/s: the best of ``repeats`` products."""
        best = math.inf
        for _ in range(check_positive_int("repeats", repeats)):
            t0 = time.perf_counter()
            np.matmul(self.a, self.b, out=self.out)
            best = min(best, time.perf_counter() - t0)
        return 2.0 * self.n**3 / best / 1e9


@contextmanager
def thread_limits(threads: int) -> Iterator[bool]:
    """Give every loaded BLAS, Numba's parallel regions on this thread (rnnlab's split kernels,
    ``rnnlab.kernels._split``) and PyTorch, if imported, ``threads`` threads.

    Yields whether the BLAS limit could be set (threadpoolctl installed).
    """
    import sys

    from .kernels._split import step_threads

    with step_threads(threads):
        torch = sys.modules.get("torch")
        old_torch = torch.get_num_threads() if torch is not None else None
        if torch is not None:
            torch.set_num_threads(threads)
        try:
            from threadpoolctl import threadpool_limits
        except ImportError:  # pragma: no cover - threadpoolctl ships with scikit-learn
            limiter = None
        else:
            limiter = threadpool_limits(limits=threads, user_api="blas")
        try:
            yield limiter is not None
        finally:
            if limiter is not None:
                limiter.restore_original_limits()
            if torch is not None:
                torch.set_num_threads(old_torch)


def make_layer(point: Point, dtype: np.dtype) -> RecurrentLayer:
    """The rnnlab layer of a point (fast backend, seed 0)."""
    cls = {"rnn": RNN, "lstm": LSTM, "gru": GRU}[point.cell]
    return cls(point.I, point.H, rng=0, dtype=dtype)


def _rnnlab_step(point: Point, dtype: np.dtype) -> Callable[[], None]:
    layer = make_layer(point, dtype)
    rng = np.random.default_rng(1)
    x = rng.standard_normal((point.T, point.B, point.I)).astype(dtype)  # (T, B, I)
    dy = rng.standard_normal((point.T, point.B, point.H)).astype(dtype)  # (T, B, H)

    def step() -> None:
        y, _, cache = layer.forward(x)
        layer.backward(dy, cache)

    return step


def _torch_step(point: Point, dtype: np.dtype) -> Callable[[], None]:
    import torch

    from .interop import to_torch

    module = to_torch(make_layer(point, dtype))
    rng = np.random.default_rng(1)
    x = torch.from_numpy(rng.standard_normal((point.T, point.B, point.I)).astype(dtype))
    dy = torch.from_numpy(rng.standard_normal((point.T, point.B, point.H)).astype(dtype))
    params = list(module.parameters())

    def step() -> None:
        for p in params:
            p.grad = None
        xr = x.detach().requires_grad_(True)
        y, _ = module(xr)
        y.backward(dy)

    return step


def _time_calls(fn: Callable[[], None], n: int = 1) -> float:
    """Seconds per call of ``n`` consecutive calls of ``fn``."""
    t0 = time.perf_counter()
    for _ in range(n):
        fn()
    return (time.perf_counter() - t0) / n


def measure(
    point: Point,
    dtype: np.dtype,
    against_torch: bool,
    min_repeats: int = 5,
    max_repeats: int = 30,
    budget_s: float = 1.0,
    probe: GemmProbe | None = None,
) -> Result:
    """Median training-step time of rnnlab (and torch), alternating, after one warm-up each.

    With a ``probe``, one GEMM is timed after every round of repeats (after every few rounds
    when there are more than ``PROBES``), and the result keeps the median rate: the same
    statistic over the same minutes as the step times it is compared with.
    """
    steps = {"rnnlab": _rnnlab_step(point, dtype)}
    if against_torch:
        steps["torch"] = _torch_step(point, dtype)
    first = {name: _time_calls(fn) for name, fn in steps.items()}  # warm-up (JIT, allocations)
    per_round = max(sum(first.values()), 1e-6)
    repeats = int(min(max_repeats, max(min_repeats, budget_s / per_round)))
    times: dict[str, list[float]] = {name: [] for name in steps}
    rates: list[float] = []
    probe_every = math.ceil(repeats / PROBES)
    for k in range(repeats):
        for name, fn in steps.items():
            times[name].append(_time_calls(fn))
        if probe is not None and k % probe_every == 0:
            rates.append(probe.rate(1))
    med = {name: statistics.median(ts) * 1e3 for name, ts in times.items()}
    gemm = statistics.median(rates) if rates else None
    return Result(point, med["rnnlab"], med.get("torch"), repeats, gemm)


def run(
    points: list[Point],
    dtype: object = np.float32,
    threads: int | None = None,
    against_torch: bool = True,
    progress: Callable[[Result, float], None] | None = None,
) -> Report:
    """Benchmark every point; ``threads`` defaults to the machine's CPU count.

    ``progress(result, gemm_gflops)`` is called after each point.
    """
    dt = as_float_dtype(dtype)
    threads = check_positive_int("threads", threads if threads is not None else os.cpu_count())
    if against_torch:
        import torch  # noqa: F401  (imported before the limits so that they cover it)
    _rnnlab_step(Point("lstm", 1, 2, 2, 2), dt)()  # compile / load the kernels
    with thread_limits(threads) as limited:
        probe = GemmProbe(dt)
        report = Report(dt.name, threads, probe.rate(), limited)
        for point in points:
            result = measure(point, dt, against_torch, probe=probe)
            report.results.append(result)
            if progress is not None:
                progress(result, report.gemm_gflops)
    return report


def format_row(r: Result, gemm: float) -> str:
    """One table row; "% of GEMM" uses the rate measured beside the point, else ``gemm``."""
    p = r.point
    torch_ms = "-" if r.torch_ms is None else f"{r.torch_ms:.2f}"
    ratio = "-" if r.ratio is None else f"{r.ratio:.2f}"
    rate = r.gemm_gflops if r.gemm_gflops is not None else gemm
    return (
        f"| {p.cell.upper():4} | {p.B:3} | {p.H:3} | {p.I:3} | {p.T:4} | {r.rnnlab_ms:9.2f} "
        f"| {torch_ms:>9} | {ratio:>5} | {r.gflops:7.1f} | {rate:6.0f} "
        f"| {100 * r.gflops / rate:5.1f} |"
    )


def gemm_name(dtype: str) -> str:
    """The GEMM a dtype is compared with: ``"SGEMM"`` (float32) or ``"DGEMM"`` (float64)."""
    return "DGEMM" if dtype == "float64" else "SGEMM"


def header(dtype: str) -> str:
    """The table header; the last column is the share of this dtype's GEMM rate."""
    gemm = gemm_name(dtype)
    return (
        "| cell |   B |   H |   I |    T | rnnlab ms |  torch ms | ratio | GFLOP/s "
        f"| {gemm}  | %{gemm} |\n"
        "|------|----:|----:|----:|-----:|----------:|----------:|------:|--------:|-------:|-------:|"
    )


def format_report(report: Report) -> str:
    """A Markdown table: one row per point, the geometric mean of the ratios last."""
    name = gemm_name(report.dtype)
    rates = [r.gemm_gflops for r in report.results if r.gemm_gflops is not None]
    spread = f", {min(rates):.0f}-{max(rates):.0f} beside the points" if rates else ""
    lines = [
        f"### {report.dtype}, {report.threads} thread(s), "
        f"{name} {report.gemm_gflops:.0f} GFLOP/s at the start{spread}"
        + ("" if report.blas_limited else " (BLAS thread count not set: no threadpoolctl)"),
        "",
        f"The {name} column is the rate measured beside each point (the median of the rates "
        f"measured between its repeats); %{name} is GFLOP/s over that rate.",
        "",
        header(report.dtype),
        *(format_row(r, report.gemm_gflops) for r in report.results),
    ]
    gm = report.geomean
    timed = [r for r in report.results if r.ratio is not None]
    worst = min(timed, key=lambda r: r.ratio, default=None)
    if gm is not None and worst is not None:
        lines += [
            "",
            f"Geometric mean of ratio (torch ms / rnnlab ms): **{gm:.2f}**; worst "
            f"{worst.ratio:.2f} ({worst.point.cell.upper()} B={worst.point.B} H={worst.point.H} "
            f"T={worst.point.T}).",
        ]
    return "\n".join(lines)


def environment_line() -> str:
    """Versions and CPU, for the header of a results file."""
    import platform

    import numba

    parts = [f"numpy {np.__version__}", f"numba {numba.__version__}"]
    try:
        import torch

        parts.append(f"torch {torch.__version__}")
    except ImportError:  # pragma: no cover
        pass
    return f"{platform.processor() or platform.machine()}, {os.cpu_count()} CPUs; " + ", ".join(
        parts
    )


def loadavg() -> str:
    """The 1/5/15-minute load averages (``/proc/loadavg``), or "" where there is none."""
    try:
        with open("/proc/loadavg") as fh:
            return " ".join(fh.read().split()[:3])
    except OSError:  # pragma: no cover - not Linux
        return ""


def write_atomic(path: str | Path, text: str) -> Path:
    """Write ``text`` to ``path`` through a temporary file in the same folder."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=path.name, suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def write_section(path: str | Path, name: str, text: str) -> Path:
    """Put ``text`` into ``path`` between ``<!-- begin NAME -->`` and ``<!-- end NAME -->``,
    replacing that section if the file has one and keeping the rest; atomically."""
    path = Path(path)
    begin, end = f"<!-- begin {name} -->", f"<!-- end {name} -->"
    block = f"{begin}\n{text.rstrip()}\n{end}\n"
    old = path.read_text(encoding="utf-8") if path.exists() else ""
    if begin in old and end in old:
        head, rest = old.split(begin, 1)
        new = head + block + rest.split(end, 1)[1].lstrip("\n")
    else:
        new = old + ("\n" if old and not old.endswith("\n\n") else "") + block
    return write_atomic(path, new)
