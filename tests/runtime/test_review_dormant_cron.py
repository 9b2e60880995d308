"""Review: cron jobs of dormant agents against a wall clock that jumps (200e22b's wall alarm)."""

from __future__ import annotations

import datetime as dt
from typing import Any

import attrs
import trio
import trio.testing

from dsl import action, agent, cron, route
from jido.action.spec import ActionContext
from jido.clock import TrioClock
from jido.runtime.runtime import open_runtime
from jido.signal import Signal
from jido.telemetry import Event, attach
from tests.runtime.clocks import ShiftedClock

START = dt.datetime(2026, 3, 1, 11, 58, 30, tzinfo=dt.UTC)


@action
class Log:
    def run(self, ctx: ActionContext) -> dict[str, Any]:
        return {"log": [*ctx.state.log, ctx.signal.time.isoformat() if ctx.signal.time else "?"]}


@agent(idle_timeout=10.0, schedules=[cron("*/5 * * * *", "clock.five", job_id="five")])
@route("clock.*", Log)
class Fiver:
    log: list[str] = attrs.field(factory=list)


async def test_review_clock_forward_while_dormant(autojump_clock: trio.testing.MockClock) -> None:
    """Asleep until 12:00; the wall clock is set forward an hour at 11:59: the planned 12:00 tick fires once,
    within one alarm nap (60 s of trio time), and the next planned time is after the new now."""
    clock = ShiftedClock(TrioClock(start=START))
    ticks: list[tuple[float, dt.datetime | None]] = []

    def on_received(event: Event) -> None:
        if event.fields["signal_type"] == "clock.five":
            ticks.append((trio.current_time(), event.fields["signal"].time))

    handle = attach("jido.signal.received", on_received)
    try:
        async with open_runtime(clock=clock) as rt:
            ref = await rt.start_agent(Fiver, id="f")
            t0 = trio.current_time()
            await trio.sleep(30)  # 11:59:00, asleep since 11:58:40
            assert ref.status == "hibernated"
            clock.offset = dt.timedelta(hours=1)  # 12:59:00
            await trio.sleep_until(t0 + 89)  # 12:59:59
            assert len(ticks) == 1 and ticks[0][0] - t0 <= 10 + 60  # the alarm looks every 60 s at most
            assert ticks[0][1] == dt.datetime(2026, 3, 1, 12, 0, tzinfo=dt.UTC)
            await trio.sleep_until(
                t0 + 689
            )  # 13:09:59: ticks at 13:00 and 13:05 only (no catch-up, no repeat)
            assert [t for _, t in ticks] == [
                dt.datetime(2026, 3, 1, h, m, tzinfo=dt.UTC) for h, m in ((12, 0), (13, 0), (13, 5))
            ]
    finally:
        handle.detach()


async def test_review_clock_back_while_dormant(autojump_clock: trio.testing.MockClock) -> None:
    """Asleep until 12:00; the wall clock is set back an hour at 11:59: nothing fires until the wall clock
    reaches 12:00 again, then 12:00 fires once."""
    clock = ShiftedClock(TrioClock(start=START))
    ticks: list[dt.datetime | None] = []

    def on_received(event: Event) -> None:
        if event.fields["signal_type"] == "clock.five":
            ticks.append(event.fields["signal"].time)

    handle = attach("jido.signal.received", on_received)
    try:
        async with open_runtime(clock=clock) as rt:
            ref = await rt.start_agent(Fiver, id="f")
            t0 = trio.current_time()
            await trio.sleep(30)
            assert ref.status == "hibernated"
            clock.offset = -dt.timedelta(hours=1)  # 10:59:00
            await trio.sleep_until(t0 + 3689)  # 11:59:59
            assert ticks == []
            await trio.sleep_until(t0 + 3691)  # 12:00:01
            assert ticks == [dt.datetime(2026, 3, 1, 12, 0, tzinfo=dt.UTC)]
    finally:
        handle.detach()


@agent(idle_timeout=10.0, schedules=[cron("0 * * * *", "clock.hourly", job_id="hourly")])
@route("clock.*", Log)
@route("ping", Log)
class Hourly:
    log: list[str] = attrs.field(factory=list)


async def test_review_cron_alarm_survives_heap_compaction(autojump_clock: trio.testing.MockClock) -> None:
    """The cron twin of the timer case: an hourly job, the agent poked awake 64 times in the hour; the 65th
    sleep's wall alarm is pushed as the heap passes 64 stale alarms, and the compaction drops it with them:
    the 13:00 tick does not wake the agent (it fires late, when something else wakes it)."""
    clock = TrioClock(start=START)
    ticks: list[float] = []

    def on_received(event: Event) -> None:
        if event.fields["signal_type"] == "clock.hourly":
            ticks.append(trio.current_time())

    handle = attach("jido.signal.received", on_received)
    try:
        async with open_runtime(clock=clock) as rt:
            ref = await rt.start_agent(Hourly, id="h")
            t0 = trio.current_time()
            await trio.sleep(101)  # 12:00 fired at t0+90; asleep since t0+100 until 13:00
            assert len(ticks) == 1
            for _ in range(64):
                await ref.cast(Signal(type="ping", source="/review"))
                await trio.sleep(11)
            assert ref.status == "hibernated"
            await trio.sleep_until(t0 + 3690 + 30)  # 13:00:30 (START + 3690 s is 13:00:00)
            assert len(ticks) == 2 and ticks[1] - t0 == 3690.0
    finally:
        handle.detach()
