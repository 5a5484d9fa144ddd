"""The ``--text`` side of ``rnnlab train``: a character model on files, folders or the stdlib."""

from __future__ import annotations

import dataclasses
import math
from pathlib import Path
from typing import Any

import click

from ..training import config_from_dict, read_config

TEXT_OPTIONS = ("glob", "val_fraction", "encoding_errors", "reset_every")


def default_out(paths: list[str], model: str) -> str:
    """``runs/text-NAME-MODEL``, NAME from the first path (``stdlib`` for the standard library)."""
    name = Path(paths[0]).stem or Path(paths[0]).resolve().name or "corpus"
    return f"runs/text-{name}-{model}"


def run_text(
    ctx: click.Context,
    given: dict[str, Any],
    paths: list[str],
    text_opts: dict[str, Any],
    *,
    config_file: str | None,
    resume: bool,
    force: bool,
    quiet: bool,
    background: bool | None = None,
    threads: int | None = None,
) -> None:
    """Build the :class:`rnnlab.text.TextSource` and train on it (or resume a text run)."""
    from ..text import TextSource, text_config, train_text

    how = dict(
        progress=not quiet, force=force, log=click.echo, background_eval=background, threads=threads
    )
    if resume:
        extra = sorted(
            [k for k in given if k not in ("steps", "max_sequences", "time_budget", "out")]
            + [k for k, v in text_opts.items() if v is not None]
            + (["text"] if paths else [])
        )
        if extra or config_file:
            raise ValueError(
                "resume: a resumed run keeps its saved settings; only --steps, --max-sequences "
                f"and --time-budget may change, got {', '.join(extra or ['--config'])}"
            )
        cfg = dataclasses.replace(text_config(), **given)
        run = train_text(cfg, None, resume=True, **how)
    else:
        seq_length = given.pop("length", None)
        base = read_config(config_file) if config_file else text_config()
        cfg = config_from_dict({**_as_dict(base), **given})
        kw = {k: v for k, v in text_opts.items() if v is not None}
        if seq_length is not None:
            kw["seq_length"] = seq_length
        source = TextSource(paths, **kw)  # reads and checks the corpus; writes nothing
        if cfg.out is None:
            cfg = dataclasses.replace(cfg, out=default_out(paths, cfg.model))
        run = train_text(cfg, source, **how)
    if run.test_loss is not None:
        n = run.config.eval_size
        click.echo(
            f"held-out: {run.test_loss:.4f} nats/char, {run.test_loss / math.log(2):.4f} bits/char"
            + (f" (its first {n:,} characters)" if n else "")
        )
    if run.out is not None:
        click.echo(f"run folder: {run.out}")
    ctx.exit(getattr(run, "exit_code", 1 if run.status == "diverged" else 0))


def _as_dict(c: Any) -> dict:
    return {f.name: getattr(c, f.name) for f in dataclasses.fields(c)}
