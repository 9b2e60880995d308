"""Signal: construction, defaults, the checks made on every attribute, and the derived-signal helpers."""

from __future__ import annotations

import datetime as dt
import enum
import pickle
import re
import uuid
import zoneinfo
from types import SimpleNamespace
from typing import Any

import attrs
import pytest
from hypothesis import given
from hypothesis import strategies as st

from jido.errors import SignalError, ValidationError
from jido.signal import (
    MAX_DATA_DEPTH,
    TYPE_PATTERN,
    TYPE_SEGMENT_PATTERN,
    Extensions,
    Signal,
    type_problem,
    validate_type,
)
from jido.signal.ids import id_time
from jido.signal.signal import _CACHE_LIMIT, _VALID_TYPES, _errors, _plainly_valid

TIME = dt.datetime(2026, 11, 22, 10, 0, 0, 123456, tzinfo=dt.UTC)
TRACEPARENT = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
BAD_NAME = "is not a valid extension name: use 1 to 20 lowercase letters and digits"
NOT_URI = "is not a URI-reference (percent-encode spaces and non-ASCII characters)"
BAD_TRACEPARENT = "expected a W3C traceparent such as '00-<32 hex>-<16 hex>-<2 hex>', got"


def exactly(message: str) -> str:
    """A pattern matching exactly ``message``."""
    return f"^{re.escape(message)}$"


def make(**changes: object) -> Signal:
    """A valid signal with ``changes`` applied."""
    fields: dict[str, object] = {"type": "order.placed", "source": "/shop", "id": "e-1", "time": TIME}
    return Signal(**(fields | changes))  # type: ignore[arg-type]


class Colour(enum.IntEnum):
    RED = 1


class TestConstruction:
    def test_keywords_with_defaults(self) -> None:
        """type and source are enough; every other attribute has its CloudEvents default."""
        signal = Signal(type="counter.increment", source="/demo", data={"by": 2})
        assert (signal.type, signal.source, signal.data) == ("counter.increment", "/demo", {"by": 2})
        assert (signal.specversion, signal.subject, signal.dataschema) == ("1.0", None, None)
        assert signal.datacontenttype == "application/json"
        assert signal.extensions == {}
        assert uuid.UUID(signal.id).version == 7
        assert signal.time.tzinfo is dt.UTC

    def test_default_time_is_when_it_was_made(self) -> None:
        """Without a time the signal is stamped with the current UTC time."""
        before = dt.datetime.now(dt.UTC)
        signal = Signal(type="a.b", source="/x")
        assert before <= signal.time <= dt.datetime.now(dt.UTC)

    def test_default_id_is_time_ordered(self) -> None:
        """Signals made one after another have increasing ids stamped with their creation time."""
        first, second = Signal(type="a.b", source="/x"), Signal(type="a.b", source="/x")
        assert first.id < second.id
        stamp = id_time(first.id)
        assert stamp is not None
        assert abs(stamp - first.time) < dt.timedelta(seconds=1)

    def test_no_data_by_default(self) -> None:
        """A signal without data has data None."""
        assert Signal(type="a.b", source="/x").data is None

    def test_bytes_data_defaults_to_octet_stream(self) -> None:
        """Binary data gets the content type application/octet-stream unless one is given."""
        assert make(data=b"\x00").datacontenttype == "application/octet-stream"
        assert make(data=b"\x00", datacontenttype="image/png").datacontenttype == "image/png"

    def test_bytearray_data_is_kept_as_bytes(self) -> None:
        """A bytearray is stored as immutable bytes."""
        signal = make(data=bytearray(b"ab"))
        assert type(signal.data) is bytes
        assert signal.data == b"ab"

    def test_positional_arguments_are_refused(self) -> None:
        """Attributes are keyword-only, so a call cannot mix up type and source."""
        with pytest.raises(TypeError):
            Signal("a.b", "/x")  # type: ignore[misc]

    def test_is_frozen(self) -> None:
        """A signal cannot be changed in place."""
        with pytest.raises(attrs.exceptions.FrozenInstanceError):
            make().type = "other"  # type: ignore[misc]

    def test_time_with_an_offset_is_kept_in_utc(self) -> None:
        """A time with another offset is converted to UTC; the instant is unchanged."""
        local = dt.datetime(2026, 11, 22, 11, 0, 0, 123456, tzinfo=dt.timezone(dt.timedelta(hours=1)))
        signal = make(time=local)
        assert signal.time.tzinfo is dt.UTC
        assert signal.time == local
        assert signal.time.hour == 10

    def test_time_in_a_named_zone_is_kept_in_utc(self) -> None:
        """A time in an IANA zone is converted to UTC too."""
        local = dt.datetime(2026, 7, 1, 12, 0, tzinfo=zoneinfo.ZoneInfo("Europe/Paris"))
        assert make(time=local).time == dt.datetime(2026, 7, 1, 10, 0, tzinfo=dt.UTC)

    def test_same_instant_in_other_offsets_gives_equal_signals(self) -> None:
        """Signals differing only in the offset their time was given in are equal."""
        other = TIME.astimezone(dt.timezone(dt.timedelta(hours=-5)))
        assert make(time=other) == make()

    def test_equality_includes_the_id(self) -> None:
        """Two signals with different ids are different signals."""
        assert make() == make()
        assert make(id="e-2") != make()

    def test_hashable_when_data_is(self) -> None:
        """A signal with hashable data (or none) can be a dict key or set member."""
        signal = make(data="x", extensions={"tenant": "acme"})
        assert {signal: 1}[make(data="x", extensions={"tenant": "acme"})] == 1

    def test_pickles(self) -> None:
        """A signal survives pickling, extensions included."""
        signal = make(data={"a": [1, 2.5, None]}, extensions={"tenant": "acme", "n": 3})
        assert pickle.loads(pickle.dumps(signal)) == signal

    def test_enum_values_in_data_are_accepted(self) -> None:
        """Subclasses of JSON scalars (IntEnum and the like) are JSON values."""
        assert make(data={"colour": Colour.RED}).data == {"colour": 1}


