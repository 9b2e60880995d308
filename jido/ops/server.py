"""Serving the operations surface: Hypercorn's trio worker runs the Starlette app in the caller's nursery."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import TYPE_CHECKING, Final

import attrs
import trio
from hypercorn.config import Config
from hypercorn.trio import serve

from jido.ops.access import Access, OpsToken, host_is_loopback
from jido.ops.app import OpsState, build_app
from jido.ops.feed import Feed
from jido.ops.metrics import Metrics
from jido.ops.recorder import Recorder

if TYPE_CHECKING:
    from jido.gateway.server import Gateway
    from jido.runtime.runtime import Runtime

__all__ = ["MAX_WEBSOCKET_MESSAGE", "OpsServer", "serve_ops"]

MAX_WEBSOCKET_MESSAGE: Final = 64 * 1024
"""Bytes of one message a page may send on the live websocket (its messages are small JSON objects)."""


@attrs.define(eq=False)
class OpsServer:
    """A running operations surface, as ``await nursery.start(serve_ops, runtime)`` returns it.

    Attributes:
        url: its address, such as ``http://127.0.0.1:8766/`` (the port chosen by the system with port 0).
        host, port: where it listens.
        feed: the chart points and the tick its live pages follow.
    """

    url: str
    host: str
    port: int
    feed: Feed
    state: OpsState = attrs.field(repr=False)


def _bind(host: str, port: int) -> str:
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


async def serve_ops(
    runtime: Runtime,
    host: str = "127.0.0.1",
    port: int = 0,
    *,
    tokens: Mapping[str, OpsToken] | None = None,
    gateway: Gateway | None = None,
    interval: float = 1.0,
    task_status: trio.TaskStatus[OpsServer] = trio.TASK_STATUS_IGNORED,
) -> None:
    """Serve the dashboard, ``/metrics``, ``/healthz`` and ``/readyz`` of ``runtime`` until cancelled.

    ``await nursery.start(serve_ops, rt)`` returns the :class:`OpsServer` once it listens.

    Args:
        runtime: the runtime to show.
        host: the address to listen on (loopback by default).
        port: the port (0: one the system chooses; see ``OpsServer.port``).
        tokens: the tokens that may use the surface, and which of them are admins. None: no tokens, only
            allowed on a loopback address; everyone there may look and change (behind the CSRF and
            same-origin checks of :mod:`jido.ops.access`).
        gateway: the gateway serving the same runtime, for its connection counts in ``/metrics``.
        interval: seconds between two chart points and live updates.

    Raises:
        ValueError: ``tokens`` is None on a host that is not loopback, or an option is out of range.
        OSError: the address cannot be listened on.
    """
    loopback = host_is_loopback(host)
    if tokens is None and not loopback:
        raise ValueError(f"serving the operations surface on {host!r} (not loopback) needs tokens")
    if isinstance(port, bool) or not isinstance(port, int) or not 0 <= port <= 65535:
        raise ValueError(f"port must be an int in 0..65535, got {port!r}")
    access = Access(tokens)
    with Recorder(runtime) as recorder:
        feed = Feed(runtime, recorder, interval=interval)
        state = OpsState(runtime, access, feed, Metrics(), gateway=gateway, loopback=loopback)
        config = Config()
        config.bind = [_bind(host, port)]
        config.accesslog = None
        # Hypercorn's own messages go through jido's logging (silent until the application configures it).
        config.errorlog = logging.getLogger("jido.ops.http")
        config.include_server_header = False
        config.websocket_max_message_size = MAX_WEBSOCKET_MESSAGE
        config.h11_max_incomplete_size = 16 * 1024  # request line and headers
        config.graceful_timeout = 1.0
        app = build_app(state)
        async with trio.open_nursery() as nursery:
            await nursery.start(feed.serve)
            binds: list[str] = await nursery.start(serve, app, config)
            bound = binds[0].removeprefix("http://")
            bound_port = int(bound.rsplit(":", 1)[1])
            shown = f"[{host}]" if ":" in host else host
            task_status.started(OpsServer(f"http://{shown}:{bound_port}/", host, bound_port, feed, state))
