"""examples/demand_tracker.py: the published Demand Tracker expectations, in the pure core and under the runtime."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
import trio
import trio.testing

import jido
from examples.demand_tracker import (
    Boost,
    Cleanup,
    Cool,
    Decay,
    DemandTracker,
    Heartbeat,
    demand_signal,
    new_tracker,
)

NY = "America/New_York"


def emitted(directives: list[jido.Directive]) -> list[jido.Signal]:
    """The signals of the Emit directives, checking that nothing else was returned."""
    assert all(isinstance(d, jido.Emit) and d.to is None for d in directives), directives
    return [d.signal for d in directives if isinstance(d, jido.Emit)]


def change(previous: int, current: int, reason: str) -> dict[str, Any]:
    return {
        "previous": previous,
        "current": current,
        "delta": current - previous,
        "reason": reason,
        "listing_id": "demo-listing",
    }


class TestNew:
    def test_defaults(self) -> None:
        """A new tracker has demand 50, no ticks, for listing demo-listing."""
        state = new_tracker().state
        assert (state.listing_id, state.demand, state.ticks, state.last_updated_at) == (
            "demo-listing",
            50,
            0,
            None,
        )

    def test_schedules_declared(self) -> None:
        """The heartbeat (every 5 minutes, UTC) and the daily cleanup (New York) are declared with the agent."""
        assert new_tracker().spec.schedules == (
            jido.CronSchedule("*/5 * * * *", "heartbeat.tick", "heartbeat", "UTC"),
            jido.CronSchedule("@daily", "cleanup.run", "cleanup", NY),
        )

    def test_routes(self) -> None:
        """Each signal type runs its action."""
        spec = new_tracker().spec
        routed = {
            kind: [i.action.name for i in spec.instructions_for(jido.Signal(type=kind, source="/t"))]
            for kind in (
                "listing.demand.boost",
                "listing.demand.cool",
                "listing.demand.tick",
                "heartbeat.tick",
                "cleanup.run",
            )
        }
        assert routed == {
            "listing.demand.boost": ["boost"],
            "listing.demand.cool": ["cool"],
            "listing.demand.tick": ["decay"],
            "heartbeat.tick": ["heartbeat"],
            "cleanup.run": ["cleanup"],
        }

    def test_bad_state_refused(self) -> None:
        """Initial state of the wrong type is refused, naming the field."""
        with pytest.raises(
            jido.ValidationError,
            match=r'^invalid demand_tracker state:\n\$\.demand: expected int, got "high"$',
        ):
            new_tracker(demand="high")


class TestBoost:
    def test_default_boost(self) -> None:
        """Boost raises demand by 10 and emits exactly one change signal with the published data."""
        tracker, directives = jido.cmd(new_tracker(), Boost())
        assert tracker.state.demand == 60
        [signal] = emitted(directives)
        assert (signal.type, signal.source) == ("listing.demand.changed", "/demo/demand-tracker")
        assert signal.data == {
            "previous": 50,
            "current": 60,
            "delta": 10,
            "reason": "boost",
            "listing_id": "demo-listing",
        }

    def test_boost_by_amount(self) -> None:
        """Boost 25 from 50 gives 75."""
        tracker, directives = jido.cmd(new_tracker(), Boost(amount=25))
        assert tracker.state.demand == 75
        assert [s.data for s in emitted(directives)] == [change(50, 75, "boost")]

    def test_boost_capped(self) -> None:
        """Boost 60 from 50 caps at 100; delta is the change that happened (50), not the amount asked (60)."""
        tracker, directives = jido.cmd(new_tracker(), Boost(amount=60))
        assert tracker.state.demand == 100
        [signal] = emitted(directives)
        assert signal.data["delta"] == 50
        assert signal.data == change(50, 100, "boost")

    def test_boost_at_cap_emits_nothing(self) -> None:
        """A boost at 100 changes nothing and emits nothing."""
        tracker, directives = jido.cmd(new_tracker(demand=100), Boost())
        assert (tracker.state.demand, directives) == (100, [])

    def test_boost_from_signal_data(self) -> None:
        """A listing.demand.boost signal's data gives the amount."""
        tracker, directives = jido.handle(new_tracker(), demand_signal("boost", amount=20))
        assert tracker.state.demand == 70
        assert [s.data for s in emitted(directives)] == [change(50, 70, "boost")]

    @pytest.mark.parametrize(
        ("data", "message"),
        [
            ({"amount": -5}, r"\$\.amount: expected an int >= 0, got -5"),
            ({"amount": "5"}, r'\$\.amount: expected int, got "5"'),
            ({"amount": True}, r"\$\.amount: expected int, got true"),
            ({"by": 5}, r"\$: unknown field\(s\): by"),
        ],
    )
    def test_bad_amount(self, data: dict[str, Any], message: str) -> None:
        """A bad amount or an unknown key leaves the tracker as it was and yields an Error naming where."""
        start = new_tracker()
        tracker, directives = jido.cmd(start, (Boost, data))
        assert tracker == start
        [directive] = directives
        assert isinstance(directive, jido.Error)
        with pytest.raises(jido.ValidationError, match=rf"^invalid boost params:\n{message}$"):
            raise directive.error

    def test_negative_amount_in_code(self) -> None:
        """Building Boost(amount=-1) in code is refused the same way."""
        with pytest.raises(jido.ValidationError, match=r"^\$\.amount: expected an int >= 0, got -1$"):
            Boost(amount=-1)


