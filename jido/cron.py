"""Cron expressions: parsed and checked once, then asked for the next fire time in their time zone.

The calendar arithmetic is `cronsim <https://pypi.org/project/cronsim/>`_'s (no dependencies, typed, Debian
cron semantics). What is accepted:

- five fields, ``minute hour day-of-month month day-of-week``, each ``*``, a value, a range ``a-b``, a step
  ``*/n``, ``a/n`` or ``a-b/n``, or a comma list of these; month and weekday names (``JAN``, ``mon``);
  ``L`` and ``LW`` in day-of-month, ``5L`` (last Friday) and ``1#2`` (second Monday) in day-of-week. When both
  day fields are restricted (neither starts with ``*``), a day matching either fires (classic cron).
- the nicknames ``@yearly`` (``@annually``), ``@monthly``, ``@weekly``, ``@daily`` (``@midnight``) and
  ``@hourly``.

Six- and seven-field forms (with seconds or years) are refused: their layout differs between libraries
(seconds first in some, last in others), cronsim applies its DST rules only to five-field expressions, and
sub-minute timers are what :meth:`jido.runtime.scheduler.Scheduler.schedule` is for. ``@reboot`` is refused too.

Time zones and daylight saving time follow Debian cron: a time that does not exist on the day the clocks go
forward (02:30 in New York on 2026-03-08) fires at the first moment after the gap (03:00); a time that occurs
twice when they go back (01:30 on 2026-11-01) fires once, at its first occurrence. Expressions whose minute or
hour field starts with ``*`` are about elapsed time and tick through the change like UTC (``0 * * * *`` fires
at both 01:00 of a repeated hour).
"""

from __future__ import annotations

import datetime as dt
import zoneinfo
from typing import Final

import attrs
from cronsim import CronSim, CronSimError
from cronsim.cronsim import Field

from jido.clock import check_aware
from jido.convert import describe_value
from jido.errors import ValidationError

__all__ = ["NICKNAMES", "CronExpr", "parse_cron"]

NICKNAMES: Final = {
    "@yearly": "0 0 1 1 *",
    "@annually": "0 0 1 1 *",
    "@monthly": "0 0 1 * *",
    "@weekly": "0 0 * * 0",
    "@daily": "0 0 * * *",
    "@midnight": "0 0 * * *",
    "@hourly": "0 * * * *",
}
"""Each nickname and the five-field expression it stands for."""

_FIELD_NAMES: Final = ("minute", "hour", "day-of-month", "month", "day-of-week")
_CRONSIM_FIELDS: Final = (Field.MINUTE, Field.HOUR, Field.DAY, Field.MONTH, Field.DOW)
_BOUNDS: Final = ((0, 59), (0, 23), (1, 31), (1, 12), (0, 7))
_VALUES: Final = (
    "0-59",
    "0-23",
    "1-31, L or LW",
    "1-12 or JAN-DEC",
    "0-7 or SUN-SAT (0 and 7 are Sunday), 5L or 1#2",
)
_FIELD_LIST: Final = " ".join(_FIELD_NAMES)
_NICKNAME_LIST: Final = ", ".join(NICKNAMES)
_MAX_RETRIES: Final = 4


def _number(text: str) -> bool:
    return text.isascii() and text.isdecimal()


def _term_problem(index: int, term: str) -> str | None:
    """What is wrong with one comma-separated term of a field, where it can be said more exactly."""
    base, slash, step = term.partition("/")
    if slash and (not _number(step) or int(step) == 0):
        return f"step {step!r} must be a whole number >= 1"
    low, high = _BOUNDS[index]
    ends = base.split("-", 1)
    for end in ends:
        if _number(end) and not low <= int(end) <= high:
            return f"{end} is out of range {low}-{high}"
    if len(ends) == 2 and all(_number(e) for e in ends) and int(ends[0]) > int(ends[1]):
        return f"range {base} runs backwards"
    return None


def _field_problem(index: int, part: str) -> str | None:
    """Why field ``index`` (0 = minute) does not parse, or None if it does."""
    try:
        _CRONSIM_FIELDS[index].parse(part.upper())
    except (CronSimError, ValueError):
        for term in part.split(","):
            problem = _term_problem(index, term)
            if problem is not None:
                return f"{_FIELD_NAMES[index]} field {part!r}: {problem}"
        return (
            f"{_FIELD_NAMES[index]} field {part!r}: expected {_VALUES[index]}, '*', "
            "a-b ranges, /n steps or comma lists"
        )
    return None


