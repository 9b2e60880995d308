"""Hibernation and activation: an idle agent leaves memory and comes back on its next message.

An agent started at the root (``start_agent``) with an ``idle_timeout`` (its own, or the runtime's default)
hibernates when its mailbox has been empty that long and it holds nothing that needs its task (no child, no
workflow run): its task ends and the runtime keeps a *dormant* entry of a few hundred bytes: an index into a
table of agent kinds, its state as JSON text when there is no state store (with a store, its state is there
already: each commit was stored), and its pending timers and cron jobs as JSON text
(:meth:`~jido.runtime.scheduler.Scheduler.export`). A dormant entry holds no reference to any object the
garbage collector tracks, so a million dormant agents add nothing to a full collection's pause.

The runtime keeps one alarm for all dormant agents: a heap of (due time, agent id) served by one task. When a
dormant agent's earliest timer or cron tick comes due, the alarm wakes it; woken (by the alarm or by a
message), it gets its timers and cron jobs back as they were, so a timer that came due fires at once and a
cron tick planned meanwhile fires once.

With a state store, the pending work of a root agent is also written to the store, with its state and with
wall-clock deadlines (trio time means nothing in another process), and the write's ``wake_at`` says when the
earliest comes due: with each of its commits (:meth:`~jido.runtime.persistence.Persistence.save`), when it
hibernates with timers changed since its last commit, and when the runtime closes with it running. A runtime
opened later on the same store lists those wakeups (stores with :class:`~jido.store.store.WakeupIndex`) and,
as each comes due, wakes its agent, if it knows the agent's class by its spec name (given to
``open_runtime(agents=...)``, or used with ``start_agent`` / ``Runtime.agent`` in this runtime; an agent whose
class is not known yet waits until it is). An agent started from the store by any way gets its stored timers
back: one that came due while no process ran fires at once, a cron tick planned meanwhile fires once.

Any message to a dormant agent (a cast or call on a ref held from before, a bus delivery, a virtual agent's
send) activates it: it starts again from its state, and the messages that arrived while it was starting are
handed to it first, in arrival order. Bus subscriptions of a dormant agent stay open (they wake it).
"""

from __future__ import annotations

import collections
import contextlib
import heapq
import itertools
import json
import logging
import math
import weakref
from typing import TYPE_CHECKING, Any, Final, Generic, TypeAlias

import attrs
import trio

from jido._typevars import S
from jido.agent.spec import Agent, AgentSpec
from jido.clock import DEFAULT_MAX_NAP, sleep_until_wall
from jido.convert import structure, unstructure
from jido.errors import AgentNotFoundError, ClosedError, JidoError, MailboxFullError
from jido.runtime.persistence import Durability, Persistence, idempotency_key
from jido.runtime.scheduler import PendingWork, Scheduler
from jido.runtime.server import AgentRef, ErrorPolicy, _Envelope
from jido.runtime.supervisor_spec import RestartKind
from jido.signal import Signal
from jido.store.store import WakeupIndex
from jido.telemetry.events import AGENT_ACTIVATED, AGENT_HIBERNATED
from jido.telemetry.handlers import _BY_NAME, emit

if TYPE_CHECKING:
    from jido.runtime.runtime import Runtime

__all__ = ["Dormancy", "HibernatedAgent", "VirtualAgent"]

logger = logging.getLogger("jido.runtime")

_Kind: TypeAlias = tuple[AgentSpec, RestartKind, int | None, ErrorPolicy]
# A dormant entry: (kind index, state JSON or None, pending timers/cron JSON or None, generation). Ints and strs
# in a plain tuple, so the garbage collector untracks it. The generation tells a current alarm from one left
# by an earlier sleep of the same agent.
_Entry: TypeAlias = tuple[int, str | None, str | None, int]
# Alarms whose agent woke before them stay in the heap until due; past this many, and past twice the live
# ones, the heap is rebuilt without them, so an agent that sleeps and wakes often cannot grow it without bound.
_COMPACT_AFTER: Final = 64
_MAX_WAKE_BACKOFF: Final = 60.0  # seconds: the longest wait before the alarm tries a failed wake again
_WAKEUP_PAGE: Final = 1000  # stored wakeups read at a time
_STORED_WAKES: Final = 64  # wakes of stored sleepers under way at once (a backlog after a long outage)
_PARKED_MAX: Final = 100_000  # stored sleepers due whose class is not known yet, kept to wake once it is


