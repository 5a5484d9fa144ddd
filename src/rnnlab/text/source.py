"""A text corpus as a stateful training source: char-rnn's truncated BPTT over B streams.

The corpus is one stream of characters (its files concatenated in order). The last
``val_fraction`` of it is held out as one contiguous block; the vocabulary comes from the rest.

Training: the training text is cut into ``B`` equal segments, one per batch row. Each batch is
the next chunk of ``T`` characters of every segment (inputs ``x (T, B, V)`` one-hot, built per
batch; targets ``y (T, B)``, the following characters). A chunk starts from the final hidden
state of the previous chunk of its segment (``batch.carry``), except every ``reset_every``-th
chunk, which starts from zeros, so the model learns to predict from a zero state (how
evaluation and sampling begin) as well as from a carried one. Each pass over the text (an
epoch) starts at a random offset in ``[0, T)``, so chunk borders move between epochs.

Evaluation, the fixed rule: the state is zero at the beginning of the text and is carried
through to its end; every character after the first is predicted from all before it. The loss
is in nats per character; a character outside the vocabulary is scored as the reserved symbol.
"""

from __future__ import annotations

import hashlib
import math
import numbers
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import numpy as np

from ..data.base import DataSource, Evaluation, register_loader
from ..data.cancel import cancellation_point
from ..tasks.base import Batch
from .corpus import ENCODING_ERRORS, CorpusFiles, find_files, read_files, read_texts
from .vocab import Vocabulary

LN2 = math.log(2.0)
TEXT_DEFAULTS: dict[str, Any] = {  # the trainer's settings for text (see README, "Text")
    "hidden": 256,
    "lr": 4e-3,  # measured: 2e-3 was 0.2 nats/char worse after 300 CPU s on stdlib
    "batch": 32,
    "forget_bias": 1.0,
    "input_bias": 0.0,
}


def one_hot(codes: np.ndarray, V: int, dtype: Any = np.float32) -> np.ndarray:
    """``codes (...)`` integer indices -> ``(..., V)`` one-hot rows."""
    out = np.zeros(codes.shape + (V,), dtype=dtype)
    np.put_along_axis(out, codes[..., None].astype(np.intp), 1.0, axis=-1)
    return out


def score(model: Any, codes: np.ndarray, *, chunk: int = 2048) -> tuple[float, int]:
    """Summed cross-entropy (nats) of ``model`` predicting ``codes[1:]`` from the characters
    before each, by the fixed rule (zero state at ``codes[0]``, carried to the end).

    A stacked model runs on two threads where a second core is free (not in an evaluation
    running beside training, which keeps to the core it is lent): the bottom layer runs over a
    chunk while the layers above it and the readout run over the chunk before (the same
    results: each layer sees the same inputs and states, and the chunks' sums are added in
    order).

    Parameters
    ----------
    model : SequenceModel
        A model with a softmax readout over ``V`` classes and one-hot inputs of size ``V``.
    codes : ndarray (N,)
        Character indices.
    chunk : int
        Steps run at a time (the state is carried across; only memory depends on it).

    Returns
    -------
    (total nats, predictions) : (float, int)
        ``predictions = N - 1``.
    """
    from ..kernels._split import second_core_free

    layer, n = model.layer, len(codes)
    views = layer.layer_views() if layer.num_layers > 1 and second_core_free() else [layer]
    bottom, upper = views[0], views[1:]
    states: list[Any] = [None] * len(views)

    def rest(h: np.ndarray, s: int, e: int) -> float:
        # the layers above the bottom one and the readout over chunk s..e: nats of its targets
        for i, view in enumerate(upper, start=1):
            h, states[i], _ = view.forward(h, states[i], keep_cache=False)  # (l, 1, H)
        return _chunk_nats(model, h, codes[s + 1 : e + 1])

    total = 0.0
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="rnnlab-score") as pool:
        pending = None
        for s in range(0, n - 1, chunk):
            cancellation_point()  # a background evaluation no longer wanted stops here
            e = min(s + chunk, n - 1)
            x = one_hot(np.asarray(codes[s:e])[:, None], layer.input_size, model.dtype)
            h, states[0], _ = bottom.forward(x, states[0], keep_cache=False)  # (l, 1, H)
            if not upper:
                total += _chunk_nats(model, h, codes[s + 1 : e + 1])
                continue
            if pending is not None:
                total += pending.result()  # the chunk before, in order
            pending = pool.submit(rest, h, s, e)
        if pending is not None:
            total += pending.result()
    return total, max(n - 1, 0)


