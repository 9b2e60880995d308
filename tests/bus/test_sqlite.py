"""SQLiteJournal specifics: the file and its schema, reopening, crashes, group commit, cancellation, corruption."""

from __future__ import annotations

import datetime as dt
import os
import re
import signal
import sqlite3
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

import pytest
import trio
import trio.testing

from jido.bus.journal import Record
from jido.bus.sqlite import (
    APPLICATION_ID,
    SCHEMA_VERSION,
    SQLiteJournal,
    SQLiteJournalStatistics,
    open_sqlite_journal,
)
from jido.errors import BrokenError, ClosedError, SignalError
from jido.signal import Signal
from tests.bus.journal_support import T0, ManualClock, sig
from tests.bus.journal_support import clock as clock  # a fixture, imported by name so that pytest finds it

# The child processes import the jido of this checkout.
ROOT = Path(__file__).resolve().parents[2]
CHILD_ENV = {**os.environ, "PYTHONPATH": str(ROOT)}


def shown(path: Path) -> str:
    """The path as the journal's messages show it, escaped for a regex."""
    return re.escape(repr(str(path)))


def raw(path: Path, sql: str, parameters: tuple[Any, ...] = ()) -> list[Any]:
    """Run one statement on the file directly, as another program (or a bit flip) would."""
    conn = sqlite3.connect(path)
    try:
        rows = conn.execute(sql, parameters).fetchall()
        conn.commit()
        return rows
    finally:
        conn.close()


async def pragma(journal: SQLiteJournal, name: str) -> object:
    """A PRAGMA of the journal's write connection, read on its writer thread."""

    def query(conn: sqlite3.Connection) -> object:
        return conn.execute(f"PRAGMA {name}").fetchone()[0]

    return await journal._write("pragma", query)


class TestOptions:
    @pytest.mark.parametrize(
        ("kwargs", "error", "message"),
        [
            ({"path": 3}, TypeError, r"^path must be a str or path-like, got 3$"),
            (
                {"path": ":memory:"},
                ValueError,
                r"^path must name a file, got ':memory:' \(use MemoryJournal for no file\)$",
            ),
            ({"path": ""}, ValueError, r"^path must name a file, got '' \(use MemoryJournal for no file\)$"),
            ({"batch_max": 0}, ValueError, r"^batch_max must be >= 1, got 0$"),
            ({"batch_max": 1.5}, TypeError, r"^batch_max must be an int, got 1\.5$"),
            ({"flush_interval": -0.1}, ValueError, r"^flush_interval must be >= 0 and finite, got -0\.1$"),
            (
                {"flush_interval": float("inf")},
                ValueError,
                r"^flush_interval must be >= 0 and finite, got inf$",
            ),
            ({"flush_interval": "1"}, TypeError, r"^flush_interval must be a number of seconds, got '1'$"),
            ({"synchronous": "OFF"}, ValueError, r"^synchronous must be 'NORMAL' or 'FULL', got 'OFF'$"),
            (
                {"clock": object()},
                TypeError,
                r"^clock must have a now\(\) method, got <object object at .*>$",
            ),
        ],
    )
    def test_bad_options(
        self, tmp_path: Path, kwargs: dict[str, Any], error: type[Exception], message: str
    ) -> None:
        """Each bad option is refused when the journal is made, naming it."""
        arguments: dict[str, Any] = {"path": tmp_path / "j.db"} | kwargs
        with pytest.raises(error, match=message):
            SQLiteJournal(**arguments)

    async def test_defaults(self, tmp_path: Path) -> None:
        """By default the connection fsyncs every commit (synchronous FULL) in WAL mode."""
        async with open_sqlite_journal(tmp_path / "j.db") as journal:
            assert journal.synchronous == "FULL"
            assert await pragma(journal, "synchronous") == 2  # FULL
            assert await pragma(journal, "journal_mode") == "wal"

    async def test_normal(self, tmp_path: Path) -> None:
        """synchronous="NORMAL" is applied to the connection."""
        async with open_sqlite_journal(tmp_path / "j.db", synchronous="NORMAL") as journal:
            assert await pragma(journal, "synchronous") == 1  # NORMAL