class TestTypeRule:
    @pytest.mark.parametrize("value", ["a", "order.placed", "A-b_c.9.x-y", "a.b.c.d.e.f"])
    def test_valid_types(self, value: str) -> None:
        """Dot paths of [A-Za-z0-9_-]+ segments are types."""
        assert type_problem(value) is None
        assert validate_type(value) == value
        assert TYPE_PATTERN.match(value) is not None

    @pytest.mark.parametrize(
        ("value", "problem"),
        [
            (3, "expected str, got 3"),
            (None, "expected str, got null"),
            ("", "must not be empty"),
            ("a..b", "empty segment at position 2 in 'a..b'"),
            (".a", "empty segment at position 1 in '.a'"),
            ("a.", "empty segment at position 2 in 'a.'"),
            ("a.b c", "'b c' at position 2 in 'a.b c' has characters outside [A-Za-z0-9_-]"),
            ("a.*", "'*' at position 2 in 'a.*' has characters outside [A-Za-z0-9_-]"),
            ("caf\u00e9", "'caf\u00e9' at position 1 in 'caf\u00e9' has characters outside [A-Za-z0-9_-]"),
            ("a\n", "'a\\n' at position 1 in 'a\\n' has characters outside [A-Za-z0-9_-]"),
        ],
    )
    def test_invalid_types(self, value: object, problem: str) -> None:
        """Anything else is refused, naming the first bad segment and its position."""
        assert type_problem(value) == problem
        with pytest.raises(SignalError, match=exactly(f"$.type: {problem}")):
            validate_type(value)

    def test_long_values_are_shortened_in_messages(self) -> None:
        """A huge bad type does not make a huge message."""
        problem = type_problem("a " * 10_000)
        assert problem is not None
        assert len(problem) < 200

    def test_validate_type_names_the_path_given(self) -> None:
        """validate_type reports at the path the caller names."""
        with pytest.raises(SignalError, match=exactly("$.route: must not be empty")):
            validate_type("", path="$.route")

    def test_segment_pattern_matches_one_segment(self) -> None:
        """TYPE_SEGMENT_PATTERN matches a single segment and nothing with a dot or a newline."""
        assert TYPE_SEGMENT_PATTERN.match("order-item_2")
        assert not TYPE_SEGMENT_PATTERN.match("a.b")
        assert not TYPE_SEGMENT_PATTERN.match("a\n")

    @given(st.text(alphabet="ab-_.*Z9 \n\u00e9", max_size=12))
    def test_router_applies_the_same_rule(self, value: str) -> None:
        """The router's type parser accepts exactly the types this rule accepts."""
        from jido.signal.pattern import parse_type  # the router's module: imported here, where it is compared

        try:
            parse_type(value)
        except ValidationError:
            router_accepts = False
        else:
            router_accepts = True
        assert router_accepts == (type_problem(value) is None)


