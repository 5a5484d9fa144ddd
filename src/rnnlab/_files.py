"""Atomic file writes: every file rnnlab writes goes through here.

A file is written to a temporary name in its destination folder, flushed to disk, and renamed
over the destination with ``os.replace``; a crash at any instant leaves either the old file or the
new one, never half of one. The temporary names share one pattern (``.NAME.<random>.tmp``), so
:func:`remove_orphans` can clear what a killed process left behind.
"""

from __future__ import annotations

import os
import tempfile
from collections import deque
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

TMP_SUFFIX = ".tmp"


def _tmp_in(path: Path) -> str:
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=TMP_SUFFIX, dir=path.parent)
    os.close(fd)
    return tmp


def _replace_or_clean(tmp: str, path: Path) -> None:
    try:
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def atomic_write_bytes(path: str | os.PathLike, data: bytes) -> None:
    """Write ``data`` to ``path`` via a temporary file in the same folder and ``os.replace``."""
    path = Path(path)
    tmp = _tmp_in(path)
    try:
        with open(tmp, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
    except BaseException:
        os.unlink(tmp)
        raise
    _replace_or_clean(tmp, path)


class OrderedWriter:
    """Atomic writes on one background thread, in the order they were handed over.

    Why: a training run saves its folder at every evaluation, and each atomic write waits for
    the disk (``fsync``, the rename): about 2 ms of a 3 ms save here, far more on a network
    file system. The caller hands over the bytes and goes on. The writes keep their order, so
    at any instant the files are what writing them one after the other would have left at some
    earlier instant (a checkpoint is never ahead of the metrics written before it). At most
    ``depth`` handovers wait; :meth:`flush` waits for all of them and ends the thread. A failed
    write raises in the caller, at the next handover or flush.

    Examples:
        >>> import tempfile, pathlib
        >>> folder = pathlib.Path(tempfile.mkdtemp())
        >>> w = OrderedWriter()
        >>> w.write((folder / "a.txt", b"first"), (folder / "b.txt", b"second"))
        >>> w.flush()
        >>> (folder / "b.txt").read_bytes()
        b'second'
    """

    def __init__(self, depth: int = 2) -> None:
        self.depth = depth
        self._pool: ThreadPoolExecutor | None = None
        self._pending: deque[Future] = deque()

    def write(self, *files: tuple[str | os.PathLike, bytes | Callable[[], bytes]]) -> None:
        """Write each ``(path, data)`` atomically, in order, after every earlier write;
        ``data`` may be a function that makes the bytes (called on the writer's thread)."""
        self._collect(self.depth - 1)  # bound the queue; raise an earlier failure here
        if self._pool is None:
            self._pool = ThreadPoolExecutor(1, thread_name_prefix="rnnlab-writer")
        self._pending.append(self._pool.submit(_write_all, files))

    def flush(self) -> None:
        """Wait until every write is done (raising the first failure) and end the thread."""
        try:
            self._collect(0)
        finally:
            if self._pool is not None and not self._pending:
                self._pool.shutdown(wait=True)
                self._pool = None

    def _collect(self, keep: int) -> None:
        # wait for the oldest writes until at most ``keep`` are pending; drop finished ones
        while self._pending and (len(self._pending) > keep or self._pending[0].done()):
            self._pending.popleft().result()


def _write_all(files: tuple[tuple[str | os.PathLike, bytes | Callable[[], bytes]], ...]) -> None:
    for path, data in files:
        atomic_write_bytes(path, data() if callable(data) else data)


def atomic_write_text(path: str | os.PathLike, text: str) -> None:
    """Write ``text`` (UTF-8) atomically; see :func:`atomic_write_bytes`."""
    atomic_write_bytes(path, text.encode("utf-8"))


def atomic_write_with(path: str | os.PathLike, writer: Callable[[str], None]) -> None:
    """Let ``writer(tmp_path)`` write a file (e.g. ``Figure.savefig``), then rename it to ``path``.

    The temporary name ends in ``path``'s suffix, so writers that choose a format by the file's
    extension (matplotlib) write the right one.
    """
    path = Path(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=path.suffix, dir=path.parent)
    os.close(fd)
    try:
        writer(tmp)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
    _replace_or_clean(tmp, path)


def remove_orphans(folder: str | os.PathLike, names: tuple[str, ...]) -> list[Path]:
    """Delete the temporary files a killed writer of any of ``names`` left in ``folder``."""
    folder = Path(folder)
    gone = []
    if not folder.is_dir():
        return gone
    for p in folder.iterdir():
        if p.name.startswith(".") and any(p.name.startswith(f".{n}.") for n in names):
            p.unlink(missing_ok=True)
            gone.append(p)
    return gone
