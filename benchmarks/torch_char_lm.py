"""The higher anchor: rnnlab's default text model trained with PyTorch, same data, same settings.

``torch.nn.LSTM`` (2 layers, 256 units) + ``nn.Linear`` + softmax cross-entropy at every step,
``torch.optim.Adam`` (lr 4e-3) and ``clip_grad_norm_`` at 5, float32, one thread: rnnlab's text
defaults. The initial weights are rnnlab's own (copied with ``rnnlab.interop.to_torch``; the
second bias PyTorch keeps is frozen at zero, ``rnnlab_parameters``, since Adam over both would
move the one bias rnnlab has twice as fast) and the
batches come from the same :class:`rnnlab.text.TextSource` stream with the same seed (B=32
streams, chunks of T=100, the hidden state carried between chunks and reset every 20), so only
the implementation differs. Budget, snapshots and scoring as in ``min_char_rnn.py`` (CPU seconds;
held-out text scored by the fixed rule). Usage::

    python benchmarks/torch_char_lm.py --text stdlib --budget 300 --out benchmarks/text/torch.json
"""

from __future__ import annotations

import time

import numpy as np
import torch
from _char_result import nudge, parse_args, write_result  # benchmarks/, beside this script

from rnnlab.interop import rnnlab_parameters, to_torch
from rnnlab.text import TextSource, text_config
from rnnlab.training import build_model, resolve_config
from rnnlab.training.build import seed_streams


def score(lstm, lin, codes: np.ndarray, V: int, chunk: int = 4096) -> float:
    """nats/char by the fixed rule (zero state at the start, carried to the end)."""
    total, state = 0.0, None
    with torch.no_grad():
        for s in range(0, len(codes) - 1, chunk):
            e = min(s + chunk, len(codes) - 1)
            x = torch.nn.functional.one_hot(torch.from_numpy(codes[s:e].astype(np.int64)), V)
            y, state = lstm(x.float()[:, None, :], state)
            z = lin(y[:, 0, :])
            tgt = torch.from_numpy(codes[s + 1 : e + 1].astype(np.int64))
            total += float(torch.nn.functional.cross_entropy(z, tgt, reduction="sum"))
    return total / (len(codes) - 1)


def main() -> None:
    a = parse_args(__doc__)
    torch.set_num_threads(1)
    src = TextSource(a.text)
    V = src.vocab.size
    c = resolve_config(text_config(seed=a.seed), src)
    model = build_model(c, src)
    nudge(model, a.nudge)
    lstm = to_torch(model.layer).float()
    lin = torch.nn.Linear(c.hidden, V)
    with torch.no_grad():
        lin.weight.copy_(torch.from_numpy(model.readout.params["W_hy"].astype(np.float32)))
        lin.bias.copy_(torch.from_numpy(model.readout.params["b_y"].astype(np.float32)))
    params = rnnlab_parameters(lstm) + list(lin.parameters())  # one bias per gate, as rnnlab
    opt = torch.optim.Adam(params, lr=c.lr)
    rng = np.random.default_rng(seed_streams(c.seed)[1])  # the trainer's batch stream
    state = None
    snaps, it = [], 0

    def copy():
        return (
            {k: v.clone() for k, v in lstm.state_dict().items()},
            {k: v.clone() for k, v in lin.state_dict().items()},
        )

    snaps.append((0.0, 0.0, 0, copy()))
    c0, w0 = time.process_time(), time.perf_counter()
    while (cpu := time.process_time() - c0) < a.budget:
        b = src.next_batch(c.batch, rng)
        x = torch.from_numpy(b.x)
        y = torch.from_numpy(b.y.astype(np.int64))
        if not b.carry:
            state = None
        opt.zero_grad()
        out, (h, cc) = lstm(x, state)
        z = lin(out)
        loss = torch.nn.functional.cross_entropy(z.reshape(-1, V), y.reshape(-1))
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, c.clip)
        opt.step()
        state = (h.detach(), cc.detach())
        it += 1
        if cpu >= a.snapshot * len(snaps):
            snaps.append((cpu, time.perf_counter() - w0, it, copy()))
    cpu, wall = time.process_time() - c0, time.perf_counter() - w0
    snaps.append((cpu, wall, it, copy()))
    val = src.codes[src.train_chars :]
    curve = []
    for cs, ws, st, (sl, sn) in snaps:
        lstm.load_state_dict(sl)
        lin.load_state_dict(sn)
        curve.append(
            {
                "cpu_s": cs,
                "wall_s": ws,
                "steps": st,
                "heldout_nats": score(lstm, lin, val[: a.curve_chars], V),
            }
        )
    final = score(lstm, lin, val, V)
    write_result(
        a.out,
        f"PyTorch {torch.__version__} nn.LSTM 2x{c.hidden} (same data, settings, init)",
        budget=a.budget,
        cpu=cpu,
        wall=wall,
        steps=it,
        chars_seen=it * c.batch * src.T,
        curve_chars=a.curve_chars,
        curve=curve,
        heldout_chars=len(val),
        final=final,
    )


if __name__ == "__main__":
    main()
