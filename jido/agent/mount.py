"""Mounting plugins into an agent spec: the state class with their slices, their routes with actions scoped
to the slices, the strategy wrapper that runs ``after_cmd`` hooks, the route gate of ``before_route`` hooks.

:class:`~jido.agent.spec.AgentSpec` calls :func:`mount_plugins` when it is built; nothing here runs per signal
for an agent without plugins. What plugins are is :mod:`jido.agent.plugin`.
"""

from __future__ import annotations

import inspect
import operator
import typing
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, Final

import attrs

from jido.action.result import ActionResult, normalize_result
from jido.action.spec import ActionContext, ActionSpec
from jido.agent.directives import Directive, Error
from jido.agent.plugin import (
    CmdOutcome,
    PluginContext,
    PluginHookError,
    PluginRejectedError,
    PluginSpec,
    Reject,
    SignalHook,
)
from jido.agent.routes import CronSchedule, RouteSpec
from jido.agent.state import ReplaceField
from jido.agent.state_ops import DeleteKeys, DeletePath, ReplaceState, SetPath, SetState, StateOp
from jido.convert import structure, unstructure
from jido.errors import ActionError, DefinitionError, ValidationError
from jido.signal import Signal

if TYPE_CHECKING:
    from jido.action.instruction import Instruction
    from jido.agent.spec import Agent
    from jido.agent.strategy import Strategy

__all__ = ["Mounting", "PluginStrategy", "mount_plugins", "scoped_action", "unmounted_state"]

_MOUNTED_BASE: Final = "__jido_unmounted_state__"


# -- scoping a plugin's actions to its slice -----------------------------------------------------------------
def _rescoped_ops(plugin: PluginSpec[Any, Any], op: StateOp) -> list[StateOp]:
    key = plugin.key
    if isinstance(op, SetState):
        return [SetState({key: dict(op.values)})]
    if isinstance(op, ReplaceState):
        return [SetPath((key,), dict(op.values))]
    if isinstance(op, DeleteKeys):
        known = {a.name for a in attrs.fields(plugin.state)} if plugin.state is not None else set()
        unknown = [k for k in op.keys if k not in known]
        if unknown:
            raise ValidationError.at(
                "$", f"DeleteKeys: unknown field(s) of {plugin.label}: {', '.join(unknown)}"
            )
        return [DeletePath((key, k)) for k in op.keys]
    if isinstance(op, SetPath):
        return [SetPath((key, *op.path), op.value)]
    if isinstance(op, DeletePath):
        return [DeletePath((key, *op.path))]
    raise TypeError(f"unknown state operation {type(op).__name__}")


def _rescope(plugin: PluginSpec[Any, Any], action: ActionSpec, returned: object, before: Any) -> ActionResult:
    """What a plugin action returned, as changes to its slice (``before``) of the agent state."""
    result = normalize_result(returned, action.name)
    value = dict(result.value)
    if action.output is not None:
        try:
            structure(value, action.output, subject=f"{action.name} output")
        except ValidationError as exc:
            lines = "\n".join(str(e) for e in exc.errors)
            raise ActionError(
                f"output of action {action.name!r} does not fit its schema:\n{lines}", action=action.name
            ) from exc
    ops = [e for e in result.effects if isinstance(e, StateOp)]
    if plugin.state is None and (value or ops):
        raise ActionError(
            f"action {action.name!r} of {plugin.label} changed state, but the plugin has none",
            action=action.name,
        )
    if not value and not ops:
        return result
    new = _new_slice(plugin, before, value, ops)
    if new is not None:
        directives = tuple(e for e in result.effects if not isinstance(e, StateOp))
        return ActionResult({}, directives if new is before else (ReplaceField(plugin.key, new), *directives))
    # Anything the quick path does not take goes through the whole state, with its complete messages.
    if not ops:
        return ActionResult({plugin.key: value}, result.effects)
    effects: list[Any] = []
    for effect in result.effects:
        effects.extend(_rescoped_ops(plugin, effect) if isinstance(effect, StateOp) else [effect])
    return ActionResult({plugin.key: value} if value else {}, tuple(effects))


class _Unsure(Exception):
    """The quick path does not handle this change: the whole state's path will."""


def _merged(old: Any, change: Any) -> Any:
    """``change`` deep-merged over ``old`` where both are plain mappings, else ``change`` (as the converter's
    path merges them).

    Raises:
        _Unsure: a mapping to merge into an attrs value (the converter merges its fields; left to it).
    """
    if isinstance(change, Mapping):
        if attrs.has(type(old)):
            raise _Unsure
        if isinstance(old, Mapping):
            merged = dict(old)
            for key, value in change.items():
                merged[key] = _merged(merged[key], value) if key in merged else value
            return merged
    return change


