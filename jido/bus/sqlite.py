"""The SQLite journal: the embedded, durable journal, on one file in WAL mode (stdlib :mod:`sqlite3`).

Threading. Every write (appends, checkpoints, bindings, dead letters, trims) goes to one dedicated writer
thread (:class:`jido._sqlite_writer.SQLiteWriter`) that owns the write connection; reads use a second
connection on trio's worker threads, one at a time (a ``CapacityLimiter(1)``). Neither ever runs on the trio
thread, so the event loop never blocks on the disk. In WAL mode a reader never waits for the writer and sees
every transaction committed before it began, so a read after an append returned sees what it appended, and a
read does not queue behind a commit's fsync.

Group commit. Calls queue up for the writer thread while it is busy; it takes all of them (up to
``batch_max`` signals; one ``append`` is never split, whatever its size), runs them in ONE transaction,
commits, and wakes their tasks with one callback. So 50 tasks appending at once cost a couple of commits, not
fifty, and a call costs no thread round trip of its own. A call that fails inside the transaction (a
checkpoint past the last offset, a constraint) fails alone: the transaction is run again with a savepoint per
call and the others commit (:func:`jido._sqlite_writer.run_group`). With ``flush_interval`` the thread waits
that long after the first call for more to join.

Cancellation. A call whose request the writer has not taken yet can be cancelled: it leaves nothing behind.
Once taken, it cannot be interrupted (the commit is short); it returns and the cancellation arrives at the
caller's next checkpoint. So ``Cancelled`` out of ``append`` means nothing was appended, and a return means
everything was.

Durability. When ``append`` returns, the transaction is committed. With ``synchronous="FULL"`` (the default)
the WAL is fsynced at every commit, so the records survive a power loss; group commit is what makes that
affordable (one fsync per batch). ``"NORMAL"`` skips that fsync: commits survive a crash of the process but
the last ones may be lost if the machine loses power.

Schema (version 2; ``PRAGMA application_id`` marks the file as a jido journal)::

    meta(key TEXT PRIMARY KEY, value INTEGER)        schema_version, last_offset, last_appended_at
    records("offset" INTEGER PRIMARY KEY, type TEXT, appended_at INTEGER, body TEXT)
    checkpoints(name TEXT PRIMARY KEY, "offset" INTEGER, pattern TEXT, owner TEXT)
    dead_letters(id INTEGER PRIMARY KEY AUTOINCREMENT, subscription, record_offset, record_appended_at,
                 record_body, error, attempts, at, reason)      indexed by (subscription, id) and by at

A checkpoint's ``pattern`` is NULL until the name is bound (``owner`` means nothing then); a bound name with
no owner has a pattern and a NULL owner. A file of version 1 (no pattern, owner or reason columns) is
migrated when opened, in the opening transaction: its checkpoints are left unbound (each adopts the first
pattern and owner bound to it) and its dead letters get the reason ``"max_attempts"``. A jido that reads
only version 1 refuses a migrated file instead of misreading it.

Dead letters are bounded by count (``max_dead_letters``) and optionally by age (``max_dead_letter_age``),
both applied in the transaction that adds one and in ``trim``; the oldest go first, and evictions are
counted in :meth:`SQLiteJournal.statistics` and logged once per burst.

Times are integer microseconds since the Unix epoch (UTC): exact, compact and ordered. ``body`` is the
signal's CloudEvents structured-mode JSON. ``meta.last_offset`` keeps the last offset ever appended, so
offsets continue after a reopen even when retention removed every record.

Use one ``SQLiteJournal`` per file at a time: it caches the first and last offsets.
"""

from __future__ import annotations

import datetime as dt
import os
import sqlite3
import threading
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from types import TracebackType
from typing import Any, Final, Literal, TypeVar, cast

import attrs
import trio

from jido._sqlite_writer import SQLiteFile, SQLiteWriter, WriteRequest, run_group
from jido.bus.journal import DEFAULT_DEAD_LETTER_REASON, DeadLetterRecord, DurableBinding, Record
from jido.bus.memory import (
    DEFAULT_MAX_DEAD_LETTERS,
    READ_BYTES,
    DeadLetterEvictions,
    check_aware,
    check_binding,
    check_checkpoint_offset,
    check_clock,
    check_dead_letter,
    check_int,
    check_max_dead_letter_age,
    check_name,
    check_signals,
    check_trim,
    oldest_kept,
    stamp,
    unicode_text,
)
from jido.clock import Clock
from jido.errors import BrokenError, ClosedError, InternalError, SignalError
from jido.signal import Signal

__all__ = ["SQLiteJournal", "SQLiteJournalStatistics", "open_sqlite_journal"]

SCHEMA_VERSION: Final = 2
APPLICATION_ID: Final = 0x4A49444F  # "JIDO"
DEFAULT_BATCH_MAX: Final = 1000
_TAIL_RECORDS: Final = 4096
_TAIL_BYTES: Final = 8 << 20

_T = TypeVar("_T")
_EPOCH: Final = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
_MICROSECOND: Final = dt.timedelta(microseconds=1)
_SQLITE_MAX_INT: Final = 2**63 - 1
"""SQLite integers are 64-bit: a larger Python int as a parameter raises OverflowError (not sqlite3.Error).
Offsets, limits and ids past it come from outside (a gateway client's ``from``), so each is settled before
it reaches SQL instead of crashing the reader."""

