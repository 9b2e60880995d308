"""Frame parsing: every kind of bad frame gets its error code and a message naming what is wrong."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from jido.gateway.protocol import (
    ERROR_CODES,
    OPS,
    AckRequest,
    AuthRequest,
    CallRequest,
    FrameError,
    GatewayError,
    InspectRequest,
    PingRequest,
    PublishRequest,
    SubscribeRequest,
    UnsubscribeRequest,
    error_frame,
    parse_request,
    result_frame,
)

from .helpers import signal_json

LIMIT = 10_000


def parse(frame: Any) -> Any:
    return parse_request(frame if isinstance(frame, str) else json.dumps(frame), max_bytes=LIMIT)


def refused(frame: Any) -> FrameError:
    with pytest.raises(FrameError) as info:
        parse(frame)
    return info.value


class TestValidFrames:
    def test_subscribe(self) -> None:
        """A subscribe frame with every member."""
        request = parse({"op": "subscribe", "id": "1", "pattern": "order.*", "from": 7, "durable": "billing"})
        assert request == SubscribeRequest("1", "order.*", 7, "billing")

    def test_subscribe_null_optionals(self) -> None:
        """null optional members count as absent."""
        request = parse({"op": "subscribe", "id": "1", "pattern": "**", "from": None, "durable": None})
        assert request == SubscribeRequest("1", "**", None, None)

    def test_subscribe_named_starts(self) -> None:
        """from may be 'beginning' or 'latest'."""
        assert parse({"op": "subscribe", "id": "1", "pattern": "a", "from": "beginning"}).start == "beginning"

    def test_other_ops(self) -> None:
        """Each op reads into its request type."""
        sig = signal_json()
        assert parse({"op": "auth", "id": "a", "token": "t"}) == AuthRequest("a", "t")
        assert parse({"op": "unsubscribe", "id": "b", "subscription": "s1"}) == UnsubscribeRequest("b", "s1")
        assert parse({"op": "ack", "id": "c", "subscription": "s1", "offset": 3}) == AckRequest("c", "s1", 3)
        assert parse({"op": "publish", "id": "d", "signal": sig}) == PublishRequest("d", parse_signal(sig))
        call = parse({"op": "call", "id": "e", "agent": "x", "signal": sig, "timeout": 2})
        assert call == CallRequest("e", "x", parse_signal(sig), 2.0)
        assert parse({"op": "inspect", "id": "f"}) == InspectRequest("f")
        assert parse({"op": "ping", "id": "g"}) == PingRequest("g")

    def test_binary_frame(self) -> None:
        """A binary frame of UTF-8 JSON is read like a text frame."""
        assert parse_request(b'{"op":"ping","id":"1"}', max_bytes=LIMIT) == PingRequest("1")


def parse_signal(data: dict[str, Any]) -> Any:
    from jido.signal import Signal

    return Signal.from_dict(data)


class TestBadFrames:
    def test_not_json(self) -> None:
        """Text that is not JSON is bad_json, answered without an id."""
        error = refused("{nope")
        assert (error.code, error.request_id) == ("bad_json", None)
        assert error.message.startswith("invalid JSON: ")

    def test_not_an_object(self) -> None:
        """A JSON array is bad_frame at $."""
        error = refused([1, 2])
        assert (error.code, error.message) == ("bad_frame", "$: expected object, got array")
        assert error.details == {"errors": [{"path": "$", "message": "expected object, got array"}]}

    def test_missing_op_and_id(self) -> None:
        """Both missing members are named."""
        error = refused({})
        assert error.message == "$.op: required field missing\n$.id: required field missing"

    def test_ill_typed_id(self) -> None:
        """An id that is not a string is not echoed."""
        error = refused({"op": "ping", "id": 3})
        assert (error.code, error.request_id, error.message) == (
            "bad_frame",
            None,
            "$.id: expected str, got 3",
        )

    def test_unknown_op_hint(self) -> None:
        """An unknown op close to a known one gets a did-you-mean hint."""
        error = refused({"op": "subscrib", "id": "9"})
        assert (error.code, error.request_id) == ("unknown_op", "9")
        assert error.message == "unknown op 'subscrib' (did you mean 'subscribe'?)"

    def test_unknown_op_lists_ops(self) -> None:
        """An unknown op far from any lists them all."""
        error = refused({"op": "zzz", "id": "9"})
        assert error.message == (
            "unknown op 'zzz' (expected one of: auth, subscribe, unsubscribe, ack, publish, call, inspect, restart, ping)"
        )

    def test_ill_typed_pattern(self) -> None:
        """A pattern that is not a string is named with its path."""
        error = refused({"op": "subscribe", "id": "1", "pattern": 3})
        assert (error.code, error.request_id, error.message) == (
            "bad_frame",
            "1",
            "$.pattern: expected str, got 3",
        )

    def test_invalid_pattern(self) -> None:
        """A malformed pattern says which segment is wrong."""
        error = refused({"op": "subscribe", "id": "1", "pattern": "a..b"})
        assert error.message == "$.pattern: empty segment at position 2 in 'a..b'"

    def test_bad_from(self) -> None:
        """from must be an offset >= 1 or a named start."""
        error = refused({"op": "subscribe", "id": "1", "pattern": "a", "from": 0})
        assert error.message == "$.from: expected int >= 1, 'beginning' or 'latest', got 0"

    def test_bad_durable_name(self) -> None:
        """Durable names are restricted to a safe alphabet."""
        error = refused({"op": "subscribe", "id": "1", "pattern": "a", "durable": "a b"})
        assert error.message == '$.durable: expected 1 to 128 of [A-Za-z0-9_.:-], got "a b"'

    def test_missing_member(self) -> None:
        """A required member that is absent is named."""
        error = refused({"op": "ack", "id": "1", "subscription": "s1"})
        assert error.message == "$.offset: required field missing"

    def test_bool_offset(self) -> None:
        """true is not an offset."""
        error = refused({"op": "ack", "id": "1", "subscription": "s1", "offset": True})
        assert error.message == "$.offset: expected int >= 1, got true"

    def test_unknown_member(self) -> None:
        """Members an op does not take are refused (they are usually typos)."""
        error = refused({"op": "subscribe", "id": "1", "pattern": "a", "pattren": "b"})
        assert error.message == "$: unknown field(s): pattren"

    def test_bad_timeout(self) -> None:
        """A call timeout must be a positive number of seconds, at most 300."""
        error = refused({"op": "call", "id": "1", "agent": "a", "signal": signal_json(), "timeout": 301})
        assert error.message == "$.timeout: expected a number of seconds in (0, 300], got 301"

    def test_invalid_signal(self) -> None:
        """A signal that is not a valid CloudEvent is invalid_signal, paths under $.signal."""
        bad = {"specversion": "1.0", "id": "x", "source": "/s", "type": "a..b"}
        error = refused({"op": "publish", "id": "7", "signal": bad})
        assert (error.code, error.request_id) == ("invalid_signal", "7")
        assert error.message == "$.signal.type: empty segment at position 2 in 'a..b'"
        assert error.details == {
            "errors": [{"path": "$.signal.type", "message": "empty segment at position 2 in 'a..b'"}]
        }

    def test_signal_not_object(self) -> None:
        """A signal member that is not an object is invalid_signal at $.signal."""
        error = refused({"op": "publish", "id": "7", "signal": "x"})
        assert error.message == '$.signal: expected object, got "x"'

    def test_frame_problems_before_signal(self) -> None:
        """The frame's own problems are reported first, the signal once they are fixed."""
        error = refused({"op": "call", "id": "7", "agent": 5, "signal": {}})
        assert (error.code, error.message) == ("bad_frame", "$.agent: expected str, got 5")

    def test_too_large(self) -> None:
        """A frame over the limit is refused before it is read; the id it starts with is echoed."""
        text = json.dumps({"op": "ping", "id": "1", "pad": "x" * LIMIT})
        error = refused(text)
        assert (error.code, error.request_id) == ("too_large", "1")
        assert error.message == f"frame is {len(text)} bytes, over the limit of {LIMIT}"

    def test_too_large_id_not_first(self) -> None:
        """The id of an oversized frame is echoed only when it comes first (after op): it is not parsed."""
        error = refused(json.dumps({"op": "publish", "signal": {"id": "x", "pad": "x" * LIMIT}, "id": "1"}))
        assert (error.code, error.request_id) == ("too_large", None)

    def test_too_large_counts_bytes(self) -> None:
        """The limit is in UTF-8 bytes, not characters."""
        text = json.dumps({"op": "ping", "id": "é" * 5000}, ensure_ascii=False)
        assert len(text) < LIMIT
        assert refused(text).code == "too_large"


