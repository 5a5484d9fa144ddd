"""Several forecasters on one series, side by side, on a contiguous test part at the end.

The test part is cut into consecutive blocks of ``horizon`` steps; each block is forecast from
everything observed before it, running freely inside the block (``horizon = 1``: one-step
forecasts; ``horizon`` = the test length: one free run from the end of training).

Learned models (``ar``, ``esn``, ``rnn``, ``lstm``, ``gru``) see the series after an optional
log, an optional difference at lag ``difference`` and standardisation with the training part's
mean and standard deviation; their forecasts are mapped back before scoring. ``persistence``
and ``seasonal-naive`` work on the raw series; ``arima`` and ``holt-winters`` (statsmodels,
where installed) on the raw or logged series.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field, replace

import numpy as np

from .._validate import check_positive_int
from . import baselines as bl
from .metrics import errors
from .models import ESNForecaster, NetworkForecaster
from .series import Series

__all__ = ["MODELS", "ForecastConfig", "ForecastResult", "run_forecast", "split_point"]

MODELS = ("persistence", "seasonal-naive", "ar", "esn", "rnn", "lstm", "gru", "arima",
          "holt-winters")  # fmt: skip
LEARNED = ("ar", "esn", "rnn", "lstm", "gru")


@dataclass
class ForecastConfig:
    """What to compare and how."""

    models: tuple[str, ...] = ("persistence", "ar", "esn")  # forecasters, see MODELS
    horizon: int = 1  # steps each forecast runs freely; 1: one-step forecasts
    test_fraction: float | None = 0.2  # share of the series at the end held out for testing
    test_start: str | None = None  # or: the time label of the first test value (wins)
    test_end: str | None = None  # time label of the last test value (None: the series' end)
    period: int | None = None  # season length for seasonal-naive / holt-winters / differencing
    order: int = 9  # AR order p
    log: bool = False  # model the log of the series (learned models, arima, holt-winters)
    difference: int = 0  # difference at this lag before the learned models (0: none)
    lags: int = 9  # inputs of the networks: the last `lags` values
    units: int = 100  # ESN reservoir size
    spectral_radius: float = 0.9  # ESN
    leak_rate: float = 1.0  # ESN
    input_scaling: float = 0.5  # ESN
    bias_scaling: float = 0.1  # ESN
    connectivity: float = 0.1  # ESN
    washout: int = 20  # ESN steps discarded before the readout is fitted
    ridge: float | None = None  # ESN readout ridge; None: chosen on a validation split
    ensemble: int = 10  # ESN reservoirs averaged
    hidden: int = 32  # rnn / lstm / gru hidden units
    context: int = 24  # rnn / lstm / gru training window length
    lr: float = 3e-3  # rnn / lstm / gru learning rate
    batch: int = 16  # rnn / lstm / gru batch size
    steps: int = 2000  # rnn / lstm / gru updates at most
    time_budget: float = 60.0  # rnn / lstm / gru seconds of training at most
    arima_order: tuple[int, int, int] = (0, 1, 1)  # statsmodels ARIMA (p, d, q)
    seasonal_order: tuple[int, int, int, int] = (0, 0, 0, 0)  # statsmodels (P, D, Q, s)
    seed: int = 0  # every random choice (reservoirs, network initialisation, batches)


@dataclass
class ForecastResult:
    """Forecasts and errors of every model."""

    series: Series
    split: int  # index of the first test value
    horizon: int
    forecasts: dict[str, np.ndarray]  # model -> (n_test,) in the series' units
    metrics: dict[str, dict[str, float]]  # model -> {"rmse", "mae", "nrmse", "seconds"}
    config: dict = field(default_factory=dict)


def split_point(series: Series, test_fraction: float | None, test_start: str | None) -> int:
    """Index of the first test value."""
    n = series.values.size
    if test_start is not None:
        if test_start in series.labels:
            return series.labels.index(test_start)
        try:
            return int(np.searchsorted(series.time, float(test_start)))
        except ValueError:
            raise ValueError(f"test_start: no time label {test_start!r} in the series") from None
    if test_fraction is None or not 0 < test_fraction < 1:
        raise ValueError(f"test_fraction: expected a number in (0, 1), got {test_fraction}")
    return n - max(1, int(round(test_fraction * n)))


class _Transform:
    """log -> difference at lag D -> standardise (fitted on the training part)."""

    def __init__(self, log: bool, lag: int) -> None:
        self.log, self.lag = log, lag

    def level(self, v: np.ndarray) -> np.ndarray:
        return np.log(v) if self.log else v

    def fit(self, train: np.ndarray) -> _Transform:
        d = self._diff(self.level(train))
        self.mean, self.std = float(d.mean()), float(d.std())
        if not self.std > 0:
            raise ValueError("series: the training part (after the transform) is constant")
        return self

    def _diff(self, v: np.ndarray) -> np.ndarray:
        return v[self.lag :] - v[: -self.lag] if self.lag else v

    def forward(self, v: np.ndarray) -> np.ndarray:
        return (self._diff(self.level(v)) - self.mean) / self.std

    def inverse(self, z: np.ndarray, history: np.ndarray) -> np.ndarray:
        d = z * self.std + self.mean
        lv = self.level(history)
        if self.lag:
            out = np.empty(d.size)
            for k in range(d.size):  # undo the difference with observed, then forecast, values
                out[k] = d[k] + (lv[lv.size - self.lag + k] if k < self.lag else out[k - self.lag])
            d = out
        return np.exp(d) if self.log else d


def _make(name: str, cfg: ForecastConfig):
    if name == "persistence":
        return bl.Persistence()
    if name in ("seasonal-naive", "holt-winters"):
        if cfg.period is None:
            raise ValueError(f"period: {name} needs --period P (the season length)")
        return (
            bl.SeasonalNaive(cfg.period) if name == "seasonal-naive" else bl.HoltWinters(cfg.period)
        )
    if name == "ar":
        return bl.AutoRegressive(cfg.order)
    if name == "arima":
        return bl.StatsmodelsARIMA(cfg.arima_order, cfg.seasonal_order)
    if name == "esn":
        return ESNForecaster(lags=cfg.lags, units=cfg.units, spectral_radius=cfg.spectral_radius,
                             leak_rate=cfg.leak_rate, input_scaling=cfg.input_scaling,
                             bias_scaling=cfg.bias_scaling, connectivity=cfg.connectivity,
                             washout=cfg.washout, ridge=cfg.ridge, ensemble=cfg.ensemble,
                             rng=cfg.seed)  # fmt: skip
    return NetworkForecaster(name, lags=cfg.lags, context=cfg.context, hidden=cfg.hidden,
                             lr=cfg.lr, batch=cfg.batch, steps=cfg.steps,
                             time_budget=cfg.time_budget, rng=cfg.seed)  # fmt: skip


def truncate(series: Series, test_end: str | None) -> Series:
    """The series up to and including the time label ``test_end``."""
    if test_end is None:
        return series
    if test_end in series.labels:
        stop = series.labels.index(test_end) + 1
    else:
        try:
            stop = int(np.searchsorted(series.time, float(test_end), side="right"))
        except ValueError:
            raise ValueError(f"test_end: no time label {test_end!r} in the series") from None
    return replace(series, values=series.values[:stop], time=series.time[:stop],
                   labels=series.labels[:stop])  # fmt: skip


def validate(series: Series, cfg: ForecastConfig) -> int:
    """Check the config against the (truncated) series before anything runs; return the split."""
    bad = [m for m in cfg.models if m not in MODELS]
    if bad or not cfg.models:
        raise ValueError(f"models: expected some of {', '.join(MODELS)}; got {', '.join(bad)}")
    v = series.values
    if np.ptp(v) == 0:
        raise ValueError(
            f"series: {series.name} is constant ({v[0]:g}); its NRMSE is undefined (zero variance)"
        )
    horizon = check_positive_int("horizon", cfg.horizon)
    for name in ("order", "lags", "units", "ensemble", "hidden", "context", "steps", "batch"):
        check_positive_int(name, getattr(cfg, name))
    if cfg.difference < 0:
        raise ValueError(f"difference: expected a lag >= 0, got {cfg.difference}")
    if cfg.spectral_radius <= 0:
        raise ValueError(f"spectral_radius: expected a number > 0, got {cfg.spectral_radius}")
    if cfg.log and np.any(v <= 0):
        raise ValueError("log: the series has values <= 0; drop --log")
    split = split_point(series, cfg.test_fraction, cfg.test_start)
    n_test = v.size - split
    if n_test < 1:
        raise ValueError(f"test_start: leaves no test values (series of {v.size})")
    if horizon > n_test:
        raise ValueError(f"horizon: expected at most the {n_test} test steps, got {horizon}")
    learned = any(m in LEARNED for m in cfg.models)
    need = cfg.difference + max(cfg.lags, cfg.order) + (cfg.washout if "esn" in cfg.models else 0)
    need = need + 10 if learned else 2
    if split < need:
        raise ValueError(
            f"series: {split} training values, fewer than the {need} that washout + window + "
            f"a fit need ({v.size} values, {n_test} for testing)"
        )
    return split


def run_forecast(series: Series, cfg: ForecastConfig) -> ForecastResult:
    """Fit every model of ``cfg.models`` on the training part and forecast the test part."""
    series = truncate(series, cfg.test_end)
    split = validate(series, cfg)
    v = series.values
    train, n_test = v[:split], v.size - split
    tf = _Transform(cfg.log, cfg.difference).fit(train)
    origins = list(range(split, v.size, cfg.horizon))
    forecasts, metrics = {}, {}
    for name in cfg.models:
        t0 = time.perf_counter()
        model = _make(name, cfg)
        if name in LEARNED:
            model.fit(tf.forward(train))
        elif name in ("arima", "holt-winters"):
            model.fit(np.log(train) if cfg.log else train)
        else:
            model.fit(train)
        pred = np.empty(n_test)
        for o in origins:
            k = min(cfg.horizon, v.size - o)
            hist = v[:o]
            if name in LEARNED:
                f = tf.inverse(model.forecast(tf.forward(hist), k), hist)
            elif name in ("arima", "holt-winters"):
                f = model.forecast(np.log(hist) if cfg.log else hist, k)
                f = np.exp(f) if cfg.log else f
            else:
                f = model.forecast(hist, k)
            pred[o - split : o - split + k] = f
        key = model.name
        forecasts[key] = pred
        metrics[key] = {**errors(v[split:], pred), "seconds": time.perf_counter() - t0}
    return ForecastResult(series, split, cfg.horizon, forecasts, metrics, asdict(cfg))
