"""The Redis journal and state store against raw coredis in the same run, on a redis-server of its own.

Run: ``python bench/redis.py`` (``--quick`` for a short run; ``--url redis://...`` to use a server you run,
in a namespace of its own, which is left behind). Without ``--url`` it starts ``redis-server`` on a free
loopback port with nothing kept on disk, and stops it at the end.

Each case does the same round trips on both sides, so the ratio (ours / raw) is what our layer costs over the
same commands written by hand, not what Redis costs:

* "append 1": ``RedisJournal.append([signal])`` (one Lua script: offsets, XADD, meta) against a raw
  ``XADD`` of the same JSON, one at a time, one task.
* "append 100": batches of 100 signals (one script) against a raw pipeline of 100 XADDs.
* "read 1000": ``read(start, limit=1000)`` (XRANGE, then each signal parsed back) against a raw XRANGE of
  the same 1,000 entries, bytes only.
* "save 1": ``RedisStore.save_many([StateWrite])`` (one script: layout, revision, CAS, index) against a raw
  ``HSET`` + ``HINCRBY`` pipeline of the same ~200-byte state.
* "save 1 x16 tasks": the same from 16 trio tasks at once on one client.
* "load 1": ``load`` (one script) against a raw ``HMGET``.
* "inbox round trip": node a sends a signal to node b's inbox (``Inbox.send``), b's task receives it
  (``XREADGROUP BLOCK``), answers into a's inbox and acks, and a receives the answer and acks: the path a
  cross-node ``call`` will take. Raw: request/reply over two streams with ``XADD`` and ``XREAD BLOCK``, no
  group, no acks, bytes only. Round trips per second, one caller.
* "cross-node call": ``RemoteAgents.call`` from node a to a counter agent whose home is node b (two nodes and
  two runtimes in this process): the inbox round trip plus the agent's ``call`` on b and the state's JSON.
  Raw: the same request/reply over two streams as above.

Each case runs for BUDGET seconds; ours and raw alternate, REPEATS times, and the table shows medians.
"""

from __future__ import annotations

import argparse
import json
import shutil
import socket
import statistics
import subprocess
import time
from collections.abc import Awaitable, Callable

import trio

from dsl import action, agent, route
from jido._redis import RedisClient, open_redis
from jido.action.spec import ActionContext
from jido.bus.redis import RedisJournal
from jido.cluster.inbox import Inbox
from jido.cluster.node import open_cluster_node
from jido.cluster.remote import RemoteAgents
from jido.runtime.runtime import open_runtime
from jido.signal import Signal
from jido.store.redis import RedisStore
from jido.store.store import StateWrite

BUDGET = 1.0
REPEATS = 3
TASKS = 16


def state_json(step: int) -> str:
    """A ~200-byte agent state."""
    return json.dumps(
        {
            "count": step,
            "owner": "user-00042",
            "status": "active",
            "tags": ["alpha", "beta", "gamma"],
            "last_order": {"id": f"order-{step:08d}", "total": 123.45, "currency": "EUR"},
            "note": "x" * 40,
        }
    )


def signal(i: int) -> Signal:
    return Signal(type="order.placed", source="/bench", subject=f"order-{i}", data={"i": i, "total": 12.5})


async def rate(step: Callable[[int], Awaitable[int]], budget: float) -> float:
    """Operations per second of ``step(i)`` (which returns how many operations it did) over ``budget`` s."""
    done = 0
    start = time.perf_counter()
    while time.perf_counter() - start < budget:
        done += await step(done)
    return done / (time.perf_counter() - start)


async def concurrent_rate(step: Callable[[int], Awaitable[int]], budget: float, tasks: int) -> float:
    done = 0
    start = time.perf_counter()

    async def worker(w: int) -> None:
        nonlocal done
        i = w
        while time.perf_counter() - start < budget:
            count = await step(i)  # not `done += await ...`: that reads `done` before the await
            done += count
            i += tasks

    async with trio.open_nursery() as nursery:
        for w in range(tasks):
            nursery.start_soon(worker, w)
    return done / (time.perf_counter() - start)