def _new_slice(
    plugin: PluginSpec[Any, Any], before: Any, value: Mapping[str, Any], ops: list[StateOp]
) -> Any:
    """The slice after ``value`` and ``ops``, validated field by field (items of a log or a dict left as they
    were are not validated again); None when the change is not one this path handles, or does not fit."""
    cls = plugin.state
    if cls is None or type(before) is not cls:
        return None
    try:
        data = _slice_changes(cls, before, value, ops)
        changes: dict[str, Any] = {}
        subject = f"{plugin.label} state"
        for name, new in data.items():
            field = attrs.fields_dict(cls)[name]
            old = getattr(before, name)
            if new is not old:
                changes[field.alias or name] = _checked_field(field, new, old, subject)
        return attrs.evolve(before, **changes) if changes else before
    except (_Unsure, ValidationError, TypeError, ValueError):
        return None


def _slice_changes(cls: type, before: Any, value: Mapping[str, Any], ops: list[StateOp]) -> dict[str, Any]:
    """The new value of each field ``value`` and ``ops`` change (not validated yet).

    Raises:
        _Unsure: a change this path leaves to the converter (nested attrs values, resets, deep paths).
    """
    fields = attrs.fields_dict(cls)
    data: dict[str, Any] = {}

    def current(name: str) -> Any:
        return data[name] if name in data else getattr(before, name)

    def merge(changes: Mapping[str, Any]) -> None:
        for name, change in changes.items():
            if name not in fields:
                raise _Unsure
            data[name] = _merged(current(name), change)

    merge(value)
    for op in ops:
        if isinstance(op, SetState):
            merge(op.values)
            continue
        if not (isinstance(op, SetPath | DeletePath) and op.path[0] in fields and len(op.path) <= 2):
            raise _Unsure
        name = op.path[0]
        if len(op.path) == 1:
            if isinstance(op, DeletePath):
                raise _Unsure  # a reset to the default: the converter knows defaults best
            data[name] = op.value
            continue
        held = current(name)
        if not isinstance(held, Mapping) or attrs.has(type(held)):
            raise _Unsure
        updated = dict(held)
        if isinstance(op, SetPath):
            updated[op.path[1]] = op.value
        else:
            updated.pop(op.path[1], None)
        data[name] = updated
    return data


def _scoped_context(plugin: PluginSpec[Any, Any], ctx: ActionContext[Any]) -> PluginContext[Any, Any]:
    state = getattr(ctx.state, plugin.key, None) if ctx.state is not None else None
    return PluginContext(ctx.action, state, ctx.agent_id, ctx.signal, ctx.data, ctx.attempt, plugin.config)


def scoped_action(plugin: PluginSpec[Any, Any], action: ActionSpec) -> ActionSpec:
    """``action`` as mounted from ``plugin``: named ``<key>.<name>``, seeing and changing the plugin's slice."""
    inner = action.run
    compensate = action.compensate
    scoped_compensate: Callable[..., Any] | None = None
    run: Callable[..., Any]
    if inspect.iscoroutinefunction(inner):

        async def run_async(params: Any, ctx: ActionContext[Any]) -> ActionResult:
            scoped = _scoped_context(plugin, ctx)
            return _rescope(plugin, action, await inner(params, scoped), scoped.state)

        run = run_async
    else:

        def run_sync(params: Any, ctx: ActionContext[Any]) -> ActionResult:
            scoped = _scoped_context(plugin, ctx)
            return _rescope(plugin, action, inner(params, scoped), scoped.state)

        run = run_sync
    if compensate is not None:
        if inspect.iscoroutinefunction(compensate):

            async def compensate_async(params: Any, ctx: ActionContext[Any], error: BaseException) -> Any:
                return await compensate(params, _scoped_context(plugin, ctx), error)

            scoped_compensate = compensate_async
        else:

            def compensate_sync(params: Any, ctx: ActionContext[Any], error: BaseException) -> Any:
                return compensate(params, _scoped_context(plugin, ctx), error)

            scoped_compensate = compensate_sync
    # The output schema is checked in _rescope, against what the action returned, before it is re-rooted.
    return attrs.evolve(
        action, name=f"{plugin.key}.{action.name}", run=run, compensate=scoped_compensate, output=None
    )


