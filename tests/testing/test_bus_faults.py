"""Faults in the bus: lost and late deliveries, journal writes that fail; what the bus does about each."""

from __future__ import annotations

import logging

import pytest
import trio
import trio.lowlevel
import trio.testing

from jido.bus.bus import open_bus
from jido.bus.memory import MemoryJournal
from jido.signal import Signal
from jido.testing import (
    DelayDelivery,
    DropDelivery,
    FailAction,
    FailJournalWrite,
    FaultInjector,
    FaultPlan,
    inject_faults,
    open_test_runtime,
)
from tests.runtime.agents import Counter, Watcher, sig


def order(n: int, kind: str = "placed") -> Signal:
    return Signal(type=f"order.{kind}", source="/shop", data={"n": n})


class Received:
    """A bus target that notes each signal's ``n`` and when (trio time) it arrived."""

    def __init__(self, *, fail: bool = False) -> None:
        self.items: list[tuple[int, float]] = []
        self.fail = fail

    def __call__(self, signal: Signal) -> None:
        assert isinstance(signal.data, dict)
        self.items.append((signal.data["n"], trio.current_time()))
        if self.fail:
            raise ValueError("cannot handle it")

    @property
    def ns(self) -> list[int]:
        return [n for n, _ in self.items]


class TestDropDelivery:
    async def test_lost_delivery_comes_again_after_the_ack_timeout(
        self, autojump_clock: trio.testing.MockClock
    ) -> None:
        """The first delivery is lost: the others arrive, then it does, once its ack timeout passes."""
        received = Received()
        with inject_faults([DropDelivery("order.*", on={1})]) as faults:
            async with open_bus() as bus:
                sub = await bus.subscribe("order.*", name="billing", target=received, ack_timeout=5)
                await bus.publish([order(1), order(2), order(3)])
                await sub.wait_checkpoint(3)
                stats = sub.statistics()
        assert received.ns == [2, 3, 1]
        assert received.items[-1][1] == pytest.approx(5.0)
        assert (stats.delivered, stats.redelivered, stats.acked, stats.dead_lettered) == (4, 1, 3, 0)
        [record] = faults.records
        assert (record.subscription, record.offset, record.occurrence) == ("billing", 1, 1)
        assert str(record) == (
            "DropDelivery(pattern='order.*', on={1}) struck delivery 1 of offset 1 ('order.placed') "
            "to subscription 'billing'"
        )

    async def test_always_lost_is_dead_lettered(self, autojump_clock: trio.testing.MockClock) -> None:
        """A record whose every delivery is lost goes to the dead letters after max_attempts, as 'ack timeout'."""
        received = Received()
        with inject_faults([DropDelivery("order.paid")]) as faults:
            async with open_bus() as bus:
                sub = await bus.subscribe(
                    "order.*", name="billing", target=received, ack_timeout=2, max_attempts=3
                )
                await bus.publish([order(1, "paid"), order(2)])
                await sub.wait_checkpoint(2)
                [letter] = await bus.dead_letters()
        assert received.ns == [2]
        assert (letter.record.offset, letter.error, letter.attempts) == (1, "ack timeout", 3)
        assert [r.occurrence for r in faults.records] == [1, 2, 3]

    async def test_only_the_named_subscription(self, autojump_clock: trio.testing.MockClock) -> None:
        """subscription= limits the fault to that subscription's deliveries; patterns are router patterns."""
        billing, audit = Received(), Received()
        plan = FaultPlan([DropDelivery("order.**", subscription="billing", limit=1)])
        with inject_faults(plan) as faults:
            async with open_bus() as bus:
                b = await bus.subscribe("order.*", name="billing", target=billing, ack_timeout=5)
                a = await bus.subscribe("**", name="audit", target=audit, ack_timeout=5)
                await bus.publish(
                    [order(1), Signal(type="user.joined", source="/x", data={"n": 9}), order(2)]
                )
                await b.wait_checkpoint(3)
                await a.wait_checkpoint(3)
        assert billing.ns == [2, 1]
        assert audit.ns == [1, 9, 2]
        assert [(r.subscription, r.offset) for r in faults.records] == [("billing", 1)]

    async def test_iterating_subscriber_sees_the_loss_too(
        self, autojump_clock: trio.testing.MockClock
    ) -> None:
        """Without a target, ``next()`` skips the lost delivery; it comes back as attempt 2."""
        with inject_faults([DropDelivery(on={1})]):
            async with open_bus() as bus:
                sub = await bus.subscribe("order.*", ack_timeout=3)
                await bus.publish([order(1), order(2)])
                first = await sub.next()
                await sub.ack(first.offset)
                again = await sub.next()
        assert (first.offset, first.attempt) == (2, 1)
        assert (again.offset, again.attempt) == (1, 2)
        assert trio.current_time() == pytest.approx(3.0)

    async def test_an_agent_handles_each_signal_once_through_losses(
        self, autojump_clock: trio.testing.MockClock
    ) -> None:
        """An agent's subscription acks after handling: lost deliveries come again, none is handled twice."""
        plan = FaultPlan([DropDelivery("counter.changed", probability=0.5)], seed=3)
        async with open_test_runtime(faults=plan) as rt:
            watcher = await rt.start_agent(Watcher, id="watcher")
            for _ in range(10):
                await rt.publish(Signal(type="counter.changed", source="/test"))

            [sub] = rt.bus.subscriptions()
            assert sub.name == "agent:watcher:counter.changed"
            await sub.wait_checkpoint(10)  # each record handled (acked) or dead-lettered (5 deliveries lost)
            await trio.sleep(300)  # past every ack timeout: a duplicate would have arrived by now
            lost = await rt.bus.dead_letters()
        assert (watcher.state.count, len(lost)) == (
            8,
            2,
        )  # handled once each, or dead-lettered  # seed 3: two records lost five times over
        assert all((d.error, d.attempts) == ("ack timeout", 5) for d in lost)


