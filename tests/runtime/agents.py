"""Agents used by the runtime tests, declared with the DSL."""

from __future__ import annotations

from typing import Any

import attrs
import trio

from dsl import action, agent, route
from jido.action.spec import ActionContext
from jido.agent.directives import Emit, Schedule, SpawnAgent, Stop, StopChild
from jido.agent.spec import AgentSpec
from jido.signal import Signal


@action
class Add:
    by: int = 1

    def run(self, ctx: ActionContext) -> dict[str, Any]:
        return {"count": ctx.state.count + self.by, "seen": [*ctx.state.seen, self.by]}


@action
class Slow:
    seconds: float = 1.0

    async def run(self, ctx: ActionContext) -> dict[str, Any]:
        await trio.sleep(self.seconds)
        return {"count": ctx.state.count + 1}


@action
class Crash:
    def run(self, ctx: ActionContext) -> None:
        raise RuntimeError("poison")


@action
class Halt:
    def run(self, ctx: ActionContext) -> Stop:
        return Stop("done")


@action
class Announce:
    def run(self, ctx: ActionContext) -> tuple[dict[str, Any], Emit]:
        count = ctx.state.count + 1
        return {"count": count}, Emit(
            Signal(type="counter.changed", source="/counter", data={"count": count})
        )


@action
class Tell:
    to: str

    def run(self, ctx: ActionContext) -> Emit:
        return Emit(Signal(type="counter.add", source="/counter", data={"by": 10}), to=self.to)


@action
class Later:
    delay: float = 5.0

    def run(self, ctx: ActionContext) -> Schedule:
        return Schedule(self.delay, Signal(type="counter.add", source="/timer", data={"by": 100}))


@agent
@route("counter.add", Add)
@route("counter.slow", Slow)
@route("counter.crash", Crash)
@route("counter.halt", Halt)
@route("counter.announce", Announce)
@route("counter.tell", Tell)
@route("counter.later", Later)
class Counter:
    count: int = 0
    seen: list[int] = attrs.field(factory=list)


@agent(subscribe=["counter.changed"])
@route("counter.changed", Add, params=lambda signal: {"by": 1})
class Watcher:
    count: int = 0
    seen: list[int] = attrs.field(factory=list)


@action
class Spawn:
    tag: str

    def run(self, ctx: ActionContext) -> SpawnAgent:
        spec = Counter.__jido_spec__  # type: ignore[attr-defined]
        assert isinstance(spec, AgentSpec)
        return SpawnAgent(spec, self.tag)


@action
class Drop:
    tag: str

    def run(self, ctx: ActionContext) -> StopChild:
        return StopChild(self.tag)


@action
class RecordChild:
    tag: str
    id: str
    reason: str = ""

    def run(self, ctx: ActionContext) -> dict[str, Any]:
        return {"events": [*ctx.state.events, f"{self.tag}:{self.reason or 'started'}"]}


@agent
@route("parent.spawn", Spawn)
@route("parent.drop", Drop)
@route("parent.crash", Crash)
@route("jido.agent.child.*", RecordChild)
class Parent:
    events: list[str] = attrs.field(factory=list)


def sig(kind: str, **data: Any) -> Signal:
    return Signal(type=f"counter.{kind}", source="/test", data=data or None)
