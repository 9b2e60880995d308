"""Review: durable timers across restarts of the runtime."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import attrs
import pytest
import trio
import trio.testing

from dsl import action, agent, route
from jido.action.spec import ActionContext
from jido.clock import TrioClock
from jido.directives import Schedule
from jido.runtime.runtime import open_runtime
from jido.signal import Signal
from jido.store import MemoryStateStore
from jido.telemetry import Event, attach

START = dt.datetime(2026, 3, 1, 11, 58, 30, tzinfo=dt.UTC)


@action
class _Later:
    delay: float

    def run(self, ctx: ActionContext) -> Schedule:
        return Schedule(self.delay, Signal(type="review.timer", source="/test"))


@action
class _Note:
    def run(self, ctx: ActionContext) -> dict[str, Any]:
        return {"log": [*ctx.state.log, ctx.signal.type]}


@agent
@route("review.timer", _Note)
@route("review.ping", _Note)
@route("review.later", _Later)
class ReviewWaiter:
    log: list[str] = attrs.field(factory=list)


class _Kept:
    """A memory store that outlives the runtimes that close it, as a file does."""

    def __init__(self) -> None:
        self.inner = MemoryStateStore()

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)

    async def aclose(self) -> None:
        await trio.lowlevel.checkpoint()


class _Fired:
    def __init__(self, kind: str) -> None:
        self.kind = kind
        self.times: list[float] = []
        self._handle = attach("jido.signal.received", self)

    def __call__(self, event: Event) -> None:
        if event.fields["signal_type"] == self.kind:
            self.times.append(trio.current_time())

    def detach(self) -> None:
        self._handle.detach()


def _later(delay: float) -> Signal:
    return Signal(type="review.later", source="/test", data={"delay": delay})


@pytest.mark.xfail(
    strict=True,
    reason="stopping a running agent leaves the timers its last commit stored: the next runtime wakes it",
)
async def test_running_agent_stopped_stays_stopped(autojump_clock: trio.testing.MockClock) -> None:
    clock = TrioClock(START)
    kept: Any = _Kept()
    async with open_runtime(store=kept, clock=clock) as rt:
        ref = await rt.start_agent(ReviewWaiter, id="w")
        await ref.call(_later(100.0))
        await ref.call(Signal(type="review.ping", source="/test"))  # a commit: it stores the timer
        await ref.stop()  # stopped for good, while running
    fired = _Fired("review.timer")
    try:
        async with open_runtime(store=kept, clock=clock, agents=[ReviewWaiter]) as rt:
            await trio.sleep(500)
            assert rt.whereis("w") is None
        assert fired.times == []
        assert "pending" not in json.loads(kept.inner._states["w"].data)
    finally:
        fired.detach()


@agent(idle_timeout=10.0)
@route("review.timer", _Note)
@route("review.later", _Later)
class ReviewSleeper:
    log: list[str] = attrs.field(factory=list)


@pytest.mark.xfail(
    strict=True,
    reason="start_agent of an id woken from the store returns that agent whatever class was asked for",
)
async def test_start_agent_of_other_class_after_store_wake(autojump_clock: trio.testing.MockClock) -> None:
    from jido.errors import AgentExistsError

    clock = TrioClock(START)
    kept: Any = _Kept()
    async with open_runtime(store=kept, clock=clock) as rt:
        await rt.agent(ReviewSleeper, "s").call(_later(100.0))
        await trio.sleep(20)
        assert rt.agent(ReviewSleeper, "s").status == "hibernated"
    await trio.sleep(200)  # down while the timer comes due
    async with open_runtime(store=kept, clock=clock, agents=[ReviewSleeper]) as rt:
        await trio.testing.wait_all_tasks_blocked()
        woken = rt.whereis("s")
        assert woken is not None and woken.spec.name == "review_sleeper"
        with pytest.raises(AgentExistsError):
            await rt.start_agent(ReviewWaiter, id="s")  # another class under the same id


@action
class _Ping:
    def run(self, ctx: ActionContext) -> dict[str, Any]:
        return {"log": [*ctx.state.log, ctx.signal.type]}


@pytest.mark.xfail(
    strict=True,
    reason="Scheduler.export computes wake_at with datetime.fromtimestamp: a timer past year 9999 (a finite"
    " delay the scheduler accepts) raises ValueError out of hibernation and stops the whole runtime",
)
async def test_far_timer_hibernation_does_not_stop_the_runtime(autojump_clock: trio.testing.MockClock) -> None:
    async with open_runtime() as rt:  # no store at all
        await rt.agent(ReviewSleeper, "s").call(_later(1e12))  # accepted: finite and >= 0
        await trio.sleep(20)  # idle: it hibernates
        assert rt.agent(ReviewSleeper, "s").status == "hibernated"


@pytest.mark.xfail(
    strict=True,
    reason="with a store, every commit of a root agent holding a timer past year 9999 fails (ValueError in"
    " Scheduler.export): the agent can never commit again",
)
async def test_far_timer_does_not_block_commits(autojump_clock: trio.testing.MockClock) -> None:
    async with open_runtime(store=MemoryStateStore()) as rt:
        ref = await rt.start_agent(ReviewWaiter, id="w")
        await ref.call(_later(1e12))
        await ref.call(Signal(type="review.ping", source="/test"))
        assert ref.state.log == ["review.ping"]


@action
class _Done:
    def run(self, ctx: ActionContext) -> Any:
        from jido.directives import Stop

        return {}, [Stop("done")]


@agent
@route("review.timer", _Note)
@route("review.later", _Later)
@route("review.done", _Done)
class ReviewFinisher:
    log: list[str] = attrs.field(factory=list)


@pytest.mark.xfail(
    strict=True,
    reason="an agent that stopped itself (Stop directive) keeps the timers its last commit stored: the next"
    " runtime brings it back",
)
async def test_self_stopped_agent_stays_stopped(autojump_clock: trio.testing.MockClock) -> None:
    clock = TrioClock(START)
    kept: Any = _Kept()
    async with open_runtime(store=kept, clock=clock) as rt:
        ref = await rt.start_agent(ReviewFinisher, id="f")
        await ref.call(_later(100.0))
        await ref.call(Signal(type="review.done", source="/test"))  # commits (timer stored), then stops
        await ref.wait_stopped()
    fired = _Fired("review.timer")
    try:
        async with open_runtime(store=kept, clock=clock, agents=[ReviewFinisher]) as rt:
            await trio.sleep(500)
            assert rt.whereis("f") is None
        assert fired.times == []
    finally:
        fired.detach()
