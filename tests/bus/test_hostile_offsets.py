"""Offsets from outside (a gateway client's ``from``) past 64 bits neither crash a subscription nor the bus."""

from __future__ import annotations

from pathlib import Path

import pytest
import trio
import trio.testing

from jido.bus.bus import open_bus
from jido.bus.journal import Journal
from jido.bus.memory import MemoryJournal
from jido.bus.sqlite import SQLiteJournal
from jido.signal import Signal


@pytest.fixture(params=["memory", "sqlite"])
def journal(request: pytest.FixtureRequest, tmp_path: Path) -> Journal:
    return MemoryJournal() if request.param == "memory" else SQLiteJournal(tmp_path / "j.db")


class TestOffsetsPast64Bits:
    @pytest.mark.parametrize("name", [None, "far"], ids=["transient", "durable"])
    async def test_subscribe_from_far_future(
        self, journal: Journal, name: str | None, autojump_clock: trio.testing.MockClock
    ) -> None:
        """A subscription from offset 2**70 waits for it (nothing is delivered) and the bus keeps working."""
        received: list[Signal] = []
        async with open_bus(journal) as bus:
            sub = await bus.subscribe("**", name=name, start_from=2**70, target=received.append)
            await bus.publish(Signal(type="order.placed", source="/shop"))
            await trio.testing.wait_all_tasks_blocked()  # every task idle: nothing more is coming
            assert (received, sub.statistics().lag) == ([], 0)
            assert await bus.replay(start=2**70) == []
            near = await bus.subscribe("**", start_from="beginning")
            assert (await near.next()).offset == 1
