"""The websocket gateway: a runtime's bus and agents, spoken to in JSON frames over trio-websocket.

::

    async with jido.open_runtime() as rt, trio.open_nursery() as nursery:
        gateway = await nursery.start(serve_gateway, rt, "127.0.0.1", 8765)
        ...  # clients connect to gateway.url

One task reads each connection's frames and handles them in order (a ``call`` runs in a task of its own, so a
slow agent does not hold up the rest); every subscription has a pump task reading the bus; one writer task
sends what is queued for the connection. The queue is bounded (``send_queue`` frames) and pumps wait for room
in it, so a burst, or a replay of the journal, flows at the pace the client reads: the backlog stays in the
journal, not in memory. A connection whose queue stays full for ``slow_consumer_timeout`` seconds (the client
stopped reading) is closed with 4008; the client reconnects and resumes from the last offset it received,
and the journal serves the gap.
"""

from __future__ import annotations

import contextlib
import ipaddress
import itertools
import logging
import math
import urllib.parse
from collections.abc import Mapping
from functools import partial
from typing import Any, Final

import attrs
import trio
import trio_websocket

from jido.bus.journal import Record
from jido.bus.subscription import Subscription
from jido.convert import unstructure
from jido.errors import (
    ActionError,
    CallTimeoutError,
    ClosedError,
    JidoError,
    NoRouteError,
)
from jido.gateway.policy import OPEN_POLICY, TokenPolicy, TokenTable, TooComplexError, uncovered_type
from jido.gateway.protocol import (
    CLOSE_GOING_AWAY,
    CLOSE_INTERNAL_ERROR,
    CLOSE_SLOW_CONSUMER,
    CLOSE_UNAUTHORIZED,
    AckRequest,
    AuthRequest,
    CallRequest,
    FrameError,
    InspectRequest,
    PingRequest,
    PublishRequest,
    Request,
    SubscribeRequest,
    UnsubscribeRequest,
    error_frame,
    parse_request,
    result_frame,
)
from jido.runtime.runtime import Runtime
from jido.signal.serialization import dumps
from jido.telemetry.events import GATEWAY_CONNECTED, GATEWAY_DISCONNECTED, GATEWAY_LAGGING
from jido.telemetry.handlers import emit

__all__ = ["Gateway", "GatewayStatistics", "serve_gateway"]

logger = logging.getLogger("jido.gateway")

CLOSE_TIMEOUT: Final = 5.0
"""Seconds a closing connection gets to finish the frame being sent and the close handshake; then the TCP
connection is dropped."""
MAX_CALLS: Final = 64
"""Calls one connection may have running at once; its next frames wait for one to finish."""
MAX_SUBSCRIPTIONS: Final = 1000
"""Subscriptions one connection may hold."""
_FAIRNESS_BATCH: Final = 64  # frames a pump queues back to back before letting other tasks run
_WEBSOCKET_SLACK: Final = (
    4  # the websocket layer counts characters; a frame has at most 4 bytes per character
)
_ENCODED_CACHE: Final = 4096  # signal JSON texts kept by offset: a burst fans out to many connections
_MAX_REASON: Final = 120  # a close frame's reason is at most 123 bytes


def _positive_seconds(name: str, value: object, *, allow_inf: bool = False) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not value > 0:
        raise ValueError(f"{name} must be a positive number of seconds, got {value!r}")
    if math.isinf(value) and not allow_inf:
        raise ValueError(f"{name} must be a finite positive number of seconds, got {value!r}")
    return float(value)


def _positive_int(name: str, value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"{name} must be an int >= 1, got {value!r}")
    return value


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _reason(text: str) -> str:
    raw = text.encode()
    return text if len(raw) <= _MAX_REASON else raw[:_MAX_REASON].decode(errors="ignore")


