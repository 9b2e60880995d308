"""Review: RecoversFromCrash.after_crash follow-ups (612ccc6) when the crashed agent does not come back."""

from __future__ import annotations

from typing import Any

import trio
import trio.testing

from dsl import action, agent, route
from jido.action.spec import ActionContext
from jido.agent.strategy import Direct
from jido.runtime.runtime import open_runtime
from jido.signal import Signal


class Recovering:
    """Direct, plus a follow-up ``job.crashed`` after a crash on ``job.run``."""

    def __init__(self) -> None:
        self.direct = Direct()
        self.follow_ups: list[Signal] = []

    def run(self, agent: Any, instructions: Any, *, signal: Any = None) -> Any:
        return self.direct.run(agent, instructions, signal=signal)

    async def run_async(self, agent: Any, instructions: Any, *, signal: Any = None) -> Any:
        return await self.direct.run_async(agent, instructions, signal=signal)

    def after_crash(self, agent_id: str, signal: Any, error: BaseException) -> Any:
        if signal.type != "job.run":
            return None
        follow_up = Signal(type="job.crashed", source="/review", data={"id": signal.id}).caused_by(signal)
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


async def test_review_follow_up_of_an_agent_that_does_not_restart(
    autojump_clock: trio.testing.MockClock,
) -> None:
    """A temporary agent crashes on job.run: it is not restarted (it stops as failed). The strategy's
    follow-up for "the restarted agent" has no agent to go to; the runtime accepted it from the strategy
    (principle 4: processed or recorded with its error), so it must reach the dead letters, not vanish."""
    strategy = Recovering()
    async with open_runtime(restart_backoff=0.0) as rt:
        ref = await rt.start_agent(make(strategy), id="jobs", restart="temporary")
        await ref.cast(Signal(type="job.run", source="/review"))
        await trio.sleep(1)
        assert ref.status == "failed" and len(strategy.follow_ups) == 1
        dead = {d.signal.id for d in rt.dead_letters()}
        assert strategy.follow_ups[0].id in dead
