"""Agent leases with fencing tokens: at most one node owns an agent id at a time.

A lease is a Redis key with a server-side TTL (``PX``), holding the owner's node id and a fencing token. The
token comes from a per-agent counter that only ever grows (it outlives every lease), so each new owner of an
agent holds a higher token than every owner before it. Acquiring, renewing and releasing are Lua scripts:
each one checks who holds the key and acts in one step on the server.

Why tokens: a lease's TTL is measured by Redis, not by the node. A node that pauses (GC, SIGSTOP, a VM
migration) or is cut off past its TTL still *believes* it owns the agent when it wakes; its lease is gone and
another node holds a newer one. The state store is what refuses its late writes: the node writes through
``RedisStore.fenced(leases.token)`` and the store keeps the highest token that wrote each agent. The new owner
raises the fence (:meth:`jido.store.redis.RedisStore.raise_fence`) as soon as it acquires the lease, before
it loads the state, so the old owner cannot write even in the gap before the new owner's first write.

Layout, under namespace ``ns`` (the same hash tag as the store and journal)::

    {ns}:cluster:lease:<agent>   string  "<token> <node id>", PX = the lease TTL
    {ns}:cluster:tokens          hash    agent id -> the last token given (never decreases)
    {ns}:cluster:owned:<node>    set     the agents whose lease the node acquired and has not released (or
                                         seen lost): what survivors reactivate when the node dies
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import Any, Final

import attrs
import trio

from jido._redis import DEFAULT_COMMAND_TIMEOUT, Guard, RedisClient, redact_url
from jido.cluster.names import check_cluster_namespace, check_node_id
from jido.errors import BrokenError

__all__ = ["DEFAULT_LEASE_TTL", "Lease", "LeaseStatistics", "Leases"]

logger = logging.getLogger("jido.cluster")

DEFAULT_LEASE_TTL: Final = 10.0
"""Seconds a lease lives without renewal: how long a dead node's agents wait before another node takes them."""

# KEYS: lease, tokens, owned set of the node. ARGV: node id, ttl (ms), agent id. Returns {'OK', token} or
# {'HELD', token, node, pttl}.
_ACQUIRE: Final = """
local kind = redis.call('TYPE', KEYS[1]).ok
if kind ~= 'none' and kind ~= 'string' then return {'BROKEN', KEYS[1], 'holds a ' .. kind .. ', not a lease'} end
kind = redis.call('TYPE', KEYS[2]).ok
if kind ~= 'none' and kind ~= 'hash' then return {'BROKEN', KEYS[2], 'holds a ' .. kind .. ', not a hash'} end
local held = redis.call('GET', KEYS[1])
if held then
  local space = string.find(held, ' ', 1, true)
  if space == nil then return {'BROKEN', KEYS[1], 'is not a lease record'} end
  local token = string.sub(held, 1, space - 1)
  local node = string.sub(held, space + 1)
  if node == ARGV[1] then
    redis.call('PEXPIRE', KEYS[1], ARGV[2])
    return {'OK', token}
  end
  return {'HELD', token, node, redis.call('PTTL', KEYS[1])}
end
local token = redis.call('HINCRBY', KEYS[2], ARGV[3], 1)
redis.call('SET', KEYS[1], token .. ' ' .. ARGV[1], 'PX', ARGV[2])
redis.call('SADD', KEYS[3], ARGV[3])
return {'OK', token}
"""

# KEYS: lease, owned set of the node. ARGV: "<token> <node>", ttl (ms) or '' to release, agent id. Returns 1 if
# ours (renewed or released), else 0 (and the agent leaves the node's owned set).
_KEEP: Final = """
if redis.call('TYPE', KEYS[1]).ok ~= 'string' or redis.call('GET', KEYS[1]) ~= ARGV[1] then
  if redis.call('TYPE', KEYS[2]).ok == 'set' then redis.call('SREM', KEYS[2], ARGV[3]) end
  return 0
end
if ARGV[2] == '' then
  redis.call('DEL', KEYS[1])
  if redis.call('TYPE', KEYS[2]).ok == 'set' then redis.call('SREM', KEYS[2], ARGV[3]) end
else
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
end
return 1
"""

# KEYS: owned set of the node, then lease keys. ARGV: ttl (ms), then "<token> <node>", agent id for each lease.
# Renews each lease still ours; returns a list of 1 (renewed) or 0 (lost: left the owned set), in order.
_RENEW_MANY: Final = """
local kept = {}
local owned = redis.call('TYPE', KEYS[1]).ok == 'set'
for i = 2, #KEYS do
  local value = ARGV[2 * i - 2]
  if redis.call('TYPE', KEYS[i]).ok == 'string' and redis.call('GET', KEYS[i]) == value then
    redis.call('PEXPIRE', KEYS[i], ARGV[1])
    kept[#kept + 1] = 1
  else
    if owned then redis.call('SREM', KEYS[1], ARGV[2 * i - 1]) end
    kept[#kept + 1] = 0
  end
end
return kept
"""

