"""One gateway connection: its reader, writer, heartbeat and subscription pumps.

The reader handles frames one at a time, in order (requests go to :mod:`jido.gateway.ops`; a ``call`` runs
in a task of its own). Every subscription has a pump task reading the bus into the connection's bounded send
queue, waiting for room; one writer task sends what is queued, all that has queued up at once in one
socket write (:mod:`jido.gateway.wire`). A connection whose queue stays full for
``slow_consumer_timeout`` seconds (its client stopped reading) is closed with 4008.

What the connection holds is counted in its account (:mod:`jido.gateway.budget`): a frame read is counted
until the reader takes it, a queued frame until it is written, a call's frame until the call ends, a durable
delivery's frame until it is acked. A pump whose subscription's deliveries fill the account waits for acks; a
reader whose calls do waits for one to end: either way the backlog stays in the journal or in the socket.
"""

from __future__ import annotations

import itertools
import logging
import math
import sys
from collections.abc import Callable, Mapping
from contextvars import ContextVar
from typing import TYPE_CHECKING, Any, Final, TypeAlias

import trio
import trio_websocket

from jido.errors import ClosedError
from jido.gateway.budget import Account
from jido.gateway.ops import ServerSubscription, dispatch
from jido.gateway.policy import TokenPolicy
from jido.gateway.protocol import (
    CLOSE_GOING_AWAY,
    CLOSE_INTERNAL_ERROR,
    CLOSE_SLOW_CONSUMER,
    CLOSE_UNAUTHORIZED,
    AuthRequest,
    FrameError,
    error_frame,
    parse_request,
    result_frame,
)
from jido.gateway.queue import SendQueue, frame_size
from jido.gateway.wire import MAX_BATCH_BYTES, MAX_BATCH_FRAMES, can_coalesce, send_messages
from jido.signal.serialization import dumps
from jido.telemetry.events import GATEWAY_CONNECTED, GATEWAY_DISCONNECTED, GATEWAY_LAGGING
from jido.telemetry.handlers import emit

if TYPE_CHECKING:
    from jido.gateway.server import Gateway

__all__ = ["CLOSE_TIMEOUT", "MAX_CALLS", "Connection", "ConnectionInterceptor", "connection_interceptor"]

logger = logging.getLogger("jido.gateway")

CLOSE_TIMEOUT: Final = 5.0
"""Seconds a closing connection gets to finish the frame being sent and the close handshake; then the TCP
connection is dropped."""
MAX_CALLS: Final = 64
"""Calls one connection may have running at once; its next frames wait for one to finish."""
ConnectionInterceptor: TypeAlias = Callable[[int, str], bool]
"""Consulted with the connection's id and each frame before it is sent; True cuts the connection there: the
TCP connection is dropped without a close handshake (the client sees 1006), as a network failure would."""

connection_interceptor: ContextVar[ConnectionInterceptor | None] = ContextVar(
    "jido_connection_interceptor", default=None
)
"""The :data:`ConnectionInterceptor` of gateway connections accepted in this context (a gateway served from
it), read once per connection. A hook for fault injection (:mod:`jido.testing.faults` sets it)."""

_FAIRNESS_BATCH: Final = 64  # frames a pump queues back to back before letting other tasks run
_MAX_REASON: Final = 120  # a close frame's reason is at most 123 bytes


def _reason(text: str) -> str:
    raw = text.encode()
    return text if len(raw) <= _MAX_REASON else raw[:_MAX_REASON].decode(errors="ignore")


def _only_cancelled(exc: BaseException) -> bool:
    if isinstance(exc, BaseExceptionGroup):
        return all(_only_cancelled(e) for e in exc.exceptions)
    return isinstance(exc, trio.Cancelled)


