"""A tiny HTTP/1.1 server on 127.0.0.1 for the HTTP and webhook adapter tests: records requests, answers
with the statuses it is told, or never answers."""

from __future__ import annotations

from collections import deque
from functools import partial
from typing import Any

import attrs
import h11
import trio


@attrs.frozen
class Recorded:
    """One request as the server read it."""

    method: str
    target: str
    headers: dict[str, str]
    body: bytes


class TestServer:
    """Answers each request with the next status of ``statuses`` (then ``default_status``) and the
    ``response_headers``, or never while ``hang`` is set; with ``truncate`` it hangs up in the middle of the
    answer's body. ``received`` is set at each request read;
    ``connections`` counts the connections accepted."""

    __test__ = False  # not a pytest test class

    def __init__(self) -> None:
        self.requests: list[Recorded] = []
        self.statuses: deque[int] = deque()
        self.default_status = 200
        self.response_headers: list[tuple[str, str]] = []
        self.hang = False
        self.truncate = False
        self.received = trio.Event()
        self.port = 0
        self.connections = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hooks/jido"

    async def serve(self, nursery: trio.Nursery) -> None:
        listeners: list[Any] = await nursery.start(partial(trio.serve_tcp, self._handle, 0, host="127.0.0.1"))
        self.port = listeners[0].socket.getsockname()[1]

    async def _read_request(self, stream: trio.SocketStream, conn: h11.Connection) -> Recorded | None:
        request: h11.Request | None = None
        body = b""
        while True:
            event = conn.next_event()
            if event is h11.NEED_DATA:
                conn.receive_data(await stream.receive_some(65536))
            elif isinstance(event, h11.Request):
                request = event
            elif isinstance(event, h11.Data):
                body += bytes(event.data)
            elif isinstance(event, h11.EndOfMessage):
                assert request is not None
                headers = {name.decode(): value.decode() for name, value in request.headers}
                return Recorded(request.method.decode(), request.target.decode(), headers, body)
            else:  # the client closed the connection between requests
                return None

    async def _handle(self, stream: trio.SocketStream) -> None:
        conn = h11.Connection(h11.SERVER)
        self.connections += 1
        async with stream:
            try:
                while True:
                    recorded = await self._read_request(stream, conn)
                    if recorded is None:
                        return
                    self.requests.append(recorded)
                    self.received.set()
                    if self.hang:
                        await trio.sleep_forever()
                    status = self.statuses.popleft() if self.statuses else self.default_status
                    body = b"ok" if status < 300 else b"nope"
                    if self.truncate:  # promise more body than sent, then hang up
                        response = h11.Response(status_code=status, headers=[("content-length", "100")])
                        await stream.send_all(
                            (conn.send(response) or b"") + (conn.send(h11.Data(data=body)) or b"")
                        )
                        return
                    headers = [("content-length", str(len(body))), *self.response_headers]
                    for event in (h11.Response(status_code=status, headers=headers), h11.Data(data=body)):
                        await stream.send_all(conn.send(event) or b"")
                    await stream.send_all(conn.send(h11.EndOfMessage()) or b"")
                    if conn.our_state is not h11.DONE or conn.their_state is not h11.DONE:
                        return
                    conn.start_next_cycle()
            except (h11.RemoteProtocolError, trio.BrokenResourceError, trio.ClosedResourceError):
                return


async def refused_port() -> int:
    """A port on 127.0.0.1 nobody listens on (bound, then released)."""
    sock = trio.socket.socket()
    with sock:
        await sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port
