"""@action: compiling a class into an ActionSpec, and every definition error."""

from __future__ import annotations

import math
from typing import Any

import attrs
import pytest

from dsl import action, spec_of
from jido.action.spec import ActionContext, ActionSpec, RetryPolicy
from jido.errors import DefinitionError, ValidationError


class TestActionHappyPath:
    def test_bare_decorator(self) -> None:
        """@action bare compiles a spec named after the class in snake_case."""

        @action
        class AddTwoNumbers:
            """Add two numbers."""

            a: int
            b: int = 0

            def run(self, ctx: ActionContext) -> dict[str, Any]:
                return {"sum": self.a + self.b}

        spec = spec_of(AddTwoNumbers)
        assert isinstance(spec, ActionSpec)
        assert spec.name == "add_two_numbers"
        assert spec.description == "Add two numbers."
        assert spec.params is AddTwoNumbers
        assert [f.name for f in attrs.fields(AddTwoNumbers)] == ["a", "b"]

    def test_class_stays_constructible_and_frozen(self) -> None:
        """The decorated class builds instances with its fields and they are frozen."""

        @action
        class Inc:
            by: int = 1

            def run(self, ctx: ActionContext) -> None:
                return None

        inc = Inc(by=2)  # type: ignore[call-arg]
        assert inc.by == 2  # type: ignore[attr-defined]
        with pytest.raises(attrs.exceptions.FrozenInstanceError):
            inc.by = 3  # type: ignore[misc]

    def test_options(self) -> None:
        """Options land on the spec."""

        @attrs.frozen
        class Out:
            total: int

        @action(
            name="adder",
            description="adds",
            timeout=2.5,
            retries=2,
            backoff=0.5,
            compensation_timeout=1.0,
            allow_extra=True,
            output=Out,
            category="math",
            tags=("x",),
        )
        class Adder:
            def run(self, ctx: ActionContext) -> dict[str, Any]:
                return {"total": 1}

            def compensate(self, ctx: ActionContext, error: Exception) -> None:
                return None

        spec = spec_of(Adder)
        assert isinstance(spec, ActionSpec)
        assert (spec.name, spec.description, spec.timeout, spec.category, spec.tags) == (
            "adder",
            "adds",
            2.5,
            "math",
            ("x",),
        )
        assert spec.retry == RetryPolicy(max_attempts=3, backoff=0.5)
        assert spec.output is Out
        assert spec.allow_extra
        assert spec.compensate is Adder.compensate  # type: ignore[attr-defined]

    def test_async_run(self) -> None:
        """An async run is kept as is and the spec knows it."""

        @action
        class Fetch:
            async def run(self, ctx: ActionContext) -> None:
                return None

        spec = spec_of(Fetch)
        assert isinstance(spec, ActionSpec) and spec.is_async

    def test_direct_construction_is_strict(self) -> None:
        """Constructing params in code refuses a value of the wrong scalar type."""

        @action
        class Inc:
            by: int = 1

            def run(self, ctx: ActionContext) -> None:
                return None

        with pytest.raises(ValidationError, match=r'^\$\.by: expected int, got "3"$'):
            Inc(by="3")  # type: ignore[call-arg]
        with pytest.raises(ValidationError, match=r"^\$\.by: expected int, got true$"):
            Inc(by=True)  # type: ignore[call-arg]

    def test_equals_hand_built_spec(self) -> None:
        """The compiled spec equals one written by hand through jido."""

        @action(description="Add `by` to the count", timeout=math.inf)
        class Increment:
            by: int = 1

            def run(self, ctx: ActionContext) -> dict[str, Any]:
                return {"count": ctx.state.count + self.by}

        by_hand = ActionSpec(
            name="increment",
            run=Increment.run,  # type: ignore[attr-defined]
            params=Increment,
            description="Add `by` to the count",
            timeout=math.inf,
        )
        assert spec_of(Increment) == by_hand


