"""Durable agent state: with a state store, committed state is stored before it is acknowledged, restored
when the agent starts again, and each bus record or idempotent send changes it exactly once."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import attrs
import pytest
import trio
import trio.testing

from dsl import agent, route
from jido.bus.journal import Record
from jido.bus.sqlite import SQLiteJournal
from jido.bus.subscription import Delivery
from jido.errors import BrokenError, StaleStateError
from jido.runtime.runtime import _AgentDelivery, open_runtime
from jido.signal import Signal
from jido.store import MemoryStateStore, SQLiteStateStore, StateWrite, StoredState
from jido.telemetry import Event, attach

from .agents import Add, Counter, sig


@agent(subscribe=["counter.*"])
@route("counter.add", Add)
class Subscriber:
    count: int = 0
    seen: list[int] = attrs.field(factory=list)


class FailingStore(MemoryStateStore):
    """A memory store whose writes fail while ``failing`` is set."""

    def __init__(self) -> None:
        super().__init__()
        self.failing = False

    async def save_many(self, writes: Sequence[StateWrite]) -> list[StoredState]:
        if self.failing:
            raise BrokenError("disk full")
        return await super().save_many(writes)


class TestStoredBeforeAcknowledged:
    async def test_call_returns_after_the_state_is_stored(self) -> None:
        """When a call returns, its state is in the store (revision one per commit)."""
        store = MemoryStateStore()
        async with open_runtime(store=store) as rt:
            ref = await rt.start_agent(Counter, id="c")
            await ref.call(sig("add", by=2))
            stored = await store.load("c")
            assert stored is not None and stored.revision == 1
            assert '"state":{"count":2' in stored.data
            await ref.call(sig("add", by=1))
            again = await store.load("c")
            assert again is not None and again.revision == 2

    async def test_failed_write_commits_nothing(self) -> None:
        """A store that fails a write: the caller gets the error, the state stays as stored, the agent runs."""
        store = FailingStore()
        async with open_runtime(store=store) as rt:
            ref = await rt.start_agent(Counter, id="c")
            await ref.call(sig("add", by=2))
            store.failing = True
            with pytest.raises(BrokenError, match=r"^disk full$"):
                await ref.call(sig("add", by=5))
            ref.cast_nowait(sig("add", by=7))  # a cast: nobody to tell, so it is a dead letter
            await trio.testing.wait_all_tasks_blocked()
            store.failing = False
            agent = await ref.call(sig("add", by=1))
            assert agent.state.count == 3 and ref.restarts == 0
            assert [d.reason for d in rt.dead_letters(agent_id="c")] == ["not_stored"]
            stored = await store.load("c")
            assert stored is not None and stored.revision == 2

    async def test_failed_write_is_not_acked(self, autojump_clock: trio.testing.MockClock) -> None:
        """A bus delivery whose state the store refused is delivered again, and applied once it is stored."""
        store = FailingStore()
        async with open_runtime(store=store) as rt:
            ref = await rt.start_agent(Subscriber, id="s")
            store.failing = True
            await rt.publish(Signal(type="counter.add", source="/t", data={"by": 4}))
            await trio.sleep(0.05)  # a first attempt or two fail to store
            assert ref.state.count == 0
            store.failing = False
            await ref.wait_state(lambda state: state.count == 4, timeout=60)
            await trio.sleep(60)
            assert ref.state.count == 4


class TestRestore:
    async def test_resumes_from_stored_state(self, tmp_path: Path) -> None:
        """An agent started with an id that has a stored state resumes from it, and says so."""
        path = tmp_path / "state.db"
        async with open_runtime(store=SQLiteStateStore(path)) as rt:
            ref = await rt.start_agent(Counter, id="c")
            for _ in range(4):
                await ref.call(sig("add"))
        restored: list[Event] = []
        attachment = attach("jido.agent.restored", restored.append)
        try:
            async with open_runtime(store=SQLiteStateStore(path)) as rt:
                ref = await rt.start_agent(Counter, id="c")
                assert ref.state.count == 4
                assert (await ref.call(sig("add"))).state.count == 5
        finally:
            attachment.detach()
        [event] = restored
        assert (event.fields["agent_id"], event.fields["revision"]) == ("c", 4)

    async def test_unreadable_record_is_refused_and_kept(self) -> None:
        """A stored record that does not fit the agent: BrokenError naming the agent and field; kept as is."""
        store = MemoryStateStore()
        bad = '{"format":1,"agent":"counter","state":{"count":"three"},"applied":{},"recent":[]}'
        [before] = await store.save_many([StateWrite("c", bad)])
        async with open_runtime(store=store) as rt:
            with pytest.raises(
                BrokenError,
                match=r"^stored state of agent 'c' \(revision 1\) does not fit the 'counter' state schema: "
                r'\$\.count: expected int, got "three"$',
            ):
                await rt.start_agent(Counter, id="c")
            assert rt.whereis("c") is None
            assert await store.load("c") == before

    @pytest.mark.parametrize(
        ("data", "message"),
        [
            ("not json", r"is not JSON"),
            ('{"format": 9}', r"is not in jido's format 1 \(format: 9\)"),
            ('{"format":1,"agent":"other","state":{}}', r"belongs to agent kind 'other', not 'counter'"),
            ('{"format":1,"agent":"counter","state":{},"applied":[]}', r"has malformed bookkeeping"),
        ],
    )
    async def test_foreign_records(self, data: str, message: str) -> None:
        """Records that are not this agent's state are refused with what is wrong."""
        store = MemoryStateStore()
        await store.save_many([StateWrite("c", data)])
        async with open_runtime(store=store) as rt:
            with pytest.raises(BrokenError, match=rf"^stored state of agent 'c' \(revision 1\) {message}"):
                await rt.start_agent(Counter, id="c")


