"""The websocket gateway: a runtime's bus and agents, spoken to in JSON frames over trio-websocket.

::

    async with jido.open_runtime() as rt, trio.open_nursery() as nursery:
        gateway = await nursery.start(serve_gateway, rt, "127.0.0.1", 8765)
        ...  # clients connect to gateway.url

One task reads each connection's frames and handles them in order (a ``call`` runs in a task of its own, so a
slow agent does not hold up the rest); every subscription has a pump task reading the bus; one writer task
sends what is queued for the connection. The queue is bounded (``send_queue`` frames and ``send_queue_bytes``
bytes) and pumps wait for room in it, so a burst, or a replay of the journal, flows at the pace the client reads: the backlog stays in the
journal, not in memory. A connection whose queue stays full for ``slow_consumer_timeout`` seconds (the client
stopped reading) is closed with 4008; the client reconnects and resumes from the last offset it received,
and the journal serves the gap.
"""

from __future__ import annotations

import collections
import ipaddress
import itertools
import logging
import math
import urllib.parse
from collections.abc import Callable, Mapping
from functools import partial
from typing import Final

import attrs
import trio
import trio_websocket

from jido.bus.journal import Record
from jido.gateway.connection import CLOSE_TIMEOUT, Connection
from jido.gateway.policy import OPEN_POLICY, TokenPolicy, TokenTable
from jido.gateway.protocol import CLOSE_GOING_AWAY
from jido.gateway.queue import frame_size
from jido.runtime.runtime import Runtime

__all__ = ["DEFAULT_MAX_CONNECTIONS", "Gateway", "GatewayStatistics", "is_loopback", "serve_gateway"]

logger = logging.getLogger("jido.gateway")

# The websocket layer counts characters; a frame has at most 4 bytes per character.
_WEBSOCKET_SLACK: Final = 4
# Signal JSON texts kept by offset, so that a burst fanning out to many connections is encoded once per
# signal; bounded in entries and in bytes (a few large signals must not pin a gigabyte).
_ENCODED_CACHE: Final = 4096
_ENCODED_CACHE_BYTES: Final = 16 << 20
DEFAULT_MAX_CONNECTIONS: Final = 1024


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


