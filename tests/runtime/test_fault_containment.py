"""Faults that start beside an agent stay there: spawned children, workflow runs, route params functions,
restarts that are interrupted, trees past their budget."""

from __future__ import annotations

from typing import Any

import pytest
import trio
import trio.testing

import jido
from dsl import action, agent, child, route, supervisor
from jido.agent.directives import SpawnAgent, Stop
from jido.agent.spec import AgentSpec
from jido.errors import AgentExistsError, ValidationError
from jido.runtime.runtime import open_runtime
from jido.signal import Signal

from .agents import Counter, sig


@action
class SpawnCounter:
    def run(self, ctx: jido.ActionContext) -> SpawnAgent:
        spec = Counter.__jido_spec__  # type: ignore[attr-defined]
        assert isinstance(spec, AgentSpec)
        return SpawnAgent(spec, "w", restart="permanent")


@agent
@route("p.spawn", SpawnCounter)
class Parent:
    n: int = 0


class TestSpawnedChildren:
    async def test_crash_looping_child_stops_alone(self, autojump_clock: trio.testing.MockClock) -> None:
        """A spawned child past its restart budget stops alone; its parent and the runtime go on."""
        async with open_runtime() as rt:
            parent = await rt.start_agent(Parent, id="p")
            await parent.call(Signal(type="p.spawn", source="/t"))
            for _ in range(4):  # crashes in a row, each soon after its restart: past the child's budget (3)
                ref = rt.get("p/w")
                with pytest.raises(jido.ActionError):
                    await ref.call(sig("crash"), timeout=60)
                await trio.testing.wait_all_tasks_blocked()
            await trio.sleep(10)
            assert rt.whereis("p/w") is None
            assert parent.status == "running"
            assert (await parent.call(Signal(type="p.spawn", source="/t"))).state.n == 0


@action
class Step:
    value: float = float("nan")

    def run(self, ctx: jido.ActionContext) -> dict[str, Any]:
        return {"value": self.value}


@action
class Request:
    def run(self, ctx: jido.ActionContext) -> dict[str, Any]:
        return {}


@action(allow_extra=True)
class Record:
    def run(self, ctx: jido.ActionContext) -> dict[str, Any]:
        return {"runs": ctx.state.runs + 1}


@action(allow_extra=True)
class RecordStrictly:
    total: int  # the completion signal carries no such field

    def run(self, ctx: jido.ActionContext) -> dict[str, Any]:
        return {"runs": ctx.state.runs + 1}


def _plan() -> jido.Plan:
    plan = jido.Plan()
    plan.add("only", Step)
    return plan


@agent(strategy=jido.Workflow(_plan(), trigger="wf.run", name="wf"))
@route("wf.run", Request)
@route("jido.workflow.completed", Record)
@route("jido.workflow.failed", Record)
class NanFlow:
    status: str = "idle"
    runs: int = 0


def _ok_plan() -> jido.Plan:
    plan = jido.Plan()
    plan.add("only", Step(value=1.0))
    return plan


@agent(strategy=jido.Workflow(_ok_plan(), trigger="wf.run", name="wf"))
@route("wf.run", Request)
@route("jido.workflow.completed", RecordStrictly)
@route("jido.workflow.failed", Record)
class StrictFlow:
    status: str = "idle"
    runs: int = 0


class TestWorkflows:
    async def test_outputs_a_signal_cannot_carry(self, autojump_clock: trio.testing.MockClock) -> None:
        """A run whose outputs cannot be sent (NaN) is reported as failed; the runtime goes on."""
        async with open_runtime() as rt:
            ref = await rt.start_agent(NanFlow, id="o", error_policy="log")
            await ref.call(Signal(type="wf.run", source="/t"))
            state = await ref.wait_state(lambda s: s.status == "failed", timeout=60)
            assert state.runs == 1

    @pytest.mark.parametrize("policy", ["log", "crash"])
    async def test_outcome_that_does_not_fit_its_route(
        self, policy: Any, autojump_clock: trio.testing.MockClock
    ) -> None:
        """A run's outcome whose data does not fit the recording route ends the run as failed (the strategy
        sees it), so the next run is accepted instead of refused as busy for ever."""
        async with open_runtime() as rt:
            ref = await rt.start_agent(StrictFlow, id="o", error_policy=policy)
            await ref.call(Signal(type="wf.run", source="/t"))
            await ref.wait_state(lambda s: s.status == "failed", timeout=60)
            await ref.call(Signal(type="wf.run", source="/t"))


@action
class Need:
    n: int

    def run(self, ctx: jido.ActionContext) -> dict[str, Any]:
        return {"count": ctx.state.count + self.n}


@agent(subscribe=["p.**"])
@route("p.map", Need, params=lambda s: {"n": s.data["n"]})
class Mapped:
    count: int = 0