def _delivery(subscription: str, offset: int, by: int) -> Delivery:
    signal = Signal(type="counter.add", source="/t", data={"by": by})
    return Delivery(Record(offset, signal, dt.datetime(2026, 1, 1, tzinfo=dt.UTC)), 1, subscription)


class TestExactlyOnce:
    async def test_redelivered_record_not_applied_twice(self) -> None:
        """A record delivered again (stored but not acked before a crash) is recognised by its offset."""
        async with open_runtime(store=MemoryStateStore()) as rt:
            ref = await rt.start_agent(Counter, id="c")
            target = _AgentDelivery(rt, ref.id)
            await target.deliver_record(_delivery("agent:c:counter.*", 1, 5))
            await target.deliver_record(_delivery("agent:c:counter.*", 1, 5))
            await target.deliver_record(_delivery("agent:c:counter.*", 2, 1))
            await target.deliver_record(_delivery("agent:c:other.*", 1, 10))  # another subscription
            assert (ref.state.count, ref.duplicates) == (16, 1)

    async def test_applied_offsets_survive_the_process(self, tmp_path: Path) -> None:
        """The offsets applied are stored with the state: after a restart a redelivery is still recognised."""
        path = tmp_path / "state.db"
        async with open_runtime(store=SQLiteStateStore(path)) as rt:
            ref = await rt.start_agent(Counter, id="c")
            await _AgentDelivery(rt, ref.id).deliver_record(_delivery("agent:c:counter.*", 7, 5))
        async with open_runtime(store=SQLiteStateStore(path)) as rt:
            ref = await rt.start_agent(Counter, id="c")
            await _AgentDelivery(rt, ref.id).deliver_record(_delivery("agent:c:counter.*", 7, 5))
            await _AgentDelivery(rt, ref.id).deliver_record(_delivery("agent:c:counter.*", 8, 1))
            assert (ref.state.count, ref.duplicates) == (6, 1)

    async def test_idempotent_call_applied_once(self, tmp_path: Path) -> None:
        """A call sent again with the same signal id (idempotent) is answered, not applied again; the
        window of keys is stored with the state."""
        path = tmp_path / "state.db"
        signal = sig("add", by=3)
        async with open_runtime(store=SQLiteStateStore(path)) as rt:
            ref = await rt.start_agent(Counter, id="c")
            assert (await ref.call(signal, idempotent=True)).state.count == 3
            assert (await ref.call(signal, idempotent=True)).state.count == 3
            assert (await ref.call(signal)).state.count == 6  # not idempotent: applied
        async with open_runtime(store=SQLiteStateStore(path)) as rt:
            ref = await rt.start_agent(Counter, id="c")
            await ref.cast(signal, idempotent=True)
            assert (await ref.call(sig("add", by=0))).state.count == 6
            assert ref.duplicates == 1

    async def test_idempotent_without_a_store(self) -> None:
        """Without a store the window of idempotency keys is kept in memory."""
        async with open_runtime() as rt:
            ref = await rt.start_agent(Counter, id="c")
            signal = sig("add", by=2)
            ref.cast_nowait(signal, idempotent=True)
            ref.cast_nowait(signal, idempotent=True)
            assert (await ref.call(sig("add", by=0))).state.count == 2

    async def test_bad_idempotent_option(self) -> None:
        """idempotent must be a bool."""
        async with open_runtime() as rt:
            ref = await rt.start_agent(Counter, id="c")
            with pytest.raises(TypeError, match=r"^idempotent must be a bool, got 'yes'$"):
                await ref.call(sig("add"), idempotent="yes")  # type: ignore[arg-type]

    async def test_bus_signals_applied_once_across_runs(self, tmp_path: Path) -> None:
        """Journal and store on disk: signals published in two runs are each applied once."""
        journal, state = tmp_path / "journal.db", tmp_path / "state.db"
        for run in range(3):
            async with open_runtime(journal=SQLiteJournal(journal), store=SQLiteStateStore(state)) as rt:
                ref = await rt.start_agent(Subscriber, id="s")
                for by in (1, 2):
                    await rt.publish(Signal(type="counter.add", source="/t", data={"by": by}))
                await ref.wait_state(lambda s, run=run: len(s.seen) == 2 * (run + 1), timeout=10)
                assert ref.state.seen == [1, 2] * (run + 1)


