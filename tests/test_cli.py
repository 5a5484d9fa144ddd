"""The `rnnlab` command: bad input is one line on stderr, exit 2, nothing written."""

import subprocess
import sys

import pytest

from rnnlab.cli import main

TINY = [
    "--length",
    "12",
    "--hidden",
    "4",
    "--batch",
    "4",
    "--eval-every",
    "3",
    "--eval-size",
    "16",
    "--quiet",
]


def _run(capsys, argv):
    code = main(argv)
    out, err = capsys.readouterr()
    return code, out, err


@pytest.mark.parametrize(
    "args, needle",
    [
        (["--task", "addin"], "task: expected one of adding"),
        (["--model", "transformer"], "model: expected one of rnn, lstm, gru"),
        (["--optimizer", "lbfgs"], "optimizer: expected one of sgd"),
        (["--length", "0"], "length"),
        (["--length", "-3"], "length"),
        (["--lr", "0"], "lr"),
        (["--lr", "-1e-3"], "lr"),
        (["--clip", "0"], "clip"),
        (["--clip", "-1"], "clip"),
        (["--hidden", "0"], "hidden"),
        (["--init", "zeros"], "init: expected one of"),
        (["--config", "missing.toml"], "no such file"),
        (["--lr", "abc"], "lr"),
        (["--input-bias", "nan"], "input_bias: expected a finite number"),
        (["--screen-size", "0"], "screen_size"),
        (["--task-option", "symbols"], "task-option: expected KEY=VALUE, got 'symbols'"),
        (["--task-option", "colour=3"], "task_kwargs: adding does not take these settings"),
    ],
)
def test_bad_train_input(tmp_path, capsys, monkeypatch, args, needle):
    monkeypatch.chdir(tmp_path)
    code, out, err = _run(capsys, ["train", *args, "--out", "run"])
    assert code == 2
    lines = err.strip().splitlines()
    assert len(lines) == 1 and needle in lines[0], err
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    "text, needle",
    [
        ("task = [", "not valid TOML"),
        ('task = "adding"\nwidth = 3\n', "unknown setting"),
        ('lr = "fast"\n', "lr"),
        ('model = "tf"\n', "model"),
    ],
)
def test_bad_config_file(tmp_path, capsys, text, needle):
    cfg = tmp_path / "c.toml"
    cfg.write_text(text)
    code, _, err = _run(capsys, ["train", "--config", str(cfg), "--out", str(tmp_path / "run")])
    assert code == 2 and len(err.strip().splitlines()) == 1 and needle in err, err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["c.toml"]


def test_unreadable_config_file(tmp_path, capsys):
    code, _, err = _run(capsys, ["train", "--config", str(tmp_path), "--out", str(tmp_path / "r")])
    assert code == 2 and len(err.strip().splitlines()) == 1 and "config" in err


def test_existing_out_refused_then_force_and_resume(tmp_path, capsys):
    out = tmp_path / "run"
    out.mkdir()
    (out / "notes.txt").write_text("x")
    code, _, err = _run(capsys, ["train", *TINY, "--steps", "3", "--out", str(out)])
    assert code == 2 and "not empty" in err and len(err.strip().splitlines()) == 1
    assert sorted(p.name for p in out.iterdir()) == ["notes.txt"]
    code, stdout, _ = _run(capsys, ["train", *TINY, "--steps", "3", "--out", str(out), "--force"])
    assert code == 1 and "run folder" in stdout  # 1: not solved within the budget
    assert {"config.toml", "metrics.csv", "model.safetensors", "loss-curve.png"} <= {
        p.name for p in out.iterdir()
    }
    code, stdout, _ = _run(
        capsys, ["train", "--resume", "--steps", "6", "--out", str(out), "--quiet"]
    )
    assert code == 1
    assert (out / "metrics.csv").read_text().splitlines()[-1].startswith("6,")
    code, _, err = _run(capsys, ["train", "--resume", "--lr", "1", "--out", str(out)])
    assert code == 2 and "resume" in err
    code, stdout, _ = _run(capsys, ["evaluate", str(out), "--size", "32"])
    assert code == 0 and "32 fresh test sequences" in stdout and "SOLVED" in stdout


def test_gate_biases_and_screen_size_reach_the_saved_run(tmp_path, capsys):
    from rnnlab.training import load_run

    out = tmp_path / "run"
    args = ["--forget-bias", "2", "--input-bias", "-3", "--screen-size", "8", "--steps", "1"]
    code, _, _ = _run(capsys, ["train", *TINY, "--model", "lstm", *args, "--out", str(out)])
    assert code == 1  # one step: not solved
    run = load_run(out)
    c = run.config
    assert (c.forget_bias, c.input_bias, c.screen_size) == (2.0, -3.0, 8)


def test_task_options_become_task_settings(tmp_path, capsys):
    from rnnlab.training import load_run

    out = tmp_path / "run"
    argv = ["train", "--task", "temporal_order", "--task-option", "symbols=3", "--steps", "1"]
    code, _, _ = _run(capsys, [*argv, "--eval-size", "8", "--quiet", "--out", str(out)])
    assert code == 1  # one step: not solved
    run = load_run(out)
    assert run.config.task_kwargs == {"symbols": 3}
    assert run.model.readout.params["W_hy"].shape[0] == 8  # 2**3 classes


def test_evaluate_missing_run(tmp_path, capsys):
    code, _, err = _run(capsys, ["evaluate", str(tmp_path / "nope")])
    assert code == 2 and len(err.strip().splitlines()) == 1


def test_tasks_lists_every_task_with_source(capsys):
    from rnnlab.tasks import TASKS

    code, out, _ = _run(capsys, ["tasks"])
    assert code == 0
    for name in TASKS:
        assert name in out
    assert "Hochreiter & Schmidhuber 1997" in out and "solved:" in out


def test_demo_refuses_existing_folder(tmp_path, capsys):
    (tmp_path / "f").write_text("x")
    code, _, err = _run(capsys, ["demo", "--out", str(tmp_path), "--quiet"])
    assert code == 2 and "not empty" in err


def _console(*args: str) -> subprocess.CompletedProcess:
    """The console script's function on ``args`` in a fresh interpreter."""
    code = "from rnnlab.cli import console; console()"
    return subprocess.run(
        [sys.executable, "-c", code, *args], capture_output=True, text=True, timeout=120
    )


def test_the_console_script_exits_with_the_commands_status():
    ok = _console("tasks")
    assert ok.returncode == 0 and "adding" in ok.stdout
    bad = _console("train", "--task", "adding", "--steps", "0")
    assert bad.returncode == 2
    assert bad.stderr.strip().count("\n") == 0 and "steps" in bad.stderr
    assert "Traceback" not in bad.stderr