class TestOpen:
    async def test_lazy(self, tmp_path: Path) -> None:
        """Making a journal touches no file; the first call creates it."""
        path = tmp_path / "j.db"
        journal = SQLiteJournal(path)
        assert not path.exists()
        assert await journal.last_offset() == 0
        assert path.exists()
        await journal.aclose()

    async def test_async_with_opens_at_once(self, tmp_path: Path) -> None:
        """open_sqlite_journal opens (and creates) the file on entry and closes it on exit."""
        path = tmp_path / "j.db"
        async with open_sqlite_journal(path) as journal:
            assert path.exists()
            assert repr(journal) == f"<SQLiteJournal {str(path)!r} open>"
        assert repr(journal) == f"<SQLiteJournal {str(path)!r} closed>"
        with pytest.raises(ClosedError, match=rf"^SQLiteJournal\({shown(path)}\) is closed$"):
            await journal.read()

    async def test_schema(self, tmp_path: Path) -> None:
        """A new file holds the schema, its version, the jido application id and WAL mode."""
        path = tmp_path / "j.db"
        async with open_sqlite_journal(path):
            pass
        tables = {name for (name,) in raw(path, "SELECT name FROM sqlite_master WHERE type = 'table'")}
        assert {"meta", "records", "checkpoints", "dead_letters"} <= tables
        assert dict(raw(path, "SELECT key, value FROM meta")) == {
            "schema_version": SCHEMA_VERSION,
            "last_offset": 0,
        }
        assert raw(path, "PRAGMA application_id") == [(APPLICATION_ID,)]
        assert raw(path, "PRAGMA journal_mode") == [("wal",)]

    async def test_not_a_database(self, tmp_path: Path) -> None:
        """A file that is not SQLite is refused with a clear error."""
        path = tmp_path / "j.db"
        path.write_bytes(b"this is not a database, just some text" * 100)
        with pytest.raises(
            BrokenError, match=rf"^{shown(path)} is not a jido journal: file is not a database$"
        ):
            async with open_sqlite_journal(path):
                pass

    async def test_another_programs_database(self, tmp_path: Path) -> None:
        """A SQLite file of another program is refused, not written to."""
        path = tmp_path / "j.db"
        raw(path, "CREATE TABLE users (name TEXT)")
        before = path.read_bytes()
        with pytest.raises(
            BrokenError, match=rf"^{shown(path)} is not a jido journal: it holds other tables \(users\)$"
        ):
            async with open_sqlite_journal(path):
                pass
        assert path.read_bytes() == before  # not even switched to WAL mode

    async def test_other_application_id(self, tmp_path: Path) -> None:
        """A SQLite file marked by another application is refused."""
        path = tmp_path / "j.db"
        raw(path, "PRAGMA application_id = 42")
        before = path.read_bytes()
        with pytest.raises(
            BrokenError, match=rf"^{shown(path)} is not a jido journal: its application_id is 0x2a$"
        ):
            async with open_sqlite_journal(path):
                pass
        assert path.read_bytes() == before

    async def test_other_schema_version(self, tmp_path: Path) -> None:
        """A journal of another schema version is refused."""
        path = tmp_path / "j.db"
        async with open_sqlite_journal(path):
            pass
        raw(path, "UPDATE meta SET value = 99 WHERE key = 'schema_version'")
        with pytest.raises(
            BrokenError,
            match=rf"^journal {shown(path)} has schema version 99; this jido reads version {SCHEMA_VERSION}$",
        ):
            async with open_sqlite_journal(path):
                pass

    async def test_missing_directory(self, tmp_path: Path) -> None:
        """A path in a directory that does not exist is refused at open."""
        path = tmp_path / "nowhere" / "j.db"
        with pytest.raises(
            BrokenError, match=rf"^journal {shown(path)} cannot be opened: unable to open database file$"
        ):
            async with open_sqlite_journal(path):
                pass

    async def test_closed_before_open(self, tmp_path: Path) -> None:
        """Entering `async with` on a closed journal raises ClosedError and creates no file."""
        journal = SQLiteJournal(tmp_path / "j.db")
        await journal.aclose()
        with pytest.raises(ClosedError):
            async with journal:
                pass
        assert not (tmp_path / "j.db").exists()


