"""The one converter jido uses to turn untrusted data into typed values, strictly.

cattrs' default hooks coerce silently (``"3"`` becomes ``3``, ``True`` becomes ``1``, ``"abc"`` becomes a list of
characters). Agents built on that would commit state nobody asked for, so every scalar and container hook here
checks the type it receives and refuses anything else. Failures come out as one :class:`ValidationError` whose
lines name the JSON path of each problem: ``$.data.by: expected int, got "3"``.
"""

from __future__ import annotations

import datetime as dt
import enum
import json
import types
import typing
import weakref
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Final, TypeVar

import attrs
import cattrs
from cattrs.errors import (
    AttributeValidationNote,
    ClassValidationError,
    ForbiddenExtraKeysError,
    IterableValidationError,
    IterableValidationNote,
)

from jido.errors import ROOT_PATH, FieldError, ValidationError

__all__ = [
    "converter",
    "describe_value",
    "is_json_type",
    "structure",
    "structured_by_default",
    "unstructure",
]

T = TypeVar("T")

_MAX_SHOWN: Final = 60


class _Mismatch(TypeError):
    """Raised by the strict hooks; its message is the line shown to the user."""


def describe_value(value: object) -> str:
    """Show a value the way it would look in JSON, shortened: ``"3"``, ``true``, ``null``, ``[1, 2]``."""
    try:
        text = json.dumps(value, default=repr, ensure_ascii=False)
    except (TypeError, ValueError):  # circular structures and the like
        text = repr(value)
    return text if len(text) <= _MAX_SHOWN else text[: _MAX_SHOWN - 3] + "..."


def _json_kind(value: object) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, Mapping):
        return "object"
    if isinstance(value, list | tuple):
        return "array"
    return type(value).__name__


def _mismatch(expected: str, value: object) -> _Mismatch:
    if isinstance(value, Mapping | list | tuple):
        return _Mismatch(f"expected {expected}, got {_json_kind(value)}")
    return _Mismatch(f"expected {expected}, got {describe_value(value)}")


def _structure_int(value: object, _: type) -> int:
    if type(value) is int:  # bool is an int subclass: refuse it
        return value
    if isinstance(value, int) and not isinstance(value, bool):
        return int(value)
    raise _mismatch("int", value)


def _structure_float(value: object, _: type) -> float:
    # An int is a valid JSON number for a float field; a bool or a string is not.
    if isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    raise _mismatch("float", value)


def _structure_str(value: object, _: type) -> str:
    if isinstance(value, str):
        return value
    raise _mismatch("str", value)


def _structure_bool(value: object, _: type) -> bool:
    if isinstance(value, bool):
        return value
    raise _mismatch("bool", value)


def _structure_any(value: object, _: object) -> object:
    return value


def _structure_datetime(value: object, _: type) -> dt.datetime:
    if isinstance(value, dt.datetime):
        return value
    if isinstance(value, str):
        try:
            return dt.datetime.fromisoformat(value)
        except ValueError:
            raise _Mismatch(f"expected an RFC 3339 timestamp, got {describe_value(value)}") from None
    raise _mismatch("an RFC 3339 timestamp", value)


def _unstructure_datetime(value: dt.datetime) -> str:
    return value.isoformat()


def _is_sequence_type(tp: Any) -> bool:
    return tp in (list, tuple, set, frozenset) or typing.get_origin(tp) in (
        list,
        tuple,
        set,
        frozenset,
        typing.get_origin(Sequence[int]),
    )


def _structure_sequence_factory(converter: cattrs.Converter) -> Callable[[Any], Callable[[Any, Any], Any]]:
    def factory(tp: Any) -> Callable[[Any, Any], Any]:
        origin = typing.get_origin(tp) or tp
        args = typing.get_args(tp)
        build: Callable[[list[Any]], Any] = (
            list if origin in (list, typing.get_origin(Sequence[int])) else origin
        )
        fixed = origin is tuple and args and args[-1] is not Ellipsis
        item_type = args[0] if args else Any

        def hook(value: Any, _: Any) -> Any:
            if isinstance(value, str | bytes | Mapping) or not isinstance(value, Sequence | set | frozenset):
                raise _mismatch("array", value)
            if fixed and len(value) != len(args):
                raise _Mismatch(f"expected an array of {len(args)} items, got {len(value)}")
            out: list[Any] = []
            errors: list[Exception] = []
            for index, item in enumerate(value):
                try:
                    out.append(converter.structure(item, args[index] if fixed else item_type))
                except Exception as exc:  # collected and re-raised as one group below
                    exc.__notes__ = [*getattr(exc, "__notes__", []), IterableValidationNote("", index, tp)]
                    errors.append(exc)
            if errors:
                raise IterableValidationError(f"While structuring {tp!r}", errors, tp)
            return build(out)

        return hook

    return factory


# The hooks the converter made for attrs classes with jido's own factory (not one a user registered).
_ATTRS_HOOKS: Final[weakref.WeakSet[Callable[[Any, Any], Any]]] = weakref.WeakSet()


