"""The state store contract: every promise of jido.store.store, checked on each backend (memory, SQLite, Redis)."""

from __future__ import annotations

import datetime as dt
import inspect
import pickle
import zoneinfo
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
import trio

from jido.errors import ClosedError, JidoError
from jido.store.store import (
    MAX_REVISION,
    StaleStateError,
    StateStore,
    StateWrite,
    StoredState,
    Wakeup,
    WakeupIndex,
)
from tests.redis.server import redis_namespace as redis_namespace
from tests.redis.server import redis_server as redis_server
from tests.store.store_support import T0, ManualClock, StoreFactory, save

# Fixtures, imported by name so that pytest finds them in this module (`X as X` marks the re-export).
from tests.store.store_support import clock as clock
from tests.store.store_support import make_store as make_store
from tests.store.store_support import store as store

PROTOCOL_METHODS = ["load", "load_many", "save_many", "delete", "list_ids", "count", "aclose"]
LARGE = '{"blob": "' + "ü€𝄞x" * 600_000 + '"}'  # ~5.4 MB of UTF-8, past any page or buffer size


class TestProtocol:
    async def test_is_a_state_store(self, store: StateStore) -> None:
        """Each backend satisfies the StateStore protocol at runtime."""
        assert isinstance(store, StateStore)

    @pytest.mark.parametrize("name", PROTOCOL_METHODS)
    async def test_method_matches_protocol(self, store: StateStore, name: str) -> None:
        """Each method has the protocol's exact signature and is async."""
        method = getattr(type(store), name)
        assert inspect.iscoroutinefunction(method)
        assert inspect.signature(method) == inspect.signature(getattr(StateStore, name))

    async def test_statistics_matches_protocol(self, store: StateStore) -> None:
        """statistics() is a plain method with the protocol's signature."""
        method = type(store).statistics
        assert not inspect.iscoroutinefunction(method)
        assert inspect.signature(method) == inspect.signature(StateStore.statistics)


class TestRoundTrip:
    @pytest.mark.parametrize(
        "data",
        [
            '{"count": 1}',
            "",
            '{"name": "Zoë", "city": "Łódź", "greeting": "こんにちは", "music": "𝄞", "flag": "🇫🇷"}',
            "not json at all: the store never parses it",
            '{"nul": "a\x00b", "controls": "\t\r\n\x1f", "bom": "\ufeff"}',
            '{"spaces":   [1,2 ,3] }  \n',
            LARGE,
        ],
        ids=["small", "empty", "non-ascii", "not-json", "controls", "whitespace", "large"],
    )
    async def test_data_kept_exactly(self, store: StateStore, data: str) -> None:
        """The text loaded is the text saved, code point for code point."""
        saved = await save(store, "agent-1", data)
        loaded = await store.load("agent-1")
        assert loaded is not None
        assert loaded.data == data and loaded.data.encode() == data.encode()
        assert loaded == saved

    async def test_missing_is_none(self, store: StateStore) -> None:
        """An agent never saved has no state."""
        assert await store.load("nobody") is None

    async def test_stored_state_fields(self, store: StateStore, clock: ManualClock) -> None:
        """save_many returns the agent id, data, revision 1 and the clock's time for a first save."""
        assert await save(store, "a", "{}") == StoredState("a", "{}", 1, T0)

    async def test_updated_at_in_utc(self, store: StateStore, clock: ManualClock) -> None:
        """updated_at is the clock's time converted to UTC, to the microsecond."""
        clock.current = dt.datetime(2026, 1, 1, 7, 0, 0, 123456, tzinfo=zoneinfo.ZoneInfo("America/New_York"))
        state = await save(store, "a", "{}")
        assert state.updated_at == dt.datetime(2026, 1, 1, 12, 0, 0, 123456, tzinfo=dt.UTC)
        assert state.updated_at.utcoffset() == dt.timedelta(0)
        assert await store.load("a") == state

    async def test_updated_at_moves_with_the_clock(self, store: StateStore, clock: ManualClock) -> None:
        """Each save stamps the time of that save."""
        await save(store, "a", "1")
        later = clock.advance(90)
        assert (await save(store, "a", "2")).updated_at == later

    async def test_load_many(self, store: StateStore) -> None:
        """load_many returns the states of the ids that have one, and nothing for the others."""
        a = await save(store, "a", "1")
        c = await save(store, "c", "3")
        assert await store.load_many(["c", "b", "a", "c"]) == {"c": c, "a": a}
        assert await store.load_many([]) == {}
        assert await store.load_many(iter(["a"])) == {"a": a}

    async def test_load_many_past_one_chunk(self, store: StateStore) -> None:
        """load_many of more ids than one SQL statement takes returns them all."""
        ids = [f"agent-{i:04d}" for i in range(1200)]
        await store.save_many([StateWrite(agent_id, f'{{"i": {i}}}') for i, agent_id in enumerate(ids)])
        loaded = await store.load_many([*ids, "missing"])
        assert list(loaded) == ids
        assert loaded["agent-0999"].data == '{"i": 999}'


