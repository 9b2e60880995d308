"""The live feed: chart points from handled signals (trio's MockClock drives the ticks), and the websocket
that pushes what a page shows."""

from __future__ import annotations

import json
from typing import Any

import pytest
import trio
import trio.testing
import trio_websocket

import jido
from jido.ops.feed import Feed
from jido.ops.recorder import BUCKETS, Recorder, Totals

from .helpers import Counter, add, ops


class TestTotals:
    def test_quantiles(self) -> None:
        """A quantile is the upper bound of the bucket that holds it; none without samples."""
        buckets = [0] * (len(BUCKETS) + 1)
        buckets[3] = 50  # <= 1 ms
        buckets[6] = 45  # <= 10 ms
        buckets[9] = 5  # <= 100 ms
        totals = Totals(100, 0, tuple(buckets), 1.0)
        assert totals.quantile(0.5) == 0.001
        assert totals.quantile(0.95) == 0.01
        assert totals.quantile(0.99) == 0.1
        assert Totals(0, 0, (0,) * (len(BUCKETS) + 1), 0.0).quantile(0.5) is None

    def test_past_the_last_bound(self) -> None:
        """Durations past the last bound show as the last bound."""
        buckets = [0] * (len(BUCKETS) + 1)
        buckets[-1] = 3
        assert Totals(3, 0, tuple(buckets), 99.0).quantile(0.5) == BUCKETS[-1]


class TestFeed:
    async def test_points_from_handled_signals(self, autojump_clock: trio.testing.MockClock) -> None:
        """Each interval adds a point: handled and failed signals per second, from this runtime only."""
        async with jido.open_runtime() as rt, jido.open_runtime() as other:
            ref = await rt.start_agent(Counter, id="c")
            stranger = await other.start_agent(Counter, id="c2")
            with Recorder(rt) as recorder:
                feed = Feed(rt, recorder, interval=2.0)
                async with trio.open_nursery() as nursery:
                    await nursery.start(feed.serve)
                    for _ in range(6):
                        await ref.call(add())
                    await stranger.call(add())
                    with pytest.raises(jido.ActionError):
                        await ref.call(jido.Signal(type="counter.picky", source="/t"))  # 6 -> 7
                        await ref.call(jido.Signal(type="counter.picky", source="/t"))
                    await feed.next_tick()
                    await feed.next_tick()
                    nursery.cancel_scope.cancel()
            first, second = list(feed.points)[:2]
            assert first["throughput"] == 8 / 2 and first["errors"] == 1 / 2
            assert first["p50_ms"] is not None
            assert second["throughput"] == 0 and second["p50_ms"] is None
            assert recorder.totals().handled == 8

    def test_bad_interval(self) -> None:
        """The interval is a positive number of seconds."""
        with pytest.raises(ValueError, match=r"^interval must be"):
            Feed(None, None, interval=0)  # type: ignore[arg-type]


async def _until(ws: trio_websocket.WebSocketConnection, want: Any) -> dict[str, Any]:
    """The first message ``want`` accepts (bounded: a test that breaks fails instead of hanging)."""
    for _ in range(500):
        message: dict[str, Any] = json.loads(await ws.get_message())
        if want(message):
            return message
    raise AssertionError("no such message")


class TestWebsocket:
    async def test_agent_page_follows_the_state(self) -> None:
        """A page showing an agent sees its state change; its debug ring is on only while it is shown."""
        async with jido.open_runtime() as rt, ops(rt, interval=0.05) as server:
            ref = await rt.start_agent(Counter, id="c")
            url = server.url.replace("http", "ws") + "api/live"
            origin = [(b"origin", server.url.rstrip("/").encode())]
            async with trio_websocket.open_websocket_url(url, extra_headers=origin) as ws:
                await ws.send_message(json.dumps({"op": "view", "view": "agent", "id": "c"}))
                await _until(ws, lambda m: m["kind"] == "tick" and m["view"] == "agent")
                assert ref.debugging
                await ref.call(add(3))
                seen = await _until(ws, lambda m: m["kind"] == "tick" and '"count": 3' in m["data"]["state"])
                assert any(e["name"] == "jido.signal.handled" for e in seen["data"]["events"])
                await ws.send_message(json.dumps({"op": "view", "view": "overview"}))
                await _until(ws, lambda m: m["kind"] == "tick" and m["view"] == "overview")
                assert not ref.debugging

    async def test_stream_with_pattern_and_pause(self) -> None:
        """The stream sends signals matching the page's pattern; a paused page gets none."""
        async with jido.open_runtime() as rt, ops(rt, interval=0.05) as server:
            url = server.url.replace("http", "ws") + "api/live"
            origin = [(b"origin", server.url.rstrip("/").encode())]
            async with trio_websocket.open_websocket_url(url, extra_headers=origin) as ws:
                await ws.send_message(json.dumps({"op": "stream", "pattern": "order.*"}))
                await _until(ws, lambda m: m["kind"] == "tick" and m["streaming"] == "order.*")
                await rt.publish(jido.Signal(type="other.thing", source="/t"))
                await rt.publish(jido.Signal(type="order.placed", source="/t", data={"n": 1}))
                batch = await _until(ws, lambda m: m["kind"] == "signals")
                assert [s["type"] for s in batch["signals"]] == ["order.placed"]
                await ws.send_message(json.dumps({"op": "stream", "pattern": None}))
                await _until(ws, lambda m: m["kind"] == "tick" and m["streaming"] is None)
                await rt.publish(jido.Signal(type="order.placed", source="/t", data={"n": 2}))
                for _ in range(5):  # five more pushes: none carries a signal
                    message = await _until(ws, lambda m: m["kind"] in ("tick", "signals"))
                    assert message["kind"] == "tick"
