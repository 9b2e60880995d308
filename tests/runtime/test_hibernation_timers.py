"""Timers and cron jobs of hibernated agents: they sleep with the agent, wake it when due, and come back
exactly as they were (deadlines, next fire times, order, cancellations)."""

from __future__ import annotations

import datetime as dt
import gc
from typing import Any

import attrs
import trio
import trio.testing

from dsl import action, agent, cron, route
from jido.action.spec import ActionContext
from jido.agent.directives import Cron, CronCancel, Schedule
from jido.clock import TrioClock
from jido.runtime.runtime import Runtime, open_runtime
from jido.signal import Signal
from jido.store import MemoryStateStore
from jido.telemetry import Event, attach

START = dt.datetime(2026, 3, 1, 11, 58, 30, tzinfo=dt.UTC)


@action
class Log:
    """Record the type of the signal handled."""

    n: int = -1  # a timer's number (its signal's data); cron ticks carry none

    def run(self, ctx: ActionContext) -> dict[str, Any]:
        return {"log": [*ctx.state.log, ctx.signal.type]}


@action
class Timers:
    delays: list[float]

    def run(self, ctx: ActionContext) -> list[Schedule]:
        return [
            Schedule(delay, Signal(type="clock.timer", source="/test", data={"n": n}))
            for n, delay in enumerate(self.delays)
        ]


@action
class Minutely:
    def run(self, ctx: ActionContext) -> Cron:
        return Cron("* * * * *", Signal(type="clock.minute", source="/test"), job_id="minutely")


@action
class StopDeclared:
    def run(self, ctx: ActionContext) -> CronCancel:
        return CronCancel("five")


@agent(idle_timeout=10.0, schedules=[cron("*/5 * * * *", "clock.five", job_id="five")])
@route("clock.*", Log)
@route("set.timers", Timers)
@route("set.minutely", Minutely)
@route("set.stop-declared", StopDeclared)
class Clockwork:
    log: list[str] = attrs.field(factory=list)


@agent(idle_timeout=10.0)
@route("clock.*", Log)
@route("set.timers", Timers)
class Sleeper:
    log: list[str] = attrs.field(factory=list)


def command(kind: str, **data: Any) -> Signal:
    return Signal(type=kind, source="/test", data=data)


class Recorder:
    """Trio times at which agents fell asleep and were woken, from telemetry."""

    def __init__(self) -> None:
        self.hibernated: list[tuple[float, str]] = []
        self.activated: list[tuple[float, str]] = []

    def __call__(self, event: Event) -> None:
        if event.name == "jido.agent.hibernated":
            self.hibernated.append((trio.current_time(), event.fields["agent_id"]))
        elif event.name == "jido.agent.activated":
            self.activated.append((trio.current_time(), event.fields["agent_id"]))


def recorder() -> tuple[Recorder, Any]:
    record = Recorder()
    return record, attach("jido.agent.*", record)


async def state_of(rt: Runtime, agent_id: str) -> list[str]:
    """The agent's log, read without waking it when it sleeps (from its dormant entry's JSON)."""
    live = rt.whereis(agent_id)
    if live is not None and live.status == "running":
        return list(live.state.log)
    return list((await rt.activate(agent_id)).state.log)


class TestTimers:
    async def test_timer_wakes_it_when_due(self, autojump_clock: trio.testing.MockClock) -> None:
        """Set at t0 for 60 s; asleep at t0+10; woken by the alarm at exactly t0+60; handled; asleep again."""
        record, handle = recorder()
        try:
            async with open_runtime() as rt:
                ref = await rt.start_agent(Sleeper, id="s")
                t0 = trio.current_time()
                await ref.call(command("set.timers", delays=[60.0]))
                await trio.sleep(100)
                assert [t - t0 for t, _ in record.hibernated] == [10.0, 70.0]
                assert [t - t0 for t, _ in record.activated] == [60.0]
                assert rt.whereis("s") is None or rt.whereis("s").status == "hibernated"  # type: ignore[union-attr]
                assert (await rt.activate("s")).state.log == ["clock.timer"]
        finally:
            handle.detach()

    async def test_timers_in_order_and_at_their_deadlines(
        self, autojump_clock: trio.testing.MockClock
    ) -> None:
        """Three timers (two due together) across two sleeps fire in scheduling order at their deadlines."""
        fired: list[tuple[float, int]] = []

        def on_handled(event: Event) -> None:
            if event.fields["signal_type"] == "clock.timer":
                fired.append((trio.current_time(), event.fields["signal"].data["n"]))

        handle = attach("jido.signal.received", on_handled)
        try:
            async with open_runtime() as rt:
                ref = await rt.start_agent(Sleeper, id="s")
                t0 = trio.current_time()
                await ref.call(command("set.timers", delays=[50.0, 30.0, 50.0]))
                await trio.sleep(120)
                assert [(t - t0, n) for t, n in fired] == [(30.0, 1), (50.0, 0), (50.0, 2)]
        finally:
            handle.detach()

    async def test_message_first_keeps_the_deadline(self, autojump_clock: trio.testing.MockClock) -> None:
        """Woken early by a message, the agent gets its timer back with its deadline, not a new one; the alarm
        set for the first sleep does not wake it a second time."""
        record, handle = recorder()
        try:
            async with open_runtime() as rt:
                ref = await rt.start_agent(Sleeper, id="s")
                t0 = trio.current_time()
                await ref.call(command("set.timers", delays=[60.0]))
                await trio.sleep(20)
                await rt.agent(Sleeper, "s").cast(command("clock.poke"))
                await trio.sleep(100)
                log = await state_of(rt, "s")
                assert log == ["clock.poke", "clock.timer"]
                assert [t - t0 for t, _ in record.activated[:2]] == [20.0, 60.0]
                assert [t - t0 for t, _ in record.hibernated] == [10.0, 30.0, 70.0]
        finally:
            handle.detach()

    async def test_stopped_while_dormant_is_not_woken(self, autojump_clock: trio.testing.MockClock) -> None:
        """Stopping a dormant agent drops its timers: its alarm does not bring it back."""
        record, handle = recorder()
        try:
            async with open_runtime() as rt:
                ref = await rt.start_agent(Sleeper, id="s")
                await ref.call(command("set.timers", delays=[60.0]))
                await trio.sleep(20)
                await ref.stop()
                await trio.sleep(100)
                assert record.activated == [] and rt.whereis("s") is None and len(rt._dormancy) == 0
        finally:
            handle.detach()

    async def test_with_a_store(self, autojump_clock: trio.testing.MockClock) -> None:
        """With a state store (state not kept in memory), timers still sleep with the agent and fire."""
        async with open_runtime(store=MemoryStateStore()) as rt:
            ref = await rt.start_agent(Sleeper, id="s")
            await ref.call(command("set.timers", delays=[60.0, 90.0]))
            await trio.sleep(200)
            assert await state_of(rt, "s") == ["clock.timer", "clock.timer"]


