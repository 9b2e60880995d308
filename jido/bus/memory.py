"""The memory journal: the journal kept in plain Python structures, for tests and short-lived runtimes.

Offsets are consecutive (retention only ever removes the oldest records), so the retained records sit in one
list and the record at offset ``o`` is at index ``o - first + head``: ``read`` is a slice, and ``offset_at`` a
binary search on ``appended_at``, which never decreases. Trimming moves ``head`` forward and compacts the list
only when the dead prefix is at least as long as the live part, so it costs amortized O(1) per record.

Dead letters sit in an ordered dict by id, so removing one by id and evicting the oldest are both O(1); at
most ``max_dead_letters`` are kept (memory must not grow with a subscriber that never acks).

Past a bound, a subscription evicts its own oldest dead letters first (the oldest of all only when it has no
other): one source flooding dead letters cannot displace another's, which may be waiting for a redrive.

Memory is bounded in bytes as well as counts: records past ``max_bytes`` and dead letters past
``max_dead_letter_bytes`` (each measured by its signal's JSON length) are evicted oldest first, counted and
logged once per burst. A publisher of large signals cannot grow the process without bound; a subscriber that
had not read evicted records sees them as skipped, as after retention.

The argument checks at the bottom are shared with :mod:`jido.bus.sqlite`, so that both backends refuse bad
input with the same words.
"""

from __future__ import annotations

import bisect
import collections
import datetime as dt
import logging
from collections.abc import Sequence
from types import TracebackType
from typing import Final

import attrs
import trio

from jido.bus.journal import DEFAULT_DEAD_LETTER_REASON, DeadLetterRecord, DurableBinding, Record
from jido.clock import Clock, SystemClock
from jido.errors import ClosedError
from jido.signal import Signal
from jido.signal.serialization import utf8_length

__all__ = [
    "DEFAULT_MAX_BYTES",
    "DEFAULT_MAX_DEAD_LETTERS",
    "DEFAULT_MAX_DEAD_LETTER_BYTES",
    "MemoryJournal",
    "MemoryJournalStatistics",
]

logger = logging.getLogger("jido.bus")

DEFAULT_MAX_DEAD_LETTERS: Final = 10_000
"""How many dead letters a journal keeps by default before it evicts the oldest."""

DEFAULT_MAX_BYTES: Final = 256 << 20
"""How many bytes of records (signal JSON) a memory journal keeps by default before it evicts the oldest."""

READ_BYTES: Final = 1 << 20
"""The JSON one read returns at most (and at least one record, whatever its size): a subscription keeps what
it read ahead until it has handed it out, and one that stopped reading (a gateway client that does not read)
must not pin ``limit`` large records, in memory after the journal let them go."""

DEFAULT_MAX_DEAD_LETTER_BYTES: Final = 64 << 20
"""How many bytes of dead letters (signal JSON) a memory journal keeps by default."""

EVICTION_LOG_INTERVAL: Final = dt.timedelta(minutes=1)
"""While dead letters keep being evicted, one log line at most this often (by the journal's clock)."""

_TEXTS: Final = 1024
_TEXT_CHARS: Final = 4 << 20
"""The newest records' JSON texts kept for encoded(): at most this many, and this many characters (the
newest is always kept)."""

_COMPACT_AT: Final = 1024
"""Compact the record list once this many trimmed slots (and at least half of the list) are dead."""


@attrs.frozen
class MemoryJournalStatistics:
    """A snapshot of a :class:`MemoryJournal`'s dead letters.

    Attributes:
        dead_letters: dead letters kept now.
        dead_letters_evicted: dead letters evicted (oldest first) to stay within ``max_dead_letters`` or
            ``max_dead_letter_bytes``.
        retained_bytes: bytes of the records kept (their signals' JSON length).
        records_evicted: records evicted (oldest first) to stay within ``max_bytes``.
        dead_letter_bytes: bytes of the dead letters kept.
    """

    dead_letters: int
    dead_letters_evicted: int
    retained_bytes: int = 0
    records_evicted: int = 0
    dead_letter_bytes: int = 0


