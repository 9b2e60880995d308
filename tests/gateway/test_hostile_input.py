"""Input no client should send: each gets an error frame, the connection stays open, nothing is logged with a
traceback, and the server keeps serving everyone."""

from __future__ import annotations

import json
import logging
import socket
import struct
from typing import Any

import pytest
import trio
import trio.testing
import trio_websocket
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from jido.gateway import TokenPolicy
from jido.gateway.protocol import ERROR_CODES, FrameError, error_frame, parse_request, result_frame
from jido.runtime.runtime import Runtime, open_runtime

from .helpers import RawClient, raw_client, serving, signal, signal_json

SURROGATE = "\\ud800"  # the JSON escape of a lone surrogate: valid JSON syntax, not valid Unicode text
PROBLEM = "has a lone surrogate at index 0, which is not valid Unicode"


def _frames() -> dict[str, dict[str, Any]]:
    """One valid frame per op, with every member it takes."""
    sig = signal_json()
    return {
        "auth": {"op": "auth", "id": "1", "token": "t"},
        "subscribe": {"op": "subscribe", "id": "1", "pattern": "order.*", "from": "latest", "durable": "d"},
        "unsubscribe": {"op": "unsubscribe", "id": "1", "subscription": "s1"},
        "ack": {"op": "ack", "id": "1", "subscription": "s1", "offset": 1},
        "publish": {"op": "publish", "id": "1", "signal": {**sig, "subject": "x", "ext": "y"}},
        "call": {
            "op": "call",
            "id": "1",
            "agent": "counter",
            "signal": {**sig, "data": {"by": 1}},
            "timeout": 1,
            "idempotent": True,
        },
        "inspect": {"op": "inspect", "id": "1"},
        "restart": {"op": "restart", "id": "1", "agent": "counter"},
        "ping": {"op": "ping", "id": "1"},
    }


def _fields() -> list[tuple[str, tuple[str, ...]]]:
    """Every string-carrying place of every op's frame (signal attributes and data included), and each
    op's member names."""
    cases: list[tuple[str, tuple[str, ...]]] = []
    for op, frame in _frames().items():
        for name, value in frame.items():
            if isinstance(value, dict):
                cases.extend((op, (name, inner)) for inner in value)
                if name == "signal":
                    cases.append((op, (name, "data", "by")))
            else:
                cases.append((op, (name,)))
        cases.append((op, ("<member name>",)))
    return cases


def _with_surrogate(op: str, path: tuple[str, ...]) -> tuple[str, str]:
    """The frame of ``op`` with a lone surrogate at ``path`` (as JSON text), and the error's path."""
    frame = _frames()[op]
    marker = "__SURROGATE__"
    if path == ("<member name>",):
        frame[marker] = 1
        return json.dumps(frame).replace(marker, SURROGATE), "$"
    inner: Any = frame
    for name in path[:-1]:
        if not isinstance(inner.get(name), dict):
            inner[name] = {}
        inner = inner[name]
    inner[path[-1]] = marker
    return json.dumps(frame).replace(marker, SURROGATE), "$." + ".".join(path)


FIELDS = _fields()


async def is_healthy(client: RawClient) -> bool:
    return await client.request({"op": "ping", "id": "health"}) == {
        "op": "result",
        "id": "health",
        "result": {},
    }


def no_tracebacks(caplog: pytest.LogCaptureFixture) -> None:
    """Bad input from a client is the client's problem: nothing the server logs about it has a traceback."""
    assert [r.getMessage() for r in caplog.records if r.exc_info is not None] == []
    assert [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR] == []


class TestLoneSurrogates:
    @pytest.mark.parametrize(("op", "path"), FIELDS, ids=[f"{op}:{'.'.join(path)}" for op, path in FIELDS])
    async def test_every_field_of_every_op(
        self, runtime: Runtime, caplog: pytest.LogCaptureFixture, op: str, path: tuple[str, ...]
    ) -> None:
        """A lone surrogate anywhere in a frame is a bad_frame naming where, and the connection stays open."""
        text, where = _with_surrogate(op, path)
        expected_id = None if path == ("id",) else "1"
        message = f"{where}: a member name {PROBLEM}" if where == "$" else f"{where}: {PROBLEM}"
        async with serving(runtime) as gateway, raw_client(gateway.url) as client:
            reply = await client.request(text)
            assert reply == {
                "op": "error",
                "id": expected_id,
                "code": "bad_frame",
                "message": message,
                "details": {"errors": [{"path": where, "message": message.split(": ", 1)[1]}]},
            }
            assert await is_healthy(client)
            assert gateway.statistics().errors_sent == 1
        no_tracebacks(caplog)

    async def test_before_authentication(self, runtime: Runtime, caplog: pytest.LogCaptureFixture) -> None:
        """Before auth, the same frame gets its error frame, then close 4001 (not 1001 with nothing)."""
        async with (
            serving(runtime, tokens={"t": TokenPolicy()}) as gateway,
            raw_client(gateway.url) as client,
        ):
            reply = await client.request(f'{{"op":"ping","id":"{SURROGATE}"}}')
            message = f"authenticate first: $.id: {PROBLEM}"
            assert reply == {"op": "error", "id": None, "code": "unauthorized", "message": message}
            with pytest.raises(trio_websocket.ConnectionClosed) as info:
                await client.recv()
            assert info.value.reason is not None
            assert info.value.reason.code == 4001
        no_tracebacks(caplog)

    def test_paired_surrogates_are_text(self) -> None:
        """An escaped surrogate pair is one character, read as such."""
        request = parse_request('{"op":"ping","id":"\\ud83d\\ude00"}', max_bytes=1000)
        assert request.id == "\N{GRINNING FACE}"


