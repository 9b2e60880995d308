"""The runtime: a root supervisor, a registry of agents by id, dead letters, and signal delivery.

Open one with :func:`open_runtime`; leaving the ``async with`` block stops every child, last started first,
and no task of the runtime survives it.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import logging
import math
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Mapping
from contextlib import asynccontextmanager
from functools import partial
from typing import Any

import attrs
import trio

from jido._typevars import S
from jido.agent.spec import Agent, AgentSpec, agent_spec_of
from jido.bus.bus import Bus, Retention, open_bus
from jido.bus.journal import DeadLetterRecord, Journal
from jido.bus.memory import MemoryJournal
from jido.bus.subscription import Delivery, Subscription
from jido.clock import Clock, SystemClock
from jido.errors import (
    AgentExistsError,
    AgentNotFoundError,
    BrokenError,
    CallTimeoutError,
    ClosedError,
    DefinitionError,
    JidoError,
    StaleStateError,
    SupervisionError,
    ValidationError,
)

# Imported for what importing it does: the built-in directive executors register themselves.
from jido.runtime import executors as _builtin_executors  # noqa: F401
from jido.runtime.activation import Dormancy, HibernatedAgent, VirtualAgent
from jido.runtime.dead_letters import DeadLetter, DeadLetterStore, JournalDeadLetters, letter_size
from jido.runtime.handled import HandledObserver, HandledSinks
from jido.runtime.persistence import Persistence
from jido.runtime.sensor_spec import sensor_spec_of
from jido.runtime.server import DEFAULT_MAILBOX_SIZE, AgentRef, ErrorPolicy, check_error_policy
from jido.runtime.supervisor import Supervisor
from jido.runtime.supervisor_spec import RESTART_KINDS, RestartKind, supervisor_spec_of
from jido.signal import Signal
from jido.signal.ids import new_id
from jido.signal.router import Router
from jido.store.store import StateStore, WakeupIndex
from jido.telemetry.events import SIGNAL_DEAD_LETTERED
from jido.telemetry.handlers import _BY_NAME, emit
from jido.telemetry.logs import log_context

__all__ = ["FailedAgent", "Runtime", "RuntimeStatistics", "open_runtime"]

logger = logging.getLogger("jido.runtime")


@attrs.frozen
class RuntimeStatistics:
    """A snapshot of a runtime.

    Attributes:
        agents: agents registered (running or restarting).
        mailbox_depths: signals waiting, per agent id.
        restarts: restarts per agent id (only agents that restarted).
        dead_letters: dead letters recorded since the runtime opened.
        published: signals published to the runtime's bus (Emit without a target, sensors).
        ignored_system_signals: lifecycle signals (``jido.*``) offered to agents that route none of them.
        statuses: each agent's status (``running``, ``restarting``, ...), per agent id.
        handled: signals handled and committed, per agent id.
        errors: signals whose handling failed, per agent id (only agents that had some).
        mailbox_sizes: each agent's mailbox bound, per agent id (depth / size is how full it is).
        subscription_lag: records each bus subscription has not read yet, per subscription name.
        dead_letters_evicted: dead letters dropped from memory past ``dead_letter_limit`` or
            ``dead_letter_bytes`` (oldest first).
        dead_letters_unsaved: dead letters that could not be written to the journal (a flood past the
            writer's queue, or a failing journal); they are still in memory.
        hibernated: agents dormant now (idle: their task ended, their state kept); hibernations and
            activations count how often agents went to sleep and were woken since the runtime opened.
        failed_children: trees and sensors of the root stopped as failed (past their restart budget), by
            name, with what they were and why; start them again with ``start_supervisor``/``start_sensor``.
        failed: agents stopped as failed (restart budget exhausted), each with its last exit, by agent id;
            their ``statuses`` say ``failed``. ``restart_agent`` brings one back.
    """

    agents: int
    mailbox_depths: Mapping[str, int]
    restarts: Mapping[str, int]
    dead_letters: int
    published: int
    ignored_system_signals: int
    statuses: Mapping[str, str] = attrs.field(factory=dict)
    handled: Mapping[str, int] = attrs.field(factory=dict)
    errors: Mapping[str, int] = attrs.field(factory=dict)
    mailbox_sizes: Mapping[str, int] = attrs.field(factory=dict)
    subscription_lag: Mapping[str, int] = attrs.field(factory=dict)
    dead_letters_evicted: int = 0
    failed: Mapping[str, str] = attrs.field(factory=dict)
    dead_letters_unsaved: int = 0
    failed_children: Mapping[str, str] = attrs.field(factory=dict)
    hibernated: int = 0
    hibernations: int = 0
    activations: int = 0


@attrs.frozen
class FailedAgent:
    """An agent the root stopped as failed: what ``restart_agent`` needs to bring it back.

    Attributes:
        agent: its last committed agent value (it resumes from it).
        reason: its last exit, described.
        restarts: restarts before it failed.
        restart: its restart kind; mailbox_size, error_policy: its options.
        handled, errors: its counts when it failed.
    """

    agent: Agent
    reason: str
    restarts: int
    restart: RestartKind
    mailbox_size: int | None
    error_policy: ErrorPolicy
    handled: int = 0
    errors: int = 0


_FAILED_KEPT = 10_000  # failed agents remembered for restart_agent; the oldest are forgotten past it


class _AgentDelivery:
    """The bus target of an agent's subscription: hand the signal to the agent and wait until it is handled.

    It finds the agent by id at each delivery: the agent may have restarted, or hibernated (the delivery
    wakes it)."""

    __slots__ = ("agent_id", "router", "runtime")

    def __init__(self, runtime: Runtime, agent_id: str, router: Router | None = None) -> None:
        self.runtime = runtime
        self.agent_id = agent_id
        # Given: only signals some route of the agent accepts are handed over; the others are done at once
        # (acked without waking or bothering the agent).
        self.router = router

    async def deliver(self, signal: Signal) -> None:
        await self._deliver(signal, None)

    async def deliver_record(self, delivery: Delivery) -> None:
        """Deliver with the record's place in the journal, so that a redelivery of a record the agent
        applied already (stored, not acked when the process died) is recognised and not applied twice."""
        await self._deliver(delivery.signal, (delivery.subscription, delivery.record.offset))

    async def _deliver(self, signal: Signal, origin: tuple[str, int] | None) -> None:
        if self.router is not None and not _routes_to(self.router, signal):
            return
        ref = self.runtime._registry.get(self.agent_id)
        if ref is None or self.agent_id in self.runtime._dormancy._waking:
            if ref is None and self.agent_id not in self.runtime._dormancy:
                # Not handled: not acked, so the bus delivers it again (to the agent started next time).
                raise ClosedError(f"agent {self.agent_id!r} is not running")
            ref = await self.runtime._dormancy.activate(self.agent_id)  # it hibernated: this wakes it
        try:
            # Not stamped with trace context: this task may carry an unrelated span (telemetry.propagation).
            await ref._call(signal, math.inf, origin=origin)
        except (ClosedError, CallTimeoutError, BrokenError, StaleStateError):
            # Not handled (the agent stopped, or its new state was not stored): not acked, so the bus
            # delivers it again (to the agent started next time).
            raise
        except JidoError:
            # Handled, with an error the agent's error policy dealt with (and recorded as a dead letter
            # under the "crash" policy): done as far as the bus goes, or it would crash the agent again.
            return


class Runtime:
    """A running jido runtime. Obtain one from :func:`open_runtime`."""

    def __init__(
        self,
        *,
        bus: Bus,
        clock: Clock,
        mailbox_size: int,
        dead_letters: DeadLetterStore,
        store: StateStore | None = None,
    ) -> None:
        self.bus = bus
        self.runtime_id = new_id()  # marks the pending work this runtime stores (see activation)
        self.persistence = Persistence(store) if store is not None else None
        if self.persistence is not None:
            self.persistence.runtime_id = self.runtime_id
        self._wakeups: trio.CancelScope | None = None  # serving the stored sleepers of an earlier runtime
        self.idle_timeout: float | None = (
            None  # the default of agents that declare none (open_runtime sets it)
        )
        self._dormancy = Dormancy(self)
        self.handled_sinks = HandledSinks()  # see observe_handled
        self._nursery: trio.Nursery | None = None
        self.clock = clock
        self.mailbox_size = mailbox_size
        self._dead_letters = dead_letters
        self._stored_dead_letters = JournalDeadLetters(bus.journal)
        self._registry: dict[str, AgentRef] = {}
        self._agent_subscriptions: dict[str, list[Subscription]] = {}
        self._root: Supervisor | None = None
        self._failed: dict[str, FailedAgent] = {}
        self._failed_children: dict[str, str] = {}  # trees and sensors of the root that failed: name -> why
        self._closed = False
        self._ignored_system = 0

    def __repr__(self) -> str:
        return f"<Runtime agents={len(self._registry)}>"

    @property
    def root_supervisor(self) -> Supervisor | None:
        """The supervisor at the root of the runtime's tree (what ``start_agent`` starts under); ``None`` before
        the runtime has started it and after it closed. For views of the tree: its ``slots`` say what runs."""
        return None if self._closed else self._root

    @property
    def running(self) -> bool:
        """True from when the runtime's root supervisor runs until the runtime closes."""
        return self._root is not None and not self._closed

    def hibernated_agents(
        self, *, offset: int = 0, limit: int = 100, contains: str = ""
    ) -> tuple[list[HibernatedAgent], int]:
        """A page of the hibernated agents, oldest sleeper first, and how many matched in all.

        ``contains`` keeps the agents whose id or class name contains it (case-insensitive). Unfiltered, a page
        costs O(offset + limit) whatever the number of sleepers; a filter scans them all.
        """
        return self._dormancy.listed(offset=offset, limit=limit, contains=contains)

    def observe_handled(self, observer: HandledObserver) -> Callable[[], None]:
        """Call ``observer(agent_id, outcome, seconds)`` each time one of this runtime's agents has handled a
        signal (outcomes as in ``jido.signal.handled``); returns the function that stops it.

        Cheaper than a telemetry handler (no event is built), and only this runtime's agents: what a
        dashboard's counters and latency histogram use. An observer that raises is removed (and logged); it
        never breaks the agent. It runs in the agent's task: keep it to a few counter updates.
        """
        return self.handled_sinks.add(observer)

    def forget_hibernated(self, agent_id: str, *, keep_pending: bool = False) -> bool:
        """Stop the hibernated ``agent_id`` without waking it: its dormant entry and the alarm that would wake
        it go. Returns whether it slept here.

        Its state stays in the store (if any). Its stored timers and cron jobs are taken out unless
        ``keep_pending`` (for an agent that goes on elsewhere, as a cluster node does when the agent's lease
        moved: the new owner gets them back with the state).
        """
        return self._dormancy.forget(agent_id, clear=not keep_pending)

    def hibernated_agent(self, agent_id: str) -> HibernatedAgent | None:
        """What the runtime keeps of the hibernated ``agent_id``, or None when no agent of that id sleeps (a
        running, failed, waking or unknown one). O(1)."""
        return self._dormancy.entry(agent_id)

    # -- starting things -------------------------------------------------------------------------------
    def _root_supervisor(self) -> Supervisor:
        if self._root is None or self._closed:
            raise ClosedError("the runtime is closed")
        return self._root

    async def start_agent(
        self,
        agent: type[S] | AgentSpec[S] | Agent[S],
        *,
        id: str | None = None,
        state: Mapping[str, Any] | None = None,
        restart: RestartKind = "transient",
        mailbox_size: int | None = None,
        error_policy: ErrorPolicy = "crash",
    ) -> AgentRef[S]:
        """Start an agent under the root supervisor; returns its ref once it is ready.

        Args:
            agent: an ``@agent`` class, an :class:`AgentSpec`, or an :class:`Agent` value (started from its
                state and id).
            id: the agent's id (unique in the runtime); a new UUIDv7 when not given.
            state: initial state overrides (not with an Agent value).
            restart: ``transient`` (default: restarted after a crash, not after a normal stop),
                ``permanent`` or ``temporary``.
            mailbox_size: bound of its mailbox (the runtime's default when None).
            error_policy: ``"crash"`` (default), ``"log"`` or ``StopAfter(n)``.

        Raises:
            AgentExistsError: the id is taken.
            ValidationError: ``state`` does not fit the agent's schema.
        """
        if restart not in RESTART_KINDS:
            raise ValueError(f"restart must be one of {', '.join(RESTART_KINDS)}, got {restart!r}")
        check_error_policy(error_policy)
        if mailbox_size is not None and (
            isinstance(mailbox_size, bool) or not isinstance(mailbox_size, int) or mailbox_size < 1
        ):
            raise ValueError(f"mailbox_size must be an int >= 1, got {mailbox_size!r}")
        if isinstance(agent, Agent):
            if state:
                raise ValueError("give initial state either in the Agent value or as state=, not both")
            value = agent if id is None else attrs.evolve(agent, id=id)
        else:
            spec = agent_spec_of(agent)
            if spec is None:
                raise DefinitionError(
                    f"start_agent: {agent!r} is not an agent (an @agent class or AgentSpec)"
                )
            value = spec.new(id, **dict(state or {}))
        # Its class is learned when it registers (after this id is taken: a stored sleeper of this id
        # waiting for the class is then this start's, not a wake with default options).
        dormancy = self._dormancy
        existing = self._registry.get(value.id)
        if existing is not None:
            if value.id in dormancy.woken_from_store and _same_spec(existing.spec, value.spec):
                # Woken because its stored timers came due (an earlier runtime left it asleep) before this
                # start: it is the agent asked for, running from its stored state, as a hibernated one is.
                dormancy.woken_from_store.discard(value.id)
                return existing
            raise AgentExistsError(value.id)
        if value.id in dormancy or value.id in dormancy._waking:
            # Hibernated (or being woken): it exists, and resumes from its kept state (the options it started
            # with apply), if it is of the class asked for.
            asleep = dormancy.spec_of(value.id)
            if asleep is not None and not _same_spec(asleep, value.spec):
                raise AgentExistsError(value.id)
            ref = await dormancy.activate(value.id)
            if not _same_spec(
                ref.spec, value.spec
            ):  # one woken without a known class (from the store) meanwhile
                raise AgentExistsError(value.id)
            dormancy.woken_from_store.discard(value.id)
            return ref
        return await self._start_at_root(value, restart, mailbox_size, error_policy)

    async def _start_at_root(
        self,
        value: Agent,
        restart: RestartKind,
        mailbox_size: int | None,
        error_policy: ErrorPolicy,
        *,
        pending: str | None = None,
    ) -> AgentRef:
        """Start ``value`` under the root supervisor (checked by the caller; activation's way in), with its
        timers and cron jobs: ``pending`` (a dormant entry's) or else those stored with its state."""
        slot = await self._root_supervisor().start_child(
            value.id,
            value.spec,
            restart,
            agent=value,
            mailbox_size=mailbox_size,
            error_policy=error_policy,
        )
        self._failed.pop(value.id, None)  # started anew: no longer failed
        ref = slot.ref
        assert ref is not None
        durable = ref._durable
        if durable is not None:
            durable.scheduler = ref.scheduler  # its commits store its timers too (Persistence.save)
        stored = self._dormancy.claim(ref.id, durable)
        text = pending if pending is not None else stored
        if text is not None and ref.scheduler is not None:
            # Started and not yet run anything (no await since): its timers are back before any message.
            try:
                ref.scheduler.restore(text)
            except (ClosedError, ValidationError) as exc:
                logger.warning(
                    "agent %r: its pending timers could not be restored: %s",
                    ref.id,
                    exc,
                    extra={"agent_id": ref.id},
                )
        return ref

    async def restart_agent(self, agent_id: str) -> AgentRef:
        """Start a failed agent again, from its last committed state, with a fresh restart budget.

        Returns its new ref (the old one stays stopped). Signals of its bus subscriptions that it had not
        handled come again; what was in its mailbox when it failed is in the dead letters.

        Raises:
            AgentExistsError: an agent with that id is running (it has not failed).
            AgentNotFoundError: no failed agent has that id.
        """
        if agent_id in self._registry:
            raise AgentExistsError(agent_id)
        failed = self._failed.get(agent_id)
        if failed is None:
            raise AgentNotFoundError(agent_id)
        # Forgotten as failed only once it runs again (start_agent does it): a start that fails or is
        # cancelled leaves it restartable.
        ref = await self.start_agent(
            failed.agent,
            restart=failed.restart,
            mailbox_size=failed.mailbox_size,
            error_policy=failed.error_policy,
        )
        logger.info("agent %r restarted by request after it failed (%s)", agent_id, failed.reason)
        return ref

    def failed_agents(self) -> dict[str, FailedAgent]:
        """Agents stopped as failed (restart budget exhausted, or a temporary agent that crashed), by id."""
        return dict(self._failed)

    def remember_failed(
        self, ref: AgentRef, restart: RestartKind, mailbox_size: int | None, error_policy: ErrorPolicy
    ) -> None:
        """Keep what ``restart_agent`` needs of an agent that failed (bounded: the oldest are forgotten)."""
        self._failed.pop(ref.id, None)
        self._failed[ref.id] = FailedAgent(
            ref.agent,
            ref.exit_reason or "failed",
            ref.restarts,
            restart,
            mailbox_size,
            error_policy,
            ref.handled,
            ref.errors,
        )
        while len(self._failed) > _FAILED_KEPT:
            del self._failed[next(iter(self._failed))]

    def remember_failed_child(self, name: str, kind: str, reason: str) -> None:
        """Keep why a tree or sensor of the root failed (bounded like failed agents)."""
        self._failed_children.pop(name, None)
        self._failed_children[name] = f"{kind}: {reason}"
        while len(self._failed_children) > _FAILED_KEPT:
            del self._failed_children[next(iter(self._failed_children))]

    async def start_supervisor(self, supervisor: Any, *, restart: RestartKind = "permanent") -> Supervisor:
        """Start a supervision tree (a ``@supervisor`` class or :class:`SupervisorSpec`) under the root."""
        spec = supervisor_spec_of(supervisor)
        if spec is None:
            raise DefinitionError(f"start_supervisor: {supervisor!r} is not a supervisor")
        slot = await self._root_supervisor().start_child(spec.name, spec, restart)
        self._failed_children.pop(spec.name, None)
        assert slot.child_supervisor is not None
        return slot.child_supervisor

    async def start_sensor(self, sensor: Any, *, restart: RestartKind = "permanent") -> None:
        """Start a sensor (a ``@sensor`` class or :class:`SensorSpec`) under the root supervisor."""
        spec = sensor_spec_of(sensor)
        if spec is None:
            raise DefinitionError(f"start_sensor: {sensor!r} is not a sensor")
        await self._root_supervisor().start_child(spec.name, spec, restart)
        self._failed_children.pop(spec.name, None)

    async def start(self, target: Any) -> AgentRef | Supervisor | None:
        """Start an agent, supervisor or sensor, whichever ``target`` is."""
        if agent_spec_of(target) is not None:
            return await self.start_agent(target)
        if supervisor_spec_of(target) is not None:
            return await self.start_supervisor(target)
        if sensor_spec_of(target) is not None:
            await self.start_sensor(target)
            return None
        raise DefinitionError(f"{target!r} is not an agent, supervisor or sensor")

    # -- registry -----------------------------------------------------------------------------------------
    def register(self, ref: AgentRef) -> None:
        if ref.id in self._registry:
            raise AgentExistsError(ref.id)
        self._registry[ref.id] = ref
        if ref.spec.name not in self._dormancy.specs:
            self._dormancy.learn(ref.spec)

    async def subscribe_agent(
        self, ref: AgentRef, pattern: str, *, routed_only: bool = False
    ) -> Subscription:
        """Deliver the bus's signals matching ``pattern`` into the agent's mailbox.

        The subscription is durable (named ``agent:<id>:<pattern>``, ``agent:<id>:routes:<pattern>`` with
        ``routed_only``): with a persistent journal, an agent started again resumes where it left off. A
        signal is acked once the agent has *handled* it (with success, or with an error the runtime recorded
        as a dead letter), so a signal that was in the mailbox when the agent stopped comes again; a busy
        agent slows only its own subscription. It lasts as long as the agent (through restarts and
        hibernation) and is closed when the agent stops.

        Args:
            routed_only: hand over only the signals one of the agent's routes accepts; the others are done
                without reaching it (``subscribe_agent(ref, "**", routed_only=True)``: everything the agent
                can handle, nothing it would refuse).
        """
        name = f"agent:{ref.id}:routes:{pattern}" if routed_only else f"agent:{ref.id}:{pattern}"
        for kept in self._agent_subscriptions.get(ref.id, []):
            if kept.name == name and not kept.closed:
                return kept  # kept while the agent was dormant: it delivers to the agent by id
        target = _AgentDelivery(self, ref.id, ref.spec.router if routed_only else None)
        sub = await self.bus.subscribe(pattern, name=name, target=target, max_in_flight=1)
        self._agent_subscriptions.setdefault(ref.id, []).append(sub)
        return sub

    def unregister(self, ref: AgentRef, *, keep_subscriptions: bool = False) -> None:
        if self._registry.get(ref.id) is ref:
            del self._registry[ref.id]
            # Woken from the store and not yet asked for by start_agent: no longer, now that its task ended.
            self._dormancy.woken_from_store.discard(ref.id)
        if keep_subscriptions:
            return  # a hibernated agent's subscriptions stay open: a signal for it wakes it
        for sub in self._agent_subscriptions.pop(ref.id, []):
            self.bus.close_soon(sub)

    def agent(self, agent: type[S] | AgentSpec[S], agent_id: str) -> VirtualAgent[S]:
        """A virtual reference to the agent ``agent_id``: valid whether it runs, is hibernated, or was never
        started; its first message starts it (from its stored state when there is one, else new, as
        ``agent``, an ``@agent`` class or :class:`AgentSpec`).

        Raises:
            DefinitionError: ``agent`` is not an agent.
            ValueError: ``agent_id`` is not a non-empty str.
        """
        spec = agent_spec_of(agent)
        if spec is None:
            raise DefinitionError(f"agent: {agent!r} is not an agent (an @agent class or AgentSpec)")
        if not isinstance(agent_id, str) or not agent_id:
            raise ValueError(f"agent id must be a non-empty str, got {agent_id!r}")
        self._dormancy.learn(spec)
        return VirtualAgent(self, spec, agent_id)

    async def activate(self, agent_id: str) -> AgentRef:
        """The live ref of ``agent_id``, waking it first if it is hibernated.

        Raises:
            AgentNotFoundError: no agent runs or sleeps under that id.
        """
        return await self._dormancy.activate(agent_id)

    def whereis(self, agent_id: str) -> AgentRef | None:
        """The ref of the agent registered as ``agent_id``, or None."""
        return self._registry.get(agent_id)

    def get(self, agent_id: str) -> AgentRef:
        """The ref of the agent registered as ``agent_id``.

        Raises:
            AgentNotFoundError: no such agent.
        """
        ref = self._registry.get(agent_id)
        if ref is None:
            raise AgentNotFoundError(agent_id)
        return ref

    def agents(self) -> list[AgentRef]:
        """Every registered agent, in the order they started."""
        return list(self._registry.values())

    # -- signals ------------------------------------------------------------------------------------------
    async def publish(self, signal: Signal) -> int:
        """Publish ``signal`` to the runtime's bus; returns its offset in the journal."""
        [record] = await self.bus.publish(signal)
        return record.offset

    def deliver(self, agent_id: str, signal: Signal) -> bool:
        """Queue ``signal`` for the agent ``agent_id`` without waiting; otherwise record a dead letter."""
        ref = self._registry.get(agent_id)
        if ref is None:
            self.dead_letter(signal, AgentNotFoundError(agent_id), agent_id, "not_found")
            return False
        return ref.deliver_nowait(signal)

    @asynccontextmanager
    async def listen(
        self, pattern: str, *, buffer: int = 1024
    ) -> AsyncIterator[trio.MemoryReceiveChannel[Signal]]:
        """Receive, while inside the block, every signal published from now on that matches ``pattern``.

        A listener that falls ``buffer`` signals behind makes its bus subscription wait (it lags behind in
        the journal); nothing is dropped.
        """
        send, receive = trio.open_memory_channel[Signal](buffer)
        sub = await self.bus.subscribe(pattern, target=send.send, max_in_flight=1)
        try:
            async with receive:
                yield receive
        finally:
            sub.close_nowait()
            send.close()

    # -- dead letters and statistics -------------------------------------------------------------------
    def dead_letter(self, signal: Signal, error: BaseException, agent_id: str | None, reason: str) -> None:
        letter = DeadLetter(signal, error, agent_id, reason, self.clock.now().astimezone(dt.UTC))
        size = letter_size(letter)  # encodes the signal once for both bounds
        self._dead_letters.record(letter, size)
        self._stored_dead_letters.offer(letter, size)
        logger.warning(
            "dead letter (%s) for agent %r: %r (id %s): %s",
            reason,
            agent_id,
            signal.type,
            signal.id,
            error,
            extra=log_context(signal, agent_id=agent_id, reason=reason),
        )
        if SIGNAL_DEAD_LETTERED in _BY_NAME:
            emit(
                SIGNAL_DEAD_LETTERED,
                agent_id=agent_id,
                signal_id=signal.id,
                signal_type=signal.type,
                correlation_id=signal.correlationid or signal.id,
                reason=reason,
                error=error,
            )

    def dead_letters(self, *, agent_id: str | None = None) -> list[DeadLetter]:
        """Dead letters, oldest first (only ``agent_id``'s when given)."""
        return self._dead_letters.entries(agent_id=agent_id)

    async def stored_dead_letters(
        self, *, agent_id: str | None = None, limit: int = 1000
    ) -> list[DeadLetterRecord]:
        """Dead letters as the journal keeps them, oldest first: the runtime's (source ``agent:<id>``) and,
        without ``agent_id``, the bus subscriptions' too. Waits until those recorded so far are written.

        With the SQLite journal these outlive the process; :meth:`dead_letters` keeps only this run's, in
        memory, with the exception objects.
        """
        await self._stored_dead_letters.wait_written()
        source = None if agent_id is None else f"agent:{agent_id}"
        return await self.bus.journal.dead_letters(source, limit=limit)

    def count_ignored_system_signal(self) -> None:
        self._ignored_system += 1

    def statistics(self) -> RuntimeStatistics:
        """A snapshot of the runtime: its agents, their mailboxes and counts, dead letters, bus lag."""
        refs = list(self._registry.values())
        last_offset = self.bus._last_offset
        failed = self._failed
        return RuntimeStatistics(
            agents=len(refs),
            mailbox_depths={r.id: r.mailbox_depth for r in refs},
            restarts={r.id: r.restarts for r in refs if r.restarts},
            dead_letters=self._dead_letters.recorded,
            published=self.bus._published,
            ignored_system_signals=self._ignored_system,
            statuses={**dict.fromkeys(failed, "failed"), **{r.id: r.status for r in refs}},
            handled={r.id: r.handled for r in refs},
            errors={r.id: r.errors for r in refs if r.errors},
            mailbox_sizes={r.id: r.mailbox_size for r in refs},
            subscription_lag={s.name: s.statistics(last_offset).lag for s in self.bus.subscriptions()},
            dead_letters_evicted=self._dead_letters.evicted,
            failed={agent_id: f.reason for agent_id, f in failed.items()},
            dead_letters_unsaved=self._stored_dead_letters.unsaved,
            failed_children=dict(self._failed_children),
            hibernated=len(self._dormancy),
            hibernations=self._dormancy.hibernations,
            activations=self._dormancy.activations,
        )

    # -- lifecycle ---------------------------------------------------------------------------------------
    async def _serve(
        self,
        *,
        max_restarts: int,
        within: float,
        escalate: bool,
        backoff: float,
        max_backoff: float,
        task_status: trio.TaskStatus[Supervisor] = trio.TASK_STATUS_IGNORED,
    ) -> None:
        root = Supervisor(
            self,
            name="root",
            max_restarts=max_restarts,
            within=within,
            isolate=not escalate,
            backoff=backoff,
            max_backoff=max_backoff,
        )
        self._root = root
        await root.run(task_status=task_status)

    async def _shutdown(self) -> None:
        if self._wakeups is not None:
            self._wakeups.cancel()
        if self._root is not None:
            running = [slot.ref for slot in self._root.slots if slot.ref is not None]
            await self._root.shutdown()
            # Their timers and cron jobs, to the store, for the runtime opened next on it.
            with trio.move_on_after(30):
                await self._dormancy.store_on_close(running)
                await self._dormancy.wait_stored()
        self._closed = True
        # What stopping the agents dead-lettered is written before the journal closes.
        with trio.move_on_after(5):
            await self._stored_dead_letters.flush()
        self._stored_dead_letters.close()


def _same_spec(a: AgentSpec, b: AgentSpec) -> bool:
    return a is b or a == b


@asynccontextmanager
async def open_runtime(
    *,
    clock: Clock | None = None,
    mailbox_size: int = DEFAULT_MAILBOX_SIZE,
    max_restarts: int = 10,
    within: float = 5.0,
    dead_letter_limit: int = 10_000,
    dead_letter_bytes: int = 64 << 20,
    journal: Journal | None = None,
    retention: Retention | None = None,
    escalate: bool = False,
    restart_backoff: float = 0.1,
    max_restart_backoff: float = 5.0,
    store: StateStore | None = None,
    idle_timeout: float | None = None,
    agents: Iterable[type[Any] | AgentSpec[Any]] = (),
) -> AsyncIterator[Runtime]:
    """Open a runtime; leaving the block stops every agent, supervisor and sensor, last started first.

    Args:
        clock: wall clock for cron schedules (:class:`~jido.clock.TrioClock` in tests).
        mailbox_size: default mailbox bound of agents.
        max_restarts: the restart budget of each child of the root (an agent started with ``start_agent``, a
            tree, a sensor): past ``max_restarts`` crashes in a row, each within ``within`` seconds of its
            start, that child alone is stopped as failed (``restart_agent`` brings an agent back); the
            runtime and every other child go on. With ``escalate=True``: the root's intensity instead
            (restarts of all its children within ``within`` seconds), past which the runtime itself fails
            with :class:`~jido.errors.SupervisionError` (OTP's semantics, for a process supervisor to act on).
        within: the window, in seconds.
        dead_letter_limit: dead letters kept in memory (the oldest are evicted past it, and counted).
        dead_letter_bytes: and their bytes (signal JSON and error text): the same eviction past it.
        journal: the bus's journal (an in-memory one by default; ``SQLiteJournal`` to keep signals and
            subscription checkpoints across restarts of the process).
        retention: the journal's retention (for the default in-memory journal: the newest 100,000).
        escalate: let a child past its budget fail the whole runtime (see ``max_restarts``).
        restart_backoff: seconds before the second restart in a row of a child of the root (the first is at
            once), doubling with each further one.
        max_restart_backoff: the longest such wait.
        store: a state store (:mod:`jido.store`): every agent's committed state is written to it before it
            is acknowledged (a call returns, a bus delivery is acked), with the bus offsets it applied, so
            that each accepted bus signal changes the state exactly once; an agent started with an id that
            has a stored state resumes from it. Closed when the runtime closes.
        idle_timeout: seconds after which an idle agent of the root hibernates (its task ends, its state is
            kept, its next message wakes it), for agents that declare no ``idle_timeout`` of their own; None
            (the default): they stay in memory. See :mod:`jido.runtime.activation`.
        agents: ``@agent`` classes (or specs) whose agents the runtime may wake on its own: with a ``store``,
            agents that an earlier runtime left asleep with timers or cron jobs are woken when those come due,
            if their class is known by its spec name, from this list or from a ``start_agent``/``agent`` call.

    Raises:
        DefinitionError: an entry of ``agents`` is not an agent.
    """
    if isinstance(mailbox_size, bool) or not isinstance(mailbox_size, int) or mailbox_size < 1:
        raise ValueError(f"mailbox_size must be an int >= 1, got {mailbox_size!r}")
    if not (isinstance(within, int | float) and 0 < within < math.inf):
        raise ValueError(f"within must be a positive number of seconds, got {within!r}")
    if isinstance(max_restarts, bool) or not isinstance(max_restarts, int) or max_restarts < 0:
        raise ValueError(f"max_restarts must be an int >= 0, got {max_restarts!r}")
    if not isinstance(escalate, bool):
        raise TypeError(f"escalate must be a bool, got {escalate!r}")
    for name, bound in (("dead_letter_limit", dead_letter_limit), ("dead_letter_bytes", dead_letter_bytes)):
        if isinstance(bound, bool) or not isinstance(bound, int) or bound < 1:
            raise ValueError(f"{name} must be an int >= 1, got {bound!r}")
    for name, value in (("restart_backoff", restart_backoff), ("max_restart_backoff", max_restart_backoff)):
        if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value < math.inf:
            raise ValueError(f"{name} must be a number of seconds >= 0, got {value!r}")
    clock = clock or SystemClock()
    if journal is None:
        journal = MemoryJournal(clock=clock)
        retention = retention or Retention(max_entries=100_000)
    if idle_timeout is not None and (
        isinstance(idle_timeout, bool)
        or not isinstance(idle_timeout, int | float)
        or not 0 < idle_timeout < math.inf
    ):
        raise ValueError(f"idle_timeout must be a positive number of seconds or None, got {idle_timeout!r}")
    if store is not None and not isinstance(store, StateStore):
        raise TypeError(f"store must be a StateStore (jido.store), got {type(store).__name__}")
    if isinstance(agents, str | bytes) or not isinstance(agents, Iterable):  # type: ignore[unreachable]
        raise TypeError(f"agents must be an iterable of @agent classes, got {agents!r}")
    known: list[AgentSpec[Any]] = []
    for entry in agents:
        known_spec = agent_spec_of(entry)
        if known_spec is None:
            raise DefinitionError(f"open_runtime: agents holds {entry!r}, which is not an agent")
        known.append(known_spec)
    async with contextlib.AsyncExitStack() as stack:
        if store is not None:
            stack.push_async_callback(store.aclose)
        bus = await stack.enter_async_context(open_bus(journal, clock=clock, retention=retention))
        runtime = Runtime(
            bus=bus,
            clock=clock,
            mailbox_size=mailbox_size,
            dead_letters=DeadLetterStore(dead_letter_limit, max_bytes=dead_letter_bytes),
            store=store,
        )
        runtime.idle_timeout = idle_timeout
        for known_spec in known:
            runtime._dormancy.learn(known_spec)
        serve = partial(
            runtime._serve,
            max_restarts=max_restarts,
            within=within,
            escalate=escalate,
            backoff=restart_backoff,
            max_backoff=max_restart_backoff,
        )
        async with _serving(runtime, serve):
            yield runtime


@asynccontextmanager
async def _serving(runtime: Runtime, serve: Callable[..., Awaitable[None]]) -> AsyncIterator[None]:
    """Run the root supervisor around the body; re-raise the body's own exception unwrapped."""
    body_error: BaseException | None = None
    try:
        async with trio.open_nursery() as nursery:
            runtime._nursery = nursery  # activations of hibernated agents run here
            await nursery.start(runtime._stored_dead_letters.serve)
            await nursery.start(serve)
            # object: mypy takes a StateStore that is also a WakeupIndex for impossible.
            store: object = runtime.persistence.store if runtime.persistence is not None else None
            if isinstance(store, WakeupIndex):
                runtime._wakeups = trio.CancelScope()
                nursery.start_soon(_serve_wakeups, runtime, runtime._wakeups, store)
            try:
                yield
            except BaseException as exc:
                # Raised again below, outside the nursery, so users see their own exception, not a group.
                body_error = exc
            finally:
                with trio.CancelScope(shield=True):
                    await runtime._shutdown()
                nursery.cancel_scope.cancel()
    except BaseExceptionGroup as group:
        failure = _runtime_failure(group)
        if failure is None:
            raise
        raise failure from group
    if body_error is not None:
        raise body_error


async def _serve_wakeups(runtime: Runtime, scope: trio.CancelScope, store: WakeupIndex) -> None:
    with scope:
        try:
            await runtime._dormancy.serve_wakeups(store)
        except JidoError as exc:  # the store failed: sleepers wake when something is sent to them
            logger.warning("stored sleepers could not be listed: %s", exc)


def _routes_to(router: Router, signal: Signal) -> bool:
    try:
        return bool(router.route(signal))
    except Exception:  # a route's match predicate raised on it: the agent reports that, not the bus
        return True


def _runtime_failure(group: BaseExceptionGroup[BaseException]) -> SupervisionError | None:
    """The SupervisionError that ended the runtime, when that is the one thing in ``group``."""
    leaves: list[BaseException] = []
    pending: list[BaseException] = [group]
    while pending:
        exc = pending.pop()
        if isinstance(exc, BaseExceptionGroup):
            pending.extend(exc.exceptions)
        elif not isinstance(exc, trio.Cancelled):
            leaves.append(exc)
    if len(leaves) == 1 and isinstance(leaves[0], SupervisionError):
        return leaves[0]
    return None
