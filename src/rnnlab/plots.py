"""Old home of the training figures, kept so that ``rnnlab.plots`` imports keep working.

The figures live in :mod:`rnnlab.figures.training` (loss curve, comparison, ``read_metrics``)
and :mod:`rnnlab.figures._save` (``save_figure``).
"""

from .figures._save import save_figure
from .figures.training import plot_comparison, plot_loss_curve, read_metrics

__all__ = ["plot_comparison", "plot_loss_curve", "read_metrics", "save_figure"]
