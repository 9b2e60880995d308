"""The websocket gateway: a runtime's bus and agents, spoken to in JSON frames over trio-websocket.

::

    async with jido.open_runtime() as rt, trio.open_nursery() as nursery:
        gateway = await nursery.start(serve_gateway, rt, "127.0.0.1", 8765)
        ...  # clients connect to gateway.url

One task reads each connection's frames and handles them in order (a ``call`` runs in a task of its own, so a
slow agent does not hold up the rest); every subscription has a pump task reading the bus; one writer task
sends what is queued for the connection. The queue is bounded (``send_queue`` frames and ``send_queue_bytes``
bytes) and pumps wait for room in it, so a burst, or a replay of the journal, flows at the pace the client
reads: the backlog stays in the journal, not in memory. A connection whose queue stays full for
``slow_consumer_timeout`` seconds (the client stopped reading) is closed with 4008; the client reconnects and
resumes from the last offset it received, and the journal serves the gap.

What the gateway holds for its clients is bounded in bytes (:mod:`jido.gateway.budget`): each TCP connection
has an account, from the moment it is accepted, bounded by ``max_connection_bytes``, and what the accounts
hold above a small floor is drawn from one budget of ``max_total_bytes``. TCP connections are counted from
accept, not from the end of the websocket handshake: at most ``max_connections`` plus a few more (to be told
503) are open at once, each has ``handshake_timeout`` seconds to finish its handshake, and one past that is
closed as soon as it is accepted.
"""

from __future__ import annotations

import collections
import ipaddress
import itertools
import logging
import math
import urllib.parse
from collections.abc import Callable, Mapping
from typing import Final

import attrs
import trio
import trio_websocket

from jido.bus.journal import Record
from jido.bus.memory import MemoryJournal
from jido.gateway.budget import FLOOR, Account, Budget, Part
from jido.gateway.connection import CLOSE_TIMEOUT, Connection
from jido.gateway.policy import OPEN_POLICY, TokenPolicy, TokenTable
from jido.gateway.protocol import CLOSE_GOING_AWAY
from jido.gateway.queue import frame_size
from jido.runtime.runtime import Runtime

__all__ = [
    "DEFAULT_MAX_CONNECTIONS",
    "DEFAULT_MAX_CONNECTION_BYTES",
    "DEFAULT_MAX_SUBSCRIPTIONS",
    "DEFAULT_MAX_TOTAL_BYTES",
    "Gateway",
    "GatewayStatistics",
    "is_loopback",
    "serve_gateway",
]

logger = logging.getLogger("jido.gateway")

# The websocket layer counts characters, we count UTF-8 bytes (up to 4 a character): it lets frames of up to
# 4 times our limit in characters through, so that a frame over the limit gets a too_large error frame rather
# than 1009. What that lets it hold is counted in each connection's account ("incoming").
_WEBSOCKET_SLACK: Final = 4
# Frames the websocket layer may hold besides the one being handled: 0 leaves it the one it is assembling or
# handing over (a queue of 4, its default, would be 4 more frames of up to 4 MiB per connection).
_WEBSOCKET_QUEUE: Final = 0
# What the bus may read ahead for one subscription, out of a journal that reads records from storage (the
# SQLite and Redis journals read up to about 1 MiB at once); the memory journal's reads share its records.
_READ_AHEAD_BYTES: Final = 1 << 20
# Frames of the largest size one connection's running calls may hold at once (of MAX_CALLS calls).
_CALL_FRAMES: Final = 4
# What a subscription costs the gateway itself (its pump task, its bus subscription's state).
_SUBSCRIPTION_BYTES: Final = 8 << 10
# Signal JSON texts kept by offset, so that a burst fanning out to many connections is encoded once per
# signal; bounded in entries and in bytes (a few large signals must not pin a gigabyte).
_ENCODED_CACHE: Final = 4096
_ENCODED_CACHE_BYTES: Final = 16 << 20
DEFAULT_MAX_CONNECTIONS: Final = 1024
DEFAULT_MAX_CONNECTION_BYTES: Final = 32 << 20
DEFAULT_MAX_TOTAL_BYTES: Final = 512 << 20
DEFAULT_MAX_SUBSCRIPTIONS: Final = 100


