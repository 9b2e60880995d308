"""Attaching handlers to telemetry events, and emitting events to them.

::

    from jido.telemetry import attach

    def on_crash(event):
        alert(f"agent {event.fields['agent_id']} crashed: {event.fields['reason']}")

    handle = attach("jido.agent.crashed", on_crash)     # one event
    every_bus_event = attach("jido.bus.*", print_event) # a pattern
    ...
    handle.detach()

Patterns follow the signal router's rule: segments are literal, ``*`` matches exactly one segment, ``**``
zero or more. ``"jido.bus.*"`` is every bus event, ``"jido.**"`` (or ``"**"``) every event. A pattern must
match at least one event of the catalogue (:data:`jido.telemetry.events.CATALOGUE`), so a typo fails at
``attach`` instead of never firing.

Handlers are plain functions of one :class:`Event`, called synchronously, in attach order, in the task that
emits (so they see that task's context variables: the OpenTelemetry bridge relies on it). They must be quick
and must not block. A handler that raises is detached at once and the error logged (logger
``"jido.telemetry"``); the code that emitted never sees it.

Cost: the handlers of every event name are worked out when something attaches or detaches, not when an event
is emitted. With no handler for a name, :func:`emit` is one dict lookup; the runtime's hot paths go further and
test ``name in _BY_NAME`` before even building the fields.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Mapping
from typing import Any, Final, TypeAlias

import attrs

from jido.errors import ValidationError
from jido.signal.pattern import matches, parse_pattern
from jido.telemetry.events import _DEFINED_LISTENERS, CATALOGUE

__all__ = ["Attachment", "Event", "Handler", "attach", "attachments", "detach_all", "emit", "enabled"]

logger = logging.getLogger("jido.telemetry")


@attrs.frozen
class Event:
    """One emitted event.

    Attributes:
        name: the event's name (``jido.action.stop``).
        fields: its fields, as documented in the catalogue (do not mutate).
        time: when it was emitted, wall clock (``time.time()``).
    """

    name: str
    fields: Mapping[str, Any]
    time: float


Handler: TypeAlias = Callable[[Event], object]
"""A handler: called with each matching :class:`Event`; what it returns is ignored."""


class Attachment:
    """A handler attached to the events matching a pattern. ``detach()`` removes it (idempotent)."""

    __slots__ = ("_attached", "handler", "names", "pattern")

    def __init__(self, pattern: str, handler: Handler, names: frozenset[str]) -> None:
        self.pattern = pattern
        self.handler = handler
        self.names = names  # the event names it matched when attached (or since, see define_event)
        self._attached = True

    def __repr__(self) -> str:
        state = "attached" if self._attached else "detached"
        return f"<Attachment {self.pattern!r} -> {self.handler!r} ({state})>"

    @property
    def attached(self) -> bool:
        return self._attached

    def detach(self) -> None:
        """Stop calling the handler. Detaching twice is harmless."""
        with _LOCK:
            if not self._attached:
                return
            self._attached = False
            _ATTACHMENTS.remove(self)
            _rebuild()

    def __enter__(self) -> Attachment:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.detach()


_LOCK = threading.RLock()
_ATTACHMENTS: list[Attachment] = []
_BY_NAME: Final[dict[str, tuple[Attachment, ...]]] = {}
"""Event name -> its attachments, only for names that have some. Mutated in place: modules hold it."""
_FAMILIES: Final[set[str]] = set()
"""``jido.action``, ``jido.signal``, ... for each family with at least one handled event."""


def _rebuild() -> None:
    """Work out each event's handlers again (after attach, detach, or a new event definition)."""
    with _LOCK:
        wanted: dict[str, tuple[Attachment, ...]] = {}
        for name in CATALOGUE:
            found = tuple(a for a in _ATTACHMENTS if _matches(a.pattern, name))
            if found:
                wanted[name] = found
        # Update in place, key by key, so that an emit on another thread never sees an empty table.
        for name in [n for n in _BY_NAME if n not in wanted]:
            del _BY_NAME[name]
        _BY_NAME.update(wanted)
        families = {name.rpartition(".")[0] for name in wanted}
        _FAMILIES.intersection_update(families)
        _FAMILIES.update(families)
        for attachment in _ATTACHMENTS:
            attachment.names = frozenset(n for n, found in wanted.items() if attachment in found)


