"""jido.testing.invariants: invariants checked after every step, and short, readable counterexamples."""

from __future__ import annotations

import pathlib
import re
from typing import Any

import pytest
from hypothesis import settings
from hypothesis import strategies as st

import jido
from dsl import action, agent, route
from examples.demand_tracker import Boost, Cool, Decay, DemandTracker
from jido.errors import DefinitionError
from jido.testing import FailAction, InvariantViolation, SlowAction, Step, TimeoutAction, check_invariant
from jido.testing import strategies as jst

DOCS = pathlib.Path(__file__).parent.parent.parent / "docs" / "testing.md"

# Derandomized and without the example database: the same counterexample on every run and machine.
REPRODUCIBLE = settings(derandomize=True, database=None)


def demand_in_range(state: Any) -> bool:
    demand: int = state.demand
    return 0 <= demand <= 100


@action(description="Raise demand by `amount` (forgets the cap at 100)")
class UncappedBoost:
    amount: int = 10

    def run(self, ctx: jido.ActionContext) -> dict[str, Any]:
        return {"demand": ctx.state.demand + self.amount}


@agent
@route("listing.demand.boost", UncappedBoost)
@route("listing.demand.cool", Cool)
@route("listing.demand.tick", Decay)
class UncappedTracker:
    listing_id: str = "demo-listing"
    demand: int = 50
    ticks: int = 0
    last_updated_at: str | None = None


@action(
    description="Decay demand; a retried heartbeat catches up on the decay it missed", retries=1, backoff=0.0
)
class CatchUpDecay:
    def run(self, ctx: jido.ActionContext) -> dict[str, Any]:
        # The bug: the catch-up path forgets the floor at 0 that the first attempt applies.
        if ctx.attempt > 1:
            return {"demand": ctx.state.demand - 2 * ctx.attempt, "ticks": ctx.state.ticks + 1}
        return {"demand": max(0, ctx.state.demand - 2), "ticks": ctx.state.ticks + 1}


@agent
@route("listing.demand.boost", Boost)
@route("listing.demand.cool", Cool)
@route("listing.demand.tick", CatchUpDecay)
class CatchUpTracker:
    demand: int = 50
    ticks: int = 0


class TestDemandTracker:
    def test_demand_within_range(self) -> None:
        """The Demand Tracker keeps demand within 0..100 under any steps, faults included."""
        check_invariant(DemandTracker, demand_in_range)

    def test_ticks_never_negative(self) -> None:
        """The Demand Tracker never has negative ticks."""
        check_invariant(DemandTracker, lambda state: state.ticks >= 0, name="ticks never negative")


class TestCounterexamples:
    def test_uncapped_boost_shrinks_to_one_step(self) -> None:
        """A missing cap shrinks to the one boost that crosses it, told step by step."""
        with pytest.raises(InvariantViolation) as info:
            check_invariant(UncappedTracker, demand_in_range, settings=REPRODUCIBLE)
        assert str(info.value) == (
            "invariant 'demand_in_range' violated after step 1 of 1: returned False\n"
            "  start: UncappedTracker(listing_id='demo-listing', demand=50, ticks=0, last_updated_at=None)\n"
            "  1. UncappedBoost(amount=51) -> demand 50 -> 101\n"
            "  state: UncappedTracker(listing_id='demo-listing', demand=101, ticks=0, last_updated_at=None)"
        )
        assert info.value.steps == (Step(UncappedBoost(amount=51)),)
        assert info.value.state.demand == 101
        assert info.value.__notes__[0] == (
            "Failing test case: check_uncapped_tracker(\n    steps=[Step(UncappedBoost(amount=51))],\n)"
        )

    def test_fault_dependent_bug_shows_its_fault(self) -> None:
        """A bug only a failed first attempt reaches shrinks to a counterexample naming that fault."""
        with pytest.raises(InvariantViolation) as info:
            check_invariant(CatchUpTracker, demand_in_range, initial={"demand": 3}, settings=REPRODUCIBLE)
        [step] = info.value.steps
        assert isinstance(step.instruction, CatchUpDecay)
        assert isinstance(step.fault, FailAction | TimeoutAction | SlowAction)
        assert str(info.value).splitlines()[2] == (
            f"  1. CatchUpDecay() [{step.fault!r} struck] -> demand 3 -> -1, ticks 0 -> 1"
        )

    def test_drawn_start_states(self) -> None:
        """initial= may be a strategy: the search starts anywhere the invariant allows, and shrinks the start."""
        with pytest.raises(InvariantViolation) as info:
            check_invariant(
                CatchUpTracker,
                demand_in_range,
                initial=jst.from_schema(CatchUpTracker, demand=st.integers(0, 10)),
                settings=REPRODUCIBLE,
            )
        assert str(info.value) == (
            "invariant 'demand_in_range' violated after step 1 of 1: returned False\n"
            "  start: CatchUpTracker(demand=0, ticks=0)\n"
            "  1. CatchUpDecay() [FailAction('catch_up_decay', on={1}) struck] -> demand 0 -> -4, ticks 0 -> 1\n"
            "  state: CatchUpTracker(demand=-4, ticks=1)"
        )
        assert info.value.__notes__[0] == (
            "Failing test case: check_catch_up_tracker(\n"
            "    start=CatchUpTracker(demand=0, ticks=0),\n"
            "    steps=[Step(CatchUpDecay(), fault=FailAction('catch_up_decay', on={1}))],\n)"
        )

    def test_drawn_start_of_the_wrong_kind(self) -> None:
        """A start strategy must draw states or mappings."""
        with pytest.raises(
            TypeError, match=r"^initial= drew 3: expected a CatchUpTracker or a mapping of its fields\n"
        ):
            check_invariant(CatchUpTracker, demand_in_range, initial=st.just(3))

    def test_docs_show_the_actual_output(self) -> None:
        """docs/testing.md shows the fault reports and the counterexample its code really gives."""
        text = DOCS.read_text()
        shown = {
            name: re.search(rf"<!-- {name} -->\n```text\n(.*?)```", text, re.DOTALL)
            for name in ("fault report", "bus fault report", "counterexample")
        }
        assert all(shown.values()), "docs/testing.md lost an output block"
        namespace: dict[str, Any] = {"__name__": "docs_testing"}
        # Only the blocks these outputs need (tests/test_docs.py runs them all): definitions and the demos.
        needed = (
            "class DemandTracker",
            "def demand_in_range",
            "crash_and_resume",
            "lost_and_refused",
            "class BrokenTracker",
            "counterexample =",
        )
        for block in re.finditer(r"^```python\n(.*?)^```", text, re.DOTALL | re.MULTILINE):
            if any(key in block.group(1) for key in needed):
                line = text.count("\n", 0, block.start()) + 2
                exec(compile("\n" * (line - 1) + block.group(1), str(DOCS), "exec"), namespace)
        assert namespace["faults"].report() + "\n" == shown["fault report"].group(1)  # type: ignore[union-attr]
        assert namespace["bus_faults"].report() + "\n" == shown["bus fault report"].group(1)  # type: ignore[union-attr]
        assert namespace["counterexample"] + "\n" == shown["counterexample"].group(1)  # type: ignore[union-attr]


