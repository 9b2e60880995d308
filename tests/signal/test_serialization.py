"""Structured-mode JSON: to_dict/from_dict, to_json/from_json, and the JSON, time and base64 pieces."""

from __future__ import annotations

import datetime as dt
import json
import re
from typing import Any

import pytest

from jido.errors import SignalError
from jido.signal import DEFAULT_MAX_BYTES, Signal, serialization
from jido.signal.serialization import format_time, parse_time

TIME = dt.datetime(2026, 11, 22, 10, 0, 0, 123456, tzinfo=dt.UTC)
BAD_NAME = "is not a valid extension name: use 1 to 20 lowercase letters and digits"


def exactly(message: str) -> str:
    """A pattern matching exactly ``message``."""
    return f"^{re.escape(message)}$"


def make(**changes: object) -> Signal:
    """A valid signal with ``changes`` applied."""
    fields: dict[str, object] = {"type": "order.placed", "source": "/shop", "id": "e-1", "time": TIME}
    return Signal(**(fields | changes))  # type: ignore[arg-type]


def wire(**changes: object) -> dict[str, Any]:
    """A valid structured-mode object with ``changes`` applied (a value of ... removes that member)."""
    base: dict[str, Any] = {
        "specversion": "1.0",
        "id": "e-1",
        "source": "/shop",
        "type": "order.placed",
        "time": "2026-11-22T10:00:00.123456Z",
    }
    base.update(changes)
    return {k: v for k, v in base.items() if v is not ...}


class TestToDict:
    def test_core_attributes_in_spec_order(self) -> None:
        """to_dict gives the structured-mode object, core attributes first, then extensions, then data."""
        signal = make(
            subject="order-42",
            dataschema="https://example.com/order.json",
            data={"sku": "x"},
            extensions={"tenant": "acme", "priority": 5, "urgent": True},
        )
        out = signal.to_dict()
        assert list(out) == [
            "specversion",
            "id",
            "source",
            "type",
            "subject",
            "time",
            "datacontenttype",
            "dataschema",
            "tenant",
            "priority",
            "urgent",
            "data",
        ]
        assert out == {
            "specversion": "1.0",
            "id": "e-1",
            "source": "/shop",
            "type": "order.placed",
            "subject": "order-42",
            "time": "2026-11-22T10:00:00.123456Z",
            "datacontenttype": "application/json",
            "dataschema": "https://example.com/order.json",
            "tenant": "acme",
            "priority": 5,
            "urgent": True,
            "data": {"sku": "x"},
        }

    def test_absent_attributes_are_left_out(self) -> None:
        """subject, dataschema and data are left out when None."""
        assert set(make().to_dict()) == {"specversion", "id", "source", "type", "time", "datacontenttype"}

    def test_bytes_travel_as_data_base64(self) -> None:
        """Binary data is written as data_base64, with no data member."""
        out = make(data=b"\x00\xffhi").to_dict()
        assert (out["data_base64"], out["datacontenttype"], "data" in out) == (
            "AP9oaQ==",
            "application/octet-stream",
            False,
        )

    def test_falsy_data_is_kept(self) -> None:
        """Data that is false, zero or empty is still written (only None is left out)."""
        for data in (False, 0, "", [], {}):
            assert make(data=data).to_dict()["data"] == data

    def test_empty_bytes_travel_as_empty_base64(self) -> None:
        """Empty binary data is written as an empty data_base64."""
        assert make(data=b"").to_dict()["data_base64"] == ""


class TestToJson:
    def test_compact_text(self) -> None:
        """to_json writes compact JSON text with the members of to_dict, in order."""
        assert make(data={"by": 2}).to_json() == (
            '{"specversion":"1.0","id":"e-1","source":"/shop","type":"order.placed",'
            '"time":"2026-11-22T10:00:00.123456Z","datacontenttype":"application/json","data":{"by":2}}'
        )

    def test_non_ascii_is_written_as_is(self) -> None:
        """Non-ASCII text is written as UTF-8 characters, not escapes."""
        assert '"data":"caf\u00e9 \U0001f600"' in make(data="caf\u00e9 \U0001f600").to_json()

    def test_same_text_from_either_library(self, monkeypatch: pytest.MonkeyPatch) -> None:
        """The standard library writes the same text as orjson for data without floats."""
        signal = make(data={"a": [1, "\u00e9\n\x01\u2028", None, True, 2**70]}, extensions={"n": -3})
        fast = signal.to_json()
        monkeypatch.setattr(serialization, "_orjson", None)
        assert signal.to_json() == fast


