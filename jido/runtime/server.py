"""The agent server: one task per agent, a bounded mailbox, signals handled one at a time in arrival order.

An :class:`AgentRef` is the handle users hold. It outlives the server task behind it: when the task crashes
and its supervisor restarts it, the ref, the mailbox (with every signal still queued in it) and the last
committed agent value carry over to the next incarnation. That is how a restarted agent resumes from its
last committed state without losing accepted signals.

Handling one signal: route it to instructions, ``cmd`` them (``strategy.run_async``), then apply the error
policy. A signal that no route accepts, or whose data does not fit the params of the action it routes to, is
*rejected* before anything runs: the caller gets the error, the signal goes to the dead letters, and the agent
goes on, under every policy (bad input from outside must not take an agent down). Under the default policy,
``"crash"``, a signal whose handling produced an error commits nothing: the signal goes to the dead letters with
its error, a waiting ``call`` gets the error, and the server task fails so its supervisor restarts it from the
last committed state. A poison signal therefore cannot crash-loop an agent: it is not in the mailbox anymore.
Otherwise the new agent is committed and its directives are carried out in order.
"""

from __future__ import annotations

import contextlib
import logging
import math
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Final, Generic, Literal, TypeAlias

import attrs
import trio

from jido._typevars import S
from jido.action.exec import validate_params
from jido.action.instruction import Instruction
from jido.agent.spec import Agent, AgentSpec
from jido.agent.strategy import RecoversFromCrash
from jido.directives import Directive, Error, Stop
from jido.errors import (
    AgentFailedError,
    CallTimeoutError,
    ClosedError,
    JidoError,
    MailboxFullError,
    NoRouteError,
    PluginRejectedError,
    RoutingError,
    StaleStateError,
    ValidationError,
)
from jido.runtime.effects import execute_directive
from jido.runtime.error_policy import ErrorPolicy, StopAfter, check_error_policy
from jido.runtime.persistence import Durability, Persistence, idempotency_key
from jido.runtime.scheduler import Scheduler
from jido.signal import Signal
from jido.telemetry import propagation as _propagation
from jido.telemetry.events import (
    DIRECTIVE_EXECUTED,
    SIGNAL_HANDLED,
    SIGNAL_RECEIVED,
    SIGNAL_ROUTED,
    SIGNAL_UNROUTABLE,
)
from jido.telemetry.handlers import _BY_NAME, _FAMILIES, Event, _dispatch, emit
from jido.telemetry.logs import log_context
from jido.telemetry.ring import DEFAULT_RING_SIZE, DebugRing

if TYPE_CHECKING:
    from jido.runtime.runtime import Runtime
    from jido.runtime.supervisor import Supervisor

__all__ = ["MOVED", "AgentRef", "AgentStatus", "ErrorPolicy", "StopAfter", "check_error_policy"]

logger = logging.getLogger("jido.runtime")

AgentStatus: TypeAlias = Literal["starting", "running", "restarting", "stopped", "failed", "hibernated"]

DEFAULT_MAILBOX_SIZE = 1024
MOVED: Final = "moved"
"""The stop reason that says an agent runs on elsewhere (the cluster runtime stops its copy so when the agent's
lease moves to another node): ``ref.stop(MOVED)`` keeps the timers stored with its state, any other reason
takes them out by default."""
_FAIRNESS_BATCH = 64  # signals handled back to back before yielding to other tasks
SYSTEM_PREFIX = "jido."
_SIGNAL_EVENTS = "jido.signal"  # the telemetry family whose handlers make the server time each signal


class Latch:
    """A one-shot event whose ``trio.Event`` is made only when someone waits before it is set.

    Each live agent holds a few of these (stopped, its slot's end, its incarnation's end); most are never
    waited on, and a ``trio.Event`` with its set of waiters is most of the memory they would cost.
    """

    __slots__ = ("_event", "_flag")

    def __init__(self) -> None:
        self._flag = False
        self._event: trio.Event | None = None

    def is_set(self) -> bool:
        return self._flag

    def set(self) -> None:
        self._flag = True
        if self._event is not None:
            self._event.set()

    async def wait(self) -> None:
        """Wait until set; a checkpoint, like ``trio.Event.wait``, when it is already."""
        if self._flag:
            await trio.lowlevel.checkpoint()
            return
        if self._event is None:
            self._event = trio.Event()
        await self._event.wait()


class _Reply:
    """Where a ``call`` waits for its answer."""

    __slots__ = ("agent", "error", "event")

    def __init__(self) -> None:
        self.event = trio.Event()
        self.agent: Agent | None = None
        self.error: BaseException | None = None

    def ok(self, agent: Agent) -> None:
        if not self.event.is_set():
            self.agent = agent
            self.event.set()

    def fail(self, error: BaseException) -> None:
        if not self.event.is_set():
            self.error = error
            self.event.set()


