"""The Redis state store: agents' state in Redis (or Valkey), shared by every node of a cluster.

It keeps every promise of :mod:`jido.store.store`, and indexes ``wake_at`` (:class:`~jido.store.store.WakeupIndex`).
Each write call is one Lua script, so a batch is atomic on
the server: the script checks every write first (types, revisions, fencing tokens) and writes only when all
pass; a script never stops half way through its writes.

Layout, under a namespace ``ns`` (all keys share the hash tag ``{ns}``, so a Redis Cluster keeps them in one
slot and the scripts may touch them together)::

    {ns}:store:meta       hash   kind = "jido.store", version = 1 (a foreign or newer layout is refused),
                                 floor = the highest revision deleted: a state made anew starts above it
    {ns}:store:ids        zset   every agent id with a state, score 0 (lexicographic paging = code points)
    {ns}:store:s:<id>     hash   d = the state's text, r = its revision, t = updated_at in microseconds,
                                 w = its wake_at as in the wakeup index (absent when it has none)
    {ns}:store:fences     hash   agent id -> the highest fencing token that wrote it (kept after a delete)
    {ns}:store:wake       zset   "<wake_at>:<agent id>" for each state with a wake_at, score 0

**Wakeups.** A write's ``wake_at`` goes into the wakeup index in the script that writes the state (a write
without one takes the agent out, and so does a delete), so the index never disagrees with the states.
:meth:`RedisStore.list_wakeups` is one ``ZRANGE ... BYLEX``. A member is the time, in microseconds since 1970
plus 2**62 as 20 digits, then ``:`` and the agent id's UTF-8: byte order is (``wake_at``, agent id) order, a
page's cursor is the member after which to go on, and ``before`` an exclusive upper bound, exact to the
microsecond over every datetime (a score, a double, would be exact only to the year 2255, and would order
agents due at the same moment by a scan among them). States written before the index existed are indexed at
their next write.

**Fencing.** :meth:`RedisStore.fenced` gives a view of the store whose writes carry a fencing token per agent
(the token of the lease a node holds on it, see :mod:`jido.cluster`). The store remembers the highest token
that wrote each agent and refuses a write with a lower one with :class:`FencedWriteError` (a
:class:`~jido.errors.StaleStateError`): a node that lost its lease during a pause or a partition cannot
overwrite what the new owner wrote. Writes without a token (the plain store) are not checked.

**Failures.** A server that cannot be reached or stops answering raises
:class:`~jido._redis.RedisUnavailableError` (a :class:`~jido.errors.BrokenError`); a write that fails that
way may or may not have been applied (the answer was lost), as with any remote store: the runtime reloads
the state before it trusts it again. A key of ours holding another type, or a record we cannot read, raises
:class:`~jido.errors.BrokenError` naming the key, and nothing is written.
"""

from __future__ import annotations

import contextlib
import datetime as dt
from collections.abc import AsyncIterator, Callable, Iterable, Sequence
from types import TracebackType
from typing import Any, Final

import coredis.exceptions
import trio
from coredis import PureToken

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
from jido.errors import BrokenError, ClosedError, StaleStateError
from jido.store._checks import (
    WallClock,
    check_agent_id,
    check_clock,
    check_expected_revision,
    check_ids,
    check_page,
    stamp,
)
from jido.store.store import (
    StateStoreStatistics,
    StateWrite,
    StoredState,
    Wakeup,
    check_wakeup_query,
    check_writes,
)

__all__ = [
    "SCHEMA_VERSION",
    "FencedRedisStore",
    "FencedWriteError",
    "RedisStore",
    "RedisUnavailableError",
    "open_redis_store",
]

SCHEMA_VERSION: Final = 1
"""The layout version this code writes; a namespace written by a newer one is refused, never overwritten."""

_EPOCH: Final = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
_MAX_PAGE: Final = 2**31  # ZRANGEBYLEX takes a 64-bit count; no page is ever this long
_WAKE_BIAS: Final = 2**62  # added to wake_at's microseconds since 1970: year 1 to 9999 fit, none negative
_WAKE_DIGITS: Final = 20

