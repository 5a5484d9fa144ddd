"""Gradients of one batch: full BPTT, or truncated BPTT in chunks of ``l`` steps.

Both take an optional start ``state`` (a stateful source's carried hidden state, a constant:
no gradient flows into it) and give back the final state, so the next chunk of a stream can
start where this one ended.
"""

from __future__ import annotations

from collections.abc import Generator
from typing import Any

import numpy as np

from ..data import DataSource
from ..layers import StateArg
from ..model import SequenceModel, mask_from_last
from ..tasks.base import Batch

Grads = dict[str, np.ndarray]


def full_bptt(
    model: SequenceModel, source: DataSource, b: Batch, state: StateArg = None
) -> tuple[float, Grads, np.ndarray, StateArg]:
    """Loss, gradients over the whole sequence, outputs ``y (T, B, K)``, final state."""
    value, grads, s_T, y = model.loss_and_grads(
        b.x, b.y, **b.loss_kwargs(source.target), state=state
    )
    return value, grads, y, s_T


def tbptt_chunks(
    model: SequenceModel, source: DataSource, b: Batch, k: int, state: StateArg = None
) -> Generator[tuple[float, Grads | None, np.ndarray], None, StateArg]:
    """Truncated BPTT: yield ``(loss, grads, y_chunk)`` for each chunk of ``k`` steps; return the
    final state (``StopIteration.value``).

    The final state of a chunk starts the next one as a constant, so no gradient crosses a chunk
    border. Each chunk's loss is its share of the whole sequence's loss (the chunk losses sum to
    the full loss when the parameters do not change in between); ``grads`` is ``None`` for a
    chunk that holds no target. The next chunk is computed only when the caller asks for it, so
    an update made in between is used by the rest of the sequence.
    """
    T, B = b.x.shape[:2]
    if source.target == "last":
        full_mask = mask_from_last(b.last, T)  # (T, B): one target per sequence
        total = float(B)
    else:
        full_mask = b.mask if b.mask is not None else np.ones((T, B))
        total = float(full_mask.sum())
    for s in range(0, T, k):
        e = min(s + k, T)
        m = full_mask[s:e]  # (l, B)
        n = float(m.sum())
        x = b.x[s:e]
        if n == 0:
            y, state, _ = model.forward(x, state)
            yield 0.0, None, y
            continue
        if source.target == "last":
            tgt = np.zeros((e - s,) + b.y.shape, dtype=b.y.dtype)  # (l, B, ...) for every step
            tgt[:] = b.y[None]
        else:
            tgt = b.y[s:e]
        value, grads, state, y = model.loss_and_grads(x, tgt, mask=m, state=state, scale=n / total)
        yield value, grads, y
    return state


def run_chunks(
    chunks: Generator[tuple[float, Grads | None, np.ndarray], None, StateArg],
    update: Any,
) -> tuple[float, float, list[np.ndarray], StateArg, bool]:
    """Drive :func:`tbptt_chunks`, calling ``update(grads) -> norm`` after each chunk.

    Returns ``(summed loss, largest norm, chunk outputs, final state, finished)``; ``finished``
    is False when a non-finite norm stopped it early (that norm is returned).
    """
    total, norm, ys = 0.0, 0.0, []
    while True:
        try:
            value, grads, y = next(chunks)
        except StopIteration as stop:
            return total, norm, ys, stop.value, True
        ys.append(y)
        if grads is None:
            continue
        total += value
        n = update(grads)
        if not np.isfinite(n):
            return total, n, ys, None, False
        norm = max(norm, n)
