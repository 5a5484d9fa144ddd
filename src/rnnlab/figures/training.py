"""Figures of training runs: the loss curve of one run and the comparison of several.

Both read a run's ``metrics.csv`` (:func:`read_metrics`) and write a PNG atomically.
"""

from __future__ import annotations

import csv
import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from ._save import new_figure, save_figure

# Fixed margins (inches: left, right, bottom, top) for the stacked training panels: their tick
# labels are a few characters ("0.0001", "1e-05", "100"), so the left margin fits the longest
# with the y label, and drawing skips constrained layout's measuring pass (figures/_save.py).
_MARGINS = (0.85, 0.12, 0.5, 0.12)
_TITLE = 0.2  # more at the top for a title


def _margins(title: str) -> tuple[float, float, float, float]:
    left, right, bottom, top = _MARGINS
    return left, right, bottom, top + (_TITLE if title else 0.0)


_COLUMNS = ("step", "sequences", "loss", "grad_norm", "accuracy", "seconds", "test_accuracy")


def read_metrics(path: str | os.PathLike) -> dict[str, np.ndarray]:
    """Read a run's ``metrics.csv`` into float columns.

    Returns ``{column: (N,) float64}`` for the N rows; empty cells become NaN.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"metrics: no such file {str(path)!r}")
    with path.open(newline="") as fh:
        rows = list(csv.DictReader(fh))
    cols: dict[str, np.ndarray] = {}
    names = rows[0].keys() if rows else _COLUMNS
    for name in names:
        cols[name] = np.array(
            [float(r[name]) if r[name] not in ("", None) else np.nan for r in rows]
        )
    return cols


def _positive(a: np.ndarray) -> np.ndarray:
    """Values for a log axis: non-positive entries become NaN (not drawn)."""
    return np.where(a > 0, a, np.nan)


def _smooth(a: np.ndarray, n: int) -> np.ndarray:
    """Running mean over ``n`` points (NaN-aware), same length as ``a``."""
    if n <= 1 or a.size < n:
        return a
    ok = np.isfinite(a)
    csum = np.cumsum(np.where(ok, a, 0.0))
    ccnt = np.cumsum(ok)
    num = csum - np.concatenate([np.zeros(n), csum[:-n]])
    cnt = ccnt - np.concatenate([np.zeros(n), ccnt[:-n]])
    return np.where(cnt > 0, num / np.maximum(cnt, 1), np.nan)


def _curve_axes(axes, m: dict[str, np.ndarray], label: str | None, color: str | None) -> None:
    """Raw per-step values faintly, a running mean over ~1/50 of the run on top."""
    ax_loss, ax_acc, ax_norm = axes
    seq = m["sequences"]
    n = max(1, seq.size // 50)
    raw = 0.25 if n > 1 else 0.9
    for ax, key, scale in ((ax_loss, "loss", 1.0), (ax_norm, "grad_norm", 1.0)):
        v = _positive(m[key]) * scale
        few = seq.size < 3  # a run that diverged at once: show its points, a line needs two
        ax.plot(seq, v, lw=0.5, color=color, alpha=raw, marker="o" if few else None, ms=4)
        if n > 1:
            ax.plot(seq, _smooth(v, n), lw=1.2, color=color, label=label if ax is ax_loss else None)
        elif ax is ax_loss:
            ax.lines[-1].set_label(label)
    ax_acc.plot(seq, 100 * _smooth(m["accuracy"], n), lw=0.8, color=color, alpha=0.35)
    test = m.get("test_accuracy")
    if test is not None and np.isfinite(test).any():
        ok = np.isfinite(test)
        ax_acc.plot(seq[ok], 100 * test[ok], "o-", ms=3, lw=1.2, color=color)


def _log_scale(ax) -> None:
    """A log y-axis where the axis holds positive data (a run that diverged at once, or whose
    every value is NaN, keeps a linear axis instead of failing to draw)."""
    ys = [np.asarray(line.get_ydata(), dtype=float) for line in ax.lines]
    if any(np.any(np.isfinite(y) & (y > 0)) for y in ys):
        from matplotlib.ticker import LogFormatter, LogLocator

        ax.set_yscale("log")
        pos = np.concatenate([y[np.isfinite(y) & (y > 0)] for y in ys])
        if np.log10(pos.max() / pos.min()) > 2:
            # over more than two decades, minor ticks at 2 and 5 only: the eight of each decade
            # are clutter there, and each is an object to lay out (a fifth of the drawing time)
            ax.yaxis.set_minor_locator(LogLocator(subs=(2.0, 5.0)))

        # plain numbers (3, 0.4), not 3x10^0; minor ticks labelled only where a decade or less
        # is shown, as matplotlib's own log formatter decides
        class Plain(LogFormatter):
            def _num_to_string(self, x, vmin, vmax):  # 0.4, not 4e-01
                return f"{x:g}"

        ax.yaxis.set_major_formatter(Plain())
        ax.yaxis.set_minor_formatter(Plain(labelOnlyBase=False, minor_thresholds=(1, 0.4)))


def _finish_axes(axes, clip: float | None = None) -> None:
    ax_loss, ax_acc, ax_norm = axes
    _log_scale(ax_loss)
    ax_loss.set_ylabel("training loss (log)")
    ax_acc.set_ylabel("correct sequences (%)")
    ax_acc.set_ylim(-3, 103)
    _log_scale(ax_norm)
    ax_norm.set_ylabel("‖∇L‖ before clipping (log)")
    if clip is not None:
        ax_norm.axhline(clip, color="0.4", ls="--", lw=0.8, label=f"clip threshold {clip:g}")
        ax_norm.legend(loc="upper right", fontsize=8)
    ax_norm.set_xlabel("training sequences seen")
    for ax in axes:
        ax.grid(True, which="major", alpha=0.3)


def metrics_columns(rows: Sequence[dict]) -> dict[str, np.ndarray]:
    """Metric rows (dicts, ``None`` for empty cells) as float columns, like :func:`read_metrics`."""
    names = rows[0].keys() if rows else _COLUMNS
    return {
        n: np.array([np.nan if r.get(n) is None else float(r[n]) for r in rows], dtype=float)
        for n in names
    }


def plot_loss_curve(
    metrics_path: str | os.PathLike | dict[str, np.ndarray],
    out_path: str | os.PathLike,
    title: str = "",
    clip: float | None = None,
) -> Path:
    """Loss (log), accuracy and gradient norm (log) against sequences seen, one panel each.

    The accuracy panel shows the training batches (faint) and the test evaluations (dots); a run
    on data with no per-sequence "correct" (a regression) has no accuracy panel, and its
    held-out loss is drawn as dots on the loss panel instead.
    ``metrics_path`` is a run's ``metrics.csv`` or its columns (:func:`metrics_columns`).
    """
    m = metrics_path if isinstance(metrics_path, dict) else read_metrics(metrics_path)
    nan = np.full(m["sequences"].shape, np.nan)
    has_acc = any(np.isfinite(m.get(k, nan)).any() for k in ("accuracy", "test_accuracy"))
    if has_acc:
        fig = new_figure((7, 7.5), _margins(title))
        axes = fig.subplots(3, 1, sharex=True)
        _curve_axes(axes, m, None, "C0")
        axes[1].plot([], [], "o-", ms=3, color="C0", label="fresh test sequences")
        axes[1].plot([], [], lw=0.6, color="C0", alpha=0.35, label="training batches")
        axes[1].legend(loc="center right", fontsize=8)
        _finish_axes(axes, clip)
    else:
        fig = new_figure((7, 5.5), _margins(title))
        ax_loss, ax_norm = fig.subplots(2, 1, sharex=True)
        scratch = fig.add_axes((0, 0, 0, 0), visible=False)  # the accuracy panel it does not draw
        _curve_axes((ax_loss, scratch, ax_norm), m, "training batches", "C0")
        test = m.get("test_loss", nan)
        ok = np.isfinite(test)
        ax_loss.plot(
            m["sequences"][ok], _positive(test[ok]), "o", ms=3, color="C1", label="held-out data"
        )
        ax_loss.legend(loc="upper right", fontsize=8)
        _finish_axes((ax_loss, scratch, ax_norm), clip)
        ax_loss.set_ylabel("loss (log)")
        axes = (ax_loss, ax_norm)
    if title:
        axes[0].set_title(title, fontsize=10)
    return save_figure(fig, out_path)


def plot_comparison(
    runs: Sequence[tuple[str, str | os.PathLike]],
    out_path: str | os.PathLike,
    title: str = "",
    reference: tuple[str, float] | None = None,
) -> Path:
    """Overlay several runs' curves: ``runs`` is ``[(label, metrics.csv path), ...]``.

    ``reference = (label, sequences)`` draws a vertical line, e.g. the paper's sequence count.
    """
    fig = new_figure((7.5, 8), _margins(title))
    axes = fig.subplots(3, 1, sharex=True)
    for i, (label, path) in enumerate(runs):
        _curve_axes(axes, read_metrics(path), label, f"C{i}")
    _finish_axes(axes)
    if reference is not None:
        for ax in axes:
            ax.axvline(reference[1], color="k", ls=":", lw=1)
        axes[0].plot([], [], "k:", lw=1, label=reference[0])
    axes[0].legend(loc="upper right", fontsize=8)
    if title:
        axes[0].set_title(title, fontsize=10)
    return save_figure(fig, out_path)
