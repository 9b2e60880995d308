"""``jido send``, ``tail``, ``call`` and ``inspect``: talk to a running gateway through its client."""

from __future__ import annotations

import json
import urllib.parse
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any, Final, TypeVar

import attrs
import click
import trio

import jido
from jido.errors import SignalError, ValidationError
from jido.gateway import GatewayClient, GatewayError, connect
from jido.gateway.protocol import MAX_CALL_TIMEOUT
from jido.signal.pattern import parse_pattern
from jido.signal.serialization import loads

from ._trio import run_command
from .cluster import print_view, read_view
from .config import check_cluster_url
from .errors import (
    EXIT_CONNECT,
    EXIT_FAILURE,
    EXIT_NOT_FOUND,
    EXIT_REJECTED,
    EXIT_USAGE,
    CliError,
    one_line,
    single_error,
)
from .render import inspect_tables, make_console, signal_line

__all__ = ["call", "inspect", "send", "tail"]

F = TypeVar("F", bound=Callable[..., Any])
R = TypeVar("R")

DEFAULT_URL: Final = "ws://127.0.0.1:8765/"
DEFAULT_SOURCE: Final = "/cli"
DEFAULT_TIMEOUT: Final = 5.0
"""Seconds a ``send``, ``call`` or ``inspect`` may take in all: connect, request, answer and close."""
# The share of what is left of --timeout that `jido call` keeps back from the agent: the gateway's own
# "timeout" answer (which says the agent was too slow) then comes back before the command gives up on the
# gateway, whose silence means something else (a server that stopped, a network that broke).
ANSWER_SHARE: Final = 0.2

_CODE_EXIT: Final = {
    "unavailable": EXIT_CONNECT,
    "connection_lost": EXIT_CONNECT,
    "unauthorized": EXIT_REJECTED,
    "forbidden": EXIT_REJECTED,
    "not_found": EXIT_NOT_FOUND,
    "invalid_signal": EXIT_USAGE,
}


def _check_url(ctx: click.Context, param: click.Parameter, value: str) -> str:
    try:
        parts = urllib.parse.urlsplit(value)
        parts.port  # noqa: B018  # reading it checks it
    except ValueError as exc:
        raise click.BadParameter(f"{value!r}: {exc}") from None
    if parts.scheme not in ("ws", "wss") or not parts.hostname:
        raise click.BadParameter(f"expected ws://HOST:PORT/ or wss://..., got {value!r}")
    return value


def _check_agent(ctx: click.Context, param: click.Parameter, value: str) -> str:
    if not value:
        raise click.BadParameter("an agent id must not be empty")
    return value


def _check_token(ctx: click.Context, param: click.Parameter, value: str | None) -> str | None:
    if value is None:
        return None
    if not value or any(c.isspace() or not c.isprintable() for c in value):
        # It travels in an HTTP header: say so here rather than fail deep in the handshake.
        raise click.BadParameter("a token must be non-empty, without whitespace or control characters")
    return value


def _check_timeout(ctx: click.Context, param: click.Parameter, value: float) -> float:
    if value != value:  # NaN passes FloatRange's comparisons
        raise click.BadParameter("must be a number of seconds, not NaN")
    return value


def remote_options(fn: F) -> F:
    """``--url`` and ``--token`` (environment ``JIDO_URL`` and ``JIDO_TOKEN``)."""
    fn = click.option(
        "--token",
        envvar="JIDO_TOKEN",
        default=None,
        callback=_check_token,
        help="Bearer token for the gateway (env JIDO_TOKEN).",
    )(fn)
    return click.option(
        "--url",
        envvar="JIDO_URL",
        default=DEFAULT_URL,
        show_default=True,
        callback=_check_url,
        help="Gateway URL (env JIDO_URL).",
    )(fn)


def parse_data(text: str | None) -> Any:
    """The value of ``--data`` (JSON text; no option means no data).

    Raises:
        CliError: (exit 2) the text is not JSON, or nests so deeply that reading it would overflow the stack.
    """
    if text is None:
        return None
    try:
        # The signal reader, not json.loads: it turns a RecursionError (``[[[[...`` 50,000 deep) into an error
        # like any other bad text. No size limit here: the gateway applies its own to the frame.
        return loads(text, max_bytes=None)
    except SignalError as exc:
        raise CliError(f"--data: {'; '.join(e.message for e in exc.errors)}", EXIT_USAGE) from None


def make_signal(signal_type: str, data: Any, source: str, subject: str | None = None) -> jido.Signal:
    """Build the signal to send, reporting a bad one as a usage error (exit 2) on one line."""
    try:
        return jido.Signal(type=signal_type, source=source, data=data, subject=subject)
    except SignalError as exc:
        raise CliError(f"invalid signal: {one_line(exc)}", EXIT_USAGE) from None


