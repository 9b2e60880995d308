"""Properties of the signal wire format: lossless round trips, and bad input that only ever raises SignalError."""

from __future__ import annotations

import datetime as dt
import json
import math
import string
from typing import Any
from unittest import mock

from hypothesis import given
from hypothesis import strategies as st

from jido.errors import SignalError
from jido.signal import CORE_ATTRIBUTES, Signal, serialization

# Valid Unicode text: lone surrogates cannot be written as UTF-8 and are refused by Signal.
TEXT = st.text(st.characters(exclude_categories=("Cs",)), max_size=12)
NON_EMPTY_TEXT = st.text(st.characters(exclude_categories=("Cs",)), min_size=1, max_size=12)

JSON_SCALARS = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**80), max_value=2**80)
    | st.floats(allow_nan=False, allow_infinity=False)
    | TEXT
)
JSON_VALUES = st.recursive(
    JSON_SCALARS,
    lambda children: st.lists(children, max_size=4) | st.dictionaries(TEXT, children, max_size=4),
    max_leaves=12,
)

SEGMENTS = st.text(string.ascii_letters + string.digits + "_-", min_size=1, max_size=6)
TYPES = st.lists(SEGMENTS, min_size=1, max_size=4).map(".".join)
SOURCES = st.text(
    string.ascii_letters + string.digits + "-._~:/?#[]@!$&'()*+,;=", min_size=1, max_size=24
) | (st.just("/caf%C3%A9"))
OFFSETS = st.integers(min_value=-1439, max_value=1439).map(lambda m: dt.timezone(dt.timedelta(minutes=m)))
TIMES = st.datetimes(min_value=dt.datetime(1, 1, 2), max_value=dt.datetime(9999, 12, 30), timezones=OFFSETS)
WELL_KNOWN = {"correlationid", "causationid", "traceparent", "tracestate"}
EXTENSION_NAMES = st.text(string.ascii_lowercase + string.digits, min_size=1, max_size=20).filter(
    lambda n: n not in CORE_ATTRIBUTES | WELL_KNOWN
)
EXTENSION_VALUES = st.booleans() | st.integers(min_value=-(2**31), max_value=2**31 - 1) | TEXT
TRACEPARENTS = st.builds(
    "00-{}-{}-{}".format,
    st.binary(min_size=16, max_size=16).map(bytes.hex),
    st.binary(min_size=8, max_size=8).map(bytes.hex),
    st.sampled_from(["00", "01"]),
)


@st.composite
def extensions(draw: st.DrawFn) -> dict[str, Any]:
    """Extension attributes: arbitrary ones, and sometimes the tracing and causality ones."""
    out: dict[str, Any] = draw(st.dictionaries(EXTENSION_NAMES, EXTENSION_VALUES, max_size=4))
    if draw(st.booleans()):
        out["correlationid"] = draw(NON_EMPTY_TEXT)
        out["causationid"] = draw(NON_EMPTY_TEXT)
    if draw(st.booleans()):
        out["traceparent"] = draw(TRACEPARENTS)
        out["tracestate"] = draw(TEXT)
    return out


SIGNALS = st.builds(
    Signal,
    type=TYPES,
    source=SOURCES,
    data=st.none() | JSON_VALUES | st.binary(max_size=48),
    subject=st.none() | NON_EMPTY_TEXT,
    id=NON_EMPTY_TEXT,
    time=TIMES,
    datacontenttype=st.sampled_from(
        [
            "application/json",
            "text/plain; charset=utf-8",
            "application/octet-stream",
            "application/vnd.x+json",
        ]
    ),
    dataschema=st.none() | st.just("https://example.com/schemas/order.json"),
    extensions=extensions(),
)


def same(a: object, b: object) -> bool:
    """Equal with the same types all the way down (1, 1.0 and True are not the same; nor 0.0 and -0.0)."""
    if type(a) is not type(b):
        return False
    if isinstance(a, float):
        assert isinstance(b, float)
        return a == b and math.copysign(1, a) == math.copysign(1, b)
    if isinstance(a, dict):
        assert isinstance(b, dict)
        return list(a) == list(b) and all(same(a[k], b[k]) for k in a)
    if isinstance(a, list):
        assert isinstance(b, list)
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b, strict=True))
    return a == b


def assert_lossless(original: Signal, copy: Signal) -> None:
    assert copy == original
    assert same(copy.data, original.data)
    assert same(dict(copy.extensions), dict(original.extensions))
    assert copy.time.tzinfo is dt.UTC


def parses_or_refuses(parse: Any, value: object) -> None:
    """``parse(value)`` gives a signal that round-trips, or raises SignalError; nothing else."""
    try:
        signal = parse(value)
    except SignalError:
        return
    assert isinstance(signal, Signal)
    assert_lossless(signal, Signal.from_json(signal.to_json()))