# Shared by the scripts: checks the layout marker. Returns nil when it is ours (or absent), else an error row.
_CHECK_META: Final = """
local function check_meta(meta, ours)
  local kind = redis.call('TYPE', meta).ok
  if kind == 'none' then return nil end
  if kind ~= 'hash' then return {'BROKEN', meta, 'holds a ' .. kind .. ', not our layout marker'} end
  local fields = redis.call('HMGET', meta, 'kind', 'version')
  if fields[1] ~= 'jido.store' then
    return {'BROKEN', meta, 'is not a jido state store (kind ' .. tostring(fields[1]) .. ')'}
  end
  local version = tonumber(fields[2])
  if version == nil or version > tonumber(ours) then
    return {'BROKEN', meta, 'has layout version ' .. tostring(fields[2]) .. ', newer than ' .. ours}
  end
  return nil
end
local function check_record(key)
  local kind = redis.call('TYPE', key).ok
  if kind == 'none' then return 0, nil end
  if kind ~= 'hash' then return nil, {'BROKEN', key, 'holds a ' .. kind .. ', not a state record'} end
  local rev = tonumber(redis.call('HGET', key, 'r'))
  if rev == nil or rev < 1 or redis.call('HEXISTS', key, 'd') == 0 then
    return nil, {'BROKEN', key, 'is not a readable state record'}
  end
  return rev, nil
end
"""

# KEYS: meta, ids, fences, wake, then one record key per write. ARGV: now (us), version, prefix length, then
# per write data, expected ('' = any), token ('' = unfenced), wake_at as the index writes it ('' = none).
_SAVE: Final = (
    _CHECK_META
    + """
local broken = check_meta(KEYS[1], ARGV[2])
if broken then return broken end
local skip = tonumber(ARGV[3])
local n = #KEYS - 4
local revs = {}
local fences = {}
local finals = {}
-- A state made anew starts above every revision deleted in this store (its floor): a writer holding a
-- revision from before a delete can never match the new state's.
local floor = 0
if redis.call('EXISTS', KEYS[1]) == 1 then floor = tonumber(redis.call('HGET', KEYS[1], 'floor') or '0') end
for i = 1, n do
  local key = KEYS[4 + i]
  local id = string.sub(key, skip + 1)
  if revs[key] == nil then
    local rev, err = check_record(key)
    if err then return err end
    revs[key] = rev
  end
  -- The fence first: a writer whose lease was taken over is told that, not that its revision is old.
  local token = ARGV[3 + 4 * (i - 1) + 3]
  if token ~= '' then
    if fences[id] == nil then fences[id] = tonumber(redis.call('HGET', KEYS[3], id) or '0') end
    if tonumber(token) < fences[id] then return {'FENCED', i, fences[id]} end
    fences[id] = tonumber(token)
  end
  local expected = ARGV[3 + 4 * (i - 1) + 2]
  if expected ~= '' and tonumber(expected) ~= revs[key] then
    return {'STALE', i, revs[key]}
  end
  if revs[key] == 0 then revs[key] = floor end
  revs[key] = revs[key] + 1
  finals[i] = revs[key]
end
if redis.call('EXISTS', KEYS[1]) == 0 then
  redis.call('HSET', KEYS[1], 'kind', 'jido.store', 'version', ARGV[2])
end
local out = {}
for i = 1, n do
  local key = KEYS[4 + i]
  local id = string.sub(key, skip + 1)
  local wake = ARGV[3 + 4 * (i - 1) + 4]
  local was = redis.call('HGET', key, 'w')
  -- HSET first: past maxmemory, Redis refuses a script's first write that adds memory, and nothing else
  -- after one write of any kind (a ZREM first would let the whole batch through).
  redis.call('HSET', key, 'd', ARGV[3 + 4 * (i - 1) + 1], 't', ARGV[1], 'r', finals[i])
  if was and was ~= wake then redis.call('ZREM', KEYS[4], was .. ':' .. id) end
  if wake == '' then
    redis.call('HDEL', key, 'w')
  else
    redis.call('ZADD', KEYS[4], 0, wake .. ':' .. id)
    redis.call('HSET', key, 'w', wake)
  end
  out[i] = finals[i]
  redis.call('ZADD', KEYS[2], 0, id)
  local token = ARGV[3 + 4 * (i - 1) + 3]
  if token ~= '' then redis.call('HSET', KEYS[3], id, token) end
end
return {'OK', out}
"""
)

