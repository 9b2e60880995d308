"""Bad input for the Redis backends, against a real server: unreachable at start, lost or silent while
running, keys of ours holding another type, corrupt records, a foreign or newer layout."""

from __future__ import annotations

import datetime as dt
import re

import pytest

from jido._redis import RedisClient, RedisUnavailableError, open_redis, redact_url
from jido.bus.redis import RedisJournal, open_redis_journal
from jido.errors import BrokenError, StaleStateError
from jido.runtime.runtime import open_runtime
from jido.signal import Signal
from jido.store.redis import RedisStore, open_redis_store
from jido.store.store import StateWrite
from tests.redis.server import RedisServer, _free_port
from tests.redis.server import private_redis as private_redis
from tests.redis.server import redis_client as redis_client
from tests.redis.server import redis_namespace as redis_namespace
from tests.redis.server import redis_server as redis_server
from tests.runtime.agents import Counter
from tests.runtime.agents import sig as counter_sig


def sig(i: int = 0) -> Signal:
    return Signal(type="order.placed", source="/test", data={"i": i})


class TestRedactUrl:
    @pytest.mark.parametrize(
        ("url", "shown"),
        [
            ("redis://127.0.0.1:6379/0", "redis://127.0.0.1:6379/0"),
            ("redis://:s3cret@127.0.0.1:6379/0", "redis://:***@127.0.0.1:6379/0"),
            ("redis://bob:s3cret@db.example:6380/2", "redis://bob:***@db.example:6380/2"),
            ("rediss://bob:s3cret@[::1]:6380", "rediss://bob:***@[::1]:6380"),
        ],
    )
    def test_password_hidden(self, url: str, shown: str) -> None:
        """A password in a URL is shown as ***; a URL without one is shown as it is."""
        assert redact_url(url) == shown


class TestUnreachableAtStart:
    async def test_store_names_the_url(self) -> None:
        """Opening a store on a port nobody listens on raises one error naming the URL, not the password."""
        port = _free_port()
        url = f"redis://:hunter2@127.0.0.1:{port}/0"
        with pytest.raises(RedisUnavailableError) as caught:
            async with open_redis_store(url):
                pytest.fail("opened")  # pragma: no cover
        message = str(caught.value)
        assert message.startswith(f"Redis at redis://:***@127.0.0.1:{port}/0 is unavailable: ")
        assert "hunter2" not in message and "hunter2" not in repr(caught.value)
        assert isinstance(caught.value, BrokenError)

    async def test_journal_names_the_url(self) -> None:
        """The same for a journal."""
        port = _free_port()
        with pytest.raises(
            RedisUnavailableError, match=rf"^Redis at redis://127\.0\.0\.1:{port}/0 is unavailable: "
        ):
            async with open_redis_journal(f"redis://127.0.0.1:{port}/0"):
                pytest.fail("opened")  # pragma: no cover

    async def test_not_a_url(self) -> None:
        """A URL that is not a Redis URL is refused as such."""
        with pytest.raises(ValueError, match=r"^not a Redis URL: "):
            async with open_redis("http://127.0.0.1:1/"):
                pytest.fail("opened")  # pragma: no cover

    async def test_callers_errors_come_out_unwrapped(self, redis_server: RedisServer) -> None:
        """An error raised inside ``open_redis`` reaches the caller as itself, not in an ExceptionGroup."""
        with pytest.raises(KeyError, match="mine"):
            async with open_redis(redis_server.url):
                raise KeyError("mine")