class TestRevisions:
    async def test_revision_counts_saves(self, store: StateStore) -> None:
        """Revision 1 for the first save, one more for each save after it."""
        revisions = [(await save(store, "a", str(i))).revision for i in range(4)]
        assert revisions == [1, 2, 3, 4]
        loaded = await store.load("a")
        assert loaded is not None and (loaded.revision, loaded.data) == (4, "3")

    async def test_revisions_per_agent(self, store: StateStore) -> None:
        """Each agent has its own revisions."""
        await save(store, "a", "1")
        await save(store, "a", "2")
        assert (await save(store, "b", "1")).revision == 1

    async def test_same_agent_twice_in_one_batch(self, store: StateStore) -> None:
        """Writes of one batch apply in order: a second write to the same agent sees the first."""
        states = await store.save_many([StateWrite("a", "1"), StateWrite("a", "2", expected_revision=1)])
        assert [(s.revision, s.data) for s in states] == [(1, "1"), (2, "2")]
        loaded = await store.load("a")
        assert loaded is not None and (loaded.revision, loaded.data) == (2, "2")

    async def test_revision_never_repeats_after_delete(self, store: StateStore) -> None:
        """After a delete the agent has no state, and its next save is above every revision deleted."""
        await save(store, "a", "1")
        await save(store, "a", "2")
        assert await store.delete("a")
        assert await store.load("a") is None
        assert (await save(store, "a", "3", expected=0)).revision == 3
        assert (await save(store, "b", "1")).revision == 3  # the floor is the store's, not the agent's

    async def test_no_aba_across_a_delete(self, store: StateStore) -> None:
        """A writer holding a revision from before a delete cannot overwrite the state made after it."""
        await save(store, "a", "old")
        assert await store.delete("a", expected_revision=1)
        await save(store, "a", "new", expected=0)
        with pytest.raises(StaleStateError) as caught:
            await save(store, "a", "stale writer", expected=1)
        assert (caught.value.expected, caught.value.actual) == (1, 2)
        loaded = await store.load("a")
        assert loaded is not None and loaded.data == "new"

    async def test_batches_of_one_kind(self, store: StateStore) -> None:
        """A batch all unconditional, then one all compare-and-set, each touching an agent twice: every
        write gets its own revision, in order (the SQLite store runs such batches as one executemany)."""
        states = await store.save_many([StateWrite("a", "1"), StateWrite("b", "1"), StateWrite("a", "2")])
        assert [(s.agent_id, s.revision) for s in states] == [("a", 1), ("b", 1), ("a", 2)]
        states = await store.save_many(
            [StateWrite("a", "3", 2), StateWrite("a", "4", 3), StateWrite("b", "2", 1)]
        )
        assert [(s.agent_id, s.revision, s.data) for s in states] == [
            ("a", 3, "3"),
            ("a", 4, "4"),
            ("b", 2, "2"),
        ]
        with pytest.raises(StaleStateError) as caught:
            await store.save_many([StateWrite("a", "5", 4), StateWrite("b", "3", 1), StateWrite("a", "6", 5)])
        assert (caught.value.agent_id, caught.value.expected, caught.value.actual) == ("b", 1, 2)
        loaded = await store.load_many(["a", "b"])
        assert {k: (v.revision, v.data) for k, v in loaded.items()} == {"a": (4, "4"), "b": (2, "2")}

    async def test_first_save_is_revision_one(self, store: StateStore) -> None:
        """Without any delete, a new agent's first save is revision 1, also with expected_revision=0."""
        assert (await save(store, "a", "1", expected=0)).revision == 1
        assert (await save(store, "b", "1")).revision == 1


