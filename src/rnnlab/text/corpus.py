"""Reading a text corpus: files, folders or the Python standard library, pinned by a hash.

A corpus is an ordered list of files whose UTF-8 text is concatenated into one stream. Its
*pin* (the relative file names and a SHA-256 over names and bytes) goes into the run's config,
so a run resumed or compared on a machine whose files differ (another Python's standard
library, an edited folder) says so instead of silently training on other text.
"""

from __future__ import annotations

import fnmatch
import os
import sys
import sysconfig
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

STDLIB = "stdlib"  # the corpus name that means "this Python's standard library"
ENCODING_ERRORS = ("strict", "replace")  # undecodable bytes: an error, or U+FFFD (a choice)
# Folders of the standard library left out: test suites (a third of its size and mostly data
# tables) and installed third-party packages, which differ from machine to machine.
_STDLIB_SKIP = {"test", "tests", "idle_test", "site-packages", "dist-packages", "__pycache__"}


@dataclass
class CorpusFiles:
    """The files of a corpus, in reading order, and where they came from."""

    files: list[Path]  # absolute paths, in the order their text is concatenated
    names: list[str]  # the same files as recorded in the config (relative to their root)
    paths: list[str]  # what the user gave, as absolute paths (or "stdlib")
    glob: str | None  # the name pattern a folder's files must match (None: every file)
    python: str | None = None  # "3.11.7" for the stdlib corpus
    sizes: list[int] = field(default_factory=list)  # bytes of each file

    @property
    def total_bytes(self) -> int:
        return int(sum(self.sizes))


def stdlib_root() -> Path:
    """The folder of this Python's standard library (the base one under a venv)."""
    return Path(sysconfig.get_paths()["stdlib"]).resolve()


def _walk(root: Path, pattern: str | None, skip: set[str]) -> Iterator[Path]:
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = sorted(d for d in dirnames if d not in skip and not d.startswith("."))
        for name in sorted(filenames):
            if name.startswith("."):
                continue
            if pattern is None or fnmatch.fnmatch(name, pattern):
                yield Path(dirpath) / name


def find_files(paths: Sequence[str], glob: str | None = None) -> CorpusFiles:
    """The files ``paths`` name: files as given, folders recursively (sorted; hidden files and
    folders skipped; ``glob`` filters names, e.g. ``"*.py"``), ``"stdlib"`` for the standard
    library's ``*.py`` files without its test suites.

    Raises FileNotFoundError for a path that does not exist and ValueError when nothing is found.
    """
    if isinstance(paths, (str, os.PathLike)):
        paths = [os.fspath(paths)]
    if not paths:
        raise ValueError("text: expected at least one file or folder, got none")
    if glob is not None and (not isinstance(glob, str) or not glob):
        raise ValueError(f"glob: expected a file-name pattern such as '*.py', got {glob!r}")
    files: list[Path] = []
    names: list[str] = []
    python = None
    for p in paths:
        p = os.fspath(p)
        if p == STDLIB:
            root = stdlib_root()
            python = ".".join(map(str, sys.version_info[:3]))
            found = list(_walk(root, glob or "*.py", _STDLIB_SKIP))
            names += [f"stdlib/{f.relative_to(root).as_posix()}" for f in found]
            files += found
            continue
        path = Path(p)
        if path.is_dir():
            found = list(_walk(path, glob, {"__pycache__"}))
            names += [(Path(p) / f.relative_to(path)).as_posix() for f in found]
            files += found
        elif path.is_file():
            files.append(path)
            names.append(path.as_posix())
        else:
            raise FileNotFoundError(f"text: no such file or folder {p!r}")
    if not files:
        raise ValueError(
            f"text: no files found in {', '.join(map(str, paths))}"
            + (f" matching {glob!r}" if glob else "")
        )
    return CorpusFiles(
        [f.resolve() for f in files],
        names,
        [p if p == STDLIB else str(Path(p).resolve()) for p in map(os.fspath, paths)],
        glob,
        python,
        [f.stat().st_size for f in files],
    )


def decode_file(path: Path, data: bytes, errors: str = "strict") -> str:
    """The UTF-8 text of one file's bytes.

    ``errors="strict"`` raises ValueError naming the file and the byte offset of the first NUL
    byte (a binary file) or undecodable sequence; ``"replace"`` turns the latter into U+FFFD
    (NUL bytes still mark a binary file).
    """
    nul = data.find(b"\x00")
    if nul >= 0:
        raise ValueError(
            f"text: {str(path)!r} looks binary (a NUL byte at byte offset {nul}); expected "
            "UTF-8 text"
        )
    try:
        return data.decode("utf-8", errors=errors)
    except UnicodeDecodeError as exc:
        raise ValueError(
            f"text: {str(path)!r} is not UTF-8 (byte 0x{data[exc.start]:02x} at byte offset "
            f"{exc.start}); use --encoding-errors replace to decode it anyway"
        ) from None


def read_files(corpus: CorpusFiles, errors: str = "strict") -> Iterator[tuple[int, bytes, str]]:
    """``(file index, bytes, text)`` for each file, one file in memory at a time."""
    if errors not in ENCODING_ERRORS:
        raise ValueError(f"encoding_errors: expected one of strict, replace; got {errors!r}")
    for i, f in enumerate(corpus.files):
        try:
            data = f.read_bytes()
        except OSError as exc:
            raise ValueError(f"text: cannot read {str(f)!r} ({exc.strerror})") from None
        yield i, data, decode_file(f, data, errors)


def read_texts(corpus: CorpusFiles, errors: str = "strict") -> Iterator[tuple[int, str]]:
    """``(file index, text)`` for each file, one file in memory at a time."""
    for i, _, text in read_files(corpus, errors):
        yield i, text
