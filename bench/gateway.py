"""Signals per second from the bus to websocket subscribers on loopback, beside raw trio-websocket.

Run: ``python bench/gateway.py`` (about 40 s on a loaded 2-core machine) or ``python bench/gateway.py --quick``.

What is measured (server and clients in this one process, on one trio loop, as in the tests):

- gateway, 1 subscriber: ``rt.bus.publish`` of N signals (batches of 100, ~450-byte CloudEvents) until a
  ``jido.gateway.connect`` client's ``async for`` has yielded all N (each decoded into a Signal): signals/s.
- gateway, raw subscriber: the same with a bare trio-websocket client that only counts frames (no decoding),
  which isolates the server side.
- gateway, 10 subscribers: N signals to 10 jido clients: deliveries/s (N x 10 over the time).
- raw push: a trio-websocket server handler sends N frames of the same size (a signal frame) to a bare
  client that counts them: the ceiling of the transport for the gateway's direction.
- raw echo: a client sends N frames while receiving their echoes (server ``get_message`` / ``send_message``):
  messages/s round trip.
- raw push, coalesced: raw push with the server writing 128 frames per socket write, as the gateway writes
  what is queued for a connection (``jido.gateway.wire``): the ceiling of the transport for the gateway's
  way of writing; the client side (trio-websocket reading one message at a time) is the same.

Rates are the best of REPEATS rounds, gateway and raw interleaved within each round. Ratios are gateway over
raw push (same direction, same frame size) and over raw echo.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Awaitable, Callable
from functools import partial

import trio
import trio_websocket

from jido.gateway import Gateway, connect, serve_gateway
from jido.gateway.wire import MAX_BATCH_FRAMES, send_messages
from jido.runtime.runtime import Runtime, open_runtime
from jido.signal import Signal

BATCH = 100


def make_signals(n: int) -> list[Signal]:
    return [
        Signal(
            type="bench.order.placed",
            source="/bench/shop",
            subject=f"order-{i}",
            data={"order_id": i, "customer": "c-1234", "total": 129.5, "items": ["sku-1", "sku-2"]},
        )
        for i in range(n)
    ]


async def publish_all(runtime: Runtime, signals: list[Signal]) -> None:
    for start in range(0, len(signals), BATCH):
        await runtime.bus.publish(signals[start : start + BATCH])
        await trio.lowlevel.checkpoint()


async def gateway_jido(
    gateway: Gateway, runtime: Runtime, signals: list[Signal], subscribers: int
) -> tuple[float, int]:
    """Seconds from the first publish to the last subscriber's last signal; reconnects seen."""
    n = len(signals)
    reconnects = 0
    async with trio.open_nursery() as nursery:
        ready = trio.Semaphore(0)
        done = trio.Semaphore(0)

        async def subscriber() -> None:
            nonlocal reconnects
            async with connect(gateway.url) as client, client.subscribe("bench.**") as stream:
                ready.release()
                count = 0
                async for _ in stream:
                    count += 1
                    if count == n:
                        break
                reconnects += client.reconnects
            done.release()

        for _ in range(subscribers):
            nursery.start_soon(subscriber)
        for _ in range(subscribers):
            await ready.acquire()
        started = time.perf_counter()
        await publish_all(runtime, signals)
        for _ in range(subscribers):
            await done.acquire()
        return time.perf_counter() - started, reconnects


async def gateway_raw(gateway: Gateway, runtime: Runtime, signals: list[Signal]) -> float:
    n = len(signals)
    async with trio_websocket.open_websocket_url(gateway.url, message_queue_size=64) as ws:
        await ws.send_message('{"op":"subscribe","id":"1","pattern":"bench.**"}')
        await ws.get_message()
        started = time.perf_counter()
        async with trio.open_nursery() as nursery:
            nursery.start_soon(publish_all, runtime, signals)
            for _ in range(n):
                await ws.get_message()
        return time.perf_counter() - started


async def raw_push(frame: str, n: int) -> float:
    async def handler(request: trio_websocket.WebSocketRequest) -> None:
        ws = await request.accept()
        await ws.get_message()
        for _ in range(n):
            await ws.send_message(frame)
        await ws.get_message()

    async with trio.open_nursery() as nursery:
        server = await nursery.start(trio_websocket.serve_websocket, handler, "127.0.0.1", 0, None)
        url = f"ws://127.0.0.1:{server.port}/"
        async with trio_websocket.open_websocket_url(url, message_queue_size=64) as ws:
            started = time.perf_counter()
            await ws.send_message("go")
            for _ in range(n):
                await ws.get_message()
            elapsed = time.perf_counter() - started
            await ws.send_message("bye")
        nursery.cancel_scope.cancel()
    return elapsed


