"""Plugins: reusable bundles of a state slice, actions, routes, subscriptions, schedules and hooks.

A :class:`PluginSpec` is mounted into any agent (``AgentSpec(..., plugins=[Thread, Audit.configure(limit=50)])``).
Mounting happens once, when the agent spec is built, and leaves nothing for the runtime to learn:

* the plugin's state slice (an attrs class) becomes a field of the agent's state under the plugin's ``key``, so
  it is committed, stored, restored after a crash and kept through hibernation with the rest of the state;
* its routes join the agent's routes (their actions renamed ``<key>.<action>`` and scoped to the slice: an
  action sees its slice as ``ctx.state`` and its plugin's config as ``ctx.config``, and what it returns
  changes only the slice); its subscriptions and cron schedules join the agent's;
* its hooks run inside ``cmd`` and return data: ``on_mount(config, state)`` when an agent is created;
  ``before_route(config, signal)`` before a signal is routed (it may return another signal, or
  :class:`Reject` it); ``after_cmd(config, state, outcome)`` after the strategy ran (it may change the slice
  and add or filter directives); signal hooks ``(config, state, signal)`` on signals such as the runtime's
  child and lifecycle notices. Effects stay directives.

Every conflict is refused when the agent spec is built, naming both sides: two plugins claiming one state key,
a plugin key that is already an agent state field, two routes (a plugin's and the agent's, or two plugins')
for one pattern at one priority, two cron jobs with one id. A hook with the wrong signature and a config that
does not fit the plugin's config schema are refused when the plugin spec is built.

An agent without plugins pays nothing per signal: no hook is looked at and the strategy is not wrapped.
How mounting is done is :mod:`jido.agent.mount`.
"""

from __future__ import annotations

import inspect
import re
from collections.abc import Callable, Iterable, Mapping
from typing import TYPE_CHECKING, Any, Generic, Protocol, TypeAlias, TypeVar, cast

import attrs

from jido.action.spec import ActionContext
from jido.agent.directives import Directive, Error
from jido.agent.routes import CronSchedule, RouteSpec
from jido.agent.state import RESERVED_STATE_NAMES, check_state_schema
from jido.convert import structure, unstructure
from jido.errors import (
    DefinitionError,
    PluginHookError,
    PluginRejectedError,
    ValidationError,
)
from jido.signal import Signal
from jido.signal.router import Router

if TYPE_CHECKING:
    from jido.agent.spec import AgentSpec

__all__ = [
    "CmdOutcome",
    "HasState",
    "PluginContext",
    "PluginHookError",
    "PluginRejectedError",
    "PluginSpec",
    "Reject",
    "SignalHook",
]

C = TypeVar("C")
P = TypeVar("P")

_NAME = re.compile(r"^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)*$")
_KEY = re.compile(r"^[a-z][a-z0-9_]*$")


# -- values the hooks take and return ---------------------------------------------------------------------
@attrs.frozen
class Reject:
    """What a ``before_route`` hook returns to refuse a signal: it is answered with a
    :class:`PluginRejectedError` and dead-lettered, and nothing runs (a rejection, not a crash)."""

    reason: str


@attrs.frozen
class CmdOutcome:
    """What ``after_cmd`` hooks see of one ``cmd``.

    Attributes:
        agent_id: the agent.
        signal: the signal handled, or None when ``cmd`` was called without one.
        actions: the names of the actions that ran, in order.
        directives: the directives so far (an earlier plugin's ``after_cmd`` may have changed them).
    """

    agent_id: str
    signal: Signal | None
    actions: tuple[str, ...]
    directives: tuple[Directive, ...]

    @property
    def errors(self) -> tuple[Error, ...]:
        """The :class:`~jido.agent.directives.Error` directives: what failed."""
        return tuple(d for d in self.directives if isinstance(d, Error))

    @property
    def ok(self) -> bool:
        """True when nothing failed."""
        return not any(isinstance(d, Error) for d in self.directives)


@attrs.frozen
class PluginContext(ActionContext[P], Generic[P, C]):
    """What a plugin's action sees: ``state`` is the plugin's slice (not the whole agent state) and ``config``
    the plugin's config."""

    config: C = attrs.field(default=None)


MountHook: TypeAlias = Callable[[Any, Any], Any]
"""``on_mount(config, state) -> state``: the slice of a new agent, as the plugin wants it to start."""
RouteHook: TypeAlias = Callable[[Any, Signal], "Signal | Reject | None"]
"""``before_route(config, signal) -> Signal | Reject | None``: None goes on with the signal as it is."""
AfterCmdHook: TypeAlias = Callable[[Any, Any, CmdOutcome], Any]
"""``after_cmd(config, state, outcome) -> state | (state, directives)``: a tuple replaces the directives."""
SignalHookFn: TypeAlias = Callable[[Any, Any, Signal], Any]
"""``hook(config, state, signal) -> state | (state, directives) | None``: None changes nothing."""


