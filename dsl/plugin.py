"""``@plugin``: a class whose annotated fields are a plugin's config and whose methods are its hooks.

::

    @plugin(state=ThreadState, routes=[("thread.append", Append)])
    class Thread:
        limit: int = 100                                 # config, validated strictly like action params

        def after_cmd(self, state, outcome):             # hooks: self is the config
            return state

    @agent(plugins=[Thread(limit=50)])                   # an instance: that config; the class: its defaults
    class Chat: ...

The class compiles into a :class:`jido.agent.plugin.PluginSpec` template; :func:`plugin_spec` turns the class
(default config) or an instance (that config) into the spec that ``AgentSpec(plugins=[...])`` mounts.

Hook methods, each optional: ``on_mount(self, state)``, ``before_route(self, signal)``,
``after_cmd(self, state, outcome)``, ``on_child(self, state, signal)`` (the runtime's
``jido.agent.child.*`` notices). They run inside ``cmd`` and return data (see :mod:`jido.agent.plugin`).
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable, Mapping
from typing import Any, Final, Never, TypeVar, dataclass_transform, overload

import attrs

from dsl._build import (
    Problems,
    bare_or_called,
    caller_namespace,
    check_defaults,
    check_unknown_options,
    display_name,
    make_frozen,
    own_annotations,
    reports_user_site,
    snake_case,
)
from dsl.action import _check_signature, _scalar_validators
from jido.action.spec import action_spec_of
from jido.agent.plugin import PluginSpec, SignalHook
from jido.agent.routes import CronSchedule, RouteSpec
from jido.errors import DefinitionError, ValidationError

__all__ = ["plugin", "plugin_spec", "plugin_specs"]

T = TypeVar("T", bound=type)

PLUGIN_ATTR: Final = "__jido_plugin__"
"""Where ``@plugin`` keeps the plugin's template (a PluginSpec with the default config, or none if the config
has required fields)."""

_OPTIONS = ("name", "key", "state", "description", "routes", "subscribe", "schedules", "on_signals")
_HOOKS: Final = {
    "on_mount": ("self", "state"),
    "before_route": ("self", "signal"),
    "after_cmd": ("self", "state", "outcome"),
    "on_child": ("self", "state", "signal"),
}
_CHILD_PATTERN: Final = "jido.agent.child.*"


@attrs.frozen
class _Template:
    """The compiled plugin without its config: everything but ``config`` of the PluginSpec."""

    cls: type
    fields: Mapping[str, Any]

    def spec(self, config: object) -> PluginSpec[Any, Any]:
        return PluginSpec(config_schema=self.cls, config=config, **self.fields)


def _route(label: str, item: object) -> RouteSpec:
    if isinstance(item, RouteSpec):
        return item
    if isinstance(item, tuple) and len(item) in (2, 3):
        pattern, target, *rest = item
        spec = action_spec_of(target)
        if spec is None:
            shown = getattr(target, "__name__", None) or repr(target)
            raise DefinitionError(f"{label}: {shown} is not an action: decorate it with @action")
        priority = rest[0] if rest else 0
        if isinstance(priority, bool) or not isinstance(priority, int) or not -100 <= priority <= 100:
            raise DefinitionError(f"{label}: priority must be an int within -100..100, got {priority!r}")
        if not isinstance(pattern, str):
            raise DefinitionError(f"{label}: expected a pattern string, got {pattern!r}")
        return RouteSpec(pattern, spec, priority)
    raise DefinitionError(
        f"{label}: expected (pattern, action) or (pattern, action, priority) or a RouteSpec, got {item!r}"
    )


def _compile(
    cls: type,
    localns: dict[str, Any],
    *,
    name: str | None,
    key: str | None,
    state: type | None,
    description: str | None,
    routes: tuple[RouteSpec, ...],
    subscribe: tuple[str, ...],
    schedules: tuple[CronSchedule, ...],
    on_signals: tuple[tuple[str, str], ...],
) -> type:
    if not isinstance(cls, type):
        raise DefinitionError(f"@plugin decorates a class, got {cls!r}")
    if action_spec_of(cls) is not None:
        raise DefinitionError(f"{display_name(cls)}: a class cannot be both an @action and a @plugin")
    problems = Problems(cls, "plugin")
    annotations = own_annotations(cls)
    for member, expected in _HOOKS.items():
        if member in annotations:
            problems.add(member, f"a config field may not be named {member!r}: it is a hook's name")
            continue
        method = cls.__dict__.get(member)
        if method is not None:
            _check_signature(problems, member, method, expected)
    for pattern, member in on_signals:
        method = cls.__dict__.get(member)
        if method is None or member in annotations:
            problems.add(
                member, f"on_signals[{pattern!r}] names {member!r}, which is not a method of the class"
            )
        elif member not in _HOOKS:
            _check_signature(problems, member, method, ("self", "state", "signal"))
    problems.raise_if_any()
    frozen = make_frozen(cls, localns, problems, field_transformer=_scalar_validators(localns))
    problems.raise_if_any()
    assert frozen is not None
    check_defaults(frozen, problems)
    problems.raise_if_any()
    doc = (cls.__doc__ or "").strip().split("\n")[0]
    on_child = frozen.__dict__.get("on_child")
    fields: dict[str, Any] = {
        "name": name if name is not None else snake_case(cls.__name__).replace("__", "_"),
        "key": key,
        "state": state,
        "description": description if description is not None else doc,
        "routes": routes,
        "subscriptions": subscribe,
        "schedules": schedules,
        "on_mount": frozen.__dict__.get("on_mount"),
        "before_route": frozen.__dict__.get("before_route"),
        "after_cmd": frozen.__dict__.get("after_cmd"),
        "signal_hooks": [
            *([SignalHook(_CHILD_PATTERN, on_child, name="on_child")] if on_child else []),
            *(SignalHook(pattern, frozen.__dict__[member], name=member) for pattern, member in on_signals),
        ],
    }
    _config_errors_name_the_plugin(frozen, fields["name"])
    template = _Template(frozen, fields)
    required = [a.name for a in attrs.fields(frozen) if a.default is attrs.NOTHING]
    try:
        # Built once with the default config when there is one, so every rule is checked at definition.
        compiled: PluginSpec[Any, Any] | None = None if required else template.spec(None)
        if required:
            PluginSpec(**fields)  # the rules that do not need a config
    except DefinitionError as exc:
        raise DefinitionError(f"@plugin on {display_name(cls)}: {exc}") from None
    setattr(frozen, PLUGIN_ATTR, (template, compiled))
    return frozen


def _config_errors_name_the_plugin(cls: type, name: str) -> None:
    """Make a bad config, written ``Thread(limit="3")`` in an ``@agent(plugins=[...])`` list, fail as the
    definition error it is, naming the plugin: the class's own checks know only the field."""
    init = cls.__dict__["__init__"]

    @functools.wraps(init)
    def __init__(self: Any, *args: Any, **kwargs: Any) -> None:
        try:
            init(self, *args, **kwargs)
        except ValidationError as exc:
            lines = "; ".join(str(e) for e in exc.errors)
            raise DefinitionError(f"invalid plugin {name!r} config: {lines}") from None
        except (TypeError, ValueError) as exc:
            raise DefinitionError(f"invalid plugin {name!r} config: {exc}") from None

    cls.__init__ = __init__  # type: ignore[misc]


