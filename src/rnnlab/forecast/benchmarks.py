"""The reservoir-computing literature's benchmarks, in their protocols.

- ``mackey_glass_jaeger2001``: Jaeger (2001), GMD Report 148: Mackey-Glass with tau = 17,
  3,000 training steps (the first 1,000 discarded as washout), then per run 1,000
  teacher-forced steps and an 84-step free run; ``NRMSE84 = sqrt(mean_runs e_84^2) / std(series)``.
- ``narma10``: NARMA-10 with the standard recurrence (:func:`narma10`).
- ``memory_capacity``: Jaeger (2002): ``MC = sum_k r^2(u(t - k), y_k(t))`` for ``k = 1 .. 2N``,
  bounded by ``N`` for ``N`` units.
"""

from __future__ import annotations

import time
import warnings
from dataclasses import asdict, dataclass, field

import numpy as np

from .._validate import as_rng, check_positive_int
from ..reservoir import ESN, EchoStateWarning
from ..tasks.forecasting import mackey_glass

__all__ = [
    "BENCHMARKS",
    "MackeyGlassConfig",
    "NarmaConfig",
    "MemoryConfig",
    "narma10",
    "mackey_glass_jaeger2001",
    "narma10_benchmark",
    "memory_capacity",
    "run_benchmark",
]


@dataclass
class MackeyGlassConfig:
    """Jaeger (2001)'s Mackey-Glass protocol and the reservoir we run it with."""

    runs: int = 20  # independent runs: a fresh reservoir and a fresh test segment each
    units: int = 400  # reservoir size (Jaeger: 400)
    train: int = 3000  # teacher-forced training steps
    washout: int = 1000  # leading training steps whose states are discarded
    warmup: int = 1000  # teacher-forced steps before each free run
    horizon: int = 84  # free-running steps; the error is taken at the last one
    spectral_radius: float = 0.9  # of W_hh
    leak_rate: float = 0.5  # a (1 is the plain, non-leaky update)
    input_scaling: float = 1.0  # W_xh ~ U[-s, s]
    bias_scaling: float = 0.2  # b_h ~ U[-s, s]
    connectivity: float = 0.1  # fraction of non-zero entries of W_hh
    ridge: float | None = None  # readout ridge; None: chosen on the last 20% of training
    seed: int = 0  # seeds the reservoirs (run i uses the i-th spawned stream)


@dataclass
class NarmaConfig:
    """NARMA-10: drive ``u(n)``, predict ``y(n+1)``."""

    units: tuple[int, ...] = (100, 200, 400)  # reservoir sizes to report
    washout: int = 200  # leading steps discarded
    train: int = 2000  # training steps after the washout
    test: int = 2000  # test steps that follow
    spectral_radius: float = 0.9
    leak_rate: float = 1.0
    input_scaling: float = 0.1  # u is in [0, 0.5]
    bias_scaling: float = 0.0
    connectivity: float = 0.1
    ridge: float | None = None  # None: chosen on the last 20% of the training steps
    seed: int = 0  # seeds the input sequence and the reservoirs


@dataclass
class MemoryConfig:
    """Memory capacity (Jaeger 2002) of a linear and a tanh reservoir."""

    units: int = 50  # N: the bound on the capacity
    washout: int = 500
    train: int = 5000
    test: int = 5000
    spectral_radius: float = 0.95
    input_scaling: float = 0.1  # u ~ U[-1, 1] times this into W_xh
    connectivity: float = 0.2
    ridge: float = 1e-10
    seed: int = 0
    activations: tuple[str, ...] = field(default=("identity", "tanh"))


def narma10(u: np.ndarray) -> np.ndarray:
    """NARMA-10 output for the input ``u (T,)``: ``y (T,)`` with ``y(0..9) = 0`` and

    ``y(n+1) = 0.3 y(n) + 0.05 y(n) sum_{i=0..9} y(n-i) + 1.5 u(n-9) u(n) + 0.1``.
    """
    u = np.asarray(u, dtype=np.float64)
    if u.ndim != 1 or u.size < 11 or not np.all(np.isfinite(u)):
        raise ValueError(f"u: expected a finite 1-d input of at least 11 steps, got {u.shape}")
    y = np.zeros(u.size)
    for n in range(9, u.size - 1):
        y[n + 1] = 0.3 * y[n] + 0.05 * y[n] * y[n - 9 : n + 1].sum() + 1.5 * u[n - 9] * u[n] + 0.1
    if not np.all(np.isfinite(y)):
        raise ValueError("u: the NARMA-10 recurrence diverged for this input")
    return y


def _esn(cfg, units: int, rng, **kw) -> ESN:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", EchoStateWarning)  # radius 1 is a choice here, not a slip
        return ESN(
            kw.pop("input_size", 1), kw.pop("output_size", 1), units=units,
            spectral_radius=cfg.spectral_radius, leak_rate=getattr(cfg, "leak_rate", 1.0),
            input_scaling=cfg.input_scaling, bias_scaling=getattr(cfg, "bias_scaling", 0.0),
            connectivity=cfg.connectivity, rng=rng, **kw,
        )  # fmt: skip


