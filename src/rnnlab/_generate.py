"""One-to-many generation for :mod:`rnnlab.model`: each output fed back as the next input."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ._validate import as_rng, check_array, check_choice, check_positive_int
from .layers import LayerCache, RecurrentLayer, StateArg
from .readout import Readout, ReadoutCache

FEEDBACK = ("identity", "argmax", "sample")


@dataclass
class GenerationCache:
    """Per-step caches of :meth:`SequenceModel.generate`, for :meth:`generate_backward`."""

    layer: list[LayerCache] = field(default_factory=list)
    readout: list[ReadoutCache] = field(default_factory=list)
    feedback: str = "identity"
    state_like: StateArg = None  # the structure of the state, to rebuild dL/d(state0)
    indices: np.ndarray | None = None  # (steps, B) classes fed back ("argmax" / "sample")


def _one_hot(idx: np.ndarray, K: int, dtype: np.dtype) -> np.ndarray:
    out = np.zeros((idx.shape[0], K), dtype=dtype)
    out[np.arange(idx.shape[0]), idx] = 1.0
    return out


def generate(
    layer: RecurrentLayer,
    readout: Readout,
    x0: np.ndarray,
    steps: int,
    state: StateArg,
    feedback: str,
    *,
    rng: int | np.random.Generator | None,
) -> tuple[np.ndarray, StateArg, GenerationCache]:
    """Run ``steps`` steps from ``x0 (B, I)``, feeding each output back (see
    :meth:`rnnlab.model.SequenceModel.generate`); returns ``y (steps, B, K)``, state, cache."""
    steps = check_positive_int("steps", steps)
    feedback = check_choice("feedback", feedback, FEEDBACK)
    check_array("x0", x0, ndim=2, dtype=layer.dtype, shape=(None, layer.input_size))
    K = readout.output_size
    if K != layer.input_size:
        raise ValueError(
            f"feedback: outputs are fed back as inputs, so output size {K} must equal "
            f"input size {layer.input_size}"
        )
    if feedback == "sample":
        if rng is None:
            raise ValueError("rng: feedback='sample' needs an int seed or Generator, got None")
        gen = as_rng(rng)
    B = x0.shape[0]
    if state is None:
        state = layer.zero_state(B)
    cache = GenerationCache(feedback=feedback, state_like=state)
    ys = np.empty((steps, B, K), dtype=layer.dtype)  # (steps, B, K)
    if feedback != "identity":
        cache.indices = np.empty((steps, B), dtype=np.int64)
    x_t = x0
    for t in range(steps):
        h, state, lc = layer.forward(x_t[None], state, check=t == 0)  # h (1, B, D*H)
        y, rc = readout.forward(h)  # (1, B, K)
        cache.layer.append(lc)
        cache.readout.append(rc)
        ys[t] = y[0]
        if feedback == "identity":
            x_t = y[0]
        elif feedback == "argmax":
            cache.indices[t] = np.argmax(y[0], axis=1)
            x_t = _one_hot(cache.indices[t], K, layer.dtype)
        else:
            p = np.clip(y[0].astype(np.float64), 0.0, None)
            p /= p.sum(axis=1, keepdims=True)
            u = gen.random((B, 1))
            idx = np.minimum((np.cumsum(p, axis=1) < u).sum(axis=1), K - 1)
            cache.indices[t] = idx
            x_t = _one_hot(idx, K, layer.dtype)
    return ys, state, cache


def generate_backward(
    layer: RecurrentLayer,
    readout: Readout,
    dy: np.ndarray,
    cache: GenerationCache,
    dstate: StateArg,
) -> tuple[np.ndarray, StateArg, dict[str, np.ndarray], dict[str, np.ndarray]]:
    """``dL/dy (steps, B, K)`` -> ``dL/dx0 (B, I)``, dL/d(state0), layer grads, readout grads."""
    steps = len(cache.layer)
    if steps == 0:
        raise ValueError("cache: expected the GenerationCache of a generate() call, got none")
    B, K = cache.readout[0].y.shape[1:]
    check_array("dy", dy, ndim=3, dtype=layer.dtype, shape=(steps, B, K))
    lgrads = {k: np.zeros_like(v) for k, v in layer.params.items()}
    rgrads = {k: np.zeros_like(v) for k, v in readout.params.items()}
    dx_next = np.zeros((B, K), dtype=layer.dtype)  # dL/dx^{t+1}, flows into y^t
    ds = dstate
    for t in range(steps - 1, -1, -1):
        dy_t = dy[t] + (dx_next if cache.feedback == "identity" else 0.0)  # (B, K)
        dh, rg = readout.backward(dy_t[None], cache.readout[t])  # (1, B, D*H)
        dx, ds, lg = layer.backward(dh, cache.layer[t], ds)  # dx (1, B, I)
        for k in lgrads:
            lgrads[k] += lg[k]
        for k in rgrads:
            rgrads[k] += rg[k]
        dx_next = dx[0]
    return dx_next, ds, lgrads, rgrads