def plugin_spec(obj: object) -> PluginSpec[Any, Any]:
    """The plugin spec of a ``@plugin`` class (its default config) or instance (that config).

    Raises:
        DefinitionError: ``obj`` is not a plugin, or is the class of a plugin whose config has required fields.
    """
    if isinstance(obj, PluginSpec):
        return obj
    cls = obj if isinstance(obj, type) else type(obj)
    found = getattr(cls, PLUGIN_ATTR, None)
    if not isinstance(found, tuple):
        shown = display_name(cls) if isinstance(cls, type) else repr(obj)
        raise DefinitionError(f"{shown} is not a plugin: decorate it with @plugin")
    template: _Template = found[0]
    compiled: PluginSpec[Any, Any] | None = found[1]
    if obj is cls:
        if compiled is None:
            required = ", ".join(a.name for a in attrs.fields(cls) if a.default is attrs.NOTHING)
            raise DefinitionError(
                f"plugin {display_name(cls)} needs a config ({required}): mount {display_name(cls)}(...)"
            )
        return compiled
    return template.spec(obj)


def plugin_specs(items: object, where: str) -> tuple[PluginSpec[Any, Any], ...]:
    """:func:`plugin_spec` of each item of a list of plugins (``@agent(plugins=[Thread(limit=5), Audit])``).

    Raises:
        DefinitionError: ``items`` is not a list, or an item is not a plugin, naming ``where`` and its index.
    """
    if isinstance(items, str | bytes | Mapping | type | PluginSpec) or not isinstance(items, Iterable):
        raise DefinitionError(f"{where}: expected a list of plugins, got {items!r}")
    specs = []
    for index, item in enumerate(items):
        try:
            specs.append(plugin_spec(item))
        except DefinitionError as exc:
            raise DefinitionError(f"{where}[{index}]: {exc}") from None
    return tuple(specs)


