"""Typed signals: a signal type bound to the attrs class its data must fit.

Declare one per kind of event, next to the data class::

    @attrs.frozen
    class OrderData:
        sku: str
        qty: int

    OrderPlaced = typed_signal("order.placed", OrderData, source="/shop")

    signal = OrderPlaced.new({"sku": "x", "qty": 2})   # a plain Signal, data checked strictly
    order = OrderPlaced.parse(incoming)                 # an OrderData, or SignalError

What crosses the wire is an ordinary :class:`~jido.signal.Signal` (its data a JSON object), so typed and
untyped code read each other's signals. Data is checked by :func:`jido.convert.structure`: no silent coercion
(``"2"`` is not an int), unknown keys refused unless ``allow_extra``; errors name the path under ``$.data``
(``$.data.qty: expected int, got "2"``).
"""

from __future__ import annotations

import builtins
import datetime as dt
import typing
from collections.abc import Mapping
from typing import Any, Generic, TypeVar, final

import attrs

from jido.convert import describe_value, is_json_type, structure, unstructure
from jido.errors import DefinitionError, FieldError, SignalError, ValidationError
from jido.signal.serialization import _got
from jido.signal.signal import (
    ExtensionValue,
    Signal,
    _check_dataschema,
    _check_uri_reference,
    type_problem,
)

__all__ = ["SignalType", "typed_signal"]

T = TypeVar("T")


def _resolve_types(tp: Any, seen: set[builtins.type]) -> None:
    """Resolve string annotations of ``tp`` and of every attrs class nested in its fields."""
    if isinstance(tp, builtins.type) and attrs.has(tp):
        if tp in seen:
            return
        seen.add(tp)
        attrs.resolve_types(tp)
        for field in attrs.fields(tp):
            _resolve_types(field.type, seen)
    for arg in typing.get_args(tp):
        _resolve_types(arg, seen)


def _at_data(error: ValidationError) -> SignalError:
    return SignalError([FieldError("$.data" + e.path[1:], e.message) for e in error.errors])


