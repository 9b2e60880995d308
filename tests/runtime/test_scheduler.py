"""Scheduler: one-shot timers in trio time, cron jobs on the wall clock, upsert, cancel, close, bad deliveries."""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager

import attrs
import pytest
import trio
import trio.testing

from jido.clock import Clock, TrioClock
from jido.cron import parse_cron
from jido.errors import ClosedError, ValidationError
from jido.runtime.scheduler import MAX_DELAY, Scheduler
from jido.signal import Signal
from tests.runtime.clocks import ShiftedClock

UTC = dt.UTC
START = dt.datetime(2026, 3, 7, 23, 58, tzinfo=UTC)


def utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> dt.datetime:
    return dt.datetime(year, month, day, hour, minute, tzinfo=UTC)


def tick(name: str = "tick") -> Signal:
    return Signal(type=f"test.{name}", source="/test", data={"name": name})


@attrs.define
class Delivery:
    trio_time: float
    wall: dt.datetime
    signal: Signal


@attrs.define
class Inbox:
    """A deliver() that records what it is given, when."""

    clock: Clock
    got: list[Delivery] = attrs.Factory(list)
    fail: Callable[[Signal], bool] = lambda _: False

    def __call__(self, signal: Signal) -> None:
        self.got.append(Delivery(trio.current_time(), self.clock.now(), signal))
        if self.fail(signal):
            raise RuntimeError(f"mailbox refused {signal.type}")

    def walls(self, signal_type: str | None = None) -> list[dt.datetime]:
        return [d.wall for d in self.got if signal_type is None or d.signal.type == signal_type]


@asynccontextmanager
async def open_scheduler(
    clock: Clock | None = None, inbox: Inbox | None = None, owner: str | None = None
) -> AsyncIterator[tuple[Scheduler, Inbox, trio.Nursery]]:
    clock = clock if clock is not None else TrioClock(start=START)
    inbox = inbox if inbox is not None else Inbox(clock)
    async with trio.open_nursery() as nursery:
        scheduler = Scheduler(nursery, inbox, clock=clock, owner=owner)
        yield scheduler, inbox, nursery
        scheduler.close()


