"""Evaluation that stops early: the same verdict on the same draws, fewer forward passes."""

import numpy as np

from rnnlab.data import tasks as data_tasks
from rnnlab.data.tasks import _early_bounds, evaluate_model
from rnnlab.tasks import get_task
from rnnlab.training import TrainConfig, build_model


def _model_and_task():
    task = get_task("adding", length=20)
    cfg = TrainConfig(task="adding", length=20, hidden=8, seed=0)
    return build_model(cfg), task


def test_early_bounds_double_and_cover_the_chunk():
    assert _early_bounds(256) == [0, 32, 64, 128, 256]
    assert _early_bounds(512) == [0, 32, 64, 128, 256, 512]
    assert _early_bounds(20) == [0, 20]


def test_a_failing_set_stops_early_with_the_same_verdict():
    model, task = _model_and_task()  # untrained: most sequences wrong
    full = evaluate_model(model, task, 600, 7)
    acc, loss, ok, n = evaluate_model(model, task, 600, 7, stop_early=True, counted=True)
    assert not full[2] and not ok
    assert n == 32  # the first slice already fails
    assert 0.0 <= acc <= 1.0 and np.isfinite(loss)


def test_a_passing_set_is_evaluated_whole(monkeypatch):
    model, task = _model_and_task()
    monkeypatch.setattr(type(task), "correct", lambda self, y, b: np.ones(b.x.shape[1], bool))
    full = evaluate_model(model, task, 600, 7)
    early = evaluate_model(model, task, 600, 7, stop_early=True, counted=True)
    assert full[2] and early[2] and early[3] == 600
    assert early[0] == full[0] == 1.0
    np.testing.assert_allclose(early[1], full[1], rtol=1e-12)  # the same sequences, in slices


def test_slices_see_the_same_sequences(monkeypatch):
    """Slicing a sampled chunk must not change which sequences are judged."""
    model, task = _model_and_task()
    seen = {True: [], False: []}
    for early in (True, False):
        orig = type(task).correct

        def spy(self, y, b, early=early, orig=orig):
            seen[early].append(b.y.copy())
            return np.ones(b.x.shape[1], bool)

        monkeypatch.setattr(type(task), "correct", spy)
        evaluate_model(model, task, 300, 3, stop_early=early)
        monkeypatch.setattr(type(task), "correct", orig)
    np.testing.assert_array_equal(np.concatenate(seen[True]), np.concatenate(seen[False]))
    assert data_tasks.EARLY_SLICE == 32
