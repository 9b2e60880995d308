"""Every benchmark in quick mode, each beside its raw baseline measured in the same run: docs/performance.md.

Run: ``python bench/report.py`` (about 2-3 minutes on a 2-core machine); ``--out PATH`` writes elsewhere,
``--population N`` changes how many idle agents the memory, gc and spawn rows start (100,000 by default, the
size the goals are stated at).

Each row runs jido's case and its raw case (raw trio, raw sqlite3, raw trio-websocket) alternately, round
after round, and keeps the best of each, so that both get the same chances on a shared machine; the ratio is
always jido's figure over the raw one from this run. What each case does is in the docstring of the script
it comes from (``bench/runtime.py``, ``bench/bus.py``, ``bench/gateway.py``); this script only runs them with
quick settings and writes the table. Nothing is cached between cases: every round builds its runtime,
journal file or gateway anew.
"""

from __future__ import annotations

import argparse
import collections
import cProfile
import datetime as dt
import gc
import os
import pathlib
import platform
import pstats
import sqlite3
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Awaitable, Callable
from typing import Any

import attrs
import bus
import gateway
import ops
import runtime  # sibling scripts: bench/ is on sys.path when this one is run
import trio
import trio_websocket

from jido.runtime.runtime import open_runtime

ROOT = pathlib.Path(__file__).resolve().parent.parent


@attrs.frozen
class Row:
    """One line of the table."""

    figure: str
    ours: float
    raw: float
    unit: str
    baseline: str
    goal: str
    met: bool
    ratio_text: str

    @classmethod
    def rate(cls, figure: str, ours: float, raw: float, unit: str, baseline: str, at_least: float) -> Row:
        ratio = ours / raw
        return cls(figure, ours, raw, unit, baseline, f"≥ {at_least:g}", ratio >= at_least, f"{ratio:.2f}")


def machine() -> list[tuple[str, str]]:
    cpu = platform.processor() or "unknown"
    try:
        with open("/proc/cpuinfo") as info:
            for line in info:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    system = platform.platform()
    try:
        with open("/etc/os-release") as release:
            for line in release:
                if line.startswith("PRETTY_NAME="):
                    name = line.split("=", 1)[1].strip().strip('"')
                    system = f"{name} ({platform.release()})"
    except OSError:
        pass
    return [
        ("CPU", cpu),
        ("cores", str(os.cpu_count())),
        ("Python", f"{platform.python_implementation()} {platform.python_version()}"),
        ("OS", system),
        ("trio / trio-websocket", f"{trio.__version__} / {trio_websocket.__version__}"),
        ("SQLite", sqlite3.sqlite_version),
    ]


def timed(what: str, work: Callable[[], list[Row]]) -> list[Row]:
    started = time.perf_counter()
    rows = work()
    print(f"  {what}: {time.perf_counter() - started:.0f} s", file=sys.stderr, flush=True)
    return rows


def runtime_rows() -> list[Row]:
    speed = trio.run(runtime.measure_throughput, runtime.QUICK)
    return [
        Row.rate(
            "casts/s through one agent, trivial action",
            speed.casts,
            speed.spsc_64,
            "signals/s",
            "memory channel (buffer 64)",
            0.5,
        ),
        Row.rate("calls/s through one agent", speed.calls, speed.raw_calls, "calls/s", "request/reply", 0.5),
    ]


NOTES: list[str] = []  # lines under the table, gathered while measuring


