"""SQLiteJournal schema 2: files of version 1 migrate keeping their data; bindings, reasons and dead-letter
retention are stored in the file."""

from __future__ import annotations

import datetime as dt
import sqlite3
from pathlib import Path
from typing import Any

import pytest

from jido.bus.journal import DeadLetterRecord, DurableBinding, Record
from jido.bus.sqlite import SCHEMA_VERSION, SQLiteJournal, open_sqlite_journal
from jido.errors import BrokenError
from tests.bus.journal_support import T0, ManualClock, sig
from tests.bus.journal_support import clock as clock  # a fixture, imported by name so that pytest finds it

HOUR = dt.timedelta(hours=1)

# The schema jido wrote before version 2, as it wrote it (with its application id and WAL mode).
SCHEMA_1 = """
PRAGMA journal_mode = WAL;
CREATE TABLE meta (key TEXT PRIMARY KEY, value INTEGER NOT NULL) WITHOUT ROWID;
CREATE TABLE records (
    "offset" INTEGER PRIMARY KEY,
    type TEXT NOT NULL,
    appended_at INTEGER NOT NULL,
    body TEXT NOT NULL
);
CREATE INDEX records_by_time ON records (appended_at);
CREATE TABLE checkpoints (name TEXT PRIMARY KEY, "offset" INTEGER NOT NULL) WITHOUT ROWID;
CREATE TABLE dead_letters (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    subscription TEXT NOT NULL,
    record_offset INTEGER NOT NULL,
    record_appended_at INTEGER NOT NULL,
    record_body TEXT NOT NULL,
    error TEXT NOT NULL,
    attempts INTEGER NOT NULL,
    at INTEGER NOT NULL
);
CREATE INDEX dead_letters_by_subscription ON dead_letters (subscription, id);
INSERT INTO meta (key, value) VALUES ('schema_version', 1), ('last_offset', 3);
PRAGMA application_id = 1246315599;  -- 0x4A49444F, "JIDO"
"""

T0_US = int((T0 - dt.datetime(1970, 1, 1, tzinfo=dt.UTC)).total_seconds()) * 1_000_000


def raw(path: Path, sql: str, parameters: tuple[Any, ...] = ()) -> list[Any]:
    conn = sqlite3.connect(path)
    try:
        rows = conn.execute(sql, parameters).fetchall()
        conn.commit()
        return rows
    finally:
        conn.close()


def version_1_file(path: Path) -> None:
    """A journal file as version 1 left it: three records, a checkpoint, a dead letter (id 2: one was
    removed), the last appended time."""
    conn = sqlite3.connect(path, isolation_level=None)
    try:
        conn.executescript(SCHEMA_1)
        for offset in (1, 2, 3):
            conn.execute(
                'INSERT INTO records ("offset", type, appended_at, body) VALUES (?, ?, ?, ?)',
                (offset, "order.placed", T0_US, sig(offset).to_json()),
            )
        conn.execute("INSERT INTO meta (key, value) VALUES ('last_appended_at', ?)", (T0_US,))
        conn.execute('INSERT INTO checkpoints (name, "offset") VALUES (?, ?)', ("billing", 2))
        conn.execute(
            "INSERT INTO dead_letters (id, subscription, record_offset, record_appended_at, record_body,"
            " error, attempts, at) VALUES (2, 'billing', 3, ?, ?, 'RuntimeError: down', 5, ?)",
            (T0_US, sig(3).to_json(), T0_US + 1_000_000),
        )
        conn.execute("INSERT INTO sqlite_sequence (name, seq) VALUES ('dead_letters', 2)")
    finally:
        conn.close()


