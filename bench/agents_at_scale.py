"""Agents at scale: hibernated agents' memory and gc cost, thawing from SQLite, persisted updates, beside raw
trio and raw sqlite3 measured in the same run.

Run: ``python bench/agents_at_scale.py`` (about 2 minutes, < 1 GB), ``--quick`` (under 30 s).

Each part runs in a fresh child process, so that its memory figures start clean. What is measured:

1. Memory per hibernated agent (target <= 1 KiB).
   - Real path: ``await rt.start_agent(Sleeper, id=...)`` for REAL_RSS agents (``@agent(idle_timeout=0.05)``,
     no store: the dormant entry keeps the state as JSON text), each going to sleep 0.05 s after it started,
     until ``len(rt._dormancy)`` counts them all and none runs; bytes per agent = (RSS after - RSS before) /
     n after a ``gc.collect()``. Again with REAL_TRACED agents under ``tracemalloc`` (exact bytes still
     allocated, without allocator slack; spawning is slower under it, hence the smaller n).
   - A million: spawning 1M agents and letting them sleep would take minutes, so the dormant table is
     filled the way hibernation fills it: ``rt._dormancy.hibernated(stand_in, "transient", None, "crash")``
     (what the root supervisor calls when an agent's task ends idle), with a stand-in ref carrying the id,
     the spec and the agent value (hibernated() reads nothing else), beside RUNNING live agents. RSS delta
     of the fill per entry, and the table's own bytes (``sys.getsizeof`` of the dict, keys, tuples, JSON).
   - Raw: RSS per idle trio task blocked on its own memory channel (what keeping the agent awake costs at
     the least), RUNNING of them.
2. Full ``gc.collect()`` pause (best of 3; target <= 0.3 s) in the million process: RUNNING live agents
   alone, then with 1M hibernated (the first collection after the fill, and best of 3). Raw: RUNNING idle
   trio tasks each waiting on a memory channel. Also: gc-tracked objects per hibernated agent, and whether
   the dormant dict is tracked by the collector right after the fill and after one full collection.
3. Thaw latency (target p99 <= 2 ms): a ``SQLiteStateStore`` (NORMAL) file holding STORED agents' states
   (written by hand in the store's own table, one transaction), the same STORED agents dormant (filled as in
   1., entries without JSON since the state is in the store), then SAMPLES times, interleaved: a random
   dormant agent's ``await rt.agent(Sleeper, id).call(bump)`` (wake: load its row on the store's reader
   thread, start its task, then handle the call and commit its new state), another's
   ``await rt.agent(Sleeper, id).ref()`` (the wake alone), a call to a live agent (the call and commit
   alone), a raw ``sqlite3`` select of one row by key on this thread, and the same select sent to a worker
   thread with ``trio.to_thread.run_sync`` (as the store reads). Each thawed agent's count is checked.
4. Persisted state updates/s (target >= 0.5 of raw), two levels, each against raw ``executemany`` of the
   runtime's own JSON records of the same agents (``durable.records``), in transactions of the mean batch
   the store reached (``durable.raw_batches``), same ``synchronous``, WAL, in the same run:
   - store level (the target's own terms: the store's group commit against ``executemany`` of the same
     rows): AGENTS trio tasks, each saving its own agent's next record with
     ``store.save_many([StateWrite(id, record, expected_revision)])`` (a compare-and-set, as the runtime
     saves), gathered into transactions by the writer thread; and one task saving the same rows
     ``batch`` at a time in one ``save_many`` call (what a caller with its rows in hand pays).
   - end to end: AGENTS agents, one task each awaiting its own agent's calls (``durable.jido_calls``):
     routing, validation, an action, then the same store write; bounded by the call path (its row without
     a store, against raw trio request/reply pairs, says how much).
   Best of REPEATS, ours and raw interleaved, each after an ``os.sync()``.

Ratio = ours / raw: for sizes and times above 1 is costlier, for rates below 1 is slower.
"""

from __future__ import annotations

import argparse
import contextlib
import gc
import json
import os
import pathlib
import random
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
import tracemalloc
from typing import Any

