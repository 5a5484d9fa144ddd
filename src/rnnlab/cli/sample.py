"""``rnnlab sample RUN``: generate text from a trained character model."""

from __future__ import annotations

import click


@click.command("sample")
@click.argument("run", type=str)
@click.option("--length", type=int, default=1000, help="Characters to generate.  [1000]")
@click.option(
    "--temperature",
    type=float,
    default=1.0,
    help="Softmax temperature; 0 is greedy (always the likeliest character).  [1.0]",
)
@click.option("--prime", type=str, default="", help="Text the model reads first.  [a newline]")
@click.option("--top-k", type=int, default=None, help="Sample among the k likeliest only.  [all]")
@click.option("--seed", type=int, default=0, help="Random seed; the same seed gives the same text.")
@click.option(
    "--checkpoint",
    type=click.Choice(["best", "last"]),
    default="best",
    help="The lowest held-out loss (best.safetensors) or the latest checkpoint.  [best]",
)
@click.option(
    "--threads",
    type=int,
    default=None,
    help="Threads of the compiled LSTM loop (a divisor of the hidden size); the text does not "
    "depend on it.  [2 where two cores are free, else 1]",
)
def command(
    run: str,
    length: int,
    temperature: float,
    prime: str,
    top_k: int | None,
    seed: int,
    checkpoint: str,
    threads: int | None,
) -> None:
    """Print the prime and LENGTH characters generated after it by the text run RUN."""
    from ..text import load_text_run, sample
    from ..text.sampling import check_sampling

    if seed < 0:
        raise ValueError(f"seed: expected a non-negative int, got {seed}")
    tr = load_text_run(run, which=checkpoint)
    check_sampling(length, temperature, top_k, tr.vocab, prime)  # before any work
    text = sample(
        tr.model,
        tr.vocab,
        length=length,
        temperature=temperature,
        top_k=top_k,
        prime=prime,
        seed=seed,
        threads=threads,
    )
    click.echo(prime + text)
