"""Leases with fencing tokens, against a real Redis: one holder per agent, tokens that only grow, and a former
holder's late writes refused by the store."""

from __future__ import annotations

import re

import pytest

from jido._redis import RedisClient
from jido.cluster.leases import Lease, Leases
from jido.errors import BrokenError
from jido.store.redis import FencedWriteError, RedisStore
from jido.store.store import StateWrite
from tests.redis.server import redis_client as redis_client
from tests.redis.server import redis_namespace as redis_namespace
from tests.redis.server import redis_server as redis_server


def node(client: RedisClient, namespace: str, node_id: str, ttl: float = 10.0) -> Leases:
    return Leases(client, node_id=node_id, namespace=namespace, ttl=ttl)


class TestAcquire:
    async def test_first_holder_gets_token_one(self, redis_client: RedisClient, redis_namespace: str) -> None:
        """The first lease on an agent is this node's, with token 1, held with the TTL on the server."""
        a = node(redis_client, redis_namespace, "a", ttl=7.5)
        lease = await a.acquire("agent-1")
        assert lease == Lease("agent-1", "a", 1)
        assert a.token("agent-1") == 1 and a.held() == [lease]
        pttl = await redis_client.pttl(a.key("agent-1"))
        assert 0 < pttl <= 7500
        assert await a.holder("agent-1") == lease

    async def test_held_elsewhere(self, redis_client: RedisClient, redis_namespace: str) -> None:
        """A second node is told who holds the lease, and holds nothing (token 0)."""
        a = node(redis_client, redis_namespace, "a")
        b = node(redis_client, redis_namespace, "b")
        await a.acquire("x")
        assert await b.acquire("x") == Lease("x", "a", 1)
        assert b.token("x") == 0 and b.held() == []
        assert b.statistics().refused == 1

    async def test_acquire_again_extends(self, redis_client: RedisClient, redis_namespace: str) -> None:
        """The holder acquiring again keeps its token (and its lease is extended)."""
        a = node(redis_client, redis_namespace, "a")
        first = await a.acquire("x")
        assert await a.acquire("x") == first
        assert a.statistics().acquired == 1

    async def test_tokens_only_grow(self, redis_client: RedisClient, redis_namespace: str) -> None:
        """Each new holder, after a release or an expiry, gets a higher token than every holder before."""
        a = node(redis_client, redis_namespace, "a")
        b = node(redis_client, redis_namespace, "b")
        first = await a.acquire("x")
        assert await a.release(first) is True
        second = await b.acquire("x")
        await redis_client.delete([b.key("x")])  # what the TTL running out does
        third = await a.acquire("x")
        assert [first.token, second.token, third.token] == [1, 2, 3]
        assert (second.node_id, third.node_id) == ("b", "a")

    async def test_agents_independent(self, redis_client: RedisClient, redis_namespace: str) -> None:
        """Leases and tokens are per agent."""
        a = node(redis_client, redis_namespace, "a")
        b = node(redis_client, redis_namespace, "b")
        assert (await a.acquire("x")).token == 1
        assert await b.acquire("y") == Lease("y", "b", 1)


class TestRenewAndRelease:
    async def test_renew_own(self, redis_client: RedisClient, redis_namespace: str) -> None:
        """A lease still held renews."""
        a = node(redis_client, redis_namespace, "a")
        lease = await a.acquire("x")
        assert await a.renew(lease) is True
        assert await a.renew_all() == []

    async def test_renew_after_takeover_is_lost(
        self, redis_client: RedisClient, redis_namespace: str
    ) -> None:
        """A lease that expired and was taken by another node does not renew; it is forgotten and counted."""
        a = node(redis_client, redis_namespace, "a")
        b = node(redis_client, redis_namespace, "b")
        lease = await a.acquire("x")
        await redis_client.delete([a.key("x")])
        await b.acquire("x")
        assert await a.renew_all() == [lease]
        assert a.token("x") == 0 and a.statistics().lost == 1
        assert await b.holder("x") == Lease("x", "b", 2)

    async def test_release_not_ours(self, redis_client: RedisClient, redis_namespace: str) -> None:
        """Releasing a lease another node took over does not delete the new holder's."""
        a = node(redis_client, redis_namespace, "a")
        b = node(redis_client, redis_namespace, "b")
        lease = await a.acquire("x")
        await redis_client.delete([a.key("x")])
        await b.acquire("x")
        assert await a.release(lease) is False
        assert await b.holder("x") == Lease("x", "b", 2)

    async def test_cannot_renew_anothers(self, redis_client: RedisClient, redis_namespace: str) -> None:
        """A node refuses to renew a lease held by another node."""
        a = node(redis_client, redis_namespace, "a")
        with pytest.raises(ValueError, match=r"is not held by node 'a'$"):
            await a.renew(Lease("x", "b", 1))