class TestConflicts:
    async def test_another_writer_wins(self, tmp_path: Path) -> None:
        """Two runtimes on one store file: a write over the other's is refused (StaleStateError) and the
        agent takes what is stored; the next call applies on top of it."""
        path = tmp_path / "state.db"
        async with (
            open_runtime(store=SQLiteStateStore(path)) as first,
            open_runtime(store=SQLiteStateStore(path)) as second,
        ):
            a = await first.start_agent(Counter, id="c")
            b = await second.start_agent(Counter, id="c")
            await a.call(sig("add", by=3))
            with pytest.raises(
                StaleStateError, match=r"^state of agent 'c' is at revision 1, not the expected 0$"
            ):
                await b.call(sig("add", by=1))
            assert b.state.count == 3
            assert (await b.call(sig("add", by=1))).state.count == 4


class TestOptions:
    async def test_store_must_be_a_store(self) -> None:
        """open_runtime(store=...) refuses what is not a StateStore."""
        with pytest.raises(TypeError, match=r"^store must be a StateStore \(jido\.store\), got dict$"):
            async with open_runtime(store={}):  # type: ignore[arg-type]
                pass  # pragma: no cover


def _v1(state: str) -> str:
    return '{"format":1,"agent":"tally","version":1,"state":' + state + ',"applied":{},"recent":[]}'


def _split(state: dict[str, Any]) -> dict[str, Any]:
    return {"total": state["n"], "label": "migrated"}


