"""``jido dead-letters list|show|redrive|discard`` and ``jido tree``: through a running dashboard's JSON API.

The dashboard (``jido run``/``jido serve``, see ``docs/operations.md``) holds what these need (the dead
letters with their ids, the supervision tree) and the admin rules for changing them, so the commands are
small HTTP clients of it (the standard library's, nothing to install).
"""

from __future__ import annotations

import json
import urllib.error
import urllib.parse
import urllib.request
from typing import Any, Final

import click

from .errors import EXIT_CONNECT, EXIT_FAILURE, EXIT_NOT_FOUND, EXIT_REJECTED, EXIT_USAGE, CliError
from .remote import _check_token, timeout_option

__all__ = ["dead_letters", "tree"]

DEFAULT_DASHBOARD: Final = "http://127.0.0.1:8766/"
_STATUS_EXIT: Final = {
    401: EXIT_REJECTED,
    403: EXIT_REJECTED,
    404: EXIT_NOT_FOUND,
    409: EXIT_FAILURE,
    400: EXIT_USAGE,
}
MAX_ANSWER: Final = 64 << 20
"""Bytes of an answer read at most."""


def _check_dashboard(ctx: click.Context, param: click.Parameter, value: str) -> str:
    try:
        parts = urllib.parse.urlsplit(value)
        parts.port  # noqa: B018  # reading it checks it
    except ValueError as exc:
        raise click.BadParameter(f"{value!r}: {exc}") from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise click.BadParameter(f"expected http://HOST:PORT/, got {value!r}")
    return value if value.endswith("/") else value + "/"


def _options(fn: Any) -> Any:
    fn = timeout_option("Seconds the request may take.")(fn)
    fn = click.option(
        "--token",
        envvar="JIDO_TOKEN",
        default=None,
        callback=_check_token,
        help="Token for the dashboard (env JIDO_TOKEN); changes need an admin token.",
    )(fn)
    return click.option(
        "--dashboard",
        "base",
        envvar="JIDO_DASHBOARD",
        default=DEFAULT_DASHBOARD,
        show_default=True,
        callback=_check_dashboard,
        help="The dashboard's address, as `jido run` prints it (env JIDO_DASHBOARD).",
    )(fn)


def request(base: str, path: str, token: str | None, timeout: float, *, post: bool = False) -> Any:
    """The JSON answer of ``GET`` (or ``POST``) ``base + path``.

    Raises:
        CliError: cannot connect (3), refused (4: 401/403), not found (5), conflict (1), bad request (2).
    """
    headers = {"accept": "application/json"}
    if token:
        headers["authorization"] = f"Bearer {token}"
    data = None
    if post:
        headers["content-type"] = "application/json"
        data = b"{}"
    req = urllib.request.Request(base + path, data=data, headers=headers, method="POST" if post else "GET")
    try:
        with urllib.request.urlopen(req, timeout=timeout) as answer:  # http(s) only, checked
            return json.loads(answer.read(MAX_ANSWER))
    except urllib.error.HTTPError as exc:
        try:
            message = json.loads(exc.read(65536)).get("error", exc.reason)
        except (ValueError, AttributeError):
            message = exc.reason
        raise CliError(f"{exc.code}: {message}", _STATUS_EXIT.get(exc.code, EXIT_FAILURE)) from None
    except (urllib.error.URLError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        raise CliError(f"cannot reach the dashboard at {base}: {reason}", EXIT_CONNECT) from None
    except ValueError:
        raise CliError(f"the dashboard at {base} did not answer JSON", EXIT_FAILURE) from None


@click.group("dead-letters", short_help="List, show, redrive or discard dead letters.")
def dead_letters() -> None:
    """Dead letters of a running runtime, through its dashboard (see docs/operations.md)."""


@dead_letters.command("list", short_help="The newest dead letters.")
@click.option("--limit", type=click.IntRange(1, 500), default=50, show_default=True)
@click.option("--json", "as_json", is_flag=True, help="The answer as JSON.")
@_options
def list_letters(limit: int, as_json: bool, base: str, token: str | None, timeout: float) -> None:
    """The newest dead letters, newest first: id, when, reason, who gave up, signal type, error."""
    answer = request(base, f"api/dead-letters?limit={limit}", token, timeout)
    if as_json:
        click.echo(json.dumps(answer, indent=2, ensure_ascii=False))
        return
    for letter in answer["letters"]:
        click.echo(
            f"{letter['id']}\t{letter['at']}\t{letter['reason']}\t{letter['subscription']}\t"
            f"{letter['signal_type']}\t{letter['error']}"
        )
    click.echo(f"{len(answer['letters'])} of {answer['total']} dead letters", err=True)


@dead_letters.command("show", short_help="One dead letter, with its signal.")
@click.argument("letter", type=click.IntRange(min=1))
@_options
def show(letter: int, base: str, token: str | None, timeout: float) -> None:
    """Dead letter LETTER (its id, from `list`) with its whole signal, as JSON."""
    click.echo(
        json.dumps(request(base, f"api/dead-letters/{letter}", token, timeout), indent=2, ensure_ascii=False)
    )


@dead_letters.command("redrive", short_help="Deliver a dead letter again.")
@click.argument("letter", type=click.IntRange(min=1))
@_options
def redrive(letter: int, base: str, token: str | None, timeout: float) -> None:
    """Deliver dead letter LETTER again (admin token); prints what happened. Exit 1 when it failed again."""
    answer = request(base, f"api/dead-letters/{letter}/redrive", token, timeout, post=True)
    click.echo(json.dumps(answer, indent=2, ensure_ascii=False))
    if answer.get("outcome") != "ok":
        raise SystemExit(EXIT_FAILURE)


@dead_letters.command("discard", short_help="Remove a dead letter.")
@click.argument("letter", type=click.IntRange(min=1))
@_options
def discard(letter: int, base: str, token: str | None, timeout: float) -> None:
    """Remove dead letter LETTER for good (admin token)."""
    request(base, f"api/dead-letters/{letter}/discard", token, timeout, post=True)
    click.echo(f"discarded {letter}")


def _tree_lines(node: dict[str, Any], depth: int = 0) -> list[str]:
    if node["kind"] == "agent":
        label = f"{node['id']} ({node['name']}, {node['status']})"
    else:
        label = f"{node['id']} [{node['kind']}{', ' + node['strategy'] if node.get('strategy') else ''}]"
    lines = ["  " * depth + label]
    for child in node.get("children", []):
        lines.extend(_tree_lines(child, depth + 1))
    return lines


@click.command(short_help="The supervision tree.")
@click.option("--json", "as_json", is_flag=True, help="The answer as JSON.")
@_options
def tree(as_json: bool, base: str, token: str | None, timeout: float) -> None:
    """The runtime's supervisors, agents and their spawned children, through its dashboard."""
    answer = request(base, "api/tree", token, timeout)
    if as_json:
        click.echo(json.dumps(answer, indent=2, ensure_ascii=False))
        return
    click.echo("\n".join(_tree_lines(answer)))
    if answer.get("truncated"):
        click.echo("(cut short: see the dashboard's agents page)", err=True)
