"""What a live agent holds, and the observed path: an agent keeps only what it uses (no nursery it started in,
no scheduler before it schedules, no trio.Event nobody waits on), and a telemetry observer sees every signal."""

from __future__ import annotations

import gc
from typing import Any

import trio
import trio.testing

from jido.runtime.runtime import open_runtime
from jido.runtime.server import Latch
from jido.telemetry import Event, attach

from .agents import Counter, sig


def live(kind: type) -> int:
    gc.collect()
    return sum(1 for o in gc.get_objects() if type(o) is kind)


def made(ref: Any) -> bool:
    """Whether the agent has made its scheduler (without making it)."""
    return ref._scheduler is not None


class TestLatch:
    async def test_wait_then_set(self) -> None:
        """A waiter before the set is woken by it."""
        latch = Latch()
        woken: list[bool] = []

        async def waiter() -> None:
            await latch.wait()
            woken.append(True)

        async with trio.open_nursery() as nursery:
            nursery.start_soon(waiter)
            await trio.testing.wait_all_tasks_blocked()
            assert not latch.is_set() and woken == []
            latch.set()
        assert latch.is_set() and woken == [True]

    async def test_set_then_wait(self) -> None:
        """Waiting on a set latch returns at once, after a checkpoint, and makes no trio.Event."""
        latch = Latch()
        latch.set()
        with trio.CancelScope() as scope:
            scope.cancel()
            await latch.wait()  # the checkpoint delivers the cancellation
        assert scope.cancelled_caught
        assert latch._event is None


class TestWhatAnAgentHolds:
    async def test_one_nursery_per_agent(self) -> None:
        """Each agent keeps its slot's nursery only: not those its tasks were started from."""
        async with open_runtime() as rt:
            await rt.start_agent(Counter, id="first")
            before = live(trio.Nursery)
            for index in range(20):
                await rt.start_agent(Counter, id=f"c{index}")
            assert live(trio.Nursery) - before == 20

    async def test_scheduler_made_on_first_use(self, autojump_clock: trio.testing.MockClock) -> None:
        """An agent that never schedules has no scheduler; its first Schedule makes one, which delivers."""
        async with open_runtime() as rt:
            ref = await rt.start_agent(Counter, id="c")
            assert made(ref) is False
            await ref.call(sig("later", delay=5.0))
            assert made(ref) is True
            await trio.sleep(6)
            assert ref.state.count == 100

    async def test_stop_waits_without_event_until_asked(self) -> None:
        """stop() still waits for the end; wait_stopped after it returns at once."""
        async with open_runtime() as rt:
            ref = await rt.start_agent(Counter, id="c")
            assert ref._stopped._event is None
            await ref.stop()
            await ref.wait_stopped()
            assert ref.status == "stopped"


class TestObservedPath:
    async def test_handled_events(self, autojump_clock: trio.testing.MockClock) -> None:
        """With only jido.signal.handled observed, each signal gives one event with its outcome and duration."""
        seen: list[Event] = []
        async with open_runtime() as rt:
            ref = await rt.start_agent(Counter, id="c", error_policy="log")
            with attach("jido.signal.handled", seen.append):
                await ref.call(sig("add", by=2))
                await ref.call(sig("slow", seconds=1.5))
                ref.cast_nowait(sig("add", by="x"))
                await ref.call(sig("add", by=0))
        fields: list[dict[str, Any]] = [dict(e.fields) for e in seen]
        assert [(f["signal_type"], f["outcome"]) for f in fields] == [
            ("counter.add", "ok"),
            ("counter.slow", "ok"),
            ("counter.add", "rejected"),
            ("counter.add", "ok"),
        ]
        assert fields[1]["duration"] == 1.5
        assert {f["agent_id"] for f in fields} == {"c"}
        assert all(
            set(f) == {"agent_id", "signal_id", "signal_type", "duration", "outcome", "error"} for f in fields
        )
