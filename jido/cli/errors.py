"""How the ``jido`` command fails: one readable line on stderr and an exit code that says what kind of failure.

Exit codes:

==  ===========================================================================
0   success
1   runtime failure (an action failed, no route, a run did not complete, ...)
2   usage error: bad arguments, bad ``--data`` JSON, a bad config file, an
    object that is not an agent
3   cannot connect to the gateway
4   rejected by the gateway (unauthorized, forbidden)
5   not found (no agent with that id)
==  ===========================================================================

Click prints its own usage errors over three lines (usage, hint, error); :class:`JidoGroup` prints them on one
line instead, so that every failure of the command, whoever detects it, looks the same.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Final

import click
import trio

from jido.errors import ValidationError

__all__ = [
    "EXIT_CONNECT",
    "EXIT_FAILURE",
    "EXIT_NOT_FOUND",
    "EXIT_OK",
    "EXIT_REJECTED",
    "EXIT_USAGE",
    "CliError",
    "JidoGroup",
    "one_line",
    "single_error",
]

EXIT_OK: Final = 0
EXIT_FAILURE: Final = 1
EXIT_USAGE: Final = 2
EXIT_CONNECT: Final = 3
EXIT_REJECTED: Final = 4
EXIT_NOT_FOUND: Final = 5


class CliError(Exception):
    """A failure the user should read: shown as ``Error: <message>`` on one line, then exit ``exit_code``.

    Attributes:
        message: the line shown (without the ``Error:`` prefix).
        exit_code: the process's exit code.
    """

    def __init__(self, message: str, exit_code: int = EXIT_FAILURE) -> None:
        super().__init__(message)
        self.message = message
        self.exit_code = exit_code


def one_line(exc: BaseException) -> str:
    """The message of ``exc`` on one line (a :class:`ValidationError`'s ``$.path`` lines joined by ``; ``)."""
    if isinstance(exc, ValidationError):
        lines = "; ".join(str(e) for e in exc.errors)
        return f"invalid {exc.subject}: {lines}" if exc.subject else lines
    text = str(exc) or type(exc).__name__
    return " ".join(part.strip() for part in text.splitlines() if part.strip())


def single_error(exc: BaseException) -> BaseException:
    """The one exception inside nested exception groups (ignoring ``trio.Cancelled``), else ``exc`` itself.

    Trio's nurseries wrap what a task raised in groups; a command reports the error, not the wrapping.
    """
    leaves: list[BaseException] = []
    pending: list[BaseException] = [exc]
    while pending:
        current = pending.pop()
        if isinstance(current, BaseExceptionGroup):
            pending.extend(current.exceptions)
        elif not isinstance(current, trio.Cancelled):
            leaves.append(current)
    return leaves[0] if len(leaves) == 1 else exc


class JidoGroup(click.Group):
    """A click group whose usage errors are one line: ``Error: <message> (see 'jido send --help')``."""

    def main(
        self,
        args: Sequence[str] | None = None,
        prog_name: str | None = None,
        complete_var: str | None = None,
        standalone_mode: bool = True,
        **extra: Any,
    ) -> Any:
        if not standalone_mode:
            return super().main(args, prog_name, complete_var, standalone_mode=False, **extra)
        try:
            result = super().main(args, prog_name, complete_var, standalone_mode=False, **extra)
        except click.UsageError as exc:
            hint = ""
            if exc.ctx is not None:
                hint = f" (see '{exc.ctx.command_path} --help')"
            click.echo(f"Error: {exc.format_message()}{hint}", err=True)
            raise SystemExit(exc.exit_code) from None
        except click.ClickException as exc:
            exc.show()
            raise SystemExit(exc.exit_code) from None
        except CliError as exc:
            click.echo(f"Error: {exc.message}", err=True)
            raise SystemExit(exc.exit_code) from None
        except click.Abort:
            click.echo("Aborted.", err=True)
            raise SystemExit(EXIT_FAILURE) from None
        # Without standalone mode click returns the exit code of `ctx.exit(n)` (``--help`` is 0) or the
        # command's return value, which is None for every jido command.
        raise SystemExit(result if isinstance(result, int) else EXIT_OK)
