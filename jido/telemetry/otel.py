"""The OpenTelemetry bridge: a span per handled signal and per action, traces that continue across agents.

Needs the ``otel`` extra (``pip install 'jido[otel]'``: ``opentelemetry-api``; add ``opentelemetry-sdk`` or
a distro to export). Nothing else in jido imports OpenTelemetry; importing this module without it installed
raises ``ImportError`` saying so.

::

    from jido.telemetry import otel

    bridge = otel.install()                 # the global tracer provider, or tracer_provider=...
    ...
    bridge.uninstall()

What it does, through the ordinary telemetry machinery (:func:`jido.telemetry.attach`) plus the trace
propagator hook (:mod:`jido.telemetry.propagation`):

* **A span per handled signal** (``handle <signal type>``, kind CONSUMER) from ``jido.signal.received`` to
  ``jido.signal.handled``. Its parent is the trace context the signal carries in its ``traceparent`` and
  ``tracestate`` extensions, never the agent task's own context (which may hold whatever span was current
  when the agent was started); a signal without one starts a new trace. It is the current span while the
  agent's actions and directives run.
* **A span per action** (``action <name>``, kind INTERNAL) from ``jido.action.start`` to
  ``jido.action.stop``/``exception``, a child of whatever span is current (the signal's, or the calling
  action's). Retries are span events.
* **Propagation.** Signals sent from inside a span carry that span's context: ``call``/``cast`` and
  ``Bus.publish`` stamp signals that have none, and ``Emit``/``Schedule`` stamp the handling span over the
  context ``Signal.caused_by`` copied from the parent signal. So a trace started before a ``call`` continues
  through every signal the handling emits, over the bus (the context is stored in the journal with the
  signal), into the agents that handle them, and out through the gateway (whose frames are the signal's JSON).
* **Failures.** An ``error``/``crashed``/``timeout``/``invalid``/``deadline`` outcome sets the status to ERROR
  and records the exception. An exception group (a failing nursery) is recorded leaf by leaf, since the group
  alone says nothing; so is a group that is the ``__cause__`` of an ``ActionError``. Cancellation is not an
  error: the span ends with status UNSET and ``jido.outcome = "cancelled"``, and ``trio.Cancelled`` leaves of
  a group are not recorded.

Spans are kept in a stack in a context variable of the task that handles the signal (each trio task has its
own), opened and closed by the paired events, which always nest.
"""

from __future__ import annotations

import contextvars
from collections.abc import Iterator
from typing import Any

import trio

try:
    from opentelemetry import context as otel_context
    from opentelemetry import trace
    from opentelemetry.trace import Span, SpanKind, Status, StatusCode, TracerProvider
    from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator
except ImportError as exc:  # pragma: no cover - exercised only without the extra
    raise ImportError(
        "jido.telemetry.otel needs OpenTelemetry: pip install 'jido[otel]' (opentelemetry-api)"
    ) from exc

from jido._version import __version__
from jido.signal import Signal
from jido.telemetry import propagation
from jido.telemetry.events import (
    ACTION_EXCEPTION,
    ACTION_RETRY,
    ACTION_START,
    ACTION_STOP,
    BUS_PUBLISHED,
    DIRECTIVE_EXECUTED,
    SIGNAL_HANDLED,
    SIGNAL_RECEIVED,
    SIGNAL_ROUTED,
    SIGNAL_UNROUTABLE,
)
from jido.telemetry.handlers import Attachment, Event, attach

__all__ = ["OTelBridge", "install"]

_W3C = TraceContextTextMapPropagator()
_ERROR_OUTCOMES = frozenset({"error", "crashed", "timeout", "invalid", "deadline"})


class _Open:
    """A span this bridge opened in the current task, and how to close it."""

    __slots__ = ("key", "kind", "span", "token")

    def __init__(
        self, kind: str, key: str, span: Span, token: contextvars.Token[otel_context.Context]
    ) -> None:
        self.kind = kind
        self.key = key
        self.span = span
        self.token = token


_STACK: contextvars.ContextVar[tuple[_Open, ...]] = contextvars.ContextVar("jido.otel.spans", default=())
_installed: OTelBridge | None = None


class _SignalPropagator:
    """Stamps signals with the current span's W3C trace context (see :mod:`jido.telemetry.propagation`)."""

    def inject(self, signal: Signal, *, replace: bool) -> Signal:
        if not replace and signal.traceparent is not None:
            return signal
        if not trace.get_current_span().get_span_context().is_valid:
            return signal
        carrier: dict[str, str] = {}
        _W3C.inject(carrier)
        traceparent = carrier.get("traceparent")
        tracestate = carrier.get("tracestate")
        if traceparent is None or (traceparent, tracestate) == (signal.traceparent, signal.tracestate):
            return signal
        return signal.with_extensions(traceparent=traceparent, tracestate=tracestate)


