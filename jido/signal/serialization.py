"""The wire pieces of a signal: JSON text, the values JSON carries exactly, RFC 3339 time and base64.

:class:`jido.signal.Signal` builds its structured-mode JSON from these; they know nothing of signals.
A signal's data must be a value JSON carries exactly (:func:`json_value_problem`), so that every signal can be
written, and reads back equal: no tuples (they come back as lists), no ``NaN``, no lone surrogates.

JSON goes through ``orjson`` when it is installed and through the standard library otherwise, with the same
results: the same values out of the same text, the same errors for the same bad text. Where the two disagree
the standard library decides: ``orjson`` reads integers beyond 64 bits as floats and cannot write them, so
text with a run of 19 or more digits, and values ``orjson`` refuses to write, take the standard library's
path; text ``orjson`` rejects is read again by the standard library so that the error message does not
depend on which library is installed. The text written may differ only in how a float is spelled (``1e-07``
or ``1e-7``).
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import json
import math
import re
from collections.abc import Mapping
from typing import Any, Final, NoReturn

from jido.convert import describe_value
from jido.errors import SignalError

try:
    import orjson as _orjson
except ImportError:  # pragma: no cover - orjson is optional; the standard library path is tested directly
    _orjson = None  # type: ignore[assignment]

__all__ = [
    "DEFAULT_MAX_BYTES",
    "JSON_BACKEND",
    "MAX_DATA_DEPTH",
    "decode_base64",
    "dumps",
    "encode_base64",
    "format_time",
    "is_plain_json",
    "json_value_problem",
    "loads",
    "parse_time",
    "utf8_length",
]

DEFAULT_MAX_BYTES: Final = 1024 * 1024
"""The largest JSON text :func:`loads` (and ``Signal.from_json``) accepts unless told otherwise: 1 MiB."""

MAX_DATA_DEPTH: Final = 128
"""How deeply objects and arrays may nest in ``data`` (both JSON libraries refuse far deeper text)."""

_MAX_INT_DIGITS: Final = 4000
_INT_BOUND: Final = 10**_MAX_INT_DIGITS  # below Python's own 4300-digit limit for int <-> text conversion
_SHOWN_CHARS: Final = 60

JSON_BACKEND: Final = "orjson" if _orjson is not None else "json"
"""Which library reads and writes JSON text: ``"orjson"`` when installed, else ``"json"``."""

# Every ASCII digit becomes "0" and every other byte " ": a run of 19 digits is then a plain substring search.
_DIGITS_ONLY: Final = bytes(0x30 if 0x30 <= b <= 0x39 else 0x20 for b in range(256))
_LONG_DIGIT_RUN: Final = b"0" * 19

_RFC3339: Final = re.compile(
    r"\A([0-9]{4})-([0-9]{2})-([0-9]{2})[Tt]([0-9]{2}):([0-9]{2}):([0-9]{2})(?:\.([0-9]+))?"
    r"(?:[Zz]|([+-])([0-9]{2}):([0-9]{2}))\Z"
)


def dumps(value: Any) -> str:
    """Compact JSON text for a JSON value (no spaces, non-ASCII characters kept as they are).

    Raises:
        ValueError: ``value`` is not JSON (a ``NaN``, a set, an object); :class:`jido.signal.Signal` checks
            its data so that this cannot happen for a signal.
    """
    if _orjson is not None:
        try:
            return _orjson.dumps(value).decode()
        except _orjson.JSONEncodeError:
            pass  # integers beyond 64 bits and str subclass keys: the standard library writes them
    return _stdlib_dumps(value)


def _stdlib_dumps(value: Any) -> str:
    try:
        return json.dumps(value, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    except TypeError as exc:
        raise ValueError(str(exc)) from None


def loads(text: str | bytes | bytearray | memoryview, *, max_bytes: int | None = DEFAULT_MAX_BYTES) -> Any:
    """Read one JSON value from untrusted text.

    Args:
        text: UTF-8 JSON text, as ``str`` or bytes.
        max_bytes: refuse text longer than this many bytes (UTF-8) before reading it; ``None`` for no limit.

    Raises:
        SignalError: at ``$``: the text is too long, not UTF-8 or not JSON (``NaN`` and ``Infinity`` are not).
        ValueError: ``max_bytes`` is not a positive int or None (a programming error, not bad input).
    """
    if max_bytes is not None and (
        isinstance(max_bytes, bool) or not isinstance(max_bytes, int) or max_bytes < 1
    ):
        raise ValueError(f"max_bytes must be a positive int or None, got {max_bytes!r}")
    if isinstance(text, bytes):
        raw = text
    elif isinstance(text, str):
        # surrogatepass keeps a lone surrogate as bytes that are not UTF-8, so it fails like bad bytes would.
        raw = text.encode("utf-8", "surrogatepass")
    elif isinstance(text, bytearray | memoryview):
        raw = bytes(text)
    else:
        raise SignalError.at("$", f"expected JSON text as str or bytes, got {type(text).__name__}")
    if max_bytes is not None and len(raw) > max_bytes:
        raise SignalError.at("$", f"signal is {len(raw)} bytes, over the limit of {max_bytes}")
    if _orjson is not None and _LONG_DIGIT_RUN not in raw.translate(_DIGITS_ONLY):
        try:
            return _orjson.loads(raw)
        except _orjson.JSONDecodeError:
            pass  # the standard library reads it again and says what is wrong, in its words
    return _stdlib_loads(raw)


def _reject_constant(name: str) -> NoReturn:
    raise ValueError(f"{name} is not valid JSON")


def _stdlib_loads(raw: bytes) -> Any:
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise SignalError.at("$", f"invalid JSON: not UTF-8 at byte {exc.start}") from None
    try:
        return json.loads(text, parse_constant=_reject_constant)
    except RecursionError:
        raise SignalError.at("$", "invalid JSON: nested too deeply") from None
    except ValueError as exc:  # JSONDecodeError, NaN and Infinity, integers too long to convert
        raise SignalError.at("$", f"invalid JSON: {exc}") from None


def _show(text: str) -> str:
    """``repr(text)``, shortened: untrusted strings can be megabytes long."""
    shown = repr(text)
    return shown if len(shown) <= _SHOWN_CHARS else shown[: _SHOWN_CHARS - 4] + "..." + shown[0]


def _got(value: object) -> str:
    if value is None or isinstance(value, str | int | float):
        return describe_value(value)
    if isinstance(value, Mapping):
        return "object"
    if isinstance(value, list):
        return "array"
    return type(value).__name__


def _text_problem(value: str) -> str | None:
    if value.isascii():
        return None
    try:
        value.encode("utf-8")
    except UnicodeEncodeError as exc:
        return f"has a lone surrogate at index {exc.start}, which is not valid Unicode"
    return None


def _json_problem(value: Any, depth: int) -> tuple[list[str | int], str] | None:
    """The first part of ``value`` that is not JSON: (keys from it up to ``value``, innermost first; why)."""
    kind = type(value)
    if value is None or kind is bool or (kind is str and value.isascii()):
        return None
    if isinstance(value, str):
        problem = _text_problem(value)
        return None if problem is None else ([], problem)
    if isinstance(value, int):  # IntEnum and other subclasses are written as their int value
        if -_INT_BOUND < value < _INT_BOUND:
            return None
        return [], f"expected an integer of at most {_MAX_INT_DIGITS} digits"
    if isinstance(value, float):
        return None if math.isfinite(value) else ([], f"expected a finite number, got {value!r}")
    if isinstance(value, dict | list) and depth > MAX_DATA_DEPTH:
        return [], f"nested deeper than {MAX_DATA_DEPTH} levels"
    if isinstance(value, dict):
        for key, item in value.items():
            if not isinstance(key, str):
                return [], f"expected string keys, got {_got(key)}"
            problem = _text_problem(key)
            if problem is not None:
                return [], f"key {_show(key)} {problem}"
            found = _json_problem(item, depth + 1)
            if found is not None:
                found[0].append(key)
                return found
        return None
    if isinstance(value, list):
        for index, item in enumerate(value):
            found = _json_problem(item, depth + 1)
            if found is not None:
                found[0].append(index)
                return found
        return None
    return [], f"expected a JSON value, got {kind.__name__}"


def json_value_problem(value: Any) -> tuple[str, str] | None:
    """The first part of ``value`` that JSON cannot carry exactly: ``(path below value, why)``, else ``None``.

    JSON values here are ``None``, bool, int (up to 4000 digits), finite float, str (valid Unicode: no lone
    surrogates), list, and dict with str keys, nested at most :data:`MAX_DATA_DEPTH` levels. Subclasses of
    these (``IntEnum``, ``StrEnum``) count as their base type. Tuples do not: they would come back as lists.
    The path is relative, such as ``".items[2].name"`` or ``"['odd key']"``.
    """
    found = _json_problem(value, 1)
    if found is None:
        return None
    keys, problem = found
    path = ""
    for key in reversed(keys):
        if isinstance(key, int):
            path += f"[{key}]"
        else:
            path += f".{key}" if key.isidentifier() else f"[{_show(key)}]"
    return path, problem


def _plain_json(value: Any, depth: int) -> bool:
    """Whether ``value`` is JSON of exact built-in types (what a JSON reader returns), within limits.

    Leaves are checked inline, in the loop: a call per leaf would double the cost.
    """
    kind = type(value)
    if kind is not dict and kind is not list:
        return _plain_json([value], depth)  # a scalar: check it as the one item of a list
    if depth > MAX_DATA_DEPTH:
        return False
    pairs = value.items() if kind is dict else enumerate(value)
    for key, item in pairs:
        if type(key) is str:
            if not key.isascii() and _text_problem(key) is not None:
                return False
        elif kind is dict:
            return False
        kind_of_item = type(item)
        if kind_of_item is str:
            if not item.isascii() and _text_problem(item) is not None:
                return False
        elif kind_of_item is int:
            if not -_INT_BOUND < item < _INT_BOUND:
                return False
        elif kind_of_item is float:
            if not math.isfinite(item):
                return False
        elif kind_of_item is dict or kind_of_item is list:
            if not _plain_json(item, depth + 1):
                return False
        elif item is not None and kind_of_item is not bool:
            return False
    return True


def is_plain_json(value: Any) -> bool:
    """A fast check: ``True`` means :func:`json_value_problem` finds nothing; ``False`` means ask it.

    It accepts only the exact built-in types (what a JSON reader returns), so it can answer without a call
    per value; subclasses and anything unusual get ``False`` and go to the full check.
    """
    return _plain_json(value, 1)


def format_time(value: dt.datetime) -> str:
    """RFC 3339 text for a UTC datetime: ``2026-11-22T10:00:00.123456Z`` (no fraction when it is zero).

    Args:
        value: a datetime whose ``tzinfo`` is ``datetime.UTC`` (signals keep their time in UTC).
    """
    return value.isoformat()[:-6] + "Z"  # isoformat ends with "+00:00" for UTC


def parse_time(text: str) -> dt.datetime | None:
    """Read an RFC 3339 timestamp into a UTC datetime; ``None`` if ``text`` is not one.

    Accepts ``Z`` or a numeric offset and ``T`` or ``t``; a fraction longer than microseconds is truncated.
    Leap seconds (``:60``) are not representable and are refused, as are times outside years 1..9999 in UTC.
    """
    match = _RFC3339.match(text)
    if match is None:
        return None
    year, month, day, hour, minute, second, fraction, sign, off_hours, off_minutes = match.groups()
    canonical = (
        sign is None and text[10] == "T" and text[-1] == "Z" and (fraction is None or len(fraction) == 6)
    )
    # The form format_time writes, which every fromisoformat since 3.11 reads alike and 3x faster. Hour 24 is
    # left to the general path: newer Pythons read T24:00:00 as the next midnight; RFC 3339 does not.
    if canonical and hour < "24":
        try:
            return dt.datetime.fromisoformat(text)  # its UTC is the datetime.UTC singleton
        except ValueError:
            return None
    micros = int(fraction[:6].ljust(6, "0")) if fraction else 0
    try:
        value = dt.datetime(
            int(year), int(month), int(day), int(hour), int(minute), int(second), micros, tzinfo=dt.UTC
        )
        if sign is not None:
            if int(off_hours) > 23 or int(off_minutes) > 59:
                return None
            offset = dt.timedelta(hours=int(off_hours), minutes=int(off_minutes))
            value = value - offset if sign == "+" else value + offset
    except (ValueError, OverflowError):
        return None
    return value


def encode_base64(data: bytes) -> str:
    """Standard base64 (RFC 4648, with padding) of ``data``, as CloudEvents' ``data_base64`` carries it."""
    return base64.b64encode(data).decode("ascii")


def decode_base64(text: str) -> bytes | None:
    """The bytes of standard base64 ``text``; ``None`` if it is not base64 (bad characters or padding)."""
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        return None


def utf8_length(text: str) -> int:
    """The UTF-8 length of ``text`` in bytes (its length when it is ASCII, which CPython knows without a scan);
    a lone surrogate counts as the three bytes it would take."""
    return len(text) if text.isascii() else len(text.encode("utf-8", "surrogatepass"))
