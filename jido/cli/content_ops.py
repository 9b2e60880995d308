"""The ContentOps orchestrator of ``jido demo``, written with jido's specs by hand.

The same system as ``examples/content_ops.py`` (which uses the decorator DSL): a supervised orchestrator that
runs the workflow

    BuildRunContext -> LoadPolicyBundle -> SelectWork -> CollectChangeRequests -> DeliverySink -> PublishRunReport

on each ``contentops.run.requested`` signal it receives from the bus (data ``{"mode": "hourly" | "nightly" |
"weekly" | "monthly"}``). Weekly and monthly runs select one work order, so they make one change request and
one delivery; hourly and nightly runs select nothing. When a run completes the orchestrator records it and
publishes ``contentops.delivery.recorded`` for each delivery, then ``contentops.run.completed`` with the run
report, so that a gateway client sees the run happen.

It lives in the package, not in ``examples/``, so that ``jido demo`` works from any install; and it is written
without the DSL because ``jido`` never imports ``dsl``.
"""

from __future__ import annotations

import datetime as dt
import secrets
from typing import Any, Final, Literal

import attrs

import jido

__all__ = [
    "COMPLETED",
    "ORCHESTRATOR_ID",
    "REQUESTED",
    "ContentOps",
    "Orchestrator",
    "request",
]

Mode = Literal["hourly", "nightly", "weekly", "monthly"]
SOURCE: Final = "/jido/demo/content_ops"
REQUESTED: Final = "contentops.run.requested"
COMPLETED: Final = "contentops.run.completed"
DELIVERED: Final = "contentops.delivery.recorded"
ORCHESTRATOR_ID: Final = "content_ops.orchestrator"


def _now() -> str:
    return dt.datetime.now(dt.UTC).isoformat()


# -- the workflow's steps --------------------------------------------------------------------------------
@attrs.frozen
class _ModeParams:
    mode: Mode = "hourly"


def _build_run_context(params: _ModeParams, ctx: jido.ActionContext) -> dict[str, Any]:
    return {"run_id": f"run_{secrets.token_hex(8)}", "mode": params.mode, "started_at": _now()}


@attrs.frozen
class _RunParams:
    run_id: str


def _load_policy_bundle(params: _RunParams, ctx: jido.ActionContext) -> dict[str, Any]:
    bundle = {
        "run_id": params.run_id,
        "allowed_claims": ["Jido is an agent runtime"],
        "voice_constraints": {"tone": "technical", "avoided_phrases": ["cutting-edge", "revolutionary"]},
        "proof_gates": {"requires_code_example": True},
        "loaded_at": _now(),
    }
    return {"policy_bundle": bundle}


@attrs.frozen
class _SelectParams:
    run_id: str
    mode: Mode
    policy_bundle: dict[str, Any]


def _select_work(params: _SelectParams, ctx: jido.ActionContext) -> dict[str, Any]:
    if params.mode not in ("weekly", "monthly"):
        return {"work_orders": []}
    order = {
        "id": f"wo_{secrets.token_hex(4)}",
        "run_id": params.run_id,
        "kind": "docs",
        "slug": f"docs/spike-{params.run_id}",
        "priority_score": 0.85,
        "source": "stub",
    }
    return {"work_orders": [order]}


@attrs.frozen
class _CollectParams:
    run_id: str
    work_orders: list[dict[str, Any]]


