"""``rnnlab demo``: a vanilla RNN and an LSTM on the adding problem, side by side.

:func:`run_demo` is the importable job; the command only parses its options.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import click

from ..figures.training import plot_comparison
from ..tasks.adding import AddingTask
from ..training import Run, TrainConfig, check_out_dir, train

DEMO_FIGURE = "adding-rnn-vs-lstm.png"


def run_demo(
    out: str = "demo-run",
    length: int = 100,
    time_budget: float = 300.0,
    seed: int = 0,
    force: bool = False,
    progress: bool = True,
    echo: Callable[[str], None] = print,
) -> list[Run]:
    """Train a tanh RNN and an LSTM on the adding problem (H&S 1997, Exp. 4) with the same
    budget; write both run folders and a comparison figure under ``out``; print a summary."""
    root = Path(out)
    check_out_dir(root, resume=False, force=force)
    paper = AddingTask(length=length).paper_sequences
    if paper is not None:
        echo(f"Adding problem, T={length}: the paper's LSTM needed {paper:,} training sequences.")
        echo(f"Each model gets the same budget: {paper:,} sequences or {time_budget:g} s.\n")
    else:
        echo(f"Adding problem, T={length}: each model gets the same budget of {time_budget:g} s.\n")
    runs = []
    for model in ("rnn", "lstm"):
        cfg = TrainConfig(
            task="adding",
            model=model,
            length=length,
            seed=seed,
            time_budget=time_budget,
            out=str(root / f"adding-{model}"),
        )
        check_out_dir(cfg.out, resume=False, force=force)
        echo(f"training {model.upper()} ...")
        runs.append(train(cfg, progress=progress, force=force, log=echo))
        echo("")
    fig = plot_comparison(
        [(f"{r.config.model.upper()} ({r.status})", r.out / "metrics.csv") for r in runs],
        root / DEMO_FIGURE,
        title=f"Adding problem (Hochreiter & Schmidhuber 1997, Exp. 4), T={length}",
        reference=(f"paper's LSTM: {paper:,} sequences", paper) if paper is not None else None,
    )
    echo(summary_table(runs))
    echo(f"\nfigures: {fig}, {', '.join(str(r.out / 'loss-curve.png') for r in runs)}")
    return runs


def summary_table(runs: list[Run]) -> str:
    """A plain-text table: model, verdict, sequences, seconds, test accuracy."""
    head = ("model", "result", "sequences seen", "solved after", "seconds", "test correct")
    rows = [head]
    for r in runs:
        rows.append(
            (
                r.config.model.upper(),
                r.status.upper(),
                f"{r.sequences:,}",
                f"{r.solved_at:,}" if r.solved_at else "-",
                f"{r.seconds:.0f}",
                f"{100 * r.test_accuracy:.2f}%" if r.test_accuracy is not None else "-",
            )
        )
    widths = [max(len(row[i]) for row in rows) for i in range(len(head))]
    lines = ["  ".join(v.ljust(w) for v, w in zip(row, widths)) for row in rows]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


@click.command("demo")
@click.option(
    "--out",
    type=str,
    default="demo-run",
    show_default=True,
    help="Folder for the two runs and the comparison figure.",
)
@click.option(
    "--length",
    type=int,
    default=100,
    show_default=True,
    help="Minimal sequence length T of the adding problem.",
)
@click.option(
    "--time-budget",
    type=float,
    default=300.0,
    show_default=True,
    help="Seconds each model may train at most.",
)
@click.option("--seed", type=int, default=0, show_default=True, help="Random seed.")
@click.option("--force", is_flag=True, default=False, help="Overwrite an existing demo folder.")
@click.option("--quiet", is_flag=True, default=False, help="No progress bars.")
def command(out: str, length: int, time_budget: float, seed: int, force: bool, quiet: bool) -> None:
    """Train a tanh RNN and an LSTM on Hochreiter & Schmidhuber's adding problem; compare."""
    run_demo(
        out,
        length=length,
        time_budget=time_budget,
        seed=seed,
        force=force,
        progress=not quiet,
        echo=click.echo,
    )