class TestDelayDelivery:
    async def test_late_delivery_holds_the_ones_after_it(
        self, autojump_clock: trio.testing.MockClock
    ) -> None:
        """A delivery 2 s late arrives at t=2; the subscription hands deliveries over in order."""
        received = Received()
        with inject_faults([DelayDelivery("order.*", delay=2.0, on={2})]) as faults:
            async with open_bus() as bus:
                sub = await bus.subscribe("order.*", target=received, ack_timeout=30)
                await bus.publish([order(1), order(2), order(3)])
                await sub.wait_checkpoint(3)
        assert received.items == [(1, 0.0), (2, pytest.approx(2.0)), (3, pytest.approx(2.0))]
        assert str(faults.records[0]).startswith(
            "DelayDelivery(pattern='order.*', delay=2.0, on={2}) struck delivery 2 of offset 2 ('order.placed')"
        )

    async def test_delay_past_the_ack_timeout_delivers_twice(
        self, autojump_clock: trio.testing.MockClock
    ) -> None:
        """The ack timeout runs from the send: a delivery later than it is delivered again (at least once)."""
        with inject_faults([DelayDelivery(delay=10.0, on={1})]):
            async with open_bus() as bus:
                sub = await bus.subscribe("order.*", ack_timeout=4, max_in_flight=1)
                await bus.publish(order(1))
                late = await sub.next()
                again = await sub.next()  # the first one was never acked
                await sub.ack(again.offset)
        assert (late.attempt, again.attempt, late.offset, again.offset) == (1, 2, 1, 1)


