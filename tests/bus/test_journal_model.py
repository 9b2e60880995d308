"""Both journal backends against a simple model, over random sequences of every operation (and reopen)."""

from __future__ import annotations

import datetime as dt
import itertools
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import attrs
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from jido.bus.journal import DeadLetterRecord, Journal, Record
from jido.bus.memory import MemoryJournal
from jido.bus.sqlite import SQLiteJournal
from jido.signal import Signal
from tests.bus.journal_support import T0, ManualClock

# The model checks logic, not durability: keep its files in memory-backed storage where there is one, so that
# the fsyncs of creating and closing a database (hundreds per run) do not make the suite wait on the disk.
SHARED_MEMORY = Path("/dev/shm")

NAMES = ["a", "b"]
SECOND = dt.timedelta(seconds=1)

OPERATIONS = st.one_of(
    st.tuples(st.just("append"), st.integers(0, 3), st.integers(-30, 120)),
    st.tuples(st.just("read"), st.integers(1, 15), st.integers(1, 6)),
    st.tuples(st.just("offset_at"), st.integers(-60, 1500)),
    st.tuples(
        st.just("trim"), st.none() | st.integers(0, 6), st.none() | st.integers(0, 600), st.integers(0, 300)
    ),
    st.tuples(st.just("set_checkpoint"), st.sampled_from(NAMES), st.integers(0, 15)),
    st.tuples(st.just("add_dead_letter"), st.sampled_from(NAMES), st.integers(0, 10), st.integers(0, 4)),
    st.tuples(st.just("remove_dead_letter"), st.integers(1, 6)),
    st.tuples(st.just("dead_letters"), st.none() | st.sampled_from(NAMES), st.integers(1, 4)),
    st.tuples(st.just("reopen")),
)


@attrs.define
class Model:
    """What a journal should hold: the plain-list reading of the promises in jido.bus.journal."""

    retained: list[Record] = attrs.Factory(list)
    last: int = 0
    last_at: dt.datetime | None = None
    checkpoints: dict[str, int] = attrs.Factory(dict)
    dead_letters: dict[int, DeadLetterRecord] = attrs.Factory(dict)
    dead_letter_ids: int = 0

    @property
    def first(self) -> int:
        return self.retained[0].offset if self.retained else self.last + 1

    def append(self, signals: list[Signal], now: dt.datetime) -> list[Record]:
        at = now if self.last_at is None else max(now, self.last_at)
        records = [Record(self.last + 1 + i, signal, at) for i, signal in enumerate(signals)]
        if records:
            self.last += len(records)
            self.last_at = at
        self.retained += records
        return records

    def read(self, start: int, limit: int) -> list[Record]:
        return [r for r in self.retained if r.offset >= start][:limit]

    def offset_at(self, moment: dt.datetime) -> int:
        return next((r.offset for r in self.retained if r.appended_at >= moment), self.last + 1)

    def trim(self, max_entries: int | None, max_age: dt.timedelta | None, now: dt.datetime) -> int:
        kept = self.retained
        if max_age is not None:
            kept = [r for r in kept if r.appended_at >= now - max_age]
        if max_entries is not None:
            kept = kept[max(len(kept) - max_entries, 0) :] if max_entries else []
        removed = len(self.retained) - len(kept)
        self.retained = kept
        return removed

    def set_checkpoint(self, name: str, offset: int) -> int:
        self.checkpoints[name] = max(offset, self.checkpoints.get(name, offset))
        return self.checkpoints[name]

    def add_dead_letter(self, name: str, record: Record, attempts: int, at: dt.datetime) -> DeadLetterRecord:
        self.dead_letter_ids += 1
        letter = DeadLetterRecord(self.dead_letter_ids, name, record, f"error {attempts}", attempts, at)
        self.dead_letters[letter.id] = letter
        return letter

    def list_dead_letters(self, name: str | None, limit: int) -> list[DeadLetterRecord]:
        return [d for d in self.dead_letters.values() if name is None or d.subscription == name][:limit]