async def raw_push_coalesced(frame: str, n: int) -> float:
    """As raw_push, but the server writes its frames 128 at a time with one socket write each (the way the
    gateway writes what is queued): the transport's ceiling for this direction."""

    async def handler(request: trio_websocket.WebSocketRequest) -> None:
        ws = await request.accept()
        await ws.get_message()
        for start in range(0, n, MAX_BATCH_FRAMES):
            await send_messages(ws, [frame] * min(MAX_BATCH_FRAMES, n - start), coalesce=True)
        await ws.get_message()

    async with trio.open_nursery() as nursery:
        server = await nursery.start(trio_websocket.serve_websocket, handler, "127.0.0.1", 0, None)
        url = f"ws://127.0.0.1:{server.port}/"
        async with trio_websocket.open_websocket_url(url, message_queue_size=64) as ws:
            started = time.perf_counter()
            await ws.send_message("go")
            for _ in range(n):
                await ws.get_message()
            elapsed = time.perf_counter() - started
            await ws.send_message("bye")
        nursery.cancel_scope.cancel()
    return elapsed


async def raw_echo(frame: str, n: int) -> float:
    async def handler(request: trio_websocket.WebSocketRequest) -> None:
        ws = await request.accept()
        while True:
            try:
                await ws.send_message(await ws.get_message())
            except trio_websocket.ConnectionClosed:
                return

    async with trio.open_nursery() as nursery:
        server = await nursery.start(trio_websocket.serve_websocket, handler, "127.0.0.1", 0, None)
        url = f"ws://127.0.0.1:{server.port}/"
        async with trio_websocket.open_websocket_url(url, message_queue_size=64) as ws:
            started = time.perf_counter()
            async with trio.open_nursery() as pair:

                async def send_all() -> None:
                    for _ in range(n):
                        await ws.send_message(frame)

                pair.start_soon(send_all)
                for _ in range(n):
                    await ws.get_message()
            elapsed = time.perf_counter() - started
        nursery.cancel_scope.cancel()
    return elapsed


async def with_gateway(work: Callable[[Gateway, Runtime], Awaitable[float]]) -> float:
    async with open_runtime() as runtime, trio.open_nursery() as nursery:
        gateway = await nursery.start(partial(serve_gateway, runtime))
        result = await work(gateway, runtime)
        nursery.cancel_scope.cancel()
        return result


async def main(repeats: int, n: int, fan_n: int) -> None:
    best, frame, reconnects = await measure(repeats, n, fan_n)
    push, echo = best["raw push"], best["raw echo"]
    print(f"signal frame: {len(frame)} bytes; best of {repeats} rounds; reconnects (4008) seen: {reconnects}")
    print(f"{'case':<28}{'per second':>14}{'/ raw push':>12}{'/ raw echo':>12}")
    for name in (
        "raw push",
        "raw echo",
        "raw push, coalesced",
        "gateway, 1 raw subscriber",
        "gateway, 1 jido client",
        "gateway, 10 jido clients",
    ):
        rate = best[name]
        unit = "deliveries" if "10" in name else "signals" if "gateway" in name else "messages"
        print(f"{name:<28}{rate:>14,.0f}{rate / push:>12.2f}{rate / echo:>12.2f}  {unit}")


async def measure(repeats: int, n: int, fan_n: int) -> tuple[dict[str, float], str, int]:
    """The best rate of every case over ``repeats`` interleaved rounds, the signal frame, reconnects seen."""
    signals = make_signals(n)
    fan_signals = make_signals(fan_n)
    frame = f'{{"op":"signal","subscription":"s1","offset":123456,"signal":{signals[0].to_json()}}}'
    best: dict[str, float] = {}
    reconnects = 0

    def record(name: str, count: int, seconds: float) -> None:
        best[name] = max(best.get(name, 0.0), count / seconds)

    for _ in range(repeats):
        record("raw push", n, await raw_push(frame, n))
        record("raw echo", n, await raw_echo(frame, n))
        record("raw push, coalesced", n, await raw_push_coalesced(frame, n))

        async def one(gateway: Gateway, runtime: Runtime) -> float:
            nonlocal reconnects
            seconds, seen = await gateway_jido(gateway, runtime, signals, 1)
            reconnects += seen
            return seconds

        async def ten(gateway: Gateway, runtime: Runtime) -> float:
            nonlocal reconnects
            seconds, seen = await gateway_jido(gateway, runtime, fan_signals, 10)
            reconnects += seen
            return seconds

        record("gateway, 1 jido client", n, await with_gateway(one))
        record("gateway, 1 raw subscriber", n, await with_gateway(partial(gateway_raw, signals=signals)))
        record("gateway, 10 jido clients", fan_n * 10, await with_gateway(ten))

    return best, frame, reconnects


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer signals and rounds")
    args = parser.parse_args()
    if args.quick:
        trio.run(main, 2, 3_000, 600)
    else:
        trio.run(main, 3, 10_000, 2_000)
