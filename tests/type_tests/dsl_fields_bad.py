"""Misuse the type checker must report (each line with an error is listed in test_type_tests.py)."""

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


Increment(by="3")
Increment(step=1)
Counter(count=1.5)
Increment().by = 5
