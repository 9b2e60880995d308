"""Timers and cron jobs stored with the state: they outlive the runtime, and the next runtime on the same store
wakes their agents when they come due.

Under the autojump clock, runtimes one after the other share a memory store that outlives them (as a file
does; SQLite's writer thread and a jumping clock do not mix), and a TrioClock shared by all stands for the
wall clock. One test runs the same on a SQLite file in real time, bounded."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import attrs
import pytest
import trio
import trio.testing

from dsl import action, agent, route
from jido.action.spec import ActionContext
from jido.agent.directives import Cron, Schedule, Stop
from jido.clock import TrioClock
from jido.errors import ActionError, AgentExistsError, DefinitionError
from jido.runtime.runtime import open_runtime
from jido.runtime.scheduler import Scheduler
from jido.runtime.server import MOVED, StopAfter
from jido.signal import Signal
from jido.store import SQLiteStateStore, StateWrite
from jido.telemetry import Event, attach
from tests.runtime.sleepers import Fired, Kept, Sleeper, command

START = dt.datetime(2026, 3, 1, 11, 58, 30, tzinfo=dt.UTC)


@action
class Log:
    def run(self, ctx: ActionContext) -> dict[str, Any]:
        return {"log": [*ctx.state.log, ctx.signal.type]}


@action
class Minutely:
    def run(self, ctx: ActionContext) -> Cron:
        return Cron("* * * * *", Signal(type="clock.minute", source="/test"), job_id="minutely")


@agent(idle_timeout=10.0)
@route("clock.*", Log)
@route("set.minutely", Minutely)
class Ticker:
    log: list[str] = attrs.field(factory=list)


@action
class Later:
    delay: float

    def run(self, ctx: ActionContext) -> Schedule:
        return Schedule(self.delay, Signal(type="clock.timer", source="/test"))


@agent
@route("clock.*", Log)
@route("set.later", Log)
class Unknown:
    log: list[str] = attrs.field(factory=list)


def store(path: Kept) -> Any:
    return path


async def asleep_with_timer(path: Kept, clock: TrioClock, delay: float) -> float:
    """A first runtime: Sleeper ``s`` sets a timer ``delay`` s ahead and falls asleep; the runtime closes.
    Returns the trio time the timer is due."""
    async with open_runtime(store=store(path), clock=clock) as rt:
        await rt.agent(Sleeper, "s").call(command("set.later", delay=delay))
        due = trio.current_time() + delay
        await trio.sleep(20)
        assert rt.agent(Sleeper, "s").status == "hibernated"
    return due


def stored_document(path: Kept, agent_id: str) -> dict[str, Any]:
    document: dict[str, Any] = json.loads(path.inner._states[agent_id].data)
    return document


class TestAcrossRestarts:
    async def test_stored_with_wall_clock_deadline(
        self, autojump_clock: trio.testing.MockClock, tmp_path: Path
    ) -> None:
        """A hibernated agent's timer is in its stored record, with a wall-clock deadline and wake_at."""
        clock = TrioClock(START)
        path = Kept()
        await asleep_with_timer(path, clock, 100.0)
        document = stored_document(path, "s")
        [[deadline, signal]] = document["pending"]["timers"]
        assert document["pending"]["clock"] == "wall"
        assert deadline == pytest.approx((START + dt.timedelta(seconds=100)).timestamp())
        assert json.loads(signal)["type"] == "clock.timer"
        [wakeup] = await path.list_wakeups()
        assert wakeup.agent_id == "s"
        assert wakeup.wake_at == pytest.approx(
            START + dt.timedelta(seconds=100), abs=dt.timedelta(milliseconds=1)
        )

    async def test_next_runtime_wakes_it_when_due(
        self, autojump_clock: trio.testing.MockClock, tmp_path: Path
    ) -> None:
        """A new runtime on the same store, told the class, wakes the sleeper when its timer comes due."""
        clock = TrioClock(START)
        path = Kept()
        due = await asleep_with_timer(path, clock, 100.0)
        fired = Fired("clock.timer")
        try:
            async with open_runtime(store=store(path), clock=clock, agents=[Sleeper]) as rt:
                await trio.sleep_until(due - 1)
                assert rt.whereis("s") is None and fired.times == []
                await trio.sleep(2)
                assert fired.times == [pytest.approx(due, abs=1e-3)]
                ref = await rt.activate("s")
                assert ref.state.log == ["clock.timer"]
        finally:
            fired.detach()

    async def test_due_while_down_fires_at_once(
        self, autojump_clock: trio.testing.MockClock, tmp_path: Path
    ) -> None:
        """A timer that came due while no runtime ran fires once, as soon as the next runtime is open."""
        clock = TrioClock(START)
        path = Kept()
        due = await asleep_with_timer(path, clock, 100.0)
        await trio.sleep_until(due + 500)  # the process is down
        fired = Fired("clock.timer")
        try:
            async with open_runtime(store=store(path), clock=clock, agents=[Sleeper]) as rt:
                opened = trio.current_time()
                await trio.sleep(60)
                assert fired.times == [opened]
                assert (await rt.activate("s")).state.log == ["clock.timer"]
        finally:
            fired.detach()

    async def test_class_learned_later(self, autojump_clock: trio.testing.MockClock, tmp_path: Path) -> None:
        """A sleeper due before its class is known waits for it: Runtime.agent of any id of the class
        wakes it."""
        clock = TrioClock(START)
        path = Kept()
        due = await asleep_with_timer(path, clock, 100.0)
        fired = Fired("clock.timer")
        try:
            async with open_runtime(store=store(path), clock=clock) as rt:
                await trio.sleep_until(due + 50)
                assert fired.times == [] and rt.whereis("s") is None
                rt.agent(Sleeper, "someone-else")  # the class is now known by its name
                await trio.testing.wait_all_tasks_blocked()
                assert fired.times == [due + 50]
        finally:
            fired.detach()

    async def test_start_agent_gets_its_timers(
        self, autojump_clock: trio.testing.MockClock, tmp_path: Path
    ) -> None:
        """start_agent of a stored sleeper resumes its timers: the timer fires at its deadline, once."""
        clock = TrioClock(START)
        path = Kept()
        due = await asleep_with_timer(path, clock, 100.0)
        fired = Fired("clock.timer")
        try:
            async with open_runtime(store=store(path), clock=clock) as rt:
                await rt.start_agent(Sleeper, id="s")
                await trio.sleep_until(due + 50)
                assert fired.times == [pytest.approx(due, abs=1e-3)]
        finally:
            fired.detach()

    async def test_start_agent_after_it_was_woken(
        self, autojump_clock: trio.testing.MockClock, tmp_path: Path
    ) -> None:
        """start_agent of a sleeper the runtime already woke from the store returns it, not AgentExistsError."""
        clock = TrioClock(START)
        path = Kept()
        due = await asleep_with_timer(path, clock, 100.0)
        await trio.sleep_until(due + 5)
        async with open_runtime(store=store(path), clock=clock, agents=[Sleeper]) as rt:
            await trio.testing.wait_all_tasks_blocked()
            woken = rt.whereis("s")
            assert woken is not None
            assert await rt.start_agent(Sleeper, id="s") is woken
            assert woken.state.log == ["clock.timer"]

    async def test_nothing_twice(self, autojump_clock: trio.testing.MockClock, tmp_path: Path) -> None:
        """A timer fired in the second runtime does not fire again in a third."""
        clock = TrioClock(START)
        path = Kept()
        due = await asleep_with_timer(path, clock, 100.0)
        fired = Fired("clock.timer")
        try:
            for _ in range(2):
                async with open_runtime(store=store(path), clock=clock, agents=[Sleeper]):
                    await trio.sleep_until(trio.current_time() + 200)
            assert fired.times == [pytest.approx(due, abs=1e-3)]
            assert "pending" not in stored_document(path, "s")
        finally:
            fired.detach()

    async def test_running_agent_at_close(
        self, autojump_clock: trio.testing.MockClock, tmp_path: Path
    ) -> None:
        """The timers of an agent still running when the runtime closes are stored too."""
        clock = TrioClock(START)
        path = Kept()
        async with open_runtime(store=store(path), clock=clock) as rt:
            ref = await rt.start_agent(Unknown, id="u")
            await rt.agent(Sleeper, "s").call(command("set.later", delay=100.0))
            due = trio.current_time() + 100
            assert ref.status == "running" and rt.agent(Sleeper, "s").status == "running"
        fired = Fired("clock.timer")
        try:
            async with open_runtime(store=store(path), clock=clock, agents=[Sleeper]):
                await trio.sleep_until(due + 1)
                assert fired.times == [pytest.approx(due, abs=1e-3)]
        finally:
            fired.detach()

    async def test_cron_tick_missed_while_down_fires_once(
        self, autojump_clock: trio.testing.MockClock, tmp_path: Path
    ) -> None:
        """A cron job of a sleeper: ten ticks planned while no runtime ran fire once, then on schedule."""
        clock = TrioClock(START)
        path = Kept()
        async with open_runtime(store=store(path), clock=clock) as rt:
            await rt.agent(Ticker, "t").call(command("set.minutely"))  # next tick 12:00:00
            await trio.sleep(20)
            assert rt.agent(Ticker, "t").status == "hibernated"
        await trio.sleep_until(trio.current_time() + 600)  # down from 11:58:50 to 12:08:50
        fired = Fired("clock.minute")
        try:
            async with open_runtime(store=store(path), clock=clock, agents=[Ticker]):
                opened = clock.now()
                await trio.sleep(75)  # past 12:09:00 and 12:10:00
            times = [START + dt.timedelta(seconds=t) for t in fired.times]
            assert len(times) == 3
            assert times[0] == pytest.approx(opened, abs=dt.timedelta(milliseconds=1))
            assert times[1:] == [
                pytest.approx(
                    dt.datetime(2026, 3, 1, 12, minute, tzinfo=dt.UTC), abs=dt.timedelta(milliseconds=1)
                )
                for minute in (9, 10)
            ]
        finally:
            fired.detach()

    async def test_stopped_while_asleep_stays_stopped(
        self, autojump_clock: trio.testing.MockClock, tmp_path: Path
    ) -> None:
        """An agent stopped for good while asleep has its stored timers cleared: no later runtime wakes it."""
        clock = TrioClock(START)
        path = Kept()
        async with open_runtime(store=store(path), clock=clock) as rt:
            ref = await rt.start_agent(Sleeper, id="s")
            await ref.call(command("set.later", delay=100.0))
            await trio.sleep(20)
            assert rt.agent(Sleeper, "s").status == "hibernated"
            await ref.stop()
        assert "pending" not in stored_document(path, "s")
        fired = Fired("clock.timer")
        try:
            async with open_runtime(store=store(path), clock=clock, agents=[Sleeper]) as rt:
                await trio.sleep(500)
                assert fired.times == [] and rt.whereis("s") is None
        finally:
            fired.detach()

    async def test_unknown_pending_format_is_refused(
        self, autojump_clock: trio.testing.MockClock, tmp_path: Path
    ) -> None:
        """A stored record whose pending work is malformed is refused (BrokenError naming the agent)."""
        from jido.errors import BrokenError

        path = Kept()
        document = {
            "format": 1,
            "agent": "sleeper",
            "version": 1,
            "state": {"log": []},
            "applied": {},
            "recent": [],
            "pending": {"timers": [["soon", "x"]], "cron": []},
        }
        await path.save_many([StateWrite("s", json.dumps(document))])
        async with open_runtime(store=store(path)) as rt:
            with pytest.raises(BrokenError, match=r"'s'.*malformed pending work: \$\.timers\[0\]"):
                await rt.start_agent(Sleeper, id="s")

    async def test_agents_must_be_agents(self) -> None:
        """open_runtime(agents=...) refuses what is not an agent."""
        with pytest.raises(DefinitionError, match=r"^open_runtime: agents holds 42, which is not an agent$"):
            async with open_runtime(agents=[42]):  # type: ignore[list-item]
                pass  # pragma: no cover


