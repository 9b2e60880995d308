"""The SQLite journal's window of newest records: reads give exactly what the file holds, within bounds."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from jido.bus import sqlite as sqlite_journal
from jido.bus.journal import Record
from jido.bus.sqlite import SQLiteJournal, open_sqlite_journal
from jido.signal import Signal
from tests.bus.journal_support import sig


def pairs(records: list[Record]) -> list[tuple[int, Signal, dt.datetime]]:
    return [(r.offset, r.signal, r.appended_at) for r in records]


async def from_file(path: Path, start: int = 1, limit: int = 1000) -> list[Record]:
    """What a fresh journal on the file reads (its window starts empty: every record comes from the file)."""
    async with open_sqlite_journal(path) as reopened:
        return await reopened.read(start, limit=limit)


class TestWindow:
    async def test_reads_equal_the_file(self, tmp_path: Path) -> None:
        """Records read right after they were appended are those the file holds, offsets and times included."""
        path = tmp_path / "j.db"
        async with open_sqlite_journal(path) as journal:
            await journal.append([sig(i) for i in range(5)])
            await journal.append([sig(i) for i in range(5, 8)])
            for start, limit in [(1, 1000), (3, 2), (8, 5), (9, 5)]:
                assert pairs(await journal.read(start, limit=limit)) == pairs(
                    await from_file(path, start, limit)
                )

    async def test_records_before_the_open_come_from_the_file(self, tmp_path: Path) -> None:
        """After a reopen, records appended before it and after it read as one sequence."""
        path = tmp_path / "j.db"
        async with open_sqlite_journal(path) as journal:
            await journal.append([sig(i) for i in range(3)])
        async with open_sqlite_journal(path) as journal:
            await journal.append([sig(i) for i in range(3, 6)])
            assert [r.offset for r in await journal.read()] == [1, 2, 3, 4, 5, 6]
            assert [r.signal.data for r in await journal.read(2, limit=3)] == [{"i": 1}, {"i": 2}, {"i": 3}]

    async def test_retention_applies_to_the_window(self, tmp_path: Path) -> None:
        """Records trimmed are gone from reads at once, as they are from the file."""
        path = tmp_path / "j.db"
        async with open_sqlite_journal(path) as journal:
            records = await journal.append([sig(i) for i in range(10)])
            assert await journal.trim(max_entries=3, now=records[-1].appended_at) == 7
            assert [r.offset for r in await journal.read()] == [8, 9, 10]
            assert [r.offset for r in await journal.read(2, limit=2)] == [8, 9]
            assert pairs(await journal.read()) == pairs(await from_file(path))

    async def test_bounded_by_count(self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
        """The window keeps at most its count of records; older ones are read from the file."""
        monkeypatch.setattr(sqlite_journal, "_TAIL_RECORDS", 4)
        path = tmp_path / "j.db"
        async with open_sqlite_journal(path) as journal:
            for i in range(0, 12, 3):
                await journal.append([sig(n) for n in range(i, i + 3)])
            tail = journal._tail
            assert len(tail.records) - tail.head <= 4
            assert [r.offset for r in await journal.read()] == list(range(1, 13))
            assert pairs(await journal.read()) == pairs(await from_file(path))

    async def test_bounded_by_bytes(self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
        """The window keeps at most its bytes of JSON, and always the newest record."""
        monkeypatch.setattr(sqlite_journal, "_TAIL_BYTES", 1000)
        path = tmp_path / "j.db"
        async with open_sqlite_journal(path) as journal:
            await journal.append([Signal(type="t.big", source="/t", data={"x": "y" * 600}) for _ in range(3)])
            tail = journal._tail
            assert len(tail.records) - tail.head == 1
            assert [r.offset for r in await journal.read()] == [1, 2, 3]

    async def test_closed_journal_reads_nothing(self, tmp_path: Path) -> None:
        """A closed journal refuses reads, window or not."""
        journal = SQLiteJournal(tmp_path / "j.db")
        async with journal:
            await journal.append([sig(0)])
        with pytest.raises(Exception, match=r"is closed$"):
            await journal.read()


class TestEncoded:
    async def test_text_as_written(self, tmp_path: Path) -> None:
        """The JSON of a record in the window is the text the file holds, which is the signal's to_json()."""
        path = tmp_path / "j.db"
        async with open_sqlite_journal(path) as journal:
            records = await journal.append([sig(i) for i in range(3)])
            for record in records:
                assert journal.encoded(record.offset) == record.signal.to_json()
            assert journal.encoded(0) is None
            assert journal.encoded(4) is None
        async with open_sqlite_journal(path) as reopened:
            assert reopened.encoded(1) is None  # not appended by this one: read from the file when needed

    async def test_gone_with_the_window(self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
        """A record that left the window has no text kept (it is encoded again by whoever needs it)."""
        monkeypatch.setattr(sqlite_journal, "_TAIL_RECORDS", 2)
        async with open_sqlite_journal(tmp_path / "j.db") as journal:
            records = await journal.append([sig(i) for i in range(4)])
            assert [journal.encoded(r.offset) is not None for r in records] == [False, False, True, True]


def big(n: int, size: int) -> Signal:
    return Signal(type="big.blob", source="/test", data={"n": n, "blob": "x" * size})


class TestReadBytes:
    @pytest.mark.parametrize("where", ["window", "file"])
    async def test_a_read_is_bounded_in_bytes(self, tmp_path: Path, where: str) -> None:
        """A read of large records stops near 1 MiB of JSON (so a stalled reader pins no more), whether from
        the window or the file; reading on from the last offset gives the rest, in order."""
        path = tmp_path / "j.db"
        async with open_sqlite_journal(path) as journal:
            await journal.append([big(i, 300_000) for i in range(10)])
            read = journal.read if where == "window" else (lambda start, limit: from_file(path, start, limit))
            first = await read(1, limit=256)
            assert [r.offset for r in first] == [1, 2, 3]
            offsets: list[int] = []
            start = 1
            while batch := await read(start, limit=256):
                offsets.extend(r.offset for r in batch)
                start = batch[-1].offset + 1
            assert offsets == list(range(1, 11))

    @pytest.mark.parametrize("where", ["window", "file"])
    async def test_a_record_past_the_bound_is_read_alone(self, tmp_path: Path, where: str) -> None:
        """A record larger than the bound still reads, one per read."""
        path = tmp_path / "j.db"
        async with open_sqlite_journal(path) as journal:
            await journal.append([big(i, 1_500_000) for i in range(2)])
            records = await (journal.read(1, limit=256) if where == "window" else from_file(path, 1, 256))
            assert [(r.offset, r.signal.data["n"]) for r in records] == [(1, 0)]