def _chunk_nats(model: Any, h: np.ndarray, targets: np.ndarray) -> float:
    """Summed cross-entropy (nats) of the readout of ``h (l, 1, H)`` for ``targets (l,)``."""
    W, b = model.readout.params["W_hy"], model.readout.params["b_y"]
    z = (h[:, 0, :] @ W.T + b).astype(np.float64)  # (l, V) logits
    zmax = z.max(axis=1, keepdims=True)
    logz = np.log(np.exp(z - zmax).sum(axis=1)) + zmax[:, 0]  # (l,)
    tgt = np.asarray(targets, dtype=np.intp)
    return float(np.sum(logz - z[np.arange(len(tgt)), tgt]))


def text_metrics(nats_sum: float, n: int, unknown: int, chars: int) -> dict[str, float]:
    """nats/char, bits/char, perplexity and the unknown-character fraction."""
    nats = nats_sum / max(n, 1)
    return {
        "nats_per_char": nats,
        "bits_per_char": nats / LN2,
        "perplexity": math.exp(min(nats, 700.0)),
        "unknown_fraction": unknown / max(chars, 1),
    }


class TextSource(DataSource):
    """A character corpus as a stateful training source (see the module docstring).

    Parameters
    ----------
    paths : str or list of str
        Files and folders (read recursively), or ``"stdlib"`` (this Python's standard library).
    glob : str, optional
        Only files whose names match, e.g. ``"*.py"`` (``stdlib``: ``*.py`` by default).
    val_fraction : float, default 0.05
        The share of the stream held out, from its end.
    seq_length : int, default 100
        ``T``: characters per chunk (one truncated-BPTT step).
    reset_every : int, default 20
        Every this many chunks a stream restarts from a zero state.
    encoding_errors : {"strict", "replace"}
        Undecodable bytes raise ValueError (file and byte offset) or become U+FFFD.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> f = pathlib.Path(tempfile.mkdtemp()) / "a.txt"
    >>> _ = f.write_text("abcab" * 200)
    >>> src = TextSource(str(f), seq_length=10, val_fraction=0.1)
    >>> src.vocab.size, src.train_chars, src.val_chars
    (4, 900, 100)
    """

    kind = "text"
    stateful = True
    concurrent_evaluation = True  # the held-out text is read, never moved
    eval_unit = "characters"  # an evaluation's size: held-out characters scored
    extra_columns = (
        "bits_per_char",
        "test_bits_per_char",
        "test_perplexity",
        "test_unknown_fraction",
    )

    def __init__(
        self,
        paths: str | list[str],
        *,
        glob: str | None = None,
        val_fraction: float = 0.05,
        seq_length: int = 100,
        reset_every: int = 20,
        encoding_errors: str = "strict",
    ) -> None:
        if isinstance(val_fraction, bool) or not isinstance(val_fraction, numbers.Real):
            raise TypeError(f"val_fraction: expected a number in (0, 1), got {val_fraction!r}")
        if not 0.0 < val_fraction < 1.0:
            raise ValueError(f"val_fraction: expected a number in (0, 1), got {val_fraction}")
        for name, v in (("seq_length", seq_length), ("reset_every", reset_every)):
            if isinstance(v, bool) or not isinstance(v, numbers.Integral) or v < 1:
                raise ValueError(f"{name}: expected a positive int, got {v!r}")
        if encoding_errors not in ENCODING_ERRORS:
            raise ValueError(
                f"encoding_errors: expected one of strict, replace; got {encoding_errors!r}"
            )
        self.val_fraction, self.T = float(val_fraction), int(seq_length)
        self.reset_every, self.encoding_errors = int(reset_every), encoding_errors
        self.corpus: CorpusFiles = find_files([paths] if isinstance(paths, str) else paths, glob)
        self._read()
        self._B: int | None = None  # streams (batch rows) of the current epoch
        self._epoch, self._chunk, self._offset = 0, 0, -1  # offset -1: no epoch started

    def _read(self) -> None:
        """Two passes over the files (one file in memory at a time): lengths, hash and
        characters; then the encoded stream (one byte per character when V <= 256)."""
        h = hashlib.sha256()  # over each file's recorded name and its bytes
        lengths, sets = [], []
        for i, data, text in read_files(self.corpus, self.encoding_errors):
            h.update(self.corpus.names[i].encode() + b"\x00" + data + b"\x00")
            lengths.append(len(text))
            sets.append("".join(sorted(set(text))))  # a file's characters, compactly
        n = int(sum(lengths))
        if n == 0:
            raise ValueError(
                f"text: the corpus is empty ({len(self.corpus.files)} file(s), 0 characters)"
            )
        n_val = int(round(n * self.val_fraction))
        if n_val < 2:
            raise ValueError(
                f"val_fraction: {self.val_fraction:g} of {n:,} characters holds out {n_val}; "
                "expected at least 2 held-out characters"
            )
        n_train = n - n_val
        if n_train < self.T + 1:
            raise ValueError(
                f"text: the training text holds {n_train:,} characters, shorter than one chunk "
                f"of {self.T + 1} (seq_length {self.T} + 1)"
            )
        chars: set[str] = set()
        start = 0
        for i, ln in enumerate(lengths):  # the vocabulary comes from the training part only
            if start + ln <= n_train:
                chars.update(sets[i])
            elif start < n_train:
                text = next(t for j, t in read_texts(_one(self.corpus, i), self.encoding_errors))
                chars |= set(text[: n_train - start])
            start += ln
        self.vocab = Vocabulary(chars)
        self.codes = np.empty(n, dtype=self.vocab.dtype)  # the whole stream, encoded
        start = 0
        for _, text in read_texts(self.corpus, self.encoding_errors):
            self.vocab.encode(text, out=self.codes[start : start + len(text)])
            start += len(text)
        self.sha256 = h.hexdigest()
        self.train_chars, self.val_chars = n_train, n_val
        self.val_unknown = int(np.count_nonzero(self.codes[n_train:] == 0))

    # -- shape of the problem -------------------------------------------------------------------
    input_size = property(lambda self: self.vocab.size)
    output_size = property(lambda self: self.vocab.size)
    loss = property(lambda self: "ce")
    target = property(lambda self: "every")

    @property
    def train_size(self) -> int:
        """Chunks of ``T + 1`` characters in the training text (one epoch's "sequences")."""
        return self.train_chars // (self.T + 1)

    @property
    def default_eval_size(self) -> int:
        """Held-out characters scored at each evaluation during training (the first ones)."""
        return min(self.val_chars, 50_000)

    @property
    def defaults(self) -> dict[str, Any]:
        return dict(TEXT_DEFAULTS)

    @property
    def title(self) -> str:
        what = ", ".join(self.corpus.paths)
        return f"text ({what}, {self.train_chars + self.val_chars:,} chars)"

    @property
    def criterion(self) -> str:
        return "none: training runs until a budget is spent or the held-out loss stops improving"

    def spec(self) -> dict[str, Any]:
        c = self.corpus
        out: dict[str, Any] = {
            "kind": self.kind,
            "input_size": self.input_size,
            "output_size": self.output_size,
            "loss": "ce",
            "target": "every",
            "paths": list(c.paths),
            "val_fraction": self.val_fraction,
            "seq_length": self.T,
            "reset_every": self.reset_every,
            "encoding_errors": self.encoding_errors,
            "characters": self.train_chars + self.val_chars,
            "train_characters": self.train_chars,
            "val_characters": self.val_chars,
            "vocab_sha256": self.vocab.sha256,
            "sha256": self.sha256,
            "files": list(c.names),
        }
        if c.glob is not None:
            out["glob"] = c.glob
        if c.python is not None:
            out["python"] = c.python
        return out

    @classmethod
    def from_spec(cls, spec: dict[str, Any]) -> TextSource:
        """Rebuild from a run's recorded spec; ValueError if the files' text has changed."""
        src = cls(
            list(spec["paths"]),
            glob=spec.get("glob"),
            val_fraction=float(spec["val_fraction"]),
            seq_length=int(spec["seq_length"]),
            reset_every=int(spec["reset_every"]),
            encoding_errors=str(spec.get("encoding_errors", "strict")),
        )
        if src.sha256 != spec.get("sha256"):
            here = src.spec()
            py = f" (Python {spec['python']} here {here.get('python')})" if "python" in spec else ""
            raise ValueError(
                f"data: the text differs from the one this run was trained on{py}: "
                f"{len(spec.get('files', []))} files, sha256 {str(spec.get('sha256'))[:12]} then; "
                f"{len(here['files'])} files, sha256 {src.sha256[:12]} now"
            )
        return src

    # -- training stream ------------------------------------------------------------------------
    def next_batch(self, batch: int, rng: np.random.Generator) -> Batch:
        T = self.T
        L = self.train_chars // batch  # characters per stream
        if L < T + 1:
            raise ValueError(
                f"batch: {batch} streams of the {self.train_chars:,} training characters are "
                f"shorter than one chunk of {T + 1}; expected at most {self.train_size}"
            )
        if self._B != batch or self._offset < 0 or self._chunk >= (L - 1 - self._offset) // T:
            if self._offset >= 0 and self._B == batch:
                self._epoch += 1
            self._B, self._chunk = batch, 0
            self._offset = int(rng.integers(0, min(T, L - T)))  # the epoch's phase
        k = self._chunk
        starts = np.arange(batch) * L + self._offset + k * T  # (B,)
        idx = starts[None, :] + np.arange(T + 1)[:, None]  # (T+1, B)
        codes = self.codes[idx].astype(np.intp)
        self._chunk += 1
        return Batch(
            x=one_hot(codes[:-1], self.vocab.size),
            y=codes[1:],
            mask=None,
            last=np.full(batch, T - 1, dtype=np.int64),
            carry=k % self.reset_every != 0,
        )

    def state_dict(self) -> dict[str, Any]:
        return {
            "streams": self._B,
            "epoch": self._epoch,
            "chunk": self._chunk,
            "offset": self._offset,
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self._B = None if state.get("streams") is None else int(state["streams"])
        self._epoch, self._chunk = int(state.get("epoch", 0)), int(state.get("chunk", 0))
        self._offset = int(state.get("offset", -1))

    def correct(self, outputs: np.ndarray, batch: Batch) -> np.ndarray | None:
        return None  # no per-sequence rule; bits/char say how good it is

    # -- judging --------------------------------------------------------------------------------
    def evaluate(
        self,
        model: Any,
        *,
        seed: int,
        step: int,
        size: int | None = None,
        screen: int | None = None,
    ) -> Evaluation:
        """Held-out loss by the fixed rule over the first ``size`` held-out characters (all of
        them when ``None``); ``seed``/``step``/``screen`` are not needed."""
        n = self.val_chars if size is None else max(2, min(int(size), self.val_chars))
        codes = self.codes[self.train_chars : self.train_chars + n]
        total, count = score(model, codes)
        m = text_metrics(total, count, int(np.count_nonzero(codes == 0)), n)
        return Evaluation(
            loss=m["nats_per_char"],
            size=n,
            solved=False,
            extra={
                "test_bits_per_char": m["bits_per_char"],
                "test_perplexity": m["perplexity"],
                "test_unknown_fraction": m["unknown_fraction"],
            },
        )


def _one(corpus: CorpusFiles, i: int) -> CorpusFiles:
    return CorpusFiles([corpus.files[i]], [corpus.names[i]], corpus.paths, corpus.glob)


register_loader("text", TextSource.from_spec)
