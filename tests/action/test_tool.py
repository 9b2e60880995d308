"""to_tool: the strict JSON Schema of an action's params for LLM function calling."""

from __future__ import annotations

import datetime as dt
import enum
import json
from collections.abc import Mapping, Sequence
from typing import Any, Literal

import attrs
import pytest

from jido._spec_attr import SPEC_ATTR
from jido.action.spec import ActionSpec, NoParams
from jido.action.tool import params_schema, to_tool
from jido.errors import DefinitionError

from .helpers import Recorder


def schema_of(params: type) -> dict[str, Any]:
    return params_schema(ActionSpec(name="t", run=Recorder(), params=params))


class Color(enum.Enum):
    RED = "red"
    GREEN = "green"


class Level(enum.IntEnum):
    LOW = 1
    HIGH = 2


class Weird(enum.Enum):
    A = 1.5


@attrs.frozen
class Scalars:
    count: int
    ratio: float
    name: str
    flag: bool
    nothing: None


@attrs.frozen
class Defaults:
    by: int
    label: str = "x"
    tags: list[str] = attrs.field(factory=list)
    when: dt.datetime = dt.datetime(2024, 1, 2, 3, 4, 5, tzinfo=dt.UTC)
    color: Color = Color.RED
    derived: int = attrs.field(default=attrs.Factory(lambda self: self.by, takes_self=True))
    opaque: object = object()


@attrs.frozen
class Described:
    by: int = attrs.field(metadata={"description": "how much to add"})
    note: str = attrs.field(default="", metadata={"doc": "free text"})


@attrs.frozen
class Point:
    x: float
    y: float


@attrs.frozen
class Shape:
    origin: Point
    corners: list[Point]
    label: str | None = None


@attrs.frozen
class Collections:
    seq: Sequence[int]
    unique: set[str]
    frozen: frozenset[int]
    pair: tuple[int, str]
    many: tuple[float, ...]
    empty: tuple[()]
    scores: dict[str, float]
    mapping: Mapping[str, Point]
    bare_list: list  # type: ignore[type-arg]
    bare_dict: dict  # type: ignore[type-arg]


@attrs.frozen
class Choices:
    color: Color
    level: Level
    mode: Literal["fast", "slow"]
    mixed: Literal[1, "one"]
    maybe: int | str | None
    anything: Any
    yes: Literal[True]
    nada: Literal[None]
    hidden: int = attrs.field(init=False, default=0)


@attrs.frozen
class Node:
    value: int
    children: list[Node] = attrs.field(factory=list)


@attrs.frozen
class Tree:
    root: Leaf
    name: str


@attrs.frozen
class Leaf:
    value: int
    next: Leaf | None = None


@attrs.frozen
class Chain:
    value: str
    next: Chain | None = None


Chain.__name__ = "Leaf"  # two classes from different places may share a name


@attrs.frozen
class Twins:
    leaf: Leaf
    chain: Chain


@attrs.frozen
class Bad:
    ok: int
    z: complex


@attrs.frozen
class BadKeys:
    table: dict[int, str]


@attrs.frozen
class BadEnum:
    w: Weird


@attrs.frozen
class Outer:
    inner: Bad


@attrs.frozen
class Unresolvable:
    x: Missing  # type: ignore[name-defined]  # noqa: F821


def _untyped() -> type:
    @attrs.define
    class Untyped:
        x = attrs.field()  # type: ignore[var-annotated]  # the point of the test

    return Untyped


def _object(properties: dict[str, Any], required: list[str]) -> dict[str, Any]:
    return {"type": "object", "properties": properties, "required": required, "additionalProperties": False}


