"""What only the SQLite state store does: persistence, group commit, sharing the journal's file, hostile files,
failed writes, and random operation sequences checked against a dict model."""

from __future__ import annotations

import sqlite3
import tempfile
from pathlib import Path

import pytest
import trio
import trio.testing
from hypothesis import given, settings
from hypothesis import strategies as st

from jido.bus.sqlite import open_sqlite_journal
from jido.errors import BrokenError
from jido.signal import Signal
from jido.store.sqlite import SQLiteStateStore, open_sqlite_state_store
from jido.store.store import StaleStateError, StateWrite, StoredState
from tests.store.store_support import T0, ManualClock

PROFILE_EXAMPLES = settings().max_examples


def raw(path: Path, *statements: str) -> None:
    """Run statements on the file with plain sqlite3, then close it (checkpointing any WAL into the file)."""
    conn = sqlite3.connect(path, isolation_level=None)
    for statement in statements:
        conn.execute(statement)
    conn.close()


async def make_file(path: Path) -> None:
    """A store file holding agent ``a`` (revision 1)."""
    async with open_sqlite_state_store(path, clock=ManualClock()) as store:
        await store.save_many([StateWrite("a", '{"n": 1}')])


class TestPersistence:
    async def test_survives_reopen(self, tmp_path: Path) -> None:
        """States, revisions and times come back after a reopen, and revisions continue from there."""
        path = tmp_path / "state.db"
        data = '{"name": "Zoë", "n": [1, 2, 3]}'
        async with open_sqlite_state_store(path, clock=ManualClock()) as store:
            await store.save_many([StateWrite("a", "1"), StateWrite("a", data), StateWrite("b", "{}")])
            await store.delete("b")
        async with open_sqlite_state_store(path) as store:
            assert await store.load("a") == StoredState("a", data, 2, T0)
            assert await store.list_ids() == ["a"]
            (state,) = await store.save_many([StateWrite("a", "3", expected_revision=2)])
            assert state.revision == 3

    async def test_opens_lazily(self, tmp_path: Path) -> None:
        """Making a store does no I/O; the first call opens (and creates) the file."""
        path = tmp_path / "state.db"
        store = SQLiteStateStore(path)
        assert not path.exists() and "not opened yet" in repr(store)
        try:
            assert await store.count() == 0
            assert path.exists() and "open" in repr(store)
        finally:
            await store.aclose()
        assert "closed" in repr(store)

    @pytest.mark.parametrize("synchronous", ["FULL", "NORMAL"])
    async def test_synchronous(self, tmp_path: Path, synchronous: str) -> None:
        """Both synchronous settings store and reload."""
        path = tmp_path / "state.db"
        async with open_sqlite_state_store(path, synchronous=synchronous) as store:  # type: ignore[arg-type]
            assert store.synchronous == synchronous
            await store.save_many([StateWrite("a", "1")])
        async with open_sqlite_state_store(path) as store:
            assert await store.count() == 1

    async def test_two_tables_in_one_file(self, tmp_path: Path) -> None:
        """Stores with different table names in one file keep separate states."""
        path = tmp_path / "state.db"
        async with (
            open_sqlite_state_store(path) as first,
            open_sqlite_state_store(path, table="other_state") as second,
        ):
            await first.save_many([StateWrite("a", "first")])
            await second.save_many([StateWrite("b", "second")])
            assert (await first.list_ids(), await second.list_ids()) == (["a"], ["b"])


