"""``jido cluster REDIS_URL``: the live nodes of a cluster, and the agents each holds leases on, from Redis.

Also runs on its own: ``python -m jido.cli.cluster REDIS_URL [--namespace NS] [--agents]``.
"""

from __future__ import annotations

from functools import partial
from typing import TYPE_CHECKING

import click
from rich.table import Table

from jido._urls import redact_url

from ._trio import run_command
from .config import check_cluster_url
from .errors import EXIT_FAILURE, EXIT_USAGE, CliError, one_line
from .render import make_console

if TYPE_CHECKING:  # the redis extra: imported when the command runs, so that ``jido`` works without it
    from jido.cluster.view import ClusterView

__all__ = ["cluster", "cluster_tables", "main", "print_view", "read_view"]


def cluster_tables(view: ClusterView, *, agents: bool) -> list[Table]:
    """A table of the nodes; with ``agents``, one more of every lease (agent, node, token, time left)."""
    nodes = Table(title=f"nodes of cluster {view.namespace!r}", title_justify="left")
    for column in ("node", "joined at", "leases", "inbox"):
        nodes.add_column(column, justify="right" if column in ("leases", "inbox") else "left")
    for node in view.nodes:
        nodes.add_row(node.node_id, node.joined_at or "-", str(len(node.leases)), str(node.inbox))
    tables = [nodes]
    if agents:
        leases = Table(title="leases", title_justify="left")
        for column in ("agent", "node", "token", "expires in"):
            leases.add_column(column, justify="right" if column in ("token", "expires in") else "left")
        for node in view.nodes:
            for lease in node.leases:
                leases.add_row(lease.agent_id, node.node_id, str(lease.token), f"{lease.expires_in:.1f}s")
        tables.append(leases)
    return tables


async def read_view(url: str, namespace: str) -> ClusterView:
    """The cluster on ``url`` as Redis has it; a CliError (one line) when it cannot be read."""
    try:
        from jido._redis import RedisUnavailableError
        from jido.cluster.node import open_cluster_redis
        from jido.cluster.view import read_cluster
    except ImportError as exc:
        raise CliError(str(exc), EXIT_USAGE) from None
    try:
        async with open_cluster_redis(url) as client:
            return await read_cluster(client, namespace=namespace, url=url)
    except RedisUnavailableError as exc:
        raise CliError(f"cannot read the cluster: {one_line(exc)}", EXIT_FAILURE) from None
    except ValueError as exc:  # the URL (check_cluster_url let few such through)
        raise CliError(one_line(exc), EXIT_USAGE) from None


def print_view(view: ClusterView, url: str, *, agents: bool) -> None:
    """The tables of :func:`cluster_tables`, or a line saying no node is live, and the nodes gone."""
    console = make_console()
    if not view.nodes:
        console.print(f"no live node in cluster {view.namespace!r} on {redact_url(url)}")
    else:
        for table in cluster_tables(view, agents=agents):
            console.print(table)
    if view.gone:
        console.print(f"gone, their work not taken over yet: {', '.join(view.gone)}")


async def _show(url: str, namespace: str, agents: bool) -> None:
    print_view(await read_view(url, namespace), url, agents=agents)


@click.command(short_help="Show a cluster's nodes and leases (from its Redis).")
@click.argument("url", metavar="REDIS_URL")
@click.option("--namespace", default="jido", show_default=True, help="The cluster's key namespace.")
@click.option("--agents", is_flag=True, help="List every lease: agent, node, fencing token, time left.")
def cluster(url: str, namespace: str, agents: bool) -> None:
    """Show the live nodes of the cluster on REDIS_URL, how many agents each holds, and their inboxes.

    Reads Redis directly: no node or gateway is needed.
    """
    problem = check_cluster_url(url)
    if problem is not None:
        raise CliError(problem, EXIT_USAGE)
    run_command(partial(_show, url, namespace, agents))


def main(argv: list[str] | None = None) -> None:
    """``python -m jido.cli.cluster REDIS_URL``: the command on its own, failing as the ``jido`` command does
    (one ``Error:`` line and its exit code)."""
    try:
        cluster.main(argv, prog_name="python -m jido.cli.cluster", standalone_mode=False)
    except click.ClickException as exc:
        exc.show()
        raise SystemExit(exc.exit_code) from None
    except CliError as exc:
        click.echo(f"Error: {exc.message}", err=True)
        raise SystemExit(exc.exit_code) from None


if __name__ == "__main__":
    main()