class TestActionDefinitionErrors:
    def test_missing_run(self) -> None:
        """An action without run is refused, naming the class."""
        with pytest.raises(
            DefinitionError, match=r"^\S+:\d+: NoRun: an action needs a `run\(self, ctx\)` method$"
        ):

            @action
            class NoRun:
                x: int = 0

    def test_run_wrong_signature(self) -> None:
        """run must take (self, ctx)."""
        with pytest.raises(
            DefinitionError, match=r"^\S+:\d+: Bad\.run: must take \(self, ctx\), got \(self\)$"
        ):

            @action
            class Bad:
                def run(self) -> None:
                    return None

    def test_run_not_callable(self) -> None:
        """run must be a method."""
        with pytest.raises(
            DefinitionError, match=r"^\S+:\d+: Bad\.run: must be a method taking \(self, ctx\), got int$"
        ):

            @action
            class Bad:
                run = 3

    def test_compensate_wrong_signature(self) -> None:
        """compensate must take (self, ctx, error)."""
        with pytest.raises(
            DefinitionError,
            match=r"^\S+:\d+: Bad\.compensate: must take \(self, ctx, error\), got \(self, ctx\)$",
        ):

            @action
            class Bad:
                def run(self, ctx: ActionContext) -> None:
                    return None

                def compensate(self, ctx: ActionContext) -> None:
                    return None

    def test_reserved_param_name(self) -> None:
        """A param may not be named after the action's own methods."""
        with pytest.raises(
            DefinitionError, match=r"^\S+:\d+: Bad\.compensate: a parameter may not be named 'compensate'"
        ):

            @action
            class Bad:
                compensate: int = 0

                def run(self, ctx: ActionContext) -> None:
                    return None

    def test_problems_listed_together(self) -> None:
        """Problems across members are raised together."""
        with pytest.raises(
            DefinitionError, match=r"^\S+:\d+: Bad is not a valid action \(2 problems\):\n- Bad\.run: "
        ):

            @action
            class Bad:
                def run(self) -> None:
                    return None

                def compensate(self) -> None:
                    return None

    def test_unknown_option_with_hint(self) -> None:
        """An unknown option is named, with a did-you-mean hint."""
        with pytest.raises(
            DefinitionError,
            match=r"^\S+:\d+: @action\(descripton=\.\.\.\): unknown option 'descripton'; did you mean 'description'\?",
        ):
            action(descripton="x")  # type: ignore[call-overload]

    def test_conflicting_retry_options(self) -> None:
        """retries and retry together conflict."""
        with pytest.raises(
            DefinitionError, match=r"^\S+:\d+: @action: conflicting options: give retry=RetryPolicy"
        ):
            action(retries=2, retry=RetryPolicy(max_attempts=2))

    def test_bad_timeout(self) -> None:
        """A non-positive timeout is refused at once."""
        with pytest.raises(
            DefinitionError,
            match=r"^\S+:\d+: @action\(timeout=\.\.\.\): expected a positive number of seconds, got 0$",
        ):
            action(timeout=0)

    def test_bad_retries(self) -> None:
        """Negative retries are refused at once."""
        with pytest.raises(
            DefinitionError, match=r"^\S+:\d+: @action\(retries=\.\.\.\): expected an int >= 0, got -1$"
        ):
            action(retries=-1)

    def test_bad_output(self) -> None:
        """output must be an attrs class."""
        with pytest.raises(
            DefinitionError,
            match=r"^\S+:\d+: @action\(output=\.\.\.\): expected an attrs class, got <class 'dict'>$",
        ):
            action(output=dict)

    def test_bad_name(self) -> None:
        """An invalid name is refused, naming the class."""
        with pytest.raises(
            DefinitionError, match=r"^\S+:\d+: @action on Bad: action name 'no spaces please' is invalid"
        ):

            @action(name="no spaces please")
            class Bad:
                def run(self, ctx: ActionContext) -> None:
                    return None

    def test_not_a_class(self) -> None:
        """@action on a function is refused."""
        with pytest.raises(DefinitionError, match=r"^\S+:\d+: @action decorates a class, got <function"):

            @action
            def run(ctx: ActionContext) -> None:  # type: ignore[type-var]
                return None
