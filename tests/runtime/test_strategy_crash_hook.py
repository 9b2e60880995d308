"""A strategy's own answer to a crash (``RecoversFromCrash.after_crash``): the runtime asks it what the
restarted agent handles next, without knowing any strategy by name; a hook that raises or returns something
that is not a signal is logged and changes nothing else."""

from __future__ import annotations

import logging
from typing import Any

import pytest
import trio
import trio.testing

from dsl import action, agent, route
from jido.action.spec import ActionContext
from jido.agent.strategy import Direct, RecoversFromCrash
from jido.runtime.runtime import open_runtime
from jido.signal import Signal


class Recovering:
    """Direct, plus: after a crash on ``job.run``, the restarted agent gets ``job.crashed`` naming it."""

    def __init__(self, answer: str = "signal") -> None:
        self.answer = answer
        self.asked: list[tuple[str, str, str]] = []
        self.follow_ups: list[Signal] = []
        self.direct = Direct()

    def run(self, agent: Any, instructions: Any, *, signal: Any = None) -> Any:
        return self.direct.run(agent, instructions, signal=signal)

    async def run_async(self, agent: Any, instructions: Any, *, signal: Any = None) -> Any:
        return await self.direct.run_async(agent, instructions, signal=signal)

    def after_crash(self, agent_id: str, signal: Any, error: BaseException) -> Any:
        self.asked.append((agent_id, signal.type, str(error)))
        if self.answer == "raise":
            raise RuntimeError("the hook itself failed")
        if self.answer == "junk":
            return {"type": "job.crashed"}
        if signal.type != "job.run":
            return None
        follow_up = Signal(type="job.crashed", source="/test", data={"id": signal.id}).caused_by(signal)
        self.follow_ups.append(follow_up)
        return follow_up


@action
class Run:
    def run(self, ctx: ActionContext) -> dict[str, Any]:
        raise RuntimeError("job failed")


@action
class Crashed:
    id: str

    def run(self, ctx: ActionContext) -> dict[str, Any]:
        return {"crashed": [*ctx.state.crashed, self.id]}


def make(strategy: Recovering) -> Any:
    @agent(strategy=strategy)
    @route("job.run", Run)
    @route("job.crashed", Crashed)
    class Jobs:
        crashed: list[str] = []  # noqa: RUF012 - a default the DSL copies per agent

    return Jobs


class TestAfterCrash:
    async def test_follow_up_is_handled_after_the_restart(
        self, autojump_clock: trio.testing.MockClock
    ) -> None:
        strategy = Recovering()
        assert isinstance(strategy, RecoversFromCrash)
        async with open_runtime(restart_backoff=0.0) as rt:
            ref = await rt.start_agent(make(strategy), id="jobs")
            run = Signal(type="job.run", source="/test")
            await ref.cast(run)
            state = await ref.wait_state(lambda s: bool(s.crashed), timeout=10)
            assert state.crashed == [run.id] and ref.restarts == 1
            assert strategy.asked == [("jobs", "job.run", "action 'run' failed: RuntimeError('job failed')")]
            assert [d.signal.id for d in rt.dead_letters()] == [run.id]

    @pytest.mark.parametrize("answer", ["raise", "junk"])
    async def test_bad_hook_is_logged(
        self, answer: str, autojump_clock: trio.testing.MockClock, caplog: pytest.LogCaptureFixture
    ) -> None:
        strategy = Recovering(answer)
        async with open_runtime(restart_backoff=0.0) as rt:
            ref = await rt.start_agent(make(strategy), id="jobs")
            with caplog.at_level(logging.ERROR, logger="jido.runtime"):
                await ref.cast(Signal(type="job.run", source="/test"))
                await trio.sleep(1)
            assert ref.status == "running" and ref.restarts == 1 and ref.state.crashed == []
            assert len(strategy.asked) == 1
            assert any("after_crash" in record.getMessage() for record in caplog.records)

    async def test_follow_up_of_an_agent_that_does_not_restart(
        self, autojump_clock: trio.testing.MockClock
    ) -> None:
        """A temporary agent crashes: it is not restarted (it stops as failed). The follow-up meant for the
        restarted agent has nowhere to go; the runtime took it from the strategy, so it reaches the dead
        letters instead of vanishing."""
        strategy = Recovering()
        async with open_runtime(restart_backoff=0.0) as rt:
            ref = await rt.start_agent(make(strategy), id="jobs", restart="temporary")
            await ref.cast(Signal(type="job.run", source="/test"))
            await trio.testing.wait_all_tasks_blocked()
            assert ref.status == "failed" and len(strategy.follow_ups) == 1
            assert strategy.follow_ups[0].id in {d.signal.id for d in rt.dead_letters()}