class TestReopen:
    async def test_everything_kept(self, tmp_path: Path, clock: ManualClock) -> None:
        """Records, checkpoints and dead letters are all there after close and reopen; offsets continue."""
        path = tmp_path / "j.db"
        async with open_sqlite_journal(path, clock=clock) as journal:
            records = await journal.append([sig(i) for i in range(5)])
            await journal.set_checkpoint("billing", 3)
            letter = await journal.add_dead_letter("billing", records[1], "boom", 2)
        async with open_sqlite_journal(path, clock=clock) as journal:
            assert await journal.read() == records
            assert await journal.get_checkpoint("billing") == 3
            assert await journal.dead_letters() == [letter]
            assert (await journal.first_offset(), await journal.last_offset()) == (1, 5)
            assert [r.offset for r in await journal.append([sig(5)])] == [6]
            assert (await journal.add_dead_letter("billing", records[2], "boom", 1)).id == 2

    async def test_offsets_continue_after_everything_trimmed(
        self, tmp_path: Path, clock: ManualClock
    ) -> None:
        """With every record trimmed, a reopened journal still continues after the last offset ever given."""
        path = tmp_path / "j.db"
        async with open_sqlite_journal(path, clock=clock) as journal:
            await journal.append([sig(i) for i in range(5)])
            await journal.trim(max_entries=0, now=clock.now())
        async with open_sqlite_journal(path, clock=clock) as journal:
            assert (await journal.first_offset(), await journal.last_offset()) == (6, 5)
            assert [r.offset for r in await journal.append([sig(9)])] == [6]

    async def test_dead_letter_ids_continue(self, tmp_path: Path) -> None:
        """Dead-letter ids are not reused after the newest one was removed and the journal reopened."""
        path = tmp_path / "j.db"
        async with open_sqlite_journal(path) as journal:
            [record] = await journal.append([sig()])
            await journal.add_dead_letter("a", record, "e", 1)
            await journal.remove_dead_letter(1)
        async with open_sqlite_journal(path) as journal:
            assert (await journal.add_dead_letter("a", record, "e", 1)).id == 2

    async def test_appended_at_never_decreases_across_reopen(self, tmp_path: Path) -> None:
        """A reopened journal whose clock is behind the last appended_at keeps the last time given."""
        path = tmp_path / "j.db"
        async with open_sqlite_journal(path, clock=ManualClock(T0 + dt.timedelta(hours=1))) as journal:
            await journal.append([sig(0)])
        async with open_sqlite_journal(path, clock=ManualClock(T0)) as journal:
            [record] = await journal.append([sig(1)])
            assert record.appended_at == T0 + dt.timedelta(hours=1)
            assert await journal.offset_at(T0 + dt.timedelta(hours=1)) == 1

    async def test_large_signal(self, tmp_path: Path) -> None:
        """A signal over the 1 MiB JSON parsing default is read back (the journal's own data is trusted)."""
        path = tmp_path / "j.db"
        big = Signal(type="blob.stored", source="/b", data="x" * (2 * 1024 * 1024))
        async with open_sqlite_journal(path) as journal:
            await journal.append([big])
        async with open_sqlite_journal(path) as journal:
            assert [r.signal for r in await journal.read()] == [big]


CHILD_SELF_KILL = """
import datetime as dt, os, signal, sys, trio
from jido.bus.journal import Record
from jido.bus.sqlite import SQLiteJournal
from jido.signal import Signal

async def main():
    journal = SQLiteJournal(sys.argv[1], synchronous=sys.argv[2])
    records = await journal.append([Signal(type="crash.test", source="/crash", data=i) for i in range(5)])
    await journal.set_checkpoint("billing", 3)
    await journal.add_dead_letter("billing", records[1], "boom", 2)
    await journal.trim(max_entries=int(sys.argv[3]), now=dt.datetime.now(dt.UTC))
    os.kill(os.getpid(), signal.SIGKILL)  # no aclose, no flush, no atexit: a crash right after the calls

trio.run(main)
"""

