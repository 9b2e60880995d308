"""What the dashboard costs the runtime, and how it does with 10,000 agents.

Run: ``python bench/ops.py`` (about a minute) or ``python bench/ops.py --quick``.

- casts/s: one agent, N ``cast_nowait`` in batches until it has handled all of them; with no dashboard, and
  with a dashboard whose page is open on the agents list and streaming ``**`` (a websocket client reading
  every push, in the same process and loop). Best of REPEATS rounds, the two interleaved; the ratio is
  dashboard over none (goal >= 0.9).
- with 10,000 agents: the time of ``GET /`` and of ``GET /api/agents`` (the first page, sorted by handled),
  and of one push of the agents page over the websocket (from asking to receiving).
"""

from __future__ import annotations

import argparse
import json
import time
from functools import partial
from typing import Any

import httpx
import trio
import trio.lowlevel
import trio_websocket

import jido
from dsl import action, agent, route
from jido.ops import serve_ops


@action(description="Add `by` to the count")
class Add:
    by: int = 1

    def run(self, ctx: jido.ActionContext) -> dict[str, Any]:
        return {"count": ctx.state.count + self.by}


@agent(description="A counter that only hears what is sent to it")
@route("counter.add", Add)
class Worker:
    count: int = 0


def add(by: int = 1) -> jido.Signal:
    return jido.Signal(type="counter.add", source="/bench", data={"by": by})


BATCH = 500


async def _casts(rt: jido.Runtime, n: int) -> float:
    ref = await rt.start_agent(Worker, id=f"bench-{time.perf_counter_ns()}")
    signal = add()
    start = time.perf_counter()
    sent = 0
    while sent < n:
        for _ in range(min(BATCH, n - sent)):
            ref.cast_nowait(signal)
            sent += 1
        while ref.mailbox_depth > ref.mailbox_size // 2:
            await trio.lowlevel.checkpoint()
    while ref.handled < n:
        await trio.lowlevel.checkpoint()
    return n / (time.perf_counter() - start)


async def _page(url: str, origin: str, ready: trio.Event, cancel: trio.CancelScope) -> None:
    with cancel:
        async with trio_websocket.open_websocket_url(url, extra_headers=[(b"origin", origin.encode())]) as ws:
            await ws.send_message(json.dumps({"op": "view", "view": "agents", "params": {"sort": "handled"}}))
            await ws.send_message(json.dumps({"op": "stream", "pattern": "**"}))
            ready.set()
            while True:
                await ws.get_message()


async def casts_round(n: int, *, dashboard: bool) -> float:
    async with jido.open_runtime(mailbox_size=2 * BATCH) as rt, trio.open_nursery() as nursery:
        if dashboard:
            server = await nursery.start(serve_ops, rt)
            ready = trio.Event()
            nursery.start_soon(
                _page,
                server.url.replace("http", "ws") + "api/live",
                server.url.rstrip("/"),
                ready,
                trio.CancelScope(),
            )
            await ready.wait()
        rate = await _casts(rt, n)
        nursery.cancel_scope.cancel()
    return rate


async def many_agents(count: int) -> dict[str, float]:
    async with jido.open_runtime() as rt, trio.open_nursery() as nursery:
        for index in range(count):
            await rt.start_agent(Worker, id=f"agent-{index:05d}")
        server = await nursery.start(partial(serve_ops, rt))
        out: dict[str, float] = {}
        async with httpx.AsyncClient(base_url=server.url) as http:
            start = time.perf_counter()
            (await http.get("/")).raise_for_status()
            out["GET / (ms)"] = (time.perf_counter() - start) * 1000
            start = time.perf_counter()
            page = (await http.get("/api/agents", params={"sort": "handled", "desc": "1"})).json()
            out["GET /api/agents (ms)"] = (time.perf_counter() - start) * 1000
            assert page["total"] == count
        url = server.url.replace("http", "ws") + "api/live"
        async with trio_websocket.open_websocket_url(
            url, extra_headers=[(b"origin", server.url.rstrip("/").encode())]
        ) as ws:
            await ws.get_message()  # hello
            start = time.perf_counter()
            await ws.send_message(json.dumps({"op": "view", "view": "agents", "params": {"q": "agent-00"}}))
            while True:
                message = json.loads(await ws.get_message())
                if (
                    message["kind"] == "tick"
                    and message["view"] == "agents"
                    and message["data"]["total"] == 1000
                ):
                    break
            out["agents page push (ms)"] = (time.perf_counter() - start) * 1000
        nursery.cancel_scope.cancel()
    return out


async def main(quick: bool) -> None:
    n = 20_000 if quick else 100_000
    repeats = 2 if quick else 3
    best = {"none": 0.0, "dashboard": 0.0}
    for _ in range(repeats):
        best["none"] = max(best["none"], await casts_round(n, dashboard=False))
        best["dashboard"] = max(best["dashboard"], await casts_round(n, dashboard=True))
    print(f"casts/s, no dashboard:            {best['none']:>10,.0f}")
    print(f"casts/s, dashboard open+streaming: {best['dashboard']:>10,.0f}")
    print(f"ratio dashboard/none:              {best['dashboard'] / best['none']:>10.2f}  (goal >= 0.9)")
    for name, value in (await many_agents(2_000 if quick else 10_000)).items():
        print(f"{'10,000 agents' if not quick else '2,000 agents'}: {name:<24} {value:>8.1f}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true")
    trio.run(main, parser.parse_args().quick)