@attrs.frozen
class GatewayStatistics:
    """A snapshot of a gateway.

    Attributes:
        connections: connections open now.
        subscriptions: subscriptions open now, over all connections.
        accepted: connections accepted since the gateway started.
        rejected: handshakes refused: a bad ``Authorization`` header (HTTP 401), or a browser page from
            another host on a gateway without tokens (HTTP 403).
        auth_failures: connections closed with 4001 (no valid ``auth`` frame first).
        slow_consumers: connections closed with 4008 (send queue full for ``slow_consumer_timeout``).
        heartbeat_timeouts: connections closed because the peer did not answer a ping in time.
        frames_received: client frames read.
        frames_sent: frames written to clients.
        errors_sent: error frames among them.
    """

    connections: int
    subscriptions: int
    accepted: int
    rejected: int
    auth_failures: int
    slow_consumers: int
    heartbeat_timeouts: int
    frames_received: int
    frames_sent: int
    errors_sent: int


class Gateway:
    """A running gateway, as ``await nursery.start(serve_gateway, runtime, ...)`` returns it.

    Attributes:
        runtime: the runtime it serves.
        host: the address it listens on.
        port: the port it listens on (the one chosen by the system when started with port 0).
    """

    def __init__(
        self,
        runtime: Runtime,
        *,
        host: str,
        tokens: TokenTable | None,
        max_frame_bytes: int,
        send_queue: int,
        slow_consumer_timeout: float,
        heartbeat_interval: float,
        auth_timeout: float,
    ) -> None:
        self.runtime = runtime
        self.host = host
        self.port = 0
        self._tokens = tokens
        self.max_frame_bytes = max_frame_bytes
        self.send_queue = send_queue
        self.slow_consumer_timeout = slow_consumer_timeout
        self.heartbeat_interval = heartbeat_interval
        self.auth_timeout = auth_timeout
        self._connections: set[_Connection] = set()
        self._closing = False
        self._gone = trio.Event()
        self._durable: dict[str, tuple[_Connection, str]] = {}
        self._encoded: dict[int, str] = {}
        self._ids = itertools.count(1)
        self._accepted = 0
        self._rejected = 0
        self._auth_failures = 0
        self._slow_consumers = 0
        self._heartbeat_timeouts = 0
        self._frames_received = 0
        self._frames_sent = 0
        self._errors_sent = 0

    def __repr__(self) -> str:
        return f"<Gateway {self.url} connections={len(self._connections)}>"

    @property
    def url(self) -> str:
        """The websocket URL clients connect to, such as ``"ws://127.0.0.1:8765/"``."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"ws://{host}:{self.port}/"

    @property
    def connections(self) -> int:
        """How many connections are open."""
        return len(self._connections)

    @property
    def requires_auth(self) -> bool:
        return self._tokens is not None

    def statistics(self) -> GatewayStatistics:
        return GatewayStatistics(
            connections=len(self._connections),
            subscriptions=sum(len(c.subscriptions) for c in self._connections),
            accepted=self._accepted,
            rejected=self._rejected,
            auth_failures=self._auth_failures,
            slow_consumers=self._slow_consumers,
            heartbeat_timeouts=self._heartbeat_timeouts,
            frames_received=self._frames_received,
            frames_sent=self._frames_sent,
            errors_sent=self._errors_sent,
        )

    def authenticate(self, token: str) -> TokenPolicy | None:
        if self._tokens is None:
            return OPEN_POLICY
        return self._tokens.authenticate(token)

    def signal_frame(self, subscription_json: str, record: Record) -> str:
        """The ``signal`` frame for ``record``; a record's JSON is encoded once for every connection."""
        encoded = self._encoded.get(record.offset)
        if encoded is None:
            encoded = record.signal.to_json()
            if len(self._encoded) >= _ENCODED_CACHE:
                del self._encoded[next(iter(self._encoded))]
            self._encoded[record.offset] = encoded
        return (
            f'{{"op":"signal","subscription":{subscription_json},'
            f'"offset":{record.offset},"signal":{encoded}}}'
        )

    # -- connections -------------------------------------------------------------------------------------
    async def _close_all(self) -> None:
        """Close every connection with 1001 and wait (bounded) until they are gone."""
        self._closing = True
        for connection in list(self._connections):
            connection.close(CLOSE_GOING_AWAY, "server going away")
        with trio.move_on_after(CLOSE_TIMEOUT + 1.0):
            while self._connections:
                await self._gone.wait()

    async def _handle(self, request: trio_websocket.WebSocketRequest) -> None:
        """Serve one websocket connection; never raises (except Cancelled), so one bad peer cannot stop the
        server."""
        if self._closing:
            with contextlib.suppress(trio_websocket.ConnectionClosed):
                await request.reject(503, body=b"server going away\n")
            return
        try:
            if self._tokens is None and not _local_origin(request.headers):
                # Without tokens, any web page the user visits could open a socket to a local gateway
                # (cross-site websocket hijacking): browsers say where the page came from, so refuse others.
                self._rejected += 1
                await request.reject(403, body=b"cross-origin connections need a token\n")
                return
            policy = None if self._tokens is not None else OPEN_POLICY
            header = _authorization(request.headers)
            if header is not None and self._tokens is not None:
                policy = self._tokens.authenticate(header) if header else None
                if policy is None:
                    self._rejected += 1
                    await request.reject(
                        401,
                        extra_headers=[(b"WWW-Authenticate", b'Bearer error="invalid_token"')],
                        body=b"invalid bearer token\n",
                    )
                    return
            ws = await request.accept()
        except trio_websocket.ConnectionClosed:
            return
        connection = _Connection(self, ws, policy)
        self._accepted += 1
        self._connections.add(connection)
        try:
            await connection.serve()
        except Exception:
            logger.exception("gateway connection %s failed", connection.id)
        finally:
            self._connections.discard(connection)
            self._gone.set()
            self._gone = trio.Event()


