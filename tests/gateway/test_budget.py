"""What the gateway holds for its clients, in bytes: per connection, over all, and TCP connections counted
from accept."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from typing import Any

import pytest
import trio
import trio.testing

from dsl import action, agent, route
from jido.action.spec import ActionContext
from jido.gateway import serve_gateway
from jido.gateway.budget import FLOOR, Account, Budget
from jido.runtime.runtime import Runtime

from .helpers import RawClient, eventually, raw_client, serving, signal, signal_json

GATE = trio.Event()  # what Hold waits for; made anew by each test that uses it


@action
class Hold:
    async def run(self, ctx: ActionContext) -> dict[str, Any]:
        await GATE.wait()
        return {}


@agent
@route("sink.hold", Hold)
class Sink:
    held: int = 0


SHARE = 8 << 10  # a subscription's share on the memory journal
FRAME = 1000  # max_frame_bytes of these tests
# Frames read (2 x 4 x FRAME), the send queue, the calls (4 x FRAME): what is left of an account is for
# deliveries.
FIXED = 8 * FRAME + 4000 + 4 * FRAME


def options(deliveries: int, **more: Any) -> dict[str, Any]:
    """Gateway options giving each connection ``deliveries`` bytes for subscriptions and unacked deliveries."""
    return {
        "max_frame_bytes": FRAME,
        "send_queue_bytes": 4000,
        "max_connection_bytes": FIXED + deliveries,
        **more,
    }


async def frames(client: RawClient, count: int) -> list[dict[str, Any]]:
    return [await client.recv() for _ in range(count)]


class TestOptions:
    @pytest.mark.parametrize(
        "name", ["max_connection_bytes", "max_total_bytes", "max_subscriptions", "handshake_timeout"]
    )
    async def test_bad_value(self, runtime: Runtime, name: str) -> None:
        """A bound that is not positive is refused before listening."""
        with pytest.raises(ValueError, match=rf"^{name} must be .*, got 0$"):
            await serve_gateway(runtime, **{name: 0})  # type: ignore[arg-type]

    async def test_connection_bytes_too_small(self, runtime: Runtime) -> None:
        """max_connection_bytes must hold the fixed parts and one subscription with one delivery; the error
        says what they take."""
        with pytest.raises(
            ValueError,
            match=(
                r"^max_connection_bytes must be at least 25192 with these options \(frames read 8000, "
                r"send_queue_bytes 4000, calls 4000, one subscription and one delivery 9192\), got 24000$"
            ),
        ):
            await serve_gateway(runtime, **options(0, max_connection_bytes=24000))

    async def test_total_below_one_connection(self, runtime: Runtime) -> None:
        """The gateway's budget must hold at least one connection's."""
        with pytest.raises(
            ValueError, match=r"^max_total_bytes must be at least max_connection_bytes \(25192\), got 25191$"
        ):
            await serve_gateway(runtime, **options(9192, max_total_bytes=25191))


class TestAccount:
    async def test_floor_is_free(self) -> None:
        """What an account holds up to FLOOR draws nothing on the budget; above it, the excess does."""
        budget = Budget(100)
        account = Account(budget, {"incoming": 10**9, "sends": 10**9, "calls": 10**9, "deliveries": 10**9})
        account.charge("sends", FLOOR)
        assert budget.used == 0
        account.charge("calls", 60)
        assert (budget.used, account.budget_room(40), account.budget_room(41)) == (60, True, False)
        account.release("sends", 30)
        assert budget.used == 30
        account.close()
        assert (budget.used, account.used, budget.peak) == (0, 0, 60)

    async def test_waiter_wakes_when_another_gives_back(self) -> None:
        """A task waiting for room in the budget goes on when another account gives bytes back."""
        limits = {"incoming": 10**9, "sends": 10**9, "calls": 10**9, "deliveries": 10**9}
        budget = Budget(100)
        greedy, waiting = Account(budget, limits), Account(budget, limits)  # type: ignore[arg-type]
        greedy.charge("deliveries", FLOOR + 100)
        waiting.charge("deliveries", FLOOR)
        async with trio.open_nursery() as nursery:
            nursery.start_soon(waiting.wait_budget, 50)
            await trio.testing.wait_all_tasks_blocked()
            assert budget.used == 100
            greedy.release("deliveries", 50)
        assert budget.used == 50

    async def test_reader_does_not_wait_with_nothing_queued(self) -> None:
        """The reader waits for budget only while its connection's frames are queued."""
        limits = {"incoming": 10**9, "sends": 10**9, "calls": 10**9, "deliveries": 10**9}
        budget = Budget(10)
        other, account = Account(budget, limits), Account(budget, limits)  # type: ignore[arg-type]
        other.charge("deliveries", FLOOR + 10)
        account.charge("deliveries", FLOOR)
        await account.wait_budget(100, while_sending=True)  # nothing queued: goes on at once
        account.charge("sends", 5)
        async with trio.open_nursery() as nursery:
            nursery.start_soon(lambda: account.wait_budget(100, while_sending=True))
            await trio.testing.wait_all_tasks_blocked()
            account.release("sends", 5)  # its queue drained: it goes on, over the budget by one frame