_RENEW_BATCH: Final = 500  # leases renewed by one script call


@attrs.frozen
class Lease:
    """A lease a node holds (or saw another node hold) on an agent id.

    Attributes:
        agent_id: the agent.
        node_id: the node that holds it.
        token: its fencing token: higher than that of every earlier lease on this agent.
        expires_in: for a lease seen held by another node, the seconds it had left then (None otherwise).
    """

    agent_id: str
    node_id: str
    token: int
    expires_in: float | None = attrs.field(default=None, eq=False)


@attrs.frozen
class LeaseStatistics:
    """Counters of one node's :class:`Leases`.

    Attributes:
        held: leases held now (as far as this node knows).
        acquired: leases acquired.
        refused: acquisitions refused because another node held the lease.
        lost: leases found gone or taken over at renewal.
        released: leases released.
    """

    held: int
    acquired: int
    refused: int
    lost: int
    released: int


def _check_ttl(ttl: object) -> float:
    if isinstance(ttl, bool) or not isinstance(ttl, int | float):
        raise TypeError(f"ttl must be a number of seconds, got {ttl!r}")
    if not 0.001 <= ttl <= 86_400:
        raise ValueError(f"ttl must be from 0.001 to 86400 seconds, got {ttl!r}")
    return float(ttl)