class TestValidation:
    @pytest.mark.parametrize(
        ("changes", "line"),
        [
            ({"type": 3}, "$.type: expected str, got 3"),
            ({"type": "a..b"}, "$.type: empty segment at position 2 in 'a..b'"),
            ({"source": None}, "$.source: expected str, got null"),
            ({"source": ""}, "$.source: must not be empty"),
            (
                {"source": "/my shop"},
                f"$.source: '/my shop' {NOT_URI}",
            ),
            (
                {"source": "/caf\u00e9"},
                f"$.source: '/caf\u00e9' {NOT_URI}",
            ),
            (
                {"source": "/a%2"},
                f"$.source: '/a%2' {NOT_URI}",
            ),
            ({"id": ""}, "$.id: must not be empty"),
            ({"id": 7}, "$.id: expected str, got 7"),
            ({"id": "a\ud800"}, "$.id: has a lone surrogate at index 1, which is not valid Unicode"),
            ({"specversion": "1.0.2"}, '$.specversion: expected "1.0", got "1.0.2"'),
            ({"specversion": 1.0}, '$.specversion: expected "1.0", got 1.0'),
            ({"subject": ""}, "$.subject: must not be empty"),
            ({"subject": ["x"]}, "$.subject: expected str, got array"),
            (
                {"time": dt.datetime(2026, 1, 1)},
                "$.time: expected a timezone-aware datetime, got naive 2026-01-01T00:00:00",
            ),
            (
                {"time": "2026-01-01T00:00:00Z"},
                '$.time: expected a timezone-aware datetime, got "2026-01-01T00:00:00Z"',
            ),
            ({"time": dt.date(2026, 1, 1)}, "$.time: expected a timezone-aware datetime, got date"),
            (
                {"time": dt.datetime.min.replace(tzinfo=dt.timezone(dt.timedelta(hours=1)))},
                "$.time: 0001-01-01T00:00:00+01:00 is out of range once converted to UTC",
            ),
            (
                {"datacontenttype": "json"},
                "$.datacontenttype: 'json' is not a media type such as 'application/json'",
            ),
            ({"datacontenttype": ""}, "$.datacontenttype: must not be empty"),
            ({"datacontenttype": None}, "$.datacontenttype: expected str, got null"),
            ({"dataschema": "/schemas/order"}, "$.dataschema: '/schemas/order' is not an absolute URI"),
            ({"dataschema": ""}, "$.dataschema: must not be empty"),
        ],
    )
    def test_invalid_core_attribute(self, changes: dict[str, object], line: str) -> None:
        """A bad core attribute is refused at construction, naming its path."""
        with pytest.raises(SignalError, match=exactly(line)):
            make(**changes)

    @pytest.mark.parametrize(
        "source", ["/demo", "urn:jido:agent:7", "https://example.com/a?b=c#d", "a%20b", "//host/path", "*"]
    )
    def test_valid_sources(self, source: str) -> None:
        """URI-references of every form are sources."""
        assert make(source=source).source == source

    @pytest.mark.parametrize(
        "content_type", ["application/json", "text/plain; charset=utf-8", "application/cloudevents+json"]
    )
    def test_valid_content_types(self, content_type: str) -> None:
        """Media types, with parameters, are content types."""
        assert make(datacontenttype=content_type).datacontenttype == content_type

    def test_absolute_dataschema(self) -> None:
        """An absolute URI is a dataschema."""
        assert (
            make(dataschema="https://example.com/order.json").dataschema == "https://example.com/order.json"
        )

    @pytest.mark.parametrize(
        ("data", "line"),
        [
            ((1, 2), "$.data: expected a JSON value, got tuple"),
            ({1, 2}, "$.data: expected a JSON value, got set"),
            (object(), "$.data: expected a JSON value, got object"),
            (float("nan"), "$.data: expected a finite number, got nan"),
            ({"a": [1, float("inf")]}, "$.data.a[1]: expected a finite number, got inf"),
            ({"a": {1: "x"}}, "$.data.a: expected string keys, got 1"),
            ({"a": {None: "x"}}, "$.data.a: expected string keys, got null"),
            ({"items": [{"x": 1}, {"x": (2,)}]}, "$.data.items[1].x: expected a JSON value, got tuple"),
            ({"odd key": b"x"}, "$.data['odd key']: expected a JSON value, got bytes"),
            ({"s": "a\udc00"}, "$.data.s: has a lone surrogate at index 1, which is not valid Unicode"),
            (
                {"k\ud800": 1},
                "$.data: key 'k\\ud800' has a lone surrogate at index 1, which is not valid Unicode",
            ),
            ({"n": 10**4000}, "$.data.n: expected an integer of at most 4000 digits"),
            ({"when": TIME}, "$.data.when: expected a JSON value, got datetime"),
        ],
    )
    def test_invalid_data(self, data: object, line: str) -> None:
        """Data that is not a JSON value is refused, naming the path of the first bad part."""
        with pytest.raises(SignalError, match=exactly(line)):
            make(data=data)

    def test_data_nested_to_the_limit_is_accepted(self) -> None:
        """Data nested exactly MAX_DATA_DEPTH levels deep is a JSON value."""
        data: object = 1
        for _ in range(MAX_DATA_DEPTH):
            data = [data]
        assert make(data=data).data == data

    def test_data_nested_past_the_limit_is_refused(self) -> None:
        """Data nested deeper than MAX_DATA_DEPTH levels is refused."""
        data: object = 1
        for _ in range(MAX_DATA_DEPTH + 1):
            data = {"a": data}
        path = "$.data" + ".a" * MAX_DATA_DEPTH
        with pytest.raises(SignalError, match=exactly(f"{path}: nested deeper than 128 levels")):
            make(data=data)

    def test_large_integers_are_accepted(self) -> None:
        """Integers beyond 64 bits are JSON values."""
        assert make(data=-(2**200)).data == -(2**200)

    def test_every_problem_is_reported_in_attribute_order(self) -> None:
        """All bad attributes are reported at once, in the order of the CloudEvents attributes."""
        with pytest.raises(SignalError) as caught:
            make(type="", source="", subject="", data=(), extensions={"BAD": 1, "ok": 1.5})
        assert [str(e) for e in caught.value.errors] == [
            "$.source: must not be empty",
            "$.type: must not be empty",
            "$.subject: must not be empty",
            "$.data: expected a JSON value, got tuple",
            "$.BAD: 'BAD' is not a valid extension name: use 1 to 20 lowercase letters and digits",
            "$.ok: expected str, int or bool, got 1.5",
        ]

    def test_signal_error_is_a_validation_error(self) -> None:
        """SignalError is caught as a ValidationError and a ValueError."""
        with pytest.raises(ValueError) as caught:
            make(type="")
        assert isinstance(caught.value, ValidationError)