def population_rows(n: int) -> list[Row]:
    # Bounded, so that the whole report stays within a few minutes on a busy machine: past the limit the
    # rows say how many agents were alive when they were measured.
    settings = attrs.evolve(runtime.QUICK, spawn_limit=30.0, shutdown_limit=10.0)
    ours = runtime.spawn_child("jido", n, settings)
    raw = runtime.spawn_child("raw", n, settings)
    size = f"{n // 1000}k" if n >= 1000 else str(n)
    partial = "" if ours.started == n else f" ({ours.started:,} started within {settings.spawn_limit:g} s)"
    ours_kib, raw_kib = ours.rss_bytes / ours.started / 1024, raw.rss_bytes / raw.started / 1024
    ours_gc, raw_gc = ours.gc_seconds, raw.gc_seconds * ours.started / raw.started
    NOTES.append(
        f"With `gc.freeze()` after the {ours.started:,} agents started, the same full collection took"
        f" {ours.gc_frozen_seconds:.3f} s (raw tasks: {raw.gc_frozen_seconds:.3f} s): objects alive at the"
        " freeze are left out of every later collection. `gc.freeze()` once a large population is up is"
        " the lever for the pause; `gc.unfreeze()` undoes it."
    )
    NOTES.append(
        f"Objects tracked by the collector per agent: {ours.tracked_objects / ours.started:.0f}"
        f" (raw task: {raw.tracked_objects / raw.started:.0f})."
    )
    return [
        Row(
            f"memory per idle live agent ({size}){partial}",
            ours_kib,
            raw_kib,
            "KiB (RSS)",
            "idle task on its own memory channel",
            "≤ 8 KiB",
            ours_kib <= 8,
            f"{ours_kib / raw_kib:.2f}x",
        ),
        Row(
            f"full gc pause with {size} live agents{partial}",
            ours_gc,
            raw_gc,
            "s",
            "as many idle tasks",
            "≤ 1.2x raw",
            ours_gc <= 1.2 * raw_gc,
            f"{ours_gc / raw_gc:.2f}x",
        ),
        Row.rate(
            f"agent spawn rate, {size} alive at the end{partial}",
            ours.started / ours.spawn_seconds,
            raw.started / raw.spawn_seconds,
            "agents/s",
            "nursery.start of idle tasks",
            0.5,
        ),
    ]


def bus_rows() -> list[Row]:
    signals = bus.make_signals(5_000)
    with tempfile.TemporaryDirectory() as tmp:
        ours, raw = bus.sqlite_rates(pathlib.Path(tmp), signals, 100, "FULL", 5)
        normal, raw_normal = bus.sqlite_rates(pathlib.Path(tmp), signals, 100, "NORMAL", 3)
    NOTES.append(
        f"SQLite at `synchronous=NORMAL` (no fsync per commit), batches of 100: {normal:,.0f}/s against raw"
        f" {raw_normal:,.0f}/s ({normal / raw_normal:.2f}): without an fsync to hide behind, the Python cost"
        " of encoding, delivering and acking each signal is what remains."
    )
    return [
        Row.rate(
            "SQLite publish + deliver, batches of 100 (FULL)",
            ours,
            raw,
            "signals/s",
            "sqlite3 executemany, same rows",
            0.5,
        ),
    ]


def gateway_rows() -> list[Row]:
    best, _, _ = trio.run(gateway.measure, 3, 3_000, 600)
    ours, ceiling = best["gateway, 1 jido client"], best["raw push, coalesced"]
    NOTES.append(
        f"Against a raw server that writes 128 frames per socket write as the gateway does, {ceiling:,.0f}/s,"
        f" the gateway's {ours:,.0f}/s is {ours / ceiling:.2f}: the rest is the bus, the subscription and"
        " the jido client's checking of every signal it receives."
    )
    return [
        Row.rate(
            "bus → one jido gateway client",
            best["gateway, 1 jido client"],
            best["raw push"],
            "signals/s",
            "trio-websocket push",
            0.8,
        ),
    ]


def dashboard_rows() -> list[Row]:
    async def rounds() -> tuple[float, float]:
        best = {False: 0.0, True: 0.0}
        for round_ in range(6):  # short rounds, the order alternating: a busy moment hits both sides alike
            for dashboard in (False, True) if round_ % 2 else (True, False):
                best[dashboard] = max(best[dashboard], await ops.casts_round(20_000, dashboard=dashboard))
        return best[True], best[False]

    with_dashboard, without = trio.run(rounds)
    return [
        Row.rate(
            "casts/s with the dashboard open and streaming",
            with_dashboard,
            without,
            "signals/s",
            "the same runtime, no dashboard",
            0.9,
        ),
    ]


# -- where the time and the memory go (the "Why the remaining gap" section) ----------------------------------

# Profile entries by where they come from: (label, substrings of "file:function"), first match wins.
_PARTS: list[tuple[str, tuple[str, ...]]] = [
    ("trio: scheduling, channels, cancel scopes", ("trio/", "outcome/", "<frozen abc>", "_abc")),
    ("params validation", ("_validated", "validate_params", "_plain_fields", "cattrs", "convert.py")),
    ("routing", ("jido/signal/router", "jido/agent/routes.py", "jido/agent/spec.py", "instruction.py")),
    ("running the action", ("jido/action/exec.py", "jido/action/result.py", "ActionContext", "ActionResult")),
    (
        "commit: strategy and state update",
        ("jido/agent/strategy.py", "jido/agent/state.py", "Agent>", "Counter>"),
    ),
    ("agent server: send, mailbox, loop", ("jido/runtime/server.py",)),
]
GAPS: list[str] = []  # paragraphs of the section, gathered while measuring


