"""Membership, against a real Redis: heartbeat keys with server-side TTLs, live nodes, rejoining after being
presumed dead. Expiry is done explicitly (deleting the key, as the TTL would); heartbeats are driven by trio's
MockClock, never by waiting."""

from __future__ import annotations

import pytest
import trio
import trio.testing

from jido._redis import RedisClient, open_redis
from jido.cluster.membership import Membership
from jido.errors import BrokenError
from tests.redis.server import RedisServer
from tests.redis.server import private_redis as private_redis
from tests.redis.server import redis_client as redis_client
from tests.redis.server import redis_namespace as redis_namespace
from tests.redis.server import redis_server as redis_server


def member(client: RedisClient, namespace: str, node_id: str, ttl: float = 9.0) -> Membership:
    return Membership(client, node_id=node_id, namespace=namespace, ttl=ttl)


class TestJoinAndLeave:
    async def test_join_writes_key_with_ttl(self, redis_client: RedisClient, redis_namespace: str) -> None:
        """Joining writes the heartbeat key with the TTL on the server; the node is live."""
        a = member(redis_client, redis_namespace, "a", ttl=4.0)
        await a.join()
        assert 0 < await redis_client.pttl(a.key()) <= 4000
        assert await a.live_nodes() == ["a"]
        assert a.interval == pytest.approx(4.0 / 3)

    async def test_several_nodes(self, redis_client: RedisClient, redis_namespace: str) -> None:
        """Every joined node is live; one that left is not."""
        nodes = [member(redis_client, redis_namespace, n) for n in ("c", "a", "b")]
        for m in nodes:
            await m.join()
        assert await nodes[0].live_nodes() == ["a", "b", "c"]
        await nodes[2].leave()
        assert await nodes[0].live_nodes() == ["a", "c"]

    async def test_expired_node_is_pruned(self, redis_client: RedisClient, redis_namespace: str) -> None:
        """A node whose key expired is not live, and is pruned from the registry."""
        a = member(redis_client, redis_namespace, "a")
        b = member(redis_client, redis_namespace, "b")
        await a.join()
        await b.join()
        await redis_client.delete([b.key()])  # what the TTL running out does
        assert await a.live_nodes() == ["a"]
        assert await redis_client.smembers(f"{{{redis_namespace}}}:cluster:nodes") == {b"a"}

    async def test_heartbeat_after_expiry_rejoins(
        self, redis_client: RedisClient, redis_namespace: str
    ) -> None:
        """A node that finds its key gone at a heartbeat writes it again and counts a rejoin."""
        a = member(redis_client, redis_namespace, "a")
        await a.join()
        assert await a.beat() is True
        await redis_client.delete([a.key()])
        assert await a.beat() is False
        assert await a.live_nodes() == ["a"]
        assert (a.statistics().heartbeats, a.statistics().rejoins) == (1, 1)

    async def test_beat_before_join(self, redis_client: RedisClient, redis_namespace: str) -> None:
        """A heartbeat before joining is a programming error, said plainly."""
        with pytest.raises(RuntimeError, match=r"^join\(\) the cluster before the first heartbeat$"):
            await member(redis_client, redis_namespace, "a").beat()

    async def test_registry_of_another_type(self, redis_client: RedisClient, redis_namespace: str) -> None:
        """A registry key holding a string is refused, naming it, and left as it was."""
        registry = f"{{{redis_namespace}}}:cluster:nodes"
        await redis_client.set(registry, "mine")
        a = member(redis_client, redis_namespace, "a")
        with pytest.raises(BrokenError, match=r"holds a string, not a set$"):
            await a.join()
        with pytest.raises(BrokenError, match=r"holds a string, not a set$"):
            await a.live_nodes()
        assert await redis_client.get(registry) == b"mine"

    @pytest.mark.parametrize(
        ("options", "message"),
        [
            ({"ttl": 3.0, "interval": 3.0}, r"^interval \(3 s\) must be shorter than ttl \(3 s\)$"),
            ({"ttl": -1}, r"^ttl must be from 0\.001 to 86400 seconds, got -1$"),
            (
                {"node_id": "a b"},
                r"^node_id must be a non-empty str without spaces or control characters, of at most 200 characters, got 'a b'$",
            ),
        ],
    )
    async def test_bad_options(
        self, redis_client: RedisClient, options: dict[str, object], message: str
    ) -> None:
        """Bad options are refused when the membership is made."""
        arguments: dict[str, object] = {"node_id": "a"} | options
        with pytest.raises(ValueError, match=message):
            Membership(redis_client, **arguments)  # type: ignore[arg-type]


class TestServe:
    async def test_beats_every_interval(
        self, redis_client: RedisClient, redis_namespace: str, mock_clock: trio.testing.MockClock
    ) -> None:
        """serve() joins, then renews the key each interval; cancelled, it leaves (the key is gone)."""
        a = member(redis_client, redis_namespace, "a", ttl=3.0)
        async with trio.open_nursery() as nursery:
            await nursery.start(a.serve)
            assert await a.live_nodes() == ["a"]
            for _ in range(3):
                mock_clock.jump(a.interval)
                await a.wait_beat()
            await redis_client.delete([a.key()])
            mock_clock.jump(a.interval)
            await a.wait_beat()
            assert (a.statistics().heartbeats, a.statistics().rejoins) == (3, 1)
            assert await a.live_nodes() == ["a"]
            nursery.cancel_scope.cancel()
        assert await redis_client.exists([a.key()]) == 0

    async def test_redis_lost_and_back(
        self, private_redis: RedisServer, mock_clock: trio.testing.MockClock
    ) -> None:
        """With Redis gone, heartbeats fail (counted) and the loop goes on; when Redis is back (empty), the
        node joins again."""
        async with open_redis(private_redis.url) as client:
            a = Membership(client, node_id="a", ttl=3.0, url=private_redis.url)
            async with trio.open_nursery() as nursery:
                await nursery.start(a.serve)
                private_redis.stop()
                mock_clock.jump(a.interval)
                await a.wait_beat()
                mock_clock.jump(a.interval)
                await a.wait_beat()
                assert a.statistics().failures == 2
                private_redis.start()
                mock_clock.jump(a.interval)
                await a.wait_beat()
                assert a.statistics().rejoins == 1
                assert await a.live_nodes() == ["a"]
                nursery.cancel_scope.cancel()
