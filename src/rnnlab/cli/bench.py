"""``rnnlab bench``: layer or whole-training-step speed against PyTorch, as Markdown tables."""

from __future__ import annotations

import click
import numpy as np

from .. import bench


@click.command("bench")
@click.option(
    "--workload",
    type=click.Choice(["layer", "train"]),
    default="layer",
    show_default=True,
    help="layer: one layer's forward + BPTT on a grid of shapes; train: the whole training step "
    "(forward, readout, loss, BPTT, clipping, Adam) of the seed workloads, then the trainer's "
    "own overhead on the adding problem.",
)
@click.option(
    "--against",
    type=click.Choice(["torch", "none"]),
    default="torch",
    show_default=True,
    help="Library to time alongside rnnlab (layer workload).",
)
@click.option("--quick", is_flag=True, help="A small subset of the shapes (well under a minute).")
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
    "threads",
    type=int,
    multiple=True,
    help="Threads for every BLAS and for PyTorch; repeat for several tables "
    "[default: all CPUs for layer, 1 and 2 for train].",
)
@click.option(
    "--trainer/--no-trainer",
    default=True,
    show_default=True,
    help=(
        "train workload: also time `rnnlab train --task adding` (to solved, seed 0, each "
        "dtype) in parts, and whole commands in fresh processes (adding, temporal order, a "
        "char model on the standard library for about a minute)."
    ),
)
@click.option(
    "--out",
    type=click.Path(dir_okay=False),
    default="benchmarks/results.md",
    show_default=True,
    help="Markdown file the tables are written to (their own section; the rest is kept).",
)
def command(
    workload: str,
    against: str,
    quick: bool,
    dtypes: tuple[str, ...],
    threads: tuple[int, ...],
    trainer: bool,
    out: str,
):
    """Time rnnlab against PyTorch in one process; print and save the tables."""
    cmd = (
        f"rnnlab bench{' --workload train' if workload == 'train' else ''}"
        f"{' --quick' if quick else ''} "
        + " ".join(f"--dtype {d}" for d in dtypes)
        + "".join(f" --threads {t}" for t in threads)
        + ("" if trainer or workload == "layer" else " --no-trainer")
    )
    if workload == "train":
        from .. import bench_train

        sections = bench_train.run_cli(
            cmd, dtypes, threads or (1, 2), quick, trainer, echo=click.echo
        )
    else:
        sections = _layer(cmd, quick, dtypes, threads or (None,), against == "torch")
    path = bench.write_section(out, workload, "\n".join(sections) + "\n")
    click.echo(f"wrote {path}")


def _layer(
    cmd: str, quick: bool, dtypes: tuple[str, ...], threads: tuple[int | None, ...], torch: bool
) -> list[str]:
    points = bench.grid(quick=quick)
    sections = [
        "# rnnlab bench",
        "",
        f"`{cmd}`; "
        + bench.environment_line()
        + ". Forward + full BPTT (gradients for all parameters and the input), median of "
        "repeats after warm-up; ratio = torch ms / rnnlab ms (above 1: rnnlab faster); "
        "GFLOP/s counts GEMM work only.",
    ]
    for n in threads:
        for name in dtypes:
            click.echo(f"{name}:")
            click.echo(bench.header(name))
            report = bench.run(
                points,
                np.dtype(name),
                threads=n,
                against_torch=torch,
                progress=lambda r, rate: click.echo(bench.format_row(r, rate)),
            )
            text = bench.format_report(report)
            if report.geomean is not None:
                click.echo(text.splitlines()[-1])
            sections += ["", text]
    return sections
