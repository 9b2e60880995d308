"""The runtime's dead letters go to the journal's dead-letter store beside the bus's: one place lists them all,
durable with SQLite; a flood past the writer's queue is counted, never a crash."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from jido.bus.sqlite import SQLiteJournal
from jido.errors import NoRouteError
from jido.runtime.dead_letters import DeadLetter, JournalDeadLetters
from jido.runtime.runtime import open_runtime
from jido.signal import Signal

from .agents import Counter, sig


class TestStored:
    async def test_rejections_and_crashes_are_stored_with_reasons(self) -> None:
        """Each runtime dead letter is in the journal under agent:<id>, with its reason and error text."""
        async with open_runtime() as rt:
            ref = await rt.start_agent(Counter, id="c")
            with pytest.raises(NoRouteError):
                await ref.call(sig("nobody"))
            with pytest.raises(ValueError, match="invalid add params"):
                await ref.call(sig("add", by="x"))
            with pytest.raises(Exception, match="poison"):
                await ref.call(sig("crash"))
            stored = await rt.stored_dead_letters(agent_id="c")
            assert [(d.subscription, d.reason, d.record.offset) for d in stored] == [
                ("agent:c", "no_route", 0),
                ("agent:c", "invalid_params", 0),
                ("agent:c", "crash", 0),
            ]
            assert stored[0].error.startswith("NoRouteError: no route for signal type 'counter.nobody'")
            assert stored[1].record.signal.data == {"by": "x"}
            assert [d.signal.id for d in rt.dead_letters()] == [d.record.signal.id for d in stored]

    async def test_outlive_the_process_with_sqlite(self, tmp_path: Path) -> None:
        """With the SQLite journal, the runtime's dead letters are there when it opens again."""
        path = tmp_path / "journal.db"
        async with open_runtime(journal=SQLiteJournal(path)) as rt:
            ref = await rt.start_agent(Counter, id="c")
            ref.cast_nowait(sig("nobody"))
            await ref.call(sig("add"))
        async with open_runtime(journal=SQLiteJournal(path)) as rt:
            [letter] = await rt.stored_dead_letters()
            assert (letter.subscription, letter.reason, letter.record.signal.type) == (
                "agent:c",
                "no_route",
                "counter.nobody",
            )

    async def test_written_when_the_runtime_closes(self, tmp_path: Path) -> None:
        """What stopping the agents dead-letters (their queued mailbox) is written before the journal closes."""
        path = tmp_path / "journal.db"
        async with open_runtime(journal=SQLiteJournal(path)) as rt:
            ref = await rt.start_agent(Counter, id="c")
            await ref.stop()
            rt.deliver("c", sig("add"))  # not found: dead-lettered at once
        async with open_runtime(journal=SQLiteJournal(path)) as rt:
            assert [d.reason for d in await rt.stored_dead_letters()] == ["not_found"]


class _Journal:
    """A journal whose dead-letter writes fail (only what the writer uses)."""

    def __init__(self) -> None:
        self.calls = 0

    async def add_dead_letter(self, *args: object, **kwargs: object) -> None:
        self.calls += 1
        raise OSError("disk full")


def _letter(n: int) -> DeadLetter:
    signal = Signal(type="a.b", source="/test", data={"n": n})
    return DeadLetter(signal, RuntimeError("x"), "c", "crash", dt.datetime(2026, 1, 1, tzinfo=dt.UTC))


class TestWriter:
    async def test_flood_past_the_queue_is_counted(self) -> None:
        """Offers past the writer's queue are counted as unsaved, never raised."""
        journal = _Journal()
        writer = JournalDeadLetters(journal, limit=3)  # type: ignore[arg-type]
        for n in range(10):
            writer.offer(_letter(n))
        assert writer.unsaved == 7
        await writer.flush()
        assert (journal.calls, writer.saved, writer.unsaved) == (3, 0, 10)

    async def test_failing_journal_does_not_raise(self, caplog: pytest.LogCaptureFixture) -> None:
        """A journal that fails a write is logged and counted; the writer goes on with the next."""
        journal = _Journal()
        writer = JournalDeadLetters(journal)  # type: ignore[arg-type]
        writer.offer(_letter(1))
        writer.offer(_letter(2))
        await writer.flush()
        await writer.wait_written()
        assert (journal.calls, writer.unsaved) == (2, 2)
        assert "could not write a dead letter (crash) of 'c' to the journal: disk full" in caplog.text


class TestMemoryBound:
    async def test_runtime_dead_letters_bounded_in_bytes(self) -> None:
        """Rejected signals near the frame limit are evicted past dead_letter_bytes, oldest first, counted."""
        async with open_runtime(dead_letter_bytes=2_000_000) as rt:
            ref = await rt.start_agent(Counter, id="c")
            for _ in range(10):
                with pytest.raises(ValueError, match="invalid add params"):
                    await ref.call(sig("add", by="x" * 500_000))
            stats = rt.statistics()
            kept = rt.dead_letters()
            assert (stats.dead_letters, len(kept) + stats.dead_letters_evicted) == (10, 10)
            assert len(kept) == 3

    async def test_bad_bounds(self) -> None:
        """dead_letter_limit and dead_letter_bytes must be ints >= 1."""
        with pytest.raises(ValueError, match=r"^dead_letter_bytes must be an int >= 1, got 0$"):
            async with open_runtime(dead_letter_bytes=0):
                pass  # pragma: no cover