class TestSchedule:
    async def test_fires_once_at_delay(self, autojump_clock: trio.testing.MockClock) -> None:
        """A timer delivers its signal itself, once, exactly `delay` seconds of trio time later."""
        async with open_scheduler() as (scheduler, inbox, _):
            t0 = trio.current_time()
            signal = tick()
            handle = scheduler.schedule(2.5, signal)
            assert scheduler.pending() == 1 and not handle.fired
            await trio.sleep(100)
            assert [(d.trio_time - t0, d.signal) for d in inbox.got] == [(2.5, signal)]
            assert inbox.got[0].signal is signal
            assert (handle.fired, handle.cancelled, scheduler.pending()) == (True, False, 0)

    async def test_zero_delay(self, autojump_clock: trio.testing.MockClock) -> None:
        """A delay of 0 fires at the next pass of the scheduler, at the same trio time."""
        async with open_scheduler() as (scheduler, inbox, _):
            t0 = trio.current_time()
            scheduler.schedule(0, tick())
            await trio.sleep(1)
            assert [d.trio_time for d in inbox.got] == [t0]

    async def test_cancel_before_firing(self, autojump_clock: trio.testing.MockClock) -> None:
        """A cancelled timer never fires."""
        async with open_scheduler() as (scheduler, inbox, _):
            handle = scheduler.schedule(5, tick())
            await trio.sleep(4)
            handle.cancel()
            assert handle.cancelled and not handle.fired and scheduler.pending() == 0
            await trio.sleep(100)
            assert inbox.got == []

    async def test_cancel_after_firing_does_nothing(self, autojump_clock: trio.testing.MockClock) -> None:
        """Cancelling a timer that fired leaves it fired."""
        async with open_scheduler() as (scheduler, _, _):
            handle = scheduler.schedule(1, tick())
            await trio.sleep(2)
            handle.cancel()
            assert handle.fired and not handle.cancelled and scheduler.pending() == 0

    async def test_many_timers_in_order(self, autojump_clock: trio.testing.MockClock) -> None:
        """Timers fire in deadline order, each at its time; equal deadlines in the order scheduled."""
        async with open_scheduler() as (scheduler, inbox, _):
            t0 = trio.current_time()
            delays = [5, 1, 3, 1, 0, 2, 1, 4]
            for index, delay in enumerate(delays):
                scheduler.schedule(delay, tick(f"t{index}"))
            assert scheduler.pending() == len(delays)
            await trio.sleep(10)
            assert [(d.trio_time - t0, d.signal.type) for d in inbox.got] == [
                (0, "test.t4"),
                (1, "test.t1"),
                (1, "test.t3"),
                (1, "test.t6"),
                (2, "test.t5"),
                (3, "test.t2"),
                (4, "test.t7"),
                (5, "test.t0"),
            ]
            assert scheduler.pending() == 0

    async def test_earlier_timer_while_waiting(self, autojump_clock: trio.testing.MockClock) -> None:
        """A timer due before the one being waited for still fires on time."""
        async with open_scheduler() as (scheduler, inbox, _):
            t0 = trio.current_time()
            scheduler.schedule(60, tick("late"))
            await trio.sleep(10)
            scheduler.schedule(5, tick("early"))
            await trio.sleep(100)
            assert [(d.trio_time - t0, d.signal.type) for d in inbox.got] == [
                (15, "test.early"),
                (60, "test.late"),
            ]

    async def test_one_task_for_all_timers(self, autojump_clock: trio.testing.MockClock) -> None:
        """All pending timers share one task, which ends when none is left."""
        async with open_scheduler() as (scheduler, inbox, nursery):
            for index in range(100):
                scheduler.schedule(1 + index % 7, tick())
            await trio.sleep(0.5)
            assert len(nursery.child_tasks) == 1
            await trio.sleep(10)
            assert len(inbox.got) == 100 and len(nursery.child_tasks) == 0

    async def test_timer_scheduled_from_deliver(self, autojump_clock: trio.testing.MockClock) -> None:
        """A deliver() that schedules another timer with no delay does not stall the scheduler."""
        clock = TrioClock(start=START)
        inbox = Inbox(clock)
        async with open_scheduler(clock, inbox) as (scheduler, _, _):
            t0 = trio.current_time()
            inbox.fail = lambda s: bool(len(inbox.got) < 5 and scheduler.schedule(0, tick()) and False)
            scheduler.schedule(1, tick())
            await trio.sleep(3)
            assert [d.trio_time - t0 for d in inbox.got] == [1, 1, 1, 1, 1]

    async def test_cancelled_timers_do_not_pile_up(self, autojump_clock: trio.testing.MockClock) -> None:
        """Timers scheduled and cancelled again and again do not grow the scheduler's heap without bound."""
        async with open_scheduler() as (scheduler, inbox, _):
            keep = scheduler.schedule(3600, tick("kept"))
            for _ in range(10_000):
                scheduler.schedule(1800, tick()).cancel()
            assert scheduler.pending() == 1
            assert len(scheduler._heap) < 200  # checking the bound needs a look inside
            await trio.sleep(4000)
            assert keep.fired and [d.signal.type for d in inbox.got] == ["test.kept"]

    async def test_deliver_raising_is_logged(
        self, autojump_clock: trio.testing.MockClock, caplog: pytest.LogCaptureFixture
    ) -> None:
        """A deliver() that raises is logged at error level; the timer counts as fired."""
        clock = TrioClock(start=START)
        inbox = Inbox(clock, fail=lambda s: s.type == "test.bad")
        async with open_scheduler(clock, inbox, owner="agent-1") as (scheduler, _, _):
            bad = tick("bad")
            handle = scheduler.schedule(1, bad)
            scheduler.schedule(2, tick("good"))
            await trio.sleep(3)
        assert handle.fired and [d.signal.type for d in inbox.got] == ["test.bad", "test.good"]
        [record] = [r for r in caplog.records if r.name == "jido.runtime.scheduler"]
        assert record.levelno == logging.ERROR
        assert (
            record.getMessage() == f"timer of 'agent-1': delivering signal {bad.id} (type 'test.bad') failed"
        )
        assert record.exc_info is not None and str(record.exc_info[1]) == "mailbox refused test.bad"

    @pytest.mark.parametrize("delay", [-1, -0.001, float("nan"), float("inf"), True, "1", None])
    async def test_bad_delay(self, delay: object, autojump_clock: trio.testing.MockClock) -> None:
        """The delay must be a finite number of seconds >= 0."""
        async with open_scheduler() as (scheduler, _, _):
            with pytest.raises(
                ValidationError,
                match=rf"^\$\.delay: expected a finite number of seconds >= 0, got {delay!r}$",
            ):
                scheduler.schedule(delay, tick())  # type: ignore[arg-type]
            assert scheduler.pending() == 0

    async def test_delay_past_max_delay(self, autojump_clock: trio.testing.MockClock) -> None:
        """A delay of MAX_DELAY (100 years) is taken; a longer one is refused, naming it."""
        async with open_scheduler() as (scheduler, _, _):
            scheduler.schedule(MAX_DELAY, tick())
            with pytest.raises(
                ValidationError,
                match=r"^\$\.delay: expected at most 3153600000 seconds \(100 years\), got 1e\+300$",
            ):
                scheduler.schedule(1e300, tick())
            assert scheduler.pending() == 1

    async def test_wake_at_past_year_9999(self, autojump_clock: trio.testing.MockClock) -> None:
        """A deadline past what a datetime holds exports with wake_at at the last datetime; it restores as is."""
        clock = TrioClock(utc(9999, 12, 31))
        async with open_scheduler(clock) as (scheduler, _, _):
            scheduler.schedule(2 * 86_400.0, tick())
            work = scheduler.export(wall=True)
            assert work.wake_at == dt.datetime.max.replace(tzinfo=UTC)
            assert scheduler.export().wake_at == dt.datetime.max.replace(tzinfo=UTC)
        async with open_scheduler(clock) as (again, _, _):
            again.restore(work.text)
            assert again.pending() == 1 and again.export(wall=True).text == work.text

    async def test_bad_signal(self, autojump_clock: trio.testing.MockClock) -> None:
        """The signal must be a jido Signal."""
        async with open_scheduler() as (scheduler, _, _):
            with pytest.raises(ValidationError, match=r"^\$\.signal: expected a jido Signal, got dict$"):
                scheduler.schedule(1, {"type": "a.b"})  # type: ignore[arg-type]

    async def test_handle_repr(self, autojump_clock: trio.testing.MockClock) -> None:
        """A handle's repr shows its state, deadline and signal type."""
        async with open_scheduler() as (scheduler, _, _):
            handle = scheduler.schedule(1, tick())
            assert repr(handle) == f"<TimerHandle pending deadline={handle.deadline!r} signal='test.tick'>"