import attrs
import trio
from durable import (  # a sibling script: bench/ is on sys.path when run
    Bump,
    Counter,
    Files,
    Run,
    Sync,
    bump_signals,
    jido_calls,
    make_store,
    raw_batches,
    raw_calls,
    records,
)

from dsl import agent, route
from jido.agent.spec import Agent, AgentSpec, agent_spec_of
from jido.runtime.persistence import Persistence
from jido.runtime.runtime import Runtime, open_runtime
from jido.signal import Signal
from jido.store import MemoryStateStore, SQLiteStateStore, StateWrite

IDLE = 0.05  # seconds: the Sleeper's idle_timeout
LIMIT = 120.0  # seconds: a part not done by then fails the run instead of hanging it
MAILBOX = 1024  # the agent mailbox's default size: the raw idle task's channel buffer


@attrs.frozen
class Settings:
    real_rss: int  # agents sent to sleep through start_agent + idle_timeout, RSS measured
    real_traced: int  # the same under tracemalloc
    million: int  # dormant entries filled as hibernation fills them
    running: int  # live agents (and raw idle tasks) beside them
    stored: int  # agents stored in SQLite and dormant, for the thaw
    samples: int  # thaws (and each baseline) timed
    agents: int  # agents committing updates at once
    count: int  # calls prepared for the updates part (per case, at most)
    budget: float  # seconds per updates case
    repeats: int


FULL = Settings(
    real_rss=100_000,
    real_traced=20_000,
    million=1_000_000,
    running=10_000,
    stored=1_000_000,
    samples=2_000,
    agents=1_000,
    count=100_000,
    budget=1.0,
    repeats=3,
)
QUICK = Settings(
    real_rss=5_000,
    real_traced=2_000,
    million=20_000,
    running=2_000,
    stored=20_000,
    samples=300,
    agents=200,
    count=20_000,
    budget=0.3,
    repeats=1,
)


@agent(idle_timeout=IDLE)
@route("bench.bump", Bump)
class Sleeper:
    count: int = 0


SLEEPER: AgentSpec = agent_spec_of(Sleeper)  # type: ignore[assignment]


class StandIn:
    """What ``Dormancy.hibernated`` reads of an agent's ref: its id, spec and (without a store) agent value."""

    __slots__ = ("__weakref__", "_agent", "_durable", "id", "scheduler", "spec")

    def __init__(self, spec: AgentSpec, value: Agent) -> None:
        self.spec = spec
        self._agent = value
        self._durable: None = None
        self.id = ""
        self.scheduler: None = None


def fill_dormant(rt: Runtime, n: int) -> float:
    """Put ``n`` agents ``s0000000``... to sleep as the root supervisor does when their task ends idle;
    returns the seconds it took."""
    hibernated = rt._dormancy.hibernated
    stand_in = StandIn(SLEEPER, SLEEPER.new("template"))
    start = time.perf_counter()
    for i in range(n):
        stand_in.id = f"s{i:07d}"  # a new str each time, kept as the entry's key, as a ref's id would be
        hibernated(stand_in, "transient", None, "crash")  # type: ignore[arg-type]
    return time.perf_counter() - start


def rss() -> int:
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def timed_gc() -> float:
    start = time.perf_counter()
    gc.collect()
    return time.perf_counter() - start


def gc_pause() -> float:
    return min(timed_gc() for _ in range(3))


def tracked() -> int:
    return len(gc.get_objects())


async def wait_dormant(rt: Runtime, n: int) -> None:
    """Until ``n`` agents sleep and none runs."""
    with trio.fail_after(LIMIT):
        while True:
            if len(rt._dormancy) >= n and not rt._registry:
                return
            await trio.sleep(0.05)


# -- 1. the real path: start_agent, then idle_timeout ----------------------------------------------------------