class TestDeliveries:
    async def test_unacked_deliveries_wait_for_acks(self, runtime: Runtime) -> None:
        """A durable subscription's unacked deliveries stop at the connection's bound; acks let the rest
        come, and every record arrives."""
        for index in range(20):
            await runtime.publish(signal(n=index, pad="x" * 800))
        async with serving(runtime, **options(SHARE + 6000)) as gateway, raw_client(gateway.url) as client:
            reply = await client.request(
                {"op": "subscribe", "id": "1", "pattern": "**", "from": "beginning", "durable": "d"}
            )
            assert reply["op"] == "result"
            got: list[int] = []
            while len(got) < 20:
                await trio.testing.wait_all_tasks_blocked(cushion=0.05)  # sent all it could
                (account,) = gateway._accounts
                assert account.parts["deliveries"] <= gateway.part_limit("deliveries")
                readable = client.ws._recv_channel.statistics().current_buffer_used
                batch = [
                    frame["offset"] for frame in await frames(client, readable) if frame["op"] == "signal"
                ]
                assert 0 < len(batch) <= 6  # what fits, about 1.1 KB each, then nothing until acked
                got += batch
                for offset in batch:
                    await client.send(
                        {"op": "ack", "id": f"a{offset}", "subscription": "s1", "offset": offset}
                    )
            assert got == list(range(1, 21))
            await trio.testing.wait_all_tasks_blocked(cushion=0.05)
            (account,) = gateway._accounts
            assert account.parts["deliveries"] == SHARE
            assert gateway.statistics().peak_connection_bytes <= gateway.max_connection_bytes

    async def test_no_room_for_another_subscription(self, runtime: Runtime) -> None:
        """A subscribe past what the connection's deliveries may hold is forbidden, saying what they hold."""
        async with serving(runtime, **options(2 * SHARE + 100)) as gateway, raw_client(gateway.url) as client:
            for request_id in ("1", "2"):
                reply = await client.request({"op": "subscribe", "id": request_id, "pattern": "**"})
                assert reply["op"] == "result"
            reply = await client.request({"op": "subscribe", "id": "3", "pattern": "**"})
            assert reply == {
                "op": "error",
                "id": "3",
                "code": "forbidden",
                "message": (
                    f"no room for another subscription on this connection: its subscriptions and unacked "
                    f"deliveries hold {2 * SHARE} of {2 * SHARE + 100} bytes (ack deliveries, or unsubscribe "
                    f"one)"
                ),
                "details": {"held": 2 * SHARE, "limit": 2 * SHARE + 100},
            }
            await client.request({"op": "unsubscribe", "id": "4", "subscription": "s1"})
            reply = await client.request({"op": "subscribe", "id": "5", "pattern": "**"})
            assert reply["op"] == "result"
            assert gateway.statistics().over_budget == 1


