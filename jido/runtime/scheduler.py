"""Timers for one agent: one-shot delays (the ``Schedule`` directive) and cron jobs (``Cron``/``CronCancel``).

A :class:`Scheduler` belongs to one owner, an agent server, and runs its timers as tasks in a nursery the owner
gives it, so cancelling that nursery (the agent stopped) cancels every timer: no orphan tasks. Timers hand
their signals to the owner through a synchronous ``deliver`` callable, which enqueues without blocking.

Semantics:

- One-shot timers count trio time: ``schedule(2.0, s)`` delivers ``s`` itself (same id) 2 s of trio time
  later; a delay longer than :data:`MAX_DELAY` (100 years) is refused. They are kept in one heap served by one
  task (started when needed, gone when no timer is left), so a thousand pending timers cost a thousand small
  records, not a thousand tasks, and timers due at the same time fire in the order they were scheduled.
- Cron jobs are served by one task (started when needed, gone when no job is left), sleeping on the wall
  clock (:class:`~jido.clock.Clock`) until the next fire time of any job, each in its own time zone.
  Each tick delivers a copy of the job's signal with a new id and ``time`` set to the planned fire time;
  ``data`` and the other attributes are unchanged. Jobs due at the same time fire in the order they were
  registered (a replaced job counts as registered when it was replaced), so runs are reproducible.
- Ticks never fire early, and fire at most once per planned fire time. There is no catch-up: if the process
  could not run for a while (a suspended machine, a blocked event loop) and several fire times passed, the job
  fires once, late, and plans its next fire time after the current time. A wall clock set back does not make
  a planned time fire twice.
- ``cron()`` with a ``job_id`` already in use replaces that job (upsert): the old one never fires again.
- If ``deliver`` raises, the error is logged (logger ``jido.runtime.scheduler``, level ERROR, with the
  traceback) and the timer counts as fired; a cron job keeps its schedule. One bad delivery must not end a
  schedule; delivery problems (a full mailbox) are the owner's to handle inside ``deliver``.
- :meth:`Scheduler.export` writes what is pending (timers with their deadlines and signals, cron jobs with their
  next fire times, in order) as JSON text, and :meth:`Scheduler.restore` puts it back in a new scheduler: a
  hibernated agent keeps its timers as a few bytes of text and gets them back exactly as they were when it
  wakes (a timer that came due meanwhile fires at once; a cron tick planned meanwhile fires once). Trio time
  means nothing in another process: ``export(wall=True)`` writes timer deadlines as wall-clock times (POSIX
  seconds on the scheduler's clock) instead, for a store, and ``restore`` turns them back into trio deadlines
  of the process that reads them. A deadline past year 9999 on the wall clock (a wall clock set near it) is
  written as it is, with a ``wake_at`` of the last time a datetime holds.
- :meth:`Scheduler.close` cancels everything; ``schedule()`` and ``cron()`` then raise
  :class:`~jido.errors.ClosedError`. An owner whose nursery is cancelled should close its scheduler too.

A scheduler is not thread-safe: call it from the trio thread that runs its nursery.
"""

from __future__ import annotations

import datetime as dt
import enum
import heapq
import itertools
import json
import logging
import math
from collections.abc import Callable
from typing import Final, final

import attrs
import trio

from jido.clock import Clock, sleep_until_wall
from jido.cron import CronExpr
from jido.errors import ClosedError, ValidationError
from jido.signal import Signal
from jido.signal.ids import new_id

__all__ = ["MAX_DELAY", "PendingWork", "Scheduler", "TimerHandle", "check_pending"]

logger: Final = logging.getLogger("jido.runtime.scheduler")

MAX_DELAY: Final = 100 * 365 * 86_400.0
"""The longest delay :meth:`Scheduler.schedule` takes, in seconds (100 years of 365 days). A longer one is a
mistake (a deadline past what a datetime holds would make a wall-clock ``wake_at`` impossible to write)."""