class TestFromDict:
    def test_reads_what_to_dict_wrote(self) -> None:
        """from_dict(to_dict()) gives back an equal signal."""
        signal = make(
            subject="s",
            dataschema="urn:schema:1",
            data={"a": [1, 2.5, None]},
            extensions={"tenant": "acme", "n": 3, "f": False},
        )
        assert Signal.from_dict(signal.to_dict()) == signal

    def test_reads_binary_data(self) -> None:
        """data_base64 comes back as bytes, with the octet-stream default content type."""
        signal = Signal.from_dict(wire(data_base64="AP9oaQ=="))
        assert (signal.data, signal.datacontenttype) == (b"\x00\xffhi", "application/octet-stream")

    def test_null_attributes_are_absent(self) -> None:
        """A null member counts as absent, as the CloudEvents JSON format says."""
        signal = Signal.from_dict(
            wire(subject=None, dataschema=None, data=None, tenant=None, data_base64=None)
        )
        assert (signal.subject, signal.dataschema, signal.data, signal.extensions) == (None, None, None, {})

    def test_missing_time_is_the_time_read(self) -> None:
        """A signal without time gets the time it was read."""
        before = dt.datetime.now(dt.UTC)
        signal = Signal.from_dict(wire(time=...))
        assert before <= signal.time <= dt.datetime.now(dt.UTC)

    def test_missing_content_type_gets_the_default(self) -> None:
        """Without datacontenttype the default for the data applies."""
        assert Signal.from_dict(wire(data={"a": 1})).datacontenttype == "application/json"

    def test_other_members_are_extensions(self) -> None:
        """Members that are not core attributes become extensions."""
        signal = Signal.from_dict(wire(tenant="acme", priority=-5, urgent=True))
        assert signal.extensions == {"tenant": "acme", "priority": -5, "urgent": True}

    def test_time_with_an_offset_is_read_in_utc(self) -> None:
        """A time with an offset is read as the same instant in UTC."""
        signal = Signal.from_dict(wire(time="2026-11-22T11:30:00.5+01:30"))
        assert signal.time == dt.datetime(2026, 11, 22, 10, 0, 0, 500000, tzinfo=dt.UTC)
        assert signal.time.tzinfo is dt.UTC

    def test_attribute_order_does_not_matter(self) -> None:
        """Members may come in any order."""
        assert Signal.from_dict(dict(reversed(list(wire(data=1).items())))) == make(data=1)

    @pytest.mark.parametrize(
        "value",
        [None, [], "text", 3, True, b"{}"],
        ids=["null", "array", "string", "number", "bool", "bytes"],
    )
    def test_non_objects_are_refused(self, value: object) -> None:
        """Only an object is a signal."""
        kinds = {None: "null", "text": '"text"', 3: "3", True: "true", b"{}": "bytes"}
        kind = "array" if isinstance(value, list) else kinds[value]  # type: ignore[index]
        with pytest.raises(SignalError, match=exactly(f"$: expected object, got {kind}")):
            Signal.from_dict(value)

    @pytest.mark.parametrize("name", ["specversion", "id", "source", "type"])
    def test_missing_required_attribute(self, name: str) -> None:
        """Each required attribute must be there."""
        with pytest.raises(SignalError, match=exactly(f"$.{name}: required attribute missing")):
            Signal.from_dict(wire(**{name: ...}))

    @pytest.mark.parametrize("name", ["specversion", "id", "source", "type"])
    def test_null_required_attribute(self, name: str) -> None:
        """A required attribute that is null is missing."""
        with pytest.raises(SignalError, match=exactly(f"$.{name}: required attribute missing")):
            Signal.from_dict(wire(**{name: None}))

    @pytest.mark.parametrize(
        ("changes", "line"),
        [
            ({"type": 3}, "$.type: expected str, got 3"),
            ({"type": "a..b"}, "$.type: empty segment at position 2 in 'a..b'"),
            ({"id": ""}, "$.id: must not be empty"),
            ({"source": {"a": 1}}, "$.source: expected str, got object"),
            ({"specversion": "1.0.2"}, '$.specversion: expected "1.0", got "1.0.2"'),
            ({"specversion": "0.3"}, '$.specversion: expected "1.0", got "0.3"'),
            ({"specversion": 1}, '$.specversion: expected "1.0", got 1'),
            ({"subject": 1}, "$.subject: expected str, got 1"),
            ({"datacontenttype": 1}, "$.datacontenttype: expected str, got 1"),
            ({"dataschema": "no scheme"}, "$.dataschema: 'no scheme' is not an absolute URI"),
            (
                {"Tenant": "x"},
                "$.Tenant: 'Tenant' is not a valid extension name: use 1 to 20 lowercase letters and digits",
            ),
            (
                {"my-ext": "x"},
                f"$['my-ext']: 'my-ext' {BAD_NAME}",
            ),
            ({"priority": 1.5}, "$.priority: expected str, int or bool, got 1.5"),
            ({"priority": [1]}, "$.priority: expected str, int or bool, got array"),
            (
                {"priority": 2**40},
                "$.priority: 1099511627776 is outside the CloudEvents Integer range -2147483648..2147483647",
            ),
            (
                {"traceparent": "x"},
                "$.traceparent: expected a W3C traceparent such as '00-<32 hex>-<16 hex>-<2 hex>', got \"x\"",
            ),
            ({"data": {"a": {"b": float("nan")}}}, "$.data.a.b: expected a finite number, got nan"),
            ({"data": {1: 2}}, "$.data: expected string keys, got 1"),
        ],
    )
    def test_invalid_attribute(self, changes: dict[str, object], line: str) -> None:
        """A bad attribute is refused, naming its path."""
        with pytest.raises(SignalError, match=exactly(line)):
            Signal.from_dict(wire(**changes))

    @pytest.mark.parametrize(
        "text",
        [
            "2026-11-22",
            "2026-11-22T10:00Z",
            "2026-11-22 10:00:00Z",
            "2026-11-22T10:00:00",
            "2026-11-22T10:00:00+0100",
            "2026-11-22T10:00:00+24:00",
            "2026-11-22T10:00:00+01:60",
            "2026-11-22T10:00:60Z",
            "2026-13-01T10:00:00Z",
            "2026-02-30T10:00:00Z",
            "0001-01-01T00:00:00+01:00",
            "2026-11-22T10:00:00.Z",
            "\uff12026-11-22T10:00:00Z",
            "yesterday",
            "",
        ],
    )
    def test_invalid_time_text(self, text: str) -> None:
        """Only RFC 3339 timestamps that exist in UTC are times."""
        shown = json.dumps(text, ensure_ascii=False)
        with pytest.raises(
            SignalError, match=exactly(f"$.time: expected an RFC 3339 timestamp, got {shown}")
        ):
            Signal.from_dict(wire(time=text))

    def test_time_must_be_text(self) -> None:
        """A time that is not a string is refused."""
        with pytest.raises(
            SignalError, match=exactly("$.time: expected an RFC 3339 timestamp, got 1700000000")
        ):
            Signal.from_dict(wire(time=1_700_000_000))

    def test_data_and_data_base64_together_are_refused(self) -> None:
        """data and data_base64 are exclusive."""
        with pytest.raises(SignalError, match=exactly("$.data_base64: not allowed together with data")):
            Signal.from_dict(wire(data="x", data_base64="eA=="))

    @pytest.mark.parametrize(
        ("encoded", "shown"),
        [
            ("!!!!", '"!!!!"'),
            ("eA=", '"eA="'),
            ("eA", '"eA"'),
            ("e A==", '"e A=="'),
            ("\u00e9A==", '"\u00e9A=="'),
            (5, "5"),
        ],
    )
    def test_invalid_base64_is_refused(self, encoded: object, shown: str) -> None:
        """data_base64 must be standard padded base64 text."""
        with pytest.raises(SignalError, match=exactly(f"$.data_base64: expected base64 text, got {shown}")):
            Signal.from_dict(wire(data_base64=encoded))

    def test_non_string_member_names_are_refused(self) -> None:
        """A mapping with a non-string key is refused at $."""
        attributes: dict[Any, Any] = wire()
        attributes[7] = "x"
        with pytest.raises(SignalError, match=exactly("$: expected string attribute names, got 7")):
            Signal.from_dict(attributes)

    def test_every_problem_is_reported_in_attribute_order(self) -> None:
        """Problems found reading and checking are reported together, in attribute order."""
        attributes = wire(specversion=..., source="", time="noon", data="x", data_base64="eA==", BAD=1)
        with pytest.raises(SignalError) as caught:
            Signal.from_dict(attributes)
        assert [str(e) for e in caught.value.errors] == [
            "$.specversion: required attribute missing",
            "$.source: must not be empty",
            '$.time: expected an RFC 3339 timestamp, got "noon"',
            "$.data_base64: not allowed together with data",
            "$.BAD: 'BAD' is not a valid extension name: use 1 to 20 lowercase letters and digits",
        ]