def gateway_error(exc: GatewayError, *, token: str | None = None) -> CliError:
    """The CLI error for a :class:`GatewayError`: exit 3 (cannot connect, connection lost), 4 (unauthorized,
    forbidden), 5 (not found), 2 (invalid signal) or 1 (anything else: no route, action failed, timeout)."""
    if exc.code == "unauthorized" and not token:
        # The gateway's own words are for protocol clients ('send {"op":"auth",...}'); a CLI user has options.
        message = "unauthorized: this gateway wants a token: give --token TOKEN (or set JIDO_TOKEN)"
    elif exc.code in ("unavailable", "connection_lost"):
        message = one_line(exc)
    else:
        message = f"{exc.code}: {one_line(exc)}"
    return CliError(message, _CODE_EXIT.get(exc.code, EXIT_FAILURE))


@asynccontextmanager
async def open_client(
    url: str, token: str | None, *, reconnect: bool = False
) -> AsyncIterator[GatewayClient]:
    """``jido.gateway.connect``, with connection and gateway errors turned into :class:`CliError`."""
    try:
        async with connect(url, token=token, reconnect=reconnect) as client:
            yield client
    except BaseException as exc:  # groups from the client's nursery included: find the one error
        error = single_error(exc)
        if isinstance(error, GatewayError):
            raise gateway_error(error, token=token) from None
        if error is not exc:
            raise error from error.__cause__
        raise


async def within(
    timeout: float, url: str, token: str | None, request: Callable[[GatewayClient, float], Awaitable[R]]
) -> R:
    """``await request(client, deadline)`` on a new connection to ``url``, all of it within ``timeout`` seconds.

    One deadline covers connecting, the request and closing the connection again, so a server that stops
    answering at any point (or never finishes a handshake) costs at most ``timeout``. ``deadline`` is the
    :func:`trio.current_time` by which everything must be done, for a request that passes a timeout on.

    Raises:
        CliError: the deadline passed: exit 3 while connecting, else exit 1; or see :func:`open_client`.
    """
    deadline = trio.current_time() + timeout
    results: list[R] = []
    connected = False
    with trio.move_on_at(deadline):
        async with open_client(url, token) as client:
            connected = True
            results.append(await request(client, deadline))
    if results:  # the answer came; only the polite close was cut short, which the server survives
        return results[0]
    if not connected:
        raise CliError(f"cannot connect to {url} within {timeout:g}s", EXIT_CONNECT)
    raise CliError(f"no answer from {url} within {timeout:g}s")


def timeout_option(help_text: str) -> Callable[[F], F]:
    """``--timeout SECONDS`` (default 5, at most the gateway's longest call)."""
    return click.option(
        "--timeout",
        default=DEFAULT_TIMEOUT,
        show_default=True,
        type=click.FloatRange(min=0, min_open=True, max=MAX_CALL_TIMEOUT),
        callback=_check_timeout,
        help=help_text,
    )


@click.command(short_help="Publish a signal; print its offset.")
@click.argument("signal_type", metavar="TYPE")
@click.option("--data", "data_text", default=None, metavar="JSON", help="The signal's data, as JSON.")
@click.option("--source", default=DEFAULT_SOURCE, show_default=True, help="The signal's source.")
@click.option("--subject", default=None, help="The signal's subject.")
@timeout_option("Seconds the whole command may take: connect, publish, close.")
@remote_options
def send(
    signal_type: str,
    data_text: str | None,
    source: str,
    subject: str | None,
    timeout: float,
    url: str,
    token: str | None,
) -> None:
    """Publish a signal of type TYPE; prints the offset the journal gave it."""
    signal = make_signal(signal_type, parse_data(data_text), source, subject)
    offsets: list[int] = []

    async def publish(client: GatewayClient, deadline: float) -> int:
        return await client.publish(signal)

    async def body() -> None:
        offsets.append(await within(timeout, url, token, publish))

    run_command(body)
    click.echo(str(offsets[0]))


@click.command(short_help="Send a signal to an agent; print its state.")
@click.argument("agent", callback=_check_agent)
@click.argument("signal_type", metavar="TYPE")
@click.option("--data", "data_text", default=None, metavar="JSON", help="The signal's data, as JSON.")
@click.option("--source", default=DEFAULT_SOURCE, show_default=True, help="The signal's source.")
@timeout_option("Seconds the whole command may take: connect, the agent's answer, close.")
@remote_options
def call(
    agent: str,
    signal_type: str,
    data_text: str | None,
    source: str,
    timeout: float,
    url: str,
    token: str | None,
) -> None:
    """Send a signal of type TYPE to AGENT (an agent id) and print its committed state as JSON."""
    signal = make_signal(signal_type, parse_data(data_text), source)
    results: list[dict[str, Any]] = []

    async def call_agent(client: GatewayClient, deadline: float) -> dict[str, Any]:
        left = deadline - trio.current_time()
        # At least a millisecond: the client refuses a timeout of 0, and the deadline cancels the call anyway.
        return await client.call(agent, signal, timeout=max(left * (1 - ANSWER_SHARE), 0.001))

    async def body() -> None:
        results.append(await within(timeout, url, token, call_agent))

    run_command(body)
    click.echo(json.dumps(results[0].get("state"), indent=2, ensure_ascii=False))


def _check_pattern(ctx: click.Context, param: click.Parameter, value: str) -> str:
    try:
        parse_pattern(value)
    except ValidationError as exc:
        raise click.BadParameter("; ".join(e.message for e in exc.errors)) from None
    return value


