"""Typed signals: declaring a signal type with a data class, making signals of it, and reading them back."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

import attrs
import pytest

from jido.errors import DefinitionError, SignalError
from jido.signal import Signal, SignalType, typed_signal

TIME = dt.datetime(2026, 11, 22, 10, tzinfo=dt.UTC)


def exactly(message: str) -> str:
    """A pattern matching exactly ``message``."""
    return f"^{re.escape(message)}$"


@attrs.frozen
class Customer:
    id: str
    tier: str = "standard"


@attrs.frozen
class OrderData:
    sku: str
    qty: int
    customer: Customer | None = None
    note: str = ""


@attrs.frozen
class Ping:
    count: int = 0


@attrs.frozen
class Unresolvable:
    x: Missing  # type: ignore[name-defined]  # noqa: F821 - the point of the test


@attrs.frozen
class NotJson:
    value: complex


OrderPlaced = typed_signal("order.placed", OrderData, source="/shop")
PingSent = typed_signal("ping.sent", Ping, source="/pinger", dataschema="urn:schema:ping")


class TestDefinition:
    def test_declares_a_signal_type(self) -> None:
        """typed_signal returns a SignalType holding its arguments."""
        assert isinstance(OrderPlaced, SignalType)
        assert (OrderPlaced.type, OrderPlaced.data_type, OrderPlaced.source) == (
            "order.placed",
            OrderData,
            "/shop",
        )
        assert (OrderPlaced.dataschema, OrderPlaced.allow_extra) == (None, False)

    def test_invalid_type(self) -> None:
        """A type that breaks the dot-path rule is refused when declared."""
        with pytest.raises(
            DefinitionError, match=exactly("invalid typed signal type: empty segment at position 2 in 'a..b'")
        ):
            typed_signal("a..b", OrderData)

    @pytest.mark.parametrize("data_type", [dict, int, OrderData(sku="x", qty=1)])
    def test_data_type_must_be_an_attrs_class(self, data_type: Any) -> None:
        """The data type must be an attrs class."""
        message = f"typed signal 'a.b': data_type must be an attrs class, got {data_type!r}"
        with pytest.raises(DefinitionError, match=exactly(message)):
            typed_signal("a.b", data_type)

    def test_field_types_must_be_json(self) -> None:
        """Every field of the data class must have a JSON type."""
        message = (
            "typed signal 'a.b': field NotJson.value has type <class 'complex'>, "
            "which cannot be serialized to JSON"
        )
        with pytest.raises(DefinitionError, match=exactly(message)):
            typed_signal("a.b", NotJson)

    def test_field_types_must_resolve(self) -> None:
        """A field annotation that names nothing is refused when declared."""
        message = (
            "typed signal 'a.b': cannot resolve the field types of Unresolvable: "
            "name 'Missing' is not defined"
        )
        with pytest.raises(DefinitionError, match=exactly(message)):
            typed_signal("a.b", Unresolvable)

    def test_invalid_source(self) -> None:
        """A default source that is not a URI-reference is refused when declared."""
        message = (
            "typed signal 'a.b': source: 'my shop' is not a URI-reference "
            "(percent-encode spaces and non-ASCII characters)"
        )
        with pytest.raises(DefinitionError, match=exactly(message)):
            typed_signal("a.b", Ping, source="my shop")

    def test_invalid_dataschema(self) -> None:
        """A dataschema that is not an absolute URI is refused when declared."""
        message = "typed signal 'a.b': dataschema: 'schema.json' is not an absolute URI"
        with pytest.raises(DefinitionError, match=exactly(message)):
            typed_signal("a.b", Ping, dataschema="schema.json")

    def test_allow_extra_must_be_a_bool(self) -> None:
        """allow_extra must be a bool."""
        with pytest.raises(
            DefinitionError, match=exactly("typed signal 'a.b': allow_extra must be a bool, got 1")
        ):
            typed_signal("a.b", Ping, allow_extra=1)  # type: ignore[arg-type]

    def test_is_frozen(self) -> None:
        """A declared signal type cannot be changed."""
        with pytest.raises(attrs.exceptions.FrozenInstanceError):
            OrderPlaced.type = "x"  # type: ignore[misc]


class TestNew:
    def test_from_a_mapping(self) -> None:
        """new() checks a mapping and makes a plain Signal carrying it as a JSON object, with defaults."""
        signal = OrderPlaced.new(data={"sku": "x", "qty": 2})
        assert type(signal) is Signal
        assert (signal.type, signal.source, signal.datacontenttype) == (
            "order.placed",
            "/shop",
            "application/json",
        )
        assert signal.data == {"sku": "x", "qty": 2, "customer": None, "note": ""}

    def test_from_an_instance(self) -> None:
        """new() takes an instance of the data class too."""
        signal = OrderPlaced.new(OrderData(sku="x", qty=2, customer=Customer(id="c1")))
        assert signal.data == {"sku": "x", "qty": 2, "customer": {"id": "c1", "tier": "standard"}, "note": ""}

    def test_no_data_means_all_defaults(self) -> None:
        """new() without data uses the data class defaults."""
        assert PingSent.new().data == {"count": 0}

    def test_carries_the_declared_dataschema(self) -> None:
        """Signals made by new() carry the dataschema declared."""
        assert PingSent.new().dataschema == "urn:schema:ping"

    def test_passes_the_other_attributes(self) -> None:
        """source, subject, id, time and extensions given to new() reach the signal."""
        signal = PingSent.new(
            {"count": 1}, source="/other", subject="s", id="p-1", time=TIME, extensions={"tenant": "acme"}
        )
        assert (signal.source, signal.subject, signal.id, signal.time) == ("/other", "s", "p-1", TIME)
        assert signal.extensions == {"tenant": "acme"}

    def test_data_is_checked_strictly(self) -> None:
        """A string where an int is wanted is refused, at its path under $.data."""
        with pytest.raises(SignalError, match=exactly('$.data.qty: expected int, got "2"')):
            OrderPlaced.new(data={"sku": "x", "qty": "2"})

    def test_every_data_problem_is_reported(self) -> None:
        """All data problems are reported, each under $.data."""
        with pytest.raises(SignalError) as caught:
            OrderPlaced.new(data={"qty": True, "customer": {"id": 5}})
        assert sorted(str(e) for e in caught.value.errors) == [
            "$.data.customer.id: expected str, got 5",
            "$.data.qty: expected int, got true",
            "$.data.sku: required field missing",
        ]

    def test_unknown_keys_are_refused(self) -> None:
        """Keys the data class does not have are refused."""
        with pytest.raises(SignalError, match=exactly("$.data: unknown field(s): bogus")):
            OrderPlaced.new(data={"sku": "x", "qty": 1, "bogus": 1})

    def test_allow_extra_drops_unknown_keys(self) -> None:
        """With allow_extra, unknown keys are dropped from the data."""
        lenient = typed_signal("order.placed", OrderData, source="/shop", allow_extra=True)
        assert lenient.new(data={"sku": "x", "qty": 1, "bogus": 1}).data == {
            "sku": "x",
            "qty": 1,
            "customer": None,
            "note": "",
        }

    def test_an_instance_with_wrong_field_types_is_refused(self) -> None:
        """An instance whose fields do not fit their annotations is refused (attrs does not check them)."""
        with pytest.raises(SignalError, match=exactly('$.data.qty: expected int, got "2"')):
            OrderPlaced.new(OrderData(sku="x", qty="2"))  # type: ignore[arg-type]

    @pytest.mark.parametrize(
        ("data", "shown"), [([1], "array"), ("x", '"x"'), (Ping(), "Ping"), (b"x", "bytes")]
    )
    def test_data_of_another_kind_is_refused(self, data: object, shown: str) -> None:
        """Data that is neither the data class nor a mapping is refused."""
        with pytest.raises(SignalError, match=exactly(f"$.data: expected OrderData or object, got {shown}")):
            OrderPlaced.new(data)  # type: ignore[arg-type]

    def test_a_source_is_required(self) -> None:
        """Without a declared source, new() needs one."""
        sourceless = typed_signal("ping.sent", Ping)
        message = "$.source: required attribute missing (give source= here or to typed_signal)"
        with pytest.raises(SignalError, match=exactly(message)):
            sourceless.new()
        assert sourceless.new(source="/here").source == "/here"

    def test_other_attributes_are_checked(self) -> None:
        """Attributes given to new() are checked like any signal's."""
        with pytest.raises(SignalError, match=exactly("$.subject: must not be empty")):
            PingSent.new(subject="")


