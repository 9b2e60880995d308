"""SQLiteStateStore's single-state reads on the trio thread (``inline_reads``): the same answers as the worker
thread's, never a wait for a lock on the event loop (a busy file sends the read to the worker thread), and
errors as the other reads give them."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
import trio

from jido.errors import BrokenError
from jido.store.sqlite import SQLiteStateStore, open_sqlite_state_store
from jido.store.store import StateWrite
from tests.store.store_support import ManualClock


class TestInlineReads:
    async def test_reads_what_was_saved(self, tmp_path: Path) -> None:
        """Inline and threaded loads agree, each seeing every save that returned before it."""
        path = tmp_path / "state.db"
        async with (
            open_sqlite_state_store(path, clock=ManualClock()) as inline,
            open_sqlite_state_store(path, clock=ManualClock(), inline_reads=False, table="other") as threaded,
        ):
            for n in range(20):
                await inline.save_many([StateWrite("a", f'{{"n": {n}}}')])
                await threaded.save_many([StateWrite("a", f'{{"n": {n}}}')])
                got, want = await inline.load("a"), await threaded.load("a")
                assert got is not None and want is not None
                assert (got.data, got.revision) == (want.data, want.revision) == (f'{{"n": {n}}}', n + 1)
            assert await inline.load("missing") is None

    async def test_busy_file_reads_on_a_worker_thread(self, tmp_path: Path) -> None:
        """When SQLite answers "busy" to the inline read (it is told never to wait), the load is made again on
        the worker thread's connection, which may wait for the lock, and returns what is stored."""
        path = tmp_path / "state.db"
        async with open_sqlite_state_store(path, clock=ManualClock()) as store:
            await store.save_many([StateWrite("a", '{"n": 1}')])
            busy = _Busy(store._inline_reader())
            store._inline = busy  # type: ignore[assignment]
            state = await store.load("a")
            assert busy.refused == 1
            assert state is not None and state.data == '{"n": 1}'
            busy.code = sqlite3.SQLITE_IOERR  # any other error is the file's: BrokenError, no retry
            with pytest.raises(BrokenError, match="load failed"):
                await store.load("a")
            store._inline = busy.conn

    async def test_corrupt_row_is_broken(self, tmp_path: Path) -> None:
        """A corrupt row read inline is a BrokenError naming the file and the agent, as on the thread."""
        path = tmp_path / "state.db"
        async with open_sqlite_state_store(path, clock=ManualClock()) as store:
            await store.save_many([StateWrite("a", '{"n": 1}')])
            raw = sqlite3.connect(path, isolation_level=None)
            raw.execute("UPDATE jido_agent_state SET revision = -5 WHERE agent_id = 'a'")
            raw.close()
            with pytest.raises(BrokenError) as caught:
                await store.load("a")
            assert str(path) in str(caught.value) and "'a'" in str(caught.value)

    async def test_cancelled_before_reading(self, tmp_path: Path) -> None:
        """A load in a cancelled scope raises Cancelled and reads nothing, inline or not."""
        path = tmp_path / "state.db"
        async with open_sqlite_state_store(path, clock=ManualClock()) as store:
            await store.save_many([StateWrite("a", "{}")])
            with trio.CancelScope() as scope:
                scope.cancel()
                await store.load("a")
            assert scope.cancelled_caught

    @pytest.mark.parametrize("bad", [1, "yes", None])
    def test_bad_option(self, tmp_path: Path, bad: object) -> None:
        with pytest.raises(TypeError, match="inline_reads must be a bool"):
            SQLiteStateStore(tmp_path / "state.db", inline_reads=bad)  # type: ignore[arg-type]


class _Busy:
    """An inline connection whose reads fail as SQLite does when the file is locked (or, with another code,
    broken): the branch a busy file takes, which two processes cannot produce on demand in WAL mode."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self.conn = conn
        self.code = sqlite3.SQLITE_BUSY
        self.refused = 0

    def execute(self, *args: object) -> sqlite3.Cursor:
        self.refused += 1
        error = sqlite3.OperationalError("database is locked")
        error.sqlite_errorcode = self.code
        raise error

    def close(self) -> None:
        self.conn.close()
