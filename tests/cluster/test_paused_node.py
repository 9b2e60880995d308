"""A node process paused (SIGSTOP) past its lease, then resumed (SIGCONT), cannot overwrite the state the new
owner wrote meanwhile. The lease's expiry is done explicitly (its key deleted, as Redis does when the TTL runs
out while the node is stopped), so the test never waits on a clock."""

from __future__ import annotations

import os
import pathlib
import signal
import subprocess
import sys

import trio

from jido._redis import RedisClient
from jido.cluster.leases import Leases
from jido.runtime.runtime import open_runtime
from jido.store.redis import RedisStore
from tests.redis.server import RedisServer
from tests.redis.server import redis_client as redis_client
from tests.redis.server import redis_namespace as redis_namespace
from tests.redis.server import redis_server as redis_server
from tests.runtime.agents import Counter, sig

ROOT = pathlib.Path(__file__).parent.parent.parent


async def read_line(stream: trio.abc.ReceiveStream, pending: bytearray) -> str:
    while b"\n" not in pending:
        chunk = await stream.receive_some()
        if not chunk:
            return ""
        pending += chunk
    line, _, rest = bytes(pending).partition(b"\n")
    pending[:] = rest
    return line.decode()


async def test_paused_node_cannot_overwrite(
    redis_server: RedisServer, redis_client: RedisClient, redis_namespace: str
) -> None:
    """SIGSTOP the owner, let its lease go, take the agent over and write; SIGCONT the old owner: its next
    write is refused and the new owner's state stays."""
    process = await trio.lowlevel.open_process(
        [sys.executable, "-m", "tests.cluster.paused_worker", redis_server.url, redis_namespace],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        cwd=ROOT,
        env={**os.environ},
    )
    assert process.stdout is not None and process.stdin is not None
    pending = bytearray()
    try:
        with trio.fail_after(60):  # a safety net for a hung child, never an assertion on time
            assert await read_line(process.stdout, pending) == "ready"
            process.send_signal(signal.SIGSTOP)
            store = RedisStore(redis_client, namespace=redis_namespace)
            leases = Leases(redis_client, node_id="new-owner", namespace=redis_namespace)
            await redis_client.delete([leases.key("c")])  # the stopped node's lease runs out
            lease = await leases.acquire("c")
            assert lease.node_id == "new-owner" and lease.token == 2
            assert await store.raise_fence("c", lease.token) == 2
            async with open_runtime(store=store.fenced(leases.token)) as rt:
                ref = await rt.start_agent(Counter, id="c")
                assert ref.state.count == 1
                await ref.call(sig("add", by=10))
            process.send_signal(signal.SIGCONT)
            await process.stdin.send_all(b"go\n")
            answer = await read_line(process.stdout, pending)
            assert answer.startswith(
                "refused FencedWriteError: state of agent 'c' was written with fencing token 2"
            )
            stored = await store.load("c")
            assert stored is not None and '"count":11' in stored.data
            assert await process.wait() == 0
    finally:
        if process.returncode is None:
            process.send_signal(signal.SIGCONT)
            process.kill()
        with trio.CancelScope(shield=True):
            await process.wait()
            await process.stdout.aclose()
            await process.stdin.aclose()
