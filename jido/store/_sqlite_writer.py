"""The SQLite state store's writer: the SQL of a ``save_many`` or a ``delete``, run by the shared writer
thread (:class:`jido._sqlite_writer.SQLiteWriter`: one dedicated thread, a queue, group commit).

Trio tasks put requests (a ``save_many`` batch, or a delete) on the queue and park; the thread runs every
request queued (up to ``batch_max`` writes; a request is never split) in ONE transaction, so N tasks saving at
once cost a few commits, not N, and with ``synchronous=FULL`` a few fsyncs.

The common batches take a fast path first: when every write of the batch is a compare-and-set on an existing
state (``expected_revision`` >= 1: the runtime's steady state) or every one is unconditional, the whole batch
is one ``executemany`` of compare-and-set UPDATEs (the revisions follow from the expected ones), or a few
multi-row upserts that return the new revisions: SQLite's loop in C, not a statement per write from Python. If any compare-and-set does not
match, that transaction is rolled back and the batch runs the ordinary way below, which finds the culprit.

A request that fails (a compare-and-set that does not match, a corrupt row, a statement SQLite refuses) fails
alone: the transaction is run again with a savepoint per request (:func:`jido._sqlite_writer.run_group`), and
the others commit. A failure of the transaction itself (BEGIN or COMMIT: disk full, the file locked by another
process) fails every request in it, and nothing of them is stored. Cancellation is the shared writer's: a
request not yet taken by the thread is withdrawn and leaves nothing behind.
"""

from __future__ import annotations

import sqlite3
import threading
from typing import Final

import trio

from jido._sqlite_writer import SQLiteWriter, WriteRequest, run_group
from jido.errors import BrokenError
from jido.store._sqlite_schema import from_us, to_us
from jido.store.store import StaleStateError, StateStoreStatistics, StateWrite, StoredState

__all__ = ["Request", "Writer"]

# A new row starts above the highest revision ever deleted (see _sqlite_schema): revisions never repeat.
_FIRST: Final = "COALESCE((SELECT value FROM \"{t}_meta\" WHERE key = 'revision_floor'), 0) + 1"
_UPSERT: Final = (
    'INSERT INTO "{t}" (agent_id, revision, updated_at, data, wake_at) VALUES (?, ' + _FIRST + ", ?, ?, ?)"
    " ON CONFLICT (agent_id) DO UPDATE SET revision = revision + 1, updated_at = excluded.updated_at,"
    " data = excluded.data, wake_at = excluded.wake_at"
    " RETURNING revision"
)
_CREATE: Final = (
    'INSERT INTO "{t}" (agent_id, revision, updated_at, data, wake_at) VALUES (?, ' + _FIRST + ", ?, ?, ?)"
    " ON CONFLICT (agent_id) DO NOTHING RETURNING revision"
)
_UPDATE: Final = (
    'UPDATE "{t}" SET revision = revision + 1, updated_at = ?, data = ?, wake_at = ?'
    " WHERE agent_id = ? AND revision = ?"
)
_REVISION: Final = 'SELECT revision FROM "{t}" WHERE agent_id = ?'
_DELETE: Final = 'DELETE FROM "{t}" WHERE agent_id = ? RETURNING revision'
_DELETE_IF: Final = 'DELETE FROM "{t}" WHERE agent_id = ? AND revision = ? RETURNING revision'
_UPDATE_MANY: Final = (
    'UPDATE "{t}" SET revision = revision + 1, updated_at = ?, data = ?, wake_at = ?'
    " WHERE agent_id = ? AND revision = ?"
)
_UPSERT_CONFLICT: Final = (
    " ON CONFLICT (agent_id) DO UPDATE SET revision = revision + 1, updated_at = excluded.updated_at,"
    " data = excluded.data, wake_at = excluded.wake_at"
)
_FLOOR_VALUE: Final = "SELECT value FROM \"{t}_meta\" WHERE key = 'revision_floor'"
# Rows per multi-row INSERT, 5 parameters each: within SQLite's limit on parameters (999 before 3.32, 32,766
# since), and past the size where a longer statement stops paying.
_ROWS_PER_INSERT: Final = 500 if sqlite3.sqlite_version_info >= (3, 32) else 190
_FLOOR: Final = "UPDATE \"{t}_meta\" SET value = max(value, ?) WHERE key = 'revision_floor'"


class _Mismatch(Exception):
    """A compare-and-set of the fast path did not match: the batch goes the ordinary way."""


def _us(write: StateWrite) -> int | None:
    return None if write.wake_at is None else to_us(write.wake_at)


class Request(WriteRequest):
    """One ``save_many`` (``writes``) or ``delete`` (``delete_id``) waiting for its transaction."""

    __slots__ = ("delete_id", "expected", "updated_at", "writes")

    def __init__(
        self,
        *,
        writes: list[StateWrite] | None = None,
        delete_id: str | None = None,
        expected: int | None = None,
        updated_at: int = 0,
    ) -> None:
        super().__init__(1 if writes is None else len(writes))
        self.writes = writes
        self.delete_id = delete_id
        self.expected = expected
        self.updated_at = updated_at  # microseconds since the epoch


