"""Two runtimes sharing a Redis store through fenced views, as two nodes would: a node whose lease was taken
over (it paused past its TTL) cannot overwrite the state the new owner wrote."""

from __future__ import annotations

import pytest

from jido._redis import RedisClient
from jido.cluster.leases import Leases
from jido.runtime.runtime import open_runtime
from jido.store.redis import FencedWriteError, RedisStore
from tests.redis.server import redis_client as redis_client
from tests.redis.server import redis_namespace as redis_namespace
from tests.redis.server import redis_server as redis_server
from tests.runtime.agents import Counter, sig


async def test_paused_owner_cannot_overwrite(redis_client: RedisClient, redis_namespace: str) -> None:
    """Node a owns the counter and writes; its lease lapses and node b takes over, resuming from the stored
    state; when a wakes and handles a call, its write is refused, and b's state stays."""
    store = RedisStore(redis_client, namespace=redis_namespace)
    a = Leases(redis_client, node_id="a", namespace=redis_namespace)
    b = Leases(redis_client, node_id="b", namespace=redis_namespace)
    lease_a = await a.acquire("c")
    await store.raise_fence("c", lease_a.token)
    async with open_runtime(store=store.fenced(a.token)) as node_a:
        ref_a = await node_a.start_agent(Counter, id="c")
        await ref_a.call(sig("add", by=1))

        await redis_client.delete([a.key("c")])  # a pauses past its lease TTL: Redis drops the lease
        lease_b = await b.acquire("c")
        assert await store.raise_fence("c", lease_b.token) == 2
        async with open_runtime(store=store.fenced(b.token)) as node_b:
            ref_b = await node_b.start_agent(Counter, id="c")
            assert ref_b.state.count == 1  # resumed from what a stored
            await ref_b.call(sig("add", by=10))

            # a wakes, still believing it owns the counter, and handles a call.
            with pytest.raises(FencedWriteError, match=r"fencing token 2; a write with the older token 1"):
                await ref_a.call(sig("add", by=5))
            stored = await store.load("c")
            assert stored is not None and '"count":11' in stored.data
            assert ref_b.state.count == 11
