"""The cost of durable agent state (``open_runtime(store=...)``), beside raw trio and raw sqlite3 in the same run.

Run: ``python bench/durable.py`` (under 2 minutes), ``python bench/durable.py --quick`` (under 20 s), or
``python bench/durable.py --profile`` (cProfile of sequential calls to one agent with a SQLite FULL store).

With a store, each committed state is written (the runtime's JSON record: state, bus offsets applied, recent
idempotency keys) before a ``call`` returns and before a bus delivery is acked. What is measured:

- calls/s, one agent: one task awaits ``ref.call(signal)`` on a counter (trivial sync action, ``count + 1``),
  with no store, a ``MemoryStateStore``, and a ``SQLiteStateStore`` with ``synchronous`` FULL (fsync at every
  commit) and NORMAL, on a fresh file in a temp dir. Raw: trio request/reply between two tasks (a channel
  carrying the item and a ``trio.Event`` the server sets, as ``call`` does) for no store and memory; for SQLite,
  plain ``sqlite3`` on one thread, no trio: the same upsert the store's writer runs (``INSERT ... ON CONFLICT DO
  UPDATE ... RETURNING revision``) of the same JSON records, ``BEGIN IMMEDIATE`` / ``COMMIT`` around each, WAL,
  the same ``synchronous``.
- calls/s, AGENTS agents at once: one task per agent, each awaiting its own agent's calls; the SQLite store's
  writer gathers what queued meanwhile into one transaction (group commit; the mean batch it reached is shown).
  Raw: AGENTS request/reply pairs of tasks; for SQLite, ``executemany`` of AGENTS records (one per agent) per
  transaction, the best group commit could do.
- bus: SIGNALS signals published in batches of PUBLISH_BATCH (``rt.bus.publish``) to one subscribing agent
  (``@agent(subscribe=...)``, which the runtime delivers one at a time), the clock stopping when the agent has
  applied the last one; a ``SQLiteJournal`` (FULL), without a store, with a SQLite store (FULL) in the journal's
  file (as ``jido serve`` does by default), and in a file of its own. Raw: ``executemany`` of the signals' rows
  into a journal-shaped table in batches of PUBLISH_BATCH, one transaction each, and with a store, besides, one
  upsert transaction per signal of the agent's record (with its applied offset), all on one connection.

Every case runs COUNT operations or for BUDGET seconds, whichever comes first (the bus cases: a fixed SIGNALS,
within LIMIT seconds), on fresh files and a fresh runtime, after an ``os.sync()``; building signals and records, opening files and
starting agents are outside the clock. Rates are the best of REPEATS rounds, jido and raw interleaved within
each round, so both get the same chances on a shared machine. The ratio is ours / raw: below 1 is slower.
"""

from __future__ import annotations

import argparse
import contextlib
import cProfile
import functools
import os
import pathlib
import pstats
import sqlite3
import tempfile
import time
from collections.abc import Callable, Iterator
from typing import Any, Literal

import attrs
import trio

from dsl import action, agent, route
from jido.action.spec import ActionContext
from jido.agent.spec import Agent
from jido.bus.sqlite import SQLiteJournal
from jido.runtime.persistence import Persistence
from jido.runtime.runtime import open_runtime
from jido.runtime.server import AgentRef
from jido.signal import Signal
from jido.store import MemoryStateStore, SQLiteStateStore, StateStore

Sync = Literal["FULL", "NORMAL"]

MAILBOX = 1024  # the agent mailbox's default size: the raw request channel's buffer
AGENTS = 100
PUBLISH_BATCH = 100
LIMIT = 60.0  # seconds: a case not done by then fails the run instead of hanging it


@attrs.frozen
class Settings:
    repeats: int
    count: int  # most operations of one case
    budget: float  # most seconds of one case
    signals: int  # bus signals per bus case


FULL = Settings(repeats=3, count=30_000, budget=1.0, signals=2_000)
QUICK = Settings(repeats=2, count=10_000, budget=0.2, signals=500)