class TestTotal:
    async def test_budget_spent_refuses_subscribe(self, runtime: Runtime) -> None:
        """When the gateway's budget is spent, a subscribe that would draw on it is refused with unavailable;
        a client within its floor still subscribes, and gets its signals."""
        opts = options(10 * SHARE, max_total_bytes=FIXED + 10 * SHARE)
        async with serving(runtime, **opts) as gateway, AsyncExitStack() as stack:
            refused: dict[str, Any] | None = None
            for _ in range(10):
                greedy = await stack.enter_async_context(raw_client(gateway.url))
                for index in range(10):
                    reply = await greedy.request({"op": "subscribe", "id": str(index), "pattern": "x.*"})
                    if reply["op"] == "error":
                        refused = reply
                        break
                if refused is not None:
                    break
            assert refused is not None
            assert refused["code"] == "unavailable", refused
            assert (
                refused["message"]
                == "the gateway holds all the memory it may for its clients: try again later"
            )
            assert gateway.statistics().budget_bytes <= gateway.max_total_bytes
            async with raw_client(gateway.url) as modest:
                reply = await modest.request({"op": "subscribe", "id": "1", "pattern": "order.*"})
                assert reply["op"] == "result"
                await runtime.publish(signal())
                assert (await modest.recv())["op"] == "signal"
                reply = await modest.request(
                    {"op": "call", "id": "c", "agent": "counter", "signal": signal_json("counter.add")}
                )
                assert reply["result"]["state"] == {"count": 1}


@asynccontextmanager
async def half_open(port: int, count: int) -> AsyncIterator[list[trio.SocketStream]]:
    """``count`` TCP connections that never send a byte."""
    async with AsyncExitStack() as stack:
        streams = []
        for _ in range(count):
            stream = await trio.open_tcp_stream("127.0.0.1", port)
            await stack.enter_async_context(stream)
            streams.append(stream)
        yield streams


class TestHalfOpen:
    async def test_counted_from_accept(self, runtime: Runtime) -> None:
        """Connections that never finish their handshake take places: past max_connections and the few let
        in to be told 503, one more is closed as soon as it is accepted."""
        async with (
            serving(runtime, max_connections=2, handshake_timeout=30.0) as gateway,
            half_open(gateway.port, 3),
        ):
            await eventually(lambda: gateway.statistics().sockets == 3)
            stream = await trio.open_tcp_stream("127.0.0.1", gateway.port)
            async with stream:
                with trio.fail_after(5):  # a guard only: the server closes it at once
                    assert await stream.receive_some() == b""
            stats = gateway.statistics()
            assert (stats.sockets, stats.closed_at_accept, stats.connections) == (3, 1, 0)

    async def test_handshake_timeout(self, runtime: Runtime) -> None:
        """A connection that does not finish its handshake within handshake_timeout is closed, and its place
        goes to the next client."""
        async with (
            serving(runtime, max_connections=1, handshake_timeout=0.05) as gateway,
            half_open(gateway.port, 2) as streams,
        ):
            for stream in streams:
                with trio.fail_after(5):
                    assert await stream.receive_some() == b""
            await eventually(lambda: gateway.statistics().sockets == 0)
            async with raw_client(gateway.url) as client:
                assert (await client.request({"op": "ping", "id": "p"}))["op"] == "result"


class TestAckNames:
    async def test_ack_not_in_flight_names_the_clients_subscription(self, runtime: Runtime) -> None:
        """An ack of an offset not in flight names the subscription as the client named it."""
        async with serving(runtime) as gateway, raw_client(gateway.url) as client:
            await client.request({"op": "subscribe", "id": "1", "pattern": "**", "durable": "orders"})
            reply = await client.request({"op": "ack", "id": "2", "subscription": "s1", "offset": 7})
            assert reply["message"] == "offset 7 is not in flight for subscription 'orders'"


