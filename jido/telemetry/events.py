"""The event catalogue: every telemetry event jido emits, with the fields it carries.

Event names are dot paths ``jido.<family>.<event>``. Every event of one name carries exactly the fields
listed for it (a field that does not apply is ``None``, never missing), so a handler can read
``event.fields["agent_id"]`` without guessing. Durations are seconds of the trio clock (real seconds in
production, virtual ones under ``MockClock``), except under :func:`jido.action.exec.execute_sync`, which has
no trio clock and uses ``time.perf_counter``.

=============================  =============================================================================
family                         events (emitted by)
=============================  =============================================================================
``jido.action``                ``start``, ``stop``, ``exception``, ``retry`` (:mod:`jido.action.exec`)
``jido.signal``                ``received``, ``routed``, ``unroutable``, ``handled`` (the agent server),
                               ``dead_lettered`` (the runtime's dead letters)
``jido.directive``             ``executed`` (the agent server)
``jido.agent``                 ``started``, ``stopped``, ``restarted``, ``crashed`` (supervisors)
``jido.supervisor``            ``escalated`` (a supervisor past its restart intensity)
``jido.bus``                   ``published``, ``delivered``, ``redelivered``, ``dead_lettered``, ``skipped``
``jido.gateway``               ``connected``, ``disconnected``, ``lagging`` (the websocket gateway)
=============================  =============================================================================

``jido.action.start`` is always followed, in the same task, by exactly one ``stop`` or ``exception`` of the
same action; ``jido.signal.received`` by exactly one ``jido.signal.handled``. Pairs nest (an action inside a
handled signal, an action called by an action), which is what lets a handler keep spans in a stack.

Libraries built on jido may add events of their own with :func:`define_event`.
"""

from __future__ import annotations

import types
from collections.abc import Callable, Iterable, Mapping
from typing import Any, Final

import attrs

from jido.signal import Signal
from jido.signal.signal import type_problem

__all__ = [
    "ACTION_EXCEPTION",
    "ACTION_RETRY",
    "ACTION_START",
    "ACTION_STOP",
    "AGENT_ACTIVATED",
    "AGENT_CRASHED",
    "AGENT_FAILED",
    "AGENT_HIBERNATED",
    "AGENT_RESTARTED",
    "AGENT_RESTORED",
    "AGENT_STARTED",
    "AGENT_STOPPED",
    "BUS_DEAD_LETTERED",
    "BUS_DELIVERED",
    "BUS_PUBLISHED",
    "BUS_REDELIVERED",
    "BUS_SKIPPED",
    "CATALOGUE",
    "DIRECTIVE_EXECUTED",
    "GATEWAY_CONNECTED",
    "GATEWAY_DISCONNECTED",
    "GATEWAY_LAGGING",
    "SIGNAL_DEAD_LETTERED",
    "SIGNAL_HANDLED",
    "SIGNAL_RECEIVED",
    "SIGNAL_ROUTED",
    "SIGNAL_UNROUTABLE",
    "SUPERVISOR_ESCALATED",
    "EventSpec",
    "FieldSpec",
    "define_event",
    "event_spec",
    "validate_fields",
]

_NONE = type(None)


@attrs.frozen
class FieldSpec:
    """One documented field of an event.

    Attributes:
        name: the key in ``event.fields``.
        types: the types its value may have (``type(None)`` when it may be None).
        doc: what it means.
    """

    name: str
    types: tuple[type, ...]
    doc: str

    def describe_types(self) -> str:
        return " | ".join("None" if t is _NONE else t.__name__ for t in self.types)