CHILD_KILLED_WHILE_APPENDING = """
import sys, trio
from jido.bus.journal import Record
from jido.bus.sqlite import SQLiteJournal
from jido.signal import Signal

async def appender(journal, task):
    for i in range(1_000_000):
        [record] = await journal.append([Signal(type="crash.test", source="/crash", data=[task, i])])
        print(record.offset, task, i, flush=True)  # printed only after append returned

async def main():
    journal = SQLiteJournal(sys.argv[1], synchronous="NORMAL")
    async with trio.open_nursery() as nursery:
        for task in range(20):
            nursery.start_soon(appender, journal, task)

trio.run(main)
"""


@pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="needs SIGKILL")
class TestCrash:
    @pytest.mark.parametrize("synchronous", ["NORMAL", "FULL"])
    async def test_killed_after_calls_returned(self, tmp_path: Path, synchronous: str) -> None:
        """A process killed right after its calls returned left every record, checkpoint and dead letter."""
        path = tmp_path / "j.db"
        child = [sys.executable, "-c", CHILD_SELF_KILL, str(path), synchronous, "3"]
        result = await trio.run_process(child, check=False, env=CHILD_ENV, capture_stderr=True)
        assert result.returncode == -signal.SIGKILL, result.stderr.decode()
        async with open_sqlite_journal(path) as journal:
            assert [(r.offset, r.signal.data) for r in await journal.read()] == [(3, 2), (4, 3), (5, 4)]
            assert await journal.get_checkpoint("billing") == 3
            [letter] = await journal.dead_letters()
            assert (letter.id, letter.record.offset, letter.record.signal.data, letter.attempts) == (
                1,
                2,
                1,
                2,
            )
            assert [r.offset for r in await journal.append([sig()])] == [6]

    async def test_killed_after_trimming_everything(self, tmp_path: Path) -> None:
        """After a crash, offsets continue after the last one given even though no record was retained."""
        path = tmp_path / "j.db"
        child = [sys.executable, "-c", CHILD_SELF_KILL, str(path), "NORMAL", "0"]
        result = await trio.run_process(child, check=False, env=CHILD_ENV, capture_stderr=True)
        assert result.returncode == -signal.SIGKILL, result.stderr.decode()
        async with open_sqlite_journal(path) as journal:
            assert (await journal.first_offset(), await journal.last_offset()) == (6, 5)
            assert [r.offset for r in await journal.append([sig()])] == [6]

    async def test_killed_while_appending(self, tmp_path: Path) -> None:
        """Killed while 20 tasks append, the process lost no record whose append had returned."""
        path = tmp_path / "j.db"
        child = [sys.executable, "-c", CHILD_KILLED_WHILE_APPENDING, str(path)]
        confirmed: dict[int, list[int]] = {}
        process = await trio.lowlevel.open_process(
            child, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, env=CHILD_ENV
        )
        assert process.stdout is not None
        buffer = b""
        killed = False
        try:
            while chunk := await process.stdout.receive_some():
                buffer += chunk
                if buffer.count(b"\n") >= 300 and not killed:
                    process.send_signal(signal.SIGKILL)
                    killed = True
        finally:
            if not killed:
                process.kill()
            await process.wait()
            await process.stdout.aclose()
        for line in buffer.splitlines():
            if line.count(b" ") == 2:  # the last line may have been cut by the kill
                offset, task, i = map(int, line.split())
                confirmed[offset] = [task, i]
        assert process.returncode == -signal.SIGKILL
        assert len(confirmed) >= 300
        async with open_sqlite_journal(path) as journal:
            kept = {r.offset: r.signal.data for r in await journal.read(limit=1_000_000)}
            assert confirmed.items() <= kept.items()
            assert sorted(kept) == list(range(1, await journal.last_offset() + 1))

    async def test_abandoned_journal(self, tmp_path: Path) -> None:
        """A journal left open without aclose has committed what it returned: another connection sees it."""
        path = tmp_path / "j.db"
        abandoned = SQLiteJournal(path)
        records = await abandoned.append([sig(i) for i in range(3)])
        await abandoned.set_checkpoint("billing", 2)
        try:
            async with open_sqlite_journal(path) as journal:
                assert await journal.read() == records
                assert await journal.get_checkpoint("billing") == 2
        finally:
            await abandoned.aclose()


