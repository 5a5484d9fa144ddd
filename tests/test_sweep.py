"""rnnlab sweep: grid expansion, the results file, resume, bad input, and a real Dask cluster
(a scheduler and two workers as separate processes, one killed mid-sweep)."""

from __future__ import annotations

import os
import signal
import socket
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from rnnlab.cli import main
from rnnlab.sweep import ResultsDB, config_hash, expand, run_sweep

TINY = {"steps": 5, "hidden": 4, "eval_size": 64, "screen_size": None, "eval_every": 1000}


def tiny_spec(seeds=2, **grid):
    return {
        "sweep": {"name": "t", "seeds": seeds, "fresh_eval": 64},
        "base": dict(TINY),
        "grid": grid or {"task": ["adding"], "model": ["rnn", "gru"], "length": [20]},
    }


# -- the grid --------------------------------------------------------------------------------
def test_expand_is_the_product_times_seeds():
    jobs = expand(tiny_spec(seeds=3, task=["adding"], model=["rnn", "lstm"], length=[20, 30]))
    assert len(jobs) == 2 * 2 * 3
    assert len({j.key for j in jobs}) == 12
    assert {j.config["seed"] for j in jobs} == {0, 1, 2}
    assert all(j.config["steps"] == 5 for j in jobs)


def test_expand_task_options_extra_and_duplicates():
    spec = tiny_spec(seeds=[4], **{"task": ["temporal_order"], "task_kwargs.symbols": [2, 3]})
    spec["extra"] = [{"task": "temporal_order", "task_kwargs": {"symbols": 2}}]  # a duplicate
    jobs = expand(spec)
    assert sorted(j.config["task_kwargs"]["symbols"] for j in jobs) == [2, 3]


def test_config_hash_ignores_order_and_number_spelling():
    assert config_hash({"a": 1.0, "b": {"y": 2, "x": 1}}) == config_hash(
        {"b": {"x": 1, "y": 2.0}, "a": 1}
    )
    assert config_hash({"a": 1}) != config_hash({"a": 2})


@pytest.mark.parametrize(
    "spec, match",
    [
        ({"grid": {"modle": ["rnn"]}}, r"grid\.modle: unknown key; expected one of .*model"),
        ({"sweep": {"seedz": 2}, "grid": {"model": ["rnn"]}}, r"sweep\.seedz: unknown key"),
        ({"grid": {"model": ["lsmt"]}}, r"model: expected one of rnn, lstm, gru"),
        ({"grid": {"model": []}}, r"grid\.model: expected a non-empty list"),
        ({"grid": {}}, r"grid: the sweep has no jobs"),
        ({"grid": {"length": [5]}}, r"length: expected an int >= 12"),
        ({"sweep": {"seeds": 0}, "grid": {"model": ["rnn"]}}, r"sweep\.seeds"),
    ],
)
def test_bad_specs_name_the_key(spec, match):
    with pytest.raises(ValueError, match=match):
        expand(spec)


