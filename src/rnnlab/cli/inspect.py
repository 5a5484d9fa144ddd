"""``rnnlab inspect RUN --text PATH --out DIR``: look inside the cells of a character model."""

from __future__ import annotations

import click


@click.command("inspect")
@click.argument("run", type=str)
@click.option(
    "--text",
    "text_paths",
    multiple=True,
    required=True,
    metavar="PATH",
    help="Files or folders (or 'stdlib') whose text is run through the model (repeatable).",
)
@click.option("--out", type=str, required=True, help="Folder for the page and figures.")
@click.option(
    "--chars",
    type=int,
    default=3000,
    help="Characters of the passage shown on the page (from the start of the text).  [3000]",
)
@click.option(
    "--measure-chars",
    type=int,
    default=50000,
    help="Characters the cell search and the gate saturation are measured on.  [50000]",
)
@click.option("--glob", type=str, default=None, help="File-name pattern, e.g. '*.py'.")
@click.option(
    "--checkpoint",
    type=click.Choice(["best", "last"]),
    default="best",
    help="The lowest held-out loss (best.safetensors) or the latest checkpoint.  [best]",
)
@click.option("--force", is_flag=True, default=False, help="Overwrite files in an existing --out.")
def command(
    run: str,
    text_paths: tuple[str, ...],
    out: str,
    chars: int,
    measure_chars: int,
    glob: str | None,
    checkpoint: str,
    force: bool,
) -> None:
    """Write inspect.html (each character coloured by a chosen cell, the top-5 next characters
    on hover, the cells that best track simple features of the text first), gate saturation
    per layer, and PNG versions for a report, into OUT."""
    from ..reports.text import write_inspection

    paths = write_inspection(
        run,
        list(text_paths),
        out,
        chars=chars,
        measure_chars=measure_chars,
        glob=glob,
        which=checkpoint,
        force=force,
    )
    for p in paths:
        click.echo(str(p))
