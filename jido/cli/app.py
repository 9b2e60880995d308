"""``jido run`` and ``jido serve``: a runtime with agents, supervisors or sensors, behind the gateway."""

from __future__ import annotations

import os
import pathlib
import socket
from collections.abc import Callable, Mapping, Sequence
from contextlib import AsyncExitStack
from functools import partial
from typing import TYPE_CHECKING, Any

import attrs
import click
import trio

import jido
from jido._urls import redact_url
from jido.bus.sqlite import open_sqlite_journal
from jido.errors import JidoError, SupervisionError, ValidationError
from jido.gateway import Gateway, TokenPolicy, serve_gateway
from jido.store import SQLiteStateStore

from ._trio import run_command
from .config import (
    ClusterConfig,
    DashboardConfig,
    JournalConfig,
    ServeConfig,
    StoreConfig,
    check_cluster_url,
    is_loopback,
    load_serve_config,
)
from .errors import EXIT_FAILURE, EXIT_USAGE, CliError, one_line, single_error
from .loading import Target, load_target
from .logs import log_level_option

if TYPE_CHECKING:  # the cluster needs the redis extra; only --cluster imports it
    from jido.cluster.runtime import ClusterRuntime

__all__ = ["run", "serve"]

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8765


def _say(message: str) -> None:
    click.echo(f"jido: {message}")


async def _start(
    rt: jido.Runtime,
    target: Target,
    agent_id: str | None,
    *,
    listen: bool = True,
    cluster: ClusterRuntime | None = None,
) -> None:
    try:
        if target.kind == "agent":
            name = agent_id if agent_id is not None else target.name
            # In a cluster, an agent started here holds its lease here: it stays on this node.
            ref = await (cluster.start_agent if cluster is not None else rt.start_agent)(target.obj, id=name)
            _say(f"started agent {target.name!r} as {ref.id!r} from {target.ref}")
            if listen and not ref.spec.subscriptions:
                # `jido send` publishes: an agent run from the command line hears what its routes accept
                # (an agent that declares subscribe=[...] has chosen what it hears).
                await rt.subscribe_agent(ref, "**", routed_only=True)
                _say(f"agent {ref.id!r} receives the published signals its routes accept")
        elif target.kind == "supervisor":
            await rt.start_supervisor(target.obj)
            _say(f"started supervisor {target.name!r} from {target.ref}")
        else:
            await rt.start_sensor(target.obj)
            _say(f"started sensor {target.name!r} from {target.ref}")
    except (JidoError, ValueError) as exc:
        raise CliError(f"cannot start {target.ref}: {one_line(exc)}", EXIT_FAILURE) from None


async def _serve_dashboard(
    nursery: trio.Nursery,
    rt: jido.Runtime,
    gateway: Gateway,
    gateway_port: int,
    dashboard: DashboardConfig,
    tokens: Mapping[str, TokenPolicy] | None,
    admins: frozenset[str],
) -> None:
    try:
        # jido[ops] is an optional extra: without it the runtime serves on, without a dashboard.
        from jido.ops import OpsToken, serve_ops
    except ImportError as exc:
        _say(f"dashboard off: {exc.name} is not installed (pip install 'jido[ops]')")
        return
    ops_tokens = (
        {token: OpsToken(admin=token in admins, name=policy.name) for token, policy in tokens.items()}
        if tokens
        else None
    )
    port = dashboard.port_for(gateway_port)
    try:
        server = await nursery.start(
            partial(serve_ops, rt, dashboard.host, port, tokens=ops_tokens, gateway=gateway)
        )
    except (OSError, BaseExceptionGroup) as exc:
        error = single_error(exc)
        if not isinstance(error, OSError):
            raise
        raise CliError(
            f"cannot listen on {dashboard.host}:{port} for the dashboard: {error.strerror or error} "
            "(--dashboard-port, or --no-dashboard)"
        ) from None
    _say(f"dashboard on {server.url}")


def _resolver(cluster: ClusterConfig) -> Callable[[str], object]:
    """The ``[cluster] resolve`` function, or one that runs only the agents this node starts."""
    if cluster.resolve is not None:
        from jido.cluster.serve import load  # the redis extra, needed by --cluster only

        target = cluster.resolve
        try:
            function = load(target)
        except ValueError as exc:
            raise CliError(f"[cluster] resolve: {exc}", EXIT_USAGE) from None
        if not callable(function):
            raise CliError(f"[cluster] resolve: {target!r} is not a function", EXIT_USAGE)
        return function  # type: ignore[no-any-return]

    def started_only(agent_id: str) -> object:
        raise ValueError(f"agent {agent_id!r} is not running on this node, and no [cluster] resolve is set")

    return started_only