class MemoryJournal:
    """A journal in memory: fast, and gone when the process ends.

    Every method checks its arguments, checkpoints (like any trio I/O), then acts synchronously, so a
    cancelled call changed nothing.

    Args:
        clock: where ``appended_at`` and a dead letter's ``at`` come from; :class:`SystemClock` by default.
            If the clock steps back, ``appended_at`` stays at the last value given (it never decreases, so
            ``offset_at`` can search it).
        max_dead_letters: the most dead letters kept (>= 1). Adding one more evicts the oldest; evictions
            are counted (:meth:`statistics`) and logged once per burst, not once each.
        max_bytes: the most bytes of records kept (their signals' JSON length, >= 1); past it the oldest
            are evicted on append (counted, logged once per burst). The newest record is always kept.
        max_dead_letter_bytes: the same bound for dead letters.

    Raises:
        TypeError, ValueError: ``clock`` has no ``now()`` method, or a bound is not an int >= 1.
    """

    def __init__(
        self,
        *,
        clock: Clock | None = None,
        max_dead_letters: int = DEFAULT_MAX_DEAD_LETTERS,
        max_bytes: int = DEFAULT_MAX_BYTES,
        max_dead_letter_bytes: int = DEFAULT_MAX_DEAD_LETTER_BYTES,
    ) -> None:
        self._clock = check_clock(clock)
        self._max_dead_letters = check_int(max_dead_letters, "max_dead_letters", minimum=1)
        self._max_bytes = check_int(max_bytes, "max_bytes", minimum=1)
        self._max_dead_letter_bytes = check_int(max_dead_letter_bytes, "max_dead_letter_bytes", minimum=1)
        self._sizes: list[int] = []  # the JSON length of each record, parallel to _records
        self._bytes = 0  # of the retained records
        self._dead_letter_sizes: dict[int, int] = {}
        self._dead_letter_bytes = 0
        self._record_evictions = DeadLetterEvictions("MemoryJournal", what="records")
        self._records: list[Record] = []
        # The JSON of the newest records (measured for the byte bound anyway), bounded: see encoded().
        self._texts: collections.deque[str] = collections.deque()
        self._texts_first = 1  # the offset of _texts[0]
        self._text_chars = 0
        self._head = 0  # index in _records of the first retained record
        self._last = 0
        self._last_at: dt.datetime | None = None
        self._checkpoints: dict[str, int] = {}
        self._bindings: dict[str, tuple[str, str | None]] = {}  # name -> (pattern, owner)
        self._dead_letters: collections.OrderedDict[int, DeadLetterRecord] = collections.OrderedDict()
        # Each subscription's dead letter ids, oldest first (dicts as ordered sets): a source past the bound
        # evicts its own oldest first, so a flood from one cannot displace the others' dead letters.
        self._by_source: dict[str, dict[int, None]] = {}
        self._last_dead_letter_id = 0
        self._evictions = DeadLetterEvictions("MemoryJournal")
        self._closed = False

    def __repr__(self) -> str:
        state = "closed" if self._closed else f"offsets {self._first()}..{self._last}"
        return f"<MemoryJournal {state}, {len(self._records) - self._head} records retained>"

    def statistics(self) -> MemoryJournalStatistics:
        """How many dead letters are kept, and how many were evicted to stay within the bound."""
        return MemoryJournalStatistics(
            dead_letters=len(self._dead_letters),
            dead_letters_evicted=self._evictions.total,
            retained_bytes=self._bytes,
            records_evicted=self._record_evictions.total,
            dead_letter_bytes=self._dead_letter_bytes,
        )

    async def __aenter__(self) -> MemoryJournal:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.aclose()

    def _first(self) -> int:
        return self._last + 1 - (len(self._records) - self._head)

    async def _enter(self) -> None:
        # A call that got past this check finishes even if the journal is closed while it waits at the
        # checkpoint, as a call already queued on the SQLite journal does.
        if self._closed:
            raise ClosedError("MemoryJournal is closed")
        await trio.lowlevel.checkpoint()

    async def append(self, signals: Sequence[Signal]) -> list[Record]:
        """Append signals in order; returns their records, with consecutive offsets.

        Raises:
            TypeError: ``signals`` is not a sequence of :class:`Signal`.
            ValueError: the clock gave a naive datetime.
            ClosedError: the journal is closed.
        """
        self._check_open()
        batch = check_signals(signals)
        await self._enter()
        if not batch:
            return []
        appended_at = stamp(self._clock, self._last_at)
        records = [Record(self._last + 1 + i, signal, appended_at) for i, signal in enumerate(batch)]
        texts = [signal.to_json() for signal in batch]
        sizes = [utf8_length(text) for text in texts]
        self._keep_texts(records[0].offset, texts)
        self._records.extend(records)
        self._sizes.extend(sizes)
        self._bytes += sum(sizes)
        self._last += len(records)
        self._last_at = appended_at
        if self._bytes > self._max_bytes:
            self._evict_records(appended_at)
        return records

    def _keep_texts(self, first: int, texts: list[str]) -> None:
        kept = self._texts
        if not kept:
            self._texts_first = first
        kept.extend(texts)  # offsets are consecutive: the text of offset o is kept[o - _texts_first]
        self._text_chars += sum(map(len, texts))
        while len(kept) > _TEXTS or (self._text_chars > _TEXT_CHARS and len(kept) > 1):
            self._text_chars -= len(kept.popleft())
            self._texts_first += 1

    def encoded(self, offset: int) -> str | None:
        """The JSON text of the record at ``offset``, if it is among the newest (whose JSON the journal
        measured when they were appended and keeps a while); None otherwise (``record.signal.to_json()``
        gives the same text). The gateway frames what it pushes with this: a signal is encoded once."""
        index = offset - self._texts_first
        return self._texts[index] if 0 <= index < len(self._texts) else None

    def _evict_records(self, now: dt.datetime) -> None:
        """Evict the oldest records until the rest fit ``max_bytes`` (the newest one always stays)."""
        cut = self._head
        end = len(self._records) - 1
        while self._bytes > self._max_bytes and cut < end:
            self._bytes -= self._sizes[cut]
            cut += 1
        evicted = cut - self._head
        if evicted:
            self._drop_to(cut)
            self._record_evictions.record(evicted, f"max_bytes={self._max_bytes}", now)

    def _drop_to(self, cut: int) -> None:
        """Move the head to index ``cut`` (the sizes of the records before it are already subtracted)."""
        retained = len(self._records) - self._head
        removed = cut - self._head
        self._head = cut
        dead = self._head
        if (dead >= _COMPACT_AT and dead * 2 >= len(self._records)) or removed == retained:
            del self._records[:dead]
            del self._sizes[:dead]
            self._head = 0

    async def read(self, start: int = 1, *, limit: int = 1000) -> list[Record]:
        """Records with ``offset >= start``, in offset order, at most ``limit`` of them, and no more than
        about 1 MiB of JSON (at least one record, whatever its size): fewer than ``limit`` does not mean the
        end; read on from the last offset + 1 until a read comes back empty.

        A ``start`` below the first retained record starts there.

        Raises:
            TypeError, ValueError: ``start`` or ``limit`` is not an int >= 1.
            ClosedError: the journal is closed.
        """
        self._check_open()
        check_int(start, "start", minimum=1)
        check_int(limit, "limit", minimum=1)
        await self._enter()
        index = self._head + max(start - self._first(), 0)
        end = min(index + limit, len(self._records))
        size = 0
        for at in range(index, end):
            size += self._sizes[at]
            if size > READ_BYTES and at > index:
                end = at
                break
        return self._records[index:end]

    async def offset_at(self, moment: dt.datetime) -> int:
        """The offset of the first retained record appended at or after ``moment`` (``last_offset() + 1`` if none).

        Raises:
            TypeError, ValueError: ``moment`` is not a timezone-aware datetime.
            ClosedError: the journal is closed.
        """
        self._check_open()
        check_aware(moment, "moment")
        await self._enter()
        index = bisect.bisect_left(self._records, moment, lo=self._head, key=_appended_at)
        return self._first() + index - self._head

    async def first_offset(self) -> int:
        """The offset of the oldest retained record (``last_offset() + 1`` when none is retained)."""
        await self._enter()
        return self._first()

    async def last_offset(self) -> int:
        """The offset of the newest record ever appended (0 for a new journal)."""
        await self._enter()
        return self._last

    async def get_checkpoint(self, name: str) -> int | None:
        """The offset stored for ``name``, or None.

        Raises:
            TypeError, ValueError: ``name`` is not a non-empty str.
            ClosedError: the journal is closed.
        """
        self._check_open()
        check_name(name, "name")
        await self._enter()
        return self._checkpoints.get(name)

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
        await self._enter()
        check_checkpoint_offset(offset, self._last)
        stored = max(offset, self._checkpoints.get(name, offset))
        self._checkpoints[name] = stored
        return stored

    async def bind_subscription(
        self, name: str, *, pattern: str, owner: str | None, offset: int
    ) -> DurableBinding:
        """The binding of durable subscription ``name``, made now (checkpoint ``offset``) if it has none.

        A checkpoint stored without a binding keeps its offset and adopts ``pattern`` and ``owner``; a bound
        name is returned unchanged.

        Raises:
            TypeError, ValueError: see :func:`check_binding`, or ``offset`` past :meth:`last_offset`.
            ClosedError: the journal is closed.
        """
        self._check_open()
        check_binding(name, pattern, owner, offset)
        await self._enter()
        check_checkpoint_offset(offset, self._last)
        checkpoint = self._checkpoints.setdefault(name, offset)
        bound_pattern, bound_owner = self._bindings.setdefault(name, (pattern, owner))
        return DurableBinding(name, bound_pattern, bound_owner, checkpoint)

    async def forget_subscription(self, name: str) -> bool:
        """Remove the durable subscription ``name``: its checkpoint and its binding (a later subscribe of the
        name starts afresh). Returns whether there was one.

        Raises:
            TypeError, ValueError: ``name`` is not a non-empty str.
            ClosedError: the journal is closed.
        """
        self._check_open()
        check_name(name, "name")
        await self._enter()
        self._bindings.pop(name, None)
        return self._checkpoints.pop(name, None) is not None

    async def count_durable(self, owner: str | None) -> int:
        """How many durable subscriptions are bound to ``owner`` (a gateway identity): what a gateway bounds.

        Raises:
            ClosedError: the journal is closed.
        """
        self._check_open()
        await self._enter()
        return sum(1 for _, bound in self._bindings.values() if bound == owner)

    async def add_dead_letter(
        self,
        subscription: str,
        record: Record,
        error: str,
        attempts: int,
        *,
        reason: str = DEFAULT_DEAD_LETTER_REASON,
    ) -> DeadLetterRecord:
        """Keep ``record`` as a dead letter of ``subscription``; its id is one more than the last id given.

        When ``max_dead_letters`` are kept already, the oldest is evicted (and counted) to make room.

        Raises:
            TypeError, ValueError: a bad argument (see :func:`check_dead_letter`).
            ClosedError: the journal is closed.
        """
        self._check_open()
        check_dead_letter(subscription, record, error, attempts, reason)
        error = unicode_text(error)
        await self._enter()
        now = stamp(self._clock, None)
        self._last_dead_letter_id += 1
        letter = DeadLetterRecord(
            self._last_dead_letter_id, subscription, record, error, attempts, now, reason
        )
        self._dead_letters[letter.id] = letter
        own = self._by_source.setdefault(subscription, {})
        own[letter.id] = None
        size = utf8_length(record.signal.to_json()) + utf8_length(error)
        self._dead_letter_sizes[letter.id] = size
        self._dead_letter_bytes += size
        evicted = 0
        by_count = len(self._dead_letters) > self._max_dead_letters
        while len(self._dead_letters) > 1 and (
            len(self._dead_letters) > self._max_dead_letters
            or self._dead_letter_bytes > self._max_dead_letter_bytes
        ):
            self._drop_dead_letter(next(iter(own)) if len(own) > 1 else next(iter(self._dead_letters)))
            evicted += 1
        if evicted:
            bound = (
                f"max_dead_letters={self._max_dead_letters}"
                if by_count
                else f"max_dead_letter_bytes={self._max_dead_letter_bytes}"
            )
            self._evictions.record(evicted, bound, now)
        return letter

    async def dead_letters(
        self, subscription: str | None = None, *, limit: int = 1000
    ) -> list[DeadLetterRecord]:
        """Dead letters, oldest first (only ``subscription``'s when given), at most ``limit`` of them.

        Raises:
            TypeError, ValueError: ``subscription`` is not None or a non-empty str, or ``limit`` < 1.
            ClosedError: the journal is closed.
        """
        self._check_open()
        if subscription is not None:
            check_name(subscription, "subscription")
        check_int(limit, "limit", minimum=1)
        await self._enter()
        found: list[DeadLetterRecord] = []
        for letter in self._dead_letters.values():
            if subscription is None or letter.subscription == subscription:
                found.append(letter)
                if len(found) == limit:
                    break
        return found

    async def remove_dead_letter(self, dead_letter_id: int) -> bool:
        """Remove one dead letter; False if there was no such id.

        Raises:
            TypeError, ValueError: ``dead_letter_id`` is not an int >= 1.
            ClosedError: the journal is closed.
        """
        self._check_open()
        check_int(dead_letter_id, "dead_letter_id", minimum=1)
        await self._enter()
        if dead_letter_id not in self._dead_letters:
            return False
        self._drop_dead_letter(dead_letter_id)
        return True

    def _drop_dead_letter(self, dead_letter_id: int) -> None:
        letter = self._dead_letters.pop(dead_letter_id)
        self._dead_letter_bytes -= self._dead_letter_sizes.pop(dead_letter_id)
        own = self._by_source[letter.subscription]
        del own[dead_letter_id]
        if not own:
            del self._by_source[letter.subscription]

    async def trim(
        self, *, max_entries: int | None = None, max_age: dt.timedelta | None = None, now: dt.datetime
    ) -> int:
        """Keep at most ``max_entries`` records and none appended before ``now - max_age``.

        Returns:
            How many records were removed.

        Raises:
            TypeError, ValueError: see :func:`check_trim`.
            ClosedError: the journal is closed.
        """
        self._check_open()
        check_trim(max_entries, max_age, now)
        await self._enter()
        cut = self._head  # index of the first record to keep
        oldest = oldest_kept(now, max_age)
        if oldest is not None:
            cut = bisect.bisect_left(self._records, oldest, lo=self._head, key=_appended_at)
        if max_entries is not None:
            cut = max(cut, len(self._records) - max_entries)
        removed = cut - self._head
        if removed > 0:
            self._bytes -= sum(self._sizes[self._head : cut])
            self._drop_to(cut)
        return max(removed, 0)

    async def aclose(self) -> None:
        """Close the journal. Calls made afterwards raise :class:`~jido.errors.ClosedError`; calls already in
        progress finish. ``aclose`` itself may be called again (it does nothing more)."""
        self._closed = True
        await trio.lowlevel.checkpoint()

    def _check_open(self) -> None:
        if self._closed:
            raise ClosedError("MemoryJournal is closed")


