"""The run folder: ``config.toml``, ``metrics.csv``, ``model.safetensors``, ``loss-curve.png``.

Consistency after a crash at any instant: every file is replaced atomically, and a save writes
``metrics.csv`` *before* the checkpoint that covers it. A resumed run reads the checkpoint and
keeps only the metric rows up to its step, so the two never disagree; temporary files a killed
writer left behind are removed when the folder is opened again.
"""

from __future__ import annotations

import csv
import functools
import io
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .. import checkpoint as ckpt
from .._files import OrderedWriter, remove_orphans
from ..model import SequenceModel
from .build import build_model
from .config import TrainConfig, file_sha256, read_config

RUN_FILES = (ckpt.CONFIG_FILE, ckpt.METRICS_FILE, ckpt.MODEL_FILE, ckpt.CURVE_FILE)
METRIC_COLUMNS = (
    "step",
    "sequences",
    "loss",
    "grad_norm",
    "accuracy",
    "seconds",
    "test_accuracy",
    "test_loss",
    "test_size",
)


def check_out_dir(out: str | os.PathLike, resume: bool, force: bool) -> Path:
    """Refuse an existing non-empty folder unless resuming or forcing; write nothing."""
    path = Path(out)
    if path.exists() and not path.is_dir():
        raise FileExistsError(f"out: {str(path)!r} exists and is not a folder")
    if resume:
        if not (path / ckpt.MODEL_FILE).is_file() or not (path / ckpt.CONFIG_FILE).is_file():
            raise FileNotFoundError(
                f"out: nothing to resume in {str(path)!r} (expected {ckpt.CONFIG_FILE} and "
                f"{ckpt.MODEL_FILE})"
            )
        return path
    if path.is_dir() and any(path.iterdir()) and not force:
        raise FileExistsError(
            f"out: {str(path)!r} exists and is not empty; use --resume to continue it or "
            "--force to overwrite its run files"
        )
    return path


def metrics_text(rows: list[dict[str, Any]], columns: tuple[str, ...] = METRIC_COLUMNS) -> str:
    """The CSV text of metric rows (empty cells for missing values; floats round-trip exactly)."""
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(columns)
    for r in rows:
        w.writerow(_cells(map(r.get, columns)))
    return buf.getvalue()


def _cells(values: Any) -> list[str]:
    # floats as their shortest exact round-trip (repr), missing values as empty cells
    return ["" if v is None else repr(v) if isinstance(v, float) else str(v) for v in values]


