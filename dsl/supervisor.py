"""``@supervisor`` and ``child``: a supervision tree declared as a class whose members are its children."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Never, TypeVar

import attrs

from dsl._build import (
    Problems,
    attach,
    bare_or_called,
    check_unknown_options,
    display_name,
    own_annotations,
    reports_call_site,
    reports_user_site,
    snake_case,
)
from jido.agent.spec import agent_spec_of
from jido.errors import DefinitionError
from jido.runtime.sensor_spec import sensor_spec_of
from jido.runtime.supervisor_spec import (
    RESTART_KINDS,
    STRATEGIES,
    ChildSpec,
    RestartKind,
    SupervisionStrategy,
    SupervisorSpec,
    supervisor_spec_of,
)

__all__ = ["child", "supervisor"]

T = TypeVar("T", bound=type)
_OPTIONS = ("name", "strategy", "max_restarts", "within")


@attrs.frozen
class ChildDecl:
    """A ``child(...)`` member before its supervisor compiled it (its name is the attribute's)."""

    target: Any
    id: str | None
    replicas: int
    restart: RestartKind
    state: Mapping[str, Any]
    error_policy: Any
    mailbox_size: int | None


@reports_call_site
def child(
    target: Any,
    /,
    *,
    id: str | None = None,
    replicas: int = 1,
    restart: RestartKind = "permanent",
    state: Mapping[str, Any] | None = None,
    error_policy: Any = "crash",
    mailbox_size: int | None = None,
) -> Any:
    """Declare a child of a ``@supervisor`` class: ``workers = child(Worker, replicas=4)``.

    Args:
        target: an ``@agent``, ``@sensor`` or ``@supervisor`` class (or its spec).
        id: registry id of an agent child; defaults to ``<supervisor name>.<member name>``.
        replicas: how many copies to run (ids get ``.0``, ``.1``... when more than one).
        restart: ``permanent``, ``transient`` or ``temporary``.
        state: initial state overrides of an agent child.
        error_policy: an agent child's error policy: ``"crash"`` (default), ``"log"`` or ``StopAfter(n)``.
        mailbox_size: an agent child's mailbox bound.

    Raises:
        DefinitionError: at once for a bad replica count, restart kind or state.
    """
    if isinstance(replicas, bool) or not isinstance(replicas, int) or replicas < 1:
        raise DefinitionError(f"child(replicas=...): expected an int >= 1, got {replicas!r}")
    if restart not in RESTART_KINDS:
        raise DefinitionError(
            f"child(restart=...): expected one of {', '.join(RESTART_KINDS)}, got {restart!r}"
        )
    if id is not None and (not isinstance(id, str) or not id):
        raise DefinitionError(f"child(id=...): expected a non-empty string, got {id!r}")
    if state is not None and not isinstance(state, Mapping):
        raise DefinitionError(f"child(state=...): expected a mapping, got {state!r}")
    return ChildDecl(target, id, replicas, restart, dict(state or {}), error_policy, mailbox_size)


def _target_spec(target: Any) -> Any:
    return agent_spec_of(target) or sensor_spec_of(target) or supervisor_spec_of(target)


def _compile(
    cls: type, *, name: str | None, strategy: SupervisionStrategy, max_restarts: int, within: float
) -> type:
    if not isinstance(cls, type):
        raise DefinitionError(f"@supervisor decorates a class, got {cls!r}")
    problems = Problems(cls, "supervisor")
    sup_name = name if name is not None else snake_case(cls.__name__)
    for field in own_annotations(cls):
        if not isinstance(cls.__dict__.get(field), ChildDecl):
            problems.add(field, f"a supervisor has children, not fields: write `{field} = child(...)`")
    children = []
    for member, value in cls.__dict__.items():
        if not isinstance(value, ChildDecl):
            continue
        target = _target_spec(value.target)
        if target is None:
            shown = getattr(value.target, "__name__", None) or repr(value.target)
            problems.add(member, f"{shown} is not an @agent, @sensor or @supervisor class")
            continue
        try:
            children.append(
                ChildSpec(
                    name=member,
                    target=target,
                    id=value.id if value.id is not None else f"{sup_name}.{member}",
                    replicas=value.replicas,
                    restart=value.restart,
                    state=value.state,
                    error_policy=value.error_policy,
                    mailbox_size=value.mailbox_size,
                )
            )
        except DefinitionError as exc:
            problems.add(member, str(exc))
    if not children and not problems.lines:
        problems.add(None, "a supervisor needs at least one `name = child(...)` member")
    problems.raise_if_any()
    try:
        spec = SupervisorSpec(
            name=sup_name, children=children, strategy=strategy, max_restarts=max_restarts, within=within
        )
    except DefinitionError as exc:
        raise DefinitionError(f"@supervisor on {display_name(cls)}: {exc}") from None
    for compiled in children:
        setattr(cls, compiled.name, compiled)
    attach(cls, spec)
    return cls


@reports_user_site
def supervisor(
    cls: Any = None,
    /,
    *,
    name: str | None = None,
    strategy: SupervisionStrategy = "one_for_one",
    max_restarts: int = 3,
    within: float = 5.0,
    **unknown: Never,
) -> Any:
    """Declare a supervisor: members written ``x = child(...)`` are its children, started in order.

    Args:
        name: stable name; defaults to the class name in snake_case.
        strategy: ``one_for_one``, ``one_for_all`` or ``rest_for_one``.
        max_restarts: restarts allowed within ``within`` seconds before the supervisor itself fails.
        within: the window of ``max_restarts``, in seconds.

    Raises:
        DefinitionError: at class definition; problems across members are listed together.
    """
    check_unknown_options("supervisor", unknown, _OPTIONS)
    if strategy not in STRATEGIES:
        raise DefinitionError(
            f"@supervisor(strategy=...): expected one of {', '.join(STRATEGIES)}, got {strategy!r}"
        )
    options: dict[str, Any] = {
        "name": name,
        "strategy": strategy,
        "max_restarts": max_restarts,
        "within": within,
    }
    return bare_or_called(cls, lambda target: _compile(target, **options))
