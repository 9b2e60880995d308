"""The bus: publish, subscriptions (durable and transient), acks, redelivery, dead letters, replay, retention."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
import trio
import trio.testing

import jido
from jido.bus.bus import Retention, open_bus
from jido.bus.memory import MemoryJournal
from jido.errors import ClosedError, ValidationError
from jido.runtime.clock import TrioClock
from jido.signal import Signal

START = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)


def sig(kind: str, n: int = 0, **extensions: Any) -> Signal:
    return Signal(type=f"order.{kind}", source="/shop", data={"n": n}, extensions=extensions or None)


async def take(sub: Any, count: int) -> list[Any]:
    return [await sub.next() for _ in range(count)]


class TestPublish:
    async def test_offsets_increase(self) -> None:
        """Each published signal gets the next offset."""
        async with open_bus() as bus:
            first = await bus.publish(sig("placed", 1))
            more = await bus.publish([sig("placed", 2), sig("paid", 3)])
            assert [r.offset for r in first + more] == [1, 2, 3]

    async def test_publish_refuses_non_signals(self) -> None:
        """A batch with a non-signal is refused whole."""
        async with open_bus() as bus:
            with pytest.raises(TypeError, match=r"^publish: item \[1\] is dict, not a jido\.Signal$"):
                await bus.publish([sig("placed"), {"type": "x"}])  # type: ignore[list-item]
            assert (await bus.statistics()).last_offset == 0

    async def test_closed_bus(self) -> None:
        """Using a bus after it closed is a ClosedError."""
        async with open_bus() as bus:
            pass
        with pytest.raises(ClosedError, match=r"^the bus is closed$"):
            await bus.publish(sig("placed"))


class TestSubscriptions:
    async def test_ordered_delivery_and_ack(self) -> None:
        """A subscription gets matching signals in offset order."""
        async with open_bus() as bus:
            sub = await bus.subscribe("order.*", name="billing")
            await bus.publish([sig("placed", 1), Signal(type="user.joined", source="/x"), sig("paid", 2)])
            deliveries = await take(sub, 2)
            assert [(d.offset, d.signal.data["n"], d.attempt) for d in deliveries] == [(1, 1, 1), (3, 2, 1)]
            for d in deliveries:
                await sub.ack(d.offset)
            assert sub.checkpoint == 3

    async def test_start_from(self) -> None:
        """latest sees only new signals; beginning sees all; an offset starts there."""
        async with open_bus() as bus:
            await bus.publish([sig("placed", 1), sig("placed", 2)])
            latest = await bus.subscribe("**")
            beginning = await bus.subscribe("**", start_from="beginning")
            second = await bus.subscribe("**", start_from=2)
            await bus.publish(sig("placed", 3))
            assert [d.offset for d in await take(latest, 1)] == [3]
            assert [d.offset for d in await take(beginning, 3)] == [1, 2, 3]
            assert [d.offset for d in await take(second, 2)] == [2, 3]

    async def test_start_from_time(self, autojump_clock: trio.testing.MockClock) -> None:
        """A time starts at the first record appended at or after it."""
        clock = TrioClock(start=START)
        async with open_bus(MemoryJournal(clock=clock), clock=clock) as bus:
            await bus.publish(sig("placed", 1))
            await trio.sleep(60)
            await bus.publish(sig("placed", 2))
            sub = await bus.subscribe("**", start_from=START + dt.timedelta(seconds=30))
            assert [d.offset for d in await take(sub, 1)] == [2]

    async def test_durable_resumes_from_checkpoint(self) -> None:
        """A durable subscription subscribed again resumes after what it acked."""
        async with open_bus() as bus:
            await bus.publish([sig("placed", n) for n in range(5)])
            sub = await bus.subscribe("**", name="worker", start_from="beginning")
            for d in await take(sub, 3):
                await sub.ack(d.offset)
            await bus.unsubscribe(sub)
            again = await bus.subscribe("**", name="worker", start_from="beginning")
            assert [d.offset for d in await take(again, 2)] == [4, 5]

    async def test_unacked_is_redelivered_after_timeout(self, autojump_clock: trio.testing.MockClock) -> None:
        """A delivery not acked within ack_timeout comes again, as the next attempt."""
        async with open_bus() as bus:
            sub = await bus.subscribe("**", ack_timeout=10)
            await bus.publish(sig("placed"))
            first = await sub.next()
            start = trio.current_time()
            again = await sub.next()
            assert (again.offset, again.attempt) == (first.offset, 2)
            assert trio.current_time() - start == 10

    async def test_nack_backoff_then_dead_letter(self, autojump_clock: trio.testing.MockClock) -> None:
        """Failed deliveries back off exponentially, then go to the dead letters with the error."""
        async with open_bus() as bus:
            sub = await bus.subscribe("**", name="flaky", max_attempts=3, backoff=1.0)
            await bus.publish(sig("placed"))
            times = []
            for _ in range(3):
                delivery = await sub.next()
                times.append(trio.current_time())
                await sub.nack(delivery.offset, RuntimeError("handler down"))
            assert [t - times[0] for t in times] == [0, 1, 3]
            [letter] = await bus.dead_letters("flaky")
            assert (letter.record.offset, letter.attempts, letter.error) == (
                1,
                3,
                "RuntimeError: handler down",
            )
            assert sub.checkpoint == 1

    async def test_unknown_and_malformed_acks(self) -> None:
        """Acking what is not in flight, or not an offset, is a clear error."""
        async with open_bus() as bus:
            sub = await bus.subscribe("**", name="s")
            with pytest.raises(LookupError, match=r"^offset 7 is not in flight for subscription 's'$"):
                await sub.ack(7)
            with pytest.raises(
                TypeError, match=r"^ack of subscription 's': expected an int offset, got '7'$"
            ):
                await sub.ack("7")  # type: ignore[arg-type]
            await bus.publish(sig("placed"))
            delivery = await sub.next()
            await sub.ack(delivery.offset)
            with pytest.raises(LookupError, match=r"^offset 1 is not in flight"):
                await sub.ack(delivery.offset)

    async def test_max_in_flight_bounds_deliveries(self, autojump_clock: trio.testing.MockClock) -> None:
        """No more than max_in_flight deliveries are outstanding; an ack lets the next one through."""
        async with open_bus() as bus:
            sub = await bus.subscribe("**", max_in_flight=2, ack_timeout=1000)
            await bus.publish([sig("placed", n) for n in range(3)])
            first, _second = await take(sub, 2)
            with trio.move_on_after(5) as scope:
                await sub.next()
            assert scope.cancelled_caught
            await sub.ack(first.offset)
            assert (await sub.next()).offset == 3

    async def test_slow_subscriber_lags_without_blocking_publish(self) -> None:
        """Publishing never waits for subscribers; a slow one just lags."""
        async with open_bus() as bus:
            sub = await bus.subscribe("**", name="slow")
            await bus.publish([sig("placed", n) for n in range(500)])
            stats = (await bus.statistics()).subscriptions[0]
            assert (stats.lag, stats.in_flight) == (500, 0)
            assert len(await take(sub, 100)) == 100

    @pytest.mark.parametrize(
        ("kwargs", "message"),
        [
            ({"max_in_flight": 0}, r"^max_in_flight must be an int >= 1, got 0$"),
            ({"ack_timeout": -1}, r"^ack_timeout must be a positive number of seconds, got -1$"),
            ({"max_attempts": 0}, r"^max_attempts must be an int >= 1, got 0$"),
            ({"start_from": "middle"}, r"^start_from must be 'beginning', 'latest', an offset >= 1"),
            ({"name": " "}, r"^name must be a non-empty string, got ' '$"),
        ],
    )
    async def test_bad_options(self, kwargs: dict[str, Any], message: str) -> None:
        """Bad subscription options are refused up front."""
        async with open_bus() as bus:
            with pytest.raises(ValueError, match=message):
                await bus.subscribe("**", **kwargs)

    async def test_bad_pattern(self) -> None:
        """An invalid pattern is a ValidationError naming the problem."""
        async with open_bus() as bus:
            with pytest.raises(
                ValidationError, match=r"^invalid subscription pattern:\n\$\.pattern: empty segment"
            ):
                await bus.subscribe("a..b")

    async def test_durable_name_taken(self) -> None:
        """A durable name can be subscribed once at a time."""
        async with open_bus() as bus:
            await bus.subscribe("**", name="x")
            with pytest.raises(ValueError, match=r"^durable subscription 'x' is already subscribed$"):
                await bus.subscribe("**", name="x")


class TestTargets:
    async def test_callable_target_acks(self) -> None:
        """With a target the bus delivers and acks by itself."""
        got: list[int] = []
        async with open_bus() as bus:
            sub = await bus.subscribe("**", name="t", target=lambda s: got.append(s.data["n"]))
            await bus.publish([sig("placed", n) for n in range(5)])
            with trio.fail_after(5):
                await sub.wait_checkpoint(5)
            assert got == [0, 1, 2, 3, 4]

    async def test_failing_target_retried_then_dead_lettered(
        self, autojump_clock: trio.testing.MockClock
    ) -> None:
        """A target that keeps failing is retried, then the record is dead-lettered and delivery goes on."""
        calls: list[int] = []

        async def target(signal: Signal) -> None:
            calls.append(signal.data["n"])
            if signal.data["n"] == 0:
                raise ConnectionError("down")

        async with open_bus() as bus:
            sub = await bus.subscribe("**", name="t", target=target, max_attempts=3, max_in_flight=1)
            await bus.publish([sig("placed", 0), sig("placed", 1)])
            with trio.fail_after(60):
                await sub.wait_checkpoint(2)
            assert calls == [0, 0, 0, 1]
            assert [d.record.offset for d in await bus.dead_letters("t")] == [1]

    async def test_non_retryable_error_dead_letters_at_once(self) -> None:
        """An error marked retryable=False is not retried."""

        class Refused(Exception):
            retryable = False

        def target(signal: Signal) -> None:
            raise Refused("no")

        async with open_bus() as bus:
            sub = await bus.subscribe("**", name="t", target=target, max_attempts=5)
            await bus.publish(sig("placed"))
            with trio.fail_after(5):
                await sub.wait_checkpoint(1)
            [letter] = await bus.dead_letters("t")
            assert letter.attempts == 1

    async def test_redrive(self, autojump_clock: trio.testing.MockClock) -> None:
        """Redriven dead letters are delivered again."""
        healthy = False
        got: list[int] = []

        def target(signal: Signal) -> None:
            if not healthy:
                raise ConnectionError("down")
            got.append(signal.data["n"])

        async with open_bus() as bus:
            sub = await bus.subscribe("**", name="t", target=target, max_attempts=1)
            await bus.publish(sig("placed", 7))
            with trio.fail_after(5):
                await sub.wait_checkpoint(1)
            healthy = True
            assert await bus.redrive("t") == 1
            with trio.fail_after(5):
                await sub.wait_checkpoint(1)
                while not got:  # the redriven delivery is acked right after the target ran
                    await trio.testing.wait_all_tasks_blocked()
            assert got == [7]
            assert await bus.dead_letters("t") == []
            with pytest.raises(LookupError, match=r"^no active subscription named 'gone'$"):
                await bus.redrive("gone")


class TestJournalReading:
    async def test_replay_by_offset_and_pattern(self) -> None:
        """Replay reads a range of the journal by pattern."""
        async with open_bus() as bus:
            await bus.publish([sig("placed", 1), sig("paid", 2), sig("placed", 3), sig("placed", 4)])
            records = await bus.replay("order.placed", start=2, end=3)
            assert [r.offset for r in records] == [3]
            assert [r.offset for r in await bus.replay(limit=2)] == [1, 2]

    async def test_replay_by_time(self, autojump_clock: trio.testing.MockClock) -> None:
        """Replay can start at a time."""
        clock = TrioClock(start=START)
        async with open_bus(MemoryJournal(clock=clock), clock=clock) as bus:
            await bus.publish(sig("placed", 1))
            await trio.sleep(3600)
            await bus.publish(sig("placed", 2))
            records = await bus.replay(start=START + dt.timedelta(minutes=30))
            assert [r.signal.data["n"] for r in records] == [2]

    async def test_effects_of(self) -> None:
        """effects_of follows causation links forward."""
        async with open_bus() as bus:
            root = sig("placed", 1)
            child = sig("paid", 2).caused_by(root)
            grandchild = sig("shipped", 3).caused_by(child)
            unrelated = sig("placed", 4)
            await bus.publish([root, child, unrelated, grandchild])
            effects = await bus.effects_of(root.id)
            assert [r.signal.id for r in effects] == [child.id, grandchild.id]
            assert grandchild.correlationid == root.id


class TestRetention:
    async def test_max_entries(self, autojump_clock: trio.testing.MockClock) -> None:
        """Retention keeps at most max_entries records; a lagging subscriber counts what it missed."""
        async with open_bus(retention=Retention(max_entries=3, interval=1.0)) as bus:
            sub = await bus.subscribe("**", name="late", start_from="beginning")
            await bus.publish([sig("placed", n) for n in range(10)])
            await trio.sleep(1.5)
            stats = await bus.statistics()
            assert (stats.first_offset, stats.trimmed) == (8, 7)
            assert [d.offset for d in await take(sub, 3)] == [8, 9, 10]
            assert sub.statistics().skipped == 7

    def test_bad_retention(self) -> None:
        """Retention options are checked."""
        with pytest.raises(ValueError, match=r"^Retention\.max_entries must be an int >= 1 or None, got 0$"):
            Retention(max_entries=0)


def test_exports_runtime_names() -> None:
    """Bus names used by the tests exist."""
    assert jido.Signal is Signal


class TestAdapterTargets:
    async def test_adapter_closed_with_its_subscription(self) -> None:
        """An adapter target is closed when its subscription ends, and when the bus closes."""

        class Recording:
            def __init__(self) -> None:
                self.got: list[int] = []
                self.closed = 0

            async def deliver(self, signal: Signal) -> None:
                self.got.append(signal.data["n"])

            async def aclose(self) -> None:
                self.closed += 1

        first, second = Recording(), Recording()
        async with open_bus() as bus:
            sub = await bus.subscribe("**", name="a", target=first)
            await bus.subscribe("**", name="b", target=second)
            await bus.publish(sig("placed", 1))
            await sub.wait_checkpoint(1)
            await bus.unsubscribe(sub)
            await trio.testing.wait_all_tasks_blocked()
            assert (first.got, first.closed, second.closed) == ([1], 1, 0)
        assert second.closed == 1
