"""The journal: the bus's log of accepted signals, behind one small interface.

Every backend (:mod:`jido.bus.memory`, :mod:`jido.bus.sqlite`) keeps the same promises:

* ``append`` gives each signal an offset, strictly increasing from 1, and returns once the records are as
  durable as the backend makes them (on disk, for SQLite). Offsets are never reused, not even after
  retention removed the records that had them.
* ``read`` returns records in offset order. A start offset below the first retained record starts at the
  first retained record (the caller compares offsets to see the gap).
* Checkpoints (one per durable subscription name) never move backwards: storing a lower offset than the
  one stored keeps the higher one.
* A durable subscription name is bound, by ``bind_subscription``, to the pattern and owner that first used
  it; the binding is stored with its checkpoint and never changed by a later bind (a checkpoint stored
  without one, by ``set_checkpoint`` or by an older version of the file, adopts the first binding made).
* Dead letters hold records a subscription gave up on, and signals that were never appended (offset 0 in
  their record) that the runtime could not handle, each with a short ``reason``. They are kept until removed,
  whatever the retention of the records, up to the backend's own bound on dead letters (the oldest go first,
  and each backend counts what it evicted).
* Retention (``trim``) removes the oldest records by count and/or age, never a checkpoint.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Final, Protocol, runtime_checkable

import attrs

from jido.signal import Signal

__all__ = ["DEFAULT_DEAD_LETTER_REASON", "DeadLetterRecord", "DurableBinding", "Journal", "Record"]

DEFAULT_DEAD_LETTER_REASON: Final = "max_attempts"
"""The reason of a dead letter added without one: a subscription used up its delivery attempts (what every
bus dead letter meant before reasons were recorded)."""


@attrs.frozen
class Record:
    """A signal as the journal keeps it.

    Attributes:
        offset: its position in the journal, from 1, strictly increasing; 0 in a dead letter's record for a
            signal that was never appended (one the runtime accepted directly and could not handle).
        signal: the signal.
        appended_at: when the journal accepted it (UTC); for a signal never appended, when it was accepted.
    """

    offset: int
    signal: Signal
    appended_at: dt.datetime


@attrs.frozen
class DeadLetterRecord:
    """A record a subscription gave up on, or a signal the runtime could not handle.

    Attributes:
        id: the dead letter's own id, from 1.
        subscription: who gave up: a bus subscription's name, or a runtime source such as ``"agent:<id>"``.
        record: the journal record (offset 0 when the signal was never appended).
        error: why the last attempt failed.
        attempts: how many deliveries were attempted.
        at: when it was dead-lettered (UTC).
        reason: a short machine-readable reason. The bus gives ``"max_attempts"`` (attempts used up, or
            the ack timed out on the last one) and ``"not_retryable"`` (a failure another attempt cannot
            fix); the runtime its own (``"crash"``, ``"no_route"``, ``"mailbox_full"``, ...).
    """

    id: int
    subscription: str
    record: Record
    error: str
    attempts: int
    at: dt.datetime
    reason: str = DEFAULT_DEAD_LETTER_REASON


@attrs.frozen
class DurableBinding:
    """What a durable subscription name is bound to in the journal.

    Attributes:
        name: the durable subscription's name.
        pattern: the pattern it was first subscribed with; resuming it with another one would move the
            checkpoint past records the other never matched.
        owner: who first subscribed it (a gateway token's identity, say); None is an owner of its own.
        checkpoint: its stored checkpoint.
    """

    name: str
    pattern: str
    owner: str | None
    checkpoint: int


@runtime_checkable
class Journal(Protocol):
    """A journal backend. All methods are async and safe to call from any trio task of one run."""

    async def append(self, signals: Sequence[Signal]) -> list[Record]:
        """Append signals in order; returns their records, with offsets strictly increasing."""
        ...

    async def read(self, start: int = 1, *, limit: int = 1000) -> list[Record]:
        """Records with ``offset >= start``, in offset order, at most ``limit`` of them (a backend may return
        fewer, to bound the bytes of one read: only an empty list means there is nothing from ``start``)."""
        ...

    async def offset_at(self, moment: dt.datetime) -> int:
        """The offset of the first record appended at or after ``moment`` (``last_offset() + 1`` if none)."""
        ...

    async def first_offset(self) -> int:
        """The offset of the oldest retained record (``last_offset() + 1`` when none is retained)."""
        ...

    async def last_offset(self) -> int:
        """The offset of the newest record ever appended (0 for a new journal)."""
        ...

    async def get_checkpoint(self, name: str) -> int | None:
        """The offset stored for ``name`` (the last one it finished with), or None."""
        ...

    async def set_checkpoint(self, name: str, offset: int) -> int:
        """Store ``offset`` for ``name`` unless a higher one is stored; returns the stored offset."""
        ...

    async def bind_subscription(
        self, name: str, *, pattern: str, owner: str | None, offset: int
    ) -> DurableBinding:
        """The binding of the durable subscription ``name``, made now if there is none, in one step.

        If ``name`` has no checkpoint, store ``offset`` as its checkpoint, bound to ``pattern`` and ``owner``.
        If it has a checkpoint without a binding, bind it to them (its checkpoint stays). If it is bound
        already, change nothing. Either way, return what is stored: the caller compares.
        """
        ...

    async def add_dead_letter(
        self,
        subscription: str,
        record: Record,
        error: str,
        attempts: int,
        *,
        reason: str = DEFAULT_DEAD_LETTER_REASON,
    ) -> DeadLetterRecord:
        """Keep ``record`` as a dead letter of ``subscription``, for ``reason``.

        ``record.offset`` is 0 for a signal that was never appended.
        """
        ...

    async def dead_letters(
        self, subscription: str | None = None, *, limit: int = 1000
    ) -> list[DeadLetterRecord]:
        """Dead letters, oldest first (only ``subscription``'s when given)."""
        ...

    async def remove_dead_letter(self, dead_letter_id: int) -> bool:
        """Remove one dead letter; False if there was no such id."""
        ...

    async def trim(
        self, *, max_entries: int | None = None, max_age: dt.timedelta | None = None, now: dt.datetime
    ) -> int:
        """Apply retention: keep at most ``max_entries`` records and none older than ``max_age``.

        Returns how many records were removed.
        """
        ...

    async def aclose(self) -> None:
        """Flush and release the backend. Further calls raise :class:`~jido.errors.ClosedError`."""
        ...