class TestCool:
    def test_default_cool(self) -> None:
        """Cool lowers demand by 10 and reports a negative delta."""
        tracker, directives = jido.cmd(new_tracker(), Cool())
        assert tracker.state.demand == 40
        assert [s.data for s in emitted(directives)] == [change(50, 40, "cool")]

    def test_cool_floored(self) -> None:
        """Cool 60 from 50 floors at 0."""
        tracker, directives = jido.cmd(new_tracker(), Cool(amount=60))
        assert tracker.state.demand == 0
        assert [s.data for s in emitted(directives)] == [change(50, 0, "cool")]

    def test_cool_then_decay_to_zero(self) -> None:
        """Cool 49 gives 1; a decay then floors at 0 and reports delta -1."""
        tracker, _ = jido.cmd(new_tracker(), Cool(amount=49))
        assert tracker.state.demand == 1
        tracker, directives = jido.cmd(tracker, Decay())
        assert (tracker.state.demand, tracker.state.ticks) == (0, 1)
        assert [s.data for s in emitted(directives)] == [change(1, 0, "decay")]


class TestDecay:
    def test_heartbeat_decays(self) -> None:
        """A heartbeat decays demand by 2, counts a tick and emits one change signal."""
        tracker, directives = jido.cmd(new_tracker(), Heartbeat())
        assert (tracker.state.demand, tracker.state.ticks) == (48, 1)
        assert [s.data for s in emitted(directives)] == [change(50, 48, "decay")]

    def test_decay_at_zero_emits_nothing(self) -> None:
        """At 0 a decay counts the tick but changes nothing and emits nothing."""
        tracker, directives = jido.cmd(new_tracker(demand=0), Decay())
        assert (tracker.state.demand, tracker.state.ticks, directives) == (0, 1, [])

    def test_boost_then_decay(self) -> None:
        """Boost 20 gives 70, then a decay 68."""
        tracker, _ = jido.cmd(new_tracker(), Boost(amount=20))
        assert tracker.state.demand == 70
        tracker, directives = jido.cmd(tracker, Decay())
        assert tracker.state.demand == 68
        assert [s.data for s in emitted(directives)] == [change(70, 68, "decay")]

    def test_two_decays_then_cleanup(self) -> None:
        """Two decays count 2 ticks; cleanup sets ticks to 0 and returns no directives."""
        tracker, _ = jido.cmd(new_tracker(), [Decay(), Decay()])
        assert tracker.state.ticks == 2
        tracker, directives = jido.cmd(tracker, Cleanup())
        assert (tracker.state.ticks, tracker.state.demand, directives) == (0, 46, [])

    def test_last_updated_at_from_signal(self) -> None:
        """A change made by a signal records that signal's time; a change without a signal leaves it."""
        at = dt.datetime(2026, 1, 15, 12, 5, tzinfo=dt.UTC)
        tick = jido.Signal(type="heartbeat.tick", source="/t", time=at)
        tracker, _ = jido.handle(new_tracker(), tick)
        assert tracker.state.last_updated_at == "2026-01-15T12:05:00+00:00"
        tracker, _ = jido.cmd(tracker, Boost())
        assert tracker.state.last_updated_at == "2026-01-15T12:05:00+00:00"


def clock_at(year: int, month: int, day: int, hour: int, minute: int) -> jido.TrioClock:
    return jido.TrioClock(start=dt.datetime(year, month, day, hour, minute, tzinfo=dt.UTC))


async def sleep_past(clock: jido.TrioClock, when: dt.datetime) -> None:
    """Sleep (virtual time) until one second past ``when``, so whatever was due at ``when`` has been handled."""
    await trio.sleep((when - clock.now()).total_seconds() + 1)


