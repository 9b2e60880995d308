"""Timers across hibernation, under Hypothesis: an agent that sleeps when idle sets timers, is poked, crashes and
is left alone for random stretches; every timer's signal is applied exactly once, at exactly its deadline, in
deadline order (timers due together in the order they were set), whether the agent was awake or asleep when
it came due, with or without a state store. Time is trio's mock clock: activation takes no virtual time, so
"at its deadline" is exact."""

from __future__ import annotations

from typing import Any, Literal, TypeAlias

import attrs
import trio
import trio.testing
from hypothesis import event, given, settings
from hypothesis import strategies as st

import jido
from dsl import action, agent, route
from jido.agent.directives import Schedule
from jido.runtime.runtime import open_runtime
from jido.store import MemoryStateStore

IDLE = 10.0
ID = "timed"


@action(description="Set one timer per delay; timer i carries number first + i")
class SetTimers:
    delays: list[float]
    first: int

    def run(self, ctx: jido.ActionContext) -> list[Schedule]:
        return [
            Schedule(delay, jido.Signal(type="t.fire", source="/properties", data={"n": self.first + i}))
            for i, delay in enumerate(self.delays)
        ]


@action(description="Record timer n and the trio time it was applied at")
class Fire:
    n: int

    def run(self, ctx: jido.ActionContext) -> dict[str, Any]:
        return {"fired": [*ctx.state.fired, [self.n, trio.current_time()]]}


@action(description="Count a poke")
class Poke:
    def run(self, ctx: jido.ActionContext) -> dict[str, Any]:
        return {"pokes": ctx.state.pokes + 1}


@action(description="Raise: the agent restarts from its last committed state")
class Boom:
    def run(self, ctx: jido.ActionContext) -> dict[str, Any]:
        raise RuntimeError("boom")


@agent(idle_timeout=IDLE)
@route("t.set", SetTimers)
@route("t.fire", Fire)
@route("t.poke", Poke)
@route("t.boom", Boom)
class Timed:
    fired: list[list[float]] = attrs.field(factory=list)
    pokes: int = 0


Op: TypeAlias = (
    tuple[Literal["set"], list[float]]
    | tuple[Literal["poke"]]
    | tuple[Literal["boom"]]
    | tuple[Literal["wait"], float]
)

ops = st.lists(
    st.one_of(
        st.tuples(
            st.just("set"),
            st.lists(st.sampled_from([0.0, 3.0, 10.0, 10.0, 25.0, 61.0, 300.0]), min_size=1, max_size=3),
        ),
        st.tuples(st.just("poke")),
        st.tuples(st.just("boom")),
        st.tuples(st.just("wait"), st.sampled_from([1.0, 9.0, 10.0, 11.0, 40.0, 200.0])),
    ),
    min_size=1,
    max_size=12,
)


def command(kind: str, **data: Any) -> jido.Signal:
    return jido.Signal(type=kind, source="/properties", data=data or None)


async def scenario(script: list[Op], durable: bool) -> None:
    store = MemoryStateStore() if durable else None
    expected: list[tuple[float, int, int]] = []  # (deadline, order set, n)
    pokes = 0
    async with open_runtime(store=store, max_restarts=10_000, within=1.0, restart_backoff=0.0) as rt:
        handle = rt.agent(Timed, ID)
        for op in script:
            if op[0] == "set":
                first = len(expected)
                now = trio.current_time()
                await handle.call(command("t.set", delays=op[1], first=first), timeout=60)
                expected += [(now + delay, first + i, first + i) for i, delay in enumerate(op[1])]
            elif op[0] == "poke":
                await handle.cast(command("t.poke"))
                pokes += 1
            elif op[0] == "boom":
                await handle.cast(command("t.boom"))
            else:
                await trio.sleep(op[1])
        await trio.sleep(400)  # past every deadline (the longest delay is 300 s)
        stats = rt.statistics()
        event(
            f"hibernations > 0: {stats.hibernations > 0}; activations by timers or sends: {stats.activations > 0}"
        )
        ref = await handle.ref()
        fired = [(n, at) for n, at in ref.state.fired]
        want = [(n, deadline) for deadline, _, n in sorted(expected)]
        assert fired == want, f"applied {fired}, expected {want}"
        assert ref.state.pokes == pokes
        assert rt.statistics().failed == {}


@settings(deadline=None)
@given(script=ops, durable=st.booleans())
def test_each_timer_once_at_its_deadline(script: list[Op], durable: bool) -> None:
    trio.run(scenario, script, durable, clock=trio.testing.MockClock(autojump_threshold=0))