class TestGroupCommit:
    async def hold_write_lock(self, path: Path) -> sqlite3.Connection:
        """Another connection holding the file's write lock: the writer waits on it while calls queue up."""
        blocker = sqlite3.connect(path, isolation_level=None)
        blocker.execute("BEGIN IMMEDIATE")
        return blocker

    async def test_concurrent_saves_share_transactions(self, tmp_path: Path) -> None:
        """200 tasks saving at once take at most 2 transactions (what the writer took before it waited on the
        lock, then everyone queued behind it), and each gets its own states.

        How many calls the first transaction holds depends on when the writer thread woke (it may take the
        first call alone, or several queued by then), so only the number of transactions is asserted."""
        path = tmp_path / "state.db"
        async with open_sqlite_state_store(path, synchronous="NORMAL") as store:
            blocker = await self.hold_write_lock(path)
            results: dict[int, list[StoredState]] = {}

            async def one(i: int) -> None:
                results[i] = await store.save_many([StateWrite(f"agent-{i:03d}", f'{{"i": {i}}}')])

            async with trio.open_nursery() as nursery:
                for i in range(200):
                    nursery.start_soon(one, i)
                await trio.testing.wait_all_tasks_blocked()
                blocker.execute("COMMIT")
                blocker.close()
            stats = store.statistics()
            assert stats.saves == 200 and stats.transactions <= 2
            for i, (state,) in results.items():
                assert (state.agent_id, state.data, state.revision) == (f"agent-{i:03d}", f'{{"i": {i}}}', 1)
            assert await store.count() == 200

    async def test_stale_caller_fails_alone(self, tmp_path: Path) -> None:
        """In a shared transaction, a caller whose compare-and-set fails gets StaleStateError alone; the
        others commit.

        Trio runs the 20 tasks in an order of its choosing (shuffled under pytest-trio), so the stale caller
        expects a revision that "shared" never has whatever its place: the 19 others give it revisions 1..19.
        """
        path = tmp_path / "state.db"
        async with open_sqlite_state_store(path, synchronous="NORMAL") as store:
            blocker = await self.hold_write_lock(path)
            outcomes: dict[int, object] = {}

            async def one(i: int) -> None:
                writes = [StateWrite(f"a{i}", "x"), StateWrite("shared", str(i), 20 if i == 10 else None)]
                try:
                    outcomes[i] = await store.save_many(writes)
                except StaleStateError as exc:
                    outcomes[i] = exc

            async with trio.open_nursery() as nursery:
                for i in range(20):
                    nursery.start_soon(one, i)
                await trio.testing.wait_all_tasks_blocked()
                blocker.execute("COMMIT")
                blocker.close()
            stale = outcomes.pop(10)
            assert isinstance(stale, StaleStateError)
            # It saw the revisions of those that ran before it, however many they were.
            assert (stale.agent_id, stale.expected) == ("shared", 20) and 0 <= stale.actual <= 19
            assert all(isinstance(o, list) for o in outcomes.values())
            assert await store.load("a10") is None
            shared = await store.load("shared")
            assert shared is not None and shared.revision == 19
            stats = store.statistics()
            assert (stats.saves, stats.conflicts) == (38, 1) and stats.transactions <= 2

    async def test_stale_caller_fails_alone_in_a_batch_of_cas(self, tmp_path: Path) -> None:
        """A shared transaction of compare-and-sets only (the runtime's steady state, run as one
        executemany): one that does not match fails alone, the others commit with their revisions."""
        path = tmp_path / "state.db"
        async with open_sqlite_state_store(path, synchronous="NORMAL") as store:
            await store.save_many([StateWrite(f"a{i}", "0") for i in range(20)])
            blocker = await self.hold_write_lock(path)
            outcomes: dict[int, object] = {}

            async def one(i: int) -> None:
                try:
                    outcomes[i] = await store.save_many([StateWrite(f"a{i}", "1", 5 if i == 10 else 1)])
                except StaleStateError as exc:
                    outcomes[i] = exc

            async with trio.open_nursery() as nursery:
                for i in range(20):
                    nursery.start_soon(one, i)
                await trio.testing.wait_all_tasks_blocked()
                blocker.execute("COMMIT")
                blocker.close()
            stale = outcomes.pop(10)
            assert isinstance(stale, StaleStateError) and (stale.expected, stale.actual) == (5, 1)
            assert all(isinstance(o, list) and o[0].revision == 2 for o in outcomes.values())
            loaded = await store.load_many([f"a{i}" for i in range(20)])
            assert {k: v.revision for k, v in loaded.items()} == {
                f"a{i}": 1 if i == 10 else 2 for i in range(20)
            }

    async def test_batch_max_splits_callers(self, tmp_path: Path) -> None:
        """With batch_max=10, 50 queued single saves take at least 5 transactions; a call bigger than
        batch_max is still one."""
        path = tmp_path / "state.db"
        async with open_sqlite_state_store(path, synchronous="NORMAL", batch_max=10) as store:
            blocker = await self.hold_write_lock(path)
            async with trio.open_nursery() as nursery:
                for i in range(50):
                    nursery.start_soon(store.save_many, [StateWrite(f"a{i}", "x")])
                await trio.testing.wait_all_tasks_blocked()
                blocker.execute("COMMIT")
                blocker.close()
            assert store.statistics().transactions >= 5
            assert store.statistics().largest_batch <= 10
            await store.save_many([StateWrite(f"b{i}", "x") for i in range(25)])
            assert store.statistics().largest_batch == 25

    async def test_cancel_while_queued(self, tmp_path: Path) -> None:
        """A save cancelled while it waits for the writer either raises Cancelled and wrote nothing (it was
        still queued) or returns having written everything (the writer had taken it): never half."""
        path = tmp_path / "state.db"
        async with open_sqlite_state_store(path, synchronous="NORMAL") as store:
            await store.save_many([StateWrite("warm", "x")])
            blocker = await self.hold_write_lock(path)
            returned: list[bool] = []

            async def cancellable(task_status: trio.TaskStatus[trio.CancelScope]) -> None:
                with trio.CancelScope() as scope:
                    task_status.started(scope)
                    await store.save_many([StateWrite("cancelled", "x"), StateWrite("warm", "y")])
                    returned.append(True)

            async with trio.open_nursery() as nursery:
                nursery.start_soon(store.save_many, [StateWrite("first", "x")])
                await trio.testing.wait_all_tasks_blocked()
                scope = await nursery.start(cancellable)
                await trio.testing.wait_all_tasks_blocked()
                scope.cancel()
                await trio.testing.wait_all_tasks_blocked()
                blocker.execute("COMMIT")
                blocker.close()
            warm = await store.load("warm")
            assert warm is not None
            if returned:
                assert await store.load("cancelled") is not None and warm.data == "y"
            else:
                assert await store.load("cancelled") is None and warm.data == "x"
            assert await store.load("first") is not None