def _guard_mapping_target(converter: cattrs.Converter, base_factory: Callable[[Any], Any]) -> Any:
    def factory(tp: Any) -> Callable[[Any, Any], Any]:
        base = base_factory(tp)

        def hook(value: Any, t: Any) -> Any:
            if not isinstance(value, Mapping):
                raise _mismatch("object", value)
            return base(value, t)

        _ATTRS_HOOKS.add(hook)
        return hook

    return factory


def _structure_dict_factory(converter: cattrs.Converter) -> Callable[[Any], Callable[[Any, Any], Any]]:
    def factory(tp: Any) -> Callable[[Any, Any], Any]:
        args = typing.get_args(tp)
        key_type, value_type = args if len(args) == 2 else (str, Any)

        def hook(value: Any, _: Any) -> dict[Any, Any]:
            if not isinstance(value, Mapping):
                raise _mismatch("object", value)
            out: dict[Any, Any] = {}
            errors: list[Exception] = []
            for key, item in value.items():
                try:
                    out[converter.structure(key, key_type)] = converter.structure(item, value_type)
                except Exception as exc:  # collected and re-raised as one group below
                    exc.__notes__ = [*getattr(exc, "__notes__", []), _KeyNote(key)]
                    errors.append(exc)
            if errors:
                raise IterableValidationError(f"While structuring {tp!r}", errors, tp)
            return out

        return hook

    return factory


class _KeyNote(str):
    """A note naming the mapping key an error came from (cattrs names attributes and indexes itself)."""

    key: object

    def __new__(cls, key: object) -> _KeyNote:
        note = super().__new__(cls, f"at key {key!r}")
        note.key = key
        return note


def _type_name(tp: Any) -> str:
    if tp is type(None):
        return "null"
    if attrs.has(tp):
        return "object"
    return getattr(tp, "__name__", None) or str(tp)


def _is_union(tp: Any) -> bool:
    return typing.get_origin(tp) in (typing.Union, types.UnionType)


def _structure_union_factory(converter: cattrs.Converter) -> Callable[[Any], Callable[[Any, Any], Any]]:
    def factory(tp: Any) -> Callable[[Any, Any], Any]:
        members = typing.get_args(tp)
        expected = " or ".join(_type_name(m) for m in members)

        def hook(value: Any, _: Any) -> Any:
            if value is None:
                if type(None) in members:
                    return None
                raise _mismatch(expected, value)
            # A value that already has one of the member types keeps it (3 stays an int in ``float | int``).
            if type(value) in members:
                return converter.structure(value, type(value))
            nested: Exception | None = None
            for member in members:
                if member is type(None):
                    continue
                try:
                    return converter.structure(value, member)
                except _Mismatch:
                    continue
                except Exception as exc:  # a member that fits the shape but not the details says why
                    nested = nested or exc
            if nested is not None:
                raise nested
            raise _mismatch(expected, value)

        return hook

    return factory


def _structure_enum(value: Any, tp: type[enum.Enum]) -> enum.Enum:
    if isinstance(value, tp):
        return value
    for member in tp:
        if type(member.value) is type(value) and member.value == value:
            return member
    choices = ", ".join(describe_value(m.value) for m in tp)
    raise _Mismatch(f"expected one of {choices}, got {describe_value(value)}")


def _is_literal(tp: Any) -> bool:
    return typing.get_origin(tp) is typing.Literal


def _structure_literal_factory(tp: Any) -> Callable[[Any, Any], Any]:
    choices = typing.get_args(tp)
    shown = ", ".join(describe_value(c) for c in choices)

    def hook(value: Any, _: Any) -> Any:
        for choice in choices:
            if type(choice) is type(value) and choice == value:
                return choice
        raise _Mismatch(f"expected one of {shown}, got {describe_value(value)}")

    return hook


def _is_dict_type(tp: Any) -> bool:
    return tp in (dict, Mapping) or typing.get_origin(tp) in (
        dict,
        Mapping,
        typing.get_origin(Mapping[str, int]),
    )


def _make_converter() -> cattrs.Converter:
    conv = cattrs.Converter(forbid_extra_keys=True, detailed_validation=True)
    conv.register_structure_hook(int, _structure_int)
    conv.register_structure_hook(float, _structure_float)
    conv.register_structure_hook(str, _structure_str)
    conv.register_structure_hook(bool, _structure_bool)
    conv.register_structure_hook(dt.datetime, _structure_datetime)
    conv.register_unstructure_hook(dt.datetime, _unstructure_datetime)
    conv.register_structure_hook_func(lambda tp: tp is Any or tp is object, _structure_any)
    conv.register_structure_hook_factory(_is_dict_type, _structure_dict_factory(conv))
    conv.register_structure_hook_factory(
        lambda tp: attrs.has(tp) and isinstance(tp, type),
        _guard_mapping_target(conv, lambda tp: cattrs.gen.make_dict_structure_fn(tp, conv)),
    )
    conv.register_structure_hook_factory(_is_sequence_type, _structure_sequence_factory(conv))
    conv.register_structure_hook_factory(_is_union, _structure_union_factory(conv))
    conv.register_structure_hook_func(
        lambda tp: isinstance(tp, type) and issubclass(tp, enum.Enum), _structure_enum
    )
    conv.register_structure_hook_factory(_is_literal, _structure_literal_factory)
    return conv