class MetricsText:
    """:func:`metrics_text` for a run that saves again and again: each row's CSV line is kept and
    formatted anew only when the row is new or its values changed (a row's test columns are
    filled when its evaluation comes back; a run put back to an evaluation point loses rows).

    Why: a run saves at every evaluation, and formatting every row each time made the saves
    quadratic in the run's length (17 ms per save at 3,000 rows, about a tenth of a short
    adding run's wall time; ``benchmarks/NOTES.md``). Comparing every row with a copy of it
    still cost 0.3-0.6 ms a save at 3,000 rows, so rows saved before are compared by identity
    (pointers, in C), and only the last :attr:`TAIL` of them and the new ones by value.

    The contract that makes this exact: a row may be changed in place only while it is new or
    among the last :attr:`TAIL` rows saved before (of those left, when rows were dropped since):
    the trainer fills the test columns of the row just evaluated, and the final verdict those of
    the last row. An older row that changes must be replaced by another dict, which is formatted
    again. (A value replaced by an equal one of another type, 1 by 1.0, keeps its old text: the
    trainer's columns keep their types.)

    Examples:
        >>> m = MetricsText()
        >>> rows = [{"step": 1, "loss": 0.5}]
        >>> m.text(rows, ("step", "loss")) == metrics_text(rows, ("step", "loss"))
        True
    """

    TAIL = 2  # rows saved before that are compared by value, not by identity

    def __init__(self) -> None:
        self._columns: tuple[str, ...] = ()
        self._objs: list[dict[str, Any]] = []  # the row dicts as they were formatted
        self._rows: list[dict[str, Any]] = []  # a copy of each, as it was formatted
        self._lines: list[str] = []  # and its CSV line
        self._header = ""  # the CSV header line of these columns
        # the header and every line as one string: joining thousands of small strings again
        # at each save cost 0.3 ms once the step's kernels had left the caches
        self._head = ""

    def text(self, rows: list[dict[str, Any]], columns: tuple[str, ...] = METRIC_COLUMNS) -> str:
        """The same text as ``metrics_text(rows, columns)`` (under the contract above)."""
        if tuple(columns) != self._columns:
            self._columns, self._objs, self._rows, self._lines = tuple(columns), [], [], []
            self._header = self._head = metrics_text([], columns)
        objs, kept, lines = self._objs, self._rows, self._lines
        joined, n = len(lines), len(rows)  # the lines in _head, the rows now
        del objs[n:], kept[n:], lines[n:]
        old = len(kept)
        objs.extend(rows[old:])  # as long as rows now: the new rows are their own objects
        # the usual save: the rows saved before are the same objects, new rows come after
        # them. Two lists of one length compare in C, and an item that is the same object is
        # passed over without touching it (a slice would touch every row: 0.3 ms at 3,000 rows
        # once the step's kernels had left the caches)
        trusted = max(old - self.TAIL, 0) if rows == objs else 0
        first = n  # the first line made anew
        buf = io.StringIO()
        w = csv.writer(buf, lineterminator="\n")
        for i in range(trusted, n):
            r = rows[i]
            objs[i] = r
            if i < old and r == kept[i]:
                continue
            first = min(first, i)
            buf.seek(0)
            buf.truncate()
            w.writerow(_cells(map(r.get, columns)))
            if i < old:
                kept[i], lines[i] = dict(r), buf.getvalue()
            else:
                kept.append(dict(r))
                lines.append(buf.getvalue())
        if first < joined:  # a line already joined changed, or rows were dropped
            self._head, joined = self._header, 0
        self._head += "".join(lines[joined:])
        return self._head


def read_metric_rows(path: Path, upto_step: int) -> list[dict[str, Any]]:
    """The rows of ``metrics.csv`` up to ``upto_step`` (a resumed run's checkpoint step)."""
    rows: list[dict[str, Any]] = []
    if not path.is_file():
        return rows
    with path.open(newline="") as fh:
        reader = csv.DictReader(fh)
        missing = [c for c in ("step", "sequences") if c not in (reader.fieldnames or [])]
        if missing:
            raise ValueError(f"metrics: {str(path)!r} has no column(s) {', '.join(missing)}")
        for i, r in enumerate(reader, start=2):
            try:
                step = int(r["step"])
                if step > upto_step:
                    break
                row: dict[str, Any] = {"step": step, "sequences": int(r["sequences"])}
                for k, v in r.items():
                    if k not in row and k is not None:
                        row[k] = float(v) if v not in (None, "") else None
            except (TypeError, ValueError):
                raise ValueError(f"metrics: {str(path)!r} line {i} is not a metrics row") from None
            if row.get("test_size") is not None:
                row["test_size"] = int(row["test_size"])
            rows.append(row)
    return rows