def _wakeups(store: StateStore) -> WakeupIndex:
    if not isinstance(store, WakeupIndex):
        pytest.skip(f"{type(store).__name__} does not index wake_at (WakeupIndex is optional)")
    return store


class TestWakeups:
    async def test_listed_in_time_order(self, store: StateStore) -> None:
        """States saved with wake_at are listed by (wake_at, agent id); those without are not."""
        index = _wakeups(store)
        later, sooner = T0 + dt.timedelta(hours=1), T0 + dt.timedelta(minutes=1)
        await store.save_many(
            [
                StateWrite("c", "{}", wake_at=later),
                StateWrite("a", "{}", wake_at=later),
                StateWrite("b", "{}", wake_at=sooner),
                StateWrite("d", "{}"),
            ]
        )
        assert await index.list_wakeups() == [Wakeup(sooner, "b"), Wakeup(later, "a"), Wakeup(later, "c")]

    async def test_pages_and_before(self, store: StateStore) -> None:
        """after pages on from a listed wakeup; before keeps those due by then; limit bounds the page."""
        index = _wakeups(store)
        times = [T0 + dt.timedelta(seconds=i) for i in range(5)]
        await store.save_many([StateWrite(f"agent-{i}", "{}", wake_at=t) for i, t in enumerate(times)])
        first = await index.list_wakeups(limit=2)
        assert [w.agent_id for w in first] == ["agent-0", "agent-1"]
        rest = await index.list_wakeups(after=first[-1], before=times[3])
        assert [w.agent_id for w in rest] == ["agent-2", "agent-3"]

    async def test_cleared_by_a_save_without_and_by_delete(self, store: StateStore) -> None:
        """A later save without wake_at, or a delete, takes the agent out of the index."""
        index = _wakeups(store)
        await store.save_many([StateWrite(x, "{}", wake_at=T0) for x in "ab"])
        await save(store, "a", "{}")
        assert await store.delete("b")
        assert await index.list_wakeups() == []

    async def test_any_zone_kept_as_utc(self, store: StateStore) -> None:
        """A wake_at in any time zone is listed as the same moment in UTC, to the microsecond."""
        index = _wakeups(store)
        moment = dt.datetime(2026, 3, 1, 9, 30, 0, 123456, tzinfo=zoneinfo.ZoneInfo("Asia/Tokyo"))
        await store.save_many([StateWrite("a", "{}", wake_at=moment)])
        [listed] = await index.list_wakeups()
        assert listed.wake_at == moment and listed.wake_at.tzinfo == dt.UTC

    async def test_same_moment_paged_by_id(self, store: StateStore) -> None:
        """Agents due at the same moment are listed by id, and pages go on among them without a repeat."""
        index = _wakeups(store)
        ids = ["b", "a", "ab", "a\u00e9", "\U0001f600", "aa"]
        await store.save_many([StateWrite(x, "{}", wake_at=T0) for x in ids])
        listed: list[Wakeup] = []
        while page := await index.list_wakeups(after=listed[-1] if listed else None, limit=2):
            listed += page
        assert listed == [Wakeup(T0, x) for x in sorted(ids)]

    async def test_before_is_inclusive_to_the_microsecond(self, store: StateStore) -> None:
        """before keeps what is due at that very microsecond, and not what is due one microsecond later."""
        index = _wakeups(store)
        tick = dt.timedelta(microseconds=1)
        await store.save_many([StateWrite("a", "{}", wake_at=T0), StateWrite("b", "{}", wake_at=T0 + tick)])
        assert [w.agent_id for w in await index.list_wakeups(before=T0)] == ["a"]
        assert await index.list_wakeups(before=T0 - tick) == []
        assert [w.agent_id for w in await index.list_wakeups(before=T0 + tick)] == ["a", "b"]

    async def test_a_later_wake_at_moves_the_agent(self, store: StateStore) -> None:
        """A save with another wake_at lists the agent once, at the new time."""
        index = _wakeups(store)
        await store.save_many([StateWrite(x, "{}", wake_at=T0) for x in "ab"])
        await store.save_many([StateWrite("a", "{}", wake_at=T0 + dt.timedelta(hours=1))])
        assert await index.list_wakeups() == [Wakeup(T0, "b"), Wakeup(T0 + dt.timedelta(hours=1), "a")]

    async def test_last_write_of_a_batch_wins(self, store: StateStore) -> None:
        """Two writes of one agent in a batch leave the index as the second says."""
        index = _wakeups(store)
        await store.save_many([StateWrite("a", "{}", wake_at=T0), StateWrite("a", "{}")])
        await store.save_many([StateWrite("b", "{}"), StateWrite("b", "{}", wake_at=T0)])
        assert await index.list_wakeups() == [Wakeup(T0, "b")]

    async def test_a_refused_batch_indexes_nothing(self, store: StateStore) -> None:
        """A batch refused for a stale revision changes no wakeup."""
        index = _wakeups(store)
        await store.save_many([StateWrite("a", "{}", wake_at=T0)])
        with pytest.raises(StaleStateError):
            await store.save_many(
                [StateWrite("b", "{}", wake_at=T0), StateWrite("a", "{}", expected_revision=7)]
            )
        assert await index.list_wakeups() == [Wakeup(T0, "a")]

    @pytest.mark.parametrize(
        "moment",
        [
            dt.datetime(1, 1, 1, tzinfo=dt.UTC),
            dt.datetime(1969, 12, 31, 23, 59, 59, 999999, tzinfo=dt.UTC),
            dt.datetime(9999, 12, 31, 23, 59, 59, 999999, tzinfo=dt.UTC),
        ],
        ids=["year-1", "before-1970", "year-9999"],
    )
    async def test_any_moment_exact(self, store: StateStore, moment: dt.datetime) -> None:
        """A wake_at long before 1970 or far in the future is kept to the microsecond, in order."""
        index = _wakeups(store)
        later = T0 if moment < T0 else moment - dt.timedelta(microseconds=1)
        await store.save_many([StateWrite("a", "{}", wake_at=moment), StateWrite("b", "{}", wake_at=later)])
        assert await index.list_wakeups() == sorted([Wakeup(moment, "a"), Wakeup(later, "b")])
        assert await index.list_wakeups(before=moment) == [
            w for w in sorted([Wakeup(moment, "a"), Wakeup(later, "b")]) if w.wake_at <= moment
        ]

    async def test_bad_arguments(self, store: StateStore) -> None:
        """A naive wake_at or before, or an after that is not a Wakeup, is refused."""
        index = _wakeups(store)
        with pytest.raises(ValueError, match=r"^wake_at must be timezone-aware"):
            StateWrite("a", "{}", wake_at=dt.datetime(2026, 1, 1))
        with pytest.raises(ValueError, match=r"^before must be timezone-aware"):
            await index.list_wakeups(before=dt.datetime(2026, 1, 1))
        with pytest.raises(TypeError, match=r"^after must be None or a Wakeup"):
            await index.list_wakeups(after="a")  # type: ignore[arg-type]


