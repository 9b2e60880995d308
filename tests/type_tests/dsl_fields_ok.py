"""Type checkers see the fields of DSL classes: this file must type-check cleanly (mypy --strict)."""

from __future__ import annotations

from typing import Any, assert_type

from dsl import action, agent
from jido import ActionContext


@action(description="Add `by` to the count")
class Increment:
    by: int = 1

    def run(self, ctx: ActionContext) -> dict[str, Any]:
        return {"count": self.by}


@agent
class Counter:
    count: int = 0
    name: str = "c"


inc = Increment(by=2)
assert_type(inc.by, int)
state = Counter(count=3, name="x")
assert_type(state.count, int)
assert_type(state.name, str)
