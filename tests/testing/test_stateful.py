"""jido.testing.stateful: one trio runtime alive across the rules of a Hypothesis state machine."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any, ClassVar

import pytest
import trio
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import initialize, invariant, precondition, rule, run_state_machine_as_test

import jido
from jido.errors import ClosedError, SupervisionError
from jido.testing import TEST_START, CrashAgent, FailAction, FaultPlan, RuntimeStateMachine
from tests.runtime.agents import Counter, sig

SHORT = settings(max_examples=10, stateful_step_count=8, deadline=None)


class Plain(RuntimeStateMachine):
    """The helper itself, driven by hand (Hypothesis wants at least one rule)."""

    @rule()
    def pause(self) -> None:
        self.advance(0)


class CounterMachine(RuntimeStateMachine):
    """The counter agents's count is the sum of the adds that succeeded, whatever faults strike."""

    @initialize()
    def start(self) -> None:
        self.ref = self.run(self.rt.start_agent, Counter, id="c")
        self.expected = 0
        self.runtime_seen = self.rt

    @rule(by=st.integers(0, 5))
    def add(self, by: int) -> None:
        outcome = self.call(self.ref, sig("add", by=by))
        if not isinstance(outcome, Exception):
            self.expected += by

    @rule()
    def crash(self) -> None:
        self.faults.set_plan(FaultPlan([CrashAgent("c", on={1})]))
        outcome = self.call(self.ref, sig("add", by=1))
        self.faults.set_plan(FaultPlan())
        assert isinstance(outcome, jido.ActionError)

    @rule(seconds=st.sampled_from([0.0, 1.0, 10.0]))
    def wait(self, seconds: float) -> None:
        self.advance(seconds)

    @invariant()
    def count_matches(self) -> None:
        assert self.ref.state.count == self.expected
        assert self.rt is self.runtime_seen


class TestRuntimeStateMachine:
    def test_runtime_lives_across_rules(self) -> None:
        """Agents started in one rule answer in the next; crashes restart them from committed state."""
        run_state_machine_as_test(CounterMachine, settings=SHORT)

    def test_time_stands_still_between_rules(self) -> None:
        """Time moves only inside rules: by what they wait, and by nothing between them."""
        machine = Plain()
        try:
            before = machine.run(_now)
            assert machine.run(_now) == before
            machine.advance(42)
            assert machine.run(_now) == before + 42
            assert machine.run(_wall, machine.rt) == TEST_START + dt.timedelta(seconds=42)
        finally:
            machine.teardown()

    def test_rules_see_results_and_errors(self) -> None:
        """run returns what the coroutine returns, raises what it raises, and passes keyword arguments."""
        machine = Plain()
        try:
            ref = machine.run(machine.rt.start_agent, Counter, id="c", state={"count": 3})
            assert ref.state.count == 3
            with pytest.raises(jido.AgentExistsError):
                machine.run(machine.rt.start_agent, Counter, id="c")
            machine.cast(ref, sig("add", by=2))
            assert ref.state.count == 5  # the rule ended once every task was blocked again
        finally:
            machine.teardown()

    def test_faults_reach_agents_started_in_rules(self) -> None:
        """The machine's injector strikes the actions of its agents."""
        machine = Plain()
        try:
            ref = machine.run(machine.rt.start_agent, Counter, id="c")
            machine.faults.set_plan(FaultPlan([FailAction("add", on={1})]))
            outcome = machine.call(ref, sig("add", by=1))
            assert isinstance(outcome, jido.ActionError)
            assert [r.occurrence for r in machine.faults.records] == [1]
        finally:
            machine.teardown()

    def test_runtime_failure_is_reported(self) -> None:
        """A root supervisor that gives up ends the runtime; rules see why, and rt refuses to serve."""

        class Fragile(Plain):
            runtime_options: ClassVar[Mapping[str, Any]] = {
                "max_restarts": 1,
                "within": 60.0,
                "escalate": True,
            }

        machine = Fragile()
        try:
            ref = machine.run(machine.rt.start_agent, Counter, id="c")
            machine.faults.set_plan(FaultPlan([CrashAgent("c")]))
            machine.call(ref, sig("add", by=1))
            assert machine.runtime_failure is None
            machine.call(ref, sig("add", by=1))
            failure: BaseException | None = machine.runtime_failure
            assert isinstance(failure, SupervisionError)
            with pytest.raises(ClosedError, match=r"^the runtime has failed: SupervisionError\("):
                machine.rt  # noqa: B018 - the property refuses
        finally:
            machine.teardown()

    def test_reopen_after_failure(self) -> None:
        """reopen_runtime opens a fresh runtime after a failure; an agent resumes there from its last state."""

        class Fragile(Plain):
            runtime_options: ClassVar[Mapping[str, Any]] = {
                "max_restarts": 0,
                "within": 60.0,
                "escalate": True,
            }

        machine = Fragile()
        try:
            ref = machine.run(machine.rt.start_agent, Counter, id="c")
            machine.call(ref, sig("add", by=4))
            machine.advance(10)
            with machine.faults.using(FaultPlan([CrashAgent("c")])):
                machine.call(ref, sig("add", by=1))
            before: BaseException | None = machine.runtime_failure
            assert isinstance(before, SupervisionError)
            rt = machine.reopen_runtime()
            after: BaseException | None = machine.runtime_failure
            assert after is None
            again = machine.run(rt.start_agent, ref.agent)
            assert again.state.count == 4
            assert machine.run(_wall, rt) == TEST_START + dt.timedelta(seconds=10)  # the wall clock goes on
            assert machine.reopen_runtime() is not rt  # a running runtime is closed first
        finally:
            machine.teardown()

    def test_teardown_stops_the_loop(self) -> None:
        """After teardown the event loop is gone and run refuses."""
        machine = Plain()
        machine.teardown()
        with pytest.raises(ClosedError, match=r"^the state machine's event loop is not running$"):
            machine.run(_now)

    def test_faults_noted_in_failing_examples(self) -> None:
        """The faults that fired during a failing example are in Hypothesis' report, step by step."""

        class Broken(RuntimeStateMachine):
            @initialize()
            def start(self) -> None:
                self.ref = self.run(self.rt.start_agent, Counter, id="c")
                self.faults.set_plan(FaultPlan([FailAction("add", on={2})]))

            @rule()
            def add(self) -> None:
                self.call(self.ref, sig("add", by=1))

            @precondition(lambda self: True)
            @invariant()
            def never_fails(self) -> None:
                assert not self.faults.records, "a fault fired"

        with pytest.raises(AssertionError, match=r"^a fault fired") as info:
            run_state_machine_as_test(Broken, settings=settings(SHORT, database=None, derandomize=True))
        notes: list[Any] = info.value.__notes__
        assert (
            "fault: FailAction('add', on={2}) struck call 2 of action 'add' in agent 'c' ('counter.add')"
            in notes
        )


async def _now() -> float:
    return trio.current_time()


async def _wall(rt: jido.Runtime) -> dt.datetime:
    return rt.clock.now()