class TestCompareAndSet:
    async def test_zero_creates(self, store: StateStore) -> None:
        """expected_revision=0 writes when the agent has no state."""
        assert (await save(store, "a", "1", expected=0)).revision == 1

    async def test_zero_refuses_existing(self, store: StateStore) -> None:
        """expected_revision=0 refuses an agent that has a state, and leaves it as it was."""
        first = await save(store, "a", "1")
        with pytest.raises(
            StaleStateError, match=r"^state of agent 'a' is at revision 1, not the expected 0$"
        ):
            await save(store, "a", "2", expected=0)
        assert await store.load("a") == first

    async def test_match_writes(self, store: StateStore) -> None:
        """A matching expected revision writes, and the revision grows by one."""
        await save(store, "a", "1")
        state = await save(store, "a", "2", expected=1)
        assert (state.revision, state.data) == (2, "2")

    async def test_mismatch_refuses(self, store: StateStore) -> None:
        """Another expected revision raises StaleStateError naming agent, expected and actual, and writes
        nothing."""
        await save(store, "a", "1")
        second = await save(store, "a", "2")
        with pytest.raises(StaleStateError) as caught:
            await save(store, "a", "3", expected=1)
        assert (caught.value.agent_id, caught.value.expected, caught.value.actual) == ("a", 1, 2)
        assert str(caught.value) == "state of agent 'a' is at revision 2, not the expected 1"
        assert await store.load("a") == second

    async def test_expected_on_missing(self, store: StateStore) -> None:
        """An expected revision >= 1 for an agent with no state is stale, with actual revision 0."""
        with pytest.raises(StaleStateError) as caught:
            await save(store, "ghost", "1", expected=3)
        assert (caught.value.expected, caught.value.actual) == (3, 0)
        assert await store.load("ghost") is None

    async def test_none_overwrites(self, store: StateStore) -> None:
        """expected_revision=None writes whatever is stored."""
        await save(store, "a", "1")
        await save(store, "a", "2")
        assert (await save(store, "a", "3")).revision == 3

    async def test_error_is_a_value_error(self) -> None:
        """StaleStateError is a JidoError and a ValueError, and survives pickling with its attributes."""
        error = StaleStateError("a", 1, 2)
        assert isinstance(error, JidoError) and isinstance(error, ValueError)
        copy = pickle.loads(pickle.dumps(error))
        assert (copy.agent_id, copy.expected, copy.actual, str(copy)) == ("a", 1, 2, str(error))


