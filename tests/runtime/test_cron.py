"""Cron expressions: parsing with exact errors, nicknames, next fire times across time zones and DST."""

from __future__ import annotations

import datetime as dt
import re
import zoneinfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from jido.agent.directives import Cron
from jido.agent.spec import CronSchedule
from jido.cron import NICKNAMES, CronExpr, parse_cron
from jido.errors import FieldError, ValidationError
from jido.signal import Signal

UTC = dt.UTC
NY = "America/New_York"


def utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> dt.datetime:
    return dt.datetime(year, month, day, hour, minute, tzinfo=UTC)


def fire_times(expr: CronExpr, start: dt.datetime, count: int) -> list[dt.datetime]:
    times = []
    moment = start
    for _ in range(count):
        moment = expr.next_after(moment)
        times.append(moment)
    return times


class TestParseErrors:
    @pytest.mark.parametrize(
        ("text", "message"),
        [
            ("61 * * * *", "minute field '61': 61 is out of range 0-59"),
            ("* 24 * * *", "hour field '24': 24 is out of range 0-23"),
            ("* * 0 * *", "day-of-month field '0': 0 is out of range 1-31"),
            ("* * * 13 *", "month field '13': 13 is out of range 1-12"),
            ("* * * * 8", "day-of-week field '8': 8 is out of range 0-7"),
            ("1,2,99 * * * *", "minute field '1,2,99': 99 is out of range 0-59"),
            ("*/0 * * * *", "minute field '*/0': step '0' must be a whole number >= 1"),
            ("*/x * * * *", "minute field '*/x': step 'x' must be a whole number >= 1"),
            ("5-1 * * * *", "minute field '5-1': range 5-1 runs backwards"),
            ("a * * * *", "minute field 'a': expected 0-59, '*', a-b ranges, /n steps or comma lists"),
            (
                "* * * FOO *",
                "month field 'FOO': expected 1-12 or JAN-DEC, '*', a-b ranges, /n steps or comma lists",
            ),
            (
                "* * * * 1#6",
                "day-of-week field '1#6': expected 0-7 or SUN-SAT (0 and 7 are Sunday), 5L or 1#2, '*', "
                "a-b ranges, /n steps or comma lists",
            ),
            ("0 0 30 2 *", "day-of-month '30' never occurs in month '2'"),
            ("0 0 31 4,6 *", "day-of-month '31' never occurs in month '4,6'"),
        ],
    )
    def test_bad_field(self, text: str, message: str) -> None:
        """A bad field is named, with the reason."""
        with pytest.raises(ValidationError, match=rf"^\$\.expr: {re.escape(message)}$"):
            parse_cron(text)

    @pytest.mark.parametrize(
        ("text", "message"),
        [
            ("* * *", "expected 5 fields (minute hour day-of-month month day-of-week), got 3"),
            ("* * * * * * * *", "expected 5 fields (minute hour day-of-month month day-of-week), got 8"),
            (
                "0 0 * * * *",
                "expected 5 fields (minute hour day-of-month month day-of-week), got 6: "
                "seconds and year fields are not supported",
            ),
            (
                "0 0 0 * * * 2026",
                "expected 5 fields (minute hour day-of-month month day-of-week), got 7: "
                "seconds and year fields are not supported",
            ),
        ],
    )
    def test_wrong_field_count(self, text: str, message: str) -> None:
        """Anything but five fields is refused, seconds and years included."""
        with pytest.raises(ValidationError, match=rf"^\$\.expr: {re.escape(message)}$"):
            parse_cron(text)

    @pytest.mark.parametrize("text", ["", "   "])
    def test_empty(self, text: str) -> None:
        """An empty expression is refused."""
        with pytest.raises(ValidationError, match=r"^\$\.expr: must not be empty$"):
            parse_cron(text)

    def test_not_a_string(self) -> None:
        """An expression that is not a string is refused."""
        with pytest.raises(ValidationError, match=r"^\$\.expr: expected str, got 5$"):
            parse_cron(5)  # type: ignore[arg-type]

    def test_unknown_nickname(self) -> None:
        """An unknown nickname lists the known ones."""
        with pytest.raises(
            ValidationError,
            match=r"^\$\.expr: unknown nickname '@fortnightly': expected one of @yearly, @annually, @monthly, "
            r"@weekly, @daily, @midnight, @hourly$",
        ):
            parse_cron("@fortnightly")

    def test_reboot(self) -> None:
        """@reboot is not a schedule."""
        with pytest.raises(
            ValidationError,
            match=r"^\$\.expr: '@reboot' is not supported: do start-up work when the agent starts$",
        ):
            parse_cron("@reboot")

    @pytest.mark.parametrize("tz", ["Mars/Base", "", "../etc/passwd"])
    def test_unknown_zone(self, tz: str) -> None:
        """An unknown time zone is refused at $.tz."""
        with pytest.raises(
            ValidationError, match=rf"^\$\.tz: {re.escape(repr(tz))} is not a known IANA time zone$"
        ):
            parse_cron("@daily", tz)

    def test_zone_not_a_string(self) -> None:
        """A time zone that is not a string is refused."""
        with pytest.raises(ValidationError, match=r"^\$\.tz: expected str, got null$"):
            parse_cron("@daily", None)  # type: ignore[arg-type]

    @given(st.text(alphabet="0123456789*/,-@LW#? abcdefghjklmnoprstuvwxyzJANFEBMONSUT\t", max_size=30))
    def test_any_text_parses_or_raises_validation_error(self, text: str) -> None:
        """Whatever the text, parse_cron returns a CronExpr or raises one $.expr ValidationError."""
        errors: tuple[FieldError, ...] = ()
        try:
            expr = parse_cron(text)
        except ValidationError as exc:
            errors = exc.errors
        else:
            assert expr.next_after(utc(2026, 1, 1)) > utc(2026, 1, 1)
        assert [e.path for e in errors] in ([], ["$.expr"])