class TestFailJournalWrite:
    async def test_failed_append_stores_nothing_of_its_batch(
        self, autojump_clock: trio.testing.MockClock
    ) -> None:
        """The 2nd publish raises OSError and stores none of its signals; offsets stay contiguous."""
        with inject_faults([FailJournalWrite(on={2})]) as faults:
            async with open_bus() as bus:
                await bus.publish(order(1))
                with pytest.raises(OSError, match=r"^injected failure of journal write 2 \(append\)$"):
                    await bus.publish([order(2), order(3)])
                await bus.publish(order(4))
                records = await bus.replay("**")
        assert [(r.offset, r.signal.data) for r in records] == [(1, {"n": 1}), (2, {"n": 4})]
        assert (
            str(faults.records[0])
            == "FailJournalWrite(on={2}) struck journal write 2: append ('order.placed')"
        )

    async def test_custom_error(self) -> None:
        """error= chooses what the write raises."""
        with inject_faults([FailJournalWrite(error=lambda: PermissionError("read-only disk"))]):
            async with open_bus() as bus:
                with pytest.raises(PermissionError, match=r"^read-only disk$"):
                    await bus.publish(order(1))

    async def test_failed_emit_dead_letters_the_signal(self, autojump_clock: trio.testing.MockClock) -> None:
        """An agent's Emit that cannot be appended: the caller gets the error, the signal is dead-lettered,
        the agent restarts from the state it committed, and goes on."""
        async with open_test_runtime(faults=FaultPlan([FailJournalWrite(on={1})])) as rt:
            ref = await rt.start_agent(Counter, id="c")
            with pytest.raises(OSError, match=r"journal write 1 \(append\)"):
                await ref.call(sig("announce"))
            assert [d.reason for d in rt.dead_letters()] == ["directive_failed"]
            agent = await ref.call(sig("announce"))  # restarted ("crash" policy) from its committed state
            assert (agent.state.count, ref.restarts) == (2, 1)
            assert [r.signal.type for r in await rt.bus.replay("**")] == ["counter.changed"]

    async def test_failed_checkpoint_store_is_stored_later(
        self, autojump_clock: trio.testing.MockClock, caplog: pytest.LogCaptureFixture
    ) -> None:
        """A checkpoint store that fails is logged; delivery goes on; the close stores the checkpoint, so the
        subscription resumes after the last ack."""
        journal = MemoryJournal()
        received = Received()
        plan = FaultPlan([FailJournalWrite(write="checkpoint", on={2, 3})])  # 1: the subscription's start
        with caplog.at_level(logging.ERROR, logger="jido.bus"), inject_faults(plan) as faults:
            async with open_bus(journal) as bus:
                sub = await bus.subscribe("order.*", name="billing", target=received, checkpoint_interval=0)
                await bus.publish([order(1), order(2), order(3)])
                await sub.wait_checkpoint(3)
                await sub.aclose()
                assert await journal.get_checkpoint("billing") == 3
        assert received.ns == [1, 2, 3]
        assert [r.message for r in caplog.records] == [
            "subscription 'billing' could not store its checkpoint 1",
            "subscription 'billing' could not store its checkpoint 2",
        ]
        assert str(faults.records[0]) == (
            "FailJournalWrite(write='checkpoint', on={2, 3}) struck journal write 2: checkpoint of "
            "subscription 'billing'"
        )

    async def test_failed_dead_letter_write_is_tried_again(
        self, autojump_clock: trio.testing.MockClock, caplog: pytest.LogCaptureFixture
    ) -> None:
        """A dead letter the journal refuses stays in flight and is written once the journal takes it; the
        record is dead-lettered exactly once, and later records are still delivered."""
        received = Received(fail=True)
        plan = FaultPlan([FailJournalWrite(write="dead_letter", on={1})])
        with caplog.at_level(logging.ERROR, logger="jido.bus"), inject_faults(plan):
            async with open_bus() as bus:
                sub = await bus.subscribe(
                    "order.*", name="billing", target=received, max_attempts=2, backoff=1, ack_timeout=10
                )
                await bus.publish(order(1))
                await sub.wait_checkpoint(1)
                letters = await bus.dead_letters()
                stats = sub.statistics()
        assert [(letter.record.offset, letter.attempts) for letter in letters] == [(1, 2)]
        assert letters[0].error == "ValueError: cannot handle it"
        assert (stats.dead_lettered, received.ns) == (1, [1, 1])
        assert trio.current_time() == pytest.approx(11.0)  # backoff 1 s, then one ack timeout before retrying
        assert caplog.records[0].message == (
            "subscription 'billing' could not dead-letter offset 1 ('order.placed'), trying again in 10s"
        )


