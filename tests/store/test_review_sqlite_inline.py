"""Review: SQLiteStateStore's inline single-state reads (f1c5e9b) and what SQLite answers when busy."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from jido.store.sqlite import open_sqlite_state_store
from jido.store.store import StateWrite
from tests.store.store_support import ManualClock


class _Refusing:
    """An inline connection whose reads fail with the given SQLite (extended) result code."""

    def __init__(self, conn: sqlite3.Connection, code: int, message: str) -> None:
        self.conn = conn
        self.code = code
        self.message = message

    def execute(self, *args: object) -> sqlite3.Cursor:
        error = sqlite3.OperationalError(self.message)
        error.sqlite_errorcode = self.code
        raise error

    def close(self) -> None:
        self.conn.close()


def test_review_sqlite3_reports_extended_codes() -> None:
    """What the fallback's check is compared against: Python's sqlite3 puts the *extended* result code in
    ``sqlite_errorcode`` (a UNIQUE violation is 2067, SQLITE_CONSTRAINT_UNIQUE, not 19)."""
    conn = sqlite3.connect(":memory:")
    conn.execute("CREATE TABLE t (a UNIQUE)")
    conn.execute("INSERT INTO t VALUES (1)")
    with pytest.raises(sqlite3.IntegrityError) as caught:
        conn.execute("INSERT INTO t VALUES (1)")
    assert caught.value.sqlite_errorcode == sqlite3.SQLITE_CONSTRAINT_UNIQUE != sqlite3.SQLITE_CONSTRAINT


async def test_review_busy_recovery_falls_back_to_the_thread(tmp_path: Path) -> None:
    """Another process recovering the WAL (after a crash) makes a reader that may not wait answer
    SQLITE_BUSY_RECOVERY (261), the very case the fallback's comment names ("a WAL being recovered"). The
    inline load raises BrokenError instead of reading on the worker thread, so waking an agent fails."""
    path = tmp_path / "state.db"
    async with open_sqlite_state_store(path, clock=ManualClock()) as store:
        await store.save_many([StateWrite("a", '{"n": 1}')])
        conn = store._inline_reader()
        store._inline = _Refusing(conn, sqlite3.SQLITE_BUSY_RECOVERY, "database is locked")  # type: ignore[assignment]
        try:
            state = await store.load("a")
        finally:
            store._inline = conn
        assert state is not None and state.data == '{"n": 1}'


async def test_review_inline_load_beside_an_open_write(tmp_path: Path) -> None:
    """Another connection holds a write transaction open (an update not committed yet): the inline load
    neither waits for it nor sees it; once committed, the next load sees it. Store closed: ClosedError."""
    from jido.errors import ClosedError

    path = tmp_path / "state.db"
    async with open_sqlite_state_store(path, clock=ManualClock()) as store:
        await store.save_many([StateWrite("a", '{"n": 1}')])
        other = sqlite3.connect(path, isolation_level=None)
        try:
            other.execute("BEGIN IMMEDIATE")
            other.execute(f"UPDATE {store.table} SET data = '{{\"n\": 2}}' WHERE agent_id = 'a'")
            seen = await store.load("a")
            assert seen is not None and seen.data == '{"n": 1}'
            other.execute("COMMIT")
            seen = await store.load("a")
            assert seen is not None and seen.data == '{"n": 2}'
        finally:
            other.close()
    with pytest.raises(ClosedError):
        await store.load("a")
