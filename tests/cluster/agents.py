"""Agents of the cluster tests: a tally that records the id of every signal it applied, so a test can check
that each accepted signal was applied exactly once."""

from __future__ import annotations

from typing import Any

import attrs

from dsl import action, agent, route
from jido.action.spec import ActionContext


@action
class Count:
    by: int = 1

    def run(self, ctx: ActionContext) -> dict[str, Any]:
        return {"total": ctx.state.total + self.by, "ids": [*ctx.state.ids, ctx.signal.id]}


@action
class Read:
    def run(self, ctx: ActionContext) -> dict[str, Any]:
        return {}


@agent(subscribe=["tally.broadcast"])
@route("tally.add", Count)
@route("tally.broadcast", Count)
@route("tally.read", Read)
class Tally:
    total: int = 0
    ids: list[str] = attrs.field(factory=list)


def resolve(agent_id: str) -> type[Any]:
    """Every id is a Tally (the serve entry point's --resolve)."""
    return Tally
