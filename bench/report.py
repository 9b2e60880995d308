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
import datetime as dt
import os
import pathlib
import platform
import sqlite3
import sys
import tempfile
import time
from collections.abc import Callable

import attrs
import bus
import gateway
import runtime  # sibling scripts: bench/ is on sys.path when this one is run
import trio
import trio_websocket

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
        "",
    ]
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
    facts = [*machine(), ("load average (1 min) before / after", f"{load_before} / {load()}")]
    text = render(rows, facts, when, time.perf_counter() - started)
    args.out.write_text(text)
    print(text)


if __name__ == "__main__":
    main()