class TestParse:
    def test_fields_and_names(self) -> None:
        """Names and extra whitespace are accepted; fields holds the normalised five-field form."""
        expr = parse_cron("  0  9 *\t* mon-fri ", "Europe/Paris")
        assert (expr.text, expr.tz, expr.fields) == (
            "  0  9 *\t* mon-fri ",
            "Europe/Paris",
            "0 9 * * mon-fri",
        )

    def test_equality(self) -> None:
        """Expressions are equal by text and zone, and hashable."""
        assert parse_cron("@daily") == CronExpr("@daily", "UTC")
        assert parse_cron("@daily") != parse_cron("@daily", NY)
        assert parse_cron("@daily") != parse_cron("0 0 * * *")
        assert len({parse_cron("@daily"), CronExpr("@daily")}) == 1

    def test_direct_construction_checks(self) -> None:
        """CronExpr(...) checks its text like parse_cron."""
        with pytest.raises(ValidationError, match=r"^\$\.expr: minute field '61': 61 is out of range 0-59$"):
            CronExpr("61 * * * *")

    def test_repr(self) -> None:
        """The repr shows text, zone and fields."""
        assert repr(parse_cron("@hourly")) == "CronExpr(text='@hourly', tz='UTC', fields='0 * * * *')"


class TestNicknames:
    @pytest.mark.parametrize(
        ("nickname", "first", "second"),
        [
            ("@hourly", utc(2026, 3, 7, 11), utc(2026, 3, 7, 12)),
            ("@daily", utc(2026, 3, 8), utc(2026, 3, 9)),
            ("@midnight", utc(2026, 3, 8), utc(2026, 3, 9)),
            ("@weekly", utc(2026, 3, 8), utc(2026, 3, 15)),  # Sundays
            ("@monthly", utc(2026, 4, 1), utc(2026, 5, 1)),
            ("@yearly", utc(2027, 1, 1), utc(2028, 1, 1)),
            ("@annually", utc(2027, 1, 1), utc(2028, 1, 1)),
        ],
    )
    def test_nickname_fire_times(self, nickname: str, first: dt.datetime, second: dt.datetime) -> None:
        """Each nickname fires at its classic times."""
        assert fire_times(parse_cron(nickname), utc(2026, 3, 7, 10, 30), 2) == [first, second]

    @pytest.mark.parametrize("nickname", sorted(NICKNAMES))
    def test_nickname_matches_expansion(self, nickname: str) -> None:
        """A nickname fires exactly when its five-field form does, in a DST zone too."""
        start = utc(2026, 3, 1)
        expansion = parse_cron(NICKNAMES[nickname], NY)
        assert fire_times(parse_cron(nickname, NY), start, 5) == fire_times(expansion, start, 5)

    def test_nickname_case_insensitive(self) -> None:
        """Nicknames are read without regard to case."""
        assert parse_cron("@DAILY").fields == "0 0 * * *"


