"""The Counter agent declared with the DSL: increment, decrement, reset; negative counts allowed.

Run it: ``python examples/counter.py``. It drives the agent through the pure core (``jido.cmd``), so no event
loop is needed.
"""

from __future__ import annotations

from typing import Any

import jido
from dsl import AgentState, action, agent, route
from jido import ActionContext, cmd


@action(description="Add `by` to the count")
class Increment:
    by: int = 1

    def run(self, ctx: ActionContext[Counter]) -> dict[str, Any]:
        return {"count": ctx.state.count + self.by}


@action(description="Subtract `by` from the count")
class Decrement:
    by: int = 1

    def run(self, ctx: ActionContext[Counter]) -> dict[str, Any]:
        return {"count": ctx.state.count - self.by}


@action(description="Set the count back to zero")
class Reset:
    def run(self, ctx: ActionContext[Counter]) -> dict[str, Any]:
        return {"count": 0}


@agent(description="Simple counter")
@route("counter.increment", Increment)
@route("counter.decrement", Decrement)
@route("counter.reset", Reset)
class Counter(AgentState):
    count: int = 0


def main() -> None:
    counter = Counter.new(id="counter-1")
    print(f"new: count={counter.state.count}")
    for instruction in (Increment(by=5), Decrement(), Increment(by=42), Reset()):
        counter, directives = cmd(counter, instruction)
        print(f"{instruction!r:>22} -> count={counter.state.count} directives={directives}")
    counter, directives = cmd(counter, (Increment, {"by": "not_a_number"}))
    [error] = directives
    assert isinstance(error, jido.Error)
    print(f"invalid by -> count={counter.state.count}, error:\n  {error.error}")


if __name__ == "__main__":
    main()
