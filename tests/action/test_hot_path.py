"""The shortcuts on the per-signal path give what the long way gives: lazy instruction ids, params validated
without the converter when they are plain scalars, the caller's deadline checked without walking its scopes,
and the first attempt's context reused."""

from __future__ import annotations

import copy
import uuid
from typing import Any

import attrs
import pytest
import trio
import trio.testing

from jido.action.exec import _PLAIN, execute, validate_params
from jido.action.instruction import Instruction
from jido.action.spec import ActionContext, ActionSpec, RetryPolicy
from jido.convert import _structure_int, converter
from jido.errors import DeadlineExceededError, ValidationError

from .helpers import Recorder, spec_of


@attrs.frozen
class Plain:
    by: int = 1
    label: str = "x"
    ratio: float = 1.0
    on: bool = False


def _positive(_: object, attribute: attrs.Attribute[int], value: int) -> None:
    if value < 0:
        raise ValueError(f"{attribute.name} must be >= 0")


@attrs.frozen
class Checked:
    by: int = attrs.field(default=1, validator=_positive)


@attrs.frozen
class Empty:
    pass


@attrs.frozen
class Refusing:
    def __attrs_post_init__(self) -> None:
        raise ValueError("never")


def spec(params: type, **options: Any) -> ActionSpec:
    return ActionSpec(name="act", run=lambda p, c: None, params=params, **options)


class TestLazyInstructionId:
    def test_made_on_first_read(self) -> None:
        """An instruction made without an id gets a UUIDv7 when first read, and keeps it."""
        instruction = Instruction(spec_of(lambda p, c: None))
        first = instruction.id
        assert uuid.UUID(first).version == 7
        assert instruction.id == first

    def test_distinct(self) -> None:
        """Two instructions get two ids."""
        one, two = Instruction(spec_of(lambda p, c: None)), Instruction(spec_of(lambda p, c: None))
        assert one.id != two.id

    def test_given_id_kept(self) -> None:
        """An id given is the id, through evolve and with_params."""
        instruction = Instruction(spec_of(lambda p, c: None), {"a": 1}, id="given")
        assert instruction.id == "given"
        assert attrs.evolve(instruction, params={}).id == "given"
        assert instruction.with_params({}).id == "given"

    def test_copies_share_it(self) -> None:
        """with_params, evolve and copy keep an id made lazily."""
        instruction = Instruction(spec_of(lambda p, c: None))
        assert instruction.with_params({"b": 2}).id == instruction.id
        assert attrs.evolve(instruction).id == instruction.id
        assert copy.copy(instruction).id == instruction.id

    def test_equality_ignores_it(self) -> None:
        """Equality compares what runs, not the id; repr shows it."""
        action = spec_of(lambda p, c: None)
        one, two = Instruction(action, {"a": 1}), Instruction(action, {"a": 1})
        assert one == two
        assert f"id={one.id!r}" in repr(one)

    def test_defaults(self) -> None:
        """params and context default to fresh empty dicts."""
        one, two = Instruction(spec_of(lambda p, c: None)), Instruction(spec_of(lambda p, c: None))
        assert (one.params, one.context, one.timeout, one.retry) == ({}, {}, None, None)
        assert one.params is not two.params

    def test_other_attributes_missing(self) -> None:
        """Only the id is made on demand."""
        with pytest.raises(AttributeError, match=r"^'Instruction' object has no attribute 'nope'$"):
            Instruction(spec_of(lambda p, c: None)).nope  # noqa: B018


