"""The journal contract: every promise of jido.bus.journal, checked on each backend (memory, SQLite, Redis)."""

from __future__ import annotations

import datetime as dt
import inspect
import logging
import zoneinfo
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
import trio

from jido.bus.journal import DeadLetterRecord, DurableBinding, Journal, Record
from jido.bus.memory import READ_BYTES, MemoryJournal
from jido.errors import ClosedError
from jido.signal import Signal
from tests.bus.journal_support import T0, JournalFactory, ManualClock, sig

# Fixtures, imported by name so that pytest finds them in this module (`X as X` marks the re-export).
from tests.bus.journal_support import clock as clock
from tests.bus.journal_support import journal as journal
from tests.bus.journal_support import make_journal as make_journal
from tests.redis.server import redis_namespace as redis_namespace
from tests.redis.server import redis_server as redis_server

HOUR = dt.timedelta(hours=1)
PROTOCOL_METHODS = [
    "append",
    "read",
    "offset_at",
    "first_offset",
    "last_offset",
    "get_checkpoint",
    "set_checkpoint",
    "bind_subscription",
    "add_dead_letter",
    "dead_letters",
    "remove_dead_letter",
    "trim",
    "aclose",
]


async def fill(journal: Journal, clock: ManualClock, count: int, *, step: float = 60) -> list[Record]:
    """Append ``count`` signals one by one, the clock moving ``step`` seconds before each."""
    records = []
    for i in range(count):
        clock.advance(step)
        records += await journal.append([sig(i)])
    return records


class TestProtocol:
    async def test_is_a_journal(self, journal: Journal) -> None:
        """Each backend satisfies the Journal protocol at runtime."""
        assert isinstance(journal, Journal)

    @pytest.mark.parametrize("name", PROTOCOL_METHODS)
    async def test_method_matches_protocol(self, journal: Journal, name: str) -> None:
        """Each method has the protocol's exact signature and is async."""
        method = getattr(type(journal), name)
        assert inspect.iscoroutinefunction(method)
        assert inspect.signature(method) == inspect.signature(getattr(Journal, name))

    @pytest.mark.parametrize("name", ["forget_subscription", "count_durable"])
    async def test_optional_method_matches_memory(self, journal: Journal, name: str) -> None:
        """The durable-subscription methods the protocol does not require (the bus's forget and the gateway's
        limit use them) are on every backend, async, with the memory journal's signature."""
        method = getattr(type(journal), name)
        assert inspect.iscoroutinefunction(method)
        assert inspect.signature(method) == inspect.signature(getattr(MemoryJournal, name))


class TestAppend:
    async def test_offsets_start_at_one(self, journal: Journal) -> None:
        """The first records get offsets 1, 2, 3 and the signals given, in order."""
        signals = [sig(0), sig(1), sig(2)]
        records = await journal.append(signals)
        assert [r.offset for r in records] == [1, 2, 3]
        assert [r.signal for r in records] == signals

    async def test_offsets_continue(self, journal: Journal) -> None:
        """A second append continues after the first."""
        await journal.append([sig(0), sig(1)])
        records = await journal.append([sig(2)])
        assert [r.offset for r in records] == [3]
        assert await journal.last_offset() == 3

    async def test_appended_at_from_clock(self, journal: Journal, clock: ManualClock) -> None:
        """appended_at is the clock's time, in UTC, the same for a whole append."""
        clock.current = dt.datetime(2026, 1, 1, 7, 0, tzinfo=zoneinfo.ZoneInfo("America/New_York"))
        records = await journal.append([sig(0), sig(1)])
        assert [r.appended_at for r in records] == [dt.datetime(2026, 1, 1, 12, 0, tzinfo=dt.UTC)] * 2
        assert records[0].appended_at.utcoffset() == dt.timedelta(0)

    async def test_appended_at_never_decreases(self, journal: Journal, clock: ManualClock) -> None:
        """When the clock steps back, records keep the last time given."""
        clock.advance(60)
        first = await journal.append([sig(0)])
        clock.advance(-3600)
        second = await journal.append([sig(1)])
        assert second[0].appended_at == first[0].appended_at == T0 + dt.timedelta(seconds=60)

    async def test_empty_append(self, journal: Journal) -> None:
        """Appending nothing returns no records and uses no offset."""
        assert await journal.append([]) == []
        assert await journal.last_offset() == 0
        assert [r.offset for r in await journal.append([sig()])] == [1]

    async def test_any_sequence(self, journal: Journal) -> None:
        """A tuple of signals is accepted like a list."""
        records = await journal.append((sig(0), sig(1)))
        assert [r.offset for r in records] == [1, 2]

    async def test_concurrent_appends(self, journal: Journal) -> None:
        """Appends from 50 tasks at once get distinct offsets, consecutive within each call, 1..100 in all."""
        results: dict[int, list[Record]] = {}
        signals = {i: [sig(i), sig(i + 1000)] for i in range(50)}

        async def one(i: int) -> None:
            results[i] = await journal.append(signals[i])

        async with trio.open_nursery() as nursery:
            for i in range(50):
                nursery.start_soon(one, i)
        for i, records in results.items():
            assert [r.signal for r in records] == signals[i]
            assert records[1].offset == records[0].offset + 1
        assert sorted(r.offset for rs in results.values() for r in rs) == list(range(1, 101))
        assert [r.offset for r in await journal.read()] == list(range(1, 101))

    async def test_one_signal_rejected(self, journal: Journal) -> None:
        """A single Signal (not in a list) is refused with a hint."""
        with pytest.raises(
            TypeError, match=r"^signals must be a sequence of Signal, got one Signal \(wrap it in a list\)$"
        ):
            await journal.append(sig())  # type: ignore[arg-type]

    @pytest.mark.parametrize(("value", "shown"), [(None, "NoneType"), ("order.placed", "str"), ({1}, "set")])
    async def test_non_sequence_rejected(self, journal: Journal, value: object, shown: str) -> None:
        """Something that is not a sequence of signals is refused, naming what it was."""
        with pytest.raises(TypeError, match=rf"^signals must be a sequence of Signal, got {shown}$"):
            await journal.append(value)  # type: ignore[arg-type]

    async def test_non_signal_item_rejected(self, journal: Journal) -> None:
        """An item that is not a Signal is refused by index, and nothing is appended."""
        with pytest.raises(TypeError, match=r"^signals\[1\] must be a Signal, got dict$"):
            await journal.append([sig(), {"type": "order.placed"}])  # type: ignore[list-item]
        assert await journal.last_offset() == 0

    async def test_naive_clock_rejected(self, make_journal: JournalFactory) -> None:
        """A clock that gives a naive datetime makes append fail clearly, appending nothing."""
        journal = make_journal(clock=ManualClock(dt.datetime(2026, 1, 1)))
        with pytest.raises(
            ValueError,
            match=r"^clock\.now\(\) must return a timezone-aware datetime, got datetime\.datetime\(2026, 1, 1, 0, 0\)$",
        ):
            await journal.append([sig()])
        assert await journal.last_offset() == 0

    async def test_bad_clock_rejected(self, make_journal: JournalFactory) -> None:
        """A clock without now() is refused when the journal is made."""
        with pytest.raises(TypeError, match=r"^clock must have a now\(\) method, got 3$"):
            make_journal(clock=3)