class TestCron:
    async def test_every_five_minutes(self, autojump_clock: trio.testing.MockClock) -> None:
        """*/5 fires at :00, :05 and :10 of wall time, from a start at 23:58."""
        async with open_scheduler() as (scheduler, inbox, _):
            scheduler.cron("beat", parse_cron("*/5 * * * *"), tick())
            assert scheduler.next_fire_times() == {"beat": utc(2026, 3, 8, 0, 0)}
            await trio.sleep(12 * 60 + 1)
            expected = [utc(2026, 3, 8, 0, 0), utc(2026, 3, 8, 0, 5), utc(2026, 3, 8, 0, 10)]
            assert inbox.walls() == expected
            assert [d.signal.time for d in inbox.got] == expected
            assert scheduler.next_fire_times() == {"beat": utc(2026, 3, 8, 0, 15)}

    async def test_daily_new_york_across_dst(self, autojump_clock: trio.testing.MockClock) -> None:
        """@daily in New York fires at local midnight: 05:00Z before 2026-03-08's switch, 04:00Z after."""
        clock = TrioClock(start=utc(2026, 3, 6, 12))
        async with open_scheduler(clock) as (scheduler, inbox, _):
            scheduler.cron("daily", parse_cron("@daily", "America/New_York"), tick())
            await trio.sleep(4 * 86400)
            assert inbox.walls() == [
                utc(2026, 3, 7, 5),
                utc(2026, 3, 8, 5),
                utc(2026, 3, 9, 4),
                utc(2026, 3, 10, 4),
            ]

    async def test_tick_is_a_fresh_copy(self, autojump_clock: trio.testing.MockClock) -> None:
        """Each tick has a new unique id and its planned time; type, source and data are unchanged."""
        async with open_scheduler() as (scheduler, inbox, _):
            original = tick()
            scheduler.cron("beat", parse_cron("* * * * *"), original)
            await trio.sleep(10 * 60 + 30)
            ids = [d.signal.id for d in inbox.got]
            assert len(ids) == 10 and len(set(ids)) == 10 and original.id not in ids
            for delivery in inbox.got:
                assert delivery.signal == original.evolve(id=delivery.signal.id, time=delivery.wall)

    async def test_upsert_replaces(self, autojump_clock: trio.testing.MockClock) -> None:
        """A job with an id in use replaces the old one: the old schedule never fires again, the new one does."""
        async with open_scheduler() as (scheduler, inbox, nursery):
            scheduler.cron("job", parse_cron("*/5 * * * *"), tick("old"))
            await trio.sleep(3 * 60)  # 00:01, after the old job's tick at 00:00
            new = parse_cron("*/7 * * * *")
            scheduler.cron("job", new, tick("new"))
            assert scheduler.jobs() == {"job": new}
            assert scheduler.next_fire_times() == {"job": utc(2026, 3, 8, 0, 7)}
            await trio.sleep(15 * 60)
            assert inbox.walls("test.old") == [utc(2026, 3, 8, 0, 0)]
            assert inbox.walls("test.new") == [utc(2026, 3, 8, 0, 7), utc(2026, 3, 8, 0, 14)]
            assert len(nursery.child_tasks) == 1

    async def test_replaced_after_waking_does_not_fire(self, autojump_clock: trio.testing.MockClock) -> None:
        """A job replaced after its sleep ended but before it delivered does not deliver."""
        base = TrioClock(start=START)
        scheduler_box: list[Scheduler] = []

        class ReplacingClock:
            """Replaces the job the moment the job, woken at its fire time, looks at the clock."""

            replaced = False

            def now(self) -> dt.datetime:
                now = base.now()
                if scheduler_box and now >= utc(2026, 3, 8) and not self.replaced:
                    self.replaced = True
                    scheduler_box[0].cron("job", parse_cron("@hourly"), tick("new"))
                return now

        clock = ReplacingClock()
        async with open_scheduler(clock) as (scheduler, inbox, _):
            scheduler_box.append(scheduler)
            scheduler.cron("job", parse_cron("*/5 * * * *"), tick("old"))
            await trio.sleep(65 * 60)
            assert inbox.walls("test.old") == []
            assert inbox.walls("test.new") == [utc(2026, 3, 8, 1)]

    async def test_cancel_cron(self, autojump_clock: trio.testing.MockClock) -> None:
        """A cancelled job never fires again; cancelling an unknown job returns False."""
        async with open_scheduler() as (scheduler, inbox, _):
            scheduler.cron("beat", parse_cron("*/5 * * * *"), tick())
            await trio.sleep(3 * 60)
            assert scheduler.cancel_cron("beat") is True
            assert scheduler.jobs() == {} and scheduler.next_fire_times() == {}
            assert scheduler.cancel_cron("beat") is False
            await trio.sleep(60 * 60)
            assert inbox.walls() == [utc(2026, 3, 8, 0, 0)]

    async def test_cancel_cron_from_deliver(self, autojump_clock: trio.testing.MockClock) -> None:
        """A job cancelled by its own tick's delivery stops there."""
        clock = TrioClock(start=START)
        inbox = Inbox(clock)
        async with open_scheduler(clock, inbox) as (scheduler, _, nursery):
            inbox.fail = lambda s: scheduler.cancel_cron("beat") and False
            scheduler.cron("beat", parse_cron("*/5 * * * *"), tick())
            await trio.sleep(60 * 60)
            assert inbox.walls() == [utc(2026, 3, 8, 0, 0)] and len(nursery.child_tasks) == 0

    async def test_several_jobs(self, autojump_clock: trio.testing.MockClock) -> None:
        """Jobs with different ids run side by side."""
        async with open_scheduler() as (scheduler, inbox, _):
            every5, hourly = parse_cron("*/5 * * * *"), parse_cron("@hourly")
            scheduler.cron("a", every5, tick("a"))
            scheduler.cron("b", hourly, tick("b"))
            assert scheduler.jobs() == {"a": every5, "b": hourly}
            await trio.sleep(63 * 60)
            assert len(inbox.walls("test.a")) == 13
            assert inbox.walls("test.b") == [utc(2026, 3, 8, 0), utc(2026, 3, 8, 1)]

    async def test_same_instant_in_registration_order(self, autojump_clock: trio.testing.MockClock) -> None:
        """Jobs due at the same time fire in the order they were registered, every time; a replaced job
        takes its place at the end."""
        async with open_scheduler() as (scheduler, inbox, _):
            for name in ("c", "a", "d", "b"):
                scheduler.cron(name, parse_cron("*/5 * * * *"), tick(name))
            scheduler.cron("hourly", parse_cron("@hourly"), tick("hourly"))
            await trio.sleep(30 * 60)  # from 23:58 to 00:28
            scheduler.cron("a", parse_cron("*/5 * * * *"), tick("a"))  # replaced: now registered last
            await trio.sleep(33 * 60)  # to 01:01
        names = [d.signal.data["name"] for d in inbox.got]  # type: ignore[index]
        before, after = names[:25], names[25:]
        assert before == ["c", "a", "d", "b", "hourly"] + ["c", "a", "d", "b"] * 5
        assert after == ["c", "d", "b", "a"] * 6 + ["c", "d", "b", "hourly", "a"]

    async def test_one_task_for_all_jobs(self, autojump_clock: trio.testing.MockClock) -> None:
        """A hundred cron jobs cost one task, gone once the last job is cancelled."""
        async with open_scheduler() as (scheduler, inbox, nursery):
            for n in range(100):
                scheduler.cron(f"job{n}", parse_cron("@hourly"), tick())
            assert len(nursery.child_tasks) == 1
            await trio.sleep(3600)
            assert len(inbox.got) == 100
            for n in range(100):
                assert scheduler.cancel_cron(f"job{n}")
            await trio.testing.wait_all_tasks_blocked()
            assert len(nursery.child_tasks) == 0

    async def test_deliver_raising_keeps_job(
        self, autojump_clock: trio.testing.MockClock, caplog: pytest.LogCaptureFixture
    ) -> None:
        """A deliver() that raises is logged at error level and the job keeps its schedule."""
        clock = TrioClock(start=START)
        inbox = Inbox(clock, fail=lambda _: len(inbox.got) == 1)
        async with open_scheduler(clock, inbox) as (scheduler, _, _):
            scheduler.cron("beat", parse_cron("*/5 * * * *"), tick())
            await trio.sleep(12 * 60 + 1)
        assert inbox.walls() == [utc(2026, 3, 8, 0, 0), utc(2026, 3, 8, 0, 5), utc(2026, 3, 8, 0, 10)]
        first = inbox.got[0].signal
        [record] = [r for r in caplog.records if r.name == "jido.runtime.scheduler"]
        assert record.levelno == logging.ERROR
        assert (
            record.getMessage() == f"cron job 'beat': delivering signal {first.id} (type 'test.tick') failed"
        )
        assert record.exc_info is not None and isinstance(record.exc_info[1], RuntimeError)

    async def test_no_catch_up_after_suspension(self, autojump_clock: trio.testing.MockClock) -> None:
        """After the wall clock leaps past many fire times, the job fires once and plans from now."""
        clock = ShiftedClock(TrioClock(start=START))
        async with open_scheduler(clock) as (scheduler, inbox, _):
            scheduler.cron("beat", parse_cron("*/5 * * * *"), tick())
            await trio.sleep(3 * 60)  # 00:01, after the tick at 00:00
            clock.offset = dt.timedelta(hours=1)  # the machine slept an hour: now 01:01
            await trio.sleep(2 * 60)
            assert [d.signal.time for d in inbox.got] == [utc(2026, 3, 8, 0, 0), utc(2026, 3, 8, 0, 5)]
            assert inbox.got[1].wall >= utc(2026, 3, 8, 1, 1)
            assert scheduler.next_fire_times() == {"beat": utc(2026, 3, 8, 1, 5)}
            await trio.sleep(5 * 60)
            assert [d.signal.time for d in inbox.got][2:] == [utc(2026, 3, 8, 1, 5)]

    async def test_clock_set_back_does_not_repeat(self, autojump_clock: trio.testing.MockClock) -> None:
        """A wall clock set back during a tick does not make that planned time fire again."""
        clock = ShiftedClock(TrioClock(start=START))

        def set_back_once(_: Signal) -> bool:
            if len(inbox.got) == 1:
                clock.offset = -dt.timedelta(minutes=4)  # 23:56 again, just as 00:00 is delivered
            return False

        inbox = Inbox(clock, fail=set_back_once)
        async with open_scheduler(clock, inbox) as (scheduler, _, _):
            scheduler.cron("beat", parse_cron("*/5 * * * *"), tick())
            await trio.sleep(20 * 60)
            times = [d.signal.time for d in inbox.got]
            assert times == [utc(2026, 3, 8, 0, 0), utc(2026, 3, 8, 0, 5), utc(2026, 3, 8, 0, 10)]
            assert all(d.wall >= d.signal.time for d in inbox.got[1:])

    async def test_bad_job_id(self, autojump_clock: trio.testing.MockClock) -> None:
        """The job id must be a non-empty string."""
        async with open_scheduler() as (scheduler, _, _):
            with pytest.raises(ValidationError, match=r"^\$\.job_id: expected a non-empty str, got ''$"):
                scheduler.cron("", parse_cron("@daily"), tick())

    async def test_expr_must_be_parsed(self, autojump_clock: trio.testing.MockClock) -> None:
        """The expression must be a CronExpr, not text."""
        async with open_scheduler() as (scheduler, _, _):
            with pytest.raises(
                ValidationError, match=r"^\$\.expr: expected a CronExpr \(see parse_cron\), got str$"
            ):
                scheduler.cron("job", "@daily", tick())  # type: ignore[arg-type]

    async def test_bad_cron_signal(self, autojump_clock: trio.testing.MockClock) -> None:
        """The signal must be a jido Signal."""
        async with open_scheduler() as (scheduler, _, _):
            with pytest.raises(ValidationError, match=r"^\$\.signal: expected a jido Signal, got str$"):
                scheduler.cron("job", parse_cron("@daily"), "test.tick")  # type: ignore[arg-type]
            assert scheduler.jobs() == {}


