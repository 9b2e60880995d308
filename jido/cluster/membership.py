"""Cluster membership: which nodes are alive, from heartbeat keys with server-side TTLs.

A node is a member while its heartbeat key exists. It writes the key with ``PX ttl`` when it joins and renews
it every ``interval`` (a third of the TTL by default); a node that dies, pauses or is cut off stops renewing,
and Redis removes the key when the TTL runs out, by Redis's clock alone (no node's clock decides another's
death). A registry set lists the nodes that ever joined, so that :meth:`Membership.live_nodes` finds them
without ``SCAN``; reading it prunes the nodes whose key is gone.

A node whose key vanished while it was alive (it paused past its TTL, or Redis restarted empty) finds out at
its next heartbeat and joins again with a new incarnation; by then the others may have taken over its agents:
the leases and their fencing tokens, not membership, keep that safe.

Layout, under namespace ``ns``::

    {ns}:cluster:node:<id>   string  JSON {"node", "incarnation", "joined_at"}, PX = the membership TTL
    {ns}:cluster:nodes       set     every node id that joined (pruned as keys are found gone)
    {ns}:cluster:known       set     every node id that joined and whose work was not yet taken over after it
                                     left (not pruned: a node starting later takes over from those not live)
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import logging
import secrets
from typing import Any, Final

import attrs
import coredis.exceptions
import trio

from jido._redis import (
    DEFAULT_COMMAND_TIMEOUT,
    Guard,
    RedisClient,
    RedisUnavailableError,
    redact_url,
)
from jido.cluster.names import check_cluster_namespace, check_node_id
from jido.errors import BrokenError

__all__ = ["DEFAULT_NODE_TTL", "Membership", "MembershipStatistics"]

logger = logging.getLogger("jido.cluster")

DEFAULT_NODE_TTL: Final = 10.0
"""Seconds a node stays a member without a heartbeat."""

# KEYS: node key, registry, known set. ARGV: record JSON, ttl (ms), node id, incarnation. Returns 1 if the key was ours
# and renewed, 0 if it was gone or another incarnation's (now replaced by ours: a rejoin).
_BEAT: Final = """
local kind = redis.call('TYPE', KEYS[1]).ok
if kind ~= 'none' and kind ~= 'string' then return {'BROKEN', KEYS[1], 'holds a ' .. kind .. ', not a heartbeat'} end
kind = redis.call('TYPE', KEYS[2]).ok
if kind ~= 'none' and kind ~= 'set' then return {'BROKEN', KEYS[2], 'holds a ' .. kind .. ', not a set'} end
kind = redis.call('TYPE', KEYS[3]).ok
if kind ~= 'none' and kind ~= 'set' then return {'BROKEN', KEYS[3], 'holds a ' .. kind .. ', not a set'} end
local current = redis.call('GET', KEYS[1])
redis.call('SADD', KEYS[2], ARGV[3])
redis.call('SADD', KEYS[3], ARGV[3])
if current and string.find(current, ARGV[4], 1, true) then
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
  return {'OK', 1}
