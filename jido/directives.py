"""Directives: the effects an agent asks for, as data. Only the runtime carries them out.

They sit below the action layer (an action's ``run`` may return them) and the agent core (which collects them);
``jido.agent.directives`` re-exports this module.

A new kind of effect is a new :class:`Directive` subclass (with an executor registered in the runtime), never a
flag on an existing one. Every subclass is recorded by its ``kind`` so it can be looked up by name.
"""

from __future__ import annotations

import math
import re
import zoneinfo
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, ClassVar, Final, Literal

import attrs

from jido.cron import parse_cron
from jido.errors import DefinitionError, ValidationError
from jido.signal import Signal

if TYPE_CHECKING:
    from jido.agent.spec import AgentSpec

__all__ = [
    "DIRECTIVE_KINDS",
    "Cron",
    "CronCancel",
    "Directive",
    "Emit",
    "Error",
    "Schedule",
    "SpawnAgent",
    "Stop",
    "StopChild",
]

DIRECTIVE_KINDS: Final[dict[str, type[Directive]]] = {}
"""Every directive class by its ``kind``."""

_KIND = re.compile(r"^[a-z][a-z0-9_.]*$")


class Directive:
    """Base of all directives. Subclasses are frozen attrs classes with a unique ``kind``."""

    __slots__ = ()
    kind: ClassVar[str] = ""

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        kind = cls.__dict__.get("kind")
        if kind is None:  # attrs re-creates slotted classes; the original already registered the kind
            return
        if not isinstance(kind, str) or not _KIND.match(kind):
            raise DefinitionError(f"{cls.__qualname__}.kind must be a lowercase dotted name, got {kind!r}")
        existing = DIRECTIVE_KINDS.get(kind)
        if existing is not None and existing.__qualname__ != cls.__qualname__:
            raise DefinitionError(f"directive kind {kind!r} is already taken by {existing.__qualname__}")
        DIRECTIVE_KINDS[kind] = cls


def _is_signal(_: object, attribute: attrs.Attribute[Any], value: object) -> None:
    if not isinstance(value, Signal):
        raise TypeError(f"{attribute.name} must be a jido.Signal, got {type(value).__name__}")


def _non_empty(_: object, attribute: attrs.Attribute[str], value: object) -> None:
    if not isinstance(value, str) or not value:
        raise ValueError(f"{attribute.name} must be a non-empty string, got {value!r}")


@attrs.frozen
class Emit(Directive):
    """Publish ``signal``: to the runtime's bus when ``to`` is None, else to the agent with id ``to``."""

    kind: ClassVar[str] = "emit"
    signal: Signal = attrs.field(validator=_is_signal)
    to: str | None = None


@attrs.frozen
class Schedule(Directive):
    """Deliver ``signal`` to this agent after ``delay`` seconds; cancelled if the agent stops first."""

    kind: ClassVar[str] = "schedule"
    delay: float = attrs.field()
    signal: Signal = attrs.field(validator=_is_signal)

    @delay.validator
    def _check_delay(self, _: object, value: float) -> None:
        if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value < math.inf:
            raise ValueError(f"delay must be a finite number of seconds >= 0, got {value!r}")


def _check_tz(_: object, attribute: attrs.Attribute[str], value: str) -> None:
    try:
        zoneinfo.ZoneInfo(value)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError, TypeError):
        raise ValueError(f"tz {value!r} is not a known IANA time zone") from None


def _check_cron_expr(_: object, attribute: attrs.Attribute[str], value: str) -> None:
    try:
        parse_cron(value)
    except ValidationError as exc:
        raise ValueError(f"invalid cron {attribute.name} {value!r}: {exc.errors[0].message}") from None


@attrs.frozen
class Cron(Directive):
    """Deliver ``signal`` to this agent on the cron schedule ``expr`` in ``tz``; upserts by ``job_id``."""

    kind: ClassVar[str] = "cron"
    expr: str = attrs.field(validator=[_non_empty, _check_cron_expr])
    signal: Signal = attrs.field(validator=_is_signal)
    job_id: str = attrs.field(validator=_non_empty)
    tz: str = attrs.field(default="UTC", validator=_check_tz)


@attrs.frozen
class CronCancel(Directive):
    """Cancel the cron job ``job_id``; a missing job is not an error."""

    kind: ClassVar[str] = "cron.cancel"
    job_id: str = attrs.field(validator=_non_empty)


RestartKind = Literal["permanent", "transient", "temporary"]


@attrs.frozen
class SpawnAgent(Directive):
    """Start a child agent supervised under this one, known to it by ``tag``."""

    kind: ClassVar[str] = "spawn_agent"
    spec: AgentSpec
    tag: str = attrs.field(validator=_non_empty)
    id: str | None = None
    state: Mapping[str, Any] = attrs.field(factory=dict)
    restart: RestartKind = "transient"
    meta: Mapping[str, Any] = attrs.field(factory=dict)


@attrs.frozen
class StopChild(Directive):
    """Stop the child agent known by ``tag``; a missing tag is not an error."""

    kind: ClassVar[str] = "stop_child"
    tag: str = attrs.field(validator=_non_empty)
    reason: str = "normal"


@attrs.frozen
class Stop(Directive):
    """Stop this agent after the current signal; directives after it are not carried out."""

    kind: ClassVar[str] = "stop"
    reason: str = "normal"


@attrs.frozen
class Error(Directive):
    """An instruction failed; state was left as it was. ``context`` says at which step (``"instruction"``...)."""

    kind: ClassVar[str] = "error"
    error: BaseException
    context: str = "instruction"
    action: str | None = None
