"""The character vocabulary of a text run, with one reserved symbol for unseen characters."""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Iterable
from pathlib import Path

import numpy as np

from .._files import atomic_write_text

VOCAB_FILE = "vocab.json"  # the vocabulary's file in a run folder
UNKNOWN = "\ufffd"  # how the reserved symbol (index 0) is shown; it stands for any unseen char
_CHUNK = 1 << 20  # characters encoded at a time (bounds the temporary code-point array)


class Vocabulary:
    """Characters <-> indices. Index 0 is reserved for every character not in the vocabulary.

    Parameters
    ----------
    chars : iterable of str
        The known characters (each a single code point), in any order, no repeats; they get
        indices ``1 .. len(chars)`` in code-point order.

    Examples
    --------
    >>> v = Vocabulary.from_text("hello")
    >>> v.size, v.encode("hole!").tolist(), v.decode([4, 3, 2, 0])
    (5, [2, 4, 3, 1, 0], 'olh\ufffd')
    """

    def __init__(self, chars: Iterable[str]) -> None:
        chars = list(chars)
        for ch in chars:
            if not isinstance(ch, str) or len(ch) != 1:
                raise ValueError(f"chars: expected single characters, got {ch!r}")
        if len(set(chars)) != len(chars):
            raise ValueError("chars: expected distinct characters, got repeats")
        self.chars: list[str] = sorted(chars)
        self._cps = np.array([ord(c) for c in self.chars], dtype=np.int64)  # sorted code points
        self._index = {c: i + 1 for i, c in enumerate(self.chars)}
        top = int(self._cps[-1]) + 1 if len(self._cps) else 1
        # A direct lookup table when the code points are small (the usual case), else a search.
        self._table: np.ndarray | None = None
        if top <= 1 << 17:
            self._table = np.zeros(top, dtype=np.int32)
            self._table[self._cps] = np.arange(1, len(self._cps) + 1)

    @classmethod
    def from_text(cls, text: str | Iterable[str]) -> Vocabulary:
        """The characters of ``text`` (a string or an iterable of strings)."""
        seen: set[str] = set()
        for part in [text] if isinstance(text, str) else text:
            seen.update(part)
        return cls(seen)

    @property
    def size(self) -> int:
        """``V``: the known characters plus the reserved symbol."""
        return len(self.chars) + 1

    @property
    def dtype(self) -> np.dtype:
        """The smallest unsigned integer type that holds every index."""
        return np.dtype(
            np.uint8 if self.size <= 256 else np.uint16 if self.size <= 65536 else np.uint32
        )

    def __len__(self) -> int:
        return self.size

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Vocabulary) and self.chars == other.chars

    def __repr__(self) -> str:
        return f"Vocabulary({self.size} symbols)"

    def index(self, ch: str) -> int:
        """The index of ``ch`` (0 when it is unknown)."""
        return self._index.get(ch, 0)

    def unknown(self, text: str) -> list[str]:
        """The distinct characters of ``text`` outside the vocabulary, sorted."""
        return sorted(set(text) - set(self._index))

    def encode(self, text: str, out: np.ndarray | None = None) -> np.ndarray:
        """``(len(text),)`` indices of ``text``'s characters (0 for unknown ones).

        Works in blocks of 2**20 characters through their UTF-32 code points, so a large text
        needs only a few MB beyond the result. ``out``: an array to write into.
        """
        n = len(text)
        if out is None:
            out = np.empty(n, dtype=self.dtype)
        elif out.shape != (n,):
            raise ValueError(f"out: expected shape ({n},), got {out.shape}")
        for s in range(0, n, _CHUNK):
            cp = np.frombuffer(text[s : s + _CHUNK].encode("utf-32-le"), dtype="<u4")
            out[s : s + len(cp)] = self._lookup(cp)
        return out

    def _lookup(self, cp: np.ndarray) -> np.ndarray:
        if self._table is not None:
            inside = cp < len(self._table)
            return np.where(inside, self._table[np.where(inside, cp, 0)], 0)
        pos = np.clip(np.searchsorted(self._cps, cp), 0, max(len(self._cps) - 1, 0))
        return np.where(self._cps[pos] == cp, pos + 1, 0) if len(self._cps) else np.zeros_like(cp)

    def decode(self, indices: Iterable[int] | np.ndarray) -> str:
        """The text of ``indices``; the reserved symbol shows as U+FFFD."""
        table = [UNKNOWN, *self.chars]
        try:
            return "".join(table[int(i)] for i in np.asarray(indices).ravel())
        except IndexError:
            raise ValueError(
                f"indices: expected values in [0, {self.size - 1}], got {int(np.max(indices))}"
            ) from None

    # -- files ----------------------------------------------------------------------------------
    def to_json(self) -> str:
        return json.dumps({"unknown_index": 0, "chars": self.chars}, ensure_ascii=True)

    @classmethod
    def from_json(cls, text: str, where: str = "vocabulary") -> Vocabulary:
        try:
            data = json.loads(text)
            chars = data["chars"]
        except (ValueError, KeyError, TypeError):
            raise ValueError(f"{where}: expected a JSON object with 'chars'") from None
        if data.get("unknown_index", 0) != 0 or not isinstance(chars, list):
            raise ValueError(f"{where}: expected 'chars' as a list and unknown_index 0")
        return cls(chars)

    @property
    def sha256(self) -> str:
        """A hash of the characters (recorded in the run's config)."""
        return hashlib.sha256(self.to_json().encode()).hexdigest()

    def save(self, folder: str | os.PathLike) -> Path:
        """Write ``vocab.json`` into ``folder`` atomically; return its path."""
        path = Path(folder) / VOCAB_FILE
        atomic_write_text(path, self.to_json())
        return path

    @classmethod
    def load(cls, folder: str | os.PathLike) -> Vocabulary:
        """Read ``vocab.json`` from a run folder (or the file's own path)."""
        path = Path(folder)
        path = path / VOCAB_FILE if path.is_dir() else path
        try:
            text = path.read_text(encoding="utf-8")
        except FileNotFoundError:
            raise FileNotFoundError(
                f"run: no {VOCAB_FILE} in {str(path.parent)!r}; is it a text run?"
            ) from None
        return cls.from_json(text, where=str(path))
