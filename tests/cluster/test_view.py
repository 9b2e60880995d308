"""read_cluster: the live nodes of a cluster and the leases each holds, as Redis has them."""

from __future__ import annotations

from jido._redis import RedisClient
from jido.cluster.placement import place
from jido.cluster.view import read_cluster
from tests.cluster.test_cluster_runtime import add, cluster
from tests.redis.server import RedisServer
from tests.redis.server import redis_client as redis_client
from tests.redis.server import redis_namespace as redis_namespace
from tests.redis.server import redis_server as redis_server


async def test_nodes_and_leases(
    redis_server: RedisServer, redis_client: RedisClient, redis_namespace: str
) -> None:
    """Two nodes with ten agents between them: each node's leases are the agents placed on it."""
    assert (await read_cluster(redis_client, namespace=redis_namespace)).nodes == ()
    async with cluster(redis_server.url, redis_namespace, "a", "b") as [a, _]:
        for i in range(10):
            await a.call(f"t-{i}", add(1), timeout=10)
        view = await read_cluster(redis_client, namespace=redis_namespace)
        assert [n.node_id for n in view.nodes] == ["a", "b"]
        for node in view.nodes:
            held = sorted(lease.agent_id for lease in node.leases)
            assert held == sorted(f"t-{i}" for i in range(10) if place(f"t-{i}", ["a", "b"]) == node.node_id)
            assert all(lease.token == 1 and 0 < lease.expires_in <= 1.0 for lease in node.leases)
            assert node.joined_at is not None and node.inbox == 0
        assert view.gone == ()
    assert (
        await read_cluster(redis_client, namespace=redis_namespace)
    ).gone == ()  # they left nothing behind
    await redis_client.sadd(f"{{{redis_namespace}}}:cluster:known", ["d"])  # left, never taken over
    assert (await read_cluster(redis_client, namespace=redis_namespace)).gone == ("d",)
