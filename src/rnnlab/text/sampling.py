"""Generating text from a character model: temperature, top-k, greedy, a prime, a seed.

One rule for every path: from the logits ``z`` of the next character, the reserved unknown
symbol is excluded; ``temperature == 0`` takes the argmax (greedy); otherwise only the ``top_k``
largest logits are kept (all when ``top_k`` is None), ``p ∝ exp((z - max z) / temperature)``,
and the character is the first whose cumulative probability exceeds ``u * sum(p)``, with ``u``
the next of ``length`` uniforms drawn up front from ``numpy.random.default_rng(seed)``. The same
seed therefore gives the same text. A standard LSTM (no peepholes) runs a compiled loop in
float32 (:mod:`rnnlab.text._sample_kernel`, on two cores where two are free; the text does not
depend on the number of threads); other layers step through their own ``forward`` (the same
rule; the numbers agree to float32 rounding, so a near tie between two characters may break
differently).
"""

from __future__ import annotations

import numbers
from typing import Any

import numpy as np

from .._cores import second_core_free
from .._validate import as_rng, check_positive_int
from .source import one_hot
from .vocab import Vocabulary


def check_sampling(
    length: int, temperature: float, top_k: int | None, vocab: Vocabulary, prime: str
) -> np.ndarray:
    """Validate the sampling settings; return the prime's indices. Raises ValueError."""
    if isinstance(length, bool) or not isinstance(length, numbers.Integral) or length < 1:
        raise ValueError(f"length: expected a positive number of characters, got {length!r}")
    if isinstance(temperature, bool) or not isinstance(temperature, numbers.Real):
        raise TypeError(f"temperature: expected a number >= 0, got {temperature!r}")
    if not np.isfinite(temperature) or temperature < 0:
        raise ValueError(f"temperature: expected a finite number >= 0, got {temperature}")
    if top_k is not None and (
        isinstance(top_k, bool) or not isinstance(top_k, numbers.Integral) or top_k < 1
    ):
        raise ValueError(f"top_k: expected a positive int (or None for all), got {top_k!r}")
    if not isinstance(prime, str):
        raise TypeError(f"prime: expected a string, got {type(prime).__name__}")
    bad = vocab.unknown(prime)
    if bad:
        raise ValueError(
            f"prime: expected characters of the model's vocabulary; not in it: "
            f"{', '.join(repr(c) for c in bad)}"
        )
    return vocab.encode(prime).astype(np.intp)


def _choose(z: np.ndarray, u: float, temperature: float, top_k: int) -> int:
    """One character from the logits ``z (V,)`` (float64) by the module's rule."""
    z = z.copy()
    z[0] = -np.inf  # never the reserved unknown symbol
    if temperature == 0.0:
        return int(np.argmax(z))
    if top_k < len(z) - 1:
        thr = np.sort(z)[len(z) - top_k]
        z[z < thr] = -np.inf
    p = np.exp((z - z.max()) / temperature)
    c = np.cumsum(p)
    return int(min(np.searchsorted(c, u * c[-1], side="right"), len(z) - 1))


def _lstm_arrays(layer: Any, readout: Any) -> tuple[np.ndarray, ...] | None:
    """The weights the compiled loop needs (float32, laid out for row-by-row accumulation), or
    None when the layer is not a standard LSTM."""
    if layer.family != "lstm" or layer.bidirectional or layer.peepholes or not layer.forget_gate:
        return None
    L, p = layer.num_layers, layer.params
    H = layer.hidden_size
    f32 = np.float32
    Wx0 = np.ascontiguousarray(p["W_xh_l0"].T, dtype=f32)  # (V, 4H): a one-hot input is a row
    Wx = np.zeros((max(L - 1, 1), H, 4 * H), dtype=f32)
    for k in range(1, L):
        Wx[k - 1] = p[f"W_xh_l{k}"].T
    Wh = np.ascontiguousarray(np.stack([p[f"W_hh_l{k}"].T for k in range(L)]), dtype=f32)
    b = np.stack([p[f"b_h_l{k}"] for k in range(L)]).astype(f32)  # (L, 4H)
    Wy = np.ascontiguousarray(readout.params["W_hy"].T, dtype=f32)  # (H, V)
    by = readout.params["b_y"].astype(f32)
    return Wx0, Wx, Wh, b, Wy, by