@agent(name="tally", version=2, migrations={1: _split})
@route("counter.add", Add)
class TallyV2:
    total: int = 0
    label: str = ""
    count: int = 0
    seen: list[int] = attrs.field(factory=list)


@agent(name="tally", version=3, migrations={2: lambda s: s})
@route("counter.add", Add)
class TallyV3:
    total: int = 0


class TestMigrations:
    async def test_older_state_is_migrated(self) -> None:
        """A stored state of an older version is taken through the agent's migrations, then stored as the
        current version at the next commit."""
        store = MemoryStateStore()
        await store.save_many([StateWrite("t", _v1('{"n": 7}'))])
        async with open_runtime(store=store) as rt:
            ref = await rt.start_agent(TallyV2, id="t")
            assert (ref.state.total, ref.state.label) == (7, "migrated")
            await ref.call(sig("add"))
            stored = await store.load("t")
            assert stored is not None and '"version":2' in stored.data

    @pytest.mark.parametrize(
        ("cls", "data", "message"),
        [
            (TallyV2, _v1('{"m": 7}'), r"the migration from state version 1 raised KeyError: 'n'"),
            (
                TallyV3,
                _v1('{"n": 7}'),
                r"is of state version 1; agent 'tally' \(version 3\) has no migration",
            ),
            (
                TallyV2,
                _v1("{}").replace('"version":1', '"version":5'),
                r"is of state version 5, newer than agent 'tally' \(version 2\)",
            ),
        ],
        ids=["migration_raises", "no_migration", "newer"],
    )
    async def test_unmigratable_state_is_refused_and_kept(self, cls: type, data: str, message: str) -> None:
        """A state that cannot be migrated is refused with a BrokenError naming the agent; it is kept."""
        store = MemoryStateStore()
        [before] = await store.save_many([StateWrite("t", data)])
        async with open_runtime(store=store) as rt:
            with pytest.raises(BrokenError, match=rf"^stored state of agent 't' \(revision 1\):? {message}"):
                await rt.start_agent(cls, id="t")
            assert await store.load("t") == before

    def test_bad_declarations(self) -> None:
        """version must be an int >= 1; migrations start from an older version and are callable."""
        from jido.errors import DefinitionError

        with pytest.raises(
            DefinitionError, match=r"^\S+:\d+: Bad: agent 'bad': version must be an int >= 1, got 0$"
        ):

            @agent(version=0)
            class Bad:
                n: int = 0

        with pytest.raises(DefinitionError, match=r"a migration starts from a version in 1\.\.1, got 2$"):

            @agent(version=2, migrations={2: lambda s: s})
            class Worse:
                n: int = 0


class TestKeyBytes:
    async def test_long_ids_are_kept_as_digests(self) -> None:
        """Idempotency keys of long signal ids are kept as SHA-256 digests: the window stays small in bytes,
        and a resend is still recognised."""
        store = MemoryStateStore()
        async with open_runtime(store=store) as rt:
            ref = await rt.start_agent(Counter, id="c")
            signal = Signal(id="x" * 100_000, type="counter.add", source="/t", data={"by": 1})
            await ref.call(signal, idempotent=True)
            await ref.call(signal, idempotent=True)
            assert (ref.state.count, ref.duplicates) == (1, 1)
            stored = await store.load("c")
            assert stored is not None and len(stored.data) < 1_000


class TestKeyWindow:
    async def test_window_keeps_the_last_256_keys(self) -> None:
        """The idempotency window holds the newest 256 keys: a key pushed out of it applies again."""
        async with open_runtime() as rt:
            ref = await rt.start_agent(Counter, id="c")
            first = sig("add", by=1)
            await ref.call(first, idempotent=True)
            for _ in range(255):
                await ref.call(sig("add", by=0), idempotent=True)
            assert (await ref.call(first, idempotent=True)).state.count == 1  # still in the window
            await ref.call(sig("add", by=0), idempotent=True)  # pushes the first key out
            assert (await ref.call(first, idempotent=True)).state.count == 2
