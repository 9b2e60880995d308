"""examples/content_ops.py: the ContentOps orchestrator under the runtime, as the seeds describe it."""

from __future__ import annotations

from collections.abc import Mapping

import pytest
import trio

import jido
from examples.content_ops import ContentOps, request, run_once


async def orchestrator(rt: jido.Runtime) -> jido.AgentRef:
    await rt.start_supervisor(ContentOps)
    return rt.get("content_ops.orchestrator")


class TestContentOps:
    @pytest.mark.parametrize(
        ("mode", "changes"), [("weekly", 1), ("monthly", 1), ("hourly", 0), ("nightly", 0)]
    )
    async def test_run_by_mode(self, mode: str, changes: int) -> None:
        """Weekly and monthly runs make one change request and one delivery; hourly and nightly none."""
        async with jido.open_runtime() as rt:
            ref = await orchestrator(rt)
            report = await run_once(ref, mode)
            assert report["stats"] == {"change_requests": changes, "delivered": changes}
            assert report["mode"] == mode
            assert report["type"] == "contentops.run.completed"
            assert ref.state.status == "completed"

    async def test_run_state_updated_once_per_run(self) -> None:
        """total_runs and last_run_* change exactly once per completed run."""
        async with jido.open_runtime() as rt:
            ref = await orchestrator(rt)
            first = await run_once(ref, "weekly")
            assert (ref.state.total_runs, ref.state.last_run_id, ref.state.last_run_mode) == (
                1,
                first["run_id"],
                "weekly",
            )
            second = await run_once(ref, "hourly")
            assert (ref.state.total_runs, ref.state.last_run_id, ref.state.last_run_mode) == (
                2,
                second["run_id"],
                "hourly",
            )
            assert first["run_id"] != second["run_id"]
            assert ref.state.last_run_at == second["completed_at"]

    async def test_overlapping_run_refused(self) -> None:
        """A request while a run is in progress is refused with a clear error; the run completes once."""
        async with jido.open_runtime() as rt:
            ref = await orchestrator(rt)
            await ref.call(request("weekly"))
            assert ref.state.status == "running"
            with pytest.raises(
                jido.WorkflowBusyError,
                match=r"^workflow 'contentops' is already running: wait for the run in progress to finish$",
            ):
                await ref.call(request("monthly"))
            state = await ref.await_completion("status", timeout=10)
            assert (state.status, state.total_runs, state.last_run_mode) == ("completed", 1, "weekly")
            assert ref.restarts == 0

    async def test_invalid_mode_refused(self) -> None:
        """A request with an unknown mode is refused, naming the field, and starts nothing."""
        async with jido.open_runtime() as rt:
            ref = await orchestrator(rt)
            with pytest.raises(
                jido.ValidationError,
                match=r'^invalid request_run params:\n\$\.data\.mode: expected one of "hourly", "nightly", "weekly", "monthly", got "yearly"$',
            ):
                await ref.call(request("yearly"))
            assert ref.state.status == "idle"
            await trio.testing.wait_all_tasks_blocked()
            assert ref.state.total_runs == 0

    async def test_seed_proof_state_is_a_mapping(self) -> None:
        """Under the runtime with id content_ops.orchestrator, the agent's state is a mapping."""
        async with jido.open_runtime() as rt:
            await orchestrator(rt)
            assert isinstance(rt.get("content_ops.orchestrator").agent.state, Mapping)
