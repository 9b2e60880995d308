"""The runtime's throughput and footprint, beside raw trio doing the same work in the same run.

Run: ``python bench/runtime.py`` (about 3 minutes), ``python bench/runtime.py --quick`` (about 20 s), or
``python bench/runtime.py --profile`` (cProfile of casts and of calls, top functions by cumulative time).

What is measured, jido against its raw-trio ceiling:

- casts/s: one producer task awaits ``ref.cast(signal)`` for CASTS signals, then one ``ref.call`` makes sure
  the agent has handled them all (its count is checked). The action is trivial (``count + 1``, no params).
  Raw: one producer awaiting ``send`` on a memory channel, one consumer ``async for``-ing it, with a buffer of
  64 and with a buffer of 1,024 (the agent mailbox's default size).
- cast_nowait bursts: fill the mailbox (1,024 signals) with ``cast_nowait``, wait (``ref.wait_state``) until
  the agent has handled them, again. Raw: ``send_nowait`` bursts of 1,024 into a consumer that drains with
  ``receive_nowait`` and checkpoints every 64 items, as the agent's server loop does.
- calls/s: sequential ``await ref.call(signal)``. Raw: request/reply between two tasks, a request channel
  (buffer 1,024) carrying the item and a ``trio.Event`` the server sets, as ``call`` does.
- a population of idle agents (10k and 100k; 2k and 10k with ``--quick``), each in a fresh child process so
  its memory figures start clean: spawn rate of ``await rt.start_agent(Counter, id=f"a{i}")``, RSS per agent
  ((RSS after - RSS before) / n, from ``/proc/self/statm``), objects tracked by the collector per agent, one
  full ``gc.collect()`` with them alive (best of 2), and leaving the runtime (shutdown). Raw: idle tasks, each
  blocked on its own memory channel, spawned with ``nursery.start``, their send channels kept in a dict by the
  same ids; shutdown is cancelling their nursery. Spawning stops at SPAWN_LIMIT seconds and shutdown is given
  SHUTDOWN_LIMIT seconds: past them the row says how far it got.

Signals are built before the timed loops (distinct ids, one type), since building one is not the runtime's
work; the automatic collector stays on (its pauses are part of spawning). Rates are the best of REPEATS rounds,
jido and raw interleaved within each round, so both get the same chances on a shared machine.
"""

from __future__ import annotations

import argparse
import cProfile
import gc
import json
import os
import pstats
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable
from typing import Any

import attrs
import trio

from dsl import action, agent, route
from jido.action.spec import ActionContext
from jido.runtime.runtime import Runtime, open_runtime
from jido.runtime.server import AgentRef
from jido.signal import Signal

MAILBOX = 1024  # the agent mailbox's default size (jido.runtime.server.DEFAULT_MAILBOX_SIZE)
FAIRNESS_BATCH = 64  # the agent server checkpoints every 64 signals of a burst; the raw drain does the same


@attrs.frozen
class Settings:
    repeats: int
    casts: int
    calls: int
    populations: tuple[int, ...]
    spawn_limit: float
    shutdown_limit: float


FULL = Settings(
    repeats=3,
    casts=50_000,
    calls=10_000,
    populations=(10_000, 100_000),
    spawn_limit=60.0,
    shutdown_limit=30.0,
)
QUICK = Settings(
    repeats=2, casts=10_000, calls=3_000, populations=(2_000, 10_000), spawn_limit=20.0, shutdown_limit=10.0
)


@action
class Bump:
    def run(self, ctx: ActionContext) -> dict[str, Any]:
        return {"count": ctx.state.count + 1}


@agent
@route("bench.bump", Bump)
class Counter:
    count: int = 0


def bump_signals(count: int) -> list[Signal]:
    return [Signal(type="bench.bump", source="/bench") for _ in range(count)]


# -- casts and calls, in this process ----------------------------------------------------------------------


async def jido_casts(ref: AgentRef, signals: list[Signal], final: Signal) -> float:
    base = ref.state.count
    start = time.perf_counter()
    for signal in signals:
        await ref.cast(signal)
    handled = await ref.call(final)
    elapsed = time.perf_counter() - start
    expect(handled.state.count, base + len(signals) + 1)
    return len(signals) / elapsed


async def jido_bursts(ref: AgentRef, signals: list[Signal]) -> float:
    base = ref.state.count
    start = time.perf_counter()
    for first in range(0, len(signals), MAILBOX):
        chunk = signals[first : first + MAILBOX]
        for signal in chunk:
            ref.cast_nowait(signal)
        await ref.wait_state(counted(base + first + len(chunk)))
    elapsed = time.perf_counter() - start
    expect(ref.state.count, base + len(signals))
    return len(signals) / elapsed


