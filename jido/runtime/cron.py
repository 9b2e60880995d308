"""Moved to :mod:`jido.cron` (below the agent core, whose ``Cron`` directive checks its expression, and the
runtime); kept so imports keep working."""

from jido.cron import NICKNAMES, CronExpr, parse_cron

__all__ = ["NICKNAMES", "CronExpr", "parse_cron"]
