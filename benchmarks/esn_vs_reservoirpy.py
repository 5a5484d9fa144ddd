"""rnnlab's ESN side by side with ReservoirPy: same arrays, same reservoir, same readout problem.

Both libraries get the identical ``W_hh`` (sparse), ``W_xh``, ``b_h``, leak rate and ridge (ours
built by :class:`rnnlab.ESN`, handed to ReservoirPy's ``Reservoir(W=..., Win=..., bias=...)``);
both readouts see the states only and fit an unpenalised bias. The series come from rnnlab
(ReservoirPy's own ``narma()`` uses other coefficients and order 30 by default): NARMA-10
(``u ~ U[0, 0.5]``, predict ``y(n+1)``) and Mackey-Glass tau=17 (predict the next value).
Timed: fit on the training part (after a washout) + run over the test part from the last
training state, interleaved in one process, median of ``--repeats``; then the state collection
alone, the compiled kernel against the plain NumPy loop.

    pip install -e ".[bench]"; python benchmarks/esn_vs_reservoirpy.py [--units 400] [--repeats 5]
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from rnnlab.forecast.benchmarks import narma10
from rnnlab.reservoir import ESN
from rnnlab.tasks.forecasting import mackey_glass


def datasets(seed: int, washout: int, train: int, test: int) -> dict:
    rng = np.random.default_rng(seed)
    n = washout + train + test + 1
    u = rng.uniform(0.0, 0.5, n)
    y = narma10(u)
    mg = mackey_glass(n + 1) - 1.0
    return {
        "narma10": (u[:-1, None], y[1:, None]),
        "mackey_glass": (mg[:-2, None], mg[1:-1, None]),
    }


def run_rnnlab(esn: ESN, x, y, washout, n_fit, ridge):
    esn.fit(x[:n_fit], y[:n_fit], washout=washout, ridge=ridge)
    pred, _ = esn.predict(x[n_fit:], h0=esn.h_)
    return pred


def run_reservoirpy(esn: ESN, x, y, washout, n_fit, ridge):
    from reservoirpy.nodes import Reservoir, Ridge

    res = Reservoir(W=esn.W_hh, Win=esn.W_xh.copy(), bias=esn.b_h.copy(), lr=esn.leak_rate)
    model = res >> Ridge(ridge=ridge, fit_bias=True)
    model.fit(x[:n_fit], y[:n_fit], warmup=washout)
    return model.run(x[n_fit:])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--units", type=int, default=400)
    ap.add_argument("--washout", type=int, default=200)
    ap.add_argument("--train", type=int, default=2000)
    ap.add_argument("--test", type=int, default=2000)
    ap.add_argument("--ridge", type=float, default=1e-7)
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--seed", type=int, default=0)
    a = ap.parse_args()
    import reservoirpy

    n_fit = a.washout + a.train
    settings = {  # per series: the reservoir both libraries run
        "narma10": dict(spectral_radius=0.9, leak_rate=1.0, input_scaling=0.1),
        "mackey_glass": dict(
            spectral_radius=0.9, leak_rate=0.5, input_scaling=1.0, bias_scaling=0.2
        ),  # fmt: skip
    }
    print(f"units={a.units} washout={a.washout} train={a.train} test={a.test} ridge={a.ridge} "
          f"reservoirpy {reservoirpy.__version__}")  # fmt: skip
    print("| series | library | NRMSE | fit+run s (median) |\n|---|---|---|---|")
    for name, (x, y) in datasets(a.seed, a.washout, a.train, a.test).items():
        esn = ESN(1, 1, units=a.units, readout_input=False, rng=a.seed, **settings[name])
        truth = y[n_fit:, 0]
        times = {"rnnlab": [], "reservoirpy": []}
        preds = {}
        run_rnnlab(esn, x, y, a.washout, n_fit, a.ridge)  # compile the kernel outside the clock
        for _ in range(a.repeats):  # interleaved, so a busy machine slows both alike
            for lib, fn in (("rnnlab", run_rnnlab), ("reservoirpy", run_reservoirpy)):
                t0 = time.perf_counter()
                preds[lib] = np.asarray(fn(esn, x, y, a.washout, n_fit, a.ridge))[:, 0]
                times[lib].append(time.perf_counter() - t0)
        med = {k: float(np.median(v)) for k, v in times.items()}
        for lib in ("rnnlab", "reservoirpy"):
            err = np.sqrt(np.mean((preds[lib] - truth) ** 2)) / np.std(truth)
            print(f"| {name} | {lib} | {err:.8g} | {med[lib]:.3f} |")
        gap = np.max(np.abs(preds["rnnlab"] - preds["reservoirpy"]))
        print(f"| {name} | speed-up {med['reservoirpy'] / med['rnnlab']:.2f}x | "
              f"max prediction gap {gap:.2g} | |")  # fmt: skip
    # the state collection alone: the compiled sparse kernel against the plain NumPy step loop
    x = datasets(a.seed, a.washout, a.train, a.test)["narma10"][0]
    nets = {b: ESN(1, 1, units=a.units, backend=b, rng=a.seed) for b in ("fast", "numpy")}
    nets["fast"].states(x[:10])
    times = {b: [] for b in nets}
    for _ in range(a.repeats):
        for b, net in nets.items():
            t0 = time.perf_counter()
            net.states(x)
            times[b].append(time.perf_counter() - t0)
    med = {b: float(np.median(v)) for b, v in times.items()}
    print(
        f"states of {x.shape[0]} steps, {a.units} units: fast {med['fast'] * 1e3:.1f} ms, "
        f"NumPy loop {med['numpy'] * 1e3:.1f} ms ({med['numpy'] / med['fast']:.2f}x)"
    )


if __name__ == "__main__":
    main()
