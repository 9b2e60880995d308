"""Objects the CLI tests name as MODULE:OBJECT: agents, a supervisor, a sensor, and things that are none."""

from __future__ import annotations

from typing import Any

import jido
from dsl import action, agent, child, route, sensor, supervisor


@action(description="Add `by` to the count")
class Add:
    by: int = 1

    def run(self, ctx: jido.ActionContext) -> dict[str, Any]:
        return {"count": ctx.state.count + self.by}


@action(description="Fail on purpose")
class Fail:
    def run(self, ctx: jido.ActionContext) -> None:
        raise RuntimeError("it broke")


def is_large(signal: jido.Signal) -> bool:
    return isinstance(signal.data, dict) and signal.data.get("by", 0) > 10


@agent(description="A counter with routes of every kind", subscribe=["counter.**"])
@route("counter.**", Add, priority=-5)
@route("counter.add", Add)
@route("counter.*", Add, params={"by": 2})
@route("counter.add", Add, priority=10, when=is_large)
@route("counter.fail", Fail)
class Counter:
    count: int = 0


@agent
class Silent:
    count: int = 0


@supervisor
class Team:
    counter = child(Counter, id="team.counter")


@sensor(every=3600.0)
class Clock:
    def sample(self) -> jido.Signal:
        return jido.Signal(type="clock.tick", source="/clock")


NOT_AN_AGENT = 42


def helper() -> None:
    """A function: not an agent."""


class Holder:
    """A class holding an agent spec as an attribute (dotted OBJECT paths)."""

    spec = jido.AgentSpec(name="held", state=Counter.__jido_spec__.state)  # type: ignore[attr-defined]