class TestPlainParams:
    def test_exact_types(self) -> None:
        """Values of exactly the field types make the instance, defaults filling the rest."""
        assert validate_params(spec(Plain), {"by": 3, "on": True}) == Plain(by=3, on=True)

    @pytest.mark.parametrize(
        ("data", "line"),
        [
            ({"by": True}, r"\$\.by"),
            ({"by": "3"}, r"\$\.by"),
            ({"label": 3}, r"\$\.label"),
            ({"bogus": 1}, r"bogus"),
        ],
    )
    def test_refused_as_before(self, data: dict[str, Any], line: str) -> None:
        """What the converter refuses is still refused, with its path."""
        with pytest.raises(ValidationError, match=line):
            validate_params(spec(Plain), data)

    def test_int_for_float(self) -> None:
        """An int for a float field becomes a float, as the converter makes it."""
        params = validate_params(spec(Plain), {"ratio": 2})
        assert params == Plain(ratio=2.0) and type(params.ratio) is float

    def test_validator_runs(self) -> None:
        """The class's own validators still run, and their refusal is the converter's."""
        assert validate_params(spec(Checked), {"by": 2}) == Checked(by=2)
        with pytest.raises(ValidationError, match=r"^invalid act params:\n\$: by must be >= 0$"):
            validate_params(spec(Checked), {"by": -1})

    def test_extra_dropped_when_allowed(self) -> None:
        """allow_extra still drops unknown keys."""
        assert validate_params(spec(Plain, allow_extra=True), {"by": 2, "other": 1}) == Plain(by=2)

    def test_fieldless(self) -> None:
        """A params class without fields is made from {}; one that refuses is reported."""
        assert validate_params(spec(Empty), {}) == Empty()
        with pytest.raises(ValidationError):
            validate_params(spec(Refusing), {})

    def test_hook_registered_for_the_class_decides(self) -> None:
        """A structure hook registered for the params class on jido's converter is used, also once the class
        went the short way before the hook was registered."""

        @attrs.frozen
        class Named:
            name: str = "x"

        action = spec(Named)
        assert validate_params(action, {"name": "abc"}) == Named(name="abc")
        converter.register_structure_hook(Named, lambda data, _: Named(name=data["name"].upper()))
        assert validate_params(action, {"name": "abc"}) == Named(name="ABC")
        assert validate_params(action, {"name": "def"}) == Named(name="DEF")

    def test_hook_registered_for_a_field_type_decides(self) -> None:
        """So does one registered for the type of a field (int here), and the short way is back without it."""
        action = spec(Plain)
        assert validate_params(action, {"by": 2}) == Plain(by=2)
        converter.register_structure_hook(int, lambda value, _: value * 10)
        try:
            assert validate_params(action, {"by": 2}) == Plain(by=20)
        finally:
            converter.register_structure_hook(int, _structure_int)
        assert validate_params(action, {"by": 2}) == Plain(by=2)
        assert _PLAIN[Plain][1] is not None  # the short way again


class TestCallerDeadline:
    async def test_passed_while_another_scope_is_ahead(self, autojump_clock: trio.testing.MockClock) -> None:
        """A passed deadline is seen though other scopes of the run have deadlines still ahead."""
        run = Recorder()
        async with trio.open_nursery() as nursery:
            nursery.start_soon(trio.sleep, 100)
            with trio.move_on_after(1):
                autojump_clock.jump(2)
                with pytest.raises(DeadlineExceededError):
                    await execute(Instruction(spec_of(run)), ActionContext())
            nursery.cancel_scope.cancel()
        assert run.calls == []

    async def test_ahead(self, autojump_clock: trio.testing.MockClock) -> None:
        """A deadline still ahead lets the action run."""
        run = Recorder(lambda p, c: {"ran": True})
        with trio.move_on_after(1):
            result = await execute(Instruction(spec_of(run)), ActionContext())
        assert result.value == {"ran": True}

    async def test_cancelled_without_deadline(self) -> None:
        """A scope cancelled outright (no deadline anywhere) gets its Cancelled."""
        run = Recorder()
        with trio.CancelScope() as scope:
            scope.cancel()
            await execute(Instruction(spec_of(run)), ActionContext())
        assert scope.cancelled_caught and run.calls == []


class TestContextReuse:
    async def test_first_attempt_sees_named_context(self) -> None:
        """A context already named for the action is handed over as is; retries get their own."""
        seen: list[ActionContext] = []

        def run(params: Any, ctx: ActionContext) -> None:
            seen.append(ctx)
            if ctx.attempt == 1:
                raise OSError("again")

        action = spec_of(run, retry=RetryPolicy(max_attempts=2, backoff=0, jitter=0))
        ctx = ActionContext("act", "S", "agent", None, {"k": 1})
        await execute(Instruction(action), ctx)
        assert seen[0] is ctx
        assert (seen[1].action, seen[1].attempt, seen[1].state, seen[1].data) == ("act", 2, "S", {"k": 1})

    async def test_other_context_renamed(self) -> None:
        """A context made for no action in particular is named for this one."""
        seen: list[ActionContext] = []
        await execute(Instruction(spec_of(lambda p, c: seen.append(c))), ActionContext(state="S"))
        assert (seen[0].action, seen[0].state, seen[0].attempt) == ("act", "S", 1)

    async def test_instruction_context_merged(self) -> None:
        """An instruction's context is merged over the caller's data, in a new context."""
        seen: list[ActionContext] = []
        ctx = ActionContext("act", None, None, None, {"a": 1})
        await execute(Instruction(spec_of(lambda p, c: seen.append(c)), {}, {"b": 2}), ctx)
        assert seen[0] is not ctx and seen[0].data == {"a": 1, "b": 2}
