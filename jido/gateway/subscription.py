"""Subscriptions on the client side: the stream of signals a consumer iterates, with its resume point."""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from types import TracebackType
from typing import TYPE_CHECKING, Any

import attrs
import trio

from jido.errors import SignalError
from jido.gateway.protocol import GatewayError, StartFrom
from jido.gateway.session import NotSent, Session
from jido.signal import Signal

if TYPE_CHECKING:
    from jido.gateway.client import GatewayClient

__all__ = ["GatewaySignal", "GatewaySubscription", "SubscriptionContext", "attacher"]


@attrs.frozen
class GatewaySignal:
    """One signal delivered to a subscription.

    Attributes:
        offset: its offset in the server's journal.
        signal: the signal.
        subscription: the server's id of the subscription that delivered it (it changes when the client
            subscribes again after a reconnect).
    """

    offset: int
    signal: Signal
    subscription: str


class GatewaySubscription:
    """The signals of one subscription, in offset order: ``async for item in stream``.

    Obtain one with ``async with client.subscribe(pattern) as stream``.

    Attributes:
        pattern: the pattern subscribed to.
        durable: the durable name, or None for a transient subscription.
    """

    def __init__(
        self,
        client: GatewayClient,
        pattern: str,
        start: StartFrom | None,
        durable: str | None,
        buffer: int,
    ) -> None:
        self.pattern = pattern
        self.durable = durable
        self._client = client
        self._start = start
        self._capacity = buffer
        self._resume_from: int | None = None  # the first offset the first subscription promised
        self._last: int | None = None  # the highest offset received
        self._buffer: deque[GatewaySignal] = deque()
        self._unacked: dict[int, int] = {}  # durable: deliveries received and not acked yet, by offset
        self._wakeup = trio.Event()
        self._session: Session | None = None
        self._server_id: str | None = None
        self._paused = False
        self._error: BaseException | None = None
        self._closed = False
        self._lock = trio.Lock()

    def __repr__(self) -> str:
        kind = f"durable {self.durable!r}" if self.durable else "transient"
        return f"<GatewaySubscription {self.pattern!r} {kind} last_offset={self._last}>"

    @property
    def last_offset(self) -> int | None:
        """The highest offset received so far (taken by the consumer or still buffered), or None."""
        return self._last

    @property
    def buffered(self) -> int:
        """Signals received and not taken by the consumer yet."""
        return len(self._buffer)

    def _next_from(self) -> StartFrom | None:
        if self.durable is None and self._last is not None:
            return self._last + 1
        if self._resume_from is not None:
            return self._resume_from
        return self._start

    def _wake(self) -> None:
        self._wakeup.set()

    def _fail(self, error: BaseException) -> None:
        if self._error is None:
            self._error = error
        self._wake()

    def _attach(self, session: Session, result: Any) -> None:
        server_id = result["subscription"]
        self._session = session
        self._server_id = server_id
        self._paused = False
        session.streams[server_id] = self
        if self._resume_from is None:
            self._resume_from = result["from"]

    def _detach(self) -> str | None:
        server_id, session = self._server_id, self._session
        if server_id is not None and session is not None:
            session.streams.pop(server_id, None)
        self._server_id = None
        self._session = None
        return server_id

    def _live(self, session: Session) -> bool:
        return self._session is session and self._server_id is not None and not session.lost.is_set()

    def _deliver(self, session: Session, frame: dict[str, Any]) -> None:
        """A ``signal`` frame for this subscription (called by the client's reader)."""
        if len(self._buffer) >= self._capacity:
            server_id = self._detach()
            self._paused = True
            if server_id is not None:
                self._client._unsubscribe_soon(session, server_id)
            return  # not recorded: it comes again when the subscription resumes
        try:
            offset = frame["offset"]
            signal = Signal.from_dict(frame["signal"])
        except (KeyError, SignalError) as exc:
            self._fail(GatewayError("internal", f"the gateway sent an invalid signal frame: {exc}"))
            return
        self._buffer.append(GatewaySignal(offset, signal, frame["subscription"]))
        if self.durable is not None:
            self._unacked[offset] = self._unacked.get(offset, 0) + 1
        if self._last is None or offset > self._last:
            self._last = offset
        self._wake()

    # -- consuming -------------------------------------------------------------------------------------------
    def __aiter__(self) -> GatewaySubscription:
        return self

    async def __anext__(self) -> GatewaySignal:
        while not self._buffer:
            if self._error is not None:
                raise self._error
            if self._closed:
                raise StopAsyncIteration
            if self._wakeup.is_set():
                self._wakeup = trio.Event()
                continue
            await self._wakeup.wait()
        item = self._buffer.popleft()
        if self._paused and len(self._buffer) <= self._capacity // 2:
            self._paused = False
            self._client._resubscribe_soon(self)
        return item

    async def ack(self, offset: int) -> None:
        """Acknowledge the delivery at ``offset`` (durable subscriptions; a no-op for transient ones).

        An ack for a delivery made before a reconnect cannot reach the subscription that made it: that signal
        is delivered again, and acked then.

        Raises:
            LookupError: no delivery at ``offset`` is waiting for an ack.
            GatewayError: the server refused the ack.
        """
        if isinstance(offset, bool) or not isinstance(offset, int):
            raise TypeError(f"ack: expected an int offset, got {offset!r}")
        if self.durable is None:
            return
        count = self._unacked.get(offset, 0)
        if count == 0:
            raise LookupError(f"offset {offset} is not waiting for an ack in subscription {self.durable!r}")
        if count == 1:
            del self._unacked[offset]
        else:
            self._unacked[offset] = count - 1
        session, server_id = self._session, self._server_id
        if session is None or server_id is None or session.lost.is_set():
            return
        try:
            await self._client._request_on(session, "ack", {"subscription": server_id, "offset": offset})
        except GatewayError as exc:
            # not_found: that delivery is not in flight there anymore (acked through a redelivery, or made
            # by an earlier subscription): it comes again if it still needs an ack.
            if exc.code not in ("not_found", "connection_lost"):
                raise
        except NotSent:
            pass

    async def forget(self) -> None:
        """End this durable subscription and have the server remove it: its checkpoint and its binding, so
        the name is free (a server keeps at most 1,000 durable subscriptions per identity). The stream ends.

        Raises:
            ValueError: the subscription is transient.
            GatewayError: the server refused (``conflict``: another connection subscribed the name meanwhile),
                or the connection was lost before the answer (``connection_lost``: it may be forgotten).
        """
        if self.durable is None:
            raise ValueError(
                f"forget: subscription {self.pattern!r} is transient, only a durable one is forgotten"
            )
        await self._client._forget_stream(self)


class SubscriptionContext:
    def __init__(self, client: GatewayClient, stream: GatewaySubscription) -> None:
        self._client = client
        self._stream = stream

    async def __aenter__(self) -> GatewaySubscription:
        await self._client._open_stream(self._stream)
        return self._stream

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self._client._close_stream(self._stream)


def attacher(stream: GatewaySubscription, session: Session) -> Callable[[Any], None]:
    """What to run when the subscribe result for ``stream`` arrives on ``session``: attach the stream there."""

    def attach(result: Any) -> None:
        stream._attach(session, result)

    return attach