# The wall-clock times a datetime holds, as POSIX seconds: a deadline outside them is written as the nearest.
_WALL_MIN: Final = dt.datetime.min.replace(tzinfo=dt.UTC)
_WALL_MAX: Final = dt.datetime.max.replace(tzinfo=dt.UTC)

# Cancelled timers stay in the heap until they reach its top; past this many, and past half the heap, the heap
# is rebuilt without them, so schedule-then-cancel loops cannot grow it without bound.
_COMPACT_AFTER: Final = 64


class _State(enum.Enum):
    PENDING = "pending"
    FIRED = "fired"
    CANCELLED = "cancelled"


@final
class TimerHandle:
    """A one-shot timer made by :meth:`Scheduler.schedule`.

    Attributes:
        signal: the signal it delivers.
        deadline: the trio time (``trio.current_time()``) at which it fires.
    """

    __slots__ = ("_scheduler", "_state", "deadline", "signal")

    def __init__(self, scheduler: Scheduler, signal: Signal, deadline: float) -> None:
        self._scheduler = scheduler
        self._state = _State.PENDING
        self.signal = signal
        self.deadline = deadline

    @property
    def cancelled(self) -> bool:
        """Whether it was cancelled before it fired (by :meth:`cancel` or :meth:`Scheduler.close`)."""
        return self._state is _State.CANCELLED

    @property
    def fired(self) -> bool:
        """Whether it has fired (its signal was handed to ``deliver``, whether or not that raised)."""
        return self._state is _State.FIRED

    def cancel(self) -> None:
        """Stop it from firing. Does nothing if it already fired or was cancelled."""
        if self._state is _State.PENDING:
            self._state = _State.CANCELLED
            self._scheduler._timer_cancelled()

    def __repr__(self) -> str:
        return f"<TimerHandle {self._state.value} deadline={self.deadline!r} signal={self.signal.type!r}>"


@attrs.define(eq=False)
class _CronJob:
    job_id: str
    expr: CronExpr
    signal: Signal
    next_fire: dt.datetime
    order: int  # registration order: the tie-break between jobs due at the same time

    def key(self) -> tuple[dt.datetime, int]:
        return self.next_fire, self.order


@attrs.frozen
class PendingWork:
    """A scheduler's pending timers and cron jobs, exported as text (see :meth:`Scheduler.export`).

    Attributes:
        text: the JSON text :meth:`Scheduler.restore` reads.
        next_timer: the trio time of the earliest pending timer, or None.
        next_cron: the earliest next fire time of a cron job (UTC), or None.
        wake_at: when the earliest of both comes due, on the wall clock (UTC), or None when nothing is pending.
    """

    text: str
    next_timer: float | None
    next_cron: dt.datetime | None
    wake_at: dt.datetime | None = None


def _check_signal(signal: object) -> Signal:
    if not isinstance(signal, Signal):
        raise ValidationError.at("$.signal", f"expected a jido Signal, got {type(signal).__name__}")
    return signal


