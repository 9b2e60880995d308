"""Directives carried out by the runtime: Emit, Schedule, SpawnAgent, StopChild."""

from __future__ import annotations

import pytest
import trio
import trio.testing

from jido.runtime.runtime import open_runtime

from .agents import Counter, Parent, Watcher, sig


class TestEmit:
    async def test_emit_reaches_subscribers_with_causality(self) -> None:
        """An Emit without a target reaches subscribed agents and listeners, marked as caused by its signal."""
        async with open_runtime() as rt:
            ref = await rt.start_agent(Counter, id="c")
            watcher = await rt.start_agent(Watcher, id="w")
            async with rt.listen("counter.*") as received:
                trigger = sig("announce")
                await ref.call(trigger)
                emitted = await received.receive()
            assert emitted.type == "counter.changed"
            assert emitted.causationid == trigger.id
            assert emitted.correlationid == trigger.id
            state = await watcher.wait_state(lambda s: s.count == 1, timeout=5)
            assert state.count == 1

    async def test_emit_to_agent(self) -> None:
        """An Emit with a target id goes to that agent."""
        async with open_runtime() as rt:
            a = await rt.start_agent(Counter, id="a")
            b = await rt.start_agent(Counter, id="b")
            await a.call(sig("tell", to="b"))
            state = await b.wait_state(lambda s: s.count == 10, timeout=5)
            assert state.count == 10

    async def test_emit_to_missing_agent_is_dead_letter(self) -> None:
        """An Emit to an unknown id is recorded as a dead letter."""
        async with open_runtime() as rt:
            a = await rt.start_agent(Counter, id="a")
            await a.call(sig("tell", to="ghost"))
            [letter] = rt.dead_letters()
            assert (letter.agent_id, letter.reason) == ("ghost", "not_found")


class TestSchedule:
    async def test_schedule_fires_after_delay(self, autojump_clock: trio.testing.MockClock) -> None:
        """A Schedule directive delivers its signal to the agent after the delay."""
        async with open_runtime() as rt:
            ref = await rt.start_agent(Counter, id="c")
            start = trio.current_time()
            await ref.call(sig("later", delay=5.0))
            await ref.wait_state(lambda s: s.count == 100, timeout=10)
            assert trio.current_time() - start == 5.0

    async def test_schedule_cancelled_with_agent(self, autojump_clock: trio.testing.MockClock) -> None:
        """A pending Schedule is cancelled when its agent stops."""
        async with open_runtime() as rt:
            ref = await rt.start_agent(Counter, id="c")
            await ref.call(sig("later", delay=5.0))
            await ref.stop()
            await trio.sleep(10)
            assert ref.state.count == 0
            assert rt.dead_letters() == []


class TestChildren:
    async def test_spawn_and_stop_child(self) -> None:
        """SpawnAgent starts a supervised child; the parent hears started and exit."""
        async with open_runtime() as rt:
            parent = await rt.start_agent(Parent, id="p")
            await parent.call(sig_parent("spawn", tag="w1"))
            child = rt.get("p/w1")
            await child.call(sig("add", by=2))
            await parent.call(sig_parent("drop", tag="w1"))
            await parent.wait_state(lambda s: len(s.events) == 2, timeout=5)
            assert parent.state.events == ["w1:started", "w1:normal"]
            assert rt.whereis("p/w1") is None

    async def test_children_stop_with_parent(self) -> None:
        """Stopping a parent stops its children."""
        async with open_runtime() as rt:
            parent = await rt.start_agent(Parent, id="p")
            await parent.call(sig_parent("spawn", tag="w1"))
            child = rt.get("p/w1")
            await parent.stop()
            await child.wait_stopped()
            assert rt.agents() == []

    async def test_child_survives_parent_crash(self) -> None:
        """A child keeps running while its parent restarts."""
        async with open_runtime() as rt:
            parent = await rt.start_agent(Parent, id="p")
            await parent.call(sig_parent("spawn", tag="w1"))
            parent.cast_nowait(sig_parent("crash"))
            await parent.call(sig_parent("spawn", tag="w2"))
            assert parent.restarts == 1
            assert rt.whereis("p/w1") is not None and rt.whereis("p/w2") is not None


