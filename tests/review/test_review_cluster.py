"""Review: the cluster runtime (failover, bad input)."""

from __future__ import annotations

from typing import Any

import pytest
import trio

from jido._redis import RedisClient
from jido.cluster.leases import Leases
from jido.cluster.membership import Membership
from jido.cluster.runtime import open_cluster_runtime
from jido.signal import Signal
from tests.cluster.agents import Tally
from tests.redis.server import RedisServer
from tests.redis.server import redis_client as redis_client
from tests.redis.server import redis_namespace as redis_namespace
from tests.redis.server import redis_server as redis_server

KNOWN = {"t-1": Tally}


def strict_resolve(agent_id: str) -> type[Any]:
    """A resolve that knows a fixed set of ids (a dict lookup): KeyError for any other."""
    return KNOWN[agent_id]


async def _until(predicate: Any, *, step: float = 0.02, limit: int = 500) -> None:
    for _ in range(limit):  # bounded poll of Redis's own TTLs
        if await predicate():
            return
        await trio.sleep(step)
    raise AssertionError("condition not reached")


async def test_failover_with_resolve_error_keeps_the_node(
    redis_server: RedisServer, redis_client: RedisClient, redis_namespace: str
) -> None:
    """A resolve raising KeyError for a dead node's agent is counted and logged; the survivor serves on."""
    # A node that started an agent resolve does not know (ClusterRuntime.start_agent allows it), then died.
    old = Membership(redis_client, node_id="old", namespace=redis_namespace, ttl=0.3)
    await old.join()
    leases = Leases(redis_client, node_id="old", namespace=redis_namespace, ttl=0.3)
    await leases.acquire("special")

    async def old_gone() -> bool:
        return "old" not in await old.live_nodes()

    await _until(old_gone)
    survived = False
    with trio.move_on_after(20):
        async with open_cluster_runtime(
            redis_server.url,
            node_id="new",
            resolve=strict_resolve,
            namespace=redis_namespace,
            node_ttl=1.0,
            lease_ttl=1.0,
        ) as node:

            async def given_up() -> bool:  # the takeover of "old" ran (its lease on "special" ran out first)
                return node.statistics().reactivate_failed == 1

            await _until(given_up)
            agent = await node.call("t-1", Signal(type="tally.add", source="/t", data={"by": 2}), timeout=5)
            survived = agent.state.total == 2
    assert survived


@pytest.mark.xfail(
    strict=True,
    reason="a Redis URL naming a database the server does not have (/99) fails the cluster command with"
    " coredis's raw ResponseError (a traceback) instead of one clear error",
)
def test_cluster_command_db_out_of_range(redis_server: RedisServer) -> None:
    from click.testing import CliRunner

    from jido.cli.cluster import cluster as cluster_command
    from jido.cli.errors import CliError

    url = redis_server.url.rsplit("/", 1)[0] + "/99"  # the server has 16 databases
    error = CliRunner().invoke(cluster_command, [url]).exception
    assert isinstance(error, CliError), repr(error)


@pytest.mark.xfail(
    strict=True,
    reason="open_cluster_runtime on a URL naming a database the server does not have raises coredis's raw"
    " ResponseError, not the promised RedisUnavailableError (or a ValueError naming the URL)",
)
async def test_open_cluster_runtime_db_out_of_range(redis_server: RedisServer, redis_namespace: str) -> None:
    from jido._redis import RedisUnavailableError

    url = redis_server.url.rsplit("/", 1)[0] + "/99"
    with pytest.raises((RedisUnavailableError, ValueError)):
        async with open_cluster_runtime(url, node_id="n", resolve=strict_resolve, namespace=redis_namespace):
            pass