# KEYS: meta, ids, fences, record, wake. ARGV: version, expected ('' = any), token ('' = unfenced), agent id.
_DELETE: Final = (
    _CHECK_META
    + """
local broken = check_meta(KEYS[1], ARGV[1])
if broken then return broken end
local rev, err = check_record(KEYS[4])
if err then return err end
if ARGV[3] ~= '' then
  local fence = tonumber(redis.call('HGET', KEYS[3], ARGV[4]) or '0')
  if tonumber(ARGV[3]) < fence then return {'FENCED', 1, fence} end
end
if ARGV[2] ~= '' and tonumber(ARGV[2]) ~= rev then return {'STALE', 1, rev} end
if ARGV[3] ~= '' then redis.call('HSET', KEYS[3], ARGV[4], ARGV[3]) end
if rev == 0 then return {'OK', 0} end
local wake = redis.call('HGET', KEYS[4], 'w')
if wake then redis.call('ZREM', KEYS[5], wake .. ':' .. ARGV[4]) end
redis.call('DEL', KEYS[4])
redis.call('ZREM', KEYS[2], ARGV[4])
if rev > tonumber(redis.call('HGET', KEYS[1], 'floor') or '0') then redis.call('HSET', KEYS[1], 'floor', rev) end
return {'OK', 1}
"""
)

# KEYS: meta, then record keys. ARGV: version. Returns, per key, {} (none) or {d, r, t}, or an error row.
_LOAD: Final = (
    _CHECK_META
    + """
local broken = check_meta(KEYS[1], ARGV[1])
if broken then return broken end
local out = {}
for i = 2, #KEYS do
  local kind = redis.call('TYPE', KEYS[i]).ok
  if kind == 'none' then
    out[i - 1] = {}
  elseif kind ~= 'hash' then
    return {'BROKEN', KEYS[i], 'holds a ' .. kind .. ', not a state record'}
  else
    out[i - 1] = redis.call('HMGET', KEYS[i], 'd', 'r', 't')
  end
end
return {'OK', out}
"""
)


# KEYS: fences. ARGV: agent id, token. Returns {'OK', the fence now stored}.
_RAISE_FENCE: Final = """
local kind = redis.call('TYPE', KEYS[1]).ok
if kind ~= 'none' and kind ~= 'hash' then return {'BROKEN', KEYS[1], 'holds a ' .. kind .. ', not a hash'} end
local current = tonumber(redis.call('HGET', KEYS[1], ARGV[1]) or '0')
if tonumber(ARGV[2]) > current then
  redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
  current = tonumber(ARGV[2])
end
return {'OK', current}
"""


class FencedWriteError(StaleStateError):
    """A write carried a lower fencing token than one that already wrote the agent: the writer's lease was
    taken over (it paused, or was cut off), and its write was refused; nothing of the call was stored.

    Attributes:
        agent_id: the agent whose write was refused.
        expected: the token the refused write carried.
        actual: the highest token that wrote the agent.
    """

    def __init__(self, agent_id: str, expected: int, actual: int) -> None:
        ValueError.__init__(
            self,
            f"state of agent {agent_id!r} was written with fencing token {actual}; "
            f"a write with the older token {expected} is refused",
        )
        self.agent_id = agent_id
        self.expected = expected
        self.actual = actual


def _decode(raw: object, key: str) -> str:
    if not isinstance(raw, bytes):
        raise BrokenError(f"Redis key {key!r} is not a readable state record")
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        raise BrokenError(f"Redis key {key!r} holds state that is not UTF-8 text") from None


