"""The results file of a sweep: one SQLite row per job, keyed by the job's config hash.

Only the process that runs the sweep writes it (workers return their results to it), and it
holds an exclusive lock on ``FILE.lock`` while it does: a second sweep on the same file is
refused at once instead of interleaving with the first. Readers (table builders) need no lock.
"""

from __future__ import annotations

import fcntl
import json
import os
import sqlite3
import time
from pathlib import Path
from typing import Any

FORMAT = "rnnlab-sweep"
VERSION = "1"
DONE = ("solved", "not solved", "finished", "diverged")  # outcomes a re-run would not change

COLUMNS = (
    ("key", "TEXT PRIMARY KEY"),  # config hash
    ("sweep", "TEXT"),  # the sweep's name
    ("config", "TEXT"),  # the job's TrainConfig fields, JSON
    ("status", "TEXT"),  # pending | running | solved | not solved | diverged | failed | ...
    ("solved_at", "INTEGER"),  # training sequences when the criterion was first met
    ("sequences", "INTEGER"),  # training sequences seen
    ("seconds", "REAL"),  # training time
    ("accuracy", "REAL"),  # fraction correct at the run's last evaluation
    ("test_size", "INTEGER"),  # sequences of that evaluation
    ("wrong", "INTEGER"),  # wrong sequences of that evaluation
    ("fresh_accuracy", "REAL"),  # fraction correct on a fresh draw after training
    ("fresh_size", "INTEGER"),  # sequences of the fresh draw
    ("fresh_wrong", "INTEGER"),  # wrong sequences of the fresh draw
    ("fresh_solved", "INTEGER"),  # 1 when the fresh draw meets the task's strict criterion
    ("run_dir", "TEXT"),  # the run folder
    ("reason", "TEXT"),  # the run's verdict line, or why the job failed
    ("worker", "TEXT"),  # where it ran
    ("updated", "REAL"),  # unix time of the last change
)
NAMES = tuple(c for c, _ in COLUMNS)


class ResultsDB:
    """Open (creating if needed) the results file ``path``.

    Args:
        path: the SQLite file.
        write: take the writer's lock (a sweep); ``False`` opens it for reading only.

    Raises ValueError when ``path`` exists but is not an rnnlab results file, or when another
    sweep holds the lock.
    """

    def __init__(self, path: str | os.PathLike, write: bool = True) -> None:
        self.path = Path(path)
        self._lock = None
        if not write and not self.path.exists():
            raise FileNotFoundError(f"results: no such file {str(self.path)!r}")
        if self.path.exists():
            self._check_header()
        if write:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._take_lock()
        self.conn = sqlite3.connect(str(self.path), timeout=30)
        self.conn.row_factory = sqlite3.Row
        if write:
            with self.conn:
                self.conn.execute("CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value)")
                cols = ", ".join(f"{c} {t}" for c, t in COLUMNS)
                self.conn.execute(f"CREATE TABLE IF NOT EXISTS jobs ({cols})")
                self.conn.execute(
                    "INSERT OR IGNORE INTO meta VALUES ('format', ?), ('version', ?)",
                    (FORMAT, VERSION),
                )

    def _check_header(self) -> None:
        where = f"results: {str(self.path)!r} is not an rnnlab sweep results file"
        try:
            conn = sqlite3.connect(f"file:{self.path}?mode=ro", uri=True)
            try:
                row = conn.execute("SELECT value FROM meta WHERE key='format'").fetchone()
            finally:
                conn.close()
        except sqlite3.DatabaseError as exc:
            raise ValueError(f"{where} ({exc})") from None
        if row is None or row[0] != FORMAT:
            raise ValueError(f"{where} (no rnnlab format mark)")

    def _take_lock(self) -> None:
        lock = open(f"{self.path}.lock", "a+")  # noqa: SIM115 - held for the object's lifetime
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            lock.seek(0)
            who = lock.read().strip() or "another process"
            lock.close()
            raise ValueError(
                f"results: {str(self.path)!r} is being written by another sweep ({who}); "
                "wait for it to finish or use another --results file"
            ) from None
        lock.seek(0)
        lock.truncate()
        lock.write(f"pid {os.getpid()}")
        lock.flush()
        self._lock = lock

    def close(self) -> None:
        self.conn.close()
        if self._lock is not None:
            fcntl.flock(self._lock, fcntl.LOCK_UN)
            self._lock.close()
            self._lock = None

    def __enter__(self) -> ResultsDB:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    # -- rows -----------------------------------------------------------------------------------
    def done_keys(self) -> set[str]:
        """Keys of jobs with a final outcome (skipped when the sweep runs again)."""
        q = f"SELECT key FROM jobs WHERE status IN ({','.join('?' * len(DONE))})"
        return {r[0] for r in self.conn.execute(q, DONE)}

    def put(self, key: str, **values: Any) -> None:
        """Insert or update the row of ``key`` with ``values`` (column names)."""
        bad = sorted(set(values) - set(NAMES))
        if bad:
            raise ValueError(f"values: unknown column(s) {', '.join(bad)}")
        values = {**values, "key": key, "updated": time.time()}
        if isinstance(values.get("config"), dict):
            values["config"] = json.dumps(values["config"], sort_keys=True)
        cols = ", ".join(values)
        marks = ", ".join("?" * len(values))
        update = ", ".join(f"{c}=excluded.{c}" for c in values if c != "key")
        with self.conn:
            self.conn.execute(
                f"INSERT INTO jobs ({cols}) VALUES ({marks}) "
                f"ON CONFLICT(key) DO UPDATE SET {update}",
                tuple(values.values()),
            )

    def rows(self, sweep: str | None = None) -> list[dict[str, Any]]:
        """Every job row as a dict (``config`` parsed), optionally of one sweep only."""
        q, args = "SELECT * FROM jobs", ()
        if sweep is not None:
            q, args = q + " WHERE sweep = ?", (sweep,)
        out = []
        for r in self.conn.execute(q + " ORDER BY key", args):
            d = dict(r)
            d["config"] = json.loads(d["config"]) if d["config"] else {}
            out.append(d)
        return out