async def _open_cluster(stack: AsyncExitStack, cluster: ClusterConfig) -> ClusterRuntime:
    assert cluster.redis is not None  # checked by serve()
    try:  # the redis extra: needed by --cluster only, so imported here
        from jido._redis import RedisUnavailableError
        from jido.cluster.runtime import open_cluster_runtime
    except ImportError as exc:
        raise CliError(f"--cluster: {exc}", EXIT_USAGE) from None
    node_id = cluster.node or f"{socket.gethostname()}-{os.getpid()}"
    try:
        node = await stack.enter_async_context(
            open_cluster_runtime(
                cluster.redis,
                node_id=node_id,
                resolve=_resolver(cluster),  # type: ignore[arg-type]
                namespace=cluster.namespace,
                node_ttl=cluster.node_ttl,
                lease_ttl=cluster.lease_ttl,
            )
        )
    except RedisUnavailableError as exc:
        raise CliError(f"cannot join the cluster: {one_line(exc)}", EXIT_FAILURE) from None
    live = ", ".join(node.live_nodes())
    _say(
        f"cluster: node {node_id!r} on {redact_url(cluster.redis)} (namespace {cluster.namespace!r}); "
        f"live nodes: {live}"
    )
    return node


async def _serve(
    targets: Sequence[Target],
    *,
    host: str,
    port: int,
    tokens: Mapping[str, TokenPolicy] | None,
    journal: JournalConfig | None = None,
    state: StoreConfig | None = None,
    agent_id: str | None = None,
    dashboard: DashboardConfig | None = None,
    gateway_options: Mapping[str, Any] | None = None,  # [gateway]: serve_gateway keyword arguments
    admins: frozenset[str] = frozenset(),
    listen: bool = True,
    cluster: ClusterConfig | None = None,
) -> None:
    """Open the runtime, start the targets, serve the gateway until cancelled (Ctrl-C)."""
    serving = False
    try:
        async with AsyncExitStack() as stack:
            node: ClusterRuntime | None = None
            if cluster is not None:
                node = await _open_cluster(stack, cluster)
            store = None
            if journal is not None:
                try:
                    store = await stack.enter_async_context(
                        open_sqlite_journal(journal.sqlite, synchronous=journal.synchronous)
                    )
                except JidoError as exc:
                    raise CliError(f"cannot open journal: {one_line(exc)}", EXIT_FAILURE) from None
                _say(f"journal: {journal.sqlite}")
            states = None
            if state is not None:
                states = SQLiteStateStore(state.sqlite, synchronous=state.synchronous)
                _say(f"agent state: {state.sqlite}")
            if node is not None:
                rt = node.runtime
            else:
                # Sleepers an earlier run left with timers are woken once their class is known: the agents
                # started just below make theirs known (start_agent), so open_runtime needs no agents= here.
                rt = await stack.enter_async_context(jido.open_runtime(journal=store, store=states))
            for target in targets:
                await _start(rt, target, agent_id, listen=listen, cluster=node)
            async with trio.open_nursery() as nursery:
                try:
                    gateway = await nursery.start(
                        partial(serve_gateway, rt, host, port, tokens=tokens, **(gateway_options or {}))
                    )
                except ValueError as exc:  # [gateway] limits that do not fit together
                    raise CliError(f"[gateway]: {exc}", EXIT_USAGE) from None
                except (OSError, BaseExceptionGroup) as exc:
                    # serve_gateway's own nursery may wrap the OSError of a port already taken.
                    error = single_error(exc)
                    if not isinstance(error, OSError):
                        raise
                    raise CliError(f"cannot listen on {host}:{port}: {error.strerror or error}") from None
                auth = f"{len(tokens)} token(s)" if tokens else "no auth, loopback only"
                _say(f"gateway listening on {gateway.url} ({auth})")
                serving = True
                if dashboard is not None and dashboard.enabled:
                    await _serve_dashboard(nursery, rt, gateway, port, dashboard, tokens, admins)
                _say("press Ctrl-C to stop")
                await trio.sleep_forever()
    except SupervisionError as exc:
        raise CliError(f"runtime failed: {one_line(exc)}", EXIT_FAILURE) from None
    finally:
        if serving:  # after the runtime's shutdown: every agent has stopped
            _say("stopped")


