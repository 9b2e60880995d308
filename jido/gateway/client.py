"""The gateway client: publish, call, inspect and subscribe over one websocket, reconnecting by itself.

::

    async with connect("ws://127.0.0.1:8765/", token="s3cret") as client:
        offset = await client.publish(Signal(type="order.placed", source="/shop"))
        async with client.subscribe("order.*") as stream:
            async for item in stream:
                print(item.offset, item.signal.type)

When the connection drops (network failure, a server restart, a 4008 slow-consumer close), the client
reconnects with exponential backoff and subscribes again: a transient subscription from the offset after the
last one it received (nothing is lost, nothing comes twice), a durable one by its name (the server resumes
from its stored checkpoint, so deliveries not acked yet come again). A request that was in flight when the
connection dropped raises ``GatewayError("connection_lost")``: it may or may not have been carried out.

A subscription buffers up to ``buffer`` signals its consumer has not taken yet. When the buffer is full the
client unsubscribes (the server stops sending) and subscribes again from where it stopped once the consumer
has taken half of them, so a slow consumer costs neither memory nor other requests' latency.
"""

from __future__ import annotations

import contextlib
import logging
import math
import random
import ssl
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Any, Final

import trio
import trio_websocket

from jido.errors import ClosedError, SignalError
from jido.gateway.protocol import CLOSE_UNAUTHORIZED, MAX_CALL_TIMEOUT, GatewayError
from jido.gateway.session import NotSent, Pending, Session, leaf, parse_url
from jido.gateway.subscription import (
    GatewaySubscription,
    SubscriptionContext,
    attacher,
)
from jido.signal import Signal
from jido.signal.serialization import dumps, loads

__all__ = ["GatewayClient", "connect"]

logger = logging.getLogger("jido.gateway.client")

CONNECT_TIMEOUT: Final = 10.0
"""Seconds to open the TCP connection and finish the websocket handshake."""
CLOSE_TIMEOUT: Final = 5.0
"""Seconds to close politely (close handshake, unsubscribe) before dropping the connection."""
DEFAULT_BUFFER: Final = 1000
_FIRST_BACKOFF: Final = 0.1
# Frames from the server are trusted; a limit below the largest signal would make a reconnect loop.
_MAX_MESSAGE: Final = 1 << 28
_RECEIVE_BUFFER: Final = 64 * 1024  # bytes read from the socket at once: a burst is many frames