async def real_path(n: int, traced: bool) -> dict[str, Any]:
    """Send ``n`` agents to sleep in two halves; bytes per agent over all of them, and over the second half
    alone (marginal: the first wave also pays for allocator arenas the live agents needed meanwhile)."""

    def memory() -> int:
        return tracemalloc.get_traced_memory()[0] if traced else rss()

    async with open_runtime() as rt:
        await rt.start_agent(Sleeper, id="warm-up")  # the kinds table, code paths, first allocations
        await wait_dormant(rt, 1)
        gc.collect()
        before, objects = memory(), tracked()
        half = n // 2
        spawned = 0.0
        start = time.perf_counter()
        for first, last in ((0, half), (half, n)):
            if first:
                gc.collect()
                middle = memory()
            began = time.perf_counter()
            for i in range(first, last):
                await rt.start_agent(Sleeper, id=f"s{i:07d}")
            spawned += time.perf_counter() - began
            await wait_dormant(rt, last + 1)
        asleep = time.perf_counter() - start
        gc.collect()
        after, objects = memory(), tracked() - objects
        stats = rt.statistics()
        if (stats.hibernated, stats.agents, stats.hibernations) != (n + 1, 0, n + 1):
            raise RuntimeError(f"expected {n + 1} hibernated agents and none running, got {stats}")
    return {
        "bytes": (after - before) / n,
        "marginal": (after - middle) / (n - half),
        "tracked": objects / n,
        "spawn_rate": n / spawned,
        "seconds": asleep,
    }


# -- 1, 2. a million dormant beside live agents; raw idle tasks ------------------------------------------------


async def million(n: int, running: int) -> dict[str, Any]:
    async with open_runtime() as rt:
        for i in range(running):
            await rt.start_agent(Counter, id=f"c{i}")  # no idle_timeout: they stay in memory
        gc_running = gc_pause()
        before, objects = rss(), tracked()
        fill = fill_dormant(rt, n)
        table = rt._dormancy._dormant
        tracked_after_fill = gc.is_tracked(table)
        gc_first = timed_gc()
        tracked_after_gc = gc.is_tracked(table)
        grown, objects = rss() - before, tracked() - objects
        gc_best = gc_pause()
        size = sys.getsizeof(table) + sum(
            sys.getsizeof(key) + sys.getsizeof(entry) + (0 if entry[1] is None else sys.getsizeof(entry[1]))
            for key, entry in table.items()
        )
        if rt.statistics().hibernated != n or rt.agent(Sleeper, "s0000000").status != "hibernated":
            raise RuntimeError("the dormant table does not hold what was filled")
        woken = await rt.agent(Sleeper, "s0000000").call(Signal(type="bench.bump", source="/bench"))
        if woken.state.count != 1 or len(rt._dormancy) != n - 1:
            raise RuntimeError("a filled entry did not wake as a hibernated agent does")
    return {
        "bytes": grown / n,
        "table_bytes": size / n,
        "tracked": objects / n,
        "fill_seconds": fill,
        "gc_running": gc_running,
        "gc_first": gc_first,
        "gc_best": gc_best,
        "tracked_after_fill": tracked_after_fill,
        "tracked_after_gc": tracked_after_gc,
    }


async def idle(*, task_status: trio.TaskStatus[trio.MemorySendChannel[Signal]]) -> None:
    send, receive = trio.open_memory_channel[Signal](MAILBOX)
    task_status.started(send)
    async with receive:
        async for _ in receive:
            pass


async def raw_tasks(running: int) -> dict[str, Any]:
    async with trio.open_nursery() as nursery:
        gc.collect()
        before, objects = rss(), tracked()
        channels: dict[str, trio.MemorySendChannel[Signal]] = {}
        for i in range(running):
            channels[f"c{i}"] = await nursery.start(idle)
        gc.collect()
        grown, objects = rss() - before, tracked() - objects
        pause = gc_pause()
        nursery.cancel_scope.cancel()
    return {"bytes": grown / running, "tracked": objects / running, "gc": pause}


# -- 3. thawing from SQLite -------------------------------------------------------------------------------------

SELECT = "SELECT agent_id, revision, updated_at, data FROM jido_agent_state WHERE agent_id = ?"


