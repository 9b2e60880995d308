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
from jido.errors import ValidationError
from jido.runtime.runtime import open_runtime
from jido.signal import Signal
from jido.store import MemoryStateStore
from tests.runtime.sleepers import Fired, Kept

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


def _later(delay: float) -> Signal:
    return Signal(type="review.later", source="/test", data={"delay": delay})


async def test_running_agent_stopped_stays_stopped(autojump_clock: trio.testing.MockClock) -> None:
    """A running agent stopped with ref.stop() has the timers its last commit stored taken out."""
    clock = TrioClock(START)
    kept: Any = Kept()
    async with open_runtime(store=kept, clock=clock) as rt:
        ref = await rt.start_agent(ReviewWaiter, id="w")
        await ref.call(_later(100.0))
        await ref.call(Signal(type="review.ping", source="/test"))  # a commit: it stores the timer
        await ref.stop()  # stopped for good, while running
    fired = Fired("review.timer")
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


async def test_start_agent_of_other_class_after_store_wake(autojump_clock: trio.testing.MockClock) -> None:
    """start_agent of an id woken from the store as another class raises AgentExistsError."""
    from jido.errors import AgentExistsError

    clock = TrioClock(START)
    kept: Any = Kept()
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
        assert await rt.start_agent(ReviewSleeper, id="s") is woken  # its own class: taken as it is
        assert rt._dormancy.woken_from_store == set()


@action
class _Ping:
    def run(self, ctx: ActionContext) -> dict[str, Any]:
        return {"log": [*ctx.state.log, ctx.signal.type]}


class TestFarTimers:
    async def test_absurd_delay_is_refused_and_the_runtime_goes_on(
        self, autojump_clock: trio.testing.MockClock
    ) -> None:
        """A Schedule past MAX_DELAY fails like a bad directive, naming the delay; the agent goes on and sleeps."""
        async with open_runtime() as rt:  # no store at all
            with pytest.raises(
                ValidationError,
                match=r"^\$\.delay: expected at most 3153600000 seconds \(100 years\), got 1000000000000\.0\n",
            ):
                await rt.agent(ReviewSleeper, "s").call(_later(1e12))
            await trio.sleep(20)  # idle: it hibernates
            assert rt.agent(ReviewSleeper, "s").status == "hibernated"

    async def test_absurd_delay_does_not_block_commits(self, autojump_clock: trio.testing.MockClock) -> None:
        """With a store, the refused timer is never stored: the agent's later commits go through."""
        async with open_runtime(store=MemoryStateStore()) as rt:
            ref = await rt.start_agent(ReviewWaiter, id="w")
            with pytest.raises(ValidationError, match=r"^\$\.delay: "):
                await ref.call(_later(1e12))
            await ref.call(Signal(type="review.ping", source="/test"))
            assert rt.whereis("w") is not None
            assert rt.whereis("w").state.log == ["review.ping"]  # type: ignore[union-attr]

    async def test_deadline_past_year_9999_hibernates(self, autojump_clock: trio.testing.MockClock) -> None:
        """A timer whose wall-clock deadline is past year 9999 (a clock near it) does not fail the hibernation."""
        clock = TrioClock(dt.datetime(9999, 12, 31, tzinfo=dt.UTC))
        async with open_runtime(clock=clock) as rt:
            await rt.agent(ReviewSleeper, "s").call(_later(2 * 86_400.0))
            await trio.sleep(20)
            assert rt.agent(ReviewSleeper, "s").status == "hibernated"

    async def test_deadline_past_year_9999_is_stored_at_the_last_datetime(
        self, autojump_clock: trio.testing.MockClock
    ) -> None:
        """With a store, such a timer commits, woken hibernates and is stored with wake_at at datetime.max."""
        clock = TrioClock(dt.datetime(9999, 12, 31, tzinfo=dt.UTC))
        kept: Any = Kept()
        async with open_runtime(store=kept, clock=clock) as rt:
            sleeper = rt.agent(ReviewSleeper, "s")
            await sleeper.call(_later(2 * 86_400.0))
            await sleeper.call(Signal(type="review.timer", source="/test"))  # a commit: it stores the timer
            assert kept.inner._wakeups["s"] == dt.datetime.max.replace(tzinfo=dt.UTC)
            await trio.sleep(20)
            assert sleeper.status == "hibernated"
            assert sleeper.status == "hibernated" and rt.statistics().hibernated == 1
        document = json.loads(kept.inner._states["s"].data)
        assert document["state"]["log"] == ["review.timer"]
        assert len(document["pending"]["timers"]) == 1


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


async def test_self_stopped_agent_stays_stopped(autojump_clock: trio.testing.MockClock) -> None:
    """An agent that stopped itself (a Stop directive) is not brought back by the next runtime either."""
    clock = TrioClock(START)
    kept: Any = Kept()
    async with open_runtime(store=kept, clock=clock) as rt:
        ref = await rt.start_agent(ReviewFinisher, id="f")
        await ref.call(_later(100.0))
        await ref.call(Signal(type="review.done", source="/test"))  # commits (timer stored), then stops
        await ref.wait_stopped()
    fired = Fired("review.timer")
    try:
        async with open_runtime(store=kept, clock=clock, agents=[ReviewFinisher]) as rt:
            await trio.sleep(500)
            assert rt.whereis("f") is None
        assert fired.times == []
    finally:
        fired.detach()
