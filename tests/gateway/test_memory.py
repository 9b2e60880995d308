"""What clients that stop reading can make the server hold: bounded in bytes, whatever the signals weigh."""

from __future__ import annotations

import tracemalloc
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager

import pytest
import trio
import trio.testing

from jido.gateway import Gateway
from jido.gateway.queue import SendQueue, frame_size
from jido.runtime.runtime import Runtime

from .helpers import Proxy, RawClient, raw_client, serving, signal

MIB = 1 << 20
PAYLOAD = 900_000  # characters of data per signal: large, but under the 1 MiB signal limit
SIGNALS = 40
CLIENTS = 3


@asynccontextmanager
async def stalled_clients(gateway: Gateway, count: int) -> AsyncIterator[list[RawClient]]:
    """``count`` clients behind a proxy that stops forwarding towards them: the server's sockets fill up and
    its writers block, as with clients that stopped reading."""
    async with trio.open_nursery() as nursery:
        proxy: Proxy = await nursery.start(Proxy(gateway.port).serve)
        url = f"ws://127.0.0.1:{proxy.port}/"
        try:
            async with AsyncExitStack() as stack:
                clients = [await stack.enter_async_context(raw_client(url)) for _ in range(count)]
                proxy.pause()
                try:
                    yield clients
                finally:
                    proxy.drop_all()  # the server's sends fail at once instead of waiting out the close timeout
        finally:
            # Only once the clients are closed: closing them inside a cancelled scope would raise Cancelled
            # over a failing assertion of the body, and the scope would swallow both.
            nursery.cancel_scope.cancel()


class TestBigPayloads:
    async def test_queued_bytes_bounded(self, runtime: Runtime) -> None:
        """Three clients that stop reading while 40 signals of 0.9 MB come: each send queue holds at most
        send_queue_bytes, and what the gateway allocates stays within its bounds (not 3 x 36 MB)."""
        for _ in range(SIGNALS):
            await runtime.publish(signal(pad="x" * PAYLOAD))
        tracemalloc.start()
        try:
            async with (
                serving(runtime, slow_consumer_timeout=600.0, send_queue_bytes=4 * MIB) as gateway,
                stalled_clients(gateway, CLIENTS) as clients,
            ):
                before = tracemalloc.get_traced_memory()[0]
                for client in clients:
                    await client.send({"op": "subscribe", "id": "1", "pattern": "**", "from": "beginning"})
                await trio.testing.wait_all_tasks_blocked(cushion=0.05)
                held = tracemalloc.get_traced_memory()[0] - before
                stats = gateway.statistics()
                assert stats.frames_received == CLIENTS
                assert 0 < stats.peak_queued_bytes <= 4 * MIB
                assert stats.queued_bytes <= CLIENTS * 4 * MIB
                assert stats.cached_bytes <= 16 * MIB
                # Queues, the cache, and per connection a frame being written (as text, and as the bytes of
                # its websocket frame): far below the 3 x 36 MB of queueing every signal for every client.
                assert held < 16 * MIB + CLIENTS * (4 * MIB + 4 * MIB)
        finally:
            tracemalloc.stop()


class TestSendQueue:
    async def test_bounded_in_bytes(self) -> None:
        """A frame that would take the queue past its bytes waits, though frames are few."""
        queue = SendQueue(max_frames=100, max_bytes=3 * frame_size("x" * 1000))
        for _ in range(3):
            queue.put_nowait("x" * 1000)
        with pytest.raises(trio.WouldBlock):
            queue.put_nowait("x" * 1000)
        assert (queue.frames, queue.bytes) == (3, 3 * frame_size("x" * 1000))

    async def test_oversized_frame_goes_alone(self) -> None:
        """A frame larger than the whole bound is let into an empty queue, and only then."""
        queue = SendQueue(max_frames=100, max_bytes=100)
        queue.put_nowait("small")
        with pytest.raises(trio.WouldBlock):
            queue.put_nowait("x" * 1000)
        assert queue.get_nowait() == "small"
        queue.put_nowait("x" * 1000)
        assert queue.peak_bytes == frame_size("x" * 1000)

    async def test_waiting_frames_go_in_order(self) -> None:
        """A large frame waiting for room is not overtaken by a small one that would fit."""
        queue = SendQueue(max_frames=100, max_bytes=2 * frame_size("x" * 1000))
        queue.put_nowait("x" * 1000)
        queue.put_nowait("y" * 1000)
        async with trio.open_nursery() as nursery:
            nursery.start_soon(queue.put, "L" * 1500)
            await trio.testing.wait_all_tasks_blocked()
            with pytest.raises(trio.WouldBlock):
                queue.put_nowait("s")  # it would fit, but the large frame came first
            nursery.start_soon(queue.put, "s")
            await trio.testing.wait_all_tasks_blocked()
            assert [queue.get_nowait(), queue.get_nowait()] == ["x" * 1000, "y" * 1000]
            await trio.testing.wait_all_tasks_blocked()
        assert [queue.get_nowait(), queue.get_nowait()] == ["L" * 1500, "s"]

    async def test_close_refuses_waiters_and_drains(self) -> None:
        """After close, a waiting producer is refused and the consumer gets what was queued, then the end."""
        queue = SendQueue(max_frames=1, max_bytes=MIB)
        queue.put_nowait("a")
        refused: list[BaseException] = []

        async def put() -> None:
            try:
                await queue.put("b")
            except trio.ClosedResourceError as exc:
                refused.append(exc)

        async with trio.open_nursery() as nursery:
            nursery.start_soon(put)
            await trio.testing.wait_all_tasks_blocked()
            queue.close()
        assert len(refused) == 1
        assert await queue.get() == "a"
        with pytest.raises(trio.EndOfChannel):
            await queue.get()

    async def test_cancelled_waiter_leaves_no_trace(self) -> None:
        """A producer cancelled while waiting takes its frame with it, and lets the next one in."""
        queue = SendQueue(max_frames=100, max_bytes=2 * frame_size("x" * 100))
        queue.put_nowait("x" * 100)

        async def put_large(*, task_status: trio.TaskStatus[trio.CancelScope]) -> None:
            with trio.CancelScope() as scope:
                task_status.started(scope)
                await queue.put("L" * 1000)

        async with trio.open_nursery() as nursery:
            scope = await nursery.start(put_large)
            await trio.testing.wait_all_tasks_blocked()
            nursery.start_soon(queue.put, "s")
            await trio.testing.wait_all_tasks_blocked()
            assert queue.frames == 1  # "s" waits behind the large frame
            scope.cancel()
        assert [queue.get_nowait(), queue.get_nowait()] == ["x" * 100, "s"]