class TestLostWhileRunning:
    async def test_store_calls_fail_then_recover(self, private_redis: RedisServer) -> None:
        """With the server gone, each store call raises RedisUnavailableError; started again, calls work."""
        async with open_redis_store(private_redis.url) as store:
            await store.save_many([StateWrite("a", "1")])
            private_redis.stop()
            for call in (store.load("a"), store.save_many([StateWrite("a", "2")]), store.count()):
                with pytest.raises(
                    RedisUnavailableError, match=r"^Redis at redis://127\.0\.0\.1:\d+/0 is unavailable: "
                ):
                    await call
            private_redis.start()
            [state] = await store.save_many([StateWrite("a", "3")])
            assert state.revision == 1  # the server kept nothing on disk: a new server
            assert store.statistics().failures == 1

    async def test_journal_append_fails_then_recovers(self, private_redis: RedisServer) -> None:
        """With the server gone, append and read raise RedisUnavailableError; started again, they work."""
        async with open_redis_journal(private_redis.url) as journal:
            await journal.append([sig(0)])
            private_redis.stop()
            with pytest.raises(RedisUnavailableError):
                await journal.append([sig(1)])
            with pytest.raises(RedisUnavailableError):
                await journal.read()
            private_redis.start()
            assert [r.offset for r in await journal.append([sig(2)])] == [1]

    async def test_silent_server_times_out(self, private_redis: RedisServer) -> None:
        """A server that accepts and never answers (SIGSTOP) fails the call after command_timeout; once it
        answers again, what was appended before is there and the client is in step."""
        async with open_redis_journal(private_redis.url, command_timeout=0.2) as journal:
            await journal.append([sig(0), sig(1)])
            private_redis.pause()
            try:
                with pytest.raises(RedisUnavailableError, match=r"is unavailable: no answer within 0\.2 s$"):
                    await journal.read()
            finally:
                private_redis.resume()
            assert [r.signal.data for r in await journal.read()] == [{"i": 0}, {"i": 1}]

    async def test_runtime_keeps_running(self, private_redis: RedisServer) -> None:
        """An agent whose store is gone answers calls with the error and is not restarted; the runtime runs
        on, and the agent stores again once the server answers."""
        async with open_redis(private_redis.url) as client:
            store = RedisStore(client, url=private_redis.url, command_timeout=0.2)
            async with open_runtime(store=store) as rt:
                ref = await rt.start_agent(Counter, id="c")
                await ref.call(counter_sig("add"))
                private_redis.pause()
                try:
                    with pytest.raises(RedisUnavailableError):
                        await ref.call(counter_sig("add"))
                finally:
                    private_redis.resume()
                assert ref.restarts == 0
                # The write that timed out was applied once the server woke (only its answer was lost):
                # the next write finds that out by compare-and-set, fails, and the agent adopts what is
                # stored; the one after goes through.
                for _ in range(2):
                    try:
                        agent_after = await ref.call(counter_sig("add"))
                        break
                    except StaleStateError:
                        pass
                assert agent_after.state.count in (2, 3)
                stored = await store.load("c")
                assert stored is not None and f'"count":{agent_after.state.count}' in stored.data
                assert ref.restarts == 0


class TestWrongTypes:
    async def test_state_key_of_another_type(self, redis_client: RedisClient, redis_namespace: str) -> None:
        """A state key holding a string: load and save raise BrokenError naming it, nothing is written."""
        store = RedisStore(redis_client, namespace=redis_namespace)
        key = f"{{{redis_namespace}}}:store:s:a"
        await redis_client.set(key, "not ours")
        with pytest.raises(
            BrokenError, match=rf"^Redis key {re.escape(repr(key))} holds a string, not a state record"
        ):
            await store.load("a")
        with pytest.raises(BrokenError, match=re.escape(repr(key))):
            await store.save_many([StateWrite("b", "1"), StateWrite("a", "1")])
        assert await store.load("b") is None
        assert await redis_client.get(key) == b"not ours"

    async def test_corrupt_revision(self, redis_client: RedisClient, redis_namespace: str) -> None:
        """A state record whose revision is not a number is refused by load and by save, and kept."""
        store = RedisStore(redis_client, namespace=redis_namespace)
        await store.save_many([StateWrite("a", "1")])
        key = f"{{{redis_namespace}}}:store:s:a"
        await redis_client.hset(key, {"r": "many"})
        with pytest.raises(
            BrokenError, match=rf"^Redis key {re.escape(repr(key))} has a revision that is not an integer"
        ):
            await store.load("a")
        with pytest.raises(BrokenError, match=r"is not a readable state record; nothing was written$"):
            await store.save_many([StateWrite("a", "2")])
        assert await redis_client.hget(key, "d") == b"1"

    async def test_state_not_utf8(self, redis_client: RedisClient, redis_namespace: str) -> None:
        """State bytes that are not UTF-8 are refused with the key named."""
        store = RedisStore(redis_client, namespace=redis_namespace)
        await store.save_many([StateWrite("a", "1")])
        await redis_client.hset(f"{{{redis_namespace}}}:store:s:a", {"d": b"\xff\xfe"})
        with pytest.raises(BrokenError, match=r"holds state that is not UTF-8 text$"):
            await store.load("a")

    async def test_foreign_store_layout(self, redis_client: RedisClient, redis_namespace: str) -> None:
        """A namespace whose layout marker is another application's is refused, and nothing is written."""
        meta = f"{{{redis_namespace}}}:store:meta"
        await redis_client.hset(meta, {"kind": "acme.cache", "version": "1"})
        store = RedisStore(redis_client, namespace=redis_namespace)
        with pytest.raises(
            BrokenError, match=r"is not a jido state store \(kind acme\.cache\); nothing was written$"
        ):
            await store.save_many([StateWrite("a", "1")])
        with pytest.raises(BrokenError, match=r"is not a jido state store \(kind acme\.cache\)$"):
            await store.load("a")
        assert await redis_client.exists([f"{{{redis_namespace}}}:store:s:a"]) == 0

    async def test_newer_store_layout(self, redis_client: RedisClient, redis_namespace: str) -> None:
        """A layout version newer than this code's is refused, never overwritten."""
        meta = f"{{{redis_namespace}}}:store:meta"
        await redis_client.hset(meta, {"kind": "jido.store", "version": "9"})
        store = RedisStore(redis_client, namespace=redis_namespace)
        with pytest.raises(BrokenError, match=r"has layout version 9, newer than 1; nothing was written$"):
            await store.save_many([StateWrite("a", "1")])
        assert await redis_client.hget(meta, "version") == b"9"

    async def test_stream_key_of_another_type(self, redis_client: RedisClient, redis_namespace: str) -> None:
        """A journal whose stream key holds a list: append and read raise BrokenError naming it."""
        journal = RedisJournal(redis_client, namespace=redis_namespace)
        key = f"{{{redis_namespace}}}:journal:stream"
        await redis_client.rpush(key, ["x"])
        with pytest.raises(
            BrokenError, match=rf"^Redis key {re.escape(repr(key))} holds a list, not a stream"
        ):
            await journal.append([sig()])
        with pytest.raises(BrokenError, match=re.escape(repr(key))):
            await journal.read()
        assert await redis_client.lrange(key, 0, -1) == [b"x"]

    async def test_corrupt_stream_entry(self, redis_client: RedisClient, redis_namespace: str) -> None:
        """An entry whose signal is not a CloudEvent is refused with the key and offset named."""
        journal = RedisJournal(redis_client, namespace=redis_namespace)
        await journal.append([sig(0)])
        key = f"{{{redis_namespace}}}:journal:stream"
        await redis_client.xadd(key, {"s": "{not json", "t": "0"}, identifier="2-0")
        await redis_client.hset(f"{{{redis_namespace}}}:journal:meta", {"last": "2"})
        with pytest.raises(
            BrokenError, match=rf"^Redis key {re.escape(repr(key))} holds an unreadable signal at 2-0: "
        ):
            await journal.read()
        assert [r.offset for r in await journal.read(limit=1)] == [1]

    async def test_foreign_journal_layout(self, redis_client: RedisClient, redis_namespace: str) -> None:
        """A journal namespace marked by another application is refused, and nothing is appended."""
        meta = f"{{{redis_namespace}}}:journal:meta"
        await redis_client.set(meta, "hello")
        journal = RedisJournal(redis_client, namespace=redis_namespace)
        with pytest.raises(BrokenError, match=r"holds a string, not our layout marker; nothing was written$"):
            await journal.append([sig()])
        assert await redis_client.get(meta) == b"hello"


