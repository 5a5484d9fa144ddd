"""``rnnlab evaluate RUN``: reload a run folder and judge it on fresh test sequences or a text."""

from __future__ import annotations

import json

import click

from ..training import evaluate


@click.command("evaluate")
@click.argument("run", type=str)
@click.option("--size", type=int, default=None, help="Test sequences.  [the task's test size]")
@click.option("--seed", type=int, default=None, help="Seed of the test sequences.")
@click.option(
    "--text",
    "text_paths",
    multiple=True,
    metavar="PATH",
    help="A text run: score these files or folders (or 'stdlib') instead (repeatable).",
)
@click.option("--glob", type=str, default=None, help="Text: file-name pattern, e.g. '*.py'.")
@click.option(
    "--encoding-errors",
    type=click.Choice(["strict", "replace"]),
    default="strict",
    help="Text: non-UTF-8 bytes are an error, or become U+FFFD.  [strict]",
)
@click.option(
    "--checkpoint",
    type=click.Choice(["best", "last"]),
    default="best",
    help="Text: the lowest held-out loss (best.safetensors) or the latest checkpoint. [best]",
)
@click.option("--json", "as_json", is_flag=True, default=False, help="Print one JSON object.")
def command(
    run: str,
    size: int | None,
    seed: int | None,
    text_paths: tuple[str, ...],
    glob: str | None,
    encoding_errors: str,
    checkpoint: str,
    as_json: bool,
) -> None:
    """Evaluate the model saved in the run folder RUN with its task's solved criterion.

    With --text (a text run): nats/char, bits/char and perplexity on the given text, and the
    fraction of its characters outside the model's vocabulary. The rule is fixed: the files'
    text is read as one stream, the hidden state starts at zero at its first character and is
    carried through to its end, and every character after the first is scored given all
    before it (an unseen character is scored as the reserved unknown symbol).
    """
    if text_paths:
        from ..text import evaluate_text, load_text_run

        tr = load_text_run(run, which=checkpoint)
        r = evaluate_text(
            tr.model, tr.vocab, list(text_paths), glob=glob, encoding_errors=encoding_errors
        )
        r.update(run=str(tr.path), checkpoint=tr.checkpoint, text=list(text_paths))
        if as_json:
            click.echo(json.dumps(r))
            return
        click.echo(
            f"{tr.config.model.upper()} ({tr.checkpoint} checkpoint) on {', '.join(text_paths)}: "
            f"{r['characters']:,} characters in {r['files']} file(s)"
        )
        click.echo(
            f"  {r['nats_per_char']:.4f} nats/char   {r['bits_per_char']:.4f} bits/char   "
            f"perplexity {r['perplexity']:.3f}"
        )
        click.echo(f"  outside the vocabulary: {100 * r['unknown_fraction']:.3f}% of characters")
        return
    if glob is not None:
        raise ValueError("glob: --glob needs --text")
    r = evaluate(run, size=size, seed=seed)
    if as_json:
        click.echo(json.dumps(r, default=str))
        return
    verdict = "SOLVED" if r["solved"] else "NOT SOLVED"
    click.echo(
        f"{r['model'].upper()} on {r['task']} (T={r['length']}), {r['size']:,} fresh "
        f"test sequences (seed {r['seed']}):"
    )
    acc = "n/a" if r["accuracy"] is None else f"{100 * r['accuracy']:.2f}%"
    click.echo(f"  correct: {acc}   loss: {r['loss']:.4g}")
    click.echo(f"  criterion: {r['criterion']}")
    click.echo(f"  {verdict}")