class TestFromJson:
    def test_reads_what_to_json_wrote(self) -> None:
        """from_json(to_json()) gives back an equal signal."""
        signal = make(data={"a": ["\u00e9", 1.5, None, {"b": True}]}, extensions={"tenant": "acme"})
        assert Signal.from_json(signal.to_json()) == signal

    @pytest.mark.parametrize("kind", [bytes, bytearray, memoryview])
    def test_reads_bytes(self, kind: type) -> None:
        """UTF-8 bytes in any buffer type are read like text."""
        signal = make(data="caf\u00e9")
        assert Signal.from_json(kind(signal.to_json().encode())) == signal

    @pytest.mark.parametrize(
        ("text", "line"),
        [
            ("", "$: invalid JSON: Expecting value: line 1 column 1 (char 0)"),
            (
                "{",
                "$: invalid JSON: Expecting property name enclosed in double quotes: "
                "line 1 column 2 (char 1)",
            ),
            ("{} {}", "$: invalid JSON: Extra data: line 1 column 4 (char 3)"),
            ("[1]", "$: expected object, got array"),
            ("null", "$: expected object, got null"),
            ('{"data": NaN}', "$: invalid JSON: NaN is not valid JSON"),
            ('{"data": -Infinity}', "$: invalid JSON: -Infinity is not valid JSON"),
            (
                "\ufeff{}",
                "$: invalid JSON: Unexpected UTF-8 BOM (decode using utf-8-sig): line 1 column 1 (char 0)",
            ),
            ('{"a": "\x01"}', "$: invalid JSON: Invalid control character at: line 1 column 8 (char 7)"),
        ],
    )
    def test_malformed_text_is_refused(self, text: str, line: str) -> None:
        """Text that is not one JSON object is refused at $."""
        with pytest.raises(SignalError, match=exactly(line)):
            Signal.from_json(text)

    def test_bytes_that_are_not_utf8_are_refused(self) -> None:
        """Bytes that are not UTF-8 are refused, naming the first bad byte."""
        with pytest.raises(SignalError, match=exactly("$: invalid JSON: not UTF-8 at byte 7")):
            Signal.from_json(b'{"a": "\xff"}')

    def test_text_with_a_lone_surrogate_is_refused(self) -> None:
        """A str with a lone surrogate is not UTF-8 text."""
        with pytest.raises(SignalError, match=exactly("$: invalid JSON: not UTF-8 at byte 7")):
            Signal.from_json('{"a": "\ud800"}')

    def test_escaped_lone_surrogate_is_refused_where_it_is(self) -> None:
        """An escaped lone surrogate in data is refused at its path."""
        text = json.dumps(wire(data={"s": "\ud800"}))
        line = "$.data.s: has a lone surrogate at index 0, which is not valid Unicode"
        with pytest.raises(SignalError, match=exactly(line)):
            Signal.from_json(text)

    def test_numbers_too_large_for_a_float_are_refused(self) -> None:
        """A number that overflows a float is refused at its path."""
        text = json.dumps(wire()).replace("}", ', "data": [1e400]}')
        with pytest.raises(SignalError, match=exactly("$.data[0]: expected a finite number, got inf")):
            Signal.from_json(text)

    def test_deep_nesting_is_refused(self) -> None:
        """Data nested deeper than the limit is refused; text nested beyond the parsers' limits too."""
        deep = json.dumps(wire()).replace("}", ', "data": ' + "[" * 200 + "]" * 200 + "}")
        with pytest.raises(SignalError, match=r"^\$\.data(\[0\]){128}: nested deeper than 128 levels$"):
            Signal.from_json(deep)
        deeper = '{"data": ' + "[" * 100_000 + "]" * 100_000 + "}"
        with pytest.raises(SignalError, match=exactly("$: invalid JSON: nested too deeply")):
            Signal.from_json(deeper, max_bytes=None)

    def test_integers_beyond_64_bits_are_read_exactly(self) -> None:
        """Integers of any size up to the limit come back exactly, not as floats."""
        data = [2**64, -(2**63) - 1, 10**40, -(10**18), 123456789012345678]
        signal = Signal.from_json(make(data=data).to_json())
        assert signal.data == data
        assert all(type(n) is int for n in signal.data)

    def test_integers_with_too_many_digits_are_refused(self) -> None:
        """An integer longer than Python converts is refused as invalid JSON."""
        text = json.dumps(wire()).replace("}", ', "data": ' + "9" * 5000 + "}")
        with pytest.raises(SignalError, match=r"^\$: invalid JSON: Exceeds the limit \(4300 digits\)"):
            Signal.from_json(text)

    def test_duplicate_members_keep_the_last(self) -> None:
        """Of duplicate members the last one counts, as in every common JSON reader."""
        text = json.dumps(wire())[:-1] + ', "type": "order.shipped"}'
        assert Signal.from_json(text).type == "order.shipped"

    def test_text_over_the_default_limit_is_refused(self) -> None:
        """Text over 1 MiB is refused before it is parsed."""
        text = json.dumps(wire(data="x" * DEFAULT_MAX_BYTES))
        with pytest.raises(
            SignalError, match=exactly(f"$: signal is {len(text)} bytes, over the limit of 1048576")
        ):
            Signal.from_json(text)

    def test_limit_counts_utf8_bytes(self) -> None:
        """The limit counts bytes, not characters."""
        text = json.dumps(wire(data="\u00e9" * 100), ensure_ascii=False)
        size = len(text.encode())
        with pytest.raises(
            SignalError, match=exactly(f"$: signal is {size} bytes, over the limit of {size - 1}")
        ):
            Signal.from_json(text, max_bytes=size - 1)
        assert Signal.from_json(text, max_bytes=size).data == "\u00e9" * 100

    def test_no_limit(self) -> None:
        """max_bytes=None reads text of any size."""
        text = json.dumps(wire(data="x" * (DEFAULT_MAX_BYTES + 1)))
        assert len(Signal.from_json(text, max_bytes=None).data) == DEFAULT_MAX_BYTES + 1

    @pytest.mark.parametrize("max_bytes", [0, -1, 1.5, True, "10"])
    def test_invalid_limit_is_a_programming_error(self, max_bytes: object) -> None:
        """A max_bytes that is not a positive int is a ValueError, not a SignalError."""
        with pytest.raises(
            ValueError, match=exactly(f"max_bytes must be a positive int or None, got {max_bytes!r}")
        ):
            Signal.from_json("{}", max_bytes=max_bytes)  # type: ignore[arg-type]

    def test_non_text_input_is_refused(self) -> None:
        """Something that is neither text nor bytes is refused with SignalError."""
        with pytest.raises(SignalError, match=exactly("$: expected JSON text as str or bytes, got dict")):
            Signal.from_json({"a": 1})  # type: ignore[arg-type]