@final
class Scheduler:
    """Owns the timers of ONE owner (an agent): one-shot delays and cron jobs (see the module documentation).

    Args:
        nursery: the owner's nursery; every timer runs as a task in it.
        deliver: called with each due signal, synchronously; it must not block. What it raises is logged and
            does not stop a cron job.
        clock: the wall clock cron jobs follow (:class:`~jido.clock.SystemClock`, or
            :class:`~jido.clock.TrioClock` in tests).
        owner: who owns it (an agent id), shown in logs, errors and the repr.

    Raises:
        ValidationError: an argument of the wrong kind (``$.nursery``, ``$.deliver``, ``$.clock``).
    """

    def __init__(
        self,
        nursery: trio.Nursery,
        deliver: Callable[[Signal], None],
        *,
        clock: Clock,
        owner: str | None = None,
    ) -> None:
        if not isinstance(nursery, trio.Nursery):
            raise ValidationError.at("$.nursery", f"expected a trio.Nursery, got {type(nursery).__name__}")
        if not callable(deliver):
            raise ValidationError.at("$.deliver", f"expected a callable, got {type(deliver).__name__}")
        if not isinstance(clock, Clock):
            raise ValidationError.at("$.clock", f"expected a Clock with now(), got {type(clock).__name__}")
        self._nursery = nursery
        self._deliver = deliver
        self._clock = clock
        self._owner = owner
        self._closed = False
        self._heap: list[tuple[float, int, TimerHandle]] = []
        self._sequence = itertools.count()
        self._pending = 0
        self._cancelled_in_heap = 0
        self._runner: trio.CancelScope | None = None
        self._nap: trio.CancelScope | None = None
        self._jobs: dict[str, _CronJob] = {}
        self._cron_runner: trio.CancelScope | None = None
        self._cron_wait: trio.CancelScope | None = None  # the runner's sleep: cancelled when the jobs change
        # Bumped by everything that changes what export() would write: a cache of the export is current while
        # this is the same.
        self.changes = 0

    @property
    def closed(self) -> bool:
        """Whether :meth:`close` was called."""
        return self._closed

    @property
    def clock(self) -> Clock:
        """The wall clock cron jobs follow."""
        return self._clock

    def __repr__(self) -> str:
        owner = f" owner={self._owner!r}" if self._owner is not None else ""
        state = "closed" if self._closed else f"pending={self._pending} jobs={len(self._jobs)}"
        return f"<Scheduler{owner} {state}>"

    # -- one-shot timers ----------------------------------------------------------------------------------

    def schedule(self, delay: float, signal: Signal) -> TimerHandle:
        """Deliver ``signal`` once, ``delay`` seconds of trio time from now.

        Args:
            delay: seconds, >= 0 and at most :data:`MAX_DELAY` (100 years).
            signal: delivered as it is (same id).

        Returns:
            A handle to cancel the timer or see whether it fired.

        Raises:
            ClosedError: the scheduler is closed (or its nursery no longer takes tasks).
            ValidationError: ``$.delay`` or ``$.signal`` is not what it should be.
        """
        self._check_open()
        if isinstance(delay, bool) or not isinstance(delay, int | float) or not 0 <= delay < math.inf:
            raise ValidationError.at("$.delay", f"expected a finite number of seconds >= 0, got {delay!r}")
        if delay > MAX_DELAY:
            raise ValidationError.at(
                "$.delay", f"expected at most {MAX_DELAY:.0f} seconds (100 years), got {delay!r}"
            )
        _check_signal(signal)
        return self._schedule_at(trio.current_time() + delay, signal)

    def _schedule_at(self, deadline: float, signal: Signal) -> TimerHandle:
        if self._runner is None:
            scope = trio.CancelScope()
            self._start(self._run_timers, scope, name="timers")
            self._runner = scope
        handle = TimerHandle(self, signal, deadline)
        heapq.heappush(self._heap, (deadline, next(self._sequence), handle))
        self._pending += 1
        self.changes += 1
        if self._nap is not None and deadline < self._nap.deadline:
            self._nap.deadline = deadline
        return handle

    def has_jobs(self) -> bool:
        """Whether any cron job is registered."""
        return bool(self._jobs)

    def pending(self) -> int:
        """How many one-shot timers have neither fired nor been cancelled."""
        return self._pending

    def _timer_cancelled(self) -> None:
        self._pending -= 1
        self.changes += 1
        self._cancelled_in_heap += 1
        if self._cancelled_in_heap > _COMPACT_AFTER and self._cancelled_in_heap * 2 > len(self._heap):
            self._heap = [entry for entry in self._heap if entry[2]._state is _State.PENDING]
            heapq.heapify(self._heap)
            self._cancelled_in_heap = 0

    async def _run_timers(self, scope: trio.CancelScope) -> None:
        try:
            with scope:
                while not scope.cancel_called:
                    heap = self._heap
                    now = trio.current_time()
                    if heap and heap[0][0] > now:
                        with trio.CancelScope(deadline=heap[0][0]) as nap:
                            self._nap = nap  # schedule() moves the deadline earlier for an earlier timer
                            await trio.sleep_forever()
                        self._nap = None
                        continue
                    # Take the due timers first and fire them after: a deliver() that schedules a timer with
                    # no delay must not keep this loop from reaching a checkpoint.
                    due: list[TimerHandle] = []
                    while heap and heap[0][0] <= now:
                        due.append(heapq.heappop(heap)[2])
                    if not heap and not due:
                        return
                    for handle in due:
                        if handle._state is _State.PENDING:
                            handle._state = _State.FIRED
                            self._pending -= 1
                            self.changes += 1
                            self._hand_over(handle.signal, "timer")
                        else:
                            self._cancelled_in_heap -= 1
                    await trio.lowlevel.checkpoint()
        finally:
            self._nap = None
            if self._runner is scope:
                self._runner = None

    # -- cron jobs ----------------------------------------------------------------------------------------

    def cron(self, job_id: str, expr: CronExpr, signal: Signal) -> None:
        """Deliver a copy of ``signal`` (new id, ``time`` = the planned fire time) at each fire time of ``expr``.

        A job already known by ``job_id`` is replaced: it is cancelled and never fires again.

        Raises:
            ClosedError: the scheduler is closed (or its nursery no longer takes tasks).
            ValidationError: ``$.job_id``, ``$.expr`` or ``$.signal`` is not what it should be.
        """
        self._check_open()
        if not isinstance(job_id, str) or not job_id:
            raise ValidationError.at("$.job_id", f"expected a non-empty str, got {job_id!r}")
        if not isinstance(expr, CronExpr):
            raise ValidationError.at(
                "$.expr", f"expected a CronExpr (see parse_cron), got {type(expr).__name__}"
            )
        _check_signal(signal)
        job = _CronJob(job_id, expr, signal, expr.next_after(self._clock.now()), next(self._sequence))
        if self._cron_runner is None:
            scope = trio.CancelScope()
            self._start(self._run_cron, scope, name="cron")
            self._cron_runner = scope
        self._jobs.pop(job_id, None)  # replaced: the old job never fires again
        self._jobs[job_id] = job
        self.changes += 1
        self._jobs_changed()

    def cancel_cron(self, job_id: str) -> bool:
        """Cancel the cron job ``job_id``. Returns False if there is no such job (not an error)."""
        if self._jobs.pop(job_id, None) is None:
            return False
        self.changes += 1
        self._jobs_changed()
        return True

    def _jobs_changed(self) -> None:
        if self._cron_wait is not None:
            self._cron_wait.cancel()  # the runner plans again from the jobs as they are now

    def jobs(self) -> dict[str, CronExpr]:
        """The current cron jobs: each job id and its expression."""
        return {job_id: job.expr for job_id, job in self._jobs.items()}

    def next_fire_times(self) -> dict[str, dt.datetime]:
        """Each cron job's next planned fire time, in UTC."""
        return {job_id: job.next_fire for job_id, job in self._jobs.items()}

    async def _run_cron(self, scope: trio.CancelScope) -> None:
        try:
            with scope:
                while self._jobs and not scope.cancel_called:
                    planned = min(job.next_fire for job in self._jobs.values())
                    with trio.CancelScope() as wait:
                        self._cron_wait = wait
                        await sleep_until_wall(self._clock, planned)
                    self._cron_wait = None
                    if wait.cancelled_caught:
                        continue  # a job was added, replaced or cancelled: plan again
                    now = self._clock.now()
                    for job in sorted(
                        (j for j in self._jobs.values() if j.next_fire <= now), key=_CronJob.key
                    ):
                        tick = job.next_fire
                        self._hand_over(job.signal.evolve(id=new_id(), time=tick), f"cron job {job.job_id!r}")
                        # From the later of now and the planned time: no catch-up of missed ticks, and a wall
                        # clock set back cannot bring the same planned time round again.
                        job.next_fire = job.expr.next_after(max(self._clock.now(), tick))
                        self.changes += 1
                    await trio.lowlevel.checkpoint()
        finally:
            self._cron_wait = None
            if self._cron_runner is scope:
                self._cron_runner = None

    # -- export and restore ---------------------------------------------------------------------------------

    def export(self, *, wall: bool = False) -> PendingWork:
        """What is pending now, as text for :meth:`restore`: timers in firing order with their deadlines, cron
        jobs in registration order with their next fire times.

        Args:
            wall: write timer deadlines as wall-clock times (POSIX seconds on this scheduler's clock), which
                another process can read; by default they are trio deadlines, exact, and mean something only
                in this process (trio time runs on across a hibernation in one process).
        """
        pending = [
            (deadline, handle.signal)
            for deadline, _, handle in sorted(self._heap, key=lambda entry: entry[:2])
            if handle._state is _State.PENDING
        ]
        # Trio time and the wall clock, read once: every deadline moves by the same offset.
        offset = self._clock.now().timestamp() - trio.current_time()
        timers = [[deadline + offset if wall else deadline, signal.to_json()] for deadline, signal in pending]
        jobs = sorted(self._jobs.values(), key=lambda job: job.order)
        cron = [
            [job.job_id, job.expr.text, job.expr.tz, job.signal.to_json(), job.next_fire.isoformat()]
            for job in jobs
        ]
        document: dict[str, object] = {"timers": timers, "cron": cron}
        if wall:
            document["clock"] = "wall"
        text = json.dumps(document, ensure_ascii=False, separators=(",", ":"))
        next_cron = min((job.next_fire for job in jobs), default=None)
        due = [] if next_cron is None else [next_cron.astimezone(dt.UTC)]
        if pending:
            due.append(_wall_time(pending[0][0] + offset))
        return PendingWork(
            text=text,
            next_timer=pending[0][0] if pending else None,
            next_cron=next_cron,
            wake_at=min(due, default=None),
        )

    def restore(self, text: str) -> None:
        """Make the pending work of :meth:`export`'s ``text`` this scheduler's: its timers are scheduled for
        their deadlines (at once when past; wall-clock ones against this scheduler's clock) in their order, and its cron jobs replace every job registered so
        far (a job cancelled before the export stays cancelled), keeping their next fire times.

        Raises:
            ClosedError: the scheduler is closed.
            ValidationError: ``text`` is not what :meth:`export` writes (``$.timers...``/``$.cron...``).
        """
        self._check_open()
        timers, jobs, wall = _read_pending(text)
        if wall:  # wall-clock deadlines (another process's export): as trio deadlines of this one
            offset = trio.current_time() - self._clock.now().timestamp()
            timers = [(deadline + offset, signal) for deadline, signal in timers]
        for deadline, signal in timers:
            # The deadline itself, not now + (deadline - now): floats would move it by a rounding error.
            self._schedule_at(deadline, signal)
        self._jobs.clear()
        self.changes += 1
        for job_id, expr, signal, next_fire in jobs:
            self._jobs[job_id] = _CronJob(job_id, expr, signal, next_fire, next(self._sequence))
        if self._jobs and self._cron_runner is None:
            scope = trio.CancelScope()
            self._start(self._run_cron, scope, name="cron")
            self._cron_runner = scope
        self._jobs_changed()

    # -- shared -------------------------------------------------------------------------------------------

    def close(self) -> None:
        """Cancel every timer and cron job; later ``schedule()`` and ``cron()`` raise ClosedError. Idempotent."""
        self._closed = True
        self.changes += 1
        for _, _, handle in self._heap:
            if handle._state is _State.PENDING:
                handle._state = _State.CANCELLED
        self._heap.clear()
        self._pending = 0
        self._cancelled_in_heap = 0
        if self._runner is not None:
            self._runner.cancel()
            self._runner = None
        if self._cron_runner is not None:
            self._cron_runner.cancel()
            self._cron_runner = None
        self._jobs.clear()

    def _check_open(self) -> None:
        if self._closed:
            raise ClosedError(self._closed_message())

    def _closed_message(self) -> str:
        return "scheduler is closed" if self._owner is None else f"scheduler of {self._owner!r} is closed"

    def _start(self, fn: Callable[..., object], *args: object, name: str) -> None:
        owner = f" of {self._owner!r}" if self._owner is not None else ""
        try:
            self._nursery.start_soon(fn, *args, name=f"jido scheduler{owner}: {name}")  # type: ignore[arg-type]
        except RuntimeError as exc:  # "Nursery is closed to new arrivals": the owner has gone
            raise ClosedError(f"{self._closed_message()}: its nursery no longer takes tasks") from exc

    def _hand_over(self, signal: Signal, what: str) -> None:
        try:
            self._deliver(signal)
        except Exception:
            owner = f" of {self._owner!r}" if self._owner is not None else ""
            logger.exception(
                "%s%s: delivering signal %s (type %r) failed", what, owner, signal.id, signal.type
            )


