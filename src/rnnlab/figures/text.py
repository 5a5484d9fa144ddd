"""Figures of a character model's cells: a passage coloured by one cell, gate saturation per
layer (Karpathy, Johnson & Fei-Fei 2015, Fig. 3), and the cells that track text features."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from matplotlib.figure import Figure

from ._save import COLORS, new_figure


def plot_cell_text(
    passage: str, values: np.ndarray, title: str, *, cols: int = 80, max_chars: int = 960
) -> Figure:
    """The first ``max_chars`` characters of ``passage`` on a grid of ``cols`` columns (a
    newline ends a row), each cell's background coloured by ``values (P,)`` in [-1, 1]
    (blue negative, red positive)."""
    text = passage[:max_chars]
    rows, r, c = [], 0, 0
    for ch in text:
        rows.append((r, c))
        c += 1
        if ch == "\n" or c >= cols:
            r, c = r + 1, 0
    n_rows = max(r + 1, 1)
    grid = np.full((n_rows, cols), np.nan)
    for (i, j), v in zip(rows, values[: len(text)]):
        grid[i, j] = v
    fig = new_figure((cols * 0.11 + 0.6, n_rows * 0.2 + 0.8))
    ax = fig.add_subplot()
    ax.imshow(grid, cmap="coolwarm", vmin=-1, vmax=1, aspect="auto", interpolation="nearest")
    for (i, j), ch in zip(rows, text):
        shown = "⏎" if ch == "\n" else ("·" if ch == " " else ch)
        ax.text(j, i, shown, ha="center", va="center", fontsize=6.5, family="monospace")
    ax.set_xticks([])
    ax.set_yticks([])
    ax.set_title(title, fontsize=9)
    return fig


def plot_saturation(saturation: dict[str, np.ndarray], title: str = "") -> Figure:
    """One panel per sigmoid gate: each unit's fraction of time left-saturated (< 0.1, x) and
    right-saturated (> 0.9, y), coloured by layer. ``saturation``: gate -> ``(L, H, 2)``."""
    gates = [g for g in ("f", "i", "o") if g in saturation]
    names = {"f": "forget gate", "i": "input gate", "o": "output gate"}
    fig = new_figure((3.3 * len(gates), 3.5))
    axes = fig.subplots(1, len(gates), squeeze=False)[0]
    for ax, g in zip(axes, gates):
        s = saturation[g]
        for k in range(s.shape[0]):
            ax.scatter(
                s[k, :, 0],
                s[k, :, 1],
                s=8,
                alpha=0.6,
                color=COLORS[k % len(COLORS)],
                label=f"layer {k + 1}",
            )
        ax.plot([0, 1], [1, 0], color="0.7", lw=0.8)
        ax.set_xlim(-0.02, 1.02)
        ax.set_ylim(-0.02, 1.02)
        ax.set_aspect("equal")
        ax.set_title(names[g], fontsize=10)
        ax.set_xlabel("fraction left-saturated (< 0.1)")
        ax.set_ylabel("fraction right-saturated (> 0.9)")
    axes[0].legend(fontsize=8, loc="upper right")
    if title:
        fig.suptitle(title, fontsize=10)
    return fig


def plot_feature_cells(best: Sequence[dict[str, Any]], title: str = "") -> Figure:
    """The most telling cells: Pearson r of each with the text feature it tracks best."""
    best = list(best)
    fig = new_figure((6.5, 0.25 * max(len(best), 1) + 1.0))
    ax = fig.add_subplot()
    y = np.arange(len(best))
    r = np.array([b["r"] for b in best])
    ax.barh(y, r, color=[COLORS[0] if v >= 0 else COLORS[3] for v in r])
    ax.set_yticks(
        y, [f"L{b['layer'] + 1} #{b['cell']} {b['kind']}: {b['feature']}" for b in best], fontsize=7
    )
    ax.invert_yaxis()
    ax.axvline(0, color="0.5", lw=0.8)
    ax.set_xlim(-1, 1)
    ax.set_xlabel("Pearson r with the feature")
    ax.set_title(title or "cells that track simple features of the text", fontsize=10)
    return fig
