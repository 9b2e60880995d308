"""A Counter agent written by hand against the core (no DSL), shared by the agent tests."""

from __future__ import annotations

from typing import Any

import attrs

from jido.action.spec import ActionContext, ActionSpec
from jido.agent.directives import Emit
from jido.agent.spec import AgentSpec, RouteSpec
from jido.agent.state import StateMapping
from jido.agent.state_ops import DeletePath, SetPath
from jido.signal import Signal


@attrs.frozen
class CounterState(StateMapping):
    count: int = 0
    labels: dict[str, int] = attrs.field(factory=dict)
    note: str | None = None


@attrs.frozen
class By:
    by: int = 1


def _increment(params: By, ctx: ActionContext) -> dict[str, Any]:
    return {"count": ctx.state.count + params.by}


def _decrement(params: By, ctx: ActionContext) -> dict[str, Any]:
    return {"count": ctx.state.count - params.by}


def _reset(params: object, ctx: ActionContext) -> dict[str, Any]:
    return {"count": 0}


def _boom(params: object, ctx: ActionContext) -> None:
    raise RuntimeError("boom")


def _bad_state(params: object, ctx: ActionContext) -> dict[str, Any]:
    return {"count": "many"}


def _announce(params: By, ctx: ActionContext) -> tuple[dict[str, Any], Emit]:
    signal = Signal(type="counter.changed", source="/counter", data={"count": ctx.state.count + params.by})
    return {"count": ctx.state.count + params.by}, Emit(signal)


def _label(params: By, ctx: ActionContext) -> list[Any]:
    return [SetPath(("labels", "last"), params.by), DeletePath(("labels", "old"))]


async def _async_increment(params: By, ctx: ActionContext) -> dict[str, Any]:
    return {"count": ctx.state.count + params.by}


increment = ActionSpec(name="increment", run=_increment, params=By, description="Add `by` to the count")
decrement = ActionSpec(name="decrement", run=_decrement, params=By)
reset = ActionSpec(name="reset", run=_reset)
boom = ActionSpec(name="boom", run=_boom)
bad_state = ActionSpec(name="bad_state", run=_bad_state)
announce = ActionSpec(name="announce", run=_announce, params=By)
label = ActionSpec(name="label", run=_label, params=By)
async_increment = ActionSpec(name="async_increment", run=_async_increment, params=By)

counter = AgentSpec(
    name="counter",
    state=CounterState,
    description="Simple counter",
    routes=[
        RouteSpec("counter.increment", increment),
        RouteSpec("counter.decrement", decrement),
        RouteSpec("counter.reset", reset),
        RouteSpec("counter.bump", increment, params={"by": 10}),
    ],
)
