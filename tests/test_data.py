"""The data interface: the user's arrays, a stateful stream, callbacks, and the clean-error rule."""

import numpy as np
import pytest

import rnnlab
from rnnlab.data import ArrayDataset, DataSource, Evaluation
from rnnlab.tasks.base import Batch
from rnnlab.training import Callback, TrainConfig, load_run, train

QUIET = dict(progress=False, log=lambda s: None)


def _sums(N=64, T=12, seed=0):
    x = np.random.default_rng(seed).standard_normal((T, N, 2))
    return x, np.cumsum(x, axis=0)[..., :1]  # (T, N, 1): running total of the first feature


def test_user_arrays_train_in_five_lines_and_write_the_same_run_folder(tmp_path):
    x, y = _sums()
    data = rnnlab.ArrayDataset(x, y, val_fraction=0.25)
    cfg = rnnlab.TrainConfig(model="lstm", hidden=8, steps=30, eval_every=10, out=str(tmp_path))
    run = rnnlab.train(cfg, data, progress=False, log=lambda s: None)
    assert run.status == "finished" and run.step == 30
    names = sorted(p.name for p in tmp_path.iterdir())
    assert names == ["config.toml", "loss-curve.png", "metrics.csv", "model.safetensors"]
    loaded = load_run(tmp_path)  # no data needed to rebuild the model
    for k, v in run.model.params.items():
        assert np.array_equal(loaded.model.params[k], v)
    assert loaded.config.data["sha256"] == data.sha256
    rows = (tmp_path / "metrics.csv").read_text().splitlines()
    assert len(rows) == 31 and rows[10].split(",")[7] != ""  # test_loss filled at step 10


def test_training_on_arrays_learns_and_early_stopping_stops():
    x, y = _sums(N=128)
    data = ArrayDataset(x, y, val_fraction=0.25)
    before = data.evaluate(
        rnnlab.training.build_model(
            rnnlab.training.resolve_config(TrainConfig(model="gru", hidden=16), data), data
        ),
        seed=0,
        step=0,
    )
    run = train(TrainConfig(model="gru", hidden=16, lr=1e-2, batch=16, steps=300), data, **QUIET)
    assert run.test_loss < 0.25 * before.loss
    stopped = train(
        TrainConfig(model="gru", hidden=4, lr=1e-9, steps=500, eval_every=5, patience=2),
        data,
        **QUIET,
    )
    assert stopped.status == "stopped" and stopped.step < 500


def test_target_loss_counts_as_solved_and_classes_work():
    rng = np.random.default_rng(1)
    x = rng.standard_normal((8, 200, 3))
    cls = (x[-1, :, 0] > 0).astype(np.int64)  # the sign of the last step's first feature
    data = ArrayDataset(x, cls, target="last", loss="ce", target_accuracy=0.9)
    assert data.output_size == 2 and data.has_criterion
    run = train(
        TrainConfig(model="rnn", hidden=8, batch=20, steps=2000, eval_every=20), data, **QUIET
    )
    assert run.status == "solved" and run.test_accuracy >= 0.9


def test_resume_on_arrays_is_bit_identical_and_checks_the_data(tmp_path):
    x, y = _sums()
    data = lambda: ArrayDataset(x, y, val_fraction=0.25)
    base = dict(model="lstm", hidden=6, batch=10, eval_every=4)
    whole = train(TrainConfig(**base, steps=14, out=str(tmp_path / "a")), data(), **QUIET)
    train(TrainConfig(**base, steps=6, out=str(tmp_path / "b")), data(), **QUIET)
    resumed = train(TrainConfig(steps=14, out=str(tmp_path / "b")), data(), resume=True, **QUIET)
    for k, v in whole.model.params.items():
        assert np.array_equal(v, resumed.model.params[k]), k
    with pytest.raises(ValueError, match="data: this run was trained on arrays"):
        train(TrainConfig(steps=20, out=str(tmp_path / "b")), resume=True, **QUIET)
    other = ArrayDataset(x + 1.0, y, val_fraction=0.25)
    with pytest.raises(ValueError, match="differs in sha256"):
        train(TrainConfig(steps=20, out=str(tmp_path / "b")), other, resume=True, **QUIET)


