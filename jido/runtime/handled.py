"""Observers of handled signals that the agent servers call directly: what a dashboard's counters need.

Telemetry's ``jido.signal.handled`` event carries everything about a handled signal (its id, type, error) and
is process-wide. A runtime's own counters (handled, errors, a latency histogram) need only the agent, the
outcome and the duration, for this runtime's agents: an observer registered with
:meth:`jido.runtime.runtime.Runtime.observe_handled` gets exactly those, with no event built per signal, which
is most of what observing cost the agents (see docs/performance.md).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TypeAlias

__all__ = ["HandledObserver", "HandledSinks"]

logger = logging.getLogger("jido.runtime")

HandledObserver: TypeAlias = Callable[[str, str, float], None]
"""Called as ``observer(agent_id, outcome, seconds)`` after an agent handled a signal; ``outcome`` is that of
``jido.signal.handled`` (``"ok"``, ``"error"``, ``"crashed"``, ``"rejected"``, ``"ignored"``, ...)."""


class HandledSinks:
    """The observers of one runtime's handled signals. ``sinks`` is empty when none is registered: the agent
    servers then do not time signals for them."""

    __slots__ = ("sinks",)

    def __init__(self) -> None:
        self.sinks: tuple[HandledObserver, ...] = ()

    def add(self, observer: HandledObserver) -> Callable[[], None]:
        """Register ``observer``; returns the function that removes it (idempotent)."""
        if not callable(observer):
            raise TypeError(f"observer must be callable, got {observer!r}")
        self.sinks = (*self.sinks, observer)

        def remove() -> None:
            self._remove(observer)

        return remove

    def _remove(self, observer: HandledObserver) -> None:
        self.sinks = tuple(s for s in self.sinks if s is not observer)

    def deliver(self, agent_id: str, outcome: str, seconds: float) -> None:
        """Call every observer; one that raises is removed and logged, and never breaks the agent."""
        for observer in self.sinks:
            try:
                observer(agent_id, outcome, seconds)
            except Exception:  # an observer must never break what it observes
                self._remove(observer)
                logger.exception("handled-signal observer %r raised and was removed", observer)
