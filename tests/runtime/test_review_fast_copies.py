"""Review: 0e8909c's direct copies (Agent.with_state, Instruction.with_params, the shallow state update) give
what attrs.evolve gave, for state classes with private, aliased, converted, validated and init=False fields."""

from __future__ import annotations

from typing import Any

import attrs
import pytest

from jido.agent.state import _shallow_update, apply_changes
from jido.errors import ValidationError


def _positive(instance: Any, attribute: Any, value: int) -> None:
    if value < 0:
        raise ValueError(f"{attribute.name} must be >= 0")


@attrs.frozen
class Odd:
    _secret: int = 0
    count: int = attrs.field(default=0, validator=_positive)
    named: int = attrs.field(default=0, alias="nick")
    bumped: int = attrs.field(default=0, converter=lambda v: int(v) + 1)  # not idempotent
    derived: int = attrs.field(init=False, default=7)


def _evolved(state: Odd, changes: dict[str, Any]) -> Odd | None:
    """What the shallow update did before 0e8909c (attrs.evolve, keys by attribute name)."""
    if not set(changes) <= set(attrs.fields_dict(Odd)):
        return None
    try:
        return attrs.evolve(state, **changes)
    except Exception:
        return None


@pytest.mark.parametrize(
    "changes",
    [{"count": 3}, {"_secret": 5}, {"named": 2}, {"bumped": 4}, {"count": -1}, {"derived": 1}, {"nick": 1}],
)
def test_review_shallow_update_matches_evolve_or_the_full_path(changes: dict[str, Any]) -> None:
    state = Odd(secret=1, count=2, nick=3, bumped=4)
    fast = _shallow_update(state, changes)
    before = _evolved(state, changes)
    if fast is not None and before is not None:
        assert fast == before
    if fast is None:  # the full path decides, as it did before
        try:
            full: Any = apply_changes(state, changes, subject="Odd state")
        except ValidationError:
            full = None
        assert before is None or full == before
    else:  # taken by the fast path: the full path agrees
        assert apply_changes(state, changes, subject="Odd state") == fast
