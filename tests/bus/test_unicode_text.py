"""Text no UTF-8 can carry (a lone surrogate) reaching a journal: an error message is stored escaped, a name is
refused clearly, and the memory and SQLite journals agree."""

from __future__ import annotations

from pathlib import Path

import pytest
import trio
import trio.testing

from jido.bus.bus import open_bus
from jido.bus.journal import Journal, Record
from jido.bus.memory import MemoryJournal
from jido.bus.sqlite import SQLiteJournal
from jido.signal import Signal


@pytest.fixture(params=["memory", "sqlite"])
def journal(request: pytest.FixtureRequest, tmp_path: Path) -> Journal:
    return MemoryJournal() if request.param == "memory" else SQLiteJournal(tmp_path / "j.db")


class TestErrorText:
    async def test_dead_lettered_once_with_the_surrogate_escaped(
        self, journal: Journal, autojump_clock: trio.testing.MockClock
    ) -> None:
        """A handler whose exception quotes undecodable bytes is dead-lettered once (the SQLite journal
        refused the text, so the dead letter was tried again forever and the checkpoint stuck)."""

        def fail(signal: Signal) -> None:
            raise ValueError("bad \udcff byte")

        async with open_bus(journal) as bus:
            sub = await bus.subscribe("**", name="x", target=fail, max_attempts=1)
            await bus.publish(Signal(type="a.b", source="/test"))
            await sub.wait_checkpoint(1)
            letters = await bus.dead_letters("x")
            assert [letter.error for letter in letters] == ["ValueError: bad \\udcff byte"]
            assert (sub.statistics().dead_lettered, sub.statistics().in_flight) == (1, 0)


class TestNames:
    @pytest.mark.parametrize("where", ["get_checkpoint", "set_checkpoint", "bind", "owner", "dead_letter"])
    async def test_lone_surrogate_refused(self, journal: Journal, where: str) -> None:
        """A name with a lone surrogate is a ValueError naming it, in both journals (SQLite raised
        UnicodeEncodeError from deep inside, the memory journal kept it)."""
        bad = "a\ud800"
        async with open_bus(journal):
            with pytest.raises(ValueError, match=r"must be Unicode text, got .* \(a lone surrogate at index"):
                if where == "get_checkpoint":
                    await journal.get_checkpoint(bad)
                elif where == "set_checkpoint":
                    await journal.set_checkpoint(bad, 0)
                elif where == "bind":
                    await journal.bind_subscription(bad, pattern="**", owner=None, offset=0)
                elif where == "owner":
                    await journal.bind_subscription("n", pattern="**", owner=bad, offset=0)
                else:
                    record = Record(
                        0, Signal(type="a.b", source="/test"), Signal(type="a.b", source="/t").time
                    )
                    await journal.add_dead_letter(bad, record, "boom", 1)
            assert await journal.get_checkpoint("n") is None
