"""Dead letters: signals the runtime accepted but could not handle, kept with the error that stopped them.

Principle: nothing accepted is lost. A signal that crashed its agent, found no route, met a full mailbox on
delivery, or was still queued when its agent stopped is recorded here, never dropped silently. The store is
bounded; when full, the oldest entries are evicted and counted (``evicted``), so even eviction is visible.

Each dead letter is also written to the bus journal's dead-letter store (:class:`JournalDeadLetters`), beside
the bus's own, under the source name ``agent:<id>`` (``runtime`` when no agent was found): one place lists
them all, and with the SQLite journal they outlive the process. Dead letters arise in synchronous code (a full
mailbox on ``cast_nowait``), so they are queued and written by one task; the queue is bounded, and what a
flood pushes past it is counted (``unsaved``) and logged, still kept in memory here.
"""

from __future__ import annotations

import collections
import datetime as dt
import logging
import math
from collections.abc import Iterator

import attrs
import trio

from jido.bus.journal import Journal, Record
from jido.errors import ClosedError
from jido.signal import Signal
from jido.signal.serialization import utf8_length

__all__ = ["DeadLetter", "DeadLetterStore", "JournalDeadLetters"]

logger = logging.getLogger("jido.runtime")

_PENDING_LIMIT = 10_000  # dead letters waiting to be written before the next ones are counted as unsaved
_PENDING_BYTES = 16 << 20  # and their bytes
_LOG_EVERY = 60.0  # seconds between two log lines about unsaved dead letters


@attrs.frozen
class DeadLetter:
    """One signal that could not be handled.

    Attributes:
        signal: the signal, as accepted.
        error: why it could not be handled.
        agent_id: the agent it was meant for, if any.
        reason: a short machine-readable reason (``"crash"``, ``"no_route"``, ``"mailbox_full"``,
            ``"agent_stopped"``, ``"not_found"``).
        at: when it was recorded (wall clock, UTC).
    """

    signal: Signal
    error: BaseException
    agent_id: str | None
    reason: str
    at: dt.datetime


def letter_size(letter: DeadLetter) -> int:
    """About how much memory a dead letter holds: its signal's JSON and its error's text, in UTF-8 bytes."""
    return utf8_length(letter.signal.to_json()) + utf8_length(str(letter.error))


class DeadLetterStore:
    """An in-memory dead-letter store, bounded in count and in bytes (signals that were rejected can be as
    large as a frame allows: a count alone would let a thousand of them hold a gigabyte)."""

    def __init__(self, max_entries: int = 10_000, *, max_bytes: int = 64 << 20) -> None:
        if max_entries < 1:
            raise ValueError(f"max_entries must be >= 1, got {max_entries}")
        if max_bytes < 1:
            raise ValueError(f"max_bytes must be >= 1, got {max_bytes}")
        self._entries: collections.deque[tuple[DeadLetter, int]] = collections.deque()
        self._max_entries = max_entries
        self._max_bytes = max_bytes
        self.bytes = 0
        self.evicted = 0
        self.recorded = 0

    def record(self, letter: DeadLetter, size: int | None = None) -> None:
        """Keep ``letter`` (``size``: its :func:`letter_size`, when the caller has it already)."""
        size = letter_size(letter) if size is None else size
        self._entries.append((letter, size))
        self.bytes += size
        self.recorded += 1
        while len(self._entries) > 1 and (
            len(self._entries) > self._max_entries or self.bytes > self._max_bytes
        ):
            _, dropped = self._entries.popleft()
            self.bytes -= dropped
            self.evicted += 1

    def entries(self, *, agent_id: str | None = None) -> list[DeadLetter]:
        """The entries, oldest first; only those of ``agent_id`` when given."""
        return [e for e, _ in self._entries if agent_id is None or e.agent_id == agent_id]

    def __len__(self) -> int:
        return len(self._entries)

    def __iter__(self) -> Iterator[DeadLetter]:
        return iter([e for e, _ in self._entries])


def describe_error(error: BaseException) -> str:
    """One line of text for a dead letter's error, as the journal keeps it."""
    return f"{type(error).__name__}: {error}"


class JournalDeadLetters:
    """Writes the runtime's dead letters to the journal's dead-letter store, in the order they arose."""

    def __init__(
        self, journal: Journal, *, limit: int = _PENDING_LIMIT, max_bytes: int = _PENDING_BYTES
    ) -> None:
        self._journal = journal
        self._pending: collections.deque[tuple[DeadLetter, int]] = collections.deque()
        self._limit = limit
        self._max_bytes = max_bytes
        self._pending_bytes = 0
        self._wake = trio.Event()
        self._idle = trio.Event()
        self._idle.set()
        self._writing = trio.Lock()  # the serving task and a closing flush take turns
        self._closed = False
        self.saved = 0
        self.unsaved = 0
        self._unsaved_logged = 0
        self._last_log = -math.inf

    def offer(self, letter: DeadLetter, size: int | None = None) -> None:
        """Queue ``letter`` for the journal (without waiting); past the bound it is counted as unsaved.
        ``size``: its :func:`letter_size`, when the caller has it already."""
        size = letter_size(letter) if size is None else size
        if self._closed:
            self.unsaved += 1  # the journal is closed: kept in memory only
            return
        if self._pending and (
            len(self._pending) >= self._limit or self._pending_bytes + size > self._max_bytes
        ):
            self.unsaved += 1
            now = trio.current_time()
            if now - self._last_log >= _LOG_EVERY:
                logger.warning(
                    "%d dead letters not written to the journal: %d are waiting to be written already "
                    "(they are kept in memory, see Runtime.dead_letters)",
                    self.unsaved - self._unsaved_logged,
                    len(self._pending),
                )
                self._unsaved_logged = self.unsaved
                self._last_log = now
            return
        self._pending.append((letter, size))
        self._pending_bytes += size
        self._idle = trio.Event() if self._idle.is_set() else self._idle
        self._wake.set()

    async def serve(self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        """Write what is offered until cancelled."""
        task_status.started()
        while True:
            await self._wake.wait()
            self._wake = trio.Event()
            await self._write_pending()

    async def flush(self) -> None:
        """Write everything offered so far (the runtime closing)."""
        await self._write_pending()

    def close(self) -> None:
        """No more writes (the journal is closing): what is still waiting, and what comes later, is unsaved."""
        self._closed = True
        self.unsaved += len(self._pending)
        self._pending.clear()
        self._pending_bytes = 0
        self._idle.set()

    async def wait_written(self) -> None:
        """Wait until everything offered so far is written (for tests and orderly shutdowns)."""
        await self._idle.wait()

    async def _write_pending(self) -> None:
        async with self._writing:
            await self._write_locked()

    async def _write_locked(self) -> None:
        while self._pending:
            letter, size = self._pending[0]
            source = f"agent:{letter.agent_id}" if letter.agent_id is not None else "runtime"
            record = Record(0, letter.signal, letter.at)
            try:
                await self._journal.add_dead_letter(
                    source, record, describe_error(letter.error), 0, reason=letter.reason
                )
            except ClosedError:
                self.unsaved += len(self._pending)
                self._pending.clear()
                self._pending_bytes = 0
                break
            except Exception as exc:  # a journal that fails a write must not stop the runtime's agents
                logger.warning(
                    "could not write a dead letter (%s) of %r to the journal: %s",
                    letter.reason,
                    letter.agent_id,
                    exc,
                    exc_info=exc,
                )
                self.unsaved += 1
            else:
                self.saved += 1
            self._pending.popleft()
            self._pending_bytes -= size
        self._idle.set()