def parent_context(signal: Signal) -> otel_context.Context:
    """The OpenTelemetry context a signal carries (an empty one, hence a new trace, when it carries none)."""
    if signal.traceparent is None:
        return otel_context.Context()
    carrier = {"traceparent": signal.traceparent}
    if signal.tracestate:
        carrier["tracestate"] = signal.tracestate
    return _W3C.extract(carrier, context=otel_context.Context())


class OTelBridge:
    """The installed bridge. Obtain it from :func:`install`; :meth:`uninstall` (or leave its ``with``) to stop."""

    def __init__(self, tracer_provider: TracerProvider | None) -> None:
        self.tracer = trace.get_tracer("jido", __version__, tracer_provider=tracer_provider)
        self._attachments: list[Attachment] = []
        self._previous_propagator: propagation.Propagator | None = None

    def __repr__(self) -> str:
        return f"<OTelBridge {'installed' if self._attachments else 'uninstalled'}>"

    def _install(self) -> None:
        handlers = {
            SIGNAL_RECEIVED: self._signal_received,
            SIGNAL_ROUTED: self._signal_routed,
            SIGNAL_UNROUTABLE: self._signal_unroutable,
            SIGNAL_HANDLED: self._signal_handled,
            ACTION_START: self._action_start,
            ACTION_STOP: self._action_end,
            ACTION_EXCEPTION: self._action_end,
            ACTION_RETRY: self._action_retry,
            DIRECTIVE_EXECUTED: self._directive_executed,
            BUS_PUBLISHED: self._bus_published,
        }
        self._attachments = [attach(name, handler) for name, handler in handlers.items()]
        self._previous_propagator = propagation.set_propagator(_SignalPropagator())

    def uninstall(self) -> None:
        """Detach the handlers and remove the propagator (restoring the one it replaced).

        Uninstall once the runtime is idle or closed: a span open in some task at that moment (a signal being
        handled) is never ended, since the event that would end it no longer reaches the bridge.
        """
        global _installed
        for attachment in self._attachments:
            attachment.detach()
        self._attachments = []
        propagation.set_propagator(self._previous_propagator)
        if _installed is self:
            _installed = None

    def __enter__(self) -> OTelBridge:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.uninstall()

    # -- signals ---------------------------------------------------------------------------------------------
    def _signal_received(self, event: Event) -> None:
        fields = event.fields
        signal: Signal = fields["signal"]
        span = self.tracer.start_span(
            f"handle {signal.type}",
            context=parent_context(signal),
            kind=SpanKind.CONSUMER,
            attributes={
                "messaging.system": "jido",
                "messaging.operation.type": "process",
                "messaging.message.id": signal.id,
                "jido.agent.id": fields["agent_id"],
                "jido.signal.id": signal.id,
                "jido.signal.type": signal.type,
                "jido.signal.source": signal.source,
                "jido.correlation_id": fields["correlation_id"],
                "jido.signal.call": fields["call"],
                "jido.mailbox.depth": fields["mailbox_depth"],
            },
        )
        _push("signal", signal.id, span)

    def _signal_routed(self, event: Event) -> None:
        span = _top("signal", event.fields["signal_id"])
        if span is not None:
            span.set_attribute("jido.actions", list(event.fields["actions"]))

    def _signal_unroutable(self, event: Event) -> None:
        span = _top("signal", event.fields["signal_id"])
        if span is not None:
            error = event.fields["error"]
            span.add_event(
                "jido.signal.unroutable",
                {"jido.ignored": event.fields["ignored"], "exception.message": str(error)},
            )

    def _signal_handled(self, event: Event) -> None:
        fields = event.fields
        _close("signal", fields["signal_id"], fields["outcome"], fields["error"])

    # -- actions ---------------------------------------------------------------------------------------------
    def _action_start(self, event: Event) -> None:
        fields = event.fields
        attributes: dict[str, Any] = {"jido.action.name": fields["action"]}
        for key, name in (("agent_id", "jido.agent.id"), ("signal_id", "jido.signal.id")):
            if fields[key] is not None:
                attributes[name] = fields[key]
        span = self.tracer.start_span(
            f"action {fields['action']}", kind=SpanKind.INTERNAL, attributes=attributes
        )
        _push("action", fields["action"], span)

    def _action_end(self, event: Event) -> None:
        fields = event.fields
        span = _top("action", fields["action"])
        if span is not None:
            span.set_attribute("jido.action.attempts", fields["attempts"])
        _close("action", fields["action"], fields["outcome"], fields.get("error"))

    def _action_retry(self, event: Event) -> None:
        fields = event.fields
        span = _top("action", fields["action"])
        if span is not None:
            error = fields["error"]
            span.add_event(
                "jido.action.retry",
                {
                    "jido.action.attempt": fields["attempt"],
                    "jido.action.delay": fields["delay"],
                    "exception.type": type(error).__name__,
                    "exception.message": str(error),
                },
            )

    # -- inside a handling -------------------------------------------------------------------------------------
    def _directive_executed(self, event: Event) -> None:
        fields = event.fields
        span = _top("signal", fields["signal_id"])
        if span is not None:
            attributes: dict[str, Any] = {
                "jido.directive": fields["directive"],
                "jido.outcome": fields["outcome"],
            }
            if fields["error"] is not None:
                attributes["exception.type"] = type(fields["error"]).__name__
                attributes["exception.message"] = str(fields["error"])
            span.add_event("jido.directive.executed", attributes)

    def _bus_published(self, event: Event) -> None:
        stack = _STACK.get()
        if stack:  # only inside a span this bridge opened: other tasks' current span may be unrelated
            fields = event.fields
            stack[-1].span.add_event(
                "jido.bus.published",
                {"jido.bus.offset": fields["offset"], "jido.signal.id": fields["signal_id"]},
            )