class TestFencing:
    async def test_paused_holder_cannot_overwrite(
        self, redis_client: RedisClient, redis_namespace: str
    ) -> None:
        """A holder whose lease expired (it paused) writes after the new holder raised the fence: refused,
        and the new holder's state stays."""
        store = RedisStore(redis_client, namespace=redis_namespace)
        a = node(redis_client, redis_namespace, "a")
        b = node(redis_client, redis_namespace, "b")
        await a.acquire("x")
        await store.fenced(a.token).save_many([StateWrite("x", "from a")])
        # a pauses past its TTL; Redis drops its lease; b takes over and raises the fence before loading.
        await redis_client.delete([a.key("x")])
        taken = await b.acquire("x")
        assert await store.raise_fence("x", taken.token) == 2
        # a wakes and writes with the token it still believes in (it has not renewed yet).
        with pytest.raises(
            FencedWriteError, match=r"fencing token 2; a write with the older token 1 is refused$"
        ):
            await store.fenced(a.token).save_many([StateWrite("x", "stale from a")])
        await store.fenced(b.token).save_many([StateWrite("x", "from b")])
        loaded = await store.load("x")
        assert loaded is not None and loaded.data == "from b"

    async def test_no_lease_no_write(self, redis_client: RedisClient, redis_namespace: str) -> None:
        """A node holding no lease writes with token 0, refused once a holder wrote."""
        store = RedisStore(redis_client, namespace=redis_namespace)
        a = node(redis_client, redis_namespace, "a")
        b = node(redis_client, redis_namespace, "b")
        await a.acquire("x")
        await store.fenced(a.token).save_many([StateWrite("x", "1")])
        with pytest.raises(FencedWriteError):
            await store.fenced(b.token).save_many([StateWrite("x", "2")])

    async def test_raise_fence_never_lowers(self, redis_client: RedisClient, redis_namespace: str) -> None:
        """Raising the fence to a lower token keeps the higher one, and says so."""
        store = RedisStore(redis_client, namespace=redis_namespace)
        assert await store.raise_fence("x", 5) == 5
        assert await store.raise_fence("x", 3) == 5


class TestBadInput:
    async def test_lease_key_of_another_type(self, redis_client: RedisClient, redis_namespace: str) -> None:
        """A lease key holding a hash is refused, naming the key, and left as it was."""
        a = node(redis_client, redis_namespace, "a")
        await redis_client.hset(a.key("x"), {"f": "v"})
        with pytest.raises(
            BrokenError, match=rf"^Redis key {re.escape(repr(a.key('x')))} holds a hash, not a lease$"
        ):
            await a.acquire("x")
        assert await redis_client.hget(a.key("x"), "f") == b"v"

    @pytest.mark.parametrize(
        ("options", "error", "message"),
        [
            ({"node_id": ""}, ValueError, r"^node_id must be a non-empty str without spaces"),
            ({"node_id": "a b"}, ValueError, r"^node_id must be a non-empty str without spaces"),
            ({"node_id": "a", "ttl": 0}, ValueError, r"^ttl must be from 0\.001 to 86400 seconds, got 0$"),
            ({"node_id": "a", "ttl": "5"}, TypeError, r"^ttl must be a number of seconds, got '5'$"),
        ],
    )
    async def test_bad_options(
        self, redis_client: RedisClient, options: dict[str, object], error: type[Exception], message: str
    ) -> None:
        """Bad node ids and TTLs are refused when the leases are made."""
        with pytest.raises(error, match=message):
            Leases(redis_client, **options)  # type: ignore[arg-type]
