"""One dedicated writer thread for a SQLite connection: a queue, group commit, and trio tasks woken in batches.

Trio tasks put requests on the queue and park (:meth:`SQLiteWriter.submit`). The thread takes every request
queued (up to ``batch_max`` in size; a request is never split), hands them to its owner's ``transact``
function, which runs them in one transaction, and wakes their tasks through the trio token with one callback
per transaction. While one transaction is on the disk the next requests queue up, so N tasks writing at once
cost a few commits, not N, and with ``synchronous=FULL`` a few fsyncs. A request costs its task no thread
round trip of its own: trio's worker-thread hand-off is paid once per transaction, not once per call.

What the SQL is belongs to the owner (the journal, the state store): this module knows threads, the queue and
cancellation. :func:`run_group` is the usual ``transact``: all requests in one optimistic transaction, and if
one fails, the transaction again with a savepoint per request, so that a failed request fails alone.

Cancellation: a parked task whose request the thread has not taken yet withdraws it and leaves nothing behind;
once taken, the request runs to its end (a transaction is short) and the cancellation arrives at the task's
next checkpoint. The thread and trio share the queue and each request's ``taken``/``withdrawn`` flags under
one lock, which the thread never holds while it talks to SQLite.

:class:`SQLiteFile` is the rest of what an owner of a file needs: its writer (made by the first call), one
read connection used on worker threads one call at a time, and the calls in progress, which closing waits
for. The journal (:mod:`jido.bus.sqlite`) and the state store (:mod:`jido.store.sqlite`) use both.
"""

from __future__ import annotations

import collections
import contextlib
import sqlite3
import threading
import time
from collections.abc import Awaitable, Callable, Iterator, Sequence
from typing import Generic, Protocol, TypeVar

import trio

__all__ = ["SQLiteFile", "SQLiteWriter", "WriteRequest", "run_group"]


class WriteRequest:
    """One call waiting for its transaction. Owners subclass it to carry what is to be written.

    Attributes:
        size: what it counts against ``batch_max`` (records, rows).
        result: set by the owner's ``transact`` when it was applied and committed.
        error: set instead when it failed (nothing of it is stored).
    """

    __slots__ = ("error", "result", "size", "taken", "task", "withdrawn")

    def __init__(self, size: int = 1) -> None:
        self.size = size
        self.task: trio.lowlevel.Task | None = None  # set while it waits to be woken
        self.taken = False  # the thread has it: it can no longer be withdrawn
        self.withdrawn = False
        self.result: object = None
        self.error: BaseException | None = None


R = TypeVar("R", bound=WriteRequest)


class SQLiteWriter(Generic[R]):
    """The writer thread of one SQLite connection.

    Args:
        conn: the write connection (autocommit, ``check_same_thread=False``); closed when the thread ends.
        name: the thread's name.
        token: the trio run whose tasks submit requests.
        transact: runs a batch of requests in the thread (in one transaction, or as it sees fit), setting
            each one's ``result`` or ``error``. An exception it lets out fails the whole batch.
        batch_max: the most ``size`` one batch gathers from several requests.
        flush_interval: seconds the thread waits for more requests after the first, before it writes.
    """

    def __init__(
        self,
        conn: sqlite3.Connection,
        *,
        name: str,
        token: trio.lowlevel.TrioToken,
        transact: Callable[[sqlite3.Connection, list[R]], None],
        batch_max: int,
        flush_interval: float,
    ) -> None:
        self._conn = conn
        self._token = token
        self._transact = transact
        self._batch_max = batch_max
        self._flush_interval = flush_interval
        self._lock = threading.Lock()
        self._wanted = threading.Condition(self._lock)
        self._queue: collections.deque[R] = collections.deque()
        self._queued = 0  # size in the queue, not counting withdrawn requests
        self._stopping = False
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)

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

    # -- the trio side ---------------------------------------------------------------------------------------

    async def submit(self, request: R) -> None:
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
    def _wake(batch: Sequence[WriteRequest]) -> None:
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
                    self._transact(self._conn, batch)
                except Exception as exc:  # a bug of ours: fail the requests rather than leave them parked
                    for request in batch:
                        request.result, request.error = None, exc
                with contextlib.suppress(trio.RunFinishedError):  # the run is gone: nobody waits any more
                    self._token.run_sync_soon(self._wake, batch)
        finally:
            self._conn.close()

    def _take(self) -> list[R] | None:
        """The requests of the next batch (maybe none, if all were withdrawn); None once stopped."""
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
            batch: list[R] = []
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