def _extra_sockets(max_connections: int) -> int:
    """TCP connections let in past ``max_connections``, so that a client over capacity is told so (HTTP 503)
    rather than cut off."""
    return max(1, max_connections // 16)


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
        sockets: TCP connections open now, handshakes in progress included.
        closed_at_accept: TCP connections closed as soon as they were accepted, as ``max_connections`` plus
            the few let in to be refused with 503 were open already.
        held_bytes: bytes the connections' accounts hold now (frames read, queued, of running calls, of
            unacked deliveries, and the shares of subscriptions).
        budget_bytes: what of that is drawn from ``max_total_bytes`` (what accounts hold above their floor).
        peak_budget_bytes: the most ``budget_bytes`` has been since the gateway started.
        peak_connection_bytes: the most one connection's account has held since the gateway started.
        over_budget: subscribes and calls refused (``forbidden`` or ``unavailable``) for want of room in the
            connection's account or in the gateway's budget.
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
    sockets: int = 0
    closed_at_accept: int = 0
    held_bytes: int = 0
    budget_bytes: int = 0
    peak_budget_bytes: int = 0
    peak_connection_bytes: int = 0
    over_budget: int = 0


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
        max_connection_bytes: int = DEFAULT_MAX_CONNECTION_BYTES,
        max_total_bytes: int = DEFAULT_MAX_TOTAL_BYTES,
        max_subscriptions: int = DEFAULT_MAX_SUBSCRIPTIONS,
        handshake_timeout: float = 5.0,
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
        self.max_connection_bytes = max_connection_bytes
        self.max_total_bytes = max_total_bytes
        self.max_subscriptions = max_subscriptions
        self.handshake_timeout = handshake_timeout
        self.max_sockets = max_connections + _extra_sockets(max_connections)
        self.subscription_bytes = _SUBSCRIPTION_BYTES + (
            0 if isinstance(runtime.bus.journal, MemoryJournal) else _READ_AHEAD_BYTES
        )
        # One account's parts: what the websocket layer may hold (the frame being assembled, and the one
        # handed over), the send queue, the frames of running calls, and for deliveries what is left.
        incoming = 2 * _WEBSOCKET_SLACK * max_frame_bytes
        calls = _CALL_FRAMES * max_frame_bytes
        deliveries = max_connection_bytes - incoming - send_queue_bytes - calls
        least = incoming + send_queue_bytes + calls + self.subscription_bytes + max_frame_bytes
        if deliveries < self.subscription_bytes + max_frame_bytes:
            raise ValueError(
                f"max_connection_bytes must be at least {least} with these options (frames read "
                f"{incoming}, send_queue_bytes {send_queue_bytes}, calls {calls}, one subscription and one "
                f"delivery {self.subscription_bytes + max_frame_bytes}), got {max_connection_bytes}"
            )
        if max_total_bytes < max_connection_bytes:
            raise ValueError(
                f"max_total_bytes must be at least max_connection_bytes ({max_connection_bytes}), "
                f"got {max_total_bytes}"
            )
        self._limits: dict[Part, int] = {
            "incoming": incoming,
            "sends": send_queue_bytes,
            "calls": calls,
            "deliveries": deliveries,
        }
        self.budget = Budget(max_total_bytes)
        self._accounts: set[Account] = set()
        self._peak_account = 0
        self._closed_at_accept = 0
        self._over_budget = 0
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
            sockets=len(self._accounts),
            closed_at_accept=self._closed_at_accept,
            held_bytes=sum(account.used for account in self._accounts),
            budget_bytes=self.budget.used,
            peak_budget_bytes=self.budget.peak,
            peak_connection_bytes=max([self._peak_account, *(a.peak for a in self._accounts)]),
            over_budget=self._over_budget,
        )

    def part_limit(self, part: Part) -> int:
        """The bytes one connection may hold in ``part``."""
        return self._limits[part]

    # -- TCP connections ---------------------------------------------------------------------------------
    def _open_stream(self, stream: trio.SocketStream) -> _MeteredStream | None:
        """An accepted TCP connection: its account, or None (and it is to be closed) when too many are open."""
        if len(self._accounts) >= self.max_sockets or self._closing:
            self._closed_at_accept += 1
            return None
        account = Account(self.budget, self._limits)
        self._accounts.add(account)
        return _MeteredStream(stream, account, self._stream_closed)

    def _stream_closed(self, account: Account) -> None:
        account.close()
        self._accounts.discard(account)
        self._peak_account = max(self._peak_account, account.peak)

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
        stream = getattr(getattr(request, "_connection", None), "_stream", None)
        assert isinstance(stream, _MeteredStream)  # every connection comes through _Listener
        connection = Connection(self, ws, policy, stream.account, stream.peer)
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


