"""The OpenTelemetry bridge, against the SDK's in-memory exporter: spans, parents, propagation, failures."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import attrs
import pytest
import trio
import trio.testing
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind, StatusCode, Tracer

from dsl import action, agent, route
from jido.action.spec import ActionContext
from jido.agent.directives import Emit
from jido.bus.bus import open_bus
from jido.errors import ActionError
from jido.runtime.runtime import open_runtime
from jido.signal import Signal
from jido.telemetry import otel, propagation


@action
class Forward:
    to: str | None = None

    def run(self, ctx: ActionContext) -> Emit:
        return Emit(Signal(type="relay.done", source="/relay"), to=self.to)


@action
class Record:
    def run(self, ctx: ActionContext) -> dict[str, Any]:
        return {"count": ctx.state.count + 1}


@action
class Fail:
    def run(self, ctx: ActionContext) -> None:
        raise RuntimeError("poison")


@action
class Group:
    async def run(self, ctx: ActionContext) -> None:
        async def bad(error: Exception) -> None:
            raise error

        async with trio.open_nursery() as nursery:
            nursery.start_soon(bad, ValueError("left"))
            nursery.start_soon(bad, KeyError("right"))


@action
class Sleep:
    async def run(self, ctx: ActionContext) -> None:
        await trio.sleep(100)


@agent
@route("relay.forward", Forward)
@route("relay.fail", Fail)
@route("relay.group", Group)
@route("relay.sleep", Sleep)
class Relay:
    count: int = 0


@agent(subscribe=["relay.done"])
@route("relay.done", Record)
class Sink:
    count: int = 0


@attrs.frozen
class Tracing:
    exporter: InMemorySpanExporter
    tracer: Tracer

    def spans(self) -> dict[str, ReadableSpan]:
        spans = self.exporter.get_finished_spans()
        by_name = {s.name: s for s in spans}
        assert len(by_name) == len(spans), [s.name for s in spans]
        return by_name


@pytest.fixture
def tracing() -> Iterator[Tracing]:
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    bridge = otel.install(tracer_provider=provider)
    yield Tracing(exporter, provider.get_tracer("test"))
    bridge.uninstall()


def parent_id(span: ReadableSpan) -> int | None:
    return span.parent.span_id if span.parent is not None else None


def span_id(span: ReadableSpan) -> int:
    assert span.context is not None
    return int(span.context.span_id)


def traceparent(span: ReadableSpan) -> str:
    context = span.context
    assert context is not None
    return f"00-{context.trace_id:032x}-{context.span_id:016x}-{int(context.trace_flags):02x}"


def trace_id(span: ReadableSpan) -> int:
    assert span.context is not None
    return int(span.context.trace_id)


class TestTraceAcrossAgents:
    async def test_trace_continues_through_bus(self, tracing: Tracing) -> None:
        """A trace started before a call continues through a signal emitted over the bus to a second agent."""
        async with open_runtime() as rt:
            sink = await rt.start_agent(Sink, id="sink")
            relay = await rt.start_agent(Relay, id="relay")
            with tracing.tracer.start_as_current_span("request"):
                await relay.call(Signal(type="relay.forward", source="/test"))
            await sink.wait_state(lambda s: s.count == 1, timeout=5)
        spans = tracing.spans()
        request, handle_a, forward = spans["request"], spans["handle relay.forward"], spans["action forward"]
        handle_b, record = spans["handle relay.done"], spans["action record"]
        assert {trace_id(s) for s in spans.values()} == {trace_id(request)}
        assert parent_id(handle_a) == span_id(request)
        assert parent_id(forward) == span_id(handle_a)
        assert parent_id(handle_b) == span_id(handle_a)
        assert parent_id(record) == span_id(handle_b)
        assert (handle_a.kind, forward.kind) == (SpanKind.CONSUMER, SpanKind.INTERNAL)
        assert handle_b.attributes is not None and handle_b.attributes["jido.agent.id"] == "sink"

    async def test_trace_continues_through_direct_emit(self, tracing: Tracing) -> None:
        """An Emit addressed to an agent (no bus) carries the handling span as the next span's parent."""
        async with open_runtime() as rt:
            sink = await rt.start_agent(Sink, id="sink")
            relay = await rt.start_agent(Relay, id="relay")
            with tracing.tracer.start_as_current_span("request"):
                await relay.call(Signal(type="relay.forward", source="/test", data={"to": "sink"}))
            await sink.wait_state(lambda s: s.count == 1, timeout=5)
        spans = tracing.spans()
        assert parent_id(spans["handle relay.done"]) == span_id(spans["handle relay.forward"])
        assert trace_id(spans["handle relay.done"]) == trace_id(spans["request"])

    async def test_emitted_signal_carries_handling_span(self, tracing: Tracing) -> None:
        """The emitted signal's traceparent names the handling span, not the caller's span it was caused by."""
        async with open_runtime() as rt:
            relay = await rt.start_agent(Relay, id="relay")
            async with rt.listen("relay.done") as received:
                with tracing.tracer.start_as_current_span("request"):
                    await relay.call(Signal(type="relay.forward", source="/test"))
                emitted = await received.receive()
        handle = tracing.spans()["handle relay.forward"]
        assert emitted.traceparent == traceparent(handle)

    async def test_signal_without_context_starts_a_trace(self, tracing: Tracing) -> None:
        """A signal sent outside any span starts a new trace at the agent."""
        async with open_runtime() as rt:
            relay = await rt.start_agent(Relay, id="relay")
            await relay.call(Signal(type="relay.forward", source="/test"))
        assert tracing.spans()["handle relay.forward"].parent is None

    async def test_agent_started_inside_a_span_does_not_inherit_it(self, tracing: Tracing) -> None:
        """The span current when an agent was started is not the parent of the signals it handles later."""
        async with open_runtime() as rt:
            with tracing.tracer.start_as_current_span("startup"):
                relay = await rt.start_agent(Relay, id="relay")
            await relay.call(Signal(type="relay.forward", source="/test"))
        assert tracing.spans()["handle relay.forward"].parent is None

    async def test_existing_trace_context_is_kept_by_call(self, tracing: Tracing) -> None:
        """A signal that already carries a traceparent keeps it when called from inside another span."""
        remote = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"
        async with open_runtime() as rt:
            relay = await rt.start_agent(Relay, id="relay")
            with tracing.tracer.start_as_current_span("local"):
                signal = Signal(type="relay.forward", source="/test", extensions={"traceparent": remote})
                await relay.call(signal)
        handle = tracing.spans()["handle relay.forward"]
        assert (trace_id(handle), parent_id(handle)) == (
            0x0AF7651916CD43DD8448EB211C80319C,
            0xB7AD6B7169203331,
        )

    async def test_publish_inside_a_span_is_stamped(self, tracing: Tracing) -> None:
        """Bus.publish from inside a span stores the span's context with the signal in the journal."""
        async with open_bus() as bus:
            with tracing.tracer.start_as_current_span("producer"):
                [record] = await bus.publish(Signal(type="order.placed", source="/shop"))
        assert record.signal.traceparent == traceparent(tracing.spans()["producer"])


