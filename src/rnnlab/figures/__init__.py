"""Figures and reports: matplotlib :class:`~matplotlib.figure.Figure` objects written as PNG.

Beside the command line, above the library: the measures live in :mod:`rnnlab.diagnostics`
and the training in :mod:`rnnlab.training`; this package draws them and writes files. No pyplot:
the user's matplotlib backend is never selected or changed.

- :mod:`.training`: :func:`plot_loss_curve` of a run, :func:`plot_comparison` of several,
  :func:`read_metrics` of a run's ``metrics.csv``.
- :mod:`.diagnostics`: one figure per diagnostic (gradient flow, Jacobian products, ...).
- :mod:`.report`: :func:`diagnose` writes the diagnostic figures, ``diagnostics.json`` and
  ``report.md`` for a layer or a run folder.
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
from .report import FIGURES, SECTIONS, diagnose, fresh_layer
from .training import plot_comparison, plot_loss_curve, read_metrics

__all__ = [
    "FIGURES",
    "SECTIONS",
    "diagnose",
    "fresh_layer",
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
