"""The bus: publish appends to the journal, then every matching subscription reads what it has not seen.

::

    async with open_bus() as bus:
        sub = await bus.subscribe("order.**", name="billing")      # durable: resumes from its checkpoint
        await bus.publish(Signal(type="order.placed", source="/shop"))
        async for delivery in sub:
            handle(delivery.signal)
            await sub.ack(delivery.offset)

Or give ``subscribe`` a target (a dispatch adapter with ``async deliver(signal)``, or a function of the
signal, sync or async) and the bus delivers and acks for you, retrying failures with backoff and
dead-lettering what keeps failing.

Publishing never waits on subscribers: the journal absorbs what they have not read yet, so a slow
subscriber lags (``statistics().lag``: the records it matches and has not read) but loses nothing, as long as retention keeps the records. Records
that retention removes before a subscriber read them are counted as ``skipped`` and logged, never silently;
crossing such a gap costs the same whatever its length.

A durable name belongs to the pattern and owner that first subscribed it (stored in the journal with its
checkpoint): sharing one name between two patterns would let the acks of one move the checkpoint past
records the other never saw, and another owner (another gateway token) could take the stream over. So the
bus refuses both, before it changes anything.
"""

from __future__ import annotations

import datetime as dt
import inspect
import logging
import math
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager
from contextvars import ContextVar
from typing import Any, Literal, TypeAlias

import attrs
import trio

from jido.bus.journal import DeadLetterRecord, Journal, Record
from jido.bus.subscription import Delivery, Subscription, SubscriptionStatistics
from jido.clock import Clock, SystemClock
from jido.errors import ClosedError, ForbiddenError, SubscriptionConflictError, ValidationError
from jido.signal import Signal
from jido.signal.pattern import parse_pattern
from jido.signal.router import Router
from jido.telemetry import propagation as _propagation
from jido.telemetry.events import BUS_PUBLISHED
from jido.telemetry.handlers import _BY_NAME, emit
from jido.telemetry.logs import log_context

__all__ = [
    "Bus",
    "BusStatistics",
    "Delivery",
    "Retention",
    "StartFrom",
    "StartPastEndError",
    "journal_interceptor",
    "open_bus",
]

logger = logging.getLogger("jido.bus")

StartFrom: TypeAlias = Literal["beginning", "latest"] | int | dt.datetime
"""Where a subscription without a stored checkpoint starts: the oldest retained record, the next one
appended, an offset (at most the next one appended: see :class:`StartPastEndError`), or the first record
appended at or after a time."""

Target: TypeAlias = Callable[[Signal], Any] | Any

journal_interceptor: ContextVar[Callable[[Journal], Journal] | None] = ContextVar(
    "jido_journal_interceptor", default=None
)
"""Wraps the journal of each bus opened in this context (read once by :func:`open_bus`, so it costs nothing
per write). A hook for fault injection (:mod:`jido.testing.faults` sets it to make writes fail)."""


@attrs.frozen
class Retention:
    """How much of the journal to keep, applied every ``interval`` seconds while the bus is open.

    Attributes:
        max_entries: keep at most this many records (None: no limit by count).
        max_age: keep no record older than this (None: no limit by age).
        interval: seconds between two applications.
    """

    max_entries: int | None = None
    max_age: dt.timedelta | None = None
    interval: float = 60.0

    def __attrs_post_init__(self) -> None:
        if self.max_entries is not None and (
            isinstance(self.max_entries, bool)
            or not isinstance(self.max_entries, int)
            or self.max_entries < 1
        ):
            raise ValueError(f"Retention.max_entries must be an int >= 1 or None, got {self.max_entries!r}")
        if self.max_age is not None and (
            not isinstance(self.max_age, dt.timedelta) or self.max_age <= dt.timedelta(0)
        ):
            raise ValueError(f"Retention.max_age must be a positive timedelta or None, got {self.max_age!r}")
        if not (isinstance(self.interval, int | float) and 0 < self.interval < math.inf):
            raise ValueError(
                f"Retention.interval must be a positive number of seconds, got {self.interval!r}"
            )