def _collect_change_requests(params: _CollectParams, ctx: jido.ActionContext) -> dict[str, Any]:
    requests = [
        {
            "type": "content.change_request",
            "run_id": params.run_id,
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
        for order in params.work_orders
    ]
    return {"change_requests": requests, "change_request_count": len(requests)}


@attrs.frozen
class _DeliverParams:
    run_id: str
    change_requests: list[dict[str, Any]]


def _delivery_sink(params: _DeliverParams, ctx: jido.ActionContext) -> dict[str, Any]:
    receipts = [
        {
            "run_id": params.run_id,
            "slug": request["related_plan_slug"],
            "status": "recorded",
            "pr_url": None,
            "delivered_at": _now(),
        }
        for request in params.change_requests
    ]
    return {"delivery_receipts": receipts, "delivered_count": len(receipts)}


@attrs.frozen
class _ReportParams:
    run_id: str
    mode: Mode
    started_at: str
    change_request_count: int
    delivered_count: int


def _publish_run_report(params: _ReportParams, ctx: jido.ActionContext) -> dict[str, Any]:
    report = {
        "type": COMPLETED,
        "run_id": params.run_id,
        "mode": params.mode,
        "stats": {"change_requests": params.change_request_count, "delivered": params.delivered_count},
        "delivery_mode": "sink",
        "started_at": params.started_at,
        "completed_at": _now(),
    }
    return {"report": report}


BuildRunContext = jido.ActionSpec(
    name="build_run_context",
    run=_build_run_context,
    params=_ModeParams,
    description="Open a run: id, mode and start time",
)
LoadPolicyBundle = jido.ActionSpec(
    name="load_policy_bundle",
    run=_load_policy_bundle,
    params=_RunParams,
    description="Load the policy bundle the run must respect",
)
SelectWork = jido.ActionSpec(
    name="select_work",
    run=_select_work,
    params=_SelectParams,
    description="Select the work orders of this run (weekly and monthly runs pick one)",
)
CollectChangeRequests = jido.ActionSpec(
    name="collect_change_requests",
    run=_collect_change_requests,
    params=_CollectParams,
    description="Turn each work order into a change request",
)
DeliverySink = jido.ActionSpec(
    name="delivery_sink",
    run=_delivery_sink,
    params=_DeliverParams,
    description="Record each change request as delivered (a sink: nothing leaves the process)",
)
PublishRunReport = jido.ActionSpec(
    name="publish_run_report",
    run=_publish_run_report,
    params=_ReportParams,
    description="Publish the run report",
)


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


# -- the orchestrator ------------------------------------------------------------------------------------
@attrs.frozen
class _RequestParams:
    mode: Mode = "weekly"


def _request_run(params: _RequestParams, ctx: jido.ActionContext) -> dict[str, Any]:
    return {"requested_mode": params.mode}


@attrs.frozen
class _RecordParams:
    run_id: str
    final: dict[str, Any]
    outputs: dict[str, Any]


def _record_run(params: _RecordParams, ctx: jido.ActionContext) -> tuple[dict[str, Any], list[jido.Emit]]:
    report = params.final["report"]
    changes = {
        "total_runs": ctx.state.total_runs + 1,
        "last_run_id": report["run_id"],
        "last_run_mode": report["mode"],
        "last_run_at": report["completed_at"],
        "last_report": report,
    }
    receipts = params.outputs.get("deliver", {}).get("delivery_receipts", [])
    delivered = [jido.Emit(jido.Signal(type=DELIVERED, source=SOURCE, data=receipt)) for receipt in receipts]
    completed = jido.Emit(jido.Signal(type=COMPLETED, source=SOURCE, subject=params.run_id, data=report))
    return changes, [*delivered, completed]


@attrs.frozen
class _FailureParams:
    error: str


def _record_failure(params: _FailureParams, ctx: jido.ActionContext) -> dict[str, Any]:
    return {"last_error": params.error}


RequestRun = jido.ActionSpec(
    name="request_run",
    run=_request_run,
    params=_RequestParams,
    description="Accept a run request (its mode is checked strictly)",
)
RecordRun = jido.ActionSpec(
    name="record_run",
    run=_record_run,
    params=_RecordParams,
    allow_extra=True,
    description="Record a completed run, once, and announce it",
)
RecordFailure = jido.ActionSpec(
    name="record_failure",
    run=_record_failure,
    params=_FailureParams,
    allow_extra=True,
    description="Record a failed run",
)


@attrs.frozen
class OrchestratorState(jido.StateMapping):
    """The orchestrator's state: the workflow's status and the last run."""

    status: str = "idle"
    requested_mode: str | None = None
    total_runs: int = 0
    last_run_id: str | None = None
    last_run_mode: str | None = None
    last_run_at: str | None = None
    last_report: dict[str, Any] | None = None
    last_error: str | None = None


Orchestrator = jido.AgentSpec(
    name="contentops_orchestrator",
    state=OrchestratorState,
    description="Runs the ContentOps workflow on each run request",
    routes=[
        jido.RouteSpec(REQUESTED, RequestRun),
        jido.RouteSpec("jido.workflow.completed", RecordRun),
        jido.RouteSpec("jido.workflow.failed", RecordFailure),
    ],
    strategy=jido.Workflow(build_plan(), trigger=REQUESTED, name="contentops"),
    subscriptions=(REQUESTED,),
)

ContentOps = jido.SupervisorSpec(
    name="content_ops",
    strategy="one_for_one",
    max_restarts=3,
    within=5.0,
    # A refused overlapping run is an expected answer, not a crash: log it and keep going.
    children=[jido.ChildSpec("orchestrator", Orchestrator, id=ORCHESTRATOR_ID, error_policy="log")],
)


def request(mode: str, *, source: str = "/jido/demo") -> jido.Signal:
    """A ``contentops.run.requested`` signal for a run in ``mode``."""
    return jido.Signal(type=REQUESTED, source=source, data={"mode": mode})
