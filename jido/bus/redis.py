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
    {ns}:journal:owners    hash    "=" + owner (or "-" for None) -> how many bindings it has; meta's
                                   ``owned`` says how many bindings these counts cover
    {ns}:journal:dl        hash    dead-letter id -> its JSON
    {ns}:journal:dl:all    zset    every dead-letter id (score = id): oldest first
    {ns}:journal:dl:src    hash    dead-letter id -> its subscription
    {ns}:journal:dl:by:<s> zset    subscription s's dead-letter ids

**Durable subscriptions** are the journal protocol's: a checkpoint per name, advanced by the bus's
subscription after its acks (:mod:`jido.bus.subscription` does redelivery, max attempts and dead letters the
same way over every backend). They are not Redis consumer groups: a consumer group's pending list would be a
second source of truth beside the checkpoint, with other semantics (per-entry acks, no binding). Competing
consumers across nodes, where a consumer group's claim is what is wanted, belong to the cluster's inboxes.

**Counting durable subscriptions.** A gateway lets one identity keep only so many durable names
(:meth:`RedisJournal.count_durable`), so the scripts that bind and forget keep a count per owner beside the
bindings. Each of them first compares meta's ``owned`` with the number of bindings: a namespace written before
the counts existed, or a node of an older version binding meanwhile, leaves them unequal, and the counts are
then made again from the bindings (once, in the same script), so they are never trusted when stale.

**Reads** return at most about :data:`~jido.bus.memory.READ_BYTES` of signal JSON (at least one record), as
the other journals do: one script walks the stream in growing ``XRANGE`` steps and stops past the bound, so
a subscription that stopped reading pins about that much, and large records never cross the wire in bulk.

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
    READ_BYTES,
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
local function owner_key(binding)
  local ok, decoded = pcall(cjson.decode, binding)
  if not ok or type(decoded) ~= 'table' then return nil end
  local owner = decoded[2]
  if owner == nil or owner == cjson.null then return '-' end
  if type(owner) ~= 'string' then return nil end
  return '=' .. owner
end
-- Makes the per-owner counts right if they are not (see the module docstring); returns the bindings' count.
-- An unreadable binding counts for no owner: using it raises, and it must not stop the others' counts.
local function sync_owners(meta, bind, owners, ours)
  local n = redis.call('HLEN', bind)
  if tonumber(redis.call('HGET', meta, 'owned') or '0') == n then return n end
  redis.call('DEL', owners)
  local all = redis.call('HVALS', bind)
  for i = 1, #all do
    local key = owner_key(all[i])
    if key ~= nil then redis.call('HINCRBY', owners, key, 1) end
  end
  redis.call('HSET', meta, 'kind', 'jido.journal', 'version', ours, 'owned', n)
  return n
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

# KEYS: meta, cp, bind, owners. ARGV: version, name, offset, binding JSON ('' = set_checkpoint), owner key.
# Returns {'OK', checkpoint, binding JSON or false} or {'PAST', last}.
_CHECKPOINT: Final = (
    _PRELUDE
    + """
local err = check_all(KEYS[1], ARGV[1], {KEYS[2], KEYS[3], KEYS[4]}, {'hash', 'hash', 'hash'})
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
  local n = sync_owners(KEYS[1], KEYS[3], KEYS[4], ARGV[1])
  redis.call('HSET', KEYS[3], ARGV[2], ARGV[4])
  redis.call('HINCRBY', KEYS[4], ARGV[5], 1)
  redis.call('HSET', KEYS[1], 'kind', 'jido.journal', 'version', ARGV[1], 'owned', n + 1)
  binding = ARGV[4]
end
return {'OK', stored, binding}
"""
)

# KEYS: meta, cp, bind, owners. ARGV: version, name. Returns {'OK', 1 if there was a checkpoint else 0}.
_FORGET: Final = (
    _PRELUDE
    + """
local err = check_all(KEYS[1], ARGV[1], {KEYS[2], KEYS[3], KEYS[4]}, {'hash', 'hash', 'hash'})
if err then return err end
local binding = redis.call('HGET', KEYS[3], ARGV[2])
if binding ~= false then
  local n = sync_owners(KEYS[1], KEYS[3], KEYS[4], ARGV[1])
  redis.call('HDEL', KEYS[3], ARGV[2])
  local key = owner_key(binding)
  if key ~= nil and redis.call('HINCRBY', KEYS[4], key, -1) <= 0 then redis.call('HDEL', KEYS[4], key) end
  redis.call('HSET', KEYS[1], 'kind', 'jido.journal', 'version', ARGV[1], 'owned', n - 1)
end
return {'OK', redis.call('HDEL', KEYS[2], ARGV[2])}
"""
)

# KEYS: meta, bind, owners. ARGV: version, owner key. Returns {'OK', count}.
_COUNT_DURABLE: Final = (
    _PRELUDE
    + """
local err = check_all(KEYS[1], ARGV[1], {KEYS[2], KEYS[3]}, {'hash', 'hash'})
if err then return err end
sync_owners(KEYS[1], KEYS[2], KEYS[3], ARGV[1])
return {'OK', tonumber(redis.call('HGET', KEYS[3], ARGV[2]) or '0')}
"""
)

