"""Mistakes a user makes through the decorators: a checker must report each, on its line.

Each line that must be reported ends with ``# expect: <mypy error code>``; test_type_tests.py holds the
checker to exactly those lines.
"""

from __future__ import annotations

from typing import Any

import trio

import jido
from dsl import AgentState, action, agent, route


@action
class Increment:
    by: int = 1

    def run(self, ctx: jido.ActionContext[Counter]) -> dict[str, Any]:
        label: int = ctx.state.label  # expect: assignment
        return {"count": ctx.state.cuont + self.by, "label": label}  # expect: attr-defined


@agent
@route("counter.increment", Increment)
class Counter(AgentState):
    count: int = 0
    label: str = "c"


class Other:
    count: int = 0


counter = Counter.new()
name: str = counter.state.count  # expect: assignment
print(counter.state.nope)  # expect: attr-defined
counter.state.count = 3  # expect: misc
wrong: jido.Agent[Other] = Counter.new()  # expect: assignment
text: str = jido.cmd(Counter.new(), Increment(by=5))[0].state.count  # expect: assignment
Increment(by="3")  # expect: arg-type
Counter(cuont=1)  # expect: call-arg


async def main() -> None:
    async with jido.open_runtime() as rt:
        ref = await rt.start_agent(Counter, id="counter-1")
        s: str = ref.state.count  # expect: assignment
        other: jido.AgentRef[Other] = ref  # expect: assignment
        after = await ref.call(jido.Signal(type="counter.increment", source="/t"))
        print(after.state.nope)  # expect: attr-defined
        virtual = rt.agent(Counter, "counter-2")
        n: str = (await virtual.ref()).state.count  # expect: assignment
        print(name, wrong, text, s, other, n)


trio.run(main)