class TestExtensions:
    def test_kept_as_an_immutable_mapping(self) -> None:
        """Extensions are an Extensions mapping that cannot be changed."""
        signal = make(extensions={"tenant": "acme", "n": 5, "flag": True})
        assert isinstance(signal.extensions, Extensions)
        assert dict(signal.extensions) == {"tenant": "acme", "n": 5, "flag": True}
        with pytest.raises(TypeError):
            signal.extensions["tenant"] = "x"  # type: ignore[index]

    def test_mapping_given_is_copied(self) -> None:
        """Changing the dict given afterwards does not change the signal."""
        given_ = {"tenant": "acme"}
        signal = make(extensions=given_)
        given_["tenant"] = "other"
        assert signal.extensions["tenant"] == "acme"

    def test_none_means_no_extensions(self) -> None:
        """extensions=None is the same as no extensions."""
        assert make(extensions=None) == make()

    @pytest.mark.parametrize(
        ("extensions", "line"),
        [
            (
                {"Tenant": "x"},
                "$.Tenant: 'Tenant' is not a valid extension name: use 1 to 20 lowercase letters and digits",
            ),
            (
                {"my_ext": "x"},
                "$.my_ext: 'my_ext' is not a valid extension name: use 1 to 20 lowercase letters and digits",
            ),
            (
                {"a" * 21: "x"},
                f"$.{'a' * 21}: '{'a' * 21}' {BAD_NAME}",
            ),
            ({"": "x"}, "$['']: '' is not a valid extension name: use 1 to 20 lowercase letters and digits"),
            ({"type": "x"}, "$.type: 'type' is a core attribute, not an extension"),
            ({"data": "x"}, "$.data: 'data' is a core attribute, not an extension"),
            ({"data_base64": "x"}, "$.data_base64: 'data_base64' is a core attribute, not an extension"),
            ({"n": 1.5}, "$.n: expected str, int or bool, got 1.5"),
            ({"n": None}, "$.n: expected str, int or bool, got null"),
            ({"n": [1]}, "$.n: expected str, int or bool, got array"),
            (
                {"n": 2**31},
                "$.n: 2147483648 is outside the CloudEvents Integer range -2147483648..2147483647",
            ),
            (
                {"n": -(2**31) - 1},
                "$.n: -2147483649 is outside the CloudEvents Integer range -2147483648..2147483647",
            ),
            ({"s": "\ud800"}, "$.s: has a lone surrogate at index 0, which is not valid Unicode"),
            ({1: "x"}, "$.extensions: expected string names, got 1"),
            ({"correlationid": 5}, "$.correlationid: expected str, got 5"),
            ({"causationid": ""}, "$.causationid: must not be empty"),
            ({"tracestate": True}, "$.tracestate: expected str, got true"),
            (
                {"traceparent": "00-abc-01"},
                f'$.traceparent: {BAD_TRACEPARENT} "00-abc-01"',
            ),
            (
                {"traceparent": TRACEPARENT.upper()},
                "$.traceparent: expected a W3C traceparent such as '00-<32 hex>-<16 hex>-<2 hex>', "
                f'got "{TRACEPARENT.upper()}"',
            ),
        ],
    )
    def test_invalid_extension(self, extensions: dict[object, object], line: str) -> None:
        """A bad extension name or value is refused, at the path it has in the JSON form."""
        with pytest.raises(SignalError, match=exactly(line)):
            make(extensions=extensions)

    def test_extensions_must_be_a_mapping(self) -> None:
        """Something other than a mapping for extensions is refused."""
        with pytest.raises(SignalError, match=exactly("$.extensions: expected a mapping, got array")):
            make(extensions=[("a", 1)])

    def test_integer_range_bounds_are_accepted(self) -> None:
        """The CloudEvents Integer bounds themselves are valid values."""
        signal = make(extensions={"lo": -(2**31), "hi": 2**31 - 1})
        assert signal.extensions == {"lo": -(2**31), "hi": 2**31 - 1}

    def test_twenty_character_names_are_accepted(self) -> None:
        """Names of 1 and 20 characters are valid."""
        assert set(make(extensions={"a": 1, "comexampleextension1": "v"}).extensions) == {
            "a",
            "comexampleextension1",
        }

    def test_tracing_properties(self) -> None:
        """correlationid, causationid, traceparent and tracestate read their extensions."""
        signal = make(
            extensions={
                "correlationid": "c",
                "causationid": "p",
                "traceparent": TRACEPARENT,
                "tracestate": "k=v",
            }
        )
        assert (signal.correlationid, signal.causationid, signal.traceparent, signal.tracestate) == (
            "c",
            "p",
            TRACEPARENT,
            "k=v",
        )

    def test_tracing_properties_are_none_when_absent(self) -> None:
        """The tracing properties are None on a signal without those extensions."""
        signal = make()
        assert (signal.correlationid, signal.causationid, signal.traceparent, signal.tracestate) == (
            None,
        ) * 4

    def test_traceparent_of_a_later_version_is_accepted(self) -> None:
        """A traceparent with fields after the flags (a later W3C version) is valid."""
        later = "01" + TRACEPARENT[2:] + "-extra"
        assert make(extensions={"traceparent": later}).traceparent == later

    def test_with_extensions_adds_and_replaces(self) -> None:
        """with_extensions returns a copy with the extensions set; the original is unchanged."""
        original = make(extensions={"tenant": "acme"})
        changed = original.with_extensions(tenant="other", priority=5)
        assert changed.extensions == {"tenant": "other", "priority": 5}
        assert original.extensions == {"tenant": "acme"}
        assert changed.id == original.id

    def test_with_extensions_none_removes(self) -> None:
        """with_extensions(name=None) removes that extension; removing a missing one is fine."""
        signal = make(extensions={"tenant": "acme"}).with_extensions(tenant=None, absent=None)
        assert signal.extensions == {}

    def test_with_extensions_checks_values(self) -> None:
        """with_extensions refuses invalid values like the constructor does."""
        with pytest.raises(SignalError, match=exactly("$.priority: expected str, int or bool, got 1.5")):
            make().with_extensions(priority=1.5)  # type: ignore[arg-type]