class TestMigrationFromVersion1:
    async def test_data_kept(self, tmp_path: Path) -> None:
        """A version 1 file opens as version 2 with its records, checkpoint, dead letters and offsets."""
        path = tmp_path / "old.db"
        version_1_file(path)
        async with open_sqlite_journal(path) as journal:
            assert [(r.offset, r.signal.data) for r in await journal.read()] == [
                (o, {"i": o}) for o in (1, 2, 3)
            ]
            assert await journal.get_checkpoint("billing") == 2
            [letter] = await journal.dead_letters()
            assert letter == DeadLetterRecord(
                2,
                "billing",
                Record(3, letter.record.signal, T0),
                "RuntimeError: down",
                5,
                T0 + dt.timedelta(seconds=1),
                "max_attempts",
            )
            assert [r.offset for r in await journal.append([sig(4)])] == [4]
            assert (await journal.add_dead_letter("billing", letter.record, "e", 1)).id == 3
        assert dict(raw(path, "SELECT key, value FROM meta"))["schema_version"] == SCHEMA_VERSION == 2

    async def test_unbound_checkpoint_adopts_first_binding(self, tmp_path: Path) -> None:
        """A version 1 checkpoint has no binding: the first bind adopts it and keeps the offset, and it stays
        bound after a reopen."""
        path = tmp_path / "old.db"
        version_1_file(path)
        async with open_sqlite_journal(path) as journal:
            bound = await journal.bind_subscription("billing", pattern="order.*", owner="tok-a", offset=0)
            assert bound == DurableBinding("billing", "order.*", "tok-a", 2)
        async with open_sqlite_journal(path) as journal:
            again = await journal.bind_subscription("billing", pattern="**", owner=None, offset=0)
            assert again == bound

    async def test_opened_twice(self, tmp_path: Path) -> None:
        """A migrated file opens again without migrating again."""
        path = tmp_path / "old.db"
        version_1_file(path)
        for _ in range(2):
            async with open_sqlite_journal(path) as journal:
                assert await journal.get_checkpoint("billing") == 2

    async def test_failed_migration_changes_nothing(self, tmp_path: Path) -> None:
        """A version 1 file that cannot be migrated (here: an index of the new name already exists) is
        refused, and left exactly as version 1 (the migration is one transaction)."""
        path = tmp_path / "old.db"
        version_1_file(path)
        raw(path, "CREATE INDEX dead_letters_by_time ON records (type)")
        with pytest.raises(
            BrokenError, match=r"cannot be opened: index dead_letters_by_time already exists$"
        ):
            async with open_sqlite_journal(path):
                pass
        assert dict(raw(path, "SELECT key, value FROM meta"))["schema_version"] == 1
        assert [c[1] for c in raw(path, "PRAGMA table_info(checkpoints)")] == ["name", "offset"]


class TestStoredAcrossReopen:
    async def test_binding_and_reason(self, tmp_path: Path, clock: ManualClock) -> None:
        """Bindings, reasons and dead letters of signals never appended are in the file after a reopen."""
        path = tmp_path / "j.db"
        async with open_sqlite_journal(path, clock=clock) as journal:
            await journal.bind_subscription("billing", pattern="order.*", owner=None, offset=0)
            unappended = Record(0, sig(7, "counter.increment"), clock.now())
            letter = await journal.add_dead_letter("agent:c1", unappended, "boom", 0, reason="crash")
        async with open_sqlite_journal(path, clock=clock) as journal:
            assert await journal.bind_subscription(
                "billing", pattern="x", owner="y", offset=0
            ) == DurableBinding("billing", "order.*", None, 0)
            assert await journal.dead_letters("agent:c1") == [letter]

    async def test_bad_reason_in_file(self, tmp_path: Path) -> None:
        """A dead letter whose reason is damaged fails the listing, naming its id."""
        path = tmp_path / "j.db"
        async with open_sqlite_journal(path) as journal:
            [record] = await journal.append([sig()])
            await journal.add_dead_letter("a", record, "e", 1)
        raw(path, "UPDATE dead_letters SET reason = X'05' WHERE id = 1")
        async with open_sqlite_journal(path) as journal:
            with pytest.raises(
                BrokenError, match=r"dead letter 1 is corrupt: bad error, attempts or reason$"
            ):
                await journal.dead_letters()

    async def test_bad_binding_in_file(self, tmp_path: Path) -> None:
        """A binding whose pattern is damaged fails the bind rather than comparing against garbage."""
        path = tmp_path / "j.db"
        async with open_sqlite_journal(path) as journal:
            await journal.bind_subscription("a", pattern="**", owner=None, offset=0)
        raw(path, "UPDATE checkpoints SET pattern = X'05' WHERE name = 'a'")
        async with open_sqlite_journal(path) as journal:
            with pytest.raises(BrokenError, match=r": checkpoint 'a' is corrupt$"):
                await journal.bind_subscription("a", pattern="**", owner=None, offset=0)