def test_cli_bad_spec_exits_2_with_one_line(tmp_path, capsys):
    p = tmp_path / "s.toml"
    p.write_text('[grid]\nmodle = ["rnn"]\n')
    assert main(["sweep", str(p), "--quiet"]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "modle" in err


# -- running and resuming ----------------------------------------------------------------------
def test_local_sweep_records_every_job_and_resume_skips_them(tmp_path):
    jobs = expand(tiny_spec())
    db = tmp_path / "r.sqlite"
    r = run_sweep(jobs, db, workers=2, progress=False)
    assert (r.total, r.skipped, r.ran, r.failed) == (4, 0, 4, 0)
    with ResultsDB(db, write=False) as rd:
        rows = rd.rows()
    assert sorted(x["key"] for x in rows) == sorted(j.key for j in jobs)
    for x in rows:
        assert x["status"] == "not solved" and x["sequences"] > 0 and x["seconds"] > 0
        assert x["test_size"] == 64 and 0 <= x["wrong"] <= 64 and x["fresh_size"] == 64
        assert Path(x["run_dir"], "metrics.csv").exists()
    again = run_sweep(jobs, db, workers=2, progress=False)
    assert (again.skipped, again.ran) == (4, 0)
    # a failed job is run again, a finished one is not
    with sqlite3.connect(db) as c:
        c.execute("UPDATE jobs SET status='failed' WHERE key=?", (jobs[0].key,))
    third = run_sweep(jobs, db, workers=1, progress=False)
    assert (third.skipped, third.ran) == (3, 1)


def test_a_killed_local_worker_fails_its_job_and_the_sweep_goes_on(tmp_path):
    import multiprocessing as mp

    spec = tiny_spec(seeds=3, task=["adding"], model=["lstm"], length=[100])
    spec["base"].update(steps=None, time_budget=3.0, hidden=16)
    jobs = expand(spec)
    db = tmp_path / "r.sqlite"
    out = {}
    th = threading.Thread(
        target=lambda: out.update(r=run_sweep(jobs, db, workers=2, progress=False))
    )
    th.start()
    deadline = time.time() + 60
    while time.time() < deadline and len(list((tmp_path / "runs").glob("*"))) < 1:
        time.sleep(0.1)
    victims = [p for p in mp.active_children() if p.name.startswith("SpawnProcess")]
    assert victims, "no worker process found"
    os.kill(victims[0].pid, signal.SIGKILL)
    th.join(120)
    r = out["r"]
    assert (r.ran, r.failed) == (3, 1)
    with ResultsDB(db, write=False) as rd:
        rows = rd.rows()
    failed = [x for x in rows if x["status"] == "failed"]
    assert len(rows) == 3 and len(failed) == 1 and "SIGKILL" in failed[0]["reason"]
    r2 = run_sweep(jobs, db, workers=2, progress=False)
    assert (r2.skipped, r2.ran, r2.failed) == (2, 1, 0)


def test_an_unguarded_script_fails_in_one_line_instead_of_looping(tmp_path):
    script = tmp_path / "unguarded.py"
    script.write_text(
        "from rnnlab.sweep import expand, run_sweep\n"
        f"spec = {{'sweep': {{'seeds': 6}}, 'base': {TINY!r}, "
        "'grid': {'model': ['rnn'], 'length': [20]}}\n"
        f"run_sweep(expand(spec), {str(tmp_path / 'r.sqlite')!r}, workers=1, progress=False)\n"
    )
    p = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=300)
    assert p.returncode != 0 and "guard it" in p.stderr


# -- bad results files, locking, schedulers -------------------------------------------------------
def test_a_file_that_is_not_rnnlabs_is_refused(tmp_path):
    junk = tmp_path / "x.sqlite"
    junk.write_text("not a database at all " * 100)
    with pytest.raises(ValueError, match="not an rnnlab sweep results file"):
        ResultsDB(junk)
    other = tmp_path / "y.sqlite"
    with sqlite3.connect(other) as c:
        c.execute("CREATE TABLE t (a)")
    with pytest.raises(ValueError, match="not an rnnlab sweep results file"):
        run_sweep(expand(tiny_spec()), other, progress=False)


def test_two_writers_one_refused_nothing_lost(tmp_path):
    db = tmp_path / "r.sqlite"
    first = ResultsDB(db)
    first.put("k1", status="solved")
    with pytest.raises(ValueError, match="being written by another sweep"):
        ResultsDB(db)
    first.close()
    with ResultsDB(db) as second:
        second.put("k2", status="solved")
        assert second.done_keys() == {"k1", "k2"}


def test_unreachable_scheduler_is_one_line_within_the_timeout(tmp_path, capsys):
    p = tmp_path / "s.toml"
    p.write_text('[base]\nsteps = 2\n[grid]\nmodel = ["rnn"]\nlength = [20]\n')
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    t0 = time.time()
    rc = main(
        ["sweep", str(p), "--quiet", "--timeout", "2", "--scheduler", f"tcp://127.0.0.1:{port}"]
    )
    assert rc == 2 and time.time() - t0 < 30
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "cannot reach" in err