class TestGroupCommit:
    async def test_concurrent_appends_share_transactions(self, tmp_path: Path) -> None:
        """50 tasks appending at once are committed in at most two transactions."""
        async with open_sqlite_journal(tmp_path / "j.db") as journal:
            offsets: list[int] = []

            async def one(i: int) -> None:
                offsets.extend(r.offset for r in await journal.append([sig(i)]))

            async with trio.open_nursery() as nursery:
                for i in range(50):
                    nursery.start_soon(one, i)
            statistics = journal.statistics()
            assert sorted(offsets) == list(range(1, 51))
            assert statistics.appended == 50
            assert statistics.append_transactions <= 2
            assert statistics.largest_batch >= 25

    async def test_one_append_one_transaction(self, tmp_path: Path) -> None:
        """One append of many signals is one transaction, even past batch_max."""
        async with open_sqlite_journal(tmp_path / "j.db", batch_max=100) as journal:
            records = await journal.append([sig(i) for i in range(2500)])
            assert [r.offset for r in records] == list(range(1, 2501))
            assert journal.statistics() == SQLiteJournalStatistics(
                transactions=1, append_transactions=1, appended=2500, largest_batch=2500
            )

    async def test_batch_max_bounds_a_transaction(self, tmp_path: Path) -> None:
        """Gathered appends never put more than batch_max signals in one transaction."""
        async with open_sqlite_journal(tmp_path / "j.db", batch_max=10) as journal:
            async with trio.open_nursery() as nursery:
                for i in range(50):
                    nursery.start_soon(journal.append, [sig(i)])
            statistics = journal.statistics()
            assert statistics.appended == 50
            assert statistics.largest_batch <= 10
            assert statistics.append_transactions >= 5
            assert [r.offset for r in await journal.read()] == list(range(1, 51))

    async def test_flush_interval_gathers(
        self, tmp_path: Path, autojump_clock: trio.testing.MockClock
    ) -> None:
        """With a flush interval, appends arriving within it share the leader's one transaction."""
        async with open_sqlite_journal(tmp_path / "j.db", flush_interval=0.05) as journal:
            async with trio.open_nursery() as nursery:
                for i in range(50):
                    nursery.start_soon(journal.append, [sig(i)])
            assert journal.statistics().append_transactions == 1
            assert journal.statistics().appended == 50

    async def test_flush_interval_cut_short_by_full_batch(
        self, tmp_path: Path, mock_clock: trio.testing.MockClock
    ) -> None:
        """A leader stops waiting as soon as batch_max signals are pending."""
        async with open_sqlite_journal(tmp_path / "j.db", flush_interval=3600, batch_max=5) as journal:
            async with trio.open_nursery() as nursery:
                for i in range(5):
                    nursery.start_soon(journal.append, [sig(i)])
            assert trio.current_time() == 0  # no time passed: the full batch woke the leader
            assert journal.statistics().append_transactions == 1

    async def test_aclose_waits_for_appends(self, tmp_path: Path) -> None:
        """aclose lets the appends in progress commit before it closes the file."""
        path = tmp_path / "j.db"
        journal = SQLiteJournal(path)
        returned: list[int] = []

        async def one(i: int) -> None:
            returned.extend(r.offset for r in await journal.append([sig(i)]))

        async with trio.open_nursery() as nursery:
            for i in range(10):
                nursery.start_soon(one, i)
            await trio.testing.wait_all_tasks_blocked()
            await journal.aclose()
        assert sorted(returned) == list(range(1, 11))
        async with open_sqlite_journal(path) as reopened:
            assert await reopened.last_offset() == 10