class _Envelope:
    """A signal in a mailbox, with whoever waits for its answer.

    A plain slotted class, not attrs: one is built for every signal sent, and never compared or shown.
    """

    __slots__ = ("key", "origin", "reply", "signal")

    def __init__(
        self,
        signal: Signal,
        reply: _Reply | None = None,
        origin: tuple[str, int] | None = None,
        key: str | None = None,
    ) -> None:
        self.signal = signal
        self.reply = reply
        # Where it came from when it matters for exactly-once: (bus subscription, offset), and an idempotency
        # key.
        self.origin = origin
        self.key = key


@attrs.frozen
class _StopRequest:
    reason: str
    done: trio.Event
    keep_pending: bool = False


_Item: TypeAlias = _Envelope | _StopRequest


class NormalExit(Exception):  # a control-flow signal, not an error: it ends the task normally
    """Raised inside a server task to end it normally (Stop directive, ``ref.stop()``, StopAfter)."""

    def __init__(self, reason: str, *, final: bool = False, keep_pending: bool = False) -> None:
        super().__init__(reason)
        self.reason = reason
        # final: stopped by request (``ref.stop()``, StopAfter), so not restarted whatever its restart kind.
        self.final = final
        # keep_pending: the timers stored with its state stay there (a hibernation, an agent that moved); else
        # an exit that ends the agent for good takes them out, so that no later runtime wakes it.
        self.keep_pending = keep_pending


