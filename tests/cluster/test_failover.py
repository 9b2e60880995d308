"""Three node processes (``python -m jido.cluster.serve``) on a real Redis: virtual agents receive signals from
every node; one node is SIGKILLed mid-stream; every agent answers again, and the final states equal a model that
applied each accepted signal exactly once. And a node paused (SIGSTOP) past its leases, then resumed, cannot
overwrite what the new owner wrote.

Waits are bounded polls of real state (Redis lists, calls answered); the time from the kill until every agent
answered is measured and printed, bounded only by a safety net."""

from __future__ import annotations

import contextlib
import json
import os
import pathlib
import signal
import subprocess
import sys
from collections.abc import AsyncIterator
from typing import Any

import trio

from jido._redis import RedisClient
from jido.cluster.runtime import ClusterRuntime, open_cluster_runtime
from jido.errors import JidoError
from jido.signal import Signal
from tests.cluster.agents import resolve
from tests.cluster.test_paused_node import read_line
from tests.redis.server import RedisServer
from tests.redis.server import redis_client as redis_client
from tests.redis.server import redis_namespace as redis_namespace
from tests.redis.server import redis_server as redis_server

ROOT = pathlib.Path(__file__).parent.parent.parent
AGENTS = 1000
PER_NODE = 1200  # signals each node's driver sends
TTL = 1.0  # node and lease TTL, seconds


class Node:
    def __init__(self, name: str, process: trio.Process) -> None:
        self.name = name
        self.process = process
        self.pending = bytearray()

    async def line(self) -> str:
        assert self.process.stdout is not None
        return await read_line(self.process.stdout, self.pending)


@contextlib.asynccontextmanager
async def nodes(
    server: RedisServer, namespace: str, names: list[str], logs: pathlib.Path, drive: bool
) -> AsyncIterator[dict[str, Node]]:
    env = {
        **os.environ,
        "JIDO_DRIVE_KEY": f"{namespace}:test",
        "JIDO_DRIVE_AGENTS": str(AGENTS),
        "JIDO_DRIVE_COUNT": str(PER_NODE),
    }
    started: dict[str, Node] = {}
    try:
        for name in names:
            command = [
                sys.executable, "-m", "jido.cluster.serve", server.url,
                "--node", name, "--resolve", "tests.cluster.agents:resolve", "--namespace", namespace,
                "--node-ttl", str(TTL), "--lease-ttl", str(TTL),
            ]  # fmt: skip
            if drive:
                command += ["--run", "tests.cluster.driver:drive"]
            with (logs / f"{name}.log").open("wb") as stderr:
                process = await trio.lowlevel.open_process(
                    command, stdout=subprocess.PIPE, stderr=stderr, cwd=ROOT, env=env
                )
            started[name] = Node(name, process)
        for node in started.values():
            assert await node.line() == f"ready {node.name}"
        yield started
    finally:
        with trio.CancelScope(shield=True):
            for node in started.values():
                if node.process.returncode is None:
                    node.process.send_signal(signal.SIGCONT)
                    node.process.kill()
                await node.process.wait()
                assert node.process.stdout is not None
                await node.process.stdout.aclose()


async def stop(node: Node) -> dict[str, Any]:
    """SIGTERM: the node leaves; its last line is its statistics."""
    node.process.send_signal(signal.SIGTERM)
    stats: dict[str, Any] = {}
    while line := await node.line():
        if line.startswith("stats "):
            stats = json.loads(line[6:])
    assert await node.process.wait() == 0
    return stats


async def until(predicate: Any, *, step: float = 0.02, limit: float = 120.0) -> None:
    """Poll ``predicate`` (async) until true; ``limit`` seconds is a safety net, never an assertion on time."""
    with trio.fail_after(limit):
        while True:
            if await predicate():
                return
            await trio.sleep(step)


def read(agent_id: str) -> Signal:
    return Signal(type="tally.read", source="/test", subject=agent_id)


async def answer_all(client: ClusterRuntime, agent_ids: list[str]) -> dict[str, Any]:
    """Call every agent (tally.read), sending again after each timeout; returns each one's state."""
    states: dict[str, Any] = {}
    limiter = trio.CapacityLimiter(64)

    async def one(agent_id: str) -> None:
        async with limiter:
            signal_ = read(agent_id)
            while True:
                try:
                    agent = await client.call(agent_id, signal_, timeout=1.0)
                except JidoError:
                    continue
                states[agent_id] = agent.state
                return

    async with trio.open_nursery() as nursery:
        for agent_id in agent_ids:
            nursery.start_soon(one, agent_id)
    return states


@contextlib.asynccontextmanager
async def client_of(server: RedisServer, namespace: str, members: int) -> AsyncIterator[ClusterRuntime]:
    async with open_cluster_runtime(
        server.url, node_id="test-client", resolve=resolve, namespace=namespace, host=False, node_ttl=TTL
    ) as client:

        async def all_live() -> bool:
            return len(await client._refresh_live()) >= members

        await until(all_live)
        yield client


