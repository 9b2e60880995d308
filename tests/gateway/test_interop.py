"""The gateway spoken to by a websocket client written on wsproto alone (no trio-websocket, no jido client)."""

from __future__ import annotations

import json
from typing import Any

import trio.testing
import wsproto.events

from jido.gateway import TokenPolicy
from jido.gateway.policy import identity_of
from jido.runtime.runtime import Runtime

from .helpers import WsprotoClient, serving, signal_json, wsproto_client

TOKENS = {"s3cret": TokenPolicy()}


async def request(client: WsprotoClient, frame: dict[str, Any]) -> Any:
    await client.send_text(json.dumps(frame))
    return await client.next()


class TestWsproto:
    async def test_session_with_header_auth(self, runtime: Runtime) -> None:
        """Handshake with a bearer header, subscribe, publish, receive the signal, call, inspect, through
        server pings answered on the way."""
        async with (
            serving(runtime, tokens=TOKENS, heartbeat_interval=0.01) as gateway,
            wsproto_client(gateway.port) as client,
        ):
            accepted = await client.handshake("127.0.0.1", [(b"Authorization", b"Bearer s3cret")])
            assert isinstance(accepted, wsproto.events.AcceptConnection)
            assert await request(client, {"op": "subscribe", "id": "a", "pattern": "order.**"}) == {
                "op": "result",
                "id": "a",
                "result": {"subscription": "s1", "from": 1},
            }
            sent = signal_json("order.placed", total=12)
            reply = await request(client, {"op": "publish", "id": "b", "signal": sent})
            assert reply == {"op": "result", "id": "b", "result": {"offset": 1}}
            assert await client.next() == {
                "op": "signal",
                "subscription": "s1",
                "offset": 1,
                "signal": sent,
            }
            call = {
                "op": "call",
                "id": "c",
                "agent": "counter",
                "signal": signal_json("counter.add", by=5),
            }
            assert (await request(client, call))["result"] == {"agent": "counter", "state": {"count": 5}}
            bus = (await request(client, {"op": "inspect", "id": "d"}))["result"]["bus"]
            assert (bus["first_offset"], bus["last_offset"]) == (1, 1)
            assert set(bus["subscription_lag"].values()) == {0}
            while client.pings < 3:
                assert await request(client, {"op": "ping", "id": "e"}) == {
                    "op": "result",
                    "id": "e",
                    "result": {},
                }

    async def test_session_with_first_frame_auth(self, runtime: Runtime) -> None:
        """A client that cannot set headers (a browser) authenticates with its first frame."""
        async with serving(runtime, tokens=TOKENS) as gateway, wsproto_client(gateway.port) as client:
            assert isinstance(await client.handshake("127.0.0.1", []), wsproto.events.AcceptConnection)
            reply = await request(client, {"op": "auth", "id": "1", "token": "s3cret"})
            assert reply == {
                "op": "result",
                "id": "1",
                "result": {
                    "name": identity_of("s3cret"),
                    "subscribe": ["**"],
                    "publish": ["**"],
                    "call": True,
                },
            }
            reply = await request(client, {"op": "publish", "id": "2", "signal": signal_json()})
            assert reply == {"op": "result", "id": "2", "result": {"offset": 1}}

    async def test_close_handshake(self, runtime: Runtime) -> None:
        """A client closing with 1000 gets the close echoed, and the server forgets the connection."""
        async with serving(runtime) as gateway, wsproto_client(gateway.port) as client:
            assert isinstance(await client.handshake("127.0.0.1", []), wsproto.events.AcceptConnection)
            assert await request(client, {"op": "ping", "id": "1"}) == {
                "op": "result",
                "id": "1",
                "result": {},
            }
            assert gateway.connections == 1
            await client.stream.send_all(client.connection.send(wsproto.events.CloseConnection(code=1000)))
            closed = await client.next()
            assert isinstance(closed, wsproto.events.CloseConnection)
            assert closed.code == 1000
            await trio.testing.wait_all_tasks_blocked()
            assert gateway.connections == 0