def _peer(ws: trio_websocket.WebSocketConnection) -> str:
    remote = ws.remote
    if isinstance(remote, trio_websocket.Endpoint):
        host = str(remote.address)
        return f"[{host}]:{remote.port}" if remote.address.version == 6 else f"{host}:{remote.port}"
    return remote


def _local_origin(headers: list[tuple[bytes, bytes]]) -> bool:
    """Whether the handshake comes from no browser (no Origin header) or from a page served by this host."""
    origins = [value for name, value in headers if name.lower() == b"origin"]
    if not origins:
        return True
    host = urllib.parse.urlsplit(origins[0].decode("latin-1")).hostname
    return host is not None and _is_loopback(host)


def _authorization(headers: list[tuple[bytes, bytes]]) -> str | None:
    """The bearer token of the ``Authorization`` header; "" when it is malformed; None when there is none."""
    values = [value for name, value in headers if name.lower() == b"authorization"]
    if not values:
        return None
    if len(values) > 1:
        return ""
    scheme, _, token = values[0].decode("latin-1").strip().partition(" ")
    token = token.strip()
    return token if scheme.lower() == "bearer" and token else ""


@attrs.define(eq=False)
class _GatewaySubscription:
    id: str
    durable: str | None
    bus_subscription: Subscription
    scope: trio.CancelScope = attrs.field(factory=trio.CancelScope)


