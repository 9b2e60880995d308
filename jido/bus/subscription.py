"""Subscriptions: a cursor over the journal, deliveries in flight, acks, redelivery and dead letters.

A subscription never holds a queue of its own: it reads the journal from its cursor. So a subscriber that
falls behind loses nothing and costs no memory; it simply reads older records later (its ``lag`` says how far
behind it is). What is bounded is the number of deliveries in flight (delivered, not yet acked).

Each delivery is acked, or it comes back: after ``ack_timeout`` without an ack, or after a ``nack`` (handler
error), with exponential backoff, up to ``max_attempts``; then the record goes to the journal's dead letters
with the last error and counts as done. The checkpoint of a durable subscription is the highest offset up to
which every matching record is done (acked or dead-lettered), so after a crash it resumes with at-least-once
delivery: nothing done is skipped, some things may come again. Offsets that retention removed before the
subscription read them count as done too (and as ``skipped``); however many there are, that costs one range
in :class:`~jido.bus.done.DoneOffsets`, never one entry per offset.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Awaitable, Callable, Sequence
from contextvars import ContextVar
from typing import TYPE_CHECKING, Any, TypeAlias

import attrs
import trio

from jido.bus.done import DoneOffsets
from jido.bus.journal import Journal, Record
from jido.errors import ClosedError
from jido.signal import Signal
from jido.signal.router import Router
from jido.telemetry.events import BUS_DEAD_LETTERED, BUS_DELIVERED, BUS_REDELIVERED, BUS_SKIPPED
from jido.telemetry.handlers import _BY_NAME, emit
from jido.telemetry.logs import log_context

if TYPE_CHECKING:
    from jido.clock import Clock

__all__ = [
    "Delivery",
    "DeliveryInterceptor",
    "Subscription",
    "SubscriptionStatistics",
    "delivery_interceptor",
]

logger = logging.getLogger("jido.bus")

_READ_BATCH = 256


@attrs.frozen
class Delivery:
    """One delivery of a record to a subscription.

    Attributes:
        record: the journal record.
        attempt: 1 for the first delivery, 2 for the first redelivery, ...
        subscription: the subscription's name.
    """

    record: Record
    attempt: int
    subscription: str

    @property
    def signal(self) -> Signal:
        return self.record.signal

    @property
    def offset(self) -> int:
        return self.record.offset


DeliveryInterceptor: TypeAlias = Callable[[Delivery], Awaitable[bool]]
"""Consulted before a delivery is handed over: it may wait (the delivery arrives late) and returns False to
lose it (it stays in flight, so it comes again after ``ack_timeout``, like a delivery lost on the way)."""

delivery_interceptor: ContextVar[DeliveryInterceptor | None] = ContextVar(
    "jido_delivery_interceptor", default=None
)
"""The :data:`DeliveryInterceptor` of subscriptions made in this context, read once when each is made. A hook
for fault injection (:mod:`jido.testing.faults` sets it); None, the default, costs nothing per delivery."""


@attrs.frozen
class SubscriptionStatistics:
    """A snapshot of a subscription.

    Attributes:
        name: its name.
        checkpoint: every matching record up to this offset is done.
        cursor: the next offset it will read.
        lag: records it has not read yet that its pattern matches: the matching records appended since it was
            made, and, while it reads records older than that (a replay, a durable subscription resuming),
            every record of that older range still ahead of its cursor, whatever its type (the journal is not
            scanned to count them). Records of other types appended meanwhile never count: a subscription
            with nothing to do has lag 0 however busy the bus is.
        in_flight: deliveries not yet acked.
        delivered: deliveries made (redeliveries included).
        acked: records acked.
        redelivered: redeliveries made.
        dead_lettered: records given up on.
        skipped: offsets removed by retention before this subscription read them.
        pattern: the pattern it matches signal types with.
        durable: whether its checkpoint is stored in the journal (it has a name that resumes).
        owner: who subscribed it (a gateway token's identity, say), or None; a durable subscription's
            name is bound to its owner and pattern in the journal.
    """

    name: str
    checkpoint: int
    cursor: int
    lag: int
    in_flight: int
    delivered: int
    acked: int
    redelivered: int
    dead_lettered: int
    skipped: int
    pattern: str = ""
    durable: bool = False
    owner: str | None = None


class _InFlight:
    __slots__ = ("attempt", "due", "error", "reason", "record", "to_dead_letter")

    def __init__(self, record: Record, attempt: int, due: float) -> None:
        self.record = record
        self.attempt = attempt
        self.due = due  # when to deliver it again if not acked (trio time)
        self.error = "ack timeout"
        self.reason = "max_attempts"  # what its dead letter will say: attempts used up, or "not_retryable"
        self.to_dead_letter = False  # its dead-lettering failed to be stored: try that again, not a delivery


class Subscription:
    """A subscription to the signals of a bus whose type matches ``pattern``.

    Iterate it (``async for delivery in sub``) and ``await sub.ack(delivery.offset)`` each delivery, or give the
    bus a dispatch target and it does both for you.
    """

    def __init__(
        self,
        *,
        bus: Any,
        name: str,
        pattern: str,
        durable: bool,
        owner: str | None = None,
        journal: Journal,
        start: int,
        checkpoint: int,
        max_in_flight: int,
        ack_timeout: float,
        max_attempts: int,
        backoff: float,
        max_backoff: float,
        checkpoint_interval: float,
        clock: Clock,
    ) -> None:
        self.name = name
        self.pattern = pattern
        self.durable = durable
        self.owner = owner
        self._bus = bus
        self._journal = journal
        self._router = Router()
        self._router.add(pattern, True)
        self._matches_all = pattern == "**"  # every type matches: no routing per record
        self._cursor = start
        # Lag: the bus counts each record it routes here (_matched) from _counted_from on; reading one of them
        # uncounts it. Records below _counted_from (older than the subscription) count whatever their type.
        self._counted_from: int = bus._last_offset + 1
        self._unread = 0
        self._checkpoint = checkpoint
        self._stored_checkpoint = checkpoint
        self._done = DoneOffsets(checkpoint)  # the checkpoint, and done ranges above it
        # Records read ahead of the cursor: _buffer[_buffered:] are still to be handed out (an index rather
        # than pop(0), which moves the whole rest of the list for every record).
        self._buffer: Sequence[Record] = ()
        self._buffered = 0
        self._in_flight: dict[int, _InFlight] = {}
        self._redrive: list[Record] = []
        self._max_in_flight = max_in_flight
        self._ack_timeout = ack_timeout
        self._max_attempts = max_attempts
        self._backoff = backoff
        self._max_backoff = max_backoff
        self._checkpoint_interval = checkpoint_interval
        self._last_flush = -math.inf
        self._clock = clock
        # Parking lots rather than events: a delivery wakes the reader and may advance the checkpoint, and
        # an event would have to be made anew for every one of them even when nobody waits.
        self._reader = trio.lowlevel.ParkingLot()  # where next() waits for news
        self._news = False  # notify() was called since next() last looked
        self._closed = False
        self._stopping = False
        self._advanced = trio.lowlevel.ParkingLot()  # where wait_checkpoint waits
        self._delivered = 0
        self._acked = 0
        self._redelivered = 0
        self._dead_lettered = 0
        self._skipped = 0
        self._intercept = delivery_interceptor.get()

    def __repr__(self) -> str:
        kind = "durable" if self.durable else "transient"
        return f"<Subscription {self.name!r} {kind} {self.pattern!r} checkpoint={self._checkpoint}>"

    # -- driven by the bus -------------------------------------------------------------------------------
    def notify(self) -> None:
        """New records were appended (or something else changed): wake the reader."""
        self._news = True
        if self._reader:
            self._reader.unpark_all()

    def _matched(self, offset: int) -> None:
        """The bus routed the record at ``offset`` here (a record it just appended): one more to read, unless
        the cursor is past it already (read before the bus got to route it)."""
        if offset >= self._cursor:
            self._unread += 1

    def _read_matching(self, offset: int) -> None:
        # Counted by _matched only if the bus has routed it already (it sets _last_offset before routing).
        if self._counted_from <= offset <= self._bus._last_offset and self._unread > 0:
            self._unread -= 1

    def _advance(self) -> None:
        if self._advanced:
            self._advanced.unpark_all()

    # -- iteration ---------------------------------------------------------------------------------------
    def __aiter__(self) -> Subscription:
        return self

    async def __anext__(self) -> Delivery:
        try:
            return await self.next()
        except ClosedError:
            raise StopAsyncIteration from None

    async def next(self) -> Delivery:
        """The next delivery: a redelivery that is due, a redriven dead letter, or the next matching record.

        Raises:
            ClosedError: the subscription (or its bus) was closed.
        """
        while True:
            if self._closed or self._stopping:
                raise ClosedError(f"subscription {self.name!r} is closed")
            self._news = False
            now = trio.current_time()
            due = self._due(now)
            if due is not None:
                delivery = await self._redeliver(due, now)
                if delivery is not None and (self._intercept is None or await self._handed_over(delivery)):
                    return delivery
                continue
            if len(self._in_flight) < self._max_in_flight:
                if self._redrive:
                    record: Record | None = self._redrive.pop(0)
                else:
                    record = self._next_buffered()
                    if record is None:
                        record = await self._next_record()
                if record is not None:
                    self._in_flight[record.offset] = _InFlight(record, 1, now + self._ack_timeout)
                    self._delivered += 1
                    if BUS_DELIVERED in _BY_NAME:
                        emit(
                            BUS_DELIVERED,
                            subscription=self.name,
                            offset=record.offset,
                            signal_id=record.signal.id,
                            signal_type=record.signal.type,
                            lag=self._lag(self._bus._last_offset),
                        )
                    delivery = Delivery(record, 1, self.name)
                    if self._intercept is None or await self._handed_over(delivery):
                        return delivery
                    continue
            if not self._news:  # nothing happened since the loop's top: wait for news or a due redelivery
                deadline = min((f.due for f in self._in_flight.values()), default=math.inf)
                with trio.move_on_at(deadline):
                    await self._reader.park()

    async def _handed_over(self, delivery: Delivery) -> bool:
        assert self._intercept is not None
        # A lost delivery stays in flight: its ack timeout brings it back. One that arrives after the
        # subscription stopped is not handed over either: unacked, it comes again when resumed.
        if not await self._intercept(delivery) or self._closed or self._stopping:
            return False
        flight = self._in_flight.get(delivery.offset)
        return flight is not None and flight.attempt == delivery.attempt and not flight.to_dead_letter

    def _due(self, now: float) -> _InFlight | None:
        due = [f for f in self._in_flight.values() if f.due <= now]
        return min(due, key=lambda f: f.record.offset) if due else None

    async def _redeliver(self, flight: _InFlight, now: float) -> Delivery | None:
        if flight.attempt >= self._max_attempts or flight.to_dead_letter:
            await self._dead_letter(flight)
            return None
        flight.attempt += 1
        flight.due = now + self._ack_timeout
        self._delivered += 1
        self._redelivered += 1
        if BUS_REDELIVERED in _BY_NAME:
            emit(
                BUS_REDELIVERED,
                subscription=self.name,
                offset=flight.record.offset,
                signal_id=flight.record.signal.id,
                signal_type=flight.record.signal.type,
                attempt=flight.attempt,
                error=flight.error,
            )
        return Delivery(flight.record, flight.attempt, self.name)

    def _next_buffered(self) -> Record | None:
        """The next record read ahead, if it is ours: taken without a coroutine of its own. None when the
        buffer is used up or the next record is not ours (_next_record handles both)."""
        index = self._buffered
        if index < len(self._buffer):
            record = self._buffer[index]
            if self._matches_all or self._router.route(record.signal):
                self._buffered = index + 1
                self._cursor = record.offset + 1
                self._read_matching(record.offset)
                return record
        return None

    async def _next_record(self) -> Record | None:
        while True:
            if self._buffered >= len(self._buffer):
                records = await self._journal.read(self._cursor, limit=_READ_BATCH)
                if not records:
                    if self._bus._last_offset < self._cursor:
                        self._unread = 0  # read (or skipped) everything: exact again after a retention gap
                    return None
                self._buffer = records
                self._buffered = 0
                if records[0].offset > self._cursor:
                    await self._skip(self._cursor, records[0].offset - 1)
            record = self._buffer[self._buffered]
            self._buffered += 1
            self._cursor = record.offset + 1
            if self._matches_all or self._router.route(record.signal):
                self._read_matching(record.offset)
                return record
            await self._mark_done(record.offset)  # not ours: done as far as the checkpoint goes

    async def _skip(self, first: int, last: int) -> None:
        """Retention removed ``first..last`` before we read them: one count, one log line, one event, and one
        range marked done, however long the gap (a subscription from offset 1 on a journal that dropped
        millions of records must not stall the event loop or hold an entry per offset)."""
        self._cursor = last + 1  # before awaiting: a cancelled checkpoint store must not count the gap twice
        self._skipped += last - first + 1
        logger.warning(
            "subscription %r skipped offsets %d..%d (%d): removed by retention before it read them",
            self.name,
            first,
            last,
            last - first + 1,
            extra={"subscription": self.name, "offset": first},
        )
        if BUS_SKIPPED in _BY_NAME:
            emit(BUS_SKIPPED, subscription=self.name, first=first, last=last)
        await self._mark_done(first, last)

    # -- acks --------------------------------------------------------------------------------------------
    def _take(self, offset: object) -> _InFlight:
        if isinstance(offset, bool) or not isinstance(offset, int):
            raise TypeError(f"ack of subscription {self.name!r}: expected an int offset, got {offset!r}")
        flight = self._in_flight.get(offset)
        if flight is None:
            raise LookupError(f"offset {offset} is not in flight for subscription {self.name!r}")
        return flight

    async def ack(self, offset: int) -> None:
        """Acknowledge the delivery at ``offset``: it is done.

        Raises:
            TypeError: ``offset`` is not an int.
            LookupError: nothing is in flight at ``offset`` (never delivered, already acked, dead-lettered).
        """
        self._take(offset)
        del self._in_flight[offset]
        self._acked += 1
        if self._done_now(offset):
            await self._store_checkpoint()
        self.notify()

    async def nack(self, offset: int, error: BaseException | str, *, retry: bool = True) -> None:
        """Report that handling the delivery at ``offset`` failed.

        It comes back after a backoff, or goes to the dead letters once its attempts are used up, or at once
        when ``retry`` is False (an error that another attempt cannot fix).
        """
        flight = self._take(offset)
        flight.error = error if isinstance(error, str) else f"{type(error).__name__}: {error}"
        if not retry:
            flight.reason = "not_retryable"
        if not retry or flight.attempt >= self._max_attempts:
            await self._dead_letter(flight)
        else:
            delay = min(self._backoff * 2 ** (flight.attempt - 1), self._max_backoff)
            flight.due = trio.current_time() + delay
        self.notify()

    async def _dead_letter(self, flight: _InFlight) -> None:
        signal = flight.record.signal
        offset = flight.record.offset
        if self._in_flight.get(offset) is not flight:
            return
        del self._in_flight[offset]  # nobody else may ack, nack or dead-letter it while the journal writes
        try:
            await self._journal.add_dead_letter(
                self.name, flight.record, flight.error, flight.attempt, reason=flight.reason
            )
        except Exception:
            self._in_flight.setdefault(offset, flight)
            # Not stored, so not done: it stays in flight and its dead-lettering is tried again later (the
            # journal may recover); nothing is dropped. It holds one of max_in_flight places meanwhile.
            retry_in = min(self._ack_timeout, self._max_backoff)
            flight.to_dead_letter = True
            flight.due = trio.current_time() + retry_in
            logger.exception(
                "subscription %r could not dead-letter offset %d (%r), trying again in %gs",
                self.name,
                flight.record.offset,
                signal.type,
                retry_in,
                extra=log_context(signal, subscription=self.name, offset=flight.record.offset),
            )
            return
        self._dead_lettered += 1
        logger.warning(
            "subscription %r dead-lettered offset %d (%r) after %d attempts: %s",
            self.name,
            flight.record.offset,
            signal.type,
            flight.attempt,
            flight.error,
            extra=log_context(signal, subscription=self.name, offset=flight.record.offset),
        )
        if BUS_DEAD_LETTERED in _BY_NAME:
            emit(
                BUS_DEAD_LETTERED,
                subscription=self.name,
                offset=flight.record.offset,
                signal_id=signal.id,
                signal_type=signal.type,
                attempts=flight.attempt,
                error=flight.error,
            )
        self._bus._on_dead_letter(self, flight.record, flight.error, flight.attempt)
        await self._mark_done(flight.record.offset)

    async def _mark_done(self, first: int, last: int | None = None) -> None:
        if self._done_now(first, last):
            await self._store_checkpoint()

    def _done_now(self, first: int, last: int | None = None) -> bool:
        """Mark ``first..last`` done; True when the checkpoint is due to be stored (the caller awaits that, so
        that an ack that stores nothing costs no coroutine of its own)."""
        advanced = self._done.add(first, last)
        self._checkpoint = self._done.checkpoint
        if not advanced:
            return False
        self._advance()
        return self.durable and trio.current_time() - self._last_flush >= self._checkpoint_interval

    async def _store_checkpoint(self) -> None:
        try:
            await self.flush()
        except Exception:
            # The checkpoint in memory stays right; the stored one lags, which only means redeliveries
            # after a crash (at least once). It is stored again at the next advance or at close.
            self._last_flush = trio.current_time()
            logger.exception(
                "subscription %r could not store its checkpoint %d",
                self.name,
                self._checkpoint,
                extra={"subscription": self.name, "offset": self._checkpoint},
            )

    async def flush(self) -> None:
        """Store the checkpoint of a durable subscription now."""
        if self.durable and self._checkpoint != self._stored_checkpoint:
            self._stored_checkpoint = await self._journal.set_checkpoint(self.name, self._checkpoint)
            self._last_flush = trio.current_time()

    def redrive(self, records: list[Record]) -> None:
        """Deliver these records again (from the dead letters), before new ones."""
        self._redrive.extend(records)
        self.notify()

    def stop_delivering(self) -> None:
        """Hand out no more deliveries (acks of those in flight still count); :meth:`aclose` finishes."""
        self._stopping = True
        self.notify()

    def close_nowait(self) -> None:
        """Stop delivering at once, without storing the checkpoint (what was not stored comes again)."""
        if not self._closed:
            self._closed = True
            self.notify()
            self._advance()
            self._bus._forget(self)

    async def aclose(self) -> None:
        """Stop delivering; a durable subscription stores its checkpoint first."""
        if self._closed:
            return
        self._closed = True
        self.notify()
        self._advance()
        try:
            await self._store_checkpoint()
        finally:
            self._bus._forget(self)

    # -- observing ---------------------------------------------------------------------------------------
    async def wait_checkpoint(self, offset: int) -> None:
        """Wait until every matching record up to ``offset`` is done (acked or dead-lettered).

        Raises:
            ClosedError: the subscription closed first.
        """
        while self._checkpoint < offset:
            if self._closed:
                raise ClosedError(f"subscription {self.name!r} closed at checkpoint {self._checkpoint}")
            await self._advanced.park()

    @property
    def checkpoint(self) -> int:
        return self._checkpoint

    @property
    def closed(self) -> bool:
        return self._closed

    def _lag(self, last: int) -> int:
        older = max(0, min(self._counted_from, last + 1) - self._cursor)
        return older + self._unread

    def statistics(self, last_offset: int | None = None) -> SubscriptionStatistics:
        last = self._bus._last_offset if last_offset is None else last_offset
        return SubscriptionStatistics(
            name=self.name,
            checkpoint=self._checkpoint,
            cursor=self._cursor,
            lag=self._lag(last),
            in_flight=len(self._in_flight),
            delivered=self._delivered,
            acked=self._acked,
            redelivered=self._redelivered,
            dead_lettered=self._dead_lettered,
            skipped=self._skipped,
            pattern=self.pattern,
            durable=self.durable,
            owner=self.owner,
        )
