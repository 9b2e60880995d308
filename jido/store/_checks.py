"""Argument checks and the clock, shared by every state store backend so that all refuse bad input alike.

Messages name the argument and show the value with ``!r``. Text must be encodable as UTF-8: a Python str may
hold a lone surrogate, which SQLite (and Redis, and JSON) cannot keep, so it is refused at the door by every
backend, the memory one included, instead of failing deep inside one of them.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from typing import Final, Protocol, runtime_checkable

MAX_REVISION: Final = 2**63 - 1
"""The highest revision any backend can keep (SQLite and Redis integers are 64-bit)."""


@runtime_checkable
class WallClock(Protocol):
    """Says what the wall-clock time is (``jido.clock.Clock`` has this shape: any clock of it fits)."""

    def now(self) -> dt.datetime:
        """The current time, timezone-aware."""
        ...


class _SystemClock:
    __slots__ = ()

    def now(self) -> dt.datetime:
        return dt.datetime.now(dt.UTC)

    def __repr__(self) -> str:
        return "SystemClock()"


def check_clock(clock: object) -> WallClock:
    """Return ``clock`` (the system clock for None) if it has a ``now()`` method; else raise TypeError."""
    if clock is None:
        return _SystemClock()
    if not isinstance(clock, WallClock):
        raise TypeError(f"clock must have a now() method, got {clock!r}")
    return clock


def stamp(clock: WallClock) -> dt.datetime:
    """The clock's time in UTC, to the microsecond (what every backend can keep exactly)."""
    now = clock.now()
    if not isinstance(now, dt.datetime) or now.utcoffset() is None:
        raise ValueError(f"clock.now() must return a timezone-aware datetime, got {now!r}")
    return now.astimezone(dt.UTC)


def _check_text(value: object, name: str) -> str:
    if not isinstance(value, str):
        raise TypeError(f"{name} must be a str, got {value!r}")
    if not value.isascii():  # the common case costs no encoding
        try:
            value.encode("utf-8")
        except UnicodeEncodeError as exc:
            raise ValueError(
                f"{name} must be encodable as UTF-8: it holds {value[exc.start]!r} at index {exc.start}"
            ) from None
    return value


def check_agent_id(value: object, name: str = "agent_id") -> str:
    """Return ``value`` if it is a non-empty str encodable as UTF-8; else raise naming ``name``."""
    _check_text(value, name)
    if not value:
        raise ValueError(f"{name} must not be empty")
    return value  # type: ignore[return-value]  # _check_text made sure it is a str


def check_data(value: object) -> str:
    """Return ``value`` if it is a str encodable as UTF-8 (the store does not parse it)."""
    return _check_text(value, "data")


def check_expected_revision(value: object, *, minimum: int) -> int | None:
    """Return ``value`` if it is None or an int (not a bool) from ``minimum`` to ``MAX_REVISION``."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"expected_revision must be None or an int, got {value!r}")
    if not minimum <= value <= MAX_REVISION:
        raise ValueError(f"expected_revision must be from {minimum} to {MAX_REVISION}, got {value!r}")
    return value


def check_wake_at(value: object, name: str = "wake_at") -> dt.datetime | None:
    """Return ``value`` in UTC to the microsecond if it is None or a timezone-aware datetime; else raise."""
    if value is None:
        return None
    if not isinstance(value, dt.datetime):
        raise TypeError(f"{name} must be None or a datetime, got {value!r}")
    if value.utcoffset() is None:
        raise ValueError(f"{name} must be timezone-aware, got {value!r}")
    return value.astimezone(dt.UTC)


def check_int(value: object, name: str, *, minimum: int) -> int:
    """Return ``value`` if it is an int (not a bool) >= ``minimum``; else raise naming ``name``."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{name} must be an int, got {value!r}")
    if value < minimum:
        raise ValueError(f"{name} must be >= {minimum}, got {value!r}")
    return value


def check_ids(agent_ids: object) -> list[str]:
    """Return ``agent_ids`` as a list of distinct agent ids, in first-seen order; else raise."""
    if isinstance(agent_ids, str | bytes) or not isinstance(agent_ids, Iterable):
        raise TypeError(f"agent_ids must be an iterable of str, got {agent_ids!r}")
    ids = list(agent_ids)
    for i, agent_id in enumerate(ids):
        check_agent_id(agent_id, f"agent_ids[{i}]")
    return list(dict.fromkeys(ids))


def check_page(after: object, limit: object) -> tuple[str | None, int]:
    """Return ``(after, limit)`` for ``list_ids`` if ``after`` is None or a str and ``limit`` an int >= 1."""
    if after is not None:
        _check_text(after, "after")
    return after, check_int(limit, "limit", minimum=1)  # type: ignore[return-value]  # checked above


def check_table(value: object, forbidden: Sequence[str]) -> str:
    """Return ``value`` if it can name a SQLite table of ours: an identifier not used by SQLite or the journal."""
    if not isinstance(value, str):
        raise TypeError(f"table must be a str, got {value!r}")
    if not (value.isascii() and value.isidentifier()):
        raise ValueError(f"table must be an ASCII identifier (letters, digits, _), got {value!r}")
    if value.lower().startswith("sqlite_") or value.lower() in forbidden:
        raise ValueError(f"table must not be a name SQLite or the journal uses, got {value!r}")
    return value
