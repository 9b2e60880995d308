"""The workflow strategy: a signal starts a DAG of actions that runs beside the agent, and reports back.

::

    Workflow(plan, name="contentops", trigger="contentops.run.requested", status_field="status")

* The ``trigger`` signal first runs its routed instructions as :class:`~jido.agent.strategy.Direct` would
  (validate the request, record it). If they commit and no run is in progress, ``status_field`` becomes
  ``"running"`` and a :class:`RunWorkflow` directive asks the runtime to run the plan, with the trigger's
  data as the plan's input. While a run is in progress, a trigger is refused with a
  :class:`~jido.errors.WorkflowBusyError`: runs never overlap and never queue silently.
* The runtime runs the plan concurrently with the agent, which keeps handling signals; independent steps
  run concurrently (:func:`~jido.action.plan.run_plan`). When it ends, the agent receives
  ``jido.workflow.completed`` (data: ``workflow``, ``run_id``, ``outputs`` by step, ``final`` = the output of
  the last step) or ``jido.workflow.failed`` (``workflow``, ``run_id``, ``error``). Its routed instructions
  run (record the outcome), then ``status_field`` becomes ``"completed"`` or ``"failed"``.
* Any other signal runs as under :class:`~jido.agent.strategy.Direct`.
* Under the ``"crash"`` error policy, an agent that crashes recording a completed run commits nothing of it
  (its status still says ``"running"``): the runtime reports the run again, as ``jido.workflow.failed``, once
  the agent has restarted, so it does not refuse every later run. A failure whose recording crashes too is
  logged and not reported again.

``cmd`` stays pure: starting a run is a directive; only the runtime runs it.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, ClassVar, Final

import attrs

from jido.action.instruction import Instruction
from jido.action.plan import Plan
from jido.agent.directives import Directive, Error
from jido.agent.strategy import Fold
from jido.errors import DefinitionError, WorkflowBusyError
from jido.signal import Signal
from jido.signal.ids import new_id
from jido.signal.pattern import parse_pattern
from jido.telemetry.logs import log_context

if TYPE_CHECKING:
    from jido.agent.spec import Agent

__all__ = ["WORKFLOW_COMPLETED", "WORKFLOW_FAILED", "RunWorkflow", "Workflow"]

WORKFLOW_COMPLETED: Final = "jido.workflow.completed"
WORKFLOW_FAILED: Final = "jido.workflow.failed"
logger = logging.getLogger("jido.runtime")


@attrs.frozen
class RunWorkflow(Directive):
    """Run ``plan`` beside the agent and report ``jido.workflow.completed``/``failed`` to it."""

    kind: ClassVar[str] = "workflow.run"
    workflow: str
    plan: Plan = attrs.field(eq=False)
    run_id: str
    input: Mapping[str, Any] = attrs.field(factory=dict)


@attrs.frozen
class Workflow:
    """Start a DAG of actions on ``trigger``, refuse overlapping runs, and track the run in ``status_field``.

    Attributes:
        plan: the DAG to run.
        trigger: the signal type that starts a run.
        name: the workflow's name, in its completion signals.
        status_field: state field set to ``"running"``, then ``"completed"`` or ``"failed"``.
    """

    plan: Plan = attrs.field(eq=False)
    trigger: str = attrs.field()
    name: str = "workflow"
    status_field: str = "status"

    @plan.validator
    def _check_plan(self, _: object, value: object) -> None:
        if not isinstance(value, Plan):
            raise DefinitionError(f"Workflow plan must be a jido Plan, got {type(value).__name__}")
        value.validate()

    @trigger.validator
    def _check_trigger(self, _: object, value: str) -> None:
        parse_pattern(value)

    def _before(self, fold: Fold, signal: Any) -> str | None:
        """What kind of signal this is for the workflow: ``"trigger"``, ``"done"``, or None."""
        state = fold.agent.state
        if not hasattr(state, self.status_field):
            raise DefinitionError(
                f"Workflow strategy: agent {fold.agent.spec.name!r} has no state field {self.status_field!r}"
            )
        if signal is None:
            return None
        if signal.type == self.trigger:
            return "trigger"
        data = signal.data if isinstance(signal.data, Mapping) else {}
        if signal.type in (WORKFLOW_COMPLETED, WORKFLOW_FAILED) and data.get("workflow") == self.name:
            return "done"
        return None

    def _after(self, fold: Fold, kind: str | None, signal: Any, ok: bool) -> None:
        if kind == "trigger" and ok:
            fold.set_field(self.status_field, "running")
            data = signal.data if isinstance(signal.data, Mapping) else {}
            fold.directives.append(RunWorkflow(self.name, self.plan, new_id(), dict(data)))
        elif kind == "done":
            # A run is completed only if recording its outcome committed; otherwise it failed.
            completed = ok and signal.type == WORKFLOW_COMPLETED
            fold.set_field(self.status_field, "completed" if completed else "failed")

    def _busy(self, fold: Fold, kind: str | None, instructions: Sequence[Instruction]) -> bool:
        if kind == "trigger" and getattr(fold.agent.state, self.status_field) == "running":
            error = WorkflowBusyError(self.name)
            if instructions:
                fold.fail(instructions[0], error)
            else:
                fold.directives.append(Error(error, context="strategy"))
            return True
        return False

    def run(
        self, agent: Agent, instructions: Sequence[Instruction], *, signal: Any = None
    ) -> tuple[Agent, list[Directive]]:
        fold = Fold(agent, signal)
        kind = self._before(fold, signal)
        if self._busy(fold, kind, instructions):
            return fold.agent, fold.directives
        ok = True
        for instruction in instructions:
            ok = fold.run_sync(instruction) and ok
        self._after(fold, kind, signal, ok)
        return fold.agent, fold.directives

    async def run_async(
        self, agent: Agent, instructions: Sequence[Instruction], *, signal: Any = None
    ) -> tuple[Agent, list[Directive]]:
        fold = Fold(agent, signal)
        kind = self._before(fold, signal)
        if self._busy(fold, kind, instructions):
            return fold.agent, fold.directives
        ok = True
        for instruction in instructions:
            ok = await fold.run_async(instruction) and ok
        self._after(fold, kind, signal, ok)
        return fold.agent, fold.directives

    def after_crash(self, agent_id: str, signal: Any, error: BaseException) -> Signal | None:
        """The agent crashed recording how one of this workflow's runs ended (under the ``"crash"`` policy
        nothing of that signal committed, so its status still says ``"running"``): report the run again, as
        failed, for the restarted agent to record.

        Without this the agent would refuse every later run. Recording a failure that itself fails is not
        reported again (no crash loop): it is logged, and the status stays as it is.
        """
        if not isinstance(signal, Signal) or signal.type not in (WORKFLOW_COMPLETED, WORKFLOW_FAILED):
            return None
        data = signal.data if isinstance(signal.data, Mapping) else {}
        if data.get("workflow") != self.name:
            return None
        if signal.type == WORKFLOW_FAILED:
            logger.error(
                "agent %r could not record that workflow %r run %s failed: %s; its status is left as it is",
                agent_id,
                self.name,
                data.get("run_id"),
                error,
                extra=log_context(signal, agent_id=agent_id, workflow=self.name),
            )
            return None
        return Signal(
            type=WORKFLOW_FAILED,
            source=signal.source,
            data={
                "workflow": self.name,
                "run_id": data.get("run_id"),
                "error": f"recording the completed run failed: {type(error).__name__}: {error}",
            },
        ).caused_by(signal)
