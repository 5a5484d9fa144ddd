"""Fault injection: real training processes killed (SIGKILL) and interrupted (SIGINT) at random
points. Every checkpoint must load, the metrics must have no hole, and the run resumed again and
again must end bit-identical to one that was never interrupted.

Each training process is forked from the test process (imports and compiled kernels already
loaded), so a strike costs milliseconds of start-up, not seconds; it runs the command line's
own entry point, and is killed or interrupted as a real process."""

import csv
import multiprocessing
import os
import signal
import sys
import time

import numpy as np
import pytest

from rnnlab.checkpoint import load_checkpoint

ARGS = [
    "train", "--task", "adding", "--length", "30", "--hidden", "12", "--batch", "8",
    "--eval-every", "5", "--eval-size", "64", "--screen-size", "16", "--steps", "STEPS",
    "--time-budget", "3000", "--quiet",
]  # fmt: skip
STEPS = "600"  # long enough that at least ten strikes land before the end
ARGS[ARGS.index("STEPS")] = STEPS


def _cli(argv):
    from rnnlab.cli import main

    sys.stdout = sys.stderr = open(os.devnull, "w")  # noqa: SIM115 (the process ends here)
    os._exit(main(argv))


def _start(out, resume):
    args = ["train", "--resume", "--steps", STEPS, "--quiet"] if resume else ARGS
    p = multiprocessing.get_context("fork").Process(target=_cli, args=([*args, "--out", str(out)],))
    p.start()
    return p


def _rows(out):
    with (out / "metrics.csv").open(newline="") as fh:
        return list(csv.DictReader(fh))


def _consistent(out):
    """The checkpoint loads and the metrics hold every step from 1 up to at least its step."""
    saved = load_checkpoint(out / "model.safetensors")
    steps = [int(r["step"]) for r in _rows(out)]
    assert steps == list(range(1, len(steps) + 1)), "a hole in metrics.csv"
    assert len(steps) >= saved.metadata["step"], "metrics behind the checkpoint"
    return saved


def _no_seconds(rows):
    return [{k: v for k, v in r.items() if k != "seconds"} for r in rows]


@pytest.mark.parametrize("sig", [signal.SIGKILL, signal.SIGINT])
def test_interrupted_again_and_again_ends_as_the_uninterrupted_run(tmp_path, sig):
    from rnnlab.cli import main

    # The reference runs in this process, which also compiles the kernels the forks inherit.
    assert main([*ARGS, "--out", str(tmp_path / "ref")]) in (0, 1)
    rng = np.random.default_rng(int(sig))
    out, stops, resume = tmp_path / "chain", 0, False
    while True:
        # strike after a random number of new metric rows (then a random fraction of a step), so
        # the number of strikes per run does not depend on how fast the machine trains
        start_rows = len(_rows(out)) if resume else 0
        target = start_rows + int(rng.integers(1, 40))
        p = _start(out, resume)
        deadline = time.monotonic() + 120
        while p.is_alive() and time.monotonic() < deadline:
            m = out / "metrics.csv"
            if m.exists() and len(_rows(out)) >= target:
                break
            time.sleep(0.002)
        time.sleep(rng.uniform(0.0, 0.003))
        if not p.is_alive():  # finished before the strike
            assert p.exitcode in (0, 1), p.exitcode
            break
        os.kill(p.pid, sig)
        p.join(120)
        code = p.exitcode
        stops += 1
        if code in (0, 1):  # it finished just before the signal arrived
            break
        assert code == (-9 if sig == signal.SIGKILL else 130), code
        saved = _consistent(out)
        if sig == signal.SIGINT:  # the step in flight finished and was saved with its metrics
            assert saved.metadata["step"] == len(_rows(out))
        resume = True
        if saved.metadata["step"] >= int(STEPS):  # trained through; let the last resume finish
            p = _start(out, resume)
            p.join(120)
            assert p.exitcode in (0, 1), p.exitcode
            break
    print(f"{signal.Signals(sig).name}: {stops} interruptions")  # shown with pytest -s
    assert stops >= 10, f"only {stops} interruptions landed; the run is too short"
    _consistent(out)
    assert [p.name for p in out.iterdir() if p.name.startswith(".")] == []  # no temporaries
    a, b = (
        load_checkpoint(tmp_path / "ref" / "model.safetensors"),
        load_checkpoint(out / "model.safetensors"),
    )
    assert a.metadata["step"] == b.metadata["step"]
    for k in a.params:
        assert np.array_equal(a.params[k], b.params[k]), k
    for k in a.optimizer_state:
        assert np.array_equal(a.optimizer_state[k], b.optimizer_state[k]), k
    assert _no_seconds(_rows(tmp_path / "ref")) == _no_seconds(_rows(out))
