"""The gateway server against a raw websocket client: requests, exact error frames, auth, durability, limits."""

from __future__ import annotations

import gc
import json
import math
import warnings
from typing import Any

import pytest
import trio
import trio.testing
import trio_websocket
import wsproto.events
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from jido import telemetry
from jido.bus.bus import Retention
from jido.gateway import Gateway, TokenPolicy, serve_gateway
from jido.gateway.policy import identity_of
from jido.runtime.runtime import Runtime, open_runtime

from .helpers import Proxy, RawClient, raw_client, serving, signal, signal_json, wsproto_client
from .test_protocol import FRAMES


async def is_healthy(client: RawClient) -> bool:
    return await client.request({"op": "ping", "id": "health"}) == {
        "op": "result",
        "id": "health",
        "result": {},
    }


class TestServe:
    async def test_url_and_port(self, runtime: Runtime) -> None:
        """The gateway tells the port the system chose and its URL."""
        async with serving(runtime) as gateway:
            assert gateway.port > 0
            assert gateway.url == f"ws://127.0.0.1:{gateway.port}/"
            assert gateway.connections == 0

    async def test_no_tokens_only_on_loopback(self, runtime: Runtime) -> None:
        """Serving without authentication on a public address is refused."""
        with pytest.raises(
            ValueError, match=r"^serving without tokens is only allowed on a loopback address"
        ):
            await serve_gateway(runtime, "0.0.0.0")

    @pytest.mark.parametrize(
        ("option", "value", "message"),
        [
            ("send_queue", 0, r"^send_queue must be an int >= 1, got 0$"),
            ("send_queue_bytes", True, r"^send_queue_bytes must be an int >= 1, got True$"),
            ("max_frame_bytes", 1.5, r"^max_frame_bytes must be an int >= 1, got 1\.5$"),
            ("heartbeat_interval", -1, r"^heartbeat_interval must be a positive number of seconds, got -1$"),
            (
                "auth_timeout",
                math.inf,
                r"^auth_timeout must be a finite positive number of seconds, got inf$",
            ),
        ],
    )
    async def test_bad_options(self, runtime: Runtime, option: str, value: object, message: str) -> None:
        """Out-of-range options are refused before listening."""
        with pytest.raises(ValueError, match=message):
            await serve_gateway(runtime, **{option: value})  # type: ignore[arg-type]

    async def test_shutdown_closes_with_1001(self, runtime: Runtime) -> None:
        """Stopping the gateway closes its connections with 1001 (going away)."""
        async with trio.open_nursery() as nursery:
            gateway = await nursery.start(serve_gateway, runtime)
            async with raw_client(gateway.url) as client:
                assert await is_healthy(client)
                nursery.cancel_scope.cancel()
                with pytest.raises(trio_websocket.ConnectionClosed) as info:
                    await client.recv()
                assert info.value.reason is not None
                assert (info.value.reason.code, info.value.reason.reason) == (1001, "server going away")