class TestHostile:
    async def test_greedy_clients_leave_others_working(self, runtime: Runtime) -> None:
        """Many clients each pushing to their bound (never acking large deliveries, stalling calls with large
        frames, sending without reading the answers) hold no more than the budgets; the runtime and a
        well-behaved client keep working, and what was published is all there."""
        global GATE
        GATE = trio.Event()
        await runtime.start_agent(Sink, id="sink")
        for index in range(30):
            await runtime.publish(signal("big.item", n=index, pad="x" * 3000))
        opts = options(
            40_000,
            max_frame_bytes=4000,
            send_queue_bytes=16_000,
            max_connection_bytes=120_000,
            max_total_bytes=300_000,
            slow_consumer_timeout=600.0,
        )
        stall = json.dumps(
            {
                "op": "call",
                "id": "c",
                "agent": "sink",
                "signal": {**signal_json("sink.hold"), "padding": "y" * 3500},
                "timeout": 300,
            }
        )
        async with serving(runtime, **opts) as gateway, AsyncExitStack() as stack:
            stack.callback(GATE.set)  # however the test ends, the held calls end with it
            greedy = [await stack.enter_async_context(raw_client(gateway.url)) for _ in range(12)]
            for index, client in enumerate(greedy):
                await client.send(
                    {
                        "op": "subscribe",
                        "id": "s",
                        "pattern": "big.*",
                        "from": "beginning",
                        "durable": f"g{index}",
                    }
                )
                for _ in range(8):
                    await client.send(stall)
            await trio.testing.wait_all_tasks_blocked(cushion=0.1)
            stats = gateway.statistics()
            assert stats.peak_budget_bytes >= 0.9 * gateway.max_total_bytes  # they did spend it
            assert stats.budget_bytes <= gateway.max_total_bytes + stats.sockets * FLOOR
            assert stats.held_bytes <= gateway.max_total_bytes + 2 * stats.sockets * FLOOR
            assert stats.peak_connection_bytes <= gateway.max_connection_bytes

            async with raw_client(gateway.url) as modest:
                reply = await modest.request({"op": "subscribe", "id": "1", "pattern": "order.*"})
                assert reply["op"] == "result"
                offsets = [await runtime.publish(signal(n=index)) for index in range(5)]
                assert [(await modest.recv())["offset"] for _ in offsets] == offsets
                reply = await modest.request(
                    {"op": "call", "id": "c", "agent": "counter", "signal": signal_json("counter.add")}
                )
                assert reply["result"]["state"] == {"count": 1}
            GATE.set()  # the held calls end
            ref = runtime.whereis("counter")
            assert ref is not None
            await ref.call(signal("counter.add"))
            assert ref.state.count == 2

        # Nothing accepted was lost: a durable subscription of a greedy client resumes from its first record.
        async with serving(runtime) as gateway, raw_client(gateway.url) as client:
            await client.request(
                {"op": "subscribe", "id": "s", "pattern": "big.*", "from": "beginning", "durable": "g0"}
            )
            got = [frame["signal"]["data"]["n"] for frame in await frames(client, 30)]
            assert got == list(range(30))


class TestFramesRead:
    async def test_large_frame_waits_for_the_budget(self, runtime: Runtime) -> None:
        """When the gateway's budget is spent, a frame larger than the connection's floor is read only once
        there is room again; small frames of the same client went through before it."""
        frame_bytes = 50_000
        for index in range(80):
            await runtime.publish(signal(n=index, pad="x" * 5_000))
        opts = {
            "max_frame_bytes": frame_bytes,
            "send_queue_bytes": 4000,
            "max_connection_bytes": 12 * frame_bytes + 4000 + 300_000,
            "max_total_bytes": 12 * frame_bytes + 4000 + 300_000,
        }
        async with serving(runtime, **opts) as gateway, AsyncExitStack() as stack:
            greedy = [await stack.enter_async_context(raw_client(gateway.url)) for _ in range(4)]
            for index, client in enumerate(greedy):
                await client.send(
                    {
                        "op": "subscribe",
                        "id": "s",
                        "pattern": "**",
                        "from": "beginning",
                        "durable": f"g{index}",
                    }
                )
            await trio.testing.wait_all_tasks_blocked(cushion=0.05)
            assert gateway.statistics().budget_bytes >= gateway.max_total_bytes - 6_000  # spent
            async with raw_client(gateway.url) as modest:
                assert (await modest.request({"op": "ping", "id": "small"}))["id"] == "small"
                await modest.send({"op": "ping", "id": "large", "pad": "z" * 45_000})
                await trio.testing.wait_all_tasks_blocked(cushion=0.05)
                assert modest.ws._recv_channel.statistics().current_buffer_used == 0  # not read yet
                await greedy[0].ws.aclose()  # its deliveries are given back
                assert (await modest.recv())["id"] == "large"
