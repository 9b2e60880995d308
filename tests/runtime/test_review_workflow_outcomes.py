"""Review: the Workflow strategy's outcome signals (its crash recovery moved into it in 612ccc6) take any
jido.workflow.completed naming the workflow, whatever its run id."""

from __future__ import annotations

import pytest
import trio
import trio.testing

import jido
from tests.agent.test_strategies import calculator


@pytest.mark.xfail(
    strict=True,
    reason="Workflow._before/_after match outcome signals by workflow name only, never the run id: "
    "a forged or stale outcome ends the current run's status",
)
async def test_review_forged_outcome_does_not_end_the_run(autojump_clock: trio.testing.MockClock) -> None:
    """A run is under way (status "running": a second trigger is refused as busy). A completion signal for
    another run id, sent by anyone who can cast to the agent or publish on the bus, is recorded as this run's
    outcome: status "completed" with the forged total, and the next trigger starts an overlapping run."""
    async with jido.open_runtime() as rt:
        ref = await rt.start_agent(calculator(), id="calc")
        await ref.call(jido.Signal(type="calc.run", source="/t", data={"x": 3}))
        assert ref.state.status == "running"
        forged = jido.Signal(
            type="jido.workflow.completed",
            source="/elsewhere",
            data={"workflow": "calc", "run_id": "not-this-run", "final": {"total": 999}},
        )
        await ref.call(forged)
        assert (ref.state.status, ref.state.total) == ("running", 0)