def sampling_threads(hidden: int, threads: int | None = None) -> int:
    """Threads for the compiled loop: ``threads`` when given (checked), else 2 where the process
    may use two cores, the hidden size is even and the 1-minute load average leaves a core free
    (a spinning barrier is slow when the threads must take turns on one core), else 1."""
    if threads is not None:
        threads = check_positive_int("threads", threads)
        if hidden % threads:
            raise ValueError(
                f"threads: expected a divisor of the hidden size {hidden}, got {threads}"
            )
        return threads
    return 2 if hidden % 2 == 0 and second_core_free() else 1


def sample(
    model: Any,
    vocab: Vocabulary,
    *,
    length: int = 500,
    temperature: float = 1.0,
    top_k: int | None = None,
    prime: str = "",
    seed: int | np.random.Generator | None = 0,
    threads: int | None = None,
) -> str:
    """Generate ``length`` characters after ``prime`` (returned without the prime).

    Parameters
    ----------
    model : SequenceModel
        A character model (one-hot inputs and a softmax readout over ``vocab``).
    vocab : Vocabulary
        Its vocabulary (``rnnlab.text.Vocabulary.load(run_folder)``).
    length : int
        Characters to generate, >= 1.
    temperature : float
        0 is greedy; 1 samples the model's distribution; below 1 is more conservative.
    top_k : int or None
        Sample among the ``k`` likeliest characters only.
    prime : str
        Text the model reads first (state zero before it); empty: a newline is read first.
    seed : int or Generator
        All randomness comes from it; the same seed gives the same text.
    threads : int or None
        Threads of the compiled LSTM loop (a divisor of the hidden size); None: 2 where two
        cores are free, else 1. The text does not depend on it.
    """
    V = vocab.size
    if model.layer.input_size != V or model.readout.output_size != V:
        raise ValueError(
            f"vocab: expected {model.layer.input_size} symbols like the model, got {V}"
        )
    codes = check_sampling(length, temperature, top_k, vocab, prime)
    n_threads = sampling_threads(model.layer.hidden_size, threads)
    u = as_rng(seed).random(int(length))  # (length,) uniforms, one per character
    k = V - 1 if top_k is None else min(int(top_k), V - 1)
    start = codes if len(codes) else np.array([vocab.index("\n") or 1], dtype=np.intp)
    state = None
    if len(start) > 1:  # read the prime but its last character, which starts the loop
        _, state, _ = model.layer.forward(one_hot(start[:-1, None], V, model.dtype))
    arrays = _lstm_arrays(model.layer, model.readout)
    if arrays is not None:
        L, H = model.layer.num_layers, model.layer.hidden_size
        f32 = np.float32
        h = np.zeros((L, H), f32) if state is None else state[0][:, 0, :].astype(f32)
        c = np.zeros((L, H), f32) if state is None else state[1][:, 0, :].astype(f32)
        from ._sample_kernel import sample_lstm  # compiled: loaded on first use

        out = sample_lstm(arrays, h, c, int(start[-1]), u, float(temperature), k, n_threads)
        return vocab.decode(out)
    out, x = [], int(start[-1])
    for t in range(int(length)):
        hh, state, _ = model.layer.forward(one_hot(np.array([[x]]), V, model.dtype), state)
        W, b = model.readout.params["W_hy"], model.readout.params["b_y"]
        z = (hh[0, 0] @ W.T + b).astype(np.float64)
        x = _choose(z, float(u[t]), float(temperature), k)
        out.append(x)
    return vocab.decode(out)