_DEFINED_LISTENERS.append(_rebuild)


def _matches(pattern: str, name: str) -> bool:
    return pattern == name or matches(pattern, name)


def attach(pattern: str, handler: Handler) -> Attachment:
    """Call ``handler(event)`` for every event whose name matches ``pattern``.

    Args:
        pattern: an event name (``"jido.agent.crashed"``) or a router pattern over names (``"jido.bus.*"``,
            ``"jido.**"``).
        handler: a function of one :class:`Event`; if it raises, it is detached and the error logged.

    Returns:
        The attachment; ``detach()`` it (or use it as a context manager) to stop.

    Raises:
        TypeError: ``handler`` is not callable, or ``pattern`` is not a string.
        ValueError: ``pattern`` is malformed or matches no event of the catalogue.
    """
    if not callable(handler):
        raise TypeError(f"attach: handler must be callable, got {handler!r}")
    if not isinstance(pattern, str):
        raise TypeError(f"attach: pattern must be a string, got {pattern!r}")
    try:
        parse_pattern(pattern)
    except ValidationError as exc:
        raise ValueError(f"attach: invalid pattern {pattern!r}: {exc.errors[0].message}") from None
    with _LOCK:
        names = frozenset(name for name in CATALOGUE if _matches(pattern, name))
        if not names:
            raise ValueError(
                f"attach: pattern {pattern!r} matches no telemetry event (names look like 'jido.bus.published')"
            )
        attachment = Attachment(pattern, handler, names)
        _ATTACHMENTS.append(attachment)
        _rebuild()
    return attachment


def attachments() -> list[Attachment]:
    """Every attachment currently attached, in attach order."""
    with _LOCK:
        return list(_ATTACHMENTS)


def enabled(name: str) -> bool:
    """Whether any handler is attached to the event ``name`` (skip building costly fields when not)."""
    return name in _BY_NAME


def emit(name: str, /, **fields: Any) -> None:
    """Emit the event ``name`` with ``fields`` to its handlers (nothing happens when it has none).

    Fields are not checked against the catalogue here (that would cost every emit); tests check them with
    :func:`jido.telemetry.events.validate_fields`.
    """
    found = _BY_NAME.get(name)
    if not found:
        return
    _dispatch(name, found, fields)


# An Event made without its __init__: attrs' frozen __init__ goes through a bound object.__setattr__ per field,
# the slots' own descriptors set them in two thirds of the time, and an event is made for every signal handled
# while anything observes them (a dashboard does).
_new_event: Final = object.__new__
_set_name: Final = Event.name.__set__  # type: ignore[attr-defined]
_set_fields: Final = Event.fields.__set__  # type: ignore[attr-defined]
_set_time: Final = Event.time.__set__  # type: ignore[attr-defined]


def _dispatch(name: str, found: tuple[Attachment, ...], fields: dict[str, Any]) -> None:
    event = _new_event(Event)
    _set_name(event, name)
    _set_fields(event, fields)
    _set_time(event, time.time())
    for attachment in found:
        try:
            attachment.handler(event)
        except Exception:  # a broken observer must never break what it observes: detach it and say so
            attachment.detach()
            logger.exception(
                "telemetry handler %r (attached to %r) raised on %r and was detached",
                attachment.handler,
                attachment.pattern,
                name,
                extra={"event": name, "pattern": attachment.pattern},
            )


def detach_all() -> None:
    """Detach every handler (for tests and shutdown)."""
    with _LOCK:
        for attachment in _ATTACHMENTS:
            attachment._attached = False
        _ATTACHMENTS.clear()
        _rebuild()