@action
class Bump:
    def run(self, ctx: ActionContext) -> dict[str, Any]:
        return {"count": ctx.state.count + 1}


@agent
@route("bench.bump", Bump)
class Counter:
    count: int = 0


@agent(subscribe=["bench.bump"])
@route("bench.bump", Bump)
class Subscriber:
    count: int = 0


def bump_signals(count: int) -> list[Signal]:
    return [Signal(type="bench.bump", source="/bench") for _ in range(count)]


class Files:
    """Fresh file names in one temp dir."""

    def __init__(self, folder: pathlib.Path) -> None:
        self._folder = folder
        self._n = 0

    def fresh(self, what: str) -> pathlib.Path:
        self._n += 1
        return self._folder / f"{what}-{self._n}.sqlite"


# -- the runtime -------------------------------------------------------------------------------------------


@attrs.frozen
class Run:
    """What one case measured: its rate, and the store's mean batch (writes per transaction) if it has one."""

    rate: float
    batch: float = 0.0


def make_store(kind: str, files: Files) -> StateStore | None:
    if kind == "none":
        return None
    if kind == "memory":
        return MemoryStateStore()
    sync: Sync = "FULL" if kind == "FULL" else "NORMAL"
    return SQLiteStateStore(files.fresh(f"state-{kind}"), synchronous=sync)


def mean_batch(store: StateStore | None) -> float:
    if store is None:
        return 0.0
    stats = store.statistics()
    return stats.saves / stats.transactions if stats.transactions else 0.0


async def call_loop(ref: AgentRef, signals: list[Signal], deadline: float) -> int:
    done = 0
    for signal in signals:
        await ref.call(signal)
        done += 1
        if time.perf_counter() > deadline:
            break
    return done


async def jido_calls(store: StateStore | None, agents: int, signals: list[Signal], budget: float) -> Run:
    per_agent = len(signals) // agents
    with trio.fail_after(LIMIT):
        async with open_runtime(store=store) as rt:
            refs = [await rt.start_agent(Counter, id=f"c{i}") for i in range(agents)]
            done = [0] * agents

            async def caller(i: int, deadline: float) -> None:
                chunk = signals[i * per_agent : (i + 1) * per_agent]
                done[i] = await call_loop(refs[i], chunk, deadline)

            start = time.perf_counter()
            async with trio.open_nursery() as nursery:
                for i in range(agents):
                    nursery.start_soon(caller, i, start + budget)
            elapsed = time.perf_counter() - start
            for i, ref in enumerate(refs):
                expect(ref.state.count, done[i])
            return Run(sum(done) / elapsed, mean_batch(store))


async def jido_bus(journal_path: pathlib.Path, store_path: pathlib.Path | None, signals: list[Signal]) -> Run:
    journal = SQLiteJournal(journal_path, synchronous="FULL")
    store = None if store_path is None else SQLiteStateStore(store_path, synchronous="FULL")
    with trio.fail_after(LIMIT):
        async with open_runtime(journal=journal, store=store) as rt:
            ref = await rt.start_agent(Subscriber, id="sub")
            start = time.perf_counter()
            for first in range(0, len(signals), PUBLISH_BATCH):
                await rt.bus.publish(signals[first : first + PUBLISH_BATCH])
            await ref.wait_state(lambda state: bool(state.count >= len(signals)))
            elapsed = time.perf_counter() - start
            expect(ref.state.count, len(signals))
            return Run(len(signals) / elapsed, mean_batch(store))


def expect(actual: int, wanted: int) -> None:
    if actual != wanted:
        raise RuntimeError(f"the agent counted {actual}, expected {wanted}")


# -- raw trio ------------------------------------------------------------------------------------------------


