"""The Redis journal: the bus's log in a Redis Stream, shared by every node that opens the same namespace.

It keeps every promise of :mod:`jido.bus.journal`. Offsets are the stream's entry ids: record ``n`` is entry
``n-0``, so ``read`` is one ``XRANGE`` and retention is ``XTRIM MINID``, exact (not ``~``). Every write is one
Lua script, so it is atomic on the server and offsets are given in one place whichever node appends.

Layout, under a namespace ``ns`` (one Redis Cluster hash tag, ``{ns}``, so that the scripts may touch all keys)::

    {ns}:journal:meta      hash    kind = "jido.journal", version, last offset, last appended_at (us),
                                   last dead-letter id
    {ns}:journal:stream    stream  entry <offset>-0 with s = the signal's JSON, t = appended_at (us)
    {ns}:journal:cp        hash    durable subscription name -> checkpoint
    {ns}:journal:bind      hash    durable subscription name -> JSON [pattern, owner]
    {ns}:journal:dl        hash    dead-letter id -> its JSON
    {ns}:journal:dl:all    zset    every dead-letter id (score = id): oldest first
    {ns}:journal:dl:src    hash    dead-letter id -> its subscription
    {ns}:journal:dl:by:<s> zset    subscription s's dead-letter ids

**Durable subscriptions** are the journal protocol's: a checkpoint per name, advanced by the bus's
subscription after its acks (:mod:`jido.bus.subscription` does redelivery, max attempts and dead letters the
same way over every backend). They are not Redis consumer groups: a consumer group's pending list would be a
second source of truth beside the checkpoint, with other semantics (per-entry acks, no binding). Competing
consumers across nodes, where a consumer group's claim is what is wanted, belong to the cluster's inboxes.

**Failures** are as in :mod:`jido.store.redis`: :class:`~jido._redis.RedisUnavailableError` when the server is
gone or silent (an append whose answer was lost may have been applied), :class:`~jido.errors.BrokenError`
naming the key when a key of ours holds another type or data we cannot read, and nothing is overwritten.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import logging
from collections.abc import AsyncIterator, Sequence
from types import TracebackType
from typing import Any, Final

import attrs
import coredis.exceptions
import trio

from jido._redis import (
    DEFAULT_COMMAND_TIMEOUT,
    DEFAULT_CONNECT_TIMEOUT,
    Guard,
    RedisClient,
    RedisUnavailableError,
    check_namespace,
    open_redis,
    redact_url,
)
from jido.bus.journal import DEFAULT_DEAD_LETTER_REASON, DeadLetterRecord, DurableBinding, Record
from jido.bus.memory import (
    DEFAULT_MAX_DEAD_LETTERS,
    DeadLetterEvictions,
    check_aware,
    check_binding,
    check_checkpoint_offset,
    check_clock,
    check_dead_letter,
    check_int,
    check_name,
    check_signals,
    check_trim,
    oldest_kept,
)
from jido.clock import Clock
from jido.errors import BrokenError, ClosedError, SignalError
from jido.signal import Signal

__all__ = [
    "SCHEMA_VERSION",
    "RedisJournal",
    "RedisJournalStatistics",
    "RedisUnavailableError",
    "open_redis_journal",
]

logger = logging.getLogger("jido.bus")

SCHEMA_VERSION: Final = 1
"""The layout version this code writes; a namespace written by a newer one is refused, never overwritten."""

_EPOCH: Final = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
_MAX_ID: Final = 2**63 - 1  # stream ids, offsets and dead-letter ids are 64-bit on the server
_MAX_COUNT: Final = 2**31  # no read or listing is ever this long

_PRELUDE: Final = """
local function check_meta(meta, ours)
  local kind = redis.call('TYPE', meta).ok
  if kind == 'none' then return nil end
  if kind ~= 'hash' then return {'BROKEN', meta, 'holds a ' .. kind .. ', not our layout marker'} end
  local fields = redis.call('HMGET', meta, 'kind', 'version')
  if fields[1] ~= 'jido.journal' then
    return {'BROKEN', meta, 'is not a jido journal (kind ' .. tostring(fields[1]) .. ')'}
  end
  local version = tonumber(fields[2])
  if version == nil or version > tonumber(ours) then
    return {'BROKEN', meta, 'has layout version ' .. tostring(fields[2]) .. ', newer than ' .. ours}
  end
  return nil
