"""What the fast kernels share: the Numba options, the chunk length and argument plumbing."""

from __future__ import annotations

import numpy as np

from ._buffers import SCRATCH

# error_model="numpy": no zero-division branch on every "/", so gate loops vectorise.
# fastmath only "contract": a * b + c may become one fused multiply-add (rounded once, so no
# less accurate); the LSTM's forward gate loops ran 1.3x faster, its backward ones 1.04x. No
# reassociation, no assumptions about inf or NaN (benchmarks/NOTES.md).
JIT = dict(cache=True, error_model="numpy", fastmath={"contract"}, nogil=True)

# The backward pass keeps the pre-activation gradients da of a chunk of (time step, sequence)
# rows, then folds them into dW_xh, dW_hh and dx with three GEMMs. Long chunks make efficient
# GEMMs; short chunks keep the extra memory small next to the cache: a chunk has at most a
# quarter of the T*B rows, at least MIN_ROWS and at most CHUNK_ROWS (see benchmarks/NOTES.md).
CHUNK_ROWS = 1024
MIN_ROWS = 256


def chunk_steps(T: int, B: int) -> int:
    """Time steps per backward chunk (at least 1, at most T)."""
    rows = min(CHUNK_ROWS, max(MIN_ROWS, T * B // 4))
    return max(1, min(T, -(-rows // B)))


def work_buffer(T: int, B: int, width: int, dtype: np.dtype, tag: str = "work") -> np.ndarray:
    """The backward pass's chunk of pre-activation gradients, ``(chunk_steps(T, B), B, width)``:
    a per-thread array of the calling kernel (``_buffers.Scratch``; one ``tag`` per array of a
    call), which the kernel writes before it reads.

    Work arrays are allocated here and passed in: a loop that writes into an array the kernel
    allocated itself was measured 2.5x slower (LLVM did not vectorise it).
    """
    return SCRATCH.get(tag, (chunk_steps(T, B), B, width), dtype)


def as_c(a: np.ndarray, dtype: np.dtype) -> np.ndarray:
    """``a`` as a C-contiguous array of ``dtype`` (no copy when it already is one)."""
    return np.ascontiguousarray(a, dtype=dtype)


def optional(p: dict[str, np.ndarray], name: str, dtype: np.dtype) -> np.ndarray:
    """Parameter ``name`` or an empty array: one compiled kernel serves both kinds of cell."""
    return as_c(p[name], dtype) if name in p else np.empty(0, dtype=dtype)


def forward_wt(dtype: np.dtype, batch: int) -> bool:
    """Whether the forward pass takes its weights transposed (``W^T``, stored row by row).

    The products ``h @ W.T`` then run as no-transpose GEMMs, which OpenBLAS ran 1.1-2.4x faster
    in float32 at B > 1 (same bits: the same sums in the same order); in float64, and for a
    batch of one (a GEMV), no consistent gain (``benchmarks/NOTES.md``). A fixed rule, not a
    timing, so a run's results never depend on the machine's state.
    """
    return dtype == np.float32 and batch > 1


def one_hot_codes(x: np.ndarray) -> np.ndarray:
    """For ``x (T, B, I)`` whose every row is one-hot (a single 1, zeros elsewhere; characters
    fed to a character model), the column of each row's 1 as ``(T*B,)`` int64; else an empty
    array.

    Why: then ``x W_xh^T`` is a gather of columns of ``W_xh`` (exactly the GEMM's value: the
    other terms are zeros) and ``dW_xh`` a scatter-add of rows, instead of two GEMMs whose work
    grows with the vocabulary (``benchmarks/NOTES.md``). Three passes over ``x``; the first row
    rejects most other inputs at once.
    """
    none = np.empty(0, dtype=np.int64)
    if x.size == 0:
        return none
    # the first row before any reshape: x may be a strided view (a reversed direction), whose
    # reshape is a copy of the whole input
    first = x[(0,) * (x.ndim - 1)]
    if first[first.argmax()] != 1 or np.count_nonzero(first) != 1:  # argmax: 4x max's speed
        return none
    rows = x.reshape(-1, x.shape[-1])
    if np.count_nonzero(rows) != rows.shape[0]:  # one nonzero per row on average
        return none
    codes = rows.argmax(axis=1)
    if not np.all(rows[np.arange(rows.shape[0]), codes] == 1):  # ... and that one is a 1
        return none
    return codes.astype(np.int64)


def forward_weight(w: np.ndarray, dtype: np.dtype, wt: bool) -> np.ndarray:
    """``w`` for the forward kernel: C-contiguous, as a transposed copy when ``wt`` (one copy of
    the weights per sequence)."""
    return np.ascontiguousarray(w.T if wt else w, dtype=dtype)
