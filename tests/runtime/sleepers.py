"""An agent that sleeps when idle and sets timers, shared by the tests of dormant agents."""

from __future__ import annotations

from typing import Any

import attrs

from dsl import action, agent, route
from jido.action.spec import ActionContext
from jido.directives import Schedule
from jido.signal import Signal


@action
class Later:
    """Set a timer: ``clock.timer`` in ``delay`` seconds."""

    delay: float

    def run(self, ctx: ActionContext) -> Schedule:
        return Schedule(self.delay, Signal(type="clock.timer", source="/test"))


@action
class Note:
    """Record the type of the signal handled."""

    def run(self, ctx: ActionContext) -> dict[str, Any]:
        return {"log": [*ctx.state.log, ctx.signal.type]}


@agent(idle_timeout=10.0)
@route("clock.*", Note)
@route("ping", Note)
@route("set.later", Later)
class Sleeper:
    log: list[str] = attrs.field(factory=list)


def command(kind: str, **data: Any) -> Signal:
    return Signal(type=kind, source="/test", data=data)
