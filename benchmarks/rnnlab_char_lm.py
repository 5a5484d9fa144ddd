"""rnnlab's default text model under the same budget as the two baselines.

The model, data and settings of ``rnnlab train --text stdlib`` (2-layer LSTM of 256 units,
float32, B=32 streams, chunks of T=100, Adam 4e-3, norm clipping at 5), driven step by step
through :class:`rnnlab.training.Trainer` so training stops after ``--budget`` CPU seconds and
evaluations do not count; snapshots and scoring as in ``min_char_rnn.py``. Usage::

    python benchmarks/rnnlab_char_lm.py --text stdlib --budget 300 --out benchmarks/text/rnnlab.json
"""

from __future__ import annotations

import time

import numpy as np
from _char_result import nudge, parse_args, write_result  # benchmarks/, beside this script

from rnnlab.text import TextSource, score, text_config
from rnnlab.training import Trainer, build_model, resolve_config
from rnnlab.training.build import make_optimizer_for, single_thread_blas


def main() -> None:
    a = parse_args(__doc__)
    src = TextSource(a.text)
    c = resolve_config(text_config(seed=a.seed, time_budget=None), src)
    model = build_model(c, src)
    nudge(model, a.nudge)
    trainer = Trainer(c, src, model)
    # Compile the kernels before the clock starts, on a throwaway copy (same shapes and dtype),
    # without moving the source's stream.
    pos = src.state_dict()
    b = src.next_batch(c.batch, np.random.default_rng(0))
    src.load_state_dict(pos)
    warm = build_model(c, src)
    with single_thread_blas():
        _, grads, _, _ = warm.loss_and_grads(b.x, b.y)
        make_optimizer_for(c).step(warm.params, grads)
        score(warm, src.codes[:100])
    trainer._start = time.perf_counter()
    copy = lambda: {k: v.copy() for k, v in model.params.items()}
    snaps = [(0.0, 0.0, 0, copy())]
    with single_thread_blas():
        c0, w0 = time.process_time(), time.perf_counter()
        while (cpu := time.process_time() - c0) < a.budget:
            trainer.train_step()
            if cpu >= a.snapshot * len(snaps):
                snaps.append((cpu, time.perf_counter() - w0, trainer.step, copy()))
        cpu, wall = time.process_time() - c0, time.perf_counter() - w0
        snaps.append((cpu, wall, trainer.step, copy()))
        val = src.codes[src.train_chars :]
        curve = []
        for cs, ws, st, p in snaps:
            model.load_params(p)
            nats = score(model, val[: a.curve_chars])[0] / (min(a.curve_chars, len(val)) - 1)
            curve.append({"cpu_s": cs, "wall_s": ws, "steps": st, "heldout_nats": nats})
        total, n = score(model, val)
    final = total / n
    write_result(
        a.out,
        f"rnnlab LSTM {c.layers}x{c.hidden} (rnnlab train --text defaults)",
        budget=a.budget,
        cpu=cpu,
        wall=wall,
        steps=trainer.step,
        chars_seen=trainer.step * c.batch * src.T,
        curve_chars=a.curve_chars,
        curve=curve,
        heldout_chars=len(val),
        final=final,
    )


if __name__ == "__main__":
    main()
