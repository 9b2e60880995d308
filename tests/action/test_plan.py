"""Plans: building and validating a DAG of steps, phases, and running them concurrently."""

from __future__ import annotations

from typing import Any

import attrs
import pytest
import trio
import trio.lowlevel
import trio.testing

from jido._spec_attr import SPEC_ATTR
from jido.action.plan import Plan, PlanResult, PlanStep, run_plan
from jido.action.result import ActionResult
from jido.action.spec import ActionContext, ActionSpec
from jido.errors import ActionError, DefinitionError, ValidationError

from .helpers import Recorder, raising, spec_of


@attrs.frozen
class Sum:
    a: int = 0
    b: int = 0


def _sum(params: Sum, ctx: ActionContext) -> dict[str, int]:
    return {"total": params.a + params.b, "a": params.a}


add = ActionSpec(name="add", run=_sum, params=Sum)
noop = spec_of(Recorder(), name="noop")


def _sleeper(name: str, seconds: float, log: list[tuple[str, float]]) -> ActionSpec:
    async def run(params: Any, ctx: ActionContext) -> dict[str, float]:
        await trio.sleep(seconds)
        log.append((name, trio.current_time()))
        return {name: trio.current_time()}

    return spec_of(run, name=name)


class TestBuild:
    def test_add_chains(self) -> None:
        """add returns the plan and records the step."""
        plan = Plan()
        assert plan.add("a", add, {"a": 1}) is plan
        assert plan.steps == (PlanStep("a", add, {"a": 1}, ()),)
        assert len(plan) == 1

    def test_depends_on_forms(self) -> None:
        """depends_on takes one name or several; repeats are dropped."""
        plan = Plan().add("a", noop).add("b", noop).add("c", noop, depends_on="a")
        plan.add("d", noop, depends_on=["a", "b", "a"])
        assert [s.depends_on for s in plan.steps] == [(), (), ("a",), ("a", "b")]

    def test_instance_is_params(self) -> None:
        """An instance of a decorated class is its own params."""

        @attrs.frozen
        class Inc:
            by: int = 1

        setattr(Inc, SPEC_ATTR, ActionSpec(name="inc", run=Recorder(), params=Inc))
        plan = Plan().add("a", Inc(by=3)).add("b", Inc)
        assert [s.params for s in plan.steps] == [Inc(by=3), {}]

    def test_duplicate_name(self) -> None:
        """A step name can be used once."""
        with pytest.raises(DefinitionError, match=r"^plan already has a step named 'a'$"):
            Plan().add("a", noop).add("a", noop)

    @pytest.mark.parametrize("name", ["", 3, None])
    def test_bad_name(self, name: Any) -> None:
        """A step name is a non-empty string."""
        with pytest.raises(DefinitionError, match=r"^plan step name must be a non-empty string, got "):
            Plan().add(name, noop)

    def test_not_an_action(self) -> None:
        """A step runs an action."""
        with pytest.raises(DefinitionError, match=r"^plan step 'a': 42 is not an action$"):
            Plan().add("a", 42)

    def test_bad_params(self) -> None:
        """Params are a mapping or an instance of the params class."""
        with pytest.raises(
            DefinitionError, match=r"^plan step 'a': params must be a mapping or a Sum, got list$"
        ):
            Plan().add("a", add, [1])

    def test_bad_dependency_name(self) -> None:
        """depends_on names steps."""
        with pytest.raises(DefinitionError, match=r"^plan step 'a': depends_on takes step names, got 3$"):
            Plan().add("a", noop, depends_on=[3])  # type: ignore[list-item]

    def test_repr(self) -> None:
        """The repr lists the steps."""
        assert repr(Plan().add("a", noop)) == "<Plan steps=['a']>"