class TestFrames:
    def test_result_frame(self) -> None:
        """A result frame echoes the id."""
        assert json.loads(result_frame("3", {"offset": 1})) == {
            "op": "result",
            "id": "3",
            "result": {"offset": 1},
        }

    def test_error_frame_without_details(self) -> None:
        """An error frame leaves details out when there are none."""
        assert json.loads(error_frame(None, "internal", "x")) == {
            "op": "error",
            "id": None,
            "code": "internal",
            "message": "x",
        }

    def test_gateway_error(self) -> None:
        """GatewayError shows its message and keeps code and details."""
        error = GatewayError("forbidden", "no", details={"a": 1})
        assert (str(error), error.code, dict(error.details)) == ("no", "forbidden", {"a": 1})
        assert repr(error) == "GatewayError('forbidden', 'no')"


JSON_VALUES = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=3),
    max_leaves=8,
)
MEMBERS = (
    "pattern",
    "from",
    "durable",
    "subscription",
    "offset",
    "signal",
    "agent",
    "timeout",
    "token",
    "extra",
)
FRAMES = st.one_of(
    JSON_VALUES,
    st.fixed_dictionaries(
        {"op": st.sampled_from(OPS) | st.text(max_size=8), "id": st.text(max_size=4) | st.integers()},
        optional=dict.fromkeys(MEMBERS, JSON_VALUES),
    ),
)


class TestParseProperties:
    @given(FRAMES)
    def test_only_frame_errors(self, frame: Any) -> None:
        """Whatever JSON comes in, parsing gives a request or a FrameError with a known code."""
        outcome: Any
        try:
            outcome = parse_request(json.dumps(frame), max_bytes=LIMIT)
        except FrameError as error:
            outcome = error
        if isinstance(outcome, FrameError):
            assert outcome.code in ERROR_CODES
            assert outcome.message
        else:
            assert outcome.id == frame["id"]

    @given(st.binary(max_size=64))
    def test_arbitrary_bytes(self, raw: bytes) -> None:
        """Arbitrary bytes are bad JSON or a bad frame, never a crash."""
        with pytest.raises(FrameError) as info:
            parse_request(raw, max_bytes=LIMIT)
        assert info.value.code in ("bad_json", "bad_frame", "unknown_op", "invalid_signal")
