"""``@agent`` and ``@route``: a class whose annotated fields are the state, and routes from signals to actions."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any, Final, Never, Self, TypeVar, dataclass_transform, overload

import attrs

from dsl._build import (
    Problems,
    attach,
    bare_or_called,
    caller_namespace,
    check_defaults,
    check_unknown_options,
    display_name,
    make_frozen,
    own_annotations,
    rebuild,
    reports_user_site,
    snake_case,
)
from dsl.plugin import plugin_specs
from dsl.spec import NotDecoratedError
from jido._spec_attr import SPEC_ATTR
from jido.action.spec import action_spec_of
from jido.agent.plugin import PluginSpec
from jido.agent.spec import Agent, AgentSpec, CronSchedule, RouteSpec
from jido.agent.state import RESERVED_STATE_NAMES, StateMapping
from jido.agent.strategy import Strategy
from jido.convert import is_json_type
from jido.errors import DefinitionError, ValidationError
from jido.signal.pattern import parse_pattern

__all__ = ["AgentState", "agent", "cron", "route"]

T = TypeVar("T", bound=type)

ROUTES_MARKER: Final = "__jido_routes__"
"""Routes declared by ``@route`` before ``@agent`` compiled the class; removed once it has."""

_OPTIONS = (
    "name",
    "description",
    "strategy",
    "schedules",
    "subscribe",
    "version",
    "migrations",
    "idle_timeout",
    "plugins",
)
_RESERVED: Final = RESERVED_STATE_NAMES | {"new"}


@reports_user_site
def cron(expr: str, signal_type: str, *, job_id: str | None = None, tz: str = "UTC") -> CronSchedule:
    """A cron schedule for ``@agent(schedules=[...])``: a ``signal_type`` signal on ``expr`` in ``tz``.

    ``job_id`` defaults to the signal type.
    """
    if not isinstance(expr, str) or not expr.strip():
        raise DefinitionError(f"cron(): expected a cron expression, got {expr!r}")
    try:
        return CronSchedule(expr, signal_type, job_id if job_id is not None else signal_type, tz)
    except ValueError as exc:
        raise DefinitionError(f"cron({expr!r}, {signal_type!r}): {exc}") from None


def _schedule(item: object) -> CronSchedule:
    if isinstance(item, CronSchedule):
        return item
    if isinstance(item, tuple) and len(item) == 2:
        return cron(*item)
    raise DefinitionError(
        f"@agent(schedules=...): expected cron(expr, signal_type, ...) or (expr, signal_type), got {item!r}"
    )


def _pattern_error(pattern: str) -> str | None:
    try:
        parse_pattern(pattern)
    except ValidationError as exc:
        return str(exc)
    return None


def _route_label(spec: RouteSpec) -> str:
    return f"route {spec.pattern!r}" + (f" (priority {spec.priority})" if spec.priority else "")


def _duplicates(routes: Sequence[RouteSpec]) -> list[str]:
    seen: dict[tuple[str, int], RouteSpec] = {}
    found = []
    for spec in routes:
        key = (spec.pattern, spec.priority)
        if key in seen:
            found.append(
                f"two routes for {spec.pattern!r} at priority {spec.priority} "
                f"({seen[key].action.name} and {spec.action.name}): give one a different priority"
            )
        else:
            seen[key] = spec
    return found


def _new(cls: type, /, id: str | None = None, **state: Any) -> Agent:
    spec: AgentSpec = getattr(cls, SPEC_ATTR)
    return spec.new(id, **state)


@dataclass_transform(frozen_default=True, field_specifiers=(attrs.field, attrs.Factory))
class AgentState(StateMapping):
    """An optional base for ``@agent`` classes: it changes nothing at run time and tells type checkers what
    ``@agent`` adds, ``new()`` and the mapping interface.

    A class decorator cannot add a method a type checker sees (mypy ignores what a class decorator returns),
    so ``Counter.new()`` on a bare ``@agent`` class is an error to mypy and pyright though it works. Derive
    from this class and ``Counter.new()`` is an ``Agent[Counter]``, so ``jido.cmd(Counter.new(), ...)`` keeps
    the state's type::

        @agent
        class Counter(AgentState):
            count: int = 0

        counter, _ = jido.cmd(Counter.new(), Increment(by=2))
        counter.state.count  # an int, to the checker too
    """

    __slots__ = ()

    @classmethod
    def new(cls, id: str | None = None, **state: Any) -> Agent[Self]:
        """A new agent value of this class: its defaults overridden by ``state``, validated strictly.

        Raises:
            NotDecoratedError: the class is not an ``@agent`` class.
            ValidationError: a value in ``state`` does not fit its field.
        """
        # @agent sets its own ``new`` on the class it builds; reaching this one means it never ran.
        raise NotDecoratedError(f"{display_name(cls)} is not an @agent class: decorate it with @agent")


def _compile(
    cls: type,
    localns: dict[str, Any],
    *,
    name: str | None,
    description: str | None,
    strategy: Strategy | None,
    schedules: tuple[CronSchedule, ...],
    subscribe: tuple[str, ...],
    version: int,
    migrations: Mapping[int, Callable[[dict[str, Any]], dict[str, Any]]],
    idle_timeout: float | None,
    plugins: tuple[PluginSpec[Any, Any], ...],
) -> type:
    if not isinstance(cls, type):
        raise DefinitionError(f"@agent decorates a class, got {cls!r}")
    if action_spec_of(cls) is not None:
        raise DefinitionError(f"{display_name(cls)}: a class cannot be both an @action and an @agent")
    problems = Problems(cls, "agent")
    annotations = own_annotations(cls)
    for field in annotations:
        if field in _RESERVED:
            problems.add(
                field, f"{field!r} is a reserved name (the state mapping or the agent uses it): rename it"
            )
        elif field not in cls.__dict__:
            problems.add(field, "state field has no default: every state field needs one")
    routes: list[RouteSpec] = list(cls.__dict__.get(ROUTES_MARKER, ()))
    for line in _duplicates(routes):
        problems.add(None, line)
    problems.raise_if_any()
    frozen = make_frozen(rebuild(cls, bases=(StateMapping,), drop=(ROUTES_MARKER,)), localns, problems)
    problems.raise_if_any()
    assert frozen is not None
    for field in attrs.fields(frozen):
        if field.default is attrs.NOTHING:
            problems.add(field.name, "state field has no default: every state field needs one")
        elif field.name in annotations and not is_json_type(field.type):
            problems.add(field.name, f"type {field.type!r} cannot be serialized to JSON")
    problems.raise_if_any()
    check_defaults(frozen, problems, json_state=True)
    problems.raise_if_any()
    doc = (cls.__doc__ or "").strip().split("\n")[0]
    try:
        spec = AgentSpec(
            name=name if name is not None else snake_case(cls.__name__),
            state=frozen,
            description=description if description is not None else doc,
            routes=routes,
            schedules=schedules,
            subscriptions=subscribe,
            version=version,
            migrations=migrations,
            idle_timeout=idle_timeout,
            plugins=plugins,
            **({"strategy": strategy} if strategy is not None else {}),
        )
    except DefinitionError as exc:
        raise DefinitionError(f"{display_name(cls)}: {exc}") from None
    attach(frozen, spec)
    # The class a checker sees is the one written (see AgentState): set through setattr, as it is invisible.
    setattr(frozen, "new", classmethod(_new))  # noqa: B010
    return frozen


@overload
def agent(cls: T, /) -> T: ...


@overload
def agent(
    *,
    name: str | None = None,
    description: str | None = None,
    strategy: Strategy | None = None,
    schedules: Iterable[CronSchedule | tuple[str, str]] = (),
    subscribe: Iterable[str] = (),
    version: int = 1,
    migrations: Mapping[int, Callable[[dict[str, Any]], dict[str, Any]]] | None = None,
    idle_timeout: float | None = None,
    plugins: Iterable[object] = (),
) -> Callable[[T], T]: ...


@reports_user_site
@dataclass_transform(frozen_default=True, field_specifiers=(attrs.field, attrs.Factory))
def agent(
    cls: Any = None,
    /,
    *,
    name: str | None = None,
    description: str | None = None,
    strategy: Strategy | None = None,
    schedules: Iterable[CronSchedule | tuple[str, str]] = (),
    subscribe: Iterable[str] = (),
    version: int = 1,
    migrations: Mapping[int, Callable[[dict[str, Any]], dict[str, Any]]] | None = None,
    idle_timeout: float | None = None,
    plugins: Iterable[object] = (),
    **unknown: Never,
) -> Any:
    """Declare an agent: annotated fields with defaults are its state; ``@route`` maps signals to actions.

    The class becomes the frozen state class (readable as a mapping too), and gains ``new(id=None, **state)``,
    which builds a :class:`jido.Agent`. Works bare (``@agent``) or with options, above or below its routes.

    Args:
        name: stable name; defaults to the class name in snake_case.
        description: one line for humans; defaults to the docstring's first line.
        strategy: how ``cmd`` runs instructions; :class:`jido.Direct` by default.
        schedules: cron schedules the runtime starts with the agent (``cron(...)`` or ``(expr, type)``).
        subscribe: bus patterns the runtime subscribes the agent to.
        version: the state schema's version (stored with each state, with a state store).
        migrations: ``{from_version: function}`` taking a stored state (a JSON mapping) of that version to
            the next; stored states of older versions are taken through them when the agent is restored.
        idle_timeout: seconds idle after which the runtime hibernates the agent (None: the runtime's default).
        plugins: plugins to mount: ``@plugin`` classes (their default config) or instances (that config),
            or :class:`jido.agent.plugin.PluginSpec` s; their state slices become fields of the state.

    Raises:
        DefinitionError: at class definition; problems across members are listed together.
    """
    check_unknown_options("agent", unknown, _OPTIONS)
    if strategy is not None and not isinstance(strategy, Strategy):
        raise DefinitionError(
            f"@agent(strategy=...): expected a strategy such as jido.Direct(), got {strategy!r}"
        )
    if isinstance(subscribe, str):
        raise DefinitionError("@agent(subscribe=...): expected a list of patterns, got a single string")
    patterns = tuple(subscribe)
    for pattern in patterns:
        error = _pattern_error(pattern)
        if error:
            raise DefinitionError(f"@agent(subscribe=...): invalid pattern {pattern!r}: {error}")
    options: dict[str, Any] = {
        "name": name,
        "description": description,
        "strategy": strategy,
        "schedules": tuple(_schedule(s) for s in schedules),
        "subscribe": patterns,
        "version": version,
        "migrations": dict(migrations or {}),
        "idle_timeout": idle_timeout,
        "plugins": plugin_specs(plugins, "@agent(plugins=...)"),
    }
    localns = caller_namespace()
    return bare_or_called(cls, lambda target: _compile(target, localns, **options))


@reports_user_site
def route(
    pattern: str,
    target: Any,
    /,
    *,
    priority: int = 0,
    params: Mapping[str, Any] | Callable[[Any], Mapping[str, Any]] | None = None,
    when: Callable[[Any], bool] | None = None,
) -> Callable[[T], T]:
    """Route signals whose type matches ``pattern`` to the action ``target``; stack it on an ``@agent`` class.

    Order relative to ``@agent`` does not matter; routes keep the order they are written in.

    Args:
        pattern: router pattern (``*`` one segment, ``**`` any number).
        target: an ``@action`` class or an :class:`~jido.ActionSpec`.
        priority: -100..100, higher first among matching routes.
        params: fixed params over the signal's data, or a function of the signal returning the params.
        when: a predicate on the signal; the route applies only where it is true.

    Raises:
        DefinitionError: at once for a bad pattern, target, priority or params.
    """
    label = f"@route({pattern!r}, ...)"
    spec = action_spec_of(target)
    if spec is None:
        shown = getattr(target, "__name__", None) or repr(target)
        raise DefinitionError(
            f"{label}: {shown} is not an action: decorate it with @action or pass an ActionSpec"
        )
    error = _pattern_error(pattern) if isinstance(pattern, str) else f"expected a string, got {pattern!r}"
    if error:
        raise DefinitionError(f"{label}: invalid pattern: {error}")
    if isinstance(priority, bool) or not isinstance(priority, int) or not -100 <= priority <= 100:
        raise DefinitionError(f"{label}: priority must be an int within -100..100, got {priority!r}")
    if params is not None and not (isinstance(params, Mapping) or callable(params)):
        raise DefinitionError(
            f"{label}: params must be a mapping or a function of the signal, got {params!r}"
        )
    if when is not None and not callable(when):
        raise DefinitionError(f"{label}: when must be a predicate on the signal, got {when!r}")
    declared = RouteSpec(
        pattern, spec, priority, dict(params) if isinstance(params, Mapping) else params, when
    )

    def decorate(cls: T) -> T:
        if not isinstance(cls, type):
            raise DefinitionError(f"{label} decorates an @agent class, got {cls!r}")
        compiled = getattr(cls, SPEC_ATTR, None)
        if compiled is None:
            # Decorators apply bottom-up: prepend so routes keep the order they are written in.
            setattr(cls, ROUTES_MARKER, (declared, *cls.__dict__.get(ROUTES_MARKER, ())))
            return cls
        if not isinstance(compiled, AgentSpec):
            raise DefinitionError(f"{label}: {display_name(cls)} is not an @agent class")
        routes = (declared, *compiled.routes)
        duplicates = _duplicates(routes)
        if duplicates:
            raise DefinitionError(f"{display_name(cls)}: {duplicates[0]}")
        attach(cls, attrs.evolve(compiled, routes=routes))
        return cls

    return decorate
