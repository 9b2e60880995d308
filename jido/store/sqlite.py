"""The SQLite state store: agents' state on one file in WAL mode (stdlib :mod:`sqlite3`), durable on disk.

Writes. ``save_many`` and ``delete`` go to one dedicated writer thread (:mod:`jido.store._sqlite_writer`),
which gathers the calls queued while it was busy into one transaction (group commit), so that N tasks
saving at once cost a few commits; each call still gets its own result or its own error (a failed one is
taken out of the transaction with savepoints, and the others commit). A ``save_many`` carries the runtime's
state *and* whatever else it puts in the same batch (the offset of the delivery it applied, as another
write), which is how one write makes a state change and its cause durable together.

Reads. ``load_many``, ``list_ids`` and ``count`` use a second connection on trio's worker threads, one at a
time (a ``CapacityLimiter(1)``). ``load`` (one row by its primary key: what waking an agent costs) runs on the
trio thread itself by default (``inline_reads=True``), on a third connection that never waits for a lock:
it takes tens of microseconds from the page cache, where a round trip to a worker thread takes a hundred or
more and, on a busy machine, milliseconds at the tail. Should the file be busy (SQLite answers "locked"
instead of waiting), that ``load`` goes to the worker thread like the others. In WAL mode a reader never waits
for the writer and sees every transaction committed before it began, so a ``load`` after a ``save_many``
returned sees what it saved; and a read does not queue behind a commit's fsync, as it would on the writer's
thread. Pass ``inline_reads=False`` when the file sits on storage slow enough that one read could stall the
event loop (a network file system).

Wakeups. ``wake_at`` of a write (when the agent's pending timers come due) is kept in an indexed column, and
:meth:`SQLiteStateStore.list_wakeups` pages through it in time order on the read connection.

Durability. When a write returns, its transaction is committed. With ``synchronous="FULL"`` (the default)
the WAL is fsynced at every commit, so the states survive a power loss; ``"NORMAL"`` survives a crash of the
process only. A write that fails (disk full, the file locked by another process past SQLite's 5 s busy
timeout, a corrupt row) raises :class:`~jido.errors.BrokenError` to its caller, and nothing of it is stored.

Sharing a file. The store may live in the journal's file (:class:`jido.bus.sqlite.SQLiteJournal`): its
tables (``jido_agent_state`` and ``jido_agent_state_meta`` by default) do not collide with the journal's,
and each keeps its own schema version. Open the journal first on a new file: the journal refuses a new file
that already holds other tables. See :mod:`jido.store._sqlite_schema` for the schema and what is refused.

A store belongs to the trio run that first used it (its writer wakes that run's tasks). Use one store per
file and table at a time.
"""

from __future__ import annotations

import datetime as dt
import functools
import os
import sqlite3
from collections.abc import AsyncIterator, Callable, Iterable, Sequence
from contextlib import asynccontextmanager
from types import TracebackType
from typing import Final, Literal, TypeVar

import trio

from jido._sqlite_writer import SQLiteFile
from jido.errors import BrokenError, ClosedError, InternalError, JidoError
from jido.store._checks import (
    MAX_REVISION,
    WallClock,
    check_agent_id,
    check_clock,
    check_expected_revision,
    check_ids,
    check_int,
    check_page,
    check_table,
    stamp,
)
from jido.store._sqlite_schema import JOURNAL_TABLES, connect, decode, from_us, to_us
from jido.store._sqlite_writer import Request, Writer
from jido.store.store import (
    StateStoreStatistics,
    StateWrite,
    StoredState,
    Wakeup,
    check_wakeup_query,
    check_writes,
)

__all__ = ["DEFAULT_BATCH_MAX", "DEFAULT_TABLE", "SQLiteStateStore", "open_sqlite_state_store"]

DEFAULT_BATCH_MAX: Final = 1000
DEFAULT_TABLE: Final = "jido_agent_state"

_T = TypeVar("_T")
_CHUNK: Final = 500
"""Ids per ``IN (...)`` of ``load_many``: well below SQLite's smallest limit on parameters (999)."""
_FORBIDDEN_TABLES: Final = tuple(JOURNAL_TABLES) + tuple(f"{name}_meta" for name in JOURNAL_TABLES)