class TestRequests:
    async def test_publish_and_subscribe(self, runtime: Runtime) -> None:
        """A subscription delivers published signals as signal frames carrying their offsets."""
        async with serving(runtime) as gateway, raw_client(gateway.url) as client:
            reply = await client.request({"op": "subscribe", "id": "1", "pattern": "order.*"})
            assert reply == {"op": "result", "id": "1", "result": {"subscription": "s1", "from": 1}}
            sent = signal_json(total=5)
            assert await client.request({"op": "publish", "id": "2", "signal": sent}) == {
                "op": "result",
                "id": "2",
                "result": {"offset": 1},
            }
            assert await client.recv() == {"op": "signal", "subscription": "s1", "offset": 1, "signal": sent}

    async def test_subscribe_from_offset(self, runtime: Runtime) -> None:
        """A subscription from an offset replays the journal from there, skipping other types."""
        for signal_type in ("order.placed", "user.joined", "order.paid"):
            await runtime.publish(signal(signal_type))
        async with serving(runtime) as gateway, raw_client(gateway.url) as client:
            reply = await client.request({"op": "subscribe", "id": "1", "pattern": "order.*", "from": 1})
            assert reply["result"] == {"subscription": "s1", "from": 1}
            assert [(await client.recv())["offset"] for _ in range(2)] == [1, 3]

    async def test_unsubscribe(self, runtime: Runtime) -> None:
        """After unsubscribe, no signal frame of that subscription follows."""
        async with serving(runtime) as gateway, raw_client(gateway.url) as client:
            await client.request({"op": "subscribe", "id": "1", "pattern": "**"})
            reply = await client.request({"op": "unsubscribe", "id": "2", "subscription": "s1"})
            assert reply == {"op": "result", "id": "2", "result": {}}
            await runtime.publish(signal())
            assert await is_healthy(client)
            assert gateway.statistics().subscriptions == 0

    async def test_call(self, runtime: Runtime) -> None:
        """A call returns the agent's committed state as JSON."""
        async with serving(runtime) as gateway, raw_client(gateway.url) as client:
            frame = {"op": "call", "id": "1", "agent": "counter", "signal": signal_json("counter.add", by=4)}
            assert await client.request(frame) == {
                "op": "result",
                "id": "1",
                "result": {"agent": "counter", "state": {"count": 4}},
            }

    async def test_inspect(self, runtime: Runtime) -> None:
        """inspect lists agents (with their mailbox, handled and failed counts), journal offsets, subscription
        lag and the dead-letter count."""
        await runtime.publish(signal())
        async with serving(runtime) as gateway, raw_client(gateway.url) as client:
            assert (await client.request({"op": "inspect", "id": "1"}))["result"] == {
                "agents": [
                    {
                        "id": "counter",
                        "name": "counter",
                        "status": "running",
                        "mailbox_depth": 0,
                        "mailbox_size": 1024,
                        "handled": 0,
                        "errors": 0,
                        "restarts": 0,
                    }
                ],
                "bus": {"first_offset": 1, "last_offset": 1, "subscription_lag": {}},
                "dead_letters": 0,
                "hibernated": 0,
            }

    async def test_inspect_lag_counts_matching_records(self, runtime: Runtime) -> None:
        """inspect's subscription_lag counts the records a subscription matches and has not read: records of
        other types published meanwhile leave an idle subscription at 0."""
        async with serving(runtime) as gateway, raw_client(gateway.url) as client:
            reply = await client.request({"op": "subscribe", "id": "1", "pattern": "order.*", "durable": "d"})
            assert reply["op"] == "result"
            for _ in range(5):
                await runtime.publish(signal("audit.seen"))
            lag = (await client.request({"op": "inspect", "id": "2"}))["result"]["bus"]["subscription_lag"]
            assert lag == {"gateway:d": 0}

    async def test_from_before_retention(self) -> None:
        """A subscription from an offset retention already removed starts at the oldest retained one, and
        its result says so."""
        async with open_runtime(retention=Retention(max_entries=2)) as runtime:
            for _ in range(5):
                await runtime.publish(signal())
            await runtime.bus.apply_retention()
            async with serving(runtime) as gateway, raw_client(gateway.url) as client:
                reply = await client.request({"op": "subscribe", "id": "1", "pattern": "**", "from": 1})
                assert reply["result"] == {"subscription": "s1", "from": 4}
                assert [(await client.recv())["offset"] for _ in range(2)] == [4, 5]

    async def test_calls_do_not_hold_up_other_requests(self, runtime: Runtime) -> None:
        """A call runs on its own: a ping sent after a slow call is answered first."""
        async with serving(runtime) as gateway, raw_client(gateway.url) as client:
            stall = {
                "op": "call",
                "id": "slow",
                "agent": "counter",
                "signal": signal_json("counter.stall"),
                "timeout": 60,
            }
            await client.send(stall)
            assert await client.request({"op": "ping", "id": "quick"}) == {
                "op": "result",
                "id": "quick",
                "result": {},
            }

    async def test_binary_frame(self, runtime: Runtime) -> None:
        """A binary frame holding UTF-8 JSON is handled like a text frame; the answer is text."""
        async with serving(runtime) as gateway, raw_client(gateway.url) as client:
            await client.ws.send_message(b'{"op":"ping","id":"b"}')
            answer = await client.ws.get_message()
            assert answer == '{"op":"result","id":"b","result":{}}'

    async def test_subscription_limit(self, runtime: Runtime) -> None:
        """A connection holds at most max_subscriptions subscriptions; one more is forbidden, with the limit."""
        async with serving(runtime, max_subscriptions=2) as gateway, raw_client(gateway.url) as client:
            for request_id in ("1", "2"):
                await client.request({"op": "subscribe", "id": request_id, "pattern": "**"})
            reply = await client.request({"op": "subscribe", "id": "3", "pattern": "**"})
            assert reply == error("3", "forbidden", "at most 2 subscriptions per connection", limit=2)
            assert gateway.statistics().over_budget == 1

    async def test_transient_ack_is_a_no_op(self, runtime: Runtime) -> None:
        """Transient subscriptions are acked by the server; an ack from the client is accepted and ignored."""
        async with serving(runtime) as gateway, raw_client(gateway.url) as client:
            await client.request({"op": "subscribe", "id": "1", "pattern": "**"})
            reply = await client.request({"op": "ack", "id": "2", "subscription": "s1", "offset": 99})
            assert reply == {"op": "result", "id": "2", "result": {}}