end
local function check_type(key, want)
  local kind = redis.call('TYPE', key).ok
  if kind ~= 'none' and kind ~= want then
    return {'BROKEN', key, 'holds a ' .. kind .. ', not a ' .. want}
  end
  return nil
end
local function check_all(meta, ours, keys, types)
  local err = check_meta(meta, ours)
  if err then return err end
  for i = 1, #keys do
    err = check_type(keys[i], types[i])
    if err then return err end
  end
  return nil
end
local function last_offset(meta)
  return tonumber(redis.call('HGET', meta, 'last') or '0')
end
"""

# KEYS: meta, stream. ARGV: version, now (us), then the signals' JSON. Returns {'OK', first offset, at (us)}.
_APPEND: Final = (
    _PRELUDE
    + """
local err = check_all(KEYS[1], ARGV[1], {KEYS[2]}, {'stream'})
if err then return err end
local last = last_offset(KEYS[1])
local at = tonumber(ARGV[2])
local floor = tonumber(redis.call('HGET', KEYS[1], 'last_at') or ARGV[2])
if floor > at then at = floor end
local stamp = string.format('%d', at)
for i = 3, #ARGV do
  redis.call('XADD', KEYS[2], string.format('%d-0', last + i - 2), 's', ARGV[i], 't', stamp)
