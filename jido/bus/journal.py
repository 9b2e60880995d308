"""The journal: the bus's log of accepted signals, behind one small interface.

Every backend (:mod:`jido.bus.memory`, :mod:`jido.bus.sqlite`) keeps the same promises:

* ``append`` gives each signal an offset, strictly increasing from 1, and returns once the records are as
  durable as the backend makes them (on disk, for SQLite). Offsets are never reused, not even after
  retention removed the records that had them.
* ``read`` returns records in offset order. A start offset below the first retained record starts at the
  first retained record (the caller compares offsets to see the gap).
* Checkpoints (one per durable subscription name) never move backwards: storing a lower offset than the
  one stored keeps the higher one.
* Dead letters are kept until removed, whatever the retention of the records.
* Retention (``trim``) removes the oldest records by count and/or age, never a checkpoint or a dead letter.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Protocol, runtime_checkable

import attrs

from jido.signal import Signal

__all__ = ["DeadLetterRecord", "Journal", "Record"]


@attrs.frozen
class Record:
    """A signal as the journal keeps it.

    Attributes:
        offset: its position in the journal, from 1, strictly increasing.
        signal: the signal.
        appended_at: when the journal accepted it (UTC).
    """

    offset: int
    signal: Signal
    appended_at: dt.datetime


@attrs.frozen
class DeadLetterRecord:
    """A record a subscription gave up on.

    Attributes:
        id: the dead letter's own id, from 1.
        subscription: the name of the subscription that gave up.
        record: the journal record.
        error: why the last attempt failed.
        attempts: how many deliveries were attempted.
        at: when it was dead-lettered (UTC).
    """

    id: int
    subscription: str
    record: Record
    error: str
    attempts: int
    at: dt.datetime


@runtime_checkable
class Journal(Protocol):
    """A journal backend. All methods are async and safe to call from any trio task of one run."""

    async def append(self, signals: Sequence[Signal]) -> list[Record]:
        """Append signals in order; returns their records, with offsets strictly increasing."""
        ...

    async def read(self, start: int = 1, *, limit: int = 1000) -> list[Record]:
        """Records with ``offset >= start``, in offset order, at most ``limit`` of them."""
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

    async def add_dead_letter(
        self, subscription: str, record: Record, error: str, attempts: int
    ) -> DeadLetterRecord:
        """Keep ``record`` as a dead letter of ``subscription``."""
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