class Leases:
    """One node's leases on agent ids.

    Args:
        client: a connected ``coredis`` client (``decode_responses=False``), entered by the caller.
        node_id: this node's id (non-empty, no spaces).
        namespace: the hash tag shared with the node's store and journal.
        ttl: seconds a lease lives without renewal.
        url: the server's URL for messages (a password in it is never shown).
        command_timeout: seconds to wait for one answer before raising ``RedisUnavailableError``.
    """

    def __init__(
        self,
        client: RedisClient,
        *,
        node_id: str,
        namespace: str = "jido",
        ttl: float = DEFAULT_LEASE_TTL,
        url: str = "redis",
        command_timeout: float = DEFAULT_COMMAND_TIMEOUT,
    ) -> None:
        self.node_id = check_node_id(node_id)
        self._namespace = check_cluster_namespace(namespace)
        self.ttl = _check_ttl(ttl)
        self._client = client
        self._url = redact_url(url)
        self._guard = Guard(self._url, command_timeout)
        self._prefix = f"{{{namespace}}}:cluster:lease:"
        self._tokens = f"{{{namespace}}}:cluster:tokens"
        self._owned_prefix = f"{{{namespace}}}:cluster:owned:"
        self._acquire = client.register_script(_ACQUIRE)
        self._keep = client.register_script(_KEEP)
        self._renew_many = client.register_script(_RENEW_MANY)
        self._held: dict[str, Lease] = {}
        self._acquired = 0
        self._refused = 0
        self._lost = 0
        self._released = 0

    def __repr__(self) -> str:
        return f"<Leases of node {self.node_id!r}: {len(self._held)} held>"

    def statistics(self) -> LeaseStatistics:
        """Counters of this node's leases."""
        return LeaseStatistics(len(self._held), self._acquired, self._refused, self._lost, self._released)

    def key(self, agent_id: str) -> str:
        """The Redis key of ``agent_id``'s lease."""
        return self._prefix + agent_id

    def owned_key(self, node_id: str | None = None) -> str:
        """The Redis key of the set of agents ``node_id`` (this node by default) holds leases on."""
        return self._owned_prefix + (self.node_id if node_id is None else node_id)

    async def owned_by(self, node_id: str) -> list[str]:
        """The agents ``node_id`` acquired leases on and had not released (or been seen to lose), sorted: after
        it died, the agents to reactivate elsewhere. Some leases may have expired or been taken since."""
        raw = await self._guard(self._client.smembers(self.owned_key(node_id)))
        return sorted(item.decode("utf-8", "replace") for item in raw)

    async def disown(self, node_id: str, agent_ids: Iterable[str]) -> None:
        """Take ``agent_ids`` out of ``node_id``'s owned set (a survivor moved them)."""
        ids = list(agent_ids)
        if ids:
            await self._guard(self._client.srem(self.owned_key(node_id), ids))

    def held(self) -> list[Lease]:
        """The leases this node holds, as far as it knows (a lease may have expired since its last renewal)."""
        return list(self._held.values())

    def token(self, agent_id: str) -> int:
        """The fencing token this node holds for ``agent_id``, or 0 when it holds no lease on it.

        Pass this to ``RedisStore.fenced``: a write with 0 is refused once any lease holder wrote the agent.
        """
        lease = self._held.get(agent_id)
        return 0 if lease is None else lease.token

    def _ms(self) -> str:
        return str(max(1, round(self.ttl * 1000)))

    async def acquire(self, agent_id: str) -> Lease:
        """Acquire (or extend, if this node holds it) the lease on ``agent_id``.

        Returns:
            The lease: this node's when ``lease.node_id == self.node_id``, else the holder's, as seen now.

        Raises:
            BrokenError: a key of ours holds another type (named).
            RedisUnavailableError: the server could not be reached or did not answer.
        """
        if not isinstance(agent_id, str) or not agent_id:
            raise TypeError(f"agent_id must be a non-empty str, got {agent_id!r}")
        await trio.lowlevel.checkpoint()
        reply = await self._run(
            self._acquire,
            [self.key(agent_id), self._tokens, self.owned_key()],
            [self.node_id, self._ms(), agent_id],
        )
        if reply[0] == b"OK":
            lease = Lease(agent_id, self.node_id, int(reply[1]))
            if self._held.get(agent_id) != lease:
                self._acquired += 1
            self._held[agent_id] = lease
            return lease
        self._refused += 1
        self._held.pop(agent_id, None)
        left = int(reply[3])
        return Lease(
            agent_id, reply[2].decode("utf-8", "replace"), int(reply[1]), None if left < 0 else left / 1000
        )

    async def renew(self, lease: Lease) -> bool:
        """Extend ``lease`` by the TTL; False (and forgotten) when it expired or another node holds it now."""
        kept = await self._keep_or_release(lease, self._ms())
        if not kept and self._held.pop(lease.agent_id, None) is not None:
            self._lost += 1
            logger.warning(
                "node %r lost its lease on agent %r (token %d)", self.node_id, lease.agent_id, lease.token
            )
        return kept

    async def renew_all(self) -> list[Lease]:
        """Renew every lease held, a few hundred per round trip; returns the ones lost."""
        lost: list[Lease] = []
        held = self.held()
        for start in range(0, len(held), _RENEW_BATCH):
            batch = held[start : start + _RENEW_BATCH]
            args: list[str | bytes] = [self._ms()]
            for lease in batch:
                args += [f"{lease.token} {lease.node_id}".encode(), lease.agent_id.encode()]
            kept: list[int] = await self._guard(
                self._renew_many(keys=[self.owned_key(), *(self.key(x.agent_id) for x in batch)], args=args)
            )
            for lease, flag in zip(batch, kept, strict=True):
                if int(flag) == 1 or self._held.get(lease.agent_id) != lease:
                    continue  # renewed, or released / acquired anew meanwhile
                del self._held[lease.agent_id]
                self._lost += 1
                lost.append(lease)
                logger.warning(
                    "node %r lost its lease on agent %r (token %d)", self.node_id, lease.agent_id, lease.token
                )
        return lost

    async def release(self, lease: Lease) -> bool:
        """Give ``lease`` up now (another node may take the agent at once); False if it was not ours."""
        self._held.pop(lease.agent_id, None)
        released = await self._keep_or_release(lease, "")
        if released:
            self._released += 1
        return released

    async def release_all(self, leases: Iterable[Lease] | None = None) -> None:
        """Release ``leases`` (every lease held, by default)."""
        for lease in list(self.held() if leases is None else leases):
            await self.release(lease)

    async def _keep_or_release(self, lease: Lease, ms: str) -> bool:
        if lease.node_id != self.node_id:
            raise ValueError(f"lease {lease!r} is not held by node {self.node_id!r}")
        await trio.lowlevel.checkpoint()
        value = f"{lease.token} {lease.node_id}".encode()
        reply: int = await self._guard(
            self._keep(keys=[self.key(lease.agent_id), self.owned_key()], args=[value, ms, lease.agent_id])
        )
        return int(reply) == 1

    async def holder(self, agent_id: str) -> Lease | None:
        """Who holds the lease on ``agent_id`` now, or None."""
        raw = await self._guard(self._client.get(self.key(agent_id)))
        if raw is None:
            return None
        token, _, node = raw.decode("utf-8", "replace").partition(" ")
        if not token.isdigit() or not node:
            raise BrokenError(f"Redis key {self.key(agent_id)!r} is not a lease record")
        return Lease(agent_id, node, int(token))

    async def _run(self, script: Any, keys: list[str], args: list[str | bytes]) -> list[Any]:
        reply: list[Any] = await self._guard(script(keys=keys, args=args))
        if reply[0] == b"BROKEN":
            raise BrokenError(
                f"Redis key {reply[1].decode('utf-8', 'replace')!r} {reply[2].decode('utf-8', 'replace')}"
            )
        return list(reply)