class TestUnderRuntime:
    async def test_heartbeat_every_five_minutes(self, autojump_clock: trio.testing.MockClock) -> None:
        """After 5 virtual minutes one heartbeat has decayed demand to 48; after 15 minutes 3 have."""
        clock = clock_at(2026, 1, 15, 12, 0)
        async with jido.open_runtime(clock=clock) as rt:
            ref = await rt.start_agent(DemandTracker, id="tracker")
            async with rt.listen("listing.demand.*") as changes:
                await sleep_past(clock, dt.datetime(2026, 1, 15, 12, 5, tzinfo=dt.UTC))
                assert (ref.state.ticks, ref.state.demand) == (1, 48)
                assert ref.state.last_updated_at == "2026-01-15T12:05:00+00:00"
                await sleep_past(clock, dt.datetime(2026, 1, 15, 12, 15, tzinfo=dt.UTC))
                assert (ref.state.ticks, ref.state.demand) == (3, 44)
                received = [await changes.receive() for _ in range(3)]
                await trio.testing.wait_all_tasks_blocked()
                with pytest.raises(trio.WouldBlock):
                    changes.receive_nowait()
        assert [s.data for s in received] == [
            change(50, 48, "decay"),
            change(48, 46, "decay"),
            change(46, 44, "decay"),
        ]
        causes = [s.causationid for s in received]
        assert None not in causes and len(set(causes)) == 3  # each caused by its own heartbeat tick

    async def test_cleanup_at_new_york_midnight(self, autojump_clock: trio.testing.MockClock) -> None:
        """Crossing local midnight in New York (05:00 UTC in winter) resets the ticks; demand keeps decaying."""
        clock = clock_at(2026, 1, 15, 4, 40)  # 23:40 in New York
        async with jido.open_runtime(clock=clock) as rt:
            ref = await rt.start_agent(DemandTracker, id="tracker")
            await sleep_past(clock, dt.datetime(2026, 1, 15, 4, 55, tzinfo=dt.UTC))
            assert (ref.state.ticks, ref.state.demand) == (3, 44)
            await sleep_past(clock, dt.datetime(2026, 1, 15, 5, 0, tzinfo=dt.UTC))
            # The midnight heartbeat and the cleanup are due at the same instant, in no set order: the
            # heartbeat's tick is either reset by the cleanup or counted after it. Without a cleanup: 4.
            assert ref.state.ticks in (0, 1)
            assert ref.state.demand == 42
            after_midnight = ref.state.ticks
            await sleep_past(clock, dt.datetime(2026, 1, 15, 5, 10, tzinfo=dt.UTC))
            assert ref.state.ticks == after_midnight + 2
            assert ref.state.demand == 38

    async def test_cleanup_follows_new_york_dst(self, autojump_clock: trio.testing.MockClock) -> None:
        """In summer New York midnight is 04:00 UTC: the ticks counted before it are reset then, not at 05:00."""
        clock = clock_at(2026, 7, 1, 3, 50)  # 23:50 EDT
        async with jido.open_runtime(clock=clock) as rt:
            ref = await rt.start_agent(DemandTracker, id="tracker", state={"ticks": 7})
            await sleep_past(clock, dt.datetime(2026, 7, 1, 3, 55, tzinfo=dt.UTC))
            assert ref.state.ticks == 8
            await sleep_past(clock, dt.datetime(2026, 7, 1, 4, 0, tzinfo=dt.UTC))
            assert ref.state.ticks in (0, 1)

    async def test_changes_carry_causation(self) -> None:
        """Each listing.demand.changed signal carries the data of the change and the id of its cause."""
        async with jido.open_runtime() as rt:
            ref = await rt.start_agent(DemandTracker, id="tracker")
            sent = [
                demand_signal("boost", amount=25),
                demand_signal("cool", amount=60),
                demand_signal("tick"),
            ]
            async with rt.listen("listing.demand.*") as changes:
                for signal in sent:
                    await ref.call(signal)
                received = [await changes.receive() for _ in sent]
            assert [s.data for s in received] == [
                change(50, 75, "boost"),
                change(75, 15, "cool"),
                change(15, 13, "decay"),
            ]
            assert [s.causationid for s in received] == [s.id for s in sent]
            assert [s.correlationid for s in received] == [s.id for s in sent]
            assert (ref.state.demand, ref.state.ticks) == (13, 1)

    async def test_unchanged_demand_emits_nothing(self) -> None:
        """A decay at 0 under the runtime publishes nothing."""
        async with jido.open_runtime() as rt:
            ref = await rt.start_agent(DemandTracker, id="tracker", state={"demand": 0})
            async with rt.listen("listing.demand.*") as changes:
                await ref.call(demand_signal("tick"))
                await trio.testing.wait_all_tasks_blocked()
                with pytest.raises(trio.WouldBlock):
                    changes.receive_nowait()
            assert (ref.state.demand, ref.state.ticks) == (0, 1)

    async def test_bad_amount_refused(self) -> None:
        """A boost with a negative amount is rejected: the caller gets the error, the tracker goes on as it was."""
        async with jido.open_runtime() as rt:
            ref = await rt.start_agent(DemandTracker, id="tracker")
            bad = demand_signal("boost", amount=-5)
            with pytest.raises(
                jido.ValidationError,
                match=r"^invalid boost params:\n\$\.data\.amount: expected an int >= 0, got -5$",
            ):
                await ref.call(bad)
            [letter] = rt.dead_letters()
            assert (letter.signal.id, letter.reason) == (bad.id, "invalid_params")
            await ref.call(demand_signal("boost"))
            assert (ref.state.demand, ref.restarts, ref.rejected) == (60, 0, 1)