@attrs.frozen
class EventSpec:
    """A catalogued event: its name, what it means, and its fields (all always present).

    Attributes:
        name: ``jido.<family>.<event>``.
        doc: when it is emitted.
        fields: its fields, in documentation order.
    """

    name: str
    doc: str
    fields: tuple[FieldSpec, ...]

    @property
    def field_names(self) -> frozenset[str]:
        return frozenset(f.name for f in self.fields)

    def problems(self, fields: Mapping[str, Any]) -> list[str]:
        """What is wrong with ``fields`` for this event (missing, unexpected or mistyped keys); [] if none."""
        out: list[str] = []
        expected = {f.name: f for f in self.fields}
        missing = [name for name in expected if name not in fields]
        if missing:
            out.append(f"missing {', '.join(missing)}")
        extra = sorted(set(fields) - set(expected))
        if extra:
            out.append(f"unexpected {', '.join(extra)}")
        for name, value in fields.items():
            spec = expected.get(name)
            # bool is an int to isinstance: a field typed int must not silently accept True.
            wrong_bool = isinstance(value, bool) and bool not in spec.types if spec else False
            if spec is not None and (wrong_bool or not isinstance(value, spec.types)):
                out.append(f"{name} should be {spec.describe_types()}, got {type(value).__name__}")
        return out


_REGISTRY: dict[str, EventSpec] = {}
CATALOGUE: Final[Mapping[str, EventSpec]] = types.MappingProxyType(_REGISTRY)
"""Every known event by name (read-only view; :func:`define_event` adds to it)."""


def _field(name: str, types_: type | tuple[type, ...], doc: str) -> FieldSpec:
    return FieldSpec(name, types_ if isinstance(types_, tuple) else (types_,), doc)


def define_event(name: str, doc: str, fields: Iterable[FieldSpec]) -> EventSpec:
    """Add an event to the catalogue, so handlers can attach to it and :func:`emit` reaches them.

    Raises:
        ValueError: ``name`` is not a dot path of at least two segments, is already defined, or two fields
            share a name.
    """
    problem = type_problem(name) if isinstance(name, str) else f"expected str, got {type(name).__name__}"
    if problem is None and "." not in name:
        problem = "expected at least two segments, such as 'myapp.order.placed'"
    if problem is not None:
        raise ValueError(f"event name {name!r}: {problem}")
    if name in _REGISTRY:
        raise ValueError(f"event {name!r} is already defined")
    specs = tuple(fields)
    names = [f.name for f in specs]
    if len(set(names)) != len(names):
        raise ValueError(f"event {name!r}: field names repeat: {names!r}")
    spec = EventSpec(name, doc, specs)
    _REGISTRY[name] = spec
    for listener in _DEFINED_LISTENERS:
        listener()  # the handler table: a new name may match patterns attached before it existed
    return spec


_DEFINED_LISTENERS: list[Callable[[], None]] = []
"""Called after each :func:`define_event`. :mod:`jido.telemetry.handlers` adds itself here, so this module (which
it reads) does not import it back."""


def event_spec(name: str) -> EventSpec:
    """The catalogued event ``name``.

    Raises:
        LookupError: no event has that name.
    """
    spec = _REGISTRY.get(name)
    if spec is None:
        raise LookupError(f"no telemetry event named {name!r}")
    return spec


def validate_fields(name: str, fields: Mapping[str, Any]) -> None:
    """Check that ``fields`` are exactly the documented fields of event ``name``, with documented types.

    Meant for tests of code that emits events (jido's own tests check every event this way).

    Raises:
        LookupError: no event has that name.
        ValueError: a field is missing, unexpected or of the wrong type (all problems in one message).
    """
    problems = event_spec(name).problems(fields)
    if problems:
        raise ValueError(f"event {name!r}: {'; '.join(problems)}")


def _core(name: str, doc: str, *fields: FieldSpec) -> str:
    _REGISTRY[name] = EventSpec(name, doc, fields)
    return name