class TestClose:
    async def test_close_cancels_everything(self, autojump_clock: trio.testing.MockClock) -> None:
        """close() cancels timers and jobs; nothing fires afterwards and no task is left."""
        async with open_scheduler() as (scheduler, inbox, nursery):
            handles = [scheduler.schedule(delay, tick()) for delay in (1, 30, 300)]
            scheduler.cron("beat", parse_cron("*/5 * * * *"), tick())
            scheduler.close()
            assert scheduler.closed and scheduler.pending() == 0 and scheduler.jobs() == {}
            assert all(h.cancelled for h in handles)
            await trio.sleep(3600)
            assert inbox.got == [] and len(nursery.child_tasks) == 0

    async def test_calls_after_close_raise(self, autojump_clock: trio.testing.MockClock) -> None:
        """schedule() and cron() after close() raise ClosedError; cancel_cron() returns False."""
        async with open_scheduler() as (scheduler, _, _):
            scheduler.close()
            scheduler.close()  # idempotent
            with pytest.raises(ClosedError, match=r"^scheduler is closed$"):
                scheduler.schedule(1, tick())
            with pytest.raises(ClosedError, match=r"^scheduler is closed$"):
                scheduler.cron("beat", parse_cron("@daily"), tick())
            assert scheduler.cancel_cron("beat") is False

    async def test_closed_message_names_owner(self, autojump_clock: trio.testing.MockClock) -> None:
        """With an owner, ClosedError names it."""
        async with open_scheduler(owner="agent-1") as (scheduler, _, _):
            scheduler.close()
            with pytest.raises(ClosedError, match=r"^scheduler of 'agent-1' is closed$"):
                scheduler.schedule(1, tick())
            assert repr(scheduler) == "<Scheduler owner='agent-1' closed>"

    async def test_cancelling_owner_nursery_cancels_timers(
        self, autojump_clock: trio.testing.MockClock
    ) -> None:
        """Cancelling the owner's nursery ends every timer task at once: nothing is left waiting."""
        clock = TrioClock(start=START)
        inbox = Inbox(clock)
        t0 = trio.current_time()
        async with trio.open_nursery() as nursery:
            scheduler = Scheduler(nursery, inbox, clock=clock)
            scheduler.schedule(60, tick())
            scheduler.cron("beat", parse_cron("*/5 * * * *"), tick())
            await trio.sleep(1)
            nursery.cancel_scope.cancel()
        assert trio.current_time() - t0 == 1 and inbox.got == []

    async def test_nursery_gone(self, autojump_clock: trio.testing.MockClock) -> None:
        """A scheduler whose nursery has exited raises ClosedError instead of starting a timer."""
        clock = TrioClock(start=START)
        async with trio.open_nursery() as nursery:
            scheduler = Scheduler(nursery, Inbox(clock), clock=clock, owner="agent-1")
        with pytest.raises(
            ClosedError, match=r"^scheduler of 'agent-1' is closed: its nursery no longer takes tasks$"
        ):
            scheduler.schedule(1, tick())
        with pytest.raises(
            ClosedError, match=r"^scheduler of 'agent-1' is closed: its nursery no longer takes tasks$"
        ):
            scheduler.cron("beat", parse_cron("@daily"), tick())
        assert scheduler.pending() == 0 and scheduler.jobs() == {}


