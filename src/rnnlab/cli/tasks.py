"""``rnnlab tasks``: list the tasks with their source and solved criterion."""

from __future__ import annotations

import textwrap

import click

from ..tasks import TASKS, get_task


@click.command("tasks")
def command() -> None:
    """List every task: name, source, loss and its "solved" criterion."""
    rows = []
    for name in TASKS:
        d = get_task(name).describe()
        rows.append((d["name"], d["source"], d["criterion"]))
    w0 = max(len(r[0]) for r in rows)
    click.echo(f"{'task':<{w0}}  source / solved criterion")
    click.echo(f"{'-' * w0}  {'-' * 60}")
    for name, source, criterion in rows:
        click.echo(f"{name:<{w0}}  {source}")
        for line in textwrap.wrap(f"solved: {criterion}", 96 - w0):
            click.echo(f"{'':<{w0}}    {line}")
