"""The Redis store's wakeup index: kept by the scripts that write and delete states (fenced writes too), read
back as it was written, refused by key when it is not ours; and a runtime on a Redis store wakes a sleeper
that an earlier runtime left with a timer, as on SQLite."""

from __future__ import annotations

import datetime as dt
import re

import attrs
import pytest
import trio

from dsl import agent, route
from jido._redis import RedisClient
from jido.errors import BrokenError
from jido.runtime.runtime import open_runtime
from jido.store.redis import FencedRedisStore, FencedWriteError, RedisStore
from jido.store.store import StateWrite, Wakeup, WakeupIndex
from jido.telemetry import Event, attach
from tests.redis.server import redis_client as redis_client
from tests.redis.server import redis_namespace as redis_namespace
from tests.redis.server import redis_server as redis_server
from tests.runtime.sleepers import Later, Note, command

T0 = dt.datetime(2026, 1, 1, 12, 0, tzinfo=dt.UTC)


def wake_key(namespace: str) -> str:
    return f"{{{namespace}}}:store:wake"


class TestIndex:
    async def test_fenced_writes_keep_the_index(
        self, redis_client: RedisClient, redis_namespace: str
    ) -> None:
        """Writes and deletes through the fenced view index and unindex like the store's own; the view
        itself lists nothing (in a cluster an agent wakes only where its lease is)."""
        store = RedisStore(redis_client, namespace=redis_namespace)
        fenced = store.fenced(lambda agent_id: 1)
        await fenced.save_many([StateWrite("a", "{}", wake_at=T0), StateWrite("b", "{}", wake_at=T0)])
        assert await fenced.delete("b")
        assert await store.list_wakeups() == [Wakeup(T0, "a")]
        assert isinstance(store, WakeupIndex)
        assert not isinstance(fenced, WakeupIndex) and isinstance(fenced, FencedRedisStore)

    async def test_a_fenced_out_write_indexes_nothing(
        self, redis_client: RedisClient, redis_namespace: str
    ) -> None:
        """A write refused by the fence changes no wakeup."""
        store = RedisStore(redis_client, namespace=redis_namespace)
        await store.save_many([StateWrite("a", "{}", wake_at=T0)])
        await store.raise_fence("a", 5)
        with pytest.raises(FencedWriteError):
            await store.fenced(lambda agent_id: 4).save_many([StateWrite("a", "{}")])
        assert await store.list_wakeups() == [Wakeup(T0, "a")]

    async def test_index_of_another_type(self, redis_client: RedisClient, redis_namespace: str) -> None:
        """A wakeup index key holding another type is a BrokenError naming it."""
        store = RedisStore(redis_client, namespace=redis_namespace)
        key = wake_key(redis_namespace)
        await redis_client.set(key, "x")
        with pytest.raises(
            BrokenError, match=rf"^Redis key {re.escape(repr(key))} holds another type than our wakeup index$"
        ):
            await store.list_wakeups()

    @pytest.mark.parametrize("member", [b"soon:a", b"00000000000000000000a", b"4611686018427387904:\xff"])
    async def test_a_member_not_ours(
        self, redis_client: RedisClient, redis_namespace: str, member: bytes
    ) -> None:
        """A member that is not a wakeup (no time, no separator, an id that is not UTF-8) is a BrokenError
        naming the key."""
        store = RedisStore(redis_client, namespace=redis_namespace)
        key = wake_key(redis_namespace)
        await redis_client.zadd(key, {member: 0})
        with pytest.raises(
            BrokenError, match=rf"^Redis key {re.escape(repr(key))} holds a member that is not"
        ):
            await store.list_wakeups()

    async def test_a_state_from_before_the_index(
        self, redis_client: RedisClient, redis_namespace: str
    ) -> None:
        """A state written without the index (an older version) is listed from its next write with a wake_at,
        and its delete leaves the index as it was."""
        store = RedisStore(redis_client, namespace=redis_namespace)
        await store.save_many([StateWrite("a", "{}", wake_at=T0), StateWrite("b", "{}", wake_at=T0)])
        await redis_client.delete([wake_key(redis_namespace)])
        await redis_client.hdel(f"{{{redis_namespace}}}:store:s:a", ["w"])
        assert await store.list_wakeups() == []
        await store.save_many([StateWrite("a", "{}", wake_at=T0)])
        assert await store.delete("b")
        assert await store.list_wakeups() == [Wakeup(T0, "a")]


@agent(idle_timeout=0.05)
@route("clock.*", Note)
@route("set.later", Later)
class Napper:
    log: list[str] = attrs.field(factory=list)


class TestRuntime:
    async def test_timer_outlives_the_runtime(self, redis_client: RedisClient, redis_namespace: str) -> None:
        """A sleeper's timer set in one runtime on a Redis store is in the store's wakeup index, and fires
        once in the next runtime on the store, which finds it there."""
        asleep = trio.Event()
        handle = attach("jido.agent.hibernated", lambda event: asleep.set())
        try:
            store = RedisStore(redis_client, namespace=redis_namespace)
            async with open_runtime(store=store) as rt:
                await rt.agent(Napper, "n").call(command("set.later", delay=0.5))
                with trio.fail_after(10):
                    await asleep.wait()
        finally:
            handle.detach()
        index = RedisStore(redis_client, namespace=redis_namespace)
        assert [w.agent_id for w in await index.list_wakeups()] == ["n"]
        fired = trio.Event()
        timers: list[str] = []

        def on_timer(event: Event) -> None:
            if event.fields["signal_type"] == "clock.timer":
                timers.append(event.fields["agent_id"])
                fired.set()

        handle = attach("jido.signal.handled", on_timer)
        try:
            store = RedisStore(redis_client, namespace=redis_namespace)
            async with open_runtime(store=store, agents=[Napper]) as rt:
                with trio.fail_after(10):
                    await fired.wait()
                assert (await rt.activate("n")).state.log == ["clock.timer"]
        finally:
            handle.detach()
        assert timers == ["n"]
        assert await index.list_wakeups() == []