class TestJsonBackends:
    @pytest.mark.parametrize(
        "text",
        [
            json.dumps(
                wire(data={"big": 2**70, "neg": -(2**64), "f": 1e-7, "g": 1e300, "u": "\u00e9\U0001f600"})
            ),
            json.dumps(wire(data=[0.1, -0.0, 5e-324, 18446744073709551615, 9223372036854775807])),
            json.dumps(wire(data_base64="AAE=", n=5, b=False)),
            json.dumps(wire(data={"s": "\ud83d\ude00"}), ensure_ascii=True),
        ],
    )
    def test_both_libraries_read_the_same_signal(self, text: str, monkeypatch: pytest.MonkeyPatch) -> None:
        """orjson and the standard library read the same signal from the same text."""
        fast = Signal.from_json(text)
        monkeypatch.setattr(serialization, "_orjson", None)
        slow = Signal.from_json(text)
        assert slow == fast
        assert repr(slow.data) == repr(fast.data)  # same types too: 2**70 stays an int

    @pytest.mark.parametrize(
        "text",
        [
            "{",
            '{"data": NaN}',
            '{"a": "\\ud800"}',
            "[" * 2000 + "]" * 2000,
            '{"a": 1e400}',
            "\ufeff{}",
            '{"a": 01}',
        ],
    )
    def test_both_libraries_refuse_alike(self, text: str, monkeypatch: pytest.MonkeyPatch) -> None:
        """orjson and the standard library refuse bad text with the same message."""
        with pytest.raises(SignalError) as fast:
            Signal.from_json(text)
        monkeypatch.setattr(serialization, "_orjson", None)
        with pytest.raises(SignalError) as slow:
            Signal.from_json(text)
        assert str(slow.value) == str(fast.value)

    def test_float_text_differs_only_in_spelling(self, monkeypatch: pytest.MonkeyPatch) -> None:
        """Floats may be spelled differently by the two libraries, but read back the same."""
        signal = make(data=[1e-7, 1e22, 0.1, 123456.789])
        fast = signal.to_json()
        monkeypatch.setattr(serialization, "_orjson", None)
        slow = signal.to_json()
        assert Signal.from_json(fast) == Signal.from_json(slow) == signal

    def test_backend_is_named(self) -> None:
        """JSON_BACKEND names the library in use."""
        assert serialization.JSON_BACKEND in ("orjson", "json")

    def test_dumps_refuses_what_is_not_json(self, monkeypatch: pytest.MonkeyPatch) -> None:
        """dumps raises ValueError for values that are not JSON, with either library."""
        with pytest.raises(ValueError):
            serialization.dumps({"a": {1, 2}})
        monkeypatch.setattr(serialization, "_orjson", None)
        with pytest.raises(ValueError, match=r"^Object of type set is not JSON serializable$"):
            serialization.dumps({"a": {1, 2}})


