"""``rnnlab diagnose``: gradient flow, Jacobians, spectrum and memory of a run or a fresh model."""

from __future__ import annotations

import click
import numpy as np

from ..reports import SECTIONS, diagnose, fresh_layer

_FRESH = ("model", "nonlinearity", "init", "radius", "hidden", "forget_bias", "input_size")


@click.command("diagnose")
@click.argument("run_dir", required=False, type=str)
@click.option("--model", type=str, default=None, help="Fresh model: rnn | lstm | gru.  [rnn]")
@click.option("--nonlinearity", type=str, default=None, help="Vanilla RNN's phi.  [tanh]")
@click.option(
    "--init",
    type=str,
    default=None,
    help="default | uniform | xavier | orthogonal | identity.  [orthogonal]",
)
@click.option("--radius", type=float, default=None, help="Spectral radius of each W_hh block.")
@click.option("--hidden", type=int, default=None, help="Hidden units.  [64]")
@click.option("--input-size", type=int, default=None, help="Input features.  [1]")
@click.option("--forget-bias", type=float, default=None, help="LSTM forget-gate bias.")
@click.option("--length", type=int, default=100, show_default=True, help="Sequence length T.")
@click.option("--batch", type=int, default=4, show_default=True, help="Sequences.")
@click.option("--seed", type=int, default=0, show_default=True, help="Random seed.")
@click.option(
    "--max-points", type=int, default=200, show_default=True, help="Lags with a spectral norm."
)
@click.option(
    "--sections",
    type=str,
    default=",".join(SECTIONS),
    show_default=True,
    help="Comma-separated parts to compute.",
)
@click.option(
    "--out", type=str, default=None, help="Output folder.  [RUN_DIR/diagnostics or ./diagnostics]"
)
def command(run_dir, length, batch, seed, max_points, sections, out, **fresh) -> None:
    """Measure vanishing/exploding gradients of RUN_DIR, or of a fresh model from the options.

    Writes PNG figures, diagnostics.json and report.md to --out.
    """
    parts = tuple(s.strip() for s in sections.split(",") if s.strip())
    if isinstance(seed, int) and seed < 0:
        raise ValueError(f"seed: expected a non-negative int, got {seed}")
    # independent streams for the initial weights and for the inputs
    weights_rng, data_rng = (
        np.random.default_rng(s) for s in np.random.SeedSequence(seed).spawn(2)
    )
    given = [k for k in _FRESH if fresh[k] is not None]
    if run_dir is not None:
        if given:
            names = ", ".join("--" + k.replace("_", "-") for k in given)
            raise ValueError(f"RUN_DIR: a run's model is fixed by its config; drop {names}")
        subject = run_dir
        out = out if out is not None else f"{run_dir.rstrip('/')}/diagnostics"
    else:
        subject = fresh_layer(
            model=fresh["model"] or "rnn",
            nonlinearity=fresh["nonlinearity"] or "tanh",
            init=fresh["init"] or "orthogonal",
            radius=fresh["radius"],
            hidden=fresh["hidden"] if fresh["hidden"] is not None else 64,
            input_size=fresh["input_size"] if fresh["input_size"] is not None else 1,
            forget_bias=fresh["forget_bias"],
            rng=weights_rng,
        )
        out = out if out is not None else "diagnostics"
    res = diagnose(
        subject,
        out,
        length=length,
        batch=batch,
        rng=data_rng,
        sections=parts,
        max_points=max_points,
    )
    j = res.get("jacobian")
    if j is not None:
        for name, verdict in j["verdict"].items():
            rate = j["growth_rate"][name]
            click.echo(f"d{name}_t/d{name}_k: x{rate:.4g} per step back -> {verdict}")
        if j["bound_verdict"] is not None:
            click.echo(f"gamma*||W_hh||_2 = {j['gamma_sigma']:.4g} -> {j['bound_verdict']}")
    click.echo(f"wrote {len(res['figures'])} figures, diagnostics.json and report.md to {out}")
