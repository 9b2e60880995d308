"""What a cluster looks like now, read from Redis: its live nodes, and the agents each holds leases on.

For operators' tools (``jido cluster``, a dashboard): :func:`read_cluster` reads without joining and changes
nothing but the registry's stale entries (nodes whose heartbeat key is gone are pruned, as every reader does).
"""

from __future__ import annotations

import json
from typing import Any

import attrs
import coredis.exceptions

from jido._redis import DEFAULT_COMMAND_TIMEOUT, Guard, RedisClient, check_namespace, redact_url
from jido.cluster.leases import Leases
from jido.cluster.membership import Membership

__all__ = ["AgentLease", "ClusterView", "NodeView", "read_cluster"]

_VIEWER = "jido-view"  # the node id the reader's Leases and Membership objects are made with; never written


@attrs.frozen
class AgentLease:
    """One lease as Redis holds it now.

    Attributes:
        agent_id: the agent.
        token: the lease's fencing token.
        expires_in: seconds left before it runs out (unless renewed).
    """

    agent_id: str
    token: int
    expires_in: float


@attrs.frozen
class NodeView:
    """One live node.

    Attributes:
        node_id: its id.
        joined_at: when its current incarnation joined (ISO 8601, its own clock), or None.
        leases: the leases it holds now, by agent id.
        inbox: messages in its inbox (unread or unacked).
    """

    node_id: str
    joined_at: str | None
    leases: tuple[AgentLease, ...]
    inbox: int


@attrs.frozen
class ClusterView:
    """The cluster as :func:`read_cluster` found it.

    Attributes:
        namespace: the cluster's namespace.
        nodes: the live nodes, by id.
        gone: nodes that joined once and are not live, whose work no node has taken over yet (by id).
    """

    namespace: str
    nodes: tuple[NodeView, ...]
    gone: tuple[str, ...] = ()


async def read_cluster(
    client: RedisClient,
    *,
    namespace: str = "jido",
    max_leases: int = 10_000,
    url: str = "redis",
    command_timeout: float = DEFAULT_COMMAND_TIMEOUT,
) -> ClusterView:
    """Read the live nodes of the cluster in ``namespace`` and the leases each holds (at most ``max_leases``
    per node, the first by agent id).

    Raises:
        RedisUnavailableError: the server could not be reached or did not answer.
    """
    check_namespace(namespace)
    guard = Guard(redact_url(url), command_timeout)
    membership = Membership(client, node_id=_VIEWER, namespace=namespace, command_timeout=command_timeout)
    leases = Leases(client, node_id=_VIEWER, namespace=namespace, command_timeout=command_timeout)
    nodes = []
    live = await membership.live_nodes()
    gone = tuple(node for node in await membership.known_nodes() if node not in live)
    for node_id in live:
        record: Any = await guard(client.get(membership.key(node_id)))
        joined_at = None
        if record is not None:
            try:
                joined_at = json.loads(record).get("joined_at")
            except (ValueError, AttributeError):
                joined_at = None
        held = []
        for agent_id in (await leases.owned_by(node_id))[:max_leases]:
            lease = await leases.holder(agent_id)
            if lease is None or lease.node_id != node_id:
                continue  # expired or moved since: the owned set is cleaned lazily
            left = int(await guard(client.pttl(leases.key(agent_id))))
            held.append(AgentLease(agent_id, lease.token, max(0, left) / 1000))
        inbox = f"{{{namespace}}}:cluster:inbox:{node_id}"
        try:
            pending = int(await guard(client.xlen(inbox)))
        except coredis.exceptions.WrongTypeError:  # a foreign key: shown as 0, the node's own reads report it
            pending = 0
        nodes.append(NodeView(node_id, joined_at, tuple(held), pending))
    return ClusterView(namespace, tuple(nodes), gone)
