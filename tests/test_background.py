"""Evaluations on a second thread: the run, its files and its verdict are those of the same run
with in-line evaluations (the training thread never waits for a result it does not need)."""

import csv
import threading
import time

import numpy as np
import pytest

import rnnlab.training.bptt as bptt
from rnnlab import checkpoint as ckpt
from rnnlab.data import (
    ArrayDataset,
    Evaluation,
    EvaluationCancelled,
    TaskSource,
    cancellation_point,
)
from rnnlab.data.cancel import called_off_by
from rnnlab.tasks import get_task
from rnnlab.text import TextSource, text_config, train_text
from rnnlab.training import TrainConfig, train

QUIET = dict(progress=False, log=lambda s: None)


@pytest.fixture
def slow_evaluations(monkeypatch):
    """Background evaluations take 30 ms more, so their results arrive steps late and the run
    must return to the evaluated step; returns the names of the threads that evaluated."""
    threads: list[str] = []

    def slowed(cls):
        real = cls.evaluate

        def evaluate(self, *args, **kw):
            name = threading.current_thread().name
            threads.append(name)
            if name.startswith("rnnlab-eval"):
                time.sleep(0.03)
            return real(self, *args, **kw)

        monkeypatch.setattr(cls, "evaluate", evaluate)

    for cls in (TaskSource, ArrayDataset, TextSource):
        slowed(cls)
    return threads


@pytest.fixture
def steps_trained(monkeypatch):
    """Counts the gradient computations (steps trained, kept or not)."""
    calls = {"n": 0}
    real = bptt.full_bptt

    def counted(*args, **kw):
        calls["n"] += 1
        return real(*args, **kw)

    monkeypatch.setattr(bptt, "full_bptt", counted)
    return calls


def _metrics(folder):
    with open(folder / "metrics.csv") as f:
        return [{k: v for k, v in row.items() if k != "seconds"} for row in csv.DictReader(f)]


def _same_folders(a, b, files=("model.safetensors",)):
    assert _metrics(a) == _metrics(b)
    for name in files:
        x, y = ckpt.load_checkpoint(a / name), ckpt.load_checkpoint(b / name)
        for k in x.params:
            assert np.array_equal(x.params[k], y.params[k]), (name, k)
        for k in x.optimizer_state or {}:
            assert np.array_equal(x.optimizer_state[k], y.optimizer_state[k]), (name, k)
        drop = {"seconds", "config_sha256", "config"}  # the configs differ in "out" only
        assert {k: v for k, v in x.metadata.items() if k not in drop} == {
            k: v for k, v in y.metadata.items() if k not in drop
        }
        assert {**x.metadata.get("config", {}), "out": ""} == {
            **y.metadata.get("config", {}),
            "out": "",
        }


def _both(tmp_path, cfg, data=None, **kw):
    runs = []
    for name, background in (("inline", False), ("background", True)):
        c = TrainConfig(**{**cfg, "out": str(tmp_path / name)})
        runs.append(train(c, data, background_eval=background, **QUIET, **kw))
    return runs


TASK = dict(task="long_lag", length=12, model="lstm", seed=0, eval_every=10, time_budget=None)


def test_a_solved_run_stops_at_the_evaluated_step(tmp_path, slow_evaluations, steps_trained):
    inline, background = _both(tmp_path, TASK)
    assert inline.status == background.status == "solved"
    assert (inline.step, inline.solved_at) == (background.step, background.solved_at)
    _same_folders(tmp_path / "inline", tmp_path / "background")
    assert any(t.startswith("rnnlab-eval") for t in slow_evaluations)
    # the background run trained past the solving step and returned to it
    assert steps_trained["n"] > inline.step + background.step


def test_a_budgeted_run_and_its_evaluations_match(tmp_path, slow_evaluations):
    cfg = {**TASK, "task": "temporal_order", "length": 20, "hidden": 4, "steps": 47}
    inline, background = _both(tmp_path, cfg)
    assert inline.status == background.status == "not solved"
    assert inline.step == background.step == 47
    _same_folders(tmp_path / "inline", tmp_path / "background")
    tested = [r for r in _metrics(tmp_path / "background") if r["test_loss"]]
    assert [int(r["step"]) for r in tested] == [10, 20, 30, 40, 47]  # 47: the final verdict


def test_early_stopping_ends_at_the_same_evaluation(tmp_path, slow_evaluations):
    rng = np.random.default_rng(0)
    x = rng.standard_normal((6, 120, 2))
    data = ArrayDataset(x, np.cumsum(x, axis=0), val_fraction=0.25)  # one object, two runs
    cfg = dict(model="gru", hidden=4, lr=1e-9, steps=400, eval_every=5, patience=2)
    inline, background = _both(tmp_path, cfg, data)
    assert inline.status == background.status == "stopped"
    assert inline.step == background.step < 400
    _same_folders(tmp_path / "inline", tmp_path / "background")


