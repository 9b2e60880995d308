"""The dashboard's websocket: what the open page shows, pushed at each tick, and the live signal stream.

The page says what it shows; the server answers at every tick with the header counts, the newest chart
point and that page's data. Messages from the page (JSON objects, at most ``websocket_max_message_size``
bytes, which the HTTP server enforces)::

    {"op": "view", "view": "agents", "params": {"q": "", "status": "", "sort": "id", "desc": false,
                                                "offset": 0, "limit": 100}}
    {"op": "view", "view": "agent", "id": "counter-1"}          # also "tree", "dead_letters", "bus", "overview"
    {"op": "stream", "pattern": "orders.**"}                     # start (or change) the signal stream
    {"op": "stream", "pattern": null}                            # stop it (the page's pause)

and from the server: ``{"kind": "hello", ...}`` once, ``{"kind": "tick", ...}``, ``{"kind": "signals",
"signals": [...], "dropped": n}`` (the stream, batched per tick; past :data:`STREAM_BUFFER` waiting signals
the newest are dropped and counted, so a slow browser never slows the bus), ``{"kind": "error", ...}``.
"""

from __future__ import annotations

import json
import logging
import math
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Final

import trio
from starlette.websockets import WebSocket, WebSocketDisconnect

from jido.bus.subscription import Subscription
from jido.errors import ValidationError
from jido.ops import views
from jido.ops.sleepers import Sleepers, hibernated_detail
from jido.signal import Signal
from jido.signal.pattern import parse_pattern

if TYPE_CHECKING:
    from jido.ops.feed import Feed
    from jido.runtime.runtime import Runtime

__all__ = ["SEND_TIMEOUT", "STREAM_BUFFER", "LiveClient"]

logger = logging.getLogger("jido.ops")

STREAM_BUFFER: Final = 500
"""Signals of the stream waiting to be sent to one page; past it they are dropped (and counted)."""
DEAD_LETTER_PAGE: Final = 200
VIEWS: Final = frozenset({"overview", "agents", "agent", "tree", "dead_letters", "bus"})
MAX_ID: Final = 1024
CHANGES_PER_TICK: Final = 10
"""Answers one page gets per tick at most (a tick's own push included)."""
SEND_TIMEOUT: Final = 30.0
"""Seconds one message to a page may take to be sent before the page is dropped."""


