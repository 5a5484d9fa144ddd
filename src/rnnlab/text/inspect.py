"""Looking inside the cells of a character LSTM (after Karpathy, Johnson & Fei-Fei 2015,
"Visualizing and understanding recurrent networks"): pure measures over the model and a text.

- :func:`text_features`: simple per-character features of source text (inside a string or a
  comment, inside single-line quotes, bracket depth, indentation, position in the line);
- :func:`run_cells`: one pass of the model over the text by the fixed rule (zero state at the
  start, carried), streaming: the activations of every cell (``tanh(c)`` and ``h``) over a
  short passage, the top-5 predicted next characters there, Pearson correlations of every cell
  with every feature over the whole text, and each gate's saturation (the fraction of time a
  gate is left-saturated, below 0.1, and right-saturated, above 0.9, per unit and layer).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..cells.base import block_slice
from .source import one_hot

FEATURES = (
    "in_string",
    "in_comment",
    "in_quotes",
    "bracket_depth",
    "indent",
    "line_position",
)
KINDS = ("tanh_c", "h")  # the activations looked at: tanh of the cell state, and the output h
LEFT, RIGHT = 0.1, 0.9  # saturation thresholds of the paper


def text_features(text: str) -> dict[str, np.ndarray]:
    """Per-character features of (Python-like) source text, each ``(len(text),)`` float.

    ``in_string``: inside any string literal, triple-quoted ones included (quotes count as
    inside); ``in_comment``: from ``#`` outside a string to the end of the line;
    ``in_quotes``: inside a single-line ``'...'`` or ``"..."``; ``bracket_depth``: open
    ``([{`` not yet closed (outside strings and comments); ``indent``: leading spaces of the
    line; ``line_position``: the column.
    """
    n = len(text)
    out = {k: np.zeros(n) for k in FEATURES}
    quote = ""  # the open string's delimiter: ', ", ''' or """
    comment, depth, col, indent, leading, esc = False, 0, 0, 0, True, False
    i = 0
    while i < n:
        ch = text[i]
        step = 1
        if quote:
            if esc:
                esc = False
            elif ch == "\\":
                esc = True
            elif text.startswith(quote, i):
                step = len(quote)
                for j in range(i, min(i + step, n)):
                    out["in_string"][j] = 1.0
                    out["in_quotes"][j] = float(len(quote) == 1)
                quote = ""
            elif ch == "\n" and len(quote) == 1:
                quote = ""  # an unclosed single-line string ends with its line
        elif comment:
            if ch == "\n":
                comment = False
        elif ch == "#":
            comment = True
        elif ch in "'\"":
            quote = ch * 3 if text.startswith(ch * 3, i) else ch
            step = len(quote)
        elif ch in "([{":
            depth += 1
        elif ch in ")]}":
            depth = max(depth - 1, 0)
        for j in range(i, min(i + step, n)):
            c = text[j]
            if quote or step > 1 and out["in_string"][j] == 0 and text[i] in "'\"":
                out["in_string"][j] = 1.0
                out["in_quotes"][j] = float(len(quote) == 1)
            out["in_comment"][j] = float(comment)
            out["bracket_depth"][j] = depth
            if c == "\n":
                col, indent, leading = 0, 0, True
                out["line_position"][j] = 0
                out["indent"][j] = 0
                continue
            if leading and c == " ":
                indent += 1
            else:
                leading = False
            out["line_position"][j] = col
            out["indent"][j] = indent
            col += 1
        i += step
    return out


@dataclass
class CellRun:
    """What :func:`run_cells` measures; arrays are float32 unless said otherwise."""

    layers: int  # L
    hidden: int  # H
    passage: str  # the text shown (the first ``passage_chars`` characters)
    acts: dict[str, np.ndarray]  # kind -> (L, H, P) activations over the passage, in [-1, 1]
    top_idx: np.ndarray  # (P, 5) int: likeliest next characters after each passage character
    top_p: np.ndarray  # (P, 5) their probabilities
    corr: dict[str, np.ndarray]  # kind -> (F, L, H) Pearson r of each cell with each feature
    saturation: dict[str, np.ndarray]  # gate -> (L, H, 2): fraction < 0.1, fraction > 0.9
    chars: int  # characters measured
    features: tuple[str, ...] = FEATURES
    best: list[dict[str, Any]] = field(default_factory=list)  # the most telling cells first


def run_cells(
    model: Any,
    codes: np.ndarray,
    text: str,
    *,
    passage_chars: int = 3000,
    chunk: int = 1024,
    top: int = 24,
) -> CellRun:
    """Run the LSTM over ``codes`` (the indices of ``text``) from a zero state; see the module.

    Parameters
    ----------
    model : SequenceModel
        An LSTM character model (unidirectional).
    codes : ndarray (N,)
        Character indices of ``text``.
    text : str
        The text itself (its features are measured).
    passage_chars : int
        Characters whose activations and predictions are kept for the page.
    top : int
        How many cells :attr:`CellRun.best` lists.
    """
    layer = model.layer
    if layer.family != "lstm" or layer.bidirectional:
        raise ValueError(f"model: expected a unidirectional LSTM, got {layer.family}")
    if len(codes) != len(text) or len(text) < 2:
        raise ValueError(f"text: expected at least 2 characters matching codes, got {len(text)}")
    L, H, V = layer.num_layers, layer.hidden_size, layer.input_size
    N, P = len(codes), min(passage_chars, len(codes))
    feats = text_features(text)
    F = np.stack([feats[k] for k in FEATURES])  # (F, N)
    names = layer.cell.gates  # ("i", "f", "g", "o")
    acts = {k: np.zeros((L, H, P), dtype=np.float32) for k in KINDS}
    top_idx, top_p = np.zeros((P, 5), dtype=np.int64), np.zeros((P, 5), dtype=np.float32)
    sums = {k: [np.zeros((L, H)), np.zeros((L, H)), np.zeros((len(FEATURES), L, H))] for k in KINDS}
    sat = {g: np.zeros((L, H, 2)) for g in names if g != "g"}
    state = None
    W, b = model.readout.params["W_hy"], model.readout.params["b_y"]
    for s in range(0, N, chunk):
        e = min(s + chunk, N)
        x = one_hot(np.asarray(codes[s:e], dtype=np.intp)[:, None], V, model.dtype)
        h_top, state, cache = layer.forward(x, state)
        for k in range(L):
            st = cache.steps[k]
            vals = {"tanh_c": np.tanh(st["c"][1:, 0, :]), "h": st["h"][1:, 0, :]}  # (l, H)
            for kind, v in vals.items():
                v64 = v.astype(np.float64)
                sums[kind][0][k] += v64.sum(0)
                sums[kind][1][k] += (v64**2).sum(0)
                sums[kind][2][:, k] += F[:, s:e] @ v64  # (F, H)
                if s < P:
                    acts[kind][k, :, s : min(e, P)] = v[: min(e, P) - s].T
            for gi, g in enumerate(names):
                if g in sat:
                    gv = st["gates"][:, 0, block_slice(gi, H)]  # (l, H)
                    sat[g][k, :, 0] += (gv < LEFT).sum(0)
                    sat[g][k, :, 1] += (gv > RIGHT).sum(0)
        if s < P:
            m = min(e, P) - s
            z = h_top[:m, 0, :].astype(np.float64) @ W.T.astype(np.float64) + b  # (m, V)
            p = np.exp(z - z.max(1, keepdims=True))
            p /= p.sum(1, keepdims=True)
            order = np.argsort(-p, axis=1)[:, :5]
            top_idx[s : s + m] = order
            top_p[s : s + m] = np.take_along_axis(p, order, axis=1)
    corr = {}
    fm, fv = F.mean(1), F.var(1)  # (F,)
    for kind, (sx, sxx, sxf) in sums.items():
        mx, vx = sx / N, np.maximum(sxx / N - (sx / N) ** 2, 0.0)
        cov = sxf / N - fm[:, None, None] * mx[None]
        den = np.sqrt(fv[:, None, None] * vx[None])
        corr[kind] = np.where(den > 1e-12, cov / np.maximum(den, 1e-300), 0.0)
    saturation = {g: v / N for g, v in sat.items()}
    run = CellRun(L, H, text[:P], acts, top_idx, top_p, corr, saturation, N)
    run.best = telling_cells(run, top=top)
    return run


def telling_cells(run: CellRun, *, top: int = 24) -> list[dict[str, Any]]:
    """The cells with the largest ``|r|`` with some feature: per feature its best cells, merged
    and sorted by ``|r|``, each as ``{layer, cell, kind, feature, r}`` (a cell listed once)."""
    rows = []
    for kind, r in run.corr.items():
        for fi, feat in enumerate(run.features):
            flat = np.argsort(-np.abs(r[fi]), axis=None)[:top]
            for f in flat:
                k, j = np.unravel_index(f, r[fi].shape)
                rows.append((abs(r[fi, k, j]), int(k), int(j), kind, feat, float(r[fi, k, j])))
    rows.sort(key=lambda t: -t[0])
    out, seen = [], set()
    per_feature: dict[str, int] = {}
    for _, k, j, kind, feat, r in rows:  # at most top/len(FEATURES)+1 cells per feature first
        if (k, j, kind) in seen or per_feature.get(feat, 0) >= max(2, top // len(run.features)):
            continue
        seen.add((k, j, kind))
        per_feature[feat] = per_feature.get(feat, 0) + 1
        out.append({"layer": k, "cell": j, "kind": kind, "feature": feat, "r": r})
        if len(out) >= top:
            break
    return out