def _expand(text: object) -> str:
    """The five-field form of ``text``; raises ``$.expr`` errors."""
    if not isinstance(text, str):
        raise ValidationError.at("$.expr", f"expected str, got {describe_value(text)}")
    stripped = text.strip()
    if not stripped:
        raise ValidationError.at("$.expr", "must not be empty")
    if stripped.startswith("@"):
        fields = NICKNAMES.get(stripped.lower())
        if fields is None:
            if stripped.lower() == "@reboot":
                raise ValidationError.at(
                    "$.expr", "'@reboot' is not supported: do start-up work when the agent starts"
                )
            raise ValidationError.at(
                "$.expr", f"unknown nickname {stripped!r}: expected one of {_NICKNAME_LIST}"
            )
        return fields
    parts = stripped.split()
    if len(parts) != len(_FIELD_NAMES):
        hint = ": seconds and year fields are not supported" if len(parts) in (6, 7) else ""
        raise ValidationError.at("$.expr", f"expected 5 fields ({_FIELD_LIST}), got {len(parts)}{hint}")
    for index, part in enumerate(parts):
        problem = _field_problem(index, part)
        if problem is not None:
            raise ValidationError.at("$.expr", problem)
    fields = " ".join(parts)
    try:
        CronSim(fields, dt.datetime(2000, 1, 1, tzinfo=dt.UTC))
    except CronSimError:
        # Each field parsed alone, so what cronsim refused is the combination: a day that no listed month has.
        raise ValidationError.at(
            "$.expr", f"day-of-month {parts[2]!r} never occurs in month {parts[3]!r}"
        ) from None
    return fields


def _load_zone(tz: object) -> dt.tzinfo:
    if not isinstance(tz, str):
        raise ValidationError.at("$.tz", f"expected str, got {describe_value(tz)}")
    if tz == "UTC":
        return dt.UTC  # cronsim takes a faster path, with nothing to fix up, for datetime.UTC
    try:
        return zoneinfo.ZoneInfo(tz)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        raise ValidationError.at("$.tz", f"{tz!r} is not a known IANA time zone") from None


@attrs.frozen
class CronExpr:
    """A checked cron expression and the time zone it is read in. Build one with :func:`parse_cron`.

    Equal when ``text`` and ``tz`` are equal (``"@daily"`` and ``"0 0 * * *"`` are not equal, though they
    fire at the same times).

    Attributes:
        text: the expression as written (``"*/5 * * * *"``, ``"@daily"``).
        tz: the IANA time zone the fields are read in (``"America/New_York"``).
        fields: the five-field form (a nickname expanded, whitespace made single spaces).

    Raises:
        ValidationError: ``$.expr: ...`` or ``$.tz: ...`` (see :func:`parse_cron`).
    """

    text: str
    tz: str = "UTC"
    fields: str = attrs.field(init=False, eq=False)
    _zone: dt.tzinfo = attrs.field(init=False, eq=False, repr=False)

    def __attrs_post_init__(self) -> None:
        object.__setattr__(self, "fields", _expand(self.text))
        object.__setattr__(self, "_zone", _load_zone(self.tz))

    def next_after(self, moment: dt.datetime) -> dt.datetime:
        """The first fire time strictly after ``moment``, in UTC.

        Args:
            moment: any timezone-aware datetime.

        Raises:
            ValidationError: ``moment`` is not timezone-aware (``$.moment: ...``), or there is no fire time
                after it before the year 10000 (``$.expr: ...``).
        """
        check_aware(moment, "$.moment")
        start = moment.astimezone(self._zone)
        for _ in range(_MAX_RETRIES):
            try:
                found = next(CronSim(self.fields, start)).astimezone(dt.UTC)
            except (StopIteration, OverflowError):
                break
            if found > moment:
                return found
            # cronsim reads local times without their fold: from the second 01:10 of a repeated hour it
            # answers the first 01:30, which has passed. That fire time happened, so look past it.
            start = found.astimezone(self._zone)
        raise ValidationError.at("$.expr", f"{self.text!r} has no fire time after {moment.isoformat()}")


def parse_cron(text: str, tz: str = "UTC") -> CronExpr:
    """Parse and check a cron expression read in time zone ``tz``.

    Args:
        text: five fields or a nickname (see the module documentation).
        tz: an IANA time zone name.

    Raises:
        ValidationError: one line naming what is wrong, such as ``$.expr: minute field '61': 61 is out of
            range 0-59``, ``$.expr: expected 5 fields (minute hour day-of-month month day-of-week), got 3``,
            ``$.tz: 'Mars/Base' is not a known IANA time zone``.
    """
    return CronExpr(text, tz)
