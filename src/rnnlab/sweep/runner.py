"""Run a sweep's jobs: in local worker processes (default) or on a Dask distributed cluster.

Every job is an independent ``train(config)`` in its own run folder; the sweep process alone
writes the results file. A job whose worker dies (killed, out of memory) is recorded as failed
with the reason, and the sweep goes on; running the sweep again skips finished jobs and re-runs
failed, killed and never-finished ones.
"""

from __future__ import annotations

import multiprocessing as mp
import os
import signal
import socket
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from multiprocessing.connection import wait
from pathlib import Path
from typing import Any

from .spec import Job
from .store import ResultsDB

# Small recurrent nets are fastest on one BLAS thread per process, and N processes on N cores
# must not each start a pool of N threads. (Not NUMBA_NUM_THREADS: Dask's nanny writes these
# into this process's own environment too, and Numba refuses a changed value once its threads
# have started; each job's kernels keep to one thread through train(threads=1) instead.)
ONE_THREAD_ENV = {
    k: "1"
    for k in (
        "OMP_NUM_THREADS",
        "OPENBLAS_NUM_THREADS",
        "MKL_NUM_THREADS",
        "VECLIB_MAXIMUM_THREADS",
    )
}
Done = Callable[[str, bool, Any], None]  # (job key, ok, result dict | failure reason)


def run_job(config: dict[str, Any], run_dir: str, fresh_eval: int | None) -> dict[str, Any]:
    """Train one job (in a worker) and judge the result once more on a fresh draw.

    Returns the results-file columns of the job.
    """
    from ..training.api import evaluate, train
    from ..training.config import config_from_dict

    cfg = config_from_dict({**config, "out": run_dir})
    # the sweep keeps every core busy with jobs: no second thread per job
    run = train(
        cfg, progress=False, force=True, log=lambda s: None, background_eval=False, threads=1
    )
    size = run.config.eval_size
    acc = run.test_accuracy
    out: dict[str, Any] = {
        "status": run.status,
        "solved_at": run.solved_at,
        "sequences": run.sequences,
        "seconds": round(run.seconds, 3),
        "accuracy": acc,
        "test_size": size,
        "wrong": round((1.0 - acc) * size) if acc is not None and size else None,
        "run_dir": run_dir,
        "reason": run.message,
        "worker": f"{socket.gethostname()}:{os.getpid()}",
    }
    if run.status in ("solved", "not solved") and run.task is not None:
        ev = evaluate(run_dir, size=fresh_eval)  # a test seed no training evaluation used
        out.update(
            fresh_accuracy=ev["accuracy"],
            fresh_size=ev["size"],
            fresh_wrong=round((1.0 - ev["accuracy"]) * ev["size"]),
            fresh_solved=int(bool(ev["solved"])),
        )
    return out


# -- local processes ---------------------------------------------------------------------------
def _worker_main(conn) -> None:  # pragma: no cover - runs in the child process
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent decides when the sweep stops
    while True:
        try:
            msg = conn.recv()
        except EOFError:  # the sweep process is gone
            return
        if msg is None:
            return
        key, args = msg
        try:
            result = (key, True, run_job(*args))
        except Exception as exc:  # a job's error is its result, not the worker's end
            result = (key, False, f"{type(exc).__name__}: {exc}")
        try:
            conn.send(result)
        except OSError:  # the sweep process is gone (stopped): nobody to tell
            return


def _death(code: int | None) -> str:
    if code is not None and code < 0:
        try:
            return f"worker process died (signal {signal.Signals(-code).name})"
        except ValueError:
            pass
    return f"worker process died (exit code {code})"


