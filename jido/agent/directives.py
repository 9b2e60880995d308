"""Moved to :mod:`jido.directives` (below the action layer, whose results may carry directives); kept so
imports keep working."""

from jido.directives import (
    DIRECTIVE_KINDS,
    Cron,
    CronCancel,
    Directive,
    Emit,
    Error,
    Schedule,
    SpawnAgent,
    Stop,
    StopChild,
    _check_cron_expr,
    _check_tz,
)

__all__ = [
    "DIRECTIVE_KINDS",
    "Cron",
    "CronCancel",
    "Directive",
    "Emit",
    "Error",
    "Schedule",
    "SpawnAgent",
    "Stop",
    "StopChild",
    "_check_cron_expr",
    "_check_tz",
]
