"""The papers' settings and the table builder, against a hand-made results file."""

from __future__ import annotations

import pytest

from rnnlab.cli import main
from rnnlab.sweep import ResultsDB
from rnnlab.sweep.papers import (
    HS_ROWS,
    SETTINGS,
    hochreiter_jobs,
    pascanu_jobs,
    setup_config,
)
from rnnlab.sweep.tables import hochreiter_table, pascanu_success, pascanu_table, write_report
from rnnlab.training import config_from_dict


def _row(key, sweep, status, solved_at=None, fresh_wrong=0, fresh_size=2560):
    return dict(
        key=key,
        sweep=sweep,
        status=status,
        solved_at=solved_at,
        fresh_wrong=fresh_wrong,
        fresh_size=fresh_size,
        fresh_solved=int(fresh_wrong == 0),
    )


@pytest.fixture
def results(tmp_path):
    db = tmp_path / "results.sqlite"
    rows = [
        _row("a", "hochreiter1997|4-T100|1", "solved", 20_000, 0),
        _row("b", "hochreiter1997|4-T100|1", "solved", 30_000, 2),
        _row("c", "hochreiter1997|4-T100|1", "not solved", None, 2000),
        _row("d", "hochreiter1997|4-T100|3", "not solved", None, 2200),
        _row("e", "hochreiter1997|6a|0", "failed"),  # a failed job is no run
        _row("p1", "pascanu2013|adding|50|0", "diverged", None, None, None),
        _row("p2", "pascanu2013|adding|50|1", "not solved", None, 50, 10_000),
        _row("p3", "pascanu2013|adding|50|1", "not solved", None, 100, 10_000),
        _row("p4", "pascanu2013|adding|100|2", "solved", 9000, 0, 10_000),
    ]
    with ResultsDB(db) as w:
        for r in rows:
            w.put(r.pop("key"), **r)
    with ResultsDB(db, write=False) as rd:
        return rd.rows()


def test_hochreiter_table_from_a_hand_made_file(results):
    md = hochreiter_table(results)
    lines = [ln for ln in md.splitlines() if ln.startswith("| Exp.") or ln.startswith("|  |")]
    assert len(lines) == 2  # 4-T100: rnnlab LSTM and tanh RNN; 6a has only a failed job
    lstm, rnn = lines
    assert "74,000; 1 wrong of 2,560" in lstm and HS_ROWS[1][0] in lstm
    assert "| 2/3 | 25,000 (20,000-30,000) | 2 of 2,560 | 1/3 |" in lstm
    assert "| 0/1 | - | 2,200 of 2,560 | 0/1 |" in rnn
    assert "6a" not in md.split("| Exp. 4")[1]


def test_pascanu_success_and_table(results):
    succ = pascanu_success(results)
    assert succ[("adding", 50, 0)] == (0, 1)  # diverged
    assert succ[("adding", 50, 1)] == (1, 2)  # 50 of 10,000 wrong (0.5%) passes, 100 (1%) not
    assert succ[("adding", 100, 2)] == (1, 1)
    md = pascanu_table(results)
    assert "| addition | SGD-C (clipping) | 50% (1/2); 0.8% wrong | - |" in md
    assert "| addition | SGD | 0% (0/1) | - |" in md  # diverged: no fresh draw, no share
    assert "| temporal order" not in md


def test_write_report_writes_markdown_and_figure(results, tmp_path):
    for paper in ("hochreiter1997", "pascanu2013"):
        md, png = write_report(paper, results, tmp_path / "out", note="hand-made")
        assert md.read_text().startswith("hand-made") and png.stat().st_size > 1000
    with pytest.raises(ValueError, match="paper"):
        write_report("bengio1994", results, tmp_path)


def test_every_job_is_a_valid_config():
    jobs = hochreiter_jobs(2) + pascanu_jobs(5)
    for j in jobs:
        config_from_dict(j.config)
    assert len({j.key for j in jobs}) == len(jobs)
    assert len(hochreiter_jobs(10)) == 10 * len(SETTINGS) * len(HS_ROWS)
    omega = [j for j in pascanu_jobs(1) if j.config.get("omega")]
    assert omega and all(j.config["clip"] == 1.0 and j.config["hidden"] == 50 for j in omega)
    kw = {j.config["task"]: j.config["task_kwargs"] for j in pascanu_jobs(1)}
    assert kw == {"temporal_order": {"argmax": True}, "adding": {"tolerance": 0.2}}
    assert {j.config["length"] for j in pascanu_jobs(2, quick=True)} == {50}
    quick = hochreiter_jobs(2, quick=True)
    assert {j.sweep.split("|")[1] for j in quick} == {"2a", "4-T100", "6a", "6b"}


def test_paper_setup_is_the_1997_lstm():
    c = setup_config("adding", {"length": 100}, "paper")
    assert c["forget_gate"] is False and c["optimizer"] == "sgd" and c["batch"] == 1
    assert c["clip"] is None and c["input_bias"] < 0
    assert setup_config("adding", {}, "tuned") == {}
    with pytest.raises(ValueError, match="setup"):
        setup_config("copy", {}, "paper")
    with pytest.raises(ValueError, match="setup"):
        setup_config("adding", {}, "best")


def test_cli_bad_input_exits_2(capsys):
    assert main(["reproduce", "bengio1994"]) == 2
    assert main(["reproduce", "hochreiter1997", "--tables", "9z"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 2 and "paper" in err[0] and "9z" in err[1]