class TestToTool:
    def test_shape(self) -> None:
        """to_tool gives name, description and parameters."""
        spec = ActionSpec(name="add", run=Recorder(), params=Described, description="Add a number")
        tool = to_tool(spec)
        assert list(tool) == ["name", "description", "parameters"]
        assert (tool["name"], tool["description"]) == ("add", "Add a number")
        assert tool["parameters"] == params_schema(spec)

    def test_decorated_class(self) -> None:
        """A decorated class is accepted like its spec."""

        @attrs.frozen
        class Inc:
            by: int

        setattr(Inc, SPEC_ATTR, ActionSpec(name="inc", run=Recorder(), params=Inc))
        assert to_tool(Inc)["parameters"] == _object({"by": {"type": "integer"}}, ["by"])

    def test_not_an_action(self) -> None:
        """Something that is not an action is refused."""
        with pytest.raises(
            TypeError, match=r"^'x' is not an action: pass an ActionSpec or an @action class$"
        ):
            to_tool("x")

    def test_json_serializable(self) -> None:
        """The tool description is plain JSON."""
        spec = ActionSpec(name="shape", run=Recorder(), params=Shape)
        assert json.loads(json.dumps(to_tool(spec))) == to_tool(spec)


class TestParamsSchema:
    def test_no_params(self) -> None:
        """An action without params has an empty strict object."""
        assert schema_of(NoParams) == _object({}, [])

    def test_scalars(self) -> None:
        """Scalars map to their JSON types, all required without defaults."""
        assert schema_of(Scalars) == _object(
            {
                "count": {"type": "integer"},
                "ratio": {"type": "number"},
                "name": {"type": "string"},
                "flag": {"type": "boolean"},
                "nothing": {"type": "null"},
            },
            ["count", "ratio", "name", "flag", "nothing"],
        )

    def test_defaults(self) -> None:
        """Fields with defaults are optional and carry a JSON default when they have one."""
        schema = schema_of(Defaults)
        assert schema["required"] == ["by"]
        props = schema["properties"]
        assert props["label"] == {"type": "string", "default": "x"}
        assert props["tags"] == {"type": "array", "items": {"type": "string"}, "default": []}
        assert props["when"] == {
            "type": "string",
            "format": "date-time",
            "default": "2024-01-02T03:04:05+00:00",
        }
        assert props["color"] == {"type": "string", "enum": ["red", "green"], "default": "red"}
        assert props["derived"] == {"type": "integer"}  # depends on self: no static default
        assert props["opaque"] == {}  # no JSON form: no default shown

    def test_descriptions(self) -> None:
        """Field metadata "description" (or "doc") becomes the property's description."""
        props = schema_of(Described)["properties"]
        assert props["by"] == {"description": "how much to add", "type": "integer"}
        assert props["note"] == {"description": "free text", "type": "string", "default": ""}

    def test_nested_objects(self) -> None:
        """Nested attrs classes are strict objects too, also as list items; Optional is anyOf with null."""
        point = _object({"x": {"type": "number"}, "y": {"type": "number"}}, ["x", "y"])
        assert schema_of(Shape) == _object(
            {
                "origin": point,
                "corners": {"type": "array", "items": point},
                "label": {"anyOf": [{"type": "string"}, {"type": "null"}], "default": None},
            },
            ["origin", "corners"],
        )

    def test_collections(self) -> None:
        """Arrays, sets, tuples and string-keyed dicts map to their JSON forms."""
        props = schema_of(Collections)["properties"]
        point = _object({"x": {"type": "number"}, "y": {"type": "number"}}, ["x", "y"])
        assert props["seq"] == {"type": "array", "items": {"type": "integer"}}
        assert props["unique"] == {"type": "array", "items": {"type": "string"}, "uniqueItems": True}
        assert props["frozen"] == {"type": "array", "items": {"type": "integer"}, "uniqueItems": True}
        assert props["pair"] == {
            "type": "array",
            "prefixItems": [{"type": "integer"}, {"type": "string"}],
            "items": False,
            "minItems": 2,
            "maxItems": 2,
        }
        assert props["many"] == {"type": "array", "items": {"type": "number"}}
        assert props["empty"] == {
            "type": "array",
            "prefixItems": [],
            "items": False,
            "minItems": 0,
            "maxItems": 0,
        }
        assert props["scores"] == {"type": "object", "additionalProperties": {"type": "number"}}
        assert props["mapping"] == {"type": "object", "additionalProperties": point}
        assert props["bare_list"] == {"type": "array"}
        assert props["bare_dict"] == {"type": "object"}

    def test_choices(self) -> None:
        """Enums and Literals are enums of values; unions are anyOf; Any is unconstrained."""
        props = schema_of(Choices)["properties"]
        assert props["color"] == {"type": "string", "enum": ["red", "green"]}
        assert props["level"] == {"type": "integer", "enum": [1, 2]}
        assert props["mode"] == {"type": "string", "enum": ["fast", "slow"]}
        assert props["mixed"] == {"enum": [1, "one"]}
        assert props["maybe"] == {"anyOf": [{"type": "integer"}, {"type": "string"}, {"type": "null"}]}
        assert props["anything"] == {}
        assert props["yes"] == {"type": "boolean", "enum": [True]}
        assert props["nada"] == {"type": "null", "enum": [None]}
        assert "hidden" not in props  # not an __init__ argument: not a parameter

    def test_recursive_root(self) -> None:
        """A params class that contains itself refers to the root with "#"."""
        assert schema_of(Node) == _object(
            {
                "value": {"type": "integer"},
                "children": {"type": "array", "items": {"$ref": "#"}, "default": []},
            },
            ["value"],
        )

    def test_recursive_nested(self) -> None:
        """A nested class that contains itself goes to $defs and is referenced."""
        leaf = _object(
            {
                "value": {"type": "integer"},
                "next": {"anyOf": [{"$ref": "#/$defs/Leaf"}, {"type": "null"}], "default": None},
            },
            ["value"],
        )
        assert schema_of(Tree) == {
            **_object({"root": {"$ref": "#/$defs/Leaf"}, "name": {"type": "string"}}, ["root", "name"]),
            "$defs": {"Leaf": leaf},
        }

    def test_defs_names_unique(self) -> None:
        """Two recursive classes with the same name get distinct $defs entries."""
        schema = schema_of(Twins)
        assert list(schema["$defs"]) == ["Leaf", "Leaf2"]
        assert schema["properties"] == {"leaf": {"$ref": "#/$defs/Leaf"}, "chain": {"$ref": "#/$defs/Leaf2"}}
        assert schema["$defs"]["Leaf2"]["properties"]["value"] == {"type": "string"}

    def test_unsupported_type(self) -> None:
        """A type with no JSON form is refused, naming Class.field."""
        with pytest.raises(DefinitionError, match=r"^Bad\.z: unsupported type complex in a tool schema$"):
            schema_of(Bad)

    def test_unsupported_nested(self) -> None:
        """An unsupported type inside a nested class names the nested class's field."""
        with pytest.raises(DefinitionError, match=r"^Bad\.z: unsupported type complex"):
            schema_of(Outer)

    def test_non_string_keys(self) -> None:
        """A dict with non-string keys has no JSON object form."""
        with pytest.raises(
            DefinitionError,
            match=r"^BadKeys\.table: unsupported type dict\[int, str\] in a tool schema: object keys",
        ):
            schema_of(BadKeys)

    def test_enum_with_float_values(self) -> None:
        """An enum whose values are not strings or integers is refused."""
        with pytest.raises(
            DefinitionError, match=r"^BadEnum\.w: unsupported type Weird in a tool schema: enum value"
        ):
            schema_of(BadEnum)

    def test_unresolvable_annotation(self) -> None:
        """A forward reference that cannot be resolved is a definition error."""
        with pytest.raises(DefinitionError, match=r"^cannot resolve the type annotations of Unresolvable: "):
            schema_of(Unresolvable)

    def test_untyped_field(self) -> None:
        """A field without an annotation is refused."""
        with pytest.raises(DefinitionError, match=r"\.x has no type annotation: a tool schema needs one$"):
            schema_of(_untyped())
