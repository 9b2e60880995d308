"""The SQLite state store's writer: one dedicated thread, a queue, and group commit.

Trio tasks put requests (a ``save_many`` batch, or a delete) on the queue and park. The thread takes every
request queued (up to ``batch_max`` writes; a request is never split), runs them in ONE transaction, commits, and wakes their tasks through the trio token with one callback per
transaction. While one transaction is on the disk the next requests queue up, so N tasks saving at once
cost a few commits, not N, and with ``synchronous=FULL`` a few fsyncs.

A request that fails (a compare-and-set that does not match, a corrupt row, a statement SQLite refuses) fails
alone: the transaction is rolled back and run again with a savepoint per request, and the others commit. A failure of the
transaction itself (BEGIN or COMMIT: disk full, the file locked by another process) fails every request in it,
and nothing of them is stored.

Cancellation: a parked task whose request the thread has not taken yet withdraws it and leaves nothing behind;
once taken, the request runs to its end (a transaction is short) and the cancellation arrives at the task's
next checkpoint. The thread and trio share the queue and each request's ``taken``/``withdrawn`` flags under
one lock, which the thread never holds while it talks to SQLite.
"""

from __future__ import annotations

import collections
import contextlib
import sqlite3
import threading
import time
from typing import Final

import trio

from jido.errors import BrokenError
from jido.store._sqlite_schema import from_us
from jido.store.store import StaleStateError, StateStoreStatistics, StateWrite, StoredState

__all__ = ["Request", "Writer"]

_UPSERT: Final = (
    'INSERT INTO "{t}" (agent_id, revision, updated_at, data) VALUES (?, 1, ?, ?)'
    " ON CONFLICT (agent_id) DO UPDATE"
    " SET revision = revision + 1, updated_at = excluded.updated_at, data = excluded.data"
    " RETURNING revision"
)
_CREATE: Final = (
    'INSERT INTO "{t}" (agent_id, revision, updated_at, data) VALUES (?, 1, ?, ?)'
    " ON CONFLICT (agent_id) DO NOTHING"
)
_UPDATE: Final = (
    'UPDATE "{t}" SET revision = revision + 1, updated_at = ?, data = ? WHERE agent_id = ? AND revision = ?'
)
_REVISION: Final = 'SELECT revision FROM "{t}" WHERE agent_id = ?'
_DELETE: Final = 'DELETE FROM "{t}" WHERE agent_id = ?'
_DELETE_IF: Final = 'DELETE FROM "{t}" WHERE agent_id = ? AND revision = ?'


class Request:
    """One ``save_many`` (``writes``) or ``delete`` (``delete_id``) waiting for its transaction."""

    __slots__ = (
        "delete_id",
        "error",
        "expected",
        "result",
        "size",
        "taken",
        "task",
        "updated_at",
        "withdrawn",
        "writes",
    )

    def __init__(
        self,
        *,
        writes: list[StateWrite] | None = None,
        delete_id: str | None = None,
        expected: int | None = None,
        updated_at: int = 0,
    ) -> None:
        self.writes = writes
        self.delete_id = delete_id
        self.expected = expected
        self.updated_at = updated_at  # microseconds since the epoch
        self.size = 1 if writes is None else len(writes)
        self.task: trio.lowlevel.Task | None = None  # set while it waits to be woken
        self.taken = False  # the thread has it: it can no longer be withdrawn
        self.withdrawn = False
        self.result: list[StoredState] | bool | None = None
        self.error: Exception | None = None