def is_loopback(host: str) -> bool:
    """Whether ``host`` is a loopback address (``localhost``, ``127.x.x.x``, ``::1``)."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


@attrs.frozen
class GatewayStatistics:
    """A snapshot of a gateway.

    Attributes:
        connections: connections open now.
        subscriptions: subscriptions open now, over all connections.
        accepted: connections accepted since the gateway started.
        rejected: handshakes refused: a bad ``Authorization`` header (HTTP 401), or a browser page from
            another host on a gateway without tokens (HTTP 403).
        over_capacity: handshakes refused with HTTP 503 because ``max_connections`` connections were open
            (or opening) already.
        auth_failures: connections closed with 4001 (no valid ``auth`` frame first).
        slow_consumers: connections closed with 4008 (send queue full for ``slow_consumer_timeout``).
        queued_frames: frames waiting in the send queues of all connections now.
        queued_bytes: bytes those frames take now.
        peak_queued_bytes: the most bytes one connection's send queue has held since the gateway started
            (at most ``send_queue_bytes``, or one frame when a single frame is larger).
        cached_bytes: bytes of encoded signals kept so that each is encoded once for every connection
            (at most 16 MiB).
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
    queued_frames: int
    queued_bytes: int
    peak_queued_bytes: int
    cached_bytes: int
    heartbeat_timeouts: int
    frames_received: int
    frames_sent: int
    errors_sent: int
    over_capacity: int = 0


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
        send_queue_bytes: int,
        slow_consumer_timeout: float,
        heartbeat_interval: float,
        auth_timeout: float,
        max_connections: int = DEFAULT_MAX_CONNECTIONS,
    ) -> None:
        self.runtime = runtime
        self.host = host
        self.port = 0
        self._tokens = tokens
        self.max_frame_bytes = max_frame_bytes
        self.send_queue = send_queue
        self.send_queue_bytes = send_queue_bytes
        self.slow_consumer_timeout = slow_consumer_timeout
        self.heartbeat_interval = heartbeat_interval
        self.auth_timeout = auth_timeout
        self.max_connections = max_connections
        self._connections: set[Connection] = set()
        # Places taken by connections and by handshakes still in progress (a burst of handshakes must not get
        # past max_connections while each one waits for its accept).
        self._places = 0
        self._over_capacity = 0
        self._closing = False
        self._gone = trio.Event()
        self._durable: dict[str, tuple[Connection, str]] = {}
        # Oldest first. An OrderedDict, as popping the first key of a plain dict again and again walks over
        # the holes the earlier pops left until the next resize.
        self._encoded: collections.OrderedDict[int, str] = collections.OrderedDict()
        self._encoded_bytes = 0
        # The journal's own JSON of its newest records (the memory and SQLite journals keep it): a signal
        # published and pushed at once goes to the socket as the text it was appended as, not encoded again.
        self._journal_text: Callable[[int], str | None] | None = getattr(runtime.bus.journal, "encoded", None)
        self._peak_queued_bytes = 0
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
            queued_frames=sum(c.send_queue.frames for c in self._connections),
            queued_bytes=sum(c.send_queue.bytes for c in self._connections),
            peak_queued_bytes=max(
                [self._peak_queued_bytes, *(c.send_queue.peak_bytes for c in self._connections)]
            ),
            cached_bytes=self._encoded_bytes,
            heartbeat_timeouts=self._heartbeat_timeouts,
            frames_received=self._frames_received,
            frames_sent=self._frames_sent,
            errors_sent=self._errors_sent,
            over_capacity=self._over_capacity,
        )

    def authenticate(self, token: str) -> TokenPolicy | None:
        if self._tokens is None:
            return OPEN_POLICY
        return self._tokens.authenticate(token)

    def signal_frame(self, subscription_json: str, record: Record) -> str:
        """The ``signal`` frame for ``record``; a record's JSON is encoded once for every connection."""
        encoded = self._encoded.get(record.offset)
        if encoded is None and self._journal_text is not None:
            encoded = self._journal_text(record.offset)
        if encoded is None:
            encoded = record.signal.to_json()
            size = frame_size(encoded)
            if size <= _ENCODED_CACHE_BYTES:
                while self._encoded and (
                    len(self._encoded) >= _ENCODED_CACHE or self._encoded_bytes + size > _ENCODED_CACHE_BYTES
                ):
                    self._encoded_bytes -= frame_size(self._encoded.popitem(last=False)[1])
                self._encoded[record.offset] = encoded
                self._encoded_bytes += size
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
        try:
            await self._handle_request(request)
        except (trio_websocket.ConnectionClosed, OSError) as exc:
            # The peer went away in the middle (a reset right after the handshake): its own problem.
            logger.info("gateway connection dropped during its handshake: %r", exc)
        except Exception:
            logger.exception("gateway connection failed during its handshake")

    async def _handle_request(self, request: trio_websocket.WebSocketRequest) -> None:
        if self._closing:
            await _refuse(request, 503, body=b"server going away\n")
            return
        if self._places >= self.max_connections:
            # Refused before anything is allocated for it: each connection may hold a send queue of
            # send_queue_bytes, so the count of connections is what bounds the gateway's memory.
            self._over_capacity += 1
            logger.info("gateway refused a connection: %d open (max_connections)", self.max_connections)
            await _refuse(
                request, 503, extra_headers=[(b"Retry-After", b"1")], body=b"too many connections\n"
            )
            return
        self._places += 1
        try:
            await self._admit(request)
        finally:
            self._places -= 1

    async def _admit(self, request: trio_websocket.WebSocketRequest) -> None:
        """Authorize and accept a handshake that has a place, then serve its connection."""
        try:
            if self._tokens is None and not _local_origin(request.headers):
                # Without tokens, any web page the user visits could open a socket to a local gateway
                # (cross-site websocket hijacking): browsers say where the page came from, so refuse others.
                self._rejected += 1
                await _refuse(request, 403, body=b"cross-origin connections need a token\n")
                return
            policy = None if self._tokens is not None else OPEN_POLICY
            header = _authorization(request.headers)
            if header is not None and self._tokens is not None:
                policy = self._tokens.authenticate(header) if header else None
                if policy is None:
                    self._rejected += 1
                    await _refuse(
                        request,
                        401,
                        extra_headers=[(b"WWW-Authenticate", b'Bearer error="invalid_token"')],
                        body=b"invalid bearer token\n",
                    )
                    return
            ws = await request.accept()
        except trio_websocket.ConnectionClosed:
            return
        connection = Connection(self, ws, policy)
        self._accepted += 1
        self._connections.add(connection)
        try:
            await connection.serve()
        except Exception:
            logger.exception("gateway connection %s failed", connection.id)
        finally:
            self._connections.discard(connection)
            self._peak_queued_bytes = max(self._peak_queued_bytes, connection.send_queue.peak_bytes)
            self._gone.set()
            self._gone = trio.Event()


