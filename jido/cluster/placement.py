"""Rendezvous (highest random weight) placement: which live node a virtual agent belongs on.

Each (node, agent) pair gets a pseudo-random weight from a keyed hash; the agent belongs on the node with the
highest weight. Every node computes the same answer from the same set of live nodes, without talking to the
others, and when a node leaves only the agents it held move (each to its own next-best node), so a failover
spreads a dead node's agents over the survivors instead of piling them on one.

The weight is BLAKE2b (stable across processes and Python versions, unlike ``hash()``), 64 bits, over the
node id and the agent id with a separator neither may hide: the ids are length-prefixed.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable

__all__ = ["place", "rank", "weight"]


def weight(node_id: str, agent_id: str) -> int:
    """The pair's weight: an int from 0 to 2**64 - 1, the same in every process."""
    node = node_id.encode("utf-8")
    agent = agent_id.encode("utf-8")
    digest = hashlib.blake2b(
        len(node).to_bytes(4, "big") + node + len(agent).to_bytes(4, "big") + agent, digest_size=8
    ).digest()
    return int.from_bytes(digest, "big")


def _nodes(nodes: Iterable[str]) -> list[str]:
    if isinstance(nodes, str):
        raise TypeError(f"nodes must be an iterable of node ids, got the str {nodes!r}")
    found = list(dict.fromkeys(nodes))
    for i, node in enumerate(found):
        if not isinstance(node, str) or not node:
            raise TypeError(f"nodes[{i}] must be a non-empty str, got {node!r}")
    return found


def rank(agent_id: str, nodes: Iterable[str]) -> list[str]:
    """``nodes`` from the best home for ``agent_id`` to the worst (ties, which need a 64-bit collision, are
    broken by node id so that every process agrees)."""
    if not isinstance(agent_id, str) or not agent_id:
        raise TypeError(f"agent_id must be a non-empty str, got {agent_id!r}")
    return sorted(_nodes(nodes), key=lambda node: (-weight(node, agent_id), node))


def place(agent_id: str, nodes: Iterable[str]) -> str | None:
    """The node ``agent_id`` belongs on among ``nodes``, or None when there is no node."""
    ranked = rank(agent_id, nodes)
    return ranked[0] if ranked else None
