"""The gateway client against a real gateway: requests, subscriptions, reconnects that lose nothing."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from typing import Any

import pytest
import trio

from jido.errors import ClosedError
from jido.gateway import GatewayClient, GatewayError, GatewaySubscription, TokenPolicy, connect
from jido.runtime.runtime import Runtime

from .helpers import Proxy, eventually, serving, signal


@asynccontextmanager
async def proxied(runtime: Runtime, **options: Any) -> AsyncIterator[Proxy]:
    """A gateway behind a proxy (``proxy.gateway`` is the gateway)."""
    async with serving(runtime, **options) as gateway, trio.open_nursery() as nursery:
        proxy: Proxy = await nursery.start(Proxy(gateway.port).serve)
        proxy.gateway = gateway
        yield proxy
        nursery.cancel_scope.cancel()


def url_of(proxy: Proxy) -> str:
    return f"ws://127.0.0.1:{proxy.port}/"


async def take(stream: GatewaySubscription, count: int) -> list[int]:
    with trio.fail_after(20):
        return [(await stream.__anext__()).offset for _ in range(count)]


class TestRequests:
    async def test_publish_and_subscribe(self, runtime: Runtime) -> None:
        """A subscription yields published signals with their offsets, equal to what was sent."""
        async with (
            serving(runtime) as gateway,
            connect(gateway.url) as client,
            client.subscribe("order.*") as stream,
        ):
            sent = signal(total=3)
            assert await client.publish(sent) == 1
            item = await stream.__anext__()
            assert (item.offset, item.signal, item.subscription) == (1, sent, "s1")

    async def test_call_and_inspect(self, runtime: Runtime) -> None:
        """call returns the committed state; inspect lists the agent."""
        async with serving(runtime) as gateway, connect(gateway.url) as client:
            assert await client.call("counter", signal("counter.add", by=2)) == {
                "agent": "counter",
                "state": {"count": 2},
            }
            report = await client.inspect()
            assert [a["id"] for a in report["agents"]] == ["counter"]
            await client.ping()

    async def test_error_frames_raise(self, runtime: Runtime) -> None:
        """An error frame raises GatewayError with its code and message."""
        async with serving(runtime) as gateway, connect(gateway.url) as client:
            with pytest.raises(GatewayError, match=r"^no agent with id 'ghost'$") as info:
                await client.call("ghost", signal("counter.add"))
            assert info.value.code == "not_found"
            with pytest.raises(GatewayError, match=r"^\$\.pattern: empty segment") as refused:
                async with client.subscribe("a..b"):
                    pass
            assert refused.value.code == "bad_frame"

    async def test_too_large_publish(self, runtime: Runtime) -> None:
        """A signal too large for the gateway raises too_large; the connection goes on."""
        async with serving(runtime, max_frame_bytes=1000) as gateway, connect(gateway.url) as client:
            with pytest.raises(GatewayError, match=r"^frame is \d+ bytes, over the limit of 1000$") as info:
                await client.publish(signal(pad="x" * 1500))
            assert info.value.code == "too_large"
            await client.ping()
            assert client.reconnects == 0

    async def test_forbidden_subscribe(self, runtime: Runtime) -> None:
        """A subscription the token may not make raises when entered."""
        tokens = {"t": TokenPolicy(subscribe=("order.*",))}
        async with serving(runtime, tokens=tokens) as gateway, connect(gateway.url, token="t") as client:
            with pytest.raises(GatewayError) as info:
                async with client.subscribe("**"):
                    pass
            assert info.value.code == "forbidden"

    async def test_bad_arguments(self, runtime: Runtime) -> None:
        """Bad arguments are refused before anything is sent."""
        async with serving(runtime) as gateway, connect(gateway.url) as client:
            with pytest.raises(TypeError, match=r"^publish: expected a jido.Signal, got dict$"):
                await client.publish({"type": "x"})  # type: ignore[arg-type]
            with pytest.raises(
                ValueError, match=r"^call: timeout must be a number of seconds in \(0, 300\], got 0$"
            ):
                await client.call("counter", signal(), timeout=0)
            with pytest.raises(
                ValueError, match=r"^subscribe: from_offset must be an int >= 1 or None, got 0$"
            ):
                client.subscribe("**", from_offset=0)


class TestConnecting:
    async def test_refused(self) -> None:
        """The first connection failing raises unavailable."""
        listener = trio.socket.socket()
        await listener.bind(("127.0.0.1", 0))
        port = listener.getsockname()[1]
        listener.close()  # a port nobody listens on
        with pytest.raises(GatewayError, match=rf"^cannot connect to ws://127.0.0.1:{port}/: ") as info:
            async with connect(f"ws://127.0.0.1:{port}/"):
                pass
        assert info.value.code == "unavailable"

    async def test_bad_token(self, runtime: Runtime) -> None:
        """A token the gateway refuses raises unauthorized."""
        async with serving(runtime, tokens={"good": TokenPolicy()}) as gateway:
            with pytest.raises(
                GatewayError, match=r"^the gateway at .* refused the token \(HTTP 401\)$"
            ) as info:
                async with connect(gateway.url, token="bad"):
                    pass
            assert info.value.code == "unauthorized"

    async def test_bad_url(self) -> None:
        """Only ws:// and wss:// URLs are accepted."""
        with pytest.raises(
            ValueError, match=r"^url must be ws://host\[:port\]/path or wss://\.\.\., got 'http://x/'$"
        ):
            async with connect("http://x/"):
                pass

    async def test_body_error_unwrapped(self, runtime: Runtime) -> None:
        """An exception of the body comes out as it was raised, not in a group."""
        async with serving(runtime) as gateway:
            with pytest.raises(KeyError):
                async with connect(gateway.url):
                    raise KeyError("mine")

    async def test_closed_client(self, runtime: Runtime) -> None:
        """Requests after the block raise ClosedError."""
        async with serving(runtime) as gateway:
            async with connect(gateway.url) as client:
                pass
            with pytest.raises(ClosedError, match=r"^the gateway client is closed$"):
                await client.ping()


