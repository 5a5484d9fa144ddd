"""``rnnlab tour``: the core cells, their gradient check and the PyTorch comparison."""

import click

from ..tour import run_tour


@click.command("tour")
@click.option(
    "--seed", default=0, show_default=True, type=click.IntRange(min=0), help="Random seed."
)
def command(seed: int) -> None:
    """Build each cell, run forward/backward, compare with finite differences and PyTorch."""
    run_tour(click.echo, rng=seed)
