"""Readable logs on stderr for the ``jido`` command (``--log-level``).

The library only ever logs (to loggers under ``"jido"``, silent by default); the command is the application,
so it decides where the records go: one line each on stderr, with the agent and signal they concern, and a
crash's traceback once (the record that reports it carries it).
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Callable
from typing import Any, Final, TextIO, TypeVar

import click

F = TypeVar("F", bound=Callable[..., Any])

__all__ = ["LEVELS", "ContextFormatter", "configure_logging", "log_level_option", "reset_logging"]

LEVELS: Final = ("debug", "info", "warning", "error")
_FORMAT: Final = "%(asctime)s %(levelname)s %(name)s: %(message)s"
_handler: logging.Handler | None = None


class _CurrentStderr(logging.StreamHandler[TextIO]):
    """Writes to whatever ``sys.stderr`` is when a record comes (click's test runner swaps it)."""

    def __init__(self) -> None:
        super().__init__(sys.stderr)

    @property
    def stream(self) -> TextIO:
        return sys.stderr

    @stream.setter
    def stream(self, value: TextIO) -> None:
        pass


class ContextFormatter(logging.Formatter):
    """The usual line, then ``[agent=... signal=...]`` from the record's structured context when it has one."""

    def __init__(self) -> None:
        super().__init__(_FORMAT, datefmt="%H:%M:%S")

    def format(self, record: logging.LogRecord) -> str:
        text = super().format(record)
        parts = [
            f"{label}={value}"
            for label, key in (("agent", "agent_id"), ("signal", "signal_type"), ("id", "signal_id"))
            if (value := getattr(record, key, None)) is not None
        ]
        if not parts:
            return text
        first, newline, rest = text.partition("\n")
        return f"{first} [{' '.join(parts)}]{newline}{rest}"


def configure_logging(level: str) -> None:
    """Send the ``jido`` loggers' records at ``level`` and above to stderr (replacing an earlier call's)."""
    global _handler
    reset_logging()
    handler = _CurrentStderr()
    handler.setFormatter(ContextFormatter())
    logger = logging.getLogger("jido")
    logger.addHandler(handler)
    logger.setLevel(level.upper())
    _handler = handler


def reset_logging() -> None:
    """Undo :func:`configure_logging` (the command is over)."""
    global _handler
    if _handler is not None:
        logger = logging.getLogger("jido")
        logger.removeHandler(_handler)
        logger.setLevel(logging.NOTSET)
        _handler = None


def _apply(ctx: click.Context, param: click.Parameter, value: str) -> str:
    configure_logging(value)
    ctx.call_on_close(reset_logging)
    return value


def log_level_option(fn: F) -> F:
    """``--log-level`` (env ``JIDO_LOG_LEVEL``, default warning) for the commands that host a runtime."""
    return click.option(
        "--log-level",
        type=click.Choice(LEVELS, case_sensitive=False),
        default="warning",
        show_default=True,
        envvar="JIDO_LOG_LEVEL",
        expose_value=False,
        callback=_apply,
        help="Show the runtime's log records at this level and above on stderr (env JIDO_LOG_LEVEL).",
    )(fn)
