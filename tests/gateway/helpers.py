"""Test helpers for the gateway: agents, a server context, a raw frame client, a wsproto client, a TCP proxy."""

from __future__ import annotations

import itertools
import json
import socket
from collections import deque
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from functools import partial
from typing import Any

import trio
import trio_websocket
import wsproto
import wsproto.connection
import wsproto.events

from dsl import action, agent, route
from jido.action.spec import ActionContext
from jido.gateway import Gateway, serve_gateway
from jido.runtime.runtime import Runtime
from jido.signal import Signal


@action
class Add:
    by: int = 1

    def run(self, ctx: ActionContext) -> dict[str, Any]:
        return {"count": ctx.state.count + self.by}


@action
class Fail:
    def run(self, ctx: ActionContext) -> None:
        raise RuntimeError("boom")


@action
class Stall:
    async def run(self, ctx: ActionContext) -> dict[str, Any]:
        await trio.sleep_forever()
        raise AssertionError("unreachable")


@agent
@route("counter.add", Add)
@route("counter.fail", Fail)
@route("counter.stall", Stall)
class Counter:
    count: int = 0


async def eventually(predicate: Callable[[], bool], *, timeout: float = 10.0) -> None:
    """Wait until ``predicate()`` holds, looking every 5 ms: for what depends on real time (heartbeats)."""
    with trio.fail_after(timeout):
        for _ in itertools.count():
            if predicate():
                return
            await trio.sleep(0.005)


def signal(signal_type: str = "order.placed", **data: Any) -> Signal:
    return Signal(type=signal_type, source="/test", data=data or None)


def signal_json(signal_type: str = "order.placed", **data: Any) -> dict[str, Any]:
    return signal(signal_type, **data).to_dict()


@asynccontextmanager
async def serving(runtime: Runtime, **options: Any) -> AsyncIterator[Gateway]:
    """A gateway on 127.0.0.1, a port of the system's choosing, for the body of the block."""
    options.setdefault("heartbeat_interval", 30.0)
    async with trio.open_nursery() as nursery:
        gateway: Gateway = await nursery.start(partial(serve_gateway, runtime, **options))
        yield gateway
        nursery.cancel_scope.cancel()


class RawClient:
    """Frames as dicts over a trio-websocket connection, with nothing of the gateway client in between."""

    def __init__(self, ws: trio_websocket.WebSocketConnection) -> None:
        self.ws = ws

    async def send(self, frame: Any) -> None:
        await self.ws.send_message(frame if isinstance(frame, str | bytes) else json.dumps(frame))

    async def recv(self) -> dict[str, Any]:
        frame: dict[str, Any] = json.loads(await self.ws.get_message())
        return frame

    async def request(self, frame: Any) -> dict[str, Any]:
        await self.send(frame)
        return await self.recv()


@asynccontextmanager
async def raw_client(url: str, *, token: str | None = None) -> AsyncIterator[RawClient]:
    """A trio-websocket connection whose TCP stream is ours to close: trio-websocket leaves it open when the
    server closes first (or rejects the handshake), and the unclosed socket would warn later."""
    headers = [(b"authorization", f"Bearer {token}".encode())] if token else []
    port = int(url.rsplit(":", 1)[1].strip("/"))
    stream = await trio.open_tcp_stream("127.0.0.1", port)
    try:
        async with trio.open_nursery() as nursery:
            ws = await trio_websocket.wrap_client_stream(
                nursery, stream, f"127.0.0.1:{port}", "/", extra_headers=headers, message_queue_size=64
            )
            try:
                yield RawClient(ws)
            finally:
                with trio.move_on_after(5):
                    await ws.aclose()
                nursery.cancel_scope.cancel()
    finally:
        await stream.aclose()