def error(request_id: str | None, code: str, message: str, **details: Any) -> dict[str, Any]:
    frame: dict[str, Any] = {"op": "error", "id": request_id, "code": code, "message": message}
    if details:
        frame["details"] = details
    return frame


def field_errors(*lines: tuple[str, str]) -> list[dict[str, str]]:
    return [{"path": path, "message": message} for path, message in lines]


class TestBadInput:
    """Each bad input gets its exact error frame, and the connection stays healthy after it."""

    @pytest.mark.parametrize(
        ("frame", "expected"),
        [
            (
                "{oops",
                error(
                    None,
                    "bad_json",
                    "invalid JSON: Expecting property name enclosed in double quotes: line 1 column 2 (char 1)",
                ),
            ),
            (
                "[1]",
                error(
                    None,
                    "bad_frame",
                    "$: expected object, got array",
                    errors=field_errors(("$", "expected object, got array")),
                ),
            ),
            (
                {"op": "subscribe", "id": "1", "pattern": 3},
                error(
                    "1",
                    "bad_frame",
                    "$.pattern: expected str, got 3",
                    errors=field_errors(("$.pattern", "expected str, got 3")),
                ),
            ),
            (
                {"op": "subscribe", "id": "1"},
                error(
                    "1",
                    "bad_frame",
                    "$.pattern: required field missing",
                    errors=field_errors(("$.pattern", "required field missing")),
                ),
            ),
            (
                {"op": "publsh", "id": "2"},
                error(
                    "2",
                    "unknown_op",
                    "unknown op 'publsh' (did you mean 'publish'?)",
                    op="publsh",
                    ops=[
                        "auth",
                        "subscribe",
                        "unsubscribe",
                        "ack",
                        "publish",
                        "call",
                        "inspect",
                        "restart",
                        "ping",
                    ],
                ),
            ),
            (
                {"op": "publish", "id": "3", "signal": {"specversion": "1.0", "id": "x", "type": "a"}},
                error(
                    "3",
                    "invalid_signal",
                    "$.signal.source: required attribute missing",
                    errors=field_errors(("$.signal.source", "required attribute missing")),
                ),
            ),
            (
                {"op": "unsubscribe", "id": "4", "subscription": "s9"},
                error("4", "not_found", "no subscription 's9' on this connection"),
            ),
            (
                {"op": "call", "id": "5", "agent": "ghost", "signal": signal_json("counter.add")},
                error("5", "not_found", "no agent with id 'ghost'"),
            ),
            (
                {"op": "call", "id": "6", "agent": "counter", "signal": signal_json("counter.nothing")},
                error("6", "no_route", "no route for signal type 'counter.nothing' in agent 'counter'"),
            ),
            (
                {"op": "call", "id": "7", "agent": "counter", "signal": signal_json("counter.fail")},
                error(
                    "7", "action_failed", "action 'fail' failed: RuntimeError('boom')", error="ActionError"
                ),
            ),
            (
                {
                    "op": "call",
                    "id": "8",
                    "agent": "counter",
                    "signal": signal_json("counter.stall"),
                    "timeout": 0.05,
                },
                error(
                    "8", "timeout", "call to agent 'counter' with 'counter.stall' got no answer within 0.05s"
                ),
            ),
            (
                {"op": "auth", "id": "9", "token": "t"},
                {
                    "op": "result",
                    "id": "9",
                    "result": {"name": "anonymous", "subscribe": ["**"], "publish": ["**"], "call": True},
                },
            ),
        ],
        ids=[
            "bad_json",
            "not_object",
            "ill_typed",
            "missing",
            "unknown_op",
            "invalid_signal",
            "no_subscription",
            "no_agent",
            "no_route",
            "action_failed",
            "timeout",
            "auth_without_tokens",
        ],
    )
    async def test_error_frame(self, runtime: Runtime, frame: Any, expected: dict[str, Any]) -> None:
        """The frame gets exactly this answer, and the connection still answers pings."""
        async with serving(runtime) as gateway, raw_client(gateway.url) as client:
            assert await client.request(frame) == expected
            assert await is_healthy(client)

    async def test_durable_ack_not_in_flight(self, runtime: Runtime) -> None:
        """An ack of an offset that is not in flight is not_found."""
        async with serving(runtime) as gateway, raw_client(gateway.url) as client:
            await client.request({"op": "subscribe", "id": "1", "pattern": "**", "durable": "d"})
            reply = await client.request({"op": "ack", "id": "2", "subscription": "s1", "offset": 5})
            assert reply == error("2", "not_found", "offset 5 is not in flight for subscription 'd'")
            assert await is_healthy(client)

    async def test_too_large(self, runtime: Runtime) -> None:
        """A frame over max_frame_bytes gets too_large (with its id when it starts with it)."""
        async with serving(runtime, max_frame_bytes=1000) as gateway, raw_client(gateway.url) as client:
            frame = json.dumps({"op": "ping", "id": "big", "pad": "x" * 1000})
            reply = await client.request(frame)
            assert reply == error("big", "too_large", f"frame is {len(frame)} bytes, over the limit of 1000")
            assert await is_healthy(client)

    async def test_far_too_large_closes_1009(self, runtime: Runtime) -> None:
        """A frame beyond 4x the limit is refused by the websocket layer itself, which closes with 1009."""
        async with serving(runtime, max_frame_bytes=1000) as gateway, raw_client(gateway.url) as client:
            await client.send(json.dumps({"op": "ping", "id": "1", "pad": "x" * 5000}))
            with pytest.raises(trio_websocket.ConnectionClosed) as info:
                await client.recv()
            assert info.value.reason is not None and info.value.reason.code == 1009
            assert await is_healthy_new(gateway.url)

    async def test_many_bad_frames_in_a_row(self, runtime: Runtime) -> None:
        """A stream of bad frames is answered one by one; the server keeps serving."""
        async with serving(runtime) as gateway, raw_client(gateway.url) as client:
            for index in range(50):
                await client.send(f"not json {index}")
            codes = [(await client.recv())["code"] for _ in range(50)]
            assert codes == ["bad_json"] * 50
            assert await is_healthy(client)
            assert gateway.statistics().errors_sent == 50