def _shares(profiler: cProfile.Profile) -> str:
    stats: Any = pstats.Stats(profiler).stats  # type: ignore[attr-defined]
    total = sum(entry[2] for entry in stats.values())
    parts: collections.Counter[str] = collections.Counter()
    for (filename, _, name), entry in stats.items():
        key = f"{filename}:{name}"
        label = next(
            (lab for lab, pats in _PARTS if any(p in key for p in pats)), "the rest (builtins, bench loop)"
        )
        parts[label] += entry[2]
    return ", ".join(f"{label} {100 * t / total:.0f} %" for label, t in parts.most_common())


def profile_paths() -> None:
    """cProfile of casts and of calls through one agent, own time summed by part of the path."""

    async def run() -> tuple[str, str]:
        signals = runtime.bump_signals(10_000)
        async with open_runtime() as rt:
            ref = await rt.start_agent(runtime.Counter, id="profiled")
            await runtime.jido_casts(ref, signals[:1000], signals[0])
            shares = []
            works: list[Callable[[], Awaitable[float]]] = [
                lambda: runtime.jido_casts(ref, signals, signals[0]),
                lambda: runtime.jido_calls(ref, signals[:5000]),
            ]
            for work in works:
                profiler = cProfile.Profile()
                profiler.enable()
                await work()
                profiler.disable()
                shares.append(_shares(profiler))
        return shares[0], shares[1]

    casts, calls = trio.run(run)
    GAPS.append(f"Casts, cProfile own time by part of the path: {casts}.")
    GAPS.append(f"Calls, the same: {calls}.")


def profile_memory(n: int = 2_000) -> None:
    """What the Python allocations of n idle agents are, by where they were made (tracemalloc)."""

    async def run() -> list[tuple[str, float, float]]:
        async with open_runtime() as rt:
            for index in range(10):
                await rt.start_agent(runtime.Counter, id=f"warm{index}")
            gc.collect()
            tracemalloc.start()
            before = tracemalloc.take_snapshot()
            for index in range(n):
                await rt.start_agent(runtime.Counter, id=f"m{index}")
            gc.collect()
            after = tracemalloc.take_snapshot()
            tracemalloc.stop()
        grouped: collections.Counter[str] = collections.Counter()
        counts: collections.Counter[str] = collections.Counter()
        for stat in after.compare_to(before, "lineno"):
            where = stat.traceback[0].filename
            if "trio" in where and ("_run" in where or "_util" in where or "_traps" in where):
                label = "trio tasks, nurseries, cancel scopes, coroutine frames"
            elif "trio" in where and ("_channel" in where or "MemoryChannel" in where):
                label = "the mailbox (a trio memory channel)"
            elif "trio" in where:
                label = "other trio objects (events)"
            elif "jido/runtime" in where:
                label = "jido runtime objects and their task frames (AgentRef, slot)"
            else:
                label = "the rest"
            grouped[label] += stat.size_diff
            counts[label] += stat.count_diff
        return [(label, grouped[label] / n, counts[label] / n) for label, _ in grouped.most_common()]

    parts = trio.run(run)
    total = sum(size for _, size, _ in parts)
    shown = ", ".join(f"{label} {size / 1024:.1f} KiB ({count:.0f} blocks)" for label, size, count in parts)
    GAPS.append(
        f"An idle agent's Python allocations (tracemalloc, {n:,} agents): {total / 1024:.1f} KiB: {shown}."
    )