class TestUnconditionalBatches:
    """A batch of unconditional writes runs as multi-row upserts that return the revisions: each write gets
    the revision it made, in order, across statement boundaries and with one agent written several times."""

    async def test_revisions_follow_the_writes_in_order(self, tmp_path: Path) -> None:
        async with SQLiteStateStore(tmp_path / "s.db") as store:
            ids = ["a", "b", "a", "a", "c", "b"]
            saved = await store.save_many([StateWrite(agent_id, f'"{i}"') for i, agent_id in enumerate(ids)])
            assert [(s.agent_id, s.revision) for s in saved] == [
                ("a", 1),
                ("b", 1),
                ("a", 2),
                ("a", 3),
                ("c", 1),
                ("b", 2),
            ]
            loaded = await store.load("a")
            assert loaded is not None and (loaded.revision, loaded.data) == (3, '"3"')

    async def test_a_batch_longer_than_one_statement(self, tmp_path: Path) -> None:
        async with SQLiteStateStore(tmp_path / "s.db") as store:
            await store.save_many([StateWrite("x0", '"old"')])
            # 1,201 writes: several statements; x0..x99 written twice, the second time in a later statement.
            ids = [f"x{i}" for i in range(1100)] + [f"x{i}" for i in range(100)] + ["x0"]
            saved = await store.save_many([StateWrite(agent_id, f'"{n}"') for n, agent_id in enumerate(ids)])
            expected: dict[str, int] = {"x0": 1}
            for state in saved:
                expected[state.agent_id] = expected.get(state.agent_id, 0) + 1
                assert state.revision == expected[state.agent_id], state
            assert expected["x0"] == 4 and expected["x5"] == 2 and expected["x500"] == 1
            for agent_id, revision in [("x0", 4), ("x5", 2), ("x1099", 1)]:
                loaded = await store.load(agent_id)
                assert loaded is not None and loaded.revision == revision

    async def test_revisions_start_above_the_floor(self, tmp_path: Path) -> None:
        async with SQLiteStateStore(tmp_path / "s.db") as store:
            await store.save_many([StateWrite("gone", '"1"'), StateWrite("gone", '"2"')])
            assert await store.delete("gone")
            saved = await store.save_many([StateWrite("gone", '"new"'), StateWrite("other", '"o"')])
            assert [s.revision for s in saved] == [3, 3]  # above the highest revision deleted (2)


