"""What telemetry costs: casts through one agent with nothing attached, with a handler, with a debug ring,
and with OpenTelemetry on; and what one ``emit()`` costs, against a bare function call, in the same run.

Run: ``python bench/telemetry.py`` (about 15 s) or ``python bench/telemetry.py --quick`` (about 5 s).

- casts/s: one producer awaits ``ref.cast(signal)`` for CASTS signals, then one ``ref.call`` makes sure the
  agent has handled them all (its count is checked), as in ``bench/runtime.py``. The action is trivial
  (``count + 1``). Per signal the runtime emits 5 events when observed (signal received, routed, handled;
  action start, stop). Cases, interleaved within each round, best of REPEATS rounds:

  * none: no handler attached (the shipped default);
  * one handler: a handler attached to every event (``"**"``) that counts them;
  * debug ring: ``ref.debug(True)`` on the agent (which attaches one handler to every event);
  * OpenTelemetry: ``jido.telemetry.otel.install()`` with the SDK's ``TracerProvider`` and a
    ``SimpleSpanProcessor`` exporting to an exporter that drops the spans (so the cost is making and ending
    two spans per signal, not shipping them). Skipped when the SDK is not installed.

- emit(): nanoseconds per call, best of REPEATS loops of EMITS calls: a bare call of an empty function with
  no arguments, the same with emit's arguments (a name and four keyword fields), ``emit()`` with no handler
  for that name, the runtime's hot-path guard alone (``name in _BY_NAME``), and ``emit()`` to one handler.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

import attrs
import trio

from dsl import action, agent, route
from jido.action.spec import ActionContext
from jido.runtime.runtime import open_runtime
from jido.runtime.server import AgentRef
from jido.signal import Signal
from jido.telemetry import Event, attach, emit
from jido.telemetry.handlers import _BY_NAME

try:
    from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor, SpanExporter, SpanExportResult

    from jido.telemetry import otel
except ImportError:  # the otel extra is optional: its row is skipped
    otel = None  # type: ignore[assignment]


@attrs.frozen
class Settings:
    repeats: int
    casts: int
    emits: int


FULL = Settings(repeats=3, casts=10_000, emits=500_000)
QUICK = Settings(repeats=2, casts=3_000, emits=200_000)


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


async def casts(ref: AgentRef, signals: list[Signal]) -> float:
    base = ref.state.count
    start = time.perf_counter()
    for signal in signals:
        await ref.cast(signal)
    handled = await ref.call(Signal(type="bench.bump", source="/bench"))
    elapsed = time.perf_counter() - start
    if handled.state.count != base + len(signals) + 1:
        raise RuntimeError(f"the agent counted {handled.state.count - base}, expected {len(signals) + 1}")
    return len(signals) / elapsed


class Tally:
    def __init__(self) -> None:
        self.events = 0

    def __call__(self, event: Event) -> None:
        self.events += 1


if otel is not None:

    class Drop(SpanExporter):
        """Accepts spans and keeps none."""

        def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
            return SpanExportResult.SUCCESS


def with_handler(run: Callable[[], Awaitable[float]]) -> Callable[[], Awaitable[float]]:
    async def measured() -> float:
        tally = Tally()
        with attach("**", tally):
            rate = await run()
        if tally.events == 0:
            raise RuntimeError("the handler saw no event")
        return rate

    return measured


def with_ring(ref: AgentRef, run: Callable[[], Awaitable[float]]) -> Callable[[], Awaitable[float]]:
    async def measured() -> float:
        ref.debug(True)
        try:
            return await run()
        finally:
            ref.debug(False)

    return measured


def with_otel(run: Callable[[], Awaitable[float]]) -> Callable[[], Awaitable[float]]:
    async def measured() -> float:
        provider = TracerProvider()
        provider.add_span_processor(SimpleSpanProcessor(Drop()))
        with otel.install(tracer_provider=provider):
            return await run()

    return measured


async def measure_casts(settings: Settings) -> dict[str, float]:
    signals = bump_signals(settings.casts)
    async with open_runtime() as rt:
        ref = await rt.start_agent(Counter, id="counter")

        def plain() -> Awaitable[float]:
            return casts(ref, signals)

        cases: dict[str, Callable[[], Awaitable[float]]] = {
            "none": plain,
            "handler": with_handler(plain),
            "ring": with_ring(ref, plain),
        }
        if otel is not None:
            cases["otel"] = with_otel(plain)
        best = dict.fromkeys(cases, 0.0)
        await plain()  # warm up
        for _ in range(settings.repeats):
            for name, case in cases.items():
                best[name] = max(best[name], await case())
    return best


# -- emit() against a bare call ------------------------------------------------------------------------------

NAME = "jido.bus.published"


def noop() -> None:
    return None


def noop_like_emit(name: str, /, **fields: Any) -> None:
    return None


def loop_bare(n: int) -> float:
    start = time.perf_counter()
    for _ in range(n):
        noop()
    return time.perf_counter() - start


def loop_bare_args(n: int) -> float:
    start = time.perf_counter()
    for i in range(n):
        noop_like_emit(NAME, offset=i, signal_id="s", signal_type="a.b", subscriptions=0)
    return time.perf_counter() - start


def loop_emit(n: int) -> float:
    start = time.perf_counter()
    for i in range(n):
        emit(NAME, offset=i, signal_id="s", signal_type="a.b", subscriptions=0)
    return time.perf_counter() - start


def loop_guard(n: int) -> float:
    start = time.perf_counter()
    for i in range(n):
        if NAME in _BY_NAME:
            emit(NAME, offset=i, signal_id="s", signal_type="a.b", subscriptions=0)
    return time.perf_counter() - start


def loop_empty(n: int) -> float:
    start = time.perf_counter()
    for _ in range(n):
        pass
    return time.perf_counter() - start


def measure_emit(settings: Settings) -> dict[str, float]:
    """Nanoseconds per call of each case, the empty loop's own cost taken off."""
    n = settings.emits
    cases: dict[str, Callable[[int], float]] = {
        "empty": loop_empty,
        "bare": loop_bare,
        "bare_args": loop_bare_args,
        "emit": loop_emit,
        "guard": loop_guard,
    }
    best = dict.fromkeys([*cases, "emit_one"], float("inf"))
    for _ in range(settings.repeats):
        for name, case in cases.items():
            best[name] = min(best[name], case(n))
        with attach(NAME, Tally()):
            best["emit_one"] = min(best["emit_one"], loop_emit(n // 10) * 10)
    empty = best.pop("empty")
    return {name: max(0.0, seconds - empty) / n * 1e9 for name, seconds in best.items()}


def row(what: str, value: str, ratio: str) -> None:
    print(f"{what:<58}{value:>14}{ratio:>10}".rstrip())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0] if __doc__ else None)
    parser.add_argument("--quick", action="store_true", help="smaller counts, about 5 s")
    settings = QUICK if parser.parse_args().quick else FULL
    began = time.perf_counter()
    rates = trio.run(measure_casts, settings)
    costs = measure_emit(settings)

    print(f"telemetry overhead, same run; rates are the best of {settings.repeats} rounds")
    row("what", "value", "ratio")
    row("-" * 58, "-" * 12, "-" * 8)
    base = rates["none"]
    labels = {
        "none": "casts/s, no handler attached (baseline)",
        "handler": "casts/s, one handler on every event ('**')",
        "ring": "casts/s, debug ring on for the agent",
        "otel": "casts/s, OpenTelemetry on (SDK, spans dropped)",
    }
    for name, label in labels.items():
        if name in rates:
            row(label, f"{rates[name]:,.0f}", f"{rates[name] / base:.2f}")
    if "otel" not in rates:
        row(labels["otel"], "skipped", "")
    bare = costs["bare"]
    row("bare call of an empty function, ns (baseline)", f"{bare:.0f}", "1.0")
    row(
        "  same, with emit's arguments (name + 4 fields), ns",
        f"{costs['bare_args']:.0f}",
        f"{costs['bare_args'] / bare:.1f}",
    )
    row("emit(), no handler for the name, ns", f"{costs['emit']:.0f}", f"{costs['emit'] / bare:.1f}")
    row(
        "hot-path guard alone (name in _BY_NAME), ns", f"{costs['guard']:.0f}", f"{costs['guard'] / bare:.1f}"
    )
    row("emit() to one handler, ns", f"{costs['emit_one']:.0f}", f"{costs['emit_one'] / bare:.1f}")
    print(
        f"per cast: {1e6 / base:.1f} us bare, +{1e6 / rates['handler'] - 1e6 / base:.1f} us with one handler"
    )
    print(f"total {time.perf_counter() - began:.0f} s")


if __name__ == "__main__":
    main()