class _Connection:
    """One client connection: its reader, writer, heartbeat, pumps and calls."""

    def __init__(
        self,
        gateway: Gateway,
        ws: trio_websocket.WebSocketConnection,
        policy: TokenPolicy | None,
    ) -> None:
        self.gateway = gateway
        self.id = next(gateway._ids)
        self.ws = ws
        self.peer = _peer(ws)
        self.policy = policy
        self._opened = trio.current_time()
        self._announced = False  # jido.gateway.connected was emitted (then disconnected will be)
        self.subscriptions: dict[str, _GatewaySubscription] = {}
        self._sub_ids = itertools.count(1)
        self._send, self._receive = trio.open_memory_channel[str](gateway.send_queue)
        self._calls = trio.Semaphore(MAX_CALLS)
        self._close: tuple[int, str] | None = None
        self._peer_closed = False
        self._drain = False
        self._tasks: trio.Nursery | None = None
        self._writer_scope = trio.CancelScope()
        self._send_scope: trio.CancelScope | None = None
        self._writer_done = trio.Event()

    def __repr__(self) -> str:
        return f"<gateway connection {self.id} {self.peer}>"

    def _announce(self) -> None:
        self._announced = True
        emit(
            GATEWAY_CONNECTED,
            connection_id=self.id,
            peer=self.peer,
            authenticated=self.gateway.requires_auth,
        )

    # -- lifecycle -----------------------------------------------------------------------------------------
    async def serve(self) -> None:
        async with trio.open_nursery() as outer:
            outer.start_soon(self._write_loop)
            try:
                async with trio.open_nursery() as tasks:
                    self._tasks = tasks
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
        if self._tasks is not None:
            self._tasks.cancel_scope.cancel()

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
            await self._drop_subscription(sub)
        with trio.move_on_after(CLOSE_TIMEOUT) as scope:
            if self._drain and not self._peer_closed:
                self._send.close()  # the writer sends what is queued, then stops
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

    async def _drop_subscription(self, sub: _GatewaySubscription) -> None:
        self.subscriptions.pop(sub.id, None)
        sub.scope.cancel()
        if sub.durable is not None and self.gateway._durable.get(sub.durable) == (self, sub.id):
            del self.gateway._durable[sub.durable]
        await sub.bus_subscription.aclose()

    # -- writing -------------------------------------------------------------------------------------------
    async def _write_loop(self) -> None:
        try:
            with self._writer_scope:
                async for frame in self._receive:
                    # A cancelled send would leave half a frame on the wire: a send always finishes
                    # (unless the connection is being abandoned, see _shutdown).
                    with trio.CancelScope(shield=True) as self._send_scope:
                        try:
                            await self.ws.send_message(frame)
                        except trio_websocket.ConnectionClosed as exc:
                            self._peer_closed_with(exc)
                            return
                    self._send_scope = None
                    self.gateway._frames_sent += 1
        finally:
            self._writer_done.set()

    async def _queue(self, frame: str) -> bool:
        """Queue a frame, waiting for room; False (and the connection closing) if it is closing, or if the
        queue stayed full for ``slow_consumer_timeout`` seconds."""
        try:
            self._send.send_nowait(frame)
        except trio.WouldBlock:
            with trio.move_on_after(self.gateway.slow_consumer_timeout):
                try:
                    await self._send.send(frame)
                except trio.ClosedResourceError:
                    return False
                return True
            self._slow_consumer()
            return False
        except trio.ClosedResourceError:
            return False
        return True

    async def _reply(self, request_id: str, result: Mapping[str, Any]) -> None:
        await self._queue(result_frame(request_id, result))

    async def _error(self, error: FrameError) -> None:
        self.gateway._errors_sent += 1
        await self._queue(error_frame(error.request_id, error.code, error.message, error.details))

    # -- reading -------------------------------------------------------------------------------------------
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
            self.gateway._frames_received += 1
            try:
                request = parse_request(message, max_bytes=self.gateway.max_frame_bytes)
                await self._dispatch(request)
            except FrameError as error:
                await self._error(error)

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
            gateway._frames_received += 1
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
                        await self._reply(request.id, policy.to_json())
                        return True
                    failure = FrameError("unauthorized", "invalid token", request_id=request.id)
            gateway._auth_failures += 1
            await self._error(failure)
            self.close(CLOSE_UNAUTHORIZED, failure.message, drain=True)
            return False
        gateway._auth_failures += 1
        message = f"no auth frame within {gateway.auth_timeout:g}s"
        await self._error(FrameError("unauthorized", message))
        self.close(CLOSE_UNAUTHORIZED, message, drain=True)
        return False

    async def _dispatch(self, request: Request) -> None:
        if isinstance(request, PublishRequest):
            await self._publish(request)
        elif isinstance(request, SubscribeRequest):
            await self._subscribe(request)
        elif isinstance(request, AckRequest):
            await self._ack(request)
        elif isinstance(request, CallRequest):
            await self._start_call(request)
        elif isinstance(request, UnsubscribeRequest):
            sub = self._find(request.id, request.subscription)
            await self._drop_subscription(sub)
            await self._reply(request.id, {})
        elif isinstance(request, InspectRequest):
            await self._reply(request.id, await self._inspect())
        elif isinstance(request, PingRequest):
            await self._reply(request.id, {})
        else:
            assert isinstance(request, AuthRequest)
            if self.gateway.requires_auth:
                raise FrameError("bad_frame", "already authenticated", request_id=request.id)
            await self._reply(request.id, OPEN_POLICY.to_json())

    # -- ops -------------------------------------------------------------------------------------------------
    @property
    def _policy(self) -> TokenPolicy:
        assert self.policy is not None
        return self.policy

    async def _publish(self, request: PublishRequest) -> None:
        policy = self._policy
        signal = request.signal
        if not policy.may_publish(signal.type):
            allowed = ", ".join(map(repr, policy.publish)) or "none"
            raise FrameError(
                "forbidden",
                f"publishing {signal.type!r} is not allowed for this token (allowed: {allowed})",
                request_id=request.id,
            )
        try:
            offset = await self.gateway.runtime.publish(signal)
        except ClosedError as exc:
            raise FrameError("internal", str(exc), request_id=request.id) from None
        await self._reply(request.id, {"offset": offset})

    def _find(self, request_id: str, subscription: str) -> _GatewaySubscription:
        sub = self.subscriptions.get(subscription)
        if sub is None:
            raise FrameError(
                "not_found", f"no subscription {subscription!r} on this connection", request_id=request_id
            )
        return sub

    def _check_pattern(self, request: SubscribeRequest) -> None:
        allowed = self._policy.subscribe
        shown = ", ".join(map(repr, allowed)) or "none"
        try:
            example = uncovered_type(request.pattern, allowed)
        except TooComplexError:
            raise FrameError(
                "forbidden",
                f"pattern {request.pattern!r} is too complex to check against the allowed patterns ({shown})",
                request_id=request.id,
            ) from None
        if example is not None:
            raise FrameError(
                "forbidden",
                f"pattern {request.pattern!r} is not within the allowed subscribe patterns ({shown}): "
                f"it matches {example!r}",
                request_id=request.id,
                details={"pattern": request.pattern, "allowed": list(allowed), "example": example},
            )

    async def _subscribe(self, request: SubscribeRequest) -> None:
        self._check_pattern(request)
        if len(self.subscriptions) >= MAX_SUBSCRIPTIONS:
            raise FrameError(
                "forbidden",
                f"at most {MAX_SUBSCRIPTIONS} subscriptions per connection",
                request_id=request.id,
            )
        bus = self.gateway.runtime.bus
        name = None
        if request.durable is not None:
            name = f"gateway:{request.durable}"
            await self._take_over(request, name)
        try:
            bus_sub = await bus.subscribe(request.pattern, name=name, start_from=request.start or "latest")
        except ValueError as exc:  # the durable name is held by a subscriber outside the gateway
            raise FrameError("conflict", str(exc), request_id=request.id) from None
        except ClosedError as exc:
            raise FrameError("internal", str(exc), request_id=request.id) from None
        sub = _GatewaySubscription(f"s{next(self._sub_ids)}", name, bus_sub)
        self.subscriptions[sub.id] = sub
        if name is not None:
            self.gateway._durable[name] = (self, sub.id)
        first = max(bus_sub.statistics().cursor, await bus.journal.first_offset())
        await self._reply(request.id, {"subscription": sub.id, "from": first})
        assert self._tasks is not None
        self._tasks.start_soon(self._pump, sub)

    async def _take_over(self, request: SubscribeRequest, name: str) -> None:
        """A durable name is one consumer: a new subscriber replaces the one before (whose connection may
        be dead without the server knowing yet), and that one is told."""
        holder = self.gateway._durable.get(name)
        if holder is None:
            return
        connection, sub_id = holder
        if connection is self:
            raise FrameError(
                "conflict",
                f"durable subscription {request.durable!r} is already subscribed on this connection "
                f"as {sub_id!r}",
                request_id=request.id,
            )
        sub = connection.subscriptions.get(sub_id)
        if sub is None:
            return
        await connection._drop_subscription(sub)
        notice = error_frame(
            None,
            "conflict",
            f"durable subscription {request.durable!r} was taken over by another connection",
            {"subscription": sub_id, "durable": request.durable},
        )
        if connection._tasks is not None and connection._close is None:
            self.gateway._errors_sent += 1
            connection._tasks.start_soon(connection._queue, notice)

    def _slow_consumer(self) -> None:
        timeout = self.gateway.slow_consumer_timeout
        if self._close is None:
            self.gateway._slow_consumers += 1
            logger.info("gateway connection %s: send queue full, closing (slow consumer)", self.id)
            emit(
                GATEWAY_LAGGING,
                connection_id=self.id,
                peer=self.peer,
                queued=self._send.statistics().current_buffer_used,
                limit=self.gateway.send_queue,
                waited=timeout,
            )
        self.close(CLOSE_SLOW_CONSUMER, f"slow consumer: send queue full for {timeout:g}s")

    async def _pump(self, sub: _GatewaySubscription) -> None:
        bus_sub = sub.bus_subscription
        subscription_json = dumps(sub.id)
        auto_ack = sub.durable is None
        queued = 0
        with sub.scope:
            while True:
                try:
                    delivery = await bus_sub.next()
                except ClosedError:
                    return
                if not await self._queue(self.gateway.signal_frame(subscription_json, delivery.record)):
                    return
                if auto_ack:
                    await bus_sub.ack(delivery.offset)
                queued += 1
                if queued % _FAIRNESS_BATCH == 0:
                    await trio.lowlevel.checkpoint()

    async def _ack(self, request: AckRequest) -> None:
        sub = self._find(request.id, request.subscription)
        if sub.durable is not None:
            try:
                await sub.bus_subscription.ack(request.offset)
            except LookupError as exc:
                raise FrameError("not_found", str(exc), request_id=request.id) from None
        await self._reply(request.id, {})

    async def _start_call(self, request: CallRequest) -> None:
        if not self._policy.call:
            raise FrameError("forbidden", "calls are not allowed for this token", request_id=request.id)
        await self._calls.acquire()
        assert self._tasks is not None
        self._tasks.start_soon(self._call, request)

    async def _call(self, request: CallRequest) -> None:
        try:
            try:
                result = await self._call_agent(request)
            except FrameError as error:
                await self._error(error)
                return
            try:
                frame = result_frame(request.id, result)
            except ValueError as exc:
                await self._error(
                    FrameError(
                        "internal",
                        f"state of agent {request.agent!r} is not JSON: {exc}",
                        request_id=request.id,
                    )
                )
                return
            await self._queue(frame)
        finally:
            self._calls.release()

    async def _call_agent(self, request: CallRequest) -> dict[str, Any]:
        ref = self.gateway.runtime.whereis(request.agent)
        if ref is None:
            raise FrameError("not_found", f"no agent with id {request.agent!r}", request_id=request.id)
        try:
            agent = await ref.call(request.signal, timeout=request.timeout)
        except CallTimeoutError as exc:
            raise FrameError("timeout", str(exc), request_id=request.id) from None
        except NoRouteError as exc:
            raise FrameError("no_route", str(exc), request_id=request.id) from None
        except ClosedError as exc:
            raise FrameError("not_found", str(exc), request_id=request.id) from None
        except (ActionError, JidoError) as exc:
            raise FrameError(
                "action_failed", str(exc), request_id=request.id, details={"error": type(exc).__name__}
            ) from None
        except Exception as exc:  # what the agent's own code raised: the caller's failure, not the gateway's
            raise FrameError(
                "action_failed",
                f"{type(exc).__name__}: {exc}",
                request_id=request.id,
                details={"error": type(exc).__name__},
            ) from None
        return {"agent": ref.id, "state": unstructure(agent.state)}

    async def _inspect(self) -> dict[str, Any]:
        runtime = self.gateway.runtime
        journal = runtime.bus.journal
        return {
            "agents": [
                {
                    "id": ref.id,
                    "name": ref.spec.name,
                    "status": ref.status,
                    "mailbox_depth": ref.mailbox_depth,
                    "restarts": ref.restarts,
                }
                for ref in runtime.agents()
            ],
            "bus": {"first_offset": await journal.first_offset(), "last_offset": await journal.last_offset()},
            "dead_letters": runtime.statistics().dead_letters,
        }

    # -- heartbeat -------------------------------------------------------------------------------------------
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


