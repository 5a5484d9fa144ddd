"""Forecasting: real and user series, classical baselines, networks, metrics, ESN benchmarks.

- :mod:`.series`: packaged real series (:func:`load_series`) and CSV files (:func:`read_csv`);
- :mod:`.baselines`: persistence, seasonal naive, least-squares AR(p), statsmodels extras;
- :mod:`.models`: the ESN ensemble and the trained rnn / lstm / gru as forecasters;
- :mod:`.compare`: :func:`run_forecast`, several models on one series, one test part;
- :mod:`.metrics`: RMSE, MAE, NRMSE; :mod:`.report`: the table, ``metrics.json``, the figure;
- :mod:`.benchmarks`: Mackey-Glass (Jaeger 2001), NARMA-10, memory capacity (Jaeger 2002).

Importing this package loads neither matplotlib nor the compiled kernels.
"""

from .benchmarks import BENCHMARKS, narma10, run_benchmark
from .compare import MODELS, ForecastConfig, ForecastResult, run_forecast
from .metrics import errors, mae, nrmse, rmse
from .series import PACKAGED, Series, load_series, read_csv

__all__ = [
    "BENCHMARKS",
    "MODELS",
    "PACKAGED",
    "ForecastConfig",
    "ForecastResult",
    "Series",
    "errors",
    "load_series",
    "mae",
    "narma10",
    "nrmse",
    "read_csv",
    "rmse",
    "run_benchmark",
    "run_forecast",
]