# KEYS: stream. ARGV: first id, limit, bytes. Returns {'OK', {entry, ...}}: entries from the first id on, at
# most limit of them, and no more than the bytes of signal JSON (but at least one). XRANGE in steps that
# double, so that a short read costs one step and a long one a few, never the whole limit of large entries.
_READ: Final = """
local kind = redis.call('TYPE', KEYS[1]).ok
if kind == 'none' then return {'OK', {}} end
if kind ~= 'stream' then return {'BROKEN', KEYS[1], 'holds a ' .. kind .. ', not a stream'} end
local limit = tonumber(ARGV[2])
local cap = tonumber(ARGV[3])
local out = {}
local size = 0
local from = ARGV[1]
local step = 8
while #out < limit do
  local want = math.min(step, limit - #out)
  local entries = redis.call('XRANGE', KEYS[1], from, '+', 'COUNT', want)
  for i = 1, #entries do
    local fields = entries[i][2]
    for j = 1, #fields - 1, 2 do
      if fields[j] == 's' then size = size + #fields[j + 1] end
    end
    if size > cap and #out > 0 then return {'OK', out} end
    out[#out + 1] = entries[i]
  end
  if #entries < want then break end
  from = '(' .. entries[#entries][1]
  step = step * 2
end
return {'OK', out}
"""

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


def _owner_key(owner: str | None) -> bytes:
    """The field of an owner's count in the owners hash (the scripts derive the same from a binding)."""
    return b"-" if owner is None else b"=" + owner.encode("utf-8")


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
        self._owners = base + "owners"
        self._dl = base + "dl"
        self._dl_all = base + "dl:all"
        self._dl_src = base + "dl:src"
        self._dl_by = base + "dl:by:"
        register = client.register_script
        self._append_script = register(_APPEND)
        self._offset_at_script = register(_OFFSET_AT)
        self._trim_script = register(_TRIM)
        self._checkpoint_script = register(_CHECKPOINT)
        self._forget_script = register(_FORGET)
        self._count_durable_script = register(_COUNT_DURABLE)
        self._read_script = register(_READ)
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
        """Records with ``offset >= start``, in offset order, at most ``limit`` of them, and no more than
        about 1 MiB of JSON (:data:`~jido.bus.memory.READ_BYTES`; at least one record, whatever its size):
        fewer than ``limit`` does not mean the end; read on from the last offset + 1 until a read comes back
        empty.

        Raises:
            TypeError, ValueError: ``start`` or ``limit`` is not an int >= 1.
            BrokenError: the stream key holds another type, or an entry is unreadable (named).
            RedisUnavailableError, ClosedError: as for :meth:`append`.
        """
        self._check_open()
        check_int(start, "start", minimum=1)
        check_int(limit, "limit", minimum=1)
        if start > _MAX_ID:
            await trio.lowlevel.checkpoint()
            self._check_open()
            return []
        reply = await self._run(
            self._read_script,
            [self._stream],
            [f"{start}-0", str(min(limit, _MAX_COUNT)), str(READ_BYTES)],
            writes=False,
        )
        return [self._record(entry) for entry in reply[1]]

    def _record(self, entry: object) -> Record:
        ident: object = None
        fields: dict[object, object] = {}
        if isinstance(entry, list | tuple) and len(entry) == 2 and isinstance(entry[1], list | tuple):
            ident, flat = entry
            fields = dict(zip(flat[::2], flat[1::2], strict=False))
        where = ident.decode("ascii", "replace") if isinstance(ident, bytes) else str(ident)
        try:
            offset = int(where.split("-", 1)[0])
            micros = int(fields[b"t"])  # type: ignore[call-overload]  # bytes of digits, or refused below
        except (KeyError, ValueError, TypeError):
            raise BrokenError(
                f"Redis key {self._stream!r} holds an entry that is not a journal record at {where}"
            ) from None
        return Record(offset, self._signal(fields.get(b"s"), where), _moment(micros))

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

    async def _checkpoint(self, name: str, offset: int, binding: str, owner_key: bytes = b"") -> list[Any]:
        if offset > _MAX_ID:
            check_checkpoint_offset(offset, await self.last_offset())
        reply = await self._run(
            self._checkpoint_script,
            [self._meta, self._cp, self._bind, self._owners],
            [str(SCHEMA_VERSION), name.encode("utf-8"), str(offset), binding.encode("utf-8"), owner_key],
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
        reply = await self._checkpoint(name, offset, json.dumps([pattern, owner]), _owner_key(owner))
        try:
            bound_pattern, bound_owner = json.loads(reply[2])
        except (ValueError, TypeError):
            bound_pattern = bound_owner = None
        if not isinstance(bound_pattern, str) or not isinstance(bound_owner, str | None):
            raise BrokenError(f"Redis key {self._bind!r} holds an unreadable binding for {name!r}")
        return DurableBinding(name, bound_pattern, bound_owner, int(reply[1]))

    async def forget_subscription(self, name: str) -> bool:
        """Remove the durable subscription ``name``: its checkpoint and its binding (a later subscribe of the
        name starts afresh). Returns whether there was one.

        Raises:
            TypeError, ValueError: ``name`` is not a non-empty str.
            BrokenError, RedisUnavailableError, ClosedError: as for :meth:`append`.
        """
        self._check_open()
        check_name(name, "name")
        reply = await self._run(
            self._forget_script,
            [self._meta, self._cp, self._bind, self._owners],
            [str(SCHEMA_VERSION), name.encode("utf-8")],
        )
        return int(reply[1]) == 1

    async def count_durable(self, owner: str | None) -> int:
        """How many durable subscriptions are bound to ``owner`` (a gateway identity): what a gateway bounds.

        One script that reads one count (see the module docstring for how the counts are kept).

        Raises:
            BrokenError, RedisUnavailableError, ClosedError: as for :meth:`read`.
        """
        self._check_open()
        if owner is not None:
            check_name(owner, "owner")
        reply = await self._run(
            self._count_durable_script,
            [self._meta, self._bind, self._owners],
            [str(SCHEMA_VERSION), _owner_key(owner)],
            writes=False,
        )
        return int(reply[1])

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