class TestNamespace:
    @pytest.mark.parametrize(("value", "error"), [("", ValueError), ("a{b", ValueError), (3, TypeError)])
    async def test_bad_namespace(
        self, redis_client: RedisClient, value: object, error: type[Exception]
    ) -> None:
        """A namespace must be a non-empty str without braces (it becomes a hash tag)."""
        with pytest.raises(error, match=r"^namespace must be"):
            RedisStore(redis_client, namespace=value)  # type: ignore[arg-type]
        with pytest.raises(error, match=r"^namespace must be"):
            RedisJournal(redis_client, namespace=value)  # type: ignore[arg-type]

    async def test_namespaces_independent(self, redis_client: RedisClient, redis_namespace: str) -> None:
        """Two namespaces on one server do not see each other's states or records."""
        a = RedisStore(redis_client, namespace=redis_namespace + "-a")
        b = RedisStore(redis_client, namespace=redis_namespace + "-b")
        await a.save_many([StateWrite("x", "1")])
        assert await b.load("x") is None and await b.count() == 0
        ja = RedisJournal(redis_client, namespace=redis_namespace + "-a")
        jb = RedisJournal(redis_client, namespace=redis_namespace + "-b")
        await ja.append([sig()])
        assert await jb.last_offset() == 0


class TestServerSaysNo:
    async def test_out_of_memory(self, private_redis: RedisServer) -> None:
        """A server past its maxmemory refuses writes: the store and the journal raise BrokenError saying
        so, and reads still work."""
        async with open_redis(private_redis.url) as client:
            store = RedisStore(client, url=private_redis.url)
            journal = RedisJournal(client, url=private_redis.url)
            await store.save_many([StateWrite("a", "1")])
            await journal.append([sig(0)])
            await client.config_set({"maxmemory": "1"})
            with pytest.raises(
                BrokenError, match=r"^Redis at redis://127\.0\.0\.1:\d+/0 refused a store command: OOM"
            ):
                await store.save_many([StateWrite("b", "1")])
            with pytest.raises(BrokenError, match=r"refused a journal command: OOM"):
                await journal.append([sig(1)])
            assert (await store.load("a")) is not None and await store.load("b") is None
            assert [r.offset for r in await journal.read()] == [1]

    async def test_gap_in_the_stream(self, redis_client: RedisClient, redis_namespace: str) -> None:
        """A stream with an entry deleted by someone else: a time lookup says the stream is broken, by key."""
        journal = RedisJournal(redis_client, namespace=redis_namespace)
        await journal.append([sig(i) for i in range(5)])
        key = f"{{{redis_namespace}}}:journal:stream"
        await redis_client.xdel(key, ["3-0"])
        with pytest.raises(
            BrokenError, match=rf"^Redis key {re.escape(repr(key))} has a gap or an unreadable entry"
        ):
            await journal.offset_at(dt.datetime(2000, 1, 1, tzinfo=dt.UTC))