@click.command(short_help="Run an agent, supervisor or sensor.")
@click.argument("target", metavar="MODULE:OBJECT")
@click.option("--host", default=DEFAULT_HOST, show_default=True, help="Address the gateway listens on.")
@click.option(
    "--port", default=DEFAULT_PORT, show_default=True, type=click.IntRange(0, 65535), help="0: a free port."
)
@click.option(
    "--token",
    envvar="JIDO_TOKEN",
    default=None,
    help="Bearer token clients must present (env JIDO_TOKEN); required off loopback.",
)
@click.option("--id", "agent_id", default=None, help="Id of the agent (default: its name). Agents only.")
@click.option(
    "--dashboard/--no-dashboard",
    default=True,
    show_default=True,
    help="Serve the dashboard, /metrics, /healthz and /readyz (needs jido[ops]).",
)
@click.option(
    "--dashboard-host", default=DEFAULT_HOST, show_default=True, help="Address the dashboard listens on."
)
@click.option(
    "--dashboard-port",
    type=click.IntRange(0, 65535),
    default=None,
    help="Port of the dashboard (default: the gateway's port + 1; 0: a free port).",
)
@click.option(
    "--subscribe/--no-subscribe",
    "listen",
    default=True,
    show_default=True,
    help="Deliver published signals (jido send) that the agent's routes accept to it, unless it declares "
    "subscribe=[...] itself.",
)
@log_level_option
def run(
    target: str,
    host: str,
    port: int,
    token: str | None,
    agent_id: str | None,
    dashboard: bool,
    dashboard_host: str,
    dashboard_port: int | None,
    listen: bool,
) -> None:
    """Run an agent, supervisor or sensor with the gateway, until Ctrl-C.

    MODULE:OBJECT names an @agent class or AgentSpec, a @supervisor class or a @sensor class, such as
    myapp.agents:Counter (the current folder is importable).
    """
    problems: list[str] = []  # all of them at once, not one per run
    loaded: Target | None = None
    try:
        loaded = load_target(target)
    except CliError as exc:
        problems.append(exc.message)
    if agent_id is not None and loaded is not None and loaded.kind != "agent":
        problems.append(f"--id applies to an agent, and {target!r} is a {loaded.kind}")
    if not token and not is_loopback(host):
        problems.append(f"--token is required when --host is not a loopback address (got {host!r})")
    if dashboard and not token and not is_loopback(dashboard_host):
        problems.append(
            f"--token is required when --dashboard-host is not a loopback address (got {dashboard_host!r})"
        )
    if problems or loaded is None:
        raise CliError("; ".join(problems), EXIT_USAGE)
    tokens = {token: TokenPolicy()} if token else None
    # The one token of `jido run` is its operator's: it may change things from the dashboard too.
    board = DashboardConfig(enabled=dashboard, host=dashboard_host, port=dashboard_port)
    run_command(
        partial(
            _serve,
            [loaded],
            host=host,
            port=port,
            tokens=tokens,
            agent_id=agent_id,
            dashboard=board,
            admins=frozenset(tokens or ()),
            listen=listen,
        ),
        until_interrupted=True,
    )


def _policies(config: ServeConfig) -> dict[str, TokenPolicy] | None:
    if not config.tokens:
        return None
    policies: dict[str, TokenPolicy] = {}
    for entry in config.tokens:
        assert entry.token is not None  # resolved by parse_config
        policies[entry.token] = TokenPolicy(
            subscribe=tuple(entry.subscribe), publish=tuple(entry.publish), call=entry.call, name=entry.name
        )
    return policies


@click.command(short_help="Serve a runtime described by a config file.")
@click.option(
    "--config",
    "config_path",
    default="jido.toml",
    show_default=True,
    type=click.Path(dir_okay=False, path_type=pathlib.Path),
    help="TOML file: host, port, tokens, start, journal, store, dashboard (see docs/cli.md).",
)
@click.option(
    "--cluster",
    "cluster_url",
    default=None,
    metavar="REDIS_URL",
    help="Join the cluster on this Redis as one of its nodes (the [cluster] table's redis; see docs/scaling.md).",
)
@log_level_option
def serve(config_path: pathlib.Path, cluster_url: str | None) -> None:
    """Serve the gateway over a runtime described by a config file, until Ctrl-C."""
    if cluster_url is not None and (problem := check_cluster_url(cluster_url)):
        raise CliError(f"--cluster: {problem}", EXIT_USAGE)
    try:
        config, targets = load_serve_config(config_path)
    except FileNotFoundError:
        raise CliError(f"config file {str(config_path)!r} not found", EXIT_USAGE) from None
    except OSError as exc:
        raise CliError(f"cannot read config file {str(config_path)!r}: {exc.strerror}", EXIT_USAGE) from None
    except UnicodeDecodeError as exc:
        raise CliError(
            f"{config_path}: not UTF-8 text ({exc.reason} at byte {exc.start})", EXIT_USAGE
        ) from None
    except ValidationError as exc:
        raise CliError(f"{config_path}: {one_line(exc)}", EXIT_USAGE) from None
    cluster = config.cluster
    if cluster_url is not None:
        if config.journal is not None or config.store is not None:
            raise CliError(
                f"--cluster: a cluster keeps its journal and agent state in Redis: remove [journal] and "
                f"[store] from {config_path}",
                EXIT_USAGE,
            )
        cluster = (
            ClusterConfig(redis=cluster_url) if cluster is None else attrs.evolve(cluster, redis=cluster_url)
        )
    elif cluster is not None and cluster.redis is None:
        raise CliError(
            f"{config_path}: $.cluster.redis: required (or give jido serve --cluster REDIS_URL)", EXIT_USAGE
        )
    run_command(
        partial(
            _serve,
            targets,
            host=config.host,
            port=config.port,
            tokens=_policies(config),
            journal=config.journal,
            state=config.store,
            dashboard=config.dashboard,
            gateway_options=config.gateway.options(),
            admins=frozenset(entry.token for entry in config.tokens if entry.admin and entry.token),
            listen=config.subscribe_routes,
            cluster=cluster,
        ),
        until_interrupted=True,
    )