# -- a real Dask cluster ------------------------------------------------------------------------
def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def dask_cluster(tmp_path):
    pytest.importorskip("distributed")
    dask = str(Path(sys.executable).with_name("dask"))
    port = _free_port()
    addr = f"tcp://127.0.0.1:{port}"
    env = {**os.environ, "OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1"}
    log = open(tmp_path / "dask.log", "w")  # noqa: SIM115
    procs = [
        subprocess.Popen(
            [dask, "scheduler", "--host", "127.0.0.1", "--port", str(port), "--no-dashboard"],
            stdout=log,
            stderr=log,
            env=env,
            start_new_session=True,
        )
    ]
    from distributed import Client

    deadline = time.time() + 60
    while True:
        try:
            Client(addr, timeout=2).close()
            break
        except OSError:
            if time.time() > deadline:
                raise
            time.sleep(0.5)
    for _ in range(2):
        procs.append(
            subprocess.Popen(
                [
                    dask,
                    "worker",
                    addr,
                    "--nthreads",
                    "1",
                    "--nworkers",
                    "1",
                    "--no-dashboard",
                    "--host",
                    "127.0.0.1",
                    "--local-directory",
                    str(tmp_path / "dask-work"),
                ],
                stdout=log,
                stderr=log,
                env=env,
                start_new_session=True,
            )
        )
    with Client(addr, timeout=10) as c:
        c.wait_for_workers(2, timeout=60)
    yield addr, procs
    for p in procs:
        if p.poll() is None:
            os.killpg(p.pid, signal.SIGKILL)
            p.wait()
    log.close()


def test_dask_sweep_survives_a_killed_worker(tmp_path, dask_cluster):
    addr, procs = dask_cluster
    spec = tiny_spec(seeds=3, task=["adding"], model=["rnn", "lstm"], length=[50])
    spec["base"].update(steps=None, time_budget=2.0, hidden=8)
    jobs = expand(spec)
    db = tmp_path / "r.sqlite"
    out = {}
    th = threading.Thread(
        target=lambda: out.update(r=run_sweep(jobs, db, scheduler=addr, progress=False))
    )
    th.start()
    deadline = time.time() + 60
    while time.time() < deadline and len(list((tmp_path / "runs").glob("*"))) < 2:
        time.sleep(0.1)
    os.killpg(procs[1].pid, signal.SIGKILL)  # the worker and its nanny: gone mid-job
    procs[1].wait()
    th.join(240)
    assert not th.is_alive()
    r = out["r"]
    assert r.ran == 6 and r.failed == 0
    with sqlite3.connect(db) as c:
        keys = [k for (k,) in c.execute("SELECT key FROM jobs")]
        statuses = {s for (s,) in c.execute("SELECT status FROM jobs")}
    assert sorted(keys) == sorted(j.key for j in jobs)  # every job exactly once
    assert statuses <= {"solved", "not solved"}


def test_local_dask_cluster_workers_run_without_the_trim_threshold_and_profiler():
    """``--scheduler local:N`` starts workers without Dask's MALLOC_TRIM_THRESHOLD_ (it freezes
    glibc's mmap threshold: page faults on every large NumPy array) and without the profiler,
    and keeps the one-BLAS-thread limits."""
    pytest.importorskip("distributed")
    from rnnlab.sweep.runner import connect

    def probe():
        import dask

        return (
            os.environ.get("MALLOC_TRIM_THRESHOLD_"),
            os.environ.get("OPENBLAS_NUM_THREADS"),
            dask.config.get("distributed.worker.profile.enabled"),
        )

    client = connect("local:1")
    try:
        (found,) = client.run(probe).values()
    finally:
        cluster = client.cluster
        client.close()
        cluster.close()
    assert found == (None, "1", False)