class TestRead:
    async def test_all_in_order(self, journal: Journal, clock: ManualClock) -> None:
        """read() returns every record, in offset order, equal to what append returned."""
        records = await fill(journal, clock, 5)
        assert await journal.read() == records

    async def test_from_start(self, journal: Journal) -> None:
        """read(start) begins at start."""
        await journal.append([sig(i) for i in range(5)])
        assert [r.offset for r in await journal.read(3)] == [3, 4, 5]

    async def test_limit(self, journal: Journal) -> None:
        """read(limit=n) returns at most n records."""
        await journal.append([sig(i) for i in range(5)])
        assert [r.offset for r in await journal.read(2, limit=2)] == [2, 3]

    async def test_start_below_first_retained(self, journal: Journal, clock: ManualClock) -> None:
        """A start below the first retained record starts there (the caller sees the gap)."""
        await journal.append([sig(i) for i in range(5)])
        await journal.trim(max_entries=2, now=clock.now())
        assert [r.offset for r in await journal.read(1)] == [4, 5]

    async def test_start_past_last(self, journal: Journal) -> None:
        """A start past the last record reads nothing."""
        await journal.append([sig(0)])
        assert await journal.read(2) == []
        assert await journal.read(1000) == []

    async def test_empty_journal(self, journal: Journal) -> None:
        """A new journal reads nothing."""
        assert await journal.read() == []

    async def test_signals_kept_exactly(self, journal: Journal) -> None:
        """Signals come back equal: extensions, subject, bytes data, Unicode, nested data, all attributes."""
        signals = [
            Signal(
                type="order.item.added",
                source="urn:shop:7",
                subject="order-42",
                data={"items": [1, 2.5, None, True, "caf\u00e9 \U0001f600"], "nested": {"a": {"b": []}}},
                dataschema="https://example.com/schema",
                extensions={"correlationid": "c-1", "causationid": "x", "priority": 3, "urgent": True},
                time=dt.datetime(2025, 5, 6, 7, 8, 9, 123456, tzinfo=dt.UTC),
            ),
            Signal(type="blob.stored", source="/b", data=b"\x00\xffbinary"),
            Signal(type="empty.event", source="/e"),
        ]
        await journal.append(signals)
        assert [r.signal for r in await journal.read()] == signals

    @pytest.mark.parametrize(
        ("kwargs", "error", "message"),
        [
            ({"start": 0}, ValueError, r"^start must be >= 1, got 0$"),
            ({"start": -1}, ValueError, r"^start must be >= 1, got -1$"),
            ({"start": "1"}, TypeError, r"^start must be an int, got '1'$"),
            ({"start": True}, TypeError, r"^start must be an int, got True$"),
            ({"limit": 0}, ValueError, r"^limit must be >= 1, got 0$"),
            ({"limit": 1.5}, TypeError, r"^limit must be an int, got 1\.5$"),
        ],
    )
    async def test_bad_arguments(
        self, journal: Journal, kwargs: dict[str, Any], error: type[Exception], message: str
    ) -> None:
        """A start or limit that is not an int >= 1 is refused, naming the argument."""
        with pytest.raises(error, match=message):
            await journal.read(**kwargs)


def big(i: int, size: int) -> Signal:
    """A signal whose JSON is a little over ``size`` bytes."""
    return Signal(type="big.blob", source="/test", data={"i": i, "blob": "x" * size})


