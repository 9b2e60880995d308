"""ContentOps: a supervised orchestrator that runs a content workflow as a DAG of actions.

A ``contentops.run.requested`` signal (data ``{"mode": "hourly" | "nightly" | "weekly" | "monthly"}``) starts
one run of the workflow

    BuildRunContext -> LoadPolicyBundle -> SelectWork -> CollectChangeRequests -> DeliverySink -> PublishRunReport

beside the agent (the :class:`jido.Workflow` strategy; the agent keeps answering while the run goes on). Weekly
and monthly runs select one work order, so they produce one change request and one delivery; hourly and
nightly runs select nothing. A second request while a run is in progress is refused with
:class:`jido.WorkflowBusyError`. When a run completes, ``RecordRun`` updates ``total_runs`` and ``last_run_*``
exactly once.

Run it: ``python examples/content_ops.py``.
"""

from __future__ import annotations

import datetime as dt
import secrets
from collections.abc import Mapping
from typing import Any, Literal

import trio

import jido
from dsl import action, agent, child, route, supervisor

Mode = Literal["hourly", "nightly", "weekly", "monthly"]
SOURCE = "/examples/content_ops"


def _now() -> str:
    return dt.datetime.now(dt.UTC).isoformat()


@action(description="Open a run: id, mode and start time")
class BuildRunContext:
    mode: Mode = "hourly"

    def run(self, ctx: jido.ActionContext) -> dict[str, Any]:
        return {"run_id": f"run_{secrets.token_hex(8)}", "mode": self.mode, "started_at": _now()}


@action(description="Load the policy bundle the run must respect")
class LoadPolicyBundle:
    run_id: str

    def run(self, ctx: jido.ActionContext) -> dict[str, Any]:
        bundle = {
            "run_id": self.run_id,
            "allowed_claims": ["Jido is an agent runtime"],
            "voice_constraints": {"tone": "technical", "avoided_phrases": ["cutting-edge", "revolutionary"]},
            "proof_gates": {"requires_code_example": True},
            "loaded_at": _now(),
        }
        return {"policy_bundle": bundle}


@action(description="Select the work orders of this run (weekly and monthly runs pick one)")
class SelectWork:
    run_id: str
    mode: Mode
    policy_bundle: dict[str, Any]

    def run(self, ctx: jido.ActionContext) -> dict[str, Any]:
        if self.mode not in ("weekly", "monthly"):
            return {"work_orders": []}
        order = {
            "id": f"wo_{secrets.token_hex(4)}",
            "run_id": self.run_id,
            "kind": "docs",
            "slug": f"docs/spike-{self.run_id}",
            "priority_score": 0.85,
            "source": "stub",
        }
        return {"work_orders": [order]}


@action(description="Turn each work order into a change request")
class CollectChangeRequests:
    run_id: str
    work_orders: list[dict[str, Any]]

    def run(self, ctx: jido.ActionContext) -> dict[str, Any]:
        requests = [
            {
                "type": "content.change_request",
                "run_id": self.run_id,
                "authoring_agent": "ContentOps.Orchestrator",
                "changes": [
                    {
                        "op": "create",
                        "path": f"docs/{order['slug']}.md",
                        "content": f"---\ntitle: {order['slug']}\n---\n",
                        "rationale": "selected by the weekly content review",
                    }
                ],
                "validations_required": ["schema"],
                "related_plan_slug": order["slug"],
            }
            for order in self.work_orders
        ]
        return {"change_requests": requests, "change_request_count": len(requests)}


@action(description="Record each change request as delivered (a sink: nothing leaves the process)")
class DeliverySink:
    run_id: str
    change_requests: list[dict[str, Any]]

    def run(self, ctx: jido.ActionContext) -> dict[str, Any]:
        receipts = [
            {
                "run_id": self.run_id,
                "slug": request["related_plan_slug"],
                "status": "recorded",
                "pr_url": None,
                "delivered_at": _now(),
            }
            for request in self.change_requests
        ]
        return {"delivery_receipts": receipts, "delivered_count": len(receipts)}