class AgentRef(Generic[S]):
    """A handle on a running agent; valid across restarts, until the agent stops for good.

    Generic in the agent's state class: ``await rt.start_agent(Counter)`` is an ``AgentRef[Counter]``.

    Attributes:
        id: the agent's id, unique in its runtime.
        spec: the agent's spec.
    """

    def __init__(
        self,
        runtime: Runtime,
        agent: Agent[S],
        *,
        mailbox_size: int = DEFAULT_MAILBOX_SIZE,
        error_policy: ErrorPolicy = "crash",
        parent: AgentRef | None = None,
        tag: str | None = None,
    ) -> None:
        if isinstance(mailbox_size, bool) or not isinstance(mailbox_size, int) or mailbox_size < 1:
            raise ValueError(f"mailbox_size must be an int >= 1, got {mailbox_size!r}")
        self.id = agent.id
        self.spec: AgentSpec = agent.spec
        self._runtime = runtime
        self._agent = agent
        self._send, self._receive = trio.open_memory_channel[_Item](mailbox_size)
        self._mailbox_size = mailbox_size
        self._error_policy = check_error_policy(error_policy)
        self._status: AgentStatus = "starting"
        # Made when someone waits for a state (wait_state) and set by the next commit: most agents are never
        # waited on, and a commit then allocates nothing for it.
        self._changed: trio.Event | None = None
        self._stopped = Latch()
        self._restarts = 0
        self._errors = 0
        self._rejected = 0
        self._duplicates = 0
        # Exactly-once bookkeeping (store revision, bus offsets applied, recent idempotency keys): set when the
        # runtime has a state store, or on the first idempotent send.
        self._durable: Durability | None = None
        # Hibernation: seconds of an empty mailbox after which the agent may leave memory (None: never); set
        # by its slot for agents of the root. Background work (a workflow run) keeps it awake.
        self._idle_timeout: float | None = None
        self._background = 0
        self._successor: AgentRef | None = None  # the incarnation woken after this one hibernated
        self._handled = 0
        self._exit_reason: str | None = None
        self.parent = parent
        self.tag = tag
        self._scheduler: Scheduler | None = None
        self.slot_nursery: trio.Nursery | None = None  # lives until the agent stops for good
        self.children: Supervisor | None = None
        self.child_tags: dict[str, AgentRef] = {}
        self._ring: DebugRing | None = None

    def __repr__(self) -> str:
        return f"<AgentRef {self.id!r} ({self.spec.name}) {self._status}>"

    @property
    def scheduler(self) -> Scheduler | None:
        """The agent's timers and cron jobs, in its slot's nursery (None before the slot has one).

        Made on first use: most agents never schedule anything, and a scheduler is a few objects each.
        """
        scheduler = self._scheduler
        if scheduler is None and self.slot_nursery is not None:
            deliver: Any = self.deliver_nowait  # returns whether it queued: the scheduler ignores it
            scheduler = self._scheduler = Scheduler(self.slot_nursery, deliver, clock=self._runtime.clock)
        return scheduler

    # -- reading -----------------------------------------------------------------------------------------
    @property
    def agent(self) -> Agent[S]:
        """The last committed agent value (no round trip to the server); for a ref held across hibernations,
        that of the latest incarnation."""
        ref = self
        while ref._status == "hibernated" and ref._successor is not None:
            ref = ref._successor
        return ref._agent

    @property
    def state(self) -> S:
        """The last committed state (no round trip to the server)."""
        return self.agent.state

    @property
    def status(self) -> AgentStatus:
        return self._status

    @property
    def restarts(self) -> int:
        """How many times the server task was restarted."""
        return self._restarts

    @property
    def mailbox_depth(self) -> int:
        """Signals waiting in the mailbox."""
        return self._send.statistics().current_buffer_used

    @property
    def mailbox_size(self) -> int:
        return self._mailbox_size

    @property
    def exit_reason(self) -> str | None:
        """Why the agent stopped, once it has."""
        return self._exit_reason

    @property
    def handled(self) -> int:
        """Signals handled and committed (under the "log" policy, failed ones whose state was kept too)."""
        return self._handled

    @property
    def errors(self) -> int:
        """Signals whose handling produced an error, rejected ones included."""
        return self._errors

    @property
    def duplicates(self) -> int:
        """Signals not applied because they were applied already (a bus redelivery, an idempotency key)."""
        return self._duplicates

    @property
    def rejected(self) -> int:
        """Signals rejected: no route accepted them, or their data did not fit the action's params."""
        return self._rejected

    # -- debugging -----------------------------------------------------------------------------------------
    @property
    def debugging(self) -> bool:
        """Whether the debug ring records this agent's events (see :meth:`debug`)."""
        return self._ring is not None and not self._stopped.is_set()

    def debug(self, enabled: bool, size: int = DEFAULT_RING_SIZE) -> None:
        """Turn this agent's debug ring on or off, at any time while it runs.

        While on, the last ``size`` telemetry events concerning the agent (signals received and handled,
        actions, directives, dead letters, crashes, restarts) are kept for :meth:`recent_events`. Turning it
        off discards them. While any agent debugs, every telemetry event in the process is built (see
        :mod:`jido.telemetry.ring`): leave it off in production except to investigate.

        Raises:
            TypeError: ``enabled`` is not a bool.
            ValueError: ``size`` is not an int >= 1.
            ClosedError: turning it on for an agent that has stopped.
        """
        if not isinstance(enabled, bool):
            raise TypeError(f"debug(enabled=...) must be a bool, got {enabled!r}")
        if enabled:
            if self._stopped.is_set():
                raise ClosedError(f"agent {self.id!r} has stopped")
            self._ring = DebugRing.start(self.id, size) if self._ring is None else self._ring.resized(size)
        elif self._ring is not None:
            self._ring.stop()
            self._ring = None

    def recent_events(self) -> tuple[Event, ...]:
        """The events the debug ring holds, oldest first; () when debugging is off.

        After the agent stopped, the ring keeps what it recorded up to the stop (its last events).
        """
        return () if self._ring is None else self._ring.events()

    # -- sending -----------------------------------------------------------------------------------------
    def _check_signal(self, signal: object) -> Signal:
        if not isinstance(signal, Signal):
            raise TypeError(f"expected a jido.Signal, got {type(signal).__name__}")
        if self._stopped.is_set() and self._status != "hibernated":
            if self._status == "failed":
                raise AgentFailedError(self.id)
            raise ClosedError(f"agent {self.id!r} has stopped")
        return signal

    def _hibernated(self) -> bool:
        return self._status == "hibernated"

    # Every send goes through these two: a hibernated agent's messages go to the runtime, which activates it.
    def _enqueue_nowait(self, envelope: _Envelope) -> None:
        if self._status == "hibernated":
            self._runtime._dormancy.send_nowait(self.id, envelope)
            return
        if envelope.key is not None and self._durable is None:
            self._durable = Durability()
        try:
            self._send.send_nowait(envelope)
        except trio.WouldBlock:
            raise MailboxFullError(self.id, self._mailbox_size) from None
        except trio.ClosedResourceError:
            raise ClosedError(f"agent {self.id!r} has stopped") from None

    async def _enqueue(self, envelope: _Envelope) -> None:
        if self._status == "hibernated":
            await self._runtime._dormancy.send(self.id, envelope)
            return
        if envelope.key is not None and self._durable is None:
            self._durable = Durability()
        try:
            await self._send.send(envelope)
        except trio.ClosedResourceError:
            if self._hibernated():  # went to sleep while this send waited
                await self._runtime._dormancy.send(self.id, envelope)
                return
            raise ClosedError(f"agent {self.id!r} has stopped") from None

    async def cast(self, signal: Signal, *, idempotent: bool = False) -> None:
        """Put ``signal`` in the mailbox, waiting for room; it is handled later, in arrival order.

        Args:
            idempotent: the signal's id is its idempotency key: if a signal with that id was applied among the
                agent's recent ones (kept with its state in the store, when there is one), it is not applied
                again. For senders that retry.

        Raises:
            ClosedError: the agent has stopped.
        """
        signal = self._check_signal(signal)
        if _propagation._propagator is not None:
            signal = _propagation.inject(signal)
        envelope = _Envelope(signal, None, None, self._key(signal, idempotent))
        if envelope.key is None and self._status != "hibernated":
            # _enqueue's common case, without a coroutine of its own; anything else takes the long way.
            try:
                await self._send.send(envelope)
            except trio.ClosedResourceError:
                pass  # stopped or gone to sleep meanwhile: _enqueue sorts out which
            else:
                return
        await self._enqueue(envelope)

    def cast_nowait(self, signal: Signal, *, idempotent: bool = False) -> None:
        """Put ``signal`` in the mailbox now (``idempotent`` as for :meth:`cast`).

        Raises:
            MailboxFullError: the mailbox is full (a ``trio.WouldBlock``); nothing was queued.
            ClosedError: the agent has stopped.
        """
        signal = self._check_signal(signal)
        if _propagation._propagator is not None:
            signal = _propagation.inject(signal)
        self._put_nowait(signal, self._key(signal, idempotent))

    def _key(self, signal: Signal, idempotent: object) -> str | None:
        if idempotent is False:
            return None
        if not isinstance(idempotent, bool):
            raise TypeError(f"idempotent must be a bool, got {idempotent!r}")
        return idempotency_key(signal.id) if idempotent else None

    def _put_nowait(self, signal: Signal, key: str | None = None) -> None:
        self._enqueue_nowait(_Envelope(signal, key=key))

    async def call(self, signal: Signal, *, timeout: float = 5.0, idempotent: bool = False) -> Agent[S]:
        """Send ``signal`` and wait until it is handled; returns the agent as committed after it.

        The timeout covers waiting for room in the mailbox and the handling. On timeout the signal stays
        accepted and may still be handled; only the wait ends. With ``idempotent`` (see :meth:`cast`), a call
        sent again after a timeout or a lost connection is answered with the current state, not applied twice.

        Raises:
            NoRouteError: no route of the agent matches the signal.
            ActionError / ValidationError: handling the signal failed (the first error, others in notes).
            CallTimeoutError: no answer within ``timeout`` seconds.
            ClosedError: the agent stopped before answering.
        """
        signal = self._check_signal(signal)
        if _propagation._propagator is not None:
            signal = _propagation.inject(signal)
        return await self._call(signal, timeout, key=self._key(signal, idempotent))

    async def _call(
        self,
        signal: Signal,
        timeout: float,
        *,
        origin: tuple[str, int] | None = None,
        key: str | None = None,
    ) -> Agent[S]:
        """``call`` without stamping trace context: for the runtime's own delivery tasks (bus subscriptions,
        which give their ``origin``), which may have inherited an unrelated span from the task that started
        them."""
        signal = self._check_signal(signal)
        reply = _Reply()
        with trio.move_on_after(timeout) as scope:
            await self._enqueue(_Envelope(signal, reply, origin, key))
            await reply.event.wait()
        if scope.cancelled_caught:
            raise CallTimeoutError(self.id, signal.type, timeout)
        if reply.error is not None:
            raise reply.error
        assert reply.agent is not None
        return reply.agent

    async def stop(self, reason: str = "normal", *, keep_pending: bool | None = None) -> None:
        """Stop the agent after the signals already in its mailbox, and wait until it has stopped.

        Args:
            reason: why, as ``exit_reason`` will say.
            keep_pending: keep the timers and cron jobs stored with its state (a state store), so that the
                runtime that runs it next gets them back; by default only for the reason :data:`MOVED` (the
                agent runs on elsewhere). Otherwise they are taken out of the store (for a running agent, before
                this returns): an agent stopped for good is not woken by a later runtime when a timer comes due.
        """
        keep = reason == MOVED if keep_pending is None else keep_pending
        if self._status == "hibernated":
            dormancy = self._runtime._dormancy
            while True:
                waking = dormancy._waking.get(self.id)
                if waking is not None:
                    await waking.done.wait()  # a wake under way: stop what it wakes
                    continue
                live = self._runtime.whereis(self.id)
                if live is not None and live is not self:
                    await live.stop(reason, keep_pending=keep)
                    return
                await self._stopped.wait()
                if self.id not in dormancy._waking:  # none started while its task was ending
                    dormancy.forget(self.id, clear=not keep)
                    return
        if self._stopped.is_set():
            return
        done = trio.Event()
        with contextlib.suppress(trio.ClosedResourceError):
            await self._send.send(_StopRequest(reason, done, keep))
        await self._stopped.wait()

    # -- waiting -----------------------------------------------------------------------------------------
    async def wait_state(self, predicate: Callable[[Any], bool], *, timeout: float = math.inf) -> Any:
        """Wait until ``predicate(state)`` holds for a committed state; returns that state.

        Raises:
            trio.TooSlowError: not within ``timeout`` seconds.
            ClosedError: the agent stopped first.
        """
        with trio.fail_after(timeout):
            while True:
                ref = self
                while ref._successor is not None:  # the latest incarnation, across hibernations
                    ref = ref._successor
                state = ref._agent.state
                if predicate(state):
                    return state
                if ref._stopped.is_set():
                    if ref._status != "hibernated":
                        raise ClosedError(f"agent {self.id!r} stopped before its state matched")
                    # Asleep: its state changes only once it is woken (by a message or a timer).
                    if await self._runtime._dormancy.wait_awake(self.id) is None:
                        raise ClosedError(f"agent {self.id!r} stopped before its state matched")
                    continue
                changed = ref._changed
                if changed is None:
                    changed = ref._changed = trio.Event()
                await changed.wait()

    async def await_completion(
        self,
        field: str = "status",
        *,
        done: tuple[Any, ...] = ("completed", "failed"),
        timeout: float = math.inf,
    ) -> Any:
        """Wait until the state's ``field`` takes one of the ``done`` values; returns the state."""
        if field not in {a.name for a in attrs.fields(self.spec.state)}:
            raise ValueError(f"agent {self.id!r} has no state field {field!r}")
        return await self.wait_state(lambda state: getattr(state, field) in done, timeout=timeout)

    async def wait_stopped(self) -> None:
        """Wait until the agent has stopped for good."""
        await self._stopped.wait()

    # -- used by the server task and its supervisor --------------------------------------------------------
    def _commit(self, agent: Agent) -> None:
        self._agent = agent
        changed = self._changed
        if changed is not None:
            self._changed = None
            changed.set()

    def deliver_nowait(self, signal: Signal) -> bool:
        """Queue a signal from inside the runtime without waiting; a full or closed mailbox dead-letters it.

        Not stamped with trace context: timers and lifecycle notices carry what they were given."""
        try:
            self._put_nowait(self._check_signal(signal))
        except MailboxFullError as exc:
            self._runtime.dead_letter(signal, exc, self.id, "mailbox_full")
            return False
        except ClosedError as exc:
            self._runtime.dead_letter(signal, exc, self.id, "agent_stopped")
            return False
        return True

    async def deliver(self, signal: Signal) -> bool:
        """Queue a signal from inside the runtime, waiting for room; a closed mailbox dead-letters it.

        For what must not be lost to a busy agent (how a workflow run ended). Not stamped with trace context.
        """
        try:
            await self._enqueue(_Envelope(self._check_signal(signal)))
        except ClosedError as exc:
            self._runtime.dead_letter(signal, exc, self.id, "agent_stopped")
            return False
        return True

    def _finish(self, reason: str, *, failed: bool) -> None:
        """The agent stopped for good (or hibernated): close the mailbox and answer or dead-letter what is
        still in it (nothing, for a hibernation: its mailbox was empty and sends go to the runtime since)."""
        if self._status != "hibernated":
            self._status = "failed" if failed else "stopped"
        self._exit_reason = reason
        self._send.close()
        closed = (
            AgentFailedError(self.id)
            if failed
            else ClosedError(f"agent {self.id!r} stopped ({reason}) before handling the signal")
        )
        code = "agent_failed" if failed else "agent_stopped"
        while True:
            try:
                item = self._receive.receive_nowait()
            except (trio.WouldBlock, trio.EndOfChannel):
                break
            if isinstance(item, _StopRequest):
                item.done.set()
            elif item.reply is not None:
                item.reply.fail(closed)
            elif item.signal.type.startswith(SYSTEM_PREFIX):
                # Lifecycle notices (a child's exit while this agent stops) mean nothing to a stopped agent.
                self._runtime.count_ignored_system_signal()
            else:
                self._runtime.dead_letter(item.signal, closed, self.id, code)
        self._stopped.set()
        if self._changed is not None:
            self._changed.set()

    def _close_ring(self) -> None:
        """Stop the debug ring recording (the agent stopped for good); what it holds stays readable."""
        if self._ring is not None:
            self._ring.stop()