class TestRoundTrip:
    @given(SIGNALS, st.booleans())
    def test_json_round_trip_is_lossless(self, signal: Signal, as_bytes: bool) -> None:
        """from_json(to_json(s)), as text or UTF-8 bytes, equals s with the same data types at every leaf."""
        text = signal.to_json()
        assert_lossless(signal, Signal.from_json(text.encode() if as_bytes else text))

    @given(SIGNALS)
    def test_dict_round_trip_is_lossless(self, signal: Signal) -> None:
        """from_dict(to_dict(s)) equals s."""
        assert_lossless(signal, Signal.from_dict(signal.to_dict()))

    @given(SIGNALS)
    def test_written_text_is_stable(self, signal: Signal) -> None:
        """Writing a signal read from its own text gives the same text."""
        text = signal.to_json()
        assert Signal.from_json(text).to_json() == text

    @given(SIGNALS)
    def test_standard_library_reads_and_writes_the_same(self, signal: Signal) -> None:
        """Without orjson the text reads back to the same signal, and orjson's text is read alike."""
        fast_text = signal.to_json()
        with mock.patch.object(serialization, "_orjson", None):
            slow_text = signal.to_json()
            assert_lossless(signal, Signal.from_json(slow_text))
            assert_lossless(signal, Signal.from_json(fast_text))
        assert json.loads(slow_text) == json.loads(fast_text)

    @given(SIGNALS)
    def test_text_is_standard_json_with_spec_member_names(self, signal: Signal) -> None:
        """The text is plain JSON whose members are CloudEvents attribute names."""
        members = json.loads(signal.to_json())
        names = set(members) - CORE_ATTRIBUTES - {"data_base64"}
        assert names == set(signal.extensions)
        assert ("data_base64" in members) == isinstance(signal.data, bytes)


class TestOnlySignalErrorComesOut:
    @given(JSON_VALUES)
    def test_arbitrary_json_values_to_from_dict(self, value: object) -> None:
        """from_dict on any JSON value gives a signal or SignalError."""
        parses_or_refuses(Signal.from_dict, value)

    @given(
        st.dictionaries(
            st.sampled_from([*CORE_ATTRIBUTES, "data_base64", "x", "Bad"]), JSON_VALUES, max_size=6
        )
    )
    def test_objects_with_attribute_names_to_from_dict(self, value: dict[str, Any]) -> None:
        """from_dict on objects with attribute names and arbitrary values gives a signal or SignalError."""
        parses_or_refuses(Signal.from_dict, value)

    @given(
        SIGNALS,
        st.lists(
            st.tuples(
                st.sampled_from(
                    [*CORE_ATTRIBUTES, "data_base64", "traceparent", "correlationid", "ext", "X"]
                ),
                st.none()
                | JSON_VALUES
                | st.binary(max_size=4)
                | st.tuples(st.integers())
                | st.sets(st.integers(), max_size=2)
                | st.datetimes()
                | st.complex_numbers(),
            ),
            min_size=1,
            max_size=3,
        ),
    )
    def test_mutated_signal_dicts(self, signal: Signal, changes: list[tuple[str, Any]]) -> None:
        """A valid signal's dict with members replaced by anything (Python values too) gives a signal or
        SignalError."""
        attributes = signal.to_dict()
        for name, value in changes:
            if value is None:
                attributes.pop(name, None)
            else:
                attributes[name] = value
        parses_or_refuses(Signal.from_dict, attributes)

    @given(st.binary(max_size=200))
    def test_arbitrary_bytes_to_from_json(self, raw: bytes) -> None:
        """from_json on any bytes gives a signal or SignalError."""
        parses_or_refuses(Signal.from_json, raw)

    @given(st.text(max_size=200))
    def test_arbitrary_text_to_from_json(self, text: str) -> None:
        """from_json on any text (lone surrogates included) gives a signal or SignalError."""
        parses_or_refuses(Signal.from_json, text)

    @given(
        SIGNALS, st.lists(st.tuples(st.integers(min_value=0), st.binary(max_size=3)), min_size=1, max_size=4)
    )
    def test_damaged_signal_text(self, signal: Signal, damage: list[tuple[int, bytes]]) -> None:
        """A valid signal's JSON with bytes replaced gives a signal or SignalError."""
        raw = bytearray(signal.to_json().encode())
        for position, replacement in damage:
            at = position % (len(raw) + 1)
            raw[at : at + len(replacement)] = replacement
        parses_or_refuses(Signal.from_json, bytes(raw))

    @given(JSON_VALUES | st.floats())
    def test_json_text_of_any_value(self, value: object) -> None:
        """from_json on the JSON text of any value (NaN and Infinity included) gives a signal or SignalError."""
        parses_or_refuses(Signal.from_json, json.dumps({"specversion": "1.0", "data": value}))
        parses_or_refuses(Signal.from_json, json.dumps(value))