def _check_hook(label: str, hook: str, fn: object, takes: tuple[str, ...]) -> None:
    """Refuse a hook that cannot be called as ``fn(*takes)`` or that is async (hooks run inside ``cmd``)."""
    if fn is None:
        return
    shown = f"({', '.join(takes)})"
    if not callable(fn):
        raise DefinitionError(f"{label}: {hook} must be a function taking {shown}, got {type(fn).__name__}")
    if inspect.iscoroutinefunction(fn):
        raise DefinitionError(
            f"{label}: {hook} must be a plain function taking {shown}, not async: hooks run inside cmd "
            "and return data; effects are directives"
        )
    try:
        parameters = list(inspect.signature(fn).parameters.values())
    except (TypeError, ValueError):  # a builtin without a signature: it is the caller's to know
        return
    positional = [p for p in parameters if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    required = [p for p in positional if p.default is p.empty]
    varargs = any(p.kind is p.VAR_POSITIONAL for p in parameters)
    required_kw = [p for p in parameters if p.kind is p.KEYWORD_ONLY and p.default is p.empty]
    fits = len(required) <= len(takes) and (varargs or len(takes) <= len(positional))
    if not fits or required_kw:
        got = ", ".join(p.name for p in parameters)
        raise DefinitionError(f"{label}: {hook} must take {shown}, got ({got})")


@attrs.frozen
class SignalHook:
    """A hook on signals whose type matches ``pattern`` (``"jido.agent.child.*"``), run as a route of the
    plugin: ``hook(config, state, signal)`` returns the new slice, ``(slice, directives)``, or None."""

    pattern: str
    hook: SignalHookFn
    name: str = "on_signal"
    priority: int = 0


class HasState(Protocol):
    """An agent value or a running agent's ref: what :meth:`PluginSpec.state_of` reads a slice from."""

    @property
    def spec(self) -> AgentSpec[Any]: ...

    @property
    def state(self) -> Any: ...


# -- the plugin spec ----------------------------------------------------------------------------------------
def _check_name(_: object, attribute: attrs.Attribute[str], value: object) -> None:
    if not isinstance(value, str) or not _NAME.match(value):
        raise DefinitionError(
            f"plugin name {value!r} is invalid: use lowercase letters, digits and '_', dotted segments allowed"
        )


def _tuple(value: Iterable[Any]) -> tuple[Any, ...]:
    if isinstance(value, str | bytes | Mapping):
        raise DefinitionError(f"expected a list, got {type(value).__name__} {value!r}")
    return tuple(value)


def _default_key(name: str) -> str:
    return name.replace(".", "_")


@attrs.frozen
class PluginSpec(Generic[C, P]):
    """A compiled plugin: what it adds to an agent and its validated config. Mount it with
    ``AgentSpec(..., plugins=[...])`` (``@agent(plugins=[...])`` in the DSL).

    Generic in its config class ``C`` and its state class ``P``: ``Thread.state_of(agent)`` is a ``P``.

    Attributes:
        name: stable name (``"thread"``).
        state: attrs class of the plugin's slice of the agent state (every field with a default and a JSON
            type), or None for a plugin without state.
        config_schema: attrs class of the config, validated strictly like action params; None: no config.
        config: the config (an instance of ``config_schema``, or a mapping of its fields); defaults to
            ``config_schema()``.
        key: the agent state field the slice is mounted under, and the prefix of the plugin's action names;
            defaults to the name. Mount a plugin twice under two keys with :meth:`mounted_as`.
        description: one line for humans.
        routes: signal patterns to the plugin's actions; the actions see the slice as ``ctx.state``.
        subscriptions: bus patterns the runtime subscribes the agent to.
        schedules: cron schedules; their job ids are prefixed with ``<key>.`` when mounted.
        on_mount: ``(config, state) -> state``, when an agent is created (not when one is restored).
        before_route: ``(config, signal) -> Signal | Reject | None``, before each signal is routed.
        after_cmd: ``(config, state, outcome) -> state | (state, directives)``, after each ``cmd``.
        signal_hooks: hooks on signal patterns (child and lifecycle notices, ...).
    """

    name: str = attrs.field(validator=_check_name)
    state: type[P] | None = None
    config_schema: type[C] | None = None
    config: C = attrs.field(default=None)
    key: str = attrs.field(default=cast(str, None))  # None: the name, set in __attrs_post_init__
    description: str = ""
    routes: tuple[RouteSpec, ...] = attrs.field(default=(), converter=_tuple)
    subscriptions: tuple[str, ...] = attrs.field(default=(), converter=_tuple)
    schedules: tuple[CronSchedule, ...] = attrs.field(default=(), converter=_tuple)
    on_mount: MountHook | None = None
    before_route: RouteHook | None = None
    after_cmd: AfterCmdHook | None = None
    signal_hooks: tuple[SignalHook, ...] = attrs.field(default=(), converter=_tuple)

    def __attrs_post_init__(self) -> None:
        if cast(str | None, self.key) is None:
            object.__setattr__(self, "key", _default_key(self.name))
        label = self.label
        if not isinstance(self.key, str) or not _KEY.match(self.key):
            raise DefinitionError(
                f"{label}: key {self.key!r} is invalid: use lowercase letters, digits and '_' "
                "(it names a state field)"
            )
        if self.key in RESERVED_STATE_NAMES or self.key == "new":
            raise DefinitionError(
                f"{label}: key {self.key!r} is a reserved state name: mount it under another"
            )
        if self.state is not None:
            check_state_schema(self.state, f"{label} state")
        object.__setattr__(self, "config", self._checked_config())
        _check_hook(label, "on_mount", self.on_mount, ("config", "state"))
        _check_hook(label, "before_route", self.before_route, ("config", "signal"))
        _check_hook(label, "after_cmd", self.after_cmd, ("config", "state", "outcome"))
        self._check_members(label)

    def _checked_config(self) -> C:
        schema, config, label = self.config_schema, self.config, self.label
        if schema is None:
            if config is not None:
                raise DefinitionError(f"{label} takes no config, got {config!r}")
            return config
        if not (isinstance(schema, type) and attrs.has(schema)):
            raise DefinitionError(f"{label}: config schema must be an attrs class, got {schema!r}")
        subject = f"{label} config"
        try:
            if config is None:
                value = schema()
            elif isinstance(config, schema):
                # Validated again as data: an attrs class does not check types, and a config must not slip
                # a string where the plugin counts on an int.
                value = structure(unstructure(config), schema, subject=subject)
            elif isinstance(config, Mapping):
                value = structure(dict(config), schema, subject=subject)
            else:
                raise DefinitionError(
                    f"{subject}: expected a {schema.__qualname__} or a mapping of its fields, got {config!r}"
                )
        except ValidationError as exc:
            lines = "; ".join(str(e) for e in exc.errors)
            raise DefinitionError(f"invalid {subject}: {lines}") from None
        except (TypeError, ValueError) as exc:
            if isinstance(exc, DefinitionError):
                raise
            raise DefinitionError(f"invalid {subject}: {exc}") from None
        return cast(C, value)

    def _check_members(self, label: str) -> None:
        router = Router()
        for index, route in enumerate(self.routes):
            if not isinstance(route, RouteSpec):
                raise DefinitionError(f"{label}: routes[{index}] must be a RouteSpec, got {route!r}")
            try:
                router.add(route.pattern, route, priority=route.priority)
            except ValidationError as exc:
                raise DefinitionError(f"{label}: route {route.pattern!r}: {exc}") from None
        for index, hook in enumerate(self.signal_hooks):
            if not isinstance(hook, SignalHook):
                raise DefinitionError(f"{label}: signal_hooks[{index}] must be a SignalHook, got {hook!r}")
            try:
                router.add(hook.pattern, hook, priority=hook.priority)
            except ValidationError as exc:
                raise DefinitionError(f"{label}: {hook.name} pattern {hook.pattern!r}: {exc}") from None
            _check_hook(label, hook.name, hook.hook, ("config", "state", "signal"))
        for index, schedule in enumerate(self.schedules):
            if not isinstance(schedule, CronSchedule):
                raise DefinitionError(f"{label}: schedules[{index}] must be a CronSchedule, got {schedule!r}")
        probe = Router()
        for pattern in self.subscriptions:
            try:
                probe.add(pattern, pattern)
            except (ValidationError, TypeError) as exc:
                raise DefinitionError(f"{label}: subscription {pattern!r}: {exc}") from None

    @property
    def label(self) -> str:
        """How messages name the plugin: ``plugin 'thread'``, with its key when it differs from the name."""
        if self.key is None or self.key == _default_key(self.name):
            return f"plugin {self.name!r}"
        return f"plugin {self.name!r} (key {self.key!r})"

    def configure(self, config: C | Mapping[str, Any] | None = None, /, **values: Any) -> PluginSpec[C, P]:
        """This plugin with another config: a config instance, a mapping, or keyword values.

        Raises:
            DefinitionError: the config does not fit the plugin's config schema (each ``$.path`` named).
        """
        if config is not None and values:
            raise DefinitionError(f"{self.label}: configure() takes a config or keyword values, not both")
        # Validated by __attrs_post_init__ as any given config is: a mapping is structured into the schema.
        return attrs.evolve(self, config=cast(C, values if values else config))

    def __call__(self, **values: Any) -> PluginSpec[C, P]:
        """``Audit(limit=100)``: the same as :meth:`configure` with keyword values, so a plugin spec is
        configured in an ``@agent(plugins=[...])`` list the way a ``@plugin`` class is.

        Raises:
            DefinitionError: the config does not fit the plugin's config schema.
        """
        return self.configure(**values)

    def mounted_as(self, key: str) -> PluginSpec[C, P]:
        """This plugin mounted under another state key (to mount it twice, or beside a field of that name)."""
        return attrs.evolve(self, key=key)

    def state_of(self, agent: HasState) -> P:
        """This plugin's slice of ``agent``'s state (an agent value, or an ``AgentRef``: its last committed state).

        Raises:
            LookupError: the plugin is not mounted in the agent under its key.
        """
        mounted = {p.key: p for p in agent.spec.plugins}
        if mounted.get(self.key) is None or mounted[self.key].name != self.name:
            raise LookupError(f"{self.label} is not mounted in agent {agent.spec.name!r}")
        return cast(P, getattr(agent.state, self.key, None))