async def serve_agent(
    ref: AgentRef, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED
) -> None:
    """One incarnation of an agent's server task: handle mailbox items until stopped or crashed.

    Raises:
        NormalExit: the agent stopped normally (a Stop directive, ``ref.stop()``, StopAfter).
        Exception: the agent crashed; its supervisor decides what follows.
    """
    ref._status = "running"
    task_status.started()
    del task_status  # it holds the nursery the task started in: not kept alive as long as the agent
    receive = ref._receive
    clock = trio.lowlevel.current_clock()  # what trio.current_time() reads, looked up once
    runtime_sinks = ref._runtime.handled_sinks
    while True:
        idle = ref._idle_timeout
        if idle is None:
            item = await receive.receive()
        else:
            with trio.move_on_after(idle):
                item = await receive.receive()
                idle = None
            if idle is not None:
                if _may_hibernate(ref):
                    # Decided with the mailbox empty and no await since: from here on every send to this
                    # ref goes to the runtime, which wakes the agent again; nothing can land in the old mailbox.
                    ref._status = "hibernated"
                    raise NormalExit("hibernated", final=True, keep_pending=True)
                continue
        handled = 0
        while True:
            sinks = runtime_sinks.sinks
            if (_SIGNAL_EVENTS not in _FAMILIES and not sinks) or type(item) is not _Envelope:
                await _handle_item(ref, item)
            else:
                # Between jido.signal.received and jido.signal.handled events. Written here rather than in a
                # function of its own: a coroutine more per signal was most of what an observer cost.
                if SIGNAL_RECEIVED in _BY_NAME:
                    _received(ref, item)
                start = clock.current_time()
                outcome: _Outcome = _CRASHED
                try:
                    outcome = await _handle_item(ref, item)
                except NormalExit:
                    outcome = _OK  # handled; a Stop directive (or StopAfter) ends the agent after it
                    raise
                except trio.Cancelled:
                    outcome = _CANCELLED
                    raise
                except BaseException as exc:
                    outcome = ("crashed", exc)
                    raise
                finally:
                    if sinks:  # Runtime.observe_handled: the duration and outcome, without building an event
                        runtime_sinks.deliver(ref.id, outcome[0], clock.current_time() - start)
                    found = _BY_NAME.get(SIGNAL_HANDLED)
                    if found:  # emit(), without looking the handlers up again nor packing keywords
                        signal = item.signal
                        fields = {
                            "agent_id": ref.id,
                            "signal_id": signal.id,
                            "signal_type": signal.type,
                            "duration": clock.current_time() - start,
                            "outcome": outcome[0],
                            "error": outcome[1],
                        }
                        _dispatch(SIGNAL_HANDLED, found, fields)
            handled += 1
            if handled % _FAIRNESS_BATCH == 0:
                await trio.lowlevel.checkpoint()
            try:
                item = receive.receive_nowait()  # drain a burst without rescheduling per signal
            except trio.WouldBlock:
                break


