"""``Runtime.subscribe_agent(ref, pattern, routed_only=True)``: the agent gets the published signals one of its
routes accepts and nothing else: others are done without reaching it, and do not wake it when it sleeps."""

from __future__ import annotations

from typing import Any

import trio
import trio.testing

import jido
from dsl import action, agent, route


@action
class Add:
    by: int = 1

    def run(self, ctx: jido.ActionContext) -> dict[str, Any]:
        return {"count": ctx.state.count + self.by}


def picky(signal: jido.Signal) -> bool:
    if isinstance(signal.data, dict) and signal.data.get("boom"):
        raise RuntimeError("the predicate cannot read this")
    return True


@agent(idle_timeout=10.0)
@route("tally.add", Add)
@route("tally.when", Add, when=picky)
class Tally:
    count: int = 0


def signal(kind: str, **data: Any) -> jido.Signal:
    return jido.Signal(type=kind, source="/test", data=data or None)


async def test_unrouted_signals_do_not_wake_it(autojump_clock: trio.testing.MockClock) -> None:
    async with jido.open_runtime() as rt:
        ref = await rt.start_agent(Tally, id="t")
        await rt.subscribe_agent(ref, "**", routed_only=True)
        await trio.sleep(11)  # idle past its timeout: asleep
        assert rt.statistics().hibernated == 1
        for kind in ("noise.a", "tally", "tally.add.more"):
            await rt.publish(signal(kind))
        await trio.testing.wait_all_tasks_blocked()
        stats = rt.statistics()
        assert (stats.hibernated, stats.activations, rt.dead_letters()) == (1, 0, [])
        await rt.publish(signal("tally.add", by=3))
        woken = await rt.activate("t")
        assert (await woken.wait_state(lambda s: s.count == 3, timeout=5)).count == 3
        assert rt.statistics().activations == 1


async def test_a_raising_predicate_reaches_the_agent(autojump_clock: trio.testing.MockClock) -> None:
    """The filter does not judge what a route's predicate cannot: the agent gets it and reports the error
    (dead-lettered as unroutable), as it would for a signal sent to it."""
    async with jido.open_runtime() as rt:
        ref = await rt.start_agent(Tally, id="t")
        await rt.subscribe_agent(ref, "**", routed_only=True)
        await rt.publish(signal("tally.when", boom=True))
        await rt.publish(signal("tally.when", by=2))
        await ref.wait_state(lambda s: s.count == 2, timeout=5)
        assert [d.reason for d in rt.dead_letters()] == ["no_route"]
        assert ref.restarts == 0