async def is_healthy_new(url: str) -> bool:
    async with raw_client(url) as client:
        return await is_healthy(client)


TOKENS = {
    "admin": TokenPolicy(),
    "reader": TokenPolicy(subscribe=("order.*", "audit.**"), publish=(), call=False),
}


class TestPolicy:
    async def test_forbidden_subscribe(self, runtime: Runtime) -> None:
        """A pattern reaching beyond the token's patterns is forbidden, with an example type."""
        async with (
            serving(runtime, tokens=TOKENS) as gateway,
            raw_client(gateway.url, token="reader") as client,
        ):
            reply = await client.request({"op": "subscribe", "id": "1", "pattern": "order.**"})
            assert reply == error(
                "1",
                "forbidden",
                "pattern 'order.**' is not within the allowed subscribe patterns ('order.*', 'audit.**'): "
                "it matches 'order'",
                pattern="order.**",
                allowed=["order.*", "audit.**"],
                example="order",
            )
            assert await is_healthy(client)

    async def test_allowed_subscribe(self, runtime: Runtime) -> None:
        """A pattern within the token's patterns is allowed."""
        async with (
            serving(runtime, tokens=TOKENS) as gateway,
            raw_client(gateway.url, token="reader") as client,
        ):
            reply = await client.request({"op": "subscribe", "id": "1", "pattern": "audit.*.x"})
            assert reply["op"] == "result"

    async def test_forbidden_publish(self, runtime: Runtime) -> None:
        """Publishing a type outside the token's publish patterns is forbidden."""
        async with (
            serving(runtime, tokens=TOKENS) as gateway,
            raw_client(gateway.url, token="reader") as client,
        ):
            reply = await client.request({"op": "publish", "id": "1", "signal": signal_json()})
            assert reply == error(
                "1", "forbidden", "publishing 'order.placed' is not allowed for this token (allowed: none)"
            )
            assert await runtime.bus.journal.last_offset() == 0

    async def test_forbidden_call(self, runtime: Runtime) -> None:
        """A token without call rights cannot call agents."""
        async with (
            serving(runtime, tokens=TOKENS) as gateway,
            raw_client(gateway.url, token="reader") as client,
        ):
            frame = {"op": "call", "id": "1", "agent": "counter", "signal": signal_json("counter.add")}
            assert await client.request(frame) == error(
                "1", "forbidden", "calls are not allowed for this token"
            )


