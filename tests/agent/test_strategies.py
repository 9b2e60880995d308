"""The FSM and Workflow strategies, in the pure core and under the runtime."""

from __future__ import annotations

import logging
from typing import Any

import attrs
import pytest
import trio

import jido
from dsl import action, agent, route
from jido.testing import FailAction, inject_faults


@action
class Start:
    def run(self, ctx: jido.ActionContext) -> dict[str, Any]:
        return {"log": [*ctx.state.log, "start"]}


@action
class Finish:
    def run(self, ctx: jido.ActionContext) -> dict[str, Any]:
        return {"log": [*ctx.state.log, "finish"]}


@action
class Explode:
    def run(self, ctx: jido.ActionContext) -> None:
        raise RuntimeError("boom")


MACHINE = jido.FSM(
    field="phase",
    transitions={"idle": {"start": "running"}, "running": {"finish": "done", "explode": "done"}},
)


@agent(strategy=MACHINE)
class Job:
    phase: str = "idle"
    log: list[str] = attrs.field(factory=list)


class TestFSM:
    def test_allowed_moves(self) -> None:
        """Allowed actions run and move the machine."""
        job, directives = jido.cmd(Job.new(), [Start(), Finish()])  # type: ignore[attr-defined]
        assert (job.state.phase, job.state.log, directives) == ("done", ["start", "finish"], [])

    def test_refused_move(self) -> None:
        """An action not allowed in the current state is refused; state unchanged."""
        job, [error] = jido.cmd(Job.new(), Finish())  # type: ignore[attr-defined]
        assert job.state.phase == "idle"
        assert isinstance(error.error, jido.TransitionError)
        assert str(error.error) == "action 'finish' is not allowed in state 'idle' (allowed: 'start')"

    def test_failed_action_does_not_move(self) -> None:
        """A failing allowed action leaves the machine where it was."""
        job, _ = jido.cmd(Job.new(), Start())  # type: ignore[attr-defined]
        job, [error] = jido.cmd(job, Explode())
        assert job.state.phase == "running"
        assert isinstance(error.error, jido.ActionError)

    def test_bad_transitions(self) -> None:
        """Malformed transitions are a definition error."""
        with pytest.raises(jido.DefinitionError, match=r"^FSM transitions must be a non-empty mapping"):
            jido.FSM(transitions={})


@action
class Double:
    x: int

    async def run(self, ctx: jido.ActionContext) -> dict[str, Any]:
        await trio.sleep(1)
        return {"doubled": self.x * 2}


@action
class Square:
    x: int

    async def run(self, ctx: jido.ActionContext) -> dict[str, Any]:
        await trio.sleep(1)
        return {"squared": self.x * self.x}


@action
class Sum:
    doubled: int
    squared: int

    def run(self, ctx: jido.ActionContext) -> dict[str, Any]:
        return {"total": self.doubled + self.squared}


def plan(*, failing: bool = False) -> jido.Plan:
    p = jido.Plan()
    p.add("double", Double)
    p.add("square", Explode if failing else Square)
    p.add("sum", Sum, depends_on=["double", "square"])
    return p


@action(allow_extra=True)
class Record:
    final: dict[str, Any]

    def run(self, ctx: jido.ActionContext) -> dict[str, Any]:
        return {"total": self.final["total"]}


@action(allow_extra=True)
class RecordError:
    error: str

    def run(self, ctx: jido.ActionContext) -> dict[str, Any]:
        return {"error": self.error}


@action
class Accept:
    x: int

    def run(self, ctx: jido.ActionContext) -> None:
        return None


def calculator(*, failing: bool = False) -> Any:
    @agent(strategy=jido.Workflow(plan(failing=failing), trigger="calc.run", name="calc"))
    @route("calc.run", Accept)
    @route("jido.workflow.completed", Record)
    @route("jido.workflow.failed", RecordError)
    class Calculator:
        status: str = "idle"
        total: int = 0
        error: str = ""

    return Calculator