def _may_hibernate(ref: AgentRef) -> bool:
    """Whether the agent holds nothing that needs its task: no message, child or background run (those keep it
    awake; its timers and cron jobs sleep with it and wake it when due)."""
    if ref.mailbox_depth or ref._background or ref.child_tags:
        return False
    if ref.id in ref._runtime._dormancy._waking:
        return False  # still being woken: what was sent meanwhile is about to be handed to it
    return ref.children is None or not ref.children.slots


_Outcome: TypeAlias = tuple[str, BaseException | None]
_OK: _Outcome = ("ok", None)
_IGNORED: _Outcome = ("ignored", None)
_DUPLICATE: _Outcome = ("duplicate", None)
_CRASHED: _Outcome = ("crashed", None)
_CANCELLED: _Outcome = ("cancelled", None)


def _received(ref: AgentRef, item: _Envelope) -> None:
    signal = item.signal
    emit(
        SIGNAL_RECEIVED,
        agent_id=ref.id,
        signal_id=signal.id,
        signal_type=signal.type,
        correlation_id=signal.correlationid or signal.id,
        signal=signal,
        call=item.reply is not None,
        mailbox_depth=ref.mailbox_depth,
    )


def _unroutable(ref: AgentRef, signal: Signal, error: RoutingError, *, ignored: bool) -> None:
    emit(
        SIGNAL_UNROUTABLE,
        agent_id=ref.id,
        signal_id=signal.id,
        signal_type=signal.type,
        error=error,
        ignored=ignored,
    )


