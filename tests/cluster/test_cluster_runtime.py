"""ClusterRuntime in one process: calls and casts reach a virtual agent from every node, the agent runs on one
node at a time, a node leaving hands its agents over, and bus signals reach agents on every node."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from typing import Any

import pytest
import trio

from jido._redis import RedisClient, RedisUnavailableError
from jido.cluster.events import CLUSTER_FAILOVER, CLUSTER_LEASE_LOST, CLUSTER_NODE_DOWN, CLUSTER_NODE_UP
from jido.cluster.inbox import Inbox
from jido.cluster.membership import Membership
from jido.cluster.node import open_cluster_node
from jido.cluster.placement import place
from jido.cluster.remote import RemoteCallError
from jido.cluster.runtime import ClusterRuntime, open_cluster_runtime
from jido.errors import CallTimeoutError
from jido.signal import Signal
from jido.telemetry import Event, attach, validate_fields
from tests.cluster.agents import resolve
from tests.redis.server import RedisServer
from tests.redis.server import private_redis as private_redis
from tests.redis.server import redis_client as redis_client
from tests.redis.server import redis_namespace as redis_namespace
from tests.redis.server import redis_server as redis_server


def add(by: int = 1) -> Signal:
    return Signal(type="tally.add", source="/test", data={"by": by})


@contextlib.asynccontextmanager
async def cluster(
    url: str, namespace: str, *names: str, host: bool = True, ttl: float = 1.0, **options: Any
) -> AsyncIterator[list[ClusterRuntime]]:
    async with contextlib.AsyncExitStack() as stack:
        nodes = [
            await stack.enter_async_context(
                open_cluster_runtime(
                    url,
                    node_id=name,
                    resolve=resolve,
                    namespace=namespace,
                    host=host,
                    node_ttl=ttl,
                    lease_ttl=ttl,
                    **options,
                )
            )
            for name in names
        ]
        for node in nodes:  # every node sees every member before the test starts
            for _ in range(500):
                if not host or len(await node._refresh_live()) >= len(names):
                    break
                await trio.sleep(0.01)
        yield nodes


async def wait_for(predicate: object, *, step: float = 0.02, limit: int = 1000) -> None:
    for _ in range(limit):
        if predicate():  # type: ignore[operator]
            return
        await trio.sleep(step)
    raise AssertionError("condition not reached")


class TestClusterRuntime:
    async def test_calls_from_every_node_reach_one_copy(
        self, redis_server: RedisServer, redis_namespace: str
    ) -> None:
        """Calls from three nodes to 30 agents: each agent runs on one node and counts every call once."""
        async with cluster(redis_server.url, redis_namespace, "a", "b", "c") as nodes:
            for round_ in range(3):
                for i in range(30):
                    node = nodes[(i + round_) % 3]
                    agent = await node.call(f"t-{i}", add(i), timeout=10)
                    assert agent.state.total == i * (round_ + 1)
            owners = [sum(1 for n in nodes if n.runtime.whereis(f"t-{i}") is not None) for i in range(30)]
            assert owners == [1] * 30
            assert sum(len(n.local_agents()) for n in nodes) == 30
            assert {n.node_id for n in nodes if n.local_agents()} == {"a", "b", "c"}

    async def test_casts_are_applied_once(self, redis_server: RedisServer, redis_namespace: str) -> None:
        """Casts from every node through the owners' inboxes are each applied once."""
        async with cluster(redis_server.url, redis_namespace, "a", "b") as nodes:
            for i in range(40):
                await nodes[i % 2].cast(f"t-{i % 4}", add(1))
            for i in range(4):
                await wait_for(
                    lambda i=i: any(
                        (ref := n.runtime.whereis(f"t-{i}")) is not None and ref.state.total == 10
                        for n in nodes
                    )
                )

    async def test_errors_come_back(self, redis_server: RedisServer, redis_namespace: str) -> None:
        """A signal no route accepts, handled on another node, comes back as RemoteCallError."""
        async with cluster(redis_server.url, redis_namespace, "a", "b") as nodes:
            remote = next(i for i in range(100) if place(f"t-{i}", ["a", "b"]) == "b")
            with pytest.raises(
                RemoteCallError, match=r"^call to agent 't-\d+' on node 'b' failed: NoRouteError"
            ):
                await nodes[0].call(f"t-{remote}", Signal(type="tally.nope", source="/test"))

    async def test_client_node_calls(self, redis_server: RedisServer, redis_namespace: str) -> None:
        """A node that hosts nothing calls agents on the members."""
        async with (
            cluster(redis_server.url, redis_namespace, "a") as [a],
            cluster(redis_server.url, redis_namespace, "client", host=False) as [client],
        ):
            await client._refresh_live()
            agent = await client.call("t-1", add(5), timeout=10)
            assert agent.state.total == 5
            assert a.runtime.whereis("t-1") is not None and client.runtime.whereis("t-1") is None

    async def test_a_node_leaving_hands_over(self, redis_server: RedisServer, redis_namespace: str) -> None:
        """Agents of a node that left answer from the survivor with their stored state."""
        async with cluster(redis_server.url, redis_namespace, "a") as [a]:
            async with cluster(redis_server.url, redis_namespace, "b") as [b]:
                await a._refresh_live()
                for i in range(20):
                    await a.call(f"t-{i}", add(2), timeout=10)
                on_b = b.local_agents()
                assert on_b
            for i in range(20):
                agent = await a.call(f"t-{i}", add(1), timeout=10)
                assert agent.state.total == 3
            assert len(a.local_agents()) == 20

    async def test_bus_signals_reach_agents_on_every_node(
        self, redis_server: RedisServer, redis_namespace: str
    ) -> None:
        """A signal published on one node reaches the subscribed agents on both nodes, once each."""
        async with cluster(redis_server.url, redis_namespace, "a", "b") as nodes:
            for i in range(10):
                await nodes[0].call(f"t-{i}", add(0), timeout=10)
            assert all(n.local_agents() for n in nodes)
            await nodes[1].publish(Signal(type="tally.broadcast", source="/test", data={"by": 7}))

            def all_seven() -> bool:
                refs = [n.runtime.whereis(f"t-{i}") for n in nodes for i in range(10)]
                return sum(1 for r in refs if r is not None and r.state.total == 7) == 10

            await wait_for(all_seven)


