"""Hibernation: an idle agent leaves memory after its idle_timeout and comes back on its next message, with
its state, handling what was sent meanwhile in arrival order; virtual agents are addressable before they run."""

from __future__ import annotations

import gc
import re
from typing import Any

import attrs
import pytest
import trio
import trio.testing

from dsl import action, agent, route
from jido.action.spec import ActionContext
from jido.agent.directives import Schedule
from jido.errors import AgentNotFoundError, ClosedError, DefinitionError
from jido.runtime.runtime import open_runtime
from jido.signal import Signal
from jido.store import MemoryStateStore
from jido.telemetry import Event, attach


@action
class Note:
    n: int

    def run(self, ctx: ActionContext) -> dict[str, Any]:
        return {"seen": [*ctx.state.seen, self.n]}


@action
class Later:
    def run(self, ctx: ActionContext) -> Schedule:
        return Schedule(30.0, note(-1))


@agent(subscribe=["notes.*"], idle_timeout=10.0)
@route("notes.add", Note)
@route("notes.later", Later)
class Notebook:
    seen: list[int] = attrs.field(factory=list)


@agent
@route("notes.add", Note)
class Plain:
    seen: list[int] = attrs.field(factory=list)


def note(n: int) -> Signal:
    return Signal(type="notes.add", source="/test", data={"n": n})


async def asleep(rt: Any, agent_id: str, count: int = 1) -> None:
    """Wait (on the mock clock) until ``count`` agents whose id starts with ``agent_id`` are dormant."""
    done = trio.Event()

    def check(event: Event | None = None) -> None:
        if sum(1 for known in rt._dormancy._dormant if known.startswith(agent_id)) >= count:
            done.set()

    attachment = attach("jido.agent.hibernated", check)
    try:
        check()
        with trio.fail_after(3600):
            await done.wait()
    finally:
        attachment.detach()


class TestHibernate:
    async def test_idle_agent_hibernates(self, autojump_clock: trio.testing.MockClock) -> None:
        """Past its idle_timeout the agent's task ends; the runtime counts it hibernated."""
        async with open_runtime() as rt:
            ref = await rt.start_agent(Notebook, id="nb")
            await ref.call(note(1))
            await asleep(rt, "nb")
            assert ref.status == "hibernated" and rt.whereis("nb") is None
            stats = rt.statistics()
            assert (stats.hibernated, stats.hibernations, stats.agents) == (1, 1, 0)

    async def test_call_wakes_it_with_its_state(self, autojump_clock: trio.testing.MockClock) -> None:
        """A call on the ref held from before wakes the agent, with its state."""
        async with open_runtime() as rt:
            ref = await rt.start_agent(Notebook, id="nb")
            await ref.call(note(1))
            await asleep(rt, "nb")
            agent = await ref.call(note(2))
            assert agent.state.seen == [1, 2]
            assert ref.state.seen == [1, 2]  # the old ref reads the new incarnation
            assert rt.statistics().activations == 1 and rt.whereis("nb") is not None

    async def test_casts_while_dormant_arrive_in_order(self, autojump_clock: trio.testing.MockClock) -> None:
        """Casts and calls sent to a dormant agent are handled in arrival order, none lost."""
        async with open_runtime() as rt:
            ref = await rt.start_agent(Notebook, id="nb")
            await asleep(rt, "nb")
            for n in range(5):
                ref.cast_nowait(note(n))
            await ref.cast(note(5))
            agent = await ref.call(note(6))
            assert agent.state.seen == list(range(7))

    async def test_bus_signal_wakes_it(self, autojump_clock: trio.testing.MockClock) -> None:
        """A published signal the agent subscribes to wakes it; signals published while asleep all arrive."""
        async with open_runtime() as rt:
            await rt.start_agent(Notebook, id="nb")
            await asleep(rt, "nb")
            woken = trio.Event()
            attachment = attach("jido.agent.activated", lambda event: woken.set())
            for n in range(3):
                await rt.publish(note(n))
            with trio.fail_after(60):
                await woken.wait()  # the delivery woke it, nobody else
            attachment.detach()
            live = rt.get("nb")
            state = await live.wait_state(lambda s: len(s.seen) >= 3, timeout=60)
            assert state.seen == [0, 1, 2]

    async def test_with_a_store_state_comes_from_it(self, autojump_clock: trio.testing.MockClock) -> None:
        """With a state store nothing more is kept in memory: the agent wakes from its stored state."""
        store = MemoryStateStore()
        async with open_runtime(store=store) as rt:
            ref = await rt.start_agent(Notebook, id="nb")
            await ref.call(note(1))
            await asleep(rt, "nb")
            assert rt._dormancy._dormant["nb"][1] is None
            assert (await ref.call(note(2))).state.seen == [1, 2]

    async def test_pending_timer_sleeps_with_it(self, autojump_clock: trio.testing.MockClock) -> None:
        """An agent with a pending Schedule hibernates; the timer wakes it when due and fires then."""
        async with open_runtime() as rt:
            ref = await rt.start_agent(Notebook, id="nb")
            await ref.call(Signal(type="notes.later", source="/test"))
            await trio.sleep(20)
            assert ref.status == "hibernated"
            await trio.sleep(15)  # due at 30 s
            assert ref.state.seen == [-1]

    async def test_runtime_default_and_none(self, autojump_clock: trio.testing.MockClock) -> None:
        """open_runtime(idle_timeout=...) applies to agents that declare none; without one they stay."""
        async with open_runtime() as rt:
            ref = await rt.start_agent(Plain, id="p")
            await trio.sleep(3600)
            assert ref.status == "running"
        async with open_runtime(idle_timeout=5.0) as rt:
            await rt.start_agent(Plain, id="p")
            await asleep(rt, "p")

    async def test_start_agent_of_a_dormant_id_wakes_it(self, autojump_clock: trio.testing.MockClock) -> None:
        """start_agent with the id of a dormant agent returns it awake, with its kept state."""
        async with open_runtime() as rt:
            ref = await rt.start_agent(Notebook, id="nb")
            await ref.call(note(4))
            await asleep(rt, "nb")
            again = await rt.start_agent(Notebook, id="nb")
            assert again.state.seen == [4] and again.status == "running"

    async def test_stop_while_dormant(self, autojump_clock: trio.testing.MockClock) -> None:
        """Stopping a dormant agent forgets it: later messages are refused."""
        async with open_runtime() as rt:
            ref = await rt.start_agent(Notebook, id="nb")
            await asleep(rt, "nb")
            await ref.stop()
            assert rt.statistics().hibernated == 0
            with pytest.raises(ClosedError):
                await ref.call(note(1))
            with pytest.raises(AgentNotFoundError):
                await rt.activate("nb")

    async def test_many_dormant_agents_are_not_tracked_by_the_gc(
        self, autojump_clock: trio.testing.MockClock
    ) -> None:
        """Dormant entries hold only ints and strs: the garbage collector does not track them."""
        async with open_runtime(idle_timeout=1.0) as rt:
            for i in range(200):
                await rt.start_agent(Plain, id=f"p{i}")
            await asleep(rt, "p", count=200)
            gc.collect()
            assert not gc.is_tracked(rt._dormancy._dormant)
            assert not any(gc.is_tracked(entry) for entry in rt._dormancy._dormant.values())