# -- shared fields -------------------------------------------------------------------------------------------
_OPT_STR = (str, _NONE)
_AGENT_ID = _field("agent_id", str, "the agent's id")
_AGENT_ID_OPT = _field("agent_id", _OPT_STR, "the agent's id (None outside an agent)")
_AGENT_NAME = _field("agent", str, "the agent spec's name")
_SIGNAL_ID = _field("signal_id", str, "the signal's id")
_SIGNAL_TYPE = _field("signal_type", str, "the signal's type")
_SIGNAL_ID_OPT = _field("signal_id", _OPT_STR, "the id of the signal being handled (None outside an agent)")
_SIGNAL_TYPE_OPT = _field("signal_type", _OPT_STR, "the type of the signal being handled, or None")
_CORRELATION = _field(
    "correlation_id", str, "the conversation's id: the signal's correlationid, or its own id if it has none"
)
_DURATION = _field("duration", float, "seconds from the start")
_ERROR = _field("error", BaseException, "the exception")
_ERROR_OPT = _field("error", (BaseException, _NONE), "the exception, or None")
_ACTION = _field("action", str, "the action's name")
_SUPERVISOR = _field("supervisor", str, "the supervisor's name")
_SUBSCRIPTION = _field("subscription", str, "the subscription's name")
_OFFSET = _field("offset", int, "the record's offset in the journal")
_CONNECTION = _field("connection_id", (int, str), "the gateway's id for the connection (unique per gateway)")
_PEER = _field("peer", str, "the remote endpoint (host:port)")

# -- actions (jido.action.exec: execute and execute_sync) -----------------------------------------------------
ACTION_START: Final = _core(
    "jido.action.start",
    "An action is about to run (before its params are validated).",
    _ACTION,
    _AGENT_ID_OPT,
    _SIGNAL_ID_OPT,
    _SIGNAL_TYPE_OPT,
)
ACTION_STOP: Final = _core(
    "jido.action.stop",
    "An action succeeded.",
    _ACTION,
    _AGENT_ID_OPT,
    _SIGNAL_ID_OPT,
    _SIGNAL_TYPE_OPT,
    _field("attempts", int, "attempts made (1 unless it was retried)"),
    _DURATION,
    _field("outcome", str, "'ok'"),
)
ACTION_EXCEPTION: Final = _core(
    "jido.action.exception",
    "An action failed, timed out, was refused, or was cancelled from outside.",
    _ACTION,
    _AGENT_ID_OPT,
    _SIGNAL_ID_OPT,
    _SIGNAL_TYPE_OPT,
    _field("attempts", int, "attempts made (0: it never ran, e.g. invalid params)"),
    _DURATION,
    _field(
        "outcome",
        str,
        "'error' (run raised or returned a bad result), 'timeout', 'invalid' (params or options), "
        "'deadline' (the caller's deadline had passed), 'cancelled' (from outside; not a failure)",
    ),
    _ERROR,
)
ACTION_RETRY: Final = _core(
    "jido.action.retry",
    "An attempt failed with a retryable error; the next one starts after ``delay`` seconds.",
    _ACTION,
    _AGENT_ID_OPT,
    _SIGNAL_ID_OPT,
    _SIGNAL_TYPE_OPT,
    _field("attempt", int, "the attempt that failed (from 1)"),
    _field("delay", float, "seconds before the next attempt"),
    _ERROR,
)

# -- signals in an agent server ------------------------------------------------------------------------------
SIGNAL_RECEIVED: Final = _core(
    "jido.signal.received",
    "An agent took a signal from its mailbox and starts handling it.",
    _AGENT_ID,
    _SIGNAL_ID,
    _SIGNAL_TYPE,
    _CORRELATION,
    _field("signal", Signal, "the signal itself (its traceparent/tracestate carry the trace)"),
    _field("call", bool, "True when a caller waits for the answer (call), False for a cast"),
    _field("mailbox_depth", int, "signals still waiting behind it"),
)
SIGNAL_ROUTED: Final = _core(
    "jido.signal.routed",
    "An agent's routes turned a signal into instructions.",
    _AGENT_ID,
    _SIGNAL_ID,
    _SIGNAL_TYPE,
    _field("actions", tuple, "the names of the actions to run, in order"),
)
SIGNAL_UNROUTABLE: Final = _core(
    "jido.signal.unroutable",
    "No route of the agent matched the signal, or a route's predicate raised.",
    _AGENT_ID,
    _SIGNAL_ID,
    _SIGNAL_TYPE,
    _ERROR,
    _field("ignored", bool, "True for a lifecycle signal (jido.*) the agent did not ask for: not an error"),
)
SIGNAL_HANDLED: Final = _core(
    "jido.signal.handled",
    "An agent finished handling a signal (whatever the outcome).",
    _AGENT_ID,
    _SIGNAL_ID,
    _SIGNAL_TYPE,
    _DURATION,
    _field(
        "outcome",
        str,
        "'ok' (committed, directives carried out), 'ignored' (an unrequested lifecycle signal), 'rejected' (no "
        "route accepted it or its data did not fit the action's params: nothing ran), 'error' "
        "(failed; the agent goes on under its error policy), 'crashed' (failed; the agent crashes), "
        "'cancelled' (the agent was stopped while handling it)",
    ),
    _ERROR_OPT,
)
SIGNAL_DEAD_LETTERED: Final = _core(
    "jido.signal.dead_lettered",
    "The runtime recorded a signal it accepted but could not handle (see Runtime.dead_letters()).",
    _AGENT_ID_OPT,
    _SIGNAL_ID,
    _SIGNAL_TYPE,
    _CORRELATION,
    _field(
        "reason", str, "'crash', 'no_route', 'directive_failed', 'mailbox_full', 'agent_stopped', 'not_found'"
    ),
    _ERROR,
)

