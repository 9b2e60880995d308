"""Telemetry events of the cluster: membership changes, leases lost, failovers (``jido.cluster.*``).

Each is emitted by the node that saw it (``node_id``); a failover is seen by every survivor, and each reports
its own share (the messages it rerouted and the agents it reactivated).
"""

from __future__ import annotations

from typing import Final

from jido.telemetry import define_event
from jido.telemetry.events import FieldSpec

__all__ = ["CLUSTER_FAILOVER", "CLUSTER_LEASE_LOST", "CLUSTER_NODE_DOWN", "CLUSTER_NODE_UP"]

_NODE_ID = FieldSpec("node_id", (str,), "the node that saw it")
_PEER = FieldSpec("peer", (str,), "the node that joined or left")

CLUSTER_NODE_UP: Final = "jido.cluster.node_up"
define_event(
    CLUSTER_NODE_UP, "A node joined the cluster (or came back), as this node saw it.", (_NODE_ID, _PEER)
)

CLUSTER_NODE_DOWN: Final = "jido.cluster.node_down"
define_event(
    CLUSTER_NODE_DOWN,
    "A node left the cluster (its heartbeat key expired, or it left on purpose), as this node saw it.",
    (_NODE_ID, _PEER),
)

CLUSTER_LEASE_LOST: Final = "jido.cluster.lease_lost"
define_event(
    CLUSTER_LEASE_LOST,
    "This node lost its lease on an agent (found at renewal, or its write was fenced): the agent was stopped "
    "here and is treated as moved.",
    (
        _NODE_ID,
        FieldSpec("agent_id", (str,), "the agent"),
        FieldSpec("token", (int,), "the fencing token of the lease lost"),
        FieldSpec("reason", (str,), "'expired' (renewal) or 'fenced' (a write was refused)"),
    ),
)

CLUSTER_FAILOVER: Final = "jido.cluster.failover"
define_event(
    CLUSTER_FAILOVER,
    "This node took its share of a dead node's work: rerouted its inbox's messages and reactivated the agents "
    "whose new home it is.",
    (
        _NODE_ID,
        _PEER,
        FieldSpec("rerouted", (int,), "messages of the dead node's inbox this node sent on"),
        FieldSpec("reactivated", (int,), "agents of the dead node activated here"),
        FieldSpec("duration", (float,), "seconds from seeing the node down to the last agent reactivated"),
    ),
)