class _MeteredStream(trio.abc.HalfCloseableStream):
    """An accepted TCP connection: what is read from it is counted in its account (and, above the account's
    floor, waits for room in the gateway's budget); closing it gives back its place and what it held."""

    def __init__(
        self, stream: trio.SocketStream, account: Account, on_close: Callable[[Account], None]
    ) -> None:
        self.transport = stream
        self.socket = stream.socket
        self.account = account
        self.peer = _socket_peer(stream.socket)
        self._on_close: Callable[[Account], None] | None = on_close

    async def send_all(self, data: bytes | bytearray | memoryview) -> None:
        await self.transport.send_all(data)

    async def wait_send_all_might_not_block(self) -> None:
        await self.transport.wait_send_all_might_not_block()

    async def send_eof(self) -> None:
        await self.transport.send_eof()

    async def receive_some(self, max_bytes: int | None = None) -> bytes:
        account = self.account
        if account.parts["incoming"] >= FLOOR:
            await account.wait_budget(max_bytes or FLOOR)
        data = await self.transport.receive_some(max_bytes)
        # Counted until the connection's reader takes a whole frame. Control frames (pings, pongs) are counted
        # too and never taken: the count stops at what the websocket layer may hold, so that a client sending
        # pings only cannot draw on the budget past that.
        room = account.limits["incoming"] - account.parts["incoming"]
        if room > 0:
            account.charge("incoming", min(len(data), room))
        return data

    async def aclose(self) -> None:
        on_close, self._on_close = self._on_close, None
        if on_close is not None:
            on_close(self.account)
        await self.transport.aclose()


class _Listener(trio.abc.Listener[_MeteredStream]):
    """The gateway's TCP listener: a connection counts from the moment it is accepted, so that clients that
    never finish their handshake cannot hold more than ``max_sockets`` sockets; one more is closed at once."""

    def __init__(self, gateway: Gateway, inner: trio.SocketListener) -> None:
        self.gateway = gateway
        self.inner = inner

    async def accept(self) -> _MeteredStream:
        while True:
            stream = await self.inner.accept()
            metered = self.gateway._open_stream(stream)
            if metered is not None:
                return metered
            with trio.CancelScope(shield=True):
                await stream.aclose()

    async def aclose(self) -> None:
        await self.inner.aclose()


def _socket_peer(sock: trio.socket.SocketType) -> str:
    try:
        address = sock.getpeername()
    except OSError:  # reset before we asked
        return "unknown peer"
    if isinstance(address, tuple) and len(address) >= 2:
        host, port = address[0], address[1]
        return f"[{host}]:{port}" if ":" in str(host) else f"{host}:{port}"
    return str(address)


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
    max_connection_bytes: int = DEFAULT_MAX_CONNECTION_BYTES,
    max_total_bytes: int = DEFAULT_MAX_TOTAL_BYTES,
    max_subscriptions: int = DEFAULT_MAX_SUBSCRIPTIONS,
    handshake_timeout: float = 5.0,
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
            one over 4 times this in characters is refused by the websocket layer, which closes with 1009).
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
            TCP connections count from accept: past ``max_connections`` plus 1/16 of it (at least 1) more,
            which are let in to be told 503, a new one is closed at once.
        max_connection_bytes: the most one connection holds (32 MiB by default): frames read (2 x 4 x
            ``max_frame_bytes``), ``send_queue_bytes``, the frames of running calls (4 x
            ``max_frame_bytes``; further calls wait), and the rest for durable deliveries not acked (the pump
            waits for acks) and subscriptions (a share each; a subscribe past it is ``forbidden``).
        max_total_bytes: the most all connections hold above 32 KiB each (512 MiB by default); when it is
            spent, pumps and readers wait for room, and subscribes and calls are refused with
            ``unavailable``.
        max_subscriptions: subscriptions one connection may hold at once (100 by default).
        handshake_timeout: seconds an accepted TCP connection has to finish its websocket handshake.

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
        max_connection_bytes=_positive_int("max_connection_bytes", max_connection_bytes),
        max_total_bytes=_positive_int("max_total_bytes", max_total_bytes),
        max_subscriptions=_positive_int("max_subscriptions", max_subscriptions),
        handshake_timeout=_positive_seconds("handshake_timeout", handshake_timeout),
    )
    listeners = await trio.open_tcp_listeners(port, host=host)
    server = trio_websocket.WebSocketServer(
        gateway._handle,
        [_Listener(gateway, listener) for listener in listeners],  # type: ignore[misc]  # any Listener works
        # Above our own limit, so that an oversized frame reaches us and gets an error frame.
        max_message_size=_WEBSOCKET_SLACK * max_frame_bytes,
        message_queue_size=_WEBSOCKET_QUEUE,
        connect_timeout=gateway.handshake_timeout,
        disconnect_timeout=CLOSE_TIMEOUT,
    )
    # The websocket server is shielded from our cancellation: on the way out, connections are closed with
    # 1001 first, which needs their reader tasks to see the close handshake through; then it is cancelled.
    server_scope = trio.CancelScope(shield=True)

    async def run_server(*, task_status: trio.TaskStatus[trio_websocket.WebSocketServer]) -> None:
        with server_scope:
            await server.run(task_status=task_status)

    async with trio.open_nursery() as nursery:
        await nursery.start(run_server)
        gateway.port = listeners[0].socket.getsockname()[1]
        logger.info("gateway listening on %s", gateway.url)
        task_status.started(gateway)
        try:
            await trio.sleep_forever()
        finally:
            with trio.CancelScope(shield=True):
                await gateway._close_all()
            server_scope.cancel()
