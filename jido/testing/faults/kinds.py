"""The kinds of fault, and the exceptions injected faults raise."""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from typing import Any, ClassVar, Final

import attrs

from jido.errors import DefinitionError, JidoError
from jido.signal.pattern import parse_pattern

__all__ = [
    "JOURNAL_WRITES",
    "CrashAgent",
    "CutConnection",
    "DelayDelivery",
    "DropDelivery",
    "FailAction",
    "FailJournalWrite",
    "Fault",
    "InjectedCrash",
    "InjectedError",
    "InjectedTimeout",
    "SlowAction",
    "TimeoutAction",
    "UnsupportedFaultError",
]


class UnsupportedFaultError(JidoError, NotImplementedError):
    """A fault that cannot apply where it struck (a timeout of an action attempt that has no deadline)."""


class InjectedError(Exception):
    """The exception a :class:`FailAction` raises by default.

    Attributes:
        retryable: whether a retry policy counts it as worth another attempt.
    """

    def __init__(self, message: str, *, retryable: bool = True) -> None:
        super().__init__(message)
        self.retryable = retryable


class InjectedCrash(Exception):
    """The exception a :class:`CrashAgent` raises inside the agent's action; never retried."""

    retryable: Final = False


class InjectedTimeout(TimeoutError):
    """A :class:`TimeoutAction` without an event loop, where no deadline is enforced; retryable."""


# -- faults --------------------------------------------------------------------------------------------------


def _occurrences(value: object) -> frozenset[int] | None:
    if value is None:
        return None
    if isinstance(value, int) and not isinstance(value, bool):
        value = (value,)
    if not isinstance(value, Iterable) or isinstance(value, str):
        raise DefinitionError(f"on must be a set of occurrence numbers >= 1, got {value!r}")
    try:
        items: frozenset[Any] = frozenset(value)
    except TypeError:
        raise DefinitionError(f"on must be a set of occurrence numbers >= 1, got {value!r}") from None
    for item in items:
        if isinstance(item, bool) or not isinstance(item, int) or item < 1:
            raise DefinitionError(f"on must hold occurrence numbers >= 1 (1 is the first), got {item!r}")
    if not items:
        raise DefinitionError("on must name at least one occurrence; leave it out to strike every time")
    return items


def _check_probability(_: object, attribute: attrs.Attribute[float | None], value: object) -> None:
    if value is None:
        return
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 < value <= 1:
        raise DefinitionError(f"probability must be a number within (0, 1], got {value!r}")


def _check_limit(_: object, attribute: attrs.Attribute[int | None], value: object) -> None:
    if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < 1):
        raise DefinitionError(f"limit must be an int >= 1, got {value!r}")


def _check_name(_: object, attribute: attrs.Attribute[Any], value: object) -> None:
    if not isinstance(value, str) or not value:
        raise DefinitionError(f"{attribute.name} must be a non-empty string, got {value!r}")


def _check_optional_name(_: object, attribute: attrs.Attribute[str | None], value: object) -> None:
    if value is not None:
        _check_name(_, attribute, value)


def _check_delay(_: object, attribute: attrs.Attribute[float], value: object) -> None:
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 < value < math.inf:
        raise DefinitionError(f"{attribute.name} must be a positive, finite number of seconds, got {value!r}")


def _check_pattern(_: object, attribute: attrs.Attribute[str], value: object) -> None:
    if not isinstance(value, str):
        raise DefinitionError(f"{attribute.name} must be a router pattern string, got {value!r}")
    try:
        parse_pattern(value)
    except JidoError as exc:
        raise DefinitionError(f"{attribute.name}: {exc}") from None


def _check_connection(_: object, attribute: attrs.Attribute[int | None], value: object) -> None:
    if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < 1):
        raise DefinitionError(f"connection must be a gateway connection id (an int >= 1), got {value!r}")


JOURNAL_WRITES: Final = ("append", "checkpoint", "dead_letter")
"""The journal writes :class:`FailJournalWrite` can strike."""