class TestReadBytes:
    """A read returns at most about READ_BYTES of JSON (at least one record): a subscription that stopped
    reading keeps no more than that of what it read ahead, and reading on gives the rest."""

    async def test_a_read_is_bounded_in_bytes(self, journal: Journal) -> None:
        """A read of large records stops once the next would pass the bound; reading on from the last
        offset + 1 gives the rest, in order, until a read comes back empty."""
        size = READ_BYTES * 3 // 10
        await journal.append([big(i, size) for i in range(10)])
        assert [r.offset for r in await journal.read(1, limit=256)] == [1, 2, 3]
        offsets: list[int] = []
        start = 1
        while batch := await journal.read(start, limit=256):
            offsets.extend(r.offset for r in batch)
            start = batch[-1].offset + 1
        assert offsets == list(range(1, 11))

    async def test_a_record_past_the_bound_is_read_alone(self, journal: Journal) -> None:
        """A record larger than the bound still reads, one per read, and comes back whole."""
        records = await journal.append([big(i, READ_BYTES * 3 // 2) for i in range(2)])
        assert await journal.read(1, limit=256) == records[:1]
        assert await journal.read(2, limit=256) == records[1:]

    async def test_small_records_up_to_the_limit(self, journal: Journal) -> None:
        """Small records are bounded by the limit alone, however many reads the backend makes of them."""
        await journal.append([sig(i) for i in range(700)])
        assert [r.offset for r in await journal.read(5, limit=600)] == list(range(5, 605))
        assert len(await journal.read(1, limit=1000)) == 700


class TestHugeNumbers:
    """Offsets, limits and ids past 64 bits (a gateway client may send any JSON integer) read as nothing or
    as everything, never crash the reader (SQLite's integers are 64-bit)."""

    async def test_read_past_64_bits(self, journal: Journal) -> None:
        """A start past 64 bits reads nothing; a limit past 64 bits reads everything."""
        await journal.append([sig(0), sig(1)])
        assert await journal.read(2**70) == []
        assert await journal.read(2**63 - 1) == []
        assert [r.offset for r in await journal.read(1, limit=2**70)] == [1, 2]

    async def test_dead_letters_past_64_bits(self, journal: Journal) -> None:
        """A listing limit past 64 bits lists everything; removing an id past 64 bits removes nothing."""
        [record] = await journal.append([sig(0)])
        await journal.add_dead_letter("a", record, "e", 1)
        assert len(await journal.dead_letters(limit=2**70)) == 1
        assert await journal.remove_dead_letter(2**70) is False


class TestFirstAndLastOffset:
    async def test_new_journal(self, journal: Journal) -> None:
        """A new journal has first offset 1 and last offset 0."""
        assert (await journal.first_offset(), await journal.last_offset()) == (1, 0)

    async def test_after_appends(self, journal: Journal) -> None:
        """After appends, first is 1 and last the newest offset."""
        await journal.append([sig(i) for i in range(3)])
        assert (await journal.first_offset(), await journal.last_offset()) == (1, 3)

    async def test_offsets_never_reused(self, journal: Journal, clock: ManualClock) -> None:
        """After retention removed every record, first is last + 1 and new offsets continue, not restart."""
        await journal.append([sig(i) for i in range(3)])
        assert await journal.trim(max_entries=0, now=clock.now()) == 3
        assert (await journal.first_offset(), await journal.last_offset()) == (4, 3)
        assert [r.offset for r in await journal.append([sig(9)])] == [4]
        assert await journal.first_offset() == 4


class TestOffsetAt:
    async def test_moments(self, journal: Journal, clock: ManualClock) -> None:
        """offset_at finds the first record appended at or after a moment, before, between, at and after."""
        records = await fill(journal, clock, 3)  # at T0+60s, +120s, +180s
        at = [r.appended_at for r in records]
        assert await journal.offset_at(T0) == 1
        assert await journal.offset_at(at[0]) == 1
        assert await journal.offset_at(at[0] + dt.timedelta(microseconds=1)) == 2
        assert await journal.offset_at(at[2]) == 3
        assert await journal.offset_at(at[2] + dt.timedelta(microseconds=1)) == 4

    async def test_equal_times(self, journal: Journal, clock: ManualClock) -> None:
        """Among records appended at the same time, the first one is found."""
        await fill(journal, clock, 2)
        clock.advance(60)
        await journal.append([sig(2), sig(3)])
        await journal.append([sig(4)])
        assert await journal.offset_at(clock.now()) == 3

    async def test_other_time_zone(self, journal: Journal, clock: ManualClock) -> None:
        """A moment in another time zone means the same instant."""
        await fill(journal, clock, 3)
        moment = (T0 + dt.timedelta(seconds=120)).astimezone(zoneinfo.ZoneInfo("Asia/Tokyo"))
        assert await journal.offset_at(moment) == 2

    async def test_empty_journal(self, journal: Journal) -> None:
        """On a new journal, every moment maps to offset 1."""
        assert await journal.offset_at(T0) == 1

    async def test_after_trim(self, journal: Journal, clock: ManualClock) -> None:
        """A moment before the first retained record maps to the first retained record."""
        await fill(journal, clock, 4)
        await journal.trim(max_entries=2, now=clock.now())
        assert await journal.offset_at(T0) == 3

    async def test_naive_moment_rejected(self, journal: Journal) -> None:
        """A naive moment is refused."""
        with pytest.raises(
            ValueError, match=r"^moment must be timezone-aware, got naive 2026-01-01T00:00:00$"
        ):
            await journal.offset_at(dt.datetime(2026, 1, 1))

    async def test_non_datetime_rejected(self, journal: Journal) -> None:
        """A moment that is not a datetime is refused."""
        with pytest.raises(TypeError, match=r"^moment must be a datetime, got '2026-01-01'$"):
            await journal.offset_at("2026-01-01")  # type: ignore[arg-type]


class TestCheckpoints:
    async def test_unknown_name(self, journal: Journal) -> None:
        """A name never stored has no checkpoint."""
        assert await journal.get_checkpoint("billing") is None

    async def test_set_and_get(self, journal: Journal) -> None:
        """A stored offset is returned by set and by get."""
        await journal.append([sig(i) for i in range(5)])
        assert await journal.set_checkpoint("billing", 3) == 3
        assert await journal.get_checkpoint("billing") == 3

    async def test_never_moves_backwards(self, journal: Journal) -> None:
        """Storing a lower offset keeps the higher one, and says so."""
        await journal.append([sig(i) for i in range(5)])
        await journal.set_checkpoint("billing", 4)
        assert await journal.set_checkpoint("billing", 2) == 4
        assert await journal.get_checkpoint("billing") == 4
        assert await journal.set_checkpoint("billing", 5) == 5

    async def test_names_are_independent(self, journal: Journal) -> None:
        """Each name has its own checkpoint."""
        await journal.append([sig(i) for i in range(5)])
        await journal.set_checkpoint("a", 4)
        await journal.set_checkpoint("b", 1)
        assert (await journal.get_checkpoint("a"), await journal.get_checkpoint("b")) == (4, 1)

    async def test_zero_allowed(self, journal: Journal) -> None:
        """Offset 0 (nothing finished yet) can be stored, even on a new journal."""
        assert await journal.set_checkpoint("billing", 0) == 0
        assert await journal.get_checkpoint("billing") == 0

    async def test_past_last_offset_rejected(self, journal: Journal) -> None:
        """An offset past the newest record is refused: nothing can have finished with it."""
        await journal.append([sig(0), sig(1)])
        with pytest.raises(ValueError, match=r"^offset 3 is past the last offset appended \(2\)$"):
            await journal.set_checkpoint("billing", 3)
        assert await journal.get_checkpoint("billing") is None

    async def test_kept_by_trim(self, journal: Journal, clock: ManualClock) -> None:
        """Retention never removes a checkpoint."""
        await journal.append([sig(i) for i in range(3)])
        await journal.set_checkpoint("billing", 2)
        await journal.trim(max_entries=0, now=clock.now())
        assert await journal.get_checkpoint("billing") == 2

    @pytest.mark.parametrize(
        ("name", "offset", "error", "message"),
        [
            ("", 0, ValueError, r"^name must not be empty$"),
            (7, 0, TypeError, r"^name must be a str, got 7$"),
            ("billing", -1, ValueError, r"^offset must be >= 0, got -1$"),
            ("billing", "1", TypeError, r"^offset must be an int, got '1'$"),
            ("billing", False, TypeError, r"^offset must be an int, got False$"),
        ],
    )
    async def test_bad_set(
        self, journal: Journal, name: Any, offset: Any, error: type[Exception], message: str
    ) -> None:
        """set_checkpoint refuses a bad name or offset, naming it."""
        with pytest.raises(error, match=message):
            await journal.set_checkpoint(name, offset)

    @pytest.mark.parametrize(
        ("name", "error", "message"),
        [("", ValueError, r"^name must not be empty$"), (None, TypeError, r"^name must be a str, got None$")],
    )
    async def test_bad_get(self, journal: Journal, name: Any, error: type[Exception], message: str) -> None:
        """get_checkpoint refuses a bad name."""
        with pytest.raises(error, match=message):
            await journal.get_checkpoint(name)


class TestDeadLetters:
    async def test_add(self, journal: Journal, clock: ManualClock) -> None:
        """A dead letter keeps the record, error and attempts, gets id 1 and the clock's time."""
        [record] = await journal.append([sig(0)])
        clock.advance(5)
        letter = await journal.add_dead_letter("billing", record, "ValueError: boom", 3)
        assert letter == DeadLetterRecord(1, "billing", record, "ValueError: boom", 3, clock.now())
        assert await journal.dead_letters() == [letter]

    async def test_oldest_first(self, journal: Journal) -> None:
        """Dead letters are listed oldest first, with increasing ids."""
        records = await journal.append([sig(i) for i in range(3)])
        for record in reversed(records):
            await journal.add_dead_letter("billing", record, "e", 1)
        letters = await journal.dead_letters()
        assert [(d.id, d.record.offset) for d in letters] == [(1, 3), (2, 2), (3, 1)]

    async def test_by_subscription(self, journal: Journal) -> None:
        """Given a subscription, only its dead letters are listed."""
        records = await journal.append([sig(i) for i in range(3)])
        await journal.add_dead_letter("a", records[0], "e", 1)
        await journal.add_dead_letter("b", records[1], "e", 1)
        await journal.add_dead_letter("a", records[2], "e", 1)
        assert [d.id for d in await journal.dead_letters("a")] == [1, 3]
        assert [d.id for d in await journal.dead_letters("b")] == [2]
        assert await journal.dead_letters("c") == []

    async def test_limit(self, journal: Journal) -> None:
        """At most limit dead letters are listed, oldest first."""
        records = await journal.append([sig(i) for i in range(3)])
        for record in records:
            await journal.add_dead_letter("a", record, "e", 1)
        assert [d.id for d in await journal.dead_letters(limit=2)] == [1, 2]
        assert [d.id for d in await journal.dead_letters("a", limit=1)] == [1]

    async def test_remove(self, journal: Journal) -> None:
        """Removing a dead letter says True once, then False; others stay."""
        records = await journal.append([sig(0), sig(1)])
        await journal.add_dead_letter("a", records[0], "e", 1)
        await journal.add_dead_letter("a", records[1], "e", 1)
        assert await journal.remove_dead_letter(1) is True
        assert await journal.remove_dead_letter(1) is False
        assert await journal.remove_dead_letter(99) is False
        assert [d.id for d in await journal.dead_letters()] == [2]

    async def test_ids_not_reused(self, journal: Journal) -> None:
        """After removing the newest dead letter, the next one still gets a new id."""
        [record] = await journal.append([sig(0)])
        await journal.add_dead_letter("a", record, "e", 1)
        await journal.remove_dead_letter(1)
        assert (await journal.add_dead_letter("a", record, "e", 2)).id == 2

    async def test_kept_by_trim(self, journal: Journal, clock: ManualClock) -> None:
        """A dead letter outlives the retention of its record."""
        [record] = await journal.append([sig(0)])
        letter = await journal.add_dead_letter("a", record, "e", 1)
        assert await journal.trim(max_entries=0, now=clock.now()) == 1
        assert await journal.read() == []
        assert await journal.dead_letters() == [letter]

    async def test_zero_attempts_allowed(self, journal: Journal) -> None:
        """A record given up on before any delivery can be dead-lettered with 0 attempts."""
        [record] = await journal.append([sig(0)])
        assert (await journal.add_dead_letter("a", record, "lagging", 0)).attempts == 0

    @pytest.mark.parametrize(
        ("args", "error", "message"),
        [
            (("", "R", "e", 1), ValueError, r"^subscription must not be empty$"),
            ((None, "R", "e", 1), TypeError, r"^subscription must be a str, got None$"),
            (("a", "not a record", "e", 1), TypeError, r"^record must be a Record, got str$"),
            (("a", "R", ValueError("e"), 1), TypeError, r"^error must be a str, got ValueError\('e'\)$"),
            (("a", "R", "e", -1), ValueError, r"^attempts must be >= 0, got -1$"),
            (("a", "R", "e", 1.0), TypeError, r"^attempts must be an int, got 1\.0$"),
            (("a", "Rneg", "e", 1), ValueError, r"^record\.offset must be >= 0, got -1$"),
            (
                ("a", "Rnaive", "e", 1),
                ValueError,
                r"^record\.appended_at must be timezone-aware, got naive 2026-01-01T00:00:00$",
            ),
        ],
    )
    async def test_bad_add(
        self, journal: Journal, args: tuple[Any, ...], error: type[Exception], message: str
    ) -> None:
        """add_dead_letter refuses a bad argument, naming it, and keeps nothing."""
        records = {
            "R": Record(1, sig(), T0),
            "Rneg": Record(-1, sig(), T0),
            "Rnaive": Record(1, sig(), dt.datetime(2026, 1, 1)),
        }
        args = tuple(records.get(a, a) if isinstance(a, str) and a.startswith("R") else a for a in args)
        with pytest.raises(error, match=message):
            await journal.add_dead_letter(*args)
        assert await journal.dead_letters() == []

    @pytest.mark.parametrize(
        ("kwargs", "error", "message"),
        [
            ({"subscription": ""}, ValueError, r"^subscription must not be empty$"),
            ({"subscription": 1}, TypeError, r"^subscription must be a str, got 1$"),
            ({"limit": 0}, ValueError, r"^limit must be >= 1, got 0$"),
        ],
    )
    async def test_bad_list(
        self, journal: Journal, kwargs: dict[str, Any], error: type[Exception], message: str
    ) -> None:
        """dead_letters refuses a bad subscription or limit."""
        with pytest.raises(error, match=message):
            await journal.dead_letters(**kwargs)

    @pytest.mark.parametrize(
        ("value", "error", "message"),
        [
            (0, ValueError, r"^dead_letter_id must be >= 1, got 0$"),
            ("1", TypeError, r"^dead_letter_id must be an int, got '1'$"),
        ],
    )
    async def test_bad_remove(
        self, journal: Journal, value: Any, error: type[Exception], message: str
    ) -> None:
        """remove_dead_letter refuses an id that is not an int >= 1."""
        with pytest.raises(error, match=message):
            await journal.remove_dead_letter(value)


class TestDeadLetterReasons:
    async def test_default_reason(self, journal: Journal) -> None:
        """A dead letter added without a reason says "max_attempts" (what every bus dead letter meant)."""
        [record] = await journal.append([sig(0)])
        letter = await journal.add_dead_letter("billing", record, "e", 5)
        assert letter.reason == "max_attempts"
        assert [d.reason for d in await journal.dead_letters()] == ["max_attempts"]

    async def test_reason_kept(self, journal: Journal, clock: ManualClock) -> None:
        """The reason given is kept and listed."""
        [record] = await journal.append([sig(0)])
        letter = await journal.add_dead_letter(
            "billing", record, "handler said no", 1, reason="not_retryable"
        )
        assert letter == DeadLetterRecord(
            1, "billing", record, "handler said no", 1, clock.now(), "not_retryable"
        )
        assert await journal.dead_letters() == [letter]

    async def test_signal_never_appended(self, journal: Journal, clock: ManualClock) -> None:
        """A signal that was never appended (offset 0) from a runtime source is kept and listed with the
        subscriptions' dead letters, in the order they came, and by its source."""
        [record] = await journal.append([sig(0)])
        bus_letter = await journal.add_dead_letter("billing", record, "e", 5)
        rejected = Record(0, sig(1, "counter.increment"), clock.now())
        agent_letter = await journal.add_dead_letter(
            "agent:counter-1", rejected, "ValidationError: $.by: expected int", 0, reason="invalid_params"
        )
        assert (agent_letter.record, agent_letter.reason) == (rejected, "invalid_params")
        assert await journal.dead_letters() == [bus_letter, agent_letter]
        assert await journal.dead_letters("agent:counter-1") == [agent_letter]
        assert await journal.remove_dead_letter(agent_letter.id) is True

    @pytest.mark.parametrize(
        ("reason", "error", "message"),
        [
            ("", ValueError, r"^reason must not be empty$"),
            (3, TypeError, r"^reason must be a str, got 3$"),
            (None, TypeError, r"^reason must be a str, got None$"),
        ],
    )
    async def test_bad_reason(
        self, journal: Journal, reason: Any, error: type[Exception], message: str
    ) -> None:
        """A reason that is not a non-empty str is refused, and nothing is kept."""
        with pytest.raises(error, match=message):
            await journal.add_dead_letter("a", Record(1, sig(), T0), "e", 1, reason=reason)
        assert await journal.dead_letters() == []


class TestDeadLetterBound:
    async def test_default_bound(self, make_journal: JournalFactory) -> None:
        """Both backends keep at most 10,000 dead letters unless told otherwise."""
        journal = make_journal()
        default = inspect.signature(type(journal)).parameters["max_dead_letters"].default
        assert default == 10_000

    async def test_oldest_evicted_and_counted(self, make_journal: JournalFactory) -> None:
        """Past max_dead_letters the oldest go first; the statistics count them."""
        journal = make_journal(max_dead_letters=3)
        records = await journal.append([sig(i) for i in range(5)])
        for record in records:
            await journal.add_dead_letter("a", record, "e", 1)
        assert [(d.id, d.record.offset) for d in await journal.dead_letters()] == [(3, 3), (4, 4), (5, 5)]
        assert journal.statistics().dead_letters_evicted == 2  # type: ignore[attr-defined]

    async def test_bound_covers_every_source(self, make_journal: JournalFactory, clock: ManualClock) -> None:
        """Subscriptions' dead letters and the runtime's share one bound (one store, oldest first)."""
        journal = make_journal(clock=clock, max_dead_letters=2)
        [record] = await journal.append([sig(0)])
        await journal.add_dead_letter("billing", record, "e", 5)
        await journal.add_dead_letter("agent:a", Record(0, sig(1), clock.now()), "e", 0, reason="crash")
        await journal.add_dead_letter("agent:b", Record(0, sig(2), clock.now()), "e", 0, reason="no_route")
        assert [d.subscription for d in await journal.dead_letters()] == ["agent:a", "agent:b"]

    async def test_a_flooding_source_evicts_its_own(
        self, make_journal: JournalFactory, clock: ManualClock
    ) -> None:
        """Past the bound a source evicts its own oldest first: a flood of one source's dead letters keeps
        another's (which may wait for a redrive)."""
        journal = make_journal(clock=clock, max_dead_letters=3)
        [record] = await journal.append([sig(0)])
        await journal.add_dead_letter("billing", record, "e", 5)
        for n in range(1, 50):
            await journal.add_dead_letter(
                "agent:a", Record(0, sig(n), clock.now()), "e", 0, reason="no_route"
            )
        kept = await journal.dead_letters()
        assert [d.subscription for d in kept] == ["billing", "agent:a", "agent:a"]
        assert [d.record.signal.data for d in kept[1:]] == [{"i": 48}, {"i": 49}]

    async def test_removal_makes_room(self, make_journal: JournalFactory) -> None:
        """A dead letter removed (redriven) frees its place: the next one evicts nothing."""
        journal = make_journal(max_dead_letters=2)
        records = await journal.append([sig(i) for i in range(3)])
        await journal.add_dead_letter("a", records[0], "e", 1)
        await journal.add_dead_letter("a", records[1], "e", 1)
        assert await journal.remove_dead_letter(1) is True
        await journal.add_dead_letter("a", records[2], "e", 1)
        assert [d.id for d in await journal.dead_letters()] == [2, 3]
        assert journal.statistics().dead_letters_evicted == 0  # type: ignore[attr-defined]

    async def test_evictions_logged_once_per_burst(
        self, make_journal: JournalFactory, clock: ManualClock, caplog: pytest.LogCaptureFixture
    ) -> None:
        """A burst of evictions logs one line, not one per eviction; a minute later the next line says how
        many went since."""
        caplog.set_level(logging.WARNING, logger="jido.bus")
        journal = make_journal(clock=clock, max_dead_letters=2)
        [record] = await journal.append([sig(0)])
        for _ in range(52):
            clock.advance(1)
            await journal.add_dead_letter("a", record, "e", 1)
        clock.advance(60)
        await journal.add_dead_letter("a", record, "e", 1)
        lines = [r.getMessage() for r in caplog.records if "evicted" in r.getMessage()]
        assert len(lines) == 2
        assert lines[0].endswith(
            " evicted 1 oldest dead letters to stay within max_dead_letters=2 (1 evicted in all)"
        )
        assert lines[1].endswith(
            " evicted 50 oldest dead letters to stay within max_dead_letters=2 (51 evicted in all)"
        )
        assert journal.statistics().dead_letters_evicted == 51  # type: ignore[attr-defined]

    @pytest.mark.parametrize(
        ("value", "error", "message"),
        [
            (0, ValueError, r"^max_dead_letters must be >= 1, got 0$"),
            (-5, ValueError, r"^max_dead_letters must be >= 1, got -5$"),
            ("10", TypeError, r"^max_dead_letters must be an int, got '10'$"),
            (True, TypeError, r"^max_dead_letters must be an int, got True$"),
            (None, TypeError, r"^max_dead_letters must be an int, got None$"),
        ],
    )
    async def test_bad_bound(
        self, make_journal: JournalFactory, value: Any, error: type[Exception], message: str
    ) -> None:
        """A bound that is not an int >= 1 is refused when the journal is made."""
        with pytest.raises(error, match=message):
            make_journal(max_dead_letters=value)


class TestBindings:
    async def test_new_name_bound(self, journal: Journal) -> None:
        """Binding a new name stores its checkpoint with its pattern and owner."""
        await journal.append([sig(i) for i in range(3)])
        binding = await journal.bind_subscription("billing", pattern="order.*", owner="tok-a", offset=2)
        assert binding == DurableBinding("billing", "order.*", "tok-a", 2)
        assert await journal.get_checkpoint("billing") == 2

    async def test_bound_name_unchanged(self, journal: Journal) -> None:
        """Binding a bound name again changes nothing and returns what is stored, for the caller to compare."""
        await journal.append([sig(i) for i in range(3)])
        await journal.bind_subscription("billing", pattern="order.*", owner=None, offset=1)
        await journal.set_checkpoint("billing", 2)
        again = await journal.bind_subscription("billing", pattern="user.*", owner="tok-b", offset=0)
        assert again == DurableBinding("billing", "order.*", None, 2)
        assert await journal.get_checkpoint("billing") == 2

    async def test_unbound_checkpoint_adopts(self, journal: Journal) -> None:
        """A checkpoint stored without a binding keeps its offset and adopts the first pattern and owner."""
        await journal.append([sig(i) for i in range(3)])
        await journal.set_checkpoint("billing", 3)
        first = await journal.bind_subscription("billing", pattern="order.*", owner="tok-a", offset=0)
        second = await journal.bind_subscription("billing", pattern="**", owner=None, offset=0)
        assert first == second == DurableBinding("billing", "order.*", "tok-a", 3)

    async def test_names_independent(self, journal: Journal) -> None:
        """Each name has its own binding."""
        await journal.bind_subscription("a", pattern="x.*", owner="o", offset=0)
        b = await journal.bind_subscription("b", pattern="y.*", owner=None, offset=0)
        assert b == DurableBinding("b", "y.*", None, 0)

    async def test_kept_by_trim(self, journal: Journal, clock: ManualClock) -> None:
        """Retention never removes a binding."""
        await journal.append([sig(i) for i in range(3)])
        await journal.bind_subscription("a", pattern="x.*", owner="o", offset=1)
        await journal.trim(max_entries=0, now=clock.now())
        assert await journal.bind_subscription("a", pattern="y", owner=None, offset=0) == DurableBinding(
            "a", "x.*", "o", 1
        )

    async def test_past_last_offset_rejected(self, journal: Journal) -> None:
        """An offset past the newest record is refused and binds nothing."""
        await journal.append([sig(0)])
        with pytest.raises(ValueError, match=r"^offset 2 is past the last offset appended \(1\)$"):
            await journal.bind_subscription("a", pattern="**", owner=None, offset=2)
        assert await journal.get_checkpoint("a") is None

    @pytest.mark.parametrize(
        ("kwargs", "error", "message"),
        [
            ({"name": ""}, ValueError, r"^name must not be empty$"),
            ({"name": 3}, TypeError, r"^name must be a str, got 3$"),
            ({"pattern": ""}, ValueError, r"^pattern must not be empty$"),
            ({"pattern": None}, TypeError, r"^pattern must be a str, got None$"),
            ({"owner": ""}, ValueError, r"^owner must not be empty$"),
            ({"owner": 7}, TypeError, r"^owner must be a str, got 7$"),
            ({"offset": -1}, ValueError, r"^offset must be >= 0, got -1$"),
            ({"offset": "0"}, TypeError, r"^offset must be an int, got '0'$"),
        ],
    )
    async def test_bad_arguments(
        self, journal: Journal, kwargs: dict[str, Any], error: type[Exception], message: str
    ) -> None:
        """bind_subscription refuses a bad name, pattern, owner or offset, naming it, and binds nothing."""
        arguments: dict[str, Any] = {"name": "a", "pattern": "**", "owner": None, "offset": 0} | kwargs
        name = arguments.pop("name")
        with pytest.raises(error, match=message):
            await journal.bind_subscription(name, **arguments)
        assert await journal.get_checkpoint("a") is None


def durable(journal: Journal) -> Any:
    """The journal's optional durable-subscription methods (forget_subscription, count_durable), which every
    backend has but the Journal protocol does not require."""
    return journal


class TestForget:
    async def test_forget_removes_checkpoint_and_binding(self, journal: Journal) -> None:
        """A forgotten name has no checkpoint, and binding it again starts afresh with the new pattern,
        owner and offset."""
        await journal.append([sig(i) for i in range(3)])
        await journal.bind_subscription("billing", pattern="order.*", owner="alice", offset=2)
        assert await durable(journal).forget_subscription("billing") is True
        assert await journal.get_checkpoint("billing") is None
        again = await journal.bind_subscription("billing", pattern="user.*", owner="bob", offset=1)
        assert again == DurableBinding("billing", "user.*", "bob", 1)

    async def test_forget_twice(self, journal: Journal) -> None:
        """Forgetting a name there is not (any more) returns False and changes nothing."""
        await journal.bind_subscription("a", pattern="**", owner=None, offset=0)
        assert await durable(journal).forget_subscription("a") is True
        assert await durable(journal).forget_subscription("a") is False
        assert await durable(journal).forget_subscription("never") is False

    async def test_forget_an_unbound_checkpoint(self, journal: Journal) -> None:
        """A checkpoint stored without a binding is forgotten too."""
        await journal.append([sig(0)])
        await journal.set_checkpoint("a", 1)
        assert await durable(journal).forget_subscription("a") is True
        assert await journal.get_checkpoint("a") is None

    async def test_others_untouched(self, journal: Journal) -> None:
        """Forgetting one name leaves the other names, and its own dead letters, as they were."""
        [record] = await journal.append([sig(0)])
        await journal.bind_subscription("a", pattern="x.*", owner="o", offset=1)
        await journal.bind_subscription("b", pattern="y.*", owner="o", offset=0)
        await journal.add_dead_letter("a", record, "boom", 1)
        await durable(journal).forget_subscription("a")
        assert await journal.bind_subscription("b", pattern="z", owner=None, offset=0) == DurableBinding(
            "b", "y.*", "o", 0
        )
        assert [d.subscription for d in await journal.dead_letters()] == ["a"]

    @pytest.mark.parametrize(
        ("name", "error", "message"),
        [("", ValueError, r"^name must not be empty$"), (3, TypeError, r"^name must be a str, got 3$")],
    )
    async def test_bad_name(
        self, journal: Journal, name: object, error: type[Exception], message: str
    ) -> None:
        """A name that is not a non-empty str is refused, naming it."""
        with pytest.raises(error, match=message):
            await durable(journal).forget_subscription(name)


class TestCountDurable:
    async def test_counts_by_owner(self, journal: Journal) -> None:
        """Each owner's bound names are counted; None is an owner of its own; a new journal counts none."""
        assert await durable(journal).count_durable("alice") == 0
        for name, owner in [("a", "alice"), ("b", "alice"), ("c", "bob"), ("d", None), ("e", None)]:
            await journal.bind_subscription(name, pattern="**", owner=owner, offset=0)
        counts = [await durable(journal).count_durable(o) for o in ("alice", "bob", None, "carol")]
        assert counts == [2, 1, 2, 0]

    async def test_bare_checkpoints_count_for_no_one(self, journal: Journal) -> None:
        """A checkpoint never bound (set_checkpoint alone, as /readyz writes one) is not a durable name of the
        owner None."""
        await journal.append([sig(0)])
        await journal.set_checkpoint("bare", 0)
        await journal.bind_subscription("bound", pattern="**", owner=None, offset=0)
        assert await durable(journal).count_durable(None) == 1

    async def test_binding_again_counts_once(self, journal: Journal) -> None:
        """Binding a bound name again (by its owner or another) counts nothing more."""
        await journal.bind_subscription("a", pattern="**", owner="alice", offset=0)
        await journal.bind_subscription("a", pattern="**", owner="alice", offset=0)
        await journal.bind_subscription("a", pattern="x", owner="bob", offset=0)
        assert await durable(journal).count_durable("alice") == 1
        assert await durable(journal).count_durable("bob") == 0

    async def test_adopted_checkpoint_counts(self, journal: Journal) -> None:
        """A checkpoint stored without a binding counts for the owner that binds it."""
        await journal.append([sig(0)])
        await journal.set_checkpoint("a", 1)
        assert await durable(journal).count_durable("alice") == 0
        await journal.bind_subscription("a", pattern="**", owner="alice", offset=0)
        assert await durable(journal).count_durable("alice") == 1

    async def test_forget_uncounts(self, journal: Journal) -> None:
        """A forgotten name no longer counts for its owner; binding it again counts it for the new owner."""
        await journal.bind_subscription("a", pattern="**", owner="alice", offset=0)
        await journal.bind_subscription("b", pattern="**", owner="alice", offset=0)
        await durable(journal).forget_subscription("a")
        assert await durable(journal).count_durable("alice") == 1
        await journal.bind_subscription("a", pattern="**", owner="bob", offset=0)
        assert [await durable(journal).count_durable(o) for o in ("alice", "bob")] == [1, 1]

    async def test_unicode_owner(self, journal: Journal) -> None:
        """An owner outside ASCII (and outside the Basic Multilingual Plane) is counted as itself."""
        for name in "ab":
            await journal.bind_subscription(name, pattern="**", owner="caf\u00e9 \U0001f600", offset=0)
        assert await durable(journal).count_durable("caf\u00e9 \U0001f600") == 2
        assert await durable(journal).count_durable("caf\u00e9") == 0


class TestTrim:
    async def test_by_count(self, journal: Journal, clock: ManualClock) -> None:
        """max_entries keeps the newest records and returns how many were removed."""
        await journal.append([sig(i) for i in range(5)])
        assert await journal.trim(max_entries=2, now=clock.now()) == 3
        assert [r.offset for r in await journal.read()] == [4, 5]
        assert await journal.first_offset() == 4

    async def test_count_already_met(self, journal: Journal, clock: ManualClock) -> None:
        """A max_entries above the records retained removes nothing."""
        await journal.append([sig(i) for i in range(3)])
        assert await journal.trim(max_entries=3, now=clock.now()) == 0
        assert await journal.trim(max_entries=10, now=clock.now()) == 0
        assert len(await journal.read()) == 3

    async def test_by_age(self, journal: Journal, clock: ManualClock) -> None:
        """max_age removes records appended before now - max_age; one exactly max_age old stays."""
        await fill(journal, clock, 5, step=3600)  # T0+1h .. T0+5h
        now = T0 + dt.timedelta(hours=6)
        assert await journal.trim(max_age=3 * HOUR, now=now) == 2
        assert [r.offset for r in await journal.read()] == [3, 4, 5]

    async def test_by_age_removes_all(self, journal: Journal, clock: ManualClock) -> None:
        """A max_age of zero removes every record appended before now."""
        await fill(journal, clock, 3)
        assert await journal.trim(max_age=dt.timedelta(0), now=clock.now() + HOUR) == 3
        assert (await journal.first_offset(), await journal.last_offset()) == (4, 3)

    async def test_stricter_wins(self, journal: Journal, clock: ManualClock) -> None:
        """With both limits, what either one removes is removed."""
        await fill(journal, clock, 5, step=3600)
        now = T0 + dt.timedelta(hours=6)
        assert await journal.trim(max_entries=4, max_age=3 * HOUR, now=now) == 2
        assert await journal.trim(max_entries=1, max_age=3 * HOUR, now=now) == 2
        assert [r.offset for r in await journal.read()] == [5]

    async def test_age_older_than_time(self, journal: Journal, clock: ManualClock) -> None:
        """A max_age reaching back before year 1 keeps everything."""
        await journal.append([sig(0)])
        assert await journal.trim(max_age=dt.timedelta.max, now=clock.now()) == 0
        assert len(await journal.read()) == 1

    async def test_no_limits(self, journal: Journal, clock: ManualClock) -> None:
        """Without limits, trim removes nothing."""
        await journal.append([sig(0)])
        assert await journal.trim(now=clock.now()) == 0

    async def test_empty_journal(self, journal: Journal, clock: ManualClock) -> None:
        """Trimming a new journal removes nothing."""
        assert await journal.trim(max_entries=0, max_age=dt.timedelta(0), now=clock.now()) == 0

    async def test_repeated(self, journal: Journal, clock: ManualClock) -> None:
        """Trimming again and again (continuous retention) keeps exactly the newest records."""
        for i in range(40):
            await journal.append([sig(i)])
            await journal.trim(max_entries=3, now=clock.now())
        assert [r.offset for r in await journal.read()] == [38, 39, 40]

    async def test_long_journal(self, journal: Journal, clock: ManualClock) -> None:
        """Trimming a long journal in steps keeps reads and time lookups right (the memory list compacts)."""
        for minute in range(5):
            clock.advance(60)
            await journal.append([sig(minute * 1000 + i) for i in range(1000)])
        for keep, first in [(4500, 501), (3000, 2001), (1200, 3801), (10, 4991)]:
            before = await journal.first_offset()
            assert await journal.trim(max_entries=keep, now=clock.now()) == first - before
            assert await journal.first_offset() == first
            records = await journal.read(1, limit=3)
            assert [(r.offset, r.signal.data) for r in records] == [
                (o, {"i": o - 1}) for o in range(first, first + 3)
            ]
            assert await journal.offset_at(T0) == first
        assert await journal.offset_at(clock.now()) == 4991
        assert [r.offset for r in await journal.append([sig()])] == [5001]

    @pytest.mark.parametrize(
        ("kwargs", "error", "message"),
        [
            ({"max_entries": -1}, ValueError, r"^max_entries must be >= 0, got -1$"),
            ({"max_entries": 1.0}, TypeError, r"^max_entries must be an int, got 1\.0$"),
            (
                {"max_age": dt.timedelta(seconds=-1)},
                ValueError,
                r"^max_age must not be negative, got datetime\.timedelta\(days=-1, seconds=86399\)$",
            ),
            ({"max_age": 60}, TypeError, r"^max_age must be a timedelta, got 60$"),
            (
                {"now": dt.datetime(2026, 1, 1)},
                ValueError,
                r"^now must be timezone-aware, got naive 2026-01-01T00:00:00$",
            ),
            ({"now": None}, TypeError, r"^now must be a datetime, got None$"),
        ],
    )
    async def test_bad_arguments(
        self, journal: Journal, kwargs: dict[str, Any], error: type[Exception], message: str
    ) -> None:
        """trim refuses bad limits or a bad now, naming the argument, and removes nothing."""
        await journal.append([sig(0)])
        arguments: dict[str, Any] = {"max_entries": 0, "now": T0} | kwargs
        with pytest.raises(error, match=message):
            await journal.trim(**arguments)
        assert len(await journal.read()) == 1


CALLS: dict[str, Callable[[Journal], Awaitable[object]]] = {
    "append": lambda j: j.append([sig()]),
    "append_empty": lambda j: j.append([]),
    "read": lambda j: j.read(),
    "offset_at": lambda j: j.offset_at(T0),
    "first_offset": lambda j: j.first_offset(),
    "last_offset": lambda j: j.last_offset(),
    "get_checkpoint": lambda j: j.get_checkpoint("a"),
    "set_checkpoint": lambda j: j.set_checkpoint("a", 0),
    "bind_subscription": lambda j: j.bind_subscription("a", pattern="**", owner=None, offset=0),
    "add_dead_letter": lambda j: j.add_dead_letter("a", Record(1, sig(), T0), "e", 1),
    "dead_letters": lambda j: j.dead_letters(),
    "remove_dead_letter": lambda j: j.remove_dead_letter(1),
    "trim": lambda j: j.trim(max_entries=0, now=T0),
    "forget_subscription": lambda j: durable(j).forget_subscription("a"),
    "count_durable": lambda j: durable(j).count_durable(None),
}


class TestClose:
    @pytest.mark.parametrize("call", sorted(CALLS))
    async def test_closed_refuses(self, journal: Journal, call: str) -> None:
        """Every call on a closed journal raises ClosedError."""
        await journal.append([sig()])
        await journal.aclose()
        with pytest.raises(
            ClosedError, match=r"^(MemoryJournal|SQLiteJournal\('.*'\)|RedisJournal\('.*'\)) is closed$"
        ):
            await CALLS[call](journal)

    @pytest.mark.parametrize("call", sorted(CALLS))
    async def test_closed_before_first_use(self, journal: Journal, call: str) -> None:
        """A journal closed before it was ever used refuses calls too."""
        await journal.aclose()
        with pytest.raises(ClosedError):
            await CALLS[call](journal)

    async def test_aclose_twice(self, journal: Journal) -> None:
        """aclose may be called again; it does nothing more."""
        await journal.aclose()
        await journal.aclose()
        with pytest.raises(ClosedError):
            await journal.last_offset()

    async def test_async_with_closes(self, journal: Journal) -> None:
        """Leaving `async with` closes the journal."""
        async with journal as opened:  # type: ignore[attr-defined]
            assert opened is journal
            await journal.append([sig()])
        with pytest.raises(ClosedError):
            await journal.read()

    async def test_cancelled_append_appends_nothing(self, journal: Journal) -> None:
        """An append cancelled before it starts appends nothing."""
        with trio.CancelScope() as scope:
            scope.cancel()
            await journal.append([sig()])
        assert await journal.last_offset() == 0
