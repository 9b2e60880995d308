"""The bus's publish + deliver rate, with the memory and the SQLite journal, beside raw sqlite3 in the same run.

Run: ``python bench/bus.py`` (about 30 s) or ``python bench/bus.py --quick``.

What is measured:

- publish + deliver: one task publishes N signals in batches of B (``await bus.publish(batch)``); one durable
  subscription with a trivial target (a counter) receives them; the clock stops when its checkpoint reaches
  the last offset, so every signal was appended, read back from the journal, delivered and acked.
- journals: the in-memory one, and SQLite with ``synchronous=NORMAL`` (durable through a process crash) and
  ``FULL`` (fsync per commit: durable through a power loss).
- raw: ``sqlite3`` ``executemany`` of the same rows (offset, type, time, the signal's JSON) in batches of B,
  WAL, the same ``synchronous``, one commit per batch, on the same thread (no trio, no reading back).

- catch-up: a durable subscription from the beginning of a journal filled and reopened before, so every
  record is read from the file and decoded (live subscribers read the newest records from the journal's
  window of what was just appended instead; this row shows the cost of the file path).

Signals are built before the timed loops. Rates are the best of REPEATS rounds, jido and raw interleaved
within every round.
"""

from __future__ import annotations

import argparse
import pathlib
import sqlite3
import tempfile
import time
from collections.abc import Callable

import trio

from jido.bus.bus import open_bus
from jido.bus.journal import Journal
from jido.bus.memory import MemoryJournal
from jido.bus.sqlite import SQLiteJournal
from jido.signal import Signal


def make_signals(n: int) -> list[Signal]:
    return [
        Signal(
            type="order.item.added",
            source="/bench/shop",
            data={"order": f"o-{i}", "sku": "sku-42", "qty": i % 7},
        )
        for i in range(n)
    ]


async def publish_and_deliver(journal: Journal, signals: list[Signal], batch: int) -> float:
    received = 0
    all_received = trio.Event()

    def count(signal: Signal) -> None:
        nonlocal received
        received += 1
        if received == len(signals):
            all_received.set()

    async with open_bus(journal) as bus:
        await bus.subscribe("**", name="bench", target=count, max_in_flight=256)
        start = time.perf_counter()
        for i in range(0, len(signals), batch):
            await bus.publish(signals[i : i + batch])
        await all_received.wait()
        elapsed = time.perf_counter() - start
    assert received >= len(signals)
    return len(signals) / elapsed


def raw_sqlite(path: pathlib.Path, signals: list[Signal], batch: int, synchronous: str) -> float:
    rows = [(i + 1, s.type, s.time.isoformat(), s.to_json()) for i, s in enumerate(signals)]
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute(f"PRAGMA synchronous={synchronous}")
    conn.execute('CREATE TABLE records ("offset" INTEGER PRIMARY KEY, type TEXT, at TEXT, body TEXT)')
    start = time.perf_counter()
    for i in range(0, len(rows), batch):
        conn.execute("BEGIN")
        conn.executemany("INSERT INTO records VALUES (?, ?, ?, ?)", rows[i : i + batch])
        conn.execute("COMMIT")
    elapsed = time.perf_counter() - start
    conn.close()
    return len(rows) / elapsed


def interleaved(repeats: int, ours: Callable[[], float], raw: Callable[[], float]) -> tuple[float, float]:
    """Best of ``repeats`` rounds of each, jido and raw alternating within every round."""
    best_ours = best_raw = 0.0
    for _ in range(repeats):
        best_ours = max(best_ours, ours())
        best_raw = max(best_raw, raw())
    return best_ours, best_raw


def catch_up(journal: SQLiteJournal, signals: list[Signal], batch: int) -> float:
    """Signals/s delivered to a subscription that starts from the beginning of a journal filled (and
    reopened) before: every record is read from the file and decoded, none from the window of new ones."""

    async def fill() -> None:
        async with journal:
            for i in range(0, len(signals), batch):
                await journal.append(signals[i : i + batch])

    trio.run(fill)
    reopened = SQLiteJournal(journal.path, synchronous=journal.synchronous)  # type: ignore[arg-type]

    async def deliver() -> float:
        received = 0
        all_received = trio.Event()

        def count(signal: Signal) -> None:
            nonlocal received
            received += 1
            if received == len(signals):
                all_received.set()

        async with open_bus(reopened) as bus:
            start = time.perf_counter()
            await bus.subscribe("**", name="bench", target=count, max_in_flight=256, start_from="beginning")
            await all_received.wait()
            return len(signals) / (time.perf_counter() - start)

    return trio.run(deliver)


def sqlite_rates(
    tmp: pathlib.Path, signals: list[Signal], batch: int, sync: str, repeats: int
) -> tuple[float, float]:
    """Publish + deliver through a SQLite journal, and raw executemany of the same rows: interleaved."""
    counter = iter(range(1_000_000))

    def fresh() -> pathlib.Path:
        return tmp / f"db-{sync}-{batch}-{next(counter)}.sqlite"

    def ours() -> float:
        journal = SQLiteJournal(fresh(), synchronous=sync)  # type: ignore[arg-type]
        return trio.run(publish_and_deliver, journal, signals, batch)

    def raw() -> float:
        return raw_sqlite(fresh(), signals, batch, sync)

    return interleaved(repeats, ours, raw)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="smaller counts, fewer rounds")
    args = parser.parse_args()
    n = 2_000 if args.quick else 10_000
    repeats = 2 if args.quick else 3
    signals = make_signals(n)
    rows: list[tuple[str, float, float | None]] = []
    with tempfile.TemporaryDirectory() as tmp:
        folder = pathlib.Path(tmp)
        for batch in (1, 100):
            memory = max(
                trio.run(publish_and_deliver, MemoryJournal(), signals, batch) for _ in range(repeats)
            )
            rows.append((f"memory journal, batches of {batch}", memory, None))
            for sync in ("NORMAL", "FULL"):
                count = n if batch > 1 else n // 10  # one transaction per signal: fewer of them
                ours, raw = sqlite_rates(folder, signals[:count], batch, sync, repeats)
                rows.append((f"SQLite {sync}, batches of {batch}", ours, raw))
        for sync in ("NORMAL", "FULL"):
            rate = max(
                catch_up(
                    SQLiteJournal(folder / f"catch-up-{sync}-{i}.sqlite", synchronous=sync), signals, 100
                )  # type: ignore[arg-type]
                for i in range(repeats)
            )
            rows.append((f"SQLite {sync}, catch-up from the file", rate, None))
    print("bus publish + deliver (every signal appended, read back, delivered, acked) vs raw sqlite3 inserts")
    print(f"{n:,} signals of ~{len(signals[0].to_json())} bytes; best of {repeats} rounds, interleaved")
    print(f"{'what':<40} {'jido /s':>12} {'raw sqlite3 /s':>15} {'ratio':>7}")
    print("-" * 77)
    for what, ours_rate, raw_rate in rows:
        raw_text = f"{raw_rate:>15,.0f}" if raw_rate else f"{'':>15}"
        ratio = f"{ours_rate / raw_rate:>7.2f}" if raw_rate else f"{'':>7}"
        print(f"{what:<40} {ours_rate:>12,.0f} {raw_text} {ratio}")


if __name__ == "__main__":
    main()
