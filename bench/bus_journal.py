"""Append and read rates of the journal backends, against raw sqlite3 measured in the same run.

Run: ``python bench/bus_journal.py``. Signals are ~450-byte CloudEvents (as in ``bench/signal_json.py``).

* "sqlite append, batch N": ``await journal.append(N signals)`` in a loop; each call is one transaction.
  Baseline "raw": plain ``sqlite3`` on the same schema, WAL, same ``synchronous``: ``BEGIN IMMEDIATE``,
  ``executemany`` of N rows (bodies serialized beforehand, so the raw side does no JSON work), update of the
  meta row, ``COMMIT``, in a loop on one thread with no trio at all.
* "50 concurrent appenders": 50 trio tasks each appending one signal at a time; group commit gathers them.
  Its baseline is raw batch 1: what one commit per signal costs.
* "read": ``journal.read(start, limit=1000)`` over the whole journal; raw is ``SELECT`` of the same rows plus
  ``Signal.from_json`` of each body (the same work without the journal).

Each run of a case stops after COUNT signals or BUDGET seconds, on a fresh file; ours and raw runs alternate,
REPEATS times, and the table shows medians (the disk's fsync time and other processes make single runs noisy).
The ratio is ours / raw. Raw bodies are serialized beforehand; ours pay ``Signal.to_json`` (~4 us a signal).
"""

from __future__ import annotations

import sqlite3
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

import trio
from signal_json import sample_signal  # a sibling script: bench/ is on sys.path when run

from jido.bus.memory import MemoryJournal
from jido.bus.sqlite import SQLiteJournal
from jido.signal import Signal

COUNT = 20_000
BUDGET = 0.35  # seconds per run
REPEATS = 3
CONCURRENT = 50


def make_signals(count: int) -> list[Signal]:
    template = sample_signal()  # the same ~450-byte signal as bench/signal_json.py
    return [template.evolve(id=f"sig-{i:08d}") for i in range(count)]


# -- raw sqlite3 ---------------------------------------------------------------------------------------------


def raw_connection(path: Path, synchronous: str) -> sqlite3.Connection:
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA journal_mode = WAL")
    conn.execute(f"PRAGMA synchronous = {synchronous}")
    conn.executescript(
        """
        CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value INTEGER NOT NULL) WITHOUT ROWID;
        CREATE TABLE IF NOT EXISTS records (
            "offset" INTEGER PRIMARY KEY, type TEXT NOT NULL, appended_at INTEGER NOT NULL, body TEXT NOT NULL
        );
        CREATE INDEX IF NOT EXISTS records_by_time ON records (appended_at);
        INSERT OR IGNORE INTO meta VALUES ('last_offset', 0);
        """
    )
    return conn


def raw_append(path: Path, bodies: list[str], batch: int, synchronous: str) -> float:
    conn = raw_connection(path, synchronous)
    stamp = 1_700_000_000_000_000
    done = 0
    start = time.perf_counter()
    while done < len(bodies) and time.perf_counter() - start < BUDGET:
        rows = [
            (done + i + 1, "order.item.added", stamp, body)
            for i, body in enumerate(bodies[done : done + batch])
        ]
        conn.execute("BEGIN IMMEDIATE")
        conn.executemany('INSERT INTO records ("offset", type, appended_at, body) VALUES (?, ?, ?, ?)', rows)
        conn.execute("UPDATE meta SET value = ? WHERE key = 'last_offset'", (done + len(rows),))
        conn.execute("COMMIT")
        done += len(rows)
    elapsed = time.perf_counter() - start
    conn.close()
    return done / elapsed


def raw_read(path: Path) -> float:
    conn = sqlite3.connect(path)
    start = time.perf_counter()
    done = 0
    offset = 1
    while rows := conn.execute(
        'SELECT "offset", appended_at, body FROM records WHERE "offset" >= ? ORDER BY "offset" LIMIT 1000',
        (offset,),
    ).fetchall():
        for _, _, body in rows:
            Signal.from_json(body, max_bytes=None)
        done += len(rows)
        offset = rows[-1][0] + 1
    elapsed = time.perf_counter() - start
    conn.close()
    return done / elapsed


# -- the journals --------------------------------------------------------------------------------------------


async def journal_append(journal: Any, signals: list[Signal], batch: int) -> float:
    done = 0
    start = time.perf_counter()
    while done < len(signals) and time.perf_counter() - start < BUDGET:
        records = await journal.append(signals[done : done + batch])
        done += len(records)
    return done / (time.perf_counter() - start)


