"""Figures without pyplot: :class:`matplotlib.figure.Figure` objects, saved atomically.

A ``Figure`` made directly belongs to no pyplot state and needs no backend: ``savefig`` renders
the PNG with Agg on its own. So nothing here selects or changes the user's matplotlib backend,
and no figure is left open in a global list.
"""

from __future__ import annotations

import os
from pathlib import Path

from matplotlib import rcParams
from matplotlib.figure import Figure

from .._files import atomic_write_with

DPI = 110
COLORS = rcParams["axes.prop_cycle"].by_key()["color"]


def new_figure(
    figsize: tuple[float, float], margins: tuple[float, float, float, float] | None = None
) -> Figure:
    """A figure of ``figsize`` inches outside pyplot, with constrained layout, or with fixed
    ``margins = (left, right, bottom, top)`` in inches around its subplots.

    Fixed margins are for figures whose labels have a known extent (the training curves: tick
    labels of a few characters): constrained layout measures every tick label of every axis
    before the draw, about half of such a figure's drawing time (``benchmarks/NOTES.md``).
    """
    if margins is None:
        # constrained layout is solved during the one draw savefig does (tight_layout draws
        # twice)
        return Figure(figsize=figsize, layout="constrained")
    w, h = figsize
    left, right, bottom, top = margins
    fig = Figure(figsize=figsize)
    # hspace: the gap between stacked panels, as a fraction of a panel's height
    fig.subplots_adjust(left / w, bottom / h, 1 - right / w, 1 - top / h, hspace=0.08)
    return fig


def save_figure(fig: Figure, path: str | os.PathLike) -> Path:
    """Write ``fig`` as a PNG through a temporary file in the same folder; return the path."""
    path = Path(path)
    atomic_write_with(path, lambda tmp: fig.savefig(tmp, dpi=DPI, format="png"))
    return path
