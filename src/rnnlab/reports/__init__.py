"""Reports: folders of figures and text about a layer or a trained run, beside the command line.

- :mod:`.diagnose`: :func:`diagnose` writes the diagnostic figures, ``diagnostics.json`` and
  ``report.md`` for a fresh layer or a run folder.
"""

from .diagnose import FIGURES, SECTIONS, diagnose, fresh_layer

__all__ = ["FIGURES", "SECTIONS", "diagnose", "fresh_layer"]
