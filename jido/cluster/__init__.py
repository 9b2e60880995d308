"""The cluster: several runtimes on several machines sharing one Redis (or Valkey).

What is here: membership (heartbeat keys with server-side TTLs), leases on agent ids with fencing tokens (the
Redis state store refuses a former owner's late writes), rendezvous placement of virtual agents over the live
nodes, and node inboxes (a stream per node, read through a consumer group, claimable when a node dies). See ``docs/scaling.md``. Needs the ``redis`` extra (``pip install 'jido[redis]'``).
"""

from jido.cluster.inbox import Inbox as Inbox
from jido.cluster.inbox import InboxFullError as InboxFullError
from jido.cluster.inbox import InboxMessage as InboxMessage
from jido.cluster.leases import DEFAULT_LEASE_TTL as DEFAULT_LEASE_TTL
from jido.cluster.leases import Lease as Lease
from jido.cluster.leases import Leases as Leases
from jido.cluster.leases import LeaseStatistics as LeaseStatistics
from jido.cluster.membership import DEFAULT_NODE_TTL as DEFAULT_NODE_TTL
from jido.cluster.membership import Membership as Membership
from jido.cluster.membership import MembershipStatistics as MembershipStatistics
from jido.cluster.node import ClusterNode as ClusterNode
from jido.cluster.node import open_cluster_node as open_cluster_node
from jido.cluster.placement import place as place
from jido.cluster.placement import rank as rank
from jido.cluster.placement import weight as weight

__all__ = [
    "DEFAULT_LEASE_TTL",
    "DEFAULT_NODE_TTL",
    "ClusterNode",
    "Inbox",
    "InboxFullError",
    "InboxMessage",
    "Lease",
    "LeaseStatistics",
    "Leases",
    "Membership",
    "MembershipStatistics",
    "open_cluster_node",
    "place",
    "rank",
    "weight",
]