class WsprotoClient:
    """A websocket client written directly on wsproto over a trio socket: no trio-websocket involved."""

    def __init__(self, stream: trio.SocketStream) -> None:
        self.stream = stream
        self.connection = wsproto.WSConnection(wsproto.ConnectionType.CLIENT)
        self.events: deque[wsproto.events.Event] = deque()
        self.pings = 0
        self._parts: list[str] = []

    async def _fill(self) -> None:
        data = await self.stream.receive_some(65536)
        self.connection.receive_data(data or None)
        self.events.extend(self.connection.events())

    async def _send(self, event: wsproto.events.Event) -> None:
        await self.stream.send_all(self.connection.send(event))

    async def handshake(self, host: str, headers: list[tuple[bytes, bytes]]) -> wsproto.events.Event:
        """AcceptConnection, or RejectConnection (with the status code)."""
        await self._send(wsproto.events.Request(host=host, target="/", extra_headers=headers))
        while not self.events:
            await self._fill()
        return self.events.popleft()

    async def send_text(self, text: str) -> None:
        await self._send(wsproto.events.TextMessage(data=text))

    async def next(self, *, answer_pings: bool = True) -> dict[str, Any] | wsproto.events.CloseConnection:
        """The next whole text frame (as JSON), or the close event; pings are answered on the way (unless
        ``answer_pings`` is False: a peer that looks dead)."""
        while True:
            while not self.events:
                await self._fill()
            event = self.events.popleft()
            if isinstance(event, wsproto.events.Ping):
                if answer_pings and self.connection.state is wsproto.connection.ConnectionState.OPEN:
                    self.pings += 1
                    await self._send(event.response())
            elif isinstance(event, wsproto.events.TextMessage):
                self._parts.append(event.data)
                if event.message_finished:
                    text, self._parts = "".join(self._parts), []
                    frame: dict[str, Any] = json.loads(text)
                    return frame
            elif isinstance(event, wsproto.events.CloseConnection):
                return event


@asynccontextmanager
async def wsproto_client(port: int) -> AsyncIterator[WsprotoClient]:
    stream = await trio.open_tcp_stream("127.0.0.1", port)
    async with stream:
        yield WsprotoClient(stream)


class Proxy:
    """A TCP proxy in front of the gateway: it can stop forwarding towards the client (so the server's socket
    fills up, as with a client that does not read) and drop every connection at once (a network failure)."""

    def __init__(self, target_port: int) -> None:
        self.target_port = target_port
        self.port = 0
        self.flowing = trio.Event()
        self.flowing.set()
        self.connections = 0
        self.gateway: Gateway | None = None
        self._scopes: list[trio.CancelScope] = []

    def pause(self) -> None:
        self.flowing = trio.Event()

    def resume(self) -> None:
        self.flowing.set()

    def drop_all(self) -> None:
        for scope in self._scopes:
            scope.cancel()
        self._scopes.clear()

    async def serve(self, *, task_status: trio.TaskStatus[Proxy] = trio.TASK_STATUS_IGNORED) -> None:
        listeners = await trio.open_tcp_listeners(0, host="127.0.0.1")
        self.port = listeners[0].socket.getsockname()[1]
        async with trio.open_nursery() as nursery:
            await nursery.start(trio.serve_listeners, self._handle, listeners)
            task_status.started(self)

    async def _handle(self, downstream: trio.SocketStream) -> None:
        sock = trio.socket.socket()
        # A small receive buffer towards the server, so that pausing fills the server's socket quickly.
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        await sock.connect(("127.0.0.1", self.target_port))
        upstream = trio.SocketStream(sock)
        self.connections += 1
        with trio.CancelScope() as scope:
            self._scopes.append(scope)
            async with upstream, downstream, trio.open_nursery() as nursery:
                nursery.start_soon(self._pipe, downstream, upstream, False, scope)
                nursery.start_soon(self._pipe, upstream, downstream, True, scope)
        with trio.CancelScope(shield=True):
            await upstream.aclose()
            await downstream.aclose()

    async def _pipe(
        self, source: trio.SocketStream, sink: trio.SocketStream, pausable: bool, scope: trio.CancelScope
    ) -> None:
        try:
            while True:
                if pausable:
                    await self.flowing.wait()
                data = await source.receive_some(65536)
                if not data:
                    break
                await sink.send_all(data)
        except (trio.BrokenResourceError, trio.ClosedResourceError):
            pass
        scope.cancel()