class TestWallExport:
    async def test_round_trip_through_wall_time(self, autojump_clock: trio.testing.MockClock) -> None:
        """export(wall=True) in one scheduler and restore in another (a later trio time, as in another
        process) keeps each timer's wall-clock deadline and order."""
        clock = TrioClock(START)
        got: list[tuple[float, str]] = []
        async with trio.open_nursery() as nursery:
            first = Scheduler(nursery, lambda s: None, clock=clock)
            first.schedule(30, Signal(type="a", source="/t"))
            first.schedule(10, Signal(type="b", source="/t"))
            work = first.export(wall=True)
            first.close()
            assert work.wake_at == START + dt.timedelta(seconds=10)
            await trio.sleep(5)
            second = Scheduler(nursery, lambda s: got.append((trio.current_time(), s.type)), clock=clock)
            second.restore(work.text)
            await trio.sleep(40)
            second.close()
        assert [kind for _, kind in got] == ["b", "a"]
        assert [when for when, _ in got] == pytest.approx([10, 30])


@agent(idle_timeout=0.05)
@route("clock.*", Log)
@route("set.later", Later)
class Napper:
    log: list[str] = attrs.field(factory=list)


class TestOnSQLite:
    async def test_timer_outlives_the_runtime(self, tmp_path: Path) -> None:
        """Real time, one SQLite file: a sleeper's timer set in one runtime fires in the next, not before
        its deadline, once."""
        path = tmp_path / "state.db"
        asleep = trio.Event()
        handle = attach("jido.agent.hibernated", lambda event: asleep.set())
        try:
            async with open_runtime(store=SQLiteStateStore(path, synchronous="NORMAL")) as rt:
                await rt.agent(Napper, "n").call(command("set.later", delay=0.5))
                due = dt.datetime.now(dt.UTC) + dt.timedelta(seconds=0.5)
                with trio.fail_after(10):
                    await asleep.wait()
        finally:
            handle.detach()
        fired = trio.Event()
        times: list[dt.datetime] = []

        def on_timer(event: Event) -> None:
            if event.fields["signal_type"] == "clock.timer":
                times.append(dt.datetime.now(dt.UTC))
                fired.set()

        handle = attach("jido.signal.handled", on_timer)
        try:
            async with open_runtime(
                store=SQLiteStateStore(path, synchronous="NORMAL"), agents=[Napper]
            ) as rt:
                with trio.fail_after(10):
                    await fired.wait()
                assert (await rt.activate("n")).state.log == ["clock.timer"]
        finally:
            handle.detach()
        assert len(times) == 1 and times[0] >= due - dt.timedelta(milliseconds=5)


