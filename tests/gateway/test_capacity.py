"""The gateway's bound on concurrent connections: a clear refusal past it, and places given back."""

from __future__ import annotations

import pytest
import wsproto.events

from jido.gateway import serve_gateway
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