def counted(target: int) -> Callable[[Any], bool]:
    return lambda state: bool(state.count >= target)


async def jido_calls(ref: AgentRef, signals: list[Signal]) -> float:
    base = ref.state.count
    start = time.perf_counter()
    for signal in signals:
        await ref.call(signal)
    elapsed = time.perf_counter() - start
    expect(ref.state.count, base + len(signals))
    return len(signals) / elapsed


class Tally:
    """A raw consumer's count, and the one waiter to wake when it reaches a target."""

    def __init__(self) -> None:
        self.count = 0
        self.target = 0
        self.reached = trio.Event()

    def add(self, n: int) -> None:
        self.count += n
        if self.count >= self.target:
            self.reached.set()

    async def wait_for(self, target: int) -> None:
        if self.count < target:
            self.target = target
            self.reached = trio.Event()
            await self.reached.wait()


async def raw_spsc(items: list[Signal], buffer: int) -> float:
    send, receive = trio.open_memory_channel[Signal](buffer)
    tally = Tally()

    async def consumer() -> None:
        async for _ in receive:
            tally.add(1)

    async with trio.open_nursery() as nursery:
        nursery.start_soon(consumer)
        start = time.perf_counter()
        for item in items:
            await send.send(item)
        await tally.wait_for(len(items))
        elapsed = time.perf_counter() - start
        await send.aclose()
    return len(items) / elapsed


async def raw_bursts(items: list[Signal]) -> float:
    send, receive = trio.open_memory_channel[Signal](MAILBOX)
    tally = Tally()

    async def consumer() -> None:
        while True:
            try:
                await receive.receive()
            except trio.EndOfChannel:
                return
            handled = 1
            while True:
                if handled % FAIRNESS_BATCH == 0:
                    await trio.lowlevel.checkpoint()
                try:
                    receive.receive_nowait()
                except trio.WouldBlock:
                    break
                except trio.EndOfChannel:
                    tally.add(handled)
                    return
                handled += 1
            tally.add(handled)

    async with trio.open_nursery() as nursery:
        nursery.start_soon(consumer)
        start = time.perf_counter()
        for first in range(0, len(items), MAILBOX):
            chunk = items[first : first + MAILBOX]
            for item in chunk:
                send.send_nowait(item)
            await tally.wait_for(first + len(chunk))
        elapsed = time.perf_counter() - start
        await send.aclose()
    return len(items) / elapsed


async def raw_calls(items: list[Signal]) -> float:
    send, receive = trio.open_memory_channel[tuple[Signal, trio.Event]](MAILBOX)

    async def server() -> None:
        async for _, done in receive:
            done.set()

    async with trio.open_nursery() as nursery:
        nursery.start_soon(server)
        start = time.perf_counter()
        for item in items:
            done = trio.Event()
            await send.send((item, done))
            await done.wait()
        elapsed = time.perf_counter() - start
        await send.aclose()
    return len(items) / elapsed


def expect(actual: int, wanted: int) -> None:
    if actual != wanted:
        raise RuntimeError(f"the agent counted {actual}, expected {wanted}")


@attrs.frozen
class Throughput:
    casts: float
    spsc_64: float
    spsc_1024: float
    bursts: float
    raw_bursts: float
    calls: float
    raw_calls: float


async def measure_throughput(settings: Settings) -> Throughput:
    signals = bump_signals(settings.casts)
    call_signals = signals[: settings.calls]
    final = Signal(type="bench.bump", source="/bench")
    names = [field.name for field in attrs.fields(Throughput)]
    best = dict.fromkeys(names, 0.0)
    async with open_runtime() as rt:
        ref = await rt.start_agent(Counter, id="counter")
        cases: dict[str, Callable[[], Awaitable[float]]] = {
            "casts": lambda: jido_casts(ref, signals, final),
            "spsc_64": lambda: raw_spsc(signals, 64),
            "spsc_1024": lambda: raw_spsc(signals, MAILBOX),
            "bursts": lambda: jido_bursts(ref, signals),
            "raw_bursts": lambda: raw_bursts(signals),
            "calls": lambda: jido_calls(ref, call_signals),
            "raw_calls": lambda: raw_calls(call_signals),
        }
        for _ in range(settings.repeats):
            for name in names:
                best[name] = max(best[name], await cases[name]())
    return Throughput(**best)


# -- a population of idle agents, in a child process ---------------------------------------------------------


@attrs.frozen
class Population:
    """What a child process measured about ``started`` idle agents (or raw tasks) alive at once."""

    kind: str
    wanted: int
    started: int
    spawn_seconds: float
    rss_bytes: int
    tracked_objects: int
    gc_seconds: float
    shutdown_seconds: float | None  # None: not done within the limit
    left_running: int  # when shutdown did not finish: how many were still alive at the limit
    gc_frozen_seconds: float = 0.0  # the same full collection after gc.freeze() (everything alive is frozen)