async def journal_concurrent(journal: SQLiteJournal, signals: list[Signal]) -> tuple[float, float]:
    """Signals per second with CONCURRENT tasks appending one signal each, and the mean signals per commit."""
    feed = iter(signals)
    start = time.perf_counter()
    before = journal.statistics()

    async def appender() -> None:
        for signal in feed:
            await journal.append([signal])
            if time.perf_counter() - start > BUDGET:
                return

    async with trio.open_nursery() as nursery:
        for _ in range(CONCURRENT):
            nursery.start_soon(appender)
    elapsed = time.perf_counter() - start
    after = journal.statistics()
    appended = after.appended - before.appended
    return appended / elapsed, appended / (after.append_transactions - before.append_transactions)


async def journal_read(journal: Any) -> float:
    done = 0
    offset = 1
    start = time.perf_counter()
    while records := await journal.read(offset, limit=1000):
        done += len(records)
        offset = records[-1].offset + 1
    return done / (time.perf_counter() - start)


# -- the run -------------------------------------------------------------------------------------------------


Row = tuple[str, str, float, float | None, str]


async def measure(directory: Path, signals: list[Signal], bodies: list[str]) -> list[Row]:
    rows: list[Row] = []
    files = iter(range(1_000_000))

    def fresh() -> Path:
        return directory / f"bench-{next(files)}.db"

    for batch in (1, 1000):
        rates = [await journal_append(MemoryJournal(), signals, batch) for _ in range(REPEATS)]
        rows.append((f"memory append, batch {batch}", "-", statistics.median(rates), None, ""))
    memory_read = MemoryJournal()
    await memory_read.append(signals)
    rates = [await journal_read(memory_read) for _ in range(REPEATS)]
    rows.append(("memory read, 1000 per call", "-", statistics.median(rates), None, ""))

    for synchronous in ("FULL", "NORMAL"):
        raw_rates: dict[int, float] = {}
        for batch in (1, 100, 1000):
            ours_runs, raw_runs = [], []
            for _ in range(REPEATS):
                raw_runs.append(
                    await trio.to_thread.run_sync(raw_append, fresh(), bodies, batch, synchronous)
                )
                async with SQLiteJournal(fresh(), synchronous=synchronous) as journal:
                    ours_runs.append(await journal_append(journal, signals, batch))
            raw_rates[batch] = statistics.median(raw_runs)
            ours = statistics.median(ours_runs)
            rows.append(
                (f"sqlite append, batch {batch}", synchronous, ours, raw_rates[batch], f"raw batch {batch}")
            )
        concurrent = []
        for _ in range(REPEATS):
            async with SQLiteJournal(fresh(), synchronous=synchronous) as journal:
                concurrent.append(await journal_concurrent(journal, signals))
        ours, mean_batch = sorted(concurrent)[len(concurrent) // 2]
        case = f"sqlite {CONCURRENT} concurrent appenders ({mean_batch:.0f}/commit)"
        rows.append((case, synchronous, ours, raw_rates[1], "raw batch 1"))

    path = fresh()
    ours_runs, raw_runs = [], []
    async with SQLiteJournal(path, synchronous="NORMAL") as journal:
        await journal.append(signals)
        for _ in range(REPEATS):
            raw_runs.append(await trio.to_thread.run_sync(raw_read, path))
            ours_runs.append(await journal_read(journal))
    ours, raw = statistics.median(ours_runs), statistics.median(raw_runs)
    rows.append(("sqlite read, 1000 per call", "-", ours, raw, "raw SELECT + from_json"))
    return rows


def main() -> None:
    signals = make_signals(COUNT)
    bodies = [signal.to_json() for signal in signals]
    print(f"{COUNT} signals of {len(bodies[0].encode())} bytes of JSON; sqlite {sqlite3.sqlite_version}")
    with tempfile.TemporaryDirectory() as directory:
        rows = trio.run(measure, Path(directory), signals, bodies)
    print()
    print(
        f"| {'case':<48} | {'sync':<6} | {'ours sig/s':>11} | {'raw sig/s':>10} | {'ours/raw':>8} | baseline"
    )
    print(f"|{'-' * 50}|{'-' * 8}|{'-' * 13}|{'-' * 12}|{'-' * 10}|{'-' * 24}")
    for case, synchronous, ours, raw, baseline in rows:
        raw_text = f"{raw:>10,.0f}" if raw is not None else f"{'':>10}"
        ratio = f"{ours / raw:>8.2f}" if raw is not None else f"{'':>8}"
        print(f"| {case:<48} | {synchronous:<6} | {ours:>11,.0f} | {raw_text} | {ratio} | {baseline}")


if __name__ == "__main__":
    main()
