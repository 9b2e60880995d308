"""Supervisors: nurseries that restart what crashes, by strategy, within a restart intensity.

Each child runs in a *slot*: a task in the supervisor's nursery that lives as long as the child is wanted.
Inside the slot runs the child's current *incarnation* (an agent's server task, a sensor loop, a nested
supervisor) in a cancel scope of its own. When an incarnation fails, the slot does not let the exception tear
down the nursery: it reports the exit to the supervisor, which decides, by restart kind and strategy, what to
restart, and counts restarts against its intensity (``max_restarts`` within ``within`` seconds). Past that,
the supervisor itself fails with :class:`~jido.errors.SupervisionError`: its nursery is cancelled (every child
stops) and the exception reaches its parent, which decides in turn.

An agent's slot also owns what must survive restarts but not the agent: its mailbox and last committed
state (in the :class:`~jido.runtime.server.AgentRef`), its timers and cron jobs, and its child agents.
"""

from __future__ import annotations

import collections
import inspect
import logging
import math
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import trio

from jido.agent.spec import Agent, AgentSpec
from jido.clock import sleep_until_wall
from jido.cron import parse_cron
from jido.errors import SupervisionError
from jido.runtime.persistence import Durability
from jido.runtime.sensor_spec import SensorSpec
from jido.runtime.server import (
    AgentRef,
    ErrorPolicy,
    Latch,
    NormalExit,
    describe_exit,
    is_crash,
    serve_agent,
)
from jido.runtime.supervisor_spec import RestartKind, SupervisionStrategy, SupervisorSpec
from jido.signal import Signal
from jido.telemetry.events import (
    AGENT_CRASHED,
    AGENT_FAILED,
    AGENT_RESTARTED,
    AGENT_RESTORED,
    AGENT_STARTED,
    AGENT_STOPPED,
    SUPERVISOR_ESCALATED,
)
from jido.telemetry.handlers import _BY_NAME, emit

if TYPE_CHECKING:
    from jido.runtime.runtime import Runtime

__all__ = ["Supervisor"]

logger = logging.getLogger("jido.runtime")

Target = AgentSpec | SensorSpec | SupervisorSpec


def _single(exc: Exception) -> Exception:
    """The one exception inside nested groups of one, or ``exc`` itself."""
    while isinstance(exc, ExceptionGroup) and len(exc.exceptions) == 1:
        exc = exc.exceptions[0]
    return exc


class _Started:
    """Wraps a task status so the slot knows whether its incarnation got as far as being ready."""

    def __init__(self, inner: trio.TaskStatus[Any]) -> None:
        self.inner: trio.TaskStatus[Any] | None = inner
        self.done = False

    def started(self, value: Any = None) -> None:
        inner = self.inner
        if inner is None:
            raise RuntimeError("called 'started' twice on the same task status")
        self.done = True
        # Let go of trio's task status once used: it holds the nursery the task started in (with its cancel
        # scope and status), which would otherwise stay alive as long as the agent does.
        self.inner = None
        inner.started(value)