@action(description="Publish the run report")
class PublishRunReport:
    run_id: str
    mode: Mode
    started_at: str
    change_request_count: int
    delivered_count: int

    def run(self, ctx: jido.ActionContext) -> dict[str, Any]:
        report = {
            "type": "contentops.run.completed",
            "run_id": self.run_id,
            "mode": self.mode,
            "stats": {"change_requests": self.change_request_count, "delivered": self.delivered_count},
            "delivery_mode": "sink",
            "started_at": self.started_at,
            "completed_at": _now(),
        }
        return {"report": report}


def build_plan() -> jido.Plan:
    """The workflow: each step takes what it needs from the steps before it (and the run's mode)."""
    plan = jido.Plan()
    plan.add("build", BuildRunContext)
    plan.add("policy", LoadPolicyBundle, depends_on="build")
    plan.add("select", SelectWork, depends_on=["build", "policy"])
    plan.add("collect", CollectChangeRequests, depends_on=["build", "select"])
    plan.add("deliver", DeliverySink, depends_on=["build", "collect"])
    plan.add("report", PublishRunReport, depends_on=["build", "collect", "deliver"])
    return plan


@action(description="Accept a run request (its mode is checked strictly)")
class RequestRun:
    mode: Mode = "weekly"

    def run(self, ctx: jido.ActionContext) -> dict[str, Any]:
        return {"requested_mode": self.mode}


@action(description="Record a completed run, once", allow_extra=True)
class RecordRun:
    run_id: str
    final: dict[str, Any]

    def run(self, ctx: jido.ActionContext) -> dict[str, Any]:
        report = self.final["report"]
        return {
            "total_runs": ctx.state.total_runs + 1,
            "last_run_id": report["run_id"],
            "last_run_mode": report["mode"],
            "last_run_at": report["completed_at"],
            "last_report": report,
        }


@action(description="Record a failed run", allow_extra=True)
class RecordFailure:
    error: str

    def run(self, ctx: jido.ActionContext) -> dict[str, Any]:
        return {"last_error": self.error}


@agent(
    name="contentops_orchestrator",
    strategy=jido.Workflow(build_plan(), trigger="contentops.run.requested", name="contentops"),
)
@route("contentops.run.requested", RequestRun)
@route("jido.workflow.completed", RecordRun)
@route("jido.workflow.failed", RecordFailure)
class Orchestrator:
    status: str = "idle"
    requested_mode: str | None = None
    total_runs: int = 0
    last_run_id: str | None = None
    last_run_mode: str | None = None
    last_run_at: str | None = None
    last_report: dict[str, Any] | None = None
    last_error: str | None = None


@supervisor(name="content_ops", strategy="one_for_one", max_restarts=3, within=5.0)
class ContentOps:
    # A refused overlapping run is an expected answer, not a crash: log it and keep going.
    orchestrator = child(Orchestrator, id="content_ops.orchestrator", error_policy="log")


def request(mode: str) -> jido.Signal:
    return jido.Signal(type="contentops.run.requested", source=SOURCE, data={"mode": mode})


async def run_once(ref: jido.AgentRef, mode: str, *, timeout: float = 30.0) -> Mapping[str, Any]:
    """Request a run and wait for it to finish; returns the run's report."""
    runs_before = ref.state.total_runs
    await ref.call(request(mode))
    state = await ref.wait_state(
        lambda s: s.status == "failed" or s.total_runs > runs_before, timeout=timeout
    )
    if state.status == "failed":
        raise RuntimeError(f"run failed: {state.last_error}")
    report: Mapping[str, Any] = state.last_report
    return report


async def main() -> None:
    async with jido.open_runtime() as rt:
        await rt.start_supervisor(ContentOps)
        ref = rt.get("content_ops.orchestrator")
        for mode in ("weekly", "hourly"):
            report = await run_once(ref, mode)
            stats = report["stats"]
            print(
                f"Run completed / Mode: {mode} / Changes: {stats['change_requests']} / Delivered: {stats['delivered']}"
            )
        await ref.call(request("monthly"))
        try:
            await ref.call(request("weekly"))
        except jido.WorkflowBusyError as exc:
            print(f"second request refused: {exc}")
        await ref.await_completion("status", timeout=30)
        print(f"total_runs={ref.state.total_runs} last_run_mode={ref.state.last_run_mode}")
        # The seeds' proof: the orchestrator's server state holds an agent whose state is a mapping.
        print(isinstance(rt.get("content_ops.orchestrator").agent.state, Mapping))


if __name__ == "__main__":
    trio.run(main)