class TestResume:
    async def test_drop_mid_stream_loses_nothing(self, runtime: Runtime) -> None:
        """The connection is killed mid-stream; the client reconnects and resumes from the last offset + 1:
        every offset arrives exactly once."""
        async with proxied(runtime) as proxy, connect(url_of(proxy)) as client:
            async with client.subscribe("**") as stream:
                for _ in range(100):
                    await runtime.publish(signal())
                first = await take(stream, 30)
                proxy.drop_all()
                for _ in range(100):
                    await runtime.publish(signal())
                rest = await take(stream, 170)
            assert first + rest == list(range(1, 201))
            assert client.reconnects == 1
            assert proxy.connections == 2

    async def test_slow_consumer_4008_then_resume(self, runtime: Runtime) -> None:
        """A client whose socket stops draining is closed with 4008, reconnects, and resumes with nothing lost
        and nothing twice."""
        async with (
            proxied(runtime, send_queue=8, slow_consumer_timeout=0.05) as proxy,
            connect(url_of(proxy)) as client,
        ):
            async with client.subscribe("**", buffer=100_000) as stream:
                proxy.pause()
                published = 0
                with trio.fail_after(20):
                    while proxy.gateway is not None and proxy.gateway.statistics().slow_consumers == 0:
                        await runtime.publish(signal(pad="x" * 16_000))
                        published += 1
                        await trio.sleep(0.001)  # real time: the stall is measured on the clock
                proxy.resume()  # the close frame arrives behind what the sockets hold
                received = await take(stream, published)
            assert received == list(range(1, published + 1))
            assert client.reconnects == 1
            assert client.last_close == (4008, "slow consumer: send queue full for 0.05s")

    async def test_durable_redelivers_unacked(self, runtime: Runtime) -> None:
        """After a drop, a durable subscription resumes from its checkpoint: unacked deliveries come again."""
        for _ in range(4):
            await runtime.publish(signal())
        async with proxied(runtime) as proxy, connect(url_of(proxy)) as client:
            async with client.subscribe("**", from_offset=1, durable="billing") as stream:
                items = [await stream.__anext__() for _ in range(4)]
                await stream.ack(items[0].offset)
                await stream.ack(items[1].offset)
                proxy.drop_all()
                again = [await stream.__anext__() for _ in range(2)]
                assert [i.offset for i in again] == [3, 4]
                assert again[0].subscription == "s1"  # the subscription of the new connection
                await stream.ack(items[2].offset)  # made before the reconnect: it is delivered again instead
                for item in again:
                    await stream.ack(item.offset)
                with pytest.raises(
                    LookupError, match=r"^offset 3 is not waiting for an ack in subscription 'billing'$"
                ):
                    await stream.ack(3)
            assert client.reconnects == 1

    async def test_silent_server_detected_by_heartbeat(self, runtime: Runtime) -> None:
        """A server that stops answering pings is taken for gone: the client reconnects and resumes."""
        async with (
            proxied(runtime) as proxy,
            connect(url_of(proxy), heartbeat_interval=0.05) as client,
            client.subscribe("**") as stream,
        ):
            await runtime.publish(signal())
            assert await take(stream, 1) == [1]
            proxy.pause()  # nothing comes back from the server anymore, pongs included
            await eventually(lambda: client.last_close is not None)
            assert client.last_close == (None, "no pong within 0.05s")
            await runtime.publish(signal())
            proxy.resume()
            assert await take(stream, 1) == [2]
            assert client.reconnects == 1

    async def test_request_in_flight_when_dropped(self, runtime: Runtime) -> None:
        """A request whose answer was lost with the connection raises connection_lost."""
        async with (
            proxied(runtime) as proxy,
            connect(url_of(proxy)) as client,
            trio.open_nursery() as nursery,
        ):

            async def drop_when_blocked() -> None:
                await trio.testing.wait_all_tasks_blocked()
                proxy.drop_all()

            nursery.start_soon(drop_when_blocked)
            with pytest.raises(GatewayError) as info:
                await client.call("counter", signal("counter.stall"), timeout=60)
            assert info.value.code == "connection_lost"
            await client.ping()  # reconnected

    async def test_without_reconnect(self, runtime: Runtime) -> None:
        """With reconnect=False a dropped connection ends the client: streams and requests raise."""
        async with (
            proxied(runtime) as proxy,
            connect(url_of(proxy), reconnect=False) as client,
            client.subscribe("**") as stream,
        ):
            proxy.drop_all()
            with trio.fail_after(10), pytest.raises(GatewayError) as info:
                await stream.__anext__()
            assert info.value.code == "connection_lost"
            with pytest.raises(GatewayError):
                await client.ping()


