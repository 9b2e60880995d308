"""The gateway for the browser page beside this file: a runtime with a Counter agent and a ticker.

Run it from the repository root: ``python examples/mixed_stack/serve.py`` (``--help`` for options), then open
``examples/mixed_stack/index.html`` in a browser, and connect with the token it prints.

The runtime publishes ``demo.tick`` every two seconds, so a subscription to ``demo.**`` shows signals flowing;
the page publishes ``demo.hello`` and calls the ``counter`` agent (``counter.add`` with ``{"by": n}``).
"""

from __future__ import annotations

import argparse
import math
import os
from functools import partial
from typing import Any

import trio

from dsl import action, agent, route
from jido.action.spec import ActionContext
from jido.gateway import Gateway, TokenPolicy, serve_gateway
from jido.runtime.runtime import Runtime, open_runtime
from jido.signal import Signal


@action(description="Add `by` to the count")
class Add:
    by: int = 1

    def run(self, ctx: ActionContext) -> dict[str, Any]:
        return {"count": ctx.state.count + self.by}


@action(description="Set the count back to zero")
class Reset:
    def run(self, ctx: ActionContext) -> dict[str, Any]:
        return {"count": 0}


@agent(description="A counter the page can call")
@route("counter.add", Add)
@route("counter.reset", Reset)
class Counter:
    count: int = 0


async def tick(runtime: Runtime, every: float) -> None:
    n = 0
    while True:
        n += 1
        await runtime.publish(Signal(type="demo.tick", source="/mixed_stack/serve", data={"n": n}))
        await trio.sleep(every)


async def serve(
    host: str,
    port: int,
    token: str,
    *,
    every: float = 2.0,
    task_status: trio.TaskStatus[Gateway] = trio.TASK_STATUS_IGNORED,
) -> None:
    """Run the runtime, its Counter agent (id ``counter``), the ticker and the gateway until cancelled."""
    # The page may publish only under demo.*, and subscribe to anything; calls are allowed.
    tokens = {token: TokenPolicy(subscribe=("**",), publish=("demo.**",), call=True)}
    async with open_runtime() as runtime, trio.open_nursery() as nursery:
        await runtime.start_agent(Counter, id="counter")
        gateway = await nursery.start(partial(serve_gateway, runtime, host, port, tokens=tokens))
        nursery.start_soon(tick, runtime, every)
        task_status.started(gateway)


async def main(host: str, port: int, token: str, seconds: float) -> None:
    with trio.move_on_after(seconds):
        async with trio.open_nursery() as nursery:
            gateway = await nursery.start(serve, host, port, token)
            print(f"gateway listening on {gateway.url}  (token: {token})")
            print("open examples/mixed_stack/index.html in a browser; Ctrl-C to stop")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description="Serve the gateway for examples/mixed_stack/index.html")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument("--token", default=os.environ.get("JIDO_TOKEN", "change-me"))
    parser.add_argument("--seconds", type=float, default=math.inf, help="stop after this long")
    args = parser.parse_args()
    try:
        trio.run(main, args.host, args.port, args.token, args.seconds)
    except KeyboardInterrupt:
        print("stopped")