class TestStartOptions:
    async def test_start_agent_of_a_parked_sleeper_keeps_its_options(
        self, autojump_clock: trio.testing.MockClock
    ) -> None:
        """A stored sleeper due while its class is unknown is started by start_agent with the options given,
        not woken first with the defaults."""
        clock = TrioClock(START)
        path = Kept()
        due = await asleep_with_timer(path, clock, 100.0)
        await trio.sleep_until(due + 5)
        async with open_runtime(store=store(path), clock=clock) as rt:
            await trio.testing.wait_all_tasks_blocked()
            assert rt.whereis("s") is None
            ref = await rt.start_agent(Sleeper, id="s", mailbox_size=7, restart="permanent")
            await trio.testing.wait_all_tasks_blocked()
            assert ref.mailbox_size == 7
            assert ref.state.log == ["clock.timer"]


def crashed_copy(path: Kept) -> Kept:
    """The store as a crash would leave it now: what is written, and nothing the runtime does after."""
    copy = Kept()
    copy.inner._states = dict(path.inner._states)
    copy.inner._wakeups = dict(path.inner._wakeups)
    copy.inner._sorted = None
    return copy


class TestWithEachCommit:
    async def test_commit_stores_the_timers(self, autojump_clock: trio.testing.MockClock) -> None:
        """The agent's next commit stores a timer (the one that set it ran before its directives did): a
        crash after it loses nothing."""
        clock = TrioClock(START)
        path = Kept()
        async with open_runtime(store=store(path), clock=clock) as rt:
            ref = await rt.start_agent(Unknown, id="u")  # no idle_timeout: it keeps running
            sleeper = rt.agent(Sleeper, "s")
            await sleeper.call(command("set.later", delay=100.0))
            due = trio.current_time() + 100
            assert "pending" not in stored_document(path, "s")
            await sleeper.call(command("ping"))
            crashed = crashed_copy(path)
            assert "pending" in stored_document(crashed, "s") and ref.status == "running"
        fired = Fired("clock.timer")
        try:
            async with open_runtime(store=store(crashed), clock=clock, agents=[Sleeper]):
                await trio.sleep_until(due + 1)
            assert fired.times == [pytest.approx(due, abs=1e-3)]
        finally:
            fired.detach()

    async def test_fired_and_committed_is_not_stored(self, autojump_clock: trio.testing.MockClock) -> None:
        """Once a timer's signal is committed, the record no longer holds it: a crash then does not fire it
        again."""
        clock = TrioClock(START)
        path = Kept()
        async with open_runtime(store=store(path), clock=clock) as rt:
            ref = await rt.start_agent(Sleeper, id="s")
            await ref.call(command("set.later", delay=5.0))
            await ref.call(command("set.later", delay=500.0))
            await trio.sleep(6)
            assert ref.state.log == ["clock.timer"]
            crashed = crashed_copy(path)
        [[deadline, _]] = stored_document(crashed, "s")["pending"]["timers"]
        assert deadline == pytest.approx((START + dt.timedelta(seconds=500)).timestamp(), abs=1e-3)

    async def test_hibernation_writes_nothing_more_when_unchanged(
        self, autojump_clock: trio.testing.MockClock
    ) -> None:
        """An agent whose last commit stored its timers as they still are falls asleep without a write."""
        clock = TrioClock(START)
        path = Kept()
        async with open_runtime(store=store(path), clock=clock) as rt:
            await rt.agent(Sleeper, "s").call(command("set.later", delay=100.0))
            await rt.agent(Sleeper, "s").call(command("ping"))
            saves = path.statistics().saves
            await trio.sleep(20)
            assert rt.agent(Sleeper, "s").status == "hibernated"
            assert path.statistics().saves == saves