def mackey_glass_jaeger2001(cfg: MackeyGlassConfig | None = None) -> dict:
    """Run the protocol; returns NRMSE84 over the runs, each run's error and the seconds."""
    cfg = cfg or MackeyGlassConfig()
    runs = check_positive_int("runs", cfg.runs)
    seg = cfg.warmup + cfg.horizon
    t0 = time.perf_counter()
    s = mackey_glass(cfg.train + 1 + runs * seg)
    sigma = float(np.std(s))
    u = s - 1.0  # centred for the tanh units (Jaeger used tanh(x - 1); the centring is what counts)
    seeds = np.random.SeedSequence(cfg.seed).spawn(runs)
    errs = []
    for i in range(runs):
        esn = _esn(cfg, cfg.units, np.random.default_rng(seeds[i]))
        x, y = u[: cfg.train, None], u[1 : cfg.train + 1, None]  # one-step teacher forcing
        esn.fit(x, y, washout=cfg.washout, ridge=cfg.ridge)
        part = u[cfg.train + 1 + i * seg : cfg.train + 1 + (i + 1) * seg]
        _, h = esn.predict(part[: cfg.warmup - 1, None])  # from a zero state
        free, _ = esn.generate(cfg.horizon, h0=h, y0=part[cfg.warmup - 1 : cfg.warmup])
        errs.append(float(free[-1, 0] - part[-1]))  # forecast horizon steps after the last seen
    seconds = time.perf_counter() - t0
    errs = np.array(errs)
    return {
        "benchmark": "mackey_glass_jaeger2001",
        "nrmse84": float(np.sqrt(np.mean(errs**2)) / sigma),
        "median_abs_error_over_std": float(np.median(np.abs(errs)) / sigma),
        "errors": errs.tolist(),
        "seconds": seconds,
        "config": asdict(cfg),
    }


def narma10_benchmark(cfg: NarmaConfig | None = None) -> dict:
    """NRMSE on the test steps for each reservoir size in ``cfg.units``."""
    cfg = cfg or NarmaConfig()
    rng = as_rng(cfg.seed)
    T = cfg.washout + cfg.train + cfg.test + 1
    u = rng.uniform(0.0, 0.5, T)
    y = narma10(u)
    x, target = u[:-1, None], y[1:, None]  # input u(n), target y(n+1)
    n_fit = cfg.washout + cfg.train
    out = {"benchmark": "narma10", "nrmse": {}, "seconds": {}, "config": asdict(cfg)}
    for n in cfg.units:
        t0 = time.perf_counter()
        esn = _esn(cfg, n, rng).fit(x[:n_fit], target[:n_fit], washout=cfg.washout, ridge=cfg.ridge)
        pred, _ = esn.predict(x)  # one pass: the test states continue the training ones
        truth = target[n_fit:, 0]
        rmse = np.sqrt(np.mean((pred[n_fit:, 0] - truth) ** 2))
        out["nrmse"][str(n)] = float(rmse / np.std(truth))
        out["seconds"][str(n)] = time.perf_counter() - t0
    return out


def memory_capacity(cfg: MemoryConfig | None = None) -> dict:
    """Jaeger's memory capacity of each activation in ``cfg.activations`` against ``N``."""
    cfg = cfg or MemoryConfig()
    N = check_positive_int("units", cfg.units)
    rng = as_rng(cfg.seed)
    K = 2 * N
    T = cfg.washout + cfg.train + cfg.test
    u = rng.uniform(-1.0, 1.0, T + K)
    x = u[K:, None]
    Y = np.stack([u[K - k : T + K - k] for k in range(1, K + 1)], axis=1)  # column k-1: u(t - k)
    out = {"benchmark": "memory_capacity", "units": N, "bound": N, "capacity": {}, "per_delay": {}}
    n_fit = cfg.washout + cfg.train
    for act in cfg.activations:
        esn = _esn(cfg, N, rng, output_size=K, readout_input=False, activation=act)
        esn.fit(x[:n_fit], Y[:n_fit], washout=cfg.washout, ridge=cfg.ridge)
        pred, _ = esn.predict(x)
        p, t = pred[n_fit:], Y[n_fit:]
        r = [np.corrcoef(p[:, k], t[:, k])[0, 1] ** 2 for k in range(K)]
        out["capacity"][act] = float(np.sum(r))
        out["per_delay"][act] = [float(v) for v in r]
    out["config"] = asdict(cfg)
    return out


BENCHMARKS = {
    "mackey_glass_jaeger2001": (mackey_glass_jaeger2001, MackeyGlassConfig),
    "narma10": (narma10_benchmark, NarmaConfig),
    "memory_capacity": (memory_capacity, MemoryConfig),
}


def run_benchmark(name: str, **overrides) -> dict:
    """Run one of :data:`BENCHMARKS` with its default config, fields replaced by ``overrides``."""
    if name not in BENCHMARKS:
        raise ValueError(f"benchmark: expected one of {', '.join(BENCHMARKS)}; got {name!r}")
    fn, cls = BENCHMARKS[name]
    known = set(cls.__dataclass_fields__)
    for key in overrides:
        if key not in known:
            raise ValueError(f"{key}: not a setting of {name}; it has {', '.join(sorted(known))}")
    return fn(cls(**overrides))
