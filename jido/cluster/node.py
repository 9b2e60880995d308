"""One node of a cluster: its membership, leases, inbox and fenced state store on one Redis client.

:func:`open_cluster_node` is what a runtime process opens to take part in a cluster. It joins (a heartbeat
every ``node_ttl / 3``), renews the leases it holds (every ``lease_ttl / 3``), and on the way out releases its
leases and leaves, so that the other nodes can take its agents at once instead of after the TTLs.

The runtime is meant to use it this way (the wiring is not in the runtime yet, see ``docs/scaling.md``):

* its state store is :attr:`ClusterNode.store` (every write carries this node's lease token for the agent);
* before it activates a virtual agent it calls :meth:`ClusterNode.claim`, which acquires the lease, raises the
  store's fence to the new token, and says whether this node now owns the agent;
* it sends casts and calls for agents it does not own to :meth:`ClusterNode.home_of` through the inbox.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator, Callable

import attrs
import coredis.exceptions
import trio

from jido._redis import (
    DEFAULT_COMMAND_TIMEOUT,
    DEFAULT_CONNECT_TIMEOUT,
    RedisClient,
    RedisUnavailableError,
    open_redis,
    redact_url,
    unwrap,
)
from jido._urls import database_of as database_of  # also checked by the CLI, without coredis
from jido.cluster.inbox import Inbox
from jido.cluster.leases import DEFAULT_LEASE_TTL, Lease, Leases
from jido.cluster.membership import DEFAULT_NODE_TTL, Membership
from jido.cluster.names import check_cluster_namespace, check_node_id
from jido.cluster.placement import place
from jido.errors import BrokenError
from jido.store.redis import FencedRedisStore, RedisStore

__all__ = ["ClusterNode", "database_of", "open_cluster_node", "open_cluster_redis"]

logger = logging.getLogger("jido.cluster")


@attrs.define(eq=False)
class ClusterNode:
    """A node of a cluster, as :func:`open_cluster_node` gives it.

    Attributes:
        node_id: this node's id.
        client: the Redis client everything below shares.
        membership: this node's heartbeat and the live nodes.
        leases: the leases this node holds.
        inbox: this node's inbox, and sends to the others'.
        raw_store: the state store, unfenced (reads; tools).
        store: the state store as the runtime should use it: writes carry this node's lease tokens.
    """

    node_id: str
    client: RedisClient
    membership: Membership
    leases: Leases
    inbox: Inbox
    raw_store: RedisStore
    store: FencedRedisStore
    on_lost: list[Callable[[list[Lease]], None]] = attrs.field(factory=list)
    """Called with the leases a renewal found lost (expired, or taken by another node)."""

    def __repr__(self) -> str:
        return f"<ClusterNode {self.node_id!r}: {len(self.leases.held())} leases>"

    async def live_nodes(self) -> list[str]:
        """The ids of the live nodes (this one included while it is a member)."""
        return await self.membership.live_nodes()

    async def home_of(self, agent_id: str) -> str | None:
        """The live node a virtual agent belongs on (rendezvous hashing), or None when no node is live."""
        return place(agent_id, await self.live_nodes())

    async def claim(self, agent_id: str) -> Lease | None:
        """Make this node the owner of ``agent_id`` if no other node holds it: acquire the lease, then raise
        the store's fence to its token (so the former owner can no longer write) before the caller loads the
        state. Returns this node's lease, or None when another node holds it."""
        lease = await self.leases.acquire(agent_id)
        if lease.node_id != self.node_id:
            return None
        fence = await self.raw_store.raise_fence(agent_id, lease.token)
        if fence > lease.token:  # a newer owner came and went between our acquire and now
            await self.leases.release(lease)
            return None
        return lease

    async def reroute_from(self, dead_node_id: str, *, batch: int = 100) -> int:
        """Take over a dead node's inbox: send each message it had not acked, or not read, to the live home of
        its agent (this node included), then ack it there. Returns how many messages were moved.

        At least once: if this node dies between a send and its ack, the message is sent again by whoever
        reroutes next; the receiving runtime drops the duplicate by the signal's id (idempotent sends).
        Messages for no agent (node-level) are dropped with a warning: their node is gone.
        """
        if dead_node_id == self.node_id:
            raise ValueError("a node cannot take over its own inbox")
        moved = 0
        live = await self.live_nodes()
        # Bounded: each round acks what it claimed, and the dead node's inbox holds at most max_pending.
        for _ in range(self.inbox.max_pending // batch + 2):
            messages = await self.inbox.claim_from(dead_node_id, count=batch)
            if not messages:
                break
            for message in messages:
                home = None if message.agent_id is None else place(message.agent_id, live)
                if home is None:
                    logger.warning(
                        "node %r dropped message %s of dead node %r: no agent, or no live node",
                        self.node_id,
                        message.id,
                        dead_node_id,
                    )
                    continue
                await self.inbox.send(
                    home,
                    message.signal,
                    agent_id=message.agent_id,
                    reply_to=message.reply_to,
                    correlation=message.correlation,
                )
                moved += 1
            await self.inbox.ack(messages)
        return moved

    async def serve_leases(self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        """Renew every held lease each ``lease_ttl / 3`` until cancelled; Redis being unreachable is logged
        once per outage and the loop goes on (leases that expired meanwhile are found lost and dropped)."""
        task_status.started()
        down = False
        while True:
            await trio.sleep(self.leases.ttl / 3)
            try:
                lost = await self.leases.renew_all()
                down = False
            except RedisUnavailableError as exc:
                if not down:
                    logger.warning("node %r cannot renew its leases: %s", self.node_id, exc)
                down = True
                continue
            if lost:
                for listener in self.on_lost:
                    listener(lost)


@contextlib.asynccontextmanager
async def open_cluster_redis(
    url: str, *, connect_timeout: float = DEFAULT_CONNECT_TIMEOUT
) -> AsyncIterator[RedisClient]:
    """:func:`jido._redis.open_redis` for a cluster: a database named by other than a number is refused, and
    one the server does not have is :class:`RedisUnavailableError` naming the URL (not the client's raw error).

    Raises:
        RedisUnavailableError: the server could not be reached, or has no such database.
        ValueError: ``url`` is not a Redis URL, or names its database by other than a number.
    """
    db = database_of(url)
    entered = False
    try:
        async with open_redis(url, connect_timeout=connect_timeout) as client:
            entered = True
            yield client
    except coredis.exceptions.ResponseError as exc:
        if entered:
            raise
        # coredis selects the database as it connects: the server's refusal comes out of the first command.
        problem = (
            f"it has no database {db} ({exc})" if "DB index" in str(exc) else f"{type(exc).__name__}: {exc}"
        )
        raise RedisUnavailableError(redact_url(url), problem) from None


@contextlib.asynccontextmanager
async def open_cluster_node(
    url: str,
    *,
    node_id: str,
    namespace: str = "jido",
    node_ttl: float = DEFAULT_NODE_TTL,
    lease_ttl: float = DEFAULT_LEASE_TTL,
    member: bool = True,
    connect_timeout: float = DEFAULT_CONNECT_TIMEOUT,
    command_timeout: float = DEFAULT_COMMAND_TIMEOUT,
) -> AsyncIterator[ClusterNode]:
    """Join the cluster on Redis at ``url`` as ``node_id``; leave (releasing every lease) on the way out.

    With ``member=False`` the node does not join (no heartbeat: no agent is placed on it); it still has an
    inbox (for the answers to its calls) and may hold leases.

    Raises:
        RedisUnavailableError: the server could not be reached, or has not the database ``url`` names (named
            by its URL, without a password).
        TypeError, ValueError: a bad URL, node id, namespace or TTL.
    """
    check_node_id(node_id)  # before connecting: a bad name is the caller's to fix, whatever the server says
    check_cluster_namespace(namespace)
    async with open_cluster_redis(url, connect_timeout=connect_timeout) as client:
        raw_store = RedisStore(client, namespace=namespace, url=url, command_timeout=command_timeout)
        leases = Leases(
            client,
            node_id=node_id,
            namespace=namespace,
            ttl=lease_ttl,
            url=url,
            command_timeout=command_timeout,
        )
        membership = Membership(
            client,
            node_id=node_id,
            namespace=namespace,
            ttl=node_ttl,
            url=url,
            command_timeout=command_timeout,
        )
        inbox = Inbox(client, node_id=node_id, namespace=namespace, url=url, command_timeout=command_timeout)
        node = ClusterNode(
            node_id, client, membership, leases, inbox, raw_store, raw_store.fenced(leases.token)
        )
        inner: BaseException | None = None
        try:
            async with trio.open_nursery() as nursery:
                if member:
                    await nursery.start(membership.serve)
                await nursery.start(node.serve_leases)
                try:
                    yield node
                finally:
                    # Leases first, then membership (cancelling its loop leaves): a node that sees this one
                    # gone finds its agents free at once instead of waiting for their leases to run out.
                    with (
                        trio.CancelScope(shield=True),
                        trio.move_on_after(command_timeout),
                        contextlib.suppress(RedisUnavailableError, BrokenError),
                    ):
                        await leases.release_all()
                        if member and not await inbox.pending():
                            await membership.forget(node_id)  # left nothing behind for anyone to take over
                    nursery.cancel_scope.cancel()
        except BaseExceptionGroup as group:
            # The caller's own error comes back as itself, not wrapped by the nursery of our two loops.
            inner = unwrap(group)
            if inner is group:
                raise
        if inner is not None:
            raise inner