class TestExtensionsMapping:
    def test_equal_to_dicts_and_each_other(self) -> None:
        """Extensions compare equal to a dict or an Extensions with the same items."""
        assert Extensions({"a": 1}) == {"a": 1}
        assert Extensions({"a": 1}) == Extensions({"a": 1})
        assert Extensions({"a": 1}) != Extensions({"a": 2})
        assert Extensions({"a": 1}) != [("a", 1)]

    def test_hash_follows_items(self) -> None:
        """Equal Extensions hash equal, whatever order the items came in."""
        assert hash(Extensions({"a": 1, "b": "x"})) == hash(Extensions({"b": "x", "a": 1}))

    def test_repr_shows_items(self) -> None:
        """The repr shows the items."""
        assert repr(Extensions({"a": 1})) == "Extensions({'a': 1})"

    def test_mapping_reads(self) -> None:
        """Extensions reads like a mapping: len, in, get, iteration."""
        ext = Extensions({"a": 1, "b": True})
        assert (len(ext), "a" in ext, "z" in ext, ext.get("z"), list(ext)) == (
            2,
            True,
            False,
            None,
            ["a", "b"],
        )


class TestEvolve:
    def test_changes_attributes_and_keeps_the_rest(self) -> None:
        """evolve returns a copy with the changes; id and time are kept."""
        original = make(data={"a": 1})
        changed = original.evolve(data={"a": 2}, subject="s")
        assert (changed.data, changed.subject, changed.id, changed.time) == ({"a": 2}, "s", "e-1", TIME)
        assert original.data == {"a": 1}

    def test_checks_the_changes(self) -> None:
        """evolve refuses invalid changes with SignalError."""
        with pytest.raises(SignalError, match=exactly("$.type: must not be empty")):
            make().evolve(type="")

    def test_refuses_unknown_attributes(self) -> None:
        """evolve refuses a keyword that is not an attribute."""
        with pytest.raises(TypeError):
            make().evolve(colour="red")

    def test_normalises_a_new_time(self) -> None:
        """A time given to evolve is kept in UTC too."""
        other = dt.datetime(2026, 1, 1, 12, tzinfo=dt.timezone(dt.timedelta(hours=2)))
        assert make().evolve(time=other).time == dt.datetime(2026, 1, 1, 10, tzinfo=dt.UTC)