class SQLiteStateStore:
    """A state store in one SQLite file. See the module docstring for threads, group commit and durability.

    Making one does no I/O: the file is opened (and our tables created if missing) by the first call, or at
    once by ``async with`` / :func:`open_sqlite_state_store`.

    Args:
        path: the database file (created if missing; its directory must exist). It may be the journal's.
        clock: where ``updated_at`` comes from (anything with a ``now()`` giving an aware datetime); the
            system clock by default.
        synchronous: ``"FULL"`` (fsync at every commit: durable through a power loss) or ``"NORMAL"``
            (durable through a process crash only).
        batch_max: the most writes one transaction gathers from several calls (>= 1). One call is never
            split, whatever its size.
        flush_interval: seconds the writer waits for more calls after the first before it writes (>= 0;
            0, the default, writes at once: batches then form from whatever queued meanwhile).
        table: the state table's name (an identifier; its meta table is ``<table>_meta``).
        inline_reads: read single states (``load``) on the trio thread, falling back to a worker thread when
            the file is busy (see the module docstring); False reads every state on a worker thread.

    Raises:
        TypeError, ValueError: a bad argument.
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        clock: WallClock | None = None,
        synchronous: Literal["NORMAL", "FULL"] = "FULL",
        batch_max: int = DEFAULT_BATCH_MAX,
        flush_interval: float = 0.0,
        table: str = DEFAULT_TABLE,
        inline_reads: bool = True,
    ) -> None:
        if not isinstance(path, str | os.PathLike):
            raise TypeError(f"path must be a str or path-like, got {path!r}")
        self._path = os.fspath(path)
        if not isinstance(self._path, str):
            raise TypeError(f"path must be a str or path-like, got {path!r}")
        if self._path in ("", ":memory:"):
            raise ValueError(f"path must name a file, got {self._path!r} (use MemoryStateStore for no file)")
        self._clock = check_clock(clock)
        if synchronous not in ("NORMAL", "FULL"):
            raise ValueError(f"synchronous must be 'NORMAL' or 'FULL', got {synchronous!r}")
        self._synchronous: Literal["NORMAL", "FULL"] = synchronous
        self._batch_max = check_int(batch_max, "batch_max", minimum=1)
        if isinstance(flush_interval, bool) or not isinstance(flush_interval, int | float):
            raise TypeError(f"flush_interval must be a number of seconds, got {flush_interval!r}")
        if not 0 <= flush_interval < float("inf"):
            raise ValueError(f"flush_interval must be >= 0 and finite, got {flush_interval!r}")
        self._flush_interval = float(flush_interval)
        self._table = check_table(table, _FORBIDDEN_TABLES)
        if not isinstance(inline_reads, bool):
            raise TypeError(f"inline_reads must be a bool, got {inline_reads!r}")
        self._inline_reads = inline_reads

        self._file: SQLiteFile[Writer] = SQLiteFile(self._path, self._open_writer)
        self._inline: sqlite3.Connection | None = None  # load() on the trio thread: never waits for a lock
        self._sql = {
            "load": f'SELECT agent_id, revision, updated_at, data FROM "{table}" WHERE agent_id = ?',
            "ids": f'SELECT agent_id FROM "{table}" ORDER BY agent_id LIMIT ?',
            "ids_after": f'SELECT agent_id FROM "{table}" WHERE agent_id > ? ORDER BY agent_id LIMIT ?',
            "count": f'SELECT COUNT(*) FROM "{table}"',
        }

    @property
    def path(self) -> str:
        """The database file."""
        return self._path

    @property
    def table(self) -> str:
        """The state table's name."""
        return self._table

    @property
    def synchronous(self) -> str:
        """The ``PRAGMA synchronous`` setting of the connections: ``"FULL"`` or ``"NORMAL"``."""
        return self._synchronous

    def __repr__(self) -> str:
        file = self._file
        state = "closed" if file.closed else "open" if file.writer is not None else "not opened yet"
        return f"<SQLiteStateStore {self._path!r} table {self._table!r} {state}>"

    def statistics(self) -> StateStoreStatistics:
        """Counters of what this store wrote since it was made."""
        writer = self._file.writer
        return StateStoreStatistics() if writer is None else writer.statistics()

    async def __aenter__(self) -> SQLiteStateStore:
        self._check_open()
        with self._file.call():
            await self._file.ensure_writer()
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.aclose()

    # -- the StateStore interface ----------------------------------------------------------------------------

    async def load(self, agent_id: str) -> StoredState | None:
        """The state stored for ``agent_id``, or None.

        Raises:
            TypeError, ValueError: ``agent_id`` is not a non-empty str.
            BrokenError: its row is corrupt (the message names the agent), or the file cannot be read.
            ClosedError: the store is closed.
        """
        self._check_open()
        check_agent_id(agent_id)
        if self._inline_reads and self._file.writer is not None:
            await trio.lowlevel.checkpoint_if_cancelled()
            try:
                found = self._load_sync(self._inline_reader(), agent_id)
            except sqlite3.OperationalError as exc:
                # The primary code (low byte): SQLITE_BUSY_RECOVERY, SQLITE_BUSY_SNAPSHOT... are busy too.
                if exc.sqlite_errorcode & 0xFF not in (sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED):
                    raise BrokenError(f"state store {self._path!r}: load failed: {exc}") from exc
                # Busy (another process's lock, a WAL being recovered): wait for it on a worker thread.
            except sqlite3.Error as exc:
                raise BrokenError(f"state store {self._path!r}: load failed: {exc}") from exc
            else:
                await trio.lowlevel.cancel_shielded_checkpoint()
                return found
        return await self._read("load", self._load_sync, agent_id)

    async def load_many(self, agent_ids: Iterable[str]) -> dict[str, StoredState]:
        """The states stored for those of ``agent_ids`` that have one, by agent id, read in one snapshot.

        Raises:
            TypeError, ValueError: ``agent_ids`` is a str, not iterable, or holds a bad agent id.
            BrokenError: a row is corrupt, or the file cannot be read.
            ClosedError: the store is closed.
        """
        self._check_open()
        ids = check_ids(agent_ids)
        return await self._read("load_many", self._load_many_sync, ids)

    async def save_many(self, writes: Sequence[StateWrite]) -> list[StoredState]:
        """Store ``writes`` in order, in one transaction; returns the stored states, one per write, in order.

        Returns once the transaction is committed. Concurrent calls share transactions (group commit), but
        not their failures.

        Raises:
            TypeError: ``writes`` is not a sequence of :class:`StateWrite`.
            ValueError: the clock gave a naive datetime.
            StaleStateError: a compare-and-set write did not match (the first such one); nothing was stored.
            BrokenError: the write failed (disk full, locked, a corrupt row; ``__cause__`` says why when
                SQLite did); nothing was stored.
            ClosedError: the store is closed.
        """
        self._check_open()
        batch = check_writes(writes)
        await trio.lowlevel.checkpoint_if_cancelled()
        if not batch:
            await trio.lowlevel.cancel_shielded_checkpoint()
            return []
        request = Request(writes=batch, updated_at=to_us(stamp(self._clock)))
        result = await self._write("save_many", request)
        if not isinstance(result, list):
            raise InternalError("the writer returned no states for a save")
        return result

    async def delete(self, agent_id: str, *, expected_revision: int | None = None) -> bool:
        """Delete the state of ``agent_id``; returns whether there was one.

        Raises:
            TypeError, ValueError: ``agent_id`` is not a non-empty str, or ``expected_revision`` is not None
                or an int >= 1.
            StaleStateError: ``expected_revision`` is given and another revision (or none) is stored.
            BrokenError: the write failed; nothing was deleted.
            ClosedError: the store is closed.
        """
        self._check_open()
        check_agent_id(agent_id)
        check_expected_revision(expected_revision, minimum=1)
        await trio.lowlevel.checkpoint_if_cancelled()
        result = await self._write("delete", Request(delete_id=agent_id, expected=expected_revision))
        return result is True

    async def list_ids(self, *, after: str | None = None, limit: int = 1000) -> list[str]:
        """Agent ids with a state, in code-point order, only those greater than ``after``, at most ``limit``.

        Raises:
            TypeError, ValueError: ``after`` is not None or a str, or ``limit`` is not an int >= 1.
            BrokenError: a row's agent id is corrupt, or the file cannot be read.
            ClosedError: the store is closed.
        """
        self._check_open()
        after, limit = check_page(after, limit)
        return await self._read("list_ids", self._list_ids_sync, after, min(limit, MAX_REVISION))

    async def list_wakeups(
        self, *, before: dt.datetime | None = None, after: Wakeup | None = None, limit: int = 1000
    ) -> list[Wakeup]:
        """Agents whose state has a ``wake_at``, by (``wake_at``, agent id): those after ``after``, due no later
        than ``before``, at most ``limit``; read through the ``wake_at`` index.

        Raises:
            TypeError, ValueError: a bad argument.
            BrokenError: a row is corrupt, or the file cannot be read.
            ClosedError: the store is closed.
        """
        self._check_open()
        before, limit = check_wakeup_query(before, after, limit)
        return await self._read(
            "list_wakeups", self._list_wakeups_sync, before, after, min(limit, MAX_REVISION)
        )

    async def count(self) -> int:
        """How many agents have a state.

        Raises:
            BrokenError: the file cannot be read.
            ClosedError: the store is closed.
        """
        self._check_open()
        return await self._read("count", self._count_sync)

    async def aclose(self) -> None:
        """Let the calls in progress finish (writes commit), then stop the writer and close the file.

        Further calls raise :class:`~jido.errors.ClosedError`; ``aclose`` itself may be called again (it does
        nothing more). It finishes even when cancelled: the work left is bounded.
        """
        if await self._file.close() and self._inline is not None:
            inline, self._inline = self._inline, None
            inline.close()

    # -- plumbing --------------------------------------------------------------------------------------------

    def _check_open(self) -> None:
        if self._file.closed:
            raise ClosedError(f"SQLiteStateStore({self._path!r}) is closed")

    async def _open_writer(self) -> Writer:
        conn = await trio.to_thread.run_sync(
            functools.partial(connect, self._path, synchronous=self._synchronous, table=self._table)
        )
        return Writer(
            conn,
            path=self._path,
            table=self._table,
            token=trio.lowlevel.current_trio_token(),
            batch_max=self._batch_max,
            flush_interval=self._flush_interval,
        )

    async def _write(self, what: str, request: Request) -> object:
        self._check_open()
        with self._file.call():
            writer = await self._file.ensure_writer()
            await writer.submit(request)
        error = request.error
        if error is None:
            return request.result
        if isinstance(error, JidoError):
            raise error
        if isinstance(error, sqlite3.Error):
            raise BrokenError(f"state store {self._path!r}: {what} failed: {error}") from error
        raise InternalError(f"state store {self._path!r}: {what} failed: {error!r}") from error

    async def _read(self, what: str, fn: Callable[..., _T], *args: object) -> _T:
        """Run ``fn(reader, *args)`` on a worker thread (after opening the file if need be)."""
        await trio.lowlevel.checkpoint_if_cancelled()
        self._check_open()
        with self._file.call():
            try:
                return await self._file.read(fn, *args)
            except sqlite3.Error as exc:
                raise BrokenError(f"state store {self._path!r}: {what} failed: {exc}") from exc

    def _inline_reader(self) -> sqlite3.Connection:
        if self._inline is None:
            # timeout=0: SQLite answers "locked" at once instead of blocking the event loop for up to 5 s.
            inline = sqlite3.connect(self._path, isolation_level=None, timeout=0.0)
            inline.execute("PRAGMA query_only = ON")
            self._inline = inline
        return self._inline

    def _load_sync(self, reader: sqlite3.Connection, agent_id: str) -> StoredState | None:
        row = reader.execute(self._sql["load"], (agent_id,)).fetchone()
        return None if row is None else decode(self._path, *row)

    def _load_many_sync(self, reader: sqlite3.Connection, ids: list[str]) -> dict[str, StoredState]:
        found: dict[str, StoredState] = {}
        if not ids:
            return found
        chunked = len(ids) > _CHUNK
        if chunked:
            reader.execute("BEGIN")  # one snapshot for all the chunks
        try:
            for start in range(0, len(ids), _CHUNK):
                chunk = ids[start : start + _CHUNK]
                marks = ", ".join("?" * len(chunk))
                rows = reader.execute(
                    f'SELECT agent_id, revision, updated_at, data FROM "{self._table}"'
                    f" WHERE agent_id IN ({marks})",
                    chunk,
                ).fetchall()
                for row in rows:
                    state = decode(self._path, *row)
                    found[state.agent_id] = state
        finally:
            if chunked:
                reader.execute("COMMIT")
        # In the order asked, as the memory store gives them.
        return {agent_id: found[agent_id] for agent_id in ids if agent_id in found}

    def _list_ids_sync(self, reader: sqlite3.Connection, after: str | None, limit: int) -> list[str]:
        if after is None:
            rows = reader.execute(self._sql["ids"], (limit,)).fetchall()
        else:
            rows = reader.execute(self._sql["ids_after"], (after, limit)).fetchall()
        ids = [row[0] for row in rows]
        for agent_id in ids:
            if not isinstance(agent_id, str):
                raise BrokenError(
                    f"state store {self._path!r}: a row is corrupt: its agent_id is {agent_id!r}"
                )
        return ids

    def _list_wakeups_sync(
        self, reader: sqlite3.Connection, before: dt.datetime | None, after: Wakeup | None, limit: int
    ) -> list[Wakeup]:
        where = ["wake_at IS NOT NULL"]
        params: list[object] = []
        if after is not None:
            where.append("(wake_at, agent_id) > (?, ?)")
            params += [to_us(after.wake_at), after.agent_id]
        if before is not None:
            where.append("wake_at <= ?")
            params.append(to_us(before))
        rows = reader.execute(
            f'SELECT wake_at, agent_id FROM "{self._table}" WHERE {" AND ".join(where)}'
            " ORDER BY wake_at, agent_id LIMIT ?",
            [*params, limit],
        ).fetchall()
        found = []
        for wake_at, agent_id in rows:
            if not isinstance(agent_id, str) or type(wake_at) is not int:
                raise BrokenError(
                    f"state store {self._path!r}: a row is corrupt: agent {agent_id!r} wakes at {wake_at!r}"
                )
            try:
                found.append(Wakeup(from_us(wake_at), agent_id))
            except OverflowError:
                raise BrokenError(
                    f"state store {self._path!r}: state of agent {agent_id!r} is corrupt: wake_at is {wake_at!r}"
                ) from None
        return found

    def _count_sync(self, reader: sqlite3.Connection) -> int:
        (count,) = reader.execute(self._sql["count"]).fetchone()
        return int(count)


@asynccontextmanager
async def open_sqlite_state_store(
    path: str | os.PathLike[str],
    *,
    clock: WallClock | None = None,
    synchronous: Literal["NORMAL", "FULL"] = "FULL",
    batch_max: int = DEFAULT_BATCH_MAX,
    flush_interval: float = 0.0,
    table: str = DEFAULT_TABLE,
    inline_reads: bool = True,
) -> AsyncIterator[SQLiteStateStore]:
    """Open a :class:`SQLiteStateStore` (creating the file and tables if new) and close it on exit.

    Args: as for :class:`SQLiteStateStore`.

    Raises:
        BrokenError: the file cannot be opened, is not a database or not jido's, holds a table of the
            store's name with other columns, or has a newer schema version. Nothing was written to it.
    """
    store = SQLiteStateStore(
        path,
        clock=clock,
        synchronous=synchronous,
        batch_max=batch_max,
        flush_interval=flush_interval,
        table=table,
        inline_reads=inline_reads,
    )
    async with store:
        yield store