async def raw_calls(pairs: int, items: list[Signal], budget: float) -> Run:
    per_pair = len(items) // pairs
    done = [0] * pairs

    async def server(receive: trio.MemoryReceiveChannel[tuple[Signal, trio.Event]]) -> None:
        async for _, event in receive:
            event.set()

    async def client(
        i: int, send: trio.MemorySendChannel[tuple[Signal, trio.Event]], deadline: float
    ) -> None:
        async with send:
            for item in items[i * per_pair : (i + 1) * per_pair]:
                event = trio.Event()
                await send.send((item, event))
                await event.wait()
                done[i] += 1
                if time.perf_counter() > deadline:
                    break

    with trio.fail_after(LIMIT):
        async with trio.open_nursery() as servers:
            channels = [trio.open_memory_channel[tuple[Signal, trio.Event]](MAILBOX) for _ in range(pairs)]
            for _, receive in channels:
                servers.start_soon(server, receive)
            start = time.perf_counter()
            async with trio.open_nursery() as clients:
                for i, (send, _) in enumerate(channels):
                    clients.start_soon(client, i, send, start + budget)
            elapsed = time.perf_counter() - start
    return Run(sum(done) / elapsed)


# -- raw sqlite3 -----------------------------------------------------------------------------------------------

STATE_TABLE = (
    "CREATE TABLE state (agent_id TEXT PRIMARY KEY, revision INTEGER, updated_at INTEGER, data TEXT)"
)
UPSERT = (
    "INSERT INTO state (agent_id, revision, updated_at, data) VALUES (?, 1, ?, ?)"
    " ON CONFLICT (agent_id) DO UPDATE"
    " SET revision = revision + 1, updated_at = excluded.updated_at, data = excluded.data"
    " RETURNING revision"
)
UPSERT_MANY = UPSERT.removesuffix(" RETURNING revision")  # executemany takes no RETURNING
RECORDS_TABLE = 'CREATE TABLE records ("offset" INTEGER PRIMARY KEY, type TEXT, at TEXT, body TEXT)'


def connect(path: pathlib.Path, sync: Sync) -> sqlite3.Connection:
    """A fresh file with our tables, in WAL mode, checkpointed (closed once): every raw case starts alike."""
    with contextlib.closing(sqlite3.connect(path, isolation_level=None)) as setup:
        setup.execute("PRAGMA journal_mode=WAL")
        setup.execute(STATE_TABLE)
        setup.execute(RECORDS_TABLE)
    conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    conn.execute(f"PRAGMA synchronous={sync}")
    return conn


def now_us() -> int:
    return time.time_ns() // 1000


def raw_upserts(path: pathlib.Path, sync: Sync, rows: list[tuple[str, str]], budget: float) -> Run:
    """One upsert per transaction, as a lone caller's save is."""
    conn = connect(path, sync)
    try:
        deadline = time.perf_counter() + budget
        start = time.perf_counter()
        done = 0
        for agent_id, data in rows:
            conn.execute("BEGIN IMMEDIATE")
            conn.execute(UPSERT, (agent_id, now_us(), data)).fetchall()
            conn.execute("COMMIT")
            done += 1
            if time.perf_counter() > deadline:
                break
        elapsed = time.perf_counter() - start
    finally:
        conn.close()
    return Run(done / elapsed)


async def raw_threaded_upserts(
    path: pathlib.Path, sync: Sync, rows: list[tuple[str, str]], budget: float
) -> Run:
    """One upsert per transaction, each sent from trio to a worker thread (``trio.to_thread.run_sync``)."""
    conn = connect(path, sync)

    def upsert(agent_id: str, data: str) -> None:
        conn.execute("BEGIN IMMEDIATE")
        conn.execute(UPSERT, (agent_id, now_us(), data)).fetchall()
        conn.execute("COMMIT")

    try:
        with trio.fail_after(LIMIT):
            deadline = time.perf_counter() + budget
            start = time.perf_counter()
            done = 0
            for agent_id, data in rows:
                await trio.to_thread.run_sync(upsert, agent_id, data)
                done += 1
                if time.perf_counter() > deadline:
                    break
            elapsed = time.perf_counter() - start
    finally:
        conn.close()
    return Run(done / elapsed)