@action
class Fail:
    def run(self, ctx: ActionContext) -> dict[str, Any]:
        raise RuntimeError("no")


@action
class Done:
    def run(self, ctx: ActionContext) -> Any:
        return {}, [Stop("done")]


@agent
@route("clock.*", Log)
@route("set.later", Later)
@route("fail", Fail)
@route("done", Done)
class Waiter:
    log: list[str] = attrs.field(factory=list)


async def stopped_with_timer(path: Kept, clock: TrioClock, how: Any, **options: Any) -> None:
    """A first runtime: Waiter ``w`` sets a timer 100 s ahead, commits it, then ``how(rt, ref)`` stops it."""
    async with open_runtime(store=store(path), clock=clock) as rt:
        ref = await rt.start_agent(Waiter, id="w", **options)
        await ref.call(command("set.later", delay=100.0))
        await ref.call(command("clock.ping"))  # a commit: it stores the timer
        assert "pending" in stored_document(path, "w")
        await how(rt, ref)
        assert rt.whereis("w") is None


async def timer_fired_later(path: Kept, clock: TrioClock) -> bool:
    """A second runtime that knows Waiter, for longer than the timer: whether it woke ``w`` and fired it."""
    fired = Fired("clock.timer")
    try:
        async with open_runtime(store=store(path), clock=clock, agents=[Waiter]) as rt:
            await trio.sleep(500)
            assert (rt.whereis("w") is not None) == bool(fired.times)
        return bool(fired.times)
    finally:
        fired.detach()