def _hook_result(
    plugin: PluginSpec[Any, Any], hook: str, current: Any, returned: object, directives: Sequence[Directive]
) -> tuple[Any, list[Directive]]:
    """``(slice, directives)`` from what a hook returned; the slice validated against the plugin's schema.

    Raises:
        PluginHookError: the hook returned something else, or a slice that does not fit.
    """
    where = f"{plugin.label}: {hook}"
    new_directives = list(directives)
    value = returned
    if isinstance(returned, tuple):
        if len(returned) != 2:
            raise PluginHookError(
                f"{where} returned a tuple of {len(returned)}: expected (state, directives)",
                plugin=plugin.key,
                hook=hook,
            )
        value, listed = returned
        if isinstance(listed, Directive) or not isinstance(listed, Sequence):
            raise PluginHookError(
                f"{where} returned {type(listed).__name__} where a list of directives was expected",
                plugin=plugin.key,
                hook=hook,
            )
        new_directives = list(listed)
        for item in new_directives:
            if not isinstance(item, Directive):
                raise PluginHookError(
                    f"{where} returned {type(item).__name__} among its directives",
                    plugin=plugin.key,
                    hook=hook,
                )
    if value is None or value is current:
        return current, new_directives
    if plugin.state is None or not isinstance(value, plugin.state):
        expected = plugin.state.__qualname__ if plugin.state is not None else "None (the plugin has no state)"
        raise PluginHookError(
            f"{where} returned {type(value).__name__} as the state: expected {expected}",
            plugin=plugin.key,
            hook=hook,
        )
    try:
        # Validated as data, as every committed state is: an attrs instance can hold anything.
        checked = _checked_slice(plugin.state, current, value, f"{plugin.label} state")
    except ValidationError as exc:
        lines = "; ".join(str(e) for e in exc.errors)
        raise PluginHookError(
            f"{where} returned a state that does not fit: {lines}", plugin=plugin.key, hook=hook
        ) from None
    return checked, new_directives


def _check_value(value: Any, tp: Any, path: str, subject: str) -> Any:
    try:
        return structure(unstructure(value), tp, subject=subject)
    except ValidationError as exc:
        raise exc.prefixed(path) from None


def _kept_items(value: Sequence[Any], before: Sequence[Any]) -> int:
    """How many leading items of ``value`` are a run of ``before`` (the same objects, in order), found where
    a bounded log puts them: ``before`` with its oldest few items dropped."""
    if not value or not before:
        return 0
    first = value[0]
    for start in range(min(len(before), _DROPPED_SCAN)):
        if before[start] is first:
            count = min(len(value), len(before) - start)
            # map over operator.is_ compares in C: the run is checked without a Python loop per item.
            return count if all(map(operator.is_, value[:count], before[start : start + count])) else 0
    return 0


_DROPPED_SCAN: Final = 64  # items dropped from a log's front in one change that are still recognised


def _checked_field(field: attrs.Attribute[Any], value: Any, before: Any, subject: str) -> Any:
    """``value`` of ``field`` validated; the leading items of a sequence that were already in ``before`` (the
    same objects, so valid) are not validated again. A bounded log that gains one item per signal then costs
    one item's validation, not the whole log's."""
    tp, path = field.type, f"$.{field.name}"
    origin, args = typing.get_origin(tp), typing.get_args(tp)
    if origin is dict and len(args) == 2 and isinstance(value, Mapping) and isinstance(before, Mapping):
        return _checked_dict(value, before, args, path, subject)
    homogeneous = (origin is tuple and len(args) == 2 and args[1] is Ellipsis) or (
        origin is list and len(args) == 1
    )
    if not (homogeneous and isinstance(value, tuple | list) and isinstance(before, tuple | list)):
        return _check_value(value, tp, path, subject)
    kept = _kept_items(value, before)
    fresh = [
        _check_value(item, args[0], f"{path}[{index}]", subject)
        for index, item in enumerate(value[kept:], start=kept)
    ]
    if type(value) is origin and all(map(operator.is_, fresh, value[kept:])):
        return value
    container: type[Any] = tuple if origin is tuple else list
    return container([*value[:kept], *fresh])


