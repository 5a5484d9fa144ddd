"""Next-value forecasting ``x^1 ... x^t -> x^{t+1}`` (lecture notes, "Recurrent Neural Networks":
"predict the next observation given the past ones"; loss
``1/T sum_t 1/2 (x^{t+1} - xhat^{t+1})^2``).

Two generated series:

- ``sine``: per sequence ``x(t) = sum_j a_j sin(w_j t + phi_j)`` with ``components`` terms,
  ``a_j ~ U[0.2, 1]`` normalised to sum 1, ``w_j ~ U[0.05, 0.5]`` rad/step, ``phi_j ~ U[0, 2 pi)``;
  the network must infer the frequencies from the sequence itself.
- ``mackey_glass``: ``dx/dt = beta x(t - tau) / (1 + x(t - tau)^n) - gamma x(t)`` with the
  standard chaotic setting ``beta = 0.2, gamma = 0.1, n = 10, tau = 17``, integrated with
  fourth-order Runge-Kutta at ``dt = 0.1`` (delayed values at half steps by cubic Hermite
  interpolation of the stored values and slopes), constant history ``x = 1.2``, the first 1,000
  time units discarded, sampled every ``sample_every = 1`` time unit. Windows for training come
  from the first 80% of one long trajectory and test windows from the last 20%, so test inputs
  are unseen. Values are standardised with the training part's mean and std.

Where we chose (the notes give no criterion): a sequence is correct when its normalised RMSE
``sqrt(mean (y - x)^2) / std`` over the steps after a ``warmup`` of 10 is below 0.1; solved when
at least 95% of 1,000 fresh test windows are correct.
"""

from __future__ import annotations

from abc import abstractmethod
from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from .base import Batch, Task, check_int_at_least

MG_BETA, MG_GAMMA, MG_N, MG_TAU = 0.2, 0.1, 10.0, 17.0


def mackey_glass(
    n_samples: int,
    tau: float = MG_TAU,
    dt: float = 0.1,
    sample_every: float = 1.0,
    washout: float = 1000.0,
    x0: float = 1.2,
) -> np.ndarray:
    """``(n_samples,)`` Mackey-Glass series (see the module docstring), deterministic."""
    n_samples = check_int_at_least("n_samples", n_samples, 1)
    lag = int(round(tau / dt))
    every = int(round(sample_every / dt))
    if not np.isclose(lag * dt, tau) or not np.isclose(every * dt, sample_every):
        raise ValueError(
            f"dt: expected a step dividing tau={tau} and sample_every={sample_every}, got {dt}"
        )
    skip = int(round(washout / dt))
    steps = skip + n_samples * every
    x = np.empty(lag + steps + 1)
    x[: lag + 1] = x0  # constant history on [-tau, 0]
    dx = np.zeros(lag + steps + 1)  # dx/dt on the grid (0 on the constant history)

    def f(x_now: float, x_lag: float) -> float:
        return MG_BETA * x_lag / (1.0 + x_lag**MG_N) - MG_GAMMA * x_now

    for i in range(lag, lag + steps):
        d0, d1 = x[i - lag], x[i - lag + 1]  # x(t - tau), x(t - tau + dt)
        # x(t - tau + dt/2) by cubic Hermite interpolation of the stored values and slopes,
        # accurate to O(dt^4) so that RK4 keeps its order (linear interpolation would not).
        # The slope at t = 0 seen from the history side is 0 (x is constant there), not dx[lag].
        s1 = dx[i - lag + 1] if i + 1 != 2 * lag else 0.0
        dm = 0.5 * (d0 + d1) + dt / 8.0 * (dx[i - lag] - s1)
        k1 = f(x[i], d0)
        dx[i] = k1
        k2 = f(x[i] + 0.5 * dt * k1, dm)
        k3 = f(x[i] + 0.5 * dt * k2, dm)
        k4 = f(x[i] + dt * k3, d1)
        x[i + 1] = x[i] + dt / 6.0 * (k1 + 2 * k2 + 2 * k3 + k4)
    return x[lag + skip + every :: every][:n_samples].copy()