async def _handle_item(ref: AgentRef, item: _Item) -> _Outcome:
    if isinstance(item, _StopRequest):
        item.done.set()
        raise NormalExit(item.reason, final=True, keep_pending=item.keep_pending)
    signal, reply = item.signal, item.reply
    runtime = ref._runtime
    durable = ref._durable
    if durable is not None and durable.seen(item.origin, item.key):
        # Applied already: a bus record delivered again after a crash that came between storing and acking,
        # or a retried send with the same idempotency key. Answered with the state, not applied twice.
        ref._duplicates += 1
        if reply is not None:
            reply.ok(ref._agent)
        return _DUPLICATE
    try:
        instructions = ref.spec.instructions_for(signal)
    except NoRouteError as exc:
        ignored = signal.type.startswith(SYSTEM_PREFIX) and reply is None
        if SIGNAL_UNROUTABLE in _BY_NAME:
            _unroutable(ref, signal, exc, ignored=ignored)
        if ignored:
            # Lifecycle signals (jido.agent.child.started, ...) are offered to agents that route them;
            # an agent without such a route has simply not asked for them.
            runtime.count_ignored_system_signal()
            return _IGNORED
        return _reject(ref, signal, reply, exc, "no_route")
    except PluginRejectedError as exc:  # a plugin's before_route hook refused it: not a missing route
        return _reject(ref, signal, reply, exc, "rejected")
    except RoutingError as exc:
        if SIGNAL_UNROUTABLE in _BY_NAME:
            _unroutable(ref, signal, exc, ignored=False)
        return _reject(ref, signal, reply, exc, "no_route")
    except Exception as exc:  # a route's params function raised on this signal's data: the data is bad
        error = ValidationError.at(
            "$.data",
            f"the route's params function raised {type(exc).__name__}: {exc}",
            subject=f"{signal.type} params",
        )
        error.__cause__ = exc
        return _reject(ref, signal, reply, error, "invalid_params")
    if not signal.type.startswith(SYSTEM_PREFIX):
        # The runtime's own signals (a workflow's outcome) are not refused here: their strategy must see
        # their errors, or a run whose outcome does not fit would stay "running" for ever.
        try:
            instructions = _validated(instructions)
        except ValidationError as exc:
            return _reject(ref, signal, reply, exc, "invalid_params")
    if SIGNAL_ROUTED in _BY_NAME:
        emit(
            SIGNAL_ROUTED,
            agent_id=ref.id,
            signal_id=signal.id,
            signal_type=signal.type,
            actions=tuple(i.action.name for i in instructions),
        )
    try:
        agent, directives = await ref.spec.strategy.run_async(ref._agent, instructions, signal=signal)
    except Exception as exc:  # a strategy's own bug: a crash, but the sender is answered and nothing is lost
        ref._errors += 1
        runtime.dead_letter(signal, exc, ref.id, "crash")
        if reply is not None:
            reply.fail(exc)
        raise
    if directives:
        errors = [d.error for d in directives if isinstance(d, Error)]
        if errors:
            return await _on_errors(ref, item, errors, agent=agent, directives=directives)
    if ref._durable is None:
        ref._commit(agent)  # _commit_durably's first branch, without a coroutine of its own
    else:
        failure = await _commit_durably(ref, agent, item)
        if failure is not None:
            return _not_stored(ref, item, failure)
    ref._handled += 1
    if directives:
        await _carry_out_or_crash(ref, signal, reply, directives)
    if reply is not None:
        reply.ok(ref._agent)
    return _OK