class TestAtomicBatch:
    async def test_stale_write_stores_nothing(self, store: StateStore) -> None:
        """One stale write in a batch: the batch raises, and none of its writes (before or after) is stored."""
        kept = await save(store, "kept", "old")
        writes = [
            StateWrite("new", "n"),
            StateWrite("kept", "changed", expected_revision=1),
            StateWrite("stale", "s", expected_revision=5),
            StateWrite("later", "l"),
        ]
        with pytest.raises(StaleStateError, match=r"'stale' is at revision 0, not the expected 5"):
            await store.save_many(writes)
        assert await store.load_many(["new", "kept", "stale", "later"]) == {"kept": kept}
        assert await store.count() == 1

    async def test_first_stale_write_is_reported(self, store: StateStore) -> None:
        """With several stale writes, the error names the first in order."""
        with pytest.raises(StaleStateError, match=r"'b' is at revision 0, not the expected 2"):
            await store.save_many([StateWrite("a", "1"), StateWrite("b", "", 2), StateWrite("c", "", 3)])

    async def test_stale_against_earlier_write_in_batch(self, store: StateStore) -> None:
        """A write expecting the revision from before an earlier write of the same batch is stale."""
        with pytest.raises(StaleStateError, match=r"'a' is at revision 1, not the expected 0"):
            await store.save_many([StateWrite("a", "1", 0), StateWrite("a", "2", 0)])
        assert await store.load("a") is None

    async def test_empty_batch(self, store: StateStore) -> None:
        """Saving nothing returns nothing and writes nothing."""
        assert await store.save_many([]) == []
        assert await store.save_many(()) == []
        assert await store.count() == 0

    async def test_concurrent_savers_independent(self, store: StateStore) -> None:
        """50 tasks saving at once each get their own states; the one stale among them fails alone."""
        results: dict[int, list[StoredState]] = {}
        failures: list[StaleStateError] = []

        async def one(i: int) -> None:
            expected = 9 if i == 25 else None
            try:
                results[i] = await store.save_many(
                    [StateWrite(f"a{i}", f"{i}", expected), StateWrite("x", "")]
                )
            except StaleStateError as exc:
                failures.append(exc)

        async with trio.open_nursery() as nursery:
            for i in range(50):
                nursery.start_soon(one, i)
        assert [f.agent_id for f in failures] == ["a25"]
        assert sorted(results) == [i for i in range(50) if i != 25]
        for i, states in results.items():
            assert (states[0].agent_id, states[0].data, states[0].revision) == (f"a{i}", f"{i}", 1)
        assert sorted(s[1].revision for s in results.values()) == list(range(1, 50))
        assert await store.count() == 50  # 49 agents and "x"
        assert await store.load("a25") is None

    async def test_cancelled_save_writes_nothing(self, store: StateStore) -> None:
        """A save cancelled before it ran raises Cancelled and leaves nothing behind."""
        with trio.CancelScope() as scope:
            scope.cancel()
            await store.save_many([StateWrite("a", "1")])
        assert scope.cancelled_caught
        assert await store.load("a") is None