converter: Final[cattrs.Converter] = _make_converter()
"""The package-wide strict converter. Register hooks for your own types here if they need them."""


_SCALAR_HOOKS: Final[dict[type, Callable[[object, type], object]]] = {
    int: _structure_int,
    float: _structure_float,
    str: _structure_str,
    bool: _structure_bool,
}


def structured_by_default(hook: object, field_types: typing.Iterable[type] = ()) -> bool:
    """Whether ``hook`` (``converter.get_structure_hook(cls)``) is the one jido's converter makes for an attrs
    class ``cls``, and each of ``field_types`` (int, float, str or bool) has jido's own hook: that is, no hook a
    user registered on :data:`converter` changes how ``cls`` (with fields of those types) is structured.

    Any registration on the converter clears its cache of hooks, so the hook of ``cls`` is then another object:
    a caller may keep this answer for as long as the hook it got is the same.
    """
    if hook not in _ATTRS_HOOKS:
        return False
    return all(converter.get_structure_hook(tp) is _SCALAR_HOOKS.get(tp) for tp in field_types)


def structure(data: object, cls: type[T], *, subject: str | None = None, allow_extra: bool = False) -> T:
    """Turn untrusted ``data`` into an instance of ``cls``, strictly.

    Args:
        data: JSON-like data (mappings, lists, scalars).
        cls: the target type, usually an attrs class.
        subject: what is being validated, for the message (``"Increment params"``).
        allow_extra: drop unknown top-level keys instead of rejecting them.

    Raises:
        ValidationError: with one ``$.path: problem`` line per problem found.
    """
    if allow_extra and attrs.has(cls) and isinstance(data, Mapping):
        known = {a.name for a in attrs.fields(cls)}  # cattrs reads attribute names, not init aliases
        data = {k: v for k, v in data.items() if k in known}
    try:
        return converter.structure(data, cls)
    except Exception as exc:
        raise ValidationError(_flatten(exc, ROOT_PATH), subject=subject) from None


def unstructure(value: object) -> Any:
    """Turn a typed value into JSON-like data (the inverse of :func:`structure`)."""
    return converter.unstructure(value)


def _child_path(path: str, exc: BaseException) -> str:
    for note in getattr(exc, "__notes__", ()):
        if isinstance(note, AttributeValidationNote):
            return f"{path}.{note.name}"
        if isinstance(note, IterableValidationNote):
            return f"{path}[{note.index}]"
        if isinstance(note, _KeyNote):
            key = note.key
            return f"{path}.{key}" if isinstance(key, str) and key.isidentifier() else f"{path}[{key!r}]"
    return path


def _flatten(exc: BaseException, path: str) -> list[FieldError]:
    if isinstance(exc, ForbiddenExtraKeysError):
        names = ", ".join(sorted(map(str, exc.extra_fields)))
        return [FieldError(path, f"unknown field(s): {names}")]
    if isinstance(exc, ClassValidationError | IterableValidationError):
        out: list[FieldError] = []
        for sub in exc.exceptions:
            out.extend(_flatten(sub, _child_path(path, sub)))
        return out
    if isinstance(exc, KeyError) and exc.args:
        # cattrs has already named the attribute in the note that gave us ``path``.
        return [FieldError(path, "required field missing")]
    if isinstance(exc, _Mismatch):
        return [FieldError(path, str(exc))]
    if isinstance(exc, ValidationError):
        return [FieldError(path + e.path[len(ROOT_PATH) :], e.message) for e in exc.errors]
    # attrs validators and enum/literal conversions raise ValueError/TypeError with their own words.
    return [FieldError(path, str(exc) or type(exc).__name__)]


_JSON_SCALARS: Final = (int, float, str, bool, type(None), dt.datetime)


def is_json_type(tp: Any) -> bool:
    """Whether values of type ``tp`` survive a JSON round trip through :func:`unstructure`/:func:`structure`."""
    if tp is Any or tp is object or tp in _JSON_SCALARS:
        return True
    if isinstance(tp, type) and issubclass(tp, enum.Enum):
        return all(isinstance(m.value, str | int) for m in tp)
    if isinstance(tp, type) and attrs.has(tp):
        try:
            attrs.resolve_types(tp)  # nested classes may carry string annotations (``from __future__``)
        except NameError:
            return False
        return all(a.type is not None and is_json_type(a.type) for a in attrs.fields(tp))
    origin = typing.get_origin(tp)
    args = typing.get_args(tp)
    if origin is typing.Literal:
        return all(isinstance(a, str | int | bool) or a is None for a in args)
    if origin in (typing.Union, types.UnionType):
        return all(is_json_type(a) for a in args)
    if origin in (list, tuple, Sequence, frozenset, set) or _is_sequence_type(tp):
        return all(is_json_type(a) for a in args if a is not Ellipsis)
    if _is_dict_type(tp):
        return not args or (args[0] is str and is_json_type(args[1]))
    return False