class TestAuth:
    @pytest.mark.parametrize("header", [b"Bearer wrong", b"Basic YWRtaW4=", b"Bearer", b"admin"])
    async def test_bad_header_rejected_at_handshake(self, runtime: Runtime, header: bytes) -> None:
        """A bad Authorization header is refused with HTTP 401 before the websocket opens."""
        async with serving(runtime, tokens=TOKENS) as gateway, wsproto_client(gateway.port) as client:
            event = await client.handshake("127.0.0.1", [(b"authorization", header)])
            assert isinstance(event, wsproto.events.RejectConnection)
            assert event.status_code == 401
            assert gateway.statistics().rejected == 1

    @pytest.mark.parametrize(
        ("origin", "accepted"),
        [
            (b"http://localhost:8000", True),
            (b"http://127.0.0.1", True),
            (b"http://[::1]:3000", True),
            (b"https://evil.example", False),
            (b"null", False),
        ],
    )
    async def test_origin_without_tokens(self, runtime: Runtime, origin: bytes, accepted: bool) -> None:
        """Without tokens, browsers are let in only from pages served by this host (HTTP 403 otherwise)."""
        async with serving(runtime) as gateway, wsproto_client(gateway.port) as client:
            event = await client.handshake("127.0.0.1", [(b"origin", origin)])
            if accepted:
                assert isinstance(event, wsproto.events.AcceptConnection)
            else:
                assert isinstance(event, wsproto.events.RejectConnection)
                assert event.status_code == 403

    async def test_origin_with_tokens(self, runtime: Runtime) -> None:
        """With tokens, any origin may connect: the page still needs the token."""
        async with serving(runtime, tokens=TOKENS) as gateway, wsproto_client(gateway.port) as client:
            event = await client.handshake("127.0.0.1", [(b"origin", b"https://app.example")])
            assert isinstance(event, wsproto.events.AcceptConnection)

    async def test_trio_websocket_sees_rejection(self, runtime: Runtime) -> None:
        """trio-websocket clients get ConnectionRejected(401)."""
        async with serving(runtime, tokens=TOKENS) as gateway:
            headers = [(b"authorization", b"Bearer wrong")]
            with pytest.raises(trio_websocket.ConnectionRejected) as info:
                async with trio_websocket.open_websocket_url(gateway.url, extra_headers=headers):
                    pass
            assert info.value.status_code == 401
            del info
            # trio-websocket leaves its socket open after a rejection (a known bug); collect it here, where
            # its ResourceWarning is expected, rather than in whichever test runs the collector next.
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", ResourceWarning)
                gc.collect()

    async def test_first_frame_auth(self, runtime: Runtime) -> None:
        """A connection without a header authenticates with its first frame and gets its policy back."""
        async with serving(runtime, tokens=TOKENS) as gateway, raw_client(gateway.url) as client:
            reply = await client.request({"op": "auth", "id": "1", "token": "reader"})
            assert reply == {
                "op": "result",
                "id": "1",
                "result": {
                    "name": identity_of("reader"),
                    "subscribe": ["order.*", "audit.**"],
                    "publish": [],
                    "call": False,
                },
            }
            assert await is_healthy(client)

    async def test_already_authenticated(self, runtime: Runtime) -> None:
        """A second auth frame is refused."""
        async with (
            serving(runtime, tokens=TOKENS) as gateway,
            raw_client(gateway.url, token="admin") as client,
        ):
            reply = await client.request({"op": "auth", "id": "1", "token": "reader"})
            assert reply == error("1", "bad_frame", "already authenticated")

    @pytest.mark.parametrize(
        ("frame", "message"),
        [
            ({"op": "auth", "id": "1", "token": "nope"}, "invalid token"),
            (
                {"op": "ping", "id": "1"},
                'authenticate first: send {"op":"auth","id":...,"token":...} as the first frame',
            ),
            ("garbage", "authenticate first: invalid JSON: Expecting value: line 1 column 1 (char 0)"),
        ],
        ids=["wrong_token", "other_op", "not_json"],
    )
    async def test_first_frame_failure_closes_4001(self, runtime: Runtime, frame: Any, message: str) -> None:
        """A first frame that is not a valid auth gets an unauthorized error frame, then close 4001."""
        async with serving(runtime, tokens=TOKENS) as gateway, raw_client(gateway.url) as client:
            reply = await client.request(frame)
            assert reply == error(None if frame == "garbage" else "1", "unauthorized", message)
            with pytest.raises(trio_websocket.ConnectionClosed) as info:
                await client.recv()
            assert info.value.reason is not None
            assert (info.value.reason.code, info.value.reason.reason) == (4001, message)
            assert gateway.statistics().auth_failures == 1

    async def test_no_auth_frame_in_time(self, runtime: Runtime) -> None:
        """A connection that sends nothing is closed with 4001 after auth_timeout."""
        async with (
            serving(runtime, tokens=TOKENS, auth_timeout=0.05) as gateway,
            raw_client(gateway.url) as client,
        ):
            assert await client.recv() == error(None, "unauthorized", "no auth frame within 0.05s")
            with pytest.raises(trio_websocket.ConnectionClosed) as info:
                await client.recv()
            assert info.value.reason is not None and info.value.reason.code == 4001


