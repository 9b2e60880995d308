"""A subscription's lag counts the records it matches and has not read: records of other types appended
meanwhile never make a subscription with nothing to do look behind."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
import trio
import trio.testing

from jido.bus.bus import Retention, open_bus
from jido.bus.journal import Journal
from jido.bus.memory import MemoryJournal
from jido.bus.sqlite import SQLiteJournal
from jido.signal import Signal


@pytest.fixture(params=["memory", "sqlite"])
def journal(request: pytest.FixtureRequest, tmp_path: Path) -> Journal:
    return MemoryJournal() if request.param == "memory" else SQLiteJournal(tmp_path / "j.db")


def sig(signal_type: str) -> Signal:
    return Signal(type=signal_type, source="/test")


class TestLag:
    async def test_other_types_do_not_count(self, journal: Journal) -> None:
        """An idle subscription stays at lag 0 while records it does not match are appended."""
        async with open_bus(journal) as bus:
            sub = await bus.subscribe("order.*")
            await bus.publish([sig("audit.seen") for _ in range(100)])
            assert sub.statistics().lag == 0
            stats = await bus.statistics()
            assert [s.lag for s in stats.subscriptions] == [0]

    async def test_matching_records_not_read(self, journal: Journal) -> None:
        """Matching records count until they are read, however many others lie between them."""
        async with open_bus(journal) as bus:
            sub = await bus.subscribe("order.*")
            for _ in range(3):
                await bus.publish([sig("audit.seen"), sig("order.placed"), sig("audit.seen")])
            assert sub.statistics().lag == 3
            await sub.ack((await sub.next()).offset)
            assert sub.statistics().lag == 2
            for _ in range(2):
                await sub.next()
            assert sub.statistics().lag == 0
            await bus.publish(sig("audit.seen"))
            assert sub.statistics().lag == 0

    async def test_older_records_count_whatever_their_type(self, journal: Journal) -> None:
        """Records older than the subscription count while it replays them (the journal is not scanned),
        and lag is 0 once it has read them."""
        async with open_bus(journal) as bus:
            await bus.publish([sig("audit.seen"), sig("order.placed"), sig("audit.seen")])
            sub = await bus.subscribe("order.*", start_from="beginning")
            await bus.publish(sig("order.placed"))
            assert sub.statistics().lag == 4  # offsets 1..3, then one matching record since
            assert (await sub.next()).offset == 2
            assert sub.statistics().lag == 2
            assert (await sub.next()).offset == 4
            assert sub.statistics().lag == 0

    async def test_a_reader_that_keeps_up_ends_at_zero(
        self, journal: Journal, autojump_clock: trio.testing.MockClock
    ) -> None:
        """A consumer reading while records are published (some read before the bus routes them) leaves no
        count behind."""
        async with open_bus(journal) as bus, trio.open_nursery() as nursery:
            sub = await bus.subscribe("order.*")
            received: list[int] = []

            async def consume() -> None:
                async for delivery in sub:
                    received.append(delivery.offset)
                    await sub.ack(delivery.offset)

            nursery.start_soon(consume)
            for batch in range(20):
                await bus.publish([sig("order.placed"), sig("audit.seen"), sig("order.placed")])
                if batch % 3 == 0:
                    await trio.testing.wait_all_tasks_blocked()
            await trio.testing.wait_all_tasks_blocked()
            assert len(received) == 40
            assert sub.statistics().lag == 0
            nursery.cancel_scope.cancel()

    async def test_exact_again_after_a_retention_gap(
        self, journal: Journal, autojump_clock: trio.testing.MockClock
    ) -> None:
        """Matching records that retention removed before they were read stop counting once the subscription
        has crossed the gap."""
        async with open_bus(journal, retention=Retention(max_entries=2)) as bus:
            sub = await bus.subscribe("order.*")
            await bus.publish([sig("order.placed") for _ in range(6)])
            assert sub.statistics().lag == 6
            await bus.apply_retention()
            assert [(await sub.next()).offset for _ in range(2)] == [5, 6]
            with trio.move_on_after(dt.timedelta(seconds=1).total_seconds()):
                await sub.next()
            assert (sub.statistics().lag, sub.statistics().skipped) == (0, 4)


class TestRetentionTimer:
    async def test_due_while_the_bus_closes(
        self, journal: Journal, autojump_clock: trio.testing.MockClock
    ) -> None:
        """The retention timer coming due while the bus closes its journal ends the loop quietly: leaving
        ``open_bus`` does not raise ClosedError."""
        async with open_bus(journal, retention=Retention(max_entries=2, interval=60)) as bus:
            await bus.publish([sig("order.placed") for _ in range(3)])
            await trio.sleep(59)
            await bus.apply_retention()
            assert await journal.first_offset() == 2