class _Slot:
    """One child of a supervisor: the task that keeps it, and its current incarnation."""

    def __init__(
        self,
        supervisor: Supervisor,
        name: str,
        target: Target,
        restart: RestartKind,
        *,
        agent: Agent | None = None,
        mailbox_size: int | None = None,
        error_policy: ErrorPolicy = "crash",
        parent: AgentRef | None = None,
        tag: str | None = None,
    ) -> None:
        self.supervisor = supervisor
        self.name = name
        self.target = target
        self.restart = restart
        self.ref: AgentRef | None = None
        self.child_supervisor: Supervisor | None = None
        self._agent = agent
        self._mailbox_size = mailbox_size
        self._error_policy = error_policy
        self._parent = parent
        self._tag = tag
        self._durability: Durability | None = None
        self._scope: trio.CancelScope | None = None
        self._incarnation_done = Latch()
        self._close = trio.Event()
        self._exit_reason = "stopped by its supervisor"
        self._failed = False
        # Whether the timers stored with its state stay there when it ends (see close).
        self._keep_pending = True
        # The restart budget of a child of an isolating supervisor (the runtime's root): crashes in a row,
        # each within ``within`` seconds of the incarnation's start.
        self.crashes_in_row = 0
        self.started_at = -math.inf
        self.done = Latch()
        self.nursery: trio.Nursery | None = None

    def __repr__(self) -> str:
        return f"<slot {self.name!r} of {self.supervisor.name!r}>"

    @property
    def runtime(self) -> Runtime:
        return self.supervisor.runtime

    async def run(self, *, task_status: trio.TaskStatus[_Slot] = trio.TASK_STATUS_IGNORED) -> None:
        runtime = self.runtime
        if isinstance(self.target, AgentSpec):
            await self._restore_agent()
        started = False
        try:
            async with trio.open_nursery() as nursery:
                self.nursery = nursery
                if isinstance(self.target, AgentSpec):
                    await self._prepare_agent(nursery)
                await nursery.start(self._incarnate)
                if self.ref is not None and AGENT_STARTED in _BY_NAME:
                    emit(
                        AGENT_STARTED,
                        agent_id=self.ref.id,
                        agent=self.ref.spec.name,
                        supervisor=self.supervisor.name,
                        parent_id=self._parent.id if self._parent is not None else None,
                        tag=self._tag,
                    )
                if self.ref is not None and self._parent is not None:
                    self._notify_parent("jido.agent.child.started", {})
                task_status.started(self)
                del task_status  # it holds the nursery this slot started in: not kept for the slot's life
                started = True
                await self._close.wait()
                if not self._keep_pending:
                    await self._clear_stored_pending()
                nursery.cancel_scope.cancel()
        except Exception as exc:
            if not started:
                # A child that fails to start fails its starter, with its own error (AgentExistsError when
                # another start took the id meanwhile), not a group of one.
                raise _single(exc) from None
            # A task of the slot other than the incarnation (a workflow run, a timer, the supervisor of its
            # spawned children) raised: a bug, but this child's alone. It stops as failed; its supervisor and
            # every other child go on.
            self._failed = True
            self._exit_reason = f"failed: a task beside it raised {describe_exit(exc)}"
            self.supervisor.forget(self)
            logger.exception(
                "supervisor %r: child %r failed: a task of its slot raised",
                self.supervisor.name,
                self.name,
                extra={"supervisor": self.supervisor.name, "child": self.name},
            )
        finally:
            if self.ref is not None and self.ref._status == "hibernated":
                ref = self.ref
                ref._finish("hibernated", failed=False)
                ref._close_ring()
                runtime.unregister(ref, keep_subscriptions=True)  # they wake it when a signal comes
                runtime._dormancy.hibernated(ref, self.restart, self._mailbox_size, self._error_policy)
            elif self.ref is not None:
                ref = self.ref
                ref._finish(self._exit_reason, failed=self._failed)
                if AGENT_STOPPED in _BY_NAME:
                    emit(
                        AGENT_STOPPED,
                        agent_id=ref.id,
                        agent=ref.spec.name,
                        supervisor=self.supervisor.name,
                        reason=self._exit_reason,
                        failed=self._failed,
                        restarts=ref.restarts,
                    )
                ref._close_ring()
                runtime.unregister(ref)
                if self._failed and self.supervisor is runtime._root and self.supervisor.isolate:
                    runtime.remember_failed(ref, self.restart, self._mailbox_size, self._error_policy)
                if self._parent is not None:
                    self._parent.child_tags.pop(self._tag or "", None)
                    self._notify_parent("jido.agent.child.exit", {"reason": self._exit_reason})
            self.done.set()

    async def _restore_agent(self) -> None:
        """Take the agent's stored state, when the runtime has a store (before the slot's nursery opens, so
        that a record that cannot be read fails the start with its own error, not a group)."""
        assert self._agent is not None
        runtime = self.runtime
        if runtime.persistence is not None:
            # An agent with a stored state resumes from it; a record that cannot be read stops the start
            # (BrokenError naming the agent and the field) and is never overwritten by defaults.
            restored = await runtime.persistence.restore(self._agent)
            self._agent = restored.agent
            self._durability = restored.durability
            if restored.stored:
                logger.info(
                    "agent %r resumes from its stored state (revision %d)",
                    self._agent.id,
                    restored.durability.revision,
                    extra={"agent_id": self._agent.id},
                )
                if AGENT_RESTORED in _BY_NAME:
                    emit(
                        AGENT_RESTORED,
                        agent_id=self._agent.id,
                        agent=self._agent.spec.name,
                        revision=restored.durability.revision,
                    )

    async def _prepare_agent(self, nursery: trio.Nursery) -> None:
        assert self._agent is not None
        runtime = self.runtime
        durability = self._durability
        ref = AgentRef(
            runtime,
            self._agent,
            mailbox_size=self._mailbox_size or runtime.mailbox_size,
            error_policy=self._error_policy,
            parent=self._parent,
            tag=self._tag,
        )
        ref._durable = durability
        if self.supervisor is runtime._root and self._parent is None:
            idle = ref.spec.idle_timeout if ref.spec.idle_timeout is not None else runtime.idle_timeout
            ref._idle_timeout = idle
        runtime.register(ref)
        self.ref = ref
        for pattern in ref.spec.subscriptions:
            await runtime.subscribe_agent(ref, pattern)
        ref.slot_nursery = nursery
        for schedule in ref.spec.schedules:  # the scheduler is made by the first use (AgentRef.scheduler)
            tick = Signal(type=schedule.signal_type, source=f"/jido/agent/{ref.id}/cron/{schedule.job_id}")
            scheduler = ref.scheduler
            assert scheduler is not None
            scheduler.cron(schedule.job_id, parse_cron(schedule.expr, schedule.tz), tick)
        if self._parent is not None and self._tag is not None:
            self._parent.child_tags[self._tag] = ref

    def _notify_parent(self, signal_type: str, extra: Mapping[str, Any]) -> None:
        assert self._parent is not None
        assert self.ref is not None
        data = {"tag": self._tag, "id": self.ref.id, **extra}
        self._parent.deliver_nowait(Signal(type=signal_type, source=f"/jido/agent/{self.ref.id}", data=data))

    async def _incarnate(self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        status = _Started(task_status)
        del task_status  # held by status until used, then let go (see _Started.started)
        self._incarnation_done = Latch()
        error: BaseException | None = None
        try:
            with trio.CancelScope() as scope:
                self._scope = scope
                try:
                    self.started_at = trio.current_time()
                    await self._run_target(status)
                    error = NormalExit("finished")
                except Exception as exc:  # reported to the supervisor, which decides; never swallowed
                    if not status.done:
                        raise  # a child that fails to start fails its starter
                    error = _single(exc)  # a tree's SupervisionError, not the group its nursery wrapped it in
            if scope.cancelled_caught:
                return  # stopped by its supervisor: not an exit to act on
        finally:
            self._incarnation_done.set()
        assert error is not None
        self.supervisor.report_exit(self, error)

    async def _run_target(self, status: _Started) -> None:
        target = self.target
        if isinstance(target, AgentSpec):
            assert self.ref is not None
            await serve_agent(self.ref, task_status=status)
        elif isinstance(target, SupervisorSpec):
            # A tree restarted by its parent (it gave up) resumes its agents from their last committed state.
            previous = self.child_supervisor
            carried = previous.committed_agents() if previous is not None else self.supervisor._carried
            child = Supervisor(self.runtime, target, name=target.name, carried=carried)
            self.child_supervisor = child
            await child.run(task_status=status)
        else:
            await run_sensor(self.runtime, target, task_status=status)

    async def stop_incarnation(self) -> None:
        """Cancel the current incarnation (for a sibling's restart) and wait until it has ended."""
        if self._scope is not None:
            self._scope.cancel()
        await self._incarnation_done.wait()

    async def restart_incarnation(self, reason: str = "restart") -> None:
        assert self.nursery is not None
        if self.ref is not None:
            self.ref._status = "restarting"
            self.ref._restarts += 1
        await self.nursery.start(self._incarnate)
        if self.ref is not None and AGENT_RESTARTED in _BY_NAME:
            emit(
                AGENT_RESTARTED,
                agent_id=self.ref.id,
                agent=self.ref.spec.name,
                supervisor=self.supervisor.name,
                reason=reason,
                restarts=self.ref.restarts,
            )
        if self.ref is not None and self._parent is not None:
            self._notify_parent("jido.agent.child.restarted", {"reason": reason})

    def restart_after(self, delay: float, reason: str) -> None:
        """Restart the incarnation after ``delay`` seconds (a backoff), in this slot's nursery: the supervisor
        goes on handling its other children meanwhile; signals sent to the agent wait in its mailbox."""
        assert self.nursery is not None
        if self.ref is not None:
            self.ref._status = "restarting"

        async def later() -> None:
            await trio.sleep(delay)
            try:
                await self.restart_incarnation(reason)
            except Exception as exc:  # failed to start again: counts as another exit
                self.supervisor.report_exit(self, exc)

        self.nursery.start_soon(later)

    def close(self, reason: str, *, failed: bool = False, keep_pending: bool = True) -> None:
        """End the child for good. ``keep_pending=False``: it was stopped deliberately (``ref.stop()``, a Stop
        directive, StopAfter), so the timers stored with its agent's state are taken out first, and no later
        runtime wakes it; kept for a shutdown (the next runtime carries on), a failure, a hibernation, or an
        agent that moved to another node."""
        self._exit_reason = reason
        self._failed = failed
        self._keep_pending = keep_pending
        self._close.set()

    async def _clear_stored_pending(self) -> None:
        ref = self.ref
        persistence = self.runtime.persistence
        if ref is None or ref._status == "hibernated" or persistence is None:
            return
        durable = ref._durable
        if durable is None or not durable.pending_stored:
            return
        if ref._scheduler is not None:
            ref._scheduler.close()  # they end with it anyway: none fires while the record is written
        try:
            await persistence.save_pending(ref._agent, durable, None, None, by=self.runtime.runtime_id)
        except Exception as exc:
            logger.warning(
                "agent %r stopped, but its stored timers could not be cleared: %s",
                ref.id,
                exc,
                extra={"agent_id": ref.id},
            )


class Supervisor:
    """A running supervisor. Built from a :class:`SupervisorSpec`, or bare for the runtime's dynamic root.

    A declared supervisor counts the restarts of all its children against one intensity and gives up past it
    (OTP: its parent decides). An *isolating* supervisor (the runtime's root, unless asked to escalate) gives
    each child a budget of its own instead: ``max_restarts`` crashes in a row, each within ``within`` seconds
    of the incarnation's start, restarted after an exponential backoff (none before the first restart, then
    ``backoff``, doubling, at most ``max_backoff``). A child past its budget is stopped alone, as failed; the
    supervisor never gives up.
    """

    def __init__(
        self,
        runtime: Runtime,
        spec: SupervisorSpec | None = None,
        *,
        name: str,
        strategy: SupervisionStrategy = "one_for_one",
        max_restarts: int = 3,
        within: float = 5.0,
        isolate: bool = False,
        backoff: float = 0.1,
        max_backoff: float = 5.0,
        carried: Mapping[str, Agent] | None = None,
    ) -> None:
        self.runtime = runtime
        self.spec = spec
        self.name = name
        self.strategy: SupervisionStrategy = spec.strategy if spec else strategy
        self.max_restarts = spec.max_restarts if spec else max_restarts
        self.within = spec.within if spec else within
        self.isolate = isolate
        self.backoff = backoff
        self.max_backoff = max_backoff
        # The last committed agents of a previous incarnation of this supervisor (it gave up and its parent
        # restarted it): its agents resume from them, not from their initial state.
        self._carried: Mapping[str, Agent] = carried or {}
        # An insertion-ordered dict used as an ordered set: start order for strategies, O(1) removal so that
        # stopping n children one by one stays linear.
        self._slots: dict[_Slot, None] = {}
        self._restart_times: collections.deque[float] = collections.deque()
        self._events_send, self._events = trio.open_memory_channel[tuple[_Slot, BaseException]](math.inf)
        self._nursery: trio.Nursery | None = None

    def __repr__(self) -> str:
        return f"<Supervisor {self.name!r} {self.strategy} children={len(self._slots)}>"

    @property
    def slots(self) -> list[_Slot]:
        """The children, in the order they started."""
        return list(self._slots)

    async def run(self, *, task_status: trio.TaskStatus[Supervisor] = trio.TASK_STATUS_IGNORED) -> None:
        """Start the children in order, then supervise them until cancelled or past the restart intensity."""
        async with trio.open_nursery() as nursery:
            self._nursery = nursery
            if self.spec is not None:
                for child in self.spec.children:
                    for index in range(child.replicas):
                        agent = None
                        if isinstance(child.target, AgentSpec):
                            base = child.id or f"{self.name}.{child.name}"
                            agent_id = base if child.replicas == 1 else f"{base}.{index}"
                            agent = self._carried.get(agent_id)
                            if agent is None or agent.spec is not child.target:
                                agent = child.target.new(agent_id, **dict(child.state))
                        name = child.name if child.replicas == 1 else f"{child.name}.{index}"
                        await self.start_child(
                            name,
                            child.target,
                            child.restart,
                            agent=agent,
                            mailbox_size=child.mailbox_size,
                            error_policy=child.error_policy,
                        )
            task_status.started(self)
            await self._supervise()

    async def start_child(
        self,
        name: str,
        target: Target,
        restart: RestartKind,
        *,
        agent: Agent | None = None,
        mailbox_size: int | None = None,
        error_policy: ErrorPolicy = "crash",
        parent: AgentRef | None = None,
        tag: str | None = None,
    ) -> _Slot:
        """Start one child; returns once it is ready (its ref exists only then)."""
        if self._nursery is None:
            raise RuntimeError(f"supervisor {self.name!r} is not running")
        slot = _Slot(
            self,
            name,
            target,
            restart,
            agent=agent,
            mailbox_size=mailbox_size,
            error_policy=error_policy,
            parent=parent,
            tag=tag,
        )
        self._slots[slot] = None
        try:
            await self._nursery.start(slot.run)
        except BaseException:
            self._slots.pop(slot, None)
            raise
        return slot

    def forget(self, slot: _Slot) -> None:
        """Drop a child that ended by itself (it is not restarted)."""
        self._slots.pop(slot, None)

    def report_exit(self, slot: _Slot, error: BaseException) -> None:
        self._events_send.send_nowait((slot, error))

    async def stop_child(self, slot: _Slot, reason: str = "stopped", *, keep_pending: bool = False) -> None:
        """Stop a child for good (it is not restarted) and wait until it has ended; ``keep_pending``: see
        :meth:`_Slot.close`."""
        self._slots.pop(slot, None)
        slot.close(reason, keep_pending=keep_pending)
        await slot.done.wait()

    async def shutdown(self) -> None:
        """Stop the children one by one, last started first."""
        for slot in reversed(list(self._slots)):
            if slot.child_supervisor is not None:
                await slot.child_supervisor.shutdown()
            await self.stop_child(slot, "shutdown", keep_pending=True)  # the next runtime carries on

    async def _supervise(self) -> None:
        async for slot, error in self._events:
            if slot in self._slots:
                await self._on_exit(slot, error)

    async def _on_exit(self, slot: _Slot, error: BaseException) -> None:
        crashed = is_crash(error)
        reason = describe_exit(error)
        if crashed:
            agent_id = slot.ref.id if slot.ref is not None else None
            logger.error(
                "supervisor %r: child %r crashed: %s",
                self.name,
                slot.name,
                reason,
                exc_info=error,
                extra={"agent_id": agent_id, "supervisor": self.name, "child": slot.name},
            )
            if slot.ref is not None and AGENT_CRASHED in _BY_NAME:
                emit(
                    AGENT_CRASHED,
                    agent_id=slot.ref.id,
                    agent=slot.ref.spec.name,
                    supervisor=self.name,
                    reason=reason,
                    error=error,
                )
        final = isinstance(error, NormalExit) and error.final
        if final or slot.restart == "temporary" or (slot.restart == "transient" and not crashed):
            self._slots.pop(slot, None)
            keep = not isinstance(error, NormalExit) or error.keep_pending
            slot.close(reason, failed=crashed, keep_pending=keep)
            return
        if self.isolate:
            self._restart_alone(slot, error, reason, crashed=crashed)
            return
        now = trio.current_time()
        self._restart_times.append(now)
        while self._restart_times and self._restart_times[0] <= now - self.within:
            self._restart_times.popleft()
        if len(self._restart_times) > self.max_restarts:
            if SUPERVISOR_ESCALATED in _BY_NAME:
                emit(
                    SUPERVISOR_ESCALATED,
                    supervisor=self.name,
                    child=slot.name,
                    restarts=len(self._restart_times),
                    max_restarts=self.max_restarts,
                    within=float(self.within),
                    reason=reason,
                    error=error,
                )
            logger.error(
                "supervisor %r gave up: %d restarts within %gs (max_restarts=%d); last exit of %r: %s",
                self.name,
                len(self._restart_times),
                self.within,
                self.max_restarts,
                slot.name,
                reason,
                extra={"supervisor": self.name, "child": slot.name},
            )
            raise SupervisionError(
                f"supervisor {self.name!r} gave up: {len(self._restart_times)} restarts within "
                f"{self.within:g}s (max_restarts={self.max_restarts}); last exit of {slot.name!r}: {reason}"
            ) from error
        if self.strategy == "one_for_one":
            affected = [slot]
        elif self.strategy == "one_for_all":
            affected = list(self._slots)
        else:
            order = list(self._slots)
            affected = order[order.index(slot) :]
        for other in reversed(affected):
            if other is not slot:
                await other.stop_incarnation()
        for each in affected:
            try:
                await each.restart_incarnation(reason if each is slot else f"sibling {slot.name!r} restarted")
            except Exception as exc:  # failed to start again: counts as another exit
                self.report_exit(each, exc)

    def committed_agents(self) -> dict[str, Agent]:
        """The last committed agent of every agent in this tree, nested supervisors included, by id."""
        found: dict[str, Agent] = {}
        for slot in self._slots:
            if slot.ref is not None:
                found[slot.ref.id] = slot.ref.agent
            if slot.child_supervisor is not None:
                found.update(slot.child_supervisor.committed_agents())
        return found

    def _restart_alone(self, slot: _Slot, error: BaseException, reason: str, *, crashed: bool) -> None:
        """Restart one child of an isolating supervisor within its own budget, or stop it as failed."""
        now = trio.current_time()
        if not crashed:
            # A permanent child that stopped normally (a Stop directive): started again at once; only
            # crashes count toward the budget.
            slot.crashes_in_row = 0
            slot.restart_after(0.0, reason)
            return
        if now - slot.started_at >= self.within:
            slot.crashes_in_row = 0  # it ran long enough: a new streak
        slot.crashes_in_row += 1
        if slot.crashes_in_row > self.max_restarts:
            restarts = slot.ref.restarts if slot.ref is not None else slot.crashes_in_row - 1
            logger.error(
                "supervisor %r: child %r failed: %d crashes in a row, each within %gs of its start "
                "(max_restarts=%d); stopped until restarted; last exit: %s",
                self.name,
                slot.name,
                slot.crashes_in_row,
                self.within,
                self.max_restarts,
                reason,
                extra={"supervisor": self.name, "child": slot.name},
            )
            if slot.ref is not None and AGENT_FAILED in _BY_NAME:
                emit(
                    AGENT_FAILED,
                    agent_id=slot.ref.id,
                    agent=slot.ref.spec.name,
                    supervisor=self.name,
                    reason=reason,
                    restarts=restarts,
                    error=error,
                )
            if slot.ref is None and self is self.runtime._root:
                kind = "supervisor" if isinstance(slot.target, SupervisorSpec) else "sensor"
                self.runtime.remember_failed_child(slot.name, kind, f"failed: {reason}")
            self._slots.pop(slot, None)
            slot.close(f"failed: {reason}", failed=True)
            return
        streak = slot.crashes_in_row
        delay = 0.0 if streak == 1 else min(self.backoff * 2 ** (streak - 2), self.max_backoff)
        slot.restart_after(delay, reason)


async def run_sensor(
    runtime: Runtime, spec: SensorSpec, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED
) -> None:
    """Run a sensor: its own loop, or its ``sample`` every period or on its cron schedule."""
    config = spec.new_config()

    async def emit(signal: Signal) -> None:
        if not isinstance(signal, Signal):
            raise TypeError(f"sensor {spec.name!r} emitted {type(signal).__name__}, not a jido.Signal")
        await runtime.publish(signal)

    task_status.started()
    if spec.run is not None:
        await spec.run(config, emit)
        return
    assert spec.sample is not None
    if spec.every is not None:
        while True:
            await trio.sleep(spec.every)
            await _sample(spec, config, emit)
    else:
        assert spec.cron is not None
        expr = parse_cron(spec.cron, spec.tz)
        while True:
            await sleep_until_wall(runtime.clock, expr.next_after(runtime.clock.now()))
            await _sample(spec, config, emit)


async def _sample(spec: SensorSpec, config: Any, emit: Any) -> None:
    assert spec.sample is not None
    produced = spec.sample(config)
    if inspect.isawaitable(produced):
        produced = await produced
    if produced is None:
        return
    for signal in produced if isinstance(produced, list | tuple) else [produced]:
        await emit(signal)
