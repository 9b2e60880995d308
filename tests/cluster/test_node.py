"""A cluster node on a real Redis: joining, placement agreed by every node, claiming an agent (lease and fence),
and leaving (leases released at once). Heartbeats and renewals are driven by trio's MockClock."""

from __future__ import annotations

import pytest
import trio.testing

from jido.cluster.node import open_cluster_node
from jido.signal import Signal
from jido.store.redis import FencedWriteError
from jido.store.store import StateWrite
from tests.redis.server import RedisServer
from tests.redis.server import redis_namespace as redis_namespace
from tests.redis.server import redis_server as redis_server


async def test_two_nodes(
    redis_server: RedisServer, redis_namespace: str, mock_clock: trio.testing.MockClock
) -> None:
    """Both nodes are live and agree where each agent belongs; the home node claims it, the other cannot."""
    async with (
        open_cluster_node(redis_server.url, node_id="a", namespace=redis_namespace) as a,
        open_cluster_node(redis_server.url, node_id="b", namespace=redis_namespace) as b,
    ):
        assert await a.live_nodes() == await b.live_nodes() == ["a", "b"]
        homes = {agent: await a.home_of(agent) for agent in (f"agent-{i}" for i in range(20))}
        assert homes == {agent: await b.home_of(agent) for agent in homes}
        assert set(homes.values()) == {"a", "b"}
        agent = next(agent for agent, home in homes.items() if home == "a")
        lease = await a.claim(agent)
        assert lease is not None and lease.node_id == "a"
        assert await b.claim(agent) is None
        await a.store.save_many([StateWrite(agent, "{}")])
        with pytest.raises(FencedWriteError):
            await b.store.save_many([StateWrite(agent, "{}")])
        mock_clock.jump(a.leases.ttl / 3)  # a renewal round runs; the lease stays a's
        await a.membership.wait_beat()
        assert a.leases.token(agent) == lease.token


async def test_leaving_releases(redis_server: RedisServer, redis_namespace: str) -> None:
    """A node that leaves releases its leases and its heartbeat: another node claims its agents at once."""
    async with open_cluster_node(redis_server.url, node_id="b", namespace=redis_namespace) as b:
        async with open_cluster_node(redis_server.url, node_id="a", namespace=redis_namespace) as a:
            assert await a.claim("x") is not None
        assert await b.live_nodes() == ["b"]
        lease = await b.claim("x")
        assert lease is not None and lease.token == 2
        assert await b.home_of("x") == "b"


async def test_callers_error_unwrapped(redis_server: RedisServer, redis_namespace: str) -> None:
    """An error raised inside the node's block comes out as itself."""
    with pytest.raises(KeyError, match="mine"):
        async with open_cluster_node(redis_server.url, node_id="a", namespace=redis_namespace):
            raise KeyError("mine")


async def test_reroute_from_dead_node(redis_server: RedisServer, redis_namespace: str) -> None:
    """A dead node's unacked and unread messages go to their agents' live homes, each once, keeping who to
    answer; messages for no agent are dropped."""
    async with (
        open_cluster_node(redis_server.url, node_id="a", namespace=redis_namespace) as a,
        open_cluster_node(redis_server.url, node_id="b", namespace=redis_namespace) as b,
    ):
        agents = [f"agent-{i}" for i in range(10)]
        for i, agent in enumerate(agents):
            await a.inbox.send(
                "dead",
                Signal(type="counter.add", source="/t", data={"by": i}),
                agent_id=agent,
                reply_to="a",
                correlation=f"c{i}",
            )
        await a.inbox.send("dead", Signal(type="node.ping", source="/t"))
        assert await b.reroute_from("dead") == 10
        assert await b.reroute_from("dead") == 0
        got = [*await a.inbox.receive(timeout=0.001), *await b.inbox.receive(timeout=0.001)]
        assert sorted(m.agent_id or "" for m in got) == sorted(agents)
        for message in got:
            assert message.inbox == await a.home_of(message.agent_id or "")
            assert (message.reply_to, message.correlation) == ("a", f"c{message.signal.data['by']}")  # type: ignore[index]
        assert await a.inbox.pending("dead") == 0
