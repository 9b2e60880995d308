"""The wire pieces of a signal: JSON text, RFC 3339 timestamps and base64 data.

:class:`jido.signal.Signal` builds its structured-mode JSON from these; they know nothing of signals.

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
import re
from typing import Any, Final, NoReturn

from jido.errors import SignalError

try:
    import orjson as _orjson
except ImportError:  # pragma: no cover - orjson is optional; the standard library path is tested directly
    _orjson = None  # type: ignore[assignment]

__all__ = [
    "DEFAULT_MAX_BYTES",
    "JSON_BACKEND",
    "decode_base64",
    "dumps",
    "encode_base64",
    "format_time",
    "loads",
    "parse_time",
]

DEFAULT_MAX_BYTES: Final = 1024 * 1024
"""The largest JSON text :func:`loads` (and ``Signal.from_json``) accepts unless told otherwise: 1 MiB."""

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
