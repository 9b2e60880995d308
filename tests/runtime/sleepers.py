"""An agent that sleeps when idle and sets timers, and the helpers shared by the tests of dormant agents and of
timers across restarts (a store that outlives its runtimes, the times a signal type was received)."""

from __future__ import annotations

from typing import Any

import attrs
import trio

from dsl import action, agent, route
from jido.action.spec import ActionContext
from jido.directives import Schedule
from jido.signal import Signal
from jido.store import MemoryStateStore
from jido.telemetry import Event, attach


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


class Fired:
    """Trio times at which signals of a type were received, from telemetry."""

    def __init__(self, kind: str) -> None:
        self.kind = kind
        self.times: list[float] = []
        self._handle = attach("jido.signal.received", self)

    def __call__(self, event: Event) -> None:
        if event.fields["signal_type"] == self.kind:
            self.times.append(trio.current_time())

    def detach(self) -> None:
        self._handle.detach()


class Kept:
    """A MemoryStateStore that outlives the runtimes that close it, as a file does."""

    def __init__(self) -> None:
        self.inner = MemoryStateStore()

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)

    async def aclose(self) -> None:
        await trio.lowlevel.checkpoint()
