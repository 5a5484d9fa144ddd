"""Peak memory of the BPTT caches of the fast kernels, relative to the activations they keep.

Run: ``python benchmarks/memory.py``. ``tracemalloc`` sees NumPy's and Numba's allocations. The
"activations" are the cache arrays without ``x`` (the caller's input, held by reference). The
backward peak counts the cache it reads; "without outputs" leaves out dx, the gradients and
dstate, which any implementation must return. The kernels' buffer pool is emptied first, so
the peaks are those of a first call (later calls reuse the released buffers of earlier ones).
"""

import tracemalloc

import numpy as np

import rnnlab

T, B, H = 100, 32, 256


def measure(cls: type, backend: str) -> str:
    layer = cls(H, H, rng=0, dtype=np.float32, backend=backend)
    x = np.random.default_rng(0).standard_normal((T, B, H)).astype(np.float32)  # (T, B, I)
    dy = np.ones((T, B, H), np.float32)  # (T, B, H)
    layer.backward(dy, layer.forward(x)[2])  # compile and warm up
    rnnlab.kernels.POOL.clear()  # count fresh allocations, as on a first call
    tracemalloc.start()
    _, _, cache = layer.forward(x)
    forward_peak = tracemalloc.get_traced_memory()[1]
    acts = sum(a.nbytes for step in cache.steps for k, a in step.items() if k != "x")
    tracemalloc.reset_peak()
    held = tracemalloc.get_traced_memory()[0]
    dx, ds, grads = layer.backward(dy, cache)
    peak = tracemalloc.get_traced_memory()[1] - held + acts
    tracemalloc.stop()
    states = ds if isinstance(ds, tuple) else (ds,)
    outs = dx.nbytes + sum(g.nbytes for g in grads.values()) + sum(a.nbytes for a in states)
    return (
        f"| {cls.__name__:4} | {backend:9} | {acts / 2**20:5.2f} MiB | {forward_peak / acts:.2f}x "
        f"| {peak / acts:.2f}x | {(peak - outs) / acts:.2f}x |"
    )


if __name__ == "__main__":
    for cls in (rnnlab.RNN, rnnlab.LSTM, rnnlab.GRU):
        for backend in ("fast", "reference"):
            print(measure(cls, backend))