# -- directives ----------------------------------------------------------------------------------------------
DIRECTIVE_EXECUTED: Final = _core(
    "jido.directive.executed",
    "The runtime carried out (or failed to carry out) one directive of a handled signal.",
    _AGENT_ID,
    _SIGNAL_ID,
    _field("directive", str, "the directive's class name ('Emit', 'Schedule', 'SpawnAgent', 'Stop', ...)"),
    _DURATION,
    _field("outcome", str, "'ok' or 'error'"),
    _ERROR_OPT,
)

# -- agent lifecycle (supervisors) ---------------------------------------------------------------------------
_PARENT = _field("parent_id", _OPT_STR, "the parent agent's id, for a child spawned by SpawnAgent")
AGENT_STARTED: Final = _core(
    "jido.agent.started",
    "An agent's server is ready for the first time.",
    _AGENT_ID,
    _AGENT_NAME,
    _SUPERVISOR,
    _PARENT,
    _field("tag", _OPT_STR, "the child's tag under its parent, or None"),
)
AGENT_STOPPED: Final = _core(
    "jido.agent.stopped",
    "An agent stopped for good (it will not be restarted).",
    _AGENT_ID,
    _AGENT_NAME,
    _SUPERVISOR,
    _field("reason", str, "why it stopped"),
    _field("failed", bool, "True when it ended by crashing (a crash not restarted)"),
    _field("restarts", int, "how many times it had been restarted"),
)
AGENT_CRASHED: Final = _core(
    "jido.agent.crashed",
    "An agent's server task failed; its supervisor restarts it or gives up (see restarted, escalated).",
    _AGENT_ID,
    _AGENT_NAME,
    _SUPERVISOR,
    _field("reason", str, "the exit, described"),
    _ERROR,
)
AGENT_RESTARTED: Final = _core(
    "jido.agent.restarted",
    "A supervisor started an agent's server again, from its last committed state.",
    _AGENT_ID,
    _AGENT_NAME,
    _SUPERVISOR,
    _field("reason", str, "why: its own exit, or a sibling's restart under one_for_all / rest_for_one"),
    _field("restarts", int, "restarts so far, this one included"),
)
AGENT_FAILED: Final = _core(
    "jido.agent.failed",
    "An agent crashed more often than its restart budget allows: it alone is stopped as failed (its mailbox "
    "dead-lettered) until an operator restarts it; the runtime and the other agents go on.",
    _AGENT_ID,
    _AGENT_NAME,
    _SUPERVISOR,
    _field("reason", str, "its last exit, described"),
    _field("restarts", int, "restarts before it failed"),
    _ERROR,
)
AGENT_RESTORED: Final = _core(
    "jido.agent.restored",
    "An agent started from the state its store kept for its id (it resumes where it left off), not anew.",
    _AGENT_ID,
    _AGENT_NAME,
    _field("revision", int, "the stored revision it resumed from"),
)
AGENT_HIBERNATED: Final = _core(
    "jido.agent.hibernated",
    "An idle agent left memory: its task ended, its state is kept (in the store, or as JSON text); its next "
    "message activates it.",
    _AGENT_ID,
    _AGENT_NAME,
)
AGENT_ACTIVATED: Final = _core(
    "jido.agent.activated",
    "A dormant (or never started) agent was started again by a message to it.",
    _AGENT_ID,
    _AGENT_NAME,
    _field("waiting", int, "messages sent to it while it started, handed to it first"),
)
SUPERVISOR_ESCALATED: Final = _core(
    "jido.supervisor.escalated",
    "A supervisor gave up past its restart intensity: it fails, and its parent decides.",
    _SUPERVISOR,
    _field("child", str, "the child whose exit broke the budget"),
    _field("restarts", int, "restarts counted within the window"),
    _field("max_restarts", int, "the supervisor's max_restarts"),
    _field("within", float, "the window, in seconds"),
    _field("reason", str, "the last exit, described"),
    _ERROR,
)