async def _commit_durably(ref: AgentRef, agent: Agent, item: _Envelope) -> Exception | None:
    """Commit ``agent`` as the result of ``item``: stored first when the runtime has a state store (with the
    bus offset and idempotency key it applies, in the same write), then in memory. Returns the store's error
    instead when the write failed: then nothing is committed, the agent stays as it was."""
    durable = ref._durable
    if durable is not None:
        persistence = ref._runtime.persistence
        if persistence is not None:
            try:
                await persistence.save(agent, durable, origin=item.origin, key=item.key)
            except StaleStateError as exc:
                await _adopt_stored(ref, persistence)
                return exc
            except Exception as exc:  # the store failed: reported to the sender, never a crash of the agent
                return exc
        elif item.origin is not None or item.key is not None:
            applied, recent = durable.after(item.origin, item.key)
            durable.adopt(durable.revision, applied, recent)
    ref._commit(agent)
    return None


async def _adopt_stored(ref: AgentRef, persistence: Persistence) -> None:
    """Another writer stored this agent since we last did: take what it stored as the committed state."""
    try:
        restored = await persistence.restore(ref._agent)
    except Exception:
        logger.exception("agent %r: could not reload its stored state after a conflict", ref.id)
        return
    ref._durable = restored.durability
    ref._commit(restored.agent)


def _not_stored(ref: AgentRef, item: _Envelope, error: Exception) -> _Outcome:
    """A state the store did not take: the sender learns it and nothing accepted is lost. A call gets the
    error; a bus delivery is not acked (it comes again); a plain cast goes to the dead letters."""
    ref._errors += 1
    logger.warning(
        "agent %r: the new state after %r (id %s) was not stored, so not committed: %s",
        ref.id,
        item.signal.type,
        item.signal.id,
        error,
        extra=log_context(item.signal, agent_id=ref.id),
    )
    if item.reply is not None:
        item.reply.fail(error)
    elif item.origin is None:
        ref._runtime.dead_letter(item.signal, error, ref.id, "not_stored")
    return ("error", error)


def _validated(instructions: tuple[Instruction, ...]) -> tuple[Instruction, ...]:
    """The routed instructions with their params validated, before any of them runs.

    Params come from the signal's data, that is from outside: data that does not fit is a rejection of the
    signal, decided before any action runs, never a crash. The validated instance replaces the mapping, so the
    action does not validate it again. Paths are rooted at the signal (``$.data.by``).

    Raises:
        ValidationError: the first instruction whose params do not fit, with ``$.data...`` paths.
    """
    checked: list[Instruction] | None = None
    for index, instruction in enumerate(instructions):
        spec = instruction.action
        if isinstance(instruction.params, spec.params):
            continue
        try:
            params = validate_params(spec, instruction.params)
        except ValidationError as exc:
            raise exc.prefixed("$.data") from None
        if checked is None:
            checked = list(instructions)
        # Not ``with_params``, which keeps the id and so makes it: nobody has seen the routed instruction,
        # and the validated one takes its place with its id still to be made when first read.
        checked[index] = Instruction(
            spec, params, instruction.context, instruction.timeout, instruction.retry
        )
    return instructions if checked is None else tuple(checked)


def _reject(ref: AgentRef, signal: Signal, reply: _Reply | None, error: JidoError, reason: str) -> _Outcome:
    """Refuse a signal that no route accepts or whose data does not fit: the caller gets the error and the
    signal goes to the dead letters, under every error policy. A rejection is not a crash: nothing ran, the
    state is as it was, the agent does not restart and no restart budget counts it. Whoever sends bad signals
    cannot take the agent down with them."""
    ref._errors += 1
    ref._rejected += 1
    ref._runtime.dead_letter(signal, error, ref.id, reason)
    if reply is not None:
        reply.fail(error)
    return ("rejected", error)


