"""``rnnlab sweep SPEC.toml``: run a grid of training jobs; results in one SQLite file."""

from __future__ import annotations

from pathlib import Path

import click


@click.command("sweep")
@click.argument("spec", type=str)
@click.option(
    "--results",
    type=str,
    default=None,
    help="SQLite results file; finished jobs in it are skipped.  [SPEC's name].sqlite",
)
@click.option("--runs", type=str, default=None, help="Folder of the run folders.  [beside results]")
@click.option("--workers", type=int, default=None, help="Local worker processes.  [all cores]")
@click.option(
    "--scheduler",
    type=str,
    default=None,
    help="Dask scheduler address (tcp://HOST:PORT) or local:N for a local Dask cluster.",
)
@click.option("--timeout", type=float, default=10.0, help="Seconds to reach the scheduler.  [10]")
@click.option("--quiet", is_flag=True, default=False, help="No progress bar.")
def command(spec, results, runs, workers, scheduler, timeout, quiet) -> None:
    """Expand SPEC.toml into jobs (tasks x models x options x seeds) and run the unfinished ones.

    Each job trains in its own run folder, one BLAS thread per process. A job whose worker dies
    is recorded as failed with the reason; running the same command again re-runs it.
    """
    from ..sweep import read_spec, run_sweep

    jobs = read_spec(spec)
    results = results or str(Path(spec).with_suffix(".sqlite"))
    r = run_sweep(
        jobs,
        results,
        runs_dir=runs,
        workers=workers,
        scheduler=scheduler,
        progress=not quiet,
        timeout=timeout,
    )
    click.echo(
        f"{r.total} jobs: {r.skipped} finished before, {r.ran} run now ({r.failed} failed) "
        f"in {r.seconds:.0f} s; results in {r.results}"
    )