class GatewayClient:
    """A connection to a gateway that reconnects by itself. Obtain one with :func:`connect`.

    Attributes:
        url: the gateway's URL.
        reconnects: how many times the connection was established again after it dropped.
        last_close: ``(code, reason)`` of the last connection that ended, or None.
    """

    def __init__(
        self,
        url: str,
        *,
        token: str | None,
        reconnect: bool,
        max_backoff: float,
        heartbeat_interval: float,
        nursery: trio.Nursery,
    ) -> None:
        self.url = url
        self._host, self._port, self._resource, self._secure = parse_url(url)
        self._token = token
        self._reconnect = reconnect
        self._max_backoff = max_backoff
        self._heartbeat_interval = heartbeat_interval
        self._send_timeout = heartbeat_interval if not math.isinf(heartbeat_interval) else 30.0
        self._nursery = nursery
        self._session: Session | None = None
        self._session_changed = trio.Event()
        self._failure: BaseException | None = None
        self._closing = False
        self._close_done = trio.Event()
        self._streams: list[GatewaySubscription] = []
        self._ids = 0
        self.reconnects = 0
        self.last_close: tuple[int | None, str | None] | None = None

    def __repr__(self) -> str:
        state = "connected" if self.connected else "closed" if self._failure else "connecting"
        return f"<GatewayClient {self.url} {state}>"

    @property
    def connected(self) -> bool:
        return self._session is not None and not self._session.lost.is_set()

    # -- public requests -------------------------------------------------------------------------------------
    async def publish(self, signal: Signal) -> int:
        """Publish ``signal`` to the gateway's bus; returns its offset in the journal.

        Raises:
            GatewayError: ``forbidden``, ``invalid_signal``, ``too_large``, ``connection_lost``, ...
        """
        if not isinstance(signal, Signal):
            raise TypeError(f"publish: expected a jido.Signal, got {type(signal).__name__}")
        result = await self._request("publish", {"signal": signal.to_dict()})
        offset: int = result["offset"]
        return offset

    async def call(
        self, agent: str, signal: Signal, *, timeout: float = 5.0, idempotent: bool = False
    ) -> dict[str, Any]:
        """Send ``signal`` to the agent ``agent`` and wait until it is handled.

        With ``idempotent``, the signal's id is its idempotency key: sent again (after a timeout or a lost
        connection), it is answered with the agent's state and not applied twice.

        Returns:
            ``{"agent": id, "state": {...}}``: the agent's state as committed after the signal, as JSON.

        Raises:
            GatewayError: ``not_found``, ``no_route``, ``action_failed``, ``timeout``, ``forbidden``, ...
        """
        if not isinstance(agent, str) or not agent:
            raise ValueError(f"call: agent must be a non-empty str, got {agent!r}")
        if not isinstance(signal, Signal):
            raise TypeError(f"call: expected a jido.Signal, got {type(signal).__name__}")
        if (
            isinstance(timeout, bool)
            or not isinstance(timeout, int | float)
            or not 0 < timeout <= MAX_CALL_TIMEOUT
        ):
            raise ValueError(
                f"call: timeout must be a number of seconds in (0, {MAX_CALL_TIMEOUT:g}], got {timeout!r}"
            )
        if not isinstance(idempotent, bool):
            raise TypeError(f"call: idempotent must be a bool, got {idempotent!r}")
        fields: dict[str, Any] = {"agent": agent, "signal": signal.to_dict(), "timeout": timeout}
        if idempotent:
            fields["idempotent"] = True
        result: dict[str, Any] = await self._request("call", fields)
        return result

    async def inspect(self) -> dict[str, Any]:
        """The runtime's agents (id, name, status, mailbox depth, restarts), journal offsets, dead letters."""
        result: dict[str, Any] = await self._request("inspect", {})
        return result

    async def restart(self, agent: str) -> dict[str, Any]:
        """Start the failed agent ``agent`` again from its last committed state; its id, status and state."""
        result: dict[str, Any] = await self._request("restart", {"agent": agent})
        return result

    async def ping(self) -> None:
        """One round trip through the gateway."""
        await self._request("ping", {})

    def subscribe(
        self,
        pattern: str,
        *,
        from_offset: int | None = None,
        durable: str | None = None,
        buffer: int = DEFAULT_BUFFER,
    ) -> AbstractAsyncContextManager[GatewaySubscription]:
        """Subscribe to the signals whose type matches ``pattern``: ``async with client.subscribe(p) as s``.

        Args:
            pattern: a router pattern (``"order.*"``, ``"**"``).
            from_offset: the first offset wanted (default: signals published from now on).
            durable: a durable subscription's name: the server keeps its checkpoint (acked offsets) across
                connections; ``await stream.ack(item.offset)`` each item.
            buffer: signals kept for the consumer before the subscription pauses.

        Raises:
            GatewayError: (when entering) the server refused the subscription (``bad_frame``, ``forbidden``,
                ``conflict``).
        """
        if from_offset is not None and (
            isinstance(from_offset, bool) or not isinstance(from_offset, int) or from_offset < 1
        ):
            raise ValueError(f"subscribe: from_offset must be an int >= 1 or None, got {from_offset!r}")
        if isinstance(buffer, bool) or not isinstance(buffer, int) or buffer < 2:
            raise ValueError(f"subscribe: buffer must be an int >= 2, got {buffer!r}")
        return SubscriptionContext(self, GatewaySubscription(self, pattern, from_offset, durable, buffer))

    # -- requests --------------------------------------------------------------------------------------------
    async def _wait_session(self) -> Session:
        while True:
            if self._failure is not None:
                raise self._failure
            session = self._session
            if session is not None and not session.lost.is_set():
                return session
            await self._session_changed.wait()

    def _set_session(self, session: Session | None) -> None:
        self._session = session
        self._session_changed.set()
        self._session_changed = trio.Event()

    async def _request(self, op: str, fields: dict[str, Any]) -> Any:
        while True:
            session = await self._wait_session()
            try:
                return await self._request_on(session, op, fields)
            except NotSent:
                continue

    async def _request_on(
        self,
        session: Session,
        op: str,
        fields: dict[str, Any],
        on_result: Callable[[Any], None] | None = None,
    ) -> Any:
        self._ids += 1
        request_id = str(self._ids)
        pending = Pending(op, on_result)
        session.pending[request_id] = pending
        try:
            await self._send(session, dumps({"op": op, "id": request_id, **fields}))
        except NotSent:
            session.pending.pop(request_id, None)
            raise
        try:
            await pending.event.wait()
        finally:
            session.pending.pop(request_id, None)
        if pending.error is not None:
            raise pending.error
        return pending.result

    async def _send(self, session: Session, text: str) -> None:
        """Send one frame. The send is shielded, since a cancelled send leaves half a frame on the wire; one
        that cannot finish in time (the network is stuck) ends the connection instead.

        Raises:
            NotSent: the connection ended before the frame was complete; the server cannot have acted on it.
        """
        with trio.CancelScope(shield=True) as scope:
            scope.deadline = trio.current_time() + self._send_timeout
            try:
                await session.ws.send_message(text)
            except trio_websocket.ConnectionClosed as exc:
                # The websocket refuses sends as soon as the peer's close arrives, before our reader has seen
                # it: end the session here, or a retry takes this same session again and spins for ever.
                reason = exc.reason
                session.end(reason.code if reason else None, reason.reason if reason else None)
                raise NotSent from None
        if scope.cancelled_caught:
            session.end(None, f"a send did not finish within {self._send_timeout:g}s")
            raise NotSent

    # -- subscriptions ---------------------------------------------------------------------------------------
    async def _open_stream(self, stream: GatewaySubscription) -> None:
        if self._failure is not None:
            raise self._failure
        self._streams.append(stream)
        try:
            await self._subscribe(stream)
        except BaseException:
            self._streams.remove(stream)
            raise

    async def _subscribe(self, stream: GatewaySubscription) -> None:
        """Make ``stream`` live on the current connection (waiting for one); raises what the server says."""
        async with stream._lock:
            while not stream._closed and stream._error is None:
                session = await self._wait_session()
                if stream._live(session):
                    return
                fields: dict[str, Any] = {"pattern": stream.pattern}
                start = stream._next_from()
                if start is not None:
                    fields["from"] = start
                if stream.durable is not None:
                    fields["durable"] = stream.durable
                try:
                    await self._request_on(session, "subscribe", fields, attacher(stream, session))
                except NotSent:
                    continue
                except GatewayError as exc:
                    if exc.code == "connection_lost":
                        continue
                    raise
                return

    async def _resubscribe(self, stream: GatewaySubscription) -> None:
        try:
            await self._subscribe(stream)
        except GatewayError as exc:
            stream._fail(exc)
        except (ClosedError, trio_websocket.ConnectionClosed):
            pass

    def _resubscribe_soon(self, stream: GatewaySubscription) -> None:
        if not self._closing:
            self._nursery.start_soon(self._resubscribe, stream)

    def _unsubscribe_soon(self, session: Session, server_id: str) -> None:
        if not self._closing:
            self._nursery.start_soon(self._unsubscribe_quietly, session, server_id)

    async def _unsubscribe_quietly(self, session: Session, server_id: str) -> None:
        if session.lost.is_set():
            return
        with contextlib.suppress(GatewayError, NotSent):  # it ends with its connection anyway
            await self._request_on(session, "unsubscribe", {"subscription": server_id})

    async def _forget_stream(self, stream: GatewaySubscription) -> None:
        """Unsubscribe ``stream`` with ``forget`` on a connection where it is live (subscribing it again first
        if it is paused or the connection changed), then end it."""
        try:
            while True:
                if stream._error is not None:
                    raise stream._error
                if stream._closed:
                    raise ClosedError(f"subscription {stream.durable!r} is closed")
                await self._subscribe(stream)
                session, server_id = stream._session, stream._server_id
                if session is None or server_id is None or not stream._live(session):
                    continue  # closed, failed (raised above), or its connection dropped: subscribe again
                try:
                    await self._request_on(
                        session, "unsubscribe", {"subscription": server_id, "forget": True}
                    )
                except NotSent:
                    continue
                stream._detach()
                return
        finally:
            await self._close_stream(stream)

    async def _close_stream(self, stream: GatewaySubscription) -> None:
        stream._closed = True
        stream._wake()
        if stream in self._streams:
            self._streams.remove(stream)
        session, server_id = stream._session, stream._detach()
        if session is not None and server_id is not None and not session.lost.is_set():
            with trio.CancelScope(shield=True), trio.move_on_after(CLOSE_TIMEOUT):
                await self._unsubscribe_quietly(session, server_id)

    # -- the connection --------------------------------------------------------------------------------------
    def _on_frame(self, session: Session, message: str | bytes) -> None:
        try:
            frame = loads(message, max_bytes=None)
        except SignalError as exc:
            logger.warning("gateway %s sent a frame that is not JSON: %s", self.url, exc)
            return
        if not isinstance(frame, dict):
            logger.warning("gateway %s sent a frame that is not an object", self.url)
            return
        op = frame.get("op")
        if op == "signal":
            server_id = frame.get("subscription")
            stream = session.streams.get(server_id) if isinstance(server_id, str) else None
            if stream is not None:
                stream._deliver(session, frame)
            return
        request_id = frame.get("id")
        pending = session.pending.get(request_id) if isinstance(request_id, str) else None
        if op == "result":
            result = frame.get("result")
            if pending is not None:
                if pending.on_result is not None:
                    pending.on_result(result)
                pending.resolve(result)
            elif isinstance(result, dict) and isinstance(result.get("subscription"), str):
                # A subscribe whose caller was cancelled while waiting: end the orphan on the server.
                self._unsubscribe_soon(session, result["subscription"])
        elif op == "error":
            error = GatewayError(
                str(frame.get("code")), str(frame.get("message")), details=frame.get("details") or {}
            )
            if pending is not None:
                pending.fail(error)
            else:
                self._on_notice(session, error)

    def _on_notice(self, session: Session, error: GatewayError) -> None:
        """An error frame that answers no request: a durable subscription taken over, or a frame refused
        before its id could be read."""
        server_id = error.details.get("subscription")
        stream = session.streams.get(server_id) if isinstance(server_id, str) else None
        if stream is not None:
            stream._detach()
            stream._fail(error)
        else:
            logger.warning("gateway %s: %s (%s)", self.url, error.message, error.code)

    async def _read_loop(self, session: Session) -> None:
        while True:
            try:
                message = await session.ws.get_message()
            except trio_websocket.ConnectionClosed as exc:
                reason = exc.reason
                session.end(reason.code if reason else None, reason.reason if reason else None)
                return
            self._on_frame(session, message)

    async def _heartbeat(self, session: Session) -> None:
        interval = self._heartbeat_interval
        if math.isinf(interval):
            return
        while True:
            await trio.sleep(interval)
            with trio.move_on_after(interval) as scope:
                try:
                    await session.ws.ping()
                except trio_websocket.ConnectionClosed:
                    return  # the reader sees it too
            if scope.cancelled_caught:
                session.end(None, f"no pong within {interval:g}s")
                return

    async def _open_tcp(self) -> trio.SocketStream | trio.SSLStream[trio.SocketStream]:
        try:
            with trio.fail_after(CONNECT_TIMEOUT):
                if self._secure:
                    return await trio.open_ssl_over_tcp_stream(
                        self._host,
                        self._port,
                        ssl_context=ssl.create_default_context(),
                        https_compatible=True,
                    )
                return await trio.open_tcp_stream(self._host, self._port)
        except (OSError, trio.TooSlowError) as exc:
            why = exc.strerror or str(exc) if isinstance(exc, OSError) else "timed out"
            raise GatewayError("unavailable", f"cannot connect to {self.url}: {why}") from None

    async def _run_session(self, task_status: trio.TaskStatus[None] | None) -> Session:
        """Connect, serve one connection until it ends, and return it; GatewayError if it cannot start."""
        stream = await self._open_tcp()
        headers = [(b"Authorization", f"Bearer {self._token}".encode())] if self._token is not None else []
        host = self._host if self._port in (80, 443) else f"{self._host}:{self._port}"
        session: Session | None = None
        try:
            async with trio.open_nursery() as nursery:
                with trio.move_on_after(CONNECT_TIMEOUT) as handshake:
                    ws = await trio_websocket.wrap_client_stream(
                        nursery,
                        stream,
                        host,
                        self._resource,
                        extra_headers=headers,
                        message_queue_size=64,
                        max_message_size=_MAX_MESSAGE,
                        receive_buffer_size=_RECEIVE_BUFFER,
                    )
                if handshake.cancelled_caught:
                    raise GatewayError("unavailable", f"no websocket handshake from {self.url}")
                session = Session(ws)
                nursery.start_soon(self._read_loop, session)
                nursery.start_soon(self._heartbeat, session)
                self._set_session(session)
                if task_status is not None:
                    task_status.started()
                for item in list(self._streams):
                    if not item._paused:
                        nursery.start_soon(self._resubscribe, item)
                await session.lost.wait()
                if self._closing:
                    # Closing politely: the websocket's reader task must see the close handshake through.
                    await self._close_done.wait()
                nursery.cancel_scope.cancel()
        except BaseExceptionGroup as group:
            rejected = leaf(group, trio_websocket.ConnectionRejected)
            if rejected is None:
                error = leaf(group, GatewayError)
                if error is None:
                    raise
                raise error from None
            status = rejected.status_code
            if status in (401, 403):
                raise GatewayError(
                    "unauthorized", f"the gateway at {self.url} refused the token (HTTP {status})"
                ) from None
            raise GatewayError(
                "unavailable", f"the server at {self.url} refused the websocket handshake (HTTP {status})"
            ) from None
        finally:
            with trio.CancelScope(shield=True):
                await stream.aclose()
            if session is not None:
                self._end_session(session)
        return session

    def _end_session(self, session: Session) -> None:
        if self._session is session:
            self._set_session(None)
        session.end(None, "connection closed")
        self.last_close = (session.close_code, session.close_reason)
        lost = GatewayError(
            "connection_lost",
            f"the connection to {self.url} was lost before the answer came; the request may or may not have "
            "been carried out",
        )
        for pending in list(session.pending.values()):
            pending.fail(lost)
        session.pending.clear()
        for stream in list(session.streams.values()):
            stream._detach()

    def _fail_all(self, error: BaseException) -> None:
        if self._failure is None:
            self._failure = error
        self._session_changed.set()
        for stream in list(self._streams):
            stream._fail(error)

    async def _run(self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        """Keep a connection open: reconnect with exponential backoff (with jitter) until closed."""
        started = False
        failures = 0
        while True:
            try:
                session = await self._run_session(None if started else task_status)
            except GatewayError as exc:
                if not started:
                    raise
                if exc.code == "unauthorized":
                    self._fail_all(exc)
                    return
                failures += 1
            else:
                started = True
                if self._closing:
                    return
                if session.close_code == CLOSE_UNAUTHORIZED:
                    self._fail_all(GatewayError("unauthorized", session.close_reason or "unauthorized"))
                    return
                failures = 0 if session.close_code is not None else failures + 1
            if not self._reconnect:
                code, reason = self.last_close or (None, None)
                self._fail_all(
                    GatewayError("connection_lost", f"the connection to {self.url} ended ({code}: {reason})")
                )
                return
            delay = min(self._max_backoff, _FIRST_BACKOFF * 2 ** max(failures - 1, 0))
            await trio.sleep(delay * random.uniform(0.5, 1.0))
            self.reconnects += 1

    async def _aclose(self) -> None:
        self._closing = True
        session = self._session
        try:
            if session is not None and not session.lost.is_set():
                with trio.move_on_after(CLOSE_TIMEOUT):
                    await session.ws.aclose()
        finally:
            self._close_done.set()
            self._fail_all(ClosedError("the gateway client is closed"))


@asynccontextmanager
async def connect(
    url: str,
    *,
    token: str | None = None,
    reconnect: bool = True,
    max_backoff: float = 5.0,
    heartbeat_interval: float = 20.0,
) -> AsyncIterator[GatewayClient]:
    """Connect to a gateway; leaving the block closes the connection and ends every subscription.

    Args:
        url: ``ws://host:port/`` (or ``wss://``).
        token: the bearer token, sent in the ``Authorization`` header of the handshake.
        reconnect: reconnect when the connection drops (with backoff from 0.1 s up to ``max_backoff``).
        max_backoff: the longest wait between two attempts, in seconds.
        heartbeat_interval: seconds between pings; a server that does not answer within as long is taken
            for gone and the client reconnects (``math.inf``: no pings).

    Raises:
        GatewayError: the first connection failed: ``unavailable`` (cannot connect) or ``unauthorized``.
    """
    parse_url(url)
    if token is not None and (not isinstance(token, str) or not token):
        raise ValueError(f"token must be a non-empty str or None, got {token!r}")
    if not isinstance(reconnect, bool):
        raise TypeError(f"reconnect must be a bool, got {reconnect!r}")
    for name, value in (("max_backoff", max_backoff), ("heartbeat_interval", heartbeat_interval)):
        if isinstance(value, bool) or not isinstance(value, int | float) or not value > 0:
            raise ValueError(f"{name} must be a positive number of seconds, got {value!r}")
    body_error: BaseException | None = None
    async with trio.open_nursery() as nursery:
        client = GatewayClient(
            url,
            token=token,
            reconnect=reconnect,
            max_backoff=float(max_backoff),
            heartbeat_interval=float(heartbeat_interval),
            nursery=nursery,
        )
        try:
            await nursery.start(client._run)
        except BaseException as exc:
            body_error = exc  # the first connection failed: raised outside the nursery, unwrapped
            nursery.cancel_scope.cancel()
        else:
            try:
                yield client
            except BaseException as exc:
                body_error = exc  # raised again outside the nursery, so users see their own exception
            finally:
                # Shielded from cancellation, but not past the caller's deadline: a polite close must not
                # make `jido call --timeout` run long.
                with trio.CancelScope(shield=True, deadline=trio.current_effective_deadline()):
                    await client._aclose()
                nursery.cancel_scope.cancel()
    if body_error is not None:
        raise body_error
