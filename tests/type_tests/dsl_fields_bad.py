"""Misuse the type checker must report: each line ending ``# expect: <code>`` (see test_type_tests.py)."""

from __future__ import annotations

from typing import Any

from dsl import action, agent
from jido import ActionContext


@action
class Increment:
    by: int = 1

    def run(self, ctx: ActionContext) -> dict[str, Any]:
        return {"count": self.by}


@agent
class Counter:
    count: int = 0


Increment(by="3")  # expect: arg-type
Increment(step=1)  # expect: call-arg
Counter(count=1.5)  # expect: arg-type
Increment().by = 5  # expect: misc