class Writer:
    """The writer of one SQLite state store, owning the write connection ``conn`` through its thread.

    Args:
        conn: the connection (WAL mode, autocommit, ``check_same_thread=False``); closed when the thread ends.
        path: the file, for messages.
        table: the state table.
        token: the trio run whose tasks submit requests.
        batch_max: the most writes one transaction gathers from several requests.
        flush_interval: seconds the thread waits for more requests after the first, before it writes.
    """

    def __init__(
        self,
        conn: sqlite3.Connection,
        *,
        path: str,
        table: str,
        token: trio.lowlevel.TrioToken,
        batch_max: int,
        flush_interval: float,
    ) -> None:
        self._path = path
        self._table = table
        self._sql = {
            name: sql.format(t=table)
            for name, sql in [
                ("upsert", _UPSERT),
                ("create", _CREATE),
                ("update", _UPDATE),
                ("revision", _REVISION),
                ("delete", _DELETE),
                ("delete_if", _DELETE_IF),
                ("floor", _FLOOR),
                ("update_many", _UPDATE_MANY),
                ("floor_value", _FLOOR_VALUE),
            ]
        }
        self._upserts: dict[
            int, str
        ] = {}  # multi-row upserts by row count (at most _ROWS_PER_INSERT of them)
        self._thread: SQLiteWriter[Request] = SQLiteWriter(
            conn,
            name=f"jido state writer {path}",
            token=token,
            transact=self._transact,
            batch_max=batch_max,
            flush_interval=flush_interval,
        )
        self._lock = threading.Lock()  # the counters: written by the thread, read by statistics()
        self._saves = 0
        self._deletes = 0
        self._transactions = 0
        self._largest_batch = 0
        self._conflicts = 0
        self._failures = 0

    def start(self) -> None:
        """Start the thread."""
        self._thread.start()

    def stop(self) -> None:
        """Let the thread write what is queued, close the connection and end; :meth:`join` waits for that."""
        self._thread.stop()

    def join(self) -> None:
        """Wait (blocking: call it from a worker thread) until the thread has ended."""
        self._thread.join()

    async def submit(self, request: Request) -> None:
        """Queue ``request`` and wait until it ran (its ``result`` or ``error`` is then set); cancellable until
        the thread takes it (then nothing of it is written)."""
        await self._thread.submit(request)

    def statistics(self) -> StateStoreStatistics:
        """The counters, as one consistent snapshot."""
        with self._lock:
            return StateStoreStatistics(
                saves=self._saves,
                deletes=self._deletes,
                transactions=self._transactions,
                largest_batch=self._largest_batch,
                conflicts=self._conflicts,
                failures=self._failures,
            )

    # -- the thread ------------------------------------------------------------------------------------------

    def _transact(self, conn: sqlite3.Connection, batch: list[Request]) -> None:
        applied = batch if self._fast(conn, batch) else run_group(conn, batch, self._apply)
        conflicts = sum(1 for r in batch if isinstance(r.error, StaleStateError))
        failures = sum(1 for r in batch if r.error is not None) - conflicts
        with self._lock:
            self._conflicts += conflicts
            self._failures += failures
            if applied:
                self._transactions += 1
                self._largest_batch = max(self._largest_batch, sum(r.size for r in applied))
            for request in applied:
                if request.writes is not None:
                    self._saves += request.size
                elif request.result:
                    self._deletes += 1

    def _fast(self, conn: sqlite3.Connection, batch: list[Request]) -> bool:
        """Run ``batch`` as one ``executemany`` if it is all compare-and-sets on existing states or all
        unconditional writes, and set each request's result; False (nothing written) when it is neither, or
        a compare-and-set did not match, or SQLite refused: the caller then runs it the ordinary way."""
        writes = [
            (request, write) for request in batch if request.writes is not None for write in request.writes
        ]
        if len(writes) < 2 or any(request.writes is None for request in batch):
            return False
        expected = {write.expected_revision is None for _, write in writes}
        if len(expected) != 1 or any(write.expected_revision == 0 for _, write in writes):
            return False
        unconditional = expected == {True}
        try:
            conn.execute("BEGIN IMMEDIATE")
            try:
                if unconditional:
                    revisions = self._upsert_returning(conn, writes)
                else:
                    cursor = conn.executemany(
                        self._sql["update_many"],
                        [(r.updated_at, w.data, _us(w), w.agent_id, w.expected_revision) for r, w in writes],
                    )
                    if cursor.rowcount != len(writes):
                        raise _Mismatch  # noqa: TRY301  # one way out for this and SQLite's errors
                    revisions = [w.expected_revision + 1 for _, w in writes]  # type: ignore[operator]
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            conn.execute("COMMIT")
        except (_Mismatch, sqlite3.Error):
            return False
        states = iter(revisions)
        for request in batch:
            assert request.writes is not None
            updated_at = from_us(request.updated_at)
            request.result = [
                StoredState(w.agent_id, w.data, next(states), updated_at) for w in request.writes
            ]
        return True

    def _upsert_returning(
        self, conn: sqlite3.Connection, writes: list[tuple[Request, StateWrite]]
    ) -> list[int]:
        """Upsert ``writes`` (in order) with multi-row INSERTs that return each row's revision, and return the
        revision each write got.

        One statement of up to :data:`_ROWS_PER_INSERT` rows does what ``executemany`` and a SELECT of the
        revisions afterwards did, in about half the time. SQLite applies the rows of one INSERT in order (a
        second row for an agent updates the first), but returns them in no promised order: they are matched
        back by agent id, an agent's revisions rising with its writes.
        """
        floor = conn.execute(self._sql["floor_value"]).fetchone()
        first = (floor[0] if floor is not None and type(floor[0]) is int else 0) + 1
        got: dict[str, list[int]] = {}
        for start in range(0, len(writes), _ROWS_PER_INSERT):
            chunk = writes[start : start + _ROWS_PER_INSERT]
            params: list[object] = []
            for request, write in chunk:
                params += (write.agent_id, first, request.updated_at, write.data, _us(write))
            for agent_id, revision in conn.execute(self._upsert_sql(len(chunk)), params):
                if type(revision) is not int or revision < 1:
                    raise BrokenError(
                        f"state store {self._path!r}: state of agent {agent_id!r} is corrupt:"
                        f" revision is {revision!r}"
                    )
                got.setdefault(agent_id, []).append(revision)
        for revisions in got.values():
            revisions.sort(reverse=True)  # popped from the end: the lowest first
        return [got[write.agent_id].pop() for _, write in writes]

    def _upsert_sql(self, rows: int) -> str:
        sql = self._upserts.get(rows)
        if sql is None:
            sql = self._upserts[rows] = (
                f'INSERT INTO "{self._table}" (agent_id, revision, updated_at, data, wake_at) VALUES '
                + ", ".join(["(?, ?, ?, ?, ?)"] * rows)
                + _UPSERT_CONFLICT
                + " RETURNING agent_id, revision"
            )
        return sql

    def _apply(self, conn: sqlite3.Connection, request: Request) -> list[StoredState] | bool:
        if request.writes is None:
            return self._delete(conn, request)
        updated_at = from_us(request.updated_at)
        states = []
        for write in request.writes:
            agent_id, expected = write.agent_id, write.expected_revision
            wake_at = None if write.wake_at is None else to_us(write.wake_at)
            if expected is None:
                rows = conn.execute(
                    self._sql["upsert"], (agent_id, request.updated_at, write.data, wake_at)
                ).fetchall()
                revision = rows[0][0]
            elif expected == 0:
                rows = conn.execute(
                    self._sql["create"], (agent_id, request.updated_at, write.data, wake_at)
                ).fetchall()
                if not rows:
                    raise self._stale(conn, agent_id, expected)
                revision = rows[0][0]
            else:
                cursor = conn.execute(
                    self._sql["update"], (request.updated_at, write.data, wake_at, agent_id, expected)
                )
                if cursor.rowcount != 1:
                    raise self._stale(conn, agent_id, expected)
                revision = expected + 1
            if type(revision) is not int or revision < 1:
                raise BrokenError(
                    f"state store {self._path!r}: state of agent {agent_id!r} is corrupt:"
                    f" revision is {revision!r}"
                )
            states.append(StoredState(agent_id, write.data, revision, updated_at))
        return states

    def _delete(self, conn: sqlite3.Connection, request: Request) -> bool:
        agent_id, expected = request.delete_id, request.expected
        if agent_id is None:
            raise BrokenError(f"state store {self._path!r}: a request has neither writes nor an agent id")
        if expected is None:
            rows = conn.execute(self._sql["delete"], (agent_id,)).fetchall()
        else:
            rows = conn.execute(self._sql["delete_if"], (agent_id, expected)).fetchall()
            if not rows:
                raise self._stale(conn, agent_id, expected)
        if not rows:
            return False
        conn.execute(self._sql["floor"], (rows[0][0],))
        return True

    def _stale(self, conn: sqlite3.Connection, agent_id: str, expected: int) -> Exception:
        rows = conn.execute(self._sql["revision"], (agent_id,)).fetchall()
        actual = rows[0][0] if rows else 0
        if type(actual) is not int:
            return BrokenError(
                f"state store {self._path!r}: state of agent {agent_id!r} is corrupt: revision is {actual!r}"
            )
        return StaleStateError(agent_id, expected, actual)
