"""Writing many websocket text messages to one connection with one write to its socket.

trio-websocket sends each message with its own ``send_all``: a system call and a trip through trio's
scheduler per message, which is most of what a frame costs on loopback. A gateway pushing a burst of signals
to one client has many frames ready at once, so it frames them all with the connection's own wsproto state
machine (the same bytes ``send_message`` would write, compression included if negotiated) and writes them in
one ``send_all`` under the connection's send lock, so that they never interleave with a ping or a close the
library sends itself.

That reaches into trio-websocket's private attributes. :func:`can_coalesce` checks they are all there (and
the test suite checks the bytes on the wire); where they are not, :func:`send_messages` falls back to
``send_message`` per frame, which is slower and otherwise the same.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Final

import trio
import trio_websocket
import wsproto.utilities
from wsproto.events import TextMessage

__all__ = ["MAX_BATCH_BYTES", "MAX_BATCH_FRAMES", "can_coalesce", "send_messages"]

MAX_BATCH_FRAMES: Final = 128
"""Frames written in one ``send_all`` at most: the client starts reading the first ones sooner."""
MAX_BATCH_BYTES: Final = 256 << 10
"""Characters of frames gathered for one write at most (a single larger frame is written alone)."""

_PRIVATE: Final = ("_wsproto", "_stream", "_stream_lock", "_close_reason", "_abort_web_socket")


def can_coalesce(ws: trio_websocket.WebSocketConnection) -> bool:
    """Whether ``ws`` has the trio-websocket internals :func:`send_messages` writes through."""
    return all(hasattr(ws, name) for name in _PRIVATE)


async def send_messages(
    ws: trio_websocket.WebSocketConnection, frames: Sequence[str], *, coalesce: bool
) -> None:
    """Send ``frames`` as text messages, in order; with ``coalesce``, in one write to the socket.

    Raises:
        trio_websocket.ConnectionClosed: the connection is closed or closing (as ``send_message`` raises).
    """
    if not coalesce or len(frames) == 1:
        for frame in frames:
            await ws.send_message(frame)
        return
    if ws._close_reason:
        raise trio_websocket.ConnectionClosed(ws._close_reason)
    try:
        data = b"".join([ws._wsproto.send(TextMessage(data=frame)) for frame in frames])
    except wsproto.utilities.LocalProtocolError:
        # The close handshake has begun (the reader saw the peer's close): nothing more may be sent.
        raise trio_websocket.ConnectionClosed(ws._close_reason) from None
    async with ws._stream_lock:
        try:
            await ws._stream.send_all(data)
        except (trio.BrokenResourceError, trio.ClosedResourceError):
            await ws._abort_web_socket()
            raise trio_websocket.ConnectionClosed(ws._close_reason) from None