class TestUndecodable:
    async def test_binary_frame_not_utf8(self, runtime: Runtime, caplog: pytest.LogCaptureFixture) -> None:
        """A binary frame whose bytes are not UTF-8 is a bad_frame at $."""
        async with serving(runtime) as gateway, raw_client(gateway.url) as client:
            reply = await client.request(b'{"op":"ping","id":"\xed\xa0\x80"}')
            assert (reply["code"], reply["message"]) == ("bad_frame", "$: not UTF-8 at byte 19")
            assert await is_healthy(client)
        no_tracebacks(caplog)

    @pytest.mark.parametrize(
        "text",
        [
            "[" * 50_000 + "]" * 50_000,
            '{"a":' * 50_000 + "1" + "}" * 50_000,
            '{"op":"ping","id":"1","x":' + "[" * 50_000 + "]" * 50_000 + "}",
            '{"op":"publish","id":"1","signal":{"data":' + "[" * 2_000 + "]" * 2_000 + "}}",
        ],
        ids=["arrays", "objects", "in_a_member", "in_signal_data"],
    )
    async def test_deep_nesting(self, runtime: Runtime, caplog: pytest.LogCaptureFixture, text: str) -> None:
        """JSON nested far deeper than any frame needs is a bad_frame, not a RecursionError."""
        async with serving(runtime) as gateway, raw_client(gateway.url) as client:
            reply = await client.request(text)
            assert (reply["code"], reply["message"]) == ("bad_frame", "$: nested too deeply")
            assert await is_healthy(client)
        no_tracebacks(caplog)


class TestFramesAlwaysSendable:
    def test_result_with_lone_surrogate(self) -> None:
        """A result holding a lone surrogate (an agent's state) is written with escapes, as valid UTF-8."""
        text = result_frame("1", {"state": {"name": "\ud800"}})
        text.encode("utf-8")
        assert json.loads(text)["result"]["state"]["name"] == "\ud800"

    def test_error_with_lone_surrogate(self) -> None:
        """So is an error message carrying one (what an agent's exception said)."""
        text = error_frame("1", "action_failed", "boom \udfff")
        text.encode("utf-8")
        assert json.loads(text)["message"] == "boom \udfff"


# Frames a hostile or broken client might send: JSON of any shape, JSON escapes of surrogates spliced into
# strings, deep nesting, and text that is not JSON at all.
_JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=10),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=6), inner, max_size=4),
    max_leaves=12,
)
_OPS = st.sampled_from(
    ["auth", "subscribe", "unsubscribe", "ack", "publish", "call", "inspect", "restart", "ping"]
)
_FRAME_OBJECTS = st.fixed_dictionaries(
    {"op": _OPS | st.text(max_size=6), "id": st.text(min_size=1, max_size=4) | _JSON},
    optional={
        name: _JSON | st.just(SURROGATE)
        for name in ("token", "pattern", "from", "durable", "subscription", "offset", "signal", "agent")
    },
)


@st.composite
def hostile_frames(draw: st.DrawFn) -> str | bytes:
    kind = draw(st.sampled_from(["object", "spliced", "nested", "text", "bytes"]))
    if kind == "object":
        return json.dumps(draw(_FRAME_OBJECTS))
    if kind == "spliced":
        text = json.dumps(draw(_FRAME_OBJECTS))
        at = draw(st.sampled_from([i + 1 for i, c in enumerate(text) if c == '"'] or [0]))
        escape = draw(st.sampled_from(["\\ud800", "\\udfff", "\\udbff", "\\u0000", "\\ud83d\\ude00"]))
        return text[:at] + escape + text[at:]
    if kind == "nested":
        depth = draw(st.integers(min_value=100, max_value=5000))
        return '{"op":"ping","id":"1","x":' + "[" * depth + "]" * depth + "}"
    if kind == "text":
        return draw(st.text(max_size=40))
    return draw(st.binary(max_size=40))