def stored_record(count: int) -> str:
    """The runtime's store record of a Sleeper whose count is ``count`` (as its last commit wrote it)."""
    value = SLEEPER.new("template", count=count)
    return Persistence(MemoryStateStore()).encode(value, {}, [])


async def thaw(n: int, samples: int, folder: pathlib.Path) -> dict[str, Any]:
    path = folder / "state.sqlite"
    async with SQLiteStateStore(path, synchronous="NORMAL"):
        pass  # creates the store's file and tables
    data, stamp = stored_record(41), time.time_ns() // 1000
    with contextlib.closing(sqlite3.connect(path, isolation_level=None)) as conn:
        conn.execute("BEGIN IMMEDIATE")
        conn.executemany(
            "INSERT INTO jido_agent_state (agent_id, revision, updated_at, data) VALUES (?, 1, ?, ?)",
            ((f"s{i:07d}", stamp, data) for i in range(n)),
        )
        conn.execute("COMMIT")
    rng = random.Random(7)
    picked = rng.sample(range(n), 2 * samples)
    called, woken = picked[:samples], picked[samples:]
    times: dict[str, list[float]] = {k: [] for k in ("call", "ref", "live", "raw", "raw_thread")}
    raw = sqlite3.connect(path, isolation_level=None, check_same_thread=False)

    def select(agent_id: str) -> tuple[Any, ...]:
        row = raw.execute(SELECT, (agent_id,)).fetchone()
        assert row is not None
        return tuple(row)

    bump = Signal(type="bench.bump", source="/bench")
    try:
        async with open_runtime(store=SQLiteStateStore(path, synchronous="NORMAL")) as rt:
            fill = fill_dormant(rt, n)
            live = await rt.start_agent(Counter, id="live")
            await live.call(bump)
            with trio.fail_after(LIMIT):
                for i in range(samples):
                    a, b = f"s{called[i]:07d}", f"s{woken[i]:07d}"
                    if (
                        rt.agent(Sleeper, a).status != "hibernated"
                        or rt.agent(Sleeper, b).status != "hibernated"
                    ):
                        raise RuntimeError("a picked agent was not dormant")
                    other = f"s{rng.randrange(n):07d}"
                    start = time.perf_counter()
                    select(other)
                    times["raw"].append(time.perf_counter() - start)
                    other = f"s{rng.randrange(n):07d}"
                    start = time.perf_counter()
                    await trio.to_thread.run_sync(select, other)
                    times["raw_thread"].append(time.perf_counter() - start)
                    start = time.perf_counter()
                    value = await rt.agent(Sleeper, a).call(bump)
                    times["call"].append(time.perf_counter() - start)
                    if value.state.count != 42:
                        raise RuntimeError(f"agent {a} woke with count {value.state.count - 1}, stored 41")
                    start = time.perf_counter()
                    await rt.agent(Sleeper, b).ref()
                    times["ref"].append(time.perf_counter() - start)
                    start = time.perf_counter()
                    await live.call(bump)
                    times["live"].append(time.perf_counter() - start)
            activations = rt.statistics().activations
    finally:
        raw.close()
    if activations != 2 * samples:
        raise RuntimeError(f"expected {2 * samples} activations, counted {activations}")
    return {"fill_seconds": fill, **{k: percentiles(v) for k, v in times.items()}}


def percentiles(seconds: list[float]) -> tuple[float, float]:
    cuts = statistics.quantiles(seconds, n=100, method="inclusive")
    return cuts[49], cuts[98]


# -- 4. persisted updates -------------------------------------------------------------------------------------


async def store_group_commit(path: pathlib.Path, sync: str, columns: list[list[str]], budget: float) -> Run:
    """One task per agent saving its next record (compare-and-set) until the budget is spent: the store's
    writer gathers them into transactions."""
    async with SQLiteStateStore(path, synchronous="FULL" if sync == "FULL" else "NORMAL") as store:
        done = [0] * len(columns)
        start = time.perf_counter()

        async def saver(i: int) -> None:
            agent_id, revision = f"c{i}", 0
            for data in columns[i]:
                [stored] = await store.save_many([StateWrite(agent_id, data, revision)])
                revision = stored.revision
                done[i] += 1
                if time.perf_counter() - start > budget:
                    return

        async with trio.open_nursery() as nursery:
            for i in range(len(columns)):
                nursery.start_soon(saver, i)
        elapsed = time.perf_counter() - start
        stats = store.statistics()
    return Run(sum(done) / elapsed, stats.saves / max(1, stats.transactions))