class TestConstruction:
    async def test_bad_nursery(self, autojump_clock: trio.testing.MockClock) -> None:
        """The nursery must be a trio nursery."""
        with pytest.raises(ValidationError, match=r"^\$\.nursery: expected a trio\.Nursery, got NoneType$"):
            Scheduler(None, print, clock=TrioClock(start=START))  # type: ignore[arg-type]

    async def test_bad_deliver(self, autojump_clock: trio.testing.MockClock) -> None:
        """deliver must be callable."""
        async with trio.open_nursery() as nursery:
            with pytest.raises(ValidationError, match=r"^\$\.deliver: expected a callable, got int$"):
                Scheduler(nursery, 3, clock=TrioClock(start=START))  # type: ignore[arg-type]

    async def test_bad_clock(self, autojump_clock: trio.testing.MockClock) -> None:
        """The clock must have now()."""
        async with trio.open_nursery() as nursery:
            with pytest.raises(ValidationError, match=r"^\$\.clock: expected a Clock with now\(\), got str$"):
                Scheduler(nursery, print, clock="system")  # type: ignore[arg-type]

    async def test_repr(self, autojump_clock: trio.testing.MockClock) -> None:
        """The repr shows pending timers and jobs."""
        async with open_scheduler() as (scheduler, _, _):
            scheduler.schedule(1, tick())
            scheduler.cron("beat", parse_cron("@daily"), tick())
            assert repr(scheduler) == "<Scheduler pending=1 jobs=1>"


