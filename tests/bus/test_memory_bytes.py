"""The memory journal is bounded in bytes as well as counts: records and dead letters past their byte bounds
are evicted oldest first and counted; a subscriber that had not read evicted records sees them skipped."""

from __future__ import annotations

import datetime as dt

import pytest

from jido.bus.bus import open_bus
from jido.bus.journal import Record
from jido.bus.memory import MemoryJournal
from jido.signal import Signal

NOW = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)


def big(n: int, size: int = 10_000) -> Signal:
    return Signal(type="blob.put", source="/test", data={"n": n, "blob": "x" * size})


class TestRecords:
    async def test_oldest_evicted_past_max_bytes(self) -> None:
        """Appending past max_bytes evicts the oldest records; offsets go on, the bytes stay bounded."""
        journal = MemoryJournal(max_bytes=50_000)
        for n in range(20):
            await journal.append([big(n)])
        stats = journal.statistics()
        assert stats.retained_bytes <= 50_000
        assert await journal.last_offset() == 20
        first = await journal.first_offset()
        assert stats.records_evicted == first - 1 > 0
        assert [r.offset for r in await journal.read(1)] == list(range(first, 21))

    async def test_newest_record_always_kept(self) -> None:
        """A record bigger than the whole bound is kept alone rather than lost at once."""
        journal = MemoryJournal(max_bytes=100)
        await journal.append([big(1), big(2)])
        assert [r.offset for r in await journal.read(1)] == [2]

    async def test_trim_counts_bytes(self) -> None:
        """Records removed by retention give their bytes back."""
        journal = MemoryJournal()
        await journal.append([big(n) for n in range(10)])
        full = journal.statistics().retained_bytes
        assert await journal.trim(max_entries=5, now=NOW) == 5
        assert 0 < journal.statistics().retained_bytes < full

    async def test_subscriber_sees_evicted_records_skipped(self) -> None:
        """A subscription behind the evictions skips them and says how many."""
        journal = MemoryJournal(max_bytes=30_000)
        async with open_bus(journal) as bus:
            sub = await bus.subscribe("**", start_from="beginning")
            await bus.publish([big(n) for n in range(10)])
            delivery = await sub.next()
            assert delivery is not None and delivery.offset > 1
            assert sub.statistics().skipped == delivery.offset - 1

    @pytest.mark.parametrize("option", ["max_bytes", "max_dead_letter_bytes"])
    def test_bad_bound(self, option: str) -> None:
        """A byte bound must be an int >= 1."""
        with pytest.raises(ValueError, match=rf"^{option} must be >= 1, got 0$"):
            MemoryJournal(**{option: 0})


class TestDeadLetters:
    async def test_oldest_evicted_past_max_dead_letter_bytes(self) -> None:
        """Dead letters past their byte bound are evicted oldest first, counted, and their bytes given back."""
        journal = MemoryJournal(max_dead_letter_bytes=35_000)
        for n in range(10):
            await journal.add_dead_letter("sub", Record(0, big(n), NOW), "boom", 1)
        stats = journal.statistics()
        assert stats.dead_letter_bytes <= 35_000 and stats.dead_letters == 3
        assert stats.dead_letters_evicted == 7
        kept = await journal.dead_letters()
        assert [d.record.signal.data["n"] for d in kept] == [7, 8, 9]  # type: ignore[index]
        assert await journal.remove_dead_letter(kept[0].id)
        assert journal.statistics().dead_letter_bytes < stats.dead_letter_bytes


class TestReadBytes:
    async def test_a_read_is_bounded_in_bytes(self) -> None:
        """A read of large records stops near 1 MiB of JSON (a stalled reader keeps no more of them alive
        after the journal lets them go), and reading on gives the rest in order."""
        journal = MemoryJournal()
        await journal.append([big(i, 300_000) for i in range(10)])
        assert [r.offset for r in await journal.read(1, limit=256)] == [1, 2, 3]
        offsets: list[int] = []
        start = 1
        while batch := await journal.read(start, limit=256):
            offsets.extend(r.offset for r in batch)
            start = batch[-1].offset + 1
        assert offsets == list(range(1, 11))

    async def test_a_record_past_the_bound_is_read_alone(self) -> None:
        """A record larger than the bound still reads, one per read."""
        journal = MemoryJournal()
        await journal.append([big(i, 1_500_000) for i in range(2)])
        assert [r.offset for r in await journal.read(1, limit=256)] == [1]