class TestTimeText:
    @pytest.mark.parametrize(
        ("value", "text"),
        [
            (TIME, "2026-11-22T10:00:00.123456Z"),
            (dt.datetime(2026, 11, 22, 10, tzinfo=dt.UTC), "2026-11-22T10:00:00Z"),
            (dt.datetime(2026, 11, 22, 10, 0, 0, 1, tzinfo=dt.UTC), "2026-11-22T10:00:00.000001Z"),
            (dt.datetime(33, 1, 2, 3, 4, 5, tzinfo=dt.UTC), "0033-01-02T03:04:05Z"),
        ],
    )
    def test_format(self, value: dt.datetime, text: str) -> None:
        """UTC times are written as RFC 3339 with Z, microseconds only when there are some."""
        assert format_time(value) == text
        assert parse_time(text) == value

    @pytest.mark.parametrize(
        ("text", "value"),
        [
            ("2026-11-22t10:00:00z", dt.datetime(2026, 11, 22, 10, tzinfo=dt.UTC)),
            ("2026-11-22T10:00:00.123456789Z", TIME),
            ("2026-11-22T10:00:00.1Z", dt.datetime(2026, 11, 22, 10, 0, 0, 100000, tzinfo=dt.UTC)),
            ("2026-11-22T05:00:00-05:00", dt.datetime(2026, 11, 22, 10, tzinfo=dt.UTC)),
            ("2026-11-22T10:00:00-00:00", dt.datetime(2026, 11, 22, 10, tzinfo=dt.UTC)),
            ("2026-11-23T09:59:00+23:59", dt.datetime(2026, 11, 22, 10, tzinfo=dt.UTC)),
            ("9999-12-31T23:59:59.999999Z", dt.datetime.max.replace(tzinfo=dt.UTC)),
        ],
    )
    def test_parse(self, text: str, value: dt.datetime) -> None:
        """RFC 3339 variants are read as the UTC instant; digits past microseconds are dropped."""
        parsed = parse_time(text)
        assert parsed == value
        assert parsed is not None
        assert parsed.tzinfo is dt.UTC


