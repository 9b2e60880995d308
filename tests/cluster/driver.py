"""A load driver that runs on a cluster node (``python -m jido.cluster.serve ... --run tests.cluster.driver:drive``).

It waits for the test's go (a Redis key), then sends ``JIDO_DRIVE_COUNT`` signals to random Tally agents,
calls and casts alternately, from ``JIDO_DRIVE_WORKERS`` tasks. Before sending a signal it records the intent
(agent, signal id, amount, node) in a Redis list, and after the call or cast returned it records the id as
accepted: the test compares the agents' final states with these lists. A send that fails is sent again with
the same signal (the same id: applied once at most).
"""

from __future__ import annotations

import os
import random

import trio

from jido._redis import RedisUnavailableError
from jido.cluster.inbox import InboxFullError
from jido.cluster.remote import RemoteCallError
from jido.cluster.runtime import ClusterRuntime
from jido.errors import CallTimeoutError
from jido.signal import Signal


async def drive(cluster: ClusterRuntime) -> None:
    key = os.environ["JIDO_DRIVE_KEY"]
    agents = int(os.environ["JIDO_DRIVE_AGENTS"])
    count = int(os.environ["JIDO_DRIVE_COUNT"])
    workers = int(os.environ.get("JIDO_DRIVE_WORKERS", "8"))
    client = cluster.node.client
    node = cluster.node_id
    while True:  # polls the test's go: a Redis key, set by another process
        if await client.exists([f"{key}:go"]):
            break
        await trio.sleep(0.02)

    async def worker(w: int) -> None:
        rng = random.Random(f"{node}-{w}")
        for i in range(w, count, workers):
            agent = f"t-{rng.randrange(agents)}"
            by = rng.randrange(1, 10)
            signal = Signal(type="tally.add", source=f"/driver/{node}", data={"by": by})
            await client.rpush(f"{key}:intent", [f"{agent} {signal.id} {by} {node}"])
            while True:
                try:
                    if i % 2:
                        await cluster.cast(agent, signal)
                    else:
                        await cluster.call(agent, signal, timeout=2.0)
                except (CallTimeoutError, RedisUnavailableError, InboxFullError, RemoteCallError):
                    await trio.sleep(0.05)
                else:
                    break
            await client.rpush(f"{key}:ok", [signal.id])

    async with trio.open_nursery() as nursery:
        for w in range(workers):
            nursery.start_soon(worker, w)
    await client.rpush(f"{key}:done", [node])