class TestFailedWrites:
    async def test_failed_write_stores_nothing(self, tmp_path: Path) -> None:
        """A write SQLite refuses raises BrokenError naming the file, and nothing of its batch is stored."""
        path = tmp_path / "state.db"
        await make_file(path)
        raw(
            path,
            "CREATE TRIGGER refuse BEFORE INSERT ON jido_agent_state WHEN NEW.agent_id = 'boom'"
            " BEGIN SELECT RAISE(ABORT, 'disk is full'); END",
        )
        async with open_sqlite_state_store(path) as store:
            with pytest.raises(BrokenError, match=r"save_many failed: disk is full$") as caught:
                await store.save_many([StateWrite("ok", "1"), StateWrite("a", "2"), StateWrite("boom", "3")])
            assert str(path) in str(caught.value)
            assert isinstance(caught.value.__cause__, sqlite3.Error)
            assert await store.load_many(["ok", "boom"]) == {}
            loaded = await store.load("a")
            assert loaded is not None and loaded.revision == 1
            assert store.statistics().failures == 1

    async def test_failed_caller_fails_alone(self, tmp_path: Path) -> None:
        """In a shared transaction, a caller whose write SQLite refuses fails alone; the others commit."""
        path = tmp_path / "state.db"
        await make_file(path)
        raw(
            path,
            "CREATE TRIGGER refuse BEFORE INSERT ON jido_agent_state WHEN NEW.agent_id = 'boom'"
            " BEGIN SELECT RAISE(ABORT, 'no'); END",
        )
        async with open_sqlite_state_store(path, synchronous="NORMAL") as store:
            blocker = sqlite3.connect(path, isolation_level=None)
            blocker.execute("BEGIN IMMEDIATE")
            outcomes: dict[str, object] = {}

            async def one(agent_id: str) -> None:
                try:
                    outcomes[agent_id] = await store.save_many([StateWrite(agent_id, "1")])
                except BrokenError as exc:
                    outcomes[agent_id] = exc

            async with trio.open_nursery() as nursery:
                for agent_id in ["x1", "boom", "x2", "x3"]:
                    nursery.start_soon(one, agent_id)
                await trio.testing.wait_all_tasks_blocked()
                blocker.execute("COMMIT")
                blocker.close()
            assert isinstance(outcomes.pop("boom"), BrokenError)
            assert all(isinstance(o, list) for o in outcomes.values())
            assert await store.list_ids() == ["a", "x1", "x2", "x3"]


class TestSharedWithJournal:
    async def test_share_the_journal_file(self, tmp_path: Path) -> None:
        """A store opened on a journal's file works beside the open journal, and both reopen intact."""
        path = tmp_path / "jido.db"
        signal = Signal(type="order.placed", source="/test", data={"n": 1})
        async with open_sqlite_journal(path) as journal, open_sqlite_state_store(path) as store:
            records = await journal.append([signal])
            await journal.set_checkpoint("orders", records[0].offset)
            await store.save_many([StateWrite("a", '{"n": 1}'), StateWrite("a", '{"n": 2}')])
            await journal.append([signal])
        for _ in range(2):  # either may be opened first once both have their tables
            async with open_sqlite_state_store(path) as store, open_sqlite_journal(path) as journal:
                loaded = await store.load("a")
                assert loaded is not None and (loaded.data, loaded.revision) == ('{"n": 2}', 2)
                assert [r.signal for r in await journal.read()] == [signal, signal]
                assert await journal.get_checkpoint("orders") == 1
            async with open_sqlite_journal(path) as journal, open_sqlite_state_store(path) as store:
                assert await journal.last_offset() == 2
                assert await store.count() == 1

    async def test_store_first_on_a_new_file(self, tmp_path: Path) -> None:
        """A new file the store created first takes the journal's tables too, and both reopen."""
        path = tmp_path / "jido.db"
        signal = Signal(type="order.placed", source="/test")
        async with open_sqlite_state_store(path) as store:
            await store.save_many([StateWrite("a", "{}")])
        async with open_sqlite_journal(path) as journal, open_sqlite_state_store(path) as store:
            await journal.append([signal])
            assert await store.count() == 1
        async with open_sqlite_journal(path) as journal:
            assert await journal.last_offset() == 1

    async def test_journal_table_names_refused(self, tmp_path: Path) -> None:
        """A store may not take one of the journal's table names, nor an identifier SQLite reserves."""
        for table in ["records", "meta", "Checkpoints", "dead_letters_meta", "sqlite_x"]:
            with pytest.raises(ValueError, match=r"^table must not be a name SQLite or the journal uses"):
                SQLiteStateStore(tmp_path / "x.db", table=table)
        with pytest.raises(ValueError, match=r"^table must be an ASCII identifier"):
            SQLiteStateStore(tmp_path / "x.db", table='x"; DROP TABLE records; --')