async def store_batches(
    path: pathlib.Path, sync: str, rows: list[tuple[str, str]], batch: int, budget: float
) -> Run:
    """One task, ``batch`` rows per ``save_many`` call (unconditional, as raw's upsert): the store's own
    cost over the same transactions done by hand."""
    async with SQLiteStateStore(path, synchronous="FULL" if sync == "FULL" else "NORMAL") as store:
        done = 0
        start = time.perf_counter()
        for first in range(0, len(rows) - batch + 1, batch):
            await store.save_many([StateWrite(a, d) for a, d in rows[first : first + batch]])
            done += batch
            if time.perf_counter() - start > budget:
                break
        elapsed = time.perf_counter() - start
    return Run(done / elapsed, float(batch))


def updates(settings: Settings, folder: pathlib.Path) -> dict[str, Any]:
    agents = settings.agents
    signals = bump_signals(settings.count)
    per_agent = settings.count // agents
    columns = [list(records(Counter, f"c{i}", per_agent)) for i in range(agents)]
    rows = [(f"c{i}", columns[i][step]) for step in range(per_agent) for i in range(agents)]
    files = Files(folder)
    result: dict[str, Any] = {}
    level: Sync
    for level in ("FULL", "NORMAL"):  # the store alone
        for case in ("group", "batch"):
            ours_runs: list[Run] = []
            raw_runs: list[Run] = []
            for _ in range(settings.repeats):
                os.sync()
                if case == "group":
                    ours_runs.append(
                        trio.run(store_group_commit, files.fresh("store"), level, columns, settings.budget)
                    )
                else:
                    ours_runs.append(
                        trio.run(store_batches, files.fresh("store"), level, rows, agents, settings.budget)
                    )
                os.sync()
                batch = max(1, round(ours_runs[-1].batch))
                raw_runs.append(raw_batches(files.fresh("raw"), level, rows, batch, settings.budget))
            best = max(ours_runs, key=lambda run: run.rate)
            result[f"store_{case}_{level}"] = {
                "ours": best.rate,
                "batch": best.batch,
                "raw": max(run.rate for run in raw_runs),
            }
    for sync in ("FULL", "NORMAL", "none"):
        ours: list[Run] = []
        raw: list[Run] = []
        for _ in range(settings.repeats):
            if sync == "none":  # the call path alone, and its raw trio ceiling (request/reply pairs)
                ours.append(trio.run(jido_calls, None, agents, signals, settings.budget))
                raw.append(trio.run(raw_calls, agents, signals, settings.budget))
                continue
            os.sync()
            ours.append(trio.run(jido_calls, make_store(sync, files), agents, signals, settings.budget))
            os.sync()
            batch = max(1, round(ours[-1].batch))
            raw.append(raw_batches(files.fresh("raw"), sync, rows, batch, settings.budget))
        best = max(ours, key=lambda run: run.rate)
        result[sync] = {"ours": best.rate, "batch": best.batch, "raw": max(run.rate for run in raw)}
    return result


# -- child processes -------------------------------------------------------------------------------------------


def part(name: str, settings: Settings) -> dict[str, Any]:
    """Run one part in this (child) process."""
    if name == "real_rss":
        return trio.run(real_path, settings.real_rss, False)
    if name == "real_traced":
        tracemalloc.start()
        return trio.run(real_path, settings.real_traced, True)
    if name == "million":
        return trio.run(million, settings.million, settings.running)
    if name == "raw_tasks":
        return trio.run(raw_tasks, settings.running)
    with tempfile.TemporaryDirectory() as folder:
        if name == "thaw":
            return trio.run(thaw, settings.stored, settings.samples, pathlib.Path(folder))
        if name == "updates":
            return updates(settings, pathlib.Path(folder))
    raise ValueError(f"no part {name!r}")