@attrs.frozen
class HibernatedAgent:
    """What the runtime keeps of a hibernated agent, as :meth:`Runtime.hibernated_agents` lists it."""

    id: str
    name: str  # the agent's class (its spec name)
    restart: RestartKind
    pending_work: bool  # it has timers or cron jobs that will wake it when due


class _Waking:
    """An activation under way: what was sent meanwhile, in arrival order, and when it is done."""

    __slots__ = ("done", "error", "pending", "ref", "size")

    def __init__(self, size: int) -> None:
        self.pending: collections.deque[_Envelope] = collections.deque()
        self.ref: AgentRef | None = None
        self.size = size
        self.done = trio.Event()
        self.error: BaseException | None = None


class Dormancy:
    """The runtime's dormant agents and their activations."""

    def __init__(self, runtime: Runtime) -> None:
        self._runtime = runtime
        self._kinds: list[_Kind] = []
        self._kind_index: dict[_Kind, int] = {}
        # id -> entry (see _Entry): ints and strs only, so the garbage collector untracks it.
        self._dormant: dict[str, _Entry] = {}
        self._waking: dict[str, _Waking] = {}
        # The last incarnation of each dormant agent, while someone still holds its ref (weakly: nothing is
        # kept for agents nobody holds): woken, it learns its successor, so the held ref reads the new state.
        self._previous: weakref.WeakValueDictionary[str, AgentRef] = weakref.WeakValueDictionary()
        self.hibernations = 0
        self.activations = 0
        # (trio time due, generation, id) of dormant agents' timers, and (POSIX time due, generation, id) of
        # their cron ticks (wall clock); served by one task while either is non-empty.
        self._alarms: list[tuple[float, int, str]] = []
        self._wall_alarms: list[tuple[float, int, str]] = []
        self._alarm_running = False
        self._alarm_nap: trio.CancelScope | None = None
        # Agents whose last wakes failed in a row (their stored state unreadable, ...): the count sets the
        # backoff of the next try by the alarm, so their timers are not lost and a broken one is not retried
        # in a loop.
        self._wake_failures: dict[str, int] = {}
        self._woken: dict[str, trio.Event] = {}  # agent id -> set when it is awake again, or gone
        # With a store: agents whose pending work is being written (a wake waits for the write), the agent
        # kinds known by spec name (to wake sleepers a runtime before this one left in the store), the
        # stored sleepers due whose kind is not known yet (by name), and those this runtime took over.
        self._storing: dict[str, trio.Event] = {}
        self.specs: dict[str, AgentSpec] = {}
        self._parked: dict[str, list[str]] = {}
        self._parked_count = 0
        self._claimed: set[str] = set()
        # Agents woken by serve_wakeups, while they run and no start_agent has asked for them: start_agent of
        # such an id (and class) returns it as it is. Running agents at most: one leaves when its task ends.
        self.woken_from_store: set[str] = set()

    def __len__(self) -> int:
        return len(self._dormant)

    def __contains__(self, agent_id: object) -> bool:
        return agent_id in self._dormant

    def listed(self, *, offset: int, limit: int, contains: str = "") -> tuple[list[HibernatedAgent], int]:
        """Up to ``limit`` dormant agents from ``offset`` in hibernation order (the oldest sleeper first), and how
        many matched in all. ``contains`` keeps those whose id or class name contains it (case-insensitive).

        Without a filter this costs O(offset + limit); a filter scans every entry (a million entries take
        a few hundred milliseconds): callers that serve requests should bound how often they ask.
        """
        if offset < 0 or limit < 0:
            raise ValueError(f"offset and limit must be >= 0, got offset={offset}, limit={limit}")
        kinds = self._kinds
        needle = contains.lower()
        if not needle:
            window = itertools.islice(self._dormant.items(), offset, offset + limit)
            rows = [self._listed(agent_id, entry, kinds) for agent_id, entry in window]
            return rows, len(self._dormant)
        matching_kinds = {i for i, kind in enumerate(kinds) if needle in kind[0].name.lower()}
        rows = []
        total = 0
        for agent_id, entry in self._dormant.items():
            if entry[0] in matching_kinds or needle in agent_id.lower():
                if offset <= total < offset + limit:
                    rows.append(self._listed(agent_id, entry, kinds))
                total += 1
        return rows, total

    def entry(self, agent_id: str) -> HibernatedAgent | None:
        """The dormant entry of ``agent_id`` as :meth:`listed` shows it, or None when it does not sleep (O(1))."""
        entry = self._dormant.get(agent_id)
        return None if entry is None else self._listed(agent_id, entry, self._kinds)

    def spec_of(self, agent_id: str) -> AgentSpec | None:
        """The spec of the dormant agent ``agent_id``, or None when it does not sleep."""
        entry = self._dormant.get(agent_id)
        return None if entry is None else self._kinds[entry[0]][0]

    @staticmethod
    def _listed(agent_id: str, entry: _Entry, kinds: list[_Kind]) -> HibernatedAgent:
        spec, restart, _size, _policy = kinds[entry[0]]
        return HibernatedAgent(agent_id, spec.name, restart, entry[2] is not None)

    # -- hibernating ---------------------------------------------------------------------------------------
    def hibernated(
        self, ref: AgentRef, restart: RestartKind, mailbox_size: int | None, error_policy: ErrorPolicy
    ) -> None:
        """Keep ``ref``'s agent as a dormant entry (its task has ended)."""
        kind: _Kind = (ref.spec, restart, mailbox_size, error_policy)
        index = self._kind_index.get(kind)
        if index is None:
            index = len(self._kinds)
            self._kinds.append(kind)
            self._kind_index[kind] = index
        persistence = self._runtime.persistence
        data = (
            None if persistence is not None else json.dumps(unstructure(ref._agent.state), ensure_ascii=False)
        )
        self.hibernations += 1
        generation = self.hibernations
        pending: str | None = None
        scheduler = ref.scheduler
        # Exported when there is anything to keep, or the class declares cron jobs: a declared job cancelled
        # before the sleep must stay cancelled, not come back when the agent starts again.
        work = wall = None
        if scheduler is not None and (scheduler.pending() or scheduler.has_jobs() or ref.spec.schedules):
            work = scheduler.export()
            pending = work.text
            if persistence is not None:
                wall = scheduler.export(wall=True)
        durable = ref._durable
        if persistence is not None and durable is not None and _store_needed(durable, scheduler, wall):
            # Written beside its state, so that the timers outlive the process; in memory they stay exact.
            self._store_soon(persistence, ref._agent, durable, wall)
        # The entry first: setting an alarm may compact the heaps, which keep only alarms of dormant entries.
        self._dormant[ref.id] = (index, data, pending, generation)
        self._previous[ref.id] = ref
        if work is not None:
            if work.next_timer is not None:
                self._set_alarm(self._alarms, work.next_timer, generation, ref.id)
            if work.next_cron is not None:
                self._set_alarm(self._wall_alarms, work.next_cron.timestamp(), generation, ref.id)
        logger.debug("agent %r hibernated", ref.id, extra={"agent_id": ref.id})
        if AGENT_HIBERNATED in _BY_NAME:
            emit(AGENT_HIBERNATED, agent_id=ref.id, agent=ref.spec.name)

    # -- pending work in the store ---------------------------------------------------------------------------
    def _store_soon(
        self, persistence: Persistence, agent: Agent, durable: Durability, work: PendingWork | None
    ) -> None:
        nursery = self._runtime._nursery
        if nursery is None:
            return
        done = self._storing[agent.id] = trio.Event()
        try:
            nursery.start_soon(self._store_pending, persistence, agent, durable, work, done)
        except RuntimeError:  # the runtime is closing: the pending work stays in memory only
            del self._storing[agent.id]
            done.set()

    async def _store_pending(
        self,
        persistence: Persistence,
        agent: Agent,
        durable: Durability,
        work: PendingWork | None,
        done: trio.Event,
    ) -> None:
        try:
            await persistence.save_pending(
                agent,
                durable,
                None if work is None else work.text,
                None if work is None else work.wake_at,
                by=self._runtime.runtime_id,
            )
        except Exception as exc:
            # Its state is stored already; only the copy of its timers is not (they stay in memory, and do
            # not outlive the process).
            logger.warning(
                "agent %r: its pending timers could not be stored: %s",
                agent.id,
                exc,
                extra={"agent_id": agent.id},
            )
        finally:
            if self._storing.get(agent.id) is done:
                del self._storing[agent.id]
            done.set()

    async def wait_stored(self) -> None:
        """Until the pending work being written to the store is written (or failed)."""
        while self._storing:
            await next(iter(self._storing.values())).wait()

    async def store_on_close(self, refs: list[AgentRef]) -> None:
        """Write the pending work of root agents that ran until the runtime closed (their timers and cron
        jobs, left in their schedulers when their tasks were cancelled), so that a runtime opened later on
        the store gets them back."""
        persistence = self._runtime.persistence
        if persistence is None:
            return
        async with trio.open_nursery() as nursery:
            for ref in refs:
                scheduler, durable = ref.scheduler, ref._durable
                if scheduler is None or durable is None or ref._status in ("hibernated", "failed"):
                    continue
                work = None
                if scheduler.pending() or scheduler.has_jobs() or ref.spec.schedules:
                    work = scheduler.export(wall=True)
                if _store_needed(durable, scheduler, work):
                    nursery.start_soon(
                        self._store_pending, persistence, ref._agent, durable, work, trio.Event()
                    )

    def learn(self, spec: AgentSpec) -> None:
        """Know ``spec`` by its name (the first spec of a name stays), and wake the stored sleepers due that
        were waiting for it."""
        if self.specs.setdefault(spec.name, spec) is not spec:
            return
        for agent_id in self._parked.pop(spec.name, ()):
            self._parked_count -= 1
            self._wake_stored(agent_id, spec)

    def _wake_stored(self, agent_id: str, spec: AgentSpec) -> _Waking | None:
        if agent_id in self._runtime._registry or agent_id in self._dormant or agent_id in self._waking:
            return None
        with contextlib.suppress(ClosedError):  # the runtime is closing: a later one wakes it
            waking = self._waking_for(agent_id, spec)
            self.woken_from_store.add(agent_id)
            return waking
        return None

    async def serve_wakeups(
        self, index: WakeupIndex, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED
    ) -> None:
        """Wake, each when it comes due, the agents that an earlier runtime left asleep in the store with
        pending work. Reads the wakeups a page at a time, in time order, once: those this runtime writes
        itself are its own dormant agents, which its alarm serves."""
        task_status.started()
        clock = self._runtime.clock
        after = None
        while True:
            page = await index.list_wakeups(after=after, limit=_WAKEUP_PAGE)
            if not page:
                return
            for wakeup in page:
                await sleep_until_wall(clock, wakeup.wake_at)
                after = wakeup
                waking = await self._stored_due(wakeup.agent_id)
                if waking is not None and len(self._waking) >= _STORED_WAKES:
                    await waking.done.wait()  # a backlog: wake them a few at a time

    async def _stored_due(self, agent_id: str) -> _Waking | None:
        runtime = self._runtime
        persistence = runtime.persistence
        if persistence is None or agent_id in self._claimed:
            return None
        if agent_id in runtime._registry or agent_id in self._dormant or agent_id in self._waking:
            return None
        try:
            stored = await persistence.store.load(agent_id)
        except JidoError as exc:
            logger.warning(
                "agent %r could not be woken from the store: %s", agent_id, exc, extra={"agent_id": agent_id}
            )
            return None
        owner = None if stored is None else Persistence.pending_owner(stored)
        if owner is None or owner[1] == runtime.runtime_id:
            return None  # no pending work any more, or this runtime's own (its alarm serves it)
        spec = self.specs.get(owner[0])
        if spec is None:
            if self._parked_count < _PARKED_MAX:
                if owner[0] not in self._parked:
                    logger.warning(
                        "agent %r has timers due, but its class %r is not known to this runtime yet: it wakes"
                        " when the class is (open_runtime(agents=...), start_agent, Runtime.agent)",
                        agent_id,
                        owner[0],
                        extra={"agent_id": agent_id},
                    )
                self._parked.setdefault(owner[0], []).append(agent_id)
                self._parked_count += 1
            return None
        return self._wake_stored(agent_id, spec)

    def claim(self, agent_id: str, durable: Durability | None) -> str | None:
        """Take the pending work a started agent read from the store: its text, or None."""
        if durable is None or durable.pending is None:
            return None
        text, durable.pending = durable.pending, None
        if durable.pending_by != self._runtime.runtime_id:
            self._claimed.add(agent_id)  # an earlier runtime's: its stored wakeup is done with
        return text

    # -- the alarm: waking dormant agents whose timers come due ------------------------------------------------
    def _set_alarm(
        self, heap: list[tuple[float, int, str]], due: float, generation: int, agent_id: str
    ) -> None:
        heapq.heappush(heap, (due, generation, agent_id))
        if len(heap) > _COMPACT_AFTER and len(heap) > 2 * len(self._dormant):
            heap[:] = [alarm for alarm in heap if self._current(alarm)]
            heapq.heapify(heap)
        nap = self._alarm_nap
        if nap is not None:
            nap.cancel()  # plan again: this one may be earlier than the one it sleeps for
        elif not self._alarm_running:
            nursery = self._runtime._nursery
            if nursery is not None:
                try:
                    nursery.start_soon(self._ring_alarms, name="jido dormant agents' alarm")
                except RuntimeError:  # the runtime is closing: there is nothing left to wake agents into
                    return
                self._alarm_running = True

    def _current(self, alarm: tuple[float, int, str]) -> bool:
        entry = self._dormant.get(alarm[2])
        return entry is not None and entry[3] == alarm[1]

    async def _ring_alarms(self) -> None:
        clock = self._runtime.clock
        try:
            while self._alarms or self._wall_alarms:
                now = trio.current_time()
                deadline = self._alarms[0][0] if self._alarms else math.inf
                if self._wall_alarms:
                    # The wall clock may jump: sleep at most DEFAULT_MAX_NAP before looking at it again.
                    wall_in = self._wall_alarms[0][0] - clock.now().timestamp()
                    deadline = min(deadline, now + max(0.0, min(wall_in, DEFAULT_MAX_NAP)))
                if deadline > now:
                    with trio.CancelScope(deadline=deadline) as nap:
                        self._alarm_nap = nap
                        await trio.sleep_forever()
                    self._alarm_nap = None
                    continue
                due: list[tuple[float, int, str]] = []
                while self._alarms and self._alarms[0][0] <= now:
                    due.append(heapq.heappop(self._alarms))
                wall_now = clock.now().timestamp()
                while self._wall_alarms and self._wall_alarms[0][0] <= wall_now:
                    due.append(heapq.heappop(self._wall_alarms))
                for alarm in due:
                    if self._current(alarm) and alarm[2] not in self._waking:
                        self._alarm_wake(alarm[2])
                await trio.lowlevel.checkpoint()
        finally:
            self._alarm_nap = None
            self._alarm_running = False

    def _alarm_wake(self, agent_id: str) -> None:
        with contextlib.suppress(ClosedError):  # the runtime is closing: nothing to wake it into
            self._waking_for(agent_id, None)

    def forget(self, agent_id: str, *, clear: bool = True) -> bool:
        """Drop a dormant agent for good (stopped while dormant); with ``clear``, also the timers stored with
        its state (without: it was stopped to run elsewhere, which gets them back)."""
        self._wake_failures.pop(agent_id, None)
        self.woken_from_store.discard(agent_id)
        entry = self._dormant.pop(agent_id, None)
        self._settled(agent_id)
        persistence = self._runtime.persistence
        nursery = self._runtime._nursery
        if (
            clear
            and entry is not None
            and entry[2] is not None
            and persistence is not None
            and nursery is not None
        ):
            # Its timers were stored with its state: take them out, or a later runtime would wake it.
            done = trio.Event()
            previous = self._storing.get(agent_id)
            self._storing[agent_id] = done
            with contextlib.suppress(RuntimeError):  # closing: a later runtime may wake it once, no more
                nursery.start_soon(self._clear_pending, persistence, agent_id, previous, done)
        return entry is not None

    async def _clear_pending(
        self, persistence: Persistence, agent_id: str, previous: trio.Event | None, done: trio.Event
    ) -> None:
        try:
            if previous is not None:
                await previous.wait()
            await persistence.clear_pending(agent_id)
        except Exception as exc:
            logger.warning(
                "agent %r stopped, but its stored timers could not be cleared: %s",
                agent_id,
                exc,
                extra={"agent_id": agent_id},
            )
        finally:
            if self._storing.get(agent_id) is done:
                del self._storing[agent_id]
            done.set()

    def _settled(self, agent_id: str) -> None:
        """``agent_id`` is awake again, or gone: let those waiting for that see it."""
        event = self._woken.pop(agent_id, None)
        if event is not None:
            event.set()

    def sleeping(self, agent_id: str) -> bool:
        """Whether ``agent_id`` is dormant, being woken, or on its way to sleep (its task ending)."""
        if agent_id in self._dormant or agent_id in self._waking:
            return True
        ref = self._runtime._registry.get(agent_id)
        return ref is not None and ref._status == "hibernated"

    async def wait_awake(self, agent_id: str) -> AgentRef | None:
        """Until ``agent_id`` is awake (its live ref) or gone for good (None); returns at once if neither
        dormant nor waking."""
        while self.sleeping(agent_id):
            event = self._woken.get(agent_id)
            if event is None:
                event = self._woken[agent_id] = trio.Event()
            await event.wait()
        return self._live(agent_id)

    # -- sending to a dormant (or hibernating) agent ------------------------------------------------------
    def _live(self, agent_id: str) -> AgentRef | None:
        """The running incarnation, unless it is still waking: until what was sent meanwhile is handed to it,
        later sends queue behind (arrival order)."""
        if agent_id in self._waking:
            return None
        ref = self._runtime._registry.get(agent_id)
        return ref if ref is not None and ref._status != "hibernated" else None

    def _waking_for(self, agent_id: str, spec: AgentSpec | None) -> _Waking:
        waking = self._waking.get(agent_id)
        if waking is not None:
            return waking
        entry = self._dormant.get(agent_id)
        hibernating = self._runtime._registry.get(agent_id)
        if entry is None and hibernating is None and spec is None:
            raise ClosedError(f"agent {agent_id!r} has stopped")
        if entry is not None:
            size = self._kinds[entry[0]][2] or self._runtime.mailbox_size
        elif hibernating is not None:
            size = hibernating.mailbox_size
        else:
            size = self._runtime.mailbox_size
        waking = self._waking[agent_id] = _Waking(size)
        nursery = self._runtime._nursery
        if nursery is None:
            raise ClosedError("the runtime is closed")
        nursery.start_soon(self._wake, agent_id, spec, waking)
        return waking

    def send_nowait(self, agent_id: str, envelope: _Envelope, spec: AgentSpec | None = None) -> None:
        """Queue ``envelope`` for ``agent_id`` now, activating it if it is dormant.

        Raises:
            MailboxFullError: as many signals as its mailbox holds are waiting for it to start.
            ClosedError: it has stopped for good.
        """
        live = self._live(agent_id)
        if live is not None:
            live._enqueue_nowait(envelope)
            return
        waking = self._waking_for(agent_id, spec)
        if len(waking.pending) >= waking.size:
            raise MailboxFullError(agent_id, waking.size)
        waking.pending.append(envelope)

    async def send(self, agent_id: str, envelope: _Envelope, spec: AgentSpec | None = None) -> None:
        """Queue ``envelope`` for ``agent_id``, activating it if it is dormant; waits for room."""
        while True:
            live = self._live(agent_id)
            if live is not None:
                await live._enqueue(envelope)
                return
            waking = self._waking_for(agent_id, spec)
            if len(waking.pending) < waking.size:
                waking.pending.append(envelope)
                return
            await waking.done.wait()  # full: wait for the agent, then send like anyone else
            if waking.error is not None:
                raise waking.error

    async def activate(self, agent_id: str, spec: AgentSpec | None = None) -> AgentRef:
        """The live ref of ``agent_id``, starting it if it is dormant (or, with ``spec``, never started).

        Raises:
            AgentNotFoundError: no such agent (and no ``spec`` to start it with).
        """
        live = self._live(agent_id)
        if live is not None:
            return live
        try:
            waking = self._waking_for(agent_id, spec)
        except ClosedError:
            raise AgentNotFoundError(agent_id) from None
        await waking.done.wait()
        if waking.error is not None:
            raise waking.error
        # The woken incarnation; with a very short idle_timeout it may be asleep again already, which is
        # fine: a send to it wakes it again, and waking again here could go on for ever.
        ref = self._runtime._registry.get(agent_id) or waking.ref
        if ref is None:
            raise AgentNotFoundError(agent_id)
        return ref

    async def _wake(self, agent_id: str, spec: AgentSpec | None, waking: _Waking) -> None:
        runtime = self._runtime
        try:
            old = runtime._registry.get(agent_id)
            if old is not None and old._status == "hibernated":
                await old.wait_stopped()  # its slot is being torn down; the dormant entry comes with that
            storing = self._storing.get(agent_id)
            if storing is not None:
                await storing.wait()  # its pending work is being stored: start from what is stored after
            ref = await self._start(agent_id, spec)
            waking.ref = ref
            previous = self._previous.pop(agent_id, None)
            if previous is not None and previous is not ref:
                previous._successor = ref
            self.activations += 1
            if AGENT_ACTIVATED in _BY_NAME:
                emit(AGENT_ACTIVATED, agent_id=agent_id, agent=ref.spec.name, waiting=len(waking.pending))
            # What was sent while it started goes first, in arrival order (it fits: at most a mailbox).
            while waking.pending:
                ref._enqueue_nowait(waking.pending.popleft())
        except BaseException as exc:
            if agent_id not in runtime._registry:
                self.woken_from_store.discard(agent_id)
            waking.error = exc if isinstance(exc, Exception) else ClosedError("the runtime is closing")
            self._fail_pending(agent_id, waking, waking.error)
            if not isinstance(exc, Exception):
                raise
            logger.warning("agent %r could not be activated: %s", agent_id, exc, extra={"agent_id": agent_id})
        finally:
            if self._waking.get(agent_id) is waking:
                del self._waking[agent_id]
            waking.done.set()
            self._settled(agent_id)

    async def _start(self, agent_id: str, spec: AgentSpec | None) -> AgentRef:
        runtime = self._runtime
        entry = self._dormant.pop(agent_id, None)
        if entry is not None:
            kind, state, pending, _ = entry
            kind_spec, restart, mailbox_size, error_policy = self._kinds[kind]
            try:
                value = kind_spec.new(agent_id) if state is None else _decode(kind_spec, agent_id, state)
                # Its timers from the entry (exact: trio time of this process), not the store's copy.
                ref = await runtime._start_at_root(
                    value, restart, mailbox_size, error_policy, pending=pending
                )
            except BaseException as exc:
                # It could not start (its stored state cannot be read, the runtime is closing): it stays
                # asleep, with its state and timers, and the next message tries again (unless another agent
                # took its id meanwhile). With timers, the alarm tries again too, backing off up to a minute,
                # so they are not lost and a state that can never be read is not retried in a loop.
                if agent_id not in runtime._registry and agent_id not in self._dormant:
                    self._dormant[agent_id] = entry
                    if pending is not None and isinstance(exc, Exception):
                        failures = self._wake_failures[agent_id] = self._wake_failures.get(agent_id, 0) + 1
                        retry = trio.current_time() + min(2.0**failures, _MAX_WAKE_BACKOFF)
                        self._set_alarm(self._alarms, retry, entry[3], agent_id)
                raise
            self._wake_failures.pop(agent_id, None)
            return ref
        live = self._live(agent_id)
        if live is not None:
            return live
        if spec is None:
            raise AgentNotFoundError(agent_id)
        return await runtime._start_at_root(spec.new(agent_id), "transient", None, "crash")

    def _fail_pending(self, agent_id: str, waking: _Waking, error: BaseException) -> None:
        while waking.pending:
            envelope = waking.pending.popleft()
            if envelope.reply is not None:
                envelope.reply.fail(error)
            else:
                self._runtime.dead_letter(envelope.signal, error, agent_id, "not_activated")