class TestMovesAndTelemetry:
    async def test_fenced_write_moves_the_agent(
        self, redis_server: RedisServer, redis_namespace: str
    ) -> None:
        """A node whose lease was taken over while it believed it held it: its write is fenced, it stops its
        copy, and the call is answered by the new owner, applied once, from the new owner's state."""
        events: list[Event] = []
        with attach("jido.cluster.**", events.append):
            async with cluster(redis_server.url, redis_namespace, "a", "b") as [a, b]:
                agent_id = next(f"t-{i}" for i in range(100) if place(f"t-{i}", ["a", "b"]) == "a")
                assert (await a.call(agent_id, add(1), timeout=10)).state.total == 1
                # a's lease runs out on Redis's clock (a missed its renewal), and b takes the agent over.
                await a.node.client.delete([a.node.leases.key(agent_id)])
                assert await b._own(agent_id, trio.current_time() + 10) == "b"
                assert (await b.call(agent_id, add(10), timeout=10)).state.total == 11
                assert a.node.leases.token(agent_id) != 0  # a does not know yet
                agent = await a.call(agent_id, add(100), timeout=10)
                assert agent.state.total == 111
                assert a.runtime.whereis(agent_id) is None
                assert a.local_agents() == [] and b.local_agents() == [agent_id]
                validate_all(events)
                lost = [e.fields for e in events if e.name == CLUSTER_LEASE_LOST]
                assert lost == [{"node_id": "a", "agent_id": agent_id, "token": 1, "reason": "fenced"}]

    async def test_membership_and_failover_events(
        self, redis_server: RedisServer, redis_namespace: str
    ) -> None:
        """A node joining and leaving is seen by the other; the survivor reports its failover."""
        events: list[Event] = []
        with attach("jido.cluster.**", events.append):
            async with cluster(redis_server.url, redis_namespace, "a") as [a]:
                async with cluster(redis_server.url, redis_namespace, "b") as [b]:
                    await wait_for(lambda: any(e.name == CLUSTER_NODE_UP for e in events))
                    for i in range(10):
                        await b.call(f"t-{i}", add(1), timeout=10)

                def failed_over() -> bool:
                    return any(e.name == CLUSTER_FAILOVER for e in events)

                await wait_for(failed_over)
                validate_all(events)
                names = [(e.name, e.fields["peer"]) for e in events if "peer" in e.fields]
                assert names[:3] == [
                    (CLUSTER_NODE_UP, "b"),
                    (CLUSTER_NODE_DOWN, "b"),
                    (CLUSTER_FAILOVER, "b"),
                ]
                for i in range(10):
                    assert (await a.call(f"t-{i}", add(1), timeout=10)).state.total == 2


