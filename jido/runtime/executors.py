"""The built-in directive executors (emit, schedule, cron, spawn and stop children, run a workflow), registered
in :mod:`jido.runtime.effects` when this module is imported (the runtime imports it).

``Executor``, ``execute_directive`` and ``register_executor`` live in :mod:`jido.runtime.effects`; they are
re-exported here, where they were first.
"""

from __future__ import annotations

import logging

from jido.action.plan import run_plan
from jido.agent.workflow import WORKFLOW_COMPLETED, WORKFLOW_FAILED, RunWorkflow
from jido.convert import unstructure
from jido.cron import parse_cron
from jido.directives import Cron, CronCancel, Emit, Schedule, SpawnAgent, StopChild
from jido.runtime.effects import Executor, execute_directive, register_executor
from jido.runtime.server import AgentRef
from jido.runtime.supervisor import Supervisor
from jido.signal import Signal
from jido.telemetry import propagation as _propagation
from jido.telemetry.logs import log_context

__all__ = ["Executor", "execute_directive", "register_executor"]

logger = logging.getLogger("jido.runtime")


async def _emit(ref: AgentRef, handled: Signal, directive: Emit) -> None:
    signal = directive.signal.caused_by(handled)
    if _propagation._propagator is not None:
        # The span of this handling is the cause, not the one caused_by copied from the handled signal.
        signal = _propagation.inject(signal, replace=True)
    if directive.to is None:
        await ref._runtime.publish(signal)
    else:
        ref._runtime.deliver(directive.to, signal)


async def _schedule(ref: AgentRef, handled: Signal, directive: Schedule) -> None:
    assert ref.scheduler is not None
    signal = directive.signal.caused_by(handled)
    if _propagation._propagator is not None:
        signal = _propagation.inject(signal, replace=True)
    ref.scheduler.schedule(directive.delay, signal)


async def _cron(ref: AgentRef, handled: Signal, directive: Cron) -> None:

    assert ref.scheduler is not None
    ref.scheduler.cron(directive.job_id, parse_cron(directive.expr, directive.tz), directive.signal)


async def _cron_cancel(ref: AgentRef, handled: Signal, directive: CronCancel) -> None:
    assert ref.scheduler is not None
    ref.scheduler.cancel_cron(directive.job_id)


async def _children_of(ref: AgentRef) -> Supervisor:
    if ref.children is None:
        slot_nursery = ref.slot_nursery
        assert slot_nursery is not None
        # Each spawned child has its own restart budget, like the root's children: a child that crash-loops
        # stops alone (its parent hears jido.agent.child.exit), never its parent or the runtime.
        root = ref._runtime._root
        supervisor = Supervisor(
            ref._runtime,
            name=f"{ref.id}.children",
            max_restarts=3,
            within=5.0,
            isolate=True,
            backoff=root.backoff if root is not None else 0.1,
            max_backoff=root.max_backoff if root is not None else 5.0,
        )
        await slot_nursery.start(supervisor.run)
        ref.children = supervisor
    return ref.children


async def _spawn_agent(ref: AgentRef, handled: Signal, directive: SpawnAgent) -> None:
    children = await _children_of(ref)
    if directive.tag in ref.child_tags:
        raise ValueError(f"agent {ref.id!r} already has a child tagged {directive.tag!r}")
    child_id = directive.id if directive.id is not None else f"{ref.id}/{directive.tag}"
    agent = directive.spec.new(child_id, **dict(directive.state))
    await children.start_child(
        directive.tag, directive.spec, directive.restart, agent=agent, parent=ref, tag=directive.tag
    )


async def _stop_child(ref: AgentRef, handled: Signal, directive: StopChild) -> None:
    child = ref.child_tags.get(directive.tag)
    if child is None or ref.children is None:
        return  # stopping a child that is not there is not an error
    for slot in ref.children.slots:
        if slot.ref is child:
            await ref.children.stop_child(slot, directive.reason)
            return


async def _run_workflow(ref: AgentRef, handled: Signal, directive: RunWorkflow) -> None:
    nursery = ref.slot_nursery
    assert nursery is not None
    # The run lives in the agent's slot: it survives restarts of the server task and ends with the agent.
    nursery.start_soon(_workflow_task, ref, handled, directive)


async def _workflow_task(ref: AgentRef, trigger: Signal, directive: RunWorkflow) -> None:
    ref._background += 1  # a run keeps its agent awake (it does not hibernate meanwhile)
    try:
        await _run_workflow_task(ref, trigger, directive)
    finally:
        ref._background -= 1


async def _run_workflow_task(ref: AgentRef, trigger: Signal, directive: RunWorkflow) -> None:
    source = f"/jido/agent/{ref.id}/workflow/{directive.workflow}"
    base = {"workflow": directive.workflow, "run_id": directive.run_id}
    try:
        result = await run_plan(directive.plan, input=directive.input, state=ref.state)
    except Exception as exc:  # reported to the agent as the run's failure
        logger.warning(
            "workflow %r of agent %r failed: %s",
            directive.workflow,
            ref.id,
            exc,
            extra=log_context(trigger, agent_id=ref.id, workflow=directive.workflow),
        )
        done = Signal(type=WORKFLOW_FAILED, source=source, data={**base, "error": str(exc)})
    else:
        outputs = {name: unstructure(dict(result[name].value)) for name in result}
        last = directive.plan.steps[-1].name if directive.plan.steps else None
        data = {**base, "outputs": outputs, "final": outputs.get(last) if last else None}
        try:
            done = Signal(type=WORKFLOW_COMPLETED, source=source, data=data)
        except Exception as exc:  # outputs a signal cannot carry (NaN, a lone surrogate): the run failed
            error = f"the run's outputs cannot be sent: {type(exc).__name__}: {exc}"
            done = Signal(type=WORKFLOW_FAILED, source=source, data={**base, "error": error})
    # Waits for room: an agent whose mailbox is full must still learn how the run ended, or its status would
    # stay "running" and refuse every later run.
    await ref.deliver(done.caused_by(trigger))


register_executor(Emit, _emit)
register_executor(Schedule, _schedule)
register_executor(Cron, _cron)
register_executor(CronCancel, _cron_cancel)
register_executor(SpawnAgent, _spawn_agent)
register_executor(StopChild, _stop_child)
register_executor(RunWorkflow, _run_workflow)
