"""The ``jido`` command: run agents behind the gateway, talk to a running gateway, inspect routes, the demo.

Commands: ``init``, ``run``, ``serve``, ``send``, ``tail``, ``call``, ``inspect``, ``restart``, ``routes``, ``demo``,
``dead-letters``, ``tree``, ``cluster``; see
``docs/cli.md`` and ``jido COMMAND --help``. A failure is one line on stderr and an exit code (see
:mod:`jido.cli.errors`): 1 runtime failure, 2 usage, 3 cannot connect, 4 rejected, 5 not found.
"""

from __future__ import annotations

import click

import jido

from .app import run, serve
from .cluster import cluster
from .dead_letters import dead_letters, tree
from .demo import demo
from .errors import JidoGroup
from .init import init
from .remote import call, inspect, restart, send, tail
from .routes import routes

__all__ = ["cli", "main"]


@click.group(cls=JidoGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(jido.__version__, prog_name="jido")
def cli() -> None:
    """jido: run reliable multi-agent systems, and watch and drive them from a terminal."""


for _command in (
    init,
    run,
    serve,
    send,
    tail,
    call,
    inspect,
    restart,
    routes,
    demo,
    dead_letters,
    tree,
    cluster,
):
    cli.add_command(_command)


def main() -> None:
    """The ``jido`` console script."""
    cli(prog_name="jido")