class Harness:
    """One backend under test, and how to reopen it (the memory journal cannot be reopened: a no-op)."""

    def __init__(self, backend: str, directory: Path, clock: ManualClock) -> None:
        self.backend = backend
        self.path = directory / f"model-{next(_files)}.db"
        self.clock = clock
        self.journal = self.open()

    def open(self) -> Journal:
        if self.backend == "memory":
            return MemoryJournal(clock=self.clock)
        return SQLiteJournal(self.path, clock=self.clock, synchronous="NORMAL")

    async def reopen(self) -> None:
        if self.backend == "sqlite":
            await self.journal.aclose()
            self.journal = self.open()


_files = itertools.count()


async def check_step(
    harness: Harness, model: Model, operation: tuple[Any, ...], serial: itertools.count[int]
) -> None:
    """Apply one operation to the journal and the model, and compare what they answer."""
    journal, clock = harness.journal, harness.clock
    match operation:
        case ("append", count, step):
            clock.advance(step)
            signals = [Signal(type="model.step", source="/model", data=next(serial)) for _ in range(count)]
            assert await journal.append(signals) == model.append(signals, clock.now())
        case ("read", start, limit):
            assert await journal.read(start, limit=limit) == model.read(start, limit)
        case ("offset_at", seconds):
            moment = T0 + seconds * SECOND
            assert await journal.offset_at(moment) == model.offset_at(moment)
        case ("trim", max_entries, age, later):
            max_age = None if age is None else age * SECOND
            now = clock.now() + later * SECOND
            removed = await journal.trim(max_entries=max_entries, max_age=max_age, now=now)
            assert removed == model.trim(max_entries, max_age, now)
        case ("set_checkpoint", name, offset):
            if offset > model.last:
                with pytest.raises(
                    ValueError, match=r"^offset \d+ is past the last offset appended \(\d+\)$"
                ):
                    await journal.set_checkpoint(name, offset)
            else:
                assert await journal.set_checkpoint(name, offset) == model.set_checkpoint(name, offset)
        case ("add_dead_letter", name, index, attempts):
            if model.retained:
                record = model.retained[index % len(model.retained)]
                letter = await journal.add_dead_letter(name, record, f"error {attempts}", attempts)
                assert letter == model.add_dead_letter(name, record, attempts, clock.now())
        case ("remove_dead_letter", letter_id):
            assert await journal.remove_dead_letter(letter_id) is (
                model.dead_letters.pop(letter_id, None) is not None
            )
        case ("dead_letters", name, limit):
            assert await journal.dead_letters(name, limit=limit) == model.list_dead_letters(name, limit)
        case ("reopen",):
            await harness.reopen()
        case _:  # pragma: no cover - the strategy makes only the cases above
            raise AssertionError(f"unknown operation {operation!r}")
    journal = harness.journal
    assert (await journal.first_offset(), await journal.last_offset()) == (model.first, model.last)
    if operation[0] in ("set_checkpoint", "reopen"):
        for name in NAMES:
            assert await journal.get_checkpoint(name) == model.checkpoints.get(name)


@pytest.fixture
def directory(tmp_path: Path) -> Iterator[Path]:
    """A directory for the model's files: in shared memory if the system has it, else pytest's tmp_path."""
    if not SHARED_MEMORY.is_dir():
        yield tmp_path
        return
    with tempfile.TemporaryDirectory(dir=SHARED_MEMORY, prefix="jido-journal-model-") as name:
        yield Path(name)


@pytest.mark.parametrize("backend", ["memory", "sqlite"])
@settings(suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(operations=st.lists(OPERATIONS, max_size=16))
async def test_journal_matches_model(
    backend: str, directory: Path, operations: list[tuple[Any, ...]]
) -> None:
    """Any sequence of operations (with reopens) leaves the journal answering exactly as the model does."""
    harness = Harness(backend, directory, ManualClock())
    model = Model()
    serial = itertools.count()
    try:
        for operation in operations:
            await check_step(harness, model, operation, serial)
        assert await harness.journal.read(limit=1000) == model.retained
        assert await harness.journal.dead_letters() == list(model.dead_letters.values())
        for name in NAMES:
            assert await harness.journal.get_checkpoint(name) == model.checkpoints.get(name)
    finally:
        await harness.journal.aclose()
