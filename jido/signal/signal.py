"""The signal: a CloudEvents 1.0 event, the one message shape that crosses every boundary of jido.

A :class:`Signal` is a frozen value checked when it is made. Its JSON form is CloudEvents structured mode
(``application/cloudevents+json``): the attribute names of the spec, extension attributes flat beside them,
binary data as ``data_base64``, so any CloudEvents SDK reads what jido writes and jido reads what they write.

Rules checked here, shared with the rest of jido (the router checks its literal segments with the same rule):

- ``type`` is a dot path: segments of ``[A-Za-z0-9_-]+`` separated by single dots (:data:`TYPE_PATTERN`,
  :func:`validate_type`).
- extension names are 1 to 20 lowercase letters and digits (:data:`EXTENSION_NAME_PATTERN`) and may not be a
  core attribute name; their values are ``str``, ``bool`` or ``int`` in the CloudEvents Integer range.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, ItemsView, Iterator, KeysView, Mapping, ValuesView
from types import SimpleNamespace
from typing import Any, Final, TypeAlias, final

import attrs

from jido.errors import FieldError, InternalError, SignalError
from jido.signal.ids import new_id
from jido.signal.serialization import (
    DEFAULT_MAX_BYTES,
    MAX_DATA_DEPTH,
    _got,
    _show,
    _text_problem,
    decode_base64,
    dumps,
    encode_base64,
    format_time,
    is_plain_json,
    json_value_problem,
    loads,
    parse_time,
)

__all__ = [
    "CORE_ATTRIBUTES",
    "EXTENSION_NAME_PATTERN",
    "MAX_DATA_DEPTH",
    "SPECVERSION",
    "TYPE_PATTERN",
    "TYPE_SEGMENT_PATTERN",
    "ExtensionValue",
    "Extensions",
    "Signal",
    "type_problem",
    "validate_type",
]

SPECVERSION: Final = "1.0"
"""The ``specversion`` of every signal: CloudEvents 1.0.x events all carry ``"1.0"``."""

CORE_ATTRIBUTES: Final = frozenset(
    {"specversion", "id", "source", "type", "subject", "time", "datacontenttype", "dataschema", "data"}
)
"""The attribute names CloudEvents defines; an extension may not take one of them (nor ``data_base64``)."""

TYPE_SEGMENT_PATTERN: Final = re.compile(r"\A[A-Za-z0-9_-]+\Z")
"""One segment of a signal type (the router checks the literal segments of its patterns with it)."""

TYPE_PATTERN: Final = re.compile(r"\A[A-Za-z0-9_-]+(?:\.[A-Za-z0-9_-]+)*\Z")
"""A whole signal type: :data:`TYPE_SEGMENT_PATTERN` segments separated by single dots."""

EXTENSION_NAME_PATTERN: Final = re.compile(r"\A[a-z0-9]{1,20}\Z")
"""An extension attribute name, as CloudEvents 1.0.2 names attributes."""

ExtensionValue: TypeAlias = str | int | bool

_SEGMENT_CHARS: Final = "[A-Za-z0-9_-]"
_INT32_MIN: Final = -(2**31)
_INT32_MAX: Final = 2**31 - 1

# RFC 3986 characters; anything else (spaces, non-ASCII) must be percent-encoded. One alternative per
# character keeps matching linear on long hostile input.
_URI_CHAR: Final = r"(?:[A-Za-z0-9\-._~:/?#\[\]@!$&'()*+,;=]|%[0-9A-Fa-f]{2})"
_URI_REFERENCE: Final = re.compile(rf"\A{_URI_CHAR}+\Z")
_ABSOLUTE_URI: Final = re.compile(rf"\A[A-Za-z][A-Za-z0-9+.\-]*:{_URI_CHAR}*\Z")
_MEDIA_TYPE: Final = re.compile(
    r"\A[A-Za-z0-9!#$&^_.+\-]+/[A-Za-z0-9!#$&^_.+\-]+(?:[ \t]*;[^\x00-\x08\x0a-\x1f\x7f]*)?\Z"
)
# W3C Trace Context: version-traceid-parentid-flags; later versions may append fields after another dash.
_TRACEPARENT: Final = re.compile(r"\A[0-9a-f]{2}-[0-9a-f]{32}-[0-9a-f]{16}-[0-9a-f]{2}(?:-[!-~]*)?\Z")
_STRING_EXTENSIONS: Final = frozenset({"correlationid", "causationid", "traceparent", "tracestate"})
_REQUIRED: Final = ("specversion", "id", "source", "type")
_REQUIRED_SET: Final = frozenset(_REQUIRED)
_ABSENT: Final = object()


def _path(name: object) -> str:
    return f"$.{name}" if isinstance(name, str) and name.isidentifier() else f"$[{name!r}]"


def type_problem(value: object) -> str | None:
    """What is wrong with ``value`` as a signal type, or ``None`` if it is a valid one.

    The one rule for signal types: segments of ``[A-Za-z0-9_-]+`` separated by single dots
    (``"order.item.added"``). The message names the first bad segment and its position, counted from 1.
    """
    if not isinstance(value, str):
        return f"expected str, got {_got(value)}"
    if TYPE_PATTERN.match(value) is not None:
        return None
    if not value:
        return "must not be empty"
    for position, segment in enumerate(value.split("."), start=1):
        where = f"at position {position} in {_show(value)}"
        if not segment:
            return f"empty segment {where}"
        if TYPE_SEGMENT_PATTERN.match(segment) is None:
            return f"{_show(segment)} {where} has characters outside {_SEGMENT_CHARS}"
    raise InternalError(f"no bad segment found in {value!r}")  # pragma: no cover - the pattern failed


def validate_type(value: object, *, path: str = "$.type") -> str:
    """Return ``value`` if it is a valid signal type (see :func:`type_problem`).

    Args:
        value: the candidate type.
        path: where the value sits, for the error.

    Raises:
        SignalError: one line, ``<path>: <problem>``.
    """
    problem = type_problem(value)
    if problem is not None:
        raise SignalError.at(path, problem)
    assert isinstance(value, str)  # type_problem returned None
    return value


def _check_specversion(value: object) -> str | None:
    if isinstance(value, str) and value == SPECVERSION:
        return None
    return f'expected "{SPECVERSION}", got {_got(value)}'


def _check_text(value: object) -> str | None:
    """A non-empty string of valid Unicode (CloudEvents String attributes may not be empty)."""
    if not isinstance(value, str):
        return f"expected str, got {_got(value)}"
    if not value:
        return "must not be empty"
    return _text_problem(value)


def _check_optional_text(value: object) -> str | None:
    return None if value is None else _check_text(value)


def _check_uri_reference(value: object) -> str | None:
    if not isinstance(value, str) or not value:
        return _check_text(value)
    if _URI_REFERENCE.match(value) is None:
        return f"{_show(value)} is not a URI-reference (percent-encode spaces and non-ASCII characters)"
    return None


def _check_dataschema(value: object) -> str | None:
    if not isinstance(value, str) or not value:
        return _check_optional_text(value)
    if _ABSOLUTE_URI.match(value) is None:
        return f"{_show(value)} is not an absolute URI"
    return None


def _check_media_type(value: object) -> str | None:
    if not isinstance(value, str) or not value:
        return _check_text(value)
    if _MEDIA_TYPE.match(value) is None:
        return f"{_show(value)} is not a media type such as 'application/json'"
    return None


def _check_time(value: object) -> str | None:
    if not isinstance(value, dt.datetime):
        return f"expected a timezone-aware datetime, got {_got(value)}"
    if value.tzinfo is None or value.utcoffset() is None:
        return f"expected a timezone-aware datetime, got naive {value.isoformat()}"
    if value.tzinfo is not dt.UTC:
        try:
            value.astimezone(dt.UTC)
        except OverflowError:
            return f"{value.isoformat()} is out of range once converted to UTC"
    return None


_CHECKS: Final[tuple[tuple[str, Callable[[object], str | None]], ...]] = (
    ("specversion", _check_specversion),
    ("id", _check_text),
    ("source", _check_uri_reference),
    ("type", type_problem),
    ("subject", _check_optional_text),
    ("time", _check_time),
    ("datacontenttype", _check_media_type),
    ("dataschema", _check_dataschema),
)
_ORDER: Final = {name: index for index, (name, _) in enumerate((*_CHECKS, ("data", None)))}


def _data_error(data: Any) -> FieldError | None:
    if data is None or isinstance(data, bytes | bytearray):
        return None
    found = json_value_problem(data)
    return None if found is None else FieldError("$.data" + found[0], found[1])


def _extension_name_problem(name: str) -> str | None:
    if name in CORE_ATTRIBUTES or name == "data_base64":
        return f"{name!r} is a core attribute, not an extension"
    if EXTENSION_NAME_PATTERN.match(name) is None:
        return f"{_show(name)} is not a valid extension name: use 1 to 20 lowercase letters and digits"
    return None


def _extension_problem(name: str, value: object) -> str | None:
    problem = _extension_name_problem(name)
    if problem is not None:
        return problem
    if name in _STRING_EXTENSIONS:
        if name == "tracestate":
            return f"expected str, got {_got(value)}" if not isinstance(value, str) else _text_problem(value)
        if name == "traceparent" and isinstance(value, str) and _TRACEPARENT.match(value) is None:
            return f"expected a W3C traceparent such as '00-<32 hex>-<16 hex>-<2 hex>', got {_got(value)}"
        return _check_text(value)
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        if _INT32_MIN <= value <= _INT32_MAX:
            return None
        return f"{value} is outside the CloudEvents Integer range {_INT32_MIN}..{_INT32_MAX}"
    if isinstance(value, str):
        return _text_problem(value)
    return f"expected str, int or bool, got {_got(value)}"


def _extension_errors(extensions: Mapping[Any, Any]) -> list[FieldError]:
    errors = []
    for name, value in extensions.items():
        if not isinstance(name, str):
            errors.append(FieldError("$.extensions", f"expected string names, got {_got(name)}"))
            continue
        problem = _extension_problem(name, value)
        if problem is not None:
            errors.append(FieldError(_path(name), problem))
    return errors


def _errors(values: object) -> list[FieldError]:
    """Every problem with the attributes ``values`` has (a signal, or a namespace of some of them)."""
    errors = []
    for name, check in _CHECKS:
        value = getattr(values, name, _ABSENT)
        if value is not _ABSENT:
            problem = check(value)
            if problem is not None:
                errors.append(FieldError(f"$.{name}", problem))
    data_error = _data_error(getattr(values, "data", None))
    if data_error is not None:
        errors.append(data_error)
    extensions = getattr(values, "extensions", None)
    if extensions:
        errors.extend(_extension_errors(extensions))
    return errors


# The fast path. Most signals are plainly valid: attributes of the exact built-in types, ASCII text, and the
# same few types, sources and extension names over and over. Checking that takes a fraction of the time the
# full checks take; anything else goes through the full checks, which also say what is wrong. Every condition
# here implies the full check passes (tests hold the two together). Strings found valid by the full rule are
# remembered in small bounded sets, so recurring ones skip their regular expression.
_CACHE_LIMIT: Final = 4096
_VALID_TYPES: Final[set[str]] = set()
_VALID_SOURCES: Final[set[str]] = set()
_VALID_MEDIA_TYPES: Final[set[str]] = set()
_VALID_DATASCHEMAS: Final[set[str]] = set()
_VALID_EXTENSION_NAMES: Final[set[str]] = set()


def _known_valid(value: object, cache: set[str], check: Callable[[str], str | None]) -> bool:
    if type(value) is not str:
        return False
    if value in cache:
        return True
    if check(value) is not None:
        return False
    if len(cache) >= _CACHE_LIMIT:
        cache.clear()
    cache.add(value)
    return True


def _plain_text(value: object) -> bool:
    return type(value) is str and value != "" and (value.isascii() or _text_problem(value) is None)


def _plain_extensions(extensions: Mapping[str, object]) -> bool:
    for name, value in extensions.items():
        if name in _VALID_EXTENSION_NAMES and name not in _STRING_EXTENSIONS:
            if isinstance(value, bool):
                continue
            if isinstance(value, int):
                if not _INT32_MIN <= value <= _INT32_MAX:
                    return False
            elif not isinstance(value, str) or not value.isascii():
                return False
        elif name == "traceparent":
            if not isinstance(value, str) or _TRACEPARENT.match(value) is None:
                return False
        elif name == "correlationid" or name == "causationid":
            if not _plain_text(value):
                return False
        elif name == "tracestate":
            if not isinstance(value, str) or not value.isascii():
                return False
        elif not _known_valid(name, _VALID_EXTENSION_NAMES, _extension_name_problem) or not _plain_extensions(
            {name: value}
        ):
            return False
    return True


def _plainly_valid(values: Any) -> bool:
    """Whether every attribute of ``values`` (a signal) plainly passes its check (see the fast path above)."""
    subject, dataschema, data = values.subject, values.dataschema, values.data
    time = values.time
    return (
        type(values.specversion) is str
        and values.specversion == SPECVERSION
        and _plain_text(values.id)
        and _known_valid(values.source, _VALID_SOURCES, _check_uri_reference)
        and _known_valid(values.type, _VALID_TYPES, type_problem)
        and (subject is None or _plain_text(subject))
        and type(time) is dt.datetime
        and time.tzinfo is dt.UTC
        and _known_valid(values.datacontenttype, _VALID_MEDIA_TYPES, _check_media_type)
        and (dataschema is None or _known_valid(dataschema, _VALID_DATASCHEMAS, _check_dataschema))
        and (data is None or type(data) is bytes or is_plain_json(data))
        and _plain_extensions(values.extensions)
    )


def _error_order(error: FieldError) -> int:
    """Sort key: errors about the whole object, then core attributes in order, then extensions."""
    if error.path == "$":
        return -1
    name = error.path[2:].split(".", 1)[0].split("[", 1)[0] if error.path.startswith("$.") else ""
    return _ORDER.get("data" if name == "data_base64" else name, len(_ORDER))


@final
class Extensions(Mapping[str, ExtensionValue]):
    """A signal's extension attributes: an immutable, hashable mapping of name to value."""

    __slots__ = ("_items",)

    _items: dict[str, ExtensionValue]

    def __init__(self, items: Mapping[str, ExtensionValue] | None = None) -> None:
        self._items = dict(items) if items else {}

    def __getitem__(self, name: str) -> ExtensionValue:
        return self._items[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._items)

    def __len__(self) -> int:
        return len(self._items)

    def __contains__(self, name: object) -> bool:
        return name in self._items

    def keys(self) -> KeysView[str]:
        return self._items.keys()

    def values(self) -> ValuesView[ExtensionValue]:
        return self._items.values()

    def items(self) -> ItemsView[str, ExtensionValue]:
        return self._items.items()

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Extensions):
            return self._items == other._items
        if isinstance(other, Mapping):
            return self._items == dict(other)
        return NotImplemented

    def __hash__(self) -> int:
        return hash(frozenset(self._items.items()))

    def __repr__(self) -> str:
        return f"Extensions({self._items!r})"

    def __reduce__(self) -> tuple[type[Extensions], tuple[dict[str, ExtensionValue]]]:
        return (Extensions, (self._items,))