def _on_signals(value: object) -> tuple[tuple[str, str], ...]:
    if value is None:
        return ()
    if not isinstance(value, Mapping) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in value.items()
    ):
        raise DefinitionError(f"@plugin(on_signals=...): expected {{pattern: method name}}, got {value!r}")
    return tuple(value.items())


@overload
def plugin(cls: T, /) -> T: ...


@overload
def plugin(
    *,
    name: str | None = None,
    key: str | None = None,
    state: type | None = None,
    description: str | None = None,
    routes: Iterable[tuple[str, Any] | tuple[str, Any, int] | RouteSpec] = (),
    subscribe: Iterable[str] = (),
    schedules: Iterable[CronSchedule] = (),
    on_signals: Mapping[str, str] | None = None,
) -> Callable[[T], T]: ...


@reports_user_site
@dataclass_transform(frozen_default=True, field_specifiers=(attrs.field, attrs.Factory))
def plugin(
    cls: Any = None,
    /,
    *,
    name: str | None = None,
    key: str | None = None,
    state: type | None = None,
    description: str | None = None,
    routes: Iterable[tuple[str, Any] | tuple[str, Any, int] | RouteSpec] = (),
    subscribe: Iterable[str] = (),
    schedules: Iterable[CronSchedule] = (),
    on_signals: Mapping[str, str] | None = None,
    **unknown: Never,
) -> Any:
    """Declare a plugin: annotated fields are its config, methods named after hooks are its hooks.

    Args:
        name: stable name; the class name in snake_case by default.
        key: the agent state field its slice is mounted under; the name by default.
        state: attrs class of its slice of the agent state (every field with a default); None: no state.
        description: one line; the docstring's first line by default.
        routes: ``(pattern, action)`` or ``(pattern, action, priority)``; the actions see the slice as
            ``ctx.state`` and the config as ``ctx.config`` (:class:`jido.agent.plugin.PluginContext`).
        subscribe: bus patterns the runtime subscribes the agent to.
        schedules: cron schedules (``dsl.cron(...)``); their job ids are prefixed with the key.
        on_signals: ``{pattern: method name}``: more signal hooks like ``on_child``, each a method taking
            ``(self, state, signal)`` (the runtime's ``jido.workflow.*`` outcomes, your own lifecycle signals).

    Raises:
        DefinitionError: at class definition, naming ``Class.member`` and the rule broken.
    """
    check_unknown_options("plugin", unknown, _OPTIONS)
    for option, value in (("routes", routes), ("subscribe", subscribe), ("schedules", schedules)):
        if isinstance(value, str | bytes | Mapping):
            raise DefinitionError(f"@plugin({option}=...): expected a list, got {value!r}")
    options: dict[str, Any] = {
        "name": name,
        "key": key,
        "state": state,
        "description": description,
        "routes": tuple(_route(f"@plugin(routes=[{i}])", r) for i, r in enumerate(routes)),
        "subscribe": tuple(subscribe),
        "schedules": tuple(schedules),
        "on_signals": _on_signals(on_signals),
    }
    localns = caller_namespace()
    return bare_or_called(cls, lambda target: _compile(target, localns, **options))
