"""A min-char-rnn baseline (after Karpathy's 112-line gist) on rnnlab's text pipeline.

Vanilla tanh RNN, 100 hidden units, chunks of 25 characters with the hidden state carried from
chunk to chunk through one stream, Adagrad at learning rate 0.1, every gradient entry clipped to
[-5, 5], NumPy in float64 on one core: Karpathy's settings. The corpus, its vocabulary and its
held-out split come from :class:`rnnlab.text.TextSource`, so all baselines see the same data.

Training stops after ``--budget`` CPU seconds (``time.process_time``, so other processes on
the machine do not shorten it); every ``--snapshot`` CPU seconds the parameters are copied, and
after training each copy is scored on the held-out text by rnnlab's fixed rule (zero state at
its first character, carried to its end). Usage::

    python benchmarks/min_char_rnn.py --text stdlib --budget 300 \
        --out benchmarks/text/min_char_rnn.json
"""

from __future__ import annotations

import math
import time

import numpy as np
from _char_result import parse_args, write_result  # benchmarks/, beside this script
from threadpoolctl import threadpool_limits

from rnnlab.text import TextSource

H, T, LR, CLIP = 100, 25, 0.1, 5.0


def init(V: int, seed: int) -> dict[str, np.ndarray]:
    g = np.random.default_rng(seed)
    return {
        "Wxh": g.standard_normal((H, V)) * 0.01,
        "Whh": g.standard_normal((H, H)) * 0.01,
        "Why": g.standard_normal((V, H)) * 0.01,
        "bh": np.zeros((H, 1)),
        "by": np.zeros((V, 1)),
    }


def loss_fun(p, inputs, targets, hprev):
    """Karpathy's lossFun: forward and BPTT over one chunk; returns loss, grads, last h."""
    hs, ps = {-1: np.copy(hprev)}, {}
    loss = 0.0
    for t in range(len(inputs)):
        hs[t] = np.tanh(p["Wxh"][:, inputs[t] : inputs[t] + 1] + p["Whh"] @ hs[t - 1] + p["bh"])
        y = p["Why"] @ hs[t] + p["by"]
        e = np.exp(y - y.max())
        ps[t] = e / e.sum()
        loss += -math.log(ps[t][targets[t], 0])
    d = {k: np.zeros_like(v) for k, v in p.items()}
    dhnext = np.zeros_like(hs[0])
    for t in reversed(range(len(inputs))):
        dy = np.copy(ps[t])
        dy[targets[t]] -= 1
        d["Why"] += dy @ hs[t].T
        d["by"] += dy
        dh = p["Why"].T @ dy + dhnext
        dhraw = (1 - hs[t] * hs[t]) * dh
        d["bh"] += dhraw
        d["Wxh"][:, inputs[t]] += dhraw[:, 0]
        d["Whh"] += dhraw @ hs[t - 1].T
        dhnext = p["Whh"].T @ dhraw
    for v in d.values():
        np.clip(v, -CLIP, CLIP, out=v)
    return loss, d, hs[len(inputs) - 1]


def score(p, codes: np.ndarray) -> float:
    """nats/char on ``codes`` by the fixed rule (zero state at the start, carried)."""
    h = np.zeros((H, 1))
    total = 0.0
    Wxh, Whh, Why, bh, by = p["Wxh"], p["Whh"], p["Why"], p["bh"], p["by"]
    for t in range(len(codes) - 1):
        h = np.tanh(Wxh[:, codes[t] : codes[t] + 1] + Whh @ h + bh)
        y = (Why @ h + by)[:, 0]
        m = y.max()
        total += m + math.log(np.exp(y - m).sum()) - y[codes[t + 1]]
    return total / (len(codes) - 1)


def main() -> None:
    a = parse_args(__doc__)
    src = TextSource(a.text)
    V = src.vocab.size
    train = src.codes[: src.train_chars].astype(np.int64)
    val = src.codes[src.train_chars :].astype(np.int64)
    with threadpool_limits(1):
        p = init(V, a.seed)
        mem = {k: np.zeros_like(v) for k, v in p.items()}
        hprev, pos, it = np.zeros((H, 1)), 0, 0
        snaps = [(0.0, 0.0, 0, {k: v.copy() for k, v in p.items()})]
        c0, w0 = time.process_time(), time.perf_counter()
        while (cpu := time.process_time() - c0) < a.budget:
            if pos + T + 1 >= len(train):
                hprev, pos = np.zeros((H, 1)), 0  # a new pass starts from a zero state
            inputs, targets = train[pos : pos + T], train[pos + 1 : pos + T + 1]
            _, d, hprev = loss_fun(p, inputs, targets, hprev)
            for k in p:  # Adagrad
                mem[k] += d[k] * d[k]
                p[k] += -LR * d[k] / np.sqrt(mem[k] + 1e-8)
            pos += T
            it += 1
            if cpu >= a.snapshot * len(snaps):
                snaps.append(
                    (cpu, time.perf_counter() - w0, it, {k: v.copy() for k, v in p.items()})
                )
        cpu, wall = time.process_time() - c0, time.perf_counter() - w0
        snaps.append((cpu, wall, it, p))
        curve = [
            {"cpu_s": c, "wall_s": w, "steps": s, "heldout_nats": score(q, val[: a.curve_chars])}
            for c, w, s, q in snaps
        ]
        final = score(p, val)
    write_result(
        a.out,
        "min-char-rnn (NumPy, tanh RNN 100, T=25, Adagrad 0.1, clip 5)",
        budget=a.budget,
        cpu=cpu,
        wall=wall,
        steps=it,
        chars_seen=it * T,
        curve_chars=a.curve_chars,
        curve=curve,
        heldout_chars=len(val),
        final=final,
    )


if __name__ == "__main__":
    main()