def _wake_digits(moment: dt.datetime, *, plus: int = 0) -> bytes:
    """``moment`` (and ``plus`` microseconds) as the wakeup index writes it: microseconds since 1970 plus the
    bias, as fixed digits."""
    micros = (moment - _EPOCH) // dt.timedelta(microseconds=1) + plus
    return b"%0*d" % (_WAKE_DIGITS, micros + _WAKE_BIAS)


def _wakeup(raw: object, key: str) -> Wakeup:
    """A wakeup index member read back; BrokenError naming the key if it is not one of ours."""
    if isinstance(raw, bytes) and raw[_WAKE_DIGITS : _WAKE_DIGITS + 1] == b":":
        digits = raw[:_WAKE_DIGITS]
        if digits.isdigit():
            try:
                wake_at = _EPOCH + dt.timedelta(microseconds=int(digits) - _WAKE_BIAS)
                return Wakeup(wake_at, raw[_WAKE_DIGITS + 1 :].decode("utf-8"))
            except (OverflowError, UnicodeDecodeError):
                pass
    raise BrokenError(f"Redis key {key!r} holds a member that is not a wakeup: {raw!r}")


def _int(raw: object, key: str, field: str) -> int:
    try:
        value: int = int(raw)  # type: ignore[call-overload]  # bytes of digits, or garbage refused below
    except (TypeError, ValueError):
        raise BrokenError(f"Redis key {key!r} has a {field} that is not an integer: {raw!r}") from None
    return value


