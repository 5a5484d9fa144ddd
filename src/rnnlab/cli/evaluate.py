"""``rnnlab evaluate RUN``: reload a run folder and judge it on fresh test sequences."""

from __future__ import annotations

import click

from ..training import evaluate


@click.command("evaluate")
@click.argument("run", type=str)
@click.option("--size", type=int, default=None, help="Test sequences.  [the task's test size]")
@click.option("--seed", type=int, default=None, help="Seed of the test sequences.")
def command(run: str, size: int | None, seed: int | None) -> None:
    """Evaluate the model saved in the run folder RUN with its task's solved criterion."""
    r = evaluate(run, size=size, seed=seed)
    verdict = "SOLVED" if r["solved"] else "NOT SOLVED"
    click.echo(
        f"{r['model'].upper()} on {r['task']} (T={r['length']}), {r['size']:,} fresh "
        f"test sequences (seed {r['seed']}):"
    )
    click.echo(f"  correct: {100 * r['accuracy']:.2f}%   loss: {r['loss']:.4g}")
    click.echo(f"  criterion: {r['criterion']}")
    click.echo(f"  {verdict}")