@dataclass
class _Forecast(Task):
    length: int = 100  # input steps per window
    warmup: int = 10  # steps excluded from the correctness check (state still filling)
    tolerance: float = 0.1  # normalised RMSE below this is correct
    target: str = "every"
    test_size: int = 1000  # fresh test windows
    solved_accuracy: float = 0.95  # fraction of test windows that must be correct

    loss: ClassVar[str] = "mse"

    def __post_init__(self) -> None:
        self.length = check_int_at_least("length", self.length, 1)
        self.warmup = check_int_at_least("warmup", self.warmup, 0)
        if self.warmup >= self.length:
            raise ValueError(
                f"warmup: expected an int below length={self.length}, got {self.warmup}"
            )
        self.test_size = check_int_at_least("test_size", self.test_size, 1)
        if self.target != "every":
            raise ValueError(f"target: expected 'every' for this task, got {self.target!r}")
        self._std = 1.0  # std of the series in the units of the targets

    @property
    def input_size(self) -> int:
        return 1

    @property
    def output_size(self) -> int:
        return 1

    @abstractmethod
    def _series(self, batch: int, rng: np.random.Generator, split: str) -> np.ndarray:
        """``batch`` series of length T+1 for ``split``."""

    def _sample(self, batch: int, rng: np.random.Generator, split: str) -> Batch:
        s = self._series(batch, rng, split)  # (T + 1, B)
        x = s[:-1, :, None]  # (T, B, 1)
        y = s[1:, :, None]  # (T, B, 1) next values
        return Batch(x=x, y=y, mask=None, last=np.full(batch, self.length - 1, dtype=np.int64))

    def _correct(self, outputs: np.ndarray, batch: Batch) -> np.ndarray:
        err = outputs[self.warmup :, :, 0] - batch.y[self.warmup :, :, 0]  # (T - w, B)
        return np.sqrt(np.mean(err * err, axis=0)) / self._std < self.tolerance


@dataclass
class SineMixtureTask(_Forecast):
    """Next value of a random sine mixture (see the module docstring)."""

    components: int = 3  # sines per sequence

    name: ClassVar[str] = "sine"
    source: ClassVar[str] = (
        "Congeduti 2024, 'Recurrent Neural Networks': next-value forecasting, sines"
    )
    criterion: ClassVar[str] = (
        "normalised RMSE < 0.1 after 10 warm-up steps for at least 95% of 1,000 fresh windows"
    )

    def __post_init__(self) -> None:
        super().__post_init__()
        self.components = check_int_at_least("components", self.components, 1)
        # Amplitudes sum to 1 and phases are uniform: each term has variance a_j^2 / 2.
        self._std = float(np.sqrt(0.5 / self.components))

    def _series(self, batch: int, rng: np.random.Generator, split: str) -> np.ndarray:
        K = self.components
        a = rng.uniform(0.2, 1.0, size=(K, batch))
        a /= a.sum(axis=0)
        w = rng.uniform(0.05, 0.5, size=(K, batch))
        phi = rng.uniform(0.0, 2 * np.pi, size=(K, batch))
        t = np.arange(self.length + 1)[:, None, None]  # (T + 1, 1, 1)
        return np.sum(a * np.sin(w * t + phi), axis=1)  # (T + 1, B)


@dataclass
class MackeyGlassTask(_Forecast):
    """Next value of the Mackey-Glass series, tau = 17 (see the module docstring)."""

    series_length: int = 10000  # samples in the trajectory windows are cut from

    name: ClassVar[str] = "mackey_glass"
    source: ClassVar[str] = "Congeduti 2024, next-value forecasting; Mackey & Glass 1977, tau = 17"
    criterion: ClassVar[str] = (
        "normalised RMSE < 0.1 after 10 warm-up steps for at least 95% of 1,000 fresh test "
        "windows (from the held-out last 20% of the series)"
    )

    def __post_init__(self) -> None:
        super().__post_init__()
        self.series_length = check_int_at_least("series_length", self.series_length, 1)
        cut = int(0.8 * self.series_length)
        if min(cut, self.series_length - cut) < self.length + 1:
            raise ValueError(
                f"series_length: expected at least {5 * (self.length + 1)} so both parts hold a "
                f"window of length {self.length + 1}, got {self.series_length}"
            )
        raw = _cached_mackey_glass(self.series_length)
        mean, std = raw[:cut].mean(), raw[:cut].std()
        self._data = (raw - mean) / std  # standardised series
        self._cut = cut

    def _series(self, batch: int, rng: np.random.Generator, split: str) -> np.ndarray:
        lo, hi = (0, self._cut) if split == "train" else (self._cut, self.series_length)
        starts = rng.integers(lo, hi - self.length, size=batch)  # windows of T + 1 inside part
        return self._data[starts[None, :] + np.arange(self.length + 1)[:, None]]


_MG_CACHE: dict[int, np.ndarray] = {}


def _cached_mackey_glass(n: int) -> np.ndarray:
    # The trajectory is deterministic; integrating it takes a moment, so do it once per size.
    if n not in _MG_CACHE:
        _MG_CACHE[n] = mackey_glass(n)
    return _MG_CACHE[n]