def _check_write(_: object, attribute: attrs.Attribute[Any], value: object) -> None:
    if value is not None and value not in JOURNAL_WRITES:
        raise DefinitionError(
            f"write must be one of {', '.join(map(repr, JOURNAL_WRITES))} or None (any write), got {value!r}"
        )


def _check_error(_: object, attribute: attrs.Attribute[Any], value: object) -> None:
    if value is not None and not callable(value):
        raise DefinitionError(
            f"error must be an exception class or a function returning an exception, got {value!r}"
        )


@attrs.frozen(repr=False)
class Fault:
    """What every fault has: when it strikes. Use one of the subclasses.

    Attributes:
        on: the occurrences it strikes (1 is the first), or ``None``.
        probability: the chance it strikes each occurrence, or ``None``. With neither, it strikes every time.
        limit: the most times it may strike, or ``None`` for no limit.
    """

    site: ClassVar[str] = ""
    """Where the fault strikes: ``"action"``, ``"agent"``, ``"delivery"``, ``"gateway"`` or ``"journal"``."""

    on: frozenset[int] | None = attrs.field(default=None, converter=_occurrences, kw_only=True)
    probability: float | None = attrs.field(default=None, validator=_check_probability, kw_only=True)
    limit: int | None = attrs.field(default=None, validator=_check_limit, kw_only=True)

    def __attrs_post_init__(self) -> None:
        if type(self) is Fault:
            raise DefinitionError(
                "Fault is abstract: use FailAction, TimeoutAction, SlowAction, CrashAgent, DropDelivery, "
                "DelayDelivery, CutConnection or FailJournalWrite"
            )
        if self.on is not None and self.probability is not None:
            raise DefinitionError(f"{type(self).__name__}: give on= or probability=, not both")

    def __repr__(self) -> str:
        """The constructor call that makes this fault, with only the fields that differ from the defaults."""
        positional: list[str] = []
        own: list[str] = []
        common: list[str] = []
        for field in attrs.fields(type(self)):
            value = getattr(self, field.name)
            if field.default is attrs.NOTHING:
                positional.append(repr(value))
            elif value != field.default:
                shown = "{" + ", ".join(map(str, sorted(value))) + "}" if field.name == "on" else _show(value)
                (common if field.name in _COMMON else own).append(f"{field.name}={shown}")
        return f"{type(self).__name__}({', '.join(positional + own + common)})"

    def _repr_pretty_(self, printer: Any, cycle: bool) -> None:
        """Hypothesis (and IPython) print the short repr, not every field."""
        printer.text(repr(self))


_COMMON: Final = frozenset({"on", "probability", "limit"})


def _show(value: object) -> str:
    if isinstance(value, type):
        return value.__qualname__
    if callable(value) and hasattr(value, "__qualname__"):
        return str(value.__qualname__)
    return repr(value)


@attrs.frozen(repr=False)
class FailAction(Fault):
    """An attempt of ``action`` raises.

    Attributes:
        action: the action's name.
        agent: only attempts inside this agent (by id); ``None`` for any (plan steps run outside agents).
        error: an exception class, or a function returning the exception to raise; :class:`InjectedError`
            by default.
        retryable: whether the default :class:`InjectedError` is worth a retry.
    """

    site: ClassVar[str] = "action"

    action: str = attrs.field(validator=_check_name)
    agent: str | None = attrs.field(default=None, validator=_check_optional_name)
    error: Callable[[], BaseException] | None = attrs.field(default=None, validator=_check_error)
    retryable: bool = True


@attrs.frozen(repr=False)
class TimeoutAction(Fault):
    """An attempt of ``action`` runs out of time.

    Attributes:
        action: the action's name.
        agent: only attempts inside this agent (by id); ``None`` for any.
    """

    site: ClassVar[str] = "action"

    action: str = attrs.field(validator=_check_name)
    agent: str | None = attrs.field(default=None, validator=_check_optional_name)


