"""Training loop: truncated BPTT, exact resume, NaN stop, run folders, config checks."""

import dataclasses

import numpy as np
import pytest

import rnnlab.data.tasks as data_tasks
import rnnlab.training as tr
import rnnlab.training.bptt as bptt
from rnnlab import checkpoint as ckpt
from rnnlab.gradcheck import numerical_gradients, relative_error
from rnnlab.model import mask_from_last
from rnnlab.training import TrainConfig, evaluate, read_config, tbptt_chunks, train
from tolerances import FD_REL

TINY = dict(
    task="adding",
    length=12,
    hidden=4,
    batch=4,
    eval_every=3,
    eval_size=16,
    time_budget=None,
    max_sequences=None,
)


def _setup(model="rnn", target_task="adding", **kw):
    kw = {**TINY, "model": model, "task": target_task, "dtype": "float64", **kw}  # for FD checks
    cfg = tr.resolve_config(TrainConfig(**kw))
    task = tr.make_task(cfg)
    return cfg, task, tr.build_model(cfg, task)


@pytest.mark.parametrize("model", ["rnn", "lstm", "gru"])
def test_tbptt_with_one_chunk_is_full_bptt(model):
    _, task, m = _setup(model)
    b = task.sample(3, rng=1)
    value, grads, _, _ = tr.full_bptt(m, task, b)
    ((v2, g2, _),) = list(tbptt_chunks(m, task, b, k=b.x.shape[0]))
    assert abs(value - v2) < 1e-14
    for k in grads:
        assert relative_error(grads[k], g2[k]) < 1e-12


