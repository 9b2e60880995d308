"""The logger adapter: one log record per signal, through the standard ``logging`` module."""

from __future__ import annotations

import logging
from typing import ClassVar, Final, Literal, final

import attrs
import trio

from jido.bus.dispatch.base import AdapterBase, checked, expect_bool, expect_choice, expect_str
from jido.signal import Signal

__all__ = ["LoggerAdapter"]

LOG_LEVELS: Final = {
    "debug": logging.DEBUG,
    "info": logging.INFO,
    "warning": logging.WARNING,
    "error": logging.ERROR,
}


@final
@attrs.frozen(kw_only=True, eq=False)
class LoggerAdapter(AdapterBase):
    """Logs each signal as ``signal <type> <id> from <source>``.

    jido's loggers have no handler of their own: configure ``logging`` (``logging.basicConfig``) to see them.

    Args:
        level: ``"debug"``, ``"info"`` (default), ``"warning"`` or ``"error"``.
        logger_name: the logger to log to (default ``"jido.dispatch"``).
        structured: also attach the whole signal, as its CloudEvents JSON object (a dict), to the record as
            ``record.signal`` (``extra={"signal": ...}``), for JSON log formatters.
    """

    name: ClassVar[str] = "logger"

    level: Literal["debug", "info", "warning", "error"] = attrs.field(
        default="info", metadata=checked(expect_choice(tuple(LOG_LEVELS)))
    )
    logger_name: str = attrs.field(default="jido.dispatch", metadata=checked(expect_str))
    structured: bool = attrs.field(default=False, metadata=checked(expect_bool))

    async def deliver(self, signal: Signal) -> None:
        """Log ``signal``; logging never fails a delivery (``logging`` reports handler errors itself)."""
        await trio.lowlevel.checkpoint_if_cancelled()
        logger = logging.getLogger(self.logger_name)
        level = LOG_LEVELS[self.level]
        if logger.isEnabledFor(level):
            extra = {"signal": signal.to_dict()} if self.structured else None
            logger.log(level, "signal %s %s from %s", signal.type, signal.id, signal.source, extra=extra)
        await trio.lowlevel.cancel_shielded_checkpoint()
