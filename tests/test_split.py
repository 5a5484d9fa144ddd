"""The LSTM kernels on two threads (kernels/lstm_loops.py): the one-thread kernels' bits, the
route rule, and the fall-back when a thread team runs the two halves one after the other."""

import csv
import multiprocessing
import threading
import time

import numba
import numpy as np
import pytest
from threadpoolctl import threadpool_limits

from cases import cell_cases
from rnnlab._cores import usable_cores
from rnnlab.data import TaskSource
from rnnlab.kernels import _common, _split
from rnnlab.kernels._packed import MAX_ROWS
from rnnlab.training import TrainConfig, train

TWO = (
    numba.config.NUMBA_NUM_THREADS >= 2
    and usable_cores() >= 2
    and _split.thread_layer() in ("omp", "tbb")
)
needs_two = pytest.mark.skipif(not TWO, reason="needs two cores and an OpenMP/TBB thread layer")

LSTMS = ["lstm", "lstm-peepholes", "lstm-no-forget", "lstm-peepholes-no-forget"]


def _run(case, B, H, T, I, one_hot, need_dx, **kw):
    """Forward and backward of a float32 layer (fixed seeds): every output, cache and grad."""
    rng = np.random.default_rng(B * 100 + H)
    layer = cell_cases(I, H)[case](rng=3, dtype=np.float32, **kw)
    if one_hot:
        x = np.eye(I, dtype=np.float32)[rng.integers(0, I, (T, B))]
    else:
        x = rng.standard_normal((T, B, I)).astype(np.float32)
    rows = layer.num_layers * layer.num_directions
    state = tuple(0.5 * rng.standard_normal((rows, B, H)).astype(np.float32) for _ in range(2))
    dstate = tuple(rng.standard_normal((rows, B, H)).astype(np.float32) for _ in range(2))
    y, s_T, cache = layer.forward(x, state)
    dy = rng.standard_normal(y.shape).astype(np.float32)
    dx, ds0, grads = layer.backward(dy, cache, dstate, need_dx=need_dx)
    out = {"y": y, "h_T": s_T[0], "c_T": s_T[1], "dh0": ds0[0], "dc0": ds0[1], **grads}
    if dx is not None:
        out["dx"] = dx
    for row, c in enumerate(cache.steps):
        out.update({f"cache{row}.{k}": v for k, v in c.items()})
    return out


def _split_and_one_thread(monkeypatch, B, H, **kw):
    runs = {}
    for split in (True, False):
        monkeypatch.setattr(_split, "_failed", not split)
        with threadpool_limits(1):
            assert bool(_split.split_point(B, H, np.float32)) == split
            runs[split] = _run(B=B, H=H, **kw)
    assert runs[True].keys() == runs[False].keys()
    for k, a in runs[False].items():
        assert np.array_equal(runs[True][k], a), f"{k} differs"


@needs_two
@pytest.mark.parametrize("case", LSTMS)
@pytest.mark.parametrize(
    "B,H,T,I,one_hot",
    [
        (4, 16, 5, 3, False),
        (5, 32, 9, 7, True),
        (8, 64, 30, 2, False),
        (13, 48, 7, 11, True),
        (MAX_ROWS - 1, 32, 6, 5, False),  # the largest halves (several row tiles each)
    ],
)
def test_two_threads_give_the_one_thread_bits(case, B, H, T, I, one_hot, monkeypatch):
    """Odd batches, one-hot inputs (gather and scatter), several backward chunks (the last one
    partial), dx or not: every array bit for bit as the one-thread kernel gives it."""
    monkeypatch.setattr(_common, "CHUNK_ROWS", 3 * B + 1)
    monkeypatch.setattr(_common, "MIN_ROWS", 1)
    for need_dx in (True, False):
        _split_and_one_thread(
            monkeypatch, B, H, case=case, T=T, I=I, one_hot=one_hot, need_dx=need_dx
        )


@needs_two
def test_two_threads_in_a_bidirectional_stack_and_a_large_step(monkeypatch):
    """A reversed direction's input and a second layer's (dx flows between them); the char
    model's size, where the chunk GEMMs are large."""
    _split_and_one_thread(
        monkeypatch, 6, 32, case="lstm", T=8, I=5, one_hot=False, need_dx=True,
        num_layers=2, bidirectional=True,
    )  # fmt: skip
    _split_and_one_thread(
        monkeypatch, 32, 256, case="lstm", T=20, I=65, one_hot=True, need_dx=False
    )