_SCHEMA: Final = f"""
CREATE TABLE meta (key TEXT PRIMARY KEY, value INTEGER NOT NULL) WITHOUT ROWID;
CREATE TABLE records (
    "offset" INTEGER PRIMARY KEY,
    type TEXT NOT NULL,
    appended_at INTEGER NOT NULL,
    body TEXT NOT NULL
);
CREATE INDEX records_by_time ON records (appended_at);
CREATE TABLE checkpoints (name TEXT PRIMARY KEY, "offset" INTEGER NOT NULL, pattern TEXT, owner TEXT)
    WITHOUT ROWID;
CREATE TABLE dead_letters (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    subscription TEXT NOT NULL,
    record_offset INTEGER NOT NULL,
    record_appended_at INTEGER NOT NULL,
    record_body TEXT NOT NULL,
    error TEXT NOT NULL,
    attempts INTEGER NOT NULL,
    at INTEGER NOT NULL,
    reason TEXT NOT NULL DEFAULT 'max_attempts'
);
CREATE INDEX dead_letters_by_subscription ON dead_letters (subscription, id);
CREATE INDEX dead_letters_by_time ON dead_letters (at);
INSERT INTO meta (key, value) VALUES ('schema_version', {SCHEMA_VERSION}), ('last_offset', 0);
PRAGMA application_id = {APPLICATION_ID};
"""

# From version 1: every step keeps the data (ADD COLUMN fills existing rows with the default).
_MIGRATE_FROM_1: Final = f"""
ALTER TABLE checkpoints ADD COLUMN pattern TEXT;
ALTER TABLE checkpoints ADD COLUMN owner TEXT;
ALTER TABLE dead_letters ADD COLUMN reason TEXT NOT NULL DEFAULT '{DEFAULT_DEAD_LETTER_REASON}';
CREATE INDEX dead_letters_by_time ON dead_letters (at);
UPDATE meta SET value = {SCHEMA_VERSION} WHERE key = 'schema_version';
"""

_DEAD_LETTER_COLUMNS: Final = (
    "id, subscription, record_offset, record_appended_at, record_body, error, attempts, at, reason"
)


@attrs.frozen
class SQLiteJournalStatistics:
    """Counters of one :class:`SQLiteJournal` since it was made.

    Attributes:
        transactions: write transactions committed (appends, checkpoints, dead letters, trims).
        append_transactions: those of them that appended records.
        appended: records appended.
        largest_batch: the most records appended in one transaction.
        dead_letters_evicted: dead letters removed to stay within ``max_dead_letters`` or
            ``max_dead_letter_age``.
    """

    transactions: int
    append_transactions: int
    appended: int
    largest_batch: int
    dead_letters_evicted: int = 0


class _Write(WriteRequest):
    """One write call waiting for its transaction: ``op(conn, *args)`` runs on the writer thread."""

    __slots__ = ("args", "op")

    def __init__(self, op: Callable[..., object], args: tuple[Any, ...], size: int = 1) -> None:
        super().__init__(size)
        self.op = op
        self.args = args


class _Txn:
    """What one transaction changes of the journal's cached state; taken over only once it committed."""

    __slots__ = (
        "appended",
        "dead_letters",
        "evicted",
        "first",
        "last",
        "last_at",
        "records",
        "texts",
        "wrote",
    )

    def __init__(self, first: int, last: int, last_at: dt.datetime | None, dead_letters: int) -> None:
        self.first = first
        self.last = last
        self.last_at = last_at
        self.dead_letters = dead_letters
        self.appended = 0
        self.evicted: list[tuple[int, dt.datetime]] = []
        self.records: list[Record] = []  # appended, for the tail once committed
        self.texts: list[str] = []  # their bodies (JSON)
        self.wrote = False  # a statement changed the file (a trim may find nothing to do)


class _Tail:
    """The newest committed records, as they were appended, bounded in count and in bytes.

    Readers that keep up with the journal (live subscriptions, the gateway) read what was just appended. The
    records are in this process already, committed: serving them from here spares each such read a thread
    round trip, a query and the decoding of JSON that was encoded a moment ago; and the JSON itself is kept
    for whoever sends the record on as text (:meth:`SQLiteJournal.encoded`). It is a window on the file,
    never a substitute for it: it holds only committed records, drops what retention removes in the same
    step as the offsets move (so a read gives exactly what the file holds), starts empty at every open, and a
    read that starts below it goes to the file. Records carry the very signals their appender gave (as the
    memory journal's do).
    """

    __slots__ = ("bytes", "head", "records", "texts")

    def __init__(self) -> None:
        self.records: list[Record] = []
        self.texts: list[str] = []  # each record's JSON, as written to the file
        self.head = 0  # index of the first record kept; the dead prefix is compacted in amortized O(1)
        self.bytes = 0

    def extend(self, records: list[Record], texts: list[str], first: int) -> None:
        """Add committed ``records``; keep none below offset ``first`` (retention) and stay within bounds."""
        if records:
            if self.head < len(self.records) and self.records[-1].offset + 1 != records[0].offset:
                self.clear()  # never a gap inside the window
            self.records.extend(records)
            self.texts.extend(texts)
            self.bytes += sum(map(len, texts))
        head, end = self.head, len(self.records)
        while head < end and (
            self.records[head].offset < first
            or end - head > _TAIL_RECORDS
            or (self.bytes > _TAIL_BYTES and head < end - 1)
        ):
            self.bytes -= len(self.texts[head])
            head += 1
        self.head = head
        if head >= 1024 and head * 2 >= end:
            del self.records[:head]
            del self.texts[:head]
            self.head = 0

    def clear(self) -> None:
        self.records.clear()
        self.texts.clear()
        self.head = 0
        self.bytes = 0

    def text(self, offset: int) -> str | None:
        """The JSON of the record at ``offset``, if it is in the window."""
        if self.head >= len(self.records):
            return None
        index = offset - self.records[self.head].offset + self.head
        if self.head <= index < len(self.records):
            return self.texts[index]
        return None

    def read(self, start: int, limit: int) -> list[Record] | None:
        """Records from offset ``start`` (at most ``limit``), or None when ``start`` is below the window."""
        if self.head >= len(self.records):
            return None
        index = start - self.records[self.head].offset
        if index < 0:
            return None
        index += self.head
        end = min(index + limit, len(self.records))
        size = 0
        for at in range(index, end):
            size += len(self.texts[at])
            if size > READ_BYTES and at > index:
                end = at
                break
        return self.records[index:end]