class TestFailures:
    async def test_crash_is_an_error(self, tracing: Tracing) -> None:
        """A crashing signal's span and its action's span have status ERROR and the exception recorded."""
        async with open_runtime() as rt:
            relay = await rt.start_agent(Relay, id="relay")
            with pytest.raises(ActionError):
                await relay.call(Signal(type="relay.fail", source="/test"))
        spans = tracing.spans()
        for name in ("handle relay.fail", "action fail"):
            span = spans[name]
            assert span.status.status_code is StatusCode.ERROR, name
            assert [e.name for e in span.events] == ["exception"], name
            assert span.attributes is not None
            assert span.attributes["jido.outcome"] in ("crashed", "error")

    async def test_exception_group_recorded_leaf_by_leaf(self, tracing: Tracing) -> None:
        """An action failing with an exception group records the error and each leaf of the group."""
        async with open_runtime() as rt:
            relay = await rt.start_agent(Relay, id="relay", error_policy="log")
            with pytest.raises(ActionError):
                await relay.call(Signal(type="relay.group", source="/test"))
        span = tracing.spans()["action group"]
        recorded = sorted(str((e.attributes or {})["exception.type"]).rpartition(".")[2] for e in span.events)
        assert recorded == ["ActionError", "KeyError", "ValueError"]
        assert span.status.status_code is StatusCode.ERROR

    async def test_cancellation_is_not_an_error(
        self, tracing: Tracing, autojump_clock: trio.testing.MockClock
    ) -> None:
        """A handling cancelled by shutdown ends its spans UNSET, outcome 'cancelled', nothing recorded."""
        async with open_runtime() as rt:
            relay = await rt.start_agent(Relay, id="relay")
            await relay.cast(Signal(type="relay.sleep", source="/test"))
            await trio.sleep(1)
        spans = tracing.spans()
        for name in ("handle relay.sleep", "action sleep"):
            span = spans[name]
            assert span.status.status_code is StatusCode.UNSET, name
            assert span.events == () or list(span.events) == [], name
            assert span.attributes is not None and span.attributes["jido.outcome"] == "cancelled"


class TestInstall:
    def test_install_twice_is_refused(self, tracing: Tracing) -> None:
        """A second install while one bridge is installed raises RuntimeError."""
        with pytest.raises(RuntimeError, match=r"^the OpenTelemetry bridge is already installed"):
            otel.install()

    async def test_uninstall_stops_spans_and_stamping(self) -> None:
        """After uninstall no span is made and signals are no longer stamped."""
        exporter = InMemorySpanExporter()
        provider = TracerProvider()
        provider.add_span_processor(SimpleSpanProcessor(exporter))
        with otel.install(tracer_provider=provider):
            assert propagation.current_propagator() is not None
        assert propagation.current_propagator() is None
        async with open_runtime() as rt:
            relay = await rt.start_agent(Relay, id="relay")
            with provider.get_tracer("test").start_as_current_span("request"):
                agent = await relay.call(Signal(type="relay.forward", source="/test"))
        assert agent.state.count == 0
        assert [s.name for s in exporter.get_finished_spans()] == ["request"]
