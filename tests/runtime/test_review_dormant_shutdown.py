"""Review: closing a runtime whose dormant agents have timers and cron jobs pending (the alarm task)."""

from __future__ import annotations

from typing import Any

import attrs
import trio
import trio.testing

from dsl import action, agent, route
from jido import Schedule
from jido.action.spec import ActionContext
from jido.runtime.runtime import open_runtime
from jido.signal import Signal
from jido.store import MemoryStateStore
from jido.telemetry import Event, attach


@action
class Later:
    delay: float

    def run(self, ctx: ActionContext) -> Schedule:
        return Schedule(self.delay, Signal(type="clock.timer", source="/review"))


@action
class Note:
    def run(self, ctx: ActionContext) -> dict[str, Any]:
        return {"log": [*ctx.state.log, ctx.signal.type]}


@agent(idle_timeout=10.0)
@route("set.later", Later)
@route("clock.*", Note)
class Sleepy:
    log: list[str] = attrs.field(factory=list)


async def test_review_close_does_not_wait_for_alarms(autojump_clock: trio.testing.MockClock) -> None:
    """A hundred dormant agents with timers a day away: leaving open_runtime takes no trio time (the alarm
    task is cancelled, not waited for) and wakes nobody."""
    woken: list[str] = []

    def on_activated(event: Event) -> None:
        woken.append(event.fields["agent_id"])

    handle = attach("jido.agent.activated", on_activated)
    try:
        async with open_runtime(store=MemoryStateStore()) as rt:
            for n in range(100):
                ref = await rt.start_agent(Sleepy, id=f"s{n}")
                await ref.call(Signal(type="set.later", source="/review", data={"delay": 86400.0 + n}))
            await trio.sleep(11)
            assert rt.statistics().hibernated == 100
            closing = trio.current_time()
        assert trio.current_time() == closing and woken == []
    finally:
        handle.detach()