@final
@attrs.frozen
class SignalType(Generic[T]):
    """A signal type whose data is an instance of ``data_type``; made by :func:`typed_signal`.

    Attributes:
        type: the signal type (``"order.placed"``).
        data_type: the attrs class the data must fit; every field has a JSON type.
        source: the source of signals made by :meth:`new` unless it is given one, or ``None``.
        dataschema: the ``dataschema`` of signals made by :meth:`new`, or ``None``.
        allow_extra: drop unknown data keys instead of refusing them (for data from newer producers).
    """

    type: str
    data_type: builtins.type[T]
    source: str | None = None
    dataschema: str | None = None
    allow_extra: bool = False

    def __attrs_post_init__(self) -> None:
        problem = type_problem(self.type)
        if problem is not None:
            raise DefinitionError(f"invalid typed signal type: {problem}")
        where = f"typed signal {self.type!r}"
        cls = self.data_type
        if not (isinstance(cls, builtins.type) and attrs.has(cls)):
            raise DefinitionError(f"{where}: data_type must be an attrs class, got {cls!r}")
        try:
            _resolve_types(cls, set())
        except Exception as exc:  # NameError and friends: an annotation that names nothing
            raise DefinitionError(
                f"{where}: cannot resolve the field types of {cls.__qualname__}: {exc}"
            ) from exc
        for field in attrs.fields(cls):
            if field.type is None or not is_json_type(field.type):
                raise DefinitionError(
                    f"{where}: field {cls.__qualname__}.{field.name} has type {field.type!r}, "
                    "which cannot be serialized to JSON"
                )
        for name, check in (("source", _check_uri_reference), ("dataschema", _check_dataschema)):
            value = getattr(self, name)
            problem = None if value is None else check(value)
            if problem is not None:
                raise DefinitionError(f"{where}: {name}: {problem}")
        if not isinstance(self.allow_extra, bool):
            raise DefinitionError(f"{where}: allow_extra must be a bool, got {self.allow_extra!r}")

    def new(
        self,
        data: T | Mapping[str, Any] | None = None,
        *,
        source: str | None = None,
        subject: str | None = None,
        id: str | None = None,
        time: dt.datetime | None = None,
        extensions: Mapping[str, ExtensionValue] | None = None,
    ) -> Signal:
        """A signal of this type carrying ``data``, checked against ``data_type``.

        Args:
            data: an instance of ``data_type``, or a mapping to check and fill defaults in (``None``: ``{}``).
                The signal carries it as a JSON object.
            source: overrides the source given to :func:`typed_signal`; one of the two is required.
            subject: the signal's subject.
            id: the signal's id (a new UUIDv7 if not given).
            time: the signal's time (now if not given).
            extensions: extension attributes.

        Raises:
            SignalError: the data does not fit (lines under ``$.data``), no source, or another attribute is
                invalid.
        """
        if data is None:
            data = {}
        if isinstance(data, self.data_type):
            # Re-checked: attrs does not enforce annotations, and the data must parse back on the other side.
            raw: object = unstructure(data)
        elif isinstance(data, Mapping):
            raw = data
        else:
            expected = f"{self.data_type.__name__} or object"
            raise SignalError.at("$.data", f"expected {expected}, got {_got(data)}")
        payload = unstructure(self._structure(raw))
        chosen_source = source if source is not None else self.source
        if chosen_source is None:
            raise SignalError.at(
                "$.source", "required attribute missing (give source= here or to typed_signal)"
            )
        fields: dict[str, Any] = {"type": self.type, "source": chosen_source, "data": payload}
        if id is not None:
            fields["id"] = id
        if time is not None:
            fields["time"] = time
        return Signal(**fields, subject=subject, dataschema=self.dataschema, extensions=extensions)

    def parse(self, signal: Signal) -> T:
        """The data of ``signal`` as a ``data_type`` instance, after checking its type and data.

        A signal without data (``data=None``) is read as ``{}``, which fits a data class whose fields all have
        defaults.

        Raises:
            SignalError: ``$.type`` is not this type, or the data does not fit (lines under ``$.data``).
            TypeError: ``signal`` is not a :class:`~jido.signal.Signal`.
        """
        if not isinstance(signal, Signal):
            raise TypeError(f"{self.type!r}.parse() needs a Signal, got {builtins.type(signal).__name__}")
        if signal.type != self.type:
            raise SignalError.at(
                "$.type", f"expected {describe_value(self.type)}, got {describe_value(signal.type)}"
            )
        data = signal.data
        if isinstance(data, bytes):
            raise SignalError.at("$.data", "expected object, got bytes")
        return self._structure({} if data is None else data)

    def matches(self, signal: Signal) -> bool:
        """Whether ``signal`` has this type (its data is not checked; :meth:`parse` does that)."""
        return signal.type == self.type

    def _structure(self, raw: object) -> T:
        try:
            return structure(raw, self.data_type, allow_extra=self.allow_extra)
        except ValidationError as exc:
            raise _at_data(exc) from None


def typed_signal(
    type: str,
    data_type: builtins.type[T],
    *,
    source: str | None = None,
    dataschema: str | None = None,
    allow_extra: bool = False,
) -> SignalType[T]:
    """Declare a signal type whose data must fit the attrs class ``data_type``.

    Args:
        type: the signal type, a dot path (``"order.placed"``).
        data_type: an attrs class whose fields all have JSON types.
        source: the default source of the signals :meth:`SignalType.new` makes.
        dataschema: the ``dataschema`` URI those signals carry.
        allow_extra: drop unknown data keys instead of refusing them.

    Raises:
        DefinitionError: an argument breaks a rule, said when declared rather than when used.
    """
    return SignalType(type, data_type, source=source, dataschema=dataschema, allow_extra=allow_extra)
