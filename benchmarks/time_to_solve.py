"""Time to solve the adding problem (T=100): ``rnnlab.train`` against the same run in PyTorch.

Run: ``python benchmarks/time_to_solve.py [--seeds 0 1 2 3 4] [--dtype float32] [--torch-dtype
float32] [--threads 1]``.

The PyTorch loop is the trainer's run written with ``torch.nn``: the same task generator and
training stream (``rnnlab``'s adding task, the data stream of the seed), the same initial weights
(rnnlab's model of the seed, copied into ``nn.LSTM`` + ``nn.Linear``; PyTorch's second bias frozen
at zero, as ``rnnlab.interop.rnnlab_parameters`` does, so the models are the same), the trainer's
hyperparameters (LSTM, H=64, batch 8, Adam lr 3e-3, norm clipping at 1, forget-gate bias 5,
input-gate bias -3) and its evaluation schedule (every 50 steps a screen of 256 fresh sequences,
then the task's 2,560 when the screen is all correct; the same test streams; a set stops at the
first slice that shows it fails, as rnnlab's does; forward passes under ``torch.no_grad()``).
Both sides get ``--threads`` BLAS threads. rnnlab's trainer evaluates on a second thread where
two or more cores are usable (its default; the same verdicts); ``--inline`` keeps its
evaluations on the training thread, as the PyTorch loop does. Per seed, rnnlab runs first, then
PyTorch; the table lists wall time (from the first batch to the verdict) and the training
sequences at the verdict.
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np
import torch

from rnnlab.bench import loadavg, thread_limits
from rnnlab.data.tasks import _early_bounds, eval_rng
from rnnlab.interop import rnnlab_parameters, to_torch
from rnnlab.training import TrainConfig, train
from rnnlab.training.build import build_model, seed_streams
from rnnlab.training.config import make_source, resolve_config

EVAL_EVERY, SCREEN, CHUNK = 50, 256, 512


def run_rnnlab(seed: int, dtype: str, inline: bool) -> tuple[str, int, int, float]:
    """``rnnlab.train`` with the defaults: (status, steps, sequences, wall seconds)."""
    cfg = TrainConfig(task="adding", model="lstm", length=100, seed=seed, dtype=dtype)
    t0 = time.perf_counter()
    background = False if inline else None
    run = train(cfg, progress=False, log=lambda s: None, callbacks=[], background_eval=background)
    wall = time.perf_counter() - t0
    return run.status, run.step, run.solved_at or run.sequences, wall


def run_torch(seed: int, dtype: str) -> tuple[str, int, int, float]:
    """The same run as a PyTorch loop: (status, steps, sequences, wall seconds)."""
    c = TrainConfig(task="adding", model="lstm", length=100, seed=seed, dtype=dtype)
    source = make_source(c)
    c = resolve_config(c, source)
    model = build_model(c, source)
    task = source.task
    rnn = to_torch(model.layer)
    tdtype = rnn.weight_hh_l0.dtype
    lin = torch.nn.Linear(c.hidden, 1).to(tdtype)
    with torch.no_grad():
        lin.weight.copy_(torch.from_numpy(model.readout.params["W_hy"]))
        lin.bias.copy_(torch.from_numpy(model.readout.params["b_y"]))
    params = [*rnnlab_parameters(rnn), *lin.parameters()]  # one bias per gate, as rnnlab
    opt = torch.optim.Adam(params, lr=c.lr)
    rng = np.random.default_rng(seed_streams(seed)[1])

    def outputs(b) -> torch.Tensor:
        out, _ = rnn(torch.from_numpy(b.x.astype(model.dtype)))  # (T, B, H)
        return lin(out[torch.from_numpy(b.last), torch.arange(b.x.shape[1])])  # (B, 1)

    def passes(size: int, gen: np.random.Generator) -> bool:
        """rnnlab's evaluate_model with stop_early: all correct, or stop at the first miss."""
        with torch.no_grad():
            for start in range(0, size, CHUNK):
                b = task.sample(min(CHUNK, size - start), gen, split="test")
                n = b.x.shape[1]
                bounds = _early_bounds(n) if start == 0 else [0, n]
                for lo, hi in zip(bounds[:-1], bounds[1:]):
                    x = b.x[:, lo:hi]
                    out, _ = rnn(torch.from_numpy(x.astype(model.dtype)))
                    y = lin(out[torch.from_numpy(b.last[lo:hi]), torch.arange(hi - lo)])
                    err = np.abs(y.numpy()[:, 0] - b.y[lo:hi, 0])
                    if not np.all(err < task.tolerance):
                        return False
        return True

    step = sequences = 0
    t0 = time.perf_counter()
    while sequences < c.max_sequences and time.perf_counter() - t0 < c.time_budget:
        b = source.next_batch(c.batch, rng)
        opt.zero_grad(set_to_none=True)
        y = outputs(b)
        loss = 0.5 * ((y - torch.from_numpy(b.y.astype(model.dtype))) ** 2).sum() / c.batch
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, c.clip)
        opt.step()
        step += 1
        sequences += c.batch
        if step % EVAL_EVERY == 0:
            if passes(SCREEN, eval_rng(seed, step)) and passes(
                task.test_size, eval_rng(seed, step, full=True)
            ):
                return "solved", step, sequences, time.perf_counter() - t0
    return "not solved", step, sequences, time.perf_counter() - t0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2, 3, 4])
    ap.add_argument("--dtype", default="float32", choices=["float64", "float32"])  # the trainer's
    ap.add_argument("--torch-dtype", default="float32", choices=["float64", "float32"])
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--inline", action="store_true", help="rnnlab evaluates in line")
    args = ap.parse_args()
    where = "in line" if args.inline else "on a second thread (two or more cores)"
    print(f"load average {loadavg()}; {args.threads} thread(s); rnnlab evaluates {where}")
    print(
        f"| seed | rnnlab ({args.dtype}) sequences | rnnlab s | torch ({args.torch_dtype}) "
        "sequences | torch s | torch s / rnnlab s |"
    )
    print("|---:|---:|---:|---:|---:|---:|")
    ours, theirs = [], []
    for seed in args.seeds:
        with thread_limits(args.threads):  # the trainer itself keeps BLAS at one thread
            a = run_rnnlab(seed, args.dtype, args.inline)
            b = run_torch(seed, args.torch_dtype)
        ours.append(a[3])
        theirs.append(b[3])
        label = {"solved": "", "not solved": " (not solved)"}
        print(
            f"| {seed} | {a[2]:,}{label.get(a[0], a[0])} | {a[3]:.1f} | "
            f"{b[2]:,}{label.get(b[0], b[0])} | {b[3]:.1f} | {b[3] / a[3]:.2f} |",
            flush=True,
        )
    mo, mt = statistics.median(ours), statistics.median(theirs)
    print(f"median wall time: rnnlab {mo:.1f} s, torch {mt:.1f} s, torch / rnnlab {mt / mo:.2f}")
    print(f"load average {loadavg()}")


if __name__ == "__main__":
    main()