class TestDeadLetterRetention:
    async def test_count_bound_kept_across_reopen(self, tmp_path: Path) -> None:
        """The count bound holds for dead letters already in the file when it is reopened."""
        path = tmp_path / "j.db"
        async with open_sqlite_journal(path, max_dead_letters=5) as journal:
            [record] = await journal.append([sig()])
            for _ in range(5):
                await journal.add_dead_letter("a", record, "e", 1)
        async with open_sqlite_journal(path, max_dead_letters=3) as journal:
            await journal.add_dead_letter("a", record, "e", 1)
            assert [d.id for d in await journal.dead_letters()] == [4, 5, 6]
            assert journal.statistics().dead_letters_evicted == 3

    async def test_age_on_add(self, tmp_path: Path, clock: ManualClock) -> None:
        """Adding a dead letter removes those older than max_dead_letter_age, in the same transaction."""
        async with open_sqlite_journal(tmp_path / "j.db", clock=clock, max_dead_letter_age=HOUR) as journal:
            [record] = await journal.append([sig()])
            await journal.add_dead_letter("a", record, "e", 1)  # at T0
            clock.advance(1800)
            await journal.add_dead_letter("a", record, "e", 1)  # at T0 + 30 min
            clock.advance(1801)  # T0 + 1 h 0 min 1 s: the first is past the age, the second not
            await journal.add_dead_letter("a", record, "e", 1)
            assert [d.id for d in await journal.dead_letters()] == [2, 3]
            assert journal.statistics().dead_letters_evicted == 1
            assert journal.statistics().transactions == 4  # the eviction was no transaction of its own

    async def test_age_on_trim(self, tmp_path: Path, clock: ManualClock) -> None:
        """trim removes dead letters past max_dead_letter_age by its own now, even when no record goes."""
        async with open_sqlite_journal(tmp_path / "j.db", clock=clock, max_dead_letter_age=HOUR) as journal:
            [record] = await journal.append([sig()])
            await journal.add_dead_letter("a", record, "e", 1)
            assert await journal.trim(max_entries=10, now=T0 + HOUR) == 0
            assert len(await journal.dead_letters()) == 1  # exactly max_dead_letter_age old: kept
            assert await journal.trim(max_entries=10, now=T0 + 2 * HOUR) == 0
            assert await journal.dead_letters() == []
            assert await journal.read() == [record]
            assert journal.statistics().dead_letters_evicted == 1

    @pytest.mark.parametrize(
        ("value", "error", "message"),
        [
            (
                dt.timedelta(0),
                ValueError,
                r"^max_dead_letter_age must be positive, got datetime\.timedelta\(0\)$",
            ),
            (
                dt.timedelta(seconds=-1),
                ValueError,
                r"^max_dead_letter_age must be positive, got datetime\.timedelta\(days=-1, seconds=86399\)$",
            ),
            (3600, TypeError, r"^max_dead_letter_age must be a timedelta or None, got 3600$"),
        ],
    )
    def test_bad_age(self, tmp_path: Path, value: Any, error: type[Exception], message: str) -> None:
        """A max_dead_letter_age that is not a positive timedelta is refused when the journal is made."""
        with pytest.raises(error, match=message):
            SQLiteJournal(tmp_path / "j.db", max_dead_letter_age=value)