def test_divergence_keeps_the_same_last_checkpoint(tmp_path, monkeypatch, slow_evaluations):
    real = bptt.full_bptt
    calls = {"n": 0}

    def poisoned(*args, **kw):
        calls["n"] += 1
        value, grads, y, s_T = real(*args, **kw)
        return (float("nan") if calls["n"] in (25, 25 + 25) else value), grads, y, s_T

    monkeypatch.setattr(bptt, "full_bptt", poisoned)
    lines = {"inline": [], "background": []}
    for name, background in (("inline", False), ("background", True)):
        cfg = TrainConfig(**{**TASK, "hidden": 2, "steps": 100, "out": str(tmp_path / name)})
        run = train(cfg, progress=False, log=lines[name].append, background_eval=background)
        assert run.status == "diverged" and run.step == 25
    assert lines["inline"][-1] == lines["background"][-1].replace("background", "inline")
    assert "step 20" in lines["background"][-1]
    _same_folders(tmp_path / "inline", tmp_path / "background")


def test_text_run_keeps_the_same_best_checkpoint(tmp_path, slow_evaluations):
    (tmp_path / "a.py").write_text("def f(x):\n    return (x + 1) * 2  # twice\n" * 60)
    out = {}
    for name, background in (("inline", False), ("background", True)):
        src = TextSource(str(tmp_path / "a.py"), seq_length=20, val_fraction=0.1)
        cfg = text_config(hidden=8, batch=4, steps=30, eval_every=5, out=str(tmp_path / name))
        out[name] = train_text(cfg, src, background_eval=background, **QUIET)
    assert out["inline"].step == out["background"].step == 30
    files = ("model.safetensors", "best.safetensors")
    _same_folders(tmp_path / "inline", tmp_path / "background", files)


def test_cli_eval_thread_flag_gives_the_same_run_folder(tmp_path, capsys):
    from rnnlab.cli import main

    for name, flag in (("inline", "--no-eval-thread"), ("background", "--eval-thread")):
        argv = ["train", "--task", "long_lag", "--length", "12", "--eval-every", "10"]
        code = main([*argv, flag, "--quiet", "--out", str(tmp_path / name)])
        assert code == 0, capsys.readouterr()
    _same_folders(tmp_path / "inline", tmp_path / "background")


def test_cancellation_point_raises_only_under_a_set_flag():
    cancellation_point()  # no flag on this thread: nothing happens
    flag = threading.Event()
    with called_off_by(flag):
        cancellation_point()
        flag.set()
        with pytest.raises(EvaluationCancelled):
            cancellation_point()
    cancellation_point()  # the flag belonged to that evaluation only


class _SolvesAtOnce(TaskSource):
    """The first evaluation says "solved" after 0.3 s; the later ones run 200 chunks of 10 ms
    with a cancellation point before each and record how many they ran."""

    def __init__(self, *args, **kw):
        super().__init__(*args, **kw)
        self.calls, self.chunks, self.cancelled = 0, [], []

    def evaluate(self, model, **kw):
        self.calls += 1
        if self.calls == 1:
            time.sleep(0.3)  # later evaluation points are submitted meanwhile
            return Evaluation(loss=0.0, size=self.task.test_size, solved=True, accuracy=1.0)
        self.chunks.append(0)
        try:
            for _ in range(200):
                cancellation_point()
                time.sleep(0.01)
                self.chunks[-1] += 1
        except EvaluationCancelled:
            self.cancelled.append(True)
            raise
        return Evaluation(loss=1.0, size=self.task.test_size, solved=False, accuracy=0.0)


def test_an_evaluation_the_run_no_longer_needs_is_called_off():
    # when the first result solves the task, the evaluation of a later step is already on the
    # worker: it stops at its next cancellation point instead of running its 2 s to the end
    source = _SolvesAtOnce(get_task("adding", length=12))
    cfg = TrainConfig(model="lstm", hidden=4, eval_every=1, steps=500)
    run = train(cfg, source, background_eval=True, callbacks=[], **QUIET)
    assert run.status == "solved" and run.step == 1
    deadline = time.perf_counter() + 1.0
    for t in threading.enumerate():
        if t.name.startswith("rnnlab-eval"):
            t.join(max(deadline - time.perf_counter(), 0.0))
    assert not any(t.name.startswith("rnnlab-eval") for t in threading.enumerate())
    assert source.cancelled == [True] and source.chunks[0] < 200
