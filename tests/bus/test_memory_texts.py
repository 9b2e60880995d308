"""The memory journal keeps the JSON of its newest records, bounded, for whoever sends them on as text."""

from __future__ import annotations

import pytest

from jido.bus import memory
from jido.bus.memory import MemoryJournal
from jido.signal import Signal
from tests.bus.journal_support import sig


class TestEncoded:
    async def test_text_of_each_record(self) -> None:
        """encoded(offset) is the signal's to_json() for records just appended, None for other offsets."""
        journal = MemoryJournal()
        records = await journal.append([sig(i) for i in range(3)])
        assert [journal.encoded(r.offset) for r in records] == [r.signal.to_json() for r in records]
        assert (journal.encoded(0), journal.encoded(4)) == (None, None)

    async def test_bounded_by_count(self, monkeypatch: pytest.MonkeyPatch) -> None:
        """Only the newest texts are kept."""
        monkeypatch.setattr(memory, "_TEXTS", 2)
        journal = MemoryJournal()
        records = await journal.append([sig(i) for i in range(4)])
        assert [journal.encoded(r.offset) is not None for r in records] == [False, False, True, True]

    async def test_bounded_by_characters(self, monkeypatch: pytest.MonkeyPatch) -> None:
        """Past the character bound the oldest texts go; the newest always stays."""
        monkeypatch.setattr(memory, "_TEXT_CHARS", 100)
        journal = MemoryJournal()
        records = await journal.append(
            [Signal(type="t.big", source="/t", data={"x": "y" * 200}) for _ in range(3)]
        )
        assert [journal.encoded(r.offset) is not None for r in records] == [False, False, True]
        assert journal._text_chars == len(records[-1].signal.to_json())
