"""What an agent is: a frozen spec (state schema, routes, strategy), and the agent value built from it."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from typing import TYPE_CHECKING, Any, Generic

import attrs

from jido._spec_attr import SPEC_ATTR
from jido._typevars import S
from jido.action.instruction import Instruction
from jido.agent.mount import mount_plugins
from jido.agent.plugin import PluginSpec
from jido.agent.routes import CronSchedule, RouteSpec
from jido.agent.state import check_state_schema
from jido.agent.strategy import Direct, Strategy
from jido.convert import structure
from jido.errors import DefinitionError, NoRouteError, ValidationError
from jido.signal.ids import new_id
from jido.signal.router import Router

if TYPE_CHECKING:
    from jido.signal import Signal

__all__ = ["Agent", "AgentSpec", "CronSchedule", "RouteSpec", "agent_spec_of"]

_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_.]*$")


def _check_name(_: object, attribute: attrs.Attribute[str], value: str) -> None:
    if not isinstance(value, str) or not _NAME.match(value):
        raise DefinitionError(f"agent name {value!r} is invalid: use letters, digits, '_' and '.'")


def _check_state_schema(_: object, attribute: attrs.Attribute[type[Any]], cls: type[Any]) -> None:
    check_state_schema(cls, "agent state schema")


def _routes(value: Iterable[RouteSpec]) -> tuple[RouteSpec, ...]:
    return tuple(value)


def _schedules(value: Iterable[CronSchedule]) -> tuple[CronSchedule, ...]:
    return tuple(value)


def _patterns(value: Iterable[str]) -> tuple[str, ...]:
    return tuple(value)


def _default_strategy() -> Strategy:
    return Direct()


def _plugins(value: Iterable[PluginSpec[Any, Any]]) -> tuple[PluginSpec[Any, Any], ...]:
    if isinstance(value, PluginSpec):
        raise DefinitionError("plugins must be a list of plugins, got a single plugin: wrap it in [...]")
    if not isinstance(value, Iterable) or isinstance(value, str | bytes | Mapping):
        raise DefinitionError(f"plugins must be a list of plugins, got {value!r}")
    return tuple(value)


@attrs.frozen
class AgentSpec(Generic[S]):
    """A compiled agent: its state schema, the routes from signal types to actions, and its strategy.

    Generic in its state class ``S``: ``AgentSpec[Counter]`` makes ``Agent[Counter]`` values.

    Attributes:
        name: stable name (``"counter"``).
        state: attrs class of the state; every field has a default and a JSON-serializable type.
        description: one line for humans.
        routes: signal patterns to actions.
        strategy: how ``cmd`` runs instructions (:class:`~jido.agent.strategy.Direct` by default).
        schedules: cron schedules started with the agent by the runtime.
        subscriptions: bus patterns the runtime subscribes the agent to.
        version: the version of the state schema (>= 1), stored with each state; raise it when the schema
            changes in a way stored states must be migrated for.
        migrations: ``{from_version: function}``: each takes a stored state (a JSON mapping) of that version
            and returns it as of the next version; a stored state is taken through each in turn.
        idle_timeout: seconds of an empty mailbox after which the runtime may hibernate the agent (its
            task ends, its state is kept, its next message wakes it); None: the runtime's default.
        plugins: plugins mounted into the agent (see :mod:`jido.agent.plugin`). Once mounted, ``state`` is
            the agent's state class with one field per plugin slice, and ``routes``, ``schedules``,
            ``subscriptions`` include the plugins' (a route's ``plugin`` names where it comes from).
    """

    name: str = attrs.field(validator=_check_name)
    state: type[S] = attrs.field(validator=_check_state_schema)
    description: str = ""
    routes: tuple[RouteSpec, ...] = attrs.field(default=(), converter=_routes)
    strategy: Strategy = attrs.field(factory=_default_strategy)
    schedules: tuple[CronSchedule, ...] = attrs.field(default=(), converter=_schedules)
    subscriptions: tuple[str, ...] = attrs.field(default=(), converter=_patterns)
    version: int = attrs.field(default=1, kw_only=True)
    migrations: Mapping[int, Callable[[dict[str, Any]], dict[str, Any]]] = attrs.field(
        factory=dict, kw_only=True, eq=False, repr=False
    )
    idle_timeout: float | None = attrs.field(default=None, kw_only=True)
    plugins: tuple[PluginSpec[Any, Any], ...] = attrs.field(default=(), converter=_plugins, kw_only=True)
    router: Router = attrs.field(init=False, eq=False, repr=False)
    # Set only when a mounted plugin has the hook, so an agent without plugins pays nothing per signal.
    route_gate: Callable[[Signal], Signal] | None = attrs.field(init=False, eq=False, repr=False)
    on_new: Callable[[S], S] | None = attrs.field(init=False, eq=False, repr=False)

    def __attrs_post_init__(self) -> None:
        if isinstance(self.version, bool) or not isinstance(self.version, int) or self.version < 1:
            raise DefinitionError(f"agent {self.name!r}: version must be an int >= 1, got {self.version!r}")
        if not isinstance(self.migrations, Mapping):
            raise DefinitionError(f"agent {self.name!r}: migrations must be a mapping of version -> function")
        for start, migrate in self.migrations.items():
            if isinstance(start, bool) or not isinstance(start, int) or not 1 <= start < self.version:
                raise DefinitionError(
                    f"agent {self.name!r}: a migration starts from a version in 1..{self.version - 1}, "
                    f"got {start!r}"
                )
            if not callable(migrate):
                raise DefinitionError(
                    f"agent {self.name!r}: the migration from version {start} is not callable"
                )
        object.__setattr__(self, "migrations", dict(self.migrations))
        idle = self.idle_timeout
        if idle is not None and (
            isinstance(idle, bool) or not isinstance(idle, int | float) or not 0 < idle < float("inf")
        ):
            raise DefinitionError(
                f"agent {self.name!r}: idle_timeout must be a positive number of seconds or None, got {idle!r}"
            )
        self._mount()
        router = Router()
        for route in self.routes:
            try:
                router.add(route.pattern, route, priority=route.priority, when=route.when)
            except ValidationError as exc:
                raise DefinitionError(f"agent {self.name!r}: route {route.pattern!r}: {exc}") from None
        object.__setattr__(self, "router", router)

    def _mount(self) -> None:
        mounting = mount_plugins(
            self.name,
            self.state,
            self.routes,
            self.schedules,
            self.subscriptions,
            self.strategy,
            self.plugins,
        )
        set_field = object.__setattr__  # frozen: mounting is part of building the spec
        set_field(self, "state", mounting.state)
        set_field(self, "routes", mounting.routes)
        set_field(self, "schedules", mounting.schedules)
        set_field(self, "subscriptions", mounting.subscriptions)
        set_field(self, "strategy", mounting.strategy)
        set_field(self, "route_gate", mounting.gate)
        set_field(self, "on_new", mounting.on_new)

    def with_plugins(self, *plugins: PluginSpec[Any, Any]) -> AgentSpec[S]:
        """This agent with ``plugins`` mounted after the ones it has (the agent itself is left as it is).

        Raises:
            DefinitionError: a conflict with the agent or its plugins, naming both sides.
        """
        return attrs.evolve(self, plugins=(*self.plugins, *plugins))

    def plugin(self, key: str) -> PluginSpec[Any, Any]:
        """The plugin mounted under the state key ``key``.

        Raises:
            LookupError: no plugin is mounted under that key.
        """
        for plugin in self.plugins:
            if plugin.key == key:
                return plugin
        mounted = ", ".join(repr(p.key) for p in self.plugins) or "none"
        raise LookupError(f"agent {self.name!r} has no plugin mounted under {key!r} (mounted: {mounted})")

    def new(self, id: str | None = None, **state: Any) -> Agent[S]:
        """A new agent value: schema defaults overridden by ``state``, validated strictly.

        Raises:
            ValidationError: a given state value does not fit the schema.
        """
        value: S = structure(state, self.state, subject=f"{self.name} state")
        if self.on_new is not None:
            value = self.on_new(value)
        return Agent(id=id if id is not None else new_id(), state=value, spec=self)

    def instructions_for(self, signal: Signal) -> tuple[Instruction, ...]:
        """The instructions ``signal`` routes to, in route order (priority, specificity, registration).

        Raises:
            NoRouteError: no route matches the signal's type.
            RoutePredicateError: a route's ``when`` raised.
            PluginRejectedError: a plugin's ``before_route`` hook refused the signal.
        """
        gate = self.route_gate
        if gate is not None:
            signal = gate(signal)
        routes = self.router.route(signal)
        if not routes:
            raise NoRouteError(signal.type, where=f"agent {self.name!r}")
        if len(routes) == 1:  # the common case, without a generator
            return (routes[0].target.instruction_for(signal),)
        return tuple(r.target.instruction_for(signal) for r in routes)


@attrs.frozen
class Agent(Generic[S]):
    """An agent value: an id, a committed state, and the spec it follows. Immutable: ``cmd`` returns a new one.

    Generic in its state class: ``Counter.new()`` is an ``Agent[Counter]``, whose ``state.count`` a type checker
    knows to be an int.

    Attributes:
        id: unique within a runtime.
        state: the committed state, an instance of ``spec.state``.
        spec: the agent's spec.
    """

    id: str
    state: S
    spec: AgentSpec[S] = attrs.field(repr=lambda s: s.name)

    def with_state(self, state: S) -> Agent[S]:
        """This agent with ``state`` as its state (not validated: the caller has validated it).

        Built directly: ``attrs.evolve`` costs three times this, on every commit. Tests pin the fields, so a
        new one cannot be forgotten here.
        """
        return Agent(self.id, state, self.spec)


def agent_spec_of(obj: object) -> AgentSpec | None:
    """The :class:`AgentSpec` behind ``obj`` (a spec, a decorated class, or an agent value), or None."""
    if isinstance(obj, AgentSpec):
        return obj
    if isinstance(obj, Agent):
        return obj.spec
    spec = getattr(obj, SPEC_ATTR, None)
    return spec if isinstance(spec, AgentSpec) else None