# -- the bus ---------------------------------------------------------------------------------------------------
BUS_PUBLISHED: Final = _core(
    "jido.bus.published",
    "A signal was appended to the bus's journal.",
    _OFFSET,
    _SIGNAL_ID,
    _SIGNAL_TYPE,
    _field("subscriptions", int, "subscriptions whose pattern matches it"),
)
BUS_DELIVERED: Final = _core(
    "jido.bus.delivered",
    "A subscription delivered a record for the first time.",
    _SUBSCRIPTION,
    _OFFSET,
    _SIGNAL_ID,
    _SIGNAL_TYPE,
    _field("lag", int, "records appended after this one that the subscription has not read yet"),
)
BUS_REDELIVERED: Final = _core(
    "jido.bus.redelivered",
    "A subscription delivered a record again (no ack in time, or the handler failed).",
    _SUBSCRIPTION,
    _OFFSET,
    _SIGNAL_ID,
    _SIGNAL_TYPE,
    _field("attempt", int, "this delivery's attempt (from 2)"),
    _field("error", str, "why the previous attempt failed ('ack timeout' or the handler's error)"),
)
BUS_DEAD_LETTERED: Final = _core(
    "jido.bus.dead_lettered",
    "A subscription gave up on a record; it is kept in the journal's dead letters (Bus.redrive).",
    _SUBSCRIPTION,
    _OFFSET,
    _SIGNAL_ID,
    _SIGNAL_TYPE,
    _field("attempts", int, "deliveries attempted"),
    _field("error", str, "why the last attempt failed"),
)
BUS_SKIPPED: Final = _core(
    "jido.bus.skipped",
    "Retention removed records before a subscription read them (they are lost to it).",
    _SUBSCRIPTION,
    _field("first", int, "first offset skipped"),
    _field("last", int, "last offset skipped"),
)

# -- the websocket gateway -------------------------------------------------------------------------------------
GATEWAY_CONNECTED: Final = _core(
    "jido.gateway.connected",
    "A websocket client connected and may send requests (after its token was accepted, when the gateway "
    "checks tokens).",
    _CONNECTION,
    _PEER,
    _field("authenticated", bool, "True when a token was checked, False for a gateway served without tokens"),
)
GATEWAY_DISCONNECTED: Final = _core(
    "jido.gateway.disconnected",
    "A websocket connection ended (by either side, or for lag).",
    _CONNECTION,
    _PEER,
    _field("code", int, "the websocket close code"),
    _field("reason", str, "the close reason"),
    _DURATION,
)
GATEWAY_LAGGING: Final = _core(
    "jido.gateway.lagging",
    "A connection's send queue stayed full (the client stopped reading): the gateway closes it as a slow "
    "consumer (disconnected follows, with code 4008) and the client resumes from its last offset.",
    _CONNECTION,
    _PEER,
    _field("queued", int, "frames waiting to be sent"),
    _field("limit", int, "the per-connection queue bound (send_queue)"),
    _field("waited", float, "seconds the queue stayed full (slow_consumer_timeout)"),
)