def sig_parent(kind: str, **data: object):  # type: ignore[no-untyped-def]
    from jido.signal import Signal

    return Signal(type=f"parent.{kind}", source="/test", data=data or None)


class TestCron:
    async def test_cron_directive_and_cancel(self, autojump_clock: trio.testing.MockClock) -> None:
        """A Cron directive delivers its signal on schedule; CronCancel stops it."""
        import datetime as dt

        from dsl import action, agent, route
        from jido import ActionContext, Cron, CronCancel, TrioClock
        from jido.signal import Signal

        tick = Signal(type="ticker.tick", source="/t")

        @action
        class Arm:
            def run(self, ctx: ActionContext) -> Cron:
                return Cron("*/5 * * * *", tick, job_id="beat")

        @action
        class Disarm:
            def run(self, ctx: ActionContext) -> CronCancel:
                return CronCancel("beat")

        @action
        class Count:
            def run(self, ctx: ActionContext) -> dict[str, int]:
                return {"ticks": ctx.state.ticks + 1}

        @agent
        @route("ticker.arm", Arm)
        @route("ticker.disarm", Disarm)
        @route("ticker.tick", Count)
        class Ticker:
            ticks: int = 0

        clock = TrioClock(start=dt.datetime(2026, 1, 1, 12, 0, 30, tzinfo=dt.UTC))
        async with open_runtime(clock=clock) as rt:
            ref = await rt.start_agent(Ticker, id="t")
            await ref.call(Signal(type="ticker.arm", source="/t"))
            await ref.wait_state(lambda s: s.ticks == 2, timeout=3600)
            assert clock.now() == dt.datetime(2026, 1, 1, 12, 10, tzinfo=dt.UTC)
            await ref.call(Signal(type="ticker.disarm", source="/t"))
            await trio.sleep(3600)
            assert ref.state.ticks == 2


class TestDirectiveFailures:
    async def test_failing_directive_answers_and_dead_letters(self) -> None:
        """A directive that cannot be carried out fails the call, dead-letters the signal, and crashes the agent."""
        async with open_runtime() as rt:
            parent = await rt.start_agent(Parent, id="p")
            await parent.call(sig_parent("spawn", tag="w1"))
            with pytest.raises(ValueError, match=r"^agent 'p' already has a child tagged 'w1'\n"):
                await parent.call(sig_parent("spawn", tag="w1"))
            [letter] = rt.dead_letters()
            assert (letter.reason, letter.signal.type) == ("directive_failed", "parent.spawn")
            await parent.call(sig_parent("spawn", tag="w2"))
            assert parent.restarts == 1

    async def test_parent_hears_child_restart(self) -> None:
        """A parent is told when its child restarts after a crash."""
        async with open_runtime() as rt:
            parent = await rt.start_agent(Parent, id="p")
            await parent.call(sig_parent("spawn", tag="w1"))
            child = rt.get("p/w1")
            child.cast_nowait(sig("crash"))
            state = await parent.wait_state(lambda s: len(s.events) == 2, timeout=5)
            assert state.events[0] == "w1:started"
            assert state.events[1].startswith("w1:RuntimeError") or state.events[1].startswith(
                "w1:ActionError"
            )

    async def test_stopping_parent_leaves_no_dead_letters(self) -> None:
        """Children's exit notices to a stopping parent are not dead letters."""
        async with open_runtime() as rt:
            parent = await rt.start_agent(Parent, id="p")
            for tag in ("a", "b"):
                await parent.call(sig_parent("spawn", tag=tag))
            await parent.stop()
            assert rt.dead_letters() == []
