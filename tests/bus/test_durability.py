"""At-least-once delivery across restarts with the SQLite journal: nothing skipped, nothing lost."""

from __future__ import annotations

import pathlib
from typing import Any

import attrs

import jido
from dsl import action, agent, route
from jido.bus.bus import open_bus
from jido.bus.sqlite import SQLiteJournal
from jido.signal import Signal


def order(n: int) -> Signal:
    return Signal(type="order.placed", source="/shop", data={"n": n})


class TestBusRestart:
    async def test_durable_subscription_resumes_after_restart(self, tmp_path: pathlib.Path) -> None:
        """Publish N, handle part, stop, reopen: the rest arrives, nothing handled before is skipped."""
        path = tmp_path / "journal.db"
        handled: list[int] = []
        async with open_bus(SQLiteJournal(path)) as bus:
            await bus.publish([order(n) for n in range(10)])
            sub = await bus.subscribe("order.*", name="billing", start_from="beginning")
            for _ in range(4):
                delivery = await sub.next()
                handled.append(delivery.signal.data["n"])
                await sub.ack(delivery.offset)
            unacked = await sub.next()  # delivered but never acked: must come again
            handled.append(unacked.signal.data["n"])
        async with open_bus(SQLiteJournal(path)) as bus:
            sub = await bus.subscribe("order.*", name="billing", start_from="latest")
            for _ in range(6):
                delivery = await sub.next()
                handled.append(delivery.signal.data["n"])
                await sub.ack(delivery.offset)
            assert (await bus.statistics()).subscriptions[0].lag == 0
        assert sorted(set(handled)) == list(range(10))
        assert handled.count(4) == 2  # the unacked one came twice: at least once, never zero times

    async def test_crash_without_checkpoint_redelivers(self, tmp_path: pathlib.Path) -> None:
        """A subscription that dies before storing its checkpoint gets the unstored part again."""
        path = tmp_path / "journal.db"
        async with open_bus(SQLiteJournal(path)) as bus:
            await bus.publish([order(n) for n in range(5)])
            sub = await bus.subscribe("**", name="w", start_from="beginning", checkpoint_interval=3600)
            first = await sub.next()
            await sub.ack(first.offset)  # stored: the first advance of a subscription always is
            for _ in range(2):
                delivery = await sub.next()
                await sub.ack(delivery.offset)
            sub.close_nowait()  # a crash: no checkpoint stored for the last two acks
        async with open_bus(SQLiteJournal(path)) as bus:
            sub = await bus.subscribe("**", name="w")
            offsets = [(await sub.next()).offset for _ in range(4)]
            assert offsets == [2, 3, 4, 5]

    async def test_offsets_continue_after_reopen(self, tmp_path: pathlib.Path) -> None:
        """Offsets keep increasing across a restart."""
        path = tmp_path / "journal.db"
        async with open_bus(SQLiteJournal(path)) as bus:
            await bus.publish([order(1), order(2)])
        async with open_bus(SQLiteJournal(path)) as bus:
            [record] = await bus.publish(order(3))
            assert record.offset == 3


@action
class Count:
    n: int

    def run(self, ctx: jido.ActionContext) -> dict[str, Any]:
        return {"seen": [*ctx.state.seen, self.n]}


@agent(subscribe=["order.*"])
@route("order.placed", Count)
class Ledger:
    seen: list[int] = attrs.field(factory=list)


class TestRuntimeRestart:
    async def test_agent_subscription_survives_runtime_restart(self, tmp_path: pathlib.Path) -> None:
        """An agent subscribed through the bus gets, after a restart, what was published while it was down."""
        path = tmp_path / "journal.db"
        async with jido.open_runtime(journal=SQLiteJournal(path)) as rt:
            ledger = await rt.start_agent(Ledger, id="ledger")
            for n in range(3):
                await rt.publish(order(n))
            await ledger.wait_state(lambda s: len(s.seen) == 3, timeout=10)
        async with open_bus(SQLiteJournal(path)) as bus:  # published while no agent runs
            await bus.publish([order(n) for n in range(3, 6)])
        async with jido.open_runtime(journal=SQLiteJournal(path)) as rt:
            ledger = await rt.start_agent(Ledger, id="ledger")
            state = await ledger.wait_state(lambda s: len(s.seen) >= 3, timeout=10)
            assert sorted(state.seen) == [3, 4, 5]