class TestDelete:
    async def test_delete_missing(self, store: StateStore) -> None:
        """Deleting an agent with no state returns False."""
        assert await store.delete("nobody") is False

    async def test_delete_present(self, store: StateStore) -> None:
        """Deleting returns True and the state is gone, from load, list_ids and count."""
        await save(store, "a", "1")
        await save(store, "b", "1")
        assert await store.delete("a") is True
        assert await store.load("a") is None
        assert await store.list_ids() == ["b"]
        assert await store.count() == 1

    async def test_delete_matching_revision(self, store: StateStore) -> None:
        """A delete expecting the stored revision deletes."""
        await save(store, "a", "1")
        await save(store, "a", "2")
        assert await store.delete("a", expected_revision=2) is True
        assert await store.load("a") is None

    async def test_delete_stale(self, store: StateStore) -> None:
        """A delete expecting another revision raises StaleStateError and keeps the state."""
        state = await save(store, "a", "1")
        with pytest.raises(
            StaleStateError, match=r"^state of agent 'a' is at revision 1, not the expected 4$"
        ):
            await store.delete("a", expected_revision=4)
        assert await store.load("a") == state

    async def test_delete_expected_on_missing(self, store: StateStore) -> None:
        """A delete expecting a revision of an agent with no state is stale (actual 0)."""
        with pytest.raises(StaleStateError, match=r"'a' is at revision 0, not the expected 1"):
            await store.delete("a", expected_revision=1)


class TestListIds:
    async def test_sorted_by_code_point(self, store: StateStore) -> None:
        """Ids come in code-point order (what sorted() gives), non-ASCII included."""
        ids = ["b", "a", "B", "é", "a-2", "a10", "a9", "z", "日本", "𝄞", "\x01"]
        await store.save_many([StateWrite(agent_id, "{}") for agent_id in ids])
        assert await store.list_ids() == sorted(ids)

    async def test_paging(self, store: StateStore) -> None:
        """Pages of ``limit`` ids, each after the last id of the page before, cover every id once."""
        ids = [f"agent-{i:03d}" for i in range(25)]
        await store.save_many([StateWrite(agent_id, "{}") for agent_id in reversed(ids)])
        pages: list[list[str]] = []
        after = None
        while page := await store.list_ids(after=after, limit=10):
            pages.append(page)
            after = page[-1]
        assert [len(p) for p in pages] == [10, 10, 5]
        assert [i for p in pages for i in p] == ids

    async def test_after_an_absent_id(self, store: StateStore) -> None:
        """``after`` need not be a stored id: the page starts at the first id greater than it."""
        await store.save_many([StateWrite(i, "{}") for i in ["a", "c", "e"]])
        assert await store.list_ids(after="b") == ["c", "e"]
        assert await store.list_ids(after="") == ["a", "c", "e"]
        assert await store.list_ids(after="e") == []
        assert await store.list_ids(after="a", limit=1) == ["c"]

    async def test_reflects_changes(self, store: StateStore) -> None:
        """New and deleted ids show in the next listing; saving a known agent changes nothing."""
        await store.save_many([StateWrite(i, "{}") for i in ["b", "d"]])
        assert await store.list_ids() == ["b", "d"]
        await save(store, "c", "{}")
        await save(store, "b", "{}")
        await store.delete("d")
        assert await store.list_ids() == ["b", "c"]

    async def test_empty_store(self, store: StateStore) -> None:
        """A store without states lists no ids and counts 0."""
        assert await store.list_ids() == []
        assert await store.count() == 0