def _wall_time(seconds: float) -> dt.datetime:
    """POSIX ``seconds`` as a UTC datetime; one past the years a datetime holds (1 to 9999) as the nearest it
    holds: a timer restored from a deadline that far (or a wall clock set near year 9999) must not make its
    export, and so a hibernation or a commit, fail. Such a ``wake_at`` says "not before year 9999", which is
    true."""
    try:
        return dt.datetime.fromtimestamp(seconds, dt.UTC)
    except (OverflowError, ValueError, OSError):
        return _WALL_MAX if seconds > 0 else _WALL_MIN


def check_pending(text: str) -> None:
    """Check that ``text`` is what :meth:`Scheduler.export` writes.

    Raises:
        ValidationError: it is not (``$.timers...``/``$.cron...``).
    """
    _read_pending(text)


def _read_pending(
    text: str,
) -> tuple[list[tuple[float, Signal]], list[tuple[str, CronExpr, Signal, dt.datetime]], bool]:
    try:
        data = json.loads(text)
    except (TypeError, ValueError) as exc:
        raise ValidationError.at("$", f"expected the JSON text of Scheduler.export, got {exc}") from None
    if (
        not isinstance(data, dict)
        or not isinstance(data.get("timers"), list)
        or not isinstance(data.get("cron"), list)
    ):
        raise ValidationError.at("$", "expected an object with lists 'timers' and 'cron'")
    if data.get("clock", "trio") not in ("trio", "wall"):
        raise ValidationError.at("$.clock", f"expected 'wall' or nothing, got {data['clock']!r}")
    timers: list[tuple[float, Signal]] = []
    for index, item in enumerate(data["timers"]):
        where = f"$.timers[{index}]"
        if (
            not isinstance(item, list)
            or len(item) != 2
            or isinstance(item[0], bool)
            or not isinstance(item[0], int | float)
            or not isinstance(item[1], str)
            or not math.isfinite(item[0])
        ):
            raise ValidationError.at(where, "expected [finite deadline, signal JSON]")
        timers.append((float(item[0]), _read_signal(item[1], where)))
    jobs: list[tuple[str, CronExpr, Signal, dt.datetime]] = []
    for index, item in enumerate(data["cron"]):
        where = f"$.cron[{index}]"
        if not isinstance(item, list) or len(item) != 5 or not all(isinstance(part, str) for part in item):
            raise ValidationError.at(
                where, "expected [job id, expression, time zone, signal JSON, next fire]"
            )
        job_id, expr_text, tz, signal_text, next_fire_text = item
        try:
            expr = CronExpr(expr_text, tz)
            next_fire = dt.datetime.fromisoformat(next_fire_text)
        except (ValidationError, ValueError) as exc:
            raise ValidationError.at(where, str(exc)) from None
        if next_fire.tzinfo is None:
            raise ValidationError.at(where, f"next fire time {next_fire_text!r} has no time zone")
        jobs.append((job_id, expr, _read_signal(signal_text, where), next_fire))
    return timers, jobs, data.get("clock") == "wall"


def _read_signal(text: str, where: str) -> Signal:
    try:
        return Signal.from_json(text)
    except Exception as exc:  # SignalError: name where, keep its message
        raise ValidationError.at(where, f"bad signal: {exc}") from None
