"""Atomic file writes: every file rnnlab writes goes through here.

A file is written to a temporary name in its destination folder, flushed to disk, and renamed
over the destination with ``os.replace``; a crash at any instant leaves either the old file or the
new one, never half of one. The temporary names share one pattern (``.NAME.<random>.tmp``), so
:func:`remove_orphans` can clear what a killed process left behind.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable
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