def _only_cancelled(exc: BaseException) -> bool:
    if isinstance(exc, BaseExceptionGroup):
        return all(_only_cancelled(e) for e in exc.exceptions)
    return isinstance(exc, trio.Cancelled)


async def serve_gateway(
    runtime: Runtime,
    host: str = "127.0.0.1",
    port: int = 0,
    *,
    tokens: Mapping[str, TokenPolicy] | None = None,
    max_frame_bytes: int = 1 << 20,
    send_queue: int = 1000,
    slow_consumer_timeout: float = 10.0,
    heartbeat_interval: float = 20.0,
    auth_timeout: float = 10.0,
    task_status: trio.TaskStatus[Gateway] = trio.TASK_STATUS_IGNORED,
) -> None:
    """Serve ``runtime`` over websockets until cancelled; ``await nursery.start(serve_gateway, rt)`` gives
    the :class:`Gateway` once it listens.

    Args:
        runtime: the runtime whose bus and agents clients reach.
        host: the address to listen on.
        port: the port (0: one the system chooses; see ``Gateway.port``).
        tokens: bearer tokens and what each may do. None serves without authentication, which is only
            allowed on a loopback address.
        max_frame_bytes: the largest client frame handled; a larger one gets a ``too_large`` error frame (and
            one over 4 times this is refused by the websocket layer, which closes with 1009).
        send_queue: frames queued per connection (replies and signals); signals wait for room in it.
        slow_consumer_timeout: seconds the send queue may stay full (the client does not read) before the
            connection is closed with 4008.
        heartbeat_interval: seconds between pings; a peer that does not answer within as long is dropped
            (``math.inf``: no pings).
        auth_timeout: seconds a connection without an ``Authorization`` header has to send its ``auth``
            frame before it is closed with 4001.

    Raises:
        ValueError: an option is out of range, or ``tokens`` is None on a host that is not loopback.
        OSError: the address cannot be listened on.
    """
    if not isinstance(runtime, Runtime):
        raise TypeError(f"serve_gateway needs a jido Runtime, got {type(runtime).__name__}")
    if not isinstance(host, str) or not host:
        raise ValueError(f"host must be a non-empty str, got {host!r}")
    if isinstance(port, bool) or not isinstance(port, int) or not 0 <= port <= 65535:
        raise ValueError(f"port must be an int in 0..65535, got {port!r}")
    table = None if tokens is None else TokenTable(tokens)
    if table is None and not _is_loopback(host):
        raise ValueError(
            f"serving without tokens is only allowed on a loopback address, got host {host!r}: "
            "pass tokens=..."
        )
    gateway = Gateway(
        runtime,
        host=host,
        tokens=table,
        max_frame_bytes=_positive_int("max_frame_bytes", max_frame_bytes),
        send_queue=_positive_int("send_queue", send_queue),
        slow_consumer_timeout=_positive_seconds("slow_consumer_timeout", slow_consumer_timeout),
        heartbeat_interval=_positive_seconds("heartbeat_interval", heartbeat_interval, allow_inf=True),
        auth_timeout=_positive_seconds("auth_timeout", auth_timeout),
    )
    serve = partial(
        trio_websocket.serve_websocket,
        gateway._handle,
        host,
        port,
        None,
        # Above our own limit, so that an oversized frame reaches us and gets an error frame.
        max_message_size=_WEBSOCKET_SLACK * max_frame_bytes,
        message_queue_size=4,
        connect_timeout=10.0,
        disconnect_timeout=CLOSE_TIMEOUT,
    )
    # The websocket server is shielded from our cancellation: on the way out, connections are closed with
    # 1001 first, which needs their reader tasks to see the close handshake through; then it is cancelled.
    server_scope = trio.CancelScope(shield=True)

    async def run_server(*, task_status: trio.TaskStatus[trio_websocket.WebSocketServer]) -> None:
        with server_scope:
            await serve(task_status=task_status)

    async with trio.open_nursery() as nursery:
        server = await nursery.start(run_server)
        listener = server.listeners[0]
        assert isinstance(listener, trio_websocket.Endpoint)
        gateway.port = listener.port
        logger.info("gateway listening on %s", gateway.url)
        task_status.started(gateway)
        try:
            await trio.sleep_forever()
        finally:
            with trio.CancelScope(shield=True):
                await gateway._close_all()
            server_scope.cancel()
