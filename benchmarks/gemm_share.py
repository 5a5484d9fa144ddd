"""Share of the GEMM rate on the largest points (B=128, H=512, T=100), by four estimators.

Run: ``python benchmarks/gemm_share.py [float32] [float64] [--rounds N]``. Per cell, N rounds
(default 7) of (rnnlab step, torch step, one 2048 x 2048 GEMM), 2 threads. The rate a kernel
reaches is compared with the GEMM rate four ways: median over median (both from the same
rounds; what ``rnnlab bench`` reports), best over best (the fastest step against the fastest
GEMM), the median step over the higher of two best-of-2 GEMM rates taken just before and just
after the rounds (what ``rnnlab bench`` reported before), and paired: the median over rounds of
(the round's step rate / the GEMM rate measured right after it), with a bootstrap 95 % interval
of that median. Pairing cancels the slow drift of this machine's speed (minutes), which the
other three estimators take as it comes.

For the RNN and the LSTM it also times the same sequence of BLAS calls without any gate
arithmetic (zeros in, same shapes, same order): the share of the GEMM rate that the kernels'
matrix products alone reach, the ceiling of this design.
"""

import argparse
import statistics
import time

import numpy as np
from numba import njit

from rnnlab import bench
from rnnlab.kernels import _blas
from rnnlab.kernels._blas import gemm
from rnnlab.kernels._common import chunk_steps

BOOTSTRAP = 2000  # resamples for the interval of the paired median


def median_interval(values: list[float], rng: np.random.Generator) -> tuple[float, float]:
    """Percentile bootstrap 95 % interval of the median of ``values``."""
    v = np.asarray(values)
    meds = np.median(v[rng.integers(0, len(v), (BOOTSTRAP, len(v)))], axis=1)
    lo, hi = np.percentile(meds, [2.5, 97.5])
    return float(lo), float(hi)


@njit(nogil=True)
def _gemms_only(x, W_xh, W_hh, gates, h, da, dx, dW_xh, dW_hh, dh, cblas):
    """The BLAS calls of a fast RNN/LSTM forward + backward, in order, without the gate loops."""
    T, B, GH = gates.shape
    H = h.shape[2]
    I = x.shape[1]
    K = da.shape[0] // B
    gemm(cblas, False, True, x, W_xh, 0.0, gates.reshape(T * B, GH))
    for t in range(T):
        gemm(cblas, False, True, h[t], W_hh, 1.0, gates[t])
    t_end = T
    while t_end > 0:
        t0 = max(t_end - K, 0)
        n = t_end - t0
        for t in range(n):
            gemm(cblas, False, False, da[t * B : (t + 1) * B], W_hh, 0.0, dh)
        gemm(cblas, False, False, da[: n * B], W_xh, 0.0, dx[: n * B])
        gemm(cblas, True, False, da[: n * B], x[: n * B].reshape(n * B, I), 1.0, dW_xh)
        gemm(cblas, True, False, da[: n * B], h[:n].reshape(n * B, H), 1.0, dW_hh)
        t_end = t0


def _gemms_step(point: bench.Point, dt: np.dtype):
    T, B, H, I = point.T, point.B, point.H, point.I
    GH = bench.GATE_BLOCKS[point.cell] * H
    rows = chunk_steps(T, B) * B
    z = [
        np.zeros(s, dt)
        for s in [
            (T * B, I), (GH, I), (GH, H), (T, B, GH), (T + 1, B, H),
            (rows, GH), (rows, I), (GH, I), (GH, H), (B, H),
        ]
    ]  # fmt: skip
    return lambda: _gemms_only(*z, _blas.USE_CBLAS)


def main(dtypes: list[str], rounds: int) -> None:
    rng = np.random.default_rng(0)
    for name in dtypes:
        dt = np.dtype(name)
        with bench.thread_limits(2):
            probe = bench.GemmProbe(dt)
            for cell in ("rnn", "lstm", "gru"):
                p = bench.Point(cell, 128, 512, 100, 512)
                steps = {
                    "rnnlab": bench._rnnlab_step(p, dt),
                    "torch": bench._torch_step(p, dt),
                }
                if cell != "gru":  # the GRU's BLAS calls differ (W_hh h kept apart)
                    steps["gemms"] = _gemms_step(p, dt)
                for fn in steps.values():
                    fn()
                before = probe.rate(2)
                times: dict[str, list[float]] = {k: [] for k in steps}
                rates = []
                for _ in range(rounds):
                    for k, fn in steps.items():
                        t0 = time.perf_counter()
                        fn()
                        times[k].append(time.perf_counter() - t0)
                    rates.append(probe.rate(1))
                after = probe.rate(2)
                med, best = statistics.median(times["rnnlab"]), min(times["rnnlab"])
                rate_med, rate_best = statistics.median(rates), max(rates)
                line = (
                    f"{name} {cell.upper():4} B=128 H=512: {med * 1e3:7.0f} ms "
                    f"(torch {statistics.median(times['torch']) * 1e3:.0f}); "
                    f"median/median {100 * p.gflop / med / rate_med:5.1f} % of {rate_med:.0f}; "
                    f"best/best {100 * p.gflop / best / rate_best:5.1f} % of {rate_best:.0f}; "
                    f"median/max(before, after) "
                    f"{100 * p.gflop / med / max(before, after):5.1f} % of {max(before, after):.0f}"
                )
                shares = [100 * p.gflop / t / r for t, r in zip(times["rnnlab"], rates)]
                lo, hi = median_interval(shares, rng)
                line += f"; paired {statistics.median(shares):5.1f} % [{lo:.1f}, {hi:.1f}]"
                if "gemms" in times:
                    g = statistics.median(times["gemms"])
                    line += f"; BLAS calls alone {100 * p.gflop / g / rate_med:5.1f} %"
                print(line, flush=True)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("dtypes", nargs="*", default=["float32", "float64"])
    parser.add_argument("--rounds", type=int, default=7, help="rounds per point (default 7)")
    args = parser.parse_args()
    main(args.dtypes, args.rounds)