class TestCausedBy:
    def test_first_effect_starts_the_correlation(self) -> None:
        """A signal caused by one without a correlation id is correlated by the parent's id."""
        parent = make(id="p-1")
        child = make(id="c-1").caused_by(parent)
        assert (child.causationid, child.correlationid) == ("p-1", "p-1")

    def test_later_effects_keep_the_correlation(self) -> None:
        """A signal caused by a correlated one shares its correlation id."""
        parent = make(id="p-2", extensions={"correlationid": "conv-9", "causationid": "p-1"})
        child = make(id="c-1").caused_by(parent)
        assert (child.causationid, child.correlationid) == ("p-2", "conv-9")

    def test_takes_the_parents_trace_context(self) -> None:
        """A child without a traceparent takes the parent's traceparent and tracestate."""
        parent = make(extensions={"traceparent": TRACEPARENT, "tracestate": "k=v"})
        child = make(id="c-1").caused_by(parent)
        assert (child.traceparent, child.tracestate) == (TRACEPARENT, "k=v")

    def test_keeps_its_own_trace_context(self) -> None:
        """A child with its own traceparent keeps it and its own tracestate."""
        own = "00-" + "1" * 32 + "-" + "2" * 16 + "-00"
        parent = make(extensions={"traceparent": TRACEPARENT, "tracestate": "k=v"})
        child = make(id="c-1", extensions={"traceparent": own}).caused_by(parent)
        assert (child.traceparent, child.tracestate) == (own, None)

    def test_parent_without_trace_context_adds_none(self) -> None:
        """A parent without a traceparent adds no trace extensions."""
        child = make(id="c-1").caused_by(make())
        assert set(child.extensions) == {"causationid", "correlationid"}

    def test_refuses_a_non_signal_parent(self) -> None:
        """caused_by needs a Signal."""
        with pytest.raises(TypeError, match=exactly("caused_by() needs the parent Signal, got dict")):
            make().caused_by({"id": "x"})  # type: ignore[arg-type]


