"""Trace context in signals: where the runtime lets a tracing bridge stamp the signals it sends.

A trace continues across agents, the bus and the gateway because each signal carries its trace context in the
CloudEvents distributed-tracing extensions ``traceparent`` and ``tracestate``. The runtime does not know any
tracing library; it calls the installed :class:`Propagator` (at most one: the OpenTelemetry bridge,
:mod:`jido.telemetry.otel`, installs one) at the points where a signal enters or is sent:

* ``replace=False`` (keep a trace context the signal already has, stamp the current one otherwise):
  ``AgentRef.call``, ``AgentRef.cast``, ``AgentRef.cast_nowait``, ``Bus.publish`` (and so
  ``Runtime.publish``). A signal sent from inside a span joins that span's trace.
* ``replace=True`` (the current span is the cause, whatever the signal says): the ``Emit`` and ``Schedule``
  executors. They run while the agent handles the signal that caused them, with that handling's span current,
  and replace the trace context that ``Signal.caused_by`` copied from the parent signal.

Signals moving inside the runtime (bus deliveries into mailboxes, timers firing, lifecycle notices) are not
stamped: the tasks that move them may have inherited an unrelated span from whoever started them.

With no propagator installed each of those points costs one module-global test.
"""

from __future__ import annotations

import logging
from typing import Protocol

from jido.signal import Signal

__all__ = ["Propagator", "current_propagator", "inject", "set_propagator"]

logger = logging.getLogger("jido.telemetry")


class Propagator(Protocol):
    """Stamps a signal with the current trace context."""

    def inject(self, signal: Signal, *, replace: bool) -> Signal:
        """``signal``, or a copy carrying the current trace context in ``traceparent``/``tracestate``.

        With ``replace=False`` a signal that has a ``traceparent`` is returned as it is. Without a current
        trace context the signal is returned as it is.
        """
        ...


_propagator: Propagator | None = None


def set_propagator(propagator: Propagator | None) -> Propagator | None:
    """Install ``propagator`` (None removes it); returns the one it replaces."""
    global _propagator
    if propagator is not None and not callable(getattr(propagator, "inject", None)):
        raise TypeError(f"set_propagator: {propagator!r} has no inject(signal, *, replace) method")
    previous, _propagator = _propagator, propagator
    return previous


def current_propagator() -> Propagator | None:
    """The installed propagator, or None."""
    return _propagator


def inject(signal: Signal, *, replace: bool = False) -> Signal:
    """``signal`` stamped by the installed propagator (unchanged without one, or if the propagator fails).

    A propagator that raises is logged (logger ``"jido.telemetry"``) and the signal goes out unstamped:
    tracing must never stop a signal.
    """
    propagator = _propagator
    if propagator is None:
        return signal
    try:
        return propagator.inject(signal, replace=replace)
    except Exception:  # observability never breaks delivery
        logger.exception(
            "trace propagator %r failed on signal %s; sent without trace context",
            propagator,
            signal.id,
            extra={"signal_id": signal.id, "signal_type": signal.type},
        )
        return signal