async def one_round(
    client: RedisClient, url: str, base: str, budget: float, note: Callable[[str, float, float], None]
) -> None:
    """Every case once, ours then raw, each in a namespace of its own (prefix ``base``)."""
    names = iter(range(1_000_000))
    signals = [signal(i) for i in range(100)]
    payloads = [s.to_json() for s in signals]
    state = state_json(7)

    journal = RedisJournal(client, namespace=f"{base}-{next(names)}", url=url)
    batch_journal = RedisJournal(client, namespace=f"{base}-{next(names)}", url=url)
    raw_stream = f"{{{base}-{next(names)}}}:raw"
    raw_batch_stream = f"{{{base}-{next(names)}}}:raw"
    store = RedisStore(client, namespace=f"{base}-{next(names)}", url=url)
    raw_prefix = f"{{{base}-{next(names)}}}:raw:"

    async def ours_append(i: int) -> int:
        await journal.append([signals[i % 100]])
        return 1

    async def raw_append(i: int) -> int:
        await client.xadd(raw_stream, {"s": payloads[i % 100], "t": "0"})
        return 1

    note("append 1", await rate(ours_append, budget), await rate(raw_append, budget))

    async def ours_batch(i: int) -> int:
        await batch_journal.append(signals)
        return 100

    async def raw_batch(i: int) -> int:
        async with client.pipeline(transaction=False) as pipe:
            for payload in payloads:
                pipe.xadd(raw_batch_stream, {"s": payload, "t": "0"})
        return 100

    note("append 100", await rate(ours_batch, budget), await rate(raw_batch, budget))

    last = await batch_journal.last_offset()

    async def ours_read(i: int) -> int:
        start = 1 + (i * 1000) % max(1, last - 1000)
        return len(await batch_journal.read(start, limit=1000))

    async def raw_read(i: int) -> int:
        return len(await client.xrange(raw_batch_stream, "-", "+", count=1000))

    note("read 1000 (records/s)", await rate(ours_read, budget), await rate(raw_read, budget))

    async def ours_save(i: int) -> int:
        await store.save_many([StateWrite(f"agent-{i % 1000}", state)])
        return 1

    async def raw_save(i: int) -> int:
        key = f"{raw_prefix}agent-{i % 1000}"
        async with client.pipeline(transaction=True) as pipe:
            pipe.hset(key, {"d": state, "t": "0"})
            pipe.hincrby(key, "r", 1)
        return 1

    note("save 1", await rate(ours_save, budget), await rate(raw_save, budget))
    # Warm the pool up to TASKS connections first: opening them is not what this case measures.
    await concurrent_rate(raw_save, 0.05, TASKS)
    note(
        f"save 1 x{TASKS} tasks",
        await concurrent_rate(ours_save, budget, TASKS),
        await concurrent_rate(raw_save, budget, TASKS),
    )

    async def ours_load(i: int) -> int:
        await store.load(f"agent-{i % 1000}")
        return 1

    async def raw_load(i: int) -> int:
        await client.hmget(f"{raw_prefix}agent-{i % 1000}", ["d", "r", "t"])
        return 1

    note("load 1", await rate(ours_load, budget), await rate(raw_load, budget))
    note(
        "inbox round trip",
        await inbox_round_trips(client, url, base, budget),
        await raw_round_trips(client, f"{base}-1", budget),
    )
    note(
        "cross-node call",
        await cross_node_calls(url, base, budget),
        await raw_round_trips(client, f"{base}-2", budget),
    )


@action
class Add:
    by: int = 1

    def run(self, ctx: ActionContext) -> dict[str, int]:
        return {"count": ctx.state.count + self.by}


@agent
@route("counter.add", Add)
class Counter:
    count: int = 0


async def cross_node_calls(url: str, base: str, budget: float) -> float:
    """Calls/s from node a to an agent living on node b, through RemoteAgents."""
    namespace = f"{base}-call"
    async with (
        open_cluster_node(url, node_id="a", namespace=namespace) as a,
        open_cluster_node(url, node_id="b", namespace=namespace) as b,
        open_runtime() as rt_a,
        open_runtime() as rt_b,
        trio.open_nursery() as nursery,
    ):
        on_a = RemoteAgents(a, rt_a, lambda _: Counter)
        on_b = RemoteAgents(b, rt_b, lambda _: Counter)
        await nursery.start(on_a.serve)
        await nursery.start(on_b.serve)
        target = ""
        for i in range(100):
            if await a.home_of(f"counter-{i}") == "b":
                target = f"counter-{i}"
                break
        request = Signal(type="counter.add", source="/bench", data={"by": 1})

        async def one(i: int) -> int:
            await on_a.call(target, request)
            return 1

        result = await rate(one, budget)
        nursery.cancel_scope.cancel()
    return result