class Writer:
    """The writer thread of one SQLite state store, owning the write connection ``conn``.

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
        self._conn = conn
        self._path = path
        self._token = token
        self._batch_max = batch_max
        self._flush_interval = flush_interval
        self._sql = {
            name: sql.format(t=table)
            for name, sql in [
                ("upsert", _UPSERT),
                ("create", _CREATE),
                ("update", _UPDATE),
                ("revision", _REVISION),
                ("delete", _DELETE),
                ("delete_if", _DELETE_IF),
            ]
        }
        self._lock = threading.Lock()
        self._wanted = threading.Condition(self._lock)
        self._queue: collections.deque[Request] = collections.deque()
        self._queued = 0  # writes in the queue, not counting withdrawn requests
        self._stopping = False
        self._thread = threading.Thread(target=self._run, name=f"jido state writer {path}", daemon=True)
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
        with self._lock:
            self._stopping = True
            self._wanted.notify()

    def join(self) -> None:
        """Wait (blocking: call it from a worker thread) until the thread has ended."""
        self._thread.join()

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

    # -- the trio side ---------------------------------------------------------------------------------------

    async def submit(self, request: Request) -> None:
        """Queue ``request`` and wait until the thread has run it (its ``result`` or ``error`` is then set).

        Cancellable until the thread takes it; the request is then withdrawn and nothing of it is written.
        """
        request.task = trio.lowlevel.current_task()
        with self._lock:
            self._queue.append(request)
            self._queued += request.size
            self._wanted.notify()

        def abort(_: object) -> trio.lowlevel.Abort:
            with self._lock:
                if request.taken:
                    return trio.lowlevel.Abort.FAILED
                request.withdrawn = True
                self._queued -= request.size
            request.task = None
            return trio.lowlevel.Abort.SUCCEEDED

        await trio.lowlevel.wait_task_rescheduled(abort)

    @staticmethod
    def _wake(batch: list[Request]) -> None:
        for request in batch:
            task, request.task = request.task, None
            if task is not None:
                trio.lowlevel.reschedule(task)

    # -- the thread ------------------------------------------------------------------------------------------

    def _run(self) -> None:
        try:
            while (batch := self._take()) is not None:
                if not batch:
                    continue
                try:
                    self._transact(batch)
                except Exception as exc:  # a bug of ours: fail the requests rather than leave them parked
                    for request in batch:
                        request.result, request.error = None, exc
                with contextlib.suppress(trio.RunFinishedError):  # the run is gone: nobody waits any more
                    self._token.run_sync_soon(self._wake, batch)
        finally:
            self._conn.close()

    def _take(self) -> list[Request] | None:
        """The requests of the next transaction (maybe none, if all were withdrawn); None once stopped."""
        with self._lock:
            while not self._queue and not self._stopping:
                self._wanted.wait()
            if not self._queue:
                return None
            if self._flush_interval > 0:
                deadline = time.monotonic() + self._flush_interval
                while self._queued < self._batch_max and not self._stopping:
                    remaining = deadline - time.monotonic()
                    if remaining <= 0:
                        break
                    self._wanted.wait(remaining)
            batch: list[Request] = []
            count = 0
            while self._queue and (not batch or count + self._queue[0].size <= self._batch_max):
                request = self._queue.popleft()
                if request.withdrawn:
                    continue
                request.taken = True
                self._queued -= request.size
                batch.append(request)
                count += request.size
            return batch

    def _transact(self, batch: list[Request]) -> None:
        """Run ``batch`` in one transaction. First optimistically, with no savepoints (two statements fewer
        per request, and a failure is rare); if any request fails, roll the whole transaction back and run
        it again with a savepoint per request, so that the failed ones fail alone. The second run gives the
        same results as the first would have: the requests and their times are fixed, and we hold the lock.
        """
        conn = self._conn
        try:
            conn.execute("BEGIN IMMEDIATE")
            try:
                for request in batch:
                    request.result = self._apply(conn, request)
            except Exception:
                conn.execute("ROLLBACK")
                self._transact_each(batch)
                return
            conn.execute("COMMIT")
        except sqlite3.Error as exc:
            self._fail(batch, exc)
            return
        self._count(batch, conflicts=0, failures=0)

    def _transact_each(self, batch: list[Request]) -> None:
        conn = self._conn
        applied: list[Request] = []
        conflicts = failures = 0
        try:
            conn.execute("BEGIN IMMEDIATE")
            for request in batch:
                request.result = None
                conn.execute("SAVEPOINT request")
                try:
                    request.result = self._apply(conn, request)
                except Exception as exc:
                    conn.execute("ROLLBACK TO request")
                    conn.execute("RELEASE request")
                    request.result, request.error = None, exc
                    if isinstance(exc, StaleStateError):
                        conflicts += 1
                    else:
                        failures += 1
                else:
                    conn.execute("RELEASE request")
                    applied.append(request)
            conn.execute("COMMIT" if applied else "ROLLBACK")
        except sqlite3.Error as exc:
            self._fail(batch, exc)
            return
        self._count(applied, conflicts=conflicts, failures=failures)

    def _fail(self, batch: list[Request], exc: sqlite3.Error) -> None:
        """BEGIN, a savepoint or COMMIT failed: nothing of this transaction may be stored."""
        if self._conn.in_transaction:
            # SQLite rolls back by itself on the errors that would make this ROLLBACK fail.
            with contextlib.suppress(sqlite3.Error):
                self._conn.execute("ROLLBACK")
        with self._lock:
            self._failures += len(batch)
        for request in batch:
            request.result, request.error = None, exc

    def _count(self, applied: list[Request], *, conflicts: int, failures: int) -> None:
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

    def _apply(self, conn: sqlite3.Connection, request: Request) -> list[StoredState] | bool:
        if request.writes is None:
            return self._delete(conn, request)
        updated_at = from_us(request.updated_at)
        states = []
        for write in request.writes:
            agent_id, expected = write.agent_id, write.expected_revision
            if expected is None:
                rows = conn.execute(
                    self._sql["upsert"], (agent_id, request.updated_at, write.data)
                ).fetchall()
                revision = rows[0][0]
            elif expected == 0:
                cursor = conn.execute(self._sql["create"], (agent_id, request.updated_at, write.data))
                if cursor.rowcount != 1:
                    raise self._stale(conn, agent_id, expected)
                revision = 1
            else:
                cursor = conn.execute(
                    self._sql["update"], (request.updated_at, write.data, agent_id, expected)
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
            return conn.execute(self._sql["delete"], (agent_id,)).rowcount == 1
        if conn.execute(self._sql["delete_if"], (agent_id, expected)).rowcount != 1:
            raise self._stale(conn, agent_id, expected)
        return True

    def _stale(self, conn: sqlite3.Connection, agent_id: str, expected: int) -> Exception:
        rows = conn.execute(self._sql["revision"], (agent_id,)).fetchall()
        actual = rows[0][0] if rows else 0
        if type(actual) is not int:
            return BrokenError(
                f"state store {self._path!r}: state of agent {agent_id!r} is corrupt: revision is {actual!r}"
            )
        return StaleStateError(agent_id, expected, actual)