@attrs.frozen(repr=False)
class SlowAction(Fault):
    """An attempt of ``action`` starts ``delay`` seconds late (inside its deadline).

    Attributes:
        action: the action's name.
        delay: seconds, positive and finite.
        agent: only attempts inside this agent (by id); ``None`` for any.
    """

    site: ClassVar[str] = "action"

    action: str = attrs.field(validator=_check_name)
    delay: float = attrs.field(default=1.0, validator=_check_delay)
    agent: str | None = attrs.field(default=None, validator=_check_optional_name)


@attrs.frozen(repr=False)
class CrashAgent(Fault):
    """The agent's server crashes on its n-th signal (``on`` and ``probability`` count signals).

    Attributes:
        agent: the agent's id.
    """

    site: ClassVar[str] = "agent"

    agent: str = attrs.field(validator=_check_name)


@attrs.frozen(repr=False)
class DropDelivery(Fault):
    """A bus delivery of a signal matching ``pattern`` is lost on its way (``on`` counts such deliveries).

    The record stays in flight, unacked: the subscription delivers it again after its ``ack_timeout``, and
    dead-letters it once ``max_attempts`` deliveries are used up, as it would a delivery the network lost.

    Attributes:
        pattern: router pattern of the signal types concerned.
        subscription: only deliveries to this subscription (by name: an agent's is
            ``agent:<id>:<pattern>``); ``None`` for any.
    """

    site: ClassVar[str] = "delivery"

    pattern: str = attrs.field(default="**", validator=_check_pattern)
    subscription: str | None = attrs.field(default=None, validator=_check_optional_name)


@attrs.frozen(repr=False)
class DelayDelivery(Fault):
    """A bus delivery of a signal matching ``pattern`` arrives ``delay`` seconds late.

    The ack timeout runs from when it was sent, so a delay past it is redelivered too. The subscription's
    deliveries are handed over in order, so the ones after it wait as well.

    Attributes:
        pattern: router pattern of the signal types concerned.
        delay: seconds, positive and finite.
        subscription: only deliveries to this subscription (by name); ``None`` for any.
    """

    site: ClassVar[str] = "delivery"

    pattern: str = attrs.field(default="**", validator=_check_pattern)
    delay: float = attrs.field(default=1.0, validator=_check_delay)
    subscription: str | None = attrs.field(default=None, validator=_check_optional_name)


@attrs.frozen(repr=False)
class CutConnection(Fault):
    """A websocket gateway connection is cut just before it sends a frame (``on`` counts the frames of the
    connections concerned: of every connection together, unless ``connection`` names one).

    The TCP connection is dropped without a close handshake, the frame unsent: the client sees close code
    1006. Its subscriptions end; a durable one resumes from its checkpoint when the client subscribes again.

    Attributes:
        connection: only this connection (by id: 1 for the gateway's first); ``None`` for any.
    """

    site: ClassVar[str] = "gateway"

    connection: int | None = attrs.field(default=None, validator=_check_connection)


@attrs.frozen(repr=False)
class FailJournalWrite(Fault):
    """A write to the bus journal fails (``on`` counts the writes of that kind).

    * ``"append"``: the publish raises the error and appends nothing (the whole batch).
    * ``"checkpoint"``: a durable subscription's checkpoint is not stored; it keeps delivering and stores the
      checkpoint at its next advance or when it closes (what was acked since may come again after a crash).
      The first checkpoint write of a new durable subscription is made by ``subscribe``, which then raises.
    * ``"dead_letter"``: a record is not dead-lettered; it stays in flight and dead-lettering it is tried
      again later.

    Attributes:
        write: ``"append"`` (the default), ``"checkpoint"``, ``"dead_letter"``, or ``None`` for any write.
        error: an exception class, or a function returning the exception to raise; ``OSError`` by default.
    """

    site: ClassVar[str] = "journal"

    write: str | None = attrs.field(default="append", validator=_check_write)
    error: Callable[[], BaseException] | None = attrs.field(default=None, validator=_check_error)


ACTION_FAULTS: Final = (FailAction, TimeoutAction, SlowAction)
