"""Embedded Reber grammar: Hochreiter & Schmidhuber 1997, "Long Short-Term Memory", Exp. 1.

Strings over ``B, T, P, S, X, V, E`` (one-hot inputs, 7 output units). An embedded string is
``B``, then ``T`` or ``P``, then a Reber string ``B ... E``, then the *same* ``T`` or ``P``
again, then ``E``; every branch is taken with probability 0.5. At each step the network sees the
current symbol and must predict the possible next symbols (a multi-hot target). The paper's
criterion: a string is processed correctly when, at every step, the output units of the possible
next symbols are the most active ones. The hard step is the second-to-last symbol, which repeats
the ``T``/``P`` seen right after the first ``B``.

Where we chose: outputs are sigmoid units trained with binary cross-entropy (the paper: squared
error); the paper used 256 training and 256 test strings, we judge on 256 fresh test strings.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from .base import Batch, Task, check_int_at_least, pad

SYMBOLS = "BTPSXVE"
_IDX = {s: i for i, s in enumerate(SYMBOLS)}
# Reber grammar after the initial B: state -> [(symbol, next state)]; state 5 ends with E.
_REBER = {
    0: (("T", 1), ("P", 2)),
    1: (("S", 1), ("X", 3)),
    2: (("T", 2), ("V", 4)),
    3: (("X", 2), ("S", 5)),
    4: (("P", 3), ("V", 5)),
}


def reber_string(rng: np.random.Generator) -> str:
    """One string of the (plain) Reber grammar, ``B ... E``."""
    out, state = ["B"], 0
    while state != 5:
        sym, state = _REBER[state][rng.integers(0, 2)]
        out.append(sym)
    out.append("E")
    return "".join(out)


def embedded_reber_string(rng: np.random.Generator) -> str:
    """One embedded Reber string ``B (T|P) <Reber string> (same T|P) E``."""
    tp = "TP"[rng.integers(0, 2)]
    return "B" + tp + reber_string(rng) + tp + "E"


def _reber_next(s: str) -> list[set[str]]:
    """Possible next symbols after each prefix ``s[:i+1]`` of a plain Reber string."""
    out, state = [{"T", "P"}], 0
    for sym in s[1:-1]:
        state = dict(_REBER[state])[sym]
        out.append({"E"} if state == 5 else {a for a, _ in _REBER[state]})
    out.append(set())  # after the final E
    return out


# the grammar as arrays for the compiled draw: SYM[q, k], NEXT[q, k] of branch k from state q
_SYM = np.array([[_IDX[sym] for sym, _ in _REBER[q]] for q in range(5)], dtype=np.int64)
_NEXT = np.array([[nxt for _, nxt in _REBER[q]] for q in range(5)], dtype=np.int64)
_ENDS = tuple(_IDX[c] for c in "BTPE")  # the symbols the compiled draw places itself
_LETTERS = bytes.maketrans(bytes(range(len(SYMBOLS))), SYMBOLS.encode())
# (bitgen_address, draw_reber) once imported: an import statement at every draw cost ~6 us in a
# training loop (on caches the step's kernels had filled)
_compiled: tuple | None = None


def reber_batch(batch: int, rng: np.random.Generator) -> tuple:
    """``batch`` embedded Reber strings: ``x (T_max, B, 7)`` one-hot (every symbol but the
    last), ``y (T_max, B, 7)`` the possible next symbols, ``mask (T_max, B)``, each string's
    last step ``(B,)`` and the strings. Drawn in compiled code (:mod:`._reber_kernel`), the
    same bits as :func:`reber_batch_reference`."""
    global _compiled
    if _compiled is None:  # Numba: loaded on the first draw
        from ._bitgen import bitgen_address
        from ._reber_kernel import draw_reber

        _compiled = (bitgen_address, draw_reber)
    bitgen_address, draw_reber = _compiled
    address = bitgen_address(rng)  # rng stays alive (this frame holds it) during the draw
    codes, starts, x, y, mask = draw_reber(address, batch, _SYM, _NEXT, len(SYMBOLS), *_ENDS)
    text = codes.astype(np.uint8).tobytes().translate(_LETTERS).decode()
    strings = [text[starts[b] : starts[b + 1]] for b in range(batch)]
    return x, y, mask, np.diff(starts) - 2, strings


def reber_batch_reference(batch: int, rng: np.random.Generator) -> tuple:
    """:func:`reber_batch` as a readable Python loop (the reference the tests hold the compiled
    draw to)."""
    xs, ys, strings = [], [], []
    eye = np.eye(len(SYMBOLS))
    for _ in range(batch):
        s = embedded_reber_string(rng)
        strings.append(s)
        xs.append(eye[[_IDX[c] for c in s[:-1]]])
        t = np.zeros((len(s) - 1, len(SYMBOLS)))
        for i, nxt in enumerate(possible_next(s)):
            t[i, [_IDX[c] for c in nxt]] = 1.0
        ys.append(t)
    x, mask = pad(xs)
    y, _ = pad(ys)
    last = (mask.sum(axis=0) - 1).astype(np.int64)
    return x, y, mask, last, strings


def possible_next(s: str) -> list[set[str]]:
    """For an embedded Reber string, the set of possible next symbols after each of its
    symbols but the last (the targets)."""
    inner = s[2:-2]
    sets = [{"T", "P"}, {"B"}]  # after B; after T/P
    sets += _reber_next(inner)[:-1]  # after each inner symbol up to the inner E's predecessor
    sets += [{s[1]}, {"E"}]  # after the inner E: the remembered T/P; after it: E
    return sets


@dataclass
class EmbeddedReberTask(Task):
    """Hochreiter & Schmidhuber 1997, Exp. 1 (see the module docstring)."""

    test_size: int = 256  # fresh test strings (the paper's test set size)
    target: str = "every"

    name: ClassVar[str] = "reber"
    source: ClassVar[str] = "Hochreiter & Schmidhuber 1997, Exp. 1 (embedded Reber grammar)"
    loss: ClassVar[str] = "bce"
    criterion: ClassVar[str] = (
        "at every step the outputs of the possible next symbols are the most active ones, for "
        "all 256 fresh test strings"
    )

    def __post_init__(self) -> None:
        self.test_size = check_int_at_least("test_size", self.test_size, 1)
        if self.target != "every":
            raise ValueError(f"target: expected 'every' for the Reber task, got {self.target!r}")

    @property
    def input_size(self) -> int:
        return len(SYMBOLS)

    @property
    def output_size(self) -> int:
        return len(SYMBOLS)

    def _sample(self, batch: int, rng: np.random.Generator, split: str) -> Batch:
        x, y, mask, last, strings = reber_batch(batch, rng)
        return Batch(x=x, y=y, mask=mask, last=last, info={"strings": strings})

    def _correct(self, outputs: np.ndarray, batch: Batch) -> np.ndarray:
        # The k possible symbols must be the k most active outputs: every possible one beats
        # every impossible one.
        t = batch.y > 0.5  # (T, B, K)
        lo_pos = np.where(t, outputs, np.inf).min(axis=2)  # (T, B)
        hi_neg = np.where(t, -np.inf, outputs).max(axis=2)  # (T, B)
        ok = (lo_pos > hi_neg) | (batch.mask == 0)
        return np.all(ok, axis=0)