class SQLiteJournal:
    """A durable journal in one SQLite file. See the module docstring for threading, group commit, durability.

    Making one does no I/O: the file is opened (and created with its schema if new) by the first call, or at
    once by ``async with`` / :func:`open_sqlite_journal`.

    Args:
        path: the database file (created if missing; its directory must exist).
        clock: where ``appended_at`` and a dead letter's ``at`` come from; :class:`SystemClock` by default.
            ``appended_at`` never decreases, not even across a reopen: if the clock steps back, records get
            the last time given.
        batch_max: the most signals one transaction carries when it gathers several appends (>= 1).
        flush_interval: seconds the writer thread waits, after the first call it takes, for others to join
            its transaction (>= 0; 0, the default, writes at once: batches then form from whatever queued
            meanwhile). Wall-clock seconds, as the thread counts them: a trio test clock does not move them.
        synchronous: ``"FULL"`` (fsync at every commit: durable through a power loss) or ``"NORMAL"`` (durable
            through a process crash only).
        max_dead_letters: the most dead letters kept (an int >= 1, 10,000 by default). Adding one past it
            evicts the oldest, in the same transaction.
        max_dead_letter_age: remove dead letters older than this (a positive timedelta; None, the default,
            keeps them whatever their age), by their ``at`` and the journal's clock, when a dead letter is
            added and at every ``trim``.

    Both dead-letter bounds count what they evict (:meth:`statistics`) and log it once per burst.

    Raises:
        TypeError, ValueError: a bad argument.
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        clock: Clock | None = None,
        batch_max: int = DEFAULT_BATCH_MAX,
        flush_interval: float = 0.0,
        synchronous: Literal["NORMAL", "FULL"] = "FULL",
        max_dead_letters: int = DEFAULT_MAX_DEAD_LETTERS,
        max_dead_letter_age: dt.timedelta | None = None,
    ) -> None:
        if not isinstance(path, str | os.PathLike):
            raise TypeError(f"path must be a str or path-like, got {path!r}")
        self._path = os.fspath(path)
        if not isinstance(self._path, str):
            raise TypeError(f"path must be a str or path-like, got {path!r}")
        if self._path in ("", ":memory:"):
            raise ValueError(f"path must name a file, got {self._path!r} (use MemoryJournal for no file)")
        self._clock = check_clock(clock)
        self._batch_max = check_int(batch_max, "batch_max", minimum=1)
        if isinstance(flush_interval, bool) or not isinstance(flush_interval, int | float):
            raise TypeError(f"flush_interval must be a number of seconds, got {flush_interval!r}")
        if not 0 <= flush_interval < float("inf"):
            raise ValueError(f"flush_interval must be >= 0 and finite, got {flush_interval!r}")
        self._flush_interval = float(flush_interval)
        if synchronous not in ("NORMAL", "FULL"):
            raise ValueError(f"synchronous must be 'NORMAL' or 'FULL', got {synchronous!r}")
        self._synchronous = synchronous
        self._max_dead_letters = check_int(max_dead_letters, "max_dead_letters", minimum=1)
        self._max_dead_letter_age = check_max_dead_letter_age(max_dead_letter_age)

        self._file: SQLiteFile[SQLiteWriter[_Write]] = SQLiteFile(self._path, self._open_writer)
        # Cached from the file at open, kept up to date by our own transactions.
        self._first = 1
        self._last = 0
        self._last_at: dt.datetime | None = None
        self._dead_letter_count = 0  # so that the bound costs no COUNT(*) per dead letter
        self._evictions = DeadLetterEvictions(f"journal {self._path!r}")
        # The newest records, as appended: what subscriptions that keep up read (see _Tail).
        self._tail = _Tail()
        self._tail_lock = threading.Lock()
        # The latest appended_at handed out: queued appends are stamped in queue order, never decreasing.
        self._stamped: dt.datetime | None = None
        # The writer thread's transaction in progress (only that thread touches it).
        self._txn = _Txn(1, 0, None, 0)
        # Statistics.
        self._transactions = 0
        self._append_transactions = 0
        self._appended = 0
        self._largest_batch = 0

    @property
    def path(self) -> str:
        """The database file."""
        return self._path

    @property
    def synchronous(self) -> str:
        """The ``PRAGMA synchronous`` setting of the connection: ``"FULL"`` or ``"NORMAL"``."""
        return self._synchronous

    def __repr__(self) -> str:
        file = self._file
        state = "closed" if file.closed else "open" if file.writer is not None else "not opened yet"
        return f"<SQLiteJournal {self._path!r} {state}>"

    def statistics(self) -> SQLiteJournalStatistics:
        """Counters of the transactions this journal committed."""
        return SQLiteJournalStatistics(
            transactions=self._transactions,
            append_transactions=self._append_transactions,
            appended=self._appended,
            largest_batch=self._largest_batch,
            dead_letters_evicted=self._evictions.total,
        )

    async def __aenter__(self) -> SQLiteJournal:
        self._check_open()
        with self._file.call():
            await self._file.ensure_writer()
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.aclose()

    # -- the Journal interface -------------------------------------------------------------------------------

    async def append(self, signals: Sequence[Signal]) -> list[Record]:
        """Append signals in order, in one transaction; returns their records, with consecutive offsets.

        Returns once the transaction is committed. Concurrent calls share transactions (group commit).

        Raises:
            TypeError: ``signals`` is not a sequence of :class:`Signal`.
            ValueError: the clock gave a naive datetime.
            BrokenError: the write failed (the transaction was rolled back; ``__cause__`` says why).
            ClosedError: the journal is closed.
        """
        self._check_open()
        batch = check_signals(signals)
        if not batch:
            await self._settle()
            return []
        await trio.lowlevel.checkpoint_if_cancelled()
        self._check_open()
        with self._file.call():
            writer = await self._file.ensure_writer()
            appended_at = stamp(self._clock, self._stamped)  # before queueing: a failing clock queues nothing
            self._stamped = appended_at
            request = _Write(self._append_sync, (batch, _to_us(appended_at)), len(batch))
            await writer.submit(request)
        if request.error is not None:
            raise BrokenError(f"journal {self._path!r}: append failed: {request.error}") from request.error
        records: list[Record] = request.result  # type: ignore[assignment]
        return records

    async def read(self, start: int = 1, *, limit: int = 1000) -> list[Record]:
        """Records with ``offset >= start``, in offset order, at most ``limit`` of them, and no more than
        about 1 MiB of JSON (at least one record, whatever its size): fewer than ``limit`` does not mean the
        end; read on from the last offset + 1 until a read comes back empty.

        Raises:
            TypeError, ValueError: ``start`` or ``limit`` is not an int >= 1.
            BrokenError: a record in the file is corrupt (the message names its offset).
            ClosedError: the journal is closed.
        """
        self._check_open()
        check_int(start, "start", minimum=1)
        check_int(limit, "limit", minimum=1)
        await self._settle()
        with self._tail_lock:
            start = max(start, self._first)
            if start > self._last:
                return []  # nothing there yet: a subscription that keeps up asks this often
            records = self._tail.read(start, limit)
        if records is not None:
            return records
        return await self._read("read", self._read_sync, start, limit)

    def encoded(self, offset: int) -> str | None:
        """The JSON text of the record at ``offset`` as it was written, if it is among the newest records kept
        in memory; None otherwise (``record.signal.to_json()`` gives the same text).

        The gateway frames what it pushes with this, so a signal published and pushed at once is encoded
        once, when it is appended, not again for the socket.
        """
        with self._tail_lock:
            return self._tail.text(offset)

    async def offset_at(self, moment: dt.datetime) -> int:
        """The offset of the first retained record appended at or after ``moment`` (``last_offset() + 1`` if none).

        Raises:
            TypeError, ValueError: ``moment`` is not a timezone-aware datetime.
            ClosedError: the journal is closed.
        """
        self._check_open()
        check_aware(moment, "moment")
        return await self._read("offset_at", self._offset_at_sync, _to_us(moment))

    async def first_offset(self) -> int:
        """The offset of the oldest retained record (``last_offset() + 1`` when none is retained)."""
        await self._settle()
        return self._first

    async def last_offset(self) -> int:
        """The offset of the newest record ever appended (0 for a new journal)."""
        await self._settle()
        return self._last

    async def get_checkpoint(self, name: str) -> int | None:
        """The offset stored for ``name``, or None.

        Raises:
            TypeError, ValueError: ``name`` is not a non-empty str.
            ClosedError: the journal is closed.
        """
        self._check_open()
        check_name(name, "name")
        return await self._read("get_checkpoint", self._get_checkpoint_sync, name)

    async def set_checkpoint(self, name: str, offset: int) -> int:
        """Store ``offset`` for ``name`` unless a higher one is stored; returns the stored offset.

        Raises:
            TypeError, ValueError: ``name`` is not a non-empty str, or ``offset`` is not an int from 0 up to
                :meth:`last_offset`.
            ClosedError: the journal is closed.
        """
        self._check_open()
        check_name(name, "name")
        check_int(offset, "offset", minimum=0)
        return await self._write("set_checkpoint", self._set_checkpoint_sync, name, offset)

    async def bind_subscription(
        self, name: str, *, pattern: str, owner: str | None, offset: int
    ) -> DurableBinding:
        """The binding of durable subscription ``name``, made now (checkpoint ``offset``) if it has none.

        In one transaction: a checkpoint stored without a binding (by :meth:`set_checkpoint`, or in a file
        of schema version 1) keeps its offset and adopts ``pattern`` and ``owner``; a bound name is returned
        unchanged.

        Raises:
            TypeError, ValueError: a bad argument, or ``offset`` past :meth:`last_offset`.
            ClosedError: the journal is closed.
        """
        self._check_open()
        check_binding(name, pattern, owner, offset)
        return await self._write(
            "bind_subscription", self._bind_subscription_sync, name, pattern, owner, offset
        )

    async def forget_subscription(self, name: str) -> bool:
        """Remove the durable subscription ``name``: its checkpoint and its binding (a later subscribe of the
        name starts afresh). Returns whether there was one.

        Raises:
            TypeError, ValueError: ``name`` is not a non-empty str.
            ClosedError: the journal is closed.
        """
        self._check_open()
        check_name(name, "name")
        return await self._write("forget_subscription", self._forget_subscription_sync, name)

    async def count_durable(self, owner: str | None) -> int:
        """How many durable subscriptions are bound to ``owner`` (a gateway identity): what a gateway bounds.

        Raises:
            ClosedError: the journal is closed.
        """
        self._check_open()
        return await self._read("count_durable", self._count_durable_sync, owner)

    async def add_dead_letter(
        self,
        subscription: str,
        record: Record,
        error: str,
        attempts: int,
        *,
        reason: str = DEFAULT_DEAD_LETTER_REASON,
    ) -> DeadLetterRecord:
        """Keep ``record`` as a dead letter of ``subscription``. Ids start at 1 and are never reused.

        ``record.offset`` is 0 for a signal that was never appended. In the same transaction, the oldest
        dead letters past ``max_dead_letters`` or older than ``max_dead_letter_age`` are evicted.

        Raises:
            TypeError, ValueError: a bad argument.
            ClosedError: the journal is closed.
        """
        self._check_open()
        check_dead_letter(subscription, record, error, attempts, reason)
        error = unicode_text(error)
        at = stamp(self._clock, None)
        letter_id = await self._write(
            "add_dead_letter", self._add_dead_letter_sync, subscription, record, error, attempts, reason, at
        )
        return DeadLetterRecord(
            letter_id, subscription, record, error, attempts, _from_us(_to_us(at)), reason
        )

    async def dead_letters(
        self, subscription: str | None = None, *, limit: int = 1000
    ) -> list[DeadLetterRecord]:
        """Dead letters, oldest first (only ``subscription``'s when given), at most ``limit`` of them.

        Raises:
            TypeError, ValueError: ``subscription`` is not None or a non-empty str, or ``limit`` < 1.
            BrokenError: a dead letter in the file is corrupt (the message names its id).
            ClosedError: the journal is closed.
        """
        self._check_open()
        if subscription is not None:
            check_name(subscription, "subscription")
        check_int(limit, "limit", minimum=1)
        return await self._read("dead_letters", self._dead_letters_sync, subscription, limit)

    async def remove_dead_letter(self, dead_letter_id: int) -> bool:
        """Remove one dead letter; False if there was no such id.

        Raises:
            TypeError, ValueError: ``dead_letter_id`` is not an int >= 1.
            ClosedError: the journal is closed.
        """
        self._check_open()
        check_int(dead_letter_id, "dead_letter_id", minimum=1)
        return await self._write("remove_dead_letter", self._remove_dead_letter_sync, dead_letter_id)

    async def trim(
        self, *, max_entries: int | None = None, max_age: dt.timedelta | None = None, now: dt.datetime
    ) -> int:
        """Keep at most ``max_entries`` records and none appended before ``now - max_age``, in one transaction.

        Dead letters past ``max_dead_letter_age`` (by ``now``) or ``max_dead_letters`` go in the same
        transaction (not counted in the result: it counts records).

        Returns:
            How many records were removed.

        Raises:
            TypeError, ValueError: ``max_entries`` is not None or an int >= 0, ``max_age`` not None or a
                timedelta >= 0, or ``now`` not a timezone-aware datetime.
            ClosedError: the journal is closed.
        """
        self._check_open()
        check_trim(max_entries, max_age, now)
        oldest = oldest_kept(now, max_age)
        cutoff = None if oldest is None else _to_us(oldest)
        return await self._write("trim", self._trim_sync, max_entries, cutoff, now)

    async def aclose(self) -> None:
        """Let the calls in progress finish (appends commit), then close the file.

        Further calls raise :class:`~jido.errors.ClosedError`; ``aclose`` itself may be called again (it does
        nothing more). It finishes even when cancelled: the work left is bounded.
        """
        await self._file.close()

    # -- worker-thread side ----------------------------------------------------------------------------------

    def _check_open(self) -> None:
        if self._file.closed:
            raise ClosedError(f"SQLiteJournal({self._path!r}) is closed")

    async def _open_writer(self) -> SQLiteWriter[_Write]:
        conn = await trio.to_thread.run_sync(self._open_sync)
        return SQLiteWriter(
            conn,
            name=f"jido journal writer {self._path}",
            token=trio.lowlevel.current_trio_token(),
            transact=self._transact,
            batch_max=self._batch_max,
            flush_interval=self._flush_interval,
        )

    async def _settle(self) -> None:
        """What a call that needs no I/O does: open the file if need be, and checkpoint, like any call."""
        self._check_open()
        await trio.lowlevel.checkpoint_if_cancelled()
        self._check_open()
        with self._file.call():
            await self._file.ensure_writer()
            await trio.lowlevel.cancel_shielded_checkpoint()

    async def _write(self, what: str, op: Callable[..., _T], *args: object) -> _T:
        """Run ``op(conn, *args)`` on the writer thread, in a transaction it may share with other calls."""
        self._check_open()
        await trio.lowlevel.checkpoint_if_cancelled()
        self._check_open()
        with self._file.call():
            writer = await self._file.ensure_writer()
            request = _Write(op, args)
            await writer.submit(request)
        error = request.error
        if error is None:
            return cast("_T", request.result)
        if isinstance(error, sqlite3.Error):
            raise BrokenError(f"journal {self._path!r}: {what} failed: {error}") from error
        raise error

    async def _read(self, what: str, fn: Callable[..., _T], *args: object) -> _T:
        """Run ``fn(reader, *args)`` on a worker thread with the read connection."""
        self._check_open()
        await trio.lowlevel.checkpoint_if_cancelled()
        self._check_open()
        with self._file.call():
            try:
                return await self._file.read(fn, *args)
            except sqlite3.Error as exc:
                raise BrokenError(f"journal {self._path!r}: {what} failed: {exc}") from exc

    def _open_sync(self) -> sqlite3.Connection:
        try:
            conn = sqlite3.connect(self._path, isolation_level=None, check_same_thread=False)
        except sqlite3.Error as exc:
            raise BrokenError(f"journal {self._path!r} cannot be opened: {exc}") from exc
        try:
            self._prepare(conn)
        except BaseException:
            conn.close()
            raise
        self._stamped = self._last_at
        return conn

    # -- the writer thread's transactions --------------------------------------------------------------------

    def _transact(self, conn: sqlite3.Connection, batch: list[_Write]) -> None:
        applied = run_group(conn, batch, self._run_write, restart=self._restart)
        if not applied:
            return
        txn = self._txn
        with self._tail_lock:  # the trio thread reads the tail and the offsets together (read)
            self._first, self._last, self._last_at = txn.first, txn.last, txn.last_at
            self._tail.extend(txn.records, txn.texts, txn.first)
        self._dead_letter_count = txn.dead_letters
        if txn.wrote:
            self._transactions += 1
        if txn.appended:
            self._append_transactions += 1
            self._appended += txn.appended
            self._largest_batch = max(self._largest_batch, txn.appended)
        for evicted, at in txn.evicted:
            self._evicted(evicted, at)

    def _run_write(self, conn: sqlite3.Connection, request: _Write) -> object:
        result = request.op(conn, *request.args)
        if request.op != self._trim_sync:  # a trim says itself whether it changed anything
            self._txn.wrote = True
        return result

    def _restart(self) -> None:
        self._txn = _Txn(self._first, self._last, self._last_at, self._dead_letter_count)

    def _prepare(self, conn: sqlite3.Connection) -> None:
        try:
            application_id = conn.execute("PRAGMA application_id").fetchone()[0]
            tables = {row[0] for row in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        except sqlite3.DatabaseError as exc:
            raise BrokenError(f"{self._path!r} is not a jido journal: {exc}") from exc
        # Refuse another application's file before anything is written to it (WAL mode changes its header).
        self._check_owner(application_id, tables)
        try:
            mode = conn.execute("PRAGMA journal_mode = WAL").fetchone()[0]
            if mode != "wal":
                raise BrokenError(f"journal {self._path!r} cannot use WAL mode (journal_mode is {mode!r})")
            conn.execute(f"PRAGMA synchronous = {self._synchronous}")
            conn.execute("BEGIN IMMEDIATE")
            try:
                self._load(conn, application_id)
                conn.execute("COMMIT")
            except BaseException:
                conn.execute("ROLLBACK")
                raise
        except sqlite3.Error as exc:
            raise BrokenError(f"journal {self._path!r} cannot be opened: {exc}") from exc

    def _check_owner(self, application_id: int, tables: set[str]) -> None:
        if application_id == 0 and tables:
            raise BrokenError(
                f"{self._path!r} is not a jido journal: it holds other tables ({', '.join(sorted(tables))})"
            )
        if application_id not in (0, APPLICATION_ID):
            raise BrokenError(
                f"{self._path!r} is not a jido journal: its application_id is {application_id:#x}"
            )

    def _load(self, conn: sqlite3.Connection, application_id: int) -> None:
        tables = {row[0] for row in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        self._check_owner(application_id, tables)
        if not tables or (
            application_id == APPLICATION_ID and "meta" not in tables and "records" not in tables
        ):
            # A new file, or a jido file that holds only other jido parts (the agent state store opened
            # it first): the journal's tables are created beside them.
            for statement in _SCHEMA.split(";"):
                if statement.strip():
                    conn.execute(statement)
        meta = dict(conn.execute("SELECT key, value FROM meta").fetchall())
        if meta.get("schema_version") == 1:
            for statement in _MIGRATE_FROM_1.split(";"):
                if statement.strip():
                    conn.execute(statement)
            meta["schema_version"] = SCHEMA_VERSION
        if meta.get("schema_version") != SCHEMA_VERSION:
            raise BrokenError(
                f"journal {self._path!r} has schema version {meta.get('schema_version')!r};"
                f" this jido reads version {SCHEMA_VERSION}"
            )
        last = meta.get("last_offset")
        if type(last) is not int or last < 0:
            raise BrokenError(f"journal {self._path!r} is corrupt: meta last_offset is {last!r}")
        (lowest,) = conn.execute('SELECT MIN("offset") FROM records').fetchone()
        (self._dead_letter_count,) = conn.execute("SELECT COUNT(*) FROM dead_letters").fetchone()
        self._last = last
        self._first = last + 1 if lowest is None else lowest
        last_at = meta.get("last_appended_at")
        self._last_at = None if last_at is None else self._time(last_at, "meta last_appended_at")

    def _append_sync(self, conn: sqlite3.Connection, signals: list[Signal], appended_at: int) -> list[Record]:
        txn = self._txn
        first = txn.last + 1
        rows = [(first + i, signal.type, appended_at, signal.to_json()) for i, signal in enumerate(signals)]
        conn.executemany('INSERT INTO records ("offset", type, appended_at, body) VALUES (?, ?, ?, ?)', rows)
        last = first + len(rows) - 1
        conn.execute("UPDATE meta SET value = ? WHERE key = 'last_offset'", (last,))
        conn.execute(
            "INSERT OR REPLACE INTO meta (key, value) VALUES ('last_appended_at', ?)", (appended_at,)
        )
        at = _from_us(appended_at)
        txn.last, txn.last_at, txn.appended = last, at, txn.appended + len(rows)
        records = [Record(first + i, signal, at) for i, signal in enumerate(signals)]
        txn.records.extend(records)
        txn.texts.extend(row[3] for row in rows)
        return records

    def _read_sync(self, conn: sqlite3.Connection, start: int, limit: int) -> list[Record]:
        if start > self._last:
            return []  # nothing there yet; also keeps a start past SQLite's integers out of the query
        limit = min(limit, _SQLITE_MAX_INT)
        rows = conn.execute(
            'SELECT "offset", appended_at, body FROM records WHERE "offset" >= ? ORDER BY "offset" LIMIT ?',
            (start, limit),
        )
        records: list[Record] = []
        size = 0
        for offset, appended_at, body in rows:
            size += len(body) if isinstance(body, str | bytes) else 0
            if size > READ_BYTES and records:
                break
            records.append(self._record(offset, appended_at, body, f"record at offset {offset}"))
        return records

    def _offset_at_sync(self, conn: sqlite3.Connection, moment: int, last: int | None = None) -> int:
        # The index on appended_at orders equal times by rowid (the offset): the first entry is the answer.
        row = conn.execute(
            'SELECT "offset" FROM records WHERE appended_at >= ? ORDER BY appended_at LIMIT 1', (moment,)
        ).fetchone()
        if row is None:
            return (self._last if last is None else last) + 1
        return int(row[0])

    def _forget_subscription_sync(self, conn: sqlite3.Connection, name: str) -> bool:
        return conn.execute("DELETE FROM checkpoints WHERE name = ?", (name,)).rowcount > 0

    def _count_durable_sync(self, conn: sqlite3.Connection, owner: str | None) -> int:
        # Bound names only: a bare checkpoint (set_checkpoint without a binding, e.g. /readyz's) is no one's.
        (count,) = conn.execute(
            "SELECT count(*) FROM checkpoints WHERE owner IS ? AND pattern IS NOT NULL", (owner,)
        ).fetchone()
        return int(count)

    def _get_checkpoint_sync(self, conn: sqlite3.Connection, name: str) -> int | None:
        row = conn.execute('SELECT "offset" FROM checkpoints WHERE name = ?', (name,)).fetchone()
        return None if row is None else int(row[0])

    def _set_checkpoint_sync(self, conn: sqlite3.Connection, name: str, offset: int) -> int:
        check_checkpoint_offset(offset, self._txn.last)
        conn.execute(
            'INSERT INTO checkpoints (name, "offset") VALUES (?, ?)'
            ' ON CONFLICT (name) DO UPDATE SET "offset" = max("offset", excluded."offset")',
            (name, offset),
        )
        (stored,) = conn.execute('SELECT "offset" FROM checkpoints WHERE name = ?', (name,)).fetchone()
        return int(stored)

    def _bind_subscription_sync(
        self, conn: sqlite3.Connection, name: str, pattern: str, owner: str | None, offset: int
    ) -> DurableBinding:
        check_checkpoint_offset(offset, self._txn.last)
        # Insert, or adopt on an unbound checkpoint; a bound row is left exactly as it is.
        conn.execute(
            'INSERT INTO checkpoints (name, "offset", pattern, owner) VALUES (?, ?, ?, ?)'
            " ON CONFLICT (name) DO UPDATE SET pattern = excluded.pattern, owner = excluded.owner"
            " WHERE checkpoints.pattern IS NULL",
            (name, offset, pattern, owner),
        )
        row = conn.execute(
            'SELECT "offset", pattern, owner FROM checkpoints WHERE name = ?', (name,)
        ).fetchone()
        stored, bound_pattern, bound_owner = row
        if (
            type(stored) is not int
            or not isinstance(bound_pattern, str)
            or not (bound_owner is None or isinstance(bound_owner, str))
        ):
            raise BrokenError(f"journal {self._path!r}: checkpoint {name!r} is corrupt")
        return DurableBinding(name, bound_pattern, bound_owner, stored)

    def _add_dead_letter_sync(
        self,
        conn: sqlite3.Connection,
        subscription: str,
        record: Record,
        error: str,
        attempts: int,
        reason: str,
        at: dt.datetime,
    ) -> int:
        txn = self._txn
        cursor = conn.execute(
            "INSERT INTO dead_letters (subscription, record_offset, record_appended_at, record_body,"
            " error, attempts, at, reason) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (
                subscription,
                record.offset,
                _to_us(record.appended_at),
                record.signal.to_json(),
                error,
                attempts,
                _to_us(at),
                reason,
            ),
        )
        evicted = self._evict_dead_letters(
            conn, at, count=txn.dead_letters + 1, source=subscription, added=cursor.lastrowid
        )
        if cursor.lastrowid is None:
            raise InternalError("sqlite gave no id for a new dead letter")
        txn.dead_letters += 1 - evicted
        if evicted:
            txn.evicted.append((evicted, at))
        return cursor.lastrowid

    def _evict_dead_letters(
        self,
        conn: sqlite3.Connection,
        now: dt.datetime,
        *,
        count: int,
        source: str | None = None,
        added: int | None = None,
    ) -> int:
        """Delete dead letters past the age bound, then the oldest past the count bound (``count`` is how many
        there are, so that this costs no COUNT(*)); returns how many went. Inside the caller's transaction.

        When a dead letter of ``source`` was just ``added``, that source's own oldest go first: one source
        flooding dead letters cannot displace another's (which may wait for a redrive).
        """
        evicted = 0
        oldest = oldest_kept(now, self._max_dead_letter_age)
        if oldest is not None:
            # The index on at finds them without a scan.
            evicted += conn.execute("DELETE FROM dead_letters WHERE at < ?", (_to_us(oldest),)).rowcount
        excess = count - evicted - self._max_dead_letters
        if excess > 0 and source is not None and added is not None:
            # The index on (subscription, id) finds them without a scan.
            own = conn.execute(
                "DELETE FROM dead_letters WHERE id IN (SELECT id FROM dead_letters WHERE subscription = ?"
                " AND id != ? ORDER BY id LIMIT ?)",
                (source, added, excess),
            ).rowcount
            evicted += own
            excess -= own
        if excess > 0:
            evicted += conn.execute(
                "DELETE FROM dead_letters WHERE id IN (SELECT id FROM dead_letters ORDER BY id LIMIT ?)",
                (excess,),
            ).rowcount
        return evicted

    def _evicted(self, evicted: int, now: dt.datetime) -> None:
        if evicted:
            age = self._max_dead_letter_age
            bound = f"max_dead_letters={self._max_dead_letters}" + (
                "" if age is None else f" and max_dead_letter_age={age}"
            )
            self._evictions.record(evicted, bound, now)

    def _dead_letters_sync(
        self, conn: sqlite3.Connection, subscription: str | None, limit: int
    ) -> list[DeadLetterRecord]:
        limit = min(limit, _SQLITE_MAX_INT)
        if subscription is None:
            rows = conn.execute(
                f"SELECT {_DEAD_LETTER_COLUMNS} FROM dead_letters ORDER BY id LIMIT ?", (limit,)
            )
        else:
            rows = conn.execute(
                f"SELECT {_DEAD_LETTER_COLUMNS} FROM dead_letters WHERE subscription = ? ORDER BY id LIMIT ?",
                (subscription, limit),
            )
        letters = []
        for letter_id, sub, offset, appended_at, body, error, attempts, at, reason in rows.fetchall():
            what = f"dead letter {letter_id}"
            record = self._record(offset, appended_at, body, what)
            if not isinstance(error, str) or type(attempts) is not int or not isinstance(reason, str):
                raise BrokenError(f"journal {self._path!r}: {what} is corrupt: bad error, attempts or reason")
            letters.append(
                DeadLetterRecord(letter_id, sub, record, error, attempts, self._time(at, what), reason)
            )
        return letters

    def _remove_dead_letter_sync(self, conn: sqlite3.Connection, dead_letter_id: int) -> bool:
        if dead_letter_id > _SQLITE_MAX_INT:
            return False  # no such id can exist
        removed: int = conn.execute("DELETE FROM dead_letters WHERE id = ?", (dead_letter_id,)).rowcount
        self._txn.dead_letters -= removed
        return removed == 1

    def _trim_sync(
        self, conn: sqlite3.Connection, max_entries: int | None, cutoff: int | None, now: dt.datetime
    ) -> int:
        txn = self._txn
        cut = txn.first  # the first offset to keep
        if cutoff is not None:
            cut = max(cut, self._offset_at_sync(conn, cutoff, txn.last))
        if max_entries is not None:
            cut = max(cut, txn.last + 1 - max_entries)
        removed = 0
        if cut > txn.first:
            removed = conn.execute('DELETE FROM records WHERE "offset" < ?', (cut,)).rowcount
            txn.first = cut
            txn.wrote = True
        # Only the age bound can have been crossed since the last dead letter was added (the count bound is
        # kept at every add).
        if self._max_dead_letter_age is not None:
            evicted = self._evict_dead_letters(conn, now, count=txn.dead_letters)
            txn.dead_letters -= evicted
            txn.wrote = True
            if evicted:
                txn.evicted.append((evicted, now))
        return removed

    def _record(self, offset: int, appended_at: object, body: object, what: str) -> Record:
        if type(offset) is not int:
            raise BrokenError(f"journal {self._path!r}: {what} is corrupt: offset is {offset!r}")
        if not isinstance(body, str | bytes):
            raise BrokenError(f"journal {self._path!r}: {what} is corrupt: body is {body!r}")
        try:
            signal = Signal.from_json(body, max_bytes=None)
        except SignalError as exc:
            raise BrokenError(
                f"journal {self._path!r}: {what} is corrupt: its body is not a valid signal"
            ) from exc
        return Record(offset, signal, self._time(appended_at, what))

    def _time(self, value: object, what: str) -> dt.datetime:
        if type(value) is int:
            try:
                return _from_us(value)
            except OverflowError:
                pass
        raise BrokenError(f"journal {self._path!r}: {what} is corrupt: time is {value!r}")


@asynccontextmanager
async def open_sqlite_journal(
    path: str | os.PathLike[str],
    *,
    clock: Clock | None = None,
    batch_max: int = DEFAULT_BATCH_MAX,
    flush_interval: float = 0.0,
    synchronous: Literal["NORMAL", "FULL"] = "FULL",
    max_dead_letters: int = DEFAULT_MAX_DEAD_LETTERS,
    max_dead_letter_age: dt.timedelta | None = None,
) -> AsyncIterator[SQLiteJournal]:
    """Open a :class:`SQLiteJournal` (creating the file if new) and close it on exit.

    Args: as for :class:`SQLiteJournal`.

    Raises:
        BrokenError: the file cannot be opened, is not a jido journal, or has another schema version.
    """
    journal = SQLiteJournal(
        path,
        clock=clock,
        batch_max=batch_max,
        flush_interval=flush_interval,
        synchronous=synchronous,
        max_dead_letters=max_dead_letters,
        max_dead_letter_age=max_dead_letter_age,
    )
    async with journal:
        yield journal


def _to_us(moment: dt.datetime) -> int:
    return (moment - _EPOCH) // _MICROSECOND


def _from_us(microseconds: int) -> dt.datetime:
    return _EPOCH + dt.timedelta(microseconds=microseconds)