class TestHostileFiles:
    async def refused(self, path: Path, message: str) -> None:
        """Opening ``path`` raises BrokenError matching ``message`` and leaves the file as it was."""
        before = await trio.Path(path).read_bytes()
        with pytest.raises(BrokenError, match=message) as caught:
            async with open_sqlite_state_store(path):
                pass  # pragma: no cover
        assert repr(str(path)) in str(caught.value)
        assert await trio.Path(path).read_bytes() == before

    async def test_not_a_database(self, tmp_path: Path) -> None:
        """A text file is refused and left byte for byte as it was."""
        path = tmp_path / "notes.txt"
        path.write_text("these are my notes, not a database\n" * 200)
        await self.refused(path, r"is not a jido state store: file is not a database$")

    async def test_other_application(self, tmp_path: Path) -> None:
        """Another application's database, with a table of our name but other columns, is refused."""
        path = tmp_path / "app.db"
        raw(
            path,
            "CREATE TABLE jido_agent_state (id INTEGER PRIMARY KEY, name TEXT)",
            "INSERT INTO jido_agent_state (name) VALUES ('theirs')",
        )
        await self.refused(path, r"is not a jido state store: it holds other tables \(jido_agent_state\)$")

    async def test_other_application_id(self, tmp_path: Path) -> None:
        """A database marked by another application is refused, even without tables."""
        path = tmp_path / "app.db"
        raw(path, "PRAGMA application_id = 4660", "CREATE TABLE t (x)")
        await self.refused(path, r"is not a jido state store: its application_id is 0x1234$")

    async def test_our_table_name_other_columns(self, tmp_path: Path) -> None:
        """A jido file whose table of our name has other columns is refused."""
        path = tmp_path / "jido.db"
        await make_file(path)
        raw(
            path,
            "ALTER TABLE jido_agent_state RENAME TO old",
            "CREATE TABLE jido_agent_state (agent_id TEXT, state BLOB)",
        )
        await self.refused(path, r"its table 'jido_agent_state' has columns \('agent_id', 'state'\)")

    async def test_newer_schema(self, tmp_path: Path) -> None:
        """A file written by a newer schema version is refused, not misread."""
        path = tmp_path / "state.db"
        await make_file(path)
        raw(path, "UPDATE jido_agent_state_meta SET value = 3 WHERE key = 'schema_version'")
        await self.refused(path, r"has schema version 3; this jido reads versions 1 to 2$")

    async def test_table_without_meta(self, tmp_path: Path) -> None:
        """A jido file with our state table but no meta table is corrupt."""
        path = tmp_path / "state.db"
        await make_file(path)
        raw(path, "DROP TABLE jido_agent_state_meta")
        await self.refused(
            path, r"is corrupt: it has table 'jido_agent_state' but not 'jido_agent_state_meta'$"
        )

    @pytest.mark.parametrize(
        ("update", "problem"),
        [
            ("revision = 'seven'", "revision is 'seven'"),
            ("revision = 0", "revision is 0"),
            ("data = x'00ff'", "data is a bytes, not text"),
            ("updated_at = 'noon'", "updated_at is 'noon'"),
            ("updated_at = 9223372036854775807", "updated_at is 9223372036854775807"),
        ],
    )
    async def test_corrupt_row(self, tmp_path: Path, update: str, problem: str) -> None:
        """A corrupt row raises BrokenError naming the file and the agent, on load and load_many; the other
        rows still load, and the file is left as it was."""
        path = tmp_path / "state.db"
        async with open_sqlite_state_store(path) as store:
            await store.save_many([StateWrite("a", "1"), StateWrite("b", "2")])
        raw(path, f"UPDATE jido_agent_state SET {update} WHERE agent_id = 'a'")
        before = path.read_bytes()
        message = rf"^state store {str(path)!r}: state of agent 'a' is corrupt: {problem}$"
        async with open_sqlite_state_store(path) as store:
            with pytest.raises(BrokenError, match=message.replace("(", r"\(").replace(")", r"\)")):
                await store.load("a")
            with pytest.raises(BrokenError, match=r"state of agent 'a' is corrupt"):
                await store.load_many(["b", "a"])
            assert (await store.load("b")) is not None
            assert await store.list_ids() == ["a", "b"]
        assert path.read_bytes() == before

    async def test_unopenable_path(self, tmp_path: Path) -> None:
        """A path in a missing directory raises BrokenError naming it."""
        path = tmp_path / "missing" / "state.db"
        with pytest.raises(BrokenError, match=r"cannot be opened: unable to open database file$"):
            async with open_sqlite_state_store(path):
                pass  # pragma: no cover

    async def test_empty_file_is_new(self, tmp_path: Path) -> None:
        """An empty file (what touch makes) is a new store."""
        path = tmp_path / "state.db"
        path.touch()
        async with open_sqlite_state_store(path) as store:
            await store.save_many([StateWrite("a", "1")])
            assert await store.count() == 1