class TestCount:
    async def test_count(self, store: StateStore) -> None:
        """count is the number of agents with a state, not of saves."""
        await store.save_many([StateWrite("a", "1"), StateWrite("a", "2"), StateWrite("b", "1")])
        await save(store, "c", "1")
        assert await store.count() == 3
        await store.delete("c")
        assert await store.count() == 2


class TestStatistics:
    async def test_counters(self, store: StateStore) -> None:
        """statistics() counts saves, deletes, transactions, the largest batch and conflicts."""
        await store.save_many([StateWrite("a", "1"), StateWrite("b", "1"), StateWrite("c", "1")])
        await save(store, "a", "2")
        with pytest.raises(StaleStateError):
            await save(store, "a", "3", expected=7)
        await store.delete("b")
        await store.delete("nobody")
        stats = store.statistics()
        assert (stats.saves, stats.deletes, stats.largest_batch, stats.conflicts) == (4, 1, 3, 1)
        assert 3 <= stats.transactions <= 4  # a delete of nothing may or may not be a transaction
        assert stats.failures == 0


CALLS: list[tuple[str, Callable[[StateStore], Awaitable[object]]]] = [
    ("load", lambda s: s.load("a")),
    ("load_many", lambda s: s.load_many(["a"])),
    ("save_many", lambda s: s.save_many([StateWrite("a", "1")])),
    ("save_many empty", lambda s: s.save_many([])),
    ("delete", lambda s: s.delete("a")),
    ("list_ids", lambda s: s.list_ids()),
    ("count", lambda s: s.count()),
]


class TestClosed:
    @pytest.mark.parametrize(("name", "call"), CALLS, ids=[name for name, _ in CALLS])
    async def test_closed_store_refuses(
        self, store: StateStore, name: str, call: Callable[[StateStore], Awaitable[object]]
    ) -> None:
        """Every call on a closed store raises ClosedError."""
        await save(store, "a", "1")
        await store.aclose()
        with pytest.raises(ClosedError, match=r"is closed$"):
            await call(store)

    async def test_aclose_twice(self, store: StateStore) -> None:
        """aclose may be called again; it does nothing more."""
        await store.aclose()
        await store.aclose()

    async def test_close_never_used(self, make_store: StoreFactory) -> None:
        """A store that was never used closes without error, and refuses calls afterwards."""
        store = make_store()
        await store.aclose()
        with pytest.raises(ClosedError):
            await store.count()


BAD_WRITES: list[tuple[Callable[[], object], type[Exception], str]] = [
    (lambda: StateWrite(5, "{}"), TypeError, r"^agent_id must be a str, got 5$"),  # type: ignore[arg-type]
    (lambda: StateWrite("", "{}"), ValueError, r"^agent_id must not be empty$"),
    (
        lambda: StateWrite("a\ud800", "{}"),
        ValueError,
        r"^agent_id must be encodable as UTF-8: it holds '\\ud800' at index 1$",
    ),
    (lambda: StateWrite("a", b"{}"), TypeError, r"^data must be a str, got b'\{\}'$"),  # type: ignore[arg-type]
    (lambda: StateWrite("a", {"x": 1}), TypeError, r"^data must be a str, got \{'x': 1\}$"),  # type: ignore[arg-type]
    (
        lambda: StateWrite("a", '{"x": "\udcff"}'),
        ValueError,
        r"^data must be encodable as UTF-8: it holds '\\udcff' at index 7$",
    ),
    (
        lambda: StateWrite("a", "{}", True),
        TypeError,
        r"^expected_revision must be None or an int, got True$",
    ),
    (lambda: StateWrite("a", "{}", "1"), TypeError, r"^expected_revision must be None or an int, got '1'$"),  # type: ignore[arg-type]
    (
        lambda: StateWrite("a", "{}", -1),
        ValueError,
        rf"^expected_revision must be from 0 to {MAX_REVISION}, got -1$",
    ),
    (
        lambda: StateWrite("a", "{}", MAX_REVISION + 1),
        ValueError,
        rf"^expected_revision must be from 0 to {MAX_REVISION}, got {MAX_REVISION + 1}$",
    ),
]