class RedisStore:
    """A state store in Redis. See the module docstring for the layout, fencing and failures.

    The store uses a client it is given and does not close it (:func:`open_redis_store` opens one and
    closes both). Making one does no I/O.

    Args:
        client: a connected ``coredis.Redis`` client with ``decode_responses=False``, entered
            (``async with client``) by the caller for as long as the store is used.
        namespace: the Redis Cluster hash tag every key starts with (``{namespace}:store:...``); stores with
            different namespaces on one server are independent.
        clock: where ``updated_at`` comes from; the system clock by default.
        url: the server's URL for messages (a password in it is never shown).
        command_timeout: seconds to wait for one answer before raising ``RedisUnavailableError``.

    Raises:
        TypeError, ValueError: a bad namespace, clock or timeout.
    """

    def __init__(
        self,
        client: RedisClient,
        *,
        namespace: str = "jido",
        clock: WallClock | None = None,
        url: str = "redis",
        command_timeout: float = DEFAULT_COMMAND_TIMEOUT,
    ) -> None:
        self._namespace = check_namespace(namespace)
        self._clock = check_clock(clock)
        if isinstance(command_timeout, bool) or not isinstance(command_timeout, int | float):
            raise TypeError(f"command_timeout must be a number, got {command_timeout!r}")
        if not command_timeout > 0:
            raise ValueError(f"command_timeout must be > 0, got {command_timeout!r}")
        self._client = client
        self._url = redact_url(url)
        self._guard = Guard(self._url, float(command_timeout))
        base = f"{{{namespace}}}:store:"
        self._meta = base + "meta"
        self._ids = base + "ids"
        self._fences = base + "fences"
        self._wake = base + "wake"
        self._record_prefix = base + "s:"
        self._save_script = client.register_script(_SAVE)
        self._delete_script = client.register_script(_DELETE)
        self._load_script = client.register_script(_LOAD)
        self._raise_fence_script = client.register_script(_RAISE_FENCE)
        self._closed = False
        self._saves = 0
        self._deletes = 0
        self._transactions = 0
        self._largest_batch = 0
        self._conflicts = 0
        self._failures = 0

    def __repr__(self) -> str:
        state = "closed" if self._closed else "open"
        return f"<RedisStore {self._url} namespace={self._namespace!r} {state}>"

    @property
    def namespace(self) -> str:
        """The namespace every key of this store starts with (as ``{namespace}``)."""
        return self._namespace

    def statistics(self) -> StateStoreStatistics:
        """Counters of what this store did since it was made (this process's calls only)."""
        return StateStoreStatistics(
            saves=self._saves,
            deletes=self._deletes,
            transactions=self._transactions,
            largest_batch=self._largest_batch,
            conflicts=self._conflicts,
            failures=self._failures,
        )

    def fenced(self, tokens: Callable[[str], int | None]) -> FencedRedisStore:
        """A view of this store whose writes carry ``tokens(agent_id)`` as their fencing token.

        Args:
            tokens: the fencing token the caller holds for an agent (its lease's), or None to write it
                unfenced. Called once per write, at the time of the write.
        """
        if not callable(tokens):
            raise TypeError(f"tokens must be callable, got {tokens!r}")
        return FencedRedisStore(self, tokens)

    async def raise_fence(self, agent_id: str, token: int) -> int:
        """Refuse, from now on, writes to ``agent_id`` carrying a token below ``token``; returns the fence
        stored now (higher than ``token`` if a newer owner raised it already).

        A new lease holder calls this before it loads the agent's state, so that the former holder cannot
        write in the gap before the new holder's first write.

        Raises:
            TypeError, ValueError: a bad agent id or token.
            BrokenError, RedisUnavailableError, ClosedError: as for :meth:`save_many`.
        """
        self._check_open()
        check_agent_id(agent_id)
        if _check_token(token) is None:
            raise TypeError("token must be an int, got None")
        reply = await self._run(
            self._raise_fence_script, [self._fences], [agent_id.encode("utf-8"), str(token)]
        )
        return int(reply[1])

    async def __aenter__(self) -> RedisStore:
        self._check_open()
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.aclose()

    def _key(self, agent_id: str) -> str:
        return self._record_prefix + agent_id

    def _check_open(self) -> None:
        if self._closed:
            raise ClosedError(f"RedisStore({self._namespace!r}) is closed")

    async def _run(
        self, script: Any, keys: list[str], args: list[str | bytes], *, writes: bool = True
    ) -> list[Any]:
        await trio.lowlevel.checkpoint()  # a call cancelled before it starts sends nothing
        self._check_open()
        try:
            reply = await self._guard(script(keys=keys, args=args))
        except coredis.exceptions.ResponseError as exc:
            # Out of memory (maxmemory), scripting disabled, a read-only replica: the server said no.
            raise BrokenError(f"Redis at {self._url} refused a store command: {exc}") from None
        if not isinstance(reply, list | tuple) or not reply:
            raise BrokenError(f"Redis at {self._url} answered a store script with {reply!r}")
        status = reply[0]
        if status == b"BROKEN":
            key = reply[1].decode("utf-8", "replace")
            problem = reply[2].decode("utf-8", "replace")
            raise BrokenError(f"Redis key {key!r} {problem}" + ("; nothing was written" if writes else ""))
        return list(reply)

    def _state(self, agent_id: str, row: Sequence[Any]) -> StoredState | None:
        if not row:
            return None
        key = self._key(agent_id)
        data, rev, at = row
        data_text = _decode(data, key)
        revision = _int(rev, key, "revision")
        micros = _int(at, key, "timestamp")
        if revision < 1:
            raise BrokenError(f"Redis key {key!r} has a revision below 1: {revision}")
        try:
            updated_at = _EPOCH + dt.timedelta(microseconds=micros)
        except OverflowError:
            raise BrokenError(f"Redis key {key!r} has a timestamp out of range: {micros}") from None
        return StoredState(agent_id, data_text, revision, updated_at)

    async def load(self, agent_id: str) -> StoredState | None:
        """The state stored for ``agent_id``, or None.

        Raises:
            TypeError, ValueError: ``agent_id`` is not a non-empty str.
            BrokenError: the record is unreadable, or its key holds another type (named).
            RedisUnavailableError: the server could not be reached or did not answer.
            ClosedError: the store is closed.
        """
        self._check_open()
        check_agent_id(agent_id)
        return (await self._load([agent_id])).get(agent_id)

    async def load_many(self, agent_ids: Iterable[str]) -> dict[str, StoredState]:
        """The states stored for those of ``agent_ids`` that have one, by agent id.

        Raises:
            TypeError, ValueError: ``agent_ids`` is a str, not iterable, or holds a bad agent id.
            BrokenError, RedisUnavailableError, ClosedError: as for :meth:`load`.
        """
        self._check_open()
        return await self._load(check_ids(agent_ids))

    async def _load(self, ids: list[str]) -> dict[str, StoredState]:
        if not ids:
            await trio.lowlevel.checkpoint()
            self._check_open()
            return {}
        _, rows = await self._run(
            self._load_script, [self._meta, *map(self._key, ids)], [str(SCHEMA_VERSION)], writes=False
        )
        found: dict[str, StoredState] = {}
        for agent_id, row in zip(ids, rows, strict=True):
            state = self._state(agent_id, row)
            if state is not None:
                found[agent_id] = state
        return found

    async def save_many(self, writes: Sequence[StateWrite]) -> list[StoredState]:
        """Store ``writes`` in order, all or none; returns the stored states, one per write, in order.

        Raises:
            TypeError: ``writes`` is not a sequence of :class:`StateWrite`.
            ValueError: the clock gave a naive datetime.
            StaleStateError: a compare-and-set write did not match (the first such one); nothing was stored.
            BrokenError: a key of the batch holds another type or an unreadable record (named).
            RedisUnavailableError: the server could not be reached or did not answer (the batch may or may
                not have been stored).
            ClosedError: the store is closed.
        """
        self._check_open()
        return await self._save(check_writes(writes), None)

    async def _save(
        self, batch: list[StateWrite], tokens: Callable[[str], int | None] | None
    ) -> list[StoredState]:
        if not batch:
            await trio.lowlevel.checkpoint()
            self._check_open()
            return []
        updated_at = stamp(self._clock)
        micros = (updated_at - _EPOCH) // dt.timedelta(microseconds=1)
        fences = [None if tokens is None else _check_token(tokens(w.agent_id)) for w in batch]
        args: list[str | bytes] = [str(micros), str(SCHEMA_VERSION), str(len(self._record_prefix.encode()))]
        for write, token in zip(batch, fences, strict=True):
            args += [
                write.data.encode("utf-8"),
                "" if write.expected_revision is None else str(write.expected_revision),
                "" if token is None else str(token),
                b"" if write.wake_at is None else _wake_digits(write.wake_at),
            ]
        keys = [self._meta, self._ids, self._fences, self._wake, *(self._key(w.agent_id) for w in batch)]
        try:
            reply = await self._run(self._save_script, keys, args)
        except (BrokenError, ClosedError):
            self._failures += 1
            raise
        self._refuse(reply, batch, fences)
        revisions = reply[1]
        self._saves += len(batch)
        self._transactions += 1
        self._largest_batch = max(self._largest_batch, len(batch))
        return [
            StoredState(w.agent_id, w.data, int(rev), updated_at)
            for w, rev in zip(batch, revisions, strict=True)
        ]

    def _refuse(self, reply: list[Any], batch: Sequence[StateWrite], fences: Sequence[int | None]) -> None:
        status = reply[0]
        if status == b"OK":
            return
        self._conflicts += 1
        index = int(reply[1]) - 1
        write = batch[index]
        if status == b"STALE":
            expected = write.expected_revision
            raise StaleStateError(write.agent_id, 0 if expected is None else expected, int(reply[2]))
        if status == b"FENCED":
            raise FencedWriteError(write.agent_id, fences[index] or 0, int(reply[2]))
        raise BrokenError(f"Redis at {self._url} answered a store script with {reply!r}")

    async def delete(self, agent_id: str, *, expected_revision: int | None = None) -> bool:
        """Delete the state of ``agent_id``; returns whether there was one.

        Raises:
            TypeError, ValueError: ``agent_id`` is not a non-empty str, or ``expected_revision`` is not None
                or an int >= 1.
            StaleStateError: ``expected_revision`` is given and another revision (or none) is stored.
            BrokenError, RedisUnavailableError, ClosedError: as for :meth:`save_many`.
        """
        self._check_open()
        check_agent_id(agent_id)
        check_expected_revision(expected_revision, minimum=1)
        return await self._delete(agent_id, expected_revision, None)

    async def _delete(self, agent_id: str, expected: int | None, token: int | None) -> bool:
        keys = [self._meta, self._ids, self._fences, self._key(agent_id), self._wake]
        args: list[str | bytes] = [
            str(SCHEMA_VERSION),
            "" if expected is None else str(expected),
            "" if token is None else str(token),
            agent_id.encode("utf-8"),
        ]
        try:
            reply = await self._run(self._delete_script, keys, args)
        except (BrokenError, ClosedError):
            self._failures += 1
            raise
        if reply[0] == b"STALE":
            self._conflicts += 1
            raise StaleStateError(agent_id, expected or 0, int(reply[2]))
        if reply[0] == b"FENCED":
            self._conflicts += 1
            raise FencedWriteError(agent_id, token or 0, int(reply[2]))
        if int(reply[1]) == 1:
            self._deletes += 1
            self._transactions += 1
            self._largest_batch = max(self._largest_batch, 1)
            return True
        return False

    async def list_ids(self, *, after: str | None = None, limit: int = 1000) -> list[str]:
        """Agent ids with a state, in code-point order, only those greater than ``after``, at most ``limit``.

        Raises:
            TypeError, ValueError: ``after`` is not None or a str, or ``limit`` is not an int >= 1.
            BrokenError: the id index holds another type.
            RedisUnavailableError, ClosedError: as for :meth:`load`.
        """
        self._check_open()
        after, limit = check_page(after, limit)
        await trio.lowlevel.checkpoint()
        self._check_open()
        low = b"-" if after is None else b"(" + after.encode("utf-8")
        ids = await self._read_index(
            self._client.zrange(
                self._ids, low, b"+", sortby=PureToken.BYLEX, offset=0, count=min(limit, _MAX_PAGE)
            ),
            self._ids,
        )
        return [_decode(raw, self._ids) for raw in ids]

    async def list_wakeups(
        self, *, before: dt.datetime | None = None, after: Wakeup | None = None, limit: int = 1000
    ) -> list[Wakeup]:
        """Agents whose state has a ``wake_at``, by (``wake_at``, agent id): those after ``after``, due no later
        than ``before``, at most ``limit``; one ``ZRANGE ... BYLEX`` of the wakeup index.

        Raises:
            TypeError, ValueError: a bad argument.
            BrokenError: the wakeup index holds another type, or a member that is not ours.
            RedisUnavailableError, ClosedError: as for :meth:`load`.
        """
        self._check_open()
        before, limit = check_wakeup_query(before, after, limit)
        low = b"-" if after is None else b"(" + _wake_digits(after.wake_at) + b":" + after.agent_id.encode()
        # Exclusive of the next microsecond's digits: every member due at ``before`` sorts below them.
        high = b"+" if before is None else b"(" + _wake_digits(before, plus=1)
        await trio.lowlevel.checkpoint()
        self._check_open()
        members = await self._read_index(
            self._client.zrange(
                self._wake, low, high, sortby=PureToken.BYLEX, offset=0, count=min(limit, _MAX_PAGE)
            ),
            self._wake,
        )
        return [_wakeup(raw, self._wake) for raw in members]

    async def count(self) -> int:
        """How many agents have a state.

        Raises:
            BrokenError, RedisUnavailableError, ClosedError: as for :meth:`list_ids`.
        """
        self._check_open()
        await trio.lowlevel.checkpoint()
        self._check_open()
        return int(await self._read_index(self._client.zcard(self._ids), self._ids))

    async def _read_index(self, request: Any, key: str) -> Any:
        try:
            return await self._guard(request)
        except coredis.exceptions.WrongTypeError:
            what = "id index" if key == self._ids else "wakeup index"
            raise BrokenError(f"Redis key {key!r} holds another type than our {what}") from None

    async def aclose(self) -> None:
        """Close the store: later calls raise :class:`~jido.errors.ClosedError` (``aclose`` itself may be
        called again). The client is the caller's and stays open."""
        self._closed = True
        await trio.lowlevel.checkpoint()