class TestCron:
    async def test_declared_cron_sleeps_between_ticks(self, autojump_clock: trio.testing.MockClock) -> None:
        """A class-declared 5-minute job: the agent sleeps between ticks and handles each at its fire time."""
        clock = TrioClock(start=START)
        ticks: list[dt.datetime] = []

        def on_received(event: Event) -> None:
            if event.fields["signal_type"] == "clock.five":
                ticks.append(clock.now())

        record, handle = recorder()
        received = attach("jido.signal.received", on_received)
        try:
            async with open_runtime(clock=clock) as rt:
                await rt.start_agent(Clockwork, id="c")
                await trio.sleep(16 * 60)
                assert ticks == [dt.datetime(2026, 3, 1, 12, m, tzinfo=dt.UTC) for m in (0, 5, 10)]
                assert len(record.activated) == 3 and len(record.hibernated) == 4
                assert await state_of(rt, "c") == ["clock.five"] * 3
        finally:
            handle.detach()
            received.detach()

    async def test_cancelled_declared_job_stays_cancelled(
        self, autojump_clock: trio.testing.MockClock
    ) -> None:
        """A declared job cancelled before the sleep does not come back when the agent is woken; a job added
        by a Cron directive does."""
        clock = TrioClock(start=START)
        async with open_runtime(clock=clock) as rt:
            ref = await rt.start_agent(Clockwork, id="c")
            await ref.call(command("set.stop-declared"))
            await ref.call(command("set.minutely"))
            await trio.sleep(10 * 60 + 5)
            log = await state_of(rt, "c")
            assert "clock.five" not in log
            assert log.count("clock.minute") == 10
            live = rt.whereis("c")
            assert live is not None and set(live.scheduler.jobs()) == {"minutely"}  # type: ignore[union-attr]

    async def test_tick_missed_while_waking_fires_once(self, autojump_clock: trio.testing.MockClock) -> None:
        """A cron tick is never lost to the sleep: each planned fire time over an hour is handled once."""
        clock = TrioClock(start=START)
        async with open_runtime(clock=clock) as rt:
            ref = await rt.start_agent(Clockwork, id="c")
            await ref.call(command("set.minutely"))
            await trio.sleep(3600 + 30)
            log = await state_of(rt, "c")
            assert log.count("clock.minute") == 60 and log.count("clock.five") == 12


class TestFootprint:
    async def test_entries_stay_untracked_and_alarms_bounded(
        self, autojump_clock: trio.testing.MockClock
    ) -> None:
        """Dormant agents with timers keep entries the garbage collector does not track, and an agent woken
        many times before its far alarm does not grow the alarm heap without bound."""
        clock = TrioClock(start=START)
        async with open_runtime(clock=clock) as rt:
            for i in range(20):
                ref = await rt.start_agent(Clockwork, id=f"c{i}")
            await trio.sleep(11)
            gc.collect()
            assert len(rt._dormancy) == 20
            assert not any(gc.is_tracked(entry) for entry in rt._dormancy._dormant.values())
            assert not any(gc.is_tracked(alarm) for alarm in rt._dormancy._wall_alarms)
            ref = rt.agent(Clockwork, "c0")  # type: ignore[assignment]
            for _ in range(300):  # woken and asleep again 300 times before its 5-minute alarm... and after
                await ref.cast(command("clock.poke"))
                await trio.sleep(11)
            assert len(rt._dormancy._wall_alarms) <= 2 * len(rt._dormancy) + 64