def run_group(
    conn: sqlite3.Connection,
    batch: Sequence[R],
    apply: Callable[[sqlite3.Connection, R], object],
    *,
    restart: Callable[[], None] | None = None,
) -> list[R]:
    """Run ``batch`` in one transaction; returns the requests committed (each with its ``result``).

    First optimistically, with no savepoints (two statements fewer per request; a failure is rare). If any
    request raises, roll the transaction back and run it again with a savepoint per request, so that the
    failed ones fail alone (their ``error`` set) and the others commit. ``restart`` is called before each run:
    an owner that keeps state across the requests of one transaction (the next offset) resets it there, and
    ``apply`` must change that state only once the request's statements succeeded. A failure of the
    transaction itself (BEGIN, a savepoint or COMMIT: disk full, the file locked) fails every request, and
    nothing is stored.
    """
    try:
        if restart is not None:
            restart()
        conn.execute("BEGIN IMMEDIATE")
        try:
            for request in batch:
                request.result = apply(conn, request)
        except Exception:
            conn.execute("ROLLBACK")
            return _run_each(conn, batch, apply, restart)
        conn.execute("COMMIT")
    except sqlite3.Error as exc:
        _fail(conn, batch, exc)
        return []
    return list(batch)


def _run_each(
    conn: sqlite3.Connection,
    batch: Sequence[R],
    apply: Callable[[sqlite3.Connection, R], object],
    restart: Callable[[], None] | None,
) -> list[R]:
    applied: list[R] = []
    try:
        if restart is not None:
            restart()
        conn.execute("BEGIN IMMEDIATE")
        for request in batch:
            request.result = None
            conn.execute("SAVEPOINT request")
            try:
                request.result = apply(conn, request)
            except Exception as exc:
                conn.execute("ROLLBACK TO request")
                conn.execute("RELEASE request")
                request.result, request.error = None, exc
            else:
                conn.execute("RELEASE request")
                applied.append(request)
        conn.execute("COMMIT" if applied else "ROLLBACK")
    except sqlite3.Error as exc:
        _fail(conn, batch, exc)
        return []
    return applied


def _fail(conn: sqlite3.Connection, batch: Sequence[WriteRequest], exc: sqlite3.Error) -> None:
    """BEGIN, a savepoint or COMMIT failed: nothing of this transaction may be stored."""
    if conn.in_transaction:
        # SQLite rolls back by itself on the errors that would make this ROLLBACK fail.
        with contextlib.suppress(sqlite3.Error):
            conn.execute("ROLLBACK")
    for request in batch:
        request.result, request.error = None, exc


class Writing(Protocol):
    """What :class:`SQLiteFile` does with its owner's writer."""

    def start(self) -> None: ...

    def stop(self) -> None: ...

    def join(self) -> None: ...


W = TypeVar("W", bound=Writing)
T = TypeVar("T")


class SQLiteFile(Generic[W]):
    """The connections of one SQLite file that a journal or a state store owns.

    Args:
        path: the file.
        open_writer: opens the file (in a worker thread: it may create the schema) and returns the writer of
            its write connection, not yet started; called by the first call that needs the file.
    """

    def __init__(self, path: str, open_writer: Callable[[], Awaitable[W]]) -> None:
        self.path = path
        self._open_writer = open_writer
        self.writer: W | None = None
        self.closed = False
        self._reader: sqlite3.Connection | None = None
        self._read_limiter = trio.CapacityLimiter(1)
        self._open_lock = trio.Lock()
        self._active = 0  # calls in progress: close lets them finish first
        self._idle = trio.Event()
        self._idle.set()

    @contextlib.contextmanager
    def call(self) -> Iterator[None]:
        """A call in progress, which :meth:`close` waits for (the owner checks it is open first)."""
        self._active += 1
        if self._idle.is_set():
            self._idle = trio.Event()
        try:
            yield
        finally:
            self._active -= 1
            if not self._active:
                self._idle.set()

    async def ensure_writer(self) -> W:
        """The started writer, opening the file first if no call has yet."""
        if self.writer is not None:
            return self.writer
        async with self._open_lock:
            if self.writer is None:
                writer = await self._open_writer()
                writer.start()
                self.writer = writer
            return self.writer

    async def read(self, fn: Callable[..., T], *args: object) -> T:
        """``fn(reader, *args)`` on a worker thread with the read connection (the file opened first if need
        be), one read at a time; what SQLite raises comes out as it is."""
        if self.writer is None:
            await self.ensure_writer()
        return await trio.to_thread.run_sync(self._on_reader, fn, *args, limiter=self._read_limiter)

    def _on_reader(self, fn: Callable[..., T], *args: object) -> T:
        if self._reader is None:
            reader = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
            reader.execute("PRAGMA query_only = ON")  # this connection only reads: say so to SQLite
            self._reader = reader
        return fn(self._reader, *args)

    async def close(self) -> bool:
        """Mark it closed, let the calls in progress finish (writes commit), stop the writer and close the
        connections; shielded from cancellation (the work left is bounded). False when it was closed already.
        """
        if self.closed:
            await trio.lowlevel.checkpoint()
            return False
        self.closed = True
        with trio.CancelScope(shield=True):
            while self._active:
                await self._idle.wait()
            if self.writer is not None:
                self.writer.stop()
                await trio.to_thread.run_sync(self.writer.join)
            if self._reader is not None:
                reader, self._reader = self._reader, None
                await trio.to_thread.run_sync(reader.close, limiter=self._read_limiter)
        await trio.lowlevel.checkpoint()
        return True