class TestParse:
    def test_returns_the_data_instance(self) -> None:
        """parse() gives the data as an instance of the data class."""
        signal = Signal(
            type="order.placed", source="/x", data={"sku": "x", "qty": 2, "customer": {"id": "c"}}
        )
        assert OrderPlaced.parse(signal) == OrderData(sku="x", qty=2, customer=Customer(id="c"))

    def test_round_trip_through_json(self) -> None:
        """Data made by new() survives JSON and parses back equal."""
        data = OrderData(sku="x", qty=2, customer=Customer(id="c", tier="gold"), note="caf\u00e9")
        assert OrderPlaced.parse(Signal.from_json(OrderPlaced.new(data).to_json())) == data

    def test_wrong_type_is_refused(self) -> None:
        """A signal of another type is refused at $.type."""
        signal = Signal(type="order.cancelled", source="/x", data={"sku": "x", "qty": 2})
        with pytest.raises(
            SignalError, match=exactly('$.type: expected "order.placed", got "order.cancelled"')
        ):
            OrderPlaced.parse(signal)

    def test_bad_data_is_refused_under_data(self) -> None:
        """Data that does not fit is refused with paths under $.data."""
        signal = Signal(type="order.placed", source="/x", data={"sku": "x", "qty": 2.5})
        with pytest.raises(SignalError, match=exactly("$.data.qty: expected int, got 2.5")):
            OrderPlaced.parse(signal)

    @pytest.mark.parametrize(("data", "shown"), [([1], "array"), ("x", '"x"'), (b"x", "bytes")])
    def test_data_that_is_not_an_object_is_refused(self, data: object, shown: str) -> None:
        """Data that is not a JSON object is refused at $.data."""
        signal = Signal(type="order.placed", source="/x", data=data)
        with pytest.raises(SignalError, match=exactly(f"$.data: expected object, got {shown}")):
            OrderPlaced.parse(signal)

    def test_no_data_reads_as_empty_object(self) -> None:
        """A signal without data parses as {} (all defaults), or fails on the required fields."""
        assert PingSent.parse(Signal(type="ping.sent", source="/x")) == Ping()
        with pytest.raises(
            SignalError,
            match=exactly("$.data.sku: required field missing\n$.data.qty: required field missing"),
        ):
            OrderPlaced.parse(Signal(type="order.placed", source="/x"))

    def test_refuses_a_non_signal(self) -> None:
        """parse() needs a Signal."""
        with pytest.raises(TypeError, match=exactly("'order.placed'.parse() needs a Signal, got dict")):
            OrderPlaced.parse({"type": "order.placed"})  # type: ignore[arg-type]

    def test_matches(self) -> None:
        """matches() compares the type only."""
        assert OrderPlaced.matches(Signal(type="order.placed", source="/x", data="anything"))
        assert not OrderPlaced.matches(Signal(type="order.placed.v2", source="/x"))


@attrs.frozen
class Outer:
    inner: Unresolvable


class TestNestedDefinition:
    def test_nested_field_types_must_resolve(self) -> None:
        """An unresolvable annotation in a nested data class is refused when declared."""
        message = "typed signal 'a.b': cannot resolve the field types of Outer: name 'Missing' is not defined"
        with pytest.raises(DefinitionError, match=exactly(message)):
            typed_signal("a.b", Outer)
