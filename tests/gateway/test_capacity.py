"""The gateway's bound on concurrent connections: a clear refusal past it, and places given back."""

from __future__ import annotations

import contextlib
from typing import Any

import pytest
import trio
import wsproto.events

from jido.gateway import TokenPolicy, serve_gateway
from jido.runtime.runtime import Runtime

from .helpers import eventually, raw_client, serving, wsproto_client


async def refusal(port: int) -> tuple[int, dict[bytes, bytes], bytes]:
    """Handshake once; the status, headers and body of the refusal."""
    async with wsproto_client(port) as client:
        event = await client.handshake("127.0.0.1", [])
        assert isinstance(event, wsproto.events.RejectConnection)
        body = b""
        while event.has_body:
            while not client.events:
                await client._fill()
            data = client.events.popleft()
            assert isinstance(data, wsproto.events.RejectData)
            body += data.data
            if data.body_finished:
                break
        return event.status_code, dict(event.headers), body


class TestMaxConnections:
    @pytest.mark.parametrize("value", [0, -1, True, 2.0, None])
    async def test_bad_value(self, runtime: Runtime, value: object) -> None:
        """A bound that is not an int >= 1 is refused before listening."""
        with pytest.raises(ValueError, match=r"^max_connections must be an int >= 1, got .*$"):
            await serve_gateway(runtime, max_connections=value)  # type: ignore[arg-type]

    async def test_refused_past_the_bound(self, runtime: Runtime) -> None:
        """A handshake past max_connections gets HTTP 503 with Retry-After and says why; the open ones stay
        healthy, and the refusal is counted."""
        async with (
            serving(runtime, max_connections=2) as gateway,
            raw_client(gateway.url) as first,
            raw_client(gateway.url) as second,
        ):
            status, headers, body = await refusal(gateway.port)
            assert (status, headers.get(b"retry-after"), body) == (503, b"1", b"too many connections\n")
            for client in (first, second):
                reply = await client.request({"op": "ping", "id": "p"})
                assert reply == {"op": "result", "id": "p", "result": {}}
            stats = gateway.statistics()
            assert (stats.connections, stats.over_capacity, stats.accepted) == (2, 1, 2)

    async def test_place_given_back(self, runtime: Runtime) -> None:
        """When a connection closes, its place goes to the next client."""
        async with serving(runtime, max_connections=1) as gateway:
            async with raw_client(gateway.url) as client:
                await client.request({"op": "ping", "id": "p"})
                status, _, _ = await refusal(gateway.port)
                assert status == 503
            await eventually(lambda: gateway.connections == 0)
            async with raw_client(gateway.url) as client:
                reply = await client.request({"op": "ping", "id": "p"})
                assert reply == {"op": "result", "id": "p", "result": {}}
            assert gateway.statistics().over_capacity == 1


def handshake(*headers: bytes) -> bytes:
    return (
        b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n"
        + b"".join(h + b"\r\n" for h in headers)
        + b"\r\n"
    )


async def answer_then_end(port: int, request: bytes) -> bytes:
    """Send a handshake over plain TCP and read until the server ends the stream (never closing ours)."""
    stream = await trio.open_tcp_stream("127.0.0.1", port)
    try:
        await stream.send_all(request)
        data = b""
        with trio.fail_after(10):  # a guard only: the server ends the stream at once
            while chunk := await stream.receive_some():
                data += chunk
        return data
    finally:
        await stream.aclose()


class TestRefusedHandshakes:
    @pytest.mark.parametrize(
        ("options", "header", "status"),
        [
            ({"tokens": {"t": TokenPolicy()}}, b"Authorization: Bearer wrong", b"401"),
            ({}, b"Origin: https://evil.example", b"403"),
            ({"max_connections": 1}, b"X-Filler: 1", b"503"),
        ],
        ids=["bad_token", "foreign_origin", "over_capacity"],
    )
    async def test_server_closes_the_socket(
        self, runtime: Runtime, options: dict[str, Any], header: bytes, status: bytes
    ) -> None:
        """A refused handshake is answered and its TCP connection closed by the server, so that clients that
        never close theirs cannot pile up sockets and tasks past max_connections."""
        async with serving(runtime, **options) as gateway, contextlib.AsyncExitStack() as stack:
            if "max_connections" in options:
                await stack.enter_async_context(raw_client(gateway.url))
            for _ in range(3):
                answer = await answer_then_end(gateway.port, handshake(header))
                assert answer.startswith(b"HTTP/1.1 " + status)
            if "max_connections" not in options:
                assert gateway.statistics().rejected == 3
