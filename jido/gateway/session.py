"""The client's view of one websocket connection: requests waiting for answers, and the streams attached."""

from __future__ import annotations

import urllib.parse
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

import trio
import trio_websocket

if TYPE_CHECKING:
    from jido.gateway.subscription import GatewaySubscription

__all__ = ["NotSent", "Pending", "Session", "leaf", "parse_url"]

_E = TypeVar("_E", bound=BaseException)


class Pending:
    """A request waiting for its answer; ``on_result`` runs in the reader, before the next frame is read."""

    __slots__ = ("error", "event", "on_result", "op", "result")

    def __init__(self, op: str, on_result: Callable[[Any], None] | None) -> None:
        self.op = op
        self.on_result = on_result
        self.event = trio.Event()
        self.result: Any = None
        self.error: BaseException | None = None

    def resolve(self, result: Any) -> None:
        if not self.event.is_set():
            self.result = result
            self.event.set()

    def fail(self, error: BaseException) -> None:
        if not self.event.is_set():
            self.error = error
            self.event.set()


class NotSent(Exception):
    """The connection was closed before the frame went out: safe to send it on the next connection."""


class Session:
    """One websocket connection of the client."""

    def __init__(self, ws: trio_websocket.WebSocketConnection) -> None:
        self.ws = ws
        self.pending: dict[str, Pending] = {}
        self.streams: dict[str, GatewaySubscription] = {}
        self.lost = trio.Event()
        self.close_code: int | None = None
        self.close_reason: str | None = None

    def end(self, code: int | None, reason: str | None) -> None:
        if not self.lost.is_set():
            self.close_code = code
            self.close_reason = reason
            self.lost.set()


def parse_url(url: object) -> tuple[str, int, str, bool]:
    """``(host, port, resource, secure)`` of a ``ws://`` or ``wss://`` URL; TypeError or ValueError else."""
    if not isinstance(url, str):
        raise TypeError(f"url must be a str, got {type(url).__name__}")
    parts = urllib.parse.urlsplit(url)
    if parts.scheme not in ("ws", "wss") or not parts.hostname:
        raise ValueError(f"url must be ws://host[:port]/path or wss://..., got {url!r}")
    secure = parts.scheme == "wss"
    try:
        port = parts.port or (443 if secure else 80)
    except ValueError:
        raise ValueError(f"url has an invalid port: {url!r}") from None
    resource = parts.path or "/"
    if parts.query:
        resource += f"?{parts.query}"
    return parts.hostname, port, resource, secure


def leaf(group: BaseExceptionGroup[BaseException], kind: type[_E]) -> _E | None:
    """The first exception of type ``kind`` in ``group``, however deeply nested."""
    pending: list[BaseException] = [group]
    while pending:
        exc = pending.pop()
        if isinstance(exc, BaseExceptionGroup):
            pending.extend(exc.exceptions)
        elif isinstance(exc, kind):
            return exc
    return None