async def _carry_out_or_crash(
    ref: AgentRef, signal: Signal, reply: _Reply | None, directives: list[Directive]
) -> None:
    """Carry out the directives of a committed signal; if one cannot be carried out, the agent crashes, the
    caller gets the error and the signal is recorded as a dead letter with it (the state stays committed)."""
    try:
        await _carry_out(ref, signal, directives)
    except NormalExit:
        # The signal was handled: a Stop among its directives ends the agent after it.
        if reply is not None:
            reply.ok(ref._agent)
        raise
    except Exception as exc:
        exc.add_note(
            f"while carrying out the directives of {signal.type!r} (id {signal.id}) in agent {ref.id!r}"
        )
        ref._runtime.dead_letter(signal, exc, ref.id, "directive_failed")
        if reply is not None:
            reply.fail(exc)
        raise


def _first_error(errors: list[BaseException]) -> BaseException:
    first = errors[0]
    for other in errors[1:]:
        first.add_note(f"also: {type(other).__name__}: {other}")
    return first


async def _on_errors(
    ref: AgentRef,
    item: _Envelope,
    errors: list[BaseException],
    *,
    agent: Agent | None,
    directives: list[Directive],
) -> _Outcome:
    """Apply the error policy; returns ("error", error) when the agent goes on (it raises otherwise)."""
    signal, reply = item.signal, item.reply
    error = _first_error(errors)
    ref._errors += 1
    policy = ref._error_policy
    if policy == "crash":
        # Atomic: nothing of this signal is committed; it goes to the dead letters and the task fails.
        ref._runtime.dead_letter(signal, error, ref.id, "crash")
        _after_crash(ref, signal, error)
        if reply is not None:
            reply.fail(error)
        raise error
    logger.warning(
        "agent %r: handling %r (id %s) failed: %s",
        ref.id,
        signal.type,
        signal.id,
        error,
        extra=log_context(signal, agent_id=ref.id),
    )
    if agent is not None:
        failure = await _commit_durably(ref, agent, item)
        if failure is not None:
            return _not_stored(ref, item, failure)
        ref._handled += 1
        await _carry_out_or_crash(ref, signal, reply, [d for d in directives if not isinstance(d, Error)])
    if reply is not None:
        reply.fail(error)
    failures = ref._errors - ref._rejected  # rejections come from senders, not from the agent's own work
    if isinstance(policy, StopAfter) and failures >= policy.errors:
        raise NormalExit(f"stopped after {failures} errors", final=True)
    return ("error", error)


def _after_crash(ref: AgentRef, signal: Signal, error: BaseException) -> None:
    """Ask a strategy that has its own answer to a crash what the restarted agent should handle next, and
    deliver it (waiting for room in the mailbox, after the restart). A hook that raises is logged."""
    strategy = ref.spec.strategy
    if not isinstance(strategy, RecoversFromCrash):
        return
    try:
        follow_up = strategy.after_crash(ref.id, signal, error)
    except Exception:
        logger.exception(
            "agent %r: the strategy's after_crash hook raised", ref.id, extra={"agent_id": ref.id}
        )
        return
    if follow_up is None:
        return
    if not isinstance(follow_up, Signal):
        logger.error(
            "agent %r: the strategy's after_crash returned %r, not a Signal; ignored",
            ref.id,
            follow_up,
            extra={"agent_id": ref.id},
        )
        return
    nursery = ref.slot_nursery
    if nursery is not None:
        nursery.start_soon(ref.deliver, follow_up)


async def _carry_out(ref: AgentRef, signal: Signal, directives: list[Directive]) -> None:
    if not directives:
        return
    for directive in directives:
        observed = DIRECTIVE_EXECUTED in _BY_NAME
        if isinstance(directive, Stop):
            if observed:
                _directive_executed(ref, signal, directive, 0.0, None)
            raise NormalExit(directive.reason)
        if not observed:
            await execute_directive(ref, signal, directive)
            continue
        start = trio.current_time()
        try:
            await execute_directive(ref, signal, directive)
        except Exception as exc:
            _directive_executed(ref, signal, directive, trio.current_time() - start, exc)
            raise
        _directive_executed(ref, signal, directive, trio.current_time() - start, None)


def _directive_executed(
    ref: AgentRef, signal: Signal, directive: Directive, duration: float, error: Exception | None
) -> None:
    emit(
        DIRECTIVE_EXECUTED,
        agent_id=ref.id,
        signal_id=signal.id,
        directive=type(directive).__name__,
        duration=duration,
        outcome="ok" if error is None else "error",
        error=error,
    )


def is_crash(error: BaseException) -> bool:
    """Whether an incarnation's exit is a crash (anything but a normal exit)."""
    return not isinstance(error, NormalExit)


def describe_exit(error: BaseException) -> str:
    if isinstance(error, NormalExit):
        return error.reason
    if isinstance(error, JidoError):
        return f"{type(error).__name__}: {error}"
    return repr(error)
