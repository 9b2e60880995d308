"""The cluster: several runtimes on several machines sharing one Redis (or Valkey).

What is here: membership (heartbeat keys with server-side TTLs), leases on agent ids with fencing tokens (the
Redis state store refuses a former owner's late writes), rendezvous placement of virtual agents over the live
nodes, node inboxes (a stream per node, read through a consumer group, claimable when a node dies), and a
runtime in a cluster (``open_cluster_runtime``: calls, casts and bus delivery to virtual agents from any node,
failover when a node dies; ``python -m jido.cluster.serve`` runs one node). See ``docs/scaling.md``. Needs the
``redis`` extra (``pip install 'jido[redis]'``).
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
from jido.cluster.remote import REPLY_TYPE as REPLY_TYPE
from jido.cluster.remote import NoLiveNodeError as NoLiveNodeError
from jido.cluster.remote import RemoteAgents as RemoteAgents
from jido.cluster.remote import RemoteCallError as RemoteCallError
from jido.cluster.runtime import ClusterRuntime as ClusterRuntime
from jido.cluster.runtime import ClusterStatistics as ClusterStatistics
from jido.cluster.runtime import open_cluster_runtime as open_cluster_runtime

__all__ = [
    "DEFAULT_LEASE_TTL",
    "DEFAULT_NODE_TTL",
    "REPLY_TYPE",
    "ClusterNode",
    "ClusterRuntime",
    "ClusterStatistics",
    "Inbox",
    "InboxFullError",
    "InboxMessage",
    "Lease",
    "LeaseStatistics",
    "Leases",
    "Membership",
    "MembershipStatistics",
    "NoLiveNodeError",
    "RemoteAgents",
    "RemoteCallError",
    "open_cluster_node",
    "open_cluster_runtime",
    "place",
    "rank",
    "weight",
]
