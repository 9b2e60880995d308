"""ClusterRuntime when things go wrong: a resolve that raises, no live node, bad node ids and namespaces."""

from __future__ import annotations

import contextlib
import logging
import re
import subprocess
import sys
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import attrs
import pytest
import trio

from dsl import agent, route
from jido._redis import RedisClient
from jido.cluster.leases import Leases
from jido.cluster.remote import NoLiveNodeError, RemoteCallError
from jido.cluster.runtime import ClusterRuntime, open_cluster_runtime
from jido.signal import Signal
from tests.cluster.agents import Count, Tally, resolve
from tests.redis.server import RedisServer
from tests.redis.server import redis_client as redis_client
from tests.redis.server import redis_namespace as redis_namespace
from tests.redis.server import redis_server as redis_server
from tests.runtime.sleepers import Later, Note


def add(by: int = 1) -> Signal:
    return Signal(type="tally.add", source="/test", data={"by": by})


def only_known(agent_id: str) -> type[Any]:
    """A dict-based resolve: KeyError for an id it does not know."""
    return {"known": Tally}[agent_id]


async def until(predicate: Callable[[], Awaitable[bool]], *, step: float = 0.02, limit: int = 500) -> None:
    for _ in range(limit):  # bounded poll of real state (Redis's TTLs, the node's loops)
        if await predicate():
            return
        await trio.sleep(step)
    raise AssertionError("condition not reached")


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


class TestNames:
    @pytest.mark.parametrize(
        ("node_id", "shown"),
        [
            ("", "''"),
            ("a\nb", "'a\\nb'"),
            ("a b", "'a b'"),
            ("a\x00b", "'a\\x00b'"),
            ("n" * 100_000, "a str of 100000 characters starting 'nnnnnnnnnnnnnnnnnnnn'"),
            (7, "7"),
        ],
    )
    async def test_bad_node_id(self, node_id: object, shown: str) -> None:
        """A node id that is empty, has whitespace or control characters, or is too long: ValueError first."""
        message = (
            "node_id must be a non-empty str without spaces or control characters, of at most 200 characters, "
            f"got {shown}"
        )
        # The URL names no server: the name is refused before anything connects.
        with pytest.raises(ValueError, match=f"^{re.escape(message)}$"):
            async with open_cluster_runtime(
                "redis://127.0.0.1:1/0",
                node_id=node_id,
                resolve=resolve,  # type: ignore[arg-type]
            ):
                pass

    @pytest.mark.parametrize("namespace", ["a\nb", "a b", "x" * 201, "a\tb"])
    async def test_bad_namespace(self, namespace: str) -> None:
        """A namespace with whitespace or control characters, or too long: ValueError before connecting."""
        with pytest.raises(
            ValueError, match=r"^namespace must be a non-empty str without braces, spaces or control"
        ):
            async with open_cluster_runtime(
                "redis://127.0.0.1:1/0", node_id="n", resolve=resolve, namespace=namespace
            ):
                pass

    async def test_longest_names_work(self, redis_server: RedisServer, redis_namespace: str) -> None:
        """A node id and a namespace of 200 characters each (any printable Unicode) are taken."""
        namespace = (redis_namespace + "-" + "é" * 200)[:200]
        node_id = "ñ" * 200
        async with node(redis_server.url, namespace, node_id) as runtime:
            assert runtime.live_nodes() == (node_id,)
            agent = await runtime.call("t-1", add(), timeout=5)
            assert agent.state.total == 1


@agent(idle_timeout=0.05)
@route("tally.add", Count)
@route("clock.*", Note)
@route("set.later", Later)
class Napper:
    """Sleeps as soon as it is idle; may set a timer first."""

    total: int = 0
    ids: list[str] = attrs.field(factory=list)
    log: list[str] = attrs.field(factory=list)


class TestLostWhileAsleep:
    @pytest.mark.parametrize("timer", [False, True])
    async def test_lease_lost_while_the_agent_sleeps_drops_the_sleeper(
        self, redis_server: RedisServer, redis_client: RedisClient, redis_namespace: str, timer: bool
    ) -> None:
        """A lease found lost while its agent is hibernated: the dormant copy (and its alarm) is dropped."""
        async with node(
            redis_server.url, redis_namespace, "a", resolve=lambda _: Napper, idle_timeout=0.05
        ) as a:
            signal = Signal(type="set.later", source="/t", data={"delay": 60.0}) if timer else add()
            await a.call("t-1", signal, timeout=5)

            async def asleep() -> bool:
                return a.runtime.hibernated_agent("t-1") is not None

            await until(asleep)
            sleeper = a.runtime.hibernated_agent("t-1")
            assert sleeper is not None
            assert sleeper.pending_work is timer  # with a timer: an alarm would wake it on this node
            token = a.node.leases.token("t-1")
            assert token
            # Another node takes the lease (as after a pause of "a" longer than its TTL).
            await redis_client.delete([a.node.leases.key("t-1")])
            other = Leases(redis_client, node_id="b", namespace=redis_namespace, ttl=5.0)
            assert (await other.acquire("t-1")).node_id == "b"

            async def dropped() -> bool:
                return a.statistics().leases_lost == 1

            await until(dropped)
            assert a.runtime.hibernated_agent("t-1") is None
            assert a.runtime.whereis("t-1") is None
            assert a.local_agents() == []


class TestServeEntryPoint:
    def _serve(self, *argv: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "jido.cluster.serve", *argv, "--resolve", "tests.cluster.agents:resolve"],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )

    def test_database_out_of_range_is_one_line(self, redis_server: RedisServer) -> None:
        """python -m jido.cluster.serve on a database the server lacks: one error line, exit 1."""
        url = redis_server.url.rsplit("/", 1)[0] + "/99"
        done = self._serve(url, "--node", "n")
        assert done.returncode == 1
        assert done.stderr == (
            f"python -m jido.cluster.serve: error: Redis at {url} is unavailable: it has no database 99"
            " (DB index is out of range)\n"
        )

    @pytest.mark.parametrize(
        ("argv", "says"),
        [
            (["redis://127.0.0.1:1/abc", "--node", "n"], "names database 'abc': it must be a number"),
            (["redis://127.0.0.1:1/0", "--node", "a\nb"], "node_id must be a non-empty str"),
            (["redis://127.0.0.1:1/0", "--node", "n", "--namespace", "a b"], "namespace must be a non-empty"),
        ],
    )
    def test_bad_arguments_are_usage_errors(self, argv: list[str], says: str) -> None:
        """A bad database, node id or namespace: a usage error (exit 2) before anything connects."""
        done = self._serve(*argv)
        assert done.returncode == 2
        assert says in done.stderr
        assert "Traceback" not in done.stderr
