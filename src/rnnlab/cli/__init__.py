"""The ``rnnlab`` command.

Each sub-command lives in its own module of this package and only parses arguments and calls
library functions. Errors the library raises for bad input (``ValueError``/``TypeError``) and
missing files become one readable line on stderr and exit status 2, never a traceback.
"""

from __future__ import annotations

import gc
import importlib
import sys

import click

# Sub-command modules; each defines a click command named ``command``.
_COMMANDS = (
    "tour",
    "tasks",
    "train",
    "evaluate",
    "demo",
    "bench",
    "diagnose",
    "forecast",
    "sweep",
    "reproduce",
    "sample",
    "inspect",
)


class _LazyGroup(click.Group):
    """A group that imports a sub-command's module only when that command runs (or the
    group's help lists them all): ``rnnlab train`` then loads neither the forecasting models
    nor the sweep's cluster code, and a process that imported less also exits sooner."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(_COMMANDS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name not in _COMMANDS:
            return None
        return importlib.import_module(f"rnnlab.cli.{cmd_name}").command


@click.group(cls=_LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="rnnlab")
def cli() -> None:
    """rnnlab: recurrent networks with hand-written, verified backpropagation through time."""


def main(argv: list[str] | None = None) -> int:
    """Run the command line; return the exit status (0 ok, 2 bad input; a command may say more,
    e.g. ``rnnlab train``'s verdicts)."""
    try:
        code = cli.main(args=argv, prog_name="rnnlab", standalone_mode=False)
    except click.exceptions.Abort:
        click.echo("rnnlab: aborted", err=True)
        return 1
    except click.ClickException as exc:  # usage errors: unknown option, bad choice, ...
        click.echo(f"rnnlab: error: {exc.format_message()}", err=True)
        return exc.exit_code
    except (ValueError, TypeError, OSError) as exc:  # OSError: a path that cannot be written
        click.echo(f"rnnlab: error: {exc}", err=True)
        return 2
    except MemoryError:
        click.echo("rnnlab: error: not enough memory for these sizes", err=True)
        return 2
    except KeyboardInterrupt:
        click.echo("rnnlab: interrupted", err=True)
        return 130
    return code if isinstance(code, int) else 0


def console() -> None:
    """The ``rnnlab`` console script: :func:`main` on ``sys.argv``, then exit with its status."""
    code = main()
    # The process ends here. Without this, interpreter shutdown runs the cyclic collector
    # over every object the imports made (Numba's, matplotlib's): 0.20 s after a short
    # adding run, 0.04 s with them frozen (benchmarks/NOTES.md). Nothing is left to write:
    # each command has closed its files, and the run folder's writer thread has finished.
    gc.freeze()
    sys.exit(code)


if __name__ == "__main__":  # pragma: no cover
    console()