class TestCancellation:
    async def start_leader(
        self, nursery: trio.Nursery, journal: SQLiteJournal, signal: Signal
    ) -> trio.CancelScope:
        """Start an append that leads (waiting out the flush interval) in a cancel scope of its own."""

        async def lead(task_status: trio.TaskStatus[trio.CancelScope]) -> None:
            with trio.CancelScope() as scope:
                task_status.started(scope)
                await journal.append([signal])

        scope: trio.CancelScope = await nursery.start(lead)
        await trio.testing.wait_all_tasks_blocked()
        return scope

    async def test_follower_cancelled_before_taken(
        self, tmp_path: Path, mock_clock: trio.testing.MockClock
    ) -> None:
        """A follower cancelled before the leader took it is withdrawn; the leader commits alone."""
        async with open_sqlite_journal(tmp_path / "j.db", flush_interval=1) as journal:
            a, b = sig(0), sig(1)
            async with trio.open_nursery() as nursery:
                await self.start_leader(nursery, journal, a)
                follower = await self.start_leader(nursery, journal, b)  # queues behind the leader
                follower.cancel()
                await trio.testing.wait_all_tasks_blocked()
                mock_clock.jump(1)
            assert follower.cancelled_caught
            assert [(r.offset, r.signal) for r in await journal.read()] == [(1, a)]

    async def test_leader_cancelled_hands_over(
        self, tmp_path: Path, mock_clock: trio.testing.MockClock
    ) -> None:
        """A leader cancelled while waiting out the interval appends nothing; the next append leads."""
        async with open_sqlite_journal(tmp_path / "j.db", flush_interval=1) as journal:
            a, b = sig(0), sig(1)
            async with trio.open_nursery() as nursery:
                leader = await self.start_leader(nursery, journal, a)
                await self.start_leader(nursery, journal, b)
                leader.cancel()
                await trio.testing.wait_all_tasks_blocked()
                mock_clock.jump(1)
            assert leader.cancelled_caught
            assert [(r.offset, r.signal) for r in await journal.read()] == [(1, b)]
            assert journal.statistics().append_transactions == 1

    async def test_cancelled_as_it_reads_the_clock(self, tmp_path: Path) -> None:
        """An append cancelled as it stamps its signals (before they are queued) appends nothing; the next
        append gets the next offset."""

        class CancellingClock(ManualClock):
            scope: trio.CancelScope | None = None

            def now(self) -> dt.datetime:
                if self.scope is not None:
                    self.scope.cancel()
                return super().now()

        clock = CancellingClock()
        async with open_sqlite_journal(tmp_path / "j.db", clock=clock) as journal:
            a, b = sig(0), sig(1)
            with trio.CancelScope() as scope:
                clock.scope = scope
                await journal.append([a])
            clock.scope = None
            assert scope.cancelled_caught
            assert [(r.offset, r.signal) for r in await journal.append([b])] == [(1, b)]
            assert [r.signal for r in await journal.read()] == [b]

    async def test_taken_append_returns_despite_cancel(
        self, tmp_path: Path, mock_clock: trio.testing.MockClock, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """An append cancelled after its signals went into a transaction returns its records, then sees the cancel."""
        async with open_sqlite_journal(tmp_path / "j.db", flush_interval=1) as journal:
            entered = trio.Event()
            release = threading.Event()
            write = journal._append_sync
            token = trio.lowlevel.current_trio_token()

            def held_write(conn: sqlite3.Connection, signals: list[Signal], appended_at: int) -> list[Record]:
                trio.from_thread.run_sync(entered.set, trio_token=token)
                release.wait()
                return write(conn, signals, appended_at)

            monkeypatch.setattr(journal, "_append_sync", held_write)
            a, b = sig(0), sig(1)
            seen: list[list[Record] | str] = []

            async def follow(task_status: trio.TaskStatus[trio.CancelScope]) -> None:
                with trio.CancelScope() as scope:
                    task_status.started(scope)
                    seen.append(await journal.append([b]))
                    await trio.lowlevel.checkpoint()
                    seen.append("not cancelled")

            async with trio.open_nursery() as nursery:
                await self.start_leader(nursery, journal, a)
                follower = await nursery.start(follow)
                await trio.testing.wait_all_tasks_blocked()
                mock_clock.jump(1)
                await entered.wait()  # the leader took both appends and is writing them
                follower.cancel()
                release.set()
            assert follower.cancelled_caught
            [records] = seen
            assert isinstance(records, list)
            assert records == [Record(2, b, records[0].appended_at)]
            assert [r.signal for r in await journal.read()] == [a, b]


class TestWriteFailure:
    async def test_every_append_of_the_batch_fails(
        self, tmp_path: Path, autojump_clock: trio.testing.MockClock
    ) -> None:
        """When a transaction fails, each append in it raises BrokenError; nothing is appended; later ones work."""
        path = tmp_path / "j.db"
        async with open_sqlite_journal(path, flush_interval=0.25) as journal:
            await journal.append([sig(0)])
            raw(path, """INSERT INTO records ("offset", type, appended_at, body) VALUES (2, 'x', 0, '{}')""")
            errors: list[BaseException] = []

            async def one(i: int) -> None:
                try:
                    await journal.append([sig(i)])
                except BrokenError as exc:
                    errors.append(exc)

            async with trio.open_nursery() as nursery:
                for i in range(3):
                    nursery.start_soon(one, i)  # all three wait out the leader's interval: one transaction
            assert len(errors) == 3
            for error in errors:
                assert re.match(
                    rf"^journal {shown(path)}: append failed: UNIQUE constraint failed: records\.offset$",
                    str(error),
                )
                assert isinstance(error.__cause__, sqlite3.IntegrityError)
            assert await journal.last_offset() == 1
            raw(path, 'DELETE FROM records WHERE "offset" = 2')
            assert [r.offset for r in await journal.append([sig(9)])] == [2]


class TestCorruption:
    async def corrupt(self, path: Path, sql: str) -> None:
        async with open_sqlite_journal(path) as journal:
            records = await journal.append([sig(i) for i in range(3)])
            await journal.add_dead_letter("billing", records[1], "boom", 1)
        raw(path, sql)

    @pytest.mark.parametrize("body", ["{not json", '{"type": "x"}', "[]"])
    async def test_bad_body(self, tmp_path: Path, body: str) -> None:
        """A record whose body is not a signal fails the read with BrokenError naming its offset."""
        path = tmp_path / "j.db"
        await self.corrupt(path, f"""UPDATE records SET body = '{body}' WHERE "offset" = 2""")
        async with open_sqlite_journal(path) as journal:
            with pytest.raises(
                BrokenError,
                match=rf"^journal {shown(path)}: record at offset 2 is corrupt: its body is not a valid signal$",
            ) as caught:
                await journal.read()
            assert isinstance(caught.value.__cause__, SignalError)
            assert [r.offset for r in await journal.read(3)] == [3]

    async def test_bad_time(self, tmp_path: Path) -> None:
        """A record whose appended_at is not a timestamp fails the read, naming the offset and the value."""
        path = tmp_path / "j.db"
        await self.corrupt(path, """UPDATE records SET appended_at = 'yesterday' WHERE "offset" = 3""")
        async with open_sqlite_journal(path) as journal:
            with pytest.raises(
                BrokenError,
                match=rf"^journal {shown(path)}: record at offset 3 is corrupt: time is 'yesterday'$",
            ):
                await journal.read(2)

    async def test_bad_dead_letter(self, tmp_path: Path) -> None:
        """A corrupt dead letter fails the listing, naming its id."""
        path = tmp_path / "j.db"
        await self.corrupt(path, "UPDATE dead_letters SET record_body = 'garbage' WHERE id = 1")
        async with open_sqlite_journal(path) as journal:
            with pytest.raises(
                BrokenError,
                match=rf"^journal {shown(path)}: dead letter 1 is corrupt: its body is not a valid signal$",
            ):
                await journal.dead_letters()

    async def test_bad_meta(self, tmp_path: Path) -> None:
        """A journal whose last offset in meta is damaged is refused at open."""
        path = tmp_path / "j.db"
        await self.corrupt(path, "UPDATE meta SET value = -4 WHERE key = 'last_offset'")
        with pytest.raises(BrokenError, match=rf"^journal {shown(path)} is corrupt: meta last_offset is -4$"):
            async with open_sqlite_journal(path):
                pass


class TestStatistics:
    async def test_counts_write_transactions(self, tmp_path: Path, clock: ManualClock) -> None:
        """Checkpoints, dead letters and trims that remove records each count one transaction; reads none."""
        async with open_sqlite_journal(tmp_path / "j.db", clock=clock) as journal:
            records = await journal.append([sig(0), sig(1)])
            await journal.set_checkpoint("a", 1)
            await journal.add_dead_letter("a", records[0], "e", 1)
            await journal.remove_dead_letter(1)
            await journal.read()
            assert (
                await journal.trim(max_entries=5, now=clock.now()) == 0
            )  # nothing to remove: no transaction
            assert await journal.trim(max_entries=1, now=clock.now()) == 1
            assert journal.statistics() == SQLiteJournalStatistics(
                transactions=5, append_transactions=1, appended=2, largest_batch=2
            )
