"""Durable subscription names on the Redis journal: the per-owner counts a gateway's limit reads stay right
when the namespace was written before they existed or by a node that does not keep them, and a gateway on a
Redis journal enforces the limit and forgets names as on the other journals."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator

import pytest

from jido._redis import RedisClient
from jido.bus.redis import RedisJournal
from jido.gateway import TokenPolicy, ops
from jido.runtime.runtime import Runtime, open_runtime
from tests.gateway.helpers import Counter, raw_client, serving
from tests.redis.server import redis_client as redis_client
from tests.redis.server import redis_namespace as redis_namespace
from tests.redis.server import redis_server as redis_server


def key(namespace: str, suffix: str) -> str:
    return f"{{{namespace}}}:journal:{suffix}"


class TestCounts:
    async def test_counts_made_again_for_an_older_namespace(
        self, redis_client: RedisClient, redis_namespace: str
    ) -> None:
        """A namespace whose bindings were written without counts (before they existed) is counted right
        at the first count, and kept right from then on."""
        journal = RedisJournal(redis_client, namespace=redis_namespace)
        for name, owner in [("a", "alice"), ("b", "alice"), ("c", None)]:
            await journal.bind_subscription(name, pattern="**", owner=owner, offset=0)
        await redis_client.delete([key(redis_namespace, "owners")])
        await redis_client.hdel(key(redis_namespace, "meta"), ["owned"])
        assert [await journal.count_durable(o) for o in ("alice", None)] == [2, 1]
        assert await journal.forget_subscription("a") is True
        await journal.bind_subscription("d", pattern="**", owner=None, offset=0)
        assert [await journal.count_durable(o) for o in ("alice", None)] == [1, 2]

    async def test_counts_made_again_for_any_owner(
        self, redis_client: RedisClient, redis_namespace: str
    ) -> None:
        """Counts made again from the bindings' JSON name an owner outside ASCII as the journal does."""
        journal = RedisJournal(redis_client, namespace=redis_namespace)
        owners = ["caf\u00e9", "\U0001f600 x", 'quote " and \\ slash /']
        for i, owner in enumerate(owners):
            await journal.bind_subscription(f"n{i}", pattern="**", owner=owner, offset=0)
        await redis_client.delete([key(redis_namespace, "owners")])
        await redis_client.hdel(key(redis_namespace, "meta"), ["owned"])
        assert [await journal.count_durable(o) for o in owners] == [1, 1, 1]
        assert await journal.forget_subscription("n1") is True
        assert [await journal.count_durable(o) for o in owners] == [1, 0, 1]

    async def test_bindings_of_an_older_node_are_counted(
        self, redis_client: RedisClient, redis_namespace: str
    ) -> None:
        """A binding written by a node that keeps no counts (an older version, in a rolling upgrade) is
        counted all the same: the counts are made again when they do not cover every binding."""
        journal = RedisJournal(redis_client, namespace=redis_namespace)
        await journal.bind_subscription("a", pattern="**", owner="alice", offset=0)
        binding = json.dumps(["**", "alice"]).encode()
        await redis_client.hset(key(redis_namespace, "bind"), {b"old": binding})
        await redis_client.hset(key(redis_namespace, "cp"), {b"old": b"0"})
        assert await journal.count_durable("alice") == 2
        assert await journal.forget_subscription("old") is True
        assert await journal.count_durable("alice") == 1

    async def test_an_unreadable_binding_counts_for_no_one(
        self, redis_client: RedisClient, redis_namespace: str
    ) -> None:
        """A binding we cannot read stops nobody's count (using it raises, as before) and is forgotten."""
        journal = RedisJournal(redis_client, namespace=redis_namespace)
        await journal.bind_subscription("a", pattern="**", owner="alice", offset=0)
        await redis_client.hset(key(redis_namespace, "bind"), {b"bad": b"not json"})
        await redis_client.hset(key(redis_namespace, "cp"), {b"bad": b"0"})
        assert await journal.count_durable("alice") == 1
        assert await journal.forget_subscription("bad") is True
        assert await journal.count_durable("alice") == 1
        assert await redis_client.hlen(key(redis_namespace, "bind")) == 1


class TestReadSteps:
    async def test_a_read_past_the_first_steps(self, redis_client: RedisClient, redis_namespace: str) -> None:
        """A read that takes several XRANGE steps returns each record once, in order, from its start."""
        from tests.bus.journal_support import sig

        journal = RedisJournal(redis_client, namespace=redis_namespace)
        appended = await journal.append([sig(i) for i in range(300)])
        for start, limit in [(1, 8), (1, 9), (3, 24), (2, 250), (10, 1000)]:
            assert await journal.read(start, limit=limit) == appended[start - 1 : start - 1 + limit]


TOKENS = {"alice-token": TokenPolicy(name="alice")}


def subscribe(request_id: str, durable: str) -> dict[str, object]:
    return {"op": "subscribe", "id": request_id, "pattern": "order.*", "durable": durable}


@pytest.fixture
async def runtime(redis_client: RedisClient, redis_namespace: str) -> AsyncIterator[Runtime]:
    journal = RedisJournal(redis_client, namespace=redis_namespace)
    async with open_runtime(journal=journal) as rt:
        await rt.start_agent(Counter, id="counter")
        yield rt


class TestGateway:
    async def test_limit_and_forget(self, runtime: Runtime, monkeypatch: pytest.MonkeyPatch) -> None:
        """On a Redis journal a new durable name past the identity's limit is forbidden, and unsubscribing
        one with forget removes it (answered, not internal) and makes room."""
        monkeypatch.setattr(ops, "MAX_DURABLE_SUBSCRIPTIONS", 2)
        async with (
            serving(runtime, tokens=TOKENS) as gateway,
            raw_client(gateway.url, token="alice-token") as alice,
        ):
            for n in range(2):
                assert (await alice.request(subscribe(str(n), f"d{n}")))["op"] == "result"
            refused = await alice.request(subscribe("3", "d3"))
            assert (refused["code"], refused["details"]) == ("forbidden", {"limit": 2})
            reply = await alice.request(
                {"op": "unsubscribe", "id": "f", "subscription": "s1", "forget": True}
            )
            assert reply == {"op": "result", "id": "f", "result": {}}
            assert await runtime.bus.journal.get_checkpoint("gateway:d0") is None
            assert (await alice.request(subscribe("4", "d3")))["op"] == "result"
