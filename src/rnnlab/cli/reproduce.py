"""``rnnlab reproduce hochreiter1997|pascanu2013``: the papers' tables rebuilt from sweeps."""

from __future__ import annotations

from pathlib import Path

import click

PAPERS = ("hochreiter1997", "pascanu2013")


@click.command("reproduce")
@click.argument("paper", type=str)
@click.option("--seeds", type=int, default=None, help="Seeds per cell.  [quick: 2; full: 10/5]")
@click.option(
    "--tables",
    type=str,
    default=None,
    help="hochreiter1997: comma-separated settings, e.g. 4-T100,6a.  [all; quick: 2a,4-T100,6a,6b]",
)
@click.option("--quick", is_flag=True, default=False, help="A reduced grid that runs in minutes.")
@click.option("--out", type=str, default=None, help="Output folder.  [reproduce/PAPER]")
@click.option("--workers", type=int, default=None, help="Local worker processes.  [all cores]")
@click.option("--scheduler", type=str, default=None, help="Dask scheduler address or local:N.")
@click.option("--quiet", is_flag=True, default=False, help="No progress bar.")
def command(paper, seeds, tables, quick, out, workers, scheduler, quiet) -> None:
    """Run (or reuse) the sweep behind PAPER's table; write PAPER.md, PAPER.png, results.sqlite.

    PAPER is hochreiter1997 (Exps. 1-6: sequences to solve, success rate and wrong test
    sequences for the paper's LSTM, rnnlab's LSTM, a GRU and a tanh RNN) or pascanu2013 (success
    rate against sequence length for SGD, SGD + clipping and SGD + clipping + Omega). Running the
    same command again reuses the finished jobs in its results file.
    """
    from ..sweep import ResultsDB, run_sweep
    from ..sweep.papers import hochreiter_jobs, pascanu_jobs
    from ..sweep.tables import write_report

    if paper not in PAPERS:
        raise ValueError(f"paper: expected one of {', '.join(PAPERS)}, got {paper!r}")
    if seeds is not None and seeds < 1:
        raise ValueError(f"seeds: expected a positive int, got {seeds}")
    if paper == "hochreiter1997":
        keys = tuple(k.strip() for k in tables.split(",") if k.strip()) if tables else None
        jobs = hochreiter_jobs(seeds or (2 if quick else 10), keys, quick=quick)
    else:
        if tables:
            raise ValueError("tables: pascanu2013 has one table; got --tables")
        jobs = pascanu_jobs(seeds or (2 if quick else 5), quick=quick)
    folder = Path(out or f"reproduce/{paper}{'-quick' if quick else ''}")
    db = folder / "results.sqlite"
    r = run_sweep(
        jobs,
        db,
        runs_dir=folder / "runs",
        workers=workers,
        scheduler=scheduler,
        progress=not quiet,
    )
    with ResultsDB(db, write=False) as rd:
        keys_now = {j.key for j in jobs}
        rows = [row for row in rd.rows() if row["key"] in keys_now]
    note = (
        f"{'Quick grid' if quick else 'Full grid'}: {len(jobs)} runs "
        f"({len({j.config['seed'] for j in jobs})} seeds per cell); "
        f"`rnnlab reproduce {paper}{' --quick' if quick else ''}`."
    )
    md, png = write_report(paper, rows, folder, note)
    click.echo(md.read_text())
    click.echo(
        f"{r.total} runs ({r.skipped} reused, {r.ran} run now, {r.failed} failed) in "
        f"{r.seconds:.0f} s; wrote {md}, {png}, {db}"
    )
