"""Persisted state updates per second through the SQLite state store, against raw sqlite3 in the same run.

Run: ``python bench/store.py`` (``--quick`` for a short run). AGENTS agents, each state a ~200-byte JSON text.

* "N concurrent savers": N trio tasks, each saving one agent's new state at a time
  (``save_many([StateWrite(agent, data)])``, unconditional), round robin over the agents; group commit gathers
  them. Its baseline "raw": plain ``sqlite3`` on the same table, WAL, same ``synchronous``, one thread, no trio:
  ``BEGIN IMMEDIATE``, ``executemany`` of an upsert of the same rows in batches of the mean batch our run
  reached, ``COMMIT``. So the ratio is what the store costs over the same transactions done by hand.
* "N concurrent savers, CAS": the same with ``expected_revision`` (compare-and-set), as the runtime will save.
* "one caller, batch 1": one task, one state per call: one commit per update on both sides (raw batch 1).

Each run stops after COUNT updates or BUDGET seconds, on a fresh file; ours and raw alternate, REPEATS times,
and the table shows medians. The ratio is ours / raw.
"""

from __future__ import annotations

import argparse
import json
import sqlite3
import statistics
import tempfile
import time
from pathlib import Path
from typing import Literal

import trio

from jido.store.sqlite import SQLiteStateStore
from jido.store.store import StateWrite

AGENTS = 1000
COUNT = 50_000
BUDGET = 1.0  # seconds per run
REPEATS = 3
TASKS = (10, 100, 1000)

UPSERT = (
    "INSERT INTO jido_agent_state (agent_id, revision, updated_at, data) VALUES (?, 1, ?, ?)"
    " ON CONFLICT (agent_id) DO UPDATE"
    " SET revision = revision + 1, updated_at = excluded.updated_at, data = excluded.data"
)


def state_json(agent: int, step: int) -> str:
    """A ~200-byte agent state."""
    return json.dumps(
        {
            "count": step,
            "owner": f"user-{agent:05d}",
            "status": "active",
            "tags": ["alpha", "beta", "gamma"],
            "last_order": {"id": f"order-{step:08d}", "total": 123.45, "currency": "EUR"},
            "note": "x" * 40,
        }
    )


def raw_updates(path: Path, datas: list[str], batch: int, synchronous: str, budget: float) -> float:
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA journal_mode = WAL")
    conn.execute(f"PRAGMA synchronous = {synchronous}")
    conn.execute(
        "CREATE TABLE IF NOT EXISTS jido_agent_state (agent_id TEXT PRIMARY KEY NOT NULL,"
        " revision INTEGER NOT NULL, updated_at INTEGER NOT NULL, data TEXT NOT NULL)"
    )
    stamp = 1_700_000_000_000_000
    done = 0
    start = time.perf_counter()
    while done < len(datas) and time.perf_counter() - start < budget:
        rows = [
            (f"agent-{(done + i) % AGENTS:05d}", stamp, data)
            for i, data in enumerate(datas[done : done + batch])
        ]
        conn.execute("BEGIN IMMEDIATE")
        conn.executemany(UPSERT, rows)
        conn.execute("COMMIT")
        done += len(rows)
    elapsed = time.perf_counter() - start
    conn.close()
    return done / elapsed


async def ours_updates(
    path: Path,
    datas: list[str],
    tasks: int,
    synchronous: Literal["NORMAL", "FULL"],
    budget: float,
    *,
    cas: bool,
) -> tuple[float, float]:
    """Updates per second with ``tasks`` concurrent savers, and the mean updates per transaction."""
    async with SQLiteStateStore(path, synchronous=synchronous) as store:
        revisions = [0] * AGENTS
        feed = iter(range(len(datas)))
        start = time.perf_counter()

        async def saver() -> None:
            for n in feed:
                agent = n % AGENTS
                expected = revisions[agent] if cas else None
                (state,) = await store.save_many([StateWrite(f"agent-{agent:05d}", datas[n], expected)])
                revisions[agent] = state.revision
                if time.perf_counter() - start > budget:
                    return

        async with trio.open_nursery() as nursery:
            for _ in range(tasks):
                nursery.start_soon(saver)
        elapsed = time.perf_counter() - start
        stats = store.statistics()
    return stats.saves / elapsed, stats.saves / max(1, stats.transactions)


Row = tuple[str, str, float, float, float]


async def measure(
    directory: Path, datas: list[str], synchronous_modes: list[str], budget: float
) -> list[Row]:
    rows: list[Row] = []
    files = iter(range(1_000_000))

    def fresh() -> Path:
        return directory / f"bench-{next(files)}.db"

    for synchronous in synchronous_modes:
        sync: Literal["NORMAL", "FULL"] = "FULL" if synchronous == "FULL" else "NORMAL"
        cases = [(1, False, "one caller, batch 1")]
        cases += [(n, False, f"{n} concurrent savers") for n in TASKS]
        cases += [(100, True, "100 concurrent savers, CAS")]
        for tasks, cas, name in cases:
            ours_runs, raw_runs, batches = [], [], []
            for _ in range(REPEATS):
                ours, mean_batch = await ours_updates(fresh(), datas, tasks, sync, budget, cas=cas)
                ours_runs.append(ours)
                batches.append(mean_batch)
                batch = max(1, round(mean_batch))
                raw_runs.append(
                    await trio.to_thread.run_sync(raw_updates, fresh(), datas, batch, synchronous, budget)
                )
            mean = statistics.median(batches)
            rows.append(
                (
                    f"{name} ({mean:.0f}/commit)",
                    synchronous,
                    statistics.median(ours_runs),
                    statistics.median(raw_runs),
                    mean,
                )
            )
    return rows


def main() -> None:
    global REPEATS  # --quick shortens the module's settings for this run
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--quick", action="store_true", help="one short run per case, NORMAL only")
    args = parser.parse_args()
    budget = 0.3 if args.quick else BUDGET
    if args.quick:
        REPEATS = 1
    modes = ["NORMAL"] if args.quick else ["FULL", "NORMAL"]
    datas = [state_json(n % AGENTS, n // AGENTS) for n in range(COUNT)]
    size = statistics.mean(len(d.encode()) for d in datas[:AGENTS])
    print(f"{AGENTS} agents, states of ~{size:.0f} bytes of JSON; sqlite {sqlite3.sqlite_version}")
    with tempfile.TemporaryDirectory() as directory:
        rows = trio.run(measure, Path(directory), datas, modes, budget)
    print()
    print(f"| {'case':<40} | {'sync':<6} | {'ours upd/s':>11} | {'raw upd/s':>10} | {'ours/raw':>8} |")
    print(f"|{'-' * 42}|{'-' * 8}|{'-' * 13}|{'-' * 12}|{'-' * 10}|")
    for case, synchronous, ours, raw, _ in rows:
        print(f"| {case:<40} | {synchronous:<6} | {ours:>11,.0f} | {raw:>10,.0f} | {ours / raw:>8.2f} |")


if __name__ == "__main__":
    main()
