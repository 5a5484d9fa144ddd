"""The matrix products of one LSTM training step: NumPy's BLAS against PyTorch's, one thread.

Run: ``python benchmarks/gemm_shapes.py [--workload NAME] [--rounds N]``.

Why: at one thread the whole training step of a GEMM-bound workload (``rnnlab bench --workload
train``) is at parity with PyTorch, where the gate arithmetic and the per-step overhead, which
rnnlab fuses, are a small share. This script times the products that step makes, shape by
shape and with their counts, on the two libraries' BLAS: NumPy's (OpenBLAS, which rnnlab's
kernels call) and PyTorch's (its ``matmul``: oneMKL in the CPU build). The per-step recurrent
products take rnnlab's packed route (``kernels/_packed.py``), so that row times rnnlab's packed
micro-kernel against PyTorch's ``matmul`` on the same shape.

The products are those of ``kernels/lstm.py`` and ``kernels/lstm_loops.py`` (float32, a batch on
the packed route): per direction, the input projections of all steps (the forward kernel's
transposed ``W_xh``; one-hot inputs take a gather instead and have no such row), one recurrent
product per step forward and backward, and per backward chunk ``dW_hh`` (two halves of the gate
rows), ``dW_xh`` and ``dx`` (not for the first layer, whose input needs no gradient); the
readout's products. Each row is timed in interleaved rounds (NumPy, then PyTorch), the
median of the rounds; "ms per step" is the median time times the count.
"""

import argparse
import statistics
import time

import numpy as np
import torch
from threadpoolctl import threadpool_limits

from rnnlab.bench_train import workloads
from rnnlab.kernels._common import chunk_steps
from rnnlab.kernels._packed import packed_gemm, packed_panels


def products(w) -> list[tuple[str, int, int, int, bool, int]]:
    """``(name, M, K, N, a_transposed, count)`` of one training step of an LSTM workload."""
    T, B, H, G = w.T, w.B, w.H, 4 * w.H
    D = 2 if w.bidirectional else 1
    n = chunk_steps(T, B) * B  # rows of a backward chunk
    chunks = -(-T * B // n)
    one_hot = w.loss == "ce" and w.I == w.K
    rows = []
    for layer in range(w.layers):
        inp = w.I if layer == 0 else D * H
        tag = f"layer {layer}"
        if not (layer == 0 and one_hot):
            rows.append((f"{tag} input projections x W_xh^T", T * B, inp, G, False, D))
            rows.append((f"{tag} dW_xh (chunk)", G, n, inp, True, D * chunks))
        rows.append((f"{tag} recurrent product, forward (packed)", B, H, G, False, D * T))
        rows.append((f"{tag} recurrent product, backward (packed)", B, G, H, False, D * T))
        rows.append((f"{tag} dW_hh (chunk, half the gates)", G // 2, n, H, True, 2 * D * chunks))
        if layer > 0:
            rows.append((f"{tag} dx (chunk)", n, G, inp, False, D * chunks))
    rows.append(("readout h W_hy^T", T * B, D * H, w.K, False, 1))  # every step's output
    # a target at every step: dW_hy and dL/dh over all T*B rows; at the last step only the
    # B target rows (dL/dh there is a loop of the compiled readout, not a product)
    targets = T * B if w.target == "every" else B
    rows.append(("readout dW_hy", w.K, targets, D * H, True, 1))
    if w.target == "every":
        rows.append(("readout dh", T * B, w.K, D * H, False, 1))
    return rows


def per_call(fn, reps: int) -> float:
    """Mean seconds of ``reps`` back-to-back calls."""
    t0 = time.perf_counter()
    for _ in range(reps):
        fn()
    return (time.perf_counter() - t0) / reps


def time_row(M: int, K: int, N: int, ta: bool, packed: bool, rounds: int) -> tuple[float, float]:
    """Median seconds of one product on NumPy's BLAS (or the packed kernel) and on PyTorch's."""
    rng = np.random.default_rng(0)
    a = rng.standard_normal((K, M) if ta else (M, K), dtype=np.float32)
    b = rng.standard_normal((K, N), dtype=np.float32)
    c = np.empty((M, N), np.float32)
    A = a.T if ta else a
    if packed:  # rnnlab's route: W_hh^T packed once per sequence, as the kernels hold it
        pk = packed_panels(np.ascontiguousarray(b.T), True, np.float32)
        ours = lambda: packed_gemm(A, pk, 0.0, c)  # noqa: E731
    else:
        ours = lambda: np.matmul(A, b, out=c)  # noqa: E731
    At, bt = torch.from_numpy(a).T if ta else torch.from_numpy(a), torch.from_numpy(b)
    ct = torch.empty((M, N))
    theirs = lambda: torch.matmul(At, bt, out=ct)  # noqa: E731
    reps = max(1, int(2e-3 / max(per_call(ours, 3), 1e-7)))  # ~2 ms a round
    ours_t, theirs_t = [], []
    for _ in range(rounds):
        ours_t.append(per_call(ours, reps))
        theirs_t.append(per_call(theirs, reps))
    return statistics.median(ours_t), statistics.median(theirs_t)


def main() -> None:
    names = [w.name for w in workloads() if w.cell == "lstm"]
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--workload", default="2-layer bi tagger", choices=names)
    ap.add_argument("--rounds", type=int, default=11)
    args = ap.parse_args()
    w = next(x for x in workloads() if x.name == args.workload)
    torch.set_num_threads(1)
    print(
        f"{w.name}: LSTM B={w.B} H={w.H} T={w.T} I={w.I} K={w.K}, {w.layers} layer(s), "
        f"{'bidirectional' if w.bidirectional else 'one direction'}; float32, one thread"
    )
    print(
        "| product | M x K x N | count | NumPy GFLOP/s | PyTorch GFLOP/s "
        "| PyTorch / NumPy speed | NumPy ms per step | PyTorch ms per step |"
    )
    print("|---|---|---:|---:|---:|---:|---:|---:|")
    totals = [0.0, 0.0]
    with threadpool_limits(1):
        for name, M, K, N, ta, count in products(w):
            ours, theirs = time_row(M, K, N, ta, "packed" in name, args.rounds)
            flop = 2.0 * M * K * N
            totals[0] += count * ours
            totals[1] += count * theirs
            print(
                f"| {name} | {M} x {K} x {N}{' (A^T)' if ta else ''} | {count} "
                f"| {flop / ours / 1e9:.0f} | {flop / theirs / 1e9:.0f} | {ours / theirs:.2f} "
                f"| {1e3 * count * ours:.2f} | {1e3 * count * theirs:.2f} |"
            )
    print(
        f"All products of one step: NumPy/packed {1e3 * totals[0]:.1f} ms, "
        f"PyTorch {1e3 * totals[1]:.1f} ms."
    )


if __name__ == "__main__":
    main()
