"""ClusterRuntime when things go wrong: a resolve that raises, no live node, bad node ids and namespaces."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator
from typing import Any

import pytest
import trio

from jido.cluster.remote import NoLiveNodeError, RemoteCallError
from jido.cluster.runtime import ClusterRuntime, open_cluster_runtime
from jido.signal import Signal
from tests.cluster.agents import Tally, resolve
from tests.redis.server import RedisServer
from tests.redis.server import redis_namespace as redis_namespace
from tests.redis.server import redis_server as redis_server


def add(by: int = 1) -> Signal:
    return Signal(type="tally.add", source="/test", data={"by": by})


def only_known(agent_id: str) -> type[Any]:
    """A dict-based resolve: KeyError for an id it does not know."""
    return {"known": Tally}[agent_id]


@contextlib.asynccontextmanager
async def node(url: str, namespace: str, name: str, **options: Any) -> AsyncIterator[ClusterRuntime]:
    options.setdefault("resolve", resolve)
    async with open_cluster_runtime(
        url, node_id=name, namespace=namespace, node_ttl=1.0, lease_ttl=1.0, **options
    ) as runtime:
        yield runtime


class TestHandleErrors:
    async def test_call_whose_resolve_raises_is_answered(
        self, redis_server: RedisServer, redis_namespace: str, caplog: pytest.LogCaptureFixture
    ) -> None:
        """A KeyError from the owner's resolve answers the call with RemoteCallError, not a timeout."""
        async with (
            node(redis_server.url, redis_namespace, "host", resolve=only_known) as host,
            node(redis_server.url, redis_namespace, "caller", host=False) as caller,
        ):
            assert host.live_nodes() == ("host",)
            with trio.fail_after(10), pytest.raises(RemoteCallError) as caught:
                await caller.call("unknown", add(), timeout=5)
            assert str(caught.value) == ("call to agent 'unknown' on node 'host' failed: KeyError: 'unknown'")
            # The host goes on serving.
            agent = await caller.call("known", add(2), timeout=5)
            assert agent.state.total == 2
        assert any(
            record.levelno == logging.ERROR
            and "could not handle a call for agent 'unknown'" in record.message
            for record in caplog.records
        )


class TestNoLiveNode:
    async def test_cast_with_no_live_node_is_bounded(
        self, redis_server: RedisServer, redis_namespace: str
    ) -> None:
        """A cast from a node that hosts nothing, with no member live, fails after its timeout: nothing sent."""
        async with node(redis_server.url, redis_namespace, "caller", host=False) as caller:
            with trio.fail_after(10), pytest.raises(NoLiveNodeError) as caught:
                await caller.cast("t-1", add(), timeout=0.2)
            assert (
                str(caught.value)
                == "no live node to send agent 't-1' a signal within 0.2 s; nothing was sent"
            )
            inboxes = await caller.node.client.keys(f"{{{redis_namespace}}}:cluster:inbox:*")
            assert inboxes <= {f"{{{redis_namespace}}}:cluster:inbox:caller".encode()}  # no other node's

    async def test_cast_reaches_a_node_that_joins_within_the_timeout(
        self, redis_server: RedisServer, redis_namespace: str
    ) -> None:
        """A cast waiting for a live node is sent once one joins, within its timeout."""
        async with (
            node(redis_server.url, redis_namespace, "caller", host=False) as caller,
            trio.open_nursery() as nursery,
        ):
            nursery.start_soon(lambda: caller.cast("t-1", add(3), timeout=20))
            async with node(redis_server.url, redis_namespace, "host") as host:
                agent = await host.call("t-1", Signal(type="tally.read", source="/t"), timeout=5)
                for _ in range(500):  # the cast's signal is applied once it is sent
                    if agent.state.total == 3:
                        break
                    await trio.sleep(0.02)
                    agent = await host.call("t-1", Signal(type="tally.read", source="/t"), timeout=5)
                assert agent.state.total == 3