def _checked_dict(
    value: Mapping[Any, Any], before: Mapping[Any, Any], args: tuple[Any, ...], path: str, subject: str
) -> Any:
    """A dict field: the values also in ``before`` under the same key (the same objects) are not validated
    again, so writing one key of a large mapping costs that key."""
    if args[0] is not str:
        return _check_value(value, dict[args[0], args[1]], path, subject)  # type: ignore[valid-type]
    checked: dict[str, Any] = {}
    same = type(value) is dict
    for key, item in value.items():
        if not isinstance(key, str):
            raise ValidationError.at(path, f"expected string keys, got {type(key).__name__}", subject=subject)
        if key in before and before[key] is item:
            checked[key] = item
            continue
        new = _check_value(item, args[1], f"{path}.{key}", subject)
        same = same and new is item
        checked[key] = new
    return value if same else checked


def _checked_slice(cls: type, before: Any, value: Any, subject: str) -> Any:
    """``value`` (an instance of ``cls``) validated as data; fields left as they were in ``before`` (the same
    objects, hence already valid) are not looked at.

    Raises:
        ValidationError: with the ``$.path`` of each problem.
    """
    if type(before) is not cls:
        return structure(unstructure(value), cls, subject=subject)
    changes: dict[str, Any] = {}
    for field in attrs.fields(cls):
        new, old = getattr(value, field.name), getattr(before, field.name)
        if new is not old:
            checked = _checked_field(field, new, old, subject)
            if checked is not new:
                changes[field.alias or field.name] = checked
    return attrs.evolve(value, **changes) if changes else value


def _signal_hook_action(plugin: PluginSpec[Any, Any], hook: SignalHook) -> ActionSpec:
    fn, config, key = hook.hook, plugin.config, plugin.key

    def run(params: Any, ctx: ActionContext[Any]) -> ActionResult:
        current = getattr(ctx.state, key, None) if ctx.state is not None else None
        try:
            returned = fn(config, current, ctx.signal)
        except Exception as exc:
            raise PluginHookError(
                f"{plugin.label}: {hook.name} raised {type(exc).__name__}: {exc}", plugin=key, hook=hook.name
            ) from exc
        value, directives = _hook_result(plugin, hook.name, current, returned, [])
        ops: list[Any] = [] if value is current else [ReplaceField(key, value)]
        return ActionResult({}, (*ops, *directives))

    return ActionSpec(name=f"{key}.{hook.name}", run=run, description=f"{plugin.label}: {hook.name}")


def _no_params(signal: Signal) -> Mapping[str, Any]:
    return {}  # a signal hook reads the signal itself: its data is not params


def _mounted_routes(plugin: PluginSpec[Any, Any]) -> list[RouteSpec]:
    routes = [
        attrs.evolve(route, action=scoped_action(plugin, route.action), plugin=plugin.key)
        for route in plugin.routes
    ]
    routes.extend(
        RouteSpec(
            hook.pattern, _signal_hook_action(plugin, hook), hook.priority, _no_params, plugin=plugin.key
        )
        for hook in plugin.signal_hooks
    )
    return routes


# -- the strategy wrapper that runs after_cmd hooks ---------------------------------------------------------
@attrs.frozen
class PluginStrategy:
    """The agent's own strategy, then each mounted plugin's ``after_cmd`` hook, in mount order.

    Only agents with an ``after_cmd`` hook get it. Anything else asked of it (a strategy's own attributes,
    ``after_crash``) is the inner strategy's.

    Attributes:
        inner: the agent's strategy.
        plugins: the plugins with an ``after_cmd`` hook.
    """

    inner: Strategy
    plugins: tuple[PluginSpec[Any, Any], ...]

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__") or name in ("inner", "plugins"):
            raise AttributeError(name)
        return getattr(self.inner, name)

    def run(
        self, agent: Agent[Any], instructions: Sequence[Instruction], *, signal: Any = None
    ) -> tuple[Agent[Any], list[Directive]]:
        agent, directives = self.inner.run(agent, instructions, signal=signal)
        return self._after(agent, instructions, signal, directives)

    async def run_async(
        self, agent: Agent[Any], instructions: Sequence[Instruction], *, signal: Any = None
    ) -> tuple[Agent[Any], list[Directive]]:
        agent, directives = await self.inner.run_async(agent, instructions, signal=signal)
        return self._after(agent, instructions, signal, directives)

    def _after(
        self, agent: Agent[Any], instructions: Sequence[Instruction], signal: Any, directives: list[Directive]
    ) -> tuple[Agent[Any], list[Directive]]:
        actions = tuple(i.action.name for i in instructions)
        for plugin in self.plugins:
            hook = plugin.after_cmd
            assert hook is not None
            current = getattr(agent.state, plugin.key, None)
            outcome = CmdOutcome(
                agent.id, signal if isinstance(signal, Signal) else None, actions, tuple(directives)
            )
            try:
                try:
                    returned = hook(plugin.config, current, outcome)
                except Exception as exc:
                    error = PluginHookError(
                        f"{plugin.label}: after_cmd raised {type(exc).__name__}: {exc}",
                        plugin=plugin.key,
                        hook="after_cmd",
                    )
                    error.__cause__ = exc
                    raise error from exc
                value, directives = _hook_result(plugin, "after_cmd", current, returned, directives)
            except PluginHookError as exc:
                # Like a failed action: the agent's error policy decides (under "crash", nothing commits).
                directives = [*directives, Error(exc, context="plugin", action=f"{plugin.key}.after_cmd")]
                continue
            if value is not current:
                agent = agent.with_state(attrs.evolve(agent.state, **{plugin.key: value}))
        return agent, directives