def execute_local(tasks: list[tuple[str, tuple]], workers: int, on_done: Done) -> None:
    """Run ``tasks`` ``(key, run_job args)`` on ``workers`` spawned processes, one job each at a
    time; a process that dies is replaced, and its job reported as failed."""
    ctx = mp.get_context("spawn")  # a clean interpreter: no inherited BLAS pools or locks
    old = {k: os.environ.get(k) for k in ONE_THREAD_ENV}
    os.environ.update(ONE_THREAD_ENV)  # children inherit the environment at spawn
    todo = list(reversed(tasks))
    slots: dict[Any, tuple[Any, Any, str | None]] = {}  # conn -> (process, conn, key)
    served: dict[Any, int] = {}  # conn -> jobs it finished
    early_deaths = 0  # processes that died before finishing any job, in a row

    def start() -> None:
        parent, child = ctx.Pipe()
        p = ctx.Process(target=_worker_main, args=(child,), daemon=True)
        p.start()
        child.close()
        slots[parent] = (p, parent, None)
        served[parent] = 0

    def feed(conn) -> None:
        p, _, _ = slots[conn]
        if todo:
            key, args = todo.pop()
            try:
                conn.send((key, args))
            except OSError:  # the process died since its last result: the job waits for another
                todo.append((key, args))
                return
            slots[conn] = (p, conn, key)
        else:
            conn.send(None)
            slots.pop(conn)
            p.join(timeout=10)

    try:
        for _ in range(min(workers, len(tasks))):
            start()
        for conn in list(slots):
            feed(conn)
        while slots:
            by_sentinel = {p.sentinel: conn for p, conn, _ in slots.values()}
            ready = wait(list(slots) + list(by_sentinel))
            for r in ready:
                conn = by_sentinel.get(r, r)
                if conn not in slots:
                    continue
                p, _, key = slots[conn]
                try:
                    got = conn.recv() if r is conn else None
                except (EOFError, OSError):
                    got = None
                if got is not None:
                    on_done(*got)
                    served[conn] += 1
                    early_deaths = 0
                    feed(conn)
                    continue
                if r is not conn and conn.poll():  # died after sending: take the result first
                    continue
                p.join(timeout=5)
                slots.pop(conn)
                conn.close()
                if key is not None:
                    on_done(key, False, _death(p.exitcode))
                early_deaths = early_deaths + 1 if served.pop(conn, 0) == 0 else 0
                if early_deaths > 2 * workers + 1:
                    raise ValueError(
                        f"workers: every worker process dies before finishing a job "
                        f"({_death(p.exitcode)}); a script that starts a sweep must guard it "
                        "with `if __name__ == '__main__':` (worker processes import it)"
                    )
                if todo:
                    start()
                    feed(next(reversed(slots)))
    finally:
        for p, _conn, _ in list(slots.values()):
            p.terminate()
        for k, v in old.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


# -- Dask ---------------------------------------------------------------------------------------
# Dask's defaults for its worker processes cost an rnnlab job about 15% of its CPU time (measured
# with benchmarks/sweep_scale.py): the nanny sets MALLOC_TRIM_THRESHOLD_, which also freezes
# glibc's mmap threshold, so every NumPy array above 128 KiB becomes a fresh mmap and its page
# faults; and the worker's profiler samples the running job every 10 ms. The local clusters rnnlab
# starts go without both (the BLAS thread limits stay); see the README for an existing cluster.
LOCAL_WORKER_CONFIG = {
    "distributed.worker.profile.enabled": False,
    "distributed.nanny.pre-spawn-environ": dict(ONE_THREAD_ENV),
}


def local_cluster(n_workers: int):
    """A local Dask cluster of ``n_workers`` one-thread worker processes, set up for rnnlab's
    jobs (:data:`LOCAL_WORKER_CONFIG`; the nannies keep it for restarted workers)."""
    import dask
    from distributed import LocalCluster

    with dask.config.set(LOCAL_WORKER_CONFIG):
        return LocalCluster(
            n_workers=n_workers, threads_per_worker=1, processes=True, dashboard_address=None
        )


def connect(scheduler: str, timeout: float = 10.0):
    """A ``distributed.Client`` for ``ADDRESS`` or ``local:N`` (a local cluster of N one-thread
    worker processes); ValueError in one line when it cannot be reached within ``timeout``."""
    try:
        from distributed import Client
    except ImportError:  # pragma: no cover
        raise ValueError(
            "scheduler: Dask distributed is not installed (pip install 'rnnlab[sweep]')"
        ) from None
    if scheduler.startswith("local:"):
        n = scheduler.split(":", 1)[1]
        if not n.isdigit() or int(n) < 1:
            raise ValueError(f"scheduler: expected local:N with N >= 1 workers, got {scheduler!r}")
        return Client(local_cluster(int(n)))
    try:
        return Client(scheduler, timeout=timeout)
    except (OSError, TimeoutError, ValueError, TypeError) as exc:
        msg = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise ValueError(
            f"scheduler: cannot reach {scheduler!r} within {timeout:g} s ({msg[:120]})"
        ) from None