class TestConstructor:
    @pytest.mark.parametrize(
        ("kwargs", "error", "message"),
        [
            ({"path": 5}, TypeError, r"^path must be a str or path-like, got 5$"),
            ({"path": ":memory:"}, ValueError, r"^path must name a file, got ':memory:'"),
            ({"synchronous": "OFF"}, ValueError, r"^synchronous must be 'NORMAL' or 'FULL', got 'OFF'$"),
            ({"batch_max": 0}, ValueError, r"^batch_max must be >= 1, got 0$"),
            ({"flush_interval": -1}, ValueError, r"^flush_interval must be >= 0 and finite, got -1$"),
            ({"flush_interval": "1"}, TypeError, r"^flush_interval must be a number of seconds, got '1'$"),
            ({"table": 3}, TypeError, r"^table must be a str, got 3$"),
        ],
    )
    def test_bad_argument(
        self, tmp_path: Path, kwargs: dict[str, object], error: type[Exception], message: str
    ) -> None:
        """Each argument is checked when the store is made, naming it and the value."""
        arguments: dict[str, object] = {"path": tmp_path / "state.db", **kwargs}
        with pytest.raises(error, match=message):
            SQLiteStateStore(**arguments)  # type: ignore[arg-type]


# -- random operation sequences against a dict model -----------------------------------------------------------

IDS = st.sampled_from(["a", "b", "c", "é", "a\x00b", "𝄞"])
DATA = st.text(max_size=40)
EXPECTED = st.one_of(st.none(), st.integers(min_value=0, max_value=3))
WRITE = st.tuples(IDS, DATA, EXPECTED)
OPERATION = st.one_of(
    st.tuples(st.just("save"), st.lists(WRITE, min_size=1, max_size=3)),
    st.tuples(st.just("delete"), IDS, st.one_of(st.none(), st.integers(min_value=1, max_value=3))),
    st.tuples(st.just("list"), st.one_of(st.none(), IDS), st.integers(min_value=1, max_value=4)),
    st.tuples(st.just("load_many"), st.lists(IDS, max_size=4)),
    st.tuples(st.just("reopen")),
)