class RunFolder:
    """A run folder on disk; every write is atomic, metrics go before the checkpoint."""

    def __init__(self, path: str | os.PathLike) -> None:
        self.path = Path(path)
        self._metrics = MetricsText()  # the CSV lines of the rows saved so far
        self._writer = OrderedWriter()  # the saves' files, written in order in the background

    def start(self, config: TrainConfig) -> str:
        """Create the folder, remove the old run files (``--force``), write ``config.toml``;
        return the SHA-256 of what was written (every checkpoint records it)."""
        from .config import write_config

        try:
            self.path.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise ValueError(
                f"out: cannot create the folder {str(self.path)!r} ({exc.strerror})"
            ) from None
        for name in RUN_FILES:  # --force: start clean, but touch nothing else in the folder
            if (self.path / name).exists():
                (self.path / name).unlink()
        self.clean()
        return write_config(self.path / ckpt.CONFIG_FILE, config)

    def clean(self) -> None:
        """Remove the temporary files an interrupted writer left behind."""
        remove_orphans(self.path, RUN_FILES)

    def save(
        self,
        model: SequenceModel,
        optimizer_state: dict[str, Any] | None,
        metadata: dict[str, Any],
        rows: list[dict[str, Any]],
        columns: tuple[str, ...] = METRIC_COLUMNS,
        extra: dict[str, Any] | None = None,
    ) -> None:
        """Write ``metrics.csv``, then ``model.safetensors`` (see the module docstring).

        The metrics' text and copies of the arrays are made here; the checkpoint is encoded
        (hashed, packed) and both files are written on a background thread, in the order of
        the saves (:class:`rnnlab._files.OrderedWriter`); :meth:`flush` waits until they are
        on disk.
        """
        text = self._metrics.text(rows, columns)  # a str: it cannot change after
        data = ckpt.deferred_checkpoint(model.params, optimizer_state, metadata, extra)
        self._writer.write(
            (self.path / ckpt.METRICS_FILE, functools.partial(text.encode, "utf-8")),
            (self.path / ckpt.MODEL_FILE, data),
        )

    def flush(self) -> None:
        """Wait until every save is on disk (a failed write raises here)."""
        self._writer.flush()

    @property
    def metrics_path(self) -> Path:
        return self.path / ckpt.METRICS_FILE


@dataclass
class LoadedRun:
    """A trained run read back from its folder by :func:`load_run`."""

    path: Path  # the run folder
    config: TrainConfig  # the run's resolved config
    model: SequenceModel  # the model with the trained parameters
    metadata: dict[str, Any]  # counters and status saved with the checkpoint
    optimizer_state: dict[str, Any] | None  # the optimiser's state_dict

    @property
    def metrics_path(self) -> Path:
        return self.path / ckpt.METRICS_FILE

    @property
    def model_path(self) -> Path:
        return self.path / ckpt.MODEL_FILE

    @property
    def config_path(self) -> Path:
        return self.path / ckpt.CONFIG_FILE


def read_run(run_dir: Path) -> tuple[TrainConfig, ckpt.Checkpoint]:
    """A run folder's config and checkpoint, checked against each other: the checkpoint records
    a hash of the config it was trained with, and an edited, truncated or swapped
    ``config.toml`` is an error naming the file, never a silent load."""
    config = read_config(run_dir / ckpt.CONFIG_FILE)
    saved = ckpt.load_checkpoint(run_dir / ckpt.MODEL_FILE)
    want = saved.metadata.get("config_sha256")
    if want is not None and file_sha256(run_dir / ckpt.CONFIG_FILE) != want:
        raise ValueError(
            f"config: {str(run_dir / ckpt.CONFIG_FILE)!r} is not the config "
            f"{ckpt.MODEL_FILE} was trained with (edited, truncated or from another run)"
        )
    return config, saved


def load_run(path: str | os.PathLike) -> LoadedRun:
    """Load a run folder: ``config.toml`` -> TrainConfig, ``model.safetensors`` -> model.

    ``path`` may be the run folder or its ``model.safetensors``. No data is needed: the model's
    sizes come from the config (the task, or the data spec it records).
    """
    path = Path(path)
    run_dir = path.parent if path.is_file() else path
    if not run_dir.is_dir():
        raise FileNotFoundError(f"run: no such folder {str(run_dir)!r}")
    if not (run_dir / ckpt.CONFIG_FILE).is_file():
        raise FileNotFoundError(
            f"run: {str(run_dir)!r} has no {ckpt.CONFIG_FILE}; is it a run folder?"
        )
    config, saved = read_run(run_dir)
    model = build_model(config)
    model.load_params(saved.params)
    return LoadedRun(run_dir, config, model, saved.metadata, saved.optimizer_state)