class TestDurable:
    async def test_resumes_after_last_ack(self, runtime: Runtime) -> None:
        """A durable subscription resumes on a new connection after its last acked offset."""
        for _ in range(3):
            await runtime.publish(signal())
        async with serving(runtime) as gateway:
            async with raw_client(gateway.url) as client:
                await client.request(
                    {"op": "subscribe", "id": "1", "pattern": "**", "from": 1, "durable": "d"}
                )
                offsets = [(await client.recv())["offset"] for _ in range(3)]
                assert offsets == [1, 2, 3]
                assert (await client.request({"op": "ack", "id": "2", "subscription": "s1", "offset": 1}))[
                    "op"
                ] == "result"
            async with raw_client(gateway.url) as client:
                reply = await client.request(
                    {"op": "subscribe", "id": "1", "pattern": "**", "from": 1, "durable": "d"}
                )
                assert reply["result"] == {"subscription": "s1", "from": 2}
                assert [(await client.recv())["offset"] for _ in range(2)] == [2, 3]

    async def test_take_over(self, runtime: Runtime) -> None:
        """A second connection subscribing to the same durable name takes it over; the first is told."""
        async with (
            serving(runtime) as gateway,
            raw_client(gateway.url) as first,
            raw_client(gateway.url) as second,
        ):
            await first.request({"op": "subscribe", "id": "1", "pattern": "**", "durable": "d"})
            assert (await second.request({"op": "subscribe", "id": "1", "pattern": "**", "durable": "d"}))[
                "op"
            ] == "result"
            assert await first.recv() == error(
                None,
                "conflict",
                "durable subscription 'd' was taken over by another connection",
                subscription="s1",
                durable="d",
            )
            await runtime.publish(signal())
            assert (await second.recv())["offset"] == 1
            assert await is_healthy(first)

    async def test_twice_on_one_connection(self, runtime: Runtime) -> None:
        """One connection cannot hold a durable name twice."""
        async with serving(runtime) as gateway, raw_client(gateway.url) as client:
            await client.request({"op": "subscribe", "id": "1", "pattern": "**", "durable": "d"})
            reply = await client.request({"op": "subscribe", "id": "2", "pattern": "**", "durable": "d"})
            assert reply == error(
                "2", "conflict", "durable subscription 'd' is already subscribed on this connection as 's1'"
            )