class TestStoppedForGood:
    async def test_stop_takes_the_stored_timers_out(self, autojump_clock: trio.testing.MockClock) -> None:
        """ref.stop() of a running agent takes its stored timers out before it returns: no runtime wakes it."""
        clock, path = TrioClock(START), Kept()

        async def stop(rt: Any, ref: Any) -> None:
            await ref.stop()
            assert "pending" not in stored_document(path, "w")
            assert path.inner._wakeups == {}

        await stopped_with_timer(path, clock, stop)
        assert not await timer_fired_later(path, clock)

    async def test_stop_after_takes_them_out(self, autojump_clock: trio.testing.MockClock) -> None:
        """An agent stopped by its StopAfter error policy is stopped for good too."""
        clock, path = TrioClock(START), Kept()

        async def fail(rt: Any, ref: Any) -> None:
            with pytest.raises(ActionError, match=r"^action 'fail' failed: RuntimeError\('no'\)$"):
                await ref.call(command("fail"))
            await ref.wait_stopped()
            assert ref.exit_reason == "stopped after 1 errors"

        await stopped_with_timer(path, clock, fail, error_policy=StopAfter(1))
        assert "pending" not in stored_document(path, "w")
        assert not await timer_fired_later(path, clock)

    async def test_moved_keeps_them(self, autojump_clock: trio.testing.MockClock) -> None:
        """An agent stopped because it moved (reason MOVED, the cluster runtime's) keeps its stored timers."""
        clock, path = TrioClock(START), Kept()

        async def moved(rt: Any, ref: Any) -> None:
            await ref.stop(MOVED)
            assert ref.exit_reason == "moved"

        await stopped_with_timer(path, clock, moved)
        assert "pending" in stored_document(path, "w")
        assert await timer_fired_later(path, clock)

    async def test_keep_pending_keeps_them(self, autojump_clock: trio.testing.MockClock) -> None:
        """ref.stop(keep_pending=True) keeps them whatever the reason."""
        clock, path = TrioClock(START), Kept()

        async def stop(rt: Any, ref: Any) -> None:
            await ref.stop("maintenance", keep_pending=True)

        await stopped_with_timer(path, clock, stop)
        assert await timer_fired_later(path, clock)

    async def test_asleep_and_moved_keeps_them(self, autojump_clock: trio.testing.MockClock) -> None:
        """A sleeping agent stopped because it moved keeps its stored timers too."""
        clock, path = TrioClock(START), Kept()
        async with open_runtime(store=store(path), clock=clock) as rt:
            ref = await rt.start_agent(Sleeper, id="s")
            await ref.call(command("set.later", delay=100.0))
            await trio.sleep(20)
            assert rt.agent(Sleeper, "s").status == "hibernated"
            await ref.stop(MOVED)
        assert "pending" in stored_document(path, "s")
        fired = Fired("clock.timer")
        try:
            async with open_runtime(store=store(path), clock=clock, agents=[Sleeper]):
                await trio.sleep(500)
            assert len(fired.times) == 1
        finally:
            fired.detach()

    async def test_permanent_agent_restarted_by_stop_keeps_them(
        self, autojump_clock: trio.testing.MockClock
    ) -> None:
        """A permanent agent's Stop directive restarts it: its timers go on, in memory and in the store."""
        clock, path = TrioClock(START), Kept()
        async with open_runtime(store=store(path), clock=clock) as rt:
            ref = await rt.start_agent(Waiter, id="w", restart="permanent")
            await ref.call(command("set.later", delay=100.0))
            await ref.call(command("done"))
            await trio.testing.wait_all_tasks_blocked()
            assert ref.restarts == 1 and "pending" in stored_document(path, "w")
            await trio.sleep(200)
            assert ref.state.log == ["clock.timer"]

    async def test_shutdown_keeps_them(self, autojump_clock: trio.testing.MockClock) -> None:
        """Closing the runtime is no stop for good: the next runtime wakes the agent when its timer is due."""
        clock, path = TrioClock(START), Kept()
        async with open_runtime(store=store(path), clock=clock) as rt:
            ref = await rt.start_agent(Waiter, id="w")
            await ref.call(command("set.later", delay=100.0))
            await ref.call(command("clock.ping"))
        assert "pending" in stored_document(path, "w")
        assert await timer_fired_later(path, clock)


