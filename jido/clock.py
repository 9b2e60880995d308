"""Wall-clock time for the scheduler: one small protocol, the system clock, and a clock driven by trio time.

Cron schedules are about wall-clock time (``@daily`` in New York is local midnight), while trio measures time on
a monotonic clock of its own. A :class:`Clock` says what the wall-clock time is now; :func:`sleep_until_wall`
waits on trio's clock until a wall-clock moment has come. :class:`TrioClock` derives wall time from
``trio.current_time()``, so tests under ``trio.testing.MockClock`` (the ``autojump_clock`` fixture) run days of
cron ticks in milliseconds, deterministically.
"""

from __future__ import annotations

import datetime as dt
import math
from typing import Final, Protocol, runtime_checkable

import trio

from jido.convert import describe_value
from jido.errors import ValidationError

__all__ = ["DEFAULT_MAX_NAP", "Clock", "SystemClock", "TrioClock", "sleep_until_wall"]

DEFAULT_MAX_NAP: Final = 60.0
"""The longest single trio sleep :func:`sleep_until_wall` takes before it looks at the wall clock again."""


@runtime_checkable
class Clock(Protocol):
    """Says what the wall-clock time is."""

    def now(self) -> dt.datetime:
        """The current wall-clock time, timezone-aware, in UTC."""
        ...


class SystemClock:
    """The machine's wall clock: ``datetime.now(UTC)``."""

    __slots__ = ()

    def now(self) -> dt.datetime:
        """The current wall-clock time of the machine, in UTC."""
        return dt.datetime.now(dt.UTC)

    def __repr__(self) -> str:
        return "SystemClock()"


def check_aware(value: object, path: str) -> dt.datetime:
    """Return ``value`` if it is a timezone-aware datetime.

    Raises:
        ValidationError: one ``<path>: <problem>`` line.
    """
    if not isinstance(value, dt.datetime):
        raise ValidationError.at(path, f"expected a datetime, got {describe_value(value)}")
    if value.utcoffset() is None:
        raise ValidationError.at(path, f"expected a timezone-aware datetime, got naive {value.isoformat()}")
    return value


class TrioClock:
    """Wall-clock time derived from trio's clock: ``start`` plus the trio time elapsed since the anchor.

    The anchor is the trio time when the clock is made inside a trio run, or else when :meth:`now` is first
    called. Under ``trio.testing.MockClock`` wall time then moves exactly as virtual time does, which makes
    cron schedules testable without waiting. A ``TrioClock`` belongs to one trio run: trio time starts afresh
    in each run.

    Args:
        start: the wall-clock time at the anchor, timezone-aware (any zone; kept in UTC). ``None`` means the
            system's wall-clock time at the anchor.

    Raises:
        ValidationError: ``start`` is not a timezone-aware datetime (``$.start: ...``).
    """

    __slots__ = ("_anchor", "_start")

    def __init__(self, start: dt.datetime | None = None) -> None:
        self._start = None if start is None else check_aware(start, "$.start").astimezone(dt.UTC)
        self._anchor: tuple[float, dt.datetime] | None = None
        if trio.lowlevel.in_trio_run():
            self._anchor = self._make_anchor()

    def _make_anchor(self) -> tuple[float, dt.datetime]:
        return trio.current_time(), self._start if self._start is not None else dt.datetime.now(dt.UTC)

    def now(self) -> dt.datetime:
        """``start`` plus the trio time elapsed since the anchor, in UTC. Must be called inside a trio run."""
        if self._anchor is None:
            self._anchor = self._make_anchor()
        trio_at, wall_at = self._anchor
        return wall_at + dt.timedelta(seconds=trio.current_time() - trio_at)

    def __repr__(self) -> str:
        if self._anchor is not None:
            return f"TrioClock(start={self._anchor[1].isoformat()})"
        return f"TrioClock(start={'None' if self._start is None else self._start.isoformat()})"


async def sleep_until_wall(clock: Clock, when: dt.datetime, *, max_nap: float = DEFAULT_MAX_NAP) -> None:
    """Sleep until ``clock.now() >= when``; never return early.

    The wait is a trio sleep for the remaining wall-clock time, checked against the clock again on waking:
    a wall clock may be set back while we sleep, and then we sleep again. No single sleep is longer than
    ``max_nap`` seconds, so a wall clock that jumped forward (or a machine that was suspended, which trio's
    monotonic clock does not count) is noticed within ``max_nap`` seconds, not hours later.

    Args:
        clock: the wall clock.
        when: the moment to wait for, timezone-aware.
        max_nap: the longest single sleep, in seconds (> 0).

    Raises:
        ValidationError: ``when`` is not timezone-aware (``$.when: ...``), or ``max_nap`` is not a positive
            number (``$.max_nap: ...``).
    """
    check_aware(when, "$.when")
    if isinstance(max_nap, bool) or not isinstance(max_nap, int | float) or not 0 < max_nap <= math.inf:
        raise ValidationError.at("$.max_nap", f"expected a number of seconds > 0, got {max_nap!r}")
    while True:
        remaining = (when - clock.now()).total_seconds()
        if remaining <= 0:
            return
        await trio.sleep(min(remaining, max_nap))
