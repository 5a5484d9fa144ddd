"""The papers' tables rebuilt from a results file, with the paper's numbers beside ours.

Every function reads job rows (:meth:`ResultsDB.rows`); a job belongs to a table cell through
its ``sweep`` label (``"hochreiter1997|SETTING|ROW"``, ``"pascanu2013|TASK|T|ROW"``, see
:mod:`rnnlab.sweep.papers`). Markdown text and matplotlib Figures, no pyplot.
"""

from __future__ import annotations

import os
from collections import defaultdict
from pathlib import Path
from typing import Any

import numpy as np

from .papers import HS_ROWS, PASCANU_TASKS, SETTINGS, TREATMENTS

FINAL = ("solved", "not solved", "finished", "diverged")


def _cells(rows: list[dict[str, Any]], paper: str) -> dict[tuple[str, ...], list[dict]]:
    out: dict[tuple[str, ...], list[dict]] = defaultdict(list)
    for r in rows:
        parts = (r.get("sweep") or "").split("|")
        if parts[0] == paper and r.get("status") in FINAL:
            out[tuple(parts[1:])].append(r)
    return out


def _n(v: float | None) -> str:
    return "" if v is None else f"{v:,.0f}"


def hs_summary(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """Median and range of sequences to solve, success rate, wrong of the fresh draw."""
    solved = [r for r in runs if r["status"] == "solved"]
    at = np.array([r["solved_at"] for r in solved], dtype=float)
    fresh = [r for r in runs if r.get("fresh_wrong") is not None]
    return {
        "runs": len(runs),
        "solved": len(solved),
        "median": float(np.median(at)) if len(at) else None,
        "min": float(at.min()) if len(at) else None,
        "max": float(at.max()) if len(at) else None,
        "fresh_wrong_median": float(np.median([r["fresh_wrong"] for r in fresh]))
        if fresh
        else None,
        "fresh_size": fresh[0]["fresh_size"] if fresh else None,
        "fresh_all_correct": sum(1 for r in fresh if r.get("fresh_solved")),
    }


def hochreiter_table(rows: list[dict[str, Any]]) -> str:
    """The H&S table as Markdown: one line per (setting, model row) that has finished runs."""
    cells = _cells(rows, "hochreiter1997")
    lines = [
        "| setting | paper's LSTM | model | solved | sequences to solve: median (range) "
        "| wrong of a fresh draw (median) | all correct on the fresh draw |",
        "|---|---|---|---|---|---|---|",
    ]
    for key, s in SETTINGS.items():
        paper = _n(s.paper_sequences) if s.paper_sequences else s.paper_note or "-"
        if s.paper_sequences and s.paper_wrong is not None:
            paper += f"; {s.paper_wrong:g} wrong of 2,560"
        first = True
        for i, (label, _setup, _model) in enumerate(HS_ROWS):
            runs = cells.get((key, str(i)))
            if not runs:
                continue
            m = hs_summary(runs)
            seq = f"{_n(m['median'])} ({_n(m['min'])}-{_n(m['max'])})" if m["solved"] else "-"
            wrong = (
                f"{_n(m['fresh_wrong_median'])} of {_n(m['fresh_size'])}"
                if m["fresh_size"]
                else "-"
            )
            lines.append(
                f"| {s.title if first else ''} | {paper if first else ''} | {label} "
                f"| {m['solved']}/{m['runs']} | {seq} | {wrong} "
                f"| {m['fresh_all_correct']}/{m['runs']} |"
            )
            first = False
    shown = [k for k in SETTINGS if any((k, str(i)) in cells for i in range(len(HS_ROWS)))]
    if shown:  # the paper's criterion of each setting; "solved" above is rnnlab's strict verdict
        lines.append("\nThe paper's success criteria:\n")
        lines += [f"- {SETTINGS[k].title}: {SETTINGS[k].criterion}" for k in shown]
    return "\n".join(lines) + "\n"


def _wrong_fractions(runs: list[dict[str, Any]]) -> list[float]:
    """The fraction of the fresh test draw each judged run got wrong (diverged runs have none)."""
    return [
        r["fresh_wrong"] / r["fresh_size"]
        for r in runs
        if r.get("fresh_size") and r.get("fresh_wrong") is not None
    ]


def pascanu_success(rows: list[dict[str, Any]]) -> dict[tuple[str, int, int], tuple[int, int]]:
    """``{(task, T, treatment index): (successes, runs)}``; success: under 1% of the fresh test
    sequences wrong."""
    out = {}
    for key, runs in _cells(rows, "pascanu2013").items():
        task, T, i = key[0], int(key[1]), int(key[2])
        ok = sum(1 for w in _wrong_fractions(runs) if w < 0.01)
        out[(task, T, i)] = (ok, len(runs))
    return out


def pascanu_wrong(rows: list[dict[str, Any]]) -> dict[tuple[str, int, int], float]:
    """``{(task, T, treatment index): median fraction of the fresh test draw wrong}``, over the
    cell's judged runs: it shows a trend where no run has succeeded yet."""
    out = {}
    for key, runs in _cells(rows, "pascanu2013").items():
        fr = _wrong_fractions(runs)
        if fr:
            out[(key[0], int(key[1]), int(key[2]))] = float(np.median(fr))
    return out


def pascanu_table(rows: list[dict[str, Any]]) -> str:
    """Success rate against sequence length, one line per (task, treatment), with the median
    share of the fresh test draw wrong."""
    succ, wrong = pascanu_success(rows), pascanu_wrong(rows)
    lengths = sorted({T for _, T, _ in succ})
    head = "| task | method | " + " | ".join(f"T={T}" for T in lengths) + " |"
    lines = [head, "|---|---|" + "---|" * len(lengths)]
    for task, title in PASCANU_TASKS:
        for i, (label, _) in enumerate(TREATMENTS):
            cells = []
            for T in lengths:
                ok, n = succ.get((task, T, i), (0, 0))
                w = wrong.get((task, T, i))
                tail = f"; {100 * w:.1f}% wrong" if w is not None else ""
                cells.append(f"{100 * ok / n:.0f}% ({ok}/{n}){tail}" if n else "-")
            if any(c != "-" for c in cells):
                lines.append(f"| {title} | {label} | " + " | ".join(cells) + " |")
    lines.append(
        "\nA cell: the runs that succeeded (under 1% of the fresh test sequences wrong) and the "
        "median share of that draw wrong. Wrong as the authors' script scores it: temporal order "
        "when the most probable class is not the target; addition when |error| >= 0.2 (squared "
        "error above 0.04)."
    )
    return "\n".join(lines) + "\n"


# -- figures ----------------------------------------------------------------------------------
def hochreiter_figure(rows: list[dict[str, Any]]):
    """Sequences to solve per setting (dots: solved runs; cross: the paper's LSTM), log scale."""
    from ..figures._save import COLORS, new_figure

    cells = _cells(rows, "hochreiter1997")
    keys = [k for k in SETTINGS if any((k, str(i)) in cells for i in range(len(HS_ROWS)))]
    fig = new_figure((1.3 * max(len(keys), 3) + 2, 4.2))
    ax = fig.add_subplot()
    width = 0.8 / len(HS_ROWS)
    for i, (label, _, _) in enumerate(HS_ROWS):
        for j, k in enumerate(keys):
            at = [r["solved_at"] for r in cells.get((k, str(i)), []) if r["status"] == "solved"]
            x = j - 0.4 + width * (i + 0.5)
            ax.scatter([x] * len(at), at, s=14, color=COLORS[i], label=label if j == 0 else None)
    for j, k in enumerate(keys):
        if SETTINGS[k].paper_sequences:
            ax.scatter(
                [j],
                [SETTINGS[k].paper_sequences],
                marker="x",
                s=60,
                color="black",
                label="paper's LSTM" if j == 0 else None,
            )
    ax.set_yscale("log")
    ax.set_xticks(range(len(keys)), [SETTINGS[k].key for k in keys])
    ax.set_ylabel("training sequences to solve")
    ax.set_xlabel("setting (experiment number, as in the table)")
    ax.set_title("Hochreiter & Schmidhuber 1997: solved runs (unsolved runs are not drawn)")
    if ax.get_legend_handles_labels()[0]:
        ax.legend(fontsize=7, loc="best")
    return fig


def pascanu_figure(rows: list[dict[str, Any]]):
    """Per task, grouped bars over the sequence lengths: each treatment's median share of the
    fresh test draw wrong (log scale), with its successes written above the bar; a run succeeds
    below the dashed 1% line. Bars rather than lines: the quick grid has one length."""
    from matplotlib.ticker import FuncFormatter

    from ..figures._save import COLORS, new_figure

    succ, wrong = pascanu_success(rows), pascanu_wrong(rows)
    lengths = sorted({T for _, T, _ in succ})
    fig = new_figure((4.2 * len(PASCANU_TASKS) + 0.6 * len(lengths), 4.4))
    axes = np.atleast_1d(fig.subplots(1, len(PASCANU_TASKS), sharey=True))
    width = 0.8 / len(TREATMENTS)
    for ax, (task, title) in zip(axes, PASCANU_TASKS):
        for i, (label, _) in enumerate(TREATMENTS):
            for j, T in enumerate(lengths):
                ok, n = succ.get((task, T, i), (0, 0))
                if not n:
                    continue
                x = j - 0.4 + width * (i + 0.5)
                w = wrong.get((task, T, i))
                # a run with no fresh draw (diverged) has no share: its bar is drawn at 100%
                h = max(100 * (w if w is not None else 1.0), 1e-2)
                ax.bar(x, h, width * 0.9, color=COLORS[i], label=label if j == 0 else None)
                ax.text(x, h * 1.15, f"{ok}/{n}", ha="center", va="bottom", fontsize=7)
        ax.axhline(1.0, color="black", ls="--", lw=0.8, label="success: under 1% wrong")
        ax.set_yscale("log")
        ax.set_ylim(1e-2, 300)
        ax.set_xticks(range(len(lengths)), [f"T={T}" for T in lengths])
        ax.set_xlabel("sequence length")
        ax.set_title(f"{title} (runs succeeded above each bar)", fontsize=9)
    axes[0].set_ylabel("fresh test sequences wrong, % (median over runs)")
    axes[0].yaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}"))  # 0.1, not 10^-1
    if axes[0].get_legend_handles_labels()[0]:  # below the panels: a bar may reach any height
        fig.legend(*axes[0].get_legend_handles_labels(), loc="outside lower center", ncols=4)
    return fig


def write_report(
    paper: str, rows: list[dict[str, Any]], out: str | os.PathLike, note: str = ""
) -> tuple[Path, Path]:
    """Write ``OUT/PAPER.md`` (the table) and ``OUT/PAPER.png`` (its figure); return both."""
    from .._files import atomic_write_text
    from ..figures._save import save_figure

    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    if paper == "hochreiter1997":
        table, fig = hochreiter_table(rows), hochreiter_figure(rows)
    elif paper == "pascanu2013":
        table, fig = pascanu_table(rows), pascanu_figure(rows)
    else:
        raise ValueError(f"paper: expected hochreiter1997 or pascanu2013, got {paper!r}")
    md = out / f"{paper}.md"
    atomic_write_text(md, (note + "\n\n" if note else "") + table)
    png = save_figure(fig, out / f"{paper}.png")
    return md, png
