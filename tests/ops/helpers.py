"""Agents and a serving helper for the operations surface's tests."""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from functools import partial
from typing import Any

import httpx
import trio

import jido
from dsl import action, agent, route
from jido.ops import OpsServer, OpsToken, serve_ops
from jido.runtime.runtime import Runtime


@action(description="Add `by` to the count")
class Add:
    by: int = 1

    def run(self, ctx: jido.ActionContext) -> dict[str, Any]:
        return {"count": ctx.state.count + self.by}


@action(description="Fail when the count is odd, add otherwise")
class Picky:
    def run(self, ctx: jido.ActionContext) -> dict[str, Any]:
        if ctx.state.count % 2:
            raise RuntimeError("odd count")
        return {"count": ctx.state.count + 1}


@action(description="Emit a follow-up signal")
class Forward:
    def run(self, ctx: jido.ActionContext) -> tuple[dict[str, Any], list[jido.Emit]]:
        return {}, [jido.Emit(jido.Signal(type="counter.add", source="/forward", data={"by": 1}))]


@agent(description="A counter", subscribe=["counter.**"])
@route("counter.add", Add)
@route("counter.picky", Picky)
@route("counter.forward", Forward)
class Counter:
    count: int = 0


ADMIN = "admin-token"
VIEWER = "viewer-token"
TOKENS: Mapping[str, OpsToken] = {ADMIN: OpsToken(admin=True, name="alice"), VIEWER: OpsToken(name="bob")}


def add(by: int = 1) -> jido.Signal:
    return jido.Signal(type="counter.add", source="/test", data={"by": by})


@asynccontextmanager
async def ops(runtime: Runtime, **options: Any) -> AsyncIterator[OpsServer]:
    """Serve the operations surface of ``runtime`` on a free loopback port for the block."""
    async with trio.open_nursery() as nursery:
        server: OpsServer = await nursery.start(partial(serve_ops, runtime, **options))
        yield server
        nursery.cancel_scope.cancel()


@asynccontextmanager
async def client(server: OpsServer, token: str | None = None) -> AsyncIterator[httpx.AsyncClient]:
    headers = {"authorization": f"Bearer {token}"} if token else {}
    async with httpx.AsyncClient(base_url=server.url, headers=headers, timeout=10) as http:
        yield http


@agent(description="A counter that only hears what is sent to it")
@route("counter.add", Add)
class Worker:
    count: int = 0


@action(description="Set a timer an hour from now")
class RemindLater:
    def run(self, ctx: jido.ActionContext) -> jido.Schedule:
        return jido.Schedule(3600.0, jido.Signal(type="session.remind", source="/test"))


@agent(description="A session that sleeps when idle for a moment", idle_timeout=0.05)
@route("session.later", RemindLater)
@route("session.remind", Add)
class Session:
    count: int = 0