_NO_EXTENSIONS: Final = Extensions()


def _to_extensions(value: Mapping[str, ExtensionValue] | None) -> Extensions:
    if type(value) is Extensions:
        return value
    if value is None:
        return _NO_EXTENSIONS
    if type(value) is dict:
        return Extensions(value)
    if not isinstance(value, Mapping):
        raise SignalError.at("$.extensions", f"expected a mapping, got {_got(value)}")
    return Extensions(value)


def _utc_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _default_content_type(signal: Signal) -> str:
    return "application/octet-stream" if isinstance(signal.data, bytes | bytearray) else "application/json"


@final
@attrs.frozen(kw_only=True)
class Signal:
    """A CloudEvents 1.0 event. Build one with keywords: ``Signal(type="order.placed", source="/shop")``.

    Every attribute is checked when the signal is made (also by :meth:`evolve` and the parsers); every problem
    found is reported at once as a :class:`~jido.errors.SignalError` with one ``$.attribute: problem`` line
    each, such as ``$.type: empty segment at position 2 in 'order..placed'``.

    Attributes:
        type: what happened, as a dot path (``"order.item.added"``; see :func:`type_problem`).
        source: where it happened: a non-empty URI-reference (``"/shop/orders"``, ``"urn:jido:agent:7"``).
        data: the payload: any JSON value (``None``, bool, int, float, str, list, dict with str keys, nested
            up to :data:`MAX_DATA_DEPTH` levels), or bytes (a ``bytearray`` is kept as ``bytes``). Strings
            must be valid Unicode; floats finite. ``None`` means no data. Treat it as read-only: not copied.
        subject: what the event is about within the source (``"order-42"``), or ``None``.
        id: unique per source; a new UUIDv7 (:func:`jido.signal.ids.new_id`) unless given.
        time: when it happened, timezone-aware; kept in UTC (another offset is converted, the instant
            kept), so equal instants make equal signals and the JSON always says ``Z``. Defaults to now.
        datacontenttype: the media type of ``data``: ``"application/octet-stream"`` for bytes, otherwise
            ``"application/json"``, unless given.
        dataschema: an absolute URI of the schema ``data`` adheres to, or ``None``.
        extensions: extension attributes, by name (see :data:`EXTENSION_NAME_PATTERN`): ``str``, ``bool`` or
            ``int`` values (-2**31 .. 2**31-1). ``correlationid``, ``causationid``, ``traceparent`` (W3C
            format) and ``tracestate`` must be strings and have properties of their own.
        specversion: always ``"1.0"``.
    """

    type: str
    source: str
    data: Any = None
    subject: str | None = None
    id: str = attrs.field(factory=new_id)
    time: dt.datetime = attrs.field(factory=_utc_now)
    datacontenttype: str = attrs.field(default=attrs.Factory(_default_content_type, takes_self=True))
    dataschema: str | None = None
    extensions: Extensions = attrs.field(default=_NO_EXTENSIONS, converter=_to_extensions)
    specversion: str = SPECVERSION

    def __attrs_post_init__(self) -> None:
        if not _plainly_valid(self):
            errors = _errors(self)
            if errors:
                raise SignalError(errors)
        if self.time.tzinfo is not dt.UTC:
            object.__setattr__(self, "time", self.time.astimezone(dt.UTC))
        if type(self.data) is bytearray:
            object.__setattr__(self, "data", bytes(self.data))

    # -- extensions ---------------------------------------------------------------------------------------

    def _string_extension(self, name: str) -> str | None:
        value = self.extensions.get(name)
        return value if isinstance(value, str) else None

    @property
    def correlationid(self) -> str | None:
        """The ``correlationid`` extension: the id shared by every signal of one conversation, or ``None``."""
        return self._string_extension("correlationid")

    @property
    def causationid(self) -> str | None:
        """The ``causationid`` extension: the id of the signal that caused this one, or ``None``."""
        return self._string_extension("causationid")

    @property
    def traceparent(self) -> str | None:
        """The ``traceparent`` extension (W3C Trace Context, CloudEvents distributed tracing), or ``None``."""
        return self._string_extension("traceparent")

    @property
    def tracestate(self) -> str | None:
        """The ``tracestate`` extension (W3C Trace Context), or ``None``."""
        return self._string_extension("tracestate")

    # -- derived signals ----------------------------------------------------------------------------------

    def evolve(self, **changes: Any) -> Signal:
        """A copy with ``changes`` applied, checked like a new signal.

        The id, time and content type are kept unless changed: give a new ``id`` for a new event.

        Raises:
            SignalError: a changed attribute is invalid.
            TypeError: a keyword is not an attribute.
        """
        return attrs.evolve(self, **changes)

    def with_extensions(self, **values: ExtensionValue | None) -> Signal:
        """A copy with these extension attributes set; a value of ``None`` removes that extension.

        Example: ``signal.with_extensions(tenant="acme", priority=5, traceparent=None)``.

        Raises:
            SignalError: a name or value is invalid.
        """
        merged = dict(self.extensions)
        for name, value in values.items():
            if value is None:
                merged.pop(name, None)
            else:
                merged[name] = value
        return attrs.evolve(self, extensions=merged)

    def caused_by(self, parent: Signal) -> Signal:
        """A copy marked as caused by ``parent``, for causality and tracing.

        Sets ``causationid`` to ``parent.id`` and ``correlationid`` to the parent's correlation id (or its id
        when it has none), so every signal of one conversation shares a correlation id. When this signal
        has no ``traceparent`` it takes the parent's trace context (``traceparent`` and ``tracestate``), so
        the two appear in one trace.

        Raises:
            TypeError: ``parent`` is not a :class:`Signal`.
        """
        if not isinstance(parent, Signal):
            raise TypeError(f"caused_by() needs the parent Signal, got {type(parent).__name__}")
        changes: dict[str, ExtensionValue | None] = {
            "causationid": parent.id,
            "correlationid": parent.correlationid or parent.id,
        }
        if self.traceparent is None and parent.traceparent is not None:
            changes["traceparent"] = parent.traceparent
            changes["tracestate"] = parent.tracestate
        return self.with_extensions(**changes)

    # -- structured-mode JSON -----------------------------------------------------------------------------

    def to_dict(self) -> dict[str, Any]:
        """The CloudEvents structured-mode JSON object for this signal, as a dict.

        Core attributes first (``None`` ones left out), extensions flat beside them, then ``data`` (left
        out when ``None``), or ``data_base64`` for bytes. ``time`` is RFC 3339 text in UTC. ``data`` is not
        copied.
        """
        out: dict[str, Any] = {
            "specversion": self.specversion,
            "id": self.id,
            "source": self.source,
            "type": self.type,
        }
        if self.subject is not None:
            out["subject"] = self.subject
        out["time"] = format_time(self.time)
        out["datacontenttype"] = self.datacontenttype
        if self.dataschema is not None:
            out["dataschema"] = self.dataschema
        if self.extensions:
            out.update(self.extensions)
        data = self.data
        if isinstance(data, bytes):
            out["data_base64"] = encode_base64(data)
        elif data is not None:
            out["data"] = data
        return out

    @classmethod
    def from_dict(cls, attributes: object) -> Signal:
        """Read a signal from a CloudEvents structured-mode JSON object (parsed JSON: dicts, lists, scalars).

        An attribute whose value is ``null`` counts as absent, as CloudEvents' JSON format says, so ``data``
        of ``null`` and no ``data`` both give ``data=None``. Members that are not core attributes are
        extensions. Without ``time`` the signal gets the time it is read; without ``datacontenttype``, the
        default for its data (see :class:`Signal`).

        Args:
            attributes: the untrusted object.

        Raises:
            SignalError: every problem found, each at its ``$.attribute`` path; never any other exception.
        """
        if type(attributes) is not dict and not isinstance(attributes, Mapping):
            raise SignalError.at("$", f"expected object, got {_got(attributes)}")
        errors: list[FieldError] = []
        values: dict[str, Any] = {}
        extensions: dict[str, Any] = {}
        encoded: Any = None
        for name, value in attributes.items():
            if type(name) is not str and not isinstance(name, str):
                errors.append(FieldError("$", f"expected string attribute names, got {_got(name)}"))
            elif value is None:
                continue
            elif name in CORE_ATTRIBUTES:
                values[name] = value
            elif name == "data_base64":
                encoded = value
            else:
                extensions[name] = value
        if not values.keys() >= _REQUIRED_SET:
            errors.extend(
                FieldError(f"$.{name}", "required attribute missing")
                for name in _REQUIRED
                if name not in values
            )
        text = values.get("time")
        if text is not None:
            parsed = parse_time(text) if type(text) is str or isinstance(text, str) else None
            if parsed is None:
                errors.append(FieldError("$.time", f"expected an RFC 3339 timestamp, got {_got(text)}"))
                del values["time"]
            else:
                values["time"] = parsed
        if encoded is not None:
            decoded = decode_base64(encoded) if isinstance(encoded, str) else None
            if "data" in values:
                errors.append(FieldError("$.data_base64", "not allowed together with data"))
            elif decoded is None:
                errors.append(FieldError("$.data_base64", f"expected base64 text, got {_got(encoded)}"))
            else:
                values["data"] = decoded
        if extensions:
            values["extensions"] = extensions
        if errors:
            # Report the problems of the attributes that were there too, in attribute order.
            errors.extend(_errors(SimpleNamespace(**values)))
            raise SignalError(sorted(errors, key=_error_order))
        return cls(**values)

    def to_json(self) -> str:
        """This signal as CloudEvents structured-mode JSON text (compact, UTF-8 characters kept as they are).

        Encode the ``str`` as UTF-8 for the wire; :meth:`from_json` reads either form back.
        """
        return dumps(self.to_dict())

    @classmethod
    def from_json(
        cls, text: str | bytes | bytearray | memoryview, *, max_bytes: int | None = DEFAULT_MAX_BYTES
    ) -> Signal:
        """Read a signal from CloudEvents structured-mode JSON text.

        Args:
            text: the untrusted JSON text, as ``str`` or UTF-8 bytes.
            max_bytes: refuse text over this many bytes before reading it (default 1 MiB); ``None``: no limit.

        Raises:
            SignalError: the text is too long or not JSON (at ``$``), or the object is not a valid signal (see
                :meth:`from_dict`); never any other exception for bad text.
            ValueError: ``max_bytes`` is not a positive int or ``None``.
        """
        return cls.from_dict(loads(text, max_bytes=max_bytes))