class TestValidate:
    def test_unknown_dependency(self) -> None:
        """A dependency on a step that does not exist is named, with a hint."""
        plan = Plan().add("fetch", noop).add("parse", noop, depends_on="fetchh")
        with pytest.raises(
            DefinitionError,
            match=r"^plan step 'parse' depends on unknown step 'fetchh' \(did you mean 'fetch'\?\)$",
        ):
            plan.validate()

    def test_unknown_dependency_no_hint(self) -> None:
        """Without a close name there is no hint."""
        with pytest.raises(DefinitionError, match=r"^plan step 'a' depends on unknown step 'zzz'$"):
            Plan().add("a", noop, depends_on="zzz").validate()

    def test_cycle(self) -> None:
        """A cycle is refused, naming its steps in order."""
        plan = Plan().add("start", noop).add("a", noop, depends_on=["start", "c"])
        plan.add("b", noop, depends_on="a").add("c", noop, depends_on="b")
        with pytest.raises(DefinitionError, match=r"^plan steps form a cycle: 'a' -> 'c' -> 'b' -> 'a'$"):
            plan.phases()

    def test_self_cycle(self) -> None:
        """A step that depends on itself is a cycle of one."""
        with pytest.raises(DefinitionError, match=r"^plan steps form a cycle: 'a' -> 'a'$"):
            Plan().add("a", noop, depends_on="a").validate()

    def test_phases(self) -> None:
        """Steps are layered after their last dependency, in the order added; forward references work."""
        plan = Plan().add("d", noop, depends_on=["b", "c"]).add("a", noop).add("b", noop, depends_on="a")
        plan.add("c", noop).add("e", noop, depends_on="a")
        assert plan.phases() == (("a", "c"), ("b", "e"), ("d",))

    def test_empty(self) -> None:
        """An empty plan has no phases."""
        assert Plan().phases() == ()