class TestFlowControl:
    async def test_small_buffer_pauses_and_resumes(self, runtime: Runtime) -> None:
        """A consumer slower than the signals: the subscription pauses when its buffer is full and resumes
        where it stopped; everything arrives once, in order, on the same connection."""
        async with serving(runtime) as gateway, connect(gateway.url) as client:
            async with client.subscribe("**", buffer=4) as stream:
                for _ in range(40):
                    await runtime.publish(signal())
                await client.ping()  # the buffer has filled up by now
                assert stream.buffered == 4
                assert await take(stream, 40) == list(range(1, 41))
            assert client.reconnects == 0

    async def test_taken_over(self, runtime: Runtime) -> None:
        """A durable subscription taken over by another client ends with a conflict error."""
        async with (
            serving(runtime) as gateway,
            connect(gateway.url) as first,
            connect(gateway.url) as second,
            first.subscribe("**", durable="d") as stream,
            second.subscribe("**", durable="d"),
        ):
            with trio.fail_after(10), pytest.raises(GatewayError, match=r"taken over") as info:
                await stream.__anext__()
            assert info.value.code == "conflict"


class TestFanOut:
    async def test_200_clients_receive_a_burst(self, runtime: Runtime) -> None:
        """200 concurrent clients each receive every signal of a burst of 50, in order."""
        async with serving(runtime) as gateway, AsyncExitStack() as stack:
            streams = []
            for _ in range(200):
                client: GatewayClient = await stack.enter_async_context(connect(gateway.url))
                streams.append(await stack.enter_async_context(client.subscribe("burst.*")))
            assert gateway.statistics().subscriptions == 200
            await runtime.bus.publish([signal("burst.item", n=n) for n in range(50)])
            results: list[list[int]] = []

            async def consume(stream: GatewaySubscription) -> None:
                results.append(await take(stream, 50))

            async with trio.open_nursery() as nursery:
                for stream in streams:
                    nursery.start_soon(consume, stream)
            assert results == [list(range(1, 51))] * 200


class TestForget:
    async def test_forget_removes_the_durable_subscription(self, runtime: Runtime) -> None:
        """forget ends the stream and removes the subscription on the server: the name starts afresh."""
        await runtime.publish(signal())
        async with serving(runtime) as gateway, connect(gateway.url) as client:
            async with client.subscribe("**", from_offset=1, durable="billing") as stream:
                item = await stream.__anext__()
                await stream.ack(item.offset)
                await stream.forget()
                with pytest.raises(StopAsyncIteration):
                    await stream.__anext__()
            assert await runtime.bus.journal.get_checkpoint("gateway:billing") is None
            async with client.subscribe("**", from_offset=1, durable="billing") as again:
                assert (await again.__anext__()).offset == 1

    async def test_transient_cannot_be_forgotten(self, runtime: Runtime) -> None:
        """forget on a transient subscription is a ValueError, and the stream goes on."""
        async with (
            serving(runtime) as gateway,
            connect(gateway.url) as client,
            client.subscribe("order.*") as stream,
        ):
            with pytest.raises(ValueError, match=r"^forget: subscription 'order\.\*' is transient"):
                await stream.forget()
            await runtime.publish(signal())
            assert (await stream.__anext__()).offset == 1
