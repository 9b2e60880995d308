"""Dead letters: signals the runtime accepted but could not handle, kept with the error that stopped them.

Principle: nothing accepted is lost. A signal that crashed its agent, found no route, met a full mailbox on
delivery, or was still queued when its agent stopped is recorded here, never dropped silently. The store is
bounded; when full, the oldest entries are evicted and counted (``evicted``), so even eviction is visible.
"""

from __future__ import annotations

import collections
import datetime as dt
from collections.abc import Iterator

import attrs

from jido.signal import Signal

__all__ = ["DeadLetter", "DeadLetterStore"]


@attrs.frozen
class DeadLetter:
    """One signal that could not be handled.

    Attributes:
        signal: the signal, as accepted.
        error: why it could not be handled.
        agent_id: the agent it was meant for, if any.
        reason: a short machine-readable reason (``"crash"``, ``"no_route"``, ``"mailbox_full"``,
            ``"agent_stopped"``, ``"not_found"``).
        at: when it was recorded (wall clock, UTC).
    """

    signal: Signal
    error: BaseException
    agent_id: str | None
    reason: str
    at: dt.datetime


class DeadLetterStore:
    """An in-memory, bounded dead-letter store."""

    def __init__(self, max_entries: int = 10_000) -> None:
        if max_entries < 1:
            raise ValueError(f"max_entries must be >= 1, got {max_entries}")
        self._entries: collections.deque[DeadLetter] = collections.deque(maxlen=max_entries)
        self.evicted = 0
        self.recorded = 0

    def record(self, letter: DeadLetter) -> None:
        if len(self._entries) == self._entries.maxlen:
            self.evicted += 1
        self._entries.append(letter)
        self.recorded += 1

    def entries(self, *, agent_id: str | None = None) -> list[DeadLetter]:
        """The entries, oldest first; only those of ``agent_id`` when given."""
        return [e for e in self._entries if agent_id is None or e.agent_id == agent_id]

    def __len__(self) -> int:
        return len(self._entries)

    def __iter__(self) -> Iterator[DeadLetter]:
        return iter(list(self._entries))