def install(*, tracer_provider: TracerProvider | None = None) -> OTelBridge:
    """Bridge jido's telemetry to OpenTelemetry (see the module docs).

    Args:
        tracer_provider: where spans go; the global provider (``trace.set_tracer_provider``) when None.

    Raises:
        RuntimeError: a bridge is already installed (uninstall it first).
    """
    global _installed
    if _installed is not None:
        raise RuntimeError("the OpenTelemetry bridge is already installed; uninstall() it first")
    bridge = OTelBridge(tracer_provider)
    bridge._install()
    _installed = bridge
    return bridge


# -- the span stack of the current task ----------------------------------------------------------------------


def _push(kind: str, key: str, span: Span) -> None:
    token = otel_context.attach(trace.set_span_in_context(span))
    _STACK.set((*_STACK.get(), _Open(kind, key, span, token)))


def _top(kind: str, key: str) -> Span | None:
    stack = _STACK.get()
    if stack and stack[-1].kind == kind and stack[-1].key == key:
        return stack[-1].span
    return None


def _close(kind: str, key: str, outcome: str, error: BaseException | None) -> None:
    stack = _STACK.get()
    for index in range(len(stack) - 1, -1, -1):
        if stack[index].kind == kind and stack[index].key == key:
            break
    else:
        return  # opened before the bridge was installed (or by a handler since detached)
    # Spans above it were left open by a pairing this bridge missed: end them first, innermost first, so
    # each context token is detached in the reverse order of attaching.
    for orphan in reversed(stack[index + 1 :]):
        otel_context.detach(orphan.token)
        orphan.span.end()
    entry = stack[index]
    _STACK.set(stack[:index])
    otel_context.detach(entry.token)
    _finish(entry.span, outcome, error)


def _finish(span: Span, outcome: str, error: BaseException | None) -> None:
    span.set_attribute("jido.outcome", outcome)
    if outcome in _ERROR_OUTCOMES and error is not None and not _only_cancelled(error):
        for each in _to_record(error):
            span.record_exception(each)
        span.set_status(Status(StatusCode.ERROR, f"{type(error).__name__}: {error}"))
    span.end()


def _leaves(error: BaseException) -> Iterator[BaseException]:
    if isinstance(error, BaseExceptionGroup):
        for inner in error.exceptions:
            yield from _leaves(inner)
    else:
        yield error


def _only_cancelled(error: BaseException) -> bool:
    return all(isinstance(leaf, trio.Cancelled) for leaf in _leaves(error))


def _to_record(error: BaseException) -> list[BaseException]:
    """The error, then the leaves of a group it is or wraps (an ActionError's cause), Cancelled left out."""
    found = [error]
    group = error if isinstance(error, BaseExceptionGroup) else error.__cause__
    if isinstance(group, BaseExceptionGroup):
        found.extend(leaf for leaf in _leaves(group) if not isinstance(leaf, trio.Cancelled))
    return found