def execute_dask(tasks: list[tuple[str, tuple]], client, on_done: Done) -> None:
    """Submit ``tasks`` to a Dask client and report each as it completes. A worker lost mid-job
    makes the scheduler re-run that job elsewhere; after the scheduler's allowed failures it is
    reported as failed (``KilledWorker``)."""
    from distributed import as_completed

    futures = {
        client.submit(run_job, *args, key=f"rnnlab-job-{key}", pure=False, retries=0): key
        for key, args in tasks
    }
    for fut in as_completed(futures):
        key = futures[fut]
        if fut.status == "finished":
            on_done(key, True, fut.result())
        else:
            exc = fut.exception()
            on_done(key, False, f"{type(exc).__name__}: {str(exc).splitlines()[0][:300]}")
        fut.release()


def _exit_on_term(signum: int, frame: Any) -> None:
    raise SystemExit(128 + signum)


# -- the sweep --------------------------------------------------------------------------------
@dataclass
class SweepResult:
    """What :func:`run_sweep` did."""

    total: int  # jobs in the sweep
    skipped: int  # finished before (reused from the results file)
    ran: int  # run now
    failed: int  # run now and failed (worker died, error)
    seconds: float  # wall-clock time of this call
    results: Path  # the results file


def run_dir_for(runs: Path, job: Job) -> Path:
    c = job.config
    return runs / f"{c.get('task') or 'data'}-{c.get('model', 'lstm')}-{job.key}"


def run_sweep(
    jobs: Iterable[Job],
    results: str | os.PathLike,
    *,
    runs_dir: str | os.PathLike | None = None,
    workers: int | None = None,
    scheduler: str | None = None,
    progress: bool = True,
    timeout: float = 10.0,
) -> SweepResult:
    """Run every job not finished in ``results`` (SQLite; created if needed) and record each.

    Args:
        jobs: from :func:`rnnlab.sweep.expand` / :func:`rnnlab.sweep.read_spec`.
        results: the results file; jobs finished there are skipped.
        runs_dir: where run folders go (default: ``runs/`` beside the results file).
        workers: local worker processes (default: all cores); ignored with ``scheduler``.
        scheduler: a Dask scheduler address (``tcp://host:port``) or ``local:N``.
        progress: a progress bar on stderr counting jobs.
        timeout: seconds to wait for the scheduler.
    """
    from tqdm.auto import tqdm

    jobs = list(jobs)
    if not jobs:
        raise ValueError("jobs: expected at least one job, got an empty grid")
    if workers is not None and (isinstance(workers, bool) or not isinstance(workers, int)):
        raise TypeError(f"workers: expected a positive int, got {workers!r}")
    if workers is not None and workers < 1:
        raise ValueError(f"workers: expected a positive int, got {workers}")
    t0 = time.perf_counter()
    with ResultsDB(results) as db:
        runs = Path(runs_dir) if runs_dir is not None else db.path.parent / "runs"
        done = db.done_keys()
        todo = [j for j in jobs if j.key not in done]
        client = connect(scheduler, timeout) if scheduler and todo else None
        tasks = []
        for j in todo:
            rd = str(run_dir_for(runs, j))
            db.put(j.key, sweep=j.sweep, config=j.config, status="pending", run_dir=rd, reason="")
            tasks.append((j.key, (j.config, rd, j.fresh_eval)))
        failed = 0
        bar = tqdm(total=len(jobs), initial=len(jobs) - len(todo), unit="job", disable=not progress)

        def on_done(key: str, ok: bool, res: Any) -> None:
            nonlocal failed
            if ok:
                db.put(key, **res)
            else:
                failed += 1
                db.put(key, status="failed", reason=str(res))
            bar.update(1)

        # SIGTERM ends the sweep through the finally blocks below: the workers are stopped and
        # the unfinished jobs stay "pending" (run again next time) instead of orphaned processes
        old_term = None
        if threading.current_thread() is threading.main_thread():
            old_term = signal.signal(signal.SIGTERM, _exit_on_term)
        try:
            if client is not None:
                try:
                    execute_dask(tasks, client, on_done)
                finally:
                    cluster = getattr(client, "cluster", None)
                    client.close()
                    if cluster is not None:
                        cluster.close()
            elif tasks:
                execute_local(tasks, workers or os.cpu_count() or 1, on_done)
        finally:
            bar.close()
            if old_term is not None:
                signal.signal(signal.SIGTERM, old_term)
        return SweepResult(
            len(jobs), len(jobs) - len(todo), len(todo), failed, time.perf_counter() - t0, db.path
        )