end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
return {'OK', 0}
"""

# KEYS: registry. ARGV: node key prefix. Returns the live node ids; prunes the others from the registry.
_LIVE: Final = """
local kind = redis.call('TYPE', KEYS[1]).ok
if kind ~= 'none' and kind ~= 'set' then return {'BROKEN', KEYS[1], 'holds a ' .. kind .. ', not a set'} end
local live = {}
for _, node in ipairs(redis.call('SMEMBERS', KEYS[1])) do
  if redis.call('EXISTS', ARGV[1] .. node) == 1 then
    live[#live + 1] = node
  else
    redis.call('SREM', KEYS[1], node)
  end
end
return {'OK', live}
"""


@attrs.frozen
class MembershipStatistics:
    """Counters of one node's membership.

    Attributes:
        heartbeats: heartbeats that renewed the node's key.
        rejoins: heartbeats that found the key gone (the node had been presumed dead) and joined again.
        failures: heartbeats that failed because Redis was unreachable.
    """

    heartbeats: int
    rejoins: int
    failures: int


def _check_seconds(value: object, name: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise TypeError(f"{name} must be a number of seconds, got {value!r}")
    if not 0.001 <= value <= 86_400:
        raise ValueError(f"{name} must be from 0.001 to 86400 seconds, got {value!r}")
    return float(value)


class Membership:
    """One node's membership of the cluster.

    Args:
        client: a connected ``coredis`` client (``decode_responses=False``), entered by the caller.
        node_id: this node's id (non-empty, no spaces); unique in the cluster.
        namespace: the hash tag shared with the cluster's store and journal.
        ttl: seconds the node stays a member without a heartbeat.
        interval: seconds between heartbeats (a third of ``ttl`` by default; less than ``ttl``).
        url: the server's URL for messages (a password in it is never shown).
        command_timeout: seconds to wait for one answer before raising ``RedisUnavailableError``.
    """

    def __init__(
        self,
        client: RedisClient,
        *,
        node_id: str,
        namespace: str = "jido",
        ttl: float = DEFAULT_NODE_TTL,
        interval: float | None = None,
        url: str = "redis",
        command_timeout: float = DEFAULT_COMMAND_TIMEOUT,
    ) -> None:
        self.node_id = check_node_id(node_id)
        self._namespace = check_cluster_namespace(namespace)
        self.ttl = _check_seconds(ttl, "ttl")
        self.interval = self.ttl / 3 if interval is None else _check_seconds(interval, "interval")
        if self.interval >= self.ttl:
            raise ValueError(f"interval ({self.interval:g} s) must be shorter than ttl ({self.ttl:g} s)")
        self._client = client
        self._guard = Guard(redact_url(url), command_timeout)
        self._registry = f"{{{namespace}}}:cluster:nodes"
        self._known = f"{{{namespace}}}:cluster:known"
        self._node_prefix = f"{{{namespace}}}:cluster:node:"
        self._beat = client.register_script(_BEAT)
        self._live = client.register_script(_LIVE)
        self.incarnation = ""
        self._joined_at: dt.datetime | None = None
        self._heartbeats = 0
        self._rejoins = 0
        self._failures = 0
        self._beaten = trio.Event()
        self._joining = False

    def __repr__(self) -> str:
        return f"<Membership of node {self.node_id!r} incarnation {self.incarnation or '-'}>"

    def statistics(self) -> MembershipStatistics:
        """Counters of this node's heartbeats."""
        return MembershipStatistics(self._heartbeats, self._rejoins, self._failures)

    def key(self, node_id: str | None = None) -> str:
        """The heartbeat key of ``node_id`` (this node's by default)."""
        return self._node_prefix + (self.node_id if node_id is None else node_id)

    async def join(self) -> None:
        """Join (or join again, with a new incarnation): write the heartbeat key with its TTL."""
        self.incarnation = secrets.token_hex(8)
        self._joined_at = dt.datetime.now(dt.UTC)
        self._joining = True
        await self.beat()
        self._joining = False

    async def beat(self) -> bool:
        """One heartbeat: renew the key; True if it was still ours, False if it had to be written again.

        Raises:
            BrokenError: a key of ours holds another type (named).
            RedisUnavailableError: the server could not be reached or did not answer.
        """
        if not self.incarnation:
            raise RuntimeError("join() the cluster before the first heartbeat")
        record = json.dumps(
            {
                "node": self.node_id,
                "incarnation": self.incarnation,
                "joined_at": None if self._joined_at is None else self._joined_at.isoformat(),
            }
        )
        ms = str(max(1, round(self.ttl * 1000)))
        reply: list[Any] = await self._guard(
            self._beat(
                keys=[self.key(), self._registry, self._known],
                args=[record, ms, self.node_id, self.incarnation],
            )
        )
        if reply[0] == b"BROKEN":
            raise BrokenError(f"Redis key {reply[1].decode()!r} {reply[2].decode()}")
        kept = int(reply[1]) == 1
        if kept:
            self._heartbeats += 1
        elif not self._joining:
            self._rejoins += 1
            logger.warning(
                "node %r had been presumed dead (its heartbeat key was gone); joined again", self.node_id
            )
        self._beaten.set()
        self._beaten = trio.Event()
        return kept

    async def wait_beat(self) -> None:
        """Wait for the next heartbeat of :meth:`serve` (renewed, rejoined or failed)."""
        await self._beaten.wait()

    async def leave(self) -> None:
        """Leave now: delete the heartbeat key (the others see this node gone at once, not after the TTL)."""
        if self.incarnation:
            await self._guard(self._client.delete([self.key()]))
            await self._guard(self._client.srem(self._registry, [self.node_id]))
            self.incarnation = ""

    async def known_nodes(self) -> list[str]:
        """The ids of every node that joined and was not :meth:`forget`-ten since (live or not), sorted: those
        not live may have left work behind (an inbox, agents) for a node starting now to take over."""
        try:
            raw = await self._guard(self._client.smembers(self._known))
        except coredis.exceptions.WrongTypeError:
            raise BrokenError(f"Redis key {self._known!r} holds another type than a set") from None
        return sorted(item.decode("utf-8", "replace") for item in raw)

    async def forget(self, node_id: str) -> None:
        """Take ``node_id`` out of the known nodes: its work was taken over (it joins them again when it beats)."""
        await self._guard(self._client.srem(self._known, [node_id]))

    async def live_nodes(self) -> list[str]:
        """The ids of the nodes whose heartbeat key exists, sorted."""
        reply: list[Any] = await self._guard(self._live(keys=[self._registry], args=[self._node_prefix]))
        if reply[0] == b"BROKEN":
            raise BrokenError(f"Redis key {reply[1].decode()!r} {reply[2].decode()}")
        return sorted(raw.decode("utf-8", "replace") for raw in reply[1])

    async def serve(self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        """Join, report started, then beat every ``interval`` until cancelled; leave on the way out.

        Redis being unreachable does not stop the loop: the heartbeat fails (counted, logged once per
        outage) and the node rejoins when Redis answers again.
        """
        await self.join()
        task_status.started()
        down = False
        try:
            while True:
                await trio.sleep(self.interval)
                try:
                    await self.beat()
                    if down:
                        logger.warning("node %r reaches Redis again", self.node_id)
                    down = False
                except RedisUnavailableError as exc:
                    self._failures += 1
                    if not down:
                        logger.warning("node %r cannot renew its heartbeat: %s", self.node_id, exc)
                    down = True
                    self._beaten.set()
                    self._beaten = trio.Event()
        finally:
            with (
                trio.CancelScope(shield=True),
                trio.move_on_after(self._guard.timeout),
                contextlib.suppress(RedisUnavailableError, BrokenError),
            ):
                await self.leave()  # if Redis cannot be told, the key expires by itself
