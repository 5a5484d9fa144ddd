"""Network forecasters: an echo state network and the trained rnn / lstm / gru.

Each works on the transformed series (see :mod:`rnnlab.forecast.compare`) and has
``fit(train)`` and ``forecast(history, steps)``; the input at step ``t`` is the window of the
last ``lags`` values ``[z(t-1), ..., z(t-lags)]`` and the target ``z(t)``. Multi-step forecasts
run freely: each forecast enters the next window.
"""

from __future__ import annotations

import warnings

import numpy as np

from ..reservoir import ESN, EchoStateWarning

__all__ = ["ESNForecaster", "NetworkForecaster", "lag_windows"]


def lag_windows(z: np.ndarray, lags: int) -> tuple[np.ndarray, np.ndarray]:
    """``x (n - lags, lags)`` with row ``t``: ``z(t+lags-1), ..., z(t)`` and ``y (n - lags,)``."""
    n = z.size
    x = np.column_stack([z[lags - i : n - i] for i in range(1, lags + 1)])
    return x, z[lags:]


class ESNForecaster:
    """An ensemble of echo state networks (the mean of ``ensemble`` reservoirs)."""

    name = "esn"

    def __init__(self, *, lags: int, units: int, spectral_radius: float, leak_rate: float,
                 input_scaling: float, bias_scaling: float, connectivity: float,
                 washout: int, ridge: float | None, ensemble: int, rng: int) -> None:  # fmt: skip
        self.lags, self.washout, self.ridge = lags, washout, ridge
        seeds = np.random.SeedSequence(rng).spawn(ensemble)
        with warnings.catch_warnings():
            warnings.simplefilter("error", EchoStateWarning)  # a user's radius >= 1: say so once
            try:
                self.nets = [self._make(s, units, spectral_radius, leak_rate, input_scaling,
                                        bias_scaling, connectivity) for s in seeds]  # fmt: skip
            except EchoStateWarning as w:
                warnings.warn(str(w), EchoStateWarning, stacklevel=2)
                warnings.simplefilter("ignore", EchoStateWarning)
                self.nets = [self._make(s, units, spectral_radius, leak_rate, input_scaling,
                                        bias_scaling, connectivity) for s in seeds]  # fmt: skip

    def _make(self, seed, units, sr, leak, ins, bias, conn) -> ESN:
        return ESN(self.lags, 1, units=units, spectral_radius=sr, leak_rate=leak,
                   input_scaling=ins, bias_scaling=bias, connectivity=conn,
                   rng=np.random.default_rng(seed))  # fmt: skip

    def fit(self, train: np.ndarray) -> ESNForecaster:
        x, y = lag_windows(train, self.lags)
        ridge = self.ridge
        if ridge is None:  # one ridge for the ensemble: lowest mean validation error over nets
            val: dict[float, float] = {}
            for net in self.nets:
                net.fit(x, y[:, None], washout=self.washout)
                for lam, err in net.validation_errors_.items():
                    val[lam] = val.get(lam, 0.0) + err
            ridge = min(val, key=val.get)
        for net in self.nets:
            net.fit(x, y[:, None], washout=self.washout, ridge=ridge)
        self.ridge_ = ridge
        return self

    def forecast(self, history: np.ndarray, steps: int) -> np.ndarray:
        x, _ = lag_windows(np.append(history, 0.0), self.lags)  # last row: the window after history
        outs = []
        for net in self.nets:
            y, h = net.predict(x[:-1])  # teacher-forced over the observed history
            window = list(x[-1])
            out = np.empty(steps)
            hb = h[None]
            for k in range(steps):
                yk, hb = net.step(np.asarray(window)[None], hb)
                out[k] = yk[0, 0]
                window = [out[k]] + window[:-1]
            outs.append(out)
        return np.mean(outs, axis=0)


class NetworkForecaster:
    """A recurrent network (rnn / lstm / gru) trained by rnnlab's trainer on windows of the series.

    Training examples are the ``context``-step windows of the training part (stride 1), target
    the next value at every step; the last 10% of the windows (the latest in time) are held out.
    """

    def __init__(self, model: str, *, lags: int, context: int, hidden: int, lr: float,
                 batch: int, steps: int, time_budget: float, rng: int) -> None:  # fmt: skip
        self.name, self.model = model, model
        self.lags, self.context, self.hidden = lags, context, hidden
        self.lr, self.batch, self.steps, self.time_budget, self.seed = (
            lr, batch, steps, time_budget, rng,
        )  # fmt: skip
        self.run = None

    def fit(self, train: np.ndarray) -> NetworkForecaster:
        from ..data import ArrayDataset
        from ..training import TrainConfig
        from ..training import train as train_run

        x, y = lag_windows(train, self.lags)  # (n, lags), (n,)
        C = min(self.context, x.shape[0] - 2)
        if C < 2:
            raise ValueError(f"context: too few training windows ({x.shape[0]}) for {self.name}")
        starts = np.arange(x.shape[0] - C + 1)
        xs = np.stack([x[s : s + C] for s in starts], axis=1)  # (C, N, lags)
        ys = np.stack([y[s : s + C] for s in starts], axis=1)[..., None]  # (C, N, 1)
        ds = ArrayDataset(xs, ys, target="every", loss="mse", val_fraction=0.1)
        cfg = TrainConfig(model=self.model, hidden=self.hidden, lr=self.lr,
                          batch=min(self.batch, ds.train_size), steps=self.steps,
                          time_budget=self.time_budget, seed=self.seed)  # fmt: skip
        self.run = train_run(cfg, data=ds, progress=False, log=lambda s: None)
        self.context = C
        return self

    def forecast(self, history: np.ndarray, steps: int) -> np.ndarray:
        x, _ = lag_windows(np.append(history, 0.0), self.lags)
        model = self.run.model
        # the state is built over the windows before the last, from zero as in training
        _, state, _ = model.forward(x[-self.context : -1][:, None, :])
        window, out = list(x[-1]), np.empty(steps)
        for k in range(steps):
            y, state, _ = model.forward(np.asarray(window)[None, None, :], state)
            out[k] = y[-1, 0, 0]
            window = [out[k]] + window[:-1]
        return out
