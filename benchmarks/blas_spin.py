"""Experiment (NOTES.md): how OpenBLAS's idle worker slows threads of our own that follow it.

Run: ``python benchmarks/blas_spin.py [--rounds N]``. Two threads of our own (the caller and one
pool thread) each multiply a different ``(64, 512)`` float32 block by the same ``(512, 2048)``
weight matrix, packed once, on the register-tile micro-kernel of ``packed_split.py``: no BLAS
call, no shared writes, no synchronisation but the join. Their combined rate is timed in three
situations, interleaved over N rounds (default 9):

* right after a 2-thread OpenBLAS product (NumPy's ``@`` of two 1024 x 1024 matrices);
* the same, with ``openblas_set_num_threads(1)`` called between the product and the threads;
* the same product followed by a 0.3 s pause before the threads start.

It also times one such thread alone (its rate doubled: what the two would reach if they scaled
perfectly) and prints the medians in GFLOP/s. The pause lets OpenBLAS's worker thread,
which spins after every multi-threaded call before it sleeps, reach its sleep.
"""

import argparse
import ctypes
import statistics
import time
from concurrent.futures import ThreadPoolExecutor

import numpy as np
from numba import njit
from packed_split import JIT, MR, _pack_rows, _panels

from rnnlab.kernels._blas import _numpy_blas_candidates

M, K, N, NR, KC, REPS = 64, 512, 2048, 16, 256, 10


@njit(**JIT)
def _products(A, Wp, C, Ap, reps):
    """C += A Wp, ``reps`` times (Wp: the weights packed in panels of NR columns)."""
    for _ in range(reps):
        _pack_rows(A, Ap)
        _panels(Ap, A.shape[0], Wp, 0, Wp.shape[0], C, A.shape[1], KC)


def main(rounds: int) -> None:
    lib = ctypes.CDLL(_numpy_blas_candidates()[0])
    set_threads = lib.scipy_openblas_set_num_threads64_
    set_threads.argtypes = [ctypes.c_int]
    rng = np.random.default_rng(0)
    A = [rng.standard_normal((M, K)).astype(np.float32) for _ in range(2)]
    W = rng.standard_normal((N, K)).astype(np.float32)
    Wp = np.ascontiguousarray(W.reshape(N // NR, NR, K).transpose(0, 2, 1))  # (N/NR, K, NR)
    C = [np.zeros((M, N), np.float32) for _ in range(2)]
    Ap = [np.empty((-(-M // MR), K, MR), np.float32) for _ in range(2)]
    big = np.ones((1024, 1024), np.float32)
    pool = ThreadPoolExecutor(1)
    flop = 2 * M * K * N * REPS

    def alone() -> float:
        t0 = time.perf_counter()
        _products(A[0], Wp, C[0], Ap[0], REPS)
        return 2 * flop / (time.perf_counter() - t0) / 1e9

    def two_threads() -> float:
        t0 = time.perf_counter()
        other = pool.submit(_products, A[1], Wp, C[1], Ap[1], REPS)
        _products(A[0], Wp, C[0], Ap[0], REPS)
        other.result()
        return 2 * flop / (time.perf_counter() - t0) / 1e9

    two_threads()  # compile
    rates: dict[str, list[float]] = {
        "one thread alone, x2": [],
        "right after a 2-thread OpenBLAS call": [],
        "the same, OpenBLAS set to 1 thread first": [],
        "the same, 0.3 s pause first": [],
    }
    for _ in range(rounds):
        time.sleep(0.3)
        rates["one thread alone, x2"].append(alone())
        big @ big
        rates["right after a 2-thread OpenBLAS call"].append(two_threads())
        big @ big
        set_threads(1)
        rates["the same, OpenBLAS set to 1 thread first"].append(two_threads())
        set_threads(2)
        big @ big
        time.sleep(0.3)
        rates["the same, 0.3 s pause first"].append(two_threads())
    for name, values in rates.items():
        print(f"{name:42} {statistics.median(values):6.1f} GFLOP/s", flush=True)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=9, help="interleaved rounds (default 9)")
    main(parser.parse_args().rounds)
