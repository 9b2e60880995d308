"""``jido routes``: an agent's route table in the order its router matches."""

from __future__ import annotations

import click

from .loading import load_agent
from .render import make_console, route_table

__all__ = ["routes"]


@click.command(short_help="Print an agent's routes in match order.")
@click.argument("target", metavar="MODULE:AGENT")
def routes(target: str) -> None:
    """Print the route table of an agent in match order: priority, then specificity, then registration.

    MODULE:AGENT names an @agent class or AgentSpec, such as myapp.agents:Counter. No gateway is needed.
    """
    spec = load_agent(target)
    console = make_console()
    if not spec.routes:
        console.print(f"agent {spec.name!r} has no routes")
        return
    console.print(route_table(spec))
