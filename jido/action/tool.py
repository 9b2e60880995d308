"""An action as a tool an LLM can call: its name, description and a strict JSON Schema of its params.

:func:`to_tool` returns ``{"name", "description", "parameters"}``, the shape function-calling APIs take
(OpenAI's ``function``, Anthropic's tool with ``parameters`` as ``input_schema``). The schema is strict:

* every object, at every level, has ``"additionalProperties": false`` (a ``dict[str, X]`` is the one
  exception: there ``additionalProperties`` is the schema of its values);
* fields without a default are ``required``; fields with one are optional and carry ``"default"`` (when the
  default has a JSON form);
* descriptions come from ``attrs.field(metadata={"description": ...})`` (``"doc"`` is accepted too).

This is not OpenAI's ``strict: true`` mode, which wants every property listed as required (optional ones made
nullable): a model that leaves out an optional field here gets the field's default, as a caller would.

Types map as follows: ``int`` integer, ``float`` number, ``str`` string, ``bool`` boolean, ``None`` null,
``datetime`` string with ``"format": "date-time"``, ``Any`` any value, unions and ``Optional`` ``anyOf``,
``list``/``Sequence``/``tuple[X, ...]`` array with ``items`` (``set``/``frozenset`` add ``uniqueItems``),
``tuple[X, Y]`` array with ``prefixItems``, ``dict[str, X]`` object with ``additionalProperties``, ``Literal``
and ``Enum`` ``enum`` (of the members' values), attrs classes nested objects. A class that contains itself
(a tree node) goes to ``"$defs"`` and is referenced with ``"$ref"``; the params class itself is ``"#"``.
Any other type is a :class:`~jido.errors.DefinitionError` naming the field (``Params.field``).
"""

from __future__ import annotations

import datetime as dt
import enum
import json
import types
import typing
from collections.abc import Mapping, MutableSequence, Sequence
from typing import Any, Final

import attrs

from jido.action.spec import ActionSpec, action_spec_of
from jido.convert import unstructure
from jido.errors import DefinitionError

__all__ = ["params_schema", "to_tool"]

JsonSchema = dict[str, Any]

_SCALARS: Final[dict[Any, str]] = {
    int: "integer",
    float: "number",
    str: "string",
    bool: "boolean",
    type(None): "null",
    None: "null",
}
_ARRAYS: Final = (list, tuple, set, frozenset, Sequence, MutableSequence)
_MAPPINGS: Final = (dict, Mapping)


def to_tool(action: object) -> dict[str, Any]:
    """Describe ``action`` as a tool for LLM function calling.

    Args:
        action: an :class:`~jido.action.spec.ActionSpec` or an ``@action`` class.

    Returns:
        ``{"name": ..., "description": ..., "parameters": <JSON Schema of the params>}``. The name is the
        action's own; OpenAI accepts only ``[a-zA-Z0-9_-]`` in function names, so rename a dotted one there.

    Raises:
        TypeError: ``action`` is not an action.
        DefinitionError: a params field has a type with no JSON Schema form (the message names
            ``Class.field``), or a forward reference in the params class cannot be resolved.
    """
    spec = action_spec_of(action)
    if spec is None:
        raise TypeError(f"{action!r} is not an action: pass an ActionSpec or an @action class")
    return {"name": spec.name, "description": spec.description, "parameters": params_schema(spec)}


def params_schema(spec: ActionSpec) -> JsonSchema:
    """The strict JSON Schema of ``spec``'s params (see the module docstring for the rules)."""
    builder = _Builder(spec.params)
    schema = builder.root()
    if builder.recursive - {spec.params}:
        # Second pass: now that we know which classes contain themselves, put them in $defs.
        builder = _Builder(spec.params, builder.recursive)
        schema = builder.root()
    if builder.defs:
        schema["$defs"] = builder.defs
    return schema


def _type_name(tp: Any) -> str:
    if isinstance(tp, type):
        return tp.__qualname__
    return repr(tp).replace("typing.", "")


