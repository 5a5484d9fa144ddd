"""The forecast figure: history, truth over the test part, each model's forecast, the horizon."""

from __future__ import annotations

import numpy as np
from matplotlib.figure import Figure

from ._save import COLORS, new_figure

__all__ = ["plot_forecast"]


def plot_forecast(
    time: np.ndarray,
    values: np.ndarray,
    split: int,
    forecasts: dict[str, np.ndarray],
    *,
    horizon: int,
    title: str,
    unit: str,
    time_unit: str,
    history: int | None = None,
) -> Figure:
    """Draw the series, the test part and every forecast.

    Parameters
    ----------
    time, values : (T,)
        The time axis and the series (training part, then test part).
    split : int
        Index of the first test value.
    forecasts : {model: (T - split,)}
        Forecasts of the test part.
    horizon : int
        Steps each forecast ran freely; the first forecast block is shaded.
    title, unit, time_unit : str
        Title and axis labels.
    history : int, optional
        Training values shown before the test part (default: up to three times the test part).
    """
    n_test = values.size - split
    show = history if history is not None else min(split, max(3 * n_test, 30))
    lo = split - show
    fig = new_figure((9.0, 4.6))
    ax = fig.add_subplot()
    ax.plot(time[lo:split], values[lo:split], color="0.35", lw=1.4, label="history (training)")
    ax.plot(time[split - 1 :], values[split - 1 :], color="black", lw=1.8, label="truth (test)")
    styles = ("-", "--", "-.", ":")
    for k, (name, pred) in enumerate(forecasts.items()):
        ax.plot(time[split:], pred, color=COLORS[k % len(COLORS)], lw=1.3,
                ls=styles[k % len(styles)], label=name)  # fmt: skip
    # the first forecast block: from its origin (the last value seen) to its last step
    end = min(split + horizon, values.size) - 1
    what = "one step ahead" if horizon == 1 else f"{horizon} steps, free-running"
    ax.axvspan(time[split - 1], time[end], color="0.8", alpha=0.6,
               label=f"horizon of a forecast: {what}")  # fmt: skip
    ax.axvline(time[split - 1], color="0.4", lw=0.8, ls=":")
    ax.set_xlabel(f"time ({time_unit})")
    ax.set_ylabel(unit)
    ax.set_title(title)
    ax.grid(alpha=0.3)
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=8, frameon=False)
    return fig