class Connection:
    """One client connection (internal to the gateway)."""

    def __init__(
        self,
        gateway: Gateway,
        ws: trio_websocket.WebSocketConnection,
        policy: TokenPolicy | None,
        account: Account,
        peer: str,
    ) -> None:
        self.gateway = gateway
        self.id = next(gateway._ids)
        self.ws = ws
        self.peer = peer
        self.policy = policy
        self.account = account
        self._opened = trio.current_time()
        self._announced = False  # jido.gateway.connected was emitted (then disconnected will be)
        self.subscriptions: dict[str, ServerSubscription] = {}
        self.subscription_ids = itertools.count(1)
        self.send_queue = SendQueue(gateway.send_queue, gateway.send_queue_bytes, account)
        self.calls = trio.Semaphore(MAX_CALLS)
        self.frame_bytes = 0  # bytes of the frame being handled
        self._close: tuple[int, str] | None = None
        self._peer_closed = False
        self._drain = False
        self.tasks: trio.Nursery | None = None
        self._writer_scope = trio.CancelScope()
        self._send_scope: trio.CancelScope | None = None
        self._writer_done = trio.Event()
        self._intercept = connection_interceptor.get()

    def __repr__(self) -> str:
        return f"<gateway connection {self.id} {self.peer}>"

    @property
    def token_policy(self) -> TokenPolicy:
        """The policy of the token the connection authenticated with."""
        assert self.policy is not None
        return self.policy

    @property
    def identity(self) -> str:
        """Who the connection is: the name of its token's policy (every connection of a gateway without
        tokens shares one). Durable subscriptions belong to the identity that created them."""
        name = self.token_policy.name
        assert name is not None  # TokenTable and OPEN_POLICY name every policy they hand out
        return name

    def _announce(self) -> None:
        self._announced = True
        emit(
            GATEWAY_CONNECTED,
            connection_id=self.id,
            peer=self.peer,
            authenticated=self.gateway.requires_auth,
        )

    async def serve(self) -> None:
        async with trio.open_nursery() as outer:
            outer.start_soon(self._write_loop)
            try:
                async with trio.open_nursery() as tasks:
                    self.tasks = tasks
                    if self._close is not None:  # closed before it started (the server is shutting down)
                        tasks.cancel_scope.cancel()
                    elif self.policy is not None:
                        self._announce()
                    tasks.start_soon(self._read_loop)
                    if not math.isinf(self.gateway.heartbeat_interval):
                        tasks.start_soon(self._heartbeat)
            except BaseException as exc:
                if self._close is None and not _only_cancelled(exc):
                    self._close = (CLOSE_INTERNAL_ERROR, "internal error")
                raise
            finally:
                with trio.CancelScope(shield=True):
                    await self._shutdown()

    def close(self, code: int, reason: str, *, drain: bool = False) -> None:
        """End the connection with ``code``; ``drain``: send what is queued first (an error frame that says
        why), else drop it (what a subscription dropped comes again when the client resumes)."""
        if self._close is not None:
            return
        self._close = (code, _reason(reason))
        self._drain = drain
        if self.tasks is not None:
            self.tasks.cancel_scope.cancel()

    async def _shutdown(self) -> None:
        try:
            await self._close_connection()
        finally:
            if self._announced:
                code, reason = self._close or (CLOSE_GOING_AWAY, "server going away")
                emit(
                    GATEWAY_DISCONNECTED,
                    connection_id=self.id,
                    peer=self.peer,
                    code=code,
                    reason=reason,
                    duration=trio.current_time() - self._opened,
                )

    async def _close_connection(self) -> None:
        code, reason = self._close or (CLOSE_GOING_AWAY, "server going away")
        for sub in list(self.subscriptions.values()):
            await self.drop_subscription(sub)
        with trio.move_on_after(CLOSE_TIMEOUT) as scope:
            if self._drain and not self._peer_closed:
                self.send_queue.close()  # the writer sends what is queued, then stops
            else:
                self._writer_scope.cancel()  # a frame being sent is finished first: its send is shielded
            await self._writer_done.wait()
            if not self._peer_closed:
                await self.ws.aclose(code, reason)
        if scope.cancelled_caught:
            # The peer does not read: abandon the frame in progress and drop the TCP connection.
            self._writer_scope.cancel()
            if self._send_scope is not None:
                self._send_scope.shield = False
            with trio.CancelScope() as abort:
                abort.cancel()
                await self.ws.aclose(code, reason)  # closes the stream even though cancelled

    async def drop_subscription(self, sub: ServerSubscription) -> None:
        if self.subscriptions.pop(sub.id, None) is not None:
            self.account.release("deliveries", sub.held + self.gateway.subscription_bytes)
            sub.held = 0
            sub.unacked.clear()
        sub.scope.cancel()
        if sub.durable is not None and self.gateway._durable.get(sub.durable) == (self, sub.id):
            del self.gateway._durable[sub.durable]
        await sub.bus_subscription.aclose()

    async def _write_loop(self) -> None:
        coalesce = can_coalesce(self.ws)
        try:
            with self._writer_scope:
                while True:
                    try:
                        first = await self.send_queue.get()
                    except trio.EndOfChannel:
                        return
                    # The get yielded already: take what queued up meanwhile too, and write it all at once.
                    frames = [first]
                    size = len(first)
                    while len(frames) < MAX_BATCH_FRAMES and size < MAX_BATCH_BYTES:
                        try:
                            frame = self.send_queue.get_nowait()
                        except (trio.WouldBlock, trio.EndOfChannel):
                            break
                        frames.append(frame)
                        size += len(frame)
                    cut = False
                    if self._intercept is not None:
                        for index, frame in enumerate(frames):
                            if self._intercept(self.id, frame):
                                frames, cut = frames[:index], True
                                break
                    if frames:
                        # A cancelled send would leave half a frame on the wire: a send always finishes
                        # (unless the connection is being abandoned, see _shutdown).
                        with trio.CancelScope(shield=True) as self._send_scope:
                            try:
                                await send_messages(self.ws, frames, coalesce=coalesce)
                            except trio_websocket.ConnectionClosed as exc:
                                self._peer_closed_with(exc)
                                return
                        self._send_scope = None
                        self.gateway._frames_sent += len(frames)
                    if cut:
                        await self._cut()
                        return
                    if self._close is not None and not self._drain:
                        return  # closing: what is still queued is dropped
        finally:
            self._writer_done.set()

    async def _cut(self) -> None:
        """Drop the TCP connection as a network failure would: no close frame, the frame not sent."""
        self._peer_closed = True  # nothing more can be sent, and no close handshake can happen
        # trio-websocket has no public abort; closing its stream is what it treats as the network going away.
        await self.ws._stream.aclose()
        self.close(1006, "connection cut")

    async def queue(self, frame: str, *, wait_budget: bool = False) -> bool:
        """Queue a frame, waiting for room; False (and the connection closing) if it is closing, or if the
        queue stayed full for ``slow_consumer_timeout`` seconds.

        When the gateway's budget is spent, it waits for room there first: for good with ``wait_budget`` (a
        pump or a call), else only while the connection's own frames are queued (the reader answering a
        request: it must go on reading the acks that free the budget)."""
        size = frame_size(frame)
        if not self.account.budget_room(size):
            await self.account.wait_budget(size, while_sending=not wait_budget)
        try:
            self.send_queue.put_nowait(frame)
        except trio.WouldBlock:
            with trio.move_on_after(self.gateway.slow_consumer_timeout):
                try:
                    await self.send_queue.put(frame)
                except trio.ClosedResourceError:
                    return False
                return True
            self._slow_consumer()
            return False
        except trio.ClosedResourceError:
            return False
        return True

    async def reply(self, request_id: str, result: Mapping[str, Any]) -> None:
        await self.queue(result_frame(request_id, result))

    async def error(self, error: FrameError) -> None:
        self.gateway._errors_sent += 1
        await self.queue(error_frame(error.request_id, error.code, error.message, error.details))

    def _peer_closed_with(self, exc: trio_websocket.ConnectionClosed) -> None:
        self._peer_closed = True
        reason = exc.reason
        if reason is None:
            self.close(1006, "connection lost")
        else:
            self.close(reason.code, reason.reason or "")

    async def _read_loop(self) -> None:
        if self.policy is None and not await self._authenticate():
            return
        while True:
            try:
                message = await self.ws.get_message()
            except trio_websocket.ConnectionClosed as exc:
                self._peer_closed_with(exc)
                return
            self._took_frame()
            self.frame_bytes = sys.getsizeof(message)  # str or bytes: what it takes in memory
            try:
                request = parse_request(message, max_bytes=self.gateway.max_frame_bytes)
                await dispatch(self, request)
            except FrameError as error:
                await self.error(error)

    def _took_frame(self) -> None:
        # What was read from the socket up to here made this frame (and control frames): no longer held there.
        # Bytes of the next frame already read are forgotten too; at most one read, as the websocket layer
        # holds no frame besides this one.
        self.gateway._frames_received += 1
        account = self.account
        if account.parts["incoming"]:
            account.release("incoming", account.parts["incoming"])

    async def _authenticate(self) -> bool:
        """Wait for the first frame: it must be a valid ``auth`` frame."""
        gateway = self.gateway
        failure: FrameError
        with trio.move_on_after(gateway.auth_timeout):
            try:
                message = await self.ws.get_message()
            except trio_websocket.ConnectionClosed as exc:
                self._peer_closed_with(exc)
                return False
            self._took_frame()
            try:
                request = parse_request(message, max_bytes=gateway.max_frame_bytes)
            except FrameError as error:
                failure = FrameError(
                    "unauthorized", f"authenticate first: {error.message}", request_id=error.request_id
                )
            else:
                if not isinstance(request, AuthRequest):
                    failure = FrameError(
                        "unauthorized",
                        'authenticate first: send {"op":"auth","id":...,"token":...} as the first frame',
                        request_id=request.id,
                    )
                else:
                    policy = gateway.authenticate(request.token)
                    if policy is not None:
                        self.policy = policy
                        self._announce()
                        await self.reply(request.id, policy.to_json())
                        return True
                    failure = FrameError("unauthorized", "invalid token", request_id=request.id)
            gateway._auth_failures += 1
            await self.error(failure)
            self.close(CLOSE_UNAUTHORIZED, failure.message, drain=True)
            return False
        gateway._auth_failures += 1
        message = f"no auth frame within {gateway.auth_timeout:g}s"
        await self.error(FrameError("unauthorized", message))
        self.close(CLOSE_UNAUTHORIZED, message, drain=True)
        return False

    def _slow_consumer(self) -> None:
        timeout = self.gateway.slow_consumer_timeout
        if self._close is None:
            self.gateway._slow_consumers += 1
            logger.info("gateway connection %s: send queue full, closing (slow consumer)", self.id)
            emit(
                GATEWAY_LAGGING,
                connection_id=self.id,
                peer=self.peer,
                queued=self.send_queue.frames,
                limit=self.gateway.send_queue,
                waited=timeout,
            )
        self.close(CLOSE_SLOW_CONSUMER, f"slow consumer: send queue full for {timeout:g}s")

    async def pump(self, sub: ServerSubscription) -> None:
        bus_sub = sub.bus_subscription
        subscription_json = dumps(sub.id)
        auto_ack = sub.durable is None
        account = self.account
        queued = 0
        with sub.scope:
            while True:
                try:
                    delivery = await bus_sub.next()
                except ClosedError:
                    return
                frame = self.gateway.signal_frame(subscription_json, delivery.record)
                size = frame_size(frame)
                if not auto_ack and delivery.offset not in sub.unacked:
                    # Held until acked: room for it in the connection's deliveries first (acks make it).
                    if not (account.part_room("deliveries", size) and account.budget_room(size)):
                        await self._wait_for_acks(sub, size)
                    sub.unacked[delivery.offset] = size
                    sub.held += size
                    account.charge("deliveries", size)
                queued_now = account.budget_room(size)  # else the gateway's budget is spent: queue() waits
                if queued_now:
                    try:
                        self.send_queue.put_nowait(frame)  # the usual case, without a coroutine per frame
                    except (trio.WouldBlock, trio.ClosedResourceError):
                        queued_now = False
                if not queued_now and not await self.queue(frame, wait_budget=True):
                    return
                if auto_ack:
                    await bus_sub.ack(delivery.offset)
                queued += 1
                if queued % _FAIRNESS_BATCH == 0:
                    await trio.lowlevel.checkpoint()

    async def _wait_for_acks(self, sub: ServerSubscription, size: int) -> None:
        """Wait until the connection's deliveries have room for ``size`` more bytes: its client acks, or
        the gateway's budget frees up. Deliveries the bus no longer has in flight for ``sub`` (dead-lettered
        after their attempts) are given back first."""
        checkpoint = sub.bus_subscription.statistics().checkpoint
        for offset in [offset for offset in sub.unacked if offset <= checkpoint]:
            self.release_delivery(sub, offset)
        await self.account.wait_room("deliveries", size)

    def release_delivery(self, sub: ServerSubscription, offset: int) -> None:
        """The delivery at ``offset`` of ``sub`` is acked (or gone): its frame is no longer held for it."""
        size = sub.unacked.pop(offset, 0)
        if size:
            sub.held -= size
            self.account.release("deliveries", size)

    async def _heartbeat(self) -> None:
        interval = self.gateway.heartbeat_interval
        while True:
            await trio.sleep(interval)
            with trio.move_on_after(interval) as scope:
                try:
                    await self.ws.ping()
                except trio_websocket.ConnectionClosed:
                    return  # the reader sees it too
            if scope.cancelled_caught:
                self.gateway._heartbeat_timeouts += 1
                self.close(CLOSE_INTERNAL_ERROR, f"no pong within {interval:g}s")
                return