RECONNECT_CHECK: Final = 0.25
"""Seconds between two looks at the client's connection for ``jido tail``'s reconnect notices."""


async def _say_reconnects(client: GatewayClient, url: str) -> None:
    """Say on stderr when the connection drops and when it is back (the client reconnects by itself)."""
    # The client keeps these counts but offers no notification; reading them a few times a second costs
    # nothing next to the connection itself.
    closes = client.last_close
    reconnects = client.reconnects
    while True:
        await trio.sleep(RECONNECT_CHECK)
        if client.last_close is not closes:
            closes = client.last_close
            code, reason = closes or (None, None)
            click.echo(f"connection to {url} lost ({code}: {reason or 'no reason'}); reconnecting", err=True)
        if client.reconnects != reconnects:
            reconnects = client.reconnects
            click.echo(f"reconnected to {url}; resuming after the last offset seen", err=True)


@click.command(short_help="Stream signals as they arrive.")
@click.argument("pattern", default="**", callback=_check_pattern)
@click.option(
    "--from", "from_offset", type=click.IntRange(min=1), default=None, help="Replay from this offset first."
)
@click.option("--json", "as_json", is_flag=True, help="One CloudEvents JSON object per line, nothing else.")
@click.option("--count", type=click.IntRange(min=1), default=None, help="Stop after this many signals.")
@remote_options
def tail(
    pattern: str, from_offset: int | None, as_json: bool, count: int | None, url: str, token: str | None
) -> None:
    """Stream the signals matching PATTERN (default '**') as they arrive, until Ctrl-C.

    Each signal is one line: offset, time (UTC), type, source, shortened data; with --json, its CloudEvents
    JSON. A lost connection is resumed from the last offset seen, saying so on stderr.
    """
    console = make_console()

    async def body() -> None:
        seen = 0
        async with (
            open_client(url, token, reconnect=True) as client,
            client.subscribe(pattern, from_offset=from_offset) as stream,
        ):
            if not as_json:
                click.echo(f"tailing {pattern!r} on {url} (Ctrl-C to stop)", err=True)
            async with trio.open_nursery() as nursery:
                nursery.start_soon(_say_reconnects, client, url)
                async for item in stream:
                    if as_json:
                        click.echo(item.signal.to_json())
                    else:
                        console.print(signal_line(item.offset, item.signal))
                    seen += 1
                    if count is not None and seen >= count:
                        break
                nursery.cancel_scope.cancel()

    run_command(body, until_interrupted=True)


@click.command(short_help="Restart a failed agent from its last committed state.")
@click.argument("agent", callback=_check_agent)
@timeout_option("Seconds the whole command may take: connect, restart, close.")
@remote_options
def restart(agent: str, timeout: float, url: str, token: str | None) -> None:
    """Start AGENT (the id of an agent that failed: it crashed more often than its restart budget allows)
    again, from its last committed state, and print that state as JSON."""
    results: list[dict[str, Any]] = []

    async def ask(client: GatewayClient, deadline: float) -> dict[str, Any]:
        return await client.restart(agent)

    async def body() -> None:
        results.append(await within(timeout, url, token, ask))

    run_command(body)
    click.echo(json.dumps(results[0].get("state"), indent=2, ensure_ascii=False))


@click.command(short_help="List agents, bus offsets, dead letters.")
@click.option("--json", "as_json", is_flag=True, help="The gateway's answer as JSON.")
@click.option(
    "--cluster",
    "cluster_url",
    metavar="REDIS_URL",
    default=None,
    help="Also show the cluster on this Redis: its nodes, the agents each holds and their leases.",
)
@click.option(
    "--namespace", default="jido", show_default=True, help="The cluster's key namespace (--cluster)."
)
@timeout_option("Seconds the whole command may take: connect, inspect, close.")
@remote_options
def inspect(
    as_json: bool, cluster_url: str | None, namespace: str, timeout: float, url: str, token: str | None
) -> None:
    """List the agents (status, mailbox depth, restarts), the bus offsets and the dead-letter count; with
    --cluster, the cluster's nodes, their agents and leases too (read from Redis)."""
    if cluster_url is not None:
        problem = check_cluster_url(cluster_url)
        if problem is not None:
            raise CliError(f"--cluster: {problem}", EXIT_USAGE)
    results: list[dict[str, Any]] = []
    views: list[Any] = []

    async def ask(client: GatewayClient, deadline: float) -> dict[str, Any]:
        return await client.inspect()

    async def body() -> None:
        results.append(await within(timeout, url, token, ask))
        if cluster_url is not None:
            views.append(await read_view(cluster_url, namespace))

    run_command(body)
    if as_json:
        answer = dict(results[0])
        if views:
            answer["cluster"] = attrs.asdict(views[0])
        click.echo(json.dumps(answer, indent=2, ensure_ascii=False))
        return
    console = make_console()
    for renderable in inspect_tables(results[0]):
        console.print(renderable)
    if views:
        assert cluster_url is not None
        print_view(views[0], cluster_url, agents=True)