def raw_batches(
    path: pathlib.Path, sync: Sync, rows: list[tuple[str, str]], batch: int, budget: float
) -> Run:
    """``executemany`` of ``batch`` upserts per transaction: group commit done by hand."""
    conn = connect(path, sync)
    try:
        deadline = time.perf_counter() + budget
        start = time.perf_counter()
        done = 0
        for first in range(0, len(rows) - batch + 1, batch):
            at = now_us()
            conn.execute("BEGIN IMMEDIATE")
            conn.executemany(UPSERT_MANY, [(a, at, d) for a, d in rows[first : first + batch]])
            conn.execute("COMMIT")
            done += batch
            if time.perf_counter() > deadline:
                break
        elapsed = time.perf_counter() - start
    finally:
        conn.close()
    return Run(done / elapsed)


def raw_bus(path: pathlib.Path, signals: list[Signal], states: list[str] | None) -> Run:
    """The journal's appends in batches (and, with ``states``, one upsert transaction per signal)."""
    rows = [(i + 1, s.type, s.time.isoformat(), s.to_json()) for i, s in enumerate(signals)]
    conn = connect(path, "FULL")
    try:
        start = time.perf_counter()
        for first in range(0, len(rows), PUBLISH_BATCH):
            conn.execute("BEGIN IMMEDIATE")
            conn.executemany("INSERT INTO records VALUES (?, ?, ?, ?)", rows[first : first + PUBLISH_BATCH])
            conn.execute("COMMIT")
            for data in states[first : first + PUBLISH_BATCH] if states is not None else ():
                conn.execute("BEGIN IMMEDIATE")
                conn.execute(UPSERT, ("sub", now_us(), data)).fetchall()
                conn.execute("COMMIT")
        elapsed = time.perf_counter() - start
    finally:
        conn.close()
    return Run(len(signals) / elapsed)


def records(spec_of: type, agent_id: str, count: int, subscription: str | None = None) -> Iterator[str]:
    """The runtime's JSON records of ``agent_id`` with count 1..``count`` (and the bus offset applied)."""
    persistence = Persistence(MemoryStateStore())
    base: Agent = spec_of.new(id=agent_id)  # type: ignore[attr-defined]
    for n in range(1, count + 1):
        value = attrs.evolve(base, state=attrs.evolve(base.state, count=n))
        applied = {} if subscription is None else {subscription: n}
        yield persistence.encode(value, applied, [])


# -- the cases, interleaved ------------------------------------------------------------------------------------


def cases(settings: Settings, files: Files) -> dict[str, Callable[[], Run]]:
    signals = bump_signals(settings.count)
    bus_signals = bump_signals(settings.signals)
    one_rows = [("c0", data) for data in records(Counter, "c0", settings.count)]
    per_agent = settings.count // AGENTS
    columns = [list(records(Counter, f"c{i}", per_agent)) for i in range(AGENTS)]
    many_rows = [(f"c{i}", columns[i][step]) for step in range(per_agent) for i in range(AGENTS)]
    bus_states = list(records(Subscriber, "sub", settings.signals, "agent:sub:bench.bump"))
    budget = settings.budget
    table: dict[str, Callable[[], Run]] = {}
    for agents in (1, AGENTS):
        for kind in ("none", "memory", "FULL", "NORMAL"):

            def ours(kind: str = kind, agents: int = agents) -> Run:
                store = make_store(kind, files)
                return trio.run(jido_calls, store, agents, signals, budget)

            table[f"calls {agents} {kind}"] = ours
        table[f"raw calls {agents}"] = functools.partial(trio.run, raw_calls, agents, signals, budget)
    for sync in ("FULL", "NORMAL"):
        table[f"raw upserts {sync}"] = lambda s=sync: raw_upserts(files.fresh("raw"), s, one_rows, budget)
        table[f"raw threaded {sync}"] = lambda s=sync: trio.run(
            raw_threaded_upserts, files.fresh("raw"), s, one_rows, budget
        )
        table[f"raw batches {sync}"] = lambda s=sync: raw_batches(
            files.fresh("raw"), s, many_rows, AGENTS, budget
        )
    for store in ("none", "shared", "own"):

        def bus(store: str = store) -> Run:
            journal = files.fresh("journal")
            store_path = {"none": None, "shared": journal, "own": files.fresh("state")}[store]
            return trio.run(jido_bus, journal, store_path, bus_signals)

        table[f"bus {store}"] = bus
    table["raw bus"] = lambda: raw_bus(files.fresh("raw"), bus_signals, None)
    table["raw bus store"] = lambda: raw_bus(files.fresh("raw"), bus_signals, bus_states)
    return table


