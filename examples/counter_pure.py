"""The pure core, by hand: a Counter agent built from jido's specs and driven through ``jido.cmd``.

No decorators and no event loop: ``cmd(agent, instructions) -> (agent, directives)`` is a plain function. Run
it: ``python examples/counter_pure.py``.
"""

from __future__ import annotations

from typing import Any

import attrs

import jido


@attrs.frozen
class CounterState(jido.StateMapping):
    count: int = 0


@attrs.frozen
class By:
    by: int = attrs.field(default=1, metadata={"description": "how much to add"})


def increment(params: By, ctx: jido.ActionContext) -> dict[str, Any]:
    return {"count": ctx.state.count + params.by}


def reset(params: jido.NoParams, ctx: jido.ActionContext) -> dict[str, Any]:
    return {"count": 0}


def announce(params: By, ctx: jido.ActionContext) -> tuple[dict[str, Any], jido.Emit]:
    count = ctx.state.count + params.by
    changed = jido.Signal(type="counter.changed", source="/examples/counter", data={"count": count})
    return {"count": count}, jido.Emit(changed)


Increment = jido.ActionSpec(name="increment", run=increment, params=By, description="Add `by` to the count")
Reset = jido.ActionSpec(name="reset", run=reset, description="Set the count back to zero")
Announce = jido.ActionSpec(name="announce", run=announce, params=By, description="Add and announce the count")

Counter = jido.AgentSpec(
    name="counter",
    state=CounterState,
    description="Simple counter",
    routes=[
        jido.RouteSpec("counter.increment", Increment),
        jido.RouteSpec("counter.reset", Reset),
        jido.RouteSpec("counter.announce", Announce),
    ],
)


def main() -> None:
    counter = Counter.new(id="counter-1")
    print(f"new agent {counter.id!r}: count={counter.state.count}")

    counter, directives = jido.cmd(counter, [(Increment, {"by": 10}), (Increment, {"by": 5})])
    print(f"+10, +5           -> count={counter.state.count}, directives={directives}")

    signal = jido.Signal(type="counter.announce", source="/examples", data={"by": 2})
    counter, directives = jido.handle(counter, signal)
    [emit] = directives
    assert isinstance(emit, jido.Emit)
    print(f"signal {signal.type} -> count={counter.state.count}, emits {emit.signal.type!r}")

    counter, directives = jido.cmd(counter, (Increment, {"by": "3"}))
    [error] = directives
    assert isinstance(error, jido.Error)
    print(f"by='3' (a string) -> count={counter.state.count} (unchanged), error:\n    {error.error}")

    counter, _ = jido.cmd(counter, Reset)
    print(f"reset             -> count={counter.state.count}")
    print(f"state as a mapping: {dict(counter.state)}")


if __name__ == "__main__":
    main()