class TestHostileFrames:
    @settings(suppress_health_check=[HealthCheck.function_scoped_fixture], max_examples=60, deadline=None)
    @given(st.lists(hostile_frames(), min_size=1, max_size=6))
    async def test_each_answered_and_server_up(self, frames: list[str | bytes]) -> None:
        """Arbitrary frames over the wire: each gets one answer with a known code, the connection stays
        open, and another client is served after."""
        async with open_runtime() as runtime, serving(runtime) as gateway:
            async with raw_client(gateway.url) as client:
                for frame in frames:
                    await client.send(frame)
                answers: list[dict[str, Any]] = []
                while len(answers) < len(frames):
                    answer = await client.recv()
                    if answer["op"] != "signal":  # a random subscribe may well succeed
                        answers.append(answer)
                for answer in answers:
                    assert answer["op"] in ("result", "error")
                    assert answer["op"] == "result" or answer["code"] in ERROR_CODES
                assert await is_healthy(client)
            async with raw_client(gateway.url) as other:
                assert await is_healthy(other)


class TestParseRefusals:
    def test_surrogate_id_not_echoed(self) -> None:
        """A lone surrogate in the id itself: the id cannot be echoed, so the answer's id is null."""
        with pytest.raises(FrameError) as info:
            parse_request(f'{{"op":"ping","id":"{SURROGATE}"}}', max_bytes=1000)
        assert (info.value.code, info.value.request_id) == ("bad_frame", None)


class TestRejectedCalls:
    async def test_no_route(self, runtime: Runtime, caplog: pytest.LogCaptureFixture) -> None:
        """A call whose signal no route of the agent accepts is answered no_route."""
        async with serving(runtime) as gateway, raw_client(gateway.url) as client:
            reply = await client.request(
                {"op": "call", "id": "1", "agent": "counter", "signal": signal_json("nothing.here")}
            )
            assert reply == {
                "op": "error",
                "id": "1",
                "code": "no_route",
                "message": "no route for signal type 'nothing.here' in agent 'counter'",
            }
            assert await is_healthy(client)
        no_tracebacks(caplog)

    @pytest.mark.parametrize(
        ("data", "errors"),
        [
            ({"by": "2"}, [("$.signal.data.by", 'expected int, got "2"')]),
            ({"by": 1, "bx": 2}, [("$.signal.data", "unknown field(s): bx")]),
        ],
        ids=["ill_typed", "unknown_field"],
    )
    async def test_invalid_params(
        self,
        runtime: Runtime,
        caplog: pytest.LogCaptureFixture,
        data: dict[str, Any],
        errors: list[tuple[str, str]],
    ) -> None:
        """A call whose data fails the action's params is invalid_params, each problem at its $.path in the
        frame; the state is unchanged."""
        async with serving(runtime) as gateway, raw_client(gateway.url) as client:
            reply = await client.request(
                {"op": "call", "id": "1", "agent": "counter", "signal": signal_json("counter.add", **data)}
            )
            assert reply == {
                "op": "error",
                "id": "1",
                "code": "invalid_params",
                "message": "\n".join(f"{path}: {message}" for path, message in errors),
                "details": {"errors": [{"path": path, "message": message} for path, message in errors]},
            }
            reply = await client.request(
                {"op": "call", "id": "2", "agent": "counter", "signal": signal_json("counter.add", by=1)}
            )
            assert reply["result"]["state"] == {"count": 1}
        no_tracebacks(caplog)


class TestResetPeers:
    async def test_reset_right_after_the_handshake(self, runtime: Runtime) -> None:
        """Clients that reset their TCP connection right after the websocket handshake leave the gateway
        and the runtime serving."""
        handshake = (
            b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
        )
        async with serving(runtime) as gateway:
            for _ in range(10):
                sock = trio.socket.socket()
                await sock.connect(("127.0.0.1", gateway.port))
                await sock.send(handshake)
                await sock.recv(1)  # the first byte of the 101 answer: the server has accepted
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                sock.close()  # RST, not FIN
                await trio.testing.wait_all_tasks_blocked()
            async with raw_client(gateway.url) as client:
                assert (await client.request({"op": "ping", "id": "p"}))["op"] == "result"
                called = await client.request(
                    {"op": "call", "id": "c", "agent": "counter", "signal": signal_json("counter.add", by=1)}
                )
                assert called["result"]["state"] == {"count": 1}


