"""The SQLite state store's writer: the SQL of a ``save_many`` or a ``delete``, run by the shared writer
thread (:class:`jido._sqlite_writer.SQLiteWriter`: one dedicated thread, a queue, group commit).

Trio tasks put requests (a ``save_many`` batch, or a delete) on the queue and park; the thread runs every
request queued (up to ``batch_max`` writes; a request is never split) in ONE transaction, so N tasks saving at
once cost a few commits, not N, and with ``synchronous=FULL`` a few fsyncs.

The common batches take a fast path first: when every write of the batch is a compare-and-set on an existing
state (``expected_revision`` >= 1: the runtime's steady state) or every one is unconditional, the whole batch
is one ``executemany`` (SQLite's loop in C, not a statement per write from Python), and the revisions follow
from the expected ones, or from one read of the new revisions afterwards. If any compare-and-set does not
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
_UPSERT_MANY: Final = _UPSERT.removesuffix(" RETURNING revision")  # executemany takes no RETURNING
_REVISIONS: Final = 'SELECT agent_id, revision FROM "{t}" WHERE agent_id IN ({marks})'
_CHUNK: Final = 500  # ids per IN (...): below SQLite's smallest limit on parameters
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
                ("upsert_many", _UPSERT_MANY),
            ]
        }
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
                    conn.executemany(
                        self._sql["upsert_many"],
                        [(w.agent_id, r.updated_at, w.data, _us(w)) for r, w in writes],
                    )
                    revisions = self._revisions(conn, [w for _, w in writes])
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

    def _revisions(self, conn: sqlite3.Connection, writes: list[StateWrite]) -> list[int]:
        """The revision each of ``writes`` (applied in order) got: the agent's revision now, less the writes
        to it that came after."""
        ids = list(dict.fromkeys(write.agent_id for write in writes))
        now: dict[str, int] = {}
        for start in range(0, len(ids), _CHUNK):
            chunk = ids[start : start + _CHUNK]
            sql = _REVISIONS.format(t=self._table, marks=", ".join("?" * len(chunk)))
            for agent_id, revision in conn.execute(sql, chunk):
                if type(revision) is not int or revision < 1:
                    raise BrokenError(
                        f"state store {self._path!r}: state of agent {agent_id!r} is corrupt:"
                        f" revision is {revision!r}"
                    )
                now[agent_id] = revision
        later: dict[str, int] = {}
        revisions = []
        for write in reversed(writes):
            after = later.get(write.agent_id, 0)
            revisions.append(now[write.agent_id] - after)
            later[write.agent_id] = after + 1
        revisions.reverse()
        return revisions

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
