"""Timers across restarts of the runtime, under Hypothesis: an agent that sleeps when idle sets timers, time
passes, and the runtime is closed and opened again on the same store after random stretches of downtime;
every timer's signal is applied exactly once, never before its deadline: at exactly its deadline when a
runtime was open then, and as soon as the next runtime opens when it came due while none was.

Time is trio's mock clock and a TrioClock stands for the wall clock; the store is a memory store that
outlives the runtimes that close it (as a file does). Set times and restarts fall on whole or half seconds
and deadlines a quarter past, so no deadline meets a restart; a runtime closes once what was due in it has
been handled."""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal, TypeAlias

import attrs
import pytest
import trio
import trio.testing
from hypothesis import given, settings
from hypothesis import strategies as st

import jido
from dsl import agent, route
from jido.clock import TrioClock
from jido.runtime.runtime import Runtime, open_runtime
from tests.properties.test_dormant_timer_properties import Fire, SetTimers
from tests.runtime.sleepers import Kept

ID = "timed"
START = dt.datetime(2026, 3, 1, 12, 0, tzinfo=dt.UTC)


@agent(idle_timeout=10.0)
@route("t.set", SetTimers)
@route("t.fire", Fire)
class Timed:
    fired: list[list[float]] = attrs.field(factory=list)


Step: TypeAlias = (
    tuple[Literal["set"], list[int]] | tuple[Literal["wait"], int] | tuple[Literal["restart"], int]
)
STEPS = st.one_of(
    st.tuples(st.just("set"), st.lists(st.integers(0, 60), min_size=1, max_size=3)),
    st.tuples(st.just("wait"), st.integers(1, 40)),
    st.tuples(st.just("restart"), st.integers(0, 80)),
)


async def scenario(steps: list[Step]) -> None:
    clock = TrioClock(START)
    store = Kept()
    deadlines: dict[int, float] = {}
    uptime: list[list[float]] = []  # [opened, closed] of each runtime
    stack: list[tuple[Runtime, Any]] = []

    async def open_one() -> Runtime:
        manager = open_runtime(store=store, clock=clock, agents=[Timed])
        rt = await manager.__aenter__()
        stack.append((rt, manager))
        uptime.append([trio.current_time(), float("inf")])
        return rt

    async def close_one() -> None:
        # What is due now is handled first: a timer's signal still in the mailbox when a runtime closes is
        # dead-lettered, like any signal in a mailbox then (docs/durable-agents.md says so).
        await trio.testing.wait_all_tasks_blocked()
        _, manager = stack.pop()
        await manager.__aexit__(None, None, None)
        uptime[-1][1] = trio.current_time()

    rt = await open_one()
    for step in steps:
        if step[0] == "set":
            delays = [d + 0.25 for d in step[1]]
            first = len(deadlines)
            now = trio.current_time()
            for i, delay in enumerate(delays):
                deadlines[first + i] = now + delay
            await rt.agent(Timed, ID).call(
                jido.Signal(type="t.set", source="/properties", data={"delays": delays, "first": first})
            )
        elif step[0] == "wait":
            await trio.sleep(step[1])
        else:
            await close_one()
            await trio.sleep(step[1] + 0.5)
            rt = await open_one()
    await trio.sleep(200)  # every timer comes due in this last runtime at the latest
    fired = (await rt.agent(Timed, ID).ref()).state.fired
    await close_one()

    by_number: dict[int, list[float]] = {}
    for n, at in fired:
        by_number.setdefault(int(n), []).append(at)
    assert sorted(by_number) == sorted(deadlines), "a timer was lost or made up"
    for n, deadline in deadlines.items():
        [at] = by_number[n]  # exactly once
        assert at >= deadline - 1e-5, f"timer {n} fired at {at}, before its deadline {deadline}"
        while_open = [span for span in uptime if span[0] <= deadline < span[1]]
        if while_open:
            assert at == pytest.approx(deadline, abs=1e-5), f"timer {n}: due at {deadline}, fired at {at}"
        else:
            reopened = min(span[0] for span in uptime if span[0] > deadline)
            assert at == pytest.approx(reopened, abs=1e-5), f"timer {n}: due while down, fired at {at}"


@settings(max_examples=40, deadline=None)
@given(steps=st.lists(STEPS, max_size=12))
def test_timers_fire_once_across_restarts(steps: list[Step]) -> None:
    """Every timer fires exactly once, at its deadline if a runtime was open then, else when the next opens."""
    trio.run(scenario, steps, clock=trio.testing.MockClock(autojump_threshold=0))