ORDER = (
    # each jido case next to its raw baselines, so that both see the same disk (fsync latency drifts)
    *("calls 1 none", "raw calls 1", "calls 1 memory"),
    *("calls 1 FULL", "raw upserts FULL", "raw threaded FULL"),
    *("calls 1 NORMAL", "raw upserts NORMAL", "raw threaded NORMAL"),
    *(f"calls {AGENTS} none", f"raw calls {AGENTS}", f"calls {AGENTS} memory"),
    *(f"calls {AGENTS} FULL", "raw batches FULL", f"calls {AGENTS} NORMAL", "raw batches NORMAL"),
    *("bus none", "raw bus", "bus shared", "raw bus store", "bus own"),
)


def measure(settings: Settings, folder: pathlib.Path) -> dict[str, list[Run]]:
    table = cases(settings, Files(folder))
    assert sorted(table) == sorted(ORDER)
    runs: dict[str, list[Run]] = {name: [] for name in ORDER}
    for _ in range(settings.repeats):
        for name in ORDER:
            os.sync()  # the previous cases' dirty pages must not be written back during this one's fsyncs
            runs[name].append(table[name]())
    return runs


# -- the table -------------------------------------------------------------------------------------------------


def row(what: str, ours: str, raw: str, ratio: str) -> None:
    print(f"{what:<64}{ours:>10}{raw:>10}{ratio:>7}".rstrip())


def rate_row(what: str, ours: float, raw: float) -> None:
    row(what, f"{ours:,.0f}", f"{raw:,.0f}", f"{ours / raw:.2f}")


NAMES = {"none": "no store", "memory": "MemoryStateStore", "FULL": "SQLite FULL", "NORMAL": "SQLite NORMAL"}


