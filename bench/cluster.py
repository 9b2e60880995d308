"""The cluster against raw coredis in the same run, on a redis-server of its own.

Run: ``python bench/cluster.py`` (``--quick`` for a short run; ``--url redis://...`` to use a server you run,
in namespaces of their own, which are left behind). Without ``--url`` it starts ``redis-server`` on a free
loopback port with nothing kept on disk, and stops it at the end.

* "cross-node call": ``ClusterRuntime.call`` from node a to a counter agent owned by node b (two nodes in this
  process), one caller: a's send into b's inbox, b's read, the agent's call on b (with its state stored in
  Redis, fenced), b's answer into a's inbox, a's read, and the acks. Raw: request/reply over two streams with
  ``XADD`` and ``XREAD BLOCK``, no group, no acks, no state, bytes only, also one caller and one responder in
  this process. The ratio is what the cluster costs over the bare round trip.
* "casts/s with N nodes": N node processes (``python -m jido.cluster.serve``) own 100 counters; this process
  casts from 32 tasks (each cast is in Redis when it returns) and waits until every cast is applied and
  stored. Applied casts per second, from the first cast to the last applied.
* "failover": three node processes own 300 counters; one is SIGKILLed; the time from the kill until every
  agent it owned answered a call from this process (node and lease TTLs of 1 s).

Each call case runs for BUDGET seconds, ours and raw alternating, REPEATS times: the table shows medians.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import pathlib
import signal
import statistics
import subprocess
import sys
import time
from collections.abc import AsyncIterator
from typing import Any

import trio

sys.path.insert(0, str(pathlib.Path(__file__).parent.parent))  # bench.redis, and the nodes' --resolve

from bench.redis import BUDGET, Counter, rate, raw_round_trips, start_server
from jido._redis import RedisClient, open_redis
from jido.cluster.placement import place
from jido.cluster.runtime import ClusterRuntime, open_cluster_runtime
from jido.errors import JidoError
from jido.signal import Signal

ROOT = pathlib.Path(__file__).parent.parent
REPEATS = 3
TTL = 1.0


def resolve(agent_id: str) -> type[Any]:
    """Every agent of the benchmark is a Counter (the nodes' --resolve)."""
    return Counter


def add(by: int = 1) -> Signal:
    return Signal(type="counter.add", source="/bench", data={"by": by})


async def cross_node_calls(url: str, namespace: str, budget: float) -> float:
    """Calls/s from node a to a counter owned by node b, one caller."""
    async with (
        open_cluster_runtime(url, node_id="a", resolve=resolve, namespace=namespace) as a,
        open_cluster_runtime(url, node_id="b", resolve=resolve, namespace=namespace) as b,
    ):
        await b._refresh_live()
        await a._refresh_live()
        target = next(f"counter-{i}" for i in range(1000) if place(f"counter-{i}", ["a", "b"]) == "b")
        await b.call(target, add(0))  # b owns it now

        async def one(i: int) -> int:
            await a.call(target, add())
            return 1

        return await rate(one, budget)


@contextlib.asynccontextmanager
async def node_processes(
    url: str, namespace: str, names: list[str]
) -> AsyncIterator[dict[str, trio.Process]]:
    started: dict[str, trio.Process] = {}
    try:
        for name in names:
            started[name] = await trio.lowlevel.open_process(
                [
                    sys.executable,
                    "-m",
                    "jido.cluster.serve",
                    url,
                    "--node",
                    name,
                    "--resolve",
                    "bench.cluster:resolve",
                    "--namespace",
                    namespace,
                    "--node-ttl",
                    str(TTL),
                    "--lease-ttl",
                    str(TTL),
                ],
                stdout=subprocess.PIPE,
                stderr=subprocess.DEVNULL,
                cwd=ROOT,
                env={**os.environ, "PYTHONPATH": str(ROOT)},
            )
        for process in started.values():
            assert process.stdout is not None
            line = b""
            while not line.endswith(b"\n"):  # bounded by the node: it prints ready, or exits (b"")
                chunk = await process.stdout.receive_some(1)
                if not chunk:
                    raise RuntimeError("a node process exited before it was ready")
                line += chunk
        yield started
    finally:
        with trio.CancelScope(shield=True):
            for process in started.values():
                if process.returncode is None:
                    process.kill()
                await process.wait()


@contextlib.asynccontextmanager
async def client_of(url: str, namespace: str, members: int) -> AsyncIterator[ClusterRuntime]:
    async with open_cluster_runtime(
        url, node_id="bench-client", resolve=resolve, namespace=namespace, host=False, node_ttl=TTL
    ) as client:
        for _ in range(1000):  # bounded: the nodes join within a few seconds
            if len(await client._refresh_live()) >= members:
                break
            await trio.sleep(0.02)
        yield client


async def answer(client: ClusterRuntime, agent_id: str, by: int = 0) -> int:
    """Call until the agent answers (each try bounded by one second); returns its count."""
    signal_ = add(by)
    while True:
        try:
            agent_ = await client.call(agent_id, signal_, timeout=1.0)
        except JidoError:
            continue
        count: int = agent_.state.count
        return count


async def casts_per_second(url: str, namespace: str, nodes: int, casts: int) -> float:
    agents = [f"counter-{i}" for i in range(100)]
    async with (
        node_processes(url, namespace, [f"n{i}" for i in range(nodes)]),
        client_of(url, namespace, nodes) as client,
        trio.open_nursery() as nursery,
    ):
        for agent_id in agents:
            nursery.start_soon(answer, client, agent_id)
        await trio.lowlevel.checkpoint()
        start = time.perf_counter()

        async def caster(w: int) -> None:
            for i in range(w, casts, 32):
                await client.cast(agents[i % len(agents)], add())

        async with trio.open_nursery() as senders:
            for w in range(32):
                senders.start_soon(caster, w)
        per_agent = casts // len(agents)
        for agent_id in agents:
            while True:  # bounded: each cast is applied once
                if await answer(client, agent_id) >= per_agent:
                    break
                await trio.sleep(0.01)
        return casts / (time.perf_counter() - start)


async def failover_seconds(url: str, namespace: str) -> tuple[float, int]:
    agents = [f"counter-{i}" for i in range(300)]
    async with (
        node_processes(url, namespace, ["a", "b", "c"]) as processes,
        client_of(url, namespace, 3) as client,
    ):
        async with trio.open_nursery() as nursery:
            for agent_id in agents:
                nursery.start_soon(answer, client, agent_id)
        moved = [
            a for a in agents if (h := await client.node.leases.holder(a)) is not None and h.node_id == "c"
        ]
        processes["c"].kill()
        killed = time.perf_counter()
        async with trio.open_nursery() as nursery:
            for agent_id in moved:
                nursery.start_soon(answer, client, agent_id)
        return time.perf_counter() - killed, len(moved)


async def run(url: str, budget: float, quick: bool) -> None:
    base = f"bench-{int(time.time())}"
    async with open_redis(url) as client:
        info = await client.info("server")
        print(f"redis-server {info.get('redis_version')} at {url}; budget {budget:g} s x {REPEATS}")
        await call_table(client, url, base, budget)
        print()
        casts = 2_000 if quick else 10_000
        print(f"| {'nodes':<5} | {'casts/s applied':>15} |")
        print(f"|{'-' * 7}|{'-' * 17}|")
        for nodes in (1, 2, 3):
            per_second = await casts_per_second(url, f"{base}-casts-{nodes}", nodes, casts)
            print(f"| {nodes:<5} | {per_second:>15,.0f} |")
        print()
        seconds, moved = await failover_seconds(url, f"{base}-failover")
        print(
            f"failover: {moved} agents of the killed node all answered {seconds:.2f} s after SIGKILL (TTLs {TTL:g} s)"
        )


async def call_table(client: RedisClient, url: str, base: str, budget: float) -> None:
    ours: list[float] = []
    raw: list[float] = []
    for repeat in range(REPEATS):
        ours.append(await cross_node_calls(url, f"{base}-call-{repeat}", budget))
        raw.append(await raw_round_trips(client, f"{base}-raw-{repeat}", budget))
    o, r = statistics.median(ours), statistics.median(raw)
    print()
    print(f"| {'case':<16} | {'ours rt/s':>9} | {'raw rt/s':>9} | {'ours/raw':>8} |")
    print(f"|{'-' * 18}|{'-' * 11}|{'-' * 11}|{'-' * 10}|")
    print(f"| {'cross-node call':<16} | {o:>9,.0f} | {r:>9,.0f} | {o / r:>8.2f} |")


def main() -> None:
    global REPEATS
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--quick", action="store_true", help="0.2 s per call case, one repeat, fewer casts")
    parser.add_argument("--url", help="a Redis server to use instead of starting one")
    parser.add_argument("--calls-only", action="store_true", help="only the cross-node call case")
    args = parser.parse_args()
    budget = 0.2 if args.quick else BUDGET
    if args.quick:
        REPEATS = 1
    server = None
    url = args.url
    if url is None:
        server, url = start_server()
    try:
        if args.calls_only:
            trio.run(calls_only, url, budget)
        else:
            trio.run(run, url, budget, args.quick)
    finally:
        if server is not None:
            server.kill()
            server.wait()


async def calls_only(url: str, budget: float) -> None:
    async with open_redis(url) as client:
        await call_table(client, url, f"bench-{int(time.time())}", budget)


if __name__ == "__main__":
    signal.signal(signal.SIGPIPE, signal.SIG_DFL)
    main()
