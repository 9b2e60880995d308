"""Misbehaving websocket servers on 127.0.0.1, written by hand at the byte level.

A real gateway (or trio-websocket's server) always finishes its handshakes and answers a close; these do not,
so the CLI's deadlines and the client's handling of an early close can be tested against them.
"""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager, suppress
from functools import partial
from typing import Any, Final

import trio

__all__ = [
    "accept_then_close",
    "answer_then_hang",
    "hang_after_handshake",
    "hang_before_handshake",
    "raw_server",
]

_GUID: Final = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"  # RFC 6455, section 1.3
# A close frame from the server (not masked): code 1001, going away.
CLOSE_GOING_AWAY: Final = bytes([0x88, 0x02]) + (1001).to_bytes(2, "big")

Handler = Callable[[trio.SocketStream], Awaitable[None]]


async def _handshake(stream: trio.SocketStream) -> bytes:
    """Read the client's upgrade request; return the 101 response that accepts it."""
    request = b""
    while b"\r\n\r\n" not in request:
        chunk = await stream.receive_some(4096)
        if not chunk:
            raise trio.BrokenResourceError("the client left during the handshake")
        request += chunk
    key = next(
        line.split(b":", 1)[1].strip()
        for line in request.split(b"\r\n")
        if line.lower().startswith(b"sec-websocket-key:")
    )
    accept = base64.b64encode(hashlib.sha1(key + _GUID).digest())
    return (
        b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        b"Sec-WebSocket-Accept: " + accept + b"\r\n\r\n"
    )


def _text_frame(value: Any) -> bytes:
    payload = json.dumps(value).encode()
    assert len(payload) < 126  # one length byte is enough for these small frames
    return bytes([0x81, len(payload)]) + payload


async def _discard(stream: trio.SocketStream) -> None:
    """Read and drop whatever the client sends (its requests, its close frame) until it hangs up."""
    while await stream.receive_some(4096):
        pass


async def hang_before_handshake(stream: trio.SocketStream) -> None:
    """Accept the TCP connection and never answer the websocket handshake."""
    await _discard(stream)


async def hang_after_handshake(stream: trio.SocketStream) -> None:
    """Finish the handshake, then answer nothing: no request, no ping, no close."""
    await stream.send_all(await _handshake(stream))
    await _discard(stream)


async def answer_then_hang(stream: trio.SocketStream) -> None:
    """Answer the client's first request with an agent's state, then nothing more (not even the close)."""
    await stream.send_all(await _handshake(stream))
    await stream.receive_some(4096)  # the request (the client numbers its first request "1")
    result = {"op": "result", "id": "1", "result": {"agent": "counter", "state": {"count": 1}}}
    await stream.send_all(_text_frame(result))
    await _discard(stream)


async def accept_then_close(stream: trio.SocketStream) -> None:
    """Accept the handshake and close the websocket in the same write, as a server that is going away does.

    The client reads both at once: its websocket is closing before the first request is even sent.
    """
    await stream.send_all(await _handshake(stream) + CLOSE_GOING_AWAY)
    await _discard(stream)


@asynccontextmanager
async def raw_server(handler: Handler) -> AsyncIterator[str]:
    """Serve ``handler`` on a free port of 127.0.0.1; yields the ``ws://`` URL."""

    async def guarded(stream: trio.SocketStream) -> None:
        # A client that gives up mid-exchange resets the connection: that is the point of these servers.
        with suppress(trio.BrokenResourceError, trio.ClosedResourceError):
            await handler(stream)

    async with trio.open_nursery() as nursery:
        listeners = await nursery.start(partial(trio.serve_tcp, guarded, 0, host="127.0.0.1"))
        port = listeners[0].socket.getsockname()[1]
        yield f"ws://127.0.0.1:{port}/"
        nursery.cancel_scope.cancel()