class TestWorkflow:
    def test_trigger_is_pure(self) -> None:
        """In the pure core a trigger marks the run and returns a RunWorkflow directive, nothing more."""
        calc = calculator().new()
        signal = jido.Signal(type="calc.run", source="/t", data={"x": 3})
        after, [directive] = jido.handle(calc, signal)
        assert after.state.status == "running"
        assert isinstance(directive, jido.RunWorkflow)
        assert (directive.workflow, directive.input) == ("calc", {"x": 3})

    async def test_runs_concurrently_and_reports(self, autojump_clock: trio.testing.MockClock) -> None:
        """Independent steps run concurrently; the completion is recorded once."""
        async with jido.open_runtime() as rt:
            ref = await rt.start_agent(calculator(), id="calc")
            start = trio.current_time()
            await ref.call(jido.Signal(type="calc.run", source="/t", data={"x": 3}))
            state = await ref.await_completion("status", timeout=10)
            assert (state.status, state.total) == ("completed", 15)
            assert trio.current_time() - start == 1.0  # double and square together, not one after the other

    async def test_failure_reported(self, autojump_clock: trio.testing.MockClock) -> None:
        """A failing step ends the run as failed, with its error recorded."""
        async with jido.open_runtime() as rt:
            ref = await rt.start_agent(calculator(failing=True), id="calc")
            await ref.call(jido.Signal(type="calc.run", source="/t", data={"x": 3}))
            state = await ref.await_completion("status", timeout=10)
            assert state.status == "failed"
            assert state.error.startswith("plan step 'square' failed")

    async def test_outcome_reaches_a_busy_agent(self, autojump_clock: trio.testing.MockClock) -> None:
        """A run that ends while the agent's mailbox is full waits for room: its outcome is not dropped (the
        status would stay "running" and every later run be refused)."""

        @action
        class Nap:
            async def run(self, ctx: jido.ActionContext) -> None:
                await trio.sleep(5)

        @agent(strategy=jido.Workflow(plan(), trigger="calc.run", name="calc"))
        @route("calc.run", Accept)
        @route("calc.nap", Nap)
        @route("jido.workflow.completed", Record)
        class Busy:
            status: str = "idle"
            total: int = 0

        async with jido.open_runtime(mailbox_size=1) as rt:
            ref = await rt.start_agent(Busy, id="busy")
            await ref.call(jido.Signal(type="calc.run", source="/t", data={"x": 3}))
            nap = jido.Signal(type="calc.nap", source="/t")
            await ref.cast(nap)  # handled from t=0 to t=5
            await ref.cast(nap)  # fills the mailbox until t=5; the run ends at t=1
            state = await ref.await_completion("status", timeout=60)
            assert (state.status, state.total) == ("completed", 15)
            assert trio.current_time() == 10.0  # after both naps
            assert rt.dead_letters() == []

    async def test_recording_crash_reports_the_run_failed(
        self, autojump_clock: trio.testing.MockClock
    ) -> None:
        """Under the "crash" policy an agent that crashes recording a completed run commits nothing of it; the
        run is reported again as failed, so the status does not stay "running" and later runs are accepted."""
        with inject_faults([FailAction("record", on={1})]):
            async with jido.open_runtime() as rt:
                ref = await rt.start_agent(calculator(), id="calc")
                run = jido.Signal(type="calc.run", source="/t", data={"x": 3})
                await ref.call(run)
                state = await ref.await_completion("status", timeout=10)
                assert (state.status, ref.restarts) == ("failed", 1)
                assert state.error.startswith(
                    "recording the completed run failed: ActionError: action 'record' failed: InjectedError"
                )
                assert [d.signal.type for d in rt.dead_letters()] == ["jido.workflow.completed"]
                await ref.call(run)  # accepted: not refused as busy
                state = await ref.await_completion("status", timeout=10)
                assert (state.status, state.total) == ("completed", 15)

    async def test_recording_the_failure_crashes_too(
        self, autojump_clock: trio.testing.MockClock, caplog: pytest.LogCaptureFixture
    ) -> None:
        """If recording the failure crashes as well, it is logged, not reported again: no crash loop."""
        plan = [FailAction("record", on={1}), FailAction("record_error", on={1})]
        with inject_faults(plan), caplog.at_level(logging.ERROR, logger="jido.runtime"):
            async with jido.open_runtime() as rt:
                ref = await rt.start_agent(calculator(), id="calc")
                await ref.call(jido.Signal(type="calc.run", source="/t", data={"x": 3}))
                await trio.sleep(60)
                assert (ref.state.status, ref.restarts) == ("running", 2)
        assert any("could not record that workflow 'calc' run" in r.getMessage() for r in caplog.records)

    def test_missing_status_field(self) -> None:
        """An agent without the status field cannot use the workflow strategy."""

        @agent(strategy=jido.Workflow(plan(), trigger="calc.run"))
        @route("calc.run", Accept)
        class NoStatus:
            total: int = 0

        with pytest.raises(jido.DefinitionError, match=r"has no state field 'status'$"):
            jido.handle(NoStatus.new(), jido.Signal(type="calc.run", source="/t", data={"x": 1}))  # type: ignore[attr-defined]
