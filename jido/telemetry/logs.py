"""Structured logging context: the ``extra=`` keys every jido log record about a signal or agent carries.

jido logs through the standard :mod:`logging` module, to loggers under ``"jido"`` (``jido.runtime``,
``jido.bus``, ``jido.telemetry``, ...), and never prints. ``import jido`` attaches a ``NullHandler`` to the
``"jido"`` logger, so nothing shows until the application configures logging.

Records about a signal or an agent carry these attributes (set through ``extra=``; absent ones are None):

==================  ======================================================================================
``agent_id``        the agent concerned
``signal_id``       the signal's id
``signal_type``     the signal's type
``correlation_id``  the signal's ``correlationid`` (shared by every signal of one conversation)
==================  ======================================================================================

Bus records add ``subscription`` and ``offset``; supervisor records add ``supervisor``. A formatter can show
them (``"%(agent_id)s"``) or a JSON formatter can copy them; :func:`context_of` reads them back.
"""

from __future__ import annotations

import logging
from typing import Any, Final

from jido.signal import Signal

__all__ = ["CONTEXT_KEYS", "context_of", "log_context"]

CONTEXT_KEYS: Final = ("agent_id", "signal_id", "signal_type", "correlation_id")


def log_context(signal: Signal | None = None, *, agent_id: str | None = None, **more: Any) -> dict[str, Any]:
    """The ``extra=`` mapping for a log record about ``signal`` (and ``agent_id``), plus ``more``."""
    context: dict[str, Any] = {
        "agent_id": agent_id,
        "signal_id": signal.id if signal is not None else None,
        "signal_type": signal.type if signal is not None else None,
        "correlation_id": (signal.correlationid or signal.id) if signal is not None else None,
    }
    context.update(more)
    return context


def context_of(record: logging.LogRecord) -> dict[str, Any]:
    """The structured context keys present on ``record`` (for formatters and tests)."""
    return {key: getattr(record, key) for key in CONTEXT_KEYS if hasattr(record, key)}