@needs_two
def test_two_threads_flush_subnormals_alike(monkeypatch):
    """Vanishing float32 gradients (the loss at the last of 400 steps, a small W_hh): each
    thread flushes its own subnormals (kernels/_fpenv.py), so two threads still give the bits
    of one."""
    runs = {}
    x = np.random.default_rng(0).standard_normal((400, 8, 3)).astype(np.float32)
    for split in (True, False):
        monkeypatch.setattr(_split, "_failed", not split)
        with threadpool_limits(1):
            assert bool(_split.split_point(8, 32, np.float32)) == split
            layer = cell_cases(3, 32)["lstm"](rng=3, dtype=np.float32)
            layer.params["W_hh_l0"] *= 0.3
            y, _, cache = layer.forward(x)
            dy = np.zeros_like(y)
            dy[-1] = 1.0
            dx, _, grads = layer.backward(dy, cache)
            runs[split] = {"y": y, "dx": dx, **grads}
    assert np.any(runs[False]["dx"] == 0)  # the gradient fell below float32's range
    for k, a in runs[False].items():
        np.testing.assert_array_equal(runs[True][k], a, err_msg=k)


def test_route_rule(monkeypatch):
    monkeypatch.setattr(_split, "_failed", False)
    f32 = np.float32
    with threadpool_limits(1):
        assert _split.split_point(8, 64, np.float64) == 0  # float64 keeps OpenBLAS's bits
        assert _split.split_point(3, 64, f32) == 0  # fewer than two sequences a thread
        assert _split.split_point(8, 40, f32) == 0  # a row that is not whole cache lines
        assert _split.split_point(MAX_ROWS + 1, 64, f32) == 0  # past the packed route's rows
        assert _split.split_point(MAX_ROWS, 64, f32) == (MAX_ROWS // 2 if TWO else 0)
        assert _split.split_point(8, 64, f32) == (4 if TWO else 0)
        assert _split.split_point(9, 64, f32) == (4 if TWO else 0)
        _split.lend_second_core()
        try:
            assert _split.split_point(8, 64, f32) == 0
        finally:
            _split.return_second_core()
        assert _split.split_point(8, 64, f32) == (4 if TWO else 0)
        old = numba.get_num_threads()
        numba.set_num_threads(1)
        try:
            assert _split.split_point(8, 64, f32) == 0
        finally:
            numba.set_num_threads(old)
    with threadpool_limits(2):
        assert _split.split_point(8, 64, f32) == 0  # OpenBLAS splits its own products


def test_the_usable_cores_are_asked_again_after_a_second(monkeypatch):
    """The rule's look at the affinity mask is kept for CORES_TTL seconds, then renewed: a
    process moved to one core stops splitting."""
    clock = [1000.0]
    cores = [2]
    monkeypatch.setattr(_split.time, "monotonic", lambda: clock[0])
    monkeypatch.setattr(_split, "usable_cores", lambda: cores[0])
    monkeypatch.setattr(_split, "_cores_seen", (-float("inf"), 0))
    assert _split._usable_cores() == 2
    cores[0] = 1
    clock[0] += _split.CORES_TTL / 2
    assert _split._usable_cores() == 2  # within the time a look stays valid
    clock[0] += _split.CORES_TTL
    assert _split._usable_cores() == 1


@needs_two
def test_a_team_of_one_thread_falls_back_to_one_thread(monkeypatch):
    """Numba's team cut to one thread runs the two halves one after the other: the backward
    pass's first meeting then fails (after about 0.25 s), the kernel runs again on one
    thread, the bits are the one-thread kernel's, and later calls keep to one thread."""
    monkeypatch.setattr(_split, "_failed", False)
    monkeypatch.setattr(_split, "_failures", _split.MAX_FAILURES - 1)
    kw = dict(case="lstm", B=8, H=32, T=6, I=3, one_hot=False, need_dx=True)
    with threadpool_limits(1):
        monkeypatch.setattr(_split, "_failed", True)
        want = _run(**kw)
        monkeypatch.setattr(_split, "_failed", False)
        old = numba.get_num_threads()
        numba.set_num_threads(1)
        try:
            with monkeypatch.context() as m:
                m.setattr(numba, "get_num_threads", lambda: 2)  # the rule says: split
                got = _run(**kw)
        finally:
            numba.set_num_threads(old)
        assert _split._failed
    for k, a in want.items():
        assert np.array_equal(got[k], a), f"{k} differs"


def test_background_evaluation_lends_the_second_core(monkeypatch):
    """A real run with evaluations on the worker thread: while one runs, no kernel splits; the
    core is lent before the worker starts and given back for every evaluation, also those
    dropped before they started (a solved run drops the later ones)."""
    seen = []
    real = TaskSource.evaluate

    def evaluate(self, *args, **kw):
        if threading.current_thread().name.startswith("rnnlab-eval"):
            seen.append((_split._lent, _split.split_point(8, 64, np.float32)))
            time.sleep(0.03)  # results arrive steps late: evaluations queue up
        return real(self, *args, **kw)

    monkeypatch.setattr(TaskSource, "evaluate", evaluate)
    cfg = TrainConfig(task="long_lag", length=12, model="lstm", seed=0, eval_every=5)
    run = train(cfg, background_eval=True, progress=False, log=lambda s: None)
    assert run.status == "solved" and seen
    assert all(lent >= 1 and point == 0 for lent, point in seen)
    deadline = time.monotonic() + 10.0  # a dropped evaluation may still be finishing
    while _split._lent and time.monotonic() < deadline:
        time.sleep(0.01)
    assert _split._lent == 0


@needs_two
def test_a_run_on_two_threads_is_the_run_on_one(tmp_path, monkeypatch):
    """``train(threads=...)``: the same run folder (weights, optimiser, metrics) with one thread
    and with two, where the two-thread kernels ran."""
    from rnnlab import checkpoint as ckpt
    from rnnlab.kernels import lstm_loops

    calls = []
    real = lstm_loops.backward_two

    def counted(*args):
        calls.append(1)
        return real(*args)

    monkeypatch.setattr(lstm_loops, "backward_two", counted)
    monkeypatch.setattr(_split, "_failed", False)
    cfg = dict(task="adding", model="lstm", length=20, hidden=32, batch=8, dtype="float32")
    runs = {}
    for threads in (1, 2):
        out = tmp_path / f"t{threads}"
        c = TrainConfig(**cfg, steps=40, seed=1, out=str(out), time_budget=None)
        before = len(calls)
        train(c, threads=threads, background_eval=False, progress=False, log=lambda s: None)
        assert (len(calls) > before) == (threads == 2)
        saved = ckpt.load_checkpoint(out / "model.safetensors")
        with open(out / "metrics.csv") as f:
            rows = [{k: v for k, v in r.items() if k != "seconds"} for r in csv.DictReader(f)]
        runs[threads] = (saved.params, saved.optimizer_state, rows)
    (p1, o1, m1), (p2, o2, m2) = runs[1], runs[2]
    assert m1 == m2 and p1.keys() == p2.keys() and o1.keys() == o2.keys()
    for k in p1:
        assert np.array_equal(p1[k], p2[k]), k
    for k in o1:
        assert np.array_equal(np.asarray(o1[k]), np.asarray(o2[k])), k


def _forked_run(_):
    with threadpool_limits(1):
        out = _run(case="lstm", B=8, H=32, T=6, I=3, one_hot=False, need_dx=True)
        return out, _split.split_point(8, 32, np.float32)


@needs_two
@pytest.mark.skipif(
    "fork" not in multiprocessing.get_all_start_methods(), reason="no fork start method"
)
def test_a_forked_child_trains_on_one_thread(monkeypatch):
    """A child forked after the parent's kernels started OpenMP's threads would be ended by
    GNU OpenMP at its first parallel region (without the rule, this test's child died and the
    result never came); the child keeps to one thread, with the same bits."""
    monkeypatch.setattr(_split, "_failed", False)
    want, point = _forked_run(None)  # the parent splits: its threads are running now
    assert point == 4
    with multiprocessing.get_context("fork").Pool(1) as pool:
        got, point = pool.apply_async(_forked_run, (None,)).get(timeout=120)
    assert point == 0
    for k, a in want.items():
        assert np.array_equal(got[k], a), f"{k} differs"
