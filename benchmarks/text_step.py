"""One char-LM training step, rnnlab against PyTorch, timed side by side in one process.

The step: a 2-layer LSTM (H=256) over a batch of B=32 chunks of T characters (V=100, one-hot,
float32): forward, softmax cross-entropy at every step, BPTT, norm clipping at 5, one Adam
update. rnnlab runs it as its trainer does (``Trainer.gradient_step``); PyTorch as
``nn.LSTM`` + ``nn.Linear`` + ``cross_entropy`` + ``backward`` + ``clip_grad_norm_`` +
``optim.Adam``, from the same initial weights and batches. Both on one thread; the two are
interleaved round by round so a change of machine load hits both, and each step is timed in
CPU seconds (``time.process_time``) and wall seconds. Also: sampling 10,000 characters from the
same 2x256 LSTM with ``rnnlab.text.sample``, on one thread and on two. Usage::

    python benchmarks/text_step.py [--rounds 15] [--out benchmarks/text/step.json]
"""

from __future__ import annotations

import argparse
import json
import statistics
import time

import numpy as np
import torch

from rnnlab.data import ArrayDataset
from rnnlab.interop import to_torch
from rnnlab.tasks.base import Batch
from rnnlab.text import Vocabulary, sample, text_config
from rnnlab.training import Trainer, build_model, resolve_config
from rnnlab.training.build import single_thread_blas

V, H, B = 100, 256, 32


def setup(T: int, seed: int = 0):
    rng = np.random.default_rng(seed)
    codes = rng.integers(V, size=(T + 1, B))
    x = np.eye(V, dtype=np.float32)[codes[:-1]]  # (T, B, V)
    data = ArrayDataset(x, codes[1:], target="every", loss="ce", classes=V, val_fraction=0.5)
    c = resolve_config(text_config(hidden=H, batch=B // 2, time_budget=None), data)
    model = build_model(c, data)
    trainer = Trainer(c, data, model)
    batch = Batch(x=x, y=codes[1:], mask=None, last=np.full(B, T - 1))
    lstm = to_torch(model.layer).float()
    lin = torch.nn.Linear(H, V)
    with torch.no_grad():
        lin.weight.copy_(torch.from_numpy(model.readout.params["W_hy"]))
        lin.bias.copy_(torch.from_numpy(model.readout.params["b_y"]))
    params = list(lstm.parameters()) + list(lin.parameters())
    opt = torch.optim.Adam(params, lr=c.lr)
    tx, ty = torch.from_numpy(x), torch.from_numpy(codes[1:].astype(np.int64))

    def ours():
        trainer.gradient_step(batch)

    def theirs():
        opt.zero_grad()
        out, _ = lstm(tx)
        loss = torch.nn.functional.cross_entropy(lin(out).reshape(-1, V), ty.reshape(-1))
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, c.clip)
        opt.step()

    return ours, theirs, model


def timed(fn):
    c, w = time.process_time(), time.perf_counter()
    fn()
    return time.process_time() - c, time.perf_counter() - w


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rounds", type=int, default=15)
    ap.add_argument("--out", default=None)
    a = ap.parse_args()
    torch.set_num_threads(1)
    result = {"V": V, "H": H, "B": B, "layers": 2, "dtype": "float32", "threads": 1, "steps": {}}
    with single_thread_blas():
        for T in (50, 100):
            ours, theirs, model = setup(T)
            for _ in range(3):  # warm-up: compilation, buffers
                ours()
                theirs()
            t_o, t_t = [], []
            for _ in range(a.rounds):
                t_o.append(timed(ours))
                t_t.append(timed(theirs))
            cpu_o = statistics.median(t[0] for t in t_o)
            cpu_t = statistics.median(t[0] for t in t_t)
            wall_o = statistics.median(t[1] for t in t_o)
            wall_t = statistics.median(t[1] for t in t_t)
            result["steps"][f"T={T}"] = {
                "rnnlab_cpu_ms": 1e3 * cpu_o,
                "torch_cpu_ms": 1e3 * cpu_t,
                "rnnlab_wall_ms": 1e3 * wall_o,
                "torch_wall_ms": 1e3 * wall_t,
                "torch_over_rnnlab_cpu": cpu_t / cpu_o,
                "torch_over_rnnlab_wall": wall_t / wall_o,
            }
            print(f"T={T}: " + json.dumps(result["steps"][f"T={T}"]))
        vocab = Vocabulary([chr(32 + i) for i in range(V - 1)])
        sample(model, vocab, length=100, seed=0)  # compile the sampling loop
        for threads in (1, 2):
            cpu, wall = [], []
            for s in range(5):
                c0, w0 = time.process_time(), time.perf_counter()
                sample(model, vocab, length=10_000, seed=s, threads=threads)
                cpu.append(time.process_time() - c0)
                wall.append(time.perf_counter() - w0)
            tag = "" if threads == 1 else f"_{threads}_threads"
            result[f"sample_10000_chars_cpu_s{tag}"] = statistics.median(cpu)
            result[f"sample_10000_chars_wall_s{tag}"] = statistics.median(wall)
            print(
                f"sampling 10,000 chars, 2x{H} LSTM, {threads} thread(s) (median of 5): "
                f"{statistics.median(cpu):.3f} CPU s, {statistics.median(wall):.3f} wall s"
            )
    if a.out:
        with open(a.out, "w") as fh:
            json.dump(result, fh, indent=1)


if __name__ == "__main__":
    main()