class TestChecks:
    def test_initial_state_checked(self) -> None:
        """A state that breaks the invariant from the start fails before any step."""
        with pytest.raises(
            InvariantViolation,
            match=r"^invariant 'demand_in_range' violated in the initial state: returned False\n  start: DemandTracker\(listing_id='demo-listing', demand=120, ticks=0, last_updated_at=None\)\n",
        ):
            check_invariant(DemandTracker, demand_in_range, initial={"demand": 120})

    def test_assertion_message_kept(self) -> None:
        """A predicate that asserts fails with its own message."""

        def demand_below_60(state: Any) -> None:
            assert state.demand < 60, f"demand is {state.demand}"

        with pytest.raises(
            InvariantViolation,
            match=r"^invariant 'demand_below_60' violated after step 1 of 1: demand is 60\n",
        ):
            check_invariant(DemandTracker, demand_below_60, settings=REPRODUCIBLE, faults=())

    def test_failed_steps_are_told(self) -> None:
        """A step that failed says why; one that changed nothing says so."""

        def never_cooled(state: Any) -> bool:
            demand: int = state.demand
            return demand >= 50

        with pytest.raises(InvariantViolation) as info:
            check_invariant(
                DemandTracker,
                never_cooled,
                actions=["cool", "cleanup"],
                params={"cool": {"amount": st.integers(0, 5)}},
                settings=REPRODUCIBLE,
            )
        assert str(info.value).splitlines()[2] == "  1. Cool(amount=1) -> demand 50 -> 49"

    def test_agent_value_as_start(self) -> None:
        """An Agent value is where every sequence starts."""
        start = DemandTracker.new("t", demand=100)  # type: ignore[attr-defined]
        with pytest.raises(
            InvariantViolation,
            match=r"^invariant 'below_100' violated in the initial state: returned False\n  start: DemandTracker\(",
        ):
            check_invariant(start, lambda s: s.demand < 100, name="below_100")

    def test_step_repr(self) -> None:
        """Steps show their instruction and fault the way they are written."""
        assert repr(Step(Boost(amount=3))) == "Step(Boost(amount=3))"
        assert repr(Step(Boost(amount=3), FailAction("boost", on={1}))) == (
            "Step(Boost(amount=3), fault=FailAction('boost', on={1}))"
        )
        spec = jido.ActionSpec(name="ping", run=lambda p, c: None)
        assert repr(Step(jido.Instruction(spec, {"a": 1}))) == "Step(ping: params={'a': 1})"

    def test_bad_arguments(self) -> None:
        """Agents, step counts, fault kinds and initial states are checked."""
        with pytest.raises(DefinitionError, match=r"^3 is not an agent"):
            check_invariant(3, demand_in_range)
        with pytest.raises(ValueError, match=r"^max_steps must be an int >= 1, got 0$"):
            check_invariant(DemandTracker, demand_in_range, max_steps=0)
        with pytest.raises(
            ValueError, match=r"^faults must be among 'raise', 'timeout', 'slow', got \['boom'\]$"
        ):
            check_invariant(DemandTracker, demand_in_range, faults=["boom"])
        start = DemandTracker.new()  # type: ignore[attr-defined]
        with pytest.raises(
            ValueError, match=r"^give the initial state either in the Agent value or as initial=, not both$"
        ):
            check_invariant(start, demand_in_range, initial={"demand": 3})
