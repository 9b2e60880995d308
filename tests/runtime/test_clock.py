"""Clocks: the system clock, wall time derived from trio time, and sleeping until a wall-clock moment."""

from __future__ import annotations

import datetime as dt
import zoneinfo

import pytest
import trio
import trio.testing

from jido.clock import Clock, SystemClock, TrioClock, sleep_until_wall
from jido.errors import ValidationError
from tests.runtime.clocks import ShiftedClock

START = dt.datetime(2026, 3, 7, 23, 58, tzinfo=dt.UTC)


class TestSystemClock:
    def test_now_is_utc(self) -> None:
        """SystemClock.now() is timezone-aware, in UTC."""
        assert SystemClock().now().tzinfo is dt.UTC

    def test_is_a_clock(self) -> None:
        """SystemClock satisfies the Clock protocol."""
        assert isinstance(SystemClock(), Clock)


class TestTrioClock:
    async def test_now_advances_with_trio_time(self, autojump_clock: trio.testing.MockClock) -> None:
        """now() moves exactly as trio's (virtual) time does."""
        clock = TrioClock(start=START)
        assert clock.now() == START
        await trio.sleep(90.5)
        assert clock.now() == START + dt.timedelta(seconds=90.5)

    async def test_now_is_utc(self, autojump_clock: trio.testing.MockClock) -> None:
        """A start in another zone is kept as the same instant in UTC."""
        start = dt.datetime(2026, 3, 7, 18, 58, tzinfo=zoneinfo.ZoneInfo("America/New_York"))
        now = TrioClock(start=start).now()
        assert now == START and now.tzinfo is dt.UTC

    def test_naive_start_rejected(self) -> None:
        """A start without a time zone is refused."""
        with pytest.raises(
            ValidationError,
            match=r"^\$\.start: expected a timezone-aware datetime, got naive 2026-03-07T23:58:00$",
        ):
            TrioClock(start=dt.datetime(2026, 3, 7, 23, 58))

    def test_non_datetime_start_rejected(self) -> None:
        """A start that is not a datetime is refused."""
        with pytest.raises(ValidationError, match=r'^\$\.start: expected a datetime, got "2026-03-07"$'):
            TrioClock(start="2026-03-07")  # type: ignore[arg-type]

    def test_made_outside_a_run_anchors_at_first_use(self) -> None:
        """A clock made outside trio anchors its start at the first now(), not at trio time zero."""
        clock = TrioClock(start=START)
        seen: list[dt.datetime] = []

        async def main() -> None:
            await trio.sleep(5)
            seen.append(clock.now())
            await trio.sleep(10)
            seen.append(clock.now())

        trio.run(main, clock=trio.testing.MockClock(autojump_threshold=0))
        assert seen == [START, START + dt.timedelta(seconds=10)]

    async def test_default_start_is_system_time(self, autojump_clock: trio.testing.MockClock) -> None:
        """Without a start, the clock starts at the system's wall-clock time."""
        before = SystemClock().now()
        now = TrioClock().now()
        after = SystemClock().now()
        assert before <= now <= after

    async def test_repr(self, autojump_clock: trio.testing.MockClock) -> None:
        """The repr shows the start."""
        assert repr(TrioClock(start=START)) == "TrioClock(start=2026-03-07T23:58:00+00:00)"


class TestSleepUntilWall:
    async def test_wakes_at_the_moment(self, autojump_clock: trio.testing.MockClock) -> None:
        """It returns when the wall clock reaches the moment, not before."""
        clock = TrioClock(start=START)
        t0 = trio.current_time()
        await sleep_until_wall(clock, START + dt.timedelta(minutes=3, seconds=0.25))
        assert trio.current_time() - t0 == 180.25
        assert clock.now() == START + dt.timedelta(minutes=3, seconds=0.25)

    async def test_past_moment_returns_at_once(self, autojump_clock: trio.testing.MockClock) -> None:
        """A moment already past does not sleep."""
        clock = TrioClock(start=START)
        t0 = trio.current_time()
        await sleep_until_wall(clock, START - dt.timedelta(days=1))
        assert trio.current_time() == t0

    async def test_clock_set_back_sleeps_again(self, autojump_clock: trio.testing.MockClock) -> None:
        """A wall clock set back while sleeping does not make it return early."""
        clock = ShiftedClock(TrioClock(start=START))
        t0 = trio.current_time()

        async def set_back() -> None:
            await trio.sleep(30)
            clock.offset = -dt.timedelta(hours=1)

        async with trio.open_nursery() as nursery:
            nursery.start_soon(set_back)
            await sleep_until_wall(clock, START + dt.timedelta(seconds=60))
        assert trio.current_time() - t0 == 3660
        assert clock.now() == START + dt.timedelta(seconds=60)

    async def test_clock_jump_forward_noticed(self, autojump_clock: trio.testing.MockClock) -> None:
        """A wall clock that jumps forward is noticed within max_nap seconds."""
        clock = ShiftedClock(TrioClock(start=START))
        t0 = trio.current_time()

        async def jump() -> None:
            await trio.sleep(30)
            clock.offset = dt.timedelta(hours=1)

        async with trio.open_nursery() as nursery:
            nursery.start_soon(jump)
            await sleep_until_wall(clock, START + dt.timedelta(hours=2), max_nap=60)
        assert trio.current_time() - t0 == 3600

    async def test_naive_moment_rejected(self, autojump_clock: trio.testing.MockClock) -> None:
        """A moment without a time zone is refused."""
        with pytest.raises(
            ValidationError,
            match=r"^\$\.when: expected a timezone-aware datetime, got naive 2026-03-08T00:00:00$",
        ):
            await sleep_until_wall(TrioClock(start=START), dt.datetime(2026, 3, 8))

    @pytest.mark.parametrize("max_nap", [0, -1.0, True, "60"])
    async def test_bad_max_nap_rejected(
        self, max_nap: object, autojump_clock: trio.testing.MockClock
    ) -> None:
        """max_nap must be a number of seconds > 0."""
        with pytest.raises(
            ValidationError, match=rf"^\$\.max_nap: expected a number of seconds > 0, got {max_nap!r}$"
        ):
            await sleep_until_wall(TrioClock(start=START), START, max_nap=max_nap)  # type: ignore[arg-type]
