"""The hand-built copies on the hot path (``Agent.with_state``, ``Instruction.with_params``, the state's shallow
update) give what ``attrs.evolve`` gives; these tests pin the fields, so adding one fails here first."""

from __future__ import annotations

from typing import Any

import attrs
import pytest

from dsl import action, agent, route
from jido.action.instruction import Instruction
from jido.action.spec import ActionContext
from jido.agent.spec import Agent, agent_spec_of
from jido.agent.state import apply_changes
from jido.errors import ValidationError
from jido.signal import Signal


@action
class Add:
    by: int = 1

    def run(self, ctx: ActionContext) -> dict[str, Any]:
        return {"count": ctx.state.count + self.by}


@agent
@route("add", Add)
class Counter:
    count: int = 0
    label: str = "c"
    _secret: int = 7
    tags: list[str] = attrs.field(factory=list)


def new_counter(agent_id: str) -> Agent[Any]:
    spec = agent_spec_of(Counter)
    assert spec is not None
    return spec.new(agent_id)


def test_agent_fields_are_pinned() -> None:
    assert [a.name for a in attrs.fields(Agent)] == ["id", "state", "spec"]


def test_instruction_fields_are_pinned() -> None:
    assert [a.name for a in attrs.fields(Instruction)] == [
        "action",
        "params",
        "context",
        "timeout",
        "retry",
        "id",
    ]


def test_with_state_equals_evolve() -> None:
    value = new_counter("c1")
    state = attrs.evolve(value.state, count=5)
    assert value.with_state(state) == attrs.evolve(value, state=state)
    assert value.with_state(state).id == "c1"


def test_with_params_equals_evolve() -> None:
    spec = agent_spec_of(Counter)
    assert spec is not None
    (instruction,) = spec.instructions_for(Signal(type="add", source="/t", data={"by": 2}))
    copy = instruction.with_params({"by": 3})
    wanted = attrs.evolve(instruction, params={"by": 3})
    assert (copy, copy.id) == (wanted, wanted.id)


def test_shallow_update_keeps_every_field_and_validates() -> None:
    state = new_counter("c1").state
    after = apply_changes(state, {"count": 3}, subject="Counter state")
    assert attrs.asdict(after) == {**attrs.asdict(state), "count": 3}
    with pytest.raises(ValidationError, match=r"\$\.count"):
        apply_changes(state, {"count": "3"}, subject="Counter state")