class TestExportRestore:
    async def test_round_trip_keeps_timers_and_jobs(self, autojump_clock: trio.testing.MockClock) -> None:
        """Exported pending work restored in a new scheduler fires what the old one would have, when it would
        have: timers at their deadlines in order, cron jobs at their next fire times."""
        clock = TrioClock(start=START)
        a, b, c = tick("a"), tick("b"), tick("c")
        async with open_scheduler(clock) as (first, _, _):
            t0 = trio.current_time()
            first.schedule(30, b)
            first.schedule(10, a)
            first.schedule(30, c)  # same deadline as b, scheduled after it
            first.cron("every5", parse_cron("*/5 * * * *"), tick("cron"))
            first.cron("gone", parse_cron("* * * * *"), tick("gone"))
            first.cancel_cron("gone")
            work = first.export()
            first.close()
        assert work.next_timer == t0 + 10
        assert work.next_cron == utc(2026, 3, 8, 0, 0)
        await trio.sleep(5)
        inbox = Inbox(clock)
        async with open_scheduler(clock, inbox) as (second, _, _):
            second.cron("gone", parse_cron("* * * * *"), tick("gone"))  # declared again at start: replaced
            second.restore(work.text)
            assert second.pending() == 3 and set(second.jobs()) == {"every5"}
            await trio.sleep(60 * 7)
        timers = [(d.trio_time - t0, d.signal) for d in inbox.got if d.signal.type != "test.cron"]
        assert timers == [(10, a), (30, b), (30, c)]
        assert inbox.walls("test.cron") == [utc(2026, 3, 8, 0, 0), utc(2026, 3, 8, 0, 5)]

    async def test_due_while_away_fires_at_once_and_once(
        self, autojump_clock: trio.testing.MockClock
    ) -> None:
        """A timer whose deadline passed fires at once; a cron tick planned while away fires once, late."""
        clock = TrioClock(start=START)
        async with open_scheduler(clock) as (first, _, _):
            first.schedule(1, tick("late"))
            first.cron("minutely", parse_cron("* * * * *"), tick("cron"))
            work = first.export()
            first.close()
        await trio.sleep(60 * 10)  # ten minutes away: ten planned ticks passed
        inbox = Inbox(clock)
        async with open_scheduler(clock, inbox) as (second, _, _):
            back = clock.now()
            second.restore(work.text)
            await trio.sleep(0.5)
            # Timers and cron jobs are served by two tasks: which of the two goes first is trio's choice.
            assert sorted(d.signal.type for d in inbox.got) == ["test.cron", "test.late"]
            assert all(d.wall == back for d in inbox.got)
            (cron_tick,) = [d.signal for d in inbox.got if d.signal.type == "test.cron"]
            assert cron_tick.time == utc(2026, 3, 7, 23, 59)  # the planned time it was due for

    async def test_empty(self, autojump_clock: trio.testing.MockClock) -> None:
        async with open_scheduler() as (scheduler, _, _):
            work = scheduler.export()
            assert (work.next_timer, work.next_cron) == (None, None)
            scheduler.restore(work.text)
            assert scheduler.pending() == 0 and not scheduler.has_jobs()

    @pytest.mark.parametrize(
        ("text", "path"),
        [
            ("not json", "$"),
            ("[]", "$"),
            ('{"timers": [], "cron": {}}', "$"),
            ('{"timers": [[true, "{}"]], "cron": []}', "$.timers[0]"),
            ('{"timers": [[1.0, "{}"]], "cron": []}', "$.timers[0]"),
            (
                '{"timers": [], "cron": [["j", "bogus", "UTC", "{}", "2026-01-01T00:00:00+00:00"]]}',
                "$.cron[0]",
            ),
            ('{"timers": [], "cron": [["j", "* * * * *", "Nowhere/City", "{}", "x"]]}', "$.cron[0]"),
            ('{"timers": [], "cron": [["j", "* * * * *", "UTC", "{}", "2026-01-01T00:00:00"]]}', "$.cron[0]"),
            (
                '{"timers": [], "cron": [["j", "* * * * *", "UTC", 3, "2026-01-01T00:00:00+00:00"]]}',
                "$.cron[0]",
            ),
        ],
    )
    async def test_bad_text(self, text: str, path: str, autojump_clock: trio.testing.MockClock) -> None:
        """Text that export did not write is a ValidationError naming where; nothing is scheduled."""
        async with open_scheduler() as (scheduler, _, _):
            scheduler.cron("kept", parse_cron("@daily"), tick())
            with pytest.raises(ValidationError) as caught:
                scheduler.restore(text)
            assert caught.value.errors[0].path == path
            assert scheduler.pending() == 0 and set(scheduler.jobs()) == {"kept"}

    async def test_restore_after_close(self, autojump_clock: trio.testing.MockClock) -> None:
        async with open_scheduler() as (scheduler, _, _):
            work = scheduler.export()
            scheduler.close()
            with pytest.raises(ClosedError):
                scheduler.restore(work.text)
