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

Signals are built before the timed loops. Rates are the best of REPEATS rounds, jido and raw interleaved.
"""

from __future__ import annotations

import argparse
import pathlib
import sqlite3
import tempfile
import time
from collections.abc import Callable
from typing import Any

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


def best(repeats: int, measure: Callable[[], float]) -> float:
    return max(measure() for _ in range(repeats))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="smaller counts, fewer rounds")
    args = parser.parse_args()
    n = 2_000 if args.quick else 10_000
    repeats = 2 if args.quick else 3
    signals = make_signals(n)
    rows: list[tuple[str, float, float | None]] = []
    with tempfile.TemporaryDirectory() as tmp:
        counter = iter(range(1_000_000))

        def fresh() -> pathlib.Path:
            return pathlib.Path(tmp) / f"db{next(counter)}.sqlite"

        for batch in (1, 100):
            memory = best(
                repeats, lambda batch=batch: trio.run(publish_and_deliver, MemoryJournal(), signals, batch)
            )
            rows.append((f"memory journal, batches of {batch}", memory, None))
            for sync in ("NORMAL", "FULL"):
                count = n if batch > 1 else n // 10  # one transaction per signal: fewer of them
                subset = signals[:count]

                def ours(sync: Any = sync, subset: list[Signal] = subset, batch: int = batch) -> float:
                    journal = SQLiteJournal(fresh(), synchronous=sync)
                    return trio.run(publish_and_deliver, journal, subset, batch)

                def raw(sync: str = sync, subset: list[Signal] = subset, batch: int = batch) -> float:
                    return raw_sqlite(fresh(), subset, batch, sync)

                rows.append((f"SQLite {sync}, batches of {batch}", best(repeats, ours), best(repeats, raw)))
    print("bus publish + deliver (every signal appended, read back, delivered, acked) vs raw sqlite3 inserts")
    print(f"{n:,} signals of ~{len(signals[0].to_json())} bytes; best of {repeats} rounds")
    print(f"{'what':<34} {'jido /s':>12} {'raw sqlite3 /s':>15} {'ratio':>7}")
    print("-" * 71)
    for what, ours_rate, raw_rate in rows:
        raw_text = f"{raw_rate:>15,.0f}" if raw_rate else f"{'':>15}"
        ratio = f"{ours_rate / raw_rate:>7.2f}" if raw_rate else f"{'':>7}"
        print(f"{what:<34} {ours_rate:>12,.0f} {raw_text} {ratio}")


if __name__ == "__main__":
    main()