class LiveClient:
    """One open dashboard page."""

    def __init__(
        self,
        websocket: WebSocket,
        runtime: Runtime,
        feed: Feed,
        tree: Callable[[], dict[str, Any]],
        sleepers: Sleepers | None = None,
    ) -> None:
        self.websocket = websocket
        self.runtime = runtime
        self.feed = feed
        self._tree = tree
        self.sleepers = sleepers if sleepers is not None else Sleepers(runtime)
        self.view = "overview"
        self.query = views.AgentQuery()
        self.watching: str | None = None
        self._stream: Subscription | None = None
        self._pattern: str | None = None
        self._pending: list[dict[str, Any]] = []
        self._dropped = 0
        self._changed = trio.Event()  # the page asked for something: answer before the next tick
        self._last_push = -math.inf
        self._pending_subscribe: str | None = None  # a stream pattern to subscribe to (in the push task)

    async def run(self) -> None:
        try:
            await self._send(
                {"kind": "hello", "interval": self.feed.interval, "chart": list(self.feed.points)}
            )
        except trio.TooSlowError:
            logger.warning("dashboard page dropped: it took no message for %g s", SEND_TIMEOUT)
            return
        try:
            async with trio.open_nursery() as nursery:
                nursery.start_soon(self._push, nursery.cancel_scope)
                await self._read()
                nursery.cancel_scope.cancel()
        finally:
            self._stop_stream()
            if self.watching is not None:
                self.feed.unwatch(self.watching)
                self.watching = None

    async def _send(self, message: dict[str, Any]) -> None:
        # A page that stops reading (a frozen tab, a client that never reads) would hold its slot and its
        # tasks forever: one that cannot take a message within SEND_TIMEOUT is dropped (TooSlowError; a
        # browser's page connects again).
        text = json.dumps(message, ensure_ascii=False, allow_nan=False, default=str)
        with trio.fail_after(SEND_TIMEOUT):
            await self.websocket.send_text(text)

    async def _read(self) -> None:
        try:
            await self._read_frames()
        except trio.TooSlowError:
            logger.warning("dashboard page dropped: it took no message for %g s", SEND_TIMEOUT)

    async def _read_frames(self) -> None:
        while True:
            try:
                frame = await self.websocket.receive()
            except (WebSocketDisconnect, RuntimeError):  # RuntimeError: the socket closed under us
                return
            if frame["type"] == "websocket.disconnect":
                return
            text = frame.get("text")
            if text is None:
                # The page only sends JSON text: a binary frame is a client speaking another protocol.
                with trio.move_on_after(SEND_TIMEOUT):
                    await self.websocket.close(code=1003, reason="expected JSON text messages, got binary")
                return
            try:
                message = json.loads(text)
            except (ValueError, RecursionError):
                await self._send({"kind": "error", "message": "expected a JSON object"})
                continue
            if not isinstance(message, dict):
                await self._send({"kind": "error", "message": "expected a JSON object"})
                continue
            problem = self._apply(message)
            if problem is not None:
                await self._send({"kind": "error", "message": problem})
            else:
                self._changed.set()

    def _apply(self, message: dict[str, Any]) -> str | None:
        op = message.get("op")
        if op == "view":
            view = message.get("view")
            if view not in VIEWS:
                return f"unknown view {str(view)[:100]!r}"
            params = message.get("params", {})
            if not isinstance(params, dict):
                return "params must be an object"
            query = self.query
            if view == "agents":
                try:
                    query = views.AgentQuery.parse(params)
                except views.QueryError as exc:
                    return exc.message  # the page keeps what it showed
            agent_id = message.get("id") if view == "agent" else None
            if view == "agent" and (not isinstance(agent_id, str) or not agent_id or len(agent_id) > MAX_ID):
                return f"id: view 'agent' needs an agent id (at most {MAX_ID} characters)"
            self.query = query
            if self.watching is not None and self.watching != agent_id:
                self.feed.unwatch(self.watching)
                self.watching = None
            if agent_id is not None and self.watching is None:
                self.feed.watch(agent_id)
                self.watching = agent_id
            self.view = str(view)
            return None
        if op == "stream":
            pattern = message.get("pattern")
            if pattern is None:
                self._stop_stream()
                return None
            if not isinstance(pattern, str) or len(pattern) > 512:
                return "pattern must be a string"
            try:
                parse_pattern(pattern)
            except ValidationError as exc:
                return f"invalid pattern: {exc.errors[0].message}"
            self._start_stream(pattern)
            return None
        return f"unknown op {str(op)[:100]!r}"

    # -- the signal stream ---------------------------------------------------------------------------------------
    def _start_stream(self, pattern: str) -> None:
        if self._stream is not None and self._pattern == pattern:
            return
        self._stop_stream()
        self._pattern = pattern
        self._pending_subscribe = pattern

    def _stop_stream(self) -> None:
        self._pattern = None
        if self._stream is not None:
            self._stream.close_nowait()
            self._stream = None

    async def _subscribe(self, pattern: str) -> None:
        pending = self._pending

        def take(signal: Signal) -> None:
            if len(pending) >= STREAM_BUFFER:
                self._dropped += 1
                return
            pending.append(views.signal_json(signal))

        self._stream = await self.runtime.bus.subscribe(pattern, target=take, max_in_flight=STREAM_BUFFER)

    # -- pushing -------------------------------------------------------------------------------------------------
    async def _push(self, cancel_scope: trio.CancelScope) -> None:
        while True:
            with trio.move_on_after(self.feed.interval * 2):
                async with trio.open_nursery() as waiters:

                    async def wait(fn: Callable[[], Any]) -> None:
                        await fn()
                        waiters.cancel_scope.cancel()

                    waiters.start_soon(wait, self.feed.next_tick)
                    waiters.start_soon(wait, self._changed.wait)
            self._changed = trio.Event()
            # A page that sends changes as fast as it can is answered at most CHANGES_PER_TICK times a tick:
            # each answer computes a view, and the other pages and the runtime share the process.
            await trio.sleep_until(self._last_push + self.feed.interval / CHANGES_PER_TICK)
            self._last_push = trio.current_time()
            wanted = self._pending_subscribe
            if wanted is not None:
                self._pending_subscribe = None
                if self._pattern == wanted and self._stream is None:
                    await self._subscribe(wanted)
            try:
                message = await self._tick_message()
            except Exception:  # a view that fails must not end the page's connection: say so, go on
                logger.exception("dashboard view %r failed", self.view)
                message = {"kind": "error", "message": f"the {self.view} view failed; see the server log"}
            try:
                await self._send(message)
                if self._pending or self._dropped:
                    batch, self._pending[:] = list(self._pending), []
                    dropped, self._dropped = self._dropped, 0
                    await self._send({"kind": "signals", "signals": batch, "dropped": dropped})
            except trio.TooSlowError:
                logger.warning("dashboard page dropped: it took no message for %g s", SEND_TIMEOUT)
                cancel_scope.cancel()
                return
            except (
                WebSocketDisconnect,
                RuntimeError,
                OSError,
                trio.BrokenResourceError,
                trio.ClosedResourceError,
            ):
                cancel_scope.cancel()
                return

    async def _tick_message(self) -> dict[str, Any]:
        stats = self.runtime.statistics()
        point = self.feed.points[-1] if self.feed.points else None
        data = await self._view_data()
        return {
            "kind": "tick",
            "overview": views.overview(stats),
            "point": point,
            "view": self.view,
            "data": data,
            # Only once the subscription is open: a signal published after the page saw this reaches it.
            "streaming": self._pattern if self._stream is not None else None,
        }

    async def _view_data(self) -> Any:
        view = self.view
        if view == "agents":
            return views.agents_page(self.runtime, self.query, self.sleepers)
        if view == "agent":
            assert self.watching is not None
            self.feed.rewatch(self.watching)
            ref = self.runtime.whereis(self.watching)
            if ref is None:
                failed = self.runtime.failed_agents().get(self.watching)
                if failed is not None:
                    return {
                        "id": self.watching,
                        "status": "failed",
                        "reason": failed.reason,
                        "missing": False,
                    }
                asleep = await hibernated_detail(self.runtime, self.sleepers, self.watching)
                if asleep is not None:
                    return {**asleep, "missing": False}
                return {"id": self.watching, "missing": True}
            return views.agent_detail(self.runtime, ref)
        if view == "tree":
            return self._tree()
        if view == "dead_letters":
            letters = await self.runtime.stored_dead_letters(limit=10_000)
            newest = letters[-DEAD_LETTER_PAGE:][::-1]
            return {"total": len(letters), "letters": [views.dead_letter_json(d) for d in newest]}
        if view == "bus":
            return await views.bus_view(self.runtime)
        return {"chart": list(self.feed.points)[-60:]}