class _Builder:
    """Walks the params class once; records classes met inside themselves in ``recursive``."""

    def __init__(self, root: type, recursive: set[type] | None = None) -> None:
        self.root_cls = root
        self.known_recursive = recursive or set()
        self.recursive: set[type] = set()
        self.defs: dict[str, JsonSchema] = {}
        self.def_names: dict[type, str] = {}
        self.stack: list[type] = []

    def root(self) -> JsonSchema:
        return self.object(self.root_cls)

    def ref(self, cls: type) -> JsonSchema:
        name = self.def_names.get(cls)
        if name is None:
            name = cls.__name__
            taken = set(self.def_names.values())
            suffix = 2
            while name in taken:
                name = f"{cls.__name__}{suffix}"
                suffix += 1
            self.def_names[cls] = name
            self.defs[name] = {}  # reserved before building: the class refers to itself
            self.defs[name] = self.object(cls)
        return {"$ref": f"#/$defs/{name}"}

    def nested(self, cls: type) -> JsonSchema:
        if cls is self.root_cls:  # always on the stack while we walk: it contains itself
            self.recursive.add(cls)
            return {"$ref": "#"}
        if cls in self.known_recursive:
            return self.ref(cls)
        if cls in self.stack:
            self.recursive.add(cls)
            return {}  # a placeholder: the second pass puts this class in $defs
        return self.object(cls)

    def object(self, cls: type) -> JsonSchema:
        try:
            attrs.resolve_types(cls)
        except NameError as exc:
            raise DefinitionError(
                f"cannot resolve the type annotations of {cls.__qualname__}: {exc}"
            ) from None
        self.stack.append(cls)
        try:
            properties: dict[str, JsonSchema] = {}
            required: list[str] = []
            for field in attrs.fields(cls):
                if not field.init:
                    continue
                where = f"{cls.__qualname__}.{field.name}"
                if field.type is None:
                    raise DefinitionError(f"{where} has no type annotation: a tool schema needs one")
                schema = self.type(field.type, where)
                description = field.metadata.get("description", field.metadata.get("doc"))
                if description is not None:
                    schema = {"description": str(description), **schema}
                if field.default is attrs.NOTHING:
                    required.append(field.name)
                else:
                    default = _default_of(field)
                    if default is not _NO_DEFAULT:
                        schema["default"] = default
                properties[field.name] = schema
        finally:
            self.stack.pop()
        return {
            "type": "object",
            "properties": properties,
            "required": required,
            "additionalProperties": False,
        }

    def type(self, tp: Any, where: str) -> JsonSchema:
        if tp is Any or tp is object:
            return {}
        if tp in _SCALARS:
            return {"type": _SCALARS[tp]}
        if tp is dt.datetime:
            return {"type": "string", "format": "date-time"}
        if isinstance(tp, type) and issubclass(tp, enum.Enum):
            return _enum([m.value for m in tp], tp, where)
        if isinstance(tp, type) and attrs.has(tp):
            return self.nested(tp)
        origin = typing.get_origin(tp)
        args = typing.get_args(tp)
        if origin is typing.Literal:
            return _enum(list(args), tp, where)
        if origin in (typing.Union, types.UnionType):
            options: list[JsonSchema] = []
            for arg in args:
                option = self.type(arg, where)
                options.extend(option["anyOf"] if list(option) == ["anyOf"] else [option])
            return {"anyOf": options}
        if tp in _ARRAYS or origin in _ARRAYS:
            return self.array(tp, origin or tp, args, where)
        if tp in _MAPPINGS or origin in _MAPPINGS:
            if not args:
                return {"type": "object"}
            if args[0] is not str:
                raise DefinitionError(
                    f"{where}: unsupported type {_type_name(tp)} in a tool schema: object keys must be str"
                )
            return {"type": "object", "additionalProperties": self.type(args[1], where)}
        raise DefinitionError(f"{where}: unsupported type {_type_name(tp)} in a tool schema")

    def array(self, tp: Any, origin: Any, args: tuple[Any, ...], where: str) -> JsonSchema:
        schema: JsonSchema = {"type": "array"}
        empty = tp == tuple[()]
        if origin is tuple and (empty or (args and args[-1] is not Ellipsis)):
            schema["prefixItems"] = [self.type(arg, where) for arg in args]
            schema["items"] = False
            schema["minItems"] = schema["maxItems"] = len(args)
            return schema
        if args:
            schema["items"] = self.type(args[0], where)
        if origin in (set, frozenset):
            schema["uniqueItems"] = True
        return schema


def _enum(values: list[Any], tp: Any, where: str) -> JsonSchema:
    kinds = set()
    for value in values:
        if value is None:
            kinds.add("null")
        elif isinstance(value, bool):
            kinds.add("boolean")
        elif isinstance(value, int):
            kinds.add("integer")
        elif isinstance(value, str):
            kinds.add("string")
        else:
            raise DefinitionError(
                f"{where}: unsupported type {_type_name(tp)} in a tool schema: "
                f"enum value {value!r} is not a string, integer, boolean or null"
            )
    schema: JsonSchema = {"enum": values}
    if len(kinds) == 1:
        schema = {"type": kinds.pop(), **schema}
    return schema


_NO_DEFAULT: Final = object()


def _default_of(field: attrs.Attribute[Any]) -> Any:
    """The field's default as JSON, or ``_NO_DEFAULT`` when it has no JSON form (or depends on ``self``)."""
    default = field.default
    if isinstance(default, attrs.Factory):  # type: ignore[arg-type]
        factory: Any = default
        if factory.takes_self:
            return _NO_DEFAULT
        default = factory.factory()
    try:
        value = unstructure(default)
        json.dumps(value, allow_nan=False)
    except (TypeError, ValueError):
        return _NO_DEFAULT
    return value
