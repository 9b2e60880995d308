"""A subscription that starts or resumes before the oldest retained record jumps the gap in one step.

The journals here have had their first two million offsets removed by retention, built without writing two
million records: the memory journal is given the offset count it would keep (it holds nothing else of
removed records), the SQLite file is given its ``last_offset`` directly, as a file whose records were all
trimmed has. What is asserted is the bookkeeping (the skip count, the subscription's done ranges, the memory
traced while it crosses the gap), never a wall-clock time.
"""

from __future__ import annotations

import logging
import sqlite3
import tracemalloc
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from pathlib import Path

import pytest

from jido.bus.bus import open_bus
from jido.bus.journal import Journal
from jido.bus.memory import MemoryJournal
from jido.bus.sqlite import SQLiteJournal, open_sqlite_journal
from jido.bus.subscription import Subscription
from jido.telemetry.handlers import Event, attach
from tests.bus.journal_support import sig

GAP = 2_000_000
PEAK_BOUND = 1_000_000
"""Bytes traced while crossing the gap: the set of skipped offsets this replaced took about 140 MB."""

GapJournal = Callable[..., Awaitable[Journal]]


@pytest.fixture(params=["memory", "sqlite"])
async def gap_journal(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[GapJournal]:
    """Makes a journal whose offsets 1..GAP were removed by retention, holding GAP+1..GAP+3; ``checkpoint``
    names a durable subscription stored at offset 0 before the gap, as an older jido stored it (no binding)."""
    made: list[Journal] = []

    async def make(*, checkpoint: str | None = None) -> Journal:
        journal: Journal
        if request.param == "memory":
            memory = MemoryJournal()
            if checkpoint is not None:
                await memory.set_checkpoint(checkpoint, 0)
            memory._last = GAP  # the only trace GAP appended-then-trimmed records leave in a MemoryJournal
            journal = memory
        else:
            path = tmp_path / "gap.db"
            async with open_sqlite_journal(path) as created:
                if checkpoint is not None:
                    await created.set_checkpoint(checkpoint, 0)
            conn = sqlite3.connect(path)
            with conn:
                conn.execute("UPDATE meta SET value = ? WHERE key = 'last_offset'", (GAP,))
            conn.close()
            journal = SQLiteJournal(path)
        await journal.append([sig(i) for i in range(3)])
        assert (await journal.first_offset(), await journal.last_offset()) == (GAP + 1, GAP + 3)
        made.append(journal)
        return journal

    yield make
    for journal in made:
        await journal.aclose()


@pytest.fixture
def skipped_events() -> Iterator[list[Event]]:
    events: list[Event] = []
    attachment = attach("jido.bus.skipped", events.append)
    yield events
    attachment.detach()


async def cross_gap(sub: Subscription) -> int:
    """Take and ack the first delivery, tracing memory meanwhile; returns the peak traced, in bytes."""
    tracemalloc.start()
    try:
        delivery = await sub.next()
        await sub.ack(delivery.offset)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert delivery.offset == GAP + 1
    return peak


def skip_lines(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if "removed by retention" in r.getMessage()]


class TestRetentionGap:
    @pytest.mark.parametrize("name", [None, "billing"], ids=["transient", "durable"])
    async def test_start_before_oldest_jumps_in_one_step(
        self,
        gap_journal: GapJournal,
        name: str | None,
        caplog: pytest.LogCaptureFixture,
        skipped_events: list[Event],
    ) -> None:
        """Subscribing from offset 1 across a gap of 2,000,000 skips it as one range and reports it once."""
        caplog.set_level(logging.WARNING, logger="jido.bus")
        async with open_bus(await gap_journal()) as bus:
            sub = await bus.subscribe("**", name=name, start_from=1)
            peak = await cross_gap(sub)
            assert peak < PEAK_BOUND
            assert len(sub._done) == 0  # every skipped offset folded into the checkpoint at once
            assert (sub.checkpoint, sub.statistics().skipped, sub.statistics().cursor) == (
                GAP + 1,
                GAP,
                GAP + 2,
            )
            # The other two records come in order, without another skip.
            for _ in range(2):
                delivery = await sub.next()
                await sub.ack(delivery.offset)
            assert sub.checkpoint == GAP + 3
        first = "transient-1:**" if name is None else name
        assert skip_lines(caplog) == [
            f"subscription {first!r} skipped offsets 1..{GAP} ({GAP}): removed by retention before it read them"
        ]
        assert [e.fields for e in skipped_events] == [{"subscription": first, "first": 1, "last": GAP}]

    async def test_durable_resume_jumps_in_one_step(self, gap_journal: GapJournal) -> None:
        """A durable subscription stored before the gap resumes across it in one step and stores the checkpoint
        past it."""
        journal = await gap_journal(checkpoint="billing")
        async with open_bus(journal) as bus:
            sub = await bus.subscribe("**", name="billing", start_from="latest")  # the stored checkpoint wins
            peak = await cross_gap(sub)
            assert peak < PEAK_BOUND
            assert (len(sub._done), sub.statistics().skipped) == (0, GAP)
            await bus.unsubscribe(sub)
            assert await journal.get_checkpoint("billing") == GAP + 1

    async def test_gap_above_deliveries_in_flight(self) -> None:
        """Retention that overtakes a subscription with a delivery in flight: the gap and what follows are
        one range above the checkpoint, which moves past all of it when the delivery is acked."""
        journal = MemoryJournal()
        async with open_bus(journal) as bus:
            sub = await bus.subscribe("**", start_from="beginning")
            await bus.publish(sig(0))
            held = await sub.next()
            assert held.offset == 1
            await bus.publish([sig(i) for i in range(1, 5)])
            await journal.trim(max_entries=2, now=bus.clock.now())  # 2..3 removed, unread
            later = [await sub.next() for _ in range(2)]
            for delivery in later:
                await sub.ack(delivery.offset)
            assert [d.offset for d in later] == [4, 5]
            assert (sub.checkpoint, len(sub._done), sub.statistics().skipped) == (0, 1, 2)
            await sub.ack(held.offset)
            assert (sub.checkpoint, len(sub._done)) == (5, 0)