def validate_all(events: list[Event]) -> None:
    for event in events:
        validate_fields(event.name, event.fields)


class TestRedisAway:
    async def test_calls_fail_clearly_then_work_again(
        self, private_redis: RedisServer, redis_namespace: str
    ) -> None:
        """Redis paused past the TTLs: a call fails with a clear error; once Redis is back the nodes rejoin and
        the same signal sent again is applied once, by whichever node owns the agent now."""
        async with cluster(private_redis.url, redis_namespace, "a", "b", ttl=0.5, command_timeout=1.0) as [
            a,
            _,
        ]:
            agent_id = next(f"t-{i}" for i in range(100) if place(f"t-{i}", ["a", "b"]) == "b")
            assert (await a.call(agent_id, add(1), timeout=10)).state.total == 1
            private_redis.pause()
            signal = add(1)
            try:
                with pytest.raises((RedisUnavailableError, CallTimeoutError)):
                    await a.call(agent_id, signal, timeout=3)
            finally:
                private_redis.resume()
            answer = None
            for _ in range(20):  # bounded: the nodes rejoin and the agent is claimed again within moments
                try:
                    answer = await a.call(agent_id, signal, timeout=3)
                    break
                except (RedisUnavailableError, CallTimeoutError):
                    continue
            assert answer is not None and answer.state.total == 2
            assert answer.state.ids.count(signal.id) == 1


class TestRestart:
    async def test_pending_of_an_earlier_incarnation_is_handled(
        self, redis_server: RedisServer, redis_client: RedisClient, redis_namespace: str
    ) -> None:
        """A node killed after reading casts and before acking them, started again under the same id before
        anyone saw it gone, handles them (once) when it starts."""
        earlier = Inbox(redis_client, node_id="a", namespace=redis_namespace)
        sent = [add(i) for i in range(1, 4)]
        for signal in sent:
            await earlier.send("a", signal, agent_id="t-1")
        assert len(await earlier.receive(count=10)) == 3  # read, never acked: then the process died
        async with cluster(redis_server.url, redis_namespace, "a") as [a]:
            await wait_for(lambda: (ref := a.runtime.whereis("t-1")) is not None and ref.state.total == 6)
            assert (await a.call("t-1", add(0), timeout=10)).state.ids[:3] == [s.id for s in sent]
            await wait_for(lambda: a.server._acks == [])
        assert await earlier.pending("a") == 0

    async def test_a_node_starting_later_takes_over(
        self, redis_server: RedisServer, redis_client: RedisClient, redis_namespace: str
    ) -> None:
        """Casts left in the inbox of a node that left before any other node started (a whole cluster
        restarted under new ids) are handled by the first node that starts."""
        async with open_cluster_node(redis_server.url, node_id="old", namespace=redis_namespace) as old:
            sent = [add(i) for i in range(1, 4)]
            for signal in sent:
                await old.inbox.send("old", signal, agent_id="t-1")  # never read: the node goes
        membership = Membership(redis_client, node_id="x", namespace=redis_namespace)
        assert await membership.known_nodes() == ["old"]
        async with cluster(redis_server.url, redis_namespace, "new") as [new]:
            await wait_for(lambda: (ref := new.runtime.whereis("t-1")) is not None and ref.state.total == 6)

            async def forgotten() -> bool:
                return await membership.known_nodes() == ["new"]

            for _ in range(500):  # bounded poll of Redis: the takeover forgets the old node when it is done
                if await forgotten():
                    break
                await trio.sleep(0.01)
            assert await forgotten()