class TestWokenFromStore:
    async def test_forgotten_when_it_sleeps_again(self, autojump_clock: trio.testing.MockClock) -> None:
        """A sleeper woken from the store that nobody starts is not remembered once it sleeps again."""
        clock, path = TrioClock(START), Kept()
        await asleep_with_timer(path, clock, 100.0)
        async with open_runtime(store=store(path), clock=clock, agents=[Sleeper]) as rt:
            await trio.sleep(150)  # woken when due, then idle: asleep again
            assert rt.agent(Sleeper, "s").status == "hibernated"
            assert rt._dormancy.woken_from_store == set()
            ref = await rt.start_agent(Sleeper, id="s")  # a hibernated agent: woken as it is
            assert ref.state.log == ["clock.timer"]

    async def test_forgotten_when_it_stops(self, autojump_clock: trio.testing.MockClock) -> None:
        """... nor once it stops."""
        clock, path = TrioClock(START), Kept()
        due = await asleep_with_timer(path, clock, 100.0)
        async with open_runtime(store=store(path), clock=clock, agents=[Sleeper]) as rt:
            await trio.sleep_until(due + 1)  # woken when due, not asleep again yet
            ref = rt.whereis("s")
            assert ref is not None and rt._dormancy.woken_from_store == {"s"}
            await ref.stop()
            assert rt._dormancy.woken_from_store == set()

    async def test_hibernated_agent_of_another_class(self, autojump_clock: trio.testing.MockClock) -> None:
        """start_agent of a hibernated agent's id as another class raises AgentExistsError and leaves it be."""
        async with open_runtime() as rt:
            await rt.agent(Sleeper, "s").call(command("ping"))
            await trio.sleep(20)
            with pytest.raises(AgentExistsError, match="'s'"):
                await rt.start_agent(Waiter, id="s")
            assert rt.agent(Sleeper, "s").status == "hibernated"
            assert (await rt.start_agent(Sleeper, id="s")).state.log == ["ping"]