class TestArguments:
    @pytest.mark.parametrize(("make", "error", "message"), BAD_WRITES)
    def test_bad_state_write(self, make: Callable[[], object], error: type[Exception], message: str) -> None:
        """A StateWrite checks its fields when made, naming the field and the value."""
        with pytest.raises(error, match=message):
            make()

    @pytest.mark.parametrize(
        ("call", "error", "message"),
        [
            (
                lambda s: s.save_many(StateWrite("a", "1")),
                TypeError,
                r"got one StateWrite \(wrap it in a list\)$",
            ),
            (lambda s: s.save_many("ab"), TypeError, r"^writes must be a sequence of StateWrite, got str$"),
            (lambda s: s.save_many({StateWrite("a", "1")}), TypeError, r"got set$"),
            (
                lambda s: s.save_many([StateWrite("a", "1"), ("b", "1")]),
                TypeError,
                r"^writes\[1\] must be a StateWrite, got \('b', '1'\)$",
            ),
            (lambda s: s.load(""), ValueError, r"^agent_id must not be empty$"),
            (lambda s: s.load(None), TypeError, r"^agent_id must be a str, got None$"),
            (lambda s: s.load_many("abc"), TypeError, r"^agent_ids must be an iterable of str, got 'abc'$"),
            (lambda s: s.load_many(5), TypeError, r"^agent_ids must be an iterable of str, got 5$"),
            (lambda s: s.load_many(["a", 2]), TypeError, r"^agent_ids\[1\] must be a str, got 2$"),
            (lambda s: s.load_many(["a", ""]), ValueError, r"^agent_ids\[1\] must not be empty$"),
            (lambda s: s.delete(""), ValueError, r"^agent_id must not be empty$"),
            (
                lambda s: s.delete("a", expected_revision=0),
                ValueError,
                rf"^expected_revision must be from 1 to {MAX_REVISION}, got 0$",
            ),
            (
                lambda s: s.delete("a", expected_revision=1.0),
                TypeError,
                r"^expected_revision must be None or an int, got 1.0$",
            ),
            (lambda s: s.list_ids(limit=0), ValueError, r"^limit must be >= 1, got 0$"),
            (lambda s: s.list_ids(limit=True), TypeError, r"^limit must be an int, got True$"),
            (lambda s: s.list_ids(after=5), TypeError, r"^after must be a str, got 5$"),
            (lambda s: s.list_ids(after="\ud800"), ValueError, r"^after must be encodable as UTF-8"),
        ],
        ids=lambda value: "" if not isinstance(value, str) else value[:30],
    )
    async def test_bad_call(
        self,
        store: StateStore,
        call: Callable[[Any], Awaitable[object]],
        error: type[Exception],
        message: str,
    ) -> None:
        """Every method checks its arguments, naming the argument and the value, and writes nothing."""
        await save(store, "a", "1")
        with pytest.raises(error, match=message):
            await call(store)
        loaded = await store.load("a")
        assert loaded is not None and loaded.revision == 1
        assert await store.count() == 1

    async def test_bad_clock(self, make_store: StoreFactory) -> None:
        """A clock without now() is refused when the store is made."""
        with pytest.raises(TypeError, match=r"^clock must have a now\(\) method, got 'noon'$"):
            make_store(clock="noon")

    async def test_naive_clock(self, make_store: StoreFactory) -> None:
        """A clock giving a naive datetime fails the save, and nothing is written."""
        store = make_store(clock=ManualClock(dt.datetime(2026, 1, 1)))  # naive on purpose
        with pytest.raises(ValueError, match=r"^clock.now\(\) must return a timezone-aware datetime"):
            await save(store, "a", "1")
        assert await store.count() == 0
