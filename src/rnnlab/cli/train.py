"""``rnnlab train``: train a model on a task and write the run folder."""

from __future__ import annotations

import dataclasses
import sys

import click

from ..training import TrainConfig, config_from_dict, read_config, train, validate_config

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

# Options that map one-to-one onto TrainConfig fields (CLI name -> field name).
_FIELDS = {
    "task": "task",
    "model": "model",
    "hidden": "hidden",
    "layers": "layers",
    "length": "length",
    "nonlinearity": "nonlinearity",
    "optimizer": "optimizer",
    "lr": "lr",
    "schedule": "schedule",
    "clip": "clip",
    "clip_value": "clip_value",
    "tbptt": "tbptt",
    "omega": "omega",
    "init": "init",
    "radius": "radius",
    "forget_bias": "forget_bias",
    "input_bias": "input_bias",
    "batch": "batch",
    "steps": "steps",
    "max_sequences": "max_sequences",
    "time_budget": "time_budget",
    "eval_every": "eval_every",
    "eval_size": "eval_size",
    "screen_size": "screen_size",
    "seed": "seed",
    "dtype": "dtype",
    "out": "out",
    "epochs": "epochs",
    "patience": "patience",
}
_BUDGET = {"steps", "max_sequences", "time_budget", "out"}  # what --resume may change


