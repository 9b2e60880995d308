"""A journal whose writes can be made to fail: how :class:`FailJournalWrite` reaches a bus's journal.

The bus asks :data:`jido.bus.bus.journal_interceptor` to wrap its journal when it opens; the fault injector
answers with this wrapper, which asks the injector before each write and otherwise passes every call through.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Protocol

from jido.bus.journal import DEFAULT_DEAD_LETTER_REASON, DeadLetterRecord, DurableBinding, Journal, Record
from jido.signal.signal import Signal

__all__ = ["FaultyJournal"]


class WriteCheck(Protocol):
    """Raises if a planned fault strikes this write."""

    def __call__(
        self,
        write: str,
        *,
        signal_type: str | None = None,
        subscription: str | None = None,
        offset: int | None = None,
    ) -> None: ...


class FaultyJournal:
    """``journal``, with each append, checkpoint and dead-letter write first passed to ``check``.

    A write that ``check`` fails does not reach the journal at all: an append stores none of its batch.
    """

    def __init__(self, journal: Journal, check: WriteCheck) -> None:
        self.inner = journal
        self._check = check

    def __repr__(self) -> str:
        return f"<FaultyJournal over {self.inner!r}>"

    async def append(self, signals: Sequence[Signal]) -> list[Record]:
        self._check("append", signal_type=signals[0].type if signals else None)
        return await self.inner.append(signals)

    async def set_checkpoint(self, name: str, offset: int) -> int:
        self._check("checkpoint", subscription=name)
        return await self.inner.set_checkpoint(name, offset)

    async def add_dead_letter(
        self,
        subscription: str,
        record: Record,
        error: str,
        attempts: int,
        *,
        reason: str = DEFAULT_DEAD_LETTER_REASON,
    ) -> DeadLetterRecord:
        self._check(
            "dead_letter", signal_type=record.signal.type, subscription=subscription, offset=record.offset
        )
        return await self.inner.add_dead_letter(subscription, record, error, attempts, reason=reason)

    # -- passed through ----------------------------------------------------------------------------------
    async def read(self, start: int = 1, *, limit: int = 1000) -> list[Record]:
        return await self.inner.read(start, limit=limit)

    async def offset_at(self, moment: dt.datetime) -> int:
        return await self.inner.offset_at(moment)

    async def first_offset(self) -> int:
        return await self.inner.first_offset()

    async def last_offset(self) -> int:
        return await self.inner.last_offset()

    async def get_checkpoint(self, name: str) -> int | None:
        return await self.inner.get_checkpoint(name)

    async def bind_subscription(
        self, name: str, *, pattern: str, owner: str | None, offset: int
    ) -> DurableBinding:
        # Binding a new name stores its first checkpoint: a checkpoint write, as set_checkpoint was before.
        if await self.inner.get_checkpoint(name) is None:
            self._check("checkpoint", subscription=name)
        return await self.inner.bind_subscription(name, pattern=pattern, owner=owner, offset=offset)

    async def dead_letters(
        self, subscription: str | None = None, *, limit: int = 1000
    ) -> list[DeadLetterRecord]:
        return await self.inner.dead_letters(subscription, limit=limit)

    async def remove_dead_letter(self, dead_letter_id: int) -> bool:
        return await self.inner.remove_dead_letter(dead_letter_id)

    async def trim(
        self, *, max_entries: int | None = None, max_age: dt.timedelta | None = None, now: dt.datetime
    ) -> int:
        return await self.inner.trim(max_entries=max_entries, max_age=max_age, now=now)

    async def aclose(self) -> None:
        await self.inner.aclose()