class StartPastEndError(ValueError):
    """A subscription was asked to start at an offset the journal has not reached.

    Such a start would deliver nothing until the journal got there, and a durable subscription would store a
    checkpoint it never had (an offset from another journal, or a typo, would silence it for good), so it is
    refused. Offsets up to ``last_offset() + 1`` (the next one appended) are accepted.

    Attributes:
        offset: the offset asked for.
        next_offset: the offset the next record appended will have.
    """

    def __init__(self, offset: int, next_offset: int) -> None:
        super().__init__(f"offset {offset} is past the end of the journal (the next offset is {next_offset})")
        self.offset = offset
        self.next_offset = next_offset


@attrs.frozen
class BusStatistics:
    """A snapshot of a bus: offsets, publish count, and each subscription's statistics."""

    first_offset: int
    last_offset: int
    published: int
    trimmed: int
    subscriptions: tuple[SubscriptionStatistics, ...]


def _positive(name: str, value: object, *, integer: bool = False) -> None:
    kind = int if integer else (int, float)
    if isinstance(value, bool) or not isinstance(value, kind) or not 0 < value < math.inf:
        shown = "an int >= 1" if integer else "a positive number of seconds"
        raise ValueError(f"{name} must be {shown}, got {value!r}")


class Bus:
    """A signal bus over a journal. Obtain one with :func:`open_bus` (or from ``open_runtime``)."""

    def __init__(self, journal: Journal, *, clock: Clock, retention: Retention) -> None:
        self.journal = journal
        self.clock = clock
        self.retention = retention
        self._subscriptions: dict[str, Subscription] = {}
        self._router = Router(name="bus subscriptions")
        self._nursery: trio.Nursery | None = None
        self._closed = False
        self._last_offset = 0
        self._published = 0
        self._trimmed = 0
        self._transient_count = 0
        self._dead_letter_hooks: list[Callable[[Subscription, Record, str, int], None]] = []

    def __repr__(self) -> str:
        return f"<Bus last_offset={self._last_offset} subscriptions={len(self._subscriptions)}>"

    def _check_open(self) -> None:
        if self._closed or self._nursery is None:
            raise ClosedError("the bus is closed")

    # -- publishing --------------------------------------------------------------------------------------
    async def publish(self, signals: Signal | Sequence[Signal]) -> list[Record]:
        """Append ``signals`` to the journal (in order) and wake the subscriptions they match.

        Returns the records, with their offsets, once the journal has them.

        Raises:
            TypeError: an item is not a Signal (nothing is appended).
            ClosedError: the bus is closed.
        """
        self._check_open()
        batch = [signals] if isinstance(signals, Signal) else list(signals)
        for index, item in enumerate(batch):
            if not isinstance(item, Signal):
                raise TypeError(f"publish: item [{index}] is {type(item).__name__}, not a jido.Signal")
        if not batch:
            return []
        if _propagation._propagator is not None:
            batch = [_propagation.inject(item) for item in batch]
        records = await self.journal.append(batch)
        self._last_offset = records[-1].offset
        self._published += len(records)
        woken: set[int] = set()
        for record in records:
            routes = self._router.route(record.signal)
            for route in routes:
                sub = route.target
                sub._matched(record.offset)
                if id(sub) not in woken:
                    woken.add(id(sub))
                    sub.notify()
            if BUS_PUBLISHED in _BY_NAME:
                emit(
                    BUS_PUBLISHED,
                    offset=record.offset,
                    signal_id=record.signal.id,
                    signal_type=record.signal.type,
                    subscriptions=len(routes),
                )
        return records

    # -- subscribing -------------------------------------------------------------------------------------
    async def _start_offset(self, start_from: StartFrom) -> int:
        if start_from == "beginning":
            return await self.journal.first_offset()
        if start_from == "latest":
            return await self.journal.last_offset() + 1
        if isinstance(start_from, dt.datetime):
            if start_from.tzinfo is None:
                raise ValueError("start_from: expected a timezone-aware datetime, got a naive one")
            return await self.journal.offset_at(start_from)
        if isinstance(start_from, int) and not isinstance(start_from, bool) and start_from >= 1:
            return start_from
        raise ValueError(
            f"start_from must be 'beginning', 'latest', an offset >= 1 or an aware datetime, got {start_from!r}"
        )

    async def _subscription_start(self, start_from: StartFrom) -> int:
        start = await self._start_offset(start_from)
        if isinstance(start_from, int):
            next_offset = await self.journal.last_offset() + 1
            if start > next_offset:
                raise StartPastEndError(start, next_offset)
        return start

    async def subscribe(
        self,
        pattern: str,
        *,
        name: str | None = None,
        owner: str | None = None,
        target: Target | None = None,
        start_from: StartFrom = "latest",
        max_in_flight: int = 100,
        ack_timeout: float = 30.0,
        max_attempts: int = 5,
        backoff: float = 0.1,
        max_backoff: float = 30.0,
        checkpoint_interval: float = 0.1,
    ) -> Subscription:
        """Subscribe to signals whose type matches ``pattern``.

        Args:
            pattern: a router pattern (``"order.*"``, ``"**"``).
            name: a durable subscription's name: its checkpoint is stored in the journal and it resumes from
                it when subscribed again. None makes a transient subscription (no stored checkpoint). The
                first subscribe of a name binds it, in the journal, to ``pattern`` and ``owner``.
            owner: who subscribes (a gateway token's identity, say); shown in :meth:`statistics`. A durable
                name can be subscribed again only by the same owner (None is an owner of its own: it
                matches only None) with the same pattern.
            target: deliver to this (an adapter with ``async deliver(signal)``, or a function of the signal,
                sync or async) and ack on success; failures are retried, then dead-lettered. An adapter's
                ``aclose()`` is awaited when the subscription ends. Without a target, iterate the
                subscription and ack yourself.
            start_from: where to start when there is no stored checkpoint (see :data:`StartFrom`).
            max_in_flight: deliveries not yet acked at once (1 keeps strict order through retries).
            ack_timeout: seconds before an unacked delivery is delivered again.
            max_attempts: deliveries of one record before it goes to the dead letters.
            backoff: seconds before the first redelivery after a failure (doubling after, up to
                ``max_backoff``).
            max_backoff: cap of one backoff.
            checkpoint_interval: for a durable subscription, store the checkpoint at most this often, in
                seconds (0: every time it advances, a journal write per ack); it is always stored when the
                subscription closes. After a crash, what was acked since the last store comes again.

        Raises:
            ValidationError: the pattern is invalid.
            ForbiddenError: the durable name is bound to another owner.
            SubscriptionConflictError: the durable name is bound to the same owner and another pattern
                (resuming with this one would move the checkpoint past records the other never matched).
            StartPastEndError: ``start_from`` is an offset past the next one to be appended (and there is no
                stored checkpoint to resume from instead).
            ValueError: an option is out of range, or the durable name is already subscribed.

        Nothing is changed when it raises, except that a name stored by an older version without a binding
        is bound by the first subscribe (which then succeeds unless it is already subscribed).
        """
        self._check_open()
        try:
            parse_pattern(pattern)
        except ValidationError as exc:
            raise ValidationError(exc.errors, subject="subscription pattern") from None
        _positive("max_in_flight", max_in_flight, integer=True)
        _positive("ack_timeout", ack_timeout)
        _positive("max_attempts", max_attempts, integer=True)
        _positive("max_backoff", max_backoff)
        if not (isinstance(backoff, int | float) and 0 <= backoff < math.inf):
            raise ValueError(f"backoff must be a number of seconds >= 0, got {backoff!r}")
        if not (isinstance(checkpoint_interval, int | float) and 0 <= checkpoint_interval < math.inf):
            raise ValueError(
                f"checkpoint_interval must be a number of seconds >= 0, got {checkpoint_interval!r}"
            )
        if owner is not None and (not isinstance(owner, str) or not owner):
            raise ValueError(f"owner must be a non-empty string or None, got {owner!r}")
        if target is not None and not callable(getattr(target, "deliver", None)) and not callable(target):
            raise TypeError(f"target must have async deliver(signal) or be callable, got {target!r}")
        if name is not None:
            if not isinstance(name, str) or not name.strip():
                raise ValueError(f"name must be a non-empty string, got {name!r}")
            stored = await self.journal.get_checkpoint(name)
            # Where a new durable subscription starts is stored at once, with its binding: if it stops
            # before its first ack, it must resume from here next time, not from whatever "latest" is then.
            start = stored + 1 if stored is not None else await self._subscription_start(start_from)
            offset = max(0, min(start - 1, await self.journal.last_offset()))
            binding = await self.journal.bind_subscription(name, pattern=pattern, owner=owner, offset=offset)
            # The journal changed nothing if the name was bound already, so refusing here leaves all as it
            # was. Owner first: another owner learns nothing about the pattern.
            if binding.owner != owner:
                raise ForbiddenError(f"durable subscription {name!r}")
            if binding.pattern != pattern:
                raise SubscriptionConflictError(name, pattern, binding.pattern)
            if name in self._subscriptions:
                raise ValueError(f"durable subscription {name!r} is already subscribed")
            if stored is not None or binding.checkpoint != offset:
                start = binding.checkpoint + 1  # resumed (or made meanwhile by another bus on this journal)
            durable = True
            sub_name = name
        else:
            start = await self._subscription_start(start_from)
            self._transient_count += 1
            durable = False
            sub_name = f"transient-{self._transient_count}:{pattern}"
        sub = Subscription(
            bus=self,
            name=sub_name,
            pattern=pattern,
            durable=durable,
            owner=owner,
            journal=self.journal,
            start=start,
            checkpoint=start - 1,
            max_in_flight=max_in_flight,
            ack_timeout=ack_timeout,
            max_attempts=max_attempts,
            backoff=backoff,
            max_backoff=max_backoff,
            checkpoint_interval=checkpoint_interval,
            clock=self.clock,
        )
        self._subscriptions[sub_name] = sub
        self._router.add(pattern, sub)
        if target is not None:
            assert self._nursery is not None
            self._nursery.start_soon(self._pump, sub, target)
        return sub

    async def _pump(self, sub: Subscription, target: Target) -> None:
        # A target that takes the whole delivery (its offset, its subscription) gets it: the agent delivery
        # uses the offset to recognise a record it applied already. Looked up once, not per delivery.
        deliver_record = getattr(target, "deliver_record", None)
        deliver = getattr(target, "deliver", None) or target
        try:
            async for delivery in sub:
                try:
                    if deliver_record is not None:
                        await deliver_record(delivery)
                    else:
                        result = deliver(delivery.signal)
                        if result is not None and inspect.isawaitable(result):
                            await result
                except Exception as exc:  # retried with backoff, then dead-lettered: never lost, never fatal
                    retry = getattr(exc, "retryable", True) is not False
                    if not sub.closed:
                        await sub.nack(delivery.offset, exc, retry=retry)
                    continue
                if not sub.closed:
                    await sub.ack(delivery.offset)
        finally:
            # A dispatch adapter given as the target belongs to its subscription: release what it holds (an
            # HTTP client's connections), even while the bus is being cancelled, within a bounded time.
            aclose = getattr(target, "aclose", None)
            if aclose is not None and callable(getattr(target, "deliver", None)):
                with trio.CancelScope(shield=True), trio.move_on_after(5):
                    await aclose()

    def close_soon(self, subscription: Subscription) -> None:
        """Close a subscription from synchronous code: its checkpoint is stored in the background (at once,
        without storing, if the bus is already closing)."""
        if self._nursery is not None and not self._closed:
            subscription.stop_delivering()
            self._nursery.start_soon(subscription.aclose)
        else:
            subscription.close_nowait()

    async def unsubscribe(self, subscription: Subscription) -> None:
        """Close a subscription (a durable one stores its checkpoint first)."""
        await subscription.aclose()

    def _forget(self, sub: Subscription) -> None:
        if self._subscriptions.get(sub.name) is sub:
            del self._subscriptions[sub.name]
        for route in self._router.routes():
            if route.target is sub:
                self._router.remove(route)

    async def forget(self, name: str) -> bool:
        """Remove the durable subscription ``name``: its checkpoint and its binding to a pattern and owner,
        so that a later subscribe of the name starts afresh. Returns whether there was one.

        Raises:
            ValueError: the name is subscribed now (close that subscription first).
            NotImplementedError: the journal cannot remove durable subscriptions.
            ClosedError: the bus is closed.
        """
        self._check_open()
        if name in self._subscriptions:
            raise ValueError(f"durable subscription {name!r} is subscribed: close it first")
        forget = getattr(self.journal, "forget_subscription", None)
        if forget is None:
            raise NotImplementedError(f"{type(self.journal).__name__} cannot remove durable subscriptions")
        return bool(await forget(name))

    def subscriptions(self) -> list[Subscription]:
        return list(self._subscriptions.values())

    # -- reading the journal -----------------------------------------------------------------------------
    async def replay(
        self, pattern: str = "**", *, start: int | dt.datetime = 1, end: int | None = None, limit: int = 1000
    ) -> list[Record]:
        """Records whose type matches ``pattern`` from ``start`` (an offset, or a time) up to ``end``
        (an offset, inclusive), at most ``limit``."""
        self._check_open()
        router = Router()
        router.add(pattern, True)
        _positive("limit", limit, integer=True)
        offset = await self._start_offset(start if isinstance(start, dt.datetime) else max(1, start))
        out: list[Record] = []
        while len(out) < limit:
            records = await self.journal.read(offset, limit=1000)
            if not records:
                break
            for record in records:
                if end is not None and record.offset > end:
                    return out
                if router.route(record.signal):
                    out.append(record)
                    if len(out) == limit:
                        return out
            offset = records[-1].offset + 1
        return out

    async def effects_of(self, signal_id: str) -> list[Record]:
        """Every retained record caused, directly or through others, by the signal ``signal_id``.

        Signals emitted while an agent handles a signal carry its id as ``causationid``; this follows those
        links forward. Records come in offset order. (A scan of the journal: meant for investigation.)
        """
        self._check_open()
        children: dict[str, list[Record]] = {}
        offset = 1
        while True:
            records = await self.journal.read(offset, limit=1000)
            if not records:
                break
            for record in records:
                cause = record.signal.causationid
                if cause is not None:
                    children.setdefault(cause, []).append(record)
            offset = records[-1].offset + 1
        found: list[Record] = []
        pending = [signal_id]
        seen = {signal_id}
        while pending:
            for record in children.get(pending.pop(), []):
                if record.signal.id not in seen:
                    seen.add(record.signal.id)
                    found.append(record)
                    pending.append(record.signal.id)
        return sorted(found, key=lambda r: r.offset)

    # -- dead letters ------------------------------------------------------------------------------------
    async def dead_letters(
        self, subscription: str | None = None, *, limit: int = 1000
    ) -> list[DeadLetterRecord]:
        """Dead letters of every subscription, or of one, oldest first, with their ``reason``; those the
        runtime recorded (a ``subscription`` such as ``"agent:<id>"``) are listed with them."""
        self._check_open()
        return await self.journal.dead_letters(subscription, limit=limit)

    async def redrive(self, subscription: str, *, limit: int | None = None) -> int:
        """Deliver the dead letters of an active subscription again (removing them from the dead letters).

        Returns how many were redriven.

        Raises:
            LookupError: no active subscription has that name.
        """
        self._check_open()
        sub = self._subscriptions.get(subscription)
        if sub is None:
            raise LookupError(f"no active subscription named {subscription!r}")
        letters = await self.journal.dead_letters(subscription, limit=limit or 1_000_000)
        for letter in letters:
            await self.journal.remove_dead_letter(letter.id)
        sub.redrive([letter.record for letter in letters])
        return len(letters)

    def on_dead_letter(self, hook: Callable[[Subscription, Record, str, int], None]) -> None:
        """Call ``hook(subscription, record, error, attempts)`` whenever a record is dead-lettered."""
        self._dead_letter_hooks.append(hook)

    def _on_dead_letter(self, sub: Subscription, record: Record, error: str, attempts: int) -> None:
        for hook in self._dead_letter_hooks:
            try:
                hook(sub, record, error, attempts)
            except Exception:  # a failing observer must not break delivery
                logger.exception(
                    "dead-letter hook %r failed",
                    hook,
                    extra=log_context(record.signal, subscription=sub.name, offset=record.offset),
                )

    # -- retention and statistics --------------------------------------------------------------------
    async def apply_retention(self) -> int:
        """Apply the retention policy now; returns how many records were removed."""
        self._check_open()
        retention = self.retention
        if retention.max_entries is None and retention.max_age is None:
            return 0
        removed = await self.journal.trim(
            max_entries=retention.max_entries, max_age=retention.max_age, now=self.clock.now()
        )
        self._trimmed += removed
        return removed

    async def _retention_loop(self) -> None:
        while True:
            await trio.sleep(self.retention.interval)
            if self._closed:
                return
            try:
                await self.apply_retention()
            except ClosedError:
                return  # the bus closed while its journal was trimmed: the close, not a failure

    async def statistics(self) -> BusStatistics:
        first = await self.journal.first_offset()
        return BusStatistics(
            first_offset=first,
            last_offset=self._last_offset,
            published=self._published,
            trimmed=self._trimmed,
            subscriptions=tuple(s.statistics(self._last_offset) for s in self._subscriptions.values()),
        )

    # -- lifecycle ---------------------------------------------------------------------------------------
    async def _aclose(self) -> None:
        for sub in list(self._subscriptions.values()):
            await sub.aclose()
        self._closed = True
        await self.journal.aclose()