_WHY = """\
- **Casts and calls.** No single part dominates any more: each of routing, validation, running the action,
  committing and the server loop is a few microseconds of Python, beside trio's own per-message
  scheduling (the same checkpoint per `send`/`receive` the raw case pays). A call also enters a cancel
  scope for its timeout and waits on a `trio.Event`. What would close the gap is a different shape, not a
  cut: handle a drained burst as one unit (route once per signal type, validate and run a batch of sync
  actions in one `cmd`, commit once per burst), which changes when `ref.state` shows each signal's effect
  and how the error policy and durable commits apply per signal; or compile the route → validate → run →
  commit core (mypyc/Cython). For calls, one deadline watcher per agent (a heap of waiting replies, failed
  when due) instead of a cancel scope per call.
- **Memory, gc pause and spawn rate.** An agent is two trio tasks (its slot, which owns the mailbox, timers
  and children across restarts, and the current incarnation running the server loop), each with a context,
  a chain of coroutine frames and a cancel scope with its status, plus the memory channel, the ref and
  the slot: about twice the objects of the raw idle task, and the full collection's pause grows with
  the number of tracked objects. Spawning pays two `nursery.start` calls (each makes a temporary
  nursery) and the collector's passes over a growing heap. The design that closes most of it is one task
  per agent: the slot runs each incarnation inline, in a cancel scope of its own, and loops to restart it
  (the supervisor asks and waits on a latch instead of starting a task), which removes a task, its frames
  and a cancel status per agent and one `nursery.start` per spawn; then a mailbox of our own (a deque
  and one parked receiver) instead of a memory channel's two endpoints, shared state and two ordered
  dicts. Until then, `gc.freeze()` after a bulk start-up takes the pause away (see the note above).
- **SQLite publish + deliver.** Profiled at `synchronous=NORMAL` (20,000 signals in batches of 100, 110,700/s
  against raw `executemany` at about 800,000 rows/s): a quarter of the wall time is the event loop waiting
  on the writer thread's commits; the rest is per signal, not per batch: the subscription's `next` (read
  buffer, due check, routing, a `Delivery`) about 5 µs and its `ack` (done-set, checkpoint bookkeeping)
  about 5 µs under the profiler, each already more than the 1.25 µs raw pays to insert a row. The raw case
  inserts rows encoded beforehand and reads nothing back. What would close it is delivery by batch: a
  target that takes a list of deliveries and one ack of a range of offsets, so the bookkeeping is paid per
  batch; per-signal targets (agents) would keep today's path.
"""


# Measured changes, newest first: what a change did to the rows above, before and after in one session on this
# machine (each ratio from its own same-run pair). Kept here so that every report carries them.
_HISTORY = """\
- 2026-12-05, the dashboard's recorder as an observer the agent servers call directly
  (`Runtime.observe_handled`: agent, outcome, duration; no telemetry event, fields dict or registry lookup
  per signal) instead of a `jido.signal.handled` handler: casts/s with the dashboard open and streaming
  over none, three `bench/ops.py --quick` runs each, 0.86-0.90 before, 0.93-0.96 after.
- 2026-12-05, the per-signal path and an agent's footprint (lazy instruction ids, plain params validated by
  calling their class, the caller's deadline read from trio's earliest deadline, no coroutine per attempt,
  commit or empty directive list, the observed path inline; an agent no longer keeps the nurseries it
  started from, makes its scheduler on first use, and waits on latches), measured back to back against
  the commit before on a quiet moment (`bench/runtime.py`'s cases and `bench/ops.py`'s, best of rounds):

  | figure | before | after |
  |---|---|---|
  | one cast through an agent | 24.2 µs, 0.19 of raw | 12.7 µs, 0.37 of raw |
  | one call | 40.1 µs, 0.22 of raw | 30.1 µs, 0.30 of raw |
  | memory per idle agent (10k) | 14.2 KiB, 83 tracked objects | 10.6 KiB, 60 tracked objects |
  | full gc pause, 10k agents | 501-569 ms | 334-337 ms |
  | agent spawn rate (10k) | 3,600-4,400/s | 4,000-4,500/s |
  | casts/s, dashboard open and streaming / none | 0.85 (2.4 µs per signal) | 0.88-0.90 (0.85 µs per signal) |
"""


def profiles() -> list[Row]:
    profile_paths()
    profile_memory()
    return []


def figure(value: float, unit: str) -> str:
    if unit == "s":
        return f"{value:.3f} s"
    if unit.startswith("KiB"):
        return f"{value:.1f} KiB"
    return f"{value:,.0f}/s"


def load() -> str:
    """The 1-minute load average: how busy the machine was with other work."""
    try:
        return f"{os.getloadavg()[0]:.2f}"
    except OSError:
        return "unknown"