@pytest.mark.parametrize(
    "target, extra",
    [
        ("adding", {"length": 12}),
        ("temporal_order", {"length": 20}),
        ("parity", {"length": 12, "task_kwargs": {"target": "every"}}),
    ],
)
def test_tbptt_chunk_gradient_is_cut_at_the_border(target, extra):
    """Each chunk's gradient is the finite-difference gradient of that chunk's loss with the
    carried state held constant: nothing flows across the border."""
    cfg, task, m = _setup("lstm", target, **extra)
    b = task.sample(3, rng=2)
    T, k = b.x.shape[0], 5
    chunks = list(tbptt_chunks(m, task, b, k))
    assert len(chunks) == -(-T // k)
    # Rebuild each chunk's start state and loss by hand; differentiate by finite differences.
    full_mask = (
        mask_from_last(b.last, T)
        if task.target == "last"
        else (b.mask if b.mask is not None else np.ones(b.x.shape[:2]))
    )
    total = float(b.x.shape[1]) if task.target == "last" else float(full_mask.sum())
    state_before = [None]
    state = None
    for s in range(0, T, k):
        state_before.append(state)
        _, state, _ = m.layer.forward(b.x[s : s + k], state)
    checked = 0
    for c, (s, (_value, grads, _)) in enumerate(zip(range(0, T, k), chunks)):
        m_c = full_mask[s : s + k]
        if grads is None:
            assert m_c.sum() == 0
            continue
        s0 = state_before[c + 1]
        tgt = (
            np.broadcast_to(b.y[None], (m_c.shape[0],) + b.y.shape).copy()
            if task.target == "last"
            else b.y[s : s + k]
        )

        def chunk_loss(s0=s0, s=s, m_c=m_c, tgt=tgt):
            return m.loss_and_grads(
                b.x[s : s + k], tgt, mask=m_c, state=s0, scale=m_c.sum() / total
            )[0]

        numeric = numerical_gradients(chunk_loss, m.params)
        for name in m.params:
            assert relative_error(grads[name], numeric[name]) < FD_REL, (name, c)
        checked += 1
    assert checked >= 1
    # Summed over chunks the truncated gradient differs from the full one (the cut is real).
    _, full, _, _ = tr.full_bptt(m, task, b)
    summed = {n: sum(g[n] for _, g, _ in chunks if g is not None) for n in full}
    assert relative_error(summed["W_hh_l0"], full["W_hh_l0"]) > 1e-3


def test_resume_reproduces_the_uninterrupted_run_bit_for_bit(tmp_path):
    whole = train(
        TrainConfig(**TINY, model="lstm", steps=8, out=str(tmp_path / "a")),
        progress=False,
        log=lambda s: None,
    )
    half = TrainConfig(**TINY, model="lstm", steps=4, out=str(tmp_path / "b"))
    train(half, progress=False, log=lambda s: None)
    resumed = train(
        TrainConfig(steps=8, out=str(tmp_path / "b")),
        resume=True,
        progress=False,
        log=lambda s: None,
    )
    assert resumed.step == whole.step == 8
    for k, v in whole.model.params.items():
        assert np.array_equal(v, resumed.model.params[k]), k
    a = ckpt.load_checkpoint(tmp_path / "a" / "model.safetensors")
    b = ckpt.load_checkpoint(tmp_path / "b" / "model.safetensors")
    for k in a.optimizer_state:
        assert np.array_equal(a.optimizer_state[k], b.optimizer_state[k])
    rows_a = (tmp_path / "a" / "metrics.csv").read_text().splitlines()
    rows_b = (tmp_path / "b" / "metrics.csv").read_text().splitlines()
    cols = lambda line: line.split(",")[:5]  # step, sequences, loss, grad norm, accuracy
    assert [cols(r) for r in rows_a] == [cols(r) for r in rows_b]


def test_nan_loss_stops_and_keeps_last_finite_checkpoint(tmp_path, monkeypatch):
    real = tr.full_bptt
    calls = {"n": 0}

    def poisoned(model, task, b, state=None):
        calls["n"] += 1
        value, grads, y, s_T = real(model, task, b, state)
        return (float("nan") if calls["n"] == 5 else value), grads, y, s_T

    monkeypatch.setattr(bptt, "full_bptt", poisoned)
    lines = []
    run = train(
        TrainConfig(**TINY, model="rnn", steps=20, out=str(tmp_path / "r")),
        progress=False,
        log=lines.append,
    )
    assert run.status == "diverged" and run.step == 5
    assert "nan" in lines[-1] and "step 3" in lines[-1]  # last checkpoint was the step-3 eval
    saved = ckpt.load_checkpoint(tmp_path / "r" / "model.safetensors")
    assert saved.metadata["step"] == 3
    assert all(np.isfinite(v).all() for v in saved.params.values())
    rows = (tmp_path / "r" / "metrics.csv").read_text().splitlines()
    assert rows[-1].startswith("3,")


def test_run_folder_evaluate_and_load_run(tmp_path):
    out = tmp_path / "run"
    run = train(
        TrainConfig(**TINY, model="gru", steps=6, out=str(out)), progress=False, log=lambda s: None
    )
    assert sorted(p.name for p in out.iterdir()) == sorted(tr.RUN_FILES)
    assert read_config(out / "config.toml") == run.config
    loaded = tr.load_run(out)
    assert loaded.config == run.config
    assert loaded.metrics_path == out / "metrics.csv"
    assert loaded.model.layer.family == "gru"
    for k, v in run.model.params.items():
        assert np.array_equal(loaded.model.params[k], v)
    header = loaded.metrics_path.read_text().splitlines()[0]
    assert header.startswith("step,sequences,loss,grad_norm,accuracy,seconds")
    r = evaluate(out, size=32)
    assert r["size"] == 32 and 0.0 <= r["accuracy"] <= 1.0 and r["solved"] in (True, False)


def test_tiny_training_learns():
    """Seconds of training cut the loss of the notes' running-total task by more than half."""
    cfg = TrainConfig(
        task="feature_total",
        model="rnn",
        hidden=8,
        batch=16,
        steps=150,
        eval_every=50,
        eval_size=64,
        time_budget=None,
        max_sequences=None,
    )
    task = tr.make_task(tr.resolve_config(cfg))
    b = task.sample(256, rng=99)
    before = tr.build_model(tr.resolve_config(cfg), task)
    run = train(cfg, progress=False, log=lambda s: None)
    assert run.step == 150 or run.status == "solved"
    loss = lambda m: m.loss_and_grads(b.x, b.y, **b.loss_kwargs(task.target))[0]
    assert loss(run.model) < 0.5 * loss(before)


def test_tbptt_run_and_clipping_records_norm_before_clipping(tmp_path):
    run = train(
        TrainConfig(**TINY, model="rnn", steps=4, tbptt=4, clip=1e-6, out=str(tmp_path)),
        progress=False,
        log=lambda s: None,
    )
    assert run.step == 4
    rows = (tmp_path / "metrics.csv").read_text().splitlines()[1:]
    norms = [float(r.split(",")[3]) for r in rows]
    assert all(n > 1e-6 for n in norms)  # the norm is recorded before clipping


def test_existing_folder_refused_unless_force(tmp_path):
    (tmp_path / "keep.txt").write_text("mine")
    cfg = TrainConfig(**TINY, steps=2, out=str(tmp_path))
    with pytest.raises(FileExistsError, match="not empty"):
        train(cfg, progress=False, log=lambda s: None)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["keep.txt"]
    train(cfg, progress=False, force=True, log=lambda s: None)
    assert (tmp_path / "keep.txt").read_text() == "mine"  # --force touches only run files
    with pytest.raises(FileNotFoundError, match="nothing to resume"):
        train(TrainConfig(out=str(tmp_path / "none")), resume=True, progress=False)


@pytest.mark.parametrize(
    "field, value, exc, match",
    [
        ("task", "addin", ValueError, "task: expected one of adding"),
        ("model", "transformer", ValueError, "model: expected one of rnn, lstm, gru"),
        ("optimizer", "lbfgs", ValueError, "optimizer: expected one of"),
        ("length", 0, ValueError, "length"),
        ("lr", -1.0, ValueError, "lr"),
        ("clip", 0.0, ValueError, "clip"),
        ("hidden", 2.5, TypeError, "hidden"),
        ("tbptt", -2, ValueError, "tbptt"),
    ],
)
def test_bad_config_fields(field, value, exc, match):
    with pytest.raises(exc, match=match):
        tr.validate_config(dataclasses.replace(TrainConfig(), **{field: value}))


def test_config_toml_round_trip_and_errors(tmp_path):
    cfg = tr.resolve_config(TrainConfig(**TINY, tbptt=5))
    tr.write_config(tmp_path / "c.toml", cfg)
    assert read_config(tmp_path / "c.toml") == cfg
    (tmp_path / "bad.toml").write_text("task = [")
    with pytest.raises(ValueError, match="not valid TOML"):
        read_config(tmp_path / "bad.toml")
    (tmp_path / "unk.toml").write_text('task = "adding"\nwidth = 3\n')
    with pytest.raises(ValueError, match="unknown setting"):
        read_config(tmp_path / "unk.toml")


def test_final_verdict_rests_on_the_full_test_set(tmp_path):
    """A run that ends unsolved after a screen is judged once more on the full set."""
    cfg = TrainConfig(**{**TINY, "screen_size": 8, "eval_every": 2, "steps": 4}, out=str(tmp_path))
    run = train(cfg, progress=False, log=lambda s: None)
    rows = (tmp_path / "metrics.csv").read_text().splitlines()
    assert rows[0].endswith("test_accuracy,test_loss,test_size")
    sizes = [r.split(",")[-1] for r in rows[1:]]
    assert run.status == "not solved"  # four steps of a 4-unit LSTM cannot solve it
    assert sizes == ["", "8", "", "16"]


@pytest.mark.parametrize(
    "screen_passes, full_passes, sizes, status",
    [
        (False, True, [8], "not solved"),  # a failed screen never draws the full set
        (True, False, [8, 16], "not solved"),  # only the full set may declare success
        (True, True, [8, 16, 2560], "solved"),  # ... and only the task's own 2,560 sequences
    ],
)
def test_screened_evaluation(monkeypatch, screen_passes, full_passes, sizes, status):
    """The quick check decides only whether the full test set is drawn."""
    seen = []

    def fake_evaluate(model, task, size, rng, chunk=512, *, stop_early=False, counted=False):
        seen.append(size)
        ok = screen_passes if size == 8 else full_passes
        result = (1.0 if ok else 0.5), 0.1, ok
        return (*result, size) if counted else result

    monkeypatch.setattr(data_tasks, "evaluate_model", fake_evaluate)
    cfg = TrainConfig(**{**TINY, "screen_size": 8, "eval_every": 1, "steps": 1})
    run = train(cfg, progress=False, log=lambda s: None)
    assert seen == sizes and run.status == status


def test_metrics_text_kept_lines_match_a_fresh_format():
    # a run's saves: rows appended, test columns filled later (in place within the tail the
    # contract allows, or an older row replaced by another dict), rows dropped by a rewind, a
    # NaN loss, an extra column, cells the CSV must quote; each text equals a fresh format
    from rnnlab.training.runs import METRIC_COLUMNS, MetricsText, metrics_text

    rng = np.random.default_rng(0)
    kept, rows, saved = MetricsText(), [], 0
    cols = METRIC_COLUMNS + ("note",)
    for save in range(60):
        for _ in range(int(rng.integers(0, 6))):
            s = len(rows) + 1
            loss = float("nan") if s % 17 == 0 else float(rng.random())
            rows.append({"step": s, "sequences": 8 * s, "loss": loss, "test_size": None})
        if rows and save % 3 == 0:  # in place: the previous save's last row (the final verdict
            # fills it), or a new one
            lo = min(max(saved - 1, 0), len(rows) - 1)
            rows[int(rng.integers(lo, len(rows)))].update(test_accuracy=0.5, test_size=256)
        if rows and save % 4 == 1:  # an older row replaced by another dict
            i = int(rng.integers(len(rows)))
            rows[i] = {**rows[i], "test_accuracy": float(rng.random())}
        if rows and save % 7 == 6:
            del rows[int(rng.integers(len(rows))) :]  # put back to an evaluation point
        if rows and save % 5 == 4:
            rows[-1]["note"] = 'a "quoted", two-line\ncell'
        for columns in (METRIC_COLUMNS, cols) if save % 11 == 10 else (cols,):
            assert kept.text(rows, columns) == metrics_text(rows, columns)
        saved = len(rows)
    assert kept.text([], cols) == metrics_text([], cols)


def test_progress_bar_ends_on_the_last_kept_row(capsys, monkeypatch, tmp_path):
    """The bar's text is made only now and then (not at every step); its last text is the last
    kept row's, with the last test result."""
    import rnnlab.training.callbacks as cbs
    from rnnlab.figures.training import read_metrics

    monkeypatch.setattr(cbs, "POSTFIX_EVERY", 3600.0)  # after the first step: only at the end
    cfg = TrainConfig(**TINY, model="rnn", steps=9, out=str(tmp_path / "run"))
    run = train(cfg, log=lambda s: None)
    last = {k: v[-1] for k, v in read_metrics(run.out / "metrics.csv").items()}
    err = capsys.readouterr().err.rstrip().splitlines()[-1]
    assert err.startswith("rnn adding") and f"{run.step}/9" in err
    want = f"loss {last['loss']:.3g} |g| {last['grad_norm']:.3g} acc {100 * last['accuracy']:.0f}%"
    assert want in err
    assert f"test {100 * last['test_accuracy']:.1f}%" in err