@settings(max_examples=max(10, PROFILE_EXAMPLES // 3), deadline=None)
@given(operations=st.lists(OPERATION, max_size=25))
async def test_operations_match_a_dict_model(operations: list[tuple[object, ...]]) -> None:
    """Any sequence of saves (with and without compare-and-set), deletes, listings and reopens gives what a
    dict of (data, revision) with a revision floor gives, and every stale write leaves the model and the store unchanged."""
    model: dict[str, tuple[str, int]] = {}
    floor = 0  # the highest revision deleted: a new state starts above it
    with tempfile.TemporaryDirectory() as directory:
        path = Path(directory) / "state.db"
        store = SQLiteStateStore(path, synchronous="NORMAL", clock=ManualClock())
        try:
            for operation in operations:
                kind = operation[0]
                if kind == "save":
                    writes = [StateWrite(*w) for w in operation[1]]  # type: ignore[attr-defined]
                    overlay = dict(model)
                    expected_error: tuple[str, int, int] | None = None
                    for write in writes:
                        actual = overlay[write.agent_id][1] if write.agent_id in overlay else 0
                        if write.expected_revision is not None and write.expected_revision != actual:
                            expected_error = (write.agent_id, write.expected_revision, actual)
                            break
                        overlay[write.agent_id] = (write.data, actual + 1 if actual else floor + 1)
                    if expected_error is None:
                        states = await store.save_many(writes)
                        assert [(s.agent_id, s.data) for s in states] == [
                            (w.agent_id, w.data) for w in writes
                        ]
                        model = overlay
                    else:
                        with pytest.raises(StaleStateError) as caught:
                            await store.save_many(writes)
                        error = caught.value
                        assert (error.agent_id, error.expected, error.actual) == expected_error
                elif kind == "delete":
                    agent_id, expected = operation[1], operation[2]
                    assert isinstance(agent_id, str) and (expected is None or isinstance(expected, int))
                    actual = model[agent_id][1] if agent_id in model else 0
                    if expected is not None and expected != actual:
                        with pytest.raises(StaleStateError):
                            await store.delete(agent_id, expected_revision=expected)
                    else:
                        assert await store.delete(agent_id, expected_revision=expected) is (actual > 0)
                        model.pop(agent_id, None)
                        floor = max(floor, actual)
                elif kind == "list":
                    after, limit = operation[1], operation[2]
                    assert (after is None or isinstance(after, str)) and isinstance(limit, int)
                    wanted = sorted(i for i in model if after is None or i > after)[:limit]
                    assert await store.list_ids(after=after, limit=limit) == wanted
                elif kind == "load_many":
                    ids = operation[1]
                    assert isinstance(ids, list)
                    loaded = await store.load_many(ids)
                    assert {k: (v.data, v.revision) for k, v in loaded.items()} == {
                        i: model[i] for i in ids if i in model
                    }
                else:
                    await store.aclose()
                    store = SQLiteStateStore(path, synchronous="NORMAL", clock=ManualClock())
                everything = await store.load_many([*model, "a", "b"])
                assert {k: (v.data, v.revision) for k, v in everything.items()} == model
                assert await store.count() == len(model)
        finally:
            await store.aclose()


class TestSchemaVersion1:
    """Files written before wakeups and the revision floor (schema version 1) are upgraded in place."""

    V1 = (
        "CREATE TABLE jido_agent_state (agent_id TEXT PRIMARY KEY NOT NULL, revision INTEGER NOT NULL,"
        " updated_at INTEGER NOT NULL, data TEXT NOT NULL)",
        "CREATE TABLE jido_agent_state_meta (key TEXT PRIMARY KEY, value INTEGER NOT NULL) WITHOUT ROWID",
        "INSERT INTO jido_agent_state_meta (key, value) VALUES ('schema_version', 1)",
        "INSERT INTO jido_agent_state (agent_id, revision, updated_at, data) VALUES ('a', 7, 0, '{\"n\": 7}')",
        "PRAGMA application_id = 1246315599",
    )

    async def test_upgraded_keeping_states(self, tmp_path: Path) -> None:
        """A version 1 file opens, keeps its states and revisions, and then indexes wakeups."""
        path = tmp_path / "v1.db"
        raw(path, *self.V1)
        async with open_sqlite_state_store(path) as store:
            loaded = await store.load("a")
            assert loaded is not None and (loaded.revision, loaded.data) == (7, '{"n": 7}')
            [saved] = await store.save_many([StateWrite("a", "{}", 7, wake_at=T0)])
            assert saved.revision == 8
            assert [w.agent_id for w in await store.list_wakeups()] == ["a"]
        conn = sqlite3.connect(path)
        try:
            version = conn.execute(
                "SELECT value FROM jido_agent_state_meta WHERE key = 'schema_version'"
            ).fetchone()
        finally:
            conn.close()
        assert version == (2,)

    async def test_revision_floor_after_upgrade(self, tmp_path: Path) -> None:
        """A state deleted after the upgrade starts again above its old revision."""
        path = tmp_path / "v1.db"
        raw(path, *self.V1)
        async with open_sqlite_state_store(path) as store:
            assert await store.delete("a")
            [saved] = await store.save_many([StateWrite("a", "{}", 0)])
            assert saved.revision == 8

    async def test_revision_floor_survives_reopening(self, tmp_path: Path) -> None:
        """The floor is in the file: a store opened again still starts new states above it."""
        path = tmp_path / "state.db"
        async with open_sqlite_state_store(path) as store:
            await store.save_many([StateWrite("a", "1"), StateWrite("a", "2")])
            assert await store.delete("a")
        async with open_sqlite_state_store(path) as store:
            [saved] = await store.save_many([StateWrite("a", "3", 0)])
            assert saved.revision == 3