class TestSubscribeFromPastTheEnd:
    @pytest.mark.parametrize("durable", [None, "billing"], ids=["transient", "durable"])
    @pytest.mark.parametrize("start", [3, 2**70], ids=["near", "past_64_bits"])
    async def test_refused_and_nothing_stored(
        self, runtime: Runtime, durable: str | None, start: int
    ) -> None:
        """A `from` past the next offset is a bad_frame at $.from naming the next offset (it would deliver
        nothing, and a durable name would be stuck with it); the name is free for a valid subscribe."""
        await runtime.publish(signal())
        extra = {"durable": durable} if durable else {}
        async with serving(runtime) as gateway, raw_client(gateway.url) as client:
            reply = await client.request(
                {"op": "subscribe", "id": "1", "pattern": "order.*", "from": start, **extra}
            )
            message = f"offset {start} is past the end of the journal (the next offset is 2)"
            assert reply == {
                "op": "error",
                "id": "1",
                "code": "bad_frame",
                "message": f"$.from: {message}",
                "details": {"errors": [{"path": "$.from", "message": message}]},
            }
            reply = await client.request(
                {"op": "subscribe", "id": "2", "pattern": "order.*", "from": 2, **extra}
            )
            assert reply == {"op": "result", "id": "2", "result": {"subscription": "s1", "from": 2}}
            await runtime.publish(signal())
            frame = await client.recv()
            assert (frame["op"], frame["offset"]) == ("signal", 2)


class TestDuplicateMembers:
    @pytest.mark.xfail(
        strict=True,
        reason="jido.signal.serialization.loads keeps the last of duplicate member names (orjson and json "
        "both do): a frame can say two things, and a proxy reading the first 'op' sees another request",
    )
    def test_duplicate_member_refused(self) -> None:
        """A frame naming a member twice is a bad_frame at its path, not read as its last value."""
        with pytest.raises(FrameError) as info:
            parse_request('{"op":"ping","id":"1","op":"inspect"}', max_bytes=1000)
        assert (info.value.code, info.value.message) == ("bad_frame", "$: duplicate member 'op'")


class TestAnswersBounded:
    """An error frame repeats only so much of the frame it answers: never much more than a few KB, however
    many problems or however long the names in the request (50,000 bad extension names were answered with
    11 MB)."""

    @staticmethod
    def answer(frame: dict[str, Any]) -> tuple[FrameError, str]:
        with pytest.raises(FrameError) as info:
            parse_request(json.dumps(frame), max_bytes=4 << 20)
        error = info.value
        return error, error_frame(error.request_id, error.code, error.message, error.details)

    def test_many_problems(self) -> None:
        """The first 20 problems are listed, then how many more there were."""
        sig = {**signal_json(), **{f"E{i}": 1 for i in range(50_000)}}
        error, text = self.answer({"op": "publish", "id": "1", "signal": sig})
        problems = error.details["errors"]
        assert (error.code, len(problems)) == ("invalid_signal", 21)
        assert problems[-1] == {"path": "$", "message": "49980 more problems not shown"}
        assert error.message.splitlines()[-1] == "$: 49980 more problems not shown"
        assert len(text) < 8_000

    def test_long_name(self) -> None:
        """A path or message past 1,000 characters is clipped and says how long it was."""
        error, text = self.answer({"op": "publish", "id": "1", "signal": {**signal_json(), "X" * 900_000: 1}})
        (problem,) = error.details["errors"]
        assert problem["path"].startswith("$.signal.XXX") and problem["path"].endswith(" characters)")
        assert len(text) < 4_000

    def test_many_unknown_members(self) -> None:
        """Unknown members are named up to 10 (each clipped to 64 characters), with their count."""
        frame: dict[str, Any] = {"op": "ping", "id": "1", **{f"k{i:05}": 1 for i in range(20_000)}}
        error, text = self.answer(frame)
        names = ", ".join(f"k{i:05}" for i in range(10))
        assert error.message == f"$: unknown field(s): {names} (20000 in all)"
        assert len(text) < 1_000
        error, text = self.answer({"op": "ping", "id": "1", "z" * 900_000: 1})
        assert error.message == f"$: unknown field(s): {'z' * 64}... (900000 characters)"
        assert len(text) < 1_000

    def test_long_unknown_op(self) -> None:
        """An unknown op is echoed clipped to 64 characters."""
        error, text = self.answer({"op": "subscribe" * 100_000, "id": "1"})
        shown = ("subscribe" * 8)[:64] + "... (900000 characters)"
        assert (error.code, error.details["op"]) == ("unknown_op", shown)
        assert error.message.startswith(f"unknown op {shown!r} (")
        assert len(text) < 1_000