class Stream(DataSource):
    """A stateful toy stream: B streams of a sine, cut into chunks; targets the next value."""

    kind = "toystream"
    stateful = True
    input_size = output_size = 1
    loss, target = "mse", "every"

    def __init__(self, chunk=5, reset_every=3):
        self.chunk, self.reset_every, self.pos = chunk, reset_every, 0
        self.seen_carry = []

    def next_batch(self, batch, rng):
        t0 = self.pos * self.chunk + np.arange(self.chunk + 1)[:, None] + np.arange(batch)[None] * 7
        s = np.sin(0.3 * t0)[..., None]  # (chunk+1, B, 1)
        carry = self.pos % self.reset_every != 0
        self.pos += 1
        self.seen_carry.append(carry)
        return Batch(x=s[:-1], y=s[1:], mask=None, last=np.full(batch, self.chunk - 1), carry=carry)

    def state_dict(self):
        return {"pos": self.pos}

    def load_state_dict(self, state):
        self.pos = int(state.get("pos", 0))

    def evaluate(self, model, *, seed, step, size=None, screen=None):
        b = Stream(self.chunk).next_batch(4, None)
        value = model.loss_and_grads(b.x.astype(model.dtype), b.y, mask=None)[0]
        return Evaluation(loss=value, size=4, solved=False)

    def spec(self):
        return {
            "kind": self.kind,
            "input_size": 1,
            "output_size": 1,
            "loss": "mse",
            "target": "every",
            "chunk": self.chunk,
        }


def test_stateful_source_carries_the_state_and_resumes_exactly(tmp_path):
    class Spy(Callback):
        def __init__(self):
            self.states = []

        def on_step(self, trainer, row):
            self.states.append(None if trainer.state is None else trainer.state[0].copy())

    spy, src = Spy(), Stream()
    cfg = dict(model="lstm", hidden=4, batch=3, eval_every=4)
    train(TrainConfig(**cfg, steps=6), src, callbacks=[spy], **QUIET)
    assert src.seen_carry == [False, True, True, False, True, True]
    assert all(s is not None and s.shape == (1, 3, 4) for s in spy.states)
    whole = train(TrainConfig(**cfg, steps=10, out=str(tmp_path / "a")), Stream(), **QUIET)
    train(TrainConfig(**cfg, steps=5, out=str(tmp_path / "b")), Stream(), **QUIET)
    resumed = train(TrainConfig(steps=10, out=str(tmp_path / "b")), Stream(), resume=True, **QUIET)
    for k, v in whole.model.params.items():
        assert np.array_equal(v, resumed.model.params[k]), k


@pytest.mark.parametrize(
    "kwargs, exc, match",
    [
        (dict(x=[[1.0]], y=np.zeros((2, 3, 1))), TypeError, "x: expected a numpy.ndarray"),
        (dict(x=np.zeros((2, 3)), y=np.zeros((2, 3, 1))), ValueError, r"x: expected a 3-d"),
        (dict(x=np.zeros((2, 3, 1), dtype="U1"), y=np.zeros((2, 3, 1))), TypeError, "numeric"),
        (dict(x=np.full((2, 3, 1), np.nan), y=np.zeros((2, 3, 1))), ValueError, "1?6 NaN/inf"),
        (dict(x=np.zeros((2, 3, 1)), y=np.zeros((2, 4, 1))), ValueError, "y: expected shape"),
        (dict(x=np.zeros((2, 3, 1)), y=np.zeros((4, 1)), target="last"), ValueError, "y: expected"),
        (dict(x=np.zeros((2, 3, 1)), y=np.zeros((2, 3)), loss="ce"), TypeError, "class indices"),
        (dict(x=np.zeros((2, 3, 1)), y=np.zeros((2, 3, 1)), val_fraction=0.0), ValueError, "val_"),
        (dict(x=np.zeros((2, 1, 1)), y=np.zeros((2, 1, 1))), ValueError, "val_fraction"),
        (dict(x=np.zeros((2, 3, 1)), y=np.zeros((2, 3, 1)), target="all"), ValueError, "target"),
        (
            dict(x=np.zeros((2, 3, 1)), y=np.zeros((2, 3, 1)), lengths=np.array([1, 2, 5])),
            ValueError,
            r"lengths: expected lengths in \[1, 2\]",
        ),
    ],
)
def test_bad_arrays_get_a_clear_error(kwargs, exc, match):
    with pytest.raises(exc, match=match):
        ArrayDataset(**kwargs)


def test_too_few_sequences_for_one_batch_writes_nothing(tmp_path):
    x, y = _sums(N=8)
    data = ArrayDataset(x, y, val_fraction=0.25)
    with pytest.raises(ValueError, match="batch: expected at most 6"):
        train(TrainConfig(batch=32, steps=3, out=str(tmp_path / "r")), data, **QUIET)
    assert not (tmp_path / "r").exists()
    with pytest.raises(TypeError, match="config: expected a TrainConfig"):
        train({"model": "lstm"}, data, **QUIET)
    with pytest.raises(TypeError, match="data: expected an rnnlab.data.DataSource"):
        train(TrainConfig(steps=1), data=(x, y), **QUIET)