PARTS = ("real_rss", "real_traced", "million", "raw_tasks", "thaw", "updates")


def spawn(name: str, quick: bool) -> dict[str, Any]:
    command = [sys.executable, __file__, "--part", name, *(["--quick"] if quick else [])]
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    if done.returncode != 0 or not done.stdout.strip():
        raise RuntimeError(f"part {name} failed ({done.returncode}):\n{done.stderr}")
    return json.loads(done.stdout.strip().splitlines()[-1])  # type: ignore[no-any-return]


# -- the table -------------------------------------------------------------------------------------------------


def row(what: str, ours: str, raw: str, ratio: str, target: str) -> None:
    print(f"{what:<58}{ours:>11}{raw:>10}{ratio:>8}  {target}".rstrip())


def check(value: float, bound: float, at_most: bool, shown: str) -> str:
    ok = value <= bound if at_most else value >= bound
    return f"{'<=' if at_most else '>='} {shown} {'ok' if ok else 'MISSED'}"


def k(n: int) -> str:
    return f"{n / 1e6:g}M" if n >= 1_000_000 else f"{n / 1000:g}k"


def report(got: dict[str, dict[str, Any]], s: Settings) -> None:
    real, traced, big, raw = got["real_rss"], got["real_traced"], got["million"], got["raw_tasks"]
    thawed, updated = got["thaw"], got["updates"]
    task = raw["bytes"]
    kib = "1 KiB"

    def size_row(what: str, value: float, goal: str = kib) -> None:
        target = check(value, 1024, True, goal) if goal else ""
        row(what, f"{value:,.0f}", f"{task:,.0f}", f"{value / task:.3f}", target)

    def ms_row(what: str, ours: float, base: float, goal: str = "") -> None:
        row(what, f"{ours * 1e3:.3f}", f"{base * 1e3:.3f}", f"{ours / base:.1f}", goal)

    def rate_row(what: str, case: str, against: str, goal: bool = True) -> None:
        u = updated[case]
        ratio = u["ours"] / u["raw"]
        batch = f" (batch {u['batch']:.0f})" if case != "none" else ""
        target = check(ratio, 0.5, False, "0.5x") if goal else ""
        row(f"{what}{batch} [{against}]", f"{u['ours']:,.0f}", f"{u['raw']:,.0f}", f"{ratio:.2f}", target)

    running = k(s.running)
    print("agents at scale: jido beside raw trio / raw sqlite3, same run; each part in a fresh process")
    print("ratio = ours / raw (sizes, times: above 1 is costlier; rates: below 1 is slower)")
    print(f"[raw] of the byte rows: RSS per idle trio task blocked on a memory channel, {running} of them")
    row("figure", "ours", "raw", "ratio", "target")
    row("-" * 56, "-" * 9, "-" * 8, "-" * 6, "-" * 6)
    print("1. memory per hibernated agent, bytes")
    size_row(f"real path, {k(s.real_rss)}: RSS (with allocator slack)", real["bytes"])
    size_row(f"real path, {k(s.real_traced)}: tracemalloc, all", traced["bytes"])
    size_row(f"{k(s.million)} filled via Dormancy.hibernated(): RSS", big["bytes"])
    size_row("  the dormant table's own bytes (getsizeof)", big["table_bytes"], goal="")
    row(
        "  gc-tracked objects per agent (real path; filled)",
        f"{real['tracked']:.3f}; {big['tracked']:.3f}",
        f"{raw['tracked']:.0f}",
        "",
        "",
    )
    print(f"2. full gc.collect(), ms, best of 3 [{running} idle trio tasks]")
    goal = check(big["gc_best"], 0.3, True, "0.3 s")
    ms_row(f"{running} running agents + {k(s.million)} hibernated", big["gc_best"], raw["gc"], goal)
    ms_row("  the first full gc after the fill (once)", big["gc_first"], raw["gc"])
    ms_row(f"  {running} running agents, nothing hibernated", big["gc_running"], raw["gc"])
    print(f"3. thaw from SQLite NORMAL, {k(s.stored)} stored and dormant, ms")
    call, ref, live = thawed["call"], thawed["ref"], thawed["live"]
    select, threaded = thawed["raw"], thawed["raw_thread"]
    ms_row("agent(...).call() on a dormant agent, p50 [select]", call[0], select[0])
    ms_row(
        "agent(...).call() on a dormant agent, p99 [select]",
        call[1],
        select[1],
        check(call[1], 2e-3, True, "2 ms"),
    )
    ms_row("  same, p99 [select via trio.to_thread]", call[1], threaded[1])
    ms_row("agent(...).ref(), the wake alone, p50 [via to_thread]", ref[0], threaded[0])
    ms_row(
        "agent(...).ref(), the wake alone, p99 [via to_thread]",
        ref[1],
        threaded[1],
        check(ref[1], 2e-3, True, "2 ms"),
    )
    ms_row("  call to a live agent (commit, no wake), p50 [select]", live[0], select[0])
    ms_row("  call to a live agent (commit, no wake), p99 [select]", live[1], select[1])
    print(f"4a. persisted state updates/s, store level: {s.agents:,} agents' records, same rows as raw")
    rate_row(f"group commit, {s.agents:,} tasks, CAS, FULL", "store_group_FULL", "executemany")
    rate_row(f"group commit, {s.agents:,} tasks, CAS, NORMAL", "store_group_NORMAL", "executemany")
    rate_row("one task, save_many of a batch, FULL", "store_batch_FULL", "executemany")
    rate_row("one task, save_many of a batch, NORMAL", "store_batch_NORMAL", "executemany")
    print(f"4b. persisted state updates/s, end to end: {s.agents:,} agents, one calling task each")
    rate_row("calls through agents, SQLite FULL", "FULL", "executemany", goal=False)
    rate_row("calls through agents, SQLite NORMAL", "NORMAL", "executemany", goal=False)
    rate_row("  no store: the call path alone", "none", "trio req/reply", goal=False)
    print()
    print(
        f"real path: {k(s.real_rss)} agents spawned at {real['spawn_rate']:,.0f}/s (start_agent, idle_timeout"
        f" {IDLE:g} s), all asleep after {real['seconds']:.1f} s; RSS over the second half alone"
        f" {real['marginal']:,.0f} B/agent (it reuses what the first wave's live agents left free); under tracemalloc {traced['spawn_rate']:,.0f}/s,"
        f" second half {traced['marginal']:,.0f} B/agent"
    )
    print(
        f"the {k(s.million)}: dormant entries filled in {big['fill_seconds']:.1f} s by calling Dormancy.hibernated()"
        " with stand-in refs (as the root supervisor does when an idle agent's task ends), not spawned;"
        " one of them was woken by a call to check them"
    )
    print(
        f"dormant dict tracked by the gc: right after the fill {big['tracked_after_fill']},"
        f" after one full collection {big['tracked_after_gc']}"
    )
    print(
        f"thaw: {s.samples:,} random dormant agents per row, percentiles of single operations, interleaved;"
        f" the {k(s.stored)} rows written by hand into the store's table, the entries filled like the"
        f" {k(s.million)} in {thawed['fill_seconds']:.1f} s; updates: best of {s.repeats}, {s.budget:g} s each"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0] if __doc__ else None)
    parser.add_argument("--quick", action="store_true", help="smaller counts: under 30 s")
    parser.add_argument("--part", choices=PARTS, help=argparse.SUPPRESS)
    args = parser.parse_args()
    settings = QUICK if args.quick else FULL
    if args.part:
        print(json.dumps(part(args.part, settings)), flush=True)
        return
    began = time.perf_counter()
    got: dict[str, dict[str, Any]] = {}
    for name in PARTS:
        got[name] = spawn(name, args.quick)
    report(got, settings)
    print(f"total {time.perf_counter() - began:.0f} s")


if __name__ == "__main__":
    main()