end
redis.call('HSET', KEYS[1], 'kind', 'jido.journal', 'version', ARGV[1],
  'last', string.format('%d', last + #ARGV - 2), 'last_at', stamp)
return {'OK', last + 1, stamp}
"""
)

# Binary search over the retained entries (consecutive offsets) for the first one appended at or after a
# moment. Used by offset_at and by trim.
_SEARCH: Final = """
local function first_at_or_after(stream, meta, moment)
  local last = last_offset(meta)
  local lo = last + 1 - redis.call('XLEN', stream)
  local hi = last + 1
  while lo < hi do
    local mid = math.floor((lo + hi) / 2)
    local entry = redis.call('XRANGE', stream, mid .. '-0', mid .. '-0')[1]
    if entry == nil then return nil end
    local t = tonumber(entry[2][4])
    if t == nil then return nil end
    if t < moment then lo = mid + 1 else hi = mid end
  end
  return lo
end
"""

# KEYS: meta, stream. ARGV: version, moment (us). Returns {'OK', offset}.
_OFFSET_AT: Final = (
    _PRELUDE
    + _SEARCH
    + """
local err = check_all(KEYS[1], ARGV[1], {KEYS[2]}, {'stream'})
if err then return err end
local found = first_at_or_after(KEYS[2], KEYS[1], tonumber(ARGV[2]))
if found == nil then return {'BROKEN', KEYS[2], 'has a gap or an unreadable entry among its offsets'} end
return {'OK', found}
"""
)

# KEYS: meta, stream. ARGV: version, max entries ('' = none), oldest kept (us, '' = none). Returns {'OK', removed}.
_TRIM: Final = (
    _PRELUDE
    + _SEARCH
    + """
local err = check_all(KEYS[1], ARGV[1], {KEYS[2]}, {'stream'})
if err then return err end
local last = last_offset(KEYS[1])
local cut = last + 1 - redis.call('XLEN', KEYS[2])
if ARGV[3] ~= '' then
  local by_age = first_at_or_after(KEYS[2], KEYS[1], tonumber(ARGV[3]))
  if by_age == nil then return {'BROKEN', KEYS[2], 'has a gap or an unreadable entry among its offsets'} end
  if by_age > cut then cut = by_age end
end
if ARGV[2] ~= '' then
  local by_count = last + 1 - tonumber(ARGV[2])
  if by_count > cut then cut = by_count end
end
if redis.call('EXISTS', KEYS[2]) == 0 then return {'OK', 0} end
return {'OK', redis.call('XTRIM', KEYS[2], 'MINID', string.format('%d-0', cut))}
"""
)

# KEYS: meta, cp, bind. ARGV: version, name, offset, binding JSON ('' = set_checkpoint). Returns
# {'OK', checkpoint, binding JSON or false} or {'PAST', last}.
_CHECKPOINT: Final = (
    _PRELUDE
    + """
local err = check_all(KEYS[1], ARGV[1], {KEYS[2], KEYS[3]}, {'hash', 'hash'})
if err then return err end
local last = last_offset(KEYS[1])
local offset = tonumber(ARGV[3])
if offset > last then return {'PAST', last} end
local stored = redis.call('HGET', KEYS[2], ARGV[2])
if ARGV[4] == '' then
  if stored == false or tonumber(stored) < offset then
    redis.call('HSET', KEYS[2], ARGV[2], ARGV[3])
    stored = ARGV[3]
  end
  return {'OK', stored, false}
end
if stored == false then
  redis.call('HSET', KEYS[2], ARGV[2], ARGV[3])
  stored = ARGV[3]
end
local binding = redis.call('HGET', KEYS[3], ARGV[2])
if binding == false then
  redis.call('HSET', KEYS[3], ARGV[2], ARGV[4])
  binding = ARGV[4]
end
return {'OK', stored, binding}
"""
)

# KEYS: meta, dl, dl:all, dl:src, this subscription's zset. ARGV: version, the letter's JSON (without its id),
# max dead letters, the by-subscription key prefix, subscription. Returns {'OK', id, evicted}.
_ADD_DEAD_LETTER: Final = (
    _PRELUDE
    + """
local err = check_all(KEYS[1], ARGV[1], {KEYS[2], KEYS[3], KEYS[4], KEYS[5]}, {'hash', 'zset', 'hash', 'zset'})
if err then return err end
local id = redis.call('HINCRBY', KEYS[1], 'dl_last', 1)
redis.call('HSET', KEYS[1], 'kind', 'jido.journal', 'version', ARGV[1])
redis.call('HSET', KEYS[2], id, ARGV[2])
redis.call('ZADD', KEYS[3], id, id)
redis.call('HSET', KEYS[4], id, ARGV[5])
redis.call('ZADD', KEYS[5], id, id)
local max = tonumber(ARGV[3])
local evicted = 0
while redis.call('ZCARD', KEYS[3]) > max and redis.call('ZCARD', KEYS[3]) > 1 do
  -- A source past the bound evicts its own oldest first: one flooding source cannot displace another's.
  local victim
  if redis.call('ZCARD', KEYS[5]) > 1 then
    victim = redis.call('ZRANGE', KEYS[5], 0, 0)[1]
  else
    victim = redis.call('ZRANGE', KEYS[3], 0, 0)[1]
  end
  local source = redis.call('HGET', KEYS[4], victim)
  redis.call('HDEL', KEYS[2], victim)
  redis.call('HDEL', KEYS[4], victim)
  redis.call('ZREM', KEYS[3], victim)
  if source then redis.call('ZREM', ARGV[4] .. source, victim) end
  evicted = evicted + 1
end
return {'OK', id, evicted}
"""
)

# KEYS: meta, dl, the zset to list. ARGV: version, limit. Returns {'OK', {id, JSON, id, JSON, ...}}.
_LIST_DEAD_LETTERS: Final = (
    _PRELUDE
    + """
local err = check_all(KEYS[1], ARGV[1], {KEYS[2], KEYS[3]}, {'hash', 'zset'})
if err then return err end
local ids = redis.call('ZRANGE', KEYS[3], 0, tonumber(ARGV[2]) - 1)
local out = {}
for i = 1, #ids do
  out[#out + 1] = ids[i]
  out[#out + 1] = redis.call('HGET', KEYS[2], ids[i])
end
return {'OK', out}
"""
)

# KEYS: meta, dl, dl:all, dl:src. ARGV: version, id, the by-subscription key prefix. Returns {'OK', 0 or 1}.
_REMOVE_DEAD_LETTER: Final = (
    _PRELUDE
    + """
local err = check_all(KEYS[1], ARGV[1], {KEYS[2], KEYS[3], KEYS[4]}, {'hash', 'zset', 'hash'})
if err then return err end
local source = redis.call('HGET', KEYS[4], ARGV[2])
if source == false then return {'OK', 0} end
redis.call('HDEL', KEYS[2], ARGV[2])
redis.call('HDEL', KEYS[4], ARGV[2])
redis.call('ZREM', KEYS[3], ARGV[2])
redis.call('ZREM', ARGV[3] .. source, ARGV[2])
return {'OK', 1}
"""
)

# KEYS: meta, stream. ARGV: version. Returns {'OK', first, last}.
_BOUNDS: Final = (
    _PRELUDE
    + """
local err = check_all(KEYS[1], ARGV[1], {KEYS[2]}, {'stream'})
if err then return err end
local last = last_offset(KEYS[1])
return {'OK', last + 1 - redis.call('XLEN', KEYS[2]), last}
"""
)


@attrs.frozen
class RedisJournalStatistics:
    """A snapshot of a :class:`RedisJournal`'s counters (this process's calls only).

    Attributes:
        dead_letters_evicted: dead letters this process evicted to stay within ``max_dead_letters``.
    """

    dead_letters_evicted: int


def _micros(moment: dt.datetime) -> int:
    return (moment - _EPOCH) // dt.timedelta(microseconds=1)


def _moment(micros: int) -> dt.datetime:
    return _EPOCH + dt.timedelta(microseconds=micros)


class RedisJournal:
    """A journal in a Redis Stream. See the module docstring for the layout and the failures.

    The journal uses a client it is given and does not close it (:func:`open_redis_journal` opens one and
    closes both). Making one does no I/O.

    Args:
        client: a connected ``coredis.Redis`` client with ``decode_responses=False``, entered by the caller
            for as long as the journal is used.
        namespace: the Redis Cluster hash tag every key starts with (``{namespace}:journal:...``).
        clock: where ``appended_at`` and a dead letter's ``at`` come from (the system clock by default).
            ``appended_at`` never decreases, whichever node's clock stamped the record before.
        max_dead_letters: the most dead letters kept (>= 1); past it the oldest are evicted (a source's own
            first), counted in :meth:`statistics` and logged once per burst.
        url: the server's URL for messages (a password in it is never shown).
        command_timeout: seconds to wait for one answer before raising ``RedisUnavailableError``.

    Raises:
        TypeError, ValueError: a bad namespace, clock, bound or timeout.
    """

    def __init__(
        self,
        client: RedisClient,
        *,
        namespace: str = "jido",
        clock: Clock | None = None,
        max_dead_letters: int = DEFAULT_MAX_DEAD_LETTERS,
        url: str = "redis",
        command_timeout: float = DEFAULT_COMMAND_TIMEOUT,
    ) -> None:
        self._namespace = check_namespace(namespace)
        self._clock = check_clock(clock)
        self._max_dead_letters = check_int(max_dead_letters, "max_dead_letters", minimum=1)
        if isinstance(command_timeout, bool) or not isinstance(command_timeout, int | float):
            raise TypeError(f"command_timeout must be a number, got {command_timeout!r}")
        if not command_timeout > 0:
            raise ValueError(f"command_timeout must be > 0, got {command_timeout!r}")
        self._client = client
        self._url = redact_url(url)
        self._guard = Guard(self._url, float(command_timeout))
        base = f"{{{namespace}}}:journal:"
        self._meta = base + "meta"
        self._stream = base + "stream"
        self._cp = base + "cp"
        self._bind = base + "bind"
        self._dl = base + "dl"
        self._dl_all = base + "dl:all"
        self._dl_src = base + "dl:src"
        self._dl_by = base + "dl:by:"
        register = client.register_script
        self._append_script = register(_APPEND)
        self._offset_at_script = register(_OFFSET_AT)
        self._trim_script = register(_TRIM)
        self._checkpoint_script = register(_CHECKPOINT)
        self._add_dl_script = register(_ADD_DEAD_LETTER)
        self._list_dl_script = register(_LIST_DEAD_LETTERS)
        self._remove_dl_script = register(_REMOVE_DEAD_LETTER)
        self._bounds_script = register(_BOUNDS)
        self._evictions = DeadLetterEvictions(f"RedisJournal({namespace!r})")
        self._closed = False

    def __repr__(self) -> str:
        state = "closed" if self._closed else "open"
        return f"<RedisJournal {self._url} namespace={self._namespace!r} {state}>"

    @property
    def namespace(self) -> str:
        """The namespace every key of this journal starts with (as ``{namespace}``)."""
        return self._namespace

    def statistics(self) -> RedisJournalStatistics:
        """How many dead letters this process evicted to stay within the bound."""
        return RedisJournalStatistics(dead_letters_evicted=self._evictions.total)

    async def __aenter__(self) -> RedisJournal:
        self._check_open()
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.aclose()

    def _check_open(self) -> None:
        if self._closed:
            raise ClosedError(f"RedisJournal({self._namespace!r}) is closed")

    async def _run(
        self, script: Any, keys: list[str], args: list[str | bytes], *, writes: bool = True
    ) -> list[Any]:
        await trio.lowlevel.checkpoint()  # a call cancelled before it starts sends nothing
        self._check_open()
        try:
            reply = await self._guard(script(keys=keys, args=args))
        except coredis.exceptions.ResponseError as exc:
            # Out of memory (maxmemory), scripting disabled, a read-only replica: the server said no.
            raise BrokenError(f"Redis at {self._url} refused a journal command: {exc}") from None
        if not isinstance(reply, list | tuple) or not reply:
            raise BrokenError(f"Redis at {self._url} answered a journal script with {reply!r}")
        if reply[0] == b"BROKEN":
            key = reply[1].decode("utf-8", "replace")
            problem = reply[2].decode("utf-8", "replace")
            raise BrokenError(f"Redis key {key!r} {problem}" + ("; nothing was written" if writes else ""))
        return list(reply)

    def _signal(self, raw: object, where: str) -> Signal:
        if not isinstance(raw, bytes):
            raise BrokenError(f"Redis key {self._stream!r} has an entry without a signal at {where}")
        try:
            return Signal.from_json(raw, max_bytes=None)
        except SignalError as exc:
            raise BrokenError(
                f"Redis key {self._stream!r} holds an unreadable signal at {where}: {exc}"
            ) from None

    async def append(self, signals: Sequence[Signal]) -> list[Record]:
        """Append signals in order; returns their records, with consecutive offsets.

        Raises:
            TypeError: ``signals`` is not a sequence of :class:`Signal`.
            ValueError: the clock gave a naive datetime.
            BrokenError: a key of ours holds another type, or a newer layout (named); nothing was appended.
            RedisUnavailableError: the server could not be reached or did not answer (the signals may or may
                not have been appended).
            ClosedError: the journal is closed.
        """
        self._check_open()
        batch = check_signals(signals)
        if not batch:
            await trio.lowlevel.checkpoint()
            self._check_open()
            return []
        now = self._clock.now()
        if not isinstance(now, dt.datetime) or now.utcoffset() is None:
            raise ValueError(f"clock.now() must return a timezone-aware datetime, got {now!r}")
        payloads: list[str | bytes] = [signal.to_json().encode("utf-8") for signal in batch]
        reply = await self._run(
            self._append_script,
            [self._meta, self._stream],
            [str(SCHEMA_VERSION), str(_micros(now.astimezone(dt.UTC))), *payloads],
        )
        first = int(reply[1])
        appended_at = _moment(int(reply[2]))
        return [Record(first + i, signal, appended_at) for i, signal in enumerate(batch)]

    async def read(self, start: int = 1, *, limit: int = 1000) -> list[Record]:
        """Records with ``offset >= start``, in offset order, at most ``limit`` of them.

        Raises:
            TypeError, ValueError: ``start`` or ``limit`` is not an int >= 1.
            BrokenError: the stream key holds another type, or an entry is unreadable (named).
            RedisUnavailableError, ClosedError: as for :meth:`append`.
        """
        self._check_open()
        check_int(start, "start", minimum=1)
        check_int(limit, "limit", minimum=1)
        await trio.lowlevel.checkpoint()
        self._check_open()
        if start > _MAX_ID:
            return []
        try:
            entries = await self._guard(
                self._client.xrange(self._stream, f"{start}-0", "+", count=min(limit, _MAX_COUNT))
            )
        except coredis.exceptions.WrongTypeError:
            raise BrokenError(f"Redis key {self._stream!r} holds another type than a stream") from None
        records: list[Record] = []
        for entry in entries:
            ident = entry.identifier
            fields = entry.field_values
            where = ident.decode("ascii", "replace") if isinstance(ident, bytes) else str(ident)
            try:
                offset = int(where.split("-", 1)[0])
                micros = int(fields[b"t"])
            except (KeyError, ValueError):
                raise BrokenError(
                    f"Redis key {self._stream!r} holds an entry that is not a journal record at {where}"
                ) from None
            records.append(Record(offset, self._signal(fields.get(b"s"), where), _moment(micros)))
        return records

    async def offset_at(self, moment: dt.datetime) -> int:
        """The offset of the first retained record appended at or after ``moment`` (``last_offset() + 1`` if none).

        Raises:
            TypeError, ValueError: ``moment`` is not a timezone-aware datetime.
            BrokenError, RedisUnavailableError, ClosedError: as for :meth:`read`.
        """
        self._check_open()
        check_aware(moment, "moment")
        try:
            micros = _micros(moment.astimezone(dt.UTC))
        except OverflowError:  # pragma: no cover - aware datetimes stay within range after conversion
            micros = 0
        reply = await self._run(
            self._offset_at_script,
            [self._meta, self._stream],
            [str(SCHEMA_VERSION), str(micros)],
            writes=False,
        )
        return int(reply[1])

    async def _bounds(self) -> tuple[int, int]:
        self._check_open()
        reply = await self._run(
            self._bounds_script, [self._meta, self._stream], [str(SCHEMA_VERSION)], writes=False
        )
        return int(reply[1]), int(reply[2])

    async def first_offset(self) -> int:
        """The offset of the oldest retained record (``last_offset() + 1`` when none is retained)."""
        return (await self._bounds())[0]

    async def last_offset(self) -> int:
        """The offset of the newest record ever appended (0 for a new journal)."""
        return (await self._bounds())[1]

    async def get_checkpoint(self, name: str) -> int | None:
        """The offset stored for ``name``, or None.

        Raises:
            TypeError, ValueError: ``name`` is not a non-empty str.
            BrokenError, RedisUnavailableError, ClosedError: as for :meth:`read`.
        """
        self._check_open()
        check_name(name, "name")
        await trio.lowlevel.checkpoint()
        self._check_open()
        try:
            raw = await self._guard(self._client.hget(self._cp, name))
        except coredis.exceptions.WrongTypeError:
            raise BrokenError(f"Redis key {self._cp!r} holds another type than a hash") from None
        if raw is None:
            return None
        try:
            return int(raw)
        except ValueError:
            raise BrokenError(
                f"Redis key {self._cp!r} holds a checkpoint that is not an integer: {raw!r}"
            ) from None

    async def set_checkpoint(self, name: str, offset: int) -> int:
        """Store ``offset`` for ``name`` unless a higher one is stored; returns the stored offset.

        Raises:
            TypeError, ValueError: ``name`` is not a non-empty str, or ``offset`` is not an int from 0 up to
                :meth:`last_offset`.
            BrokenError, RedisUnavailableError, ClosedError: as for :meth:`append`.
        """
        self._check_open()
        check_name(name, "name")
        check_int(offset, "offset", minimum=0)
        reply = await self._checkpoint(name, offset, "")
        return int(reply[1])

    async def _checkpoint(self, name: str, offset: int, binding: str) -> list[Any]:
        if offset > _MAX_ID:
            check_checkpoint_offset(offset, await self.last_offset())
        reply = await self._run(
            self._checkpoint_script,
            [self._meta, self._cp, self._bind],
            [str(SCHEMA_VERSION), name.encode("utf-8"), str(offset), binding.encode("utf-8")],
        )
        if reply[0] == b"PAST":
            check_checkpoint_offset(offset, int(reply[1]))
        return reply

    async def bind_subscription(
        self, name: str, *, pattern: str, owner: str | None, offset: int
    ) -> DurableBinding:
        """The binding of durable subscription ``name``, made now (checkpoint ``offset``) if it has none.

        Raises:
            TypeError, ValueError: a bad argument, or ``offset`` past :meth:`last_offset`.
            BrokenError, RedisUnavailableError, ClosedError: as for :meth:`append`.
        """
        self._check_open()
        check_binding(name, pattern, owner, offset)
        reply = await self._checkpoint(name, offset, json.dumps([pattern, owner]))
        try:
            bound_pattern, bound_owner = json.loads(reply[2])
        except (ValueError, TypeError):
            bound_pattern = bound_owner = None
        if not isinstance(bound_pattern, str) or not isinstance(bound_owner, str | None):
            raise BrokenError(f"Redis key {self._bind!r} holds an unreadable binding for {name!r}")
        return DurableBinding(name, bound_pattern, bound_owner, int(reply[1]))

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

        Raises:
            TypeError, ValueError: a bad argument (see :func:`~jido.bus.memory.check_dead_letter`).
            BrokenError, RedisUnavailableError, ClosedError: as for :meth:`append`.
        """
        self._check_open()
        check_dead_letter(subscription, record, error, attempts, reason)
        now = self._clock.now()
        if not isinstance(now, dt.datetime) or now.utcoffset() is None:
            raise ValueError(f"clock.now() must return a timezone-aware datetime, got {now!r}")
        now = now.astimezone(dt.UTC)
        body = json.dumps(
            {
                "subscription": subscription,
                "offset": record.offset,
                "signal": record.signal.to_json(),
                "appended_at": _micros(record.appended_at.astimezone(dt.UTC)),
                "error": error,
                "attempts": attempts,
                "at": _micros(now),
                "reason": reason,
            },
            ensure_ascii=False,
        )
        reply = await self._run(
            self._add_dl_script,
            [self._meta, self._dl, self._dl_all, self._dl_src, self._dl_by + subscription],
            [
                str(SCHEMA_VERSION),
                body.encode("utf-8"),
                str(self._max_dead_letters),
                self._dl_by.encode("utf-8"),
                subscription.encode("utf-8"),
            ],
        )
        evicted = int(reply[2])
        if evicted:
            self._evictions.record(evicted, f"max_dead_letters={self._max_dead_letters}", now)
        return DeadLetterRecord(int(reply[1]), subscription, record, error, attempts, now, reason)

    def _dead_letter(self, ident: bytes, raw: object) -> DeadLetterRecord:
        where = f"dead letter {ident.decode('ascii', 'replace')}"
        if not isinstance(raw, bytes):
            raise BrokenError(f"Redis key {self._dl!r} has no {where}")
        try:
            body = json.loads(raw)
            record = Record(
                int(body["offset"]),
                Signal.from_json(body["signal"], max_bytes=None),
                _moment(int(body["appended_at"])),
            )
            return DeadLetterRecord(
                int(ident),
                str(body["subscription"]),
                record,
                str(body["error"]),
                int(body["attempts"]),
                _moment(int(body["at"])),
                str(body["reason"]),
            )
        except (ValueError, TypeError, KeyError, SignalError, OverflowError):
            raise BrokenError(f"Redis key {self._dl!r} holds an unreadable {where}") from None

    async def dead_letters(
        self, subscription: str | None = None, *, limit: int = 1000
    ) -> list[DeadLetterRecord]:
        """Dead letters, oldest first (only ``subscription``'s when given), at most ``limit`` of them.

        Raises:
            TypeError, ValueError: ``subscription`` is not None or a non-empty str, or ``limit`` < 1.
            BrokenError, RedisUnavailableError, ClosedError: as for :meth:`read`.
        """
        self._check_open()
        if subscription is not None:
            check_name(subscription, "subscription")
        check_int(limit, "limit", minimum=1)
        listed = self._dl_all if subscription is None else self._dl_by + subscription
        reply = await self._run(
            self._list_dl_script,
            [self._meta, self._dl, listed],
            [str(SCHEMA_VERSION), str(min(limit, _MAX_COUNT))],
            writes=False,
        )
        flat = reply[1]
        return [self._dead_letter(flat[i], flat[i + 1]) for i in range(0, len(flat), 2)]

    async def remove_dead_letter(self, dead_letter_id: int) -> bool:
        """Remove one dead letter; False if there was no such id.

        Raises:
            TypeError, ValueError: ``dead_letter_id`` is not an int >= 1.
            BrokenError, RedisUnavailableError, ClosedError: as for :meth:`append`.
        """
        self._check_open()
        check_int(dead_letter_id, "dead_letter_id", minimum=1)
        if dead_letter_id > _MAX_ID:
            await trio.lowlevel.checkpoint()
            self._check_open()
            return False
        reply = await self._run(
            self._remove_dl_script,
            [self._meta, self._dl, self._dl_all, self._dl_src],
            [str(SCHEMA_VERSION), str(dead_letter_id), self._dl_by.encode("utf-8")],
        )
        return int(reply[1]) == 1

    async def trim(
        self, *, max_entries: int | None = None, max_age: dt.timedelta | None = None, now: dt.datetime
    ) -> int:
        """Keep at most ``max_entries`` records and none appended before ``now - max_age``.

        Returns:
            How many records were removed.

        Raises:
            TypeError, ValueError: see :func:`~jido.bus.memory.check_trim`.
            BrokenError, RedisUnavailableError, ClosedError: as for :meth:`append`.
        """
        self._check_open()
        check_trim(max_entries, max_age, now)
        oldest = oldest_kept(now, max_age)
        oldest_micros = ""
        if oldest is not None:
            try:
                oldest_micros = str(_micros(oldest.astimezone(dt.UTC)))
            except OverflowError:
                oldest_micros = ""
        entries = "" if max_entries is None else str(min(max_entries, _MAX_ID))
        reply = await self._run(
            self._trim_script,
            [self._meta, self._stream],
            [str(SCHEMA_VERSION), entries, oldest_micros],
        )
        return int(reply[1])

    async def aclose(self) -> None:
        """Close the journal: later calls raise :class:`~jido.errors.ClosedError` (``aclose`` itself may be
        called again). The client is the caller's and stays open; what was appended stays in Redis."""
        self._closed = True
        await trio.lowlevel.checkpoint()


@contextlib.asynccontextmanager
async def open_redis_journal(
    url: str,
    *,
    namespace: str = "jido",
    clock: Clock | None = None,
    max_dead_letters: int = DEFAULT_MAX_DEAD_LETTERS,
    connect_timeout: float = DEFAULT_CONNECT_TIMEOUT,
    command_timeout: float = DEFAULT_COMMAND_TIMEOUT,
) -> AsyncIterator[RedisJournal]:
    """Connect to Redis at ``url`` and yield a :class:`RedisJournal` on it; close both on the way out.

    Raises:
        RedisUnavailableError: the server could not be reached (named by its URL, without a password).
    """
    async with open_redis(url, connect_timeout=connect_timeout) as client:
        journal = RedisJournal(
            client,
            namespace=namespace,
            clock=clock,
            max_dead_letters=max_dead_letters,
            url=url,
            command_timeout=command_timeout,
        )
        try:
            yield journal
        finally:
            await journal.aclose()
