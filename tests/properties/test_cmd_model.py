"""cmd against a reference reducer: state always fits its schema, and failures change nothing."""

from __future__ import annotations

from typing import Any

import attrs
from hypothesis import given
from hypothesis import strategies as st

import jido
from jido.convert import structure, unstructure


@attrs.frozen
class State(jido.StateMapping):
    count: int = 0
    labels: dict[str, int] = attrs.field(factory=dict)
    history: list[str] = attrs.field(factory=list)


@attrs.frozen
class By:
    by: int = 1


@attrs.frozen
class Label:
    name: str
    value: int


def _add(p: By, ctx: jido.ActionContext) -> dict[str, Any]:
    return {"count": ctx.state.count + p.by, "history": [*ctx.state.history, f"add {p.by}"]}


def _label(p: Label, ctx: jido.ActionContext) -> list[Any]:
    return [jido.SetPath(("labels", p.name), p.value)]


def _unlabel(p: Label, ctx: jido.ActionContext) -> list[Any]:
    return [jido.DeletePath(("labels", p.name))]


def _boom(p: jido.NoParams, ctx: jido.ActionContext) -> None:
    raise RuntimeError("boom")


def _corrupt(p: jido.NoParams, ctx: jido.ActionContext) -> dict[str, Any]:
    return {"count": "not a number"}


def _reset(p: jido.NoParams, ctx: jido.ActionContext) -> list[Any]:
    return [jido.DeleteKeys(["count"])]


ADD = jido.ActionSpec(name="add", run=_add, params=By)
LABEL = jido.ActionSpec(name="label", run=_label, params=Label)
UNLABEL = jido.ActionSpec(name="unlabel", run=_unlabel, params=Label)
BOOM = jido.ActionSpec(name="boom", run=_boom)
CORRUPT = jido.ActionSpec(name="corrupt", run=_corrupt)
RESET = jido.ActionSpec(name="reset", run=_reset)
SPEC = jido.AgentSpec(name="model", state=State)

names = st.sampled_from(["a", "b", "c"])
valid = st.one_of(
    st.builds(lambda n: ("ok", (ADD, {"by": n})), st.integers(-1000, 1000)),
    st.builds(lambda k, v: ("ok", (LABEL, {"name": k, "value": v})), names, st.integers(-5, 5)),
    st.builds(lambda k: ("ok", (UNLABEL, {"name": k, "value": 0})), names),
    st.just(("ok", RESET)),
)
failing = st.one_of(
    st.just(("fail", BOOM)),
    st.just(("fail", CORRUPT)),
    st.builds(
        lambda bad: ("fail", (ADD, {"by": bad})), st.one_of(st.text(max_size=3), st.booleans(), st.floats())
    ),
    st.builds(lambda k: ("fail", (LABEL, {"name": k})), names),  # missing a required field
    st.just(("fail", (ADD, {"by": 1, "extra": True}))),
)
sequences = st.lists(st.one_of(valid, failing), max_size=25)


def reference(state: dict[str, Any], instruction: Any) -> dict[str, Any]:
    """What one successful instruction does to the state, written as plainly as possible."""
    if instruction is RESET:
        return {**state, "count": 0}
    spec, params = instruction
    if spec is ADD:
        return {
            **state,
            "count": state["count"] + params["by"],
            "history": [*state["history"], f"add {params['by']}"],
        }
    labels = dict(state["labels"])
    if spec is LABEL:
        labels[params["name"]] = params["value"]
    else:
        labels.pop(params["name"], None)
    return {**state, "labels": labels}


class TestCmdAgainstReference:
    @given(sequences)
    def test_state_matches_reference_and_stays_valid(self, steps: list[tuple[str, Any]]) -> None:
        """After any sequence, the state equals the reference's and fits its schema; each failure is one Error."""
        agent = SPEC.new(id="m")
        model = unstructure(agent.state)
        agent, directives = jido.cmd(agent, [instruction for _, instruction in steps])
        for kind, instruction in steps:
            if kind == "ok":
                model = reference(model, instruction)
        assert unstructure(agent.state) == model
        assert structure(unstructure(agent.state), State) == agent.state
        errors = [d for d in directives if isinstance(d, jido.Error)]
        assert len(errors) == sum(kind == "fail" for kind, _ in steps)
        assert len(errors) == len(directives)

    @given(sequences, sequences)
    def test_cmd_composes(self, first: list[tuple[str, Any]], second: list[tuple[str, Any]]) -> None:
        """Running two sequences one after the other equals running them as one."""
        start = SPEC.new(id="m")
        once, _ = jido.cmd(start, [i for _, i in first + second])
        step, _ = jido.cmd(start, [i for _, i in first])
        twice, _ = jido.cmd(step, [i for _, i in second])
        assert once == twice
