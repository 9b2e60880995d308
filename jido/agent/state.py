"""Agent state: a frozen, typed value, and how action results change it.

Every change goes through one door, :func:`apply_changes`: the state is brought to JSON-like data, the changes
are applied there (deep merge, replace, reset, nested set/delete), and the result is structured back into the
state class with the strict converter. So a committed state always conforms to its schema, and a change that
would break it fails as a :class:`~jido.errors.ValidationError` naming the field, leaving the old state intact.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from typing import Any, ClassVar, Final, TypeVar, cast

import attrs

from jido.agent.state_ops import DeleteKeys, DeletePath, ReplaceState, SetPath, SetState, StateOp
from jido.convert import converter, is_json_type, structure, unstructure
from jido.errors import DefinitionError, ValidationError

__all__ = [
    "RESERVED_STATE_NAMES",
    "ReplaceField",
    "StateMapping",
    "apply_changes",
    "check_state_schema",
    "deep_merge",
]

S = TypeVar("S")


class StateMapping(Mapping[str, Any]):
    """Mixin that makes an attrs state class read like a mapping of its fields.

    ``state.count`` and ``state["count"]`` both work, ``dict(state)`` gives the fields, and
    ``isinstance(state, collections.abc.Mapping)`` holds, so code written for mapping-shaped state (as Jido's
    is) keeps working. The DSL's ``@agent`` mixes it in; hand-written state classes may too.
    """

    __slots__ = ()
    _field_names: ClassVar[tuple[str, ...]] = ()

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        cls._field_names = ()  # filled lazily: attrs builds the fields after the class statement runs

    @classmethod
    def _names(cls) -> tuple[str, ...]:
        if not cls._field_names:
            cls._field_names = tuple(a.name for a in attrs.fields(cast(Any, cls)))
        return cls._field_names

    def __getitem__(self, key: str) -> Any:
        if key in self._names():
            return getattr(self, key)
        raise KeyError(key)

    def __iter__(self) -> Iterator[str]:
        return iter(self._names())

    def __len__(self) -> int:
        return len(self._names())

    def __contains__(self, key: object) -> bool:
        return key in self._names()


RESERVED_STATE_NAMES: frozenset[str] = frozenset(
    {name for name in dir(StateMapping) if not name.startswith("__")} | {"id", "spec", "state"}
)
"""Names a state field may not take: they would shadow the mapping interface or the agent's own attributes."""


@attrs.frozen
class ReplaceField(StateOp):
    """Set the top-level field ``name`` to ``value``, a value its maker has validated against the field's type.

    Alone in a change, it is committed without taking the whole state through the converter: a plugin's slice,
    validated field by field when the plugin's action or hook made it, is set in the agent's state in
    constant time. Beside other changes it is applied like any other (and validated with them).
    """

    name: str
    value: Any


def check_state_schema(cls: object, what: str) -> None:
    """Check that ``cls`` can be a state schema: an attrs class whose fields all have a default and a type
    that survives JSON (state is stored and sent as JSON).

    Args:
        what: names the owner in messages (``"agent state schema"``, ``"plugin 'thread' state"``).

    Raises:
        DefinitionError: naming ``Class.field`` and the rule broken.
    """
    if not (isinstance(cls, type) and attrs.has(cls)):
        raise DefinitionError(f"{what} must be an attrs class, got {cls!r}")
    try:
        # String annotations (``from __future__ import annotations``) are resolved in the class's module.
        attrs.resolve_types(cls)
    except NameError as exc:
        raise DefinitionError(f"{cls.__qualname__}: cannot resolve a state field annotation: {exc}") from None
    for field in attrs.fields(cls):
        where = f"{cls.__qualname__}.{field.name}"
        if field.default is attrs.NOTHING:
            raise DefinitionError(f"{where}: state field has no default: every state field needs one")
        if field.type is None:
            raise DefinitionError(f"{where}: state field needs a type annotation")
        if not is_json_type(field.type):
            raise DefinitionError(f"{where}: type {field.type!r} cannot be serialized to JSON")


def deep_merge(base: Mapping[str, Any], changes: Mapping[str, Any]) -> dict[str, Any]:
    """A new dict: ``changes`` over ``base``; where both hold a mapping, the two are merged recursively."""
    merged = dict(base)
    for key, value in changes.items():
        current = merged.get(key)
        if isinstance(value, Mapping) and isinstance(current, Mapping):
            merged[key] = deep_merge(current, value)
        else:
            merged[key] = value
    return merged


def _set_path(data: dict[str, Any], path: tuple[str, ...], value: Any) -> dict[str, Any]:
    head, *rest = path
    if not rest:
        return {**data, head: value}
    child = data.get(head)
    child = dict(child) if isinstance(child, Mapping) else {}
    return {**data, head: _set_path(child, tuple(rest), value)}