def rss() -> int:
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def gc_pause() -> float:
    pauses = []
    for _ in range(2):
        start = time.perf_counter()
        gc.collect()
        pauses.append(time.perf_counter() - start)
    return min(pauses)


class Census:
    """Figures taken before and after spawning, shared by the jido and the raw population."""

    def __init__(self) -> None:
        gc.collect()
        self.rss = rss()
        self.objects = len(gc.get_objects())
        self.start = time.perf_counter()

    def population(self, kind: str, wanted: int, started: int) -> Population:
        spawn_seconds = time.perf_counter() - self.start
        grown = rss() - self.rss
        tracked = len(gc.get_objects()) - self.objects
        pause = gc_pause()
        # What gc.freeze() after a bulk start-up buys: the objects alive now move to the permanent
        # generation, which full collections skip; unfreeze so that shutdown is measured as usual.
        gc.freeze()
        frozen = gc_pause()
        gc.unfreeze()
        return Population(kind, wanted, started, spawn_seconds, grown, tracked, pause, None, 0, frozen)


async def jido_population(n: int, spawn_limit: float, shutdown_limit: float) -> Population:
    leaving = trio.Event()
    runtimes: list[Runtime] = []
    measured: list[Population] = []

    async def watchdog() -> None:
        await leaving.wait()
        await trio.sleep(shutdown_limit)
        # Shutdown is shielded inside open_runtime and cannot be cut short: report how far it got, and end
        # this child process, which exists for this measurement alone.
        report(attrs.evolve(measured[0], left_running=len(runtimes[0].agents())))
        os._exit(0)

    async with trio.open_nursery() as outer:
        outer.start_soon(watchdog)
        async with open_runtime() as rt:
            runtimes.append(rt)
            census = Census()
            started = 0
            for i in range(n):
                await rt.start_agent(Counter, id=f"a{i}")
                started += 1
                if started % 1000 == 0 and time.perf_counter() - census.start > spawn_limit:
                    break
            measured.append(census.population("jido", n, started))
            leaving.set()
            start = time.perf_counter()
        shutdown = time.perf_counter() - start
        outer.cancel_scope.cancel()
    return attrs.evolve(measured[0], shutdown_seconds=shutdown)


async def idle(*, task_status: trio.TaskStatus[trio.MemorySendChannel[Signal]]) -> None:
    send, receive = trio.open_memory_channel[Signal](MAILBOX)
    task_status.started(send)
    async with receive:
        async for _ in receive:
            pass


async def raw_population(n: int, spawn_limit: float) -> Population:
    async with trio.open_nursery() as nursery:
        census = Census()
        channels: dict[str, trio.MemorySendChannel[Signal]] = {}
        for i in range(n):
            channels[f"a{i}"] = await nursery.start(idle)
            if len(channels) % 1000 == 0 and time.perf_counter() - census.start > spawn_limit:
                break
        measured = census.population("raw", n, len(channels))
        start = time.perf_counter()
        nursery.cancel_scope.cancel()
    return attrs.evolve(measured, shutdown_seconds=time.perf_counter() - start)


def report(population: Population) -> None:
    print(json.dumps(attrs.asdict(population)), flush=True)


def child(kind: str, n: int, spawn_limit: float, shutdown_limit: float) -> None:
    if kind == "jido":
        report(trio.run(jido_population, n, spawn_limit, shutdown_limit))
    else:
        report(trio.run(raw_population, n, spawn_limit))


def spawn_child(kind: str, n: int, settings: Settings) -> Population:
    command = [sys.executable, __file__, "--population", kind, str(n)]
    command += ["--spawn-limit", str(settings.spawn_limit), "--shutdown-limit", str(settings.shutdown_limit)]
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    if done.returncode != 0 or not done.stdout.strip():
        raise RuntimeError(f"population child {kind} {n} failed ({done.returncode}):\n{done.stderr}")
    return Population(**json.loads(done.stdout.strip().splitlines()[-1]))


# -- the table -------------------------------------------------------------------------------------------------


def row(what: str, ours: str, raw: str, ratio: str) -> None:
    print(f"{what:<46}{ours:>14}{raw:>14}{ratio:>10}".rstrip())


def rate_row(what: str, ours: float, raw: float) -> None:
    row(what, f"{ours:,.0f}", f"{raw:,.0f}", f"{ours / raw:.2f}")