def _store_needed(durable: Durability, scheduler: Scheduler | None, work: PendingWork | None) -> bool:
    """Whether the store's record lacks the pending work ``work`` (None: none) that the agent sleeps with.
    Its last commit stored its timers as they were then: unchanged since, there is nothing to write."""
    if work is None:
        return durable.pending_stored
    return scheduler is None or durable.stored_changes != scheduler.changes


def _decode(spec: AgentSpec, agent_id: str, data: str) -> Agent:
    state: Any = structure(json.loads(data), spec.state, subject=f"{spec.name} state")
    return Agent(id=agent_id, state=state, spec=spec)


@attrs.frozen
class VirtualAgent(Generic[S]):
    """A reference to an agent by id, valid whether it runs, is dormant, or was never started: the first
    message activates it (from its stored state, or new). Obtain one with ``Runtime.agent``.

    Attributes:
        id: the agent's id.
        spec: its spec (what it is started as, when it was never started).
    """

    _runtime: Runtime = attrs.field(repr=False, alias="runtime")
    spec: AgentSpec[S] = attrs.field(repr=lambda s: s.name)
    id: str

    async def ref(self) -> AgentRef[S]:
        """The live ref, activating the agent if needed."""
        return await self._runtime._dormancy.activate(self.id, self.spec)

    async def call(self, signal: Signal, *, timeout: float = 5.0, idempotent: bool = False) -> Agent[S]:
        """``AgentRef.call`` on the agent, activating it first if needed."""
        ref = await self.ref()
        return await ref.call(signal, timeout=timeout, idempotent=idempotent)

    async def cast(self, signal: Signal, *, idempotent: bool = False) -> None:
        """``AgentRef.cast`` on the agent, activating it first if needed (in arrival order)."""
        ref = self._runtime._dormancy._live(self.id)
        if ref is not None:
            await ref.cast(signal, idempotent=idempotent)
            return
        envelope = _Envelope(signal, key=idempotency_key(signal.id) if idempotent else None)
        await self._runtime._dormancy.send(self.id, envelope, self.spec)

    def cast_nowait(self, signal: Signal, *, idempotent: bool = False) -> None:
        """``AgentRef.cast_nowait`` on the agent; a dormant one is activated and gets it first thing."""
        ref = self._runtime._dormancy._live(self.id)
        if ref is not None:
            ref.cast_nowait(signal, idempotent=idempotent)
            return
        envelope = _Envelope(signal, key=idempotency_key(signal.id) if idempotent else None)
        self._runtime._dormancy.send_nowait(self.id, envelope, self.spec)

    @property
    def status(self) -> str:
        """``running`` (or another live status), ``hibernated``, or ``unstarted``."""
        ref = self._runtime._dormancy._live(self.id)
        if ref is not None:
            return ref.status
        return "hibernated" if self.id in self._runtime._dormancy else "unstarted"
