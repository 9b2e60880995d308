"""Per-agent debug rings: the last events that concern one agent, kept in memory while debugging is on.

Off by default. ``ref.debug(True)`` turns an agent's ring on (``ref.debug(False)`` off), at any time, while
it runs; ``ref.recent_events()`` reads it. A ring keeps the last ``size`` events whose ``agent_id`` field is
the agent's id: its signals received, routed and handled, its actions, directives, dead letters, crashes and
restarts.

While at least one ring is on, one telemetry handler is attached to every event (``"**"``), so every emit in
the process pays for building its event; when the last ring is turned off the handler is detached and the
cost is gone. Rings are found by agent id: two runtimes in one process running agents of the same id, both
debugging, see each other's events.
"""

from __future__ import annotations

import collections
import threading

from jido.telemetry.handlers import Attachment, Event, attach

__all__ = ["DEFAULT_RING_SIZE", "DebugRing"]

DEFAULT_RING_SIZE = 256

_LOCK = threading.Lock()
_RINGS: dict[str, list[DebugRing]] = {}
_attachment: Attachment | None = None


class DebugRing:
    """The recent events of one agent. Create with :meth:`start`; :meth:`stop` when done."""

    __slots__ = ("_events", "agent_id")

    def __init__(self, agent_id: str, size: int) -> None:
        self.agent_id = agent_id
        self._events: collections.deque[Event] = collections.deque(maxlen=size)

    def __repr__(self) -> str:
        return f"<DebugRing {self.agent_id!r} {len(self._events)}/{self.size}>"

    @property
    def size(self) -> int:
        maxlen = self._events.maxlen
        assert maxlen is not None
        return maxlen

    @classmethod
    def start(cls, agent_id: str, size: int = DEFAULT_RING_SIZE) -> DebugRing:
        """A new ring recording the events of ``agent_id`` from now on.

        Raises:
            ValueError: ``size`` is not an int >= 1.
        """
        _check_size(size)
        ring = cls(agent_id, size)
        global _attachment
        with _LOCK:
            _RINGS.setdefault(agent_id, []).append(ring)
            if _attachment is None or not _attachment.attached:
                _attachment = attach("**", _record)
        return ring

    def resized(self, size: int) -> DebugRing:
        """This ring with room for ``size`` events (the newest kept), still recording."""
        _check_size(size)
        if size == self.size:
            return self
        ring = DebugRing(self.agent_id, size)
        ring._events.extend(self._events)
        with _LOCK:
            rings = _RINGS.get(self.agent_id, [])
            if self in rings:
                rings[rings.index(self)] = ring
        return ring

    def stop(self) -> None:
        """Stop recording; the last ring stopped detaches the handler."""
        global _attachment
        with _LOCK:
            rings = _RINGS.get(self.agent_id, [])
            if self in rings:
                rings.remove(self)
            if not rings:
                _RINGS.pop(self.agent_id, None)
            if not _RINGS and _attachment is not None:
                _attachment.detach()
                _attachment = None

    def events(self) -> tuple[Event, ...]:
        """The recorded events, oldest first."""
        return tuple(self._events)


def _check_size(size: object) -> None:
    if isinstance(size, bool) or not isinstance(size, int) or size < 1:
        raise ValueError(f"debug ring size must be an int >= 1, got {size!r}")


def _record(event: Event) -> None:
    agent_id = event.fields.get("agent_id")
    if agent_id is None:
        return
    for ring in _RINGS.get(agent_id, ()):
        ring._events.append(event)
