"""``jido send``, ``tail``, ``call`` and ``inspect``: talk to a running gateway through its client."""

from __future__ import annotations

import json
import urllib.parse
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any, Final, TypeVar

import click
import trio

import jido
from jido.errors import SignalError, ValidationError
from jido.gateway import GatewayClient, GatewayError, connect
from jido.gateway.protocol import MAX_CALL_TIMEOUT
from jido.signal.pattern import parse_pattern

from ._trio import run_command
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

DEFAULT_URL: Final = "ws://127.0.0.1:8765/"
DEFAULT_SOURCE: Final = "/cli"
# Seconds a call may wait for the gateway's answer beyond the agent's own timeout (which the gateway enforces).
CALL_GRACE: Final = 5.0

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


def remote_options(fn: F) -> F:
    """``--url`` and ``--token`` (environment ``JIDO_URL`` and ``JIDO_TOKEN``)."""
    fn = click.option(
        "--token", envvar="JIDO_TOKEN", default=None, help="Bearer token for the gateway (env JIDO_TOKEN)."
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
        CliError: (exit 2) the text is not JSON.
    """
    if text is None:
        return None
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise CliError(f"--data: invalid JSON: {exc}", EXIT_USAGE) from None


def make_signal(signal_type: str, data: Any, source: str, subject: str | None = None) -> jido.Signal:
    """Build the signal to send, reporting a bad one as a usage error (exit 2) on one line."""
    try:
        return jido.Signal(type=signal_type, source=source, data=data, subject=subject)
    except SignalError as exc:
        raise CliError(f"invalid signal: {one_line(exc)}", EXIT_USAGE) from None


def gateway_error(exc: GatewayError) -> CliError:
    """The CLI error for a :class:`GatewayError`: exit 3 (cannot connect, connection lost), 4 (unauthorized,
    forbidden), 5 (not found), 2 (invalid signal) or 1 (anything else: no route, action failed, timeout)."""
    message = (
        one_line(exc) if exc.code in ("unavailable", "connection_lost") else f"{exc.code}: {one_line(exc)}"
    )
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
            raise gateway_error(error) from None
        if error is not exc:
            raise error from error.__cause__
        raise


@click.command(short_help="Publish a signal; print its offset.")
@click.argument("signal_type", metavar="TYPE")
@click.option("--data", "data_text", default=None, metavar="JSON", help="The signal's data, as JSON.")
@click.option("--source", default=DEFAULT_SOURCE, show_default=True, help="The signal's source.")
@click.option("--subject", default=None, help="The signal's subject.")
@remote_options
def send(
    signal_type: str, data_text: str | None, source: str, subject: str | None, url: str, token: str | None
) -> None:
    """Publish a signal of type TYPE; prints the offset the journal gave it."""
    signal = make_signal(signal_type, parse_data(data_text), source, subject)
    offsets: list[int] = []

    async def body() -> None:
        async with open_client(url, token) as client:
            offsets.append(await client.publish(signal))

    run_command(body)
    click.echo(str(offsets[0]))


@click.command(short_help="Send a signal to an agent; print its state.")
@click.argument("agent", callback=_check_agent)
@click.argument("signal_type", metavar="TYPE")
@click.option("--data", "data_text", default=None, metavar="JSON", help="The signal's data, as JSON.")
@click.option("--source", default=DEFAULT_SOURCE, show_default=True, help="The signal's source.")
@click.option(
    "--timeout",
    default=5.0,
    show_default=True,
    type=click.FloatRange(min=0, min_open=True, max=MAX_CALL_TIMEOUT),
    help="Seconds to wait for the agent's answer.",
)
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

    async def body() -> None:
        async with open_client(url, token) as client:
            with trio.move_on_after(timeout + CALL_GRACE) as scope:
                results.append(await client.call(agent, signal, timeout=timeout))
        if scope.cancelled_caught:
            raise CliError(f"no answer from {url} within {timeout + CALL_GRACE:g}s")

    run_command(body)
    click.echo(json.dumps(results[0].get("state"), indent=2, ensure_ascii=False))


def _check_pattern(ctx: click.Context, param: click.Parameter, value: str) -> str:
    try:
        parse_pattern(value)
    except ValidationError as exc:
        raise click.BadParameter("; ".join(e.message for e in exc.errors)) from None
    return value


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
    JSON. A lost connection is resumed from the last offset seen.
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
            async for item in stream:
                if as_json:
                    click.echo(item.signal.to_json())
                else:
                    console.print(signal_line(item.offset, item.signal))
                seen += 1
                if count is not None and seen >= count:
                    return

    run_command(body, until_interrupted=True)


@click.command(short_help="List agents, bus offsets, dead letters.")
@click.option("--json", "as_json", is_flag=True, help="The gateway's answer as JSON.")
@remote_options
def inspect(as_json: bool, url: str, token: str | None) -> None:
    """List the agents (status, mailbox depth, restarts), the bus offsets and the dead-letter count."""
    results: list[dict[str, Any]] = []

    async def body() -> None:
        async with open_client(url, token) as client:
            results.append(await client.inspect())

    run_command(body)
    if as_json:
        click.echo(json.dumps(results[0], indent=2, ensure_ascii=False))
        return
    console = make_console()
    for renderable in inspect_tables(results[0]):
        console.print(renderable)
