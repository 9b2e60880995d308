"""The Counter agent declared with the DSL: increment, decrement, reset; negative counts allowed.

Run it: ``python examples/counter.py``. It drives the agent through the pure core (``jido.cmd``), so no event
loop is needed.
"""

from __future__ import annotations

from typing import Any

from dsl import action, agent, route
from jido.action.spec import ActionContext
from jido.agent.cmd import cmd


@action(description="Add `by` to the count")
class Increment:
    by: int = 1

    def run(self, ctx: ActionContext) -> dict[str, Any]:
        return {"count": ctx.state.count + self.by}


@action(description="Subtract `by` from the count")
class Decrement:
    by: int = 1

    def run(self, ctx: ActionContext) -> dict[str, Any]:
        return {"count": ctx.state.count - self.by}


@action(description="Set the count back to zero")
class Reset:
    def run(self, ctx: ActionContext) -> dict[str, Any]:
        return {"count": 0}


@agent(description="Simple counter")
@route("counter.increment", Increment)
@route("counter.decrement", Decrement)
@route("counter.reset", Reset)
class Counter:
    count: int = 0


def main() -> None:
    counter = Counter.new(id="counter-1")  # type: ignore[attr-defined]
    print(f"new: count={counter.state.count}")
    for instruction in (Increment(by=5), Decrement(), Increment(by=42), Reset()):
        counter, directives = cmd(counter, instruction)
        print(f"{instruction!r:>22} -> count={counter.state.count} directives={directives}")
    counter, directives = cmd(counter, (Increment, {"by": "not_a_number"}))
    print(f"invalid by -> count={counter.state.count}, error:\n  {directives[0].error}")


if __name__ == "__main__":
    main()