class TestPlanChanges:
    async def test_set_plan_reaches_a_running_bus(self, autojump_clock: trio.testing.MockClock) -> None:
        """The bus reads its hooks once, when opened; the injector's plan can change while it runs."""
        injector = FaultInjector()
        received = Received()
        with injector.install():
            async with open_bus() as bus:
                sub = await bus.subscribe("order.*", target=received, ack_timeout=1)
                await bus.publish(order(1))
                await sub.wait_checkpoint(1)
                injector.set_plan(FaultPlan([FailJournalWrite(), FailAction("x")]))
                with pytest.raises(OSError, match="injected failure"):
                    await bus.publish(order(2))
                injector.set_plan(FaultPlan())
                await bus.publish(order(3))
                await sub.wait_checkpoint(2)
        assert received.ns == [1, 3]

    async def test_no_injector_no_wrapping(self) -> None:
        """A bus opened outside any injector keeps its own journal object."""
        journal = MemoryJournal()
        async with open_bus(journal) as bus:
            assert bus.journal is journal
        with inject_faults([]):
            async with open_bus(MemoryJournal()) as wrapped:
                assert repr(wrapped.journal).startswith("<FaultyJournal over ")


class TestRaces:
    async def test_ack_during_dead_letter_write(self, autojump_clock: trio.testing.MockClock) -> None:
        """An ack that arrives while the record's dead letter is being written finds nothing in flight; the
        record is dead-lettered once and the reader goes on."""
        async with open_bus() as bus:
            sub = await bus.subscribe("order.*", name="gw", ack_timeout=2, max_attempts=1)
            await bus.publish(order(1))
            delivery = await sub.next()
            refused: list[str] = []

            async def late_ack() -> None:
                await trio.sleep(2)  # when the redelivery is due: next() dead-letters it
                await trio.lowlevel.checkpoint()
                try:
                    await sub.ack(delivery.offset)
                except LookupError as exc:
                    refused.append(str(exc))

            async with trio.open_nursery() as nursery:
                nursery.start_soon(late_ack)
                with trio.move_on_after(10):
                    await sub.next()
            stats = sub.statistics()
            assert refused == ["offset 1 is not in flight for subscription 'gw'"]
            assert (stats.acked, stats.dead_lettered, stats.checkpoint) == (0, 1, 1)
            assert len(await bus.dead_letters()) == 1

    async def test_late_redelivery_of_an_acked_record_is_not_handed_over(
        self, autojump_clock: trio.testing.MockClock
    ) -> None:
        """A redelivery delayed past the ack of the attempt before it is dropped: nothing acked comes again."""
        with inject_faults([DelayDelivery(delay=5.0, on={2})]):
            async with open_bus() as bus:
                sub = await bus.subscribe("order.*", name="gw", ack_timeout=2)
                await bus.publish(order(1))
                first = await sub.next()

                async def late_ack() -> None:
                    await trio.sleep(3)  # the redelivery (t=2) is still on its way, until t=7
                    await sub.ack(first.offset)

                async with trio.open_nursery() as nursery:
                    nursery.start_soon(late_ack)
                    with trio.move_on_after(30) as waited:
                        await sub.next()
                assert waited.cancelled_caught  # nothing was handed over
                assert (sub.statistics().in_flight, sub.checkpoint) == (0, 1)
