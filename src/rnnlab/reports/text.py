"""``rnnlab inspect``: a text run's cells and gates over a text, as an HTML page and PNG figures."""

from __future__ import annotations

import io
import json
import os
from pathlib import Path

import numpy as np

from .._files import atomic_write_bytes, atomic_write_text
from ..figures._save import DPI, save_figure
from ..figures.inspect_page import inspect_html
from ..figures.text import plot_cell_text, plot_feature_cells, plot_saturation
from ..text.corpus import find_files, read_texts
from ..text.inspect import run_cells
from ..text.run import load_text_run
from ..text.vocab import UNKNOWN

PAGE = "inspect.html"
FILES = (PAGE, "inspect.json", "saturation.png", "feature-cells.png")  # plus cell-*.png


def _png(fig) -> bytes:
    buf = io.BytesIO()
    fig.savefig(buf, dpi=DPI, format="png")
    return buf.getvalue()


def read_prefix(paths: list[str], n: int, glob: str | None = None, errors: str = "strict") -> str:
    """The first ``n`` characters of the files' text, read one file at a time."""
    parts, have = [], 0
    for _, t in read_texts(find_files(paths, glob), errors):
        parts.append(t[: n - have])
        have += len(parts[-1])
        if have >= n:
            break
    return "".join(parts)


def write_inspection(
    run: str | os.PathLike,
    paths: list[str],
    out: str | os.PathLike,
    *,
    chars: int = 3000,
    measure_chars: int = 50_000,
    glob: str | None = None,
    which: str = "best",
    force: bool = False,
    cell_figures: int = 4,
) -> list[Path]:
    """Write ``inspect.html``, ``inspect.json`` (every number on the page but the passage's
    activations), ``saturation.png``, ``feature-cells.png`` and ``cell-N.png`` (the passage
    coloured by each of the ``cell_figures`` most telling cells) into ``out``.

    The model reads the first ``measure_chars`` characters of the text from a zero state; the
    page shows the first ``chars`` of them. Returns the written paths.
    """
    for name, v in (("chars", chars), ("measure_chars", measure_chars)):
        if isinstance(v, bool) or not isinstance(v, int) or v < 2:
            raise ValueError(f"{name}: expected an int >= 2, got {v!r}")
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise FileExistsError(f"out: {str(out)!r} exists and is not a folder")
    if out.is_dir() and any(out.iterdir()) and not force:
        raise FileExistsError(f"out: {str(out)!r} exists and is not empty; use --force")
    tr = load_text_run(run, which=which)
    if tr.model.layer.family != "lstm":
        raise ValueError(f"run: inspect needs an LSTM run, got {tr.model.layer.family}")
    text = read_prefix(paths, max(measure_chars, chars), glob)
    if len(text) < 2:
        raise ValueError(f"text: expected at least 2 characters, got {len(text)}")
    codes = tr.vocab.encode(text)
    cells = run_cells(tr.model, codes, text, passage_chars=chars)
    where = f"{', '.join(paths)}"
    sat_fig = plot_saturation(cells.saturation, f"gate saturation over {cells.chars:,} chars")
    feat_fig = plot_feature_cells(cells.best[:16])
    out.mkdir(parents=True, exist_ok=True)
    written = [save_figure(sat_fig, out / "saturation.png")]
    written.append(save_figure(feat_fig, out / "feature-cells.png"))
    for i, b in enumerate(cells.best[:cell_figures]):
        vals = cells.acts[b["kind"]][b["layer"], b["cell"]]
        name = "tanh(c)" if b["kind"] == "tanh_c" else "h"
        fig = plot_cell_text(
            cells.passage,
            vals,
            f"layer {b['layer'] + 1}, cell {b['cell']}, {name}: {b['feature']} (r = {b['r']:.2f})",
        )
        written.append(save_figure(fig, out / f"cell-{i + 1}.png"))
    info = (
        f"{tr.config.model.upper()} {tr.config.layers}x{tr.config.hidden} ({tr.checkpoint} "
        f"checkpoint of {tr.path}) on {where}: {cells.chars:,} characters measured from a zero "
        f"state, the first {len(cells.passage):,} shown."
    )
    page = inspect_html(
        cells,
        [UNKNOWN, *tr.vocab.chars],
        title="Inside the cells: " + where,
        info=info,
        images={
            "Gate saturation per layer (Karpathy, Johnson & Fei-Fei 2015, Fig. 3)": _png(sat_fig),
            "The most telling cells": _png(feat_fig),
        },
    )
    atomic_write_text(out / PAGE, page)
    summary = {
        "run": str(tr.path),
        "checkpoint": tr.checkpoint,
        "text": paths,
        "chars_measured": cells.chars,
        "passage_chars": len(cells.passage),
        "features": list(cells.features),
        "best": cells.best,
        "saturation": {
            g: {
                "left_mean_per_layer": np.round(v[:, :, 0].mean(1), 4).tolist(),
                "right_mean_per_layer": np.round(v[:, :, 1].mean(1), 4).tolist(),
                "per_unit": np.round(v, 4).tolist(),
            }
            for g, v in cells.saturation.items()
        },
    }
    atomic_write_bytes(out / "inspect.json", json.dumps(summary, indent=1).encode())
    return [out / PAGE, out / "inspect.json", *written]