class TestRunPlan:
    async def test_phase_runs_concurrently(self, autojump_clock: trio.testing.MockClock) -> None:
        """Two independent steps of one second each finish together at t=1."""
        log: list[tuple[str, float]] = []
        plan = Plan().add("a", _sleeper("a", 1, log)).add("b", _sleeper("b", 1, log))
        plan.add("c", _sleeper("c", 1, log), depends_on=["a", "b"])
        result = await run_plan(plan)
        assert sorted(log) == [("a", 1), ("b", 1), ("c", 2)]
        assert trio.current_time() == 2
        assert result.phases == (("a", "b"), ("c",))

    async def test_data_flow(self) -> None:
        """A step's params are its direct dependencies' results merged in order, its own params on top."""
        first = spec_of(Recorder(lambda *_: {"a": 1, "b": 1, "unrelated": "x"}), name="first")
        second = spec_of(Recorder(lambda *_: {"b": 2}), name="second")
        plan = Plan().add("first", first).add("second", second)
        plan.add("sum", add, depends_on=["first", "second"])
        plan.add("own", add, {"a": 10}, depends_on=["first", "second"])
        result = await run_plan(plan)
        assert result["sum"].value == {"total": 3, "a": 1}
        assert result["own"].value == {"total": 12, "a": 10}

    async def test_only_direct_dependencies(self) -> None:
        """Results flow from direct dependencies only, not from their dependencies."""
        plan = Plan().add("x", spec_of(Recorder(lambda *_: {"a": 5}), name="x"))
        plan.add("y", noop, depends_on="x").add("z", add, depends_on="y")
        assert (await run_plan(plan))["z"].value == {"total": 0, "a": 0}

    async def test_instance_params_as_is(self) -> None:
        """A step given a params instance ignores its dependencies' results."""
        plan = Plan().add("x", spec_of(Recorder(lambda *_: {"a": 5}), name="x"))
        plan.add("z", add, Sum(1, 1), depends_on="x")
        assert (await run_plan(plan))["z"].value == {"total": 2, "a": 1}

    async def test_context_and_state(self) -> None:
        """Every step sees the plan's context and state."""
        run = Recorder()
        await run_plan(Plan().add("a", spec_of(run)), context={"k": 1}, state="S")
        ctx = run.calls[0][1]
        assert (ctx.data, ctx.state) == ({"k": 1}, "S")

    async def test_failure_cancels_phase(self, autojump_clock: trio.testing.MockClock) -> None:
        """A failing step cancels its phase's other steps; later phases do not run."""
        log: list[tuple[str, float]] = []
        boom = spec_of(Recorder(raising(RuntimeError("boom"))), name="boom")
        plan = Plan().add("slow", _sleeper("slow", 10, log)).add("bad", boom)
        plan.add("after", _sleeper("after", 1, log), depends_on="slow")
        with pytest.raises(
            ActionError, match=r"^plan step 'bad' failed: action 'boom' failed: RuntimeError\('boom'\)$"
        ) as info:
            await run_plan(plan)
        assert log == []
        assert trio.current_time() == 0
        assert isinstance(info.value.__cause__, ActionError)
        assert (info.value.action, info.value.attempts, info.value.retryable) == ("boom", 1, True)

    async def test_invalid_params(self) -> None:
        """A step with invalid params fails the plan with the ValidationError as cause."""
        plan = Plan().add("a", add, {"a": "1"})
        with pytest.raises(
            ActionError, match=r'^plan step \'a\' failed: invalid add params:\n\$\.a: expected int, got "1"$'
        ) as info:
            await run_plan(plan)
        assert isinstance(info.value.__cause__, ValidationError)
        assert info.value.attempts == 0

    async def test_two_failures_noted(self) -> None:
        """Two steps fail before the cancellation reaches them: the first added is named, the other noted."""

        def failing(name: str) -> ActionSpec:
            async def run(params: Any, ctx: ActionContext) -> None:
                # A schedule point without a cancel point: both steps get here before either fails, and the
                # second one fails before the phase's cancellation can reach it.
                await trio.lowlevel.cancel_shielded_checkpoint()
                raise OSError(name)

            return spec_of(run, name=name)

        plan = Plan().add("a", failing("x")).add("b", failing("y"))
        with pytest.raises(ActionError) as info:
            await run_plan(plan)
        assert str(info.value) == "plan step 'a' failed: action 'x' failed: OSError('x')"
        assert info.value.__notes__ == ["plan step 'b' failed too: action 'y' failed: OSError('y')"]

    async def test_invalid_plan_runs_nothing(self) -> None:
        """A plan with a cycle is refused before any step runs."""
        run = Recorder()
        plan = Plan().add("ok", spec_of(run)).add("a", noop, depends_on="a")
        with pytest.raises(DefinitionError):
            await run_plan(plan)
        assert run.calls == []

    async def test_not_a_plan(self) -> None:
        """run_plan takes a Plan."""
        with pytest.raises(TypeError, match=r"^run_plan expects a Plan, got list$"):
            await run_plan([])  # type: ignore[arg-type]

    async def test_context_not_mapping(self) -> None:
        """The context is a mapping."""
        with pytest.raises(TypeError, match=r"^context must be a mapping, got int$"):
            await run_plan(Plan(), context=3)  # type: ignore[arg-type]

    async def test_cancelled_from_outside(self, autojump_clock: trio.testing.MockClock) -> None:
        """A caller's deadline cancels the running phase; the Cancelled is the caller's."""
        log: list[tuple[str, float]] = []
        with trio.move_on_after(1) as scope:
            await run_plan(Plan().add("a", _sleeper("a", 5, log)))
        assert scope.cancelled_caught
        assert log == []


class TestPlanResult:
    def test_lookup(self) -> None:
        """Results are found by step name; an unknown name is a KeyError naming it."""
        result = PlanResult({"a": ActionResult({"x": 1})}, (("a",),))
        assert result["a"].value == {"x": 1}
        assert "a" in result
        assert "b" not in result
        assert list(result) == ["a"]
        assert len(result) == 1
        with pytest.raises(KeyError, match=r"the plan has no step named 'b'"):
            result["b"]
