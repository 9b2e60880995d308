"""Cross-node calls over the inboxes: a call made on one node is handled by the agent's home node (placed by
rendezvous), through the public runtime API, and answered into the caller's inbox."""

from __future__ import annotations

import pytest
import trio

from jido.cluster.node import ClusterNode, open_cluster_node
from jido.cluster.remote import RemoteAgents, RemoteCallError
from jido.errors import CallTimeoutError
from jido.runtime.runtime import open_runtime
from tests.redis.server import RedisServer
from tests.redis.server import redis_namespace as redis_namespace
from tests.redis.server import redis_server as redis_server
from tests.runtime.agents import Counter, sig


async def homed_on(node: ClusterNode, home: str) -> str:
    """An agent id whose home is ``home`` (rendezvous over the live nodes)."""
    for i in range(100):
        if await node.home_of(f"counter-{i}") == home:
            return f"counter-{i}"
    raise AssertionError(f"no agent id placed on {home!r} among 100")  # pragma: no cover


async def test_call_reaches_the_home_node(redis_server: RedisServer, redis_namespace: str) -> None:
    """Calls from either node reach the one agent on its home node, in order; an error there comes back as
    RemoteCallError; an agent whose node answers nothing times out."""
    async with (
        open_cluster_node(redis_server.url, node_id="a", namespace=redis_namespace) as a,
        open_cluster_node(redis_server.url, node_id="b", namespace=redis_namespace) as b,
        open_runtime() as rt_a,
        open_runtime() as rt_b,
        trio.open_nursery() as nursery,
    ):
        on_a = RemoteAgents(a, rt_a, lambda _: Counter)
        on_b = RemoteAgents(b, rt_b, lambda _: Counter)
        await nursery.start(on_a.serve)
        await nursery.start(on_b.serve)
        agent = await homed_on(a, "b")

        assert (await on_a.call(agent, sig("add", by=2)))["count"] == 2  # through b's inbox
        assert (await on_b.call(agent, sig("add", by=3)))["count"] == 5  # local on b
        assert (await on_a.call(agent, sig("add", by=4)))["count"] == 9
        assert rt_a.whereis(agent) is None and rt_b.whereis(agent) is not None

        with pytest.raises(
            RemoteCallError, match=rf"^call to agent '{agent}' on node 'b' failed: NoRouteError"
        ):
            await on_a.call(agent, sig("nope"))
        nursery.cancel_scope.cancel()


async def test_call_to_a_silent_node_times_out(redis_server: RedisServer, redis_namespace: str) -> None:
    """A node that reads nothing (its server loop is not running) leaves the caller with CallTimeoutError."""
    async with (
        open_cluster_node(redis_server.url, node_id="a", namespace=redis_namespace) as a,
        open_cluster_node(redis_server.url, node_id="b", namespace=redis_namespace) as b,
        open_runtime() as rt_a,
        trio.open_nursery() as nursery,
    ):
        on_a = RemoteAgents(a, rt_a, lambda _: Counter)
        await nursery.start(on_a.serve)
        agent = await homed_on(b, "b")
        with pytest.raises(
            CallTimeoutError,
            match=r"^call to agent 'counter-\d+' with 'counter\.add' got no answer within 0\.2s$",
        ):
            await on_a.call(agent, sig("add"), timeout=0.2)
        assert await b.inbox.pending() == 1  # still there for b (or whoever takes over) to handle
        nursery.cancel_scope.cancel()