class TestCloudEventsInterop:
    """The examples of the CloudEvents 1.0.2 JSON format spec are read, and written back member for member."""

    BINARY = """{
        "specversion" : "1.0",
        "type" : "com.example.someevent",
        "source" : "/mycontext",
        "id" : "A234-1234-1234",
        "time" : "2018-04-05T17:31:00Z",
        "comexampleextension1" : "value",
        "comexampleothervalue" : 5,
        "datacontenttype" : "application/vnd.apache.thrift.binary",
        "data_base64" : "CAABAAAAA2FiYwA="
    }"""
    XML = """{
        "specversion" : "1.0",
        "type" : "com.example.someevent",
        "source" : "/mycontext",
        "id" : "C234-1234-1234",
        "time" : "2018-04-05T17:31:00Z",
        "comexampleextension1" : "value",
        "comexampleothervalue" : 5,
        "unsetextension": null,
        "datacontenttype" : "application/xml",
        "data" : "<much wow=\\"xml\\"/>"
    }"""
    JSON_DATA = """{
        "specversion" : "1.0",
        "type" : "com.example.someevent",
        "source" : "/mycontext",
        "subject": null,
        "id" : "C234-1234-1234",
        "time" : "2018-04-05T17:31:00Z",
        "comexampleextension1" : "value",
        "comexampleothervalue" : 5,
        "datacontenttype" : "application/json",
        "data" : {
            "appinfoA" : "abc",
            "appinfoB" : 123,
            "appinfoC" : true
        }
    }"""

    @pytest.mark.parametrize("text", [BINARY, XML, JSON_DATA], ids=["binary", "xml", "json"])
    def test_spec_examples_round_trip(self, text: str) -> None:
        """Each spec example is read and written back with the same members (null ones dropped)."""
        expected = {k: v for k, v in json.loads(text).items() if v is not None}
        assert Signal.from_json(text).to_dict() == expected

    def test_spec_example_attributes(self) -> None:
        """The binary example's attributes land where CloudEvents puts them."""
        signal = Signal.from_json(self.BINARY)
        assert (signal.type, signal.source, signal.id) == (
            "com.example.someevent",
            "/mycontext",
            "A234-1234-1234",
        )
        assert signal.time == dt.datetime(2018, 4, 5, 17, 31, tzinfo=dt.UTC)
        assert signal.extensions == {"comexampleextension1": "value", "comexampleothervalue": 5}
        assert signal.data == b"\x08\x00\x01\x00\x00\x00\x03abc\x00"

    def test_written_members_follow_the_spec(self) -> None:
        """Every member written is a spec attribute, data_base64, or a lowercase alphanumeric extension."""
        signal = make(subject="s", data=b"x", extensions={"correlationid": "c", "n": 1})
        out = json.loads(signal.to_json())
        assert all(re.fullmatch(r"[a-z0-9]{1,20}|datacontenttype|data_base64", name) for name in out)
        assert out["specversion"] == "1.0"
        assert dt.datetime.fromisoformat(out["time"].replace("Z", "+00:00")) == TIME