def render(rows: list[Row], facts: list[tuple[str, str]], when: dt.datetime, seconds: float) -> str:
    lines = [
        "# Performance",
        "",
        "The runtime's own cost, measured as a ratio to what raw trio (raw sqlite3, raw trio-websocket) does",
        "with the same work in the same run. Written by `python bench/report.py`, which runs every benchmark",
        "in quick mode: jido's case and its raw case alternate round after round and each keeps its best.",
        "Run it again on your machine: the ratios travel better than the figures.",
        "",
        "| figure | ours | raw | ratio | goal | met |",
        "|---|---|---|---|---|---|",
    ]
    lines.extend(
        f"| {row.figure} | {figure(row.ours, row.unit)} | {figure(row.raw, row.unit)} ({row.baseline})"
        f" | {row.ratio_text} | {row.goal} | {'yes' if row.met else 'no'} |"
        for row in rows
    )
    lines += ["", *(f"- {note}" for note in NOTES)] if NOTES else []
    lines += [
        "",
        f"Measured {when:%Y-%m-%d %H:%M} UTC in {seconds:.0f} s on:",
        "",
        *(f"- {name}: {value}" for name, value in facts),
        "",
        "## How to read it",
        "",
        "- Rates (casts, calls, spawns, signals) are ratios ours / raw: 1 is as fast as raw, the goal is a floor.",
        "- Memory and gc pause are ratios ours / raw too, where lower is better: the goal is a ceiling. The raw",
        "  gc pause is scaled to the same number of live tasks when jido started fewer within its time limit.",
        "- Memory is resident set growth per agent, from `/proc/self/statm`, in a fresh child process.",
        "- SQLite rows are at `synchronous=FULL` (an fsync per commit), the journal's default. The raw case",
        "  inserts rows encoded beforehand and reads nothing back; ours encodes, commits, reads back, delivers",
        "  and acks. `python bench/bus.py` shows NORMAL, single-signal batches and catch-up from the file.",
        "  The FULL ratio depends on the disk: an fsync that other work on the machine slows down slows the",
        "  raw case most and lifts the ratio; on an idle disk the Python cost per signal weighs more and the",
        "  ratio is lower. The NORMAL note above, with no fsync at all, shows that cost alone.",
        "- The gateway writes the frames queued for a connection with one socket write; the raw push sends",
        "  one message per write, as a plain trio-websocket server does. `python bench/gateway.py` shows the",
        "  server side alone and ten clients.",
        "- The dashboard row is not against raw trio: it is casts/s through one agent (`cast_nowait` in",
        "  batches of 500, `bench/ops.py`) with a dashboard serving a page that streams every signal, over",
        "  the same without one, in the same process; the dashboard times each signal (an observer the",
        "  agent servers call directly, `Runtime.observe_handled`: no telemetry event is built) and ticks",
        "  its views once a second.",
        "- The machine is shared and noisy: a spread of 10-40 % between runs is common; compare ratios, and",
        "  look at the load average above: other work on the machine slows both sides, fsyncs most of all.",
        "",
        "## Levers",
        "",
        "- Many live agents: call `gc.freeze()` once the population is up (see the gc note above). Objects",
        "  alive then are skipped by every later collection; the cost is that reference cycles among them",
        "  are never collected until `gc.unfreeze()`.",
        '- SQLite journal: `synchronous="NORMAL"` trades the fsync per commit (durability through a power',
        "  loss) for several times the rate; concurrent publishers share commits on their own (group",
        "  commit on the journal's writer thread), and `flush_interval` makes the writer wait for more.",
        "  Subscribers that keep up read the newest records from memory; a subscriber catching up reads",
        "  the file in batches of 256 (`python bench/bus.py` shows both).",
        "- Gateway: frames queued for a connection go out in one socket write; a burst to one client costs",
        "  a few writes, not one per signal. `serve_gateway(max_connections=...)` bounds connections",
        "  (1,024 by default) and with them the memory of their send queues.",
    ]
    if GAPS:
        lines += ["", "## Why the remaining gap", "", *(f"- {gap}" for gap in GAPS), _WHY.rstrip()]
    lines += ["", "## Measured changes", "", _HISTORY.rstrip(), ""]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0] if __doc__ else None)
    parser.add_argument("--out", type=pathlib.Path, default=ROOT / "docs" / "performance.md")
    parser.add_argument("--population", type=int, default=100_000, help="idle agents for memory, gc, spawn")
    args = parser.parse_args()
    when = dt.datetime.now(dt.UTC)
    started = time.perf_counter()
    load_before = load()
    print("measuring (each part prints its time):", file=sys.stderr)
    rows = timed("casts and calls", runtime_rows)
    rows += timed(f"{args.population:,} idle agents", lambda: population_rows(args.population))
    rows += timed("SQLite bus", bus_rows)
    rows += timed("gateway", gateway_rows)
    rows += timed("dashboard", dashboard_rows)
    timed("profiles", profiles)
    facts = [*machine(), ("load average (1 min) before / after", f"{load_before} / {load()}")]
    text = render(rows, facts, when, time.perf_counter() - started)
    args.out.write_text(text)
    print(text)


if __name__ == "__main__":
    main()