def population_rows(ours: Population, raw: Population, shutdown_limit: float) -> None:
    n = f"{ours.wanted // 1000}k"
    partial = ours.started < ours.wanted or raw.started < raw.wanted
    got = f" (got {ours.started:,} / {raw.started:,})" if partial else ""
    rate_row(f"spawn {n} agents, /s{got}", ours.started / ours.spawn_seconds, raw.started / raw.spawn_seconds)
    ours_kb, raw_kb = ours.rss_bytes / ours.started / 1024, raw.rss_bytes / raw.started / 1024
    row(f"  RSS per idle agent at {n}, KiB", f"{ours_kb:.1f}", f"{raw_kb:.1f}", f"{ours_kb / raw_kb:.2f}")
    ours_objects, raw_objects = ours.tracked_objects / ours.started, raw.tracked_objects / raw.started
    row(f"  gc-tracked objects per agent at {n}", f"{ours_objects:.0f}", f"{raw_objects:.0f}", "")
    ours_gc, raw_gc = ours.gc_seconds * 1000, raw.gc_seconds * 1000
    row(f"  full gc.collect() at {n}, ms", f"{ours_gc:,.0f}", f"{raw_gc:,.0f}", f"{ours_gc / raw_gc:.1f}")
    frozen = ours.gc_frozen_seconds * 1000
    row("  same after gc.freeze(), ms", f"{frozen:,.1f}", f"{raw.gc_frozen_seconds * 1000:,.1f}", "")
    assert raw.shutdown_seconds is not None
    if ours.shutdown_seconds is None:
        stopped = ours.started - ours.left_running
        what = f"  shutdown at {n}, s ({stopped:,} stopped by then)"
        row(what, f"> {shutdown_limit:g}", f"{raw.shutdown_seconds:.2f}", "")
    else:
        ratio = ours.shutdown_seconds / raw.shutdown_seconds
        row(
            f"  shutdown at {n}, s",
            f"{ours.shutdown_seconds:.2f}",
            f"{raw.shutdown_seconds:.2f}",
            f"{ratio:.1f}",
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0] if __doc__ else None)
    parser.add_argument("--quick", action="store_true", help="smaller counts, about 20 s")
    parser.add_argument("--profile", action="store_true", help="cProfile casts and calls, then stop")
    parser.add_argument("--population", nargs=2, metavar=("KIND", "N"), help=argparse.SUPPRESS)
    parser.add_argument("--spawn-limit", type=float, default=FULL.spawn_limit, help=argparse.SUPPRESS)
    parser.add_argument("--shutdown-limit", type=float, default=FULL.shutdown_limit, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.population:
        kind, n = args.population
        child(kind, int(n), args.spawn_limit, args.shutdown_limit)
        return
    settings = QUICK if args.quick else FULL
    if args.profile:
        profile(settings)
        return
    began = time.perf_counter()
    speed = trio.run(measure_throughput, settings)
    populations = [
        (spawn_child("jido", n, settings), spawn_child("raw", n, settings)) for n in settings.populations
    ]

    print(f"jido runtime vs raw trio, same run; rates are the best of {settings.repeats} rounds")
    print(f"signals built before the timed loops; trivial sync action (count + 1); mailbox {MAILBOX}")
    print("ratio = jido / raw: for rates below 1 is slower, for sizes and times above 1 is costlier")
    row("what", "jido", "raw trio", "ratio")
    row("-" * 46, "-" * 12, "-" * 12, "-" * 8)
    rate_row(f"casts/s, await cast x {settings.casts:,} (raw buffer 64)", speed.casts, speed.spsc_64)
    rate_row("  same, raw buffer 1,024 (= mailbox)", speed.casts, speed.spsc_1024)
    rate_row(f"cast_nowait bursts of {MAILBOX:,}, signals/s", speed.bursts, speed.raw_bursts)
    rate_row(f"calls/s, sequential x {settings.calls:,} (raw: req/reply)", speed.calls, speed.raw_calls)
    for ours, raw in populations:
        population_rows(ours, raw, settings.shutdown_limit)
    print(
        f"per cast {1e6 / speed.casts:.1f} us (raw {1e6 / speed.spsc_64:.1f}), per call {1e6 / speed.calls:.1f} us"
    )
    print(f"total {time.perf_counter() - began:.0f} s")


def profile(settings: Settings) -> None:
    async def run() -> None:
        signals = bump_signals(settings.casts)
        async with open_runtime() as rt:
            ref = await rt.start_agent(Counter, id="counter")
            works: list[tuple[str, Callable[[], Awaitable[float]]]] = [
                ("casts", lambda: jido_casts(ref, signals, signals[0])),
                ("calls", lambda: jido_calls(ref, signals[: settings.calls])),
            ]
            for what, work in works:
                profiler = cProfile.Profile()
                profiler.enable()
                await work()
                profiler.disable()
                print(f"--- {what}: top functions by cumulative time (profiler overhead included)")
                pstats.Stats(profiler).sort_stats("cumulative").print_stats(30)

    trio.run(run)


if __name__ == "__main__":
    main()
