"""Offsets from outside (a gateway client's ``from``) past the journal's end, or past 64 bits, are refused\nclearly and neither crash a subscription nor the bus."""

from __future__ import annotations

from pathlib import Path

import pytest
import trio
import trio.testing

from jido.bus.bus import StartPastEndError, open_bus
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
        """A subscription from offset 2**70 is refused, nothing is stored for it, and the bus keeps working."""
        async with open_bus(journal) as bus:
            await bus.publish(Signal(type="order.placed", source="/shop"))
            with pytest.raises(
                StartPastEndError,
                match=r"^offset 1180591620717411303424 is past the end of the journal \(the next offset is 2\)$",
            ):
                await bus.subscribe("**", name=name, start_from=2**70)
            assert await journal.get_checkpoint("far") is None
            assert await bus.replay(start=2**70) == []
            near = await bus.subscribe("**", name=name, start_from="beginning")
            assert (await near.next()).offset == 1


class TestStartPastTheEnd:
    @pytest.mark.parametrize("name", [None, "d"], ids=["transient", "durable"])
    async def test_next_offset_is_accepted(self, journal: Journal, name: str | None) -> None:
        """The next offset to be appended is a valid start: the subscription gets that record."""
        async with open_bus(journal) as bus:
            await bus.publish(Signal(type="order.placed", source="/shop"))
            sub = await bus.subscribe("**", name=name, start_from=2)
            await bus.publish(Signal(type="order.shipped", source="/shop"))
            assert (await sub.next()).offset == 2

    @pytest.mark.parametrize("name", [None, "d"], ids=["transient", "durable"])
    async def test_one_past_the_next_is_refused(self, journal: Journal, name: str | None) -> None:
        """One offset further is refused, with the offset and the next one named."""
        async with open_bus(journal) as bus:
            await bus.publish(Signal(type="order.placed", source="/shop"))
            with pytest.raises(StartPastEndError) as info:
                await bus.subscribe("**", name=name, start_from=3)
            assert (info.value.offset, info.value.next_offset) == (3, 2)
            assert isinstance(info.value, ValueError)
            assert bus.subscriptions() == []

    async def test_a_stored_checkpoint_wins(self, journal: Journal) -> None:
        """A durable subscription that resumes ignores start_from, even one past the end."""
        async with open_bus(journal) as bus:
            await bus.publish(Signal(type="order.placed", source="/shop"))
            sub = await bus.subscribe("**", name="d", start_from="beginning")
            await sub.ack((await sub.next()).offset)
            await sub.aclose()
            await bus.publish(Signal(type="order.shipped", source="/shop"))
            again = await bus.subscribe("**", name="d", start_from=99)
            assert (await again.next()).offset == 2