@asynccontextmanager
async def open_bus(
    journal: Journal | None = None,
    *,
    clock: Clock | None = None,
    retention: Retention | None = None,
) -> AsyncIterator[Bus]:
    """Open a bus over ``journal`` (an in-memory one by default); leaving the block stores the durable
    checkpoints, stops every delivery task and closes the journal."""
    clock = clock or SystemClock()
    if journal is None:
        from jido.bus.memory import MemoryJournal  # lazy: the memory backend is optional for SQLite users

        journal = MemoryJournal(clock=clock)
    wrap = journal_interceptor.get()
    if wrap is not None:
        journal = wrap(journal)
    bus = Bus(journal, clock=clock, retention=retention or Retention())
    bus._last_offset = await journal.last_offset()
    body_error: BaseException | None = None
    async with trio.open_nursery() as nursery:
        bus._nursery = nursery
        if bus.retention.max_entries is not None or bus.retention.max_age is not None:
            nursery.start_soon(bus._retention_loop)
        try:
            yield bus
        except BaseException as exc:
            body_error = exc  # raised again outside the nursery, so users see their own exception
        finally:
            with trio.CancelScope(shield=True):
                await bus._aclose()
            nursery.cancel_scope.cancel()
    if body_error is not None:
        raise body_error


DeliverFn: TypeAlias = Callable[[Signal], Awaitable[None] | None]