def _delete_path(data: dict[str, Any], path: tuple[str, ...]) -> dict[str, Any]:
    head, *rest = path
    if head not in data:
        return data  # deleting what is not there leaves the state as it is
    if not rest:
        return {k: v for k, v in data.items() if k != head}
    child = data[head]
    if not isinstance(child, Mapping):
        return data
    return {**data, head: _delete_path(dict(child), tuple(rest))}


def _check_fields(cls: type, names: Iterable[str], where: str) -> None:
    known = {a.name for a in attrs.fields(cls)}
    unknown = [n for n in names if n not in known]
    if unknown:
        raise ValidationError.at("$", f"{where}: unknown field(s): {', '.join(unknown)}")


def _apply_op(cls: type, data: dict[str, Any], op: StateOp) -> dict[str, Any]:
    if isinstance(op, SetState):
        return deep_merge(data, unstructure(dict(op.values)))
    if isinstance(op, ReplaceState):
        return dict(unstructure(dict(op.values)))
    if isinstance(op, DeleteKeys):
        _check_fields(cls, op.keys, "DeleteKeys")
        return {k: v for k, v in data.items() if k not in op.keys}
    if isinstance(op, SetPath):
        _check_fields(cls, op.path[:1], "SetPath")
        return _set_path(data, op.path, unstructure(op.value))
    if isinstance(op, DeletePath):
        _check_fields(cls, op.path[:1], "DeletePath")
        return _delete_path(data, op.path)
    if isinstance(op, ReplaceField):
        _check_fields(cls, (op.name,), "ReplaceField")
        return {**data, op.name: unstructure(op.value)}
    raise TypeError(f"unknown state operation {type(op).__name__}")


_FIELDS: dict[type, dict[str, attrs.Attribute[Any]]] = {}
_INIT: dict[
    type, tuple[tuple[str, str], ...]
] = {}  # per state class: (init argument, attribute) of each field


_SCALARS: Final = frozenset({int, float, str, bool})


def _shallow_update(state: S, changes: Mapping[str, Any]) -> S | None:
    """The new state when every change replaces a top-level field with a valid value, else None.

    Most results set a few scalar fields (``{"count": 3}``); validating just those fields, instead of
    round-tripping the whole state through the converter, keeps a commit's cost independent of the state's
    size. Anything else (a nested merge, an unknown field, an invalid value) returns None, and the full path
    handles it, with its complete error messages.
    """
    cls = type(state)
    fields = _FIELDS.get(cls)
    if fields is None:
        fields = _FIELDS[cls] = attrs.fields_dict(cast(Any, cls))
    updates: dict[str, Any] = {}
    for key, value in changes.items():
        field = fields.get(key)
        if field is None or field.type is None:
            return None
        if type(value) is field.type and field.type in _SCALARS:
            updates[field.alias or key] = value  # what the strict scalar hooks return for their own type
            continue
        if isinstance(value, Mapping) or attrs.has(type(value)):
            return None
        try:
            updates[field.alias or key] = converter.structure(converter.unstructure(value), field.type)
        except Exception:  # invalid: let the full path report it
            return None
    init = _INIT.get(cls)
    if init is None:
        init = _INIT[cls] = tuple((a.alias, a.name) for a in attrs.fields(cast(Any, cls)) if a.init)
    for alias, name in init:  # what attrs.evolve does, with the field list looked up once per class
        if alias not in updates:
            updates[alias] = getattr(state, name)
    try:
        return cls(**updates)
    except Exception:  # a validator of the state class refused it: let the full path report it
        return None


def apply_changes(state: S, changes: Mapping[str, Any], ops: Iterable[StateOp] = (), *, subject: str) -> S:
    """The state after deep-merging ``changes`` and then applying ``ops`` in order, validated.

    Args:
        state: the current state (an attrs instance); it is not modified.
        changes: the mapping an action returned.
        ops: state operations the action returned beside it.
        subject: names the state in error messages (``"Counter state"``).

    Raises:
        ValidationError: the new state does not fit the schema; nothing is committed.
    """
    ops = tuple(ops)
    if not changes and not ops:
        return state
    if not changes and len(ops) == 1 and isinstance(ops[0], ReplaceField):
        only = ops[0]
        field = attrs.fields_dict(cast(Any, type(state))).get(only.name)
        if field is not None and field.init:
            return cast(S, attrs.evolve(cast(Any, state), **{field.alias or only.name: only.value}))
    if not ops:
        shallow = _shallow_update(state, changes)
        if shallow is not None:
            return shallow
    cls = type(state)
    data: dict[str, Any] = unstructure(state)
    if changes:
        data = deep_merge(data, unstructure(dict(changes)))
    for op in ops:
        data = _apply_op(cls, data, op)
    return structure(data, cls, subject=subject)