async def _refuse(
    request: trio_websocket.WebSocketRequest,
    status: int,
    *,
    body: bytes,
    extra_headers: list[tuple[bytes, bytes]] | None = None,
) -> None:
    """Answer a handshake with an HTTP error, then close its TCP connection.

    trio-websocket (0.12) sends the answer but leaves the socket open, and its reader task with it, until the
    client closes: a client that never does (a flood of refused handshakes) would hold a socket and a task of
    the server each, past ``max_connections``. Nothing else can be said on a refused handshake, so the
    stream is closed here; a client reads the answer, then the end of the stream.
    """
    try:
        await request.reject(status, extra_headers=extra_headers, body=body)
    except trio_websocket.ConnectionClosed:
        pass
    finally:
        stream = getattr(getattr(request, "_connection", None), "_stream", None)
        if isinstance(stream, trio.abc.AsyncResource):
            with trio.CancelScope(shield=True):
                await stream.aclose()


def _local_origin(headers: list[tuple[bytes, bytes]]) -> bool:
    """Whether the handshake comes from no browser (no Origin header) or from a page served by this host."""
    origins = [value for name, value in headers if name.lower() == b"origin"]
    if not origins:
        return True
    host = urllib.parse.urlsplit(origins[0].decode("latin-1")).hostname
    return host is not None and is_loopback(host)


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


async def serve_gateway(
    runtime: Runtime,
    host: str = "127.0.0.1",
    port: int = 0,
    *,
    tokens: Mapping[str, TokenPolicy] | None = None,
    max_frame_bytes: int = 1 << 20,
    send_queue: int = 1000,
    send_queue_bytes: int = 4 << 20,
    slow_consumer_timeout: float = 10.0,
    heartbeat_interval: float = 20.0,
    auth_timeout: float = 10.0,
    max_connections: int = DEFAULT_MAX_CONNECTIONS,
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
        send_queue_bytes: bytes those frames may take per connection (4 MiB by default); a frame larger
            than this is sent alone.
        slow_consumer_timeout: seconds the send queue may stay full (the client does not read) before the
            connection is closed with 4008.
        heartbeat_interval: seconds between pings; a peer that does not answer within as long is dropped
            (``math.inf``: no pings).
        auth_timeout: seconds a connection without an ``Authorization`` header has to send its ``auth``
            frame before it is closed with 4001.
        max_connections: connections open at once (handshakes in progress count); one more is refused at
            the handshake with HTTP 503 (``Retry-After: 1``, body ``too many connections``) and counted in
            ``statistics().over_capacity``. Clients of :func:`jido.gateway.connect` retry with backoff.

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
    if table is None and not is_loopback(host):
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
        send_queue_bytes=_positive_int("send_queue_bytes", send_queue_bytes),
        slow_consumer_timeout=_positive_seconds("slow_consumer_timeout", slow_consumer_timeout),
        heartbeat_interval=_positive_seconds("heartbeat_interval", heartbeat_interval, allow_inf=True),
        auth_timeout=_positive_seconds("auth_timeout", auth_timeout),
        max_connections=_positive_int("max_connections", max_connections),
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