def _appended_at(record: Record) -> dt.datetime:
    return record.appended_at


# -- argument checks shared by the backends ------------------------------------------------------------------


def check_int(value: object, name: str, *, minimum: int) -> int:
    """Return ``value`` if it is an int (not a bool) >= ``minimum``; else raise naming ``name``."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{name} must be an int, got {value!r}")
    if value < minimum:
        raise ValueError(f"{name} must be >= {minimum}, got {value!r}")
    return value


def check_aware(value: object, name: str) -> dt.datetime:
    """Return ``value`` if it is a timezone-aware datetime; else raise naming ``name``."""
    if not isinstance(value, dt.datetime):
        raise TypeError(f"{name} must be a datetime, got {value!r}")
    if value.utcoffset() is None:
        raise ValueError(f"{name} must be timezone-aware, got naive {value.isoformat()}")
    return value


def check_name(value: object, name: str) -> str:
    """Return ``value`` if it is a non-empty str of Unicode text; else raise naming ``name``.

    A lone surrogate is refused: no backend could give the name back as it was (SQLite cannot store it).
    """
    if not isinstance(value, str):
        raise TypeError(f"{name} must be a str, got {value!r}")
    if not value:
        raise ValueError(f"{name} must not be empty")
    if not value.isascii():
        try:
            value.encode("utf-8")
        except UnicodeEncodeError as exc:
            raise ValueError(
                f"{name} must be Unicode text, got {value!r} (a lone surrogate at index {exc.start})"
            ) from None
    return value


def unicode_text(text: str) -> str:
    """``text``, with each lone surrogate (which UTF-8 cannot carry) written as its ``\\udcff`` escape: an error
    message is stored whatever it says (an exception may quote undecodable bytes), never refused."""
    if text.isascii():
        return text
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return text.encode("utf-8", "backslashreplace").decode("utf-8")
    return text


def check_signals(signals: object) -> list[Signal]:
    """Return ``signals`` as a list if it is a sequence of :class:`Signal`; else raise."""
    if isinstance(signals, Signal):
        raise TypeError("signals must be a sequence of Signal, got one Signal (wrap it in a list)")
    if isinstance(signals, str | bytes) or not isinstance(signals, Sequence):
        raise TypeError(f"signals must be a sequence of Signal, got {type(signals).__name__}")
    batch = list(signals)
    for index, signal in enumerate(batch):
        if not isinstance(signal, Signal):
            raise TypeError(f"signals[{index}] must be a Signal, got {type(signal).__name__}")
    return batch


def check_clock(clock: object) -> Clock:
    """Return ``clock`` (or a :class:`SystemClock` for None) if it has a ``now()`` method; else raise."""
    if clock is None:
        return SystemClock()
    if not isinstance(clock, Clock):
        raise TypeError(f"clock must have a now() method, got {clock!r}")
    return clock


def check_checkpoint_offset(offset: int, last: int) -> None:
    """Refuse a checkpoint past the newest record: nothing can have finished with an offset not yet given."""
    if offset > last:
        raise ValueError(f"offset {offset} is past the last offset appended ({last})")


def check_dead_letter(
    subscription: object, record: object, error: object, attempts: object, reason: object
) -> None:
    """Check the arguments of ``add_dead_letter``; raise naming the first bad one.

    A record's offset may be 0: a signal that was never appended (the runtime's own dead letters).
    """
    check_name(subscription, "subscription")
    if not isinstance(record, Record):
        raise TypeError(f"record must be a Record, got {type(record).__name__}")
    check_int(record.offset, "record.offset", minimum=0)
    check_aware(record.appended_at, "record.appended_at")
    if not isinstance(error, str):
        raise TypeError(f"error must be a str, got {error!r}")
    check_int(attempts, "attempts", minimum=0)
    check_name(reason, "reason")


def check_binding(name: object, pattern: object, owner: object, offset: object) -> None:
    """Check the arguments of ``bind_subscription``: non-empty strs (owner may be None), an offset >= 0."""
    check_name(name, "name")
    check_name(pattern, "pattern")
    if owner is not None:
        check_name(owner, "owner")
    check_int(offset, "offset", minimum=0)


def check_max_dead_letter_age(value: object) -> dt.timedelta | None:
    """Return ``value`` if it is None or a positive timedelta; else raise."""
    if value is None:
        return None
    if not isinstance(value, dt.timedelta):
        raise TypeError(f"max_dead_letter_age must be a timedelta or None, got {value!r}")
    if value <= dt.timedelta(0):
        raise ValueError(f"max_dead_letter_age must be positive, got {value!r}")
    return value


class DeadLetterEvictions:
    """Counts the dead letters a journal evicted to stay within its bounds, and logs them once per burst.

    One line at the first eviction, then at most one per :data:`EVICTION_LOG_INTERVAL` of the journal's
    clock while evictions go on, each saying how many since the line before: a subscriber that never acks
    evicts one dead letter per publish, and a line for each would flood the log.
    """

    __slots__ = ("_journal", "_logged_at", "_unlogged", "_what", "total")

    def __init__(self, journal: str, *, what: str = "dead letters") -> None:
        self._journal = journal
        self._what = what
        self._logged_at: dt.datetime | None = None
        self._unlogged = 0
        self.total = 0

    def record(self, count: int, bound: str, now: dt.datetime) -> None:
        """``count`` dead letters were evicted at ``now`` to stay within ``bound`` (shown in the log)."""
        self.total += count
        self._unlogged += count
        since = None if self._logged_at is None else now - self._logged_at
        if since is not None and dt.timedelta(0) <= since < EVICTION_LOG_INTERVAL:
            return
        logger.warning(
            "%s evicted %d oldest %s to stay within %s (%d evicted in all)",
            self._journal,
            self._unlogged,
            self._what,
            bound,
            self.total,
            extra={"evicted": self._unlogged},
        )
        self._logged_at = now
        self._unlogged = 0


def check_trim(max_entries: object, max_age: object, now: object) -> None:
    """Check the arguments of ``trim``: ``max_entries`` an int >= 0 or None, ``max_age`` a timedelta >= 0 or
    None, ``now`` a timezone-aware datetime."""
    if max_entries is not None:
        check_int(max_entries, "max_entries", minimum=0)
    if max_age is not None:
        if not isinstance(max_age, dt.timedelta):
            raise TypeError(f"max_age must be a timedelta, got {max_age!r}")
        if max_age < dt.timedelta(0):
            raise ValueError(f"max_age must not be negative, got {max_age!r}")
    check_aware(now, "now")


def oldest_kept(now: dt.datetime, max_age: dt.timedelta | None) -> dt.datetime | None:
    """The earliest ``appended_at`` that ``max_age`` keeps, or None when it keeps everything."""
    if max_age is None:
        return None
    try:
        return now - max_age
    except OverflowError:  # an age reaching before year 1: nothing is that old
        return None


def stamp(clock: Clock, floor: dt.datetime | None) -> dt.datetime:
    """The clock's time in UTC, but never before ``floor``: appended_at must not decrease."""
    now = clock.now()
    if not isinstance(now, dt.datetime) or now.utcoffset() is None:
        raise ValueError(f"clock.now() must return a timezone-aware datetime, got {now!r}")
    now = now.astimezone(dt.UTC)
    return now if floor is None or now >= floor else floor
