"""``rnnlab bench``: training-step speed against PyTorch, written to a Markdown table."""

from __future__ import annotations

import click
import numpy as np

from .. import bench


@click.command("bench")
@click.option(
    "--against",
    type=click.Choice(["torch", "none"]),
    default="torch",
    show_default=True,
    help="Library to time alongside rnnlab.",
)
@click.option("--quick", is_flag=True, help="A small subset of the grid (well under a minute).")
@click.option(
    "--dtype",
    "dtypes",
    type=click.Choice(["float32", "float64"]),
    multiple=True,
    default=("float32",),
    show_default=True,
    help="Floating-point type; repeat the option for several tables.",
)
@click.option(
    "--threads",
    type=int,
    default=None,
    help="Threads for every BLAS and for PyTorch [default: all CPUs].",
)
@click.option(
    "--out",
    type=click.Path(dir_okay=False),
    default="benchmarks/results.md",
    show_default=True,
    help="Markdown file the tables are written to (atomically).",
)
def command(against: str, quick: bool, dtypes: tuple[str, ...], threads: int | None, out: str):
    """Time forward + full BPTT of RNN, LSTM and GRU layers; print and save the table."""
    points = bench.grid(quick=quick)
    sections = [
        "# rnnlab bench",
        "",
        f"`rnnlab bench{' --quick' if quick else ''} "
        + " ".join(f"--dtype {d}" for d in dtypes)
        + (f" --threads {threads}" if threads else "")
        + "`; "
        + bench.environment_line()
        + ". Forward + full BPTT (gradients for all parameters and the input), median of "
        "repeats after warm-up; ratio = torch ms / rnnlab ms (above 1: rnnlab faster); "
        "GFLOP/s counts GEMM work only.",
    ]
    for name in dtypes:
        click.echo(f"{name}:")
        click.echo(bench.header(name))
        report = bench.run(
            points,
            np.dtype(name),
            threads=threads,
            against_torch=against == "torch",
            progress=lambda r, rate: click.echo(bench.format_row(r, rate)),
        )
        text = bench.format_report(report)
        if report.geomean is not None:
            click.echo(text.splitlines()[-1])
        sections += ["", text]
    path = bench.write_atomic(out, "\n".join(sections) + "\n")
    click.echo(f"wrote {path}")