# -- mounting ------------------------------------------------------------------------------------------------
_MOUNTED: dict[tuple[type, tuple[tuple[str, type], ...]], type] = {}


def unmounted_state(state: type) -> type:
    """The agent's own state class behind a state class that has plugins' slices mounted (else itself)."""
    base = state.__dict__.get(_MOUNTED_BASE)
    return base if isinstance(base, type) else state


def _mounted_state(base: type, slices: tuple[tuple[str, type], ...]) -> type:
    """``base`` with one more field per slice (``key: SliceClass``, defaulting to a fresh slice); cached, so
    a spec rebuilt with the same plugins (``attrs.evolve``) has the same state class."""
    cache_key = (base, slices)
    cls = _MOUNTED.get(cache_key)
    if cls is None:
        fields = {key: attrs.field(type=slice_cls, factory=slice_cls) for key, slice_cls in slices}
        cls = attrs.make_class(base.__name__, fields, bases=(base,), frozen=True, slots=True)
        # The agent's own class name in reprs and errors: the slices are part of its state.
        cls.__qualname__ = base.__qualname__
        cls.__module__ = base.__module__
        setattr(cls, _MOUNTED_BASE, base)
        _MOUNTED[cache_key] = cls
    return cls


@attrs.frozen
class Mounting:
    """What an agent spec is, once its plugins are mounted (see :func:`mount_plugins`)."""

    state: type
    routes: tuple[RouteSpec, ...]
    schedules: tuple[CronSchedule, ...]
    subscriptions: tuple[str, ...]
    strategy: Strategy
    gate: Callable[[Signal], Signal] | None
    on_new: Callable[[Any], Any] | None


def _route_side(route: RouteSpec, plugins: Mapping[str, PluginSpec[Any, Any]]) -> str:
    if route.plugin is None:
        return f"the agent's route (action {route.action.name!r})"
    return f"{plugins[route.plugin].label}'s route (action {route.action.name!r})"


def _gate(plugins: tuple[PluginSpec[Any, Any], ...]) -> Callable[[Signal], Signal]:
    def gate(signal: Signal) -> Signal:
        for plugin in plugins:
            hook = plugin.before_route
            assert hook is not None
            try:
                returned = hook(plugin.config, signal)
            except Exception as exc:
                # Refused rather than crashing the agent: a hook that cannot look at a signal must not let it
                # through unchecked, and a rejection leaves the agent running, with the signal dead-lettered.
                error = PluginRejectedError(
                    f"{plugin.label}: before_route raised {type(exc).__name__}: {exc}",
                    plugin=plugin.key,
                    reason="before_route raised",
                    signal_type=signal.type,
                )
                raise error from exc
            if returned is None:
                continue
            if isinstance(returned, Reject):
                raise PluginRejectedError(
                    f"{plugin.label} rejected signal {signal.type!r}: {returned.reason}",
                    plugin=plugin.key,
                    reason=returned.reason,
                    signal_type=signal.type,
                )
            if not isinstance(returned, Signal):
                raise PluginRejectedError(
                    f"{plugin.label}: before_route returned {type(returned).__name__}: expected a Signal, "
                    "a Reject or None",
                    plugin=plugin.key,
                    reason="before_route returned a wrong value",
                    signal_type=signal.type,
                )
            signal = returned
        return signal

    return gate