def check_model(states: dict[str, Any], intents: list[bytes], accepted: list[bytes], victim: str) -> int:
    """Each accepted signal applied exactly once, nothing else applied but a victim's unconfirmed ones;
    returns how many unconfirmed signals of the victim were applied."""
    intended = {}
    for raw in intents:
        agent, ident, by, node = raw.decode().split()
        intended[ident] = (agent, int(by), node)
    ok = {raw.decode() for raw in accepted}
    applied: set[str] = set()
    for agent_id, state in states.items():
        assert len(state.ids) == len(set(state.ids)), f"{agent_id} applied a signal twice"
        for ident in state.ids:
            assert intended[ident][0] == agent_id
        assert state.total == sum(intended[ident][1] for ident in state.ids)
        applied.update(state.ids)
    assert ok <= applied, f"{len(ok - applied)} accepted signals lost"
    unconfirmed = set(intended) - ok
    assert all(intended[ident][2] == victim for ident in unconfirmed)
    return len(applied & unconfirmed)


async def test_sigkill_one_of_three_nodes(
    redis_server: RedisServer, redis_client: RedisClient, redis_namespace: str, tmp_path: pathlib.Path
) -> None:
    """1,000 agents take signals from three nodes; one node is SIGKILLed mid-stream; every agent answers
    again, and the final states equal the model: every accepted signal applied exactly once."""
    key = f"{redis_namespace}:test"
    agent_ids = [f"t-{i}" for i in range(AGENTS)]
    async with (
        nodes(redis_server, redis_namespace, ["a", "b", "c"], tmp_path, drive=True) as running,
        client_of(redis_server, redis_namespace, 3) as client,
    ):
        await answer_all(client, agent_ids)  # every agent activated on its home
        await redis_client.set(f"{key}:go", "1")

        async def a_third_done() -> bool:
            return int(await redis_client.llen(f"{key}:ok")) >= PER_NODE

        await until(a_third_done)
        running["c"].process.kill()
        killed_at = trio.current_time()
        await running["c"].process.wait()
        await answer_all(client, agent_ids)
        failover = trio.current_time() - killed_at
        print(f"\nevery agent answered {failover:.2f}s after the SIGKILL (TTLs {TTL}s)")

        async def survivors_done() -> bool:
            return int(await redis_client.llen(f"{key}:done")) >= 2

        await until(survivors_done)
        intents = await redis_client.lrange(f"{key}:intent", 0, -1)
        accepted = await redis_client.lrange(f"{key}:ok", 0, -1)
        ok = {raw.decode() for raw in accepted}
        states: dict[str, Any] = {}

        async def all_applied() -> bool:  # casts still on their way (rerouted, sent on) land in a moment
            states.update(await answer_all(client, agent_ids))
            return ok <= {ident for state in states.values() for ident in state.ids}

        await until(all_applied, step=0.2)
        late = check_model(states, intents, accepted, victim="c")
        print(f"{len(accepted)} accepted signals, {late} unconfirmed of the victim applied")
        assert len(accepted) >= 2 * PER_NODE
        stats = [await stop(running["a"]), await stop(running["b"])]
        assert sum(s["failovers"] for s in stats) >= 2  # c; and a, as b saw it leave
        assert sum(s["reactivated"] for s in stats) > 0


async def test_paused_node_cannot_overwrite_the_new_owner(
    redis_server: RedisServer, redis_client: RedisClient, redis_namespace: str, tmp_path: pathlib.Path
) -> None:
    """SIGSTOP a node past its leases while casts stream in; its agents move to the other node; SIGCONT it:
    it drops them, and the final states hold every accepted signal exactly once."""
    agent_ids = [f"t-{i}" for i in range(100)]
    async with (
        nodes(redis_server, redis_namespace, ["a", "b"], tmp_path, drive=False) as running,
        client_of(redis_server, redis_namespace, 2) as client,
    ):
        await answer_all(client, agent_ids)
        on_b = [a for a in agent_ids if await client.node.leases.holder(a) is not None
                and (await client.node.leases.holder(a)).node_id == "b"]  # fmt: skip
        assert on_b
        sent: list[Signal] = []

        async def cast_some(n: int) -> None:
            for i in range(n):
                s = Signal(type="tally.add", source="/test", data={"by": 1})
                await client.cast(on_b[i % len(on_b)], s)
                sent.append(s)

        await cast_some(len(on_b))
        running["b"].process.send_signal(signal.SIGSTOP)
        await cast_some(
            len(on_b)
        )  # to b's inbox (b looks alive for up to a TTL): rerouted when b is seen dead

        async def moved() -> bool:
            holders = [await client.node.leases.holder(a) for a in on_b]
            return all(h is not None and h.node_id == "a" for h in holders)

        await until(moved)
        await answer_all(client, on_b)  # a owns them now, and wrote them
        running["b"].process.send_signal(signal.SIGCONT)

        async def b_back() -> bool:
            return "b" in await client._refresh_live()

        await until(b_back)
        await cast_some(2 * len(on_b))
        applied: list[str] = []

        async def all_applied() -> (
            bool
        ):  # casts still on their way (b sends on what it held) land in a moment
            states = await answer_all(client, on_b)
            applied[:] = [ident for agent_id in on_b for ident in states[agent_id].ids]
            return len(set(applied)) >= len(sent)

        await until(all_applied, step=0.2)
        assert len(applied) == len(set(applied)) == len(sent)
        assert {s.id for s in sent} == set(applied)
        stats_b = await stop(running["b"])
        assert stats_b["leases_lost"] >= 1