class TestParamsFunctions:
    async def test_raising_params_function_is_a_rejection(self) -> None:
        """A route's params function that raises on the data rejects the signal as invalid_params."""
        async with open_runtime() as rt:
            ref = await rt.start_agent(Mapped, id="p")
            with pytest.raises(
                ValidationError,
                match=r"^invalid p\.map params:\n\$\.data: the route's params function raised KeyError: 'n'$",
            ):
                await ref.call(Signal(type="p.map", source="/t", data={}))
            assert (ref.restarts, ref.rejected) == (0, 1)

    async def test_bus_delivery_is_acked(self, autojump_clock: trio.testing.MockClock) -> None:
        """Published, the same signal is dead-lettered and acked; the next one is applied."""
        async with open_runtime() as rt:
            ref = await rt.start_agent(Mapped, id="p")
            await rt.publish(Signal(type="p.map", source="/t", data={}))
            await rt.publish(Signal(type="p.map", source="/t", data={"n": 5}))
            await ref.wait_state(lambda s: s.count == 5, timeout=60)
            assert [d.reason for d in rt.dead_letters()] == ["invalid_params"]
            assert ref.restarts == 0


@action
class Halt:
    def run(self, ctx: jido.ActionContext) -> Stop:
        return Stop("done")


@agent
@route("c.halt", Halt)
class Halting:
    count: int = 0


class TestRestartBookkeeping:
    async def test_cancelled_restart_keeps_the_agent_restartable(self) -> None:
        """A restart_agent cancelled before the agent runs leaves it failed, and restartable."""
        async with open_runtime(max_restarts=0, within=60.0) as rt:
            ref = await rt.start_agent(Counter, id="x")
            await ref.call(sig("add", by=42))
            with pytest.raises(jido.ActionError):
                await ref.call(sig("crash"))
            await ref.wait_stopped()
            with trio.CancelScope() as scope:
                scope.cancel()
                await rt.restart_agent("x")
            assert "x" in rt.failed_agents()
            again = await rt.restart_agent("x")
            assert again.state.count == 42

    async def test_concurrent_starts_of_one_id(self) -> None:
        """Two starts of one id at once: one runs, the other gets AgentExistsError (not a group)."""
        async with open_runtime() as rt:
            outcomes: list[str] = []

            async def start() -> None:
                try:
                    await rt.start_agent(Counter, id="same")
                except AgentExistsError:
                    outcomes.append("exists")
                else:
                    outcomes.append("started")

            async with trio.open_nursery() as nursery:
                nursery.start_soon(start)
                nursery.start_soon(start)
            assert sorted(outcomes) == ["exists", "started"]

    async def test_normal_stops_of_a_permanent_agent_do_not_count(
        self, autojump_clock: trio.testing.MockClock
    ) -> None:
        """A permanent agent stopping normally again and again is restarted each time, never failed."""
        async with open_runtime(max_restarts=1, within=5.0) as rt:
            ref = await rt.start_agent(Halting, id="h", restart="permanent")
            for _ in range(4):
                await ref.call(Signal(type="c.halt", source="/t"), timeout=60)
                await trio.testing.wait_all_tasks_blocked()
            await trio.sleep(10)
            assert ref.status == "running" and rt.statistics().failed == {}

    async def test_stored_dead_letters_after_close(self, autojump_clock: trio.testing.MockClock) -> None:
        """After the runtime closed, dead letters are counted as unsaved and reading them does not hang."""
        async with open_runtime() as rt:
            pass
        rt.deliver("nobody", sig("add"))
        assert rt.statistics().dead_letters_unsaved == 1
        with trio.fail_after(1):
            with pytest.raises(jido.ClosedError):
                await rt.stored_dead_letters()


@supervisor(name="pair", strategy="one_for_all", max_restarts=0, within=5.0)
class Pair:
    a = child(Counter, id="pair.a", restart="permanent")


class TestFailedTrees:
    async def test_listed_with_their_reason(self, autojump_clock: trio.testing.MockClock) -> None:
        """A tree of the root past its budget is stopped and listed in statistics().failed_children."""
        async with open_runtime(max_restarts=1, within=60.0) as rt:
            await rt.start_supervisor(Pair)
            for _ in range(2):
                with pytest.raises(jido.ActionError):
                    await rt.get("pair.a").call(sig("crash"), timeout=60)
                await trio.sleep(5)
            failed = rt.statistics().failed_children
            assert list(failed) == ["pair"]
            assert failed["pair"].startswith(
                "supervisor: failed: SupervisionError: supervisor 'pair' gave up"
            )
            await rt.start_supervisor(Pair)
            assert rt.statistics().failed_children == {}
