"""What a supervisor is: children to start, how to restart them, and how much failure it tolerates."""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping
from typing import Any, Literal, TypeAlias

import attrs

from jido._spec_attr import SPEC_ATTR
from jido.agent.spec import AgentSpec
from jido.errors import DefinitionError
from jido.runtime.error_policy import check_error_policy
from jido.runtime.sensor_spec import SensorSpec

__all__ = [
    "ChildSpec",
    "RestartKind",
    "SupervisionStrategy",
    "SupervisorSpec",
    "supervisor_spec_of",
]

SupervisionStrategy: TypeAlias = Literal["one_for_one", "one_for_all", "rest_for_one"]
RestartKind: TypeAlias = Literal["permanent", "transient", "temporary"]
STRATEGIES: tuple[str, ...] = ("one_for_one", "one_for_all", "rest_for_one")
RESTART_KINDS: tuple[str, ...] = ("permanent", "transient", "temporary")
_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_.]*$")


@attrs.frozen
class ChildSpec:
    """One child of a supervisor (``replicas`` copies of it).

    Attributes:
        name: the child's name within its supervisor.
        target: what to run: an agent, a sensor, or a nested supervisor.
        id: registry id of an agent child (replicas get ``id.0``, ``id.1``...); defaults to
            ``<supervisor>.<name>``.
        replicas: how many copies to start.
        restart: ``permanent`` (always restarted), ``transient`` (restarted after a crash only), or
            ``temporary`` (never restarted).
        state: initial state overrides of an agent child.
        error_policy: an agent child's error policy (``"crash"``, ``"log"`` or ``StopAfter(n)``).
        mailbox_size: an agent child's mailbox bound (the runtime's default when None).
    """

    name: str
    target: AgentSpec | SensorSpec | SupervisorSpec
    id: str | None = None
    replicas: int = 1
    restart: RestartKind = "permanent"
    state: Mapping[str, Any] = attrs.field(factory=dict)
    error_policy: Any = "crash"
    mailbox_size: int | None = None

    def __attrs_post_init__(self) -> None:
        if not isinstance(self.target, AgentSpec | SensorSpec | SupervisorSpec):
            raise DefinitionError(
                f"child {self.name!r}: target must be an agent, sensor or supervisor, got {self.target!r}"
            )
        if isinstance(self.replicas, bool) or not isinstance(self.replicas, int) or self.replicas < 1:
            raise DefinitionError(f"child {self.name!r}: replicas must be an int >= 1, got {self.replicas!r}")
        if self.restart not in RESTART_KINDS:
            raise DefinitionError(
                f"child {self.name!r}: restart must be one of {', '.join(RESTART_KINDS)}, got {self.restart!r}"
            )
        if self.state and not isinstance(self.target, AgentSpec):
            raise DefinitionError(f"child {self.name!r}: state applies to agent children only")
        try:
            check_error_policy(self.error_policy)
        except ValueError as exc:
            raise DefinitionError(f"child {self.name!r}: {exc}") from None
        if self.mailbox_size is not None and (
            isinstance(self.mailbox_size, bool)
            or not isinstance(self.mailbox_size, int)
            or self.mailbox_size < 1
        ):
            raise DefinitionError(
                f"child {self.name!r}: mailbox_size must be an int >= 1, got {self.mailbox_size!r}"
            )


def _children(value: Iterable[ChildSpec]) -> tuple[ChildSpec, ...]:
    return tuple(value)


@attrs.frozen
class SupervisorSpec:
    """A compiled supervisor; the runtime runs it as a nursery that restarts its children by ``strategy``.

    Attributes:
        name: stable name (also the prefix of its children's default ids).
        children: started in order, stopped in reverse order.
        strategy: which children restart when one fails.
        max_restarts: restarts allowed within ``within`` seconds before the supervisor itself fails.
        within: the intensity window in seconds.
    """

    name: str
    children: tuple[ChildSpec, ...] = attrs.field(converter=_children)
    strategy: SupervisionStrategy = "one_for_one"
    max_restarts: int = 3
    within: float = 5.0

    def __attrs_post_init__(self) -> None:
        if not isinstance(self.name, str) or not _NAME.match(self.name):
            raise DefinitionError(
                f"supervisor name {self.name!r} is invalid: use letters, digits, '_' and '.'"
            )
        if self.strategy not in STRATEGIES:
            raise DefinitionError(
                f"supervisor {self.name!r}: strategy must be one of {', '.join(STRATEGIES)}, got {self.strategy!r}"
            )
        if (
            isinstance(self.max_restarts, bool)
            or not isinstance(self.max_restarts, int)
            or self.max_restarts < 0
        ):
            raise DefinitionError(f"supervisor {self.name!r}: max_restarts must be an int >= 0")
        if (
            isinstance(self.within, bool)
            or not isinstance(self.within, int | float)
            or not 0 < self.within < math.inf
        ):
            raise DefinitionError(f"supervisor {self.name!r}: within must be a positive number of seconds")
        seen: set[str] = set()
        for child in self.children:
            if child.name in seen:
                raise DefinitionError(f"supervisor {self.name!r}: two children are named {child.name!r}")
            seen.add(child.name)


def supervisor_spec_of(obj: object) -> SupervisorSpec | None:
    """The :class:`SupervisorSpec` behind ``obj`` (a spec or a decorated class), or None."""
    if isinstance(obj, SupervisorSpec):
        return obj
    spec = getattr(obj, SPEC_ATTR, None)
    return spec if isinstance(spec, SupervisorSpec) else None