def _check_token(token: object) -> int | None:
    if token is None:
        return None
    if isinstance(token, bool) or not isinstance(token, int) or not 0 <= token < 2**53:
        raise TypeError(f"a fencing token must be None or an int from 0 to 2**53 - 1, got {token!r}")
    return token


class FencedRedisStore:
    """A :class:`RedisStore` whose writes carry fencing tokens; see :meth:`RedisStore.fenced`.

    Reads are the store's own; ``save_many`` and ``delete`` send, for each agent, the token its ``tokens``
    function gives, and raise :class:`FencedWriteError` when a newer token already wrote that agent.

    Writes keep the wakeup index, but the view does not offer ``list_wakeups``: a runtime given a store that
    has it wakes every listed sleeper itself, while in a cluster an agent runs only where its lease is.
    """

    def __init__(self, store: RedisStore, tokens: Callable[[str], int | None]) -> None:
        self._store = store
        self._tokens = tokens
        self._closed = False

    def _check_open(self) -> None:
        # The view closes on its own: a runtime closing the store it was given must not close the store
        # the node shares with its other users (raise_fence, tools).
        if self._closed:
            raise ClosedError(f"fenced RedisStore({self._store.namespace!r}) is closed")
        self._store._check_open()

    def __repr__(self) -> str:
        return f"<FencedRedisStore of {self._store!r}>"

    def statistics(self) -> StateStoreStatistics:
        """The underlying store's counters."""
        return self._store.statistics()

    async def load(self, agent_id: str) -> StoredState | None:
        """See :meth:`RedisStore.load`."""
        self._check_open()
        return await self._store.load(agent_id)

    async def load_many(self, agent_ids: Iterable[str]) -> dict[str, StoredState]:
        """See :meth:`RedisStore.load_many`."""
        self._check_open()
        return await self._store.load_many(agent_ids)

    async def save_many(self, writes: Sequence[StateWrite]) -> list[StoredState]:
        """See :meth:`RedisStore.save_many`; also raises :class:`FencedWriteError`."""
        self._check_open()
        return await self._store._save(check_writes(writes), self._tokens)

    async def delete(self, agent_id: str, *, expected_revision: int | None = None) -> bool:
        """See :meth:`RedisStore.delete`; also raises :class:`FencedWriteError`."""
        self._check_open()
        check_agent_id(agent_id)
        check_expected_revision(expected_revision, minimum=1)
        return await self._store._delete(agent_id, expected_revision, _check_token(self._tokens(agent_id)))

    async def list_ids(self, *, after: str | None = None, limit: int = 1000) -> list[str]:
        """See :meth:`RedisStore.list_ids`."""
        self._check_open()
        return await self._store.list_ids(after=after, limit=limit)

    async def count(self) -> int:
        """See :meth:`RedisStore.count`."""
        self._check_open()
        return await self._store.count()

    async def aclose(self) -> None:
        """Close this view (later calls on it raise ClosedError); the underlying store stays open."""
        self._closed = True
        await trio.lowlevel.checkpoint()


@contextlib.asynccontextmanager
async def open_redis_store(
    url: str,
    *,
    namespace: str = "jido",
    clock: WallClock | None = None,
    connect_timeout: float = DEFAULT_CONNECT_TIMEOUT,
    command_timeout: float = DEFAULT_COMMAND_TIMEOUT,
) -> AsyncIterator[RedisStore]:
    """Connect to Redis at ``url`` and yield a :class:`RedisStore` on it; close both on the way out.

    Raises:
        RedisUnavailableError: the server could not be reached (named by its URL, without a password).
    """
    async with open_redis(url, connect_timeout=connect_timeout) as client:
        store = RedisStore(client, namespace=namespace, clock=clock, url=url, command_timeout=command_timeout)
        try:
            yield store
        finally:
            await store.aclose()
