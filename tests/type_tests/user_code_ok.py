"""Code a user writes from the README and the tutorial: it must type-check cleanly (mypy --strict), and the
types a checker infers through the decorators are the ones a user expects (``assert_type``)."""

from __future__ import annotations

from typing import Any, assert_type

import trio

import jido
from dsl import AgentState, action, agent, route


@action(description="Add `by` to the count")
class Increment:
    by: int = 1

    def run(self, ctx: jido.ActionContext[Counter]) -> dict[str, Any]:
        assert_type(ctx.state.count, int)
        return {"count": ctx.state.count + self.by}


@action
class Reset:
    def run(self, ctx: jido.ActionContext[Counter]) -> dict[str, Any]:
        return {"count": 0}


@agent(description="Simple counter")
@route("counter.increment", Increment)
@route("counter.reset", Reset)
class Counter(AgentState):
    count: int = 0
    label: str = "c"


# The pure core keeps the state's type through new(), cmd and handle.
counter = Counter.new()
assert_type(counter, jido.Agent[Counter])
assert_type(Counter.new("counter-1", count=3), jido.Agent[Counter])
assert_type(counter.state.count, int)
assert_type(counter.state.label, str)
assert_type(jido.cmd(Counter.new(), Increment(by=5))[0].state.count, int)
after, directives = jido.cmd(counter, [Increment(by=3), Reset()])
assert_type(after, jido.Agent[Counter])
assert_type(directives, list[jido.Directive])
handled, _ = jido.handle(counter, jido.Signal(type="counter.increment", source="/t", data={"by": 2}))
assert_type(handled.state.count, int)
assert_type(counter.state["count"], Any)  # the mapping view is untyped, the attributes are not
assert_type(Counter(count=2), Counter)
assert_type(Increment(by=2).by, int)


async def main() -> None:
    async with jido.open_runtime() as rt:
        ref = await rt.start_agent(Counter, id="counter-1")
        assert_type(ref, jido.AgentRef[Counter])
        assert_type(ref.state.count, int)
        agent_after = await ref.call(jido.Signal(type="counter.increment", source="/t", data={"by": 2}))
        assert_type(agent_after.state.count, int)
        from_value = await rt.start_agent(Counter.new(count=1), id="counter-2")
        assert_type(from_value, jido.AgentRef[Counter])
        virtual = rt.agent(Counter, "counter-3")
        assert_type((await virtual.call(jido.Signal(type="counter.reset", source="/t"))).state, Counter)
        assert_type((await virtual.ref()).state.label, str)


trio.run(main)