def nested(depth: int, leaf: object) -> object:
    """``leaf`` inside ``depth`` levels of lists."""
    for _ in range(depth):
        leaf = [leaf]
    return leaf


ANY_TEXT = st.text(max_size=6)
CANDIDATES: dict[str, st.SearchStrategy[Any]] = {
    "specversion": st.sampled_from(["1.0", "1.0.2", 1.0, None]),
    "id": st.sampled_from(["e-1", "", "\u00e9", "a\ud800", 3]) | ANY_TEXT,
    "source": st.sampled_from(["/shop", "", "a b", "/caf\u00e9", "%zz", None]) | ANY_TEXT,
    "type": st.sampled_from(["a.b", "a..b", "", ".a", "\u00e9", 3]) | st.text("ab.-_ ", max_size=6),
    "subject": st.sampled_from([None, "", "s", "\u00e9", "\ud800", 1]),
    "time": st.sampled_from(
        [
            TIME,
            TIME.replace(tzinfo=None),
            TIME.astimezone(dt.timezone(dt.timedelta(hours=2))),
            dt.datetime.min.replace(tzinfo=dt.timezone(dt.timedelta(hours=1))),
            "2026-01-01T00:00:00Z",
        ]
    ),
    "datacontenttype": st.sampled_from(["application/json", "json", "", "text/plain; charset=utf-8", None]),
    "dataschema": st.sampled_from([None, "urn:x", "relative", "", "https://e.com/s.json"]),
    "data": st.recursive(
        st.none()
        | st.booleans()
        | st.sampled_from(
            [10**4000 - 1, 10**4000, -(10**4000), 2**64, Colour.RED, b"x", bytearray(b"x"), (1,)]
        )
        | st.integers()
        | st.floats()
        | st.text(max_size=4),
        lambda children: (
            st.lists(children, max_size=3)
            | st.dictionaries(st.text(max_size=3) | st.integers(0, 2), children, max_size=3)
        ),
        max_leaves=8,
    )
    | st.sampled_from([nested(128, 1), nested(129, 1), nested(128, [1]), nested(127, {"a": [1]})]),
    "extensions": st.dictionaries(
        st.sampled_from(
            [
                *["tenant", "n", "Bad", "type", "data_base64", "a" * 21, ""],
                *["correlationid", "causationid", "traceparent", "tracestate"],
            ]
        ),
        st.sampled_from(
            [
                "x",
                "",
                "\u00e9",
                "\ud800",
                TRACEPARENT,
                TRACEPARENT.upper(),
                True,
                2**31 - 1,
                2**31,
                -(2**31),
                1.5,
            ]
        ),
        max_size=3,
    ),
}


class TestFastPath:
    @given(st.data())
    def test_fast_check_never_passes_what_the_full_checks_refuse(self, data: st.DataObject) -> None:
        """Whatever the fast check lets through, the full checks find nothing wrong with."""
        values: dict[str, Any] = {
            "specversion": "1.0",
            "id": "e-1",
            "source": "/shop",
            "type": "a.b",
            "subject": None,
            "time": TIME,
            "datacontenttype": "application/json",
            "dataschema": None,
            "data": None,
            "extensions": {},
        }
        for name in data.draw(st.sets(st.sampled_from(sorted(CANDIDATES)), max_size=3)):
            values[name] = data.draw(CANDIDATES[name], label=name)
        namespace = SimpleNamespace(**values)
        if _plainly_valid(namespace):
            assert _errors(namespace) == []

    def test_ordinary_signals_take_the_fast_path(self) -> None:
        """A signal of plain values passes the fast check."""
        signal = make(
            subject="s", data={"a": [1, 2.5, "\u00e9", None, True]}, extensions={"n": 1, "f": False}
        )
        assert _plainly_valid(signal)

    def test_remembered_strings_are_bounded(self) -> None:
        """The sets of strings known valid never grow past their limit."""
        for n in range(_CACHE_LIMIT + 10):
            make(type=f"t.n{n}")
        assert 0 < len(_VALID_TYPES) <= _CACHE_LIMIT
