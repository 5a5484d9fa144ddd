"""Figures: matplotlib :class:`~matplotlib.figure.Figure` objects written as PNG.

The measures live in :mod:`rnnlab.diagnostics`; this package draws them and writes PNG files.
No pyplot: the user's matplotlib backend is never selected or changed.

- :mod:`.training`: :func:`plot_loss_curve` of a run, :func:`plot_comparison` of several,
  :func:`read_metrics` of a run's ``metrics.csv``.
- :mod:`.diagnostics`: one figure per diagnostic (gradient flow, Jacobian products, ...).

Drawing only: this package imports nothing of rnnlab above the measures (no trainer, no run
folder), so the trainer can draw its loss curve with it. The reports that load runs and write
folders of figures live in :mod:`rnnlab.reports`.
"""

from ._save import new_figure, save_figure
from .diagnostics import (
    plot_contributions,
    plot_deep_mlp,
    plot_gates,
    plot_gradient_flow,
    plot_impulse,
    plot_jacobians,
    plot_spectrum,
    plot_training,
)
from .training import plot_comparison, plot_loss_curve, read_metrics

__all__ = [
    "new_figure",
    "plot_comparison",
    "plot_contributions",
    "plot_deep_mlp",
    "plot_gates",
    "plot_gradient_flow",
    "plot_impulse",
    "plot_jacobians",
    "plot_loss_curve",
    "plot_spectrum",
    "plot_training",
    "read_metrics",
    "save_figure",
]
