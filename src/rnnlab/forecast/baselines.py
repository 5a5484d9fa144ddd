"""Classical baselines: persistence, seasonal naive, least-squares AR(p) (statsmodels extras).

Each forecaster has ``fit(train)`` and ``forecast(history, steps)``: the values after
``history`` (all that is observed), ``steps`` ahead, without seeing any of them.
"""

from __future__ import annotations

import numpy as np

from .._validate import check_positive_int

__all__ = ["Persistence", "SeasonalNaive", "AutoRegressive", "StatsmodelsARIMA", "HoltWinters"]


class Persistence:
    """``y^(t0 + k) = y(t0)``: the last observed value, for every step ahead."""

    name = "persistence"

    def fit(self, train: np.ndarray) -> Persistence:
        return self

    def forecast(self, history: np.ndarray, steps: int) -> np.ndarray:
        return np.full(steps, float(history[-1]))


class SeasonalNaive:
    """``y^(t0 + k) = y(t0 + k - P ceil(k / P))``: the value one season before (k = 1, 2, ...)."""

    def __init__(self, period: int) -> None:
        self.period = check_positive_int("period", period)
        self.name = f"seasonal-naive({self.period})"

    def fit(self, train: np.ndarray) -> SeasonalNaive:
        if train.size < self.period:
            raise ValueError(
                f"period: expected at most {train.size} training values, got {self.period}"
            )
        return self

    def forecast(self, history: np.ndarray, steps: int) -> np.ndarray:
        last = history[-self.period :]
        return np.array([last[k % self.period] for k in range(steps)], dtype=np.float64)


class AutoRegressive:
    """AR(p) with intercept fitted by least squares: ``y(t) = c + sum_i a_i y(t-i)``.

    Multi-step forecasts are recursive: each forecast becomes the next lag.
    """

    def __init__(self, order: int) -> None:
        self.order = check_positive_int("order", order)
        self.name = f"ar({self.order})"
        self.coef: np.ndarray | None = None  # (1 + p,): c, a_1 .. a_p

    def fit(self, train: np.ndarray) -> AutoRegressive:
        p = self.order
        if train.size < 2 * p + 1:
            raise ValueError(
                f"order: AR({p}) needs at least {2 * p + 1} training values, got {train.size}"
            )
        # row t: [1, y(t-1), ..., y(t-p)] -> y(t)
        X = np.column_stack(
            [np.ones(train.size - p)] + [train[p - i : -i] for i in range(1, p + 1)]
        )
        self.coef = np.linalg.lstsq(X, train[p:], rcond=None)[0]
        return self

    def forecast(self, history: np.ndarray, steps: int) -> np.ndarray:
        if self.coef is None:
            raise ValueError("coef: fit the AR model first")
        p = self.order
        lags = list(history[-p:][::-1])  # y(t-1), ..., y(t-p)
        out = np.empty(steps)
        for k in range(steps):
            out[k] = self.coef[0] + float(np.dot(self.coef[1:], lags))
            lags = [out[k]] + lags[:-1]
        return out


class StatsmodelsARIMA:
    """statsmodels' SARIMAX fitted by maximum likelihood on the training part (an extra).

    Forecasts from a later origin re-use the fitted parameters on the longer history.
    """

    def __init__(self, order=(1, 0, 0), seasonal_order=(0, 0, 0, 0)) -> None:
        self.order, self.seasonal_order = tuple(order), tuple(seasonal_order)
        self.name = (
            "arima"
            + str(self.order)
            + (str(self.seasonal_order) if any(self.seasonal_order) else "")
        )
        self.result = None

    def fit(self, train: np.ndarray) -> StatsmodelsARIMA:
        try:
            from statsmodels.tsa.statespace.sarimax import SARIMAX
        except ImportError:
            raise ValueError("model: arima needs statsmodels; pip install statsmodels") from None
        import warnings

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # convergence chatter of the optimiser
            self.result = SARIMAX(train, order=self.order, seasonal_order=self.seasonal_order).fit(
                disp=False
            )
        self._n = train.size
        return self

    def forecast(self, history: np.ndarray, steps: int) -> np.ndarray:
        res = self.result if history.size == self._n else self.result.apply(history)
        return np.asarray(res.forecast(steps), dtype=np.float64)


class HoltWinters:
    """statsmodels' Holt-Winters (additive trend, multiplicative season) on the training part."""

    def __init__(self, period: int) -> None:
        self.period = check_positive_int("period", period)
        self.name = f"holt-winters({self.period})"

    def fit(self, train: np.ndarray) -> HoltWinters:
        try:
            from statsmodels.tsa.holtwinters import ExponentialSmoothing
        except ImportError:
            raise ValueError(
                "model: holt-winters needs statsmodels; pip install statsmodels"
            ) from None
        self._model = lambda y: ExponentialSmoothing(
            y, trend="add", seasonal="mul" if np.all(y > 0) else "add", seasonal_periods=self.period
        )
        self.result = self._model(train).fit()
        self._n = train.size
        return self

    def forecast(self, history: np.ndarray, steps: int) -> np.ndarray:
        res = self.result
        if history.size != self._n:  # same smoothing parameters, states run over the history
            res = self._model(history).fit(**{k: v for k, v in self._fixed().items()})
        return np.asarray(res.forecast(steps), dtype=np.float64)

    def _fixed(self) -> dict:
        p = self.result.params
        return dict(smoothing_level=p["smoothing_level"], smoothing_trend=p["smoothing_trend"],
                    smoothing_seasonal=p["smoothing_seasonal"], optimized=False)  # fmt: skip
