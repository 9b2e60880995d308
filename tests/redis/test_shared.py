"""Several clients on one namespace, as several nodes are: appends get distinct offsets from one place, and
compare-and-set lets exactly one of two racing writers win."""

from __future__ import annotations

import pytest
import trio

from jido._redis import open_redis
from jido.bus.redis import RedisJournal
from jido.errors import StaleStateError
from jido.signal import Signal
from jido.store.redis import RedisStore
from jido.store.store import StateWrite
from tests.redis import server
from tests.redis.server import RedisServer
from tests.redis.server import redis_namespace as redis_namespace
from tests.redis.server import redis_server as redis_server


async def race(stores: list[RedisStore], expected: int) -> list[str]:
    """Both stores write agent "a" expecting revision ``expected`` at once; what each got."""
    outcomes: list[str] = []

    async def write(k: int) -> None:
        try:
            await stores[k].save_many([StateWrite("a", f"{k}", expected_revision=expected)])
            outcomes.append("stored")
        except StaleStateError:
            outcomes.append("stale")

    async with trio.open_nursery() as nursery:
        nursery.start_soon(write, 0)
        nursery.start_soon(write, 1)
    return outcomes


class TestSharedNamespace:
    async def test_appends_from_several_clients(
        self, redis_server: RedisServer, redis_namespace: str
    ) -> None:
        """Three clients appending at once: offsets 1..N, each signal once, read the same from any client."""
        async with (
            open_redis(redis_server.url) as one,
            open_redis(redis_server.url) as two,
            open_redis(redis_server.url) as three,
        ):
            journals = [RedisJournal(c, namespace=redis_namespace) for c in (one, two, three)]

            async def publish(node: int) -> None:
                for i in range(30):
                    await journals[node].append(
                        [Signal(type="order.placed", source=f"/n{node}", data={"i": i})]
                    )

            async with trio.open_nursery() as nursery:
                for node in range(3):
                    nursery.start_soon(publish, node)
            records = await journals[0].read(limit=1000)
            assert [r.offset for r in records] == list(range(1, 91))
            assert sorted((r.signal.source, r.signal.data["i"]) for r in records) == sorted(  # type: ignore[index]
                (f"/n{n}", i) for n in range(3) for i in range(30)
            )
            assert await journals[2].read(limit=1000) == records
            per_node = [
                [r.signal.data["i"] for r in records if r.signal.source == f"/n{n}"] for n in range(3)
            ]  # type: ignore[index]
            assert per_node == [list(range(30))] * 3  # each publisher's order kept

    async def test_racing_writers(self, redis_server: RedisServer, redis_namespace: str) -> None:
        """Two clients writing the same revision at once: one stores, the other gets StaleStateError."""
        async with open_redis(redis_server.url) as one, open_redis(redis_server.url) as two:
            stores = [RedisStore(c, namespace=redis_namespace) for c in (one, two)]
            for round_ in range(20):
                assert sorted(await race(stores, round_)) == ["stale", "stored"]
            loaded = await stores[0].load("a")
            assert loaded is not None and loaded.revision == 20


class TestServerBinary:
    def test_missing_binary_skips(self, monkeypatch: pytest.MonkeyPatch) -> None:
        """Without redis-server the Redis tests skip, saying why."""
        monkeypatch.setattr(server.shutil, "which", lambda _: None)
        monkeypatch.delenv("JIDO_REQUIRE_REDIS", raising=False)
        with pytest.raises(pytest.skip.Exception, match=r"^redis-server not found on PATH"):
            server.redis_binary()

    def test_missing_binary_fails_when_required(self, monkeypatch: pytest.MonkeyPatch) -> None:
        """With JIDO_REQUIRE_REDIS=1 (as CI sets it), a missing redis-server fails the tests instead."""
        monkeypatch.setattr(server.shutil, "which", lambda _: None)
        monkeypatch.setenv("JIDO_REQUIRE_REDIS", "1")
        with pytest.raises(
            pytest.fail.Exception, match=r"JIDO_REQUIRE_REDIS=1 requires the Redis tests to run$"
        ):
            server.redis_binary()