class TestVirtualAgents:
    async def test_never_started_agent_starts_on_first_message(
        self, autojump_clock: trio.testing.MockClock
    ) -> None:
        """rt.agent(Cls, id) is valid before the agent runs; its first message starts it."""
        async with open_runtime() as rt:
            handle = rt.agent(Notebook, "v")
            assert handle.status == "unstarted"
            handle.cast_nowait(note(1))
            assert (await handle.call(note(2))).state.seen == [1, 2]
            assert handle.status == "running"
            await asleep(rt, "v")
            assert handle.status == "hibernated"
            assert (await handle.call(note(3))).state.seen == [1, 2, 3]

    async def test_resumes_from_the_store(self, autojump_clock: trio.testing.MockClock) -> None:
        """A virtual agent whose id has a stored state starts from it."""
        store = MemoryStateStore()
        async with open_runtime(store=store) as rt:
            await rt.agent(Plain, "v").call(note(7))
            await (await rt.agent(Plain, "v").ref()).stop()
            assert (await rt.agent(Plain, "v").call(note(8))).state.seen == [7, 8]

    async def test_bad_arguments(self) -> None:
        """rt.agent needs an agent class and a non-empty id."""
        async with open_runtime() as rt:
            with pytest.raises(TypeError):
                rt.agent(int, "x")
            with pytest.raises(ValueError, match=r"^agent id must be a non-empty str, got ''$"):
                rt.agent(Plain, "")

    async def test_bad_idle_timeout(self) -> None:
        """idle_timeout must be a positive number of seconds."""
        with pytest.raises(ValueError, match=r"^idle_timeout must be a positive number of seconds or None"):
            async with open_runtime(idle_timeout=0):
                pass  # pragma: no cover

    @pytest.mark.parametrize("value", [0, -1.0, float("nan"), float("inf"), "5", True])
    def test_bad_declared_idle_timeout(self, value: object) -> None:
        """@agent(idle_timeout=...) refuses what is not a positive finite number of seconds, at definition."""
        with pytest.raises(
            DefinitionError,
            match=rf"^\S+:\d+: Bad: agent 'bad': idle_timeout must be a positive number of seconds or None, got {re.escape(repr(value))}$",
        ):

            @agent(idle_timeout=value)  # type: ignore[arg-type]
            class Bad:
                n: int = 0


@agent(idle_timeout=1e-6)
@route("notes.add", Note)
class Drowsy:
    seen: list[int] = attrs.field(factory=list)


class TestDrowsy:
    async def test_asleep_again_before_the_caller_looks(self) -> None:
        """An agent that goes back to sleep right after waking is woken again for its caller."""
        async with open_runtime(store=MemoryStateStore()) as rt:
            handle = rt.agent(Drowsy, "d")
            for n in range(20):
                assert (await handle.call(note(n))).state.seen == list(range(n + 1))