def _on_new(plugins: tuple[PluginSpec[Any, Any], ...]) -> Callable[[Any], Any]:
    def on_new(state: Any) -> Any:
        for plugin in plugins:
            hook = plugin.on_mount
            assert hook is not None
            current = getattr(state, plugin.key, None)
            try:
                returned = hook(plugin.config, current)
            except Exception as exc:
                raise PluginHookError(
                    f"{plugin.label}: on_mount raised {type(exc).__name__}: {exc}",
                    plugin=plugin.key,
                    hook="on_mount",
                ) from exc
            value, _ = _hook_result(plugin, "on_mount", current, returned, [])
            if value is not current:
                state = attrs.evolve(state, **{plugin.key: value})
        return state

    return on_new


def mount_plugins(
    agent: str,
    state: type,
    routes: Sequence[RouteSpec],
    schedules: Sequence[CronSchedule],
    subscriptions: Sequence[str],
    strategy: Strategy,
    plugins: Sequence[PluginSpec[Any, Any]],
) -> Mounting:
    """Mount ``plugins`` into the agent ``agent``: its state class with their slices, its routes, schedules
    and subscriptions with theirs, its strategy wrapped when a plugin has an ``after_cmd`` hook.

    Idempotent: what a previous mounting added (plugin routes and schedules, slices, the wrapper) is taken
    off first, so a spec rebuilt with ``attrs.evolve`` mounts its plugins once.

    Raises:
        DefinitionError: a conflict, naming both sides.
    """
    base = unmounted_state(state)
    own_routes = [r for r in routes if r.plugin is None]
    own_schedules = [s for s in schedules if s.plugin is None]
    inner = strategy.inner if isinstance(strategy, PluginStrategy) else strategy
    if not plugins:
        return Mounting(
            base, tuple(own_routes), tuple(own_schedules), tuple(subscriptions), inner, None, None
        )
    where = f"agent {agent!r}"
    by_key: dict[str, PluginSpec[Any, Any]] = {}
    own_fields = {a.name for a in attrs.fields(base)}
    for index, plugin in enumerate(plugins):
        if not isinstance(plugin, PluginSpec):
            raise DefinitionError(f"{where}: plugins[{index}] is not a plugin: {plugin!r}")
        other = by_key.get(plugin.key)
        if other is not None:
            raise DefinitionError(
                f"{where}: {other.label} and {plugin.label} both claim the state key {plugin.key!r}: "
                "mount one under another key with .mounted_as(...)"
            )
        if plugin.key in own_fields:
            raise DefinitionError(
                f"{where}: {plugin.label} claims the state key {plugin.key!r}, which is the agent's own state "
                f"field {base.__qualname__}.{plugin.key}: rename the field or mount the plugin with .mounted_as(...)"
            )
        by_key[plugin.key] = plugin
    slices = tuple((p.key, p.state) for p in plugins if p.state is not None)
    mounted = _mounted_state(base, slices) if slices else base

    merged = list(own_routes)
    for plugin in plugins:
        merged.extend(_mounted_routes(plugin))
    seen: dict[tuple[str, int], RouteSpec] = {}
    for route in merged:
        claim = (route.pattern, route.priority)
        first = seen.get(claim)
        if first is None:
            seen[claim] = route
        elif route.plugin is not None or first.plugin is not None:
            raise DefinitionError(
                f"{where}: {_route_side(first, by_key)} and {_route_side(route, by_key)} both route "
                f"{route.pattern!r} at priority {route.priority}: give one a different priority"
            )

    all_schedules = list(own_schedules)
    jobs = {s.job_id: s for s in own_schedules}
    for plugin in plugins:
        for schedule in plugin.schedules:
            job = attrs.evolve(schedule, job_id=f"{plugin.key}.{schedule.job_id}", plugin=plugin.key)
            first_job = jobs.get(job.job_id)
            if first_job is not None:
                owner = "the agent" if first_job.plugin is None else by_key[first_job.plugin].label
                raise DefinitionError(
                    f"{where}: {owner} and {plugin.label} both declare the cron job {job.job_id!r}"
                )
            jobs[job.job_id] = job
            all_schedules.append(job)

    patterns = list(subscriptions)
    for plugin in plugins:
        patterns.extend(p for p in plugin.subscriptions if p not in patterns)

    hooked = tuple(p for p in plugins if p.after_cmd is not None)
    wrapped: Strategy = PluginStrategy(inner, hooked) if hooked else inner
    gates = tuple(p for p in plugins if p.before_route is not None)
    mounts = tuple(p for p in plugins if p.on_mount is not None)
    return Mounting(
        mounted,
        tuple(merged),
        tuple(all_schedules),
        tuple(patterns),
        wrapped,
        _gate(gates) if gates else None,
        _on_new(mounts) if mounts else None,
    )