async def inbox_round_trips(client: RedisClient, url: str, base: str, budget: float) -> float:
    """Round trips/s through two nodes' inboxes: send, receive, answer, ack, receive, ack."""
    namespace = f"{base}-inbox"
    a = Inbox(client, node_id="a", namespace=namespace, url=url)
    b = Inbox(client, node_id="b", namespace=namespace, url=url)
    request = signal(1)

    async def serve_b() -> None:
        while True:
            messages = await b.receive(timeout=0.5)
            for message in messages:
                await b.send(
                    message.reply_to or "a",
                    message.signal,
                    correlation=message.correlation,
                    agent_id="caller",
                )
            if messages:
                await b.ack(messages)

    async with trio.open_nursery() as nursery:
        nursery.start_soon(serve_b)

        async def one(i: int) -> int:
            await a.send("b", request, agent_id="agent-1", reply_to="a", correlation=str(i))
            answers: list[object] = []
            while not answers:  # bounded by the budget of rate(): b answers each request
                answers = list(await a.receive(count=1, timeout=1.0))
            await a.ack(answers)  # type: ignore[arg-type]
            return 1

        result = await rate(one, budget)
        nursery.cancel_scope.cancel()
    return result


async def raw_round_trips(client: RedisClient, base: str, budget: float) -> float:
    """Round trips/s of raw request/reply over two streams: XADD, XREAD BLOCK on each side."""
    requests, replies = f"{{{base}-rr}}:req", f"{{{base}-rr}}:rep"
    payload = signal(1).to_json()

    async def serve() -> None:
        last = "0-0"
        while True:
            got = await client.xread({requests: last}, count=100, block=500)
            if not got:
                continue
            for entry in next(iter(got.values())):
                last = entry.identifier
                await client.xadd(replies, {"s": payload})

    async with trio.open_nursery() as nursery:
        nursery.start_soon(serve)
        seen = "0-0"  # both streams are new: read from their start, no race with the responder

        async def one(i: int) -> int:
            nonlocal seen
            await client.xadd(requests, {"s": payload})
            while True:  # bounded by the budget of rate(): the responder answers each request
                got = await client.xread({replies: seen}, count=1, block=1000)
                if got:
                    seen = next(iter(got.values()))[0].identifier
                    return 1

        result = await rate(one, budget)
        nursery.cancel_scope.cancel()
    return result


async def cases(client: RedisClient, url: str, base: str, budget: float) -> list[tuple[str, float, float]]:
    results: dict[str, tuple[list[float], list[float]]] = {}

    def note(case: str, ours: float, raw: float) -> None:
        mine, theirs = results.setdefault(case, ([], []))
        mine.append(ours)
        theirs.append(raw)

    for repeat in range(REPEATS):
        await one_round(client, url, f"{base}-{repeat}", budget, note)
    return [(case, statistics.median(o), statistics.median(r)) for case, (o, r) in results.items()]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def start_server() -> tuple[subprocess.Popen[bytes], str]:
    """A redis-server of our own on a free loopback port, nothing kept on disk; returns it and its URL."""
    binary = shutil.which("redis-server")
    if binary is None:
        raise SystemExit("redis-server not found on PATH; install it or pass --url")
    port = free_port()
    server = subprocess.Popen(
        [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    assert server.stdout is not None
    for line in server.stdout:  # bounded by the server: a few dozen lines, then this one (or it exits)
        if b"Ready to accept connections" in line:
            break
    server.stdout.close()  # redis-server ignores a closed log pipe (SIGPIPE is ignored by it)
    return server, f"redis://127.0.0.1:{port}/0"


async def run(url: str, budget: float) -> None:
    async with open_redis(url) as client:
        info = await client.info("server")
        print(f"redis-server {info.get('redis_version')} at {url}; coredis; budget {budget:g} s x {REPEATS}")
        print()
        print(f"| {'case':<24} | {'ours ops/s':>11} | {'raw ops/s':>10} | {'ours/raw':>8} |")
        print(f"|{'-' * 26}|{'-' * 13}|{'-' * 12}|{'-' * 10}|")
        for case, ours, raw in await cases(client, url, f"bench-{int(time.time())}", budget):
            print(f"| {case:<24} | {ours:>11,.0f} | {raw:>10,.0f} | {ours / raw:>8.2f} |")


def main() -> None:
    global REPEATS
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--quick", action="store_true", help="0.2 s per case, one repeat")
    parser.add_argument("--url", help="a Redis server to use instead of starting one")
    args = parser.parse_args()
    budget = 0.2 if args.quick else BUDGET
    if args.quick:
        REPEATS = 1
    server = None
    url = args.url
    if url is None:
        server, url = start_server()
    try:
        trio.run(run, url, budget)
    finally:
        if server is not None:
            server.kill()
            server.wait()


if __name__ == "__main__":
    main()
