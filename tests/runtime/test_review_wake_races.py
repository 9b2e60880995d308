"""Review: starting or stopping an agent while a wake of it is under way (jido.runtime.activation)."""

from __future__ import annotations

from typing import Any

import pytest
import trio
import trio.testing

from jido.errors import AgentNotFoundError
from jido.runtime.runtime import open_runtime
from jido.store import MemoryStateStore
from tests.runtime.sleepers import Sleeper, command


class GatedStore(MemoryStateStore):
    """A memory store whose next load, once armed, waits until released (a slow disk)."""

    def __init__(self) -> None:
        super().__init__()
        self.armed = False
        self.release = trio.Event()
        self.held = False

    async def load(self, agent_id: str) -> Any:
        if self.armed:
            self.armed = False
            self.held = True
            await self.release.wait()
        return await super().load(agent_id)


async def test_review_start_agent_during_a_wake_keeps_the_timers(
    autojump_clock: trio.testing.MockClock,
) -> None:
    """A sleeping agent with a pending timer is woken by a message; its wake has taken the dormant entry and
    waits for the store. Meanwhile start_agent with its id (an "ensure it runs" call) finds it neither
    registered nor dormant and starts it anew. The wake then fails with AgentExistsError: the message is
    dead-lettered (not_activated) instead of handled, and the timer, kept only in the entry, never fires."""
    store = GatedStore()
    async with open_runtime(store=store) as rt:
        ref = await rt.start_agent(Sleeper, id="k")
        await ref.call(command("set.later", delay=60.0))
        await trio.sleep(11)
        assert ref.status == "hibernated"
        store.armed = True
        ref.cast_nowait(command("ping"))  # starts a wake, which waits in the store
        while not store.held:
            await trio.lowlevel.checkpoint()
        assert rt.whereis("k") is None  # the wake is under way: entry taken, not registered yet
        started: list[Any] = []

        async def start() -> None:
            started.append(await rt.start_agent(Sleeper, id="k"))  # waits for the wake under way

        async with trio.open_nursery() as nursery:
            nursery.start_soon(start)
            await trio.testing.wait_all_tasks_blocked()
            assert started == []
            store.release.set()
        await trio.sleep(100)
        state = (await rt.activate("k")).state
        assert rt.dead_letters() == []
        assert state.log == ["ping", "clock.timer"]


async def test_review_stopped_agent_is_not_revived_by_a_stale_entry(
    autojump_clock: trio.testing.MockClock,
) -> None:
    """The same race: start_agent wins, the wake fails with AgentExistsError, and Dormancy._start puts the entry
    it took back (setdefault) although the agent is running. The running agent is then stopped for good; the
    stale entry makes it activatable again (rt.activate answers with a new incarnation, and its old timer)."""
    store = GatedStore()
    async with open_runtime(store=store) as rt:
        ref = await rt.start_agent(Sleeper, id="k")
        await ref.call(command("set.later", delay=60.0))
        await trio.sleep(11)
        store.armed = True
        ref.cast_nowait(command("ping"))
        while not store.held:
            await trio.lowlevel.checkpoint()
        started: list[Any] = []

        async def start() -> None:
            started.append(await rt.start_agent(Sleeper, id="k"))

        async with trio.open_nursery() as nursery:
            nursery.start_soon(start)
            await trio.testing.wait_all_tasks_blocked()
            store.release.set()
        (live,) = started
        await trio.sleep(1)
        await live.stop()
        assert live.status == "stopped"
        with pytest.raises(AgentNotFoundError):
            await rt.activate("k")  # revived from the stale entry: a running agent