class TestNextAfter:
    def test_strictly_after(self) -> None:
        """A moment that is itself a fire time gives the next one."""
        assert parse_cron("*/5 * * * *").next_after(utc(2026, 3, 8, 0, 5)) == utc(2026, 3, 8, 0, 10)

    def test_sub_second_moment(self) -> None:
        """A moment just before a fire time gives that fire time."""
        moment = dt.datetime(2026, 3, 8, 0, 4, 59, 999999, tzinfo=UTC)
        assert parse_cron("*/5 * * * *").next_after(moment) == utc(2026, 3, 8, 0, 5)

    def test_result_in_utc(self) -> None:
        """The result is in UTC whatever the zone of the moment."""
        moment = dt.datetime(2026, 3, 7, 12, tzinfo=zoneinfo.ZoneInfo("Asia/Tokyo"))
        found = parse_cron("0 * * * *", NY).next_after(moment)
        assert found == utc(2026, 3, 7, 4) and found.tzinfo is UTC

    def test_every_five_minutes(self) -> None:
        """*/5 fires at :00, :05, :10."""
        times = fire_times(parse_cron("*/5 * * * *"), utc(2026, 3, 7, 23, 58), 3)
        assert times == [utc(2026, 3, 8, 0, 0), utc(2026, 3, 8, 0, 5), utc(2026, 3, 8, 0, 10)]

    def test_daily_new_york_across_spring_forward(self) -> None:
        """@daily in New York fires at local midnight: 05:00Z before the switch, 04:00Z after."""
        times = fire_times(parse_cron("@daily", NY), utc(2026, 3, 6, 12), 4)
        assert times == [utc(2026, 3, 7, 5), utc(2026, 3, 8, 5), utc(2026, 3, 9, 4), utc(2026, 3, 10, 4)]

    def test_daily_new_york_across_fall_back(self) -> None:
        """@daily in New York: 04:00Z before the clocks go back, 05:00Z after."""
        times = fire_times(parse_cron("@daily", NY), utc(2026, 10, 31, 12), 2)
        assert times == [utc(2026, 11, 1, 4), utc(2026, 11, 2, 5)]

    def test_time_in_spring_gap_exact(self) -> None:
        """The gap day fires once, at the first moment after the gap."""
        times = fire_times(parse_cron("30 2 * * *", NY), utc(2026, 3, 7, 12), 2)
        assert times == [utc(2026, 3, 8, 7), utc(2026, 3, 9, 6, 30)]

    def test_repeated_hour_fires_once(self) -> None:
        """01:30 happens twice in New York on 2026-11-01; it fires once, at the first (05:30Z)."""
        times = fire_times(parse_cron("30 1 * * *", NY), utc(2026, 10, 31, 12), 2)
        assert times == [utc(2026, 11, 1, 5, 30), utc(2026, 11, 2, 6, 30)]

    def test_from_inside_repeated_hour(self) -> None:
        """From the second 01:10 of the repeated hour, the next 01:30 is the next day's, never a past one."""
        assert parse_cron("30 1 * * *", NY).next_after(utc(2026, 11, 1, 6, 10)) == utc(2026, 11, 2, 6, 30)

    def test_hourly_ticks_through_repeated_hour(self) -> None:
        """An hourly job fires at both 01:00s of the repeated hour: an hour of real time apart."""
        times = fire_times(parse_cron("0 * * * *", NY), utc(2026, 11, 1, 4, 30), 3)
        assert times == [utc(2026, 11, 1, 5), utc(2026, 11, 1, 6), utc(2026, 11, 1, 7)]

    def test_day_fields_or(self) -> None:
        """Both day fields restricted: a day matching either fires (the 13th, or a Friday)."""
        times = fire_times(parse_cron("0 0 13 * 5"), utc(2026, 3, 1), 3)
        assert times == [utc(2026, 3, 6), utc(2026, 3, 13), utc(2026, 3, 20)]

    def test_naive_moment_rejected(self) -> None:
        """A moment without a time zone is refused."""
        with pytest.raises(
            ValidationError,
            match=r"^\$\.moment: expected a timezone-aware datetime, got naive 2026-03-08T00:00:00$",
        ):
            parse_cron("@daily").next_after(dt.datetime(2026, 3, 8))

    def test_no_fire_time_left(self) -> None:
        """Past the last representable fire time, the error says so."""
        with pytest.raises(
            ValidationError,
            match=r"^\$\.expr: '@yearly' has no fire time after 9999-06-01T00:00:00\+00:00$",
        ):
            parse_cron("@yearly").next_after(utc(9999, 6, 1))

    @given(
        st.sampled_from(
            ["*/5 * * * *", "30 1 * * *", "0 0 * * *", "30 2 * * 1-5", "0 */3 * * *", "15 1,2 L * *"]
        ),
        st.sampled_from(["UTC", NY, "Europe/London", "Australia/Lord_Howe", "America/Havana"]),
        st.datetimes(
            min_value=dt.datetime(2025, 1, 1), max_value=dt.datetime(2028, 12, 31), timezones=st.just(UTC)
        ),
    )
    def test_next_after_is_the_first_after(self, text: str, tz: str, moment: dt.datetime) -> None:
        """next_after(m) is a whole minute after m, and nothing between m and it is a fire time."""
        expr = parse_cron(text, tz)
        found = expr.next_after(moment)
        assert found > moment and found.second == 0 and found.microsecond == 0
        assert expr.next_after(max(moment, found - dt.timedelta(seconds=1))) == found


class TestDeclaredExpressions:
    def test_cron_directive_checks_expr(self) -> None:
        """The Cron directive refuses an invalid expression, with parse_cron's reason."""
        signal = Signal(type="report.due", source="/test")
        with pytest.raises(
            ValueError,
            match=r"^invalid cron expr '61 \* \* \* \*': minute field '61': 61 is out of range 0-59$",
        ):
            Cron("61 * * * *", signal, "report")

    def test_cron_directive_accepts_nickname(self) -> None:
        """The Cron directive accepts a nickname in a time zone."""
        signal = Signal(type="report.due", source="/test")
        assert Cron("@daily", signal, "report", tz=NY).expr == "@daily"

    def test_cron_schedule_checks_expr(self) -> None:
        """An agent's CronSchedule refuses an invalid expression."""
        with pytest.raises(
            ValueError,
            match=r"^invalid cron expr '\* \* \*': expected 5 fields "
            r"\(minute hour day-of-month month day-of-week\), got 3$",
        ):
            CronSchedule("* * *", "report.due", "report")