class TestSlowConsumer:
    async def test_overflow_closes_4008_and_resume_loses_nothing(self, runtime: Runtime) -> None:
        """A client whose socket stops draining is closed with 4008 once its send queue stays full (and
        lagging is emitted); resuming from its last offset + 1 delivers every offset exactly once."""
        async with (
            serving(runtime, send_queue=8, slow_consumer_timeout=0.05) as gateway,
            trio.open_nursery() as nursery,
        ):
            proxy: Proxy = await nursery.start(Proxy(gateway.port).serve)
            url = f"ws://127.0.0.1:{proxy.port}/"
            events: list[telemetry.Event] = []
            with (
                telemetry.attach("jido.gateway.lagging", events.append),
                telemetry.attach("jido.gateway.disconnected", events.append),
            ):
                received = await self._overflow(runtime, gateway, proxy, url)
                await trio.testing.wait_all_tasks_blocked()
            lagging, disconnected = events
            telemetry.validate_fields(lagging.name, lagging.fields)
            assert lagging.name == "jido.gateway.lagging"
            assert (lagging.fields["queued"], lagging.fields["limit"], lagging.fields["waited"]) == (
                8,
                8,
                0.05,
            )
            assert (disconnected.name, disconnected.fields["code"]) == ("jido.gateway.disconnected", 4008)
            published = await runtime.bus.journal.last_offset()
            async with raw_client(url) as client:
                reply = await client.request(
                    {"op": "subscribe", "id": "1", "pattern": "**", "from": received[-1] + 1}
                )
                assert reply["result"]["from"] == received[-1] + 1
                while received[-1] < published:
                    received.append((await client.recv())["offset"])
            assert received == list(range(1, published + 1))
            nursery.cancel_scope.cancel()

    async def test_overflow_in_bytes_closes_4008_and_resume_loses_nothing(self, runtime: Runtime) -> None:
        """Far fewer frames than send_queue, but more bytes than send_queue_bytes: the same 4008 close, and
        resuming delivers every offset exactly once."""
        async with (
            serving(
                runtime, send_queue=1000, send_queue_bytes=64 * 1024, slow_consumer_timeout=0.05
            ) as gateway,
            trio.open_nursery() as nursery,
        ):
            proxy: Proxy = await nursery.start(Proxy(gateway.port).serve)
            url = f"ws://127.0.0.1:{proxy.port}/"
            received = await self._overflow(runtime, gateway, proxy, url)
            stats = gateway.statistics()
            assert 0 < stats.peak_queued_bytes <= 64 * 1024
            published = await runtime.bus.journal.last_offset()
            async with raw_client(url) as client:
                await client.request(
                    {"op": "subscribe", "id": "1", "pattern": "**", "from": received[-1] + 1}
                )
                while received[-1] < published:
                    received.append((await client.recv())["offset"])
            assert received == list(range(1, published + 1))
            nursery.cancel_scope.cancel()

    async def _overflow(self, runtime: Runtime, gateway: Gateway, proxy: Proxy, url: str) -> list[int]:
        """Subscribe through the paused proxy, publish until the gateway gives up on the connection, resume
        the proxy, and read what arrives before the 4008 close."""
        received: list[int] = []
        async with raw_client(url) as client:
            await client.request({"op": "subscribe", "id": "1", "pattern": "**"})
            proxy.pause()
            with trio.fail_after(20):
                while gateway.statistics().slow_consumers == 0:
                    await runtime.publish(signal(pad="x" * 16_000))
                    await trio.sleep(0.001)  # real time: the stall is measured on the clock
            proxy.resume()
            with pytest.raises(trio_websocket.ConnectionClosed) as info:
                while True:
                    received.append((await client.recv())["offset"])
            assert info.value.reason is not None
            assert info.value.reason.code == 4008
            assert info.value.reason.reason == "slow consumer: send queue full for 0.05s"
        return received


