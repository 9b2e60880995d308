"""Frames written together in one socket write arrive as the same messages, in order, as sent one by one."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager

import pytest
import trio
import trio_websocket

from jido.gateway.wire import can_coalesce, send_messages

from .helpers import raw_client

FRAMES = ['{"op":"signal","offset":1}', "é" * 3, "x" * 70_000, "", '{"op":"signal","offset":5}']


@asynccontextmanager
async def pair(
    handler: Callable[[trio_websocket.WebSocketConnection], object],
) -> AsyncIterator[trio_websocket.WebSocketConnection]:
    """A client connected to a trio-websocket server whose handler gets the server side of the connection."""

    async def serve(request: trio_websocket.WebSocketRequest) -> None:
        ws = await request.accept()
        await handler(ws)  # type: ignore[misc]
        await ws.get_message()  # until the client says it has read everything

    async with trio.open_nursery() as nursery:
        server = await nursery.start(trio_websocket.serve_websocket, serve, "127.0.0.1", 0, None)
        async with trio_websocket.open_websocket_url(f"ws://127.0.0.1:{server.port}/") as ws:
            yield ws
            await ws.send_message("done")
        nursery.cancel_scope.cancel()


class TestSendMessages:
    @pytest.mark.parametrize("coalesce", [True, False])
    async def test_same_messages(self, coalesce: bool) -> None:
        """Coalesced or not, the client reads exactly the frames sent, in order, each a text message."""
        seen: list[bool] = []

        async def handler(ws: trio_websocket.WebSocketConnection) -> None:
            seen.append(can_coalesce(ws))
            await send_messages(ws, FRAMES, coalesce=coalesce)
            await send_messages(ws, ["last"], coalesce=coalesce)

        async with pair(handler) as client:
            received = [await client.get_message() for _ in range(len(FRAMES) + 1)]
        assert received == [*FRAMES, "last"]
        assert seen == [True]  # the trio-websocket installed has what coalescing writes through

    async def test_closed_connection(self) -> None:
        """Sending on a connection closed locally raises ConnectionClosed, as send_message does."""
        raised: list[BaseException] = []

        async def handler(ws: trio_websocket.WebSocketConnection) -> None:
            await ws.aclose()
            try:
                await send_messages(ws, ["a", "b"], coalesce=True)
            except trio_websocket.ConnectionClosed as exc:
                raised.append(exc)

        async with trio.open_nursery() as nursery:

            async def serve(request: trio_websocket.WebSocketRequest) -> None:
                await handler(await request.accept())

            server = await nursery.start(trio_websocket.serve_websocket, serve, "127.0.0.1", 0, None)
            # raw_client closes its own TCP stream: trio-websocket's client leaves it open when the server
            # closes first.
            async with raw_client(f"ws://127.0.0.1:{server.port}/") as client:
                with pytest.raises(trio_websocket.ConnectionClosed):
                    await client.ws.get_message()
            nursery.cancel_scope.cancel()
        assert len(raised) == 1