@click.command("train")
@click.option(
    "--config",
    "config_file",
    type=str,
    default=None,
    help="TOML file of settings (command-line options override it).",
)
@click.option("--task", type=str, default=None, help="Task name (see `rnnlab tasks`).  [adding]")
@click.option(
    "--task-option",
    "task_options",
    multiple=True,
    metavar="KEY=VALUE",
    help="A task setting, e.g. symbols=3 for temporal order (repeatable; see `rnnlab tasks`).",
)
@click.option("--model", type=str, default=None, help="rnn | lstm | gru.  [lstm]")
@click.option("--hidden", type=int, default=None, help="Hidden units per layer.  [task default]")
@click.option("--layers", type=int, default=None, help="Stacked recurrent layers.  [1]")
@click.option("--length", type=int, default=None, help="Sequence length T.  [task default]")
@click.option("--nonlinearity", type=str, default=None, help="Vanilla RNN's phi.  [tanh]")
@click.option(
    "--optimizer",
    type=str,
    default=None,
    help="sgd | momentum | nesterov | adam | rmsprop | adagrad.  [adam]",
)
@click.option("--lr", type=float, default=None, help="Learning rate.  [task default]")
@click.option(
    "--schedule", type=str, default=None, help="constant | step | exponential | cosine.  [constant]"
)
@click.option(
    "--clip",
    type=float,
    default=None,
    help="Gradient-norm threshold (Pascanu et al. 2013, Alg. 1).  [1.0]",
)
@click.option("--no-clip", is_flag=True, default=False, help="Turn gradient-norm clipping off.")
@click.option(
    "--setup",
    type=click.Choice(["paper", "tuned"]),
    default=None,
    help="H&S 1997 settings: the paper's LSTM (no forget gate, SGD, batch 1, its learning rate "
    "and input-gate bias) or rnnlab's measured defaults; other options override it.  [tuned]",
)
@click.option(
    "--no-forget-gate", is_flag=True, default=False, help="The 1997 LSTM: no forget gate."
)
@click.option("--clip-value", type=float, default=None, help="Clip each gradient entry.  [off]")
@click.option(
    "--tbptt", type=int, default=None, help="Truncated BPTT chunk length l.  [off: full BPTT]"
)
@click.option(
    "--omega",
    type=float,
    default=None,
    help="Weight alpha of Pascanu et al.'s Omega regulariser on W_hh.  [off]",
)
@click.option(
    "--init",
    type=str,
    default=None,
    help="default | uniform | xavier | orthogonal | identity.  [default]",
)
@click.option("--radius", type=float, default=None, help="Spectral radius of W_hh blocks.")
@click.option(
    "--forget-bias", type=float, default=None, help="LSTM forget-gate bias.  [task default]"
)
@click.option(
    "--input-bias", type=float, default=None, help="LSTM input-gate bias.  [task default]"
)
@click.option("--batch", type=int, default=None, help="Sequences per update.  [task default]")
@click.option("--steps", type=int, default=None, help="Updates at most.  [no limit]")
@click.option(
    "--max-sequences",
    type=int,
    default=None,
    help="Training sequences at most.  [the paper's count]",
)
@click.option("--time-budget", type=float, default=None, help="Seconds at most.  [600]")
@click.option("--eval-every", type=int, default=None, help="Steps between evaluations.  [50]")
@click.option(
    "--eval-size",
    type=int,
    default=None,
    help="Fresh test sequences per evaluation.  [the task's test size]",
)
@click.option(
    "--screen-size",
    type=int,
    default=None,
    help="Quick check on this many test sequences before the full set.  [256]",
)
@click.option("--seed", type=int, default=None, help="Random seed.  [0]")
@click.option(
    "--dtype",
    type=str,
    default=None,
    help="float64 | float32.  [float32 for an LSTM on adding, temporal order and long lag "
    "(measured to solve as float64 does, in half the time) and for text; float64 otherwise]",
)
@click.option("--out", type=str, default=None, help="Run folder.  [runs/TASK-MODEL]")
@click.option("--resume", is_flag=True, default=False, help="Continue the run in --out.")
@click.option(
    "--force", is_flag=True, default=False, help="Overwrite the run files in an existing --out."
)
@click.option("--quiet", is_flag=True, default=False, help="No progress bar.")
@click.option(
    "--eval-thread/--no-eval-thread",
    default=None,
    help="Evaluate on a second thread while training goes on (the same run and files).  "
    "[on with two or more cores]",
)
@click.option(
    "--threads",
    type=click.IntRange(min=1),
    default=None,
    help="The most threads a training step may use (the same results with any number).  "
    "[all cores: a float32 LSTM step on 4-64 sequences runs on two]",
)
@click.option(
    "--text",
    "text_paths",
    multiple=True,
    metavar="PATH [PATH ...]",
    help="Train a character model on these files or folders (recursive), or 'stdlib' (this "
    "Python's standard library); --length is then the chunk length T.  [see README, Text]",
)
@click.argument("more_paths", nargs=-1, metavar="")
@click.option("--glob", type=str, default=None, help="Text: file-name pattern, e.g. '*.py'.")
@click.option(
    "--val-fraction", type=float, default=None, help="Text: held-out share, from the end. [0.05]"
)
@click.option(
    "--encoding-errors",
    type=click.Choice(["strict", "replace"]),
    default=None,
    help="Text: non-UTF-8 bytes are an error (exit 2), or become U+FFFD.  [strict]",
)
@click.option(
    "--reset-every",
    type=int,
    default=None,
    help="Text: every this many chunks a stream restarts from a zero state.  [20]",
)
@click.option("--epochs", type=int, default=None, help="Passes over the data at most.")
@click.option(
    "--patience",
    type=int,
    default=None,
    help="Stop after this many evaluations without a lower held-out loss.  [off]",
)
@click.pass_context
def command(
    ctx: click.Context,
    config_file,
    task_options,
    no_clip,
    resume,
    force,
    quiet,
    eval_thread,
    threads,
    **opts,
) -> None:
    """Train a model on a task; stop when the task's criterion is met or a budget runs out.

    Writes the run folder: config.toml, metrics.csv, model.safetensors, loss-curve.png.
    Ctrl-C (SIGINT) or SIGTERM finishes the current step, writes a consistent checkpoint and
    stops; --resume continues it bit for bit.

    \b
    Exit status: 0 solved (or finished / stopped early where there is nothing to solve),
    1 not solved within the budget, 2 bad input, 3 diverged, 130 / 143 interrupted by
    SIGINT / SIGTERM.
    """
    from ._text import TEXT_OPTIONS, run_text

    paths, more = list(opts.pop("text_paths")), list(opts.pop("more_paths"))
    if more and not paths:
        raise ValueError(f"text: unexpected argument(s) {' '.join(more)}; expected --text PATH")
    paths += more
    text_opts = {k: opts.pop(k) for k in TEXT_OPTIONS}
    setup, no_forget_gate = opts.pop("setup"), opts.pop("no_forget_gate")
    given = {_FIELDS[k]: v for k, v in opts.items() if v is not None}
    if no_forget_gate:
        given["forget_gate"] = False
    if no_clip:
        if "clip" in given:
            raise ValueError("clip: expected either --clip or --no-clip, got both")
        given["clip"] = None
    if resume and "out" in given and not paths:
        from ..text import is_text_run

        text_resume = is_text_run(given["out"])
    else:
        text_resume = False
    if paths or text_resume:
        if "task" in given or task_options:
            raise ValueError("text: expected either --text or --task, got both")
        return run_text(
            ctx,
            given,
            paths,
            text_opts,
            config_file=config_file,
            resume=resume,
            force=force,
            quiet=quiet,
            background=eval_thread,
            threads=threads,
        )
    if any(v is not None for v in text_opts.values()):
        raise ValueError(f"text: --{'/--'.join(TEXT_OPTIONS).replace('_', '-')} need --text")
    if resume:
        if "out" not in given:
            raise ValueError("out: --resume needs --out DIR, the run folder to continue")
        extra = sorted(set(given) - _BUDGET) + (["--task-option"] if task_options else [])
        if extra or config_file:
            raise ValueError(
                "resume: a resumed run keeps its saved settings; only --steps, --max-sequences "
                f"and --time-budget may change, got {', '.join(extra or ['--config'])}"
            )
        cfg = TrainConfig(**{"time_budget": None, **given})  # None: keep the saved budget
    else:
        base = read_config(config_file) if config_file else TrainConfig()
        if task_options:
            given["task_kwargs"] = {**base.task_kwargs, **parse_task_options(task_options)}
        if setup is not None:  # the setting's values first; options given here override them
            from ..sweep.papers import setup_config

            merged = {**_as_dict(base), **given}
            kw = {**merged["task_kwargs"], "length": merged["length"] or 100}
            given = {**setup_config(str(merged["task"]), kw, setup), **given}
        cfg = config_from_dict({**_as_dict(base), **given})
        if cfg.out is None:
            cfg = dataclasses.replace(cfg, out=f"runs/{cfg.task}-{cfg.model}")
        validate_config(cfg)
    run = train(
        cfg,
        progress=not quiet,
        resume=resume,
        force=force,
        log=click.echo,
        background_eval=eval_thread,
        threads=threads,
    )
    if run.out is not None:
        click.echo(f"run folder: {run.out}")
    ctx.exit(run.exit_code)


def parse_task_options(items: tuple[str, ...]) -> dict:
    """``("symbols=3", ...)`` -> ``{"symbols": 3}``; values are read as TOML values (a bare word
    is a string)."""
    out = {}
    for item in items:
        key, sep, text = item.partition("=")
        key = key.strip()
        if not sep or not key.isidentifier():
            raise ValueError(f"task-option: expected KEY=VALUE, got {item!r}")
        try:
            out[key] = tomllib.loads(f"v = {text.strip()}")["v"]
        except tomllib.TOMLDecodeError:
            out[key] = text.strip()
    return out


def _as_dict(c: TrainConfig) -> dict:
    return {f.name: getattr(c, f.name) for f in dataclasses.fields(c)}