class TestTelemetry:
    async def test_connected_and_disconnected(self, runtime: Runtime) -> None:
        """A connection emits connected once its token is accepted, and disconnected with the close code."""
        events: list[telemetry.Event] = []
        with telemetry.attach("jido.gateway.*", events.append):
            async with serving(runtime, tokens=TOKENS) as gateway:
                async with raw_client(gateway.url) as client:
                    await client.request({"op": "auth", "id": "1", "token": "admin"})
                    assert await is_healthy(client)
                with trio.fail_after(10):
                    while len(events) < 2:
                        await trio.testing.wait_all_tasks_blocked()
        for event in events:
            telemetry.validate_fields(event.name, event.fields)
        connected, disconnected = events
        assert connected.name == "jido.gateway.connected"
        assert connected.fields["authenticated"] is True
        assert connected.fields["peer"].startswith("127.0.0.1:")
        assert disconnected.name == "jido.gateway.disconnected"
        assert (disconnected.fields["code"], disconnected.fields["connection_id"]) == (
            1000,
            connected.fields["connection_id"],
        )

    async def test_unauthenticated_connection_is_not_announced(self, runtime: Runtime) -> None:
        """A connection closed with 4001 was never connected, so it emits nothing."""
        events: list[telemetry.Event] = []
        with telemetry.attach("jido.gateway.*", events.append):
            async with serving(runtime, tokens=TOKENS) as gateway, raw_client(gateway.url) as client:
                await client.request({"op": "auth", "id": "1", "token": "nope"})
                with pytest.raises(trio_websocket.ConnectionClosed):
                    await client.recv()
        assert events == []


class TestHeartbeat:
    async def test_silent_peer_dropped(self, runtime: Runtime) -> None:
        """A peer that does not answer pings is closed with 1011."""
        async with (
            serving(runtime, heartbeat_interval=0.05) as gateway,
            wsproto_client(gateway.port) as client,
        ):
            assert isinstance(await client.handshake("127.0.0.1", []), wsproto.events.AcceptConnection)
            with trio.fail_after(10):
                closed = await client.next(answer_pings=False)
            assert isinstance(closed, wsproto.events.CloseConnection)
            assert (closed.code, closed.reason) == (1011, "no pong within 0.05s")
            assert gateway.statistics().heartbeat_timeouts == 1

    async def test_answering_peer_kept(self, runtime: Runtime) -> None:
        """A peer that answers pings stays connected through many of them."""
        async with (
            serving(runtime, heartbeat_interval=0.01) as gateway,
            wsproto_client(gateway.port) as client,
        ):
            assert isinstance(await client.handshake("127.0.0.1", []), wsproto.events.AcceptConnection)
            with trio.fail_after(10):
                while client.pings < 5:
                    await client.send_text(json.dumps({"op": "ping", "id": "p"}))
                    assert await client.next() == {"op": "result", "id": "p", "result": {}}
            assert gateway.statistics().heartbeat_timeouts == 0


class TestFuzz:
    @settings(suppress_health_check=[HealthCheck.function_scoped_fixture])
    @given(st.lists(FRAMES, min_size=1, max_size=8))
    async def test_every_frame_answered_once(self, frames: list[Any]) -> None:
        """Random frames over the wire: each gets exactly one answer, and the connection stays healthy."""
        async with open_runtime() as runtime, serving(runtime) as gateway, raw_client(gateway.url) as client:
            for frame in frames:
                await client.send(json.dumps(frame))
            answers: list[dict[str, Any]] = []
            while len(answers) < len(frames):
                answer = await client.recv()
                if answer["op"] != "signal":  # a random subscribe may well succeed
                    answers.append(answer)
            assert all(answer["op"] in ("result", "error") for answer in answers)
            assert await is_healthy(client)