def report(runs: dict[str, list[Run]], settings: Settings) -> None:
    best = {name: max(done, key=lambda run: run.rate) for name, done in runs.items()}

    def rate(name: str) -> float:
        return best[name].rate

    def spread(name: str) -> str:
        rates = sorted(run.rate for run in runs[name])
        return f"{rates[0]:,.0f}..{rates[-1]:,.0f}"

    print(f"durable agent state: jido vs raw trio / raw sqlite3, same run; best of {settings.repeats} rounds")
    print(f"each case: up to {settings.count:,} operations or {settings.budget:g} s; trivial sync action")
    print(
        f"ratio = jido / raw (below 1 is slower); [the raw baseline]; {AGENTS} agents: one calling task each"
    )
    print("SQLite: WAL, files in a temp dir; (batch): the store's mean writes per transaction")
    row("figure", "jido /s", "raw /s", "ratio")
    row("-" * 62, "-" * 8, "-" * 8, "-" * 5)
    for agents in (1, AGENTS):
        who = "1 agent" if agents == 1 else f"{agents} agents"
        for kind in ("none", "memory", "FULL", "NORMAL"):
            run = best[f"calls {agents} {kind}"]
            if kind in ("none", "memory"):
                raw, against = rate(f"raw calls {agents}"), "trio req/reply"
            elif agents == 1:
                raw, against = rate(f"raw upserts {kind}"), "1 upsert/txn"
            else:
                raw, against = rate(f"raw batches {kind}"), f"{AGENTS}/txn"
            batch = f" (batch {run.batch:.1f})" if kind in ("FULL", "NORMAL") and agents > 1 else ""
            rate_row(f"calls/s, {who}, {NAMES[kind]}{batch} [{against}]", run.rate, raw)
            if kind in ("FULL", "NORMAL") and agents == 1:
                rate_row("  same [1 upsert/txn via trio.to_thread]", run.rate, rate(f"raw threaded {kind}"))
    n = f"{settings.signals:,}"
    rate_row(f"bus: {n} signals -> 1 agent, SQLite journal [appends]", rate("bus none"), rate("raw bus"))
    raw_store = rate("raw bus store")
    rate_row("  + SQLite store in the journal's file [+ 1 upsert/txn]", rate("bus shared"), raw_store)
    rate_row("  + SQLite store in its own file [+ 1 upsert/txn]", rate("bus own"), raw_store)
    print()
    print("per operation, us: jido (what the store adds to a no-store call)")
    for agents in (1, AGENTS):
        none = 1e6 / rate(f"calls {agents} none")
        parts = [f"no store {none:.1f}"]
        for kind in ("memory", "FULL", "NORMAL"):
            us = 1e6 / rate(f"calls {agents} {kind}")
            parts.append(f"{NAMES[kind]} {us:.1f} (+{us - none:.1f})")
        print(f"  {agents} agent{'s' if agents > 1 else ''}: " + ", ".join(parts))
    print("raw sqlite3, us per upsert:", end="")
    for sync in ("FULL", "NORMAL"):
        print(
            f" {sync}: 1/txn {1e6 / rate(f'raw upserts {sync}'):.1f},"
            f" via to_thread {1e6 / rate(f'raw threaded {sync}'):.1f},"
            f" in {AGENTS}/txn {1e6 / rate(f'raw batches {sync}'):.1f};",
            end="",
        )
    print()
    for name, label in (("bus none", "no store"), ("bus shared", "shared file"), ("bus own", "own file")):
        print(f"bus, {label}: {1e6 / rate(name):.1f} us per signal", end="; " if name != "bus own" else "\n")
    print(
        "spread over the rounds, /s (fsync latency drifts on a shared disk): 1 agent SQLite FULL"
        f" {spread('calls 1 FULL')}, raw 1 upsert/txn FULL {spread('raw upserts FULL')};"
        f" {AGENTS} agents FULL {spread(f'calls {AGENTS} FULL')}, raw {spread('raw batches FULL')}"
    )


def profile(settings: Settings) -> None:
    signals = bump_signals(settings.count)
    with tempfile.TemporaryDirectory() as tmp:
        store = SQLiteStateStore(pathlib.Path(tmp) / "state.sqlite", synchronous="FULL")
        profiler = cProfile.Profile()
        profiler.enable()
        run = trio.run(jido_calls, store, 1, signals, settings.budget)
        profiler.disable()
    print(f"--- calls to 1 agent, SQLite FULL: {run.rate:,.0f}/s under the profiler (trio thread only)")
    stats = pstats.Stats(profiler)
    stats.sort_stats("tottime").print_stats(20)
    stats.sort_stats("cumulative").print_stats(30)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0] if __doc__ else None)
    parser.add_argument("--quick", action="store_true", help="smaller counts, fewer rounds: under 20 s")
    parser.add_argument("--profile", action="store_true", help="cProfile calls with a SQLite FULL store")
    args = parser.parse_args()
    settings = QUICK if args.quick else FULL
    if args.profile:
        profile(settings)
        return
    began = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        runs = measure(settings, pathlib.Path(tmp))
    report(runs, settings)
    print(f"total {time.perf_counter() - began:.0f} s")


if __name__ == "__main__":
    main()
